//! `trailsearch verify` on signed corpora that `tests/servers/digest_corpus.py`
//! writes into moto as CloudTrail writes them (Python's `rsa`, two trails
//! sharing a prefix, two regions with a key each, an organization trail, a
//! backfill digest), intact and tampered with in each way the validator
//! must name. Every corpus is also run through AWS's own validator, `aws
//! cloudtrail validate-logs` (awscli pinned in scripts/bootstrap), so that a
//! misreading of the format shared by the generator and trailsearch cannot
//! pass. Keys come from `tests/servers/cloudtrail_stub.py` (moto has no
//! ListPublicKeys), or from a file `aws cloudtrail list-public-keys` wrote.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use trailsearch_e2e::*;

const WINDOW: [&str; 4] = ["--from", "2026-11-30T10:00:00Z", "--to", "2026-11-30T15:00:00Z"];

/// The report's counters, as the README lists them.
const COUNTERS: [&str; 11] = [
    "digests",
    "digests_valid",
    "digests_invalid",
    "logs_verified",
    "logs_modified",
    "logs_missing",
    "logs_unlisted",
    "logs_pending",
    "chain_breaks",
    "gaps",
    "logs",
];

/// A corpus in its own bucket, and a stand-in for CloudTrail's API that
/// knows its trails and keys.
struct Corpus {
    manifest: Value,
    bucket: String,
    stub: PyServer,
    _dir: tempfile::TempDir,
}

fn corpus(tamper: &str) -> Corpus {
    static N: AtomicUsize = AtomicUsize::new(0);
    let bucket = format!(
        "integrity-{tamper}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let manifest = digest_corpus(&bucket, tamper);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, manifest.to_string()).unwrap();
    let stub = PyServer::start("cloudtrail_stub.py", &[path.to_str().unwrap()]);
    Corpus {
        manifest,
        bucket,
        stub,
        _dir: dir,
    }
}

impl Corpus {
    /// S3 on moto, CloudTrail and Organizations on the stub.
    fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = moto_env();
        env.push(("AWS_ENDPOINT_URL_CLOUDTRAIL", self.stub.url.clone()));
        env.push(("AWS_ENDPOINT_URL_ORGANIZATIONS", self.stub.url.clone()));
        env
    }

    fn verify(&self, extra: &[&str]) -> Run {
        let mut command = Command::new(trailsearch_bin());
        command
            .arg("verify")
            .arg(format!("s3://{}/trails", self.bucket))
            .args(WINDOW)
            .args(extra)
            .envs(self.env())
            .env_remove("TRAILSEARCH_PUBLIC_KEYS")
            .env("TRAILSEARCH_LOG", "error");
        run(command)
    }

    /// `aws cloudtrail validate-logs` for one trail in one region, as its
    /// documentation runs it (the trail's bucket and prefix from DescribeTrails).
    fn validate_logs(&self, trail: &str, region: &str) -> Run {
        let trail = self.manifest["trails"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == trail)
            .unwrap();
        let mut command = Command::new(repo_root().join(".venv/bin/aws"));
        command
            .args(["cloudtrail", "validate-logs", "--verbose", "--region", region])
            .args(["--trail-arn", trail["arn"].as_str().unwrap()])
            .args(["--start-time", WINDOW[1], "--end-time", WINDOW[3]])
            .envs(self.env())
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_ENDPOINT_URL_S3", moto_url());
        if trail["organization"].is_string() {
            command.args(["--account-id", trail["account"].as_str().unwrap()]);
        }
        run(command)
    }

    fn list_public_keys_calls(&self) -> Vec<String> {
        self.stub
            .requests()
            .iter()
            .filter(|r| {
                r["target"]
                    .as_str()
                    .is_some_and(|t| t.ends_with(".ListPublicKeys"))
            })
            .map(|r| r["region"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

fn counts(report: &Value) -> Vec<(&'static str, u64)> {
    COUNTERS
        .iter()
        .map(|k| {
            (
                *k,
                report[k].as_u64().unwrap_or_else(|| panic!("no {k} in {report}")),
            )
        })
        .collect()
}

/// The counts the generator says its corpus must give.
fn expected(corpus: &Corpus) -> Vec<(&'static str, u64)> {
    let e = &corpus.manifest["expected"];
    let logs = [
        "logs_verified",
        "logs_modified",
        "logs_missing",
        "logs_unlisted",
        "logs_pending",
    ]
    .iter()
    .map(|k| e[k].as_u64().unwrap())
    .sum::<u64>();
    COUNTERS
        .iter()
        .map(|k| {
            (
                *k,
                if *k == "logs" {
                    logs
                } else {
                    e[k].as_u64().unwrap()
                },
            )
        })
        .collect()
}

/// "N/M digest files valid"-style totals of validate-logs' summary.
fn ratio(run: &Run, name: &str) -> (u64, u64) {
    let suffix = format!(" {name} files valid");
    run.stdout
        .lines()
        .filter_map(|line| line.split(',').next()?.strip_suffix(suffix.as_str()))
        .filter_map(|r| r.split_once('/'))
        .map(|(valid, total)| (valid.parse().unwrap(), total.parse().unwrap()))
        .next()
        .unwrap_or((0, 0))
}

#[test]
fn verify_proves_an_intact_corpus_and_aws_validator_agrees() {
    let corpus = corpus("none");
    let run = corpus.verify(&["--report", "json"]).expect_code(0);
    let report = run.report();
    assert_eq!(counts(&report), expected(&corpus), "{run}");
    // Spelled out: 4 hourly digests in each of 4 chains and a backfill one;
    // 31 listed objects; the 2 delivered after the last digests are pending.
    assert_eq!(
        counts(&report),
        [
            ("digests", 17),
            ("digests_valid", 17),
            ("digests_invalid", 0),
            ("logs_verified", 31),
            ("logs_modified", 0),
            ("logs_missing", 0),
            ("logs_unlisted", 0),
            ("logs_pending", 2),
            ("chain_breaks", 0),
            ("gaps", 0),
            ("logs", 33),
        ]
    );
    assert_eq!(report["problems"], serde_json::json!([]));
    let rows: Vec<(String, u64, u64)> = report["chains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                format!(
                    "{} {} {}",
                    c["account"].as_str().unwrap(),
                    c["trail"].as_str().unwrap_or("-"),
                    c["region"].as_str().unwrap()
                ),
                c["digests_valid"].as_u64().unwrap(),
                c["logs_verified"].as_u64().unwrap() + c["logs_pending"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("111122223333 - us-east-1".to_string(), 0, 1),
            ("111122223333 data_events us-east-1".to_string(), 4, 6),
            ("111122223333 management eu-west-1".to_string(), 4, 8),
            ("111122223333 management us-east-1".to_string(), 5, 9),
            ("444455556666 - us-east-1".to_string(), 0, 1),
            ("444455556666 org-trail us-east-1".to_string(), 4, 8),
        ]
    );
    // One ListPublicKeys per region: the keys are cached by fingerprint.
    let mut calls = corpus.list_public_keys_calls();
    calls.sort();
    assert_eq!(calls, ["eu-west-1", "us-east-1"]);

    // --region and --account narrow the walk to their chains.
    let region = corpus
        .verify(&["--region", "eu-west-1", "--report", "json"])
        .expect_code(0);
    let report = region.report();
    assert_eq!(
        (report["digests"].as_u64(), report["logs"].as_u64()),
        (Some(4), Some(8)),
        "{region}"
    );
    let account = corpus
        .verify(&["--account", "444455556666", "--report", "json"])
        .expect_code(0);
    let report = account.report();
    assert_eq!(
        (
            report["digests"].as_u64(),
            report["logs_verified"].as_u64(),
            report["logs_pending"].as_u64()
        ),
        (Some(4), Some(8), Some(1)),
        "{account}"
    );

    // The table ends with the closing equations.
    let table = corpus.verify(&[]).expect_code(0);
    assert!(
        table.stdout.contains(
            "17 digests = 17 valid + 0 invalid; 33 log objects = 31 verified + 0 modified + 0 missing + 0 unlisted + 2 pending; 0 chain breaks, 0 gaps"
        ),
        "{table}"
    );

    // AWS's validator, trail by trail and region by region, finds the same.
    let (mut digests, mut logs) = ((0, 0), (0, 0));
    for (trail, region) in [
        ("management", "us-east-1"),
        ("management", "eu-west-1"),
        ("data_events", "us-east-1"),
        ("org-trail", "us-east-1"),
    ] {
        let aws = corpus.validate_logs(trail, region).expect_code(0);
        for (sum, name) in [(&mut digests, "digest"), (&mut logs, "log")] {
            let (valid, total) = ratio(&aws, name);
            sum.0 += valid;
            sum.1 += total;
        }
        if trail == "management" && region == "us-east-1" {
            assert_eq!(ratio(&aws, "backfill digest"), (1, 1), "{aws}");
            digests.0 += 1;
            digests.1 += 1;
        }
    }
    assert_eq!((digests, logs), ((17, 17), (31, 31)));
}

/// One tampering, what `verify` must name, and what AWS's validator says
/// of the trail and region concerned.
struct Case {
    tamper: &'static str,
    /// The problem kinds, in the report's order.
    problems: &'static [&'static str],
    /// validate-logs' trail and region, its exit code and a line it must print about the changed object.
    aws: (&'static str, &'static str, i32, &'static str),
}

const CASES: &[Case] = &[
    Case {
        tamper: "flip-log",
        problems: &["log_modified"],
        aws: ("management", "us-east-1", 1, "INVALID: hash value doesn't match"),
    },
    Case {
        tamper: "delete-log",
        problems: &["log_missing"],
        aws: ("management", "eu-west-1", 1, "INVALID: not found"),
    },
    // AWS's validator never lists log objects: it cannot see a planted one.
    Case {
        tamper: "add-log",
        problems: &["log_unlisted"],
        aws: ("management", "us-east-1", 0, ""),
    },
    Case {
        tamper: "bad-signature",
        problems: &["digest_invalid", "chain_break", "log_unlisted", "log_unlisted"],
        aws: (
            "management",
            "eu-west-1",
            1,
            "INVALID: signature verification failed",
        ),
    },
    Case {
        tamper: "delete-digest",
        problems: &["chain_break", "log_unlisted", "log_unlisted"],
        aws: ("org-trail", "us-east-1", 1, "INVALID: not found"),
    },
    // AWS's validator prints a gap and exits 0; trailsearch counts it.
    Case {
        tamper: "missing-hour",
        problems: &["gap"],
        aws: (
            "data_events",
            "us-east-1",
            0,
            "No log files were delivered by CloudTrail between",
        ),
    },
];

#[test]
fn verify_names_each_kind_of_tampering_as_aws_validator_does() {
    for case in CASES {
        let corpus = corpus(case.tamper);
        let run = corpus.verify(&["--report", "json"]).expect_code(1);
        let report = run.report();
        assert_eq!(counts(&report), expected(&corpus), "{}: {run}", case.tamper);
        let problems: Vec<(&str, &str)> = report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["kind"].as_str().unwrap(), p["object"].as_str().unwrap()))
            .collect();
        let mut kinds: Vec<&str> = problems.iter().map(|(kind, _)| *kind).collect();
        kinds.sort();
        let mut want = case.problems.to_vec();
        want.sort();
        assert_eq!(kinds, want, "{}: {run}", case.tamper);
        // The changed object is named with its key.
        let changed = &corpus.manifest["changed"];
        let named = |key: &Value| format!("s3://{}/{}", corpus.bucket, key.as_str().unwrap());
        if case.tamper != "delete-digest" {
            assert!(
                problems
                    .iter()
                    .any(|(_, object)| *object == named(&changed["key"])),
                "{}: {run}",
                case.tamper
            );
        }
        for listed in changed["listed"].as_array().into_iter().flatten() {
            assert!(
                problems.contains(&("log_unlisted", named(listed).as_str())),
                "{run}"
            );
        }

        let (trail, region, code, line) = case.aws;
        let aws = corpus.validate_logs(trail, region).expect_code(code);
        let text = format!("{}{}", aws.stdout, aws.stderr);
        assert!(text.contains(line), "{}: {aws}", case.tamper);
        if !line.is_empty() && case.tamper != "missing-hour" {
            assert!(
                text.lines()
                    .any(|l| l.contains(line) && l.contains(&named(&changed["key"]))),
                "{}: validate-logs names another object: {aws}",
                case.tamper
            );
        }
    }
}

#[test]
fn verify_takes_keys_from_list_public_keys_output_and_never_from_the_bucket() {
    let corpus = corpus("none");
    // What `aws cloudtrail list-public-keys` prints, region by region.
    let dir = tempfile::tempdir().unwrap();
    let mut merged = Vec::new();
    for region in ["us-east-1", "eu-west-1"] {
        let mut command = Command::new(repo_root().join(".venv/bin/aws"));
        command
            .args(["cloudtrail", "list-public-keys", "--region", region])
            .args(["--start-time", WINDOW[1], "--end-time", WINDOW[3]])
            .envs(corpus.env());
        let listed = run(command).expect_code(0);
        let printed: Value = serde_json::from_str(&listed.stdout).unwrap();
        let path = dir.path().join(format!("{region}.json"));
        std::fs::write(&path, &listed.stdout).unwrap();
        merged.extend(printed["PublicKeyList"].as_array().unwrap().clone());
    }
    let before = corpus.list_public_keys_calls().len();
    let both = dir.path().join("both.json");
    std::fs::write(&both, serde_json::json!({ "PublicKeyList": merged }).to_string()).unwrap();
    let verified = corpus
        .verify(&["--public-keys", both.to_str().unwrap(), "--report", "json"])
        .expect_code(0);
    assert_eq!(verified.report()["digests_valid"], 17, "{verified}");
    assert_eq!(
        corpus.list_public_keys_calls().len(),
        before,
        "a key file means no API call"
    );

    // Only us-east-1's key: eu-west-1's digests name a key not given, and
    // vouch for nothing.
    let east = dir.path().join("us-east-1.json");
    let east_only = corpus
        .verify(&["--public-keys", east.to_str().unwrap(), "--report", "json"])
        .expect_code(1);
    let report = east_only.report();
    assert_eq!(
        (
            report["digests_invalid"].as_u64(),
            report["logs_unlisted"].as_u64(),
            report["logs_verified"].as_u64()
        ),
        (Some(4), Some(8), Some(23)),
        "{east_only}"
    );
    let unknown = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "digest_invalid")
        .filter(|p| {
            p["detail"]
                .as_str()
                .unwrap()
                .contains("which the public keys given do not hold")
        })
        .count();
    assert_eq!(unknown, 4, "{east_only}");

    // Usage: only S3 can be verified; a key file that is not one says so.
    let missing = corpus
        .verify(&["--public-keys", "/nonexistent/keys.json"])
        .expect_code(2);
    assert!(missing.stderr.contains("/nonexistent/keys.json"), "{missing}");
    let mut command = Command::new(trailsearch_bin());
    command
        .args(["verify", "tests/fixtures"])
        .current_dir(repo_root());
    let local = run(command).expect_code(2);
    assert!(local.stderr.contains("only S3 can be verified"), "{local}");
}

// --- recorded in the index -------------------------------------------------

/// `trailsearch.integrity` counts over a prefix's events.
fn integrity_counts(prefix: &str) -> Vec<(String, u64)> {
    term_counts(&format!("{prefix}-*"), "trailsearch.integrity")
}

impl Corpus {
    fn ingest(&self, prefix: &str, folders: &[&str]) -> Run {
        let urls: Vec<String> = folders
            .iter()
            .map(|f| format!("s3://{}/trails/AWSLogs/{f}", self.bucket))
            .collect();
        let mut args = vec!["ingest", "--report", "json"];
        args.extend(urls.iter().map(String::as_str));
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        trailsearch_at(cluster_url(), prefix, &args, &env)
    }
}

const DIGESTS: [&str; 2] = [
    "111122223333/CloudTrail-Digest/",
    "o-a1b2c3d4e5/444455556666/CloudTrail-Digest/",
];
const LOGS: [&str; 2] = [
    "111122223333/CloudTrail/",
    "o-a1b2c3d4e5/444455556666/CloudTrail/",
];

#[test]
fn ingest_records_each_objects_verdict_on_its_events_whichever_comes_first() {
    // One object changed after delivery: 30 objects verified (90 events),
    // 1 modified (3), 2 not yet listed by any digest (6 pending).
    let corpus = corpus("flip-log");
    let want = [
        ("modified".to_string(), 3),
        ("pending".to_string(), 6),
        ("verified".to_string(), 90),
    ];

    // Digests first: their verdicts wait in <prefix>_integrity for the objects.
    let first = unique_prefix("integrity-digests-first");
    trailsearch(&first, &["setup"]).expect_code(0);
    let digests = corpus.ingest(&first, &DIGESTS).expect_code(0);
    let report = digests.report();
    assert_eq!(
        (
            &report["digests_valid"],
            &report["digests_invalid"],
            &report["events"],
            &report["integrity_updates"]
        ),
        (&17.into(), &0.into(), &0.into(), &0.into()),
        "{digests}"
    );
    assert_eq!(
        count(&format!("{first}_integrity")),
        31,
        "one verdict per listed object"
    );
    let logs = corpus.ingest(&first, &LOGS).expect_code(0);
    let report = balanced(&logs.report()).clone();
    assert_eq!(
        (&report["indexed"], &report["integrity_updates"]),
        (&99.into(), &0.into()),
        "{logs}"
    );
    assert_eq!(integrity_counts(&first), want);

    // Objects first: pending, until their digests mark them by _id.
    let second = unique_prefix("integrity-objects-first");
    trailsearch(&second, &["setup"]).expect_code(0);
    corpus.ingest(&second, &LOGS).expect_code(0);
    assert_eq!(integrity_counts(&second), [("pending".to_string(), 99)]);
    let digests = corpus.ingest(&second, &DIGESTS).expect_code(0);
    assert_eq!(digests.report()["integrity_updates"], 93, "{digests}");
    assert_eq!(integrity_counts(&second), want);
    // Again: nothing left to change.
    let again = corpus.ingest(&second, &DIGESTS).expect_code(0);
    assert_eq!(again.report()["integrity_updates"], 0, "{again}");
    assert_eq!(integrity_counts(&second), want);

    // The modified object's events are the flipped object's.
    let changed = corpus.manifest["changed"]["key"].as_str().unwrap();
    let (status, answer) = http(
        "POST",
        &format!("{second}-*/_search"),
        Some(&serde_json::json!({"size": 10, "query": {"term": {"trailsearch.integrity": "modified"}}})),
    );
    assert_eq!(status, 200);
    let keys: Vec<&str> = answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"]["trailsearch"]["source"]["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [changed; 3]);

    // The saved search lists the 9 events not verified; the view counts all three states.
    use crate::kibana::{discover_in, exported, run_visualization_in, saved_searches};
    let range = || serde_json::json!({"range": {"@timestamp": {"gte": WINDOW[1], "lte": WINDOW[3]}}});
    let objects = exported(&second, "kibana");
    let searches = saved_searches(&objects, &second);
    let hits = discover_in(&second, &searches["not-verified"], range());
    assert_eq!(hits.len(), 9);
    let view = objects
        .iter()
        .find(|o| {
            o["id"]
                .as_str()
                .is_some_and(|id| id.ends_with("-vis-log-integrity"))
        })
        .unwrap();
    let (total, rows) = run_visualization_in(&second, view, range());
    let mut by_state: Vec<(String, u64)> = Vec::new();
    for (keys, n) in rows {
        match by_state.iter_mut().find(|(k, _)| *k == keys[0]) {
            Some((_, sum)) => *sum += n,
            None => by_state.push((keys[0].clone(), n)),
        }
    }
    by_state.sort();
    assert_eq!((total, by_state), (99, want.to_vec()));
}

#[test]
fn ingest_counts_an_invalid_digest_and_exits_1() {
    let corpus = corpus("bad-signature");
    let prefix = unique_prefix("integrity-invalid-digest");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let run = corpus.ingest(&prefix, &DIGESTS).expect_code(1);
    let report = run.report();
    assert_eq!(
        (
            &report["digests_valid"],
            &report["digests_invalid"],
            &report["failed_objects"]
        ),
        (&16.into(), &1.into(), &0.into()),
        "{run}"
    );
    // Nothing the invalid digest lists is vouched for.
    assert_eq!(count(&format!("{prefix}_integrity")), 29, "{run}");
    // Skipped on request: no verdicts, exit 0.
    let skipped = unique_prefix("integrity-skip-digests");
    trailsearch(&skipped, &["setup"]).expect_code(0);
    let args = [
        "ingest",
        "--skip-digests",
        "--report",
        "json",
        &format!("s3://{}/trails", corpus.bucket),
    ];
    let env = corpus.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = trailsearch_at(cluster_url(), &skipped, &args, &env).expect_code(0);
    assert_eq!(
        (&run.report()["digests_valid"], &run.report()["events"]),
        (&0.into(), &99.into()),
        "{run}"
    );
    assert_eq!(integrity_counts(&skipped), [("pending".to_string(), 99)]);
}
