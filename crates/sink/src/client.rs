//! The sink: sends documents, settles every one of them, retries what may
//! succeed later, degrades and dead-letters what the cluster refuses.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use trailsearch_mapping::{
    indices_without, Document, DocumentKind, Integrity, Resolved, SearchQuery, Shaper, Verdict,
    RESOURCE_NAMES_FIELD, USER_NAMES_FIELD,
};

use crate::bulk::{encode_bulk, parse_bulk_response, ItemOutcome, BULK_FILTER_PATH};
use crate::deadletter::{indexed_events, Indexed};
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
    /// Provisional copies replaced by their S3 record; each is also counted
    /// in `indexed` or `degraded`, so it is outside [`total`](Self::total).
    pub superseded: u64,
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
        self.superseded += other.superseded;
    }

    fn count_created(&mut self, kind: DocumentKind) {
        match kind {
            DocumentKind::Degraded => self.degraded += 1,
            DocumentKind::DeadLetter => self.dead_lettered += 1,
            _ => self.indexed += 1,
        }
    }
}

/// What the dead letter of a record too large for one request keeps of it.
pub const OVERSIZED_KEEP: usize = 256 << 10;

/// The most a `_bulk` answer for `items` documents can hold: with
/// `filter_path`, a status and at most an error type and reason per item.
pub fn bulk_answer_limit(items: usize) -> usize {
    (1 << 20) + items.saturating_mul(16 << 10)
}

/// One `_bulk` answer applied to its batch ([`Sink::apply_answer`]).
#[derive(Debug, Default)]
struct Answered {
    /// To send again: retried items as they were, refused ones degraded or
    /// as dead letters.
    next: Vec<Document>,
    /// Of `next`, the items resent as they were (429, 5xx).
    retried: usize,
    /// The last of their errors.
    retry_error: Option<SinkError>,
    /// Dead letters the cluster refused.
    refused_dead_letters: u64,
    /// The first such refusal: the batch fails with it.
    fatal: Option<SinkError>,
    /// Events answered 409: a redelivery, or another event under the same
    /// `_id`; [`Sink::resolve_conflicts`] tells which.
    conflicts: Vec<Document>,
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

    /// The integrity verdict recorded for a log object ([`Sink::verdict`]);
    /// a writer has none.
    fn verdict(
        &self,
        _bucket: &str,
        _key: &str,
    ) -> impl std::future::Future<Output = Result<Option<Verdict>, SinkError>> + Send {
        std::future::ready(Ok(None))
    }

    /// Records a verdict ([`Sink::record_verdict`]).
    fn record_verdict(
        &self,
        _verdict: &Verdict,
    ) -> impl std::future::Future<Output = Result<(), SinkError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Sets `trailsearch.integrity` on indexed events ([`Sink::mark_events`]).
    fn mark_events(
        &self,
        _events: &[(String, String)],
        _integrity: Integrity,
    ) -> impl std::future::Future<Output = Result<u64, SinkError>> + Send {
        std::future::ready(Ok(0))
    }
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

    /// The index names documents are shaped for.
    pub fn naming(&self) -> &trailsearch_mapping::IndexNaming {
        self.shaper.naming()
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
        let resolved = self.resolve(pattern, query).await;
        let mut total = None;
        let mut read = 0usize;
        let mut after: Option<Value> = None;
        while read < query.limit {
            let size = page_size.min(query.limit - read);
            let answer = self
                .search(pattern, &query.page_body(&resolved, size, after.as_ref()))
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

    /// What the search needs to know first so that no shard expands a
    /// wildcard ([`Resolved`]). Both lookups are best effort: a cluster that
    /// refuses one (a user without `view_index_metadata`, say) gets the
    /// wildcards, which find the same events more slowly.
    async fn resolve(&self, pattern: &str, query: &SearchQuery) -> Resolved {
        let event_names = async {
            let body = query.event_name_vocabulary()?;
            match self.search(pattern, &body).await {
                Ok(answer) => query.matching_event_names(&answer),
                Err(error) => {
                    tracing::debug!(%error, "eventName values not listed; the shards expand the patterns");
                    None
                }
            }
        };
        // Which indices lack the name lists `--user` and `--resource` look up.
        let fields: Vec<&str> = [
            (query.user.is_some(), USER_NAMES_FIELD),
            (query.resource.is_some(), RESOURCE_NAMES_FIELD),
        ]
        .into_iter()
        .filter_map(|(wanted, field)| wanted.then_some(field))
        .collect();
        let mappings = async {
            if fields.is_empty() {
                return None;
            }
            let path = format!(
                "{pattern}/_mapping/field/{}?ignore_unavailable=true&allow_no_indices=true",
                fields.join(",")
            );
            match self.transport.send_ok(Method::GET, &path, None).await {
                Ok(response) => serde_json::from_slice::<Value>(&response.body).ok(),
                Err(error) => {
                    tracing::debug!(%error, "index mappings not read; --user and --resource expand their wildcards everywhere");
                    None
                }
            }
        };
        let (event_names, mappings) = tokio::join!(event_names, mappings);
        let without = |field: &str| {
            let answer = mappings.as_ref().filter(|_| fields.contains(&field))?;
            Some(indices_without(answer, field))
        };
        Resolved {
            event_names,
            without_user_names: without(USER_NAMES_FIELD),
            without_resource_names: without(RESOURCE_NAMES_FIELD),
        }
    }

    async fn send_bulk(&self, docs: &[Document]) -> Result<Vec<ItemOutcome>, SinkError> {
        let path = format!("_bulk?filter_path={BULK_FILTER_PATH}");
        let body = RequestBody::ndjson(encode_bulk(docs));
        let response = self
            .transport
            .send_limited(
                Method::POST,
                &path,
                Some(body),
                &[],
                bulk_answer_limit(docs.len()),
            )
            .await?;
        if !(200..300).contains(&response.status) {
            return Err(self.transport.status_error(&Method::POST, &path, &response));
        }
        parse_bulk_response(&path, &response.body, docs.len())
    }
}

impl DocumentSink for Sink {
    async fn settle(&self, docs: Vec<Document>) -> Result<Settled, BatchError> {
        self.settle_batch(docs).await
    }

    async fn verdict(&self, bucket: &str, key: &str) -> Result<Option<Verdict>, SinkError> {
        Sink::verdict(self, bucket, key).await
    }

    async fn record_verdict(&self, verdict: &Verdict) -> Result<(), SinkError> {
        Sink::record_verdict(self, verdict).await
    }

    async fn mark_events(&self, events: &[(String, String)], integrity: Integrity) -> Result<u64, SinkError> {
        Sink::mark_events(self, events, integrity).await
    }
}

type SettleFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Settled, BatchError>> + Send + 'a>>;

impl Sink {
    /// [`DocumentSink::settle`], boxed: it settles the halves of a batch
    /// too large for one request by calling itself.
    fn settle_batch(&self, docs: Vec<Document>) -> SettleFuture<'_> {
        Box::pin(async move {
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
                    // Too large for the cluster's request limit: halves, each
                    // settled on its own, down to the one record too large alone.
                    Err(SinkError::Status { status: 413, .. }) if pending.len() > 1 => {
                        let second = pending.split_off(pending.len() / 2);
                        let first = std::mem::take(&mut pending);
                        let first_len = first.len();
                        match self.settle_batch(first).await {
                            Ok(part) => settled.add(&part),
                            Err(mut error) => {
                                error.settled.add(&settled);
                                error.unsettled += second.len() as u64;
                                return Err(error);
                            }
                        }
                        tracing::debug!(
                            first = first_len,
                            second = second.len(),
                            "bulk request split after HTTP 413"
                        );
                        return match self.settle_batch(second).await {
                            Ok(part) => {
                                settled.add(&part);
                                Ok(settled)
                            }
                            Err(mut error) => {
                                error.settled.add(&settled);
                                Err(error)
                            }
                        };
                    }
                    // One record past the limit: a poison for every redelivery
                    // if it failed its object, so it is set aside with its head.
                    Err(SinkError::Status { status: 413, .. })
                        if pending[0].kind != DocumentKind::DeadLetter =>
                    {
                        let doc = &pending[0];
                        let reason = format!(
                            "the record is {} bytes, more than the cluster takes in one request (HTTP 413; \
                             http.max_content_length): the dead letter keeps its first {OVERSIZED_KEEP} bytes, \
                             and its source holds the whole",
                            doc.original().len()
                        );
                        pending = vec![self
                            .shaper
                            .shape_oversized_dead_letter(doc, OVERSIZED_KEEP, &reason)];
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
                        let mut answered = self.apply_answer(
                            pending,
                            outcomes,
                            &mut settled,
                            &mut degraded_once,
                            &maybe_created,
                        );
                        let conflicts = std::mem::take(&mut answered.conflicts);
                        if !conflicts.is_empty() {
                            self.resolve_conflicts(conflicts, &mut settled, &mut answered)
                                .await;
                        }
                        if let Some(error) = answered.fatal {
                            // Nowhere left to put the refused dead letters; what
                            // was to be sent again is unsettled too.
                            let unsettled = answered.next.len() as u64 + answered.refused_dead_letters;
                            return Err(BatchError {
                                error,
                                settled,
                                unsettled,
                            });
                        }
                        if let Some(error) = answered.retry_error {
                            last_error = Some(error);
                            retry_later = true;
                        }
                        if answered.retried < before {
                            // Progress: the budget and the backoff start again.
                            progress_at = Instant::now();
                            budget_start = progress_at;
                            backoff = self.policy.backoff(seed ^ before as u64);
                        }
                        pending = answered.next;
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
        })
    }
}

impl Sink {
    /// Applies one `_bulk` answer to its batch: every item is counted in
    /// `settled`, comes back in `next` (resent as it was, degraded, or as a
    /// dead letter) or in `conflicts` (events answered 409), except dead
    /// letters the cluster refused, which are counted in
    /// `refused_dead_letters` and make the batch fail.
    fn apply_answer(
        &self,
        pending: Vec<Document>,
        outcomes: Vec<ItemOutcome>,
        settled: &mut Settled,
        degraded_once: &mut HashSet<String>,
        maybe_created: &HashSet<String>,
    ) -> Answered {
        let mut answered = Answered::default();
        for (doc, outcome) in pending.into_iter().zip(outcomes) {
            match outcome {
                ItemOutcome::Created => settled.count_created(doc.kind),
                ItemOutcome::Replaced => {
                    if doc.kind != DocumentKind::DeadLetter {
                        settled.superseded += 1;
                    }
                    settled.count_created(doc.kind)
                }
                // A dead letter this run may have written itself is still a
                // dead letter: never hide one as a duplicate. (An event stays
                // a duplicate: it may have existed before.)
                ItemOutcome::Duplicate
                    if doc.kind == DocumentKind::DeadLetter && maybe_created.contains(&doc.id) =>
                {
                    settled.dead_lettered += 1
                }
                ItemOutcome::Duplicate if doc.kind == DocumentKind::DeadLetter => settled.duplicates += 1,
                ItemOutcome::Duplicate => answered.conflicts.push(doc),
                ItemOutcome::Retry { status, reason } => {
                    answered.retry_error = Some(SinkError::Status {
                        method: "POST".into(),
                        url: "_bulk item".into(),
                        status,
                        body: reason,
                    });
                    answered.retried += 1;
                    answered.next.push(doc);
                }
                ItemOutcome::Rejected { reason, .. } => match doc.kind {
                    DocumentKind::DeadLetter => {
                        answered.refused_dead_letters += 1;
                        answered.fatal.get_or_insert(SinkError::DeadLetterRejected {
                            index: doc.index,
                            reason,
                        });
                    }
                    _ if degraded_once.insert(doc.id.clone()) => answered.next.push(
                        self.shaper
                            .shape_degraded(&doc, &reason)
                            .unwrap_or_else(|e| self.dead_letter(&doc, &e.to_string())),
                    ),
                    _ => answered
                        .next
                        .push(self.dead_letter(&doc, &format!("rejected even degraded: {reason}"))),
                },
            }
        }
        answered
    }

    /// Settles the events answered 409 with one `_mget`: a redelivery of
    /// the same event is a duplicate; another event under the same `_id` is
    /// dead-lettered, naming the one indexed; one the index no longer holds
    /// is resent. Where the lookup fails, all are resent.
    async fn resolve_conflicts(
        &self,
        conflicts: Vec<Document>,
        settled: &mut Settled,
        answered: &mut Answered,
    ) {
        match indexed_events(&self.transport, &conflicts).await {
            Ok(found) => {
                for (doc, indexed) in conflicts.into_iter().zip(found) {
                    match indexed {
                        Indexed::Same => settled.duplicates += 1,
                        Indexed::Other(theirs) => {
                            let reason = format!(
                                "another event is indexed under this eventID in {} ({theirs}): \
                                 this record is not a redelivery of it",
                                doc.index
                            );
                            answered.next.push(self.dead_letter(&doc, &reason));
                        }
                        Indexed::Missing => {
                            answered.retried += 1;
                            answered.next.push(doc);
                        }
                    }
                }
            }
            Err(error) => {
                answered.retried += conflicts.len();
                answered.next.extend(conflicts);
                answered.retry_error = Some(error);
            }
        }
    }

    fn dead_letter(&self, doc: &Document, reason: &str) -> Document {
        self.shaper
            .shape_dead_letter(doc.original().into(), doc.provenance.clone(), reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Auth;
    use crate::transport::TransportConfig;
    use proptest::prelude::*;
    use trailsearch_mapping::{Flavour, Granularity, IndexNaming, Provenance};

    fn sink() -> Sink {
        let transport = Transport::new(TransportConfig {
            url: "http://127.0.0.1:9".into(),
            auth: Auth::None,
            ca_cert: None,
            insecure: false,
            timeout: Duration::from_secs(1),
            gzip_above: 0,
        })
        .unwrap();
        let shaper = Shaper::new(
            IndexNaming::new("ct", Granularity::Day).unwrap(),
            Flavour::OpenSearch,
        );
        Sink::new(transport, shaper, RetryPolicy::default(), Duration::from_secs(1))
    }

    fn doc(sink: &Sink, n: usize, kind: u8) -> Document {
        let record = format!(r#"{{"eventTime":"2024-03-14T10:00:00Z","eventID":"e{n}","eventName":"N"}}"#);
        let provenance = Arc::new(Provenance::local("a.json"));
        let event = sink.shaper.shape(record.as_bytes(), provenance).unwrap().document;
        match kind {
            0 => event,
            1 => sink.shaper.shape_degraded(&event, "refused").unwrap(),
            _ => sink.dead_letter(&event, "refused"),
        }
    }

    fn outcome(code: u8) -> ItemOutcome {
        match code {
            0 => ItemOutcome::Created,
            1 => ItemOutcome::Duplicate,
            2 => ItemOutcome::Retry {
                status: 429,
                reason: "busy".into(),
            },
            _ => ItemOutcome::Rejected {
                status: 400,
                reason: "mapper_parsing_exception".into(),
            },
        }
    }

    proptest! {
        /// Every item of a batch ends in exactly one place, whatever the
        /// cluster answers for each, dead letters included.
        #[test]
        fn every_item_is_counted_once(
            items in proptest::collection::vec((0u8..3, 0u8..4), 0..40),
            degraded_before in proptest::collection::vec(any::<bool>(), 40),
            lost_answer in proptest::collection::vec(any::<bool>(), 40),
        ) {
            let sink = sink();
            let docs: Vec<Document> = items.iter().enumerate().map(|(n, (kind, _))| doc(&sink, n, *kind)).collect();
            let outcomes = items.iter().map(|(_, code)| outcome(*code)).collect();
            let mut degraded_once: HashSet<String> = docs.iter().zip(&degraded_before).filter(|(_, b)| **b).map(|(d, _)| d.id.clone()).collect();
            let maybe_created: HashSet<String> = docs.iter().zip(&lost_answer).filter(|(_, b)| **b).map(|(d, _)| d.id.clone()).collect();
            let mut settled = Settled::default();
            let answered = sink.apply_answer(docs, outcomes, &mut settled, &mut degraded_once, &maybe_created);
            prop_assert_eq!(
                settled.total()
                    + answered.next.len() as u64
                    + answered.conflicts.len() as u64
                    + answered.refused_dead_letters,
                items.len() as u64
            );
            let conflicts = items.iter().filter(|(kind, code)| *kind != 2 && *code == 1).count();
            prop_assert_eq!(answered.conflicts.len(), conflicts);
            let refused = items.iter().filter(|(kind, code)| *kind == 2 && *code == 3).count() as u64;
            prop_assert_eq!(answered.refused_dead_letters, refused);
            prop_assert_eq!(answered.fatal.is_some(), refused > 0);
            let retried = items.iter().filter(|(_, code)| *code == 2).count();
            prop_assert_eq!(answered.retried, retried);
        }
    }

    /// The adversarial case: a refused dead letter in the middle of a batch
    /// used to end the count there, losing the items after it.
    #[test]
    fn a_refused_dead_letter_mid_batch_loses_no_count() {
        let sink = sink();
        let kinds = [0, 0, 2, 0, 0, 0];
        let docs: Vec<Document> = kinds.iter().enumerate().map(|(n, k)| doc(&sink, n, *k)).collect();
        let outcomes = vec![
            ItemOutcome::Created,
            ItemOutcome::Created,
            outcome(3),
            ItemOutcome::Created,
            ItemOutcome::Duplicate,
            outcome(2),
        ];
        let mut settled = Settled::default();
        let answered = sink.apply_answer(docs, outcomes, &mut settled, &mut HashSet::new(), &HashSet::new());
        assert_eq!(settled.indexed, 3);
        assert_eq!(
            answered.conflicts.len(),
            1,
            "the 409 is looked up, not taken for a duplicate"
        );
        assert_eq!(answered.next.len(), 1);
        assert_eq!(answered.refused_dead_letters, 1);
        assert!(matches!(
            answered.fatal,
            Some(SinkError::DeadLetterRejected { .. })
        ));
    }
}
