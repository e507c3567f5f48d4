//! `--dry-run`: the bulk bodies that would be sent, written instead.

use std::io::Write;
use std::sync::Mutex;

use trailsearch_mapping::{Document, DocumentKind};
use trailsearch_sink::{encode_bulk, BatchError, DocumentSink, Settled, SinkError};

/// Writes each batch's NDJSON bulk body (uncompressed) and counts documents
/// as if the cluster had accepted them all.
pub struct DryRun<W: Write + Send> {
    out: Mutex<W>,
}

impl<W: Write + Send> DryRun<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        DryRun { out: Mutex::new(out) }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<W: Write + Send> DocumentSink for DryRun<W> {
    async fn settle(&self, docs: Vec<Document>) -> Result<Settled, BatchError> {
        let body = encode_bulk(&docs);
        let mut settled = Settled::default();
        let written = {
            let mut out = self.out.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            out.write_all(&body)
        };
        if let Err(e) = written {
            return Err(BatchError {
                error: SinkError::Config(format!("cannot write the dry-run output: {e}")),
                settled,
                unsettled: docs.len() as u64,
            });
        }
        for doc in &docs {
            match doc.kind {
                DocumentKind::Degraded => settled.degraded += 1,
                DocumentKind::DeadLetter => settled.dead_lettered += 1,
                _ => settled.indexed += 1,
            }
        }
        Ok(settled)
    }
}
