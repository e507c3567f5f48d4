//! The sink: sends documents, settles every one of them, retries what may
//! succeed later, degrades and dead-letters what the cluster refuses.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use trailsearch_mapping::{Document, DocumentKind, SearchQuery, Shaper};

use crate::bulk::{encode_bulk, parse_bulk_response, ItemOutcome, BULK_FILTER_PATH};
use crate::error::SinkError;
use crate::flavour::ClusterInfo;
use crate::retry::RetryPolicy;
use crate::transport::{RequestBody, Transport};

/// How many documents of a batch ended in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Indexed whole.
    pub indexed: u64,
    /// Already indexed (409).
    pub duplicates: u64,
    /// Indexed degraded.
    pub degraded: u64,
    /// Stored in the dead-letter index.
    pub dead_lettered: u64,
}

impl Settled {
    /// Documents settled.
    pub fn total(&self) -> u64 {
        self.indexed + self.duplicates + self.degraded + self.dead_lettered
    }

    /// Adds another count.
    pub fn add(&mut self, other: &Settled) {
        self.indexed += other.indexed;
        self.duplicates += other.duplicates;
        self.degraded += other.degraded;
        self.dead_lettered += other.dead_lettered;
    }

    fn count_created(&mut self, kind: DocumentKind) {
        match kind {
            DocumentKind::Degraded => self.degraded += 1,
            DocumentKind::DeadLetter => self.dead_lettered += 1,
            _ => self.indexed += 1,
        }
    }
}

/// A batch that could not be settled whole.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct BatchError {
    /// Why.
    #[source]
    pub error: SinkError,
    /// What was settled before it stopped.
    pub settled: Settled,
    /// Documents left unsettled.
    pub unsettled: u64,
}

/// Where documents go: the cluster, or (for `--dry-run`) a writer.
pub trait DocumentSink: Send + Sync {
    /// Settles every document, or says how many it could not.
    fn settle(
        &self,
        docs: Vec<Document>,
    ) -> impl std::future::Future<Output = Result<Settled, BatchError>> + Send;
}

/// The bulk client of one cluster.
#[derive(Debug, Clone)]
pub struct Sink {
    transport: Transport,
    shaper: Shaper,
    policy: RetryPolicy,
    max_retry_time: Duration,
    /// Since when whole requests have been failing, shared by every batch
    /// (and clone): a cluster that stays down ends the run after one
    /// `max_retry_time`, not one per batch.
    failing_since: Arc<Mutex<Option<Instant>>>,
}

impl Sink {
    /// A sink that shapes degraded and dead-letter documents with `shaper`.
    pub fn new(transport: Transport, shaper: Shaper, policy: RetryPolicy, max_retry_time: Duration) -> Self {
        Sink {
            transport,
            shaper,
            policy,
            max_retry_time,
            failing_since: Arc::new(Mutex::new(None)),
        }
    }

    fn note_failure(&self) -> Instant {
        let mut since = self.failing_since.lock().unwrap_or_else(|p| p.into_inner());
        *since.get_or_insert_with(Instant::now)
    }

    /// A batch gave up after a budget that ran from `start`: later batches
    /// count from there too, so they make one probe, however the clock fell.
    fn note_given_up(&self, start: Instant) {
        let mut since = self.failing_since.lock().unwrap_or_else(|p| p.into_inner());
        *since = Some(since.map_or(start, |s| s.min(start)));
    }

    fn note_success(&self) {
        *self.failing_since.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `GET /`: which cluster this is (the node info API where `/` is not
    /// served).
    pub async fn cluster_info(transport: &Transport) -> Result<ClusterInfo, SinkError> {
        let url = transport.base_url().as_str();
        let response = transport.send(Method::GET, "/", None).await?;
        match response.status {
            200..=299 => ClusterInfo::parse(url, &response.body),
            404 | 405 => {
                let nodes = transport
                    .send_ok(Method::GET, ClusterInfo::NODES_PATH, None)
                    .await?;
                ClusterInfo::parse_nodes(url, &nodes.body)
            }
            _ => Err(transport.status_error(&Method::GET, "/", &response)),
        }
    }

    /// Makes what was written to `pattern` searchable now rather than
    /// within the cluster's refresh interval; missing indices are no error.
    pub async fn refresh(&self, pattern: &str) -> Result<(), SinkError> {
        let path = format!("{pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true");
        self.transport
            .send_ok(Method::POST, &path, None)
            .await
            .map(|_| ())
    }

    /// Runs a search over `pattern`; missing indices are no error.
    pub async fn search(&self, pattern: &str, body: &Value) -> Result<Value, SinkError> {
        let path = format!("{pattern}/_search?ignore_unavailable=true&allow_no_indices=true");
        let response = self
            .transport
            .send_ok(Method::POST, &path, Some(RequestBody::json(body)))
            .await?;
        serde_json::from_slice(&response.body).map_err(|e| SinkError::InvalidResponse {
            url: path,
            reason: format!("search answer is not JSON: {e}"),
        })
    }

    /// Reads up to `query.limit` hits page by page (`search_after` on the
    /// query's sort), handing each `_source` to `on_hit` in order; returns
    /// the total number of matching events.
    pub async fn search_pages(
        &self,
        pattern: &str,
        query: &SearchQuery,
        page_size: usize,
        mut on_hit: impl FnMut(&Value),
    ) -> Result<u64, SinkError> {
        let page_size = page_size.max(1);
        let mut total = None;
        let mut read = 0usize;
        let mut after: Option<Value> = None;
        while read < query.limit {
            let size = page_size.min(query.limit - read);
            let answer = self
                .search(pattern, &query.page_body(size, after.as_ref()))
                .await?;
            total.get_or_insert_with(|| answer["hits"]["total"]["value"].as_u64().unwrap_or(0));
            let hits = answer["hits"]["hits"].as_array().cloned().unwrap_or_default();
            for hit in &hits {
                on_hit(&hit["_source"]);
            }
            read += hits.len();
            match hits.last() {
                Some(last) if hits.len() == size => after = Some(last["sort"].clone()),
                _ => break,
            }
        }
        Ok(total.unwrap_or(0))
    }

    async fn send_bulk(&self, docs: &[Document]) -> Result<Vec<ItemOutcome>, SinkError> {
        let path = format!("_bulk?filter_path={BULK_FILTER_PATH}");
        let body = RequestBody::ndjson(encode_bulk(docs));
        let response = self.transport.send(Method::POST, &path, Some(body)).await?;
        if !(200..300).contains(&response.status) {
            return Err(self.transport.status_error(&Method::POST, &path, &response));
        }
        parse_bulk_response(&path, &response.body, docs.len())
    }
}

impl DocumentSink for Sink {
    async fn settle(&self, docs: Vec<Document>) -> Result<Settled, BatchError> {
        // The retry budget runs from the last progress (or from when the
        // cluster started failing, if earlier), not from the first try: a
        // batch that keeps settling items is never given up on.
        let mut progress_at = Instant::now();
        let mut settled = Settled::default();
        // Jitter differs between batches so that retries do not move in step.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut backoff = self.policy.backoff(seed);
        let mut pending = docs;
        let mut last_error: Option<SinkError> = None;
        // Each document gets one degraded try; refused again, it is dead-lettered.
        let mut degraded_once: HashSet<String> = HashSet::new();
        // Sent in a request whose answer was lost: the cluster may have
        // created them, so a later 409 may be this run's own write.
        let mut maybe_created: HashSet<String> = HashSet::new();
        while !pending.is_empty() {
            let mut retry_later = false;
            let mut budget_start = progress_at;
            match self.send_bulk(&pending).await {
                Err(error) if error.is_retryable() => {
                    tracing::warn!(error = %error, documents = pending.len(), "bulk request failed; retrying");
                    budget_start = budget_start.min(self.note_failure());
                    if matches!(
                        error,
                        SinkError::Transport { .. } | SinkError::Status { status: 500.., .. }
                    ) {
                        maybe_created.extend(pending.iter().map(|d| d.id.clone()));
                    }
                    last_error = Some(error);
                    retry_later = true;
                }
                Err(error) => {
                    return Err(BatchError {
                        error,
                        settled,
                        unsettled: pending.len() as u64,
                    });
                }
                Ok(outcomes) => {
                    self.note_success();
                    let before = pending.len();
                    let mut next = Vec::new();
                    let mut retried = 0;
                    for (doc, outcome) in pending.into_iter().zip(outcomes) {
                        match outcome {
                            ItemOutcome::Created => settled.count_created(doc.kind),
                            // A dead letter this run may have written itself is
                            // still a dead letter: never hide one as a duplicate.
                            // (An event stays a duplicate: it may have existed before.)
                            ItemOutcome::Duplicate
                                if doc.kind == DocumentKind::DeadLetter
                                    && maybe_created.contains(&doc.id) =>
                            {
                                settled.dead_lettered += 1
                            }
                            ItemOutcome::Duplicate => settled.duplicates += 1,
                            ItemOutcome::Retry { status, reason } => {
                                last_error = Some(SinkError::Status {
                                    method: "POST".into(),
                                    url: "_bulk item".into(),
                                    status,
                                    body: reason,
                                });
                                retry_later = true;
                                retried += 1;
                                next.push(doc);
                            }
                            ItemOutcome::Rejected { reason, .. } => match doc.kind {
                                DocumentKind::DeadLetter => {
                                    let error = SinkError::DeadLetterRejected {
                                        index: doc.index,
                                        reason,
                                    };
                                    let unsettled = next.len() as u64 + 1;
                                    return Err(BatchError {
                                        error,
                                        settled,
                                        unsettled,
                                    });
                                }
                                _ if degraded_once.insert(doc.id.clone()) => next.push(
                                    self.shaper
                                        .shape_degraded(&doc, &reason)
                                        .unwrap_or_else(|e| self.dead_letter(&doc, &e.to_string())),
                                ),
                                _ => next.push(
                                    self.dead_letter(&doc, &format!("rejected even degraded: {reason}")),
                                ),
                            },
                        }
                    }
                    if retried < before {
                        // Progress: the budget and the backoff start again.
                        progress_at = Instant::now();
                        budget_start = progress_at;
                        backoff = self.policy.backoff(seed ^ before as u64);
                    }
                    pending = next;
                }
            }
            if retry_later && !pending.is_empty() {
                let remaining = self.max_retry_time.saturating_sub(budget_start.elapsed());
                match backoff.next_delay(remaining) {
                    Some(delay) => tokio::time::sleep(delay).await,
                    None => {
                        self.note_given_up(budget_start);
                        let last = last_error
                            .take()
                            .unwrap_or_else(|| SinkError::Config("retry budget spent".into()));
                        let error = SinkError::RetriesExhausted {
                            attempts: backoff.attempts() + 1,
                            elapsed: budget_start.elapsed(),
                            last: Box::new(last),
                        };
                        return Err(BatchError {
                            error,
                            settled,
                            unsettled: pending.len() as u64,
                        });
                    }
                }
            }
        }
        Ok(settled)
    }
}

impl Sink {
    fn dead_letter(&self, doc: &Document, reason: &str) -> Document {
        self.shaper
            .shape_dead_letter(doc.original().into(), doc.provenance.clone(), reason)
    }
}
