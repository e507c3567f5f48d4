//! CloudWatch Embedded Metric Format: one JSON log line per invocation.

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
}

/// The EMF line: metrics named as CloudWatch shows them, under `namespace`.
pub fn emf_line(namespace: &str, metrics: &InvocationMetrics, timestamp_ms: i64) -> String {
    let r = &metrics.report;
    let mut values: Vec<(&str, &str, Value)> = vec![
        ("EventsIndexed", "Count", json!(r.indexed)),
        ("Duplicates", "Count", json!(r.duplicates)),
        ("Degraded", "Count", json!(r.degraded)),
        ("DeadLettered", "Count", json!(r.dead_lettered)),
        ("FailedObjects", "Count", json!(r.failed_objects)),
        ("FailedEvents", "Count", json!(r.failed_events)),
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
    }
}
