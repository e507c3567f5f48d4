"""scripts/bench --real: what a cluster costs, on real single nodes of this
machine (scripts/node: OpenSearch 3.8.0 and Elasticsearch 9.5.4, one at a
time, heap 2 GiB, replicas 0).

For each node, over the same generated objects (--real-events, default
100,000 events in objects of 1 MiB compressed, the bench generator's):
  - indexing: trailsearch ingest against the reference loader
    (bench/reference_loader.py with opensearch-py's parallel_bulk at
    trailsearch's concurrency and batch size: 4 requests in flight, 5,000
    documents or 5 MiB each), both into the shipped template; wall,
    events/s, client CPU and node CPU (`_nodes/stats`), and the records the
    template refuses the loader;
  - storage: primary store bytes per document after
    `_forcemerge?max_num_segments=1`, for the shipped template, for each of
    its choices undone (VARIANTS), and for dynamic mapping of the raw
    records (what a naive loader gets), whose rejections are counted on the
    generated records and on the real-data-shaped fixtures;
  - on the first node, the Lambda bill (bench/lambda_bill.py);
  - over a month (--real-month-events, default 1,000,000 events in 30 daily
    indices): the headline ingest, its storage, and the query latency of the
    questions, trace, saved searches and dashboards (bench/latency.py).
Timings are reported, never asserted; counts are checked.
"""
import json
import os
import shutil
import sys

import lambda_bill
import latency
import sizing

NODES = ["opensearch-3.8.0", "elasticsearch-9.5.4"]
# trailsearch's defaults, given to the reference loader too.
THREADS = 4
CHUNK_DOCS = 5000
CHUNK_BYTES = 5 * 1024 * 1024
OBJECT_MIB = 1.0

# The goals of the real-node rows.
TARGET_STORAGE = 0.5      # shipped template bytes/event <= 0.5x dynamic mapping's
TARGET_THROUGHPUT = 1.5   # trailsearch events/s >= 1.5x the reference loader's
TARGET_CLIENT_CPU = 5.0   # reference loader client CPU per event >= 5x trailsearch's


def generate_set(ctx, out_dir, events, seed, day=None):
    """Objects of OBJECT_MIB each (seeds seed, seed+1, ...) until `events`
    records, every eventTime on `day` (the generator's own when None); the
    objects, their totals and each one's records."""
    objects, counts, total = [], [], {"records": 0, "json_bytes": 0, "compressed_bytes": 0}
    n = 0
    while total["records"] < events:
        path, summary = ctx.generate(out_dir, OBJECT_MIB, seed + n, day)
        objects.append(path)
        counts.append(summary["records"])
        for key in total:
            total[key] += summary[key]
        n += 1
    return objects, total, counts


class Node:
    """One real node, started through scripts/node and stopped on exit."""

    def __init__(self, ctx, name, log_dir):
        self.ctx, self.name, self.log_dir = ctx, name, log_dir
        # Kept across a restart, removed by stop().
        self.data = ctx.tempfile.mkdtemp(prefix=f"bench-{name}-", dir=log_dir)
        self.start()
        self.seconds = self.started_s

    def start(self, port=0):
        log = self.log_dir / f"node-{self.name}.log"
        self.proc = self.ctx.SERVERS.start(
            [sys.executable, str(self.ctx.ROOT / "scripts" / "node"), "run", self.name, "--heap", "2g",
             "--data", self.data, "--http-port", str(port), "--parent-pid", str(os.getpid())],
            stdout=self.ctx.subprocess.PIPE, stderr=open(log, "a"), text=True)
        line = self.proc.stdout.readline()
        try:
            ready = json.loads(line)
        except ValueError:
            self.ctx.SERVERS.stop(self.proc)
            raise RuntimeError(f"{self.name} did not start: see {log}")
        self.url, self.started_s = ready["url"], ready["seconds"]

    def restart(self, pattern):
        """Stops the node, drops the page cache where allowed, starts it on the
        same data and waits for `pattern`'s shards; whether the cache was dropped."""
        self.ctx.SERVERS.stop(self.proc)
        dropped = latency.drop_page_cache()
        # The same port, so the clients' settings still hold.
        self.start(int(self.url.rsplit(":", 1)[1]))
        self.get(f"/_cluster/health/{pattern}?wait_for_status=yellow&timeout=120s")
        return dropped

    def stop(self):
        self.ctx.SERVERS.stop(self.proc)
        shutil.rmtree(self.data, ignore_errors=True)

    def get(self, path):
        return self.ctx.http_json("GET", self.url + path)

    def post(self, path, body=None):
        return self.ctx.http_json("POST", self.url + path, json.dumps(body).encode() if body else None)

    def cpu_ms(self):
        stats = self.get("/_nodes/stats/process")
        return sum(n["process"]["cpu"]["total_in_millis"] for n in stats["nodes"].values())

    def delete(self, pattern):
        self.ctx.http("DELETE", f"{self.url}/{pattern}?ignore_unavailable=true&allow_no_indices=true")

    def stored(self, pattern):
        """Primary store bytes and documents of `pattern`, merged to one segment."""
        self.post(f"/{pattern}/_refresh")
        status, body = self.ctx.http("POST", f"{self.url}/{pattern}/_forcemerge?max_num_segments=1", timeout=1800)
        if status >= 300:
            raise RuntimeError(f"forcemerge {pattern}: {status} {body[:200]!r}")
        self.post(f"/{pattern}/_refresh")
        primaries = self.get(f"/{pattern}/_stats/store,docs")["_all"]["primaries"]
        # No index matched (nothing was stored): empty primaries.
        return primaries.get("store", {}).get("size_in_bytes", 0), primaries.get("docs", {}).get("count", 0)


def load(ctx, node, argv, env, pattern, expected):
    """Runs one loader; wall, client CPU and RSS, node CPU, documents stored."""
    before = node.cpu_ms()
    with ctx.tempfile.TemporaryFile("w+") as out:
        run = ctx.measure(argv, env=env, stdout=out, timeout=3600)
        out.seek(0)
        run["output"] = ctx.last_json_line(out.read()) or {}
    run["node_cpu_s"] = (node.cpu_ms() - before) / 1000
    run["store_bytes"], run["docs"] = node.stored(pattern)
    run["bytes_per_event"] = run["store_bytes"] / max(run["docs"], 1)
    run["expected"] = expected
    return run


def ingest(ctx, node, files, env, prefix, records):
    """`trailsearch ingest` of `files` into `prefix`, measured; ok when every
    record was indexed and stored."""
    argv = [str(ctx.TRAILSEARCH), "ingest", "--report", "json", *map(str, files)]
    run = load(ctx, node, argv, env, f"{prefix}-*", records)
    report = run["output"]
    run["ok"] = run["code"] == 0 and report.get("indexed") == records and run["docs"] == records
    if not run["ok"]:
        run["problem"] = f"exit {run['code']}, report {report}, {run['docs']} documents, expected {records}"
    return run


# Template variants measured for storage, each undoing one of the shipped
# template's choices to show what it saves: (label, index settings, what to
# change in the mappings).
VARIANTS = [
    ("LZ4 (default codec) instead of best_compression", {"codec": "default"}, []),
    ("doc values on identifiers", {}, ["identifiers"]),
    ("doc values on free-shaped leaves", {}, ["free-shaped"]),
]


def with_doc_values(properties, changes):
    """Turns doc values back on where `changes` says; returns the fields changed."""
    changed = []

    def walk(props, prefix):
        for name, mapping in props.items():
            path = f"{prefix}{name}"
            if "properties" in mapping:
                walk(mapping["properties"], f"{path}.")
            kind = mapping.get("type")
            if mapping.get("doc_values") is False and (
                    ("identifiers" in changes and kind == "keyword")
                    or ("free-shaped" in changes and kind == "flattened")):
                del mapping["doc_values"]
                changed.append(path)

    walk(properties, "")
    return changed


def template_variant(node, prefix, settings, changes=()):
    """Rewrites the events template `setup` installed for `prefix` with other
    index settings and more doc values; returns the fields changed."""
    name = f"{prefix}-events"
    entry = node.get(f"/_index_template/{name}")["index_templates"][0]["index_template"]
    entry["template"].setdefault("settings", {}).setdefault("index", {}).update(settings)
    changed = with_doc_values(entry["template"]["mappings"]["properties"], changes)
    # What GET adds and PUT refuses (OpenSearch's created_date, ...).
    entry = {k: v for k, v in entry.items() if k in ("index_patterns", "template", "priority", "version", "_meta")}
    node.ctx.http_json("PUT", f"{node.url}/_index_template/{name}", json.dumps(entry).encode())
    return changed


def loader_argv(ctx, url, files):
    return [sys.executable, str(ctx.LOADER), url, *map(str, files), "--threads", str(THREADS),
            "--chunk-size", str(CHUNK_DOCS), "--max-chunk-bytes", str(CHUNK_BYTES)]


def fixture_objects(ctx):
    root = ctx.ROOT / "tests" / "fixtures" / "cloudtrail"
    return sorted(p for p in root.rglob("*.json.gz") if "/CloudTrail/" in str(p))


def setup(ctx, env, prefix):
    """`trailsearch setup` for `prefix`; the environment that names it."""
    run_env = dict(env, TRAILSEARCH_INDEX_PREFIX=prefix)
    ctx.subprocess.run([str(ctx.TRAILSEARCH), "setup"], env=run_env, check=True, stdout=ctx.subprocess.DEVNULL)
    return run_env


def load_month(ctx, node, env, prefix, files, records):
    """The month's objects into `prefix` (measured and counted), then the
    fixtures, whose planted events the questions find; the environment
    naming `prefix`, the month's run and the fixtures' report."""
    run_env = setup(ctx, env, prefix)
    run = ingest(ctx, node, files, run_env, prefix, records)
    fixtures = ctx.subprocess.run([str(ctx.TRAILSEARCH), "ingest", "--report", "json",
                                   str(ctx.ROOT / "tests" / "fixtures" / "cloudtrail")],
                                  env=run_env, capture_output=True, text=True)
    planted = ctx.last_json_line(fixtures.stdout) or {}
    if planted.get("failed_events", 1) != 0 or not planted.get("indexed"):
        raise RuntimeError(f"ingest of the fixtures: exit {fixtures.returncode}, {planted}: {fixtures.stderr[-500:]}")
    node.post(f"/{prefix}-*/_refresh")
    return run_env, run, planted


def month_rows(ctx, node, env, month, table):
    """The headline ingest over a month of daily indices, its storage, and
    the query latency over it (bench/latency.py)."""
    files, total = month
    prefix = "bench-month"
    records = total["records"]
    ctx.log(f"{node.name}: {records:,} events over {latency.DAYS} daily indices")
    run_env, run, planted = load_month(ctx, node, env, prefix, files, records)
    summary = {"records": records, "json_bytes": total["json_bytes"]}
    table.add(f"{node.name}: trailsearch ingest, {latency.DAYS} daily indices", run=run, summary=summary,
              result=f"node CPU {run['node_cpu_s']:.1f} s; {run['bytes_per_event']:.0f} B/event stored "
                     f"after merging", target="info")
    ctx.log(f"{node.name}: query latency, {latency.WARM_RUNS} warm runs, then a cold one after a restart")
    flavour = "elasticsearch" if node.name.startswith("elasticsearch") else "opensearch"
    result = latency.run(ctx, node, run_env, prefix, flavour, lambda: node.restart(f"{prefix}-*"))
    cold_note = "cold after restart" + ("" if result["page_cache_dropped"] else " (page cache kept)")
    for label, row in result["queries"].items():
        if label.startswith("question"):
            target = latency.TARGET_QUESTION_MS
        elif label.startswith(("view:", "map:")):
            target = latency.TARGET_AGGREGATION_MS
        else:
            target = None
        hits = f"; {row['node']['hits']:,} hits" if row["node"] else ""
        table.add(f"{node.name}: {label}",
                  result=f"p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms, {cold_note} "
                         f"{row['cold_ms']:.0f} ms{hits}",
                  target=f"p95 < {target} ms" if target else "info",
                  ok=row["p95_ms"] < target if target else None)
    node.delete(f"{prefix}-*")
    monthly = monthly_latency(ctx, node, env, files, records, flavour, table)
    return {"ingest": run, "fixtures": planted, "latency": result, "monthly": monthly}


def monthly_latency(ctx, node, env, files, records, flavour, table):
    """The same month in one monthly index (`--granularity month`), warm:
    what the sizing table's granularity advice buys."""
    prefix = "bench-monthly"
    run_env, run, _ = load_month(ctx, node, dict(env, TRAILSEARCH_GRANULARITY="month"), prefix, files, records)
    if not run["ok"]:
        raise RuntimeError(f"the month into one monthly index: {run['problem']}")
    ctx.log(f"{node.name}: query latency over one monthly index, {latency.WARM_RUNS} warm runs")
    result = latency.run(ctx, node, run_env, prefix, flavour)
    rows = result["queries"]
    for label, row in rows.items():
        if label.startswith(("question", "trace")):
            table.add(f"{node.name}: {label}, one monthly index",
                      result=f"p50 {row['p50_ms']:.0f} ms, p95 {row['p95_ms']:.0f} ms", target="info")
    for kind, prefixes in (("saved search", ("saved search:",)), ("view", ("view:", "map:"))):
        slowest = max((label for label in rows if label.startswith(prefixes)), key=lambda l: rows[l]["p95_ms"])
        table.add(f"{node.name}: slowest {kind}, one monthly index",
                  result=f"{slowest}: p50 {rows[slowest]['p50_ms']:.0f} ms, p95 {rows[slowest]['p95_ms']:.0f} ms",
                  target="info")
    node.delete(f"{prefix}-*")
    return result


def run_node(ctx, name, files, total, table, log_dir, month=None, bill=False):
    ctx.log(f"{name}: starting")
    node = Node(ctx, name, log_dir)
    rows = {"start_s": node.seconds}
    try:
        env = dict(os.environ, TRAILSEARCH_ES_URL=node.url, TRAILSEARCH_REPLICAS="0", TRAILSEARCH_LOG="error")
        records = total["records"]

        def setup_for(prefix, variant=None):
            run_env = setup(ctx, env, prefix)
            if variant:
                run_env["changed"] = ",".join(template_variant(node, prefix, *variant))
            return run_env

        def trailsearch(prefix, variant=None):
            run_env = setup_for(prefix, variant)
            changed = run_env.pop("changed", "")
            run = ingest(ctx, node, files, run_env, prefix, records)
            run["changed"] = changed
            node.delete(f"{prefix}-*")
            return run

        def loader(prefix, template=True, objects=files, expected=records):
            run_env = setup_for(prefix) if template else dict(env, TRAILSEARCH_INDEX_PREFIX=prefix)
            run = load(ctx, node, loader_argv(ctx, node.url, objects), run_env, f"{prefix}-*", expected)
            out = run["output"]
            run["ok"] = expected is None or out.get("records") == expected and out.get("indexed", 0) + out.get("errors", 0) == expected
            if not run["ok"]:
                run["problem"] = f"output {out}, expected {expected} records"
            node.delete(f"{prefix}-*")
            return run

        # A node just started runs interpreted until its JIT has seen the
        # work: warm it with both loaders, then alternate them, best of 2 each.
        ctx.log(f"{name}: warming up")
        trailsearch("bench-warm")
        loader("bench-warm")
        ts = py = None
        for round in range(2):
            ctx.log(f"{name}: round {round + 1}: trailsearch ingest, then the reference loader, {records:,} events")
            run = trailsearch("bench-ts")
            ts = run if ts is None or run["wall_s"] < ts["wall_s"] else ts
            run = loader("bench-py")
            py = run if py is None or run["wall_s"] < py["wall_s"] else py
        ctx.log(f"{name}: storage variants")
        variants = {label: trailsearch("bench-variant", (settings, changes))
                    for label, settings, changes in VARIANTS}
        ctx.log(f"{name}: reference loader, dynamic mapping")
        dyn = loader("bench-dyn", template=False)
        fixtures = fixture_objects(ctx)
        fix = loader("bench-fix", template=False, objects=fixtures, expected=None)
        rows.update(trailsearch=ts, python=py, dynamic=dyn, variants=variants, fixtures_dynamic=fix["output"])

        if bill:
            ctx.log(f"{name}: the Lambda bill: both loaders at Lambda's CPU shares")
            subset, expected = files, records
            run_env = setup_for("bench-lambda")
            # As the SAM template's function sends them.
            ts_env = dict(run_env, TRAILSEARCH_GZIP_REQUESTS="false")

            def ts_ok(run):
                got = run["output"].get("indexed")
                return None if run["code"] == 0 and got == expected else f"exit {run['code']}, indexed {got} of {expected}"

            def py_ok(run):
                out = run["output"]
                done = out.get("indexed", 0) + out.get("errors", 0)
                return None if run["code"] == 0 and done == expected else f"exit {run['code']}, {out} of {expected}"

            ts_argv = [str(ctx.TRAILSEARCH), "ingest", "--report", "json", *map(str, subset)]
            rows["lambda"] = lambda_bill.run(ctx, node, subset, expected, {
                "trailsearch": (ts_argv, ts_env, ts["rss_mib"], ts_ok, [lambda_bill.MB_PER_VCPU]),
                "reference loader": (loader_argv(ctx, node.url, subset), run_env, py["rss_mib"], py_ok, []),
            }, table)

        if month:
            rows["month"] = month_rows(ctx, node, env, month, table)
    finally:
        node.stop()

    summary = {"records": records, "json_bytes": total["json_bytes"]}
    ts_rate, py_rate = records / ts["wall_s"], records / py["wall_s"]
    table.add(f"{name}: trailsearch ingest", run=ts, summary=summary,
              result=f"node CPU {ts['node_cpu_s']:.1f} s; {ts['bytes_per_event']:.0f} B/event stored")
    py_out = py["output"]
    table.add(f"{name}: reference loader", run=py, summary=summary,
              result=f"node CPU {py['node_cpu_s']:.1f} s; refused {py_out.get('errors', '?')} "
                     f"{py_out.get('error_types', {})}")
    throughput = ts_rate / py_rate
    table.add(f"{name}: throughput, trailsearch / loader", result=f"{throughput:.2f}x events/s",
              target=f">= {TARGET_THROUGHPUT}x", ok=throughput >= TARGET_THROUGHPUT)
    cpu_ratio = (py["cpu_s"] / max(py_out.get("indexed", records), 1)) / (ts["cpu_s"] / records)
    table.add(f"{name}: client CPU per event, loader / trailsearch", result=f"{cpu_ratio:.1f}x",
              target=f">= {TARGET_CLIENT_CPU:g}x", ok=cpu_ratio >= TARGET_CLIENT_CPU)
    dyn_out = dyn["output"]
    storage = ts["bytes_per_event"] / dyn["bytes_per_event"]
    table.add(f"{name}: storage, dynamic mapping", run=dyn, summary=summary,
              result=f"{dyn['bytes_per_event']:.0f} B/event; refused {dyn_out.get('errors', '?')} of "
                     f"{records:,} {dyn_out.get('error_types', {})}")
    fix_out = rows["fixtures_dynamic"]
    table.add(f"{name}: dynamic mapping on the fixtures",
              result=f"refused {fix_out.get('errors', '?')} of {fix_out.get('records', '?')} records "
                     f"{fix_out.get('error_types', {})}", target="info")
    table.add(f"{name}: storage, shipped template / dynamic", result=f"{storage:.2f}x "
              f"({ts['bytes_per_event']:.0f} / {dyn['bytes_per_event']:.0f} B/event)",
              target=f"<= {TARGET_STORAGE}x", ok=storage <= TARGET_STORAGE)
    for label, run in rows["variants"].items():
        saved = run["bytes_per_event"] - ts["bytes_per_event"]
        table.add(f"{name}: storage, shipped template with {label}", run=run, summary=summary,
                  result=f"{run['bytes_per_event']:.0f} B/event (the choice saves {saved:.0f}), "
                         f"{run['bytes_per_event'] / dyn['bytes_per_event']:.2f}x dynamic; "
                         f"fields changed: {run['changed'] or 'none'}", target="info")
    return rows


def main(ctx, args, out_dir, table, results):
    files, total, _ = generate_set(ctx, out_dir, args.real_events, args.seed)
    ctx.log(f"{len(files)} objects, {total['records']:,} events, {total['json_bytes'] / total['records']:.0f} B "
            f"JSON and {total['compressed_bytes'] / total['records']:.0f} B gzip per event")
    results["real"] = {"events": total, "objects": len(files), "replicas": 0, "nodes": {}}
    table.add("real: events", result=f"{total['records']:,} in {len(files)} objects of {OBJECT_MIB:g} MiB; "
              f"{total['json_bytes'] / total['records']:.0f} B JSON, "
              f"{total['compressed_bytes'] / total['records']:.0f} B gzip per event; replicas 0",
              target="info")
    month = None
    if args.real_month_events:
        per_day = -(-args.real_month_events // latency.DAYS)
        month_files, month_total = [], {"records": 0, "json_bytes": 0, "compressed_bytes": 0}
        for n, day in enumerate(latency.days()):
            day_files, day_total, _ = generate_set(ctx, out_dir, per_day, 1000 * (n + 1), day)
            month_files += day_files
            for key in month_total:
                month_total[key] += day_total[key]
        month = (month_files, month_total)
        results["real"]["month"] = dict(month_total, objects=len(month_files), days=latency.DAYS)
        table.add("real: month of events", result=f"{month_total['records']:,} in {len(month_files)} objects over "
                  f"{latency.DAYS} days; {month_total['json_bytes'] / month_total['records']:.0f} B JSON, "
                  f"{month_total['compressed_bytes'] / month_total['records']:.0f} B gzip per event", target="info")
    for n, name in enumerate(NODES):
        # The Lambda bill is the client's: measured against the first node only.
        results["real"]["nodes"][name] = run_node(ctx, name, files, total, table, out_dir, month, bill=n == 0)
    results["real"]["sizing"] = sizing_tables(results["real"])
    return 0


def sizing_tables(real):
    """The sizing tables, from the month's storage and rate on each engine and
    the Lambda's GB-s per event, where the run measured them."""
    first = real["nodes"][NODES[0]].get("lambda")
    best = first and first["loaders"]["trailsearch"]["best"]
    if not best or "month" not in real:
        return ""
    out = []
    for name, rows in real["nodes"].items():
        ingest = rows["month"]["ingest"]
        out.append(sizing.table(name, ingest["bytes_per_event"], best["gb_s"] / first["events"],
                                first["price_gb_s"], first["price_request"], first["records_per_object"],
                                ingest["docs"] / ingest["wall_s"]))
    return "\n\n".join(out)
