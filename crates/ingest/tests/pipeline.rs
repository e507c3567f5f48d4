//! The pipeline with sinks that accept, refuse part-way, or write a dry run:
//! every event read ends in exactly one counter.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use trailsearch_ingest::{
    plan_local, run, DryRun, EventFilter, IngestConfig, NoProgress, ObjectStore, Report,
};
use trailsearch_mapping::{Document, Flavour, Granularity, IndexNaming, Shaper};
use trailsearch_sink::{BatchError, BatchLimits, DocumentSink, Settled, SinkError};

fn shaper() -> Shaper {
    Shaper::new(
        IndexNaming::new("ct", Granularity::Day).unwrap(),
        Flavour::OpenSearch,
    )
}

fn config(max_docs: usize) -> IngestConfig {
    IngestConfig {
        concurrency: 2,
        limits: BatchLimits {
            max_bytes: 1 << 20,
            max_docs,
        },
        filter: EventFilter::default(),
        start_deadline: None,
        keys: None,
    }
}

/// Writes a gzip log object with `n` records, one of them without eventTime.
fn object(dir: &std::path::Path, name: &str, n: usize) -> PathBuf {
    let records: Vec<String> = (0..n)
        .map(|i| {
            if i == 3 {
                format!(r#"{{"eventID":"{name}-{i}"}}"#)
            } else {
                format!(
                    r#"{{"eventTime":"2024-03-14T10:00:{:02}Z","eventID":"{name}-{i}"}}"#,
                    i % 60
                )
            }
        })
        .collect();
    let path = dir.join(name);
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    write!(gz, r#"{{"Records":[{}]}}"#, records.join(",")).unwrap();
    gz.finish().unwrap();
    path
}

/// Accepts `ok_batches` batches, then fails every later one whole.
struct FailingAfter {
    ok_batches: usize,
    seen: AtomicUsize,
}

impl DocumentSink for FailingAfter {
    async fn settle(&self, docs: Vec<Document>) -> Result<Settled, BatchError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) < self.ok_batches {
            return Ok(Settled {
                indexed: docs.len() as u64,
                ..Settled::default()
            });
        }
        Err(BatchError {
            error: SinkError::Config("cluster refused".into()),
            settled: Settled::default(),
            unsettled: docs.len() as u64,
        })
    }
}

#[tokio::test]
async fn every_event_lands_in_one_counter_when_an_object_fails_part_way() {
    let dir = tempfile::tempdir().unwrap();
    object(dir.path(), "a.json.gz", 250);
    let plan = plan_local(&[dir.path().to_path_buf()], &EventFilter::default(), false).unwrap();
    let sink = FailingAfter {
        ok_batches: 2,
        seen: AtomicUsize::new(0),
    };
    let mut config = config(50);
    config.concurrency = 1;
    let report = run(
        plan,
        &shaper(),
        &sink,
        &ObjectStore::local(),
        &config,
        &NoProgress,
    )
    .await
    .report;
    assert!(report.is_balanced(), "{report}");
    assert_eq!(
        (report.objects, report.failed_objects, report.indexed),
        (1, 1, 100),
        "{report}"
    );
    assert_eq!(report.events, report.indexed + report.failed_events, "{report}");
    assert!(!report.is_success());
}

#[tokio::test]
async fn dry_run_counts_dead_letters_and_writes_two_lines_per_record() {
    let dir = tempfile::tempdir().unwrap();
    object(dir.path(), "a.json.gz", 120);
    object(dir.path(), "b.json.gz", 7);
    let plan = plan_local(&[dir.path().to_path_buf()], &EventFilter::default(), false).unwrap();
    let out = DryRun::new(Vec::new());
    let report = run(
        plan,
        &shaper(),
        &out,
        &ObjectStore::local(),
        &config(10),
        &NoProgress,
    )
    .await
    .report;
    assert_eq!(
        report,
        Report {
            objects: 2,
            events: 127,
            indexed: 125,
            dead_lettered: 2,
            ..Report::default()
        }
    );
    let text = String::from_utf8(out.into_inner()).unwrap();
    assert_eq!(text.lines().count(), 2 * 127);
    assert_eq!(text.matches(r#""_index":"ct_deadletter""#).count(), 2);
}
