//! Bulk bodies and their per-item outcomes.

use serde::Deserialize;
use serde_json::Value;
use trailsearch_mapping::{Document, DocumentKind};

use crate::error::SinkError;

/// `filter_path` for bulk answers: enough to settle every item, nothing more.
pub const BULK_FILTER_PATH: &str = "errors,items.*.status,items.*.error.type,items.*.error.reason";

/// Appends one document's action and source to an NDJSON body.
///
/// Events are written with `index` and an external version: a provisional
/// copy (one that came by EventBridge, CloudWatch Logs or Kinesis) at 0,
/// a copy read from its log object at 1. So whichever arrives first, an S3
/// copy replaces a provisional one (1 > 0), while a provisional copy never
/// replaces anything and a redelivered S3 copy is refused (409) like any
/// duplicate; documents `create` wrote before have version 1 too. Dead
/// letters keep `create`: the first one written stays.
pub fn encode_document(doc: &Document, out: &mut Vec<u8>) {
    // Writing strings into a `Vec` cannot fail.
    let versioned = doc.kind != DocumentKind::DeadLetter;
    out.extend_from_slice(if versioned {
        b"{\"index\":{\"_index\":"
    } else {
        b"{\"create\":{\"_index\":"
    });
    let _ = serde_json::to_writer(&mut *out, &doc.index);
    out.extend_from_slice(b",\"_id\":");
    let _ = serde_json::to_writer(&mut *out, &doc.id);
    if versioned {
        out.extend_from_slice(b",\"version\":");
        out.extend_from_slice(doc.provenance.version().to_string().as_bytes());
        out.extend_from_slice(b",\"version_type\":\"external\"");
    }
    out.extend_from_slice(b"}}\n");
    out.extend_from_slice(&doc.body);
    out.push(b'\n');
}

/// The NDJSON bytes a document adds to a bulk body.
pub fn encoded_len(doc: &Document) -> usize {
    // {"create":{"_index":"","_id":""}} is 33 bytes and the versioned
    // {"index":{"_index":"","_id":"","version":1,"version_type":"external"}}
    // 70, plus two newlines; names needing JSON escapes (never in index
    // names, rare in ids) add a few more.
    let action = if doc.kind == DocumentKind::DeadLetter {
        33
    } else {
        70
    };
    action + doc.index.len() + doc.id.len() + 2 + doc.body.len()
}

/// A bulk body for these documents, in order.
pub fn encode_bulk<'a>(docs: impl IntoIterator<Item = &'a Document>) -> Vec<u8> {
    let docs = docs.into_iter();
    let mut out = Vec::with_capacity(docs.size_hint().0 * 1024);
    for doc in docs {
        encode_document(doc, &mut out);
    }
    out
}

/// How bulk batches are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Uncompressed body bytes at most (a single larger document goes alone).
    pub max_bytes: usize,
    /// Documents at most.
    pub max_docs: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_bytes: 5 * 1024 * 1024,
            max_docs: 5000,
        }
    }
}

/// What the cluster did with one submitted document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Indexed (201, or 2xx other than 200).
    Created,
    /// Indexed over a provisional copy (200 on a versioned `index`).
    Replaced,
    /// Already there (409 on `create`).
    Duplicate,
    /// Try again later (429, 5xx, a temporary block).
    Retry {
        /// HTTP status.
        status: u16,
        /// The cluster's reason.
        reason: String,
    },
    /// The document itself was refused (mapping or parse errors).
    Rejected {
        /// HTTP status.
        status: u16,
        /// The cluster's reason.
        reason: String,
    },
}

#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, Item>>,
}

#[derive(Deserialize)]
struct Item {
    status: Option<u16>,
    error: Option<Value>,
}

fn reason(error: &Option<Value>) -> String {
    match error {
        Some(Value::Object(e)) => {
            let kind = e.get("type").and_then(Value::as_str).unwrap_or("error");
            let why = e.get("reason").and_then(Value::as_str).unwrap_or("");
            format!("{kind}: {why}")
        }
        Some(other) => other.to_string(),
        None => String::from("no reason given"),
    }
}

fn classify(item: &Item) -> ItemOutcome {
    let status = item.status.unwrap_or(0);
    let kind = item
        .error
        .as_ref()
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match status {
        200 => ItemOutcome::Replaced,
        201..=299 => ItemOutcome::Created,
        409 => ItemOutcome::Duplicate,
        // A write block (disk watermark, read-only index) lifts by itself.
        429 | 500..=599 => ItemOutcome::Retry {
            status,
            reason: reason(&item.error),
        },
        403 if kind == "cluster_block_exception" => ItemOutcome::Retry {
            status,
            reason: reason(&item.error),
        },
        _ => ItemOutcome::Rejected {
            status,
            reason: reason(&item.error),
        },
    }
}

/// Parses a bulk answer into one outcome per submitted document, in order.
/// An answer with a different number of items fails the whole batch: the
/// outcomes could not be matched to documents.
pub fn parse_bulk_response(url: &str, body: &[u8], submitted: usize) -> Result<Vec<ItemOutcome>, SinkError> {
    let invalid = |reason: String| SinkError::InvalidResponse {
        url: url.to_string(),
        reason,
    };
    let response: BulkResponse =
        serde_json::from_slice(body).map_err(|e| invalid(format!("bulk answer is not JSON: {e}")))?;
    if response.items.len() != submitted {
        return Err(invalid(format!(
            "bulk answer has {} items for {submitted} documents",
            response.items.len()
        )));
    }
    response
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let (_, item) = item
                .iter()
                .next()
                .ok_or_else(|| invalid(format!("bulk item {i} is empty")))?;
            if item.status.is_none() {
                return Err(invalid(format!("bulk item {i} has no status")));
            }
            Ok(classify(item))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_per_item_in_order() {
        let body = br#"{"errors":true,"items":[
            {"create":{"status":201}},
            {"create":{"status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
            {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
            {"create":{"status":503,"error":{"type":"unavailable_shards_exception","reason":"primary"}}},
            {"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}},
            {"create":{"status":403,"error":{"type":"cluster_block_exception","reason":"read-only"}}}
        ]}"#;
        let outcomes = parse_bulk_response("u", body, 6).unwrap();
        assert_eq!(outcomes[0], ItemOutcome::Created);
        assert_eq!(outcomes[1], ItemOutcome::Duplicate);
        assert_eq!(
            outcomes[2],
            ItemOutcome::Retry {
                status: 429,
                reason: "es_rejected_execution_exception: queue full".into()
            }
        );
        assert!(matches!(outcomes[3], ItemOutcome::Retry { status: 503, .. }));
        assert_eq!(
            outcomes[4],
            ItemOutcome::Rejected {
                status: 400,
                reason: "mapper_parsing_exception: failed to parse field [x]".into()
            }
        );
        assert!(matches!(outcomes[5], ItemOutcome::Retry { status: 403, .. }));
    }

    #[test]
    fn count_mismatch_or_missing_status_fails_the_batch() {
        let body = br#"{"errors":false,"items":[{"create":{"status":201}}]}"#;
        assert!(parse_bulk_response("u", body, 2).is_err());
        let body = br#"{"errors":false,"items":[{"create":{}}]}"#;
        assert!(parse_bulk_response("u", body, 1).is_err());
        assert!(parse_bulk_response("u", b"<html>", 1).is_err());
    }

    #[test]
    fn encodes_versioned_events_and_created_dead_letters_exactly() {
        use std::sync::Arc;
        use trailsearch_mapping::{Provenance, StreamOrigin};
        let doc = |kind, provenance: Provenance| {
            Document::new(
                "ct-2024.03.14".into(),
                "e1".into(),
                br#"{"a":1}"#.to_vec(),
                kind,
                Arc::from(&b"{}"[..]),
                Arc::new(provenance),
            )
        };
        let record = doc(DocumentKind::Event, Provenance::local("f"));
        let provisional = doc(
            DocumentKind::Degraded,
            Provenance {
                bucket: None,
                key: "eventbridge:1".into(),
                stream: Some(StreamOrigin {
                    kind: "eventbridge",
                    fields: vec![("eventbridge_id", "1".into())],
                }),
                integrity: None,
            },
        );
        let letter = doc(DocumentKind::DeadLetter, Provenance::local("f"));
        let lines = [
            "{\"index\":{\"_index\":\"ct-2024.03.14\",\"_id\":\"e1\",\"version\":1,\"version_type\":\"external\"}}\n{\"a\":1}\n",
            "{\"index\":{\"_index\":\"ct-2024.03.14\",\"_id\":\"e1\",\"version\":0,\"version_type\":\"external\"}}\n{\"a\":1}\n",
            "{\"create\":{\"_index\":\"ct-2024.03.14\",\"_id\":\"e1\"}}\n{\"a\":1}\n",
        ];
        for (doc, line) in [&record, &provisional, &letter].into_iter().zip(lines) {
            let out = encode_bulk([doc]);
            assert_eq!(String::from_utf8(out.clone()).unwrap(), line);
            assert_eq!(encoded_len(doc), out.len());
        }
    }

    #[test]
    fn a_replaced_provisional_copy_is_told_from_a_new_document() {
        let body = br#"{"errors":false,"items":[{"index":{"status":201}},{"index":{"status":200}}]}"#;
        assert_eq!(
            parse_bulk_response("u", body, 2).unwrap(),
            [ItemOutcome::Created, ItemOutcome::Replaced]
        );
    }
}
