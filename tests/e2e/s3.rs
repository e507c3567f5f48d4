//! Backfill from S3 (moto): the same counts as from local files.

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
    let run = s3_ingest(&prefix, &["ingest", &url, "--report", "json"]).expect_code(1);
    let report = run.report();
    balanced(&report);
    assert_eq!(n(&report, "objects"), n(&m, "log_objects"), "{run}");
    assert_eq!(n(&report, "skipped_objects"), n(&m, "digest_objects"), "{run}");
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
