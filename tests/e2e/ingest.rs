//! Ingest the fixture corpus and account for every event.

use serde_json::{json, Value};
use trailsearch_e2e::*;

fn n(value: &serde_json::Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
}

#[test]
fn ingest_accounts_for_every_fixture_event_and_reingest_adds_nothing() {
    let prefix = unique_prefix("ingest");
    let m = manifest();
    let fixtures = fixtures();
    let dir = fixtures.to_str().unwrap();
    trailsearch(&prefix, &["setup"]).expect_code(0);

    // Two records cannot be placed (no usable eventTime): dead-lettered, so exit 1.
    let first = trailsearch(&prefix, &["ingest", dir, "--report", "json"]).expect_code(1);
    let report = first.report();
    balanced(&report);
    let unplaceable = n(&m, "records_without_valid_event_time");
    assert_eq!(
        report,
        json!({
            "objects": n(&m, "log_objects"), "skipped_objects": n(&m, "digest_objects"), "failed_objects": 0,
            "events": n(&m, "records"), "filtered": 0, "indexed": n(&m, "distinct_events"), "superseded": 0,
            "duplicates": n(&m, "duplicate_deliveries"), "degraded": 0, "dead_lettered": unplaceable,
            "failed_events": 0, "digests_valid": 0, "digests_invalid": 0, "integrity_updates": 0,
        }),
        "{first}"
    );
    assert_eq!(count(&format!("{prefix}-*")), n(&m, "distinct_events"));
    assert_eq!(count(&format!("{prefix}_deadletter")), unplaceable);
    for (day, expected) in m["records_per_day"].as_object().unwrap() {
        let index = format!("{prefix}-{}", day.replace('-', "."));
        assert_eq!(count(&index), expected.as_u64().unwrap(), "{index}");
    }

    // Everything again, in uncompressed bodies as the Lambda sends them: all
    // duplicates, nothing new, and a clean exit.
    let second = trailsearch(
        &prefix,
        &["ingest", dir, "--report", "json", "--gzip-requests", "false"],
    )
    .expect_code(0);
    let report = second.report();
    balanced(&report);
    assert_eq!(n(&report, "duplicates"), n(&m, "records"), "{second}");
    assert_eq!(n(&report, "indexed") + n(&report, "dead_lettered"), 0, "{second}");
    assert_eq!(count(&format!("{prefix}-*")), n(&m, "distinct_events"));
    assert_eq!(count(&format!("{prefix}_deadletter")), unplaceable);
}

#[test]
fn filters_by_time_account_and_region_exactly() {
    let prefix = unique_prefix("filters");
    let m = manifest();
    let dir = fixtures().to_str().unwrap().to_string();
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let run = trailsearch(
        &prefix,
        &[
            "ingest",
            &dir,
            "--from",
            "2024-03-14T00:00:00Z",
            "--to",
            "2024-03-14T23:59:59Z",
            "--report",
            "json",
        ],
    )
    .expect_code(1);
    let report = run.report();
    balanced(&report);
    // Objects of 03-13 and 03-15 are read (a day of slack); their events are
    // filtered, but the two records without a usable eventTime cannot be
    // judged and are dead-lettered rather than dropped.
    assert_eq!(
        n(&report, "indexed"),
        n(&m["records_per_day"], "2024-03-14"),
        "{run}"
    );
    assert_eq!(
        n(&report, "dead_lettered"),
        n(&m, "records_without_valid_event_time"),
        "{run}"
    );
    assert_eq!(n(&report, "failed_objects"), 0);

    let prefix = unique_prefix("filters-account");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let run = trailsearch(
        &prefix,
        &[
            "ingest",
            &dir,
            "--account",
            "444455556666",
            "--region",
            "eu-west-1",
            "--report",
            "json",
        ],
    );
    let report = run.report();
    balanced(&report);
    assert_eq!(count(&format!("{prefix}-*")), n(&report, "indexed"));
    let (status, body) = http(
        "POST",
        &format!("{prefix}-*/_count"),
        Some(&json!({"query": {"bool": {"must_not": [
            {"term": {"recipientAccountId": "444455556666"}}]}}})),
    );
    assert_eq!((status, n(&body, "count")), (200, 0), "{body}");
    assert!(
        n(&report, "indexed") > 0 && n(&report, "indexed") < n(&m["records_per_account"], "444455556666")
    );
}

#[test]
fn dry_run_writes_the_bulk_bodies_deterministically() {
    let largest = fixtures().join(manifest()["largest_object"].as_str().unwrap());
    let path = largest.to_str().unwrap();
    let a = trailsearch("dry", &["ingest", "--dry-run", "--report", "json", path]).expect_code(0);
    let b = trailsearch("dry", &["ingest", "--dry-run", "--report", "json", path]).expect_code(0);
    assert_eq!(a.stdout, b.stdout, "dry runs differ");
    let records = manifest()["largest_object_records"].as_u64().unwrap();
    assert_eq!(a.stdout.lines().count() as u64, 2 * records);
    assert!(
        a.stdout
            .lines()
            .next()
            .unwrap()
            .starts_with(r#"{"index":{"_index":"dry-2024.03.14","_id":"#),
        "{}",
        &a.stdout[..200]
    );
    // Every event is written at the external version of a copy read from
    // its log object, which replaces a provisional copy and nothing else.
    for action in a.stdout.lines().step_by(2) {
        assert!(
            action.ends_with(r#","version":1,"version_type":"external"}}"#),
            "{action}"
        );
    }
    let report = a.report();
    balanced(&report);
    assert_eq!(n(&report, "indexed"), records);
}

#[test]
fn exclude_patterns_filter_noisy_events_exactly() {
    let m = manifest();
    let dir = fixtures().to_str().unwrap().to_string();
    let describe = json!({"query": {"wildcard": {"eventName": {"value": "Describe*"}}}});
    let count_describe = |prefix: &str| {
        refresh(&format!("{prefix}-*"));
        let (status, body) = http("POST", &format!("{prefix}-*/_count"), Some(&describe));
        assert_eq!(status, 200, "{body}");
        n(&body, "count")
    };

    let all = unique_prefix("exclude-all");
    trailsearch(&all, &["setup"]).expect_code(0);
    trailsearch(&all, &["ingest", &dir]).expect_code(1);
    let noisy = count_describe(&all);
    assert!(noisy > 100, "the corpus has Describe* calls: {noisy}");

    let quiet = unique_prefix("exclude");
    trailsearch(&quiet, &["setup"]).expect_code(0);
    let run = trailsearch(
        &quiet,
        &[
            "ingest",
            &dir,
            "--exclude",
            "eventName:Describe*",
            "--report",
            "json",
        ],
    );
    let report = run.report();
    balanced(&report);
    assert_eq!(n(&report, "indexed"), n(&m, "distinct_events") - noisy, "{run}");
    assert_eq!(count_describe(&quiet), 0);
    assert!(n(&report, "filtered") >= noisy, "{run}");

    // The variable does the same, and readOnly:true takes booleans.
    let env = unique_prefix("exclude-env");
    trailsearch(&env, &["setup"]).expect_code(0);
    let mut command = std::process::Command::new(trailsearch_bin());
    command
        .args(["ingest", &dir, "--report", "json"])
        .env("TRAILSEARCH_ES_URL", cluster_url())
        .env("TRAILSEARCH_INDEX_PREFIX", &*env)
        .env("TRAILSEARCH_EXCLUDE", "readOnly:true");
    let run = trailsearch_e2e::run(command);
    balanced(&run.report());
    let (_, body) = http(
        "POST",
        &format!("{env}-*/_count"),
        Some(&json!({"query": {"term": {"readOnly": true}}})),
    );
    assert_eq!(n(&body, "count"), 0, "{run}");
    assert!(count(&format!("{env}-*")) > 0);
}

/// `--resume` day by day: an object whose events a window filtered out is
/// not done for the next window (it used to be recorded as finished, and
/// the next run skipped it: 24 events never indexed, exit 0).
#[test]
fn resume_reads_again_what_other_filters_left_out() {
    let prefix = unique_prefix("resume-windows");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let dir = tempfile::tempdir().expect("temp dir");
    for day in [14, 15] {
        let folder = dir
            .path()
            .join(format!("AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/{day}"));
        std::fs::create_dir_all(&folder).expect("mkdir");
        let records: Vec<serde_json::Value> = (0..24)
            .map(|h| {
                json!({"eventVersion": "1.09", "eventTime": format!("2024-03-{day}T{h:02}:30:00Z"),
                       "eventID": format!("w{day}-{h}"), "eventName": "GetObject",
                       "recipientAccountId": "111122223333", "awsRegion": "us-east-1"})
            })
            .collect();
        std::fs::write(
            folder.join(format!(
                "111122223333_CloudTrail_us-east-1_202403{day}T0000Z_w.json"
            )),
            json!({"Records": records}).to_string(),
        )
        .expect("write");
    }
    let state = dir.path().join("resume.jsonl");
    let window = |day: u32| {
        let from = format!("2024-03-{day}");
        let to = format!("2024-03-{day}T23:59:59Z");
        let run = trailsearch(
            &prefix,
            &[
                "ingest",
                dir.path().join("AWSLogs").to_str().expect("utf-8 path"),
                "--resume-file",
                state.to_str().expect("utf-8 path"),
                "--from",
                &from,
                "--to",
                &to,
                "--report",
                "json",
            ],
        )
        .expect_code(0);
        balanced(&run.report()).clone()
    };
    let first = window(14);
    assert_eq!(
        (
            first["objects"].as_u64(),
            first["indexed"].as_u64(),
            first["filtered"].as_u64()
        ),
        (Some(2), Some(24), Some(24)),
        "{first}"
    );
    // The 14th's object is done whatever the window; the 15th's is read again.
    let second = window(15);
    assert_eq!(
        (
            second["objects"].as_u64(),
            second["indexed"].as_u64(),
            second["filtered"].as_u64()
        ),
        (Some(1), Some(24), Some(0)),
        "{second}"
    );
    assert_eq!(count(&format!("{prefix}-*")), 48);
    // The same window again reads nothing: both objects are done for it.
    assert_eq!(window(15)["objects"], 0);
}

/// The versioned writes on this node: provisional copies (shaped and
/// encoded by trailsearch itself, as the Lambda sends them) are replaced by
/// the log object's records, counted `superseded`; re-sent, provisional
/// copies replace nothing and the records are duplicates.
#[test]
fn provisional_copies_give_way_to_the_record_on_every_node() {
    use std::sync::Arc;
    use trailsearch_mapping::{Flavour, Granularity, IndexNaming, Provenance, Shaper, StreamOrigin};

    let prefix = unique_prefix("provisional");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let flavour = match free_shaped_type_of_template(&prefix).as_str() {
        "flattened" => Flavour::Elasticsearch,
        "flat_object" => Flavour::OpenSearch,
        _ => Flavour::Compatible,
    };
    let record = |n: u32, region: &str| {
        json!({"eventVersion": "1.09", "eventTime": format!("2024-03-16T10:00:0{n}Z"), "eventID": format!("prov-{n}"),
               "eventSource": "kms.amazonaws.com", "eventName": "DisableKey", "awsRegion": region,
               "recipientAccountId": "111122223333", "requestParameters": {"keyId": "k1"}})
    };
    let shaper = Shaper::new(IndexNaming::new(&prefix, Granularity::Day).unwrap(), flavour);
    let provenance = Arc::new(Provenance {
        bucket: None,
        key: "cloudwatch-logs:trail/stream".into(),
        stream: Some(StreamOrigin {
            kind: "cloudwatch-logs",
            fields: vec![("log_group", "trail".into()), ("log_stream", "stream".into())],
        }),
        integrity: None,
    });
    let provisional = |region: &str| {
        let docs: Vec<_> = (1..=3)
            .map(|n| {
                shaper
                    .shape(record(n, region).to_string().as_bytes(), provenance.clone())
                    .unwrap()
                    .document
            })
            .collect();
        trailsearch_sink::encode_bulk(&docs)
    };
    let send = |body: Vec<u8>| {
        let (status, answer) = http_ndjson("_bulk?refresh=true&filter_path=items.*.status", &body);
        assert_eq!(status, 200, "{answer}");
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| {
                item.as_object().unwrap().values().next().unwrap()["status"]
                    .as_u64()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    // Provisional copies, cut down (another region: they are not the record).
    assert_eq!(send(provisional("cut-down")), [201, 201, 201]);
    assert_eq!(
        send(provisional("cut-down")),
        [409, 409, 409],
        "provisional copies replace nothing"
    );

    // The log object arrives: its records replace them.
    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join("111122223333_CloudTrail_us-east-1_20240316T1005Z_AbCdEfGh12345678.json");
    let records: Vec<Value> = (1..=3).map(|n| record(n, "us-east-1")).collect();
    std::fs::write(&file, json!({"Records": records}).to_string()).unwrap();
    let path = file.to_str().unwrap();
    let run = trailsearch(&prefix, &["ingest", path, "--report", "json"]).expect_code(0);
    let report = run.report();
    balanced(&report);
    assert_eq!(
        (
            n(&report, "indexed"),
            n(&report, "superseded"),
            n(&report, "duplicates")
        ),
        (3, 3, 0),
        "{run}"
    );
    refresh(&format!("{prefix}-*"));
    assert_eq!(count(&format!("{prefix}-*")), 3);
    let (_, found) = http(
        "POST",
        &format!("{prefix}-*/_count"),
        Some(&json!({"query": {"bool": {"filter": [
            {"term": {"awsRegion": "us-east-1"}}, {"term": {"trailsearch.source.kind": "file"}}]}}})),
    );
    assert_eq!(found["count"], 3, "the records, not the provisional copies");
    // Later copies of either kind change nothing.
    assert_eq!(send(provisional("cut-down")), [409, 409, 409]);
    let again = trailsearch(&prefix, &["ingest", path, "--report", "json"]).expect_code(0);
    assert_eq!(
        (n(&again.report(), "duplicates"), n(&again.report(), "superseded")),
        (3, 0),
        "{again}"
    );
}

/// The free-shaped type the installed template gives `requestParameters`
/// (before any index exists).
fn free_shaped_type_of_template(prefix: &str) -> String {
    let (status, body) = http("GET", &format!("_index_template/{prefix}-events"), None);
    let mappings = if status == 200 {
        body["index_templates"][0]["index_template"]["template"]["mappings"].clone()
    } else {
        let (_, legacy) = http("GET", &format!("_template/{prefix}-events"), None);
        legacy[format!("{prefix}-events")]["mappings"].clone()
    };
    mappings["properties"]["requestParameters"]["type"]
        .as_str()
        .unwrap_or_else(|| panic!("no requestParameters mapping in {mappings}"))
        .to_string()
}
