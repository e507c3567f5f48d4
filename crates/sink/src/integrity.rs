//! Integrity verdicts in the cluster: one per log object in
//! `<prefix>_integrity`, and `trailsearch.integrity` set on the events of
//! an object by bulk `update` by `_id` (no update-by-query: it needs the
//! reindex module, OpenSearch Serverless refuses it, and it would rewrite
//! every event of the index to find a few hundred).

use reqwest::Method;
use serde_json::{json, Value};
use trailsearch_mapping::{Integrity, Verdict};

use crate::client::Sink;
use crate::error::SinkError;
use crate::transport::RequestBody;

/// Events asked for at once.
const MGET_CHUNK: usize = 1000;

impl Sink {
    /// The verdict recorded for a log object, if any (a realtime `GET`).
    pub async fn verdict(&self, bucket: &str, key: &str) -> Result<Option<Verdict>, SinkError> {
        let path = format!(
            "{}/_doc/{}",
            self.naming().integrity_index(),
            Verdict::id_of(bucket, key)
        );
        let response = self.transport().send(Method::GET, &path, None).await?;
        match response.status {
            200 => {
                let answer: Value = parse(&path, &response.body)?;
                Ok(Verdict::from_json(&answer["_source"]))
            }
            404 => Ok(None),
            _ => Err(self.transport().status_error(&Method::GET, &path, &response)),
        }
    }

    /// Records a verdict under its object's `_id` (a later digest's
    /// verdict of the same object replaces it).
    pub async fn record_verdict(&self, verdict: &Verdict) -> Result<(), SinkError> {
        let path = format!(
            "{}/_doc/{}",
            self.naming().integrity_index(),
            Verdict::id_of(&verdict.bucket, &verdict.key)
        );
        self.transport()
            .send_ok(Method::PUT, &path, Some(RequestBody::json(&verdict.to_json())))
            .await
            .map(|_| ())
    }

    /// Sets `trailsearch.integrity` on the events `(index, _id)` of one log
    /// object: reads them (`_mget`, only the fields needed), then updates
    /// those read from S3 whose value differs, each only if unchanged since
    /// it was read (`if_seq_no`). A provisional copy is never touched: an
    /// update would raise its version, and its S3 record could no longer
    /// replace it. Events not indexed yet are left to their ingest, which
    /// reads the verdict. Returns how many were updated.
    pub async fn mark_events(
        &self,
        events: &[(String, String)],
        integrity: Integrity,
    ) -> Result<u64, SinkError> {
        let mut updated = 0;
        for chunk in events.chunks(MGET_CHUNK) {
            let docs: Vec<Value> = chunk
                .iter()
                .map(|(index, id)| json!({"_index": index, "_id": id}))
                .collect();
            let path = "_mget?_source_includes=trailsearch.source.kind,trailsearch.integrity";
            let answer = self
                .transport()
                .send_ok(
                    Method::POST,
                    path,
                    Some(RequestBody::json(&json!({ "docs": docs }))),
                )
                .await?;
            let answer = parse(path, &answer.body)?;
            let mut body = Vec::new();
            let mut count = 0;
            for doc in answer["docs"].as_array().into_iter().flatten() {
                let source = &doc["_source"]["trailsearch"];
                let from_s3 = source["source"]["kind"] == "s3";
                let current = source["integrity"].as_str();
                let (Some(seq_no), Some(term)) = (doc["_seq_no"].as_u64(), doc["_primary_term"].as_u64())
                else {
                    continue;
                };
                if doc["found"] != true || !from_s3 || current == Some(integrity.as_str()) {
                    continue;
                }
                let action = json!({"update": {"_index": doc["_index"], "_id": doc["_id"],
                    "if_seq_no": seq_no, "if_primary_term": term}});
                let change = json!({"doc": {"trailsearch": {"integrity": integrity.as_str()}}});
                for line in [action, change] {
                    body.extend_from_slice(line.to_string().as_bytes());
                    body.push(b'\n');
                }
                count += 1;
            }
            if count == 0 {
                continue;
            }
            let answer = self
                .transport()
                .send_ok(Method::POST, "_bulk", Some(RequestBody::ndjson(body)))
                .await?;
            let answer = parse("_bulk", &answer.body)?;
            for item in answer["items"].as_array().into_iter().flatten() {
                match item["update"]["status"].as_u64() {
                    Some(200..=299) => updated += 1,
                    // Changed since read (its S3 copy replaced it, or another
                    // run marked it): whoever changed it read the verdict too.
                    Some(409) | Some(404) => {}
                    _ => {
                        return Err(SinkError::InvalidResponse {
                            url: "_bulk".into(),
                            reason: format!("updating trailsearch.integrity failed: {}", item["update"]),
                        })
                    }
                }
            }
        }
        Ok(updated)
    }
}

fn parse(path: &str, body: &[u8]) -> Result<Value, SinkError> {
    serde_json::from_slice(body).map_err(|e| SinkError::InvalidResponse {
        url: path.to_string(),
        reason: format!("not JSON: {e}"),
    })
}
