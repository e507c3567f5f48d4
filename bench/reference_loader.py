#!/usr/bin/env python3
"""The reference loader for scripts/bench: CloudTrail objects into OpenSearch
the way most existing CloudTrail-to-OpenSearch Lambdas do it. Each object is
read whole (gzip.open + json.load), and every record is sent as a `create`
into the same daily index and with the same _id as trailsearch
(`cloudtrail-YYYY.MM.DD` from eventTime, _id = eventID), with `@timestamp`
added.

usage: bench/reference_loader.py URL FILE... [--threads N --chunk-size N --max-chunk-bytes N]
Without --threads: opensearch-py's helpers.bulk, 500 records a request (what
such Lambdas do). With --threads: helpers.parallel_bulk at that concurrency
and batch size (set them to trailsearch's, for a like-for-like comparison).
Prints one JSON line: {"records", "indexed", "errors", "error_types", "elapsed_s"}.
"""
import argparse
import collections
import gzip
import json
import os
import sys
import time

from opensearchpy import OpenSearch, helpers

PREFIX = os.environ.get("TRAILSEARCH_INDEX_PREFIX", "cloudtrail")


def actions(records, unplaced):
    for record in records:
        event_time = record.get("eventTime") if isinstance(record, dict) else None
        if not isinstance(event_time, str) or len(event_time) < 10:
            # No day to name its index by: a naive loader can only drop it.
            unplaced.append(record)
            continue
        # "2026-11-20T09:26:53Z" -> cloudtrail-2026.11.20 (UTC, as CloudTrail writes it)
        index = "%s-%s.%s.%s" % (PREFIX, event_time[0:4], event_time[5:7], event_time[8:10])
        source = dict(record)
        source["@timestamp"] = event_time
        action = {"_op_type": "create", "_index": index, "_source": source}
        if "eventID" in record:
            action["_id"] = record["eventID"]
        yield action


def error_type(info):
    """The cluster's error type of a failed item (mapper_parsing_exception, ...)."""
    item = next(iter(info.values()), {}) if isinstance(info, dict) else {}
    error = item.get("error", {}) if isinstance(item, dict) else {}
    return error.get("type", "unknown") if isinstance(error, dict) else str(error)[:60]


def read(path):
    with gzip.open(path, "rt") as f:
        return json.load(f).get("Records", [])


def load_parallel(client, files, args, counts, types):
    """One stream of actions over every object through parallel_bulk, so all
    threads stay busy across objects: the loader's best case."""
    def every_record():
        for path in files:
            batch = read(path)
            counts["records"] += len(batch)
            yield from actions(batch, unplaced)

    unplaced = []
    for ok, info in helpers.parallel_bulk(client, every_record(), thread_count=args.threads,
                                          chunk_size=args.chunk_size, max_chunk_bytes=args.max_chunk_bytes,
                                          raise_on_error=False, raise_on_exception=False):
        counts["indexed" if ok else "errors"] += 1
        if not ok:
            types[error_type(info)] += 1
    counts["errors"] += len(unplaced)
    if unplaced:
        types["no eventTime"] += len(unplaced)


def load_each(client, files, args, counts, types):
    """Object by object, each whole through helpers.bulk: what such Lambdas do."""
    for path in files:
        batch = read(path)
        counts["records"] += len(batch)
        unplaced = []
        ok, failed = helpers.bulk(client, actions(batch, unplaced), chunk_size=args.chunk_size,
                                  raise_on_error=False, raise_on_exception=False)
        counts["errors"] += len(unplaced)
        if unplaced:
            types["no eventTime"] += len(unplaced)
        counts["indexed"] += ok
        failed = failed if isinstance(failed, list) else []
        counts["errors"] += len(failed)
        for info in failed:
            types[error_type(info)] += 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--max-chunk-bytes", type=int, default=100 * 1024 * 1024)
    args = parser.parse_args()
    client = OpenSearch(hosts=[args.url], http_compress=True, timeout=120)
    started = time.perf_counter()
    counts = collections.Counter(records=0, indexed=0, errors=0)
    types = collections.Counter()
    (load_parallel if args.threads else load_each)(client, args.files, args, counts, types)
    elapsed = time.perf_counter() - started
    print(json.dumps({**counts, "error_types": dict(types), "elapsed_s": round(elapsed, 3)}), flush=True)
    return 0 if counts["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
