"""scripts/bench --real: how fast investigations answer over a month of
daily indices.

The bench generator's events spread over DAYS daily indices (1,000,000 by
default) plus the sample logs of tests/fixtures (whose planted events the
questions find: the RDS deletion, the security group change, the failing
CLI, the three-hop role chain), merged to one segment per index as an
index lifecycle policy would leave past days. Then, warm (WARM_RUNS runs
each, p50 and p95, after WARMUP_RUNS unmeasured rounds that compile the
node's search code) and cold (the first run after a node restart with the
page cache dropped, in the order below):
  - the README's three questions and `trace`, as `trailsearch` runs them
    (process start included);
  - every saved search as Discover asks it (500 newest hits) and every
    dashboard visualization's aggregation as Kibana or OpenSearch
    Dashboards builds it from the saved object, over the month, with the
    shard request cache off so repeated runs measure the search.
Timings are reported, never asserted; every answer is checked.
"""
import datetime
import json
import math
import re
import time

# The goals: p95 of the questions, and of every dashboard aggregation.
TARGET_QUESTION_MS = 50
TARGET_AGGREGATION_MS = 300

DAYS = 30
FIRST_DAY = datetime.date(2026, 10, 1)
WARM_RUNS = 20
# Rounds before the warm runs: a node's JIT compiles its search code over the
# first ten or so rounds (a round's times fall from ~2x to steady), which a
# node serving searches all day has long done; the cold row shows the rest.
WARMUP_RUNS = 10
# Kibana's `auto` histogram interval for a 30-day range (histogram:barTarget 50).
AUTO_INTERVAL = "12h"
# The Elasticsearch maps app's COARSE grid at a world view.
MAP_PRECISION = 4

# (label, trailsearch arguments, what the answer must contain)
QUESTIONS = [
    ("question 1: who deleted the RDS instance",
     ["search", "--event-name", "DeleteDBInstance", "--format", "detail"], "DeleteDBInstance"),
    ("question 2: who changed the security group",
     ["search", "--event-name", "*SecurityGroup*", "--query", "readOnly:false", "--format", "detail"],
     "SecurityGroup"),
    ("question 3: why the CLI fails",
     ["search", "--errors", "--user", "ci-deployer", "--format", "detail", "--limit", "1"], "ci-deployer"),
    ("trace of a three-hop role chain", ["trace", "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e10"],
     "who: carol@example.com"),
]

# Which export each product reads.
KIBANA_FLAVOUR = {"opensearch": "osd", "elasticsearch": "kibana"}


def days():
    return [(FIRST_DAY + datetime.timedelta(days=d)).isoformat() for d in range(DAYS)]


def time_range():
    end = FIRST_DAY + datetime.timedelta(days=DAYS)
    return {"range": {"@timestamp": {"gte": f"{FIRST_DAY.isoformat()}T00:00:00.000Z",
                                     "lte": f"{end.isoformat()}T00:00:00.000Z",
                                     "format": "strict_date_optional_time"}}}


def lucene(query):
    """A Lucene query as Kibana sends it (buildEsQuery), as tests/e2e/kibana.rs reads it."""
    if not query.strip():
        return {"match_all": {}}
    return {"query_string": {"query": query, "analyze_wildcard": True, "time_zone": "UTC"}}


def kibana_query(query, with_time=True):
    return {"bool": {"must": [lucene(query)], "filter": [time_range()] if with_time else [],
                     "should": [], "must_not": []}}


def saved_query(obj):
    source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    return source["query"]["query"]


def aggs_dsl(aggs):
    """A visualization's stored aggregations as Kibana sends them
    (AggConfigs.toDsl): bucket aggregations nested in order, count implied."""
    buckets = []
    for agg in (a for a in aggs if a.get("enabled", True)):
        params, kind = agg.get("params", {}), agg["type"]
        if kind == "count":
            continue
        if kind == "terms":
            dsl = {"terms": {"field": params["field"], "size": params["size"],
                             "order": {"_count": params["order"]}}}
            if params.get("missingBucket"):
                dsl["terms"]["missing"] = "__missing__"
        elif kind == "date_histogram":
            dsl = {"date_histogram": {"field": params["field"], "fixed_interval": AUTO_INTERVAL,
                                      "time_zone": "UTC", "min_doc_count": params.get("min_doc_count", 1)}}
        elif kind == "filters":
            dsl = {"filters": {"filters": {
                (f.get("label") or f["input"]["query"]): kibana_query(f["input"]["query"], with_time=False)
                for f in params["filters"]}}}
        elif kind == "geohash_grid":
            dsl = {"geohash_grid": {"field": params["field"], "precision": params["precision"]}}
        else:
            raise RuntimeError(f"no translation for aggregation type {kind}")
        buckets.append((agg["id"], dsl))
    nested = None
    for agg_id, dsl in reversed(buckets):
        if nested:
            dsl["aggs"] = {nested[0]: nested[1]}
        nested = (agg_id, dsl)
    return {nested[0]: nested[1]}


def kibana_requests(objects):
    """(label, body) of every saved search and every visualization or map."""
    out = []
    for obj in objects:
        # Titles end in the index prefix ("Top users [cloudtrail]").
        title = re.sub(r" \[[^]]*\]$", "", obj["attributes"].get("title", obj["id"]))
        if obj["type"] == "search":
            out.append((f"saved search: {title}", {
                "size": 500, "track_total_hits": True,
                "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "boolean"}}],
                "query": kibana_query(saved_query(obj))}))
        elif obj["type"] == "visualization":
            state = json.loads(obj["attributes"]["visState"])
            out.append((f"view: {title}", {"size": 0, "track_total_hits": True,
                                           "query": kibana_query(saved_query(obj)),
                                           "aggs": aggs_dsl(state["aggs"])}))
        elif obj["type"] == "map":
            layers = json.loads(obj["attributes"]["layerListJSON"])
            for layer in layers:
                source = layer.get("sourceDescriptor", {})
                if source.get("type") == "ES_GEO_GRID":
                    out.append((f"map: {title}", {"size": 0, "track_total_hits": True,
                                                  "query": kibana_query(""),
                                                  "aggs": {"grid": {"geotile_grid": {
                                                      "field": source["geoField"],
                                                      "precision": MAP_PRECISION}}}}))
    return out


def percentile(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


class Queries:
    """Runs the questions through the CLI and the saved objects over HTTP."""

    def __init__(self, ctx, node, env, prefix, flavour):
        self.ctx, self.node, self.env, self.prefix = ctx, node, env, prefix
        export = ctx.subprocess.run(
            [str(ctx.TRAILSEARCH), "kibana", "export", "--kibana-flavour", KIBANA_FLAVOUR[flavour]],
            env=env, check=True, capture_output=True, text=True).stdout
        self.requests = kibana_requests([json.loads(line) for line in export.splitlines() if line.strip()])

    def labels(self):
        return [label for label, _, _ in QUESTIONS] + [label for label, _ in self.requests]

    def question(self, argv, expect):
        with self.ctx.tempfile.TemporaryFile("w+") as out:
            run = self.ctx.measure([str(self.ctx.TRAILSEARCH), *argv], env=self.env, stdout=out, timeout=120)
            out.seek(0)
            text = out.read()
        if run["code"] != 0 or expect not in text:
            raise RuntimeError(f"trailsearch {' '.join(argv)}: exit {run['code']}, no {expect!r} in {text[:300]!r}")
        return run["wall_s"] * 1000, None

    def request(self, body):
        url = f"{self.node.url}/{self.prefix}-*/_search?request_cache=false"
        started = time.perf_counter()
        status, data = self.ctx.http("POST", url, json.dumps(body).encode(), timeout=120)
        ms = (time.perf_counter() - started) * 1000
        if status != 200:
            raise RuntimeError(f"{url}: {status} {data[:300]!r}")
        answer = json.loads(data)
        return ms, {"took_ms": answer["took"], "hits": answer["hits"]["total"]["value"]}

    def once(self):
        """One run of everything: label -> (client ms, what the node said)."""
        out = {}
        for label, argv, expect in QUESTIONS:
            out[label] = self.question(argv, expect)
        for label, body in self.requests:
            out[label] = self.request(body)
        return out


def run(ctx, node, env, prefix, flavour, restart=None):
    """Warm p50/p95 over WARM_RUNS runs after WARMUP_RUNS unmeasured ones,
    then, given `restart()`, one cold run after it."""
    queries = Queries(ctx, node, env, prefix, flavour)
    warm = {label: [] for label in queries.labels()}
    answers = {}
    for _ in range(WARMUP_RUNS):
        queries.once()
    for _ in range(WARM_RUNS):
        for label, (ms, answer) in queries.once().items():
            warm[label].append(ms)
            answers[label] = answer
    dropped = restart() if restart else None
    cold = {label: ms for label, (ms, _) in queries.once().items()} if restart else {}
    rows = {}
    for label, times in warm.items():
        rows[label] = {"p50_ms": percentile(times, 0.5), "p95_ms": percentile(times, 0.95),
                       "cold_ms": cold.get(label), "node": answers[label]}
    return {"queries": rows, "warm_runs": WARM_RUNS, "page_cache_dropped": dropped}


def drop_page_cache():
    """Empties the kernel's page cache, where the system allows it."""
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False
