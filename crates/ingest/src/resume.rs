//! `--resume`: the objects earlier runs finished, in a local state file.
//!
//! One JSON line per object finished without failure
//! (`{"object":"s3://b/k","etag":"…","size":123}`), appended as each one
//! finishes. Objects that failed are not recorded, so a resumed run reads
//! them again. An object whose events the run's filters (`--from/--to`,
//! `--account`, `--region`, `--include/--exclude`) left out in part is
//! recorded with those filters (`"filter":"…"`): it counts as done only for
//! a run under the same filters, and any other run reads it again. A line
//! cut off by a crash is ignored.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::IngestError;
use crate::pipeline::{Progress, ProgressEvent};
use crate::source::{path_text, ObjectRef, Plan};

/// One state line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Line {
    /// `s3://bucket/key`, or a local file's absolute path.
    object: String,
    etag: Option<String>,
    size: Option<u64>,
    /// The run's filters, when they left some of the object's events out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
}

/// What a line says about its object.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Completion {
    size: Option<u64>,
    etag: Option<String>,
    filter: Option<String>,
}

/// A state file: what it recorded when opened, and the file to append to.
#[derive(Debug)]
pub struct ResumeState {
    path: PathBuf,
    /// Each recorded completion, by object.
    completed: HashMap<String, Vec<Completion>>,
    ignored_lines: usize,
    /// This run's filters ([`EventFilter::resume_key`](crate::EventFilter::resume_key)).
    filter: String,
    file: Mutex<File>,
    write_error: Mutex<Option<String>>,
}

impl ResumeState {
    /// `$XDG_STATE_HOME/trailsearch/resume/<hash>.jsonl` (else
    /// `~/.local/state/…`), one file per cluster URL (credentials left out)
    /// and index prefix. `None` when neither variable names an absolute directory.
    pub fn default_path(es_url: &str, index_prefix: &str) -> Option<PathBuf> {
        default_path_in(
            std::env::var_os("XDG_STATE_HOME"),
            std::env::var_os("HOME"),
            es_url,
            index_prefix,
        )
    }

    /// Reads the state file, creating it (and its directories) if missing,
    /// and keeps it open for appending, for a run without filters.
    pub fn open(path: impl Into<PathBuf>) -> Result<ResumeState, IngestError> {
        Self::open_filtered(path, String::new())
    }

    /// [`open`](Self::open) for a run under `filter`
    /// ([`EventFilter::resume_key`](crate::EventFilter::resume_key)): an
    /// object recorded under other filters that left events out is not
    /// done for this run.
    pub fn open_filtered(path: impl Into<PathBuf>, filter: String) -> Result<ResumeState, IngestError> {
        let path = path.into();
        let io = |source| IngestError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io)?;
        let mut completed: HashMap<String, Vec<_>> = HashMap::new();
        let mut ignored_lines = 0;
        let mut torn = false;
        let mut reader = BufReader::new(&file);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if reader.read_until(b'\n', &mut buf).map_err(io)? == 0 {
                break;
            }
            let Some(text) = buf.strip_suffix(b"\n") else {
                // Cut off mid-write: the object is read again.
                torn = true;
                break;
            };
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Line>(text) {
                Ok(line) => completed.entry(line.object).or_default().push(Completion {
                    size: line.size,
                    etag: line.etag,
                    filter: line.filter,
                }),
                Err(_) => ignored_lines += 1,
            }
        }
        drop(reader);
        if torn {
            // End the torn line, so that the next one starts on its own.
            file.write_all(b"\n").map_err(io)?;
        }
        if ignored_lines > 0 {
            tracing::warn!(path = %path.display(), ignored_lines, "unreadable lines in the resume state were ignored");
        }
        Ok(ResumeState {
            path,
            completed,
            ignored_lines,
            filter,
            file: Mutex::new(file),
            write_error: Mutex::new(None),
        })
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Objects recorded as completed when the file was opened.
    pub fn completed_objects(&self) -> usize {
        self.completed.len()
    }

    /// Lines that could not be read (other than a torn last line).
    pub fn ignored_lines(&self) -> usize {
        self.ignored_lines
    }

    /// The name an object is recorded under: `s3://bucket/key`, or a local
    /// file's absolute path (so that runs from other directories agree),
    /// losslessly ([`path_text`]: names that differ only in bytes that are
    /// not UTF-8 stay apart).
    pub fn object_id(object: &ObjectRef) -> String {
        match object {
            ObjectRef::Local(path) => path_text(
                &std::fs::canonicalize(path)
                    .or_else(|_| std::env::current_dir().map(|dir| dir.join(path)))
                    .unwrap_or_else(|_| path.clone()),
            ),
            _ => object.name(),
        }
    }

    /// Whether an earlier run completed this object for this run: the same
    /// name, the same size and ETag where both sides know them, and every
    /// event settled (or left out by the same filters as this run's).
    pub fn is_completed(&self, object_id: &str, size: Option<u64>, etag: Option<&str>) -> bool {
        let same = |a: Option<u64>, b: Option<u64>| a.is_none() || b.is_none() || a == b;
        self.completed.get(object_id).is_some_and(|done| {
            done.iter().any(|c| {
                same(c.size, size)
                    && (c.etag.is_none() || etag.is_none() || c.etag.as_deref() == etag)
                    && c.filter.as_ref().is_none_or(|f| *f == self.filter)
            })
        })
    }

    /// Drops the objects completed before from the plan; returns how many.
    /// `etags` are the listing's ([`S3Listing::etags`](crate::S3Listing)).
    pub fn skip_completed(&self, plan: &mut Plan, etags: &HashMap<ObjectRef, String>) -> u64 {
        let before = plan.objects.len();
        plan.objects.retain(|(object, size)| {
            !self.is_completed(
                &Self::object_id(object),
                Some(*size),
                etags.get(object).map(String::as_str),
            )
        });
        (before - plan.objects.len()) as u64
    }

    /// Appends one completed object; the line is written whole, at once.
    /// `filtered`: this run's filters left some of its events out.
    pub fn record(
        &self,
        object_id: &str,
        size: Option<u64>,
        etag: Option<&str>,
        filtered: bool,
    ) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(&Line {
            object: object_id.to_string(),
            etag: etag.map(str::to_string),
            size,
            filter: filtered.then(|| self.filter.clone()),
        })?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&line)?;
        file.flush()
    }

    /// Progress that also records each object of `plan` that finishes
    /// without failure, then passes every event on to `inner`.
    pub fn recorder<'a>(
        &'a self,
        plan: &Plan,
        etags: &HashMap<ObjectRef, String>,
        inner: &'a dyn Progress,
    ) -> ResumeRecorder<'a> {
        let ids = plan
            .objects
            .iter()
            .map(|(object, _)| {
                (
                    object.name(),
                    (Self::object_id(object), etags.get(object).cloned()),
                )
            })
            .collect();
        ResumeRecorder {
            state: self,
            ids,
            inner,
        }
    }

    /// The first failure to append to the state file, if any: those objects
    /// will be read again by a resumed run.
    pub fn write_error(&self) -> Option<String> {
        self.write_error
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// [`Progress`] that records completed objects in a [`ResumeState`].
pub struct ResumeRecorder<'a> {
    state: &'a ResumeState,
    /// Object name (as progress names it) -> (state name, ETag).
    ids: HashMap<String, (String, Option<String>)>,
    inner: &'a dyn Progress,
}

impl Progress for ResumeRecorder<'_> {
    fn on_event(&self, event: &ProgressEvent) {
        if let ProgressEvent::ObjectDone {
            object,
            bytes,
            report,
            error: None,
            ..
        } = event
        {
            let (id, etag) = match self.ids.get(object) {
                Some((id, etag)) => (id.as_str(), etag.as_deref()),
                None => (object.as_str(), None),
            };
            if let Err(e) = self.state.record(id, Some(*bytes), etag, report.filtered > 0) {
                let mut first = self
                    .state
                    .write_error
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if first.is_none() {
                    *first = Some(format!("{}: {e}", self.state.path.display()));
                }
            }
        }
        self.inner.on_event(event);
    }
}

fn default_path_in(
    state_home: Option<OsString>,
    home: Option<OsString>,
    es_url: &str,
    index_prefix: &str,
) -> Option<PathBuf> {
    let absolute = |dir: Option<OsString>| dir.map(PathBuf::from).filter(|d| d.is_absolute());
    let dir = absolute(state_home).or_else(|| absolute(home).map(|home| home.join(".local/state")))?;
    let url = trailsearch_sink::redact_url(es_url);
    let hash = fnv1a64(format!("{url}\n{index_prefix}").as_bytes());
    Some(dir.join("trailsearch/resume").join(format!("{hash:016x}.jsonl")))
}

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `std`'s hasher.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::NoProgress;
    use crate::Report;

    fn s3(key: &str) -> ObjectRef {
        ObjectRef::S3 {
            bucket: "b".into(),
            key: key.into(),
        }
    }

    fn done(object: &ObjectRef, bytes: u64, error: Option<&str>) -> ProgressEvent {
        ProgressEvent::ObjectDone {
            object: object.name(),
            bytes,
            report: Report::default(),
            error: error.map(str::to_string),
            newest_event: None,
        }
    }

    #[test]
    fn an_object_filtered_in_part_is_done_only_under_the_same_filters() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resume.jsonl");
        let day14 = ResumeState::open_filtered(&path, "from=14".into()).unwrap();
        day14.record("s3://b/whole", Some(1), None, false).unwrap();
        day14.record("s3://b/part", Some(1), None, true).unwrap();
        drop(day14);
        let again = ResumeState::open_filtered(&path, "from=14".into()).unwrap();
        assert!(again.is_completed("s3://b/whole", Some(1), None));
        assert!(again.is_completed("s3://b/part", Some(1), None));
        let day15 = ResumeState::open_filtered(&path, "from=15".into()).unwrap();
        assert!(day15.is_completed("s3://b/whole", Some(1), None));
        assert!(
            !day15.is_completed("s3://b/part", Some(1), None),
            "other filters read it again"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(r#""object":"s3://b/part","etag":null,"size":1,"filter":"from=14""#),
            "{text}"
        );
        assert!(!text.lines().next().unwrap().contains("filter"), "{text}");
    }

    #[test]
    fn names_that_differ_only_in_bytes_that_are_not_utf8_stay_apart() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join(std::ffi::OsStr::from_bytes(b"log\xff.json"));
        let b = dir.path().join(std::ffi::OsStr::from_bytes(b"log\xfe.json"));
        std::fs::write(&a, "{}").unwrap();
        std::fs::write(&b, "{}").unwrap();
        let (id_a, id_b) = (
            ResumeState::object_id(&ObjectRef::Local(a.clone())),
            ResumeState::object_id(&ObjectRef::Local(b)),
        );
        assert!(id_a.ends_with("log\\xff.json"), "{id_a}");
        assert_ne!(id_a, id_b);
        let path = dir.path().join("state.jsonl");
        ResumeState::open(&path)
            .unwrap()
            .record(&id_a, Some(2), None, false)
            .unwrap();
        let state = ResumeState::open(&path).unwrap();
        assert!(state.is_completed(&id_a, Some(2), None));
        assert!(
            !state.is_completed(&id_b, Some(2), None),
            "the other file is not done"
        );
        // Its documents name it losslessly too.
        assert!(ObjectRef::Local(a).provenance().key.ends_with("log\\xff.json"));
        assert_eq!(
            path_text(std::path::Path::new("plain/ascii.json")),
            "plain/ascii.json"
        );
        assert_eq!(path_text(std::path::Path::new("back\\slash")), "back\\\\slash");
    }

    #[test]
    fn completed_objects_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/resume.jsonl");
        let state = ResumeState::open(&path).unwrap();
        assert_eq!(state.completed_objects(), 0);
        state.record("s3://b/a", Some(10), Some("e1"), false).unwrap();
        state
            .record("/logs/local.json.gz", Some(20), None, false)
            .unwrap();
        drop(state);

        let state = ResumeState::open(&path).unwrap();
        assert_eq!(state.completed_objects(), 2);
        assert!(state.is_completed("s3://b/a", Some(10), Some("e1")));
        assert!(
            state.is_completed("s3://b/a", None, None),
            "unknown size and ETag"
        );
        assert!(
            !state.is_completed("s3://b/a", Some(11), Some("e1")),
            "another size"
        );
        assert!(
            !state.is_completed("s3://b/a", Some(10), Some("e2")),
            "another ETag"
        );
        assert!(state.is_completed("/logs/local.json.gz", Some(20), None));
        assert!(!state.is_completed("s3://b/other", Some(10), None));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"object\":\"s3://b/a\",\"etag\":\"e1\",\"size\":10}\n\
             {\"object\":\"/logs/local.json.gz\",\"etag\":null,\"size\":20}\n"
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_ended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resume.jsonl");
        std::fs::write(
            &path,
            "{\"object\":\"s3://b/a\",\"etag\":null,\"size\":1}\nnot json\n\n{\"object\":\"s3://b/torn\",\"et",
        )
        .unwrap();
        let state = ResumeState::open(&path).unwrap();
        assert!(state.is_completed("s3://b/a", Some(1), None));
        assert!(!state.is_completed("s3://b/torn", None, None));
        assert_eq!(state.ignored_lines(), 1, "the line that is not JSON");
        state.record("s3://b/next", Some(2), None, false).unwrap();
        drop(state);

        let state = ResumeState::open(&path).unwrap();
        assert!(
            state.is_completed("s3://b/next", Some(2), None),
            "appended on its own line"
        );
        assert!(!state.is_completed("s3://b/torn", None, None));
        assert_eq!(state.completed_objects(), 2);
    }

    #[test]
    fn the_plan_loses_completed_objects_and_the_recorder_keeps_successes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resume.jsonl");
        let state = ResumeState::open(&path).unwrap();
        let local = dir.path().join("local.json");
        std::fs::write(&local, "{}").unwrap();
        let plan = Plan {
            objects: vec![
                (s3("ok"), 10),
                (s3("failed"), 20),
                (ObjectRef::Local(local.clone()), 2),
            ],
            ..Plan::default()
        };
        let etags = HashMap::from([(s3("ok"), "etag-ok".to_string())]);
        let recorder = state.recorder(&plan, &etags, &NoProgress);
        recorder.on_event(&done(&s3("ok"), 10, None));
        recorder.on_event(&done(&s3("failed"), 20, Some("boom")));
        recorder.on_event(&done(&ObjectRef::Local(local.clone()), 2, None));
        assert_eq!(state.write_error(), None);
        drop(state);

        let state = ResumeState::open(&path).unwrap();
        let mut again = plan.clone();
        assert_eq!(state.skip_completed(&mut again, &etags), 2);
        assert_eq!(again.objects, vec![(s3("failed"), 20)]);
        // The local file is recorded by its absolute path.
        let canonical = std::fs::canonicalize(&local).unwrap();
        assert!(state.is_completed(&canonical.display().to_string(), Some(2), None));

        // A replaced object (another ETag) is read again.
        let mut replaced = plan.clone();
        let other = HashMap::from([(s3("ok"), "etag-new".to_string())]);
        assert_eq!(state.skip_completed(&mut replaced, &other), 1);
    }

    #[test]
    fn the_default_path_is_per_cluster_and_index_prefix() {
        let path = |state: Option<&str>, home: Option<&str>, url: &str, prefix: &str| {
            default_path_in(state.map(Into::into), home.map(Into::into), url, prefix)
        };
        let p = path(
            Some("/state"),
            Some("/home/u"),
            "http://localhost:9200",
            "cloudtrail",
        )
        .unwrap();
        assert!(p.starts_with("/state/trailsearch/resume"), "{}", p.display());
        assert_eq!(p.extension().unwrap(), "jsonl");
        let from_home = path(None, Some("/home/u"), "http://localhost:9200", "cloudtrail").unwrap();
        assert!(from_home.starts_with("/home/u/.local/state/trailsearch/resume"));
        assert_eq!(from_home.file_name(), p.file_name());
        // A relative XDG_STATE_HOME is ignored, as the spec says.
        assert_eq!(
            path(
                Some("rel"),
                Some("/home/u"),
                "http://localhost:9200",
                "cloudtrail"
            ),
            Some(from_home.clone())
        );
        assert_eq!(path(None, None, "http://localhost:9200", "cloudtrail"), None);
        // Credentials in the URL do not change it; the host and prefix do.
        assert_eq!(
            path(
                None,
                Some("/home/u"),
                "http://u:secret@localhost:9200/",
                "cloudtrail"
            ),
            Some(from_home.clone())
        );
        assert_ne!(
            path(None, Some("/home/u"), "http://other:9200", "cloudtrail"),
            Some(from_home.clone())
        );
        assert_ne!(
            path(None, Some("/home/u"), "http://localhost:9200", "ct"),
            Some(from_home)
        );
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
