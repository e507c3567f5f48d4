//! Sources: which objects to read. Local files and directories for now.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use trailsearch_cloudtrail::{EventBatch, LogKey, LogKind, StreamSource};
use trailsearch_mapping::{Provenance, StreamOrigin};

use crate::error::IngestError;
use crate::filter::EventFilter;

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectRef {
    /// A local file, named by the path as given (joined with the walk).
    Local(PathBuf),
    /// An S3 object.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key (decoded).
        key: String,
    },
    /// CloudTrail events that arrived as events (an EventBridge event, a
    /// CloudWatch Logs payload, a Kinesis record), read from memory. Their
    /// documents are provisional copies: the S3 record replaces them.
    Events {
        /// Where the payload came from.
        source: StreamSource,
        /// The records' JSON, in payload order.
        records: Arc<[String]>,
    },
}

impl From<EventBatch> for ObjectRef {
    fn from(batch: EventBatch) -> Self {
        ObjectRef::Events {
            source: batch.source,
            records: batch.records.into(),
        }
    }
}

/// `trailsearch.source.*` of a provisional copy.
fn stream_origin(source: &StreamSource) -> StreamOrigin {
    let fields = match source {
        StreamSource::EventBridge { event_id, .. } => vec![("eventbridge_id", event_id.clone())],
        StreamSource::CloudWatchLogs {
            log_group,
            log_stream,
        } => vec![
            ("log_group", log_group.clone()),
            ("log_stream", log_stream.clone()),
        ],
        StreamSource::Kinesis {
            stream,
            sequence_number,
            log,
        } => {
            let mut fields = vec![
                ("stream", stream.clone()),
                ("sequence_number", sequence_number.clone()),
            ];
            if let Some((group, log_stream)) = log {
                fields.push(("log_group", group.clone()));
                fields.push(("log_stream", log_stream.clone()));
            }
            fields
        }
        _ => Vec::new(),
    };
    StreamOrigin {
        kind: source.kind(),
        fields,
    }
}

impl ObjectRef {
    /// The name used in messages: the path, or `s3://bucket/key`.
    pub fn name(&self) -> String {
        match self {
            ObjectRef::Local(path) => path.display().to_string(),
            ObjectRef::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
            ObjectRef::Events { source, .. } => source.to_string(),
        }
    }

    /// The path its events came by: `file`, `s3`, or the stream's
    /// (`eventbridge`, `cloudwatch-logs`, `kinesis`).
    pub fn path_kind(&self) -> &'static str {
        match self {
            ObjectRef::Local(_) => "file",
            ObjectRef::S3 { .. } => "s3",
            ObjectRef::Events { source, .. } => source.kind(),
        }
    }

    /// `trailsearch.source.*` for its documents (a local path lossless:
    /// [`path_text`]).
    pub fn provenance(&self) -> Provenance {
        match self {
            ObjectRef::Local(path) => Provenance::local(path_text(path)),
            ObjectRef::S3 { bucket, key } => Provenance::s3(bucket.clone(), key.clone()),
            ObjectRef::Events { source, .. } => Provenance {
                bucket: None,
                key: source.to_string(),
                stream: Some(stream_origin(source)),
                integrity: None,
            },
        }
    }

    /// The key or path the CloudTrail key grammar is applied to; none for
    /// events, which are read whatever their path is called.
    fn key_text(&self) -> Option<String> {
        match self {
            ObjectRef::Local(path) => Some(path.display().to_string()),
            ObjectRef::S3 { key, .. } => Some(key.clone()),
            ObjectRef::Events { .. } => None,
        }
    }

    /// The object as a `{"Records":[...]}` document, for events held in
    /// memory. A record that is not JSON goes in as a JSON string, so it is
    /// dead-lettered with its text rather than breaking the others.
    pub fn events_body(&self) -> Option<Vec<u8>> {
        let ObjectRef::Events { records, .. } = self else {
            return None;
        };
        let mut body = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
        body.extend_from_slice(b"{\"Records\":[");
        for (i, record) in records.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            match serde_json::from_str::<serde::de::IgnoredAny>(record) {
                Ok(_) => body.extend_from_slice(record.as_bytes()),
                // Serializing a string cannot fail.
                Err(_) => body.extend_from_slice(&serde_json::to_vec(record).unwrap_or_default()),
            }
        }
        body.extend_from_slice(b"]}");
        Some(body)
    }
}

/// Why an object is passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SkipReason {
    /// A CloudTrail digest (integrity) file, not events.
    Digest,
    /// Another service's log under `AWSLogs/` (Config, ELB...).
    OtherService,
    /// A FIFO, socket or device found in a directory: nothing to read.
    NotAFile,
    /// A symbolic link to a directory, found in a directory and not
    /// followed (`--follow-symlinks` follows them).
    DirectoryLink,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::Digest => "CloudTrail digest files",
            SkipReason::OtherService => "other services' logs under AWSLogs/",
            SkipReason::NotAFile => "not regular files (FIFOs, sockets, devices)",
            SkipReason::DirectoryLink => {
                "links to directories, not followed (--follow-symlinks follows them)"
            }
        })
    }
}

/// A path as text, losing nothing: bytes that are not UTF-8 are written
/// `\xNN` and a backslash `\\`, so two paths that differ only in bytes a
/// display would turn into `�` stay two names.
pub fn path_text(path: &Path) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The objects a run will read, and what it passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Objects to read, in order.
    pub objects: Vec<(ObjectRef, u64)>,
    /// Objects passed over, with why.
    pub skipped: Vec<(ObjectRef, SkipReason)>,
    /// Entries that cannot be read at all (a dangling link, a link loop, no
    /// permission), with why: failed objects of the run.
    pub failed: Vec<(ObjectRef, String)>,
    /// Objects whose key date lies outside `--from/--to` (with a day of slack).
    pub pruned: u64,
    /// Whether S3 digests are read (and validated) rather than skipped.
    pub digests: bool,
}

impl Plan {
    /// Adds an object: to read, to skip (digests, other services' logs), or
    /// pruned (its key's date lies outside the filter).
    pub fn add(&mut self, object: ObjectRef, size: u64, filter: &EventFilter) {
        let verdict = match object.key_text() {
            Some(key) => match judge(&key, filter) {
                // Only S3 digests can be verified: a copy elsewhere lost its signature.
                Verdict::Skip(SkipReason::Digest)
                    if self.digests && matches!(object, ObjectRef::S3 { .. }) =>
                {
                    match LogKey::parse(&key).is_some_and(|k| filter.key_may_match(&k)) {
                        true => Verdict::Read,
                        false => Verdict::Prune,
                    }
                }
                verdict => verdict,
            },
            None => Verdict::Read,
        };
        match verdict {
            Verdict::Read => self.objects.push((object, size)),
            Verdict::Skip(reason) => self.skipped.push((object, reason)),
            Verdict::Prune => self.pruned += 1,
        }
    }

    /// How many objects were skipped for each reason.
    pub fn skipped_by_reason(&self) -> std::collections::BTreeMap<SkipReason, u64> {
        let mut counts = std::collections::BTreeMap::new();
        for (_, reason) in &self.skipped {
            *counts.entry(*reason).or_default() += 1;
        }
        counts
    }

    /// Total bytes of the objects to read.
    pub fn bytes(&self) -> u64 {
        self.objects.iter().map(|(_, size)| size).sum()
    }
}

/// Whether an object named like this is read, skipped or pruned.
enum Verdict {
    Read,
    Skip(SkipReason),
    Prune,
}

fn judge(name: &str, filter: &EventFilter) -> Verdict {
    // The folder layout, else the file name's own grammar (a flat copy).
    let file_name = name
        .rsplit(['/', std::path::MAIN_SEPARATOR])
        .next()
        .unwrap_or(name);
    match LogKey::parse(name).or_else(|| LogKey::parse_file_name(file_name)) {
        Some(key) if key.kind == LogKind::Digest => Verdict::Skip(SkipReason::Digest),
        Some(key) if !filter.key_may_match(&key) => Verdict::Prune,
        Some(_) => Verdict::Read,
        // An AWSLogs path of another service (Config, ELB...) is not ours;
        // any other file is taken as a CloudTrail log object.
        None if is_other_aws_log(name) => Verdict::Skip(SkipReason::OtherService),
        None => Verdict::Read,
    }
}

fn is_other_aws_log(name: &str) -> bool {
    let parts: Vec<&str> = name.split(['/', std::path::MAIN_SEPARATOR]).collect();
    parts.contains(&"AWSLogs")
        && !parts.iter().any(|p| {
            p.get(..10)
                .is_some_and(|head| head.eq_ignore_ascii_case("cloudtrail"))
        })
}

/// Walks files and directories (recursively, sorted) into a plan. A path
/// given is followed wherever it points; inside a directory, links to files
/// are followed, links to directories only with `follow_links` (and never
/// into a directory already on the way down: a loop). An entry that cannot
/// be read is a failed object of the plan, never the end of the walk.
pub fn plan_local(paths: &[PathBuf], filter: &EventFilter, follow_links: bool) -> Result<Plan, IngestError> {
    let mut walk = Walk {
        plan: Plan::default(),
        filter,
        follow_links,
        ancestors: Vec::new(),
    };
    for path in paths {
        // A path the user named that does not exist is a usage error.
        let meta = std::fs::metadata(path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        walk.visit(path, meta);
    }
    Ok(walk.plan)
}

struct Walk<'a> {
    plan: Plan,
    filter: &'a EventFilter,
    follow_links: bool,
    /// (device, inode) of the directories from the top down to here.
    ancestors: Vec<Option<(u64, u64)>>,
}

impl Walk<'_> {
    fn fail(&mut self, path: &Path, why: String) {
        self.plan.failed.push((ObjectRef::Local(path.to_path_buf()), why));
    }

    /// `meta` is the followed metadata of `path`.
    fn visit(&mut self, path: &Path, meta: std::fs::Metadata) {
        if meta.is_file() {
            self.plan
                .add(ObjectRef::Local(path.to_path_buf()), meta.len(), self.filter);
            return;
        }
        if !meta.is_dir() {
            self.plan
                .skipped
                .push((ObjectRef::Local(path.to_path_buf()), SkipReason::NotAFile));
            return;
        }
        let id = dir_id(&meta);
        if id.is_some() && self.ancestors.contains(&id) {
            self.fail(
                path,
                "a symbolic link loop: this directory is already on the way down".into(),
            );
            return;
        }
        let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => return self.fail(path, format!("cannot read the directory: {e}")),
        };
        entries.sort();
        self.ancestors.push(id);
        for entry in entries {
            let name = entry
                .file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default();
            // Hidden files are editors' and tools' own, never log objects.
            if name.starts_with(b".") {
                continue;
            }
            let link = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.file_type().is_symlink());
            match std::fs::metadata(&entry) {
                Err(e) if link => self.fail(&entry, format!("a symbolic link to nothing readable: {e}")),
                Err(e) => self.fail(&entry, format!("cannot read it: {e}")),
                Ok(meta) if link && meta.is_dir() && !self.follow_links => self
                    .plan
                    .skipped
                    .push((ObjectRef::Local(entry.clone()), SkipReason::DirectoryLink)),
                Ok(meta) => self.visit(&entry, meta),
            }
        }
        self.ancestors.pop();
    }
}

/// A directory's identity, to see a link loop coming.
#[cfg(unix)]
fn dir_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_id(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailsearch_mapping::{STREAM_FIELDS, STREAM_KINDS};

    /// The cloudtrail crate names the paths and the ingest crate their
    /// fields; the mapping crate reads them back (dead-letter replay,
    /// `search --provisional`): the names must be its own.
    #[test]
    fn provisional_copies_use_the_mappings_kinds_and_fields() {
        let sources = [
            StreamSource::EventBridge {
                event_id: "e".into(),
                detail_type: "AWS API Call via CloudTrail".into(),
            },
            StreamSource::CloudWatchLogs {
                log_group: "g".into(),
                log_stream: "s".into(),
            },
            StreamSource::Kinesis {
                stream: "k".into(),
                sequence_number: "1".into(),
                log: Some(("g".into(), "s".into())),
            },
        ];
        for source in sources {
            let object = ObjectRef::Events {
                source,
                records: Arc::from(Vec::new()),
            };
            let provenance = object.provenance();
            let origin = provenance.stream.as_ref().unwrap();
            assert!(STREAM_KINDS.contains(&origin.kind), "{}", origin.kind);
            for (name, _) in &origin.fields {
                assert!(STREAM_FIELDS.contains(name), "{name}");
            }
            assert_eq!(object.path_kind(), origin.kind);
        }
    }
}
