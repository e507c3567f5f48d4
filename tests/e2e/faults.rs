//! Fault injection, end to end: the `trailsearch` binary ingests the fixture
//! corpus through `tests/servers/fault_proxy.py`, which sits in front of the
//! test cluster and, with seeded probabilities, answers bulk requests 429 or
//! 503, fails some items inside a 200, resets connections before or during
//! the answer, stalls past the client's timeout, or plays dead for a while.
//! Every event must still be accounted for exactly, and only what failed may
//! be sent again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trailsearch_e2e::*;

/// The fault proxy in front of the test cluster; killed on drop.
struct FaultProxy {
    child: Child,
    url: String,
}

impl FaultProxy {
    fn start(args: &[&str]) -> FaultProxy {
        let python = repo_root().join(".venv/bin/python");
        let mut child = Command::new(&python)
            .arg(repo_root().join("tests/servers/fault_proxy.py"))
            .args(["--upstream", cluster_url(), "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .current_dir(repo_root())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/bootstrap", python.display()));
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        let mut proxy = FaultProxy {
            child,
            url: String::new(),
        };
        let ready: Option<Value> = read.ok().and_then(|_| serde_json::from_str(&line).ok());
        match ready.as_ref().and_then(|r| r["url"].as_str()) {
            Some(url) if url.starts_with("http://127.0.0.1:") => proxy.url = url.to_string(),
            _ => panic!("fault proxy said {line:?}"),
        }
        proxy
    }

    /// What the proxy saw (`GET /_fault/stats`).
    fn stats(&self) -> Value {
        let (status, stats) = http_at(&self.url, "GET", "/_fault/stats", None);
        assert_eq!(status, 200, "fault stats: {stats}");
        stats
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn n(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
}

/// The report of a clean run over the fixtures.
fn clean_report() -> Value {
    let m = manifest();
    json!({
        "objects": n(&m, "log_objects"), "skipped_objects": n(&m, "digest_objects"), "failed_objects": 0,
        "events": n(&m, "records"), "filtered": 0, "indexed": n(&m, "distinct_events"), "superseded": 0,
        "duplicates": n(&m, "duplicate_deliveries"), "degraded": 0,
        "dead_lettered": n(&m, "records_without_valid_event_time"), "failed_events": 0,
        "digests_valid": 0, "digests_invalid": 0, "integrity_updates": 0,
    })
}

/// A fresh prefix with its templates installed directly on the cluster.
fn prepared(test: &str) -> Prefix {
    let prefix = unique_prefix(test);
    trailsearch(&prefix, &["setup"]).expect_code(0);
    prefix
}

/// Ingests the fixtures through the proxy.
fn ingest_through(proxy: &FaultProxy, prefix: &str, max_retry_time: &str, concurrency: &str) -> Run {
    let dir = fixtures();
    trailsearch_at(
        &proxy.url,
        prefix,
        &[
            "ingest",
            dir.to_str().expect("utf-8 path"),
            "--report",
            "json",
            "--concurrency",
            concurrency,
            "--bulk-docs",
            "200",
            // Long enough that a loaded machine's honest answers arrive;
            // the delay fault stalls longer still.
            "--timeout",
            "3s",
            "--max-retry-time",
            max_retry_time,
        ],
        &[("TRAILSEARCH_LOG", "error")],
    )
}

/// The NDJSON bytes a clean run sends: the dry run's output.
fn clean_bulk_bytes(prefix: &str) -> u64 {
    let dir = fixtures();
    let run = trailsearch_at(
        "http://127.0.0.1:9",
        prefix,
        &[
            "ingest",
            dir.to_str().expect("utf-8 path"),
            "--dry-run",
            "--report",
            "json",
            "--bulk-docs",
            "200",
        ],
        &[],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    run.stdout.len() as u64
}

/// How the run is judged.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// The clean run's report exactly, and every item sent upstream once.
    Exact,
    /// Answers cut off after forwarding: the cluster may have indexed items
    /// the client never heard about. Sent again, they come back 409 and
    /// count as duplicates (a dead letter too, as the README says of every
    /// 409), so only their sum is exact: indexed + duplicates + dead_lettered
    /// is every event, with none failed; the indices still hold exactly the
    /// distinct events and both dead letters. An item may reach the cluster
    /// more than once, but is never indexed twice (`create`).
    CutAnswers,
}

/// Runs one fault scenario and checks everything; returns the proxy's stats.
fn scenario(test: &str, proxy_args: &[&str], expect: Expect) -> Value {
    let m = manifest();
    let prefix = prepared(test);
    // No batch fails more than 4 times in a row by injected faults (plus at
    // most 4 times in the mix's 1 s down window; 6 in the 3 s one, alone):
    // the backoff before its 9th try
    // is at most 0.2 s * (2^8 - 1) = 51 s, inside --max-retry-time 60s, so
    // every run settles everything whatever the scheduling.
    let args: Vec<&str> = proxy_args
        .iter()
        .copied()
        .chain(["--max-faults-per-id", "4"])
        .collect();
    let proxy = FaultProxy::start(&args);
    let started = Instant::now();
    let run = ingest_through(&proxy, &prefix, "60s", "2");
    let elapsed = started.elapsed();
    let stats = proxy.stats();
    let report = run.report();
    balanced(&report);
    let faults = &stats["faults"];
    eprintln!(
        "{test}: {elapsed:.1?}, report {report}, faults {faults}, requests {}, bulk requests {}, \
         down resets {}, bulk bytes received {}, forwarded bytes {}, ids received {} times, forwarded {} times",
        stats["requests"],
        stats["bulk_requests"],
        stats["down_resets"],
        stats["bulk_bytes"]
            .as_array()
            .map(|b| b.iter().filter_map(Value::as_u64).sum::<u64>())
            .unwrap_or(0),
        stats["forwarded_bytes"],
        times(&stats["received"]),
        times(&stats["forwarded"]),
    );
    // Exit 1 because of the dead letters (or 0 where a cut answer turned
    // both into 409 duplicates), never because an object failed.
    let expected_code = i32::from(n(&report, "dead_lettered") > 0);
    assert_eq!(run.code, expected_code, "{run}");

    let distinct = n(&m, "distinct_events");
    assert_eq!(count(&format!("{prefix}-*")), distinct, "{run}");
    assert_eq!(
        count(&format!("{prefix}_deadletter")),
        n(&m, "records_without_valid_event_time"),
        "{run}"
    );
    let clean = clean_report();
    match expect {
        Expect::Exact => assert_eq!(report, clean, "{run}\nstats faults {faults}"),
        Expect::CutAnswers => {
            let sent = ["indexed", "duplicates", "dead_lettered"];
            let settled: u64 = sent.iter().map(|k| n(&report, k)).sum();
            assert_eq!(settled, n(&clean, "events"), "{run}");
            for key in ["indexed", "dead_lettered"] {
                assert!(n(&report, key) <= n(&clean, key), "{key}: {run}");
            }
            let mut loose = report.clone();
            for key in sent {
                loose[key] = clean[key].clone();
            }
            assert_eq!(loose, clean, "{run}");
        }
    }

    // Only failed items are resent: every _id reached the cluster once per
    // delivery in the corpus (the two duplicate deliveries twice), and the
    // NDJSON bytes forwarded are exactly those of a clean run.
    let forwarded = stats["forwarded"].as_object().expect("forwarded ids");
    let total: u64 = forwarded.values().filter_map(Value::as_u64).sum();
    let distinct_ids = distinct + n(&m, "records_without_valid_event_time");
    assert_eq!(
        forwarded.len() as u64,
        distinct_ids,
        "every document reached the cluster"
    );
    if expect == Expect::Exact {
        let twice = forwarded.values().filter(|v| v.as_u64() == Some(2)).count() as u64;
        let max = forwarded.values().filter_map(Value::as_u64).max().unwrap_or(0);
        assert_eq!(
            total,
            n(&m, "records"),
            "an item was forwarded again after it had reached the cluster"
        );
        assert_eq!(twice, n(&m, "duplicate_deliveries"));
        assert!(max <= 2, "an item was forwarded {max} times");
        assert_eq!(
            n(&stats, "forwarded_bytes"),
            clean_bulk_bytes(&prefix),
            "bytes forwarded"
        );
    }
    stats
}

/// "N ids × k" summary of an `_id -> times` map.
fn times(map: &Value) -> String {
    let mut by_times = std::collections::BTreeMap::<u64, u64>::new();
    for v in map.as_object().into_iter().flat_map(|m| m.values()) {
        *by_times.entry(v.as_u64().unwrap_or(0)).or_default() += 1;
    }
    by_times
        .iter()
        .map(|(k, ids)| format!("{ids}x{k}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn injected(stats: &Value, kind: &str) -> u64 {
    stats["faults"][kind].as_u64().unwrap_or(0)
}

#[test]
fn whole_request_429s_are_retried_exactly() {
    let stats = scenario(
        "fault-429",
        &["--seed", "1", "--p-whole-429", "0.5", "--max-faults", "8"],
        Expect::Exact,
    );
    assert_eq!(injected(&stats, "whole-429"), 8, "{stats}");
}

#[test]
fn whole_request_503s_are_retried_exactly() {
    let stats = scenario(
        "fault-503",
        &["--seed", "2", "--p-whole-503", "0.5", "--max-faults", "8"],
        Expect::Exact,
    );
    assert_eq!(injected(&stats, "whole-503"), 8, "{stats}");
}

#[test]
fn item_429s_and_503s_resend_only_the_failed_items() {
    let stats = scenario(
        "fault-items",
        &["--seed", "3", "--p-item-fail", "0.3", "--max-faults", "12"],
        Expect::Exact,
    );
    assert_eq!(injected(&stats, "item"), 12, "{stats}");
    // Held-back items were received again: more received than forwarded.
    let received: u64 = stats["received"]
        .as_object()
        .expect("received")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert!(received > n(&manifest(), "records"), "{stats}");
}

#[test]
fn connection_resets_before_the_answer_are_retried_exactly() {
    let stats = scenario(
        "fault-reset-before",
        &["--seed", "4", "--p-reset-before", "0.4", "--max-faults", "6"],
        Expect::Exact,
    );
    assert_eq!(injected(&stats, "reset-before"), 6, "{stats}");
}

#[test]
fn connection_resets_during_the_answer_lose_nothing() {
    let stats = scenario(
        "fault-reset-during",
        &["--seed", "5", "--p-reset-during", "0.4", "--max-faults", "6"],
        Expect::CutAnswers,
    );
    assert_eq!(injected(&stats, "reset-during"), 6, "{stats}");
}

#[test]
fn answers_slower_than_the_timeout_are_retried_exactly() {
    let stats = scenario(
        "fault-delay",
        &[
            "--seed",
            "6",
            "--p-delay",
            "0.3",
            "--delay-seconds",
            "4",
            "--max-faults",
            "4",
        ],
        Expect::Exact,
    );
    assert_eq!(injected(&stats, "delay"), 4, "{stats}");
}

#[test]
fn a_cluster_down_for_a_while_loses_nothing() {
    let stats = scenario(
        "fault-down",
        &["--seed", "7", "--down-seconds", "3"],
        Expect::Exact,
    );
    assert!(n(&stats, "down_resets") > 0, "{stats}");
}

#[test]
fn a_mix_of_every_fault_loses_nothing() {
    let stats = scenario(
        "fault-mix",
        &[
            "--seed",
            "8",
            "--p-whole-429",
            "0.1",
            "--p-whole-503",
            "0.1",
            "--p-reset-before",
            "0.1",
            "--p-reset-during",
            "0.1",
            "--p-delay",
            "0.1",
            "--delay-seconds",
            "4",
            "--p-item-fail",
            "0.2",
            "--p-item-bulk",
            "0.4",
            "--max-faults",
            "12",
            "--down-seconds",
            "1",
        ],
        Expect::CutAnswers,
    );
    let total: u64 = stats["faults"]
        .as_object()
        .expect("faults")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(total, 12, "{stats}");
}

/// Down for the whole run: each batch gives up after `--max-retry-time`, its
/// object is reported failed, the CLI exits 1, and memory stays flat while
/// it retries (peak RSS printed, bounded generously).
#[test]
fn retries_stop_after_the_maximum_retry_time_when_the_cluster_stays_down() {
    let prefix = prepared("fault-stays-down");
    let proxy = FaultProxy::start(&["--seed", "9", "--down-seconds", "1000"]);
    let dir = fixtures();
    let started = Instant::now();
    // Concurrency 8: the retry budget is per batch, so a run over 44 objects
    // while down lasts about objects / concurrency * --max-retry-time.
    let (run, peak_kib) = trailsearch_at_measured(
        &proxy.url,
        &prefix,
        &[
            "ingest",
            dir.to_str().expect("utf-8 path"),
            "--report",
            "json",
            "--concurrency",
            "8",
            "--bulk-docs",
            "200",
            "--timeout",
            "1s",
            "--max-retry-time",
            "3s",
        ],
        &[("TRAILSEARCH_LOG", "error")],
    );
    let elapsed = started.elapsed();
    let stats = proxy.stats();
    let report = run.report();
    eprintln!(
        "stays down: {elapsed:.1?}, exit {}, report {report}, peak RSS {}, down resets {}, requests {}",
        run.code,
        peak_kib.map_or("unmeasured".to_string(), |k| format!(
            "{:.1} MiB",
            k as f64 / 1024.0
        )),
        stats["down_resets"],
        stats["requests"],
    );
    assert_eq!(run.code, 1, "{run}");
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}\n{run}");
    balanced(&report);
    assert!(n(&report, "failed_objects") > 0, "{run}");
    assert_eq!(n(&report, "failed_events"), n(&report, "events"), "{run}");
    assert_eq!(
        n(&report, "indexed") + n(&report, "duplicates") + n(&report, "dead_lettered"),
        0
    );
    assert!(
        run.stderr.contains("--max-retry-time"),
        "the cause is named:\n{run}"
    );
    assert!(n(&stats, "down_resets") > 0, "{stats}");
    assert_eq!(count(&format!("{prefix}-*")), 0);
    if let Some(kib) = peak_kib {
        assert!(kib < 300 * 1024, "peak RSS {kib} KiB while the cluster was down");
    }
}
