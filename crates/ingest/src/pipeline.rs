//! The pipeline: object -> records -> documents -> batches -> sink -> report.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use futures::stream::{self, StreamExt};
use tokio::sync::mpsc;
use trailsearch_cloudtrail::{ReadError, Record, RecordReader};
use trailsearch_mapping::{Document, DocumentKind, Integrity, Provenance, Shaper};
use trailsearch_sink::{encoded_len, BatchLimits, DocumentSink};

use crate::filter::EventFilter;
use crate::integrity::{ingest_digest, integrity_at_ingest, is_digest, provenance_with};
use crate::keys::KeyRing;
use crate::report::Report;
use crate::source::{ObjectRef, Plan};
use crate::store::{ObjectFailure, ObjectStore};

/// How a run reads and sends.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Objects read at once.
    pub concurrency: usize,
    /// Bulk batch bounds.
    pub limits: BatchLimits,
    /// Which events to keep.
    pub filter: EventFilter,
    /// Objects not started by then fail as "try again later" instead of
    /// being cut off mid-bulk (the Lambda's deadline less a safety margin).
    pub start_deadline: Option<Instant>,
    /// CloudTrail's public keys, when S3 digests are validated (else the
    /// plan skips them).
    pub keys: Option<Arc<tokio::sync::Mutex<KeyRing>>>,
}

/// What a run did: the counts, and each object that failed.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// The counts.
    pub report: Report,
    /// Failed objects, in completion order.
    pub failed: Vec<(ObjectRef, ObjectFailure)>,
}

/// What a run tells its caller as it goes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The plan: objects and bytes to read.
    Planned {
        /// Objects to read.
        objects: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// An object was finished.
    ObjectDone {
        /// The object's name.
        object: String,
        /// Its bytes.
        bytes: u64,
        /// Its counts.
        report: Report,
        /// Why it failed, if it did: names the object, the record and the cause.
        error: Option<String>,
        /// The newest `eventTime` read, for ingest lag.
        newest_event: Option<DateTime<Utc>>,
    },
}

/// Receives progress; the CLI draws a bar, the Lambda logs.
pub trait Progress: Send + Sync {
    /// Called from the pipeline's task; keep it cheap.
    fn on_event(&self, event: &ProgressEvent);
}

/// Ignores progress.
#[derive(Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn on_event(&self, _: &ProgressEvent) {}
}

/// Records cross from the reader to the sender in chunks this long: one
/// wake-up per chunk rather than per record.
const CHUNK: usize = 256;

/// One record, as the reader hands it to the sending side.
enum Item {
    Send(Document),
    Filtered,
}

/// Runs a plan through the sink: every event read ends in one report counter.
pub async fn run<S: DocumentSink>(
    plan: Plan,
    shaper: &Shaper,
    sink: &S,
    store: &ObjectStore,
    config: &IngestConfig,
    progress: &dyn Progress,
) -> RunOutcome {
    let mut outcome = RunOutcome::default();
    let report = &mut outcome.report;
    report.skipped_objects = plan.skipped.len() as u64;
    progress.on_event(&ProgressEvent::Planned {
        objects: plan.objects.len() as u64,
        bytes: plan.bytes(),
    });
    // Entries the plan could not open at all: failed objects with no events.
    for (object, why) in plan.failed {
        let object_report = Report {
            objects: 1,
            failed_objects: 1,
            ..Report::default()
        };
        report.add(&object_report);
        progress.on_event(&ProgressEvent::ObjectDone {
            object: object.name(),
            bytes: 0,
            report: object_report,
            error: Some(format!("{}: {why}", object.name())),
            newest_event: None,
        });
    }
    let mut done = stream::iter(plan.objects)
        .map(|(object, bytes)| async move {
            let (object_report, failure, newest_event) = match config.start_deadline {
                Some(deadline) if Instant::now() >= deadline => not_started(),
                _ => match (is_digest(&object), &config.keys) {
                    (Some((bucket, key)), Some(keys)) => {
                        let (report, failure) = ingest_digest(bucket, key, shaper, sink, store, keys).await;
                        (report, failure, None)
                    }
                    _ => ingest_object(&object, shaper, sink, store, config).await,
                },
            };
            (object, bytes, object_report, failure, newest_event)
        })
        .buffer_unordered(config.concurrency.max(1));
    while let Some((object, bytes, object_report, failure, newest_event)) = done.next().await {
        report.add(&object_report);
        progress.on_event(&ProgressEvent::ObjectDone {
            object: object.name(),
            bytes,
            report: object_report,
            error: failure
                .as_ref()
                .map(|f| format!("{}: {}", object.name(), f.message)),
            newest_event,
        });
        if let Some(failure) = failure {
            outcome.failed.push((object, failure));
        }
    }
    outcome
}

fn not_started() -> (Report, Option<ObjectFailure>, Option<DateTime<Utc>>) {
    let report = Report {
        objects: 1,
        failed_objects: 1,
        ..Report::default()
    };
    let failure = ObjectFailure {
        message: "not started: too little time was left before the deadline".into(),
        permanent: false,
    };
    (report, Some(failure), None)
}

/// Reads one object on a blocking thread (decompress, parse, shape) while
/// this task batches and sends: reading and sending overlap.
async fn ingest_object<S: DocumentSink>(
    object: &ObjectRef,
    shaper: &Shaper,
    sink: &S,
    store: &ObjectStore,
    config: &IngestConfig,
) -> (Report, Option<ObjectFailure>, Option<DateTime<Utc>>) {
    let mut report = Report {
        objects: 1,
        ..Report::default()
    };
    let integrity = match integrity_at_ingest(object, sink).await {
        Ok(integrity) => integrity,
        Err(failure) => {
            report.failed_objects = 1;
            return (report, Some(failure), None);
        }
    };
    // Where this object's events went, to give them a verdict that comes
    // while they are being written.
    let mut written: Vec<(String, String)> = Vec::new();
    // One batch being sent and at most one batch's worth of documents queued
    // behind it: reading overlaps sending, and memory stays bounded whatever
    // the object's size.
    let (tx, mut rx) = mpsc::channel::<Vec<Item>>(config.limits.max_docs.clamp(1, 10_000).div_ceil(CHUNK));
    let cancelled = Arc::new(AtomicBool::new(false));
    let reader = {
        let (object, shaper, filter, store, cancelled) = (
            object.clone(),
            shaper.clone(),
            config.filter.clone(),
            store.clone(),
            cancelled.clone(),
        );
        tokio::task::spawn_blocking(move || {
            read_object(&object, integrity, &shaper, &filter, &store, &tx, &cancelled)
        })
    };

    let mut batch: Vec<Document> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut error: Option<ObjectFailure> = None;
    while let Some(chunk) = rx.recv().await {
        for item in chunk {
            report.events += 1;
            if error.is_some() {
                // The object has failed: what is still queued is read but unsettled.
                report.failed_events += 1;
                continue;
            }
            let Item::Send(doc) = item else {
                report.filtered += 1;
                continue;
            };
            if integrity == Some(Integrity::Pending) && doc.kind != DocumentKind::DeadLetter {
                written.push((doc.index.clone(), doc.id.clone()));
            }
            let size = encoded_len(&doc);
            let full_by_bytes = !batch.is_empty() && batch_bytes + size > config.limits.max_bytes;
            if full_by_bytes {
                error = flush(sink, &mut batch, &mut report).await.err();
                batch_bytes = 0;
            }
            if error.is_some() {
                report.failed_events += 1;
            } else {
                batch_bytes += size;
                batch.push(doc);
                if batch.len() >= config.limits.max_docs {
                    error = flush(sink, &mut batch, &mut report).await.err();
                    batch_bytes = 0;
                }
            }
            if error.is_some() {
                // Stop the reader; it notices before its next record.
                cancelled.store(true, Ordering::Relaxed);
            }
        }
    }
    if error.is_none() {
        error = flush(sink, &mut batch, &mut report).await.err();
    }
    let (newest_event, read_result) = match reader.await {
        Ok(done) => done,
        Err(join) => (
            None,
            Err(ObjectFailure {
                message: format!("the reader stopped: {join}"),
                permanent: false,
            }),
        ),
    };
    if let (None, Err(read_error)) = (&error, read_result) {
        error = Some(read_error);
    }
    if error.is_none() && integrity == Some(Integrity::Pending) {
        error = late_verdict(object, &written, sink, &mut report).await.err();
    }
    if error.is_some() {
        report.failed_objects = 1;
    }
    (report, error, newest_event)
}

/// Gives an object's events the verdict a digest recorded while they were
/// being written pending (the digest's own marking missed those not yet
/// indexed).
async fn late_verdict<S: DocumentSink>(
    object: &ObjectRef,
    written: &[(String, String)],
    sink: &S,
    report: &mut Report,
) -> Result<(), ObjectFailure> {
    let transient = |message: String| ObjectFailure {
        message,
        permanent: false,
    };
    let ObjectRef::S3 { bucket, key } = object else {
        return Ok(());
    };
    let verdict = sink
        .verdict(bucket, key)
        .await
        .map_err(|e| transient(format!("reading its integrity verdict: {e}")))?;
    if let Some(integrity) = verdict.and_then(|v| v.integrity()) {
        report.integrity_updates += sink
            .mark_events(written, integrity)
            .await
            .map_err(|e| transient(format!("giving its events their integrity verdict: {e}")))?;
    }
    Ok(())
}

/// Sends a batch; unsettled documents count as failed events. Cluster
/// trouble is never the object's fault: it may succeed later.
async fn flush<S: DocumentSink>(
    sink: &S,
    batch: &mut Vec<Document>,
    report: &mut Report,
) -> Result<(), ObjectFailure> {
    if batch.is_empty() {
        return Ok(());
    }
    match sink.settle(std::mem::take(batch)).await {
        Ok(settled) => {
            report.add_settled(&settled);
            Ok(())
        }
        Err(failure) => {
            report.add_settled(&failure.settled);
            report.failed_events += failure.unsettled;
            Err(ObjectFailure {
                message: failure.error.to_string(),
                permanent: false,
            })
        }
    }
}

fn read_object(
    object: &ObjectRef,
    integrity: Option<Integrity>,
    shaper: &Shaper,
    filter: &EventFilter,
    store: &ObjectStore,
    tx: &mpsc::Sender<Vec<Item>>,
    cancelled: &AtomicBool,
) -> (Option<DateTime<Utc>>, Result<(), ObjectFailure>) {
    let input = match store.open_blocking(object) {
        Ok(input) => input,
        Err(failure) => return (None, Err(failure)),
    };
    let provenance = Arc::new(provenance_with(object, integrity));
    let mut newest = None;
    let result = read_records(input, shaper, filter, &provenance, tx, cancelled, &mut newest);
    (newest, result.map_err(|e| describe_read_error(&e)))
}

/// Reads an object in two stages on two threads: one decompresses and
/// scans records out of the stream, the other (this one) shapes them, so a
/// single object uses two cores. Records cross in chunks; the channel's
/// bound keeps memory flat.
fn read_records<R: Read + Send>(
    input: R,
    shaper: &Shaper,
    filter: &EventFilter,
    provenance: &Arc<Provenance>,
    tx: &mpsc::Sender<Vec<Item>>,
    cancelled: &AtomicBool,
    newest: &mut Option<DateTime<Utc>>,
) -> Result<(), ReadError> {
    let (records_tx, records_rx) = std::sync::mpsc::sync_channel::<Vec<Record>>(4);
    std::thread::scope(|scope| {
        let scanner = scope.spawn(move || scan_records(input, &records_tx));
        'chunks: for records in records_rx.iter() {
            let mut items = Vec::with_capacity(records.len());
            for record in records {
                if cancelled.load(Ordering::Relaxed) {
                    break 'chunks;
                }
                items.push(shape_record(record, shaper, filter, provenance, newest));
            }
            if tx.blocking_send(items).is_err() {
                break;
            }
        }
        // Dropping the receiver (on leaving early) stops the scanner at its next chunk.
        drop(records_rx);
        // A panic there is a bug: let it reach the task's join, as one here would.
        scanner
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// The first stage: records out of the (maybe compressed) stream, in
/// chunks. The chunk read so far goes out whatever happens next, an error
/// included, so the records before a corruption point are shaped.
fn scan_records<R: Read>(input: R, out: &std::sync::mpsc::SyncSender<Vec<Record>>) -> Result<(), ReadError> {
    let mut reader = RecordReader::new(input);
    let mut chunk = Vec::with_capacity(CHUNK);
    let result = loop {
        match reader.next_record() {
            Ok(Some(record)) => chunk.push(record),
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        }
        if chunk.len() == CHUNK
            && out
                .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                .is_err()
        {
            // The shaping stage has stopped: nothing more is wanted.
            return Ok(());
        }
    };
    if !chunk.is_empty() {
        // A closed channel means the shaping stage is gone: nothing to tell.
        let _ = out.send(chunk);
    }
    result
}

fn shape_record(
    record: Record,
    shaper: &Shaper,
    filter: &EventFilter,
    provenance: &Arc<Provenance>,
    newest: &mut Option<DateTime<Utc>>,
) -> Item {
    match shaper.shape(&record.bytes, provenance.clone()) {
        Ok(shaped) if filter.matches(&shaped.facts) && passes_patterns(filter, &record.bytes) => {
            *newest = (*newest).max(Some(shaped.facts.time));
            Item::Send(shaped.document)
        }
        Ok(_) => Item::Filtered,
        Err(unplaceable) => Item::Send(shaper.shape_dead_letter(
            record.bytes.into(),
            provenance.clone(),
            &format!("record {}: {unplaceable}", record.index),
        )),
    }
}

/// `--include` / `--exclude`: parsed only when patterns are given.
fn passes_patterns(filter: &EventFilter, original: &[u8]) -> bool {
    if !filter.has_field_patterns() {
        return true;
    }
    serde_json::from_slice::<serde_json::Value>(original).is_ok_and(|record| filter.matches_record(&record))
}

fn describe_read_error(error: &ReadError) -> ObjectFailure {
    // Corrupt or truncated data stays so; a dropped connection may not.
    let permanent = match error {
        ReadError::Io { source, .. } => matches!(
            source.kind(),
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::InvalidInput
        ),
        _ => true,
    };
    // Before the first record nothing was ingested, and the object is
    // likely not a log at all; after it, what came before is in.
    let hint = match error.record_index() {
        None | Some(0) => "; is this a CloudTrail log object? digests and other logs are skipped by key",
        Some(_) => "; records before this point were ingested; re-ingest the object once it is complete",
    };
    ObjectFailure {
        message: format!("{error}{hint}"),
        permanent,
    }
}
