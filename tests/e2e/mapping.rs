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
