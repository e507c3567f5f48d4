//! The mapping against a real cluster: bounded fields, messy records.

use std::io::Write;

use serde_json::{json, Value};
use trailsearch_e2e::*;

fn count_fields(properties: &Value) -> usize {
    properties
        .as_object()
        .map(|props| props.values().map(|m| 1 + count_fields(&m["properties"])).sum())
        .unwrap_or(0)
}

#[test]
fn field_count_stays_bounded_whatever_the_input() {
    let prefix = unique_prefix("fields");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    // 5,000 distinct requestParameters keys and 50 new top-level objects,
    // each with 100 keys of its own.
    let records: Vec<Value> = (0..50)
        .map(|r| {
            let params: serde_json::Map<String, Value> =
                (0..100).map(|k| (format!("param{r}x{k}"), json!(k))).collect();
            let novel: serde_json::Map<String, Value> =
                (0..100).map(|k| (format!("k{k}"), json!({"deep": k}))).collect();
            json!({"eventVersion": "1.09", "eventTime": "2024-03-14T10:00:00Z", "eventID": format!("f{r}"),
                   "eventName": "Anything", "requestParameters": params, format!("newObject{r}"): novel})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.json");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(json!({"Records": records}).to_string().as_bytes())
        .unwrap();
    let run = trailsearch(&prefix, &["ingest", path.to_str().unwrap(), "--report", "json"]).expect_code(0);
    assert_eq!(balanced(&run.report())["indexed"], 50, "{run}");

    let (status, mapping) = http("GET", &format!("{prefix}-2024.03.14/_mapping"), None);
    assert_eq!(status, 200, "{mapping}");
    let fields = count_fields(&mapping[format!("{prefix}-2024.03.14")]["mappings"]["properties"]);
    assert!(fields < 1000, "{fields} fields");
    assert!(fields > 50, "the new objects are mapped: {fields}");
    // Every leaf stays searchable.
    let (_, hits) = http(
        "POST",
        &format!("{prefix}-*/_count"),
        Some(
            &json!({"query": {"query_string": {"query": "requestParameters.param49x99:99 AND newObject49.k7.deep:7"}}}),
        ),
    );
    assert_eq!(hits["count"], 1, "{hits}");
}

#[test]
fn a_type_conflict_the_cluster_rejects_is_indexed_degraded() {
    let prefix = unique_prefix("conflict");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, records: Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, json!({"Records": records}).to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    // A new scalar field maps as keyword; the same field as an object later
    // is refused by the cluster, then indexed in the degraded form.
    let first = write(
        "a.json",
        json!([{"eventTime": "2024-03-14T10:00:00Z", "eventID": "k1", "novelField": "text"}]),
    );
    trailsearch(&prefix, &["ingest", &first]).expect_code(0);
    let second = write(
        "b.json",
        json!([
            {"eventTime": "2024-03-14T10:00:01Z", "eventID": "k2", "eventName": "X", "novelField": {"now": "an object"}},
            {"eventTime": "2024-03-14T10:00:02Z", "eventID": "k3", "eventName": "Y"}
        ]),
    );
    let run = trailsearch(&prefix, &["ingest", &second, "--report", "json"]).expect_code(0);
    let report = run.report();
    balanced(&report);
    assert_eq!(
        (report["indexed"].as_u64(), report["degraded"].as_u64()),
        (Some(1), Some(1)),
        "{run}"
    );
    refresh(&format!("{prefix}-*"));
    let (_, doc) = http("GET", &format!("{prefix}-2024.03.14/_doc/k2"), None);
    let source = &doc["_source"];
    assert_eq!(source["eventName"], "X");
    assert_eq!(source["trailsearch"]["degraded"], true);
    assert_eq!(
        source["trailsearch"]["unindexed"]["novelField"],
        json!({"now": "an object"})
    );
    assert!(
        source["trailsearch"]["degraded_reasons"][0]
            .as_str()
            .unwrap()
            .contains("novelField"),
        "{source}"
    );
}

/// Lucene refuses a term over 32,766 bytes. The real node refuses a raw
/// 40,000-byte leaf of a free-shaped object (`flattened` / `flat_object`
/// index every leaf as a term); through trailsearch the same record is
/// indexed, the long value kept whole where it is not indexed.
#[test]
fn a_value_past_lucenes_term_limit_is_refused_raw_and_kept_through_trailsearch() {
    let prefix = unique_prefix("term-limit");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let long = "p".repeat(40_000);
    let record = |id: &str| {
        json!({"eventVersion": "1.09", "eventTime": "2024-03-14T10:00:00Z", "eventID": id,
               "eventName": "PutBucketPolicy", "eventSource": "s3.amazonaws.com",
               "requestParameters": {"bucketName": "logs", "bucketPolicy": long}})
    };
    let index = format!("{prefix}-2024.03.14");
    // Raw, as a naive loader would send it: the template's own mapping.
    let (status, answer) = http(
        "PUT",
        &format!("{index}/_doc/raw?refresh=true"),
        Some(&record("raw")),
    );
    match free_shaped_type(&prefix).as_str() {
        "flattened" | "flat_object" => {
            assert_eq!(status, 400, "the real node refuses the raw record: {answer}");
            let reason = answer.to_string();
            assert!(
                reason.contains("32766") || reason.contains("immense term"),
                "Lucene's term limit is the reason: {answer}"
            );
        }
        // The compatible flavour indexes no leaf of the object at all.
        "object" => assert!(status == 200 || status == 201, "{answer}"),
        other => panic!("requestParameters is mapped as {other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.json");
    std::fs::write(&path, json!({"Records": [record("long-1")]}).to_string()).unwrap();
    let run = trailsearch(&prefix, &["ingest", path.to_str().unwrap(), "--report", "json"]).expect_code(0);
    let report = run.report();
    balanced(&report);
    assert_eq!(
        report["indexed"].as_u64().unwrap() + report["degraded"].as_u64().unwrap(),
        1,
        "{run}"
    );
    let (status, doc) = http("GET", &format!("{index}/_doc/long-1"), None);
    assert_eq!(status, 200, "{doc}");
    assert!(
        doc["_source"].to_string().contains(&long),
        "the long value is kept whole"
    );
    // The rest of the record stays searchable.
    let (_, hits) = http(
        "POST",
        &format!("{prefix}-*/_count"),
        Some(
            &json!({"query": {"bool": {"filter": [{"term": {"eventID": "long-1"}}, {"term": {"eventName": "PutBucketPolicy"}}]}}}),
        ),
    );
    assert_eq!(hits["count"], 1, "{hits}");
}

/// `eventTime` forms RFC 3339 allows and the cluster's date format refuses
/// (lower-case `t`/`z`, a space, a leap second, twelve fractional digits,
/// `-00:00`, an offset past 18 hours):
/// the real node refuses them raw; through trailsearch they are indexed in
/// their day, found by time, the original string kept unindexed. They used
/// to end as dead letters.
#[test]
fn event_times_the_cluster_refuses_are_indexed_normalised() {
    let prefix = unique_prefix("odd-times");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let forms = [
        "2024-03-14t09:00:00z",
        "2024-03-14 09:00:01Z",
        "2024-03-14T23:59:60Z",
        "2024-03-14T09:00:02.123456789012Z",
        "2024-03-14T09:00:03-00:00",
        "2024-03-15T04:00:04+19:00",
    ];
    let index = format!("{prefix}-2024.03.14");
    let (status, answer) = http(
        "PUT",
        &format!("{index}/_doc/raw?refresh=true"),
        Some(&json!({"eventTime": forms[2], "eventID": "raw"})),
    );
    // Every date format refuses the leap second; which of the others each
    // refuses differs (`rfc3339_lenient` takes `t`, `z` and the space).
    assert_eq!(status, 400, "the real node refuses the raw form: {answer}");
    let records: Vec<Value> = forms
        .iter()
        .enumerate()
        .map(|(n, t)| json!({"eventVersion": "1.09", "eventTime": t, "eventID": format!("odd-{n}"), "eventName": "X"}))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("odd.json");
    std::fs::write(&path, json!({"Records": records}).to_string()).unwrap();
    let run = trailsearch(&prefix, &["ingest", path.to_str().unwrap(), "--report", "json"]).expect_code(0);
    let report = balanced(&run.report()).clone();
    assert_eq!(
        (report["indexed"].as_u64(), report["dead_lettered"].as_u64()),
        (Some(forms.len() as u64), Some(0)),
        "{run}"
    );
    let (_, hits) = http(
        "POST",
        &format!("{prefix}-*/_count"),
        Some(&json!({"query": {"bool": {"filter": [
            {"range": {"@timestamp": {"gte": "2024-03-14T09:00:00Z", "lte": "2024-03-14T23:59:59.999Z"}}},
            {"term": {"trailsearch.normalized": "eventTime"}}]}}})),
    );
    assert_eq!(hits["count"], forms.len(), "{hits}");
    let (_, leap) = http("GET", &format!("{index}/_doc/odd-2"), None);
    assert_eq!(leap["_source"]["eventTime"], "2024-03-14T23:59:59.999999999Z");
    assert_eq!(
        leap["_source"]["trailsearch"]["unindexed"]["eventTime"],
        "2024-03-14T23:59:60Z"
    );
}
