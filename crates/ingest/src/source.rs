//! Sources: which objects to read. Local files and directories for now.

use std::path::{Path, PathBuf};

use trailsearch_cloudtrail::{LogKey, LogKind};
use trailsearch_mapping::Provenance;

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
}

impl ObjectRef {
    /// The name used in messages: the path, or `s3://bucket/key`.
    pub fn name(&self) -> String {
        match self {
            ObjectRef::Local(path) => path.display().to_string(),
            ObjectRef::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }

    /// `trailsearch.source.*` for its documents.
    pub fn provenance(&self) -> Provenance {
        match self {
            ObjectRef::Local(path) => Provenance::local(path.display().to_string()),
            ObjectRef::S3 { bucket, key } => Provenance {
                bucket: Some(bucket.clone()),
                key: key.clone(),
            },
        }
    }

    /// The key or path the CloudTrail key grammar is applied to.
    fn key_text(&self) -> String {
        match self {
            ObjectRef::Local(path) => path.display().to_string(),
            ObjectRef::S3 { key, .. } => key.clone(),
        }
    }
}

/// The objects a run will read, and what it passed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Objects to read, in order.
    pub objects: Vec<(ObjectRef, u64)>,
    /// Digests and keys that are not CloudTrail logs.
    pub skipped: Vec<ObjectRef>,
    /// Objects whose key date lies outside `--from/--to` (with a day of slack).
    pub pruned: u64,
}

impl Plan {
    /// Adds an object: to read, to skip (digests, other services' logs), or
    /// pruned (its key's date lies outside the filter).
    pub fn add(&mut self, object: ObjectRef, size: u64, filter: &EventFilter) {
        match judge(&object.key_text(), filter) {
            Verdict::Read => self.objects.push((object, size)),
            Verdict::Skip => self.skipped.push(object),
            Verdict::Prune => self.pruned += 1,
        }
    }

    /// Total bytes of the objects to read.
    pub fn bytes(&self) -> u64 {
        self.objects.iter().map(|(_, size)| size).sum()
    }
}

/// Whether an object named like this is read, skipped or pruned.
enum Verdict {
    Read,
    Skip,
    Prune,
}

fn judge(name: &str, filter: &EventFilter) -> Verdict {
    match LogKey::parse(name) {
        Some(key) if key.kind == LogKind::Digest => Verdict::Skip,
        Some(key) if !filter.key_may_match(&key) => Verdict::Prune,
        Some(_) => Verdict::Read,
        // An AWSLogs path of another service (Config, ELB...) is not ours;
        // any other file is taken as a CloudTrail log object.
        None if is_other_aws_log(name) => Verdict::Skip,
        None => Verdict::Read,
    }
}

fn is_other_aws_log(name: &str) -> bool {
    let parts: Vec<&str> = name.split(['/', std::path::MAIN_SEPARATOR]).collect();
    parts.contains(&"AWSLogs") && !parts.iter().any(|p| p.starts_with("CloudTrail"))
}

/// Walks files and directories (recursively, sorted) into a plan.
pub fn plan_local(paths: &[PathBuf], filter: &EventFilter) -> Result<Plan, IngestError> {
    let mut files = Vec::new();
    for path in paths {
        collect(path, &mut files)?;
    }
    let mut plan = Plan::default();
    for (path, size) in files {
        plan.add(ObjectRef::Local(path), size, filter);
    }
    Ok(plan)
}

fn collect(path: &Path, out: &mut Vec<(PathBuf, u64)>) -> Result<(), IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_file() {
        out.push((path.to_path_buf(), meta.len()));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Hidden files are editors' and tools' own, never log objects.
        if name.starts_with('.') {
            continue;
        }
        collect(&entry, out)?;
    }
    Ok(())
}
