//! Sources: which objects to read. Local files and directories for now.

use std::path::{Path, PathBuf};

use trailsearch_cloudtrail::{LogKey, LogKind};

use crate::error::IngestError;
use crate::filter::EventFilter;

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObjectRef {
    /// A local file, named by the path as given (joined with the walk).
    Local(PathBuf),
}

impl ObjectRef {
    /// The name used in messages and `trailsearch.source.key`.
    pub fn name(&self) -> String {
        match self {
            ObjectRef::Local(path) => path.display().to_string(),
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
        let object = ObjectRef::Local(path);
        match judge(&object.name(), filter) {
            Verdict::Read => plan.objects.push((object, size)),
            Verdict::Skip => plan.skipped.push(object),
            Verdict::Prune => plan.pruned += 1,
        }
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
