//! Reading and removing dead letters: a scroll over `<prefix>_deadletter`
//! (sorted by `_doc`, so every cluster can page it and deletions during the
//! scroll do not shift pages), a check of which events an event index now
//! holds (`_mget`), and deletion by `_id`.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};
use trailsearch_mapping::{Document, EventFingerprint, Provenance};

use crate::bulk::{parse_bulk_response, ItemOutcome};
use crate::error::SinkError;
use crate::transport::{RequestBody, Transport};

/// How long the cluster keeps a scroll between pages.
const SCROLL_KEEP_ALIVE: &str = "5m";

/// One stored dead letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its `_id` in the dead-letter index.
    pub id: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// The original record, as text.
    pub record: String,
    /// Where the record came from (`trailsearch.source`), when stored.
    pub source: Option<Provenance>,
}

/// How many dead letters share one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    /// The reason, exactly as stored.
    pub reason: String,
    /// Dead letters with it.
    pub count: u64,
}

/// The part of a stored reason that groups it: the reason without the
/// `record N: ` the ingest puts first (the record's position in its object).
pub fn reason_group(reason: &str) -> &str {
    let Some(rest) = reason.strip_prefix("record ") else {
        return reason;
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    match rest[digits..].strip_prefix(": ") {
        Some(cause) if digits > 0 => cause,
        _ => reason,
    }
}

/// Counts reasons by [`reason_group`]; most frequent first, then by reason.
pub fn group_by_reason<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Vec<ReasonCount> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for reason in reasons {
        *counts.entry(reason_group(reason)).or_default() += 1;
    }
    let mut groups: Vec<ReasonCount> = counts
        .into_iter()
        .map(|(reason, count)| ReasonCount {
            reason: reason.to_string(),
            count,
        })
        .collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    groups
}

/// Parses one page of a dead-letter search or scroll: the scroll id and
/// the dead letters. A hit without a string `record` keeps an empty one
/// (it can only stay); one without `reason` gets `(no reason stored)`.
pub fn parse_dead_letter_page(
    url: &str,
    body: &[u8],
) -> Result<(Option<String>, Vec<DeadLetter>), SinkError> {
    let invalid = |reason: String| SinkError::InvalidResponse {
        url: url.to_string(),
        reason,
    };
    let answer: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("search answer is not JSON: {e}")))?;
    let scroll_id = answer["_scroll_id"].as_str().map(str::to_string);
    let hits = answer["hits"]["hits"]
        .as_array()
        .ok_or_else(|| invalid("search answer has no hits.hits".into()))?;
    let letters = hits
        .iter()
        .enumerate()
        .map(|(i, hit)| {
            let id = hit["_id"]
                .as_str()
                .ok_or_else(|| invalid(format!("hit {i} has no _id")))?;
            let source = &hit["_source"];
            let provenance = Provenance::from_json(&source["trailsearch"]["source"]);
            Ok(DeadLetter {
                id: id.to_string(),
                reason: source["reason"]
                    .as_str()
                    .unwrap_or("(no reason stored)")
                    .to_string(),
                record: source["record"].as_str().unwrap_or_default().to_string(),
                source: provenance,
            })
        })
        .collect::<Result<Vec<_>, SinkError>>()?;
    Ok((scroll_id, letters))
}

/// The bulk body deleting these `_id`s from `index`.
pub fn delete_body(index: &str, ids: &[String]) -> Vec<u8> {
    let mut out = Vec::new();
    for id in ids {
        let action = json!({"delete": {"_index": index, "_id": id}});
        // Serialising a `Value` cannot fail.
        out.extend(serde_json::to_vec(&action).unwrap_or_default());
        out.push(b'\n');
    }
    out
}

/// Whether a bulk delete item left the document gone (deleted, or already
/// not there).
pub fn deleted(outcome: &ItemOutcome) -> bool {
    matches!(
        outcome,
        ItemOutcome::Created | ItemOutcome::Replaced | ItemOutcome::Rejected { status: 404, .. }
    )
}

/// A scroll over the dead-letter index, one page at a time.
#[derive(Debug)]
pub struct DeadLetterScroll<'a> {
    transport: &'a Transport,
    index: String,
    page_size: usize,
    scroll_id: Option<String>,
    started: bool,
    done: bool,
}

impl<'a> DeadLetterScroll<'a> {
    /// A scroll over `index` (nothing is sent yet). A missing index has no
    /// dead letters.
    pub fn new(transport: &'a Transport, index: &str, page_size: usize) -> Self {
        DeadLetterScroll {
            transport,
            index: index.to_string(),
            page_size: page_size.max(1),
            scroll_id: None,
            started: false,
            done: false,
        }
    }

    /// The next page, or `None` when every dead letter has been read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<DeadLetter>>, SinkError> {
        if self.done {
            return Ok(None);
        }
        let (path, body) = if !self.started {
            self.started = true;
            (
                format!(
                    "{}/_search?scroll={SCROLL_KEEP_ALIVE}&ignore_unavailable=true&allow_no_indices=true",
                    self.index
                ),
                json!({"size": self.page_size, "sort": ["_doc"], "_source": ["record", "reason", "trailsearch.source"]}),
            )
        } else {
            let Some(scroll_id) = &self.scroll_id else {
                self.done = true;
                return Ok(None);
            };
            (
                "_search/scroll".to_string(),
                json!({"scroll": SCROLL_KEEP_ALIVE, "scroll_id": scroll_id}),
            )
        };
        let response = self
            .transport
            .send_ok(Method::POST, &path, Some(RequestBody::json(&body)))
            .await?;
        let (scroll_id, letters) = parse_dead_letter_page(&path, &response.body)?;
        if scroll_id.is_some() {
            self.scroll_id = scroll_id;
        }
        if letters.is_empty() {
            self.done = true;
            self.close().await;
            return Ok(None);
        }
        Ok(Some(letters))
    }

    /// Frees the scroll on the cluster (best effort: it expires anyway).
    pub async fn close(&mut self) {
        if let Some(scroll_id) = self.scroll_id.take() {
            let body = json!({ "scroll_id": [scroll_id] });
            if let Err(error) = self
                .transport
                .send(Method::DELETE, "_search/scroll", Some(RequestBody::json(&body)))
                .await
            {
                tracing::debug!(error = %error, "clearing the dead-letter scroll failed");
            }
        }
        self.done = true;
    }
}

/// What an event index holds under a document's `_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// This very event (a redelivery of it).
    Same,
    /// Another event under the same `_id`: this is its fingerprint.
    Other(EventFingerprint),
    /// Nothing.
    Missing,
}

/// For each document, whether its index holds this event under its `_id`
/// (one real-time `_mget` reading only the fingerprint fields).
pub async fn indexed_events(transport: &Transport, docs: &[Document]) -> Result<Vec<Indexed>, SinkError> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let asked: Vec<Value> = docs
        .iter()
        .map(|d| json!({"_index": d.index, "_id": d.id, "_source": {"includes": EventFingerprint::SOURCE_FIELDS}}))
        .collect();
    let path = "_mget";
    let response = transport
        .send_ok(
            Method::POST,
            path,
            Some(RequestBody::json(&json!({ "docs": asked }))),
        )
        .await?;
    let found = parse_mget_sources(path, &response.body, docs.len())?;
    Ok(docs
        .iter()
        .zip(found)
        .map(|(doc, source)| match source {
            None => Indexed::Missing,
            Some(source) => {
                let theirs = EventFingerprint::of(&source);
                let ours = serde_json::from_slice::<Value>(&doc.body)
                    .map(|body| EventFingerprint::of(&body))
                    .ok();
                if ours.as_ref() == Some(&theirs) {
                    Indexed::Same
                } else {
                    Indexed::Other(theirs)
                }
            }
        })
        .collect())
}

/// Parses an `_mget` answer: each asked document's `_source`, or `None`
/// where it is not found (a missing index answers with a per-document error).
pub fn parse_mget_sources(url: &str, body: &[u8], asked: usize) -> Result<Vec<Option<Value>>, SinkError> {
    let invalid = |reason: String| SinkError::InvalidResponse {
        url: url.to_string(),
        reason,
    };
    let mut answer: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("_mget answer is not JSON: {e}")))?;
    let docs = answer["docs"]
        .as_array_mut()
        .ok_or_else(|| invalid("_mget answer has no docs".into()))?;
    if docs.len() != asked {
        return Err(invalid(format!(
            "_mget answer has {} docs for {asked} asked",
            docs.len()
        )));
    }
    Ok(docs
        .iter_mut()
        .map(|d| (d["found"].as_bool() == Some(true)).then(|| d["_source"].take()))
        .collect())
}

/// Deletes dead letters by `_id` from `index` (refreshing, so the next
/// listing no longer shows them); returns whether each one is gone.
pub async fn delete_dead_letters(
    transport: &Transport,
    index: &str,
    ids: &[String],
) -> Result<Vec<bool>, SinkError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let path = "_bulk?refresh=wait_for";
    let response = transport
        .send(
            Method::POST,
            path,
            Some(RequestBody::ndjson(delete_body(index, ids))),
        )
        .await?;
    if !(200..300).contains(&response.status) {
        return Err(transport.status_error(&Method::POST, path, &response));
    }
    Ok(parse_bulk_response(path, &response.body, ids.len())?
        .iter()
        .map(deleted)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_most_frequent_first_then_by_reason() {
        let groups = group_by_reason(["b", "a", "c", "b", "a", "b"]);
        let pairs: Vec<(&str, u64)> = groups.iter().map(|g| (g.reason.as_str(), g.count)).collect();
        assert_eq!(pairs, [("b", 3), ("a", 2), ("c", 1)]);
        assert!(group_by_reason([]).is_empty());
        let grouped = group_by_reason(["record 3: no eventTime", "record 12: no eventTime", "record x: y"]);
        assert_eq!(
            grouped,
            [
                ReasonCount {
                    reason: "no eventTime".into(),
                    count: 2
                },
                ReasonCount {
                    reason: "record x: y".into(),
                    count: 1
                }
            ]
        );
        assert_eq!(reason_group("record 7:no space"), "record 7:no space");
        assert_eq!(reason_group("record : x"), "record : x");
        assert_eq!(
            reason_group("rejected even degraded: x"),
            "rejected even degraded: x"
        );
        assert_eq!(
            serde_json::to_string(&groups[2]).unwrap(),
            r#"{"reason":"c","count":1}"#
        );
    }

    #[test]
    fn parses_pages_with_source_and_defaults() {
        let body = br#"{"_scroll_id":"s1","hits":{"hits":[
            {"_id":"e1","_source":{"record":"{\"eventID\":\"e1\"}","reason":"r","trailsearch":{"source":{"bucket":"b","key":"k.json.gz"}}}},
            {"_id":"h2","_source":{"record":"\"text\"","reason":"q","trailsearch":{"source":{"key":"./f.json"}}}},
            {"_id":"h3","_source":{}}
        ]}}"#;
        let (scroll, letters) = parse_dead_letter_page("u", body).unwrap();
        assert_eq!(scroll.as_deref(), Some("s1"));
        assert_eq!(letters.len(), 3);
        assert_eq!(letters[0].record, r#"{"eventID":"e1"}"#);
        assert_eq!(letters[0].source, Some(Provenance::s3("b", "k.json.gz")));
        assert_eq!(letters[1].source, Some(Provenance::local("./f.json")));
        assert_eq!(
            (
                letters[2].id.as_str(),
                letters[2].reason.as_str(),
                letters[2].record.as_str()
            ),
            ("h3", "(no reason stored)", "")
        );
        assert_eq!(letters[2].source, None);
        assert!(parse_dead_letter_page("u", b"{}").is_err());
        assert!(parse_dead_letter_page("u", br#"{"hits":{"hits":[{"_source":{}}]}}"#).is_err());
    }

    #[test]
    fn mget_sources_in_order() {
        let answer = br#"{"docs":[{"_id":"e1","found":true,"_source":{"eventName":"A"}},{"_id":"e2","error":{"type":"index_not_found_exception"}},{"_id":"e3","found":false}]}"#;
        assert_eq!(
            parse_mget_sources("u", answer, 3).unwrap(),
            [Some(json!({"eventName": "A"})), None, None]
        );
        assert!(parse_mget_sources("u", answer, 2).is_err());
        assert!(parse_mget_sources("u", b"nope", 1).is_err());
    }

    #[test]
    fn deletes_by_id_and_judges_items() {
        let body = delete_body("ct_deadletter", &["a".into(), "b\"c".into()]);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\"delete\":{\"_id\":\"a\",\"_index\":\"ct_deadletter\"}}\n{\"delete\":{\"_id\":\"b\\\"c\",\"_index\":\"ct_deadletter\"}}\n"
        );
        let answer =
            br#"{"items":[{"delete":{"status":200}},{"delete":{"status":404}},{"delete":{"status":503}}]}"#;
        let gone: Vec<bool> = parse_bulk_response("u", answer, 3)
            .unwrap()
            .iter()
            .map(deleted)
            .collect();
        assert_eq!(gone, [true, true, false]);
    }
}
