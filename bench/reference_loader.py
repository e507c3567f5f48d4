#!/usr/bin/env python3
"""The reference loader for scripts/bench: CloudTrail objects into OpenSearch
the way most existing CloudTrail-to-OpenSearch Lambdas do it. Each object is
read whole (gzip.open + json.load), and every record is sent with
opensearch-py's helpers.bulk as a `create` into the same daily index and
with the same _id as trailsearch (`cloudtrail-YYYY.MM.DD` from eventTime,
_id = eventID), with `@timestamp` added.

usage: bench/reference_loader.py URL FILE...
Prints one JSON line: {"records", "indexed", "errors", "elapsed_s"}.
"""
import gzip
import json
import os
import sys
import time

from opensearchpy import OpenSearch, helpers

PREFIX = os.environ.get("TRAILSEARCH_INDEX_PREFIX", "cloudtrail")


def actions(records):
    for record in records:
        event_time = record["eventTime"]
        # "2026-11-20T09:26:53Z" -> cloudtrail-2026.11.20 (UTC, as CloudTrail writes it)
        index = "%s-%s.%s.%s" % (PREFIX, event_time[0:4], event_time[5:7], event_time[8:10])
        source = dict(record)
        source["@timestamp"] = event_time
        yield {"_op_type": "create", "_index": index, "_id": record["eventID"], "_source": source}


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: reference_loader.py URL FILE...")
    url, files = sys.argv[1], sys.argv[2:]
    client = OpenSearch(hosts=[url], http_compress=True, timeout=120)
    started = time.perf_counter()
    records = indexed = errors = 0
    for path in files:
        with gzip.open(path, "rt") as f:
            data = json.load(f)
        batch = data.get("Records", [])
        records += len(batch)
        ok, failed = helpers.bulk(client, actions(batch), chunk_size=500, raise_on_error=False,
                                  raise_on_exception=False)
        indexed += ok
        errors += len(failed) if isinstance(failed, list) else failed
    elapsed = time.perf_counter() - started
    print(json.dumps({"records": records, "indexed": indexed, "errors": errors,
                      "elapsed_s": round(elapsed, 3)}), flush=True)
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
