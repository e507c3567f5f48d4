"""scripts/bench --real: the README's sizing table, computed from this run's
measurements (never typed in): per events/day, the daily index, storage
over 90 days and a year with replicas, shards, the Lambda's GB-seconds and
bill per month, and the granularity to choose; then what N nodes would
index per second, projected from the single node's rate.
"""

EVENTS_PER_DAY = [100_000, 1_000_000, 10_000_000, 100_000_000]
REPLICAS = 1  # the default
# A shard should hold at most this much (the engines' guidance is 10-50 GB).
SHARD_MAX_GB = 50
NODES = [1, 3, 6, 12]
# The fraction of N times one node's rate a cluster keeps (coordination,
# replication traffic): a projection, not a measurement.
SCALING = 0.9


def gb(n):
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


def granularity(bytes_per_event, events_per_day):
    """Monthly indices while a month fits one shard: fewer, fuller shards."""
    month = bytes_per_event * events_per_day * 30
    return "month" if month <= SHARD_MAX_GB * 1e9 else "day"


def table(engine, bytes_per_event, gb_s_per_event, price_gb_s, price_request, records_per_object,
          events_per_second):
    lines = [f"Sizing on {engine} ({bytes_per_event:.0f} bytes per event stored, merged; {REPLICAS} replica; "
             f"the Lambda at {gb_s_per_event * 1e6:.1f} GB-s per million events):", "",
             "| events/day | a day's events (primaries) | 90 days with replica | 1 year with replica "
             "| granularity | one index's shard | shards per year (primary + replica) | Lambda GB-s / month "
             "| Lambda $ / month |",
             "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for events in EVENTS_PER_DAY:
        daily = bytes_per_event * events
        copies = 1 + REPLICAS
        choice = granularity(bytes_per_event, events)
        shards = (12 if choice == "month" else 365) * copies
        month_events = events * 30
        gb_s = gb_s_per_event * month_events
        dollars = gb_s * price_gb_s + month_events / records_per_object * price_request
        shard = daily * (30 if choice == "month" else 1)
        over = f" (over {SHARD_MAX_GB} GB)" if shard > SHARD_MAX_GB * 1e9 else ""
        lines.append(f"| {events:,} | {gb(daily)} | {gb(daily * 90 * copies)} | {gb(daily * 365 * copies)} "
                     f"| {choice} | {gb(shard)}{over} | {shards:,} | {gb_s:,.0f} | ${dollars:,.2f} |")
    lines += ["", f"Indexing rate of N nodes, projected (not measured) from one 2-core node's "
                  f"{events_per_second:,.0f} events/s with the client on the same cores, times "
                  f"{SCALING} per node, halved by the replica:", "",
              "| nodes | events/s, replicas 0 | events/s, 1 replica | events/day, 1 replica |",
              "| ---: | ---: | ---: | ---: |"]
    for n in NODES:
        rate = events_per_second * n * (SCALING if n > 1 else 1)
        lines.append(f"| {n} | {rate:,.0f} | {rate / 2:,.0f} | {rate / 2 * 86400:,.0f} |")
    return "\n".join(lines)
