//! What tells two events that share an `eventID` apart.

use serde_json::Value;

/// The fields a redelivery of the same event agrees on and another event
/// that reuses its `eventID` (a forged or broken record) does not:
/// `eventTime`, `eventSource`, `eventName`, `recipientAccountId`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFingerprint {
    fields: [Option<String>; 4],
}

const NAMES: [&str; 4] = ["eventTime", "eventSource", "eventName", "recipientAccountId"];

impl EventFingerprint {
    /// The `_source` fields [`of`](Self::of) reads: ask only for these.
    pub const SOURCE_FIELDS: [&'static str; 5] = [
        "eventTime",
        "eventSource",
        "eventName",
        "recipientAccountId",
        "trailsearch.unindexed",
    ];

    /// Of a record, or of a document's `_source` (a degraded document keeps
    /// a field of the wrong type under `trailsearch.unindexed`).
    pub fn of(source: &Value) -> Self {
        let unindexed = &source["trailsearch"]["unindexed"];
        let fields = NAMES.map(|name| {
            let value = match &source[name] {
                Value::Null => &unindexed[name],
                value => value,
            };
            match value {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
        });
        EventFingerprint { fields }
    }
}

impl std::fmt::Display for EventFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = NAMES
            .iter()
            .zip(&self.fields)
            .map(|(name, value)| format!("{name}={}", value.as_deref().unwrap_or("-")))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redeliveries_agree_and_other_events_do_not() {
        let delete = json!({"eventTime": "2024-03-14T10:00:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "DeleteBucket", "recipientAccountId": "111122223333", "eventID": "e1"});
        let mut create = delete.clone();
        create["eventName"] = json!("CreateBucket");
        let mut degraded = delete.clone();
        degraded.as_object_mut().unwrap().remove("eventName");
        degraded["trailsearch"] = json!({"unindexed": {"eventName": "DeleteBucket"}});
        assert_eq!(
            EventFingerprint::of(&delete),
            EventFingerprint::of(&delete.clone())
        );
        assert_eq!(EventFingerprint::of(&delete), EventFingerprint::of(&degraded));
        assert_ne!(EventFingerprint::of(&delete), EventFingerprint::of(&create));
        assert_eq!(
            EventFingerprint::of(&create).to_string(),
            "eventTime=2024-03-14T10:00:00Z eventSource=s3.amazonaws.com eventName=CreateBucket \
             recipientAccountId=111122223333"
        );
    }
}
