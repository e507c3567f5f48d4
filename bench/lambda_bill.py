"""scripts/bench --real: what the Lambda bill would be, trailsearch against
the reference Python loader, on the same objects into the same node.

The model: Lambda gives CPU in proportion to memory, one vCPU at 1,769 MB,
and bills GB-seconds (memory in GB of 1,024 MB times duration). A loader run
at memory M under a CPU quota of M/1,769 of one CPU and a memory limit of M
(cgroup v1 `cpu.cfs_quota_us` and `memory.limit_in_bytes`) takes about the
time Lambda would bill at M: its CPU seconds at that share plus its waiting on
the cluster. Where cgroups cannot be written, the time is modelled from an
unconstrained run instead: CPU seconds / share + (wall - CPU seconds), and the
row says "model".

Both load the whole indexing set, trailsearch as the SAM template's function
does (TRAILSEARCH_GZIP_REQUESTS=false). Each runs at every size from the one just above its unconstrained peak RSS
to the one with RSS_HEADROOM (a run the memory limit kills is left out), and
trailsearch at one full vCPU too (its requests overlap, so more CPU can cost
less waiting); the cheapest run that completed counts. Price:
PRICE_GB_S per GB-second and PRICE_REQUEST per invocation (Lambda's published
x86 price in us-east-1, first tier), one invocation per object of
RECORDS_PER_OBJECT records (a busy account's 5-minute file).
"""
import os
from pathlib import Path

MB_PER_VCPU = 1769
SIZES_MB = [128, 256, 512, 1024, 1769, 3008]
PRICE_GB_S = 0.0000166667
PRICE_REQUEST = 0.20 / 1_000_000
RECORDS_PER_OBJECT = 300
# Headroom over the peak RSS measured unconstrained (the runtime's own pages).
RSS_HEADROOM = 1.25

CGROUP = Path("/sys/fs/cgroup")
QUOTA_POSSIBLE = os.access(CGROUP / "cpu", os.W_OK) and os.access(CGROUP / "memory", os.W_OK)


class Quota:
    """A cgroup v1 CPU quota and memory limit for a child, or None if the
    system does not allow one."""

    def __init__(self, memory_mb):
        name = f"trailsearch-bench-{os.getpid()}-{memory_mb}"
        self.cpu, self.memory = CGROUP / "cpu" / name, CGROUP / "memory" / name
        period = 100_000
        share = memory_mb / MB_PER_VCPU
        self.cpu.mkdir()
        self.memory.mkdir()
        (self.cpu / "cpu.cfs_period_us").write_text(str(period))
        (self.cpu / "cpu.cfs_quota_us").write_text(str(int(period * share)))
        (self.memory / "memory.limit_in_bytes").write_text(str(memory_mb * 1024 * 1024))

    @staticmethod
    def open(memory_mb):
        try:
            return Quota(memory_mb)
        except OSError:
            return None

    def wrap(self, argv):
        """`argv` run inside the cgroups (the shell joins them, then execs)."""
        join = f"echo $$ > {self.cpu}/cgroup.procs && echo $$ > {self.memory}/cgroup.procs && exec \"$@\""
        return ["sh", "-c", join, "sh", *argv]

    def close(self):
        for group in (self.cpu, self.memory):
            try:
                group.rmdir()
            except OSError:
                pass


def size_for(rss_mib):
    return next((m for m in SIZES_MB if m >= rss_mib * RSS_HEADROOM), SIZES_MB[-1])


def candidates(rss_mib, extra, quota):
    """The sizes to run: under a memory limit, every size from the one just
    above the unconstrained peak RSS to the one with headroom (a run that
    does not fit fails and is left out); without one, the size with headroom."""
    top = size_for(rss_mib)
    low = [m for m in SIZES_MB if rss_mib <= m <= top] if quota else [top]
    return sorted({*low, top, *extra})


def billed(ctx, argv, env, memory_mb, check):
    """One run at `memory_mb`: billed seconds, GB-s, and how they were found."""
    quota = Quota.open(memory_mb)
    try:
        with ctx.tempfile.TemporaryFile("w+") as out:
            run = ctx.measure(quota.wrap(argv) if quota else argv, env=env, stdout=out, timeout=3600)
            out.seek(0)
            run["output"] = ctx.last_json_line(out.read()) or {}
    finally:
        if quota:
            quota.close()
    problem = check(run)
    share = memory_mb / MB_PER_VCPU
    if quota:
        seconds, how = run["wall_s"], "cgroup quota"
    else:
        seconds, how = run["cpu_s"] / share + max(run["wall_s"] - run["cpu_s"], 0), "model"
    return {"memory_mb": memory_mb, "share_vcpu": share, "seconds": seconds, "gb_s": seconds * memory_mb / 1024,
            "cpu_s": run["cpu_s"], "wait_s": max(seconds - run["cpu_s"] / min(share, 1.0), 0),
            "how": how, "code": run["code"], "problem": problem}


def run(ctx, node, files, events, loaders, table):
    """`loaders`: label -> (argv, env, peak RSS MiB unconstrained, check(run)
    -> problem or None given the run and its last JSON line as "output",
    sizes to try besides the smallest)."""
    gz_gb = sum(Path(f).stat().st_size for f in files) / 1e9
    rows = {}
    for label, (argv, env, rss, check, extra) in loaders.items():
        tried = []
        for memory_mb in candidates(rss, extra, QUOTA_POSSIBLE):
            row = billed(ctx, argv, env, memory_mb, check)
            tried.append(row)
            node.delete("bench-lambda-*")
        ok = [r for r in tried if not r["problem"]]
        best = min(ok, key=lambda r: r["gb_s"]) if ok else None
        rows[label] = {"tried": tried, "best": best}
        if best:
            per_gb = best["gb_s"] / gz_gb
            per_million = (best["gb_s"] / events * 1e6 * PRICE_GB_S
                           + 1e6 / RECORDS_PER_OBJECT * PRICE_REQUEST)
            best.update(gb_s_per_gb=per_gb, usd_per_million_events=per_million)
            table.add(f"{node.name}: Lambda, {label}",
                      result=f"{best['memory_mb']} MB ({best['share_vcpu']:.2f} vCPU, {best['how']}): "
                             f"{per_gb:,.0f} GB-s per GB gzip, ${per_million:.4f} per million events; "
                             f"CPU {best['cpu_s']:.1f} s, waiting {best['wait_s']:.1f} s",
                      target="info")
        else:
            table.add(f"{node.name}: Lambda, {label}",
                      result="; ".join(f"{r['memory_mb']} MB: {r['problem']}" for r in tried), ok=False,
                      target="runs")
    ts, py = rows.get("trailsearch", {}).get("best"), rows.get("reference loader", {}).get("best")
    if ts and py:
        ratio = py["gb_s"] / ts["gb_s"]
        table.add(f"{node.name}: Lambda GB-s per GB, loader / trailsearch", result=f"{ratio:.1f}x",
                  target=">= 8x", ok=ratio >= 8)
    return {"gzip_gb": gz_gb, "events": events, "price_gb_s": PRICE_GB_S, "price_request": PRICE_REQUEST,
            "records_per_object": RECORDS_PER_OBJECT, "loaders": rows}

