//! `trailsearch deadletter list|replay` against the test cluster.

use std::sync::Arc;

use serde_json::{json, Value};
use trailsearch_e2e::*;
use trailsearch_mapping::{Flavour, Granularity, IndexNaming, Provenance, Shaper};

const NO_TIME: &str = "the record has no eventTime, so it cannot be placed in a dated index";
const BAD_TIME: &str = "the record's eventTime \"not-a-time\" is not an RFC 3339 timestamp";
const STRING: &str = "the record is a JSON string, not an object";
const REFUSED: &str = "rejected even degraded: mapper_parsing_exception: failed to parse field [eventTime]";

fn event(id: &str, name: &str) -> Value {
    json!({"eventVersion": "1.09", "eventTime": "2024-03-14T10:00:00Z", "eventID": id,
           "eventName": name, "eventSource": "ec2.amazonaws.com", "awsRegion": "eu-west-1",
           "recipientAccountId": "111122223333", "sourceIPAddress": "203.0.113.9",
           "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}})
}

/// Stores a dead letter exactly as the sink would have written it.
fn plant_dead_letter(prefix: &str, record: &Value, reason: &str) -> String {
    let naming = IndexNaming::new(prefix, Granularity::Day).unwrap();
    let doc = Shaper::new(naming, Flavour::OpenSearch).shape_dead_letter(
        Arc::from(record.to_string().into_bytes()),
        Arc::new(Provenance::local("replayed.json")),
        reason,
    );
    let body: Value = serde_json::from_slice(&doc.body).unwrap();
    let (status, answer) = http(
        "PUT",
        &format!("{}/_doc/{}?refresh=true", doc.index, doc.id),
        Some(&body),
    );
    assert!(status < 300, "{status} {answer}");
    doc.id
}

fn list(prefix: &str) -> Value {
    let run = trailsearch(prefix, &["deadletter", "list", "--format", "json"]).expect_code(0);
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{run}"))
}

fn groups(pairs: &[(&str, u64)]) -> Value {
    pairs
        .iter()
        .map(|(reason, count)| json!({"reason": reason, "count": count}))
        .collect()
}

#[test]
fn replay_indexes_what_the_mapping_now_places_and_keeps_the_rest() {
    let prefix = unique_prefix("deadletter");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let deadletter = format!("{prefix}_deadletter");

    // An empty dead-letter index lists as nothing.
    assert_eq!(
        list(&prefix),
        json!({"index": deadletter, "total": 0, "reasons": []})
    );

    let mut no_time = event("dl-no-time", "RunInstances");
    no_time.as_object_mut().unwrap().remove("eventTime");
    let mut no_time_2 = no_time.clone();
    no_time_2["eventID"] = json!("dl-no-time-2");
    let mut bad_time = event("dl-bad-time", "RunInstances");
    bad_time["eventTime"] = json!("not-a-time");
    let already = event("dl-already", "StopInstances");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    let records = json!({"Records": [already, no_time, bad_time, "just text", no_time_2]});
    std::fs::write(&path, records.to_string()).unwrap();
    let ingest = trailsearch(&prefix, &["ingest", path.to_str().unwrap(), "--report", "json"]).expect_code(1);
    let report = ingest.report();
    assert_eq!(
        (&balanced(&report)["indexed"], &report["dead_lettered"]),
        (&json!(1), &json!(4)),
        "{ingest}"
    );
    refresh(&deadletter);

    let listed = list(&prefix);
    assert_eq!(
        listed,
        json!({"index": deadletter, "total": 4,
               "reasons": groups(&[(NO_TIME, 2), (STRING, 1), (BAD_TIME, 1)])})
    );
    let table = trailsearch(&prefix, &["deadletter", "list"]).expect_code(0);
    assert_eq!(
        table.stdout,
        format!("COUNT  REASON\n    2  {NO_TIME}\n    1  {STRING}\n    1  {BAD_TIME}\n"),
        "{table}"
    );
    assert!(
        table.stderr.contains(&format!("4 dead letters in {deadletter}")),
        "{table}"
    );

    // An upgrade fixed the cause of two: one is placed now, one was indexed meanwhile.
    let fixed = plant_dead_letter(&prefix, &event("dl-fixed", "TerminateInstances"), REFUSED);
    let duplicate = plant_dead_letter(&prefix, &already, REFUSED);
    // And one the current mapping places degraded (a known field of the wrong type).
    let mut wrong_type = event("dl-degraded", "RebootInstances");
    wrong_type["userIdentity"] = json!("alice");
    let degraded = plant_dead_letter(&prefix, &wrong_type, REFUSED);
    assert_eq!(
        (fixed.as_str(), duplicate.as_str(), degraded.as_str()),
        ("dl-fixed", "dl-already", "dl-degraded")
    );
    assert_eq!(
        list(&prefix)["reasons"],
        groups(&[(REFUSED, 3), (NO_TIME, 2), (STRING, 1), (BAD_TIME, 1)])
    );
    assert_eq!(count(&format!("{prefix}-*")), 1);

    let replay = trailsearch(&prefix, &["deadletter", "replay", "--format", "json"]).expect_code(1);
    let report: Value =
        serde_json::from_str(replay.stdout.trim()).unwrap_or_else(|e| panic!("{e}\n{replay}"));
    assert_eq!(
        report,
        json!({"events": 7, "indexed": 1, "duplicates": 1, "degraded": 1, "dead_lettered": 4,
               "failed_events": 0, "removed": 3,
               "kept": groups(&[(NO_TIME, 2), (STRING, 1), (BAD_TIME, 1)])}),
        "{replay}"
    );

    // The fixed one is an event now, with its original source; the duplicate was not written twice.
    assert_eq!(count(&format!("{prefix}-*")), 3);
    let (status, doc) = http("GET", &format!("{prefix}-2024.03.14/_doc/dl-degraded"), None);
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["_source"]["trailsearch"]["degraded"], true, "{doc}");
    assert_eq!(
        doc["_source"]["trailsearch"]["unindexed"]["userIdentity"], "alice",
        "{doc}"
    );
    let (status, doc) = http("GET", &format!("{prefix}-2024.03.14/_doc/dl-fixed"), None);
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc["_source"]["eventName"], "TerminateInstances");
    assert_eq!(doc["_source"]["trailsearch"]["source"]["key"], "replayed.json");
    for gone in ["dl-fixed", "dl-already", "dl-degraded"] {
        let (status, _) = http("GET", &format!("{deadletter}/_doc/{gone}"), None);
        assert_eq!(status, 404, "{gone} is still a dead letter");
    }
    assert_eq!(count(&deadletter), 4);
    assert_eq!(list(&prefix), listed);

    // Idempotent: a second replay changes nothing.
    let again = trailsearch(&prefix, &["deadletter", "replay"]).expect_code(1);
    assert_eq!(
        again.stdout,
        format!(
            "events=4 indexed=0 duplicates=0 degraded=0 dead_lettered=4 failed_events=0 removed=0\n\
             KEPT  REASON\n   2  {NO_TIME}\n   1  {STRING}\n   1  {BAD_TIME}\n"
        ),
        "{again}"
    );
    assert_eq!(count(&deadletter), 4);
    assert_eq!(count(&format!("{prefix}-*")), 3);
    assert_eq!(list(&prefix), listed);
}

#[test]
fn replay_of_nothing_succeeds() {
    let prefix = unique_prefix("deadletter-empty");
    let run = trailsearch(&prefix, &["deadletter", "replay"]).expect_code(0);
    assert_eq!(
        run.stdout, "events=0 indexed=0 duplicates=0 degraded=0 dead_lettered=0 failed_events=0 removed=0\n",
        "{run}"
    );
}

/// A dead-letter index that refuses dead letters (here: one created with a
/// mapping of its own, its `reason` a number): every event of the batch
/// is still counted once, and what the report says was indexed is exactly
/// what the cluster holds.
#[test]
fn a_dead_letter_index_that_refuses_loses_no_count() {
    let prefix = unique_prefix("dl-refused");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let (status, answer) = http(
        "PUT",
        &format!("{prefix}_deadletter"),
        Some(&json!({"mappings": {"properties": {"reason": {"type": "long"}}}})),
    );
    assert_eq!(status, 200, "{answer}");
    let dir = tempfile::tempdir().unwrap();
    // Two objects: one holds a record without an eventTime among events
    // before and after it (so the refused dead letter sits mid-batch).
    let mut mixed: Vec<Value> = (0..5)
        .map(|n| event(&format!("dl-before-{n}"), "RunInstances"))
        .collect();
    mixed.push(json!({"eventVersion": "1.09", "eventID": "dl-no-time", "eventName": "X"}));
    mixed.extend((0..5).map(|n| event(&format!("dl-after-{n}"), "StopInstances")));
    std::fs::write(
        dir.path().join("mixed.json"),
        json!({"Records": mixed}).to_string(),
    )
    .unwrap();
    let clean: Vec<Value> = (0..4)
        .map(|n| event(&format!("dl-clean-{n}"), "DescribeInstances"))
        .collect();
    std::fs::write(
        dir.path().join("clean.json"),
        json!({"Records": clean}).to_string(),
    )
    .unwrap();

    let run = trailsearch(
        &prefix,
        &[
            "ingest",
            dir.path().to_str().unwrap(),
            "--report",
            "json",
            "--concurrency",
            "1",
        ],
    )
    .expect_code(1);
    let report = balanced(&run.report()).clone();
    assert_eq!(report["events"], 15, "{run}");
    assert_eq!(report["failed_objects"], 1, "{run}");
    assert_eq!(report["dead_lettered"], 0, "{run}");
    assert_eq!(
        report["indexed"].as_u64().unwrap(),
        count(&format!("{prefix}-*")),
        "the report's indexed is what the cluster holds: {run}"
    );
    assert_eq!(report["indexed"], 14, "{run}");
    assert_eq!(report["failed_events"], 1, "{run}");
    assert!(
        run.stderr.contains("dead-letter") || run.stderr.contains("deadletter"),
        "{run}"
    );
}

/// Only a redelivery of the same event is a duplicate: another event that
/// reuses an indexed event's eventID is dead-lettered, naming the event
/// indexed, and a replay keeps that dead letter (its own event is not
/// indexed). It used to count as a duplicate and vanish.
#[test]
fn another_event_under_an_indexed_events_id_is_not_a_duplicate() {
    let prefix = unique_prefix("dl-collision");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, records: Vec<Value>| {
        let path = dir.path().join(name);
        std::fs::write(&path, json!({"Records": records}).to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let delete = write("delete.json", vec![event("same-id", "DeleteBucket")]);
    let create = write("create.json", vec![event("same-id", "CreateBucket")]);
    let ingest = |path: &str, code: i32| {
        let run = trailsearch(&prefix, &["ingest", path, "--report", "json"]).expect_code(code);
        balanced(&run.report()).clone()
    };
    assert_eq!(ingest(&delete, 0)["indexed"], 1);
    // The redelivery: a duplicate.
    assert_eq!(ingest(&delete, 0)["duplicates"], 1);
    // Another event, same eventID: a dead letter that names the other.
    let collided = ingest(&create, 1);
    assert_eq!(
        (
            collided["duplicates"].as_u64(),
            collided["dead_lettered"].as_u64()
        ),
        (Some(0), Some(1)),
        "{collided}"
    );
    let reasons = list(&prefix);
    let reason = reasons["reasons"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("another event is indexed under this eventID")
            && reason.contains("eventName=DeleteBucket"),
        "{reasons}"
    );
    let (_, indexed) = http("GET", &format!("{prefix}-2024.03.14/_doc/same-id"), None);
    assert_eq!(
        indexed["_source"]["eventName"], "DeleteBucket",
        "the indexed event is untouched"
    );
    // Replay: the dead letter's own event is not indexed, so it stays.
    let replay = trailsearch(&prefix, &["deadletter", "replay", "--format", "json"]).expect_code(1);
    let tally: Value = serde_json::from_str(replay.stdout.trim()).unwrap();
    assert_eq!(tally["removed"], 0, "{replay}");
    assert_eq!(list(&prefix)["total"], 1);
}
