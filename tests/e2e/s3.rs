//! Backfill from S3 (moto): the same counts as from local files, listing
//! only what the filters may want; `--resume` skips what earlier runs finished.

use std::path::{Path, PathBuf};

use trailsearch_e2e::*;

fn s3_ingest(prefix: &str, args: &[&str]) -> Run {
    let env = moto_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    trailsearch_at(cluster_url(), prefix, args, &env)
}

#[test]
fn backfill_an_s3_prefix_accounts_for_every_event() {
    let prefix = unique_prefix("s3");
    let bucket = prefix.replace("t-", "logs-");
    let uploaded = s3_upload(&bucket, &fixtures(), "trail/");
    let m = manifest();
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert_eq!(uploaded as u64, n(&m, "log_objects") + n(&m, "digest_objects"));

    s3_ingest(&prefix, &["setup"]).expect_code(0);
    let url = format!("s3://{bucket}/trail/AWSLogs/");
    let run = s3_ingest(&prefix, &["ingest", &url, "--report", "json", "--skip-digests"]).expect_code(1);
    let report = run.report();
    balanced(&report);
    assert_eq!(n(&report, "objects"), n(&m, "log_objects"), "{run}");
    // With --skip-digests digests are not listed from S3 (the listing follows
    // the key layout), so nothing is listed only to be skipped.
    assert_eq!(n(&report, "skipped_objects"), 0, "{run}");
    // AWSLogs/, 3 accounts or organizations, 1 account in the organization,
    // 4 CloudTrail/ and CloudTrail-Insight/ folders, 6 regions, each once.
    assert!(
        run.stderr
            .contains(&format!("listed {} keys in 15 requests", n(&m, "log_objects"))),
        "{run}"
    );
    assert_eq!(n(&report, "indexed"), n(&m, "distinct_events"), "{run}");
    assert_eq!(n(&report, "duplicates"), n(&m, "duplicate_deliveries"), "{run}");
    assert_eq!(n(&report, "failed_objects"), 0, "{run}");
    assert_eq!(count(&format!("{prefix}-*")), n(&m, "distinct_events"));

    // Provenance names the bucket and the key.
    let (_, hit) = http(
        "POST",
        &format!("{prefix}-*/_search"),
        Some(&serde_json::json!({"query": {"term": {"eventID": "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e01"}}})),
    );
    let source = &hit["hits"]["hits"][0]["_source"]["trailsearch"]["source"];
    assert_eq!(source["bucket"], bucket.as_str());
    assert!(
        source["key"]
            .as_str()
            .unwrap()
            .starts_with("trail/AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/"),
        "{source}"
    );

    // Without it the digest is read and validated: the fixture's is not
    // signed (a local file has no signature metadata to upload), so it is
    // invalid and vouches for nothing; its events were indexed all the same.
    let keys = tempfile::tempdir().unwrap();
    let empty = keys.path().join("keys.json");
    std::fs::write(&empty, r#"{"PublicKeyList":[]}"#).unwrap();
    let digests = format!("s3://{bucket}/trail/AWSLogs/111122223333/CloudTrail-Digest/");
    let args = [
        "ingest",
        &digests,
        "--public-keys",
        empty.to_str().unwrap(),
        "--report",
        "json",
    ];
    let run = s3_ingest(&prefix, &args).expect_code(1);
    let report = run.report();
    assert_eq!(
        (
            n(&report, "objects"),
            n(&report, "digests_invalid"),
            n(&report, "failed_objects")
        ),
        (n(&m, "digest_objects"), n(&m, "digest_objects"), 0),
        "{run}"
    );

    // A day's window prunes keys by date (a day of slack) before reading.
    let day = unique_prefix("s3-day");
    s3_ingest(&day, &["setup"]).expect_code(0);
    let run = s3_ingest(
        &day,
        &[
            "ingest",
            &url,
            "--from",
            "2024-03-13T00:00:00Z",
            "--to",
            "2024-03-13T23:59:59Z",
            "--report",
            "json",
            "--skip-digests",
        ],
    );
    let report = run.report();
    balanced(&report);
    assert_eq!(
        n(&report, "indexed"),
        n(&m["records_per_day"], "2024-03-13"),
        "{run}"
    );
    assert!(
        n(&report, "objects") < n(&m, "log_objects"),
        "03-15 keys are pruned: {run}"
    );
}

#[test]
fn missing_bucket_and_key_errors_say_what_failed() {
    let prefix = unique_prefix("s3-missing");
    s3_ingest(&prefix, &["setup"]).expect_code(0);
    let run = s3_ingest(&prefix, &["ingest", "s3://no-such-bucket-trailsearch/AWSLogs/"]).expect_code(1);
    assert!(
        run.stderr
            .contains("cannot list s3://no-such-bucket-trailsearch/AWSLogs/"),
        "{run}"
    );
    assert!(run.stderr.contains("NoSuchBucket"), "{run}");
}

/// The fixture files, relative to the corpus, with `/` separators.
fn fixture_keys() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = fixtures();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut keys: Vec<String> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&root).unwrap();
            rel.components()
                .map(|c| c.as_os_str().to_str().unwrap())
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    keys.sort();
    keys
}

fn n(value: &serde_json::Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
}

#[test]
fn s3_listing_follows_the_key_layout_one_day_of_one_region_lists_three_days() {
    let prefix = unique_prefix("s3-layout");
    let bucket = prefix.replace("t-", "logs-");
    let uploaded = s3_upload(&bucket, &fixtures(), "trail/");
    s3_ingest(&prefix, &["setup"]).expect_code(0);
    let window = [
        "--from",
        "2024-03-14T00:00:00Z",
        "--to",
        "2024-03-14T23:59:59Z",
        "--region",
        "us-east-1",
    ];

    // From the trail's key prefix, above AWSLogs/: found one level down.
    let url = format!("s3://{bucket}/trail/");
    let mut args = vec!["ingest", url.as_str(), "--report", "json", "--skip-digests"];
    args.extend(window);
    let run = s3_ingest(&prefix, &args);
    let report = run.report();
    balanced(&report);

    // Only us-east-1's 2024-03-13..15 (the day and a day of slack each side),
    // events and insights; digests not with --skip-digests.
    let wanted: Vec<String> = fixture_keys()
        .into_iter()
        .filter(|k| {
            let parts: Vec<&str> = k.split('/').collect();
            let at = parts.len() - 6;
            parts[at] != "CloudTrail-Digest"
                && parts[at + 1] == "us-east-1"
                && ["13", "14", "15"].contains(&parts[at + 4])
        })
        .collect();
    assert!(wanted.len() < uploaded, "{} of {uploaded}", wanted.len());
    // trail/, AWSLogs/, 3 accounts or organizations (111122223333/,
    // 444455556666/, o-a1b2c3d4e5/), o-a1b2c3d4e5/444455556666/, 4
    // CloudTrail/ and CloudTrail-Insight/ folders (regions), then 3 days in
    // each of the 3 us-east-1 folders; the organization's has eu-west-1 only.
    let requests = 1 + 1 + 3 + 1 + 4 + 3 * 3;
    assert!(
        run.stderr
            .contains(&format!("listed {} keys in {requests} requests", wanted.len())),
        "{run}"
    );
    assert_eq!(n(&report, "objects"), wanted.len() as u64, "{run}");
    assert_eq!(n(&report, "failed_objects"), 0, "{run}");
    assert_eq!(n(&report, "skipped_objects"), 0, "{run}");

    // The same events as the same filter over the local files.
    let local_prefix = unique_prefix("s3-layout-local");
    s3_ingest(&local_prefix, &["setup"]).expect_code(0);
    let dir = fixtures();
    let mut args = vec!["ingest", dir.to_str().unwrap(), "--report", "json"];
    args.extend(window);
    let local = s3_ingest(&local_prefix, &args);
    assert_eq!(local.code, run.code, "{local}");
    let local = local.report();
    for key in [
        "objects",
        "events",
        "filtered",
        "indexed",
        "duplicates",
        "dead_lettered",
    ] {
        assert_eq!(report[key], local[key], "{key}: s3 {report} local {local}");
    }
    assert_eq!(count(&format!("{prefix}-*")), count(&format!("{local_prefix}-*")));

    // --resume over S3: the state records the objects with their ETags.
    let state = tempfile::tempdir().unwrap();
    let state_file = state.path().join("s3.jsonl");
    let mut args = vec![
        "ingest",
        url.as_str(),
        "--resume-file",
        state_file.to_str().unwrap(),
        "--report",
        "json",
        "--skip-digests",
    ];
    args.extend(window);
    let first = s3_ingest(&prefix, &args).expect_code(0);
    let settled = n(&report, "events") - n(&report, "filtered");
    assert_eq!(n(&first.report(), "duplicates"), settled, "{first}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&state_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), wanted.len());
    for line in &lines {
        let object = line["object"].as_str().unwrap();
        assert!(
            object.starts_with(&format!("s3://{bucket}/trail/AWSLogs/")),
            "{line}"
        );
        assert!(line["etag"].as_str().is_some_and(|e| !e.is_empty()), "{line}");
        assert!(line["size"].as_u64().unwrap() > 0, "{line}");
    }
    let again = s3_ingest(&prefix, &args).expect_code(0);
    assert_eq!(n(&again.report(), "objects"), 0, "{again}");
    assert!(
        again.stderr.contains(&format!(
            "resumed: skipping {} objects completed before (state: {})",
            wanted.len(),
            state_file.display()
        )),
        "{again}"
    );
}

#[test]
fn s3_resume_skips_objects_finished_before_and_reads_a_forgotten_one_again() {
    let prefix = unique_prefix("s3-resume");
    let m = manifest();
    let state_home = tempfile::tempdir().unwrap();
    let env = [("XDG_STATE_HOME", state_home.path().to_str().unwrap())];
    let ingest = |extra: &[&str]| {
        let dir = fixtures();
        let mut args = vec!["ingest", dir.to_str().unwrap(), "--resume", "--report", "json"];
        args.extend(extra);
        trailsearch_at(cluster_url(), &prefix, &args, &env)
    };
    let state_of = |run: &Run| -> PathBuf {
        let line = run
            .stderr
            .lines()
            .find(|l| l.starts_with("resumed: skipping "))
            .unwrap_or_else(|| panic!("no resume line: {run}"));
        let path = line.split("(state: ").nth(1).unwrap().trim_end_matches(')');
        PathBuf::from(path)
    };
    trailsearch_at(cluster_url(), &prefix, &["setup"], &env).expect_code(0);

    // Everything, recorded as it completes (dead letters included: they are stored).
    let first = ingest(&[]).expect_code(1);
    assert!(
        first
            .stderr
            .contains("resumed: skipping 0 objects completed before"),
        "{first}"
    );
    let state = state_of(&first);
    assert!(
        state.starts_with(state_home.path().join("trailsearch/resume")),
        "the state lives under $XDG_STATE_HOME: {}",
        state.display()
    );
    assert_eq!(n(&first.report(), "objects"), n(&m, "log_objects"), "{first}");
    let lines = |path: &Path| -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(lines(&state).len() as u64, n(&m, "log_objects"));

    // Again: nothing to read.
    let second = ingest(&[]).expect_code(0);
    let report = second.report();
    balanced(&report);
    assert_eq!((n(&report, "objects"), n(&report, "events")), (0, 0), "{second}");
    assert!(
        second.stderr.contains(&format!(
            "resumed: skipping {} objects completed before (state: {})",
            n(&m, "log_objects"),
            state.display()
        )),
        "{second}"
    );

    // Forget one object: exactly that one is read again.
    let forgotten = "444455556666_CloudTrail_eu-west-1_20240313T0245Z_4CJG01l8tY6PhDBS.json.gz";
    let kept: Vec<String> = lines(&state)
        .into_iter()
        .filter(|l| !l.contains(forgotten))
        .collect();
    assert_eq!(kept.len() as u64, n(&m, "log_objects") - 1);
    std::fs::write(&state, kept.join("\n") + "\n").unwrap();

    // A dry run shows it, and records nothing.
    let dry = ingest(&["--dry-run"]).expect_code(0);
    assert_eq!(n(&dry.report(), "objects"), 1, "{dry}");
    assert!(dry.stdout.contains(forgotten), "{dry}");
    for other in fixture_keys() {
        let name = other.rsplit('/').next().unwrap();
        assert!(name == forgotten || !dry.stdout.contains(name), "{name} was read");
    }
    assert_eq!(lines(&state).len(), kept.len());

    let third = ingest(&[]).expect_code(0);
    let report = third.report();
    balanced(&report);
    assert_eq!(n(&report, "objects"), 1, "{third}");
    assert!(n(&report, "events") > 0, "{third}");
    assert_eq!(n(&report, "duplicates"), n(&report, "events"), "{third}");
    assert_eq!(count(&format!("{prefix}-*")), n(&m, "distinct_events"));
    assert_eq!(lines(&state).len() as u64, n(&m, "log_objects"));
    assert!(lines(&state).last().unwrap().contains(forgotten));

    let fourth = ingest(&[]).expect_code(0);
    assert_eq!(n(&fourth.report(), "objects"), 0, "{fourth}");
}
