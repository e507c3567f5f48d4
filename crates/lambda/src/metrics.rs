//! CloudWatch Embedded Metric Format: one JSON log line per invocation, and
//! one per path the events came by, for the delay of each.

use serde_json::{json, Map, Value};
use trailsearch_ingest::Report;

/// What one invocation did, as metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvocationMetrics {
    /// The run's counts.
    pub report: Report,
    /// Bytes of the objects read.
    pub object_bytes: u64,
    /// Wall time of the invocation.
    pub duration_ms: u64,
    /// Now minus the newest `eventTime` seen, when any event was read.
    pub ingest_lag_seconds: Option<f64>,
    /// The same per path (`s3`, `eventbridge`, `cloudwatch-logs`,
    /// `kinesis`), for the paths that brought events.
    pub lag_by_path: Vec<(&'static str, f64)>,
}

/// The EMF line: metrics named as CloudWatch shows them, under `namespace`.
pub fn emf_line(namespace: &str, metrics: &InvocationMetrics, timestamp_ms: i64) -> String {
    let r = &metrics.report;
    let mut values: Vec<(&str, &str, Value)> = vec![
        ("EventsIndexed", "Count", json!(r.indexed)),
        ("Superseded", "Count", json!(r.superseded)),
        ("Duplicates", "Count", json!(r.duplicates)),
        ("Degraded", "Count", json!(r.degraded)),
        ("DeadLettered", "Count", json!(r.dead_lettered)),
        ("FailedObjects", "Count", json!(r.failed_objects)),
        ("FailedEvents", "Count", json!(r.failed_events)),
        ("DigestsValid", "Count", json!(r.digests_valid)),
        ("DigestsInvalid", "Count", json!(r.digests_invalid)),
        ("IntegrityUpdates", "Count", json!(r.integrity_updates)),
        ("ObjectBytes", "Bytes", json!(metrics.object_bytes)),
        ("DurationMs", "Milliseconds", json!(metrics.duration_ms)),
    ];
    if let Some(lag) = metrics.ingest_lag_seconds {
        values.push(("IngestLagSeconds", "Seconds", json!(lag)));
    }
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [
            {"Namespace": namespace, "Dimensions": [[]], "Metrics": definitions}
        ]}),
    );
    for (name, _, value) in values {
        line.insert(name.into(), value);
    }
    Value::Object(line).to_string()
}

/// The lines with `IngestLagSeconds` per path, under the `Path` dimension
/// (the line above keeps it without dimensions, which the alarm reads).
pub fn emf_path_lines(namespace: &str, metrics: &InvocationMetrics, timestamp_ms: i64) -> Vec<String> {
    metrics
        .lag_by_path
        .iter()
        .map(|(path, lag)| {
            json!({
                "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Path"]],
                    "Metrics": [{"Name": "IngestLagSeconds", "Unit": "Seconds"}],
                }]},
                "Path": path,
                "IngestLagSeconds": lag,
            })
            .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_declares_every_metric_it_carries() {
        let metrics = InvocationMetrics {
            report: Report {
                indexed: 5,
                failed_objects: 1,
                ..Report::default()
            },
            object_bytes: 1234,
            duration_ms: 87,
            ingest_lag_seconds: Some(42.5),
            lag_by_path: Vec::new(),
        };
        let line: Value =
            serde_json::from_str(&emf_line("trailsearch", &metrics, 1_700_000_000_000)).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "trailsearch");
        for metric in declared["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(line.get(name).is_some(), "{name} declared but missing");
        }
        assert_eq!(
            (line["EventsIndexed"].clone(), line["IngestLagSeconds"].clone()),
            (json!(5), json!(42.5))
        );
        let none = InvocationMetrics::default();
        let line: Value = serde_json::from_str(&emf_line("n", &none, 0)).unwrap();
        assert!(line.get("IngestLagSeconds").is_none());
        assert!(emf_path_lines("n", &none, 0).is_empty());
    }

    #[test]
    fn each_path_gets_its_delay_under_a_dimension() {
        let metrics = InvocationMetrics {
            lag_by_path: vec![("s3", 300.0), ("eventbridge", 2.5)],
            ..InvocationMetrics::default()
        };
        let lines: Vec<Value> = emf_path_lines("trailsearch", &metrics, 7)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["Path"], "eventbridge");
        assert_eq!(lines[1]["IngestLagSeconds"], 2.5);
        assert_eq!(
            lines[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Path"]])
        );
    }
}
