//! Digests met while ingesting: each is validated on its own (signature,
//! key, place; the chain and gaps are `verify`'s), and each log object it
//! lists gets a verdict in the integrity index and on its indexed events.
//! Log objects read before their verdict exists are marked pending, and
//! given the verdict when it comes; either order ends the same.

use std::io::Read;

use chrono::Utc;
use trailsearch_cloudtrail::digest::{sha256_of_gzip, ChainId, HashingGzReader, SignedDigest};
use trailsearch_cloudtrail::RecordReader;
use trailsearch_mapping::{Integrity, Provenance, Shaper, Verdict};
use trailsearch_sink::DocumentSink;

use crate::keys::KeyRing;
use crate::report::Report;
use crate::source::ObjectRef;
use crate::store::{ObjectFailure, ObjectStore};

/// Why a listed log object could not be hashed.
pub(crate) enum Unhashed {
    /// Not in the bucket.
    Absent,
    /// Not the gzip CloudTrail writes, or it could not be read.
    Unreadable(String),
}

/// Opens an S3 log object, telling an absent one from other failures.
pub(crate) fn open_listed(store: &ObjectStore, object: &ObjectRef) -> Result<Box<dyn Read + Send>, Unhashed> {
    store
        .open_blocking(object)
        .map_err(|f| match f.message.contains("NoSuchKey") {
            true => Unhashed::Absent,
            false => Unhashed::Unreadable(f.message),
        })
}

/// The SHA-256 of a log object's decompressed bytes.
pub(crate) fn hash_object(store: &ObjectStore, object: &ObjectRef) -> Result<String, Unhashed> {
    sha256_of_gzip(open_listed(store, object)?).map_err(|e| Unhashed::Unreadable(e.to_string()))
}

/// The SHA-256 of a log object's decompressed bytes and where its events
/// are indexed (`(index, _id)`, as ingest shapes them), in one read.
fn hash_and_locate(
    store: &ObjectStore,
    object: &ObjectRef,
    shaper: &Shaper,
) -> Result<(String, Vec<(String, String)>), Unhashed> {
    let unreadable = |e: &dyn std::fmt::Display| Unhashed::Unreadable(e.to_string());
    let mut input = HashingGzReader::new(open_listed(store, object)?);
    let provenance = std::sync::Arc::new(object.provenance());
    let mut located = Vec::new();
    let mut records = RecordReader::new(&mut input);
    while let Some(record) = records.next_record().map_err(|e| unreadable(&e))? {
        if let Ok(shaped) = shaper.shape(&record.bytes, provenance.clone()) {
            located.push((shaped.document.index, shaped.document.id));
        }
    }
    drop(records);
    // The hash covers every byte, whatever follows the records.
    Ok((input.finish().map_err(|e| unreadable(&e))?, located))
}

/// Validates one digest and records a verdict for each log object it
/// lists: in the integrity index, and on the object's indexed events.
pub(crate) async fn ingest_digest<S: DocumentSink>(
    bucket: &str,
    key: &str,
    shaper: &Shaper,
    sink: &S,
    store: &ObjectStore,
    keys: &tokio::sync::Mutex<KeyRing>,
) -> (Report, Option<ObjectFailure>) {
    let mut report = Report {
        objects: 1,
        ..Report::default()
    };
    let failed = |mut report: Report, message: String, permanent: bool| {
        report.failed_objects = 1;
        (report, Some(ObjectFailure { message, permanent }))
    };
    let (bytes, signature) = match store.read_digest(bucket, key).await {
        Ok(read) => read,
        Err(failure) => return failed(report, failure.message, failure.permanent),
    };
    let checked = match SignedDigest::parse(&bytes, signature.as_deref()) {
        Ok(digest) => {
            let region = ChainId::of_key(key)
                .map(|(chain, _)| chain.region)
                .unwrap_or_default();
            let mut keys = keys.lock().await;
            if let Err(e) = keys.prepare_for(&region, &digest.digest, Utc::now()).await {
                // Not the digest's fault: try again with keys.
                return failed(report, e.0, false);
            }
            digest.verify_at(bucket, key, keys.keys()).map(|()| digest)
        }
        Err(problem) => Err(problem),
    };
    let digest = match checked {
        Ok(digest) => digest,
        Err(problem) => {
            report.digests_invalid = 1;
            tracing::error!(digest = %format!("s3://{bucket}/{key}"), %problem, "invalid digest: nothing it lists is vouched for");
            return (report, None);
        }
    };
    report.digests_valid = 1;
    for listed in &digest.digest.log_files {
        let object = ObjectRef::S3 {
            bucket: listed.s3_bucket.clone(),
            key: listed.s3_object.clone(),
        };
        let located = {
            let (store, object, shaper) = (store.clone(), object.clone(), shaper.clone());
            tokio::task::spawn_blocking(move || hash_and_locate(&store, &object, &shaper)).await
        };
        let (sha256, events) = match located {
            Ok(Ok((sha256, events))) => (Some(sha256), events),
            Ok(Err(Unhashed::Absent)) => (None, Vec::new()),
            // Not what CloudTrail wrote: it cannot hash to what it listed.
            Ok(Err(Unhashed::Unreadable(why))) => (Some(format!("unreadable: {why}")), Vec::new()),
            Err(join) => {
                return failed(
                    report,
                    format!("hashing {} stopped: {join}", object.name()),
                    false,
                )
            }
        };
        let verdict = Verdict {
            bucket: listed.s3_bucket.clone(),
            key: listed.s3_object.clone(),
            digest: format!("{bucket}/{key}"),
            listed_sha256: listed.hash_value.clone(),
            sha256,
        };
        if let Err(e) = sink.record_verdict(&verdict).await {
            return failed(
                report,
                format!("recording the verdict of {}: {e}", object.name()),
                false,
            );
        }
        if let Some(integrity) = verdict.integrity() {
            match sink.mark_events(&events, integrity).await {
                Ok(marked) => report.integrity_updates += marked,
                Err(e) => {
                    return failed(
                        report,
                        format!("marking the events of {}: {e}", object.name()),
                        false,
                    )
                }
            }
        }
    }
    (report, None)
}

/// What a log object's events carry when they are indexed: the verdict
/// recorded for it, else pending. `None` for what cannot be verified
/// (local files, provisional copies).
pub(crate) async fn integrity_at_ingest<S: DocumentSink>(
    object: &ObjectRef,
    sink: &S,
) -> Result<Option<Integrity>, ObjectFailure> {
    let ObjectRef::S3 { bucket, key } = object else {
        return Ok(None);
    };
    let verdict = sink.verdict(bucket, key).await.map_err(|e| ObjectFailure {
        message: format!("reading its integrity verdict: {e}"),
        permanent: false,
    })?;
    Ok(Some(
        verdict.and_then(|v| v.integrity()).unwrap_or(Integrity::Pending),
    ))
}

/// Whether an object is a CloudTrail digest.
pub(crate) fn is_digest(object: &ObjectRef) -> Option<(&str, &str)> {
    match object {
        ObjectRef::S3 { bucket, key }
            if trailsearch_cloudtrail::LogKey::parse(key)
                .is_some_and(|k| k.kind == trailsearch_cloudtrail::LogKind::Digest) =>
        {
            Some((bucket, key))
        }
        _ => None,
    }
}

/// The provenance of an object's events, with the integrity they carry.
pub(crate) fn provenance_with(object: &ObjectRef, integrity: Option<Integrity>) -> Provenance {
    Provenance {
        integrity,
        ..object.provenance()
    }
}
