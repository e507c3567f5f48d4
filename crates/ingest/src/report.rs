//! What happened to every object and every event.

use serde::Serialize;
use trailsearch_sink::Settled;

/// The counts of a run; `--report json` prints exactly these keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Log objects read (or attempted).
    pub objects: u64,
    /// Objects not read: digests, non-CloudTrail keys.
    pub skipped_objects: u64,
    /// Objects that could not be read or settled whole.
    pub failed_objects: u64,
    /// Records read.
    pub events: u64,
    /// Records outside `--from/--to` or the filters.
    pub filtered: u64,
    /// Events indexed whole.
    pub indexed: u64,
    /// Provisional copies (from EventBridge, CloudWatch Logs, Kinesis)
    /// replaced by their S3 record; also counted in `indexed` or
    /// `degraded`, so outside the sum.
    pub superseded: u64,
    /// Events already indexed.
    pub duplicates: u64,
    /// Events indexed degraded.
    pub degraded: u64,
    /// Records stored in the dead-letter index.
    pub dead_lettered: u64,
    /// Records read but not settled because their object failed.
    pub failed_events: u64,
    /// Digests (from S3) whose signature verifies: their log objects'
    /// verdicts are recorded. Objects, not events: outside the sum.
    pub digests_valid: u64,
    /// Digests that do not verify (bad signature, unknown key, moved,
    /// unreadable): nothing they list is vouched for.
    pub digests_invalid: u64,
    /// Events indexed before their object's verdict that were given it
    /// afterwards (`trailsearch.integrity`, by bulk update).
    pub integrity_updates: u64,
}

impl Report {
    /// Adds another report's counts.
    pub fn add(&mut self, other: &Report) {
        self.objects += other.objects;
        self.skipped_objects += other.skipped_objects;
        self.failed_objects += other.failed_objects;
        self.events += other.events;
        self.filtered += other.filtered;
        self.indexed += other.indexed;
        self.superseded += other.superseded;
        self.duplicates += other.duplicates;
        self.degraded += other.degraded;
        self.dead_lettered += other.dead_lettered;
        self.failed_events += other.failed_events;
        self.digests_valid += other.digests_valid;
        self.digests_invalid += other.digests_invalid;
        self.integrity_updates += other.integrity_updates;
    }

    /// Adds what a sink settled.
    pub fn add_settled(&mut self, settled: &Settled) {
        self.indexed += settled.indexed;
        self.superseded += settled.superseded;
        self.duplicates += settled.duplicates;
        self.degraded += settled.degraded;
        self.dead_lettered += settled.dead_lettered;
    }

    /// Every event read is in exactly one counter.
    pub fn is_balanced(&self) -> bool {
        self.events
            == self.filtered
                + self.indexed
                + self.duplicates
                + self.degraded
                + self.dead_lettered
                + self.failed_events
    }

    /// Whether the run lost or set aside anything: exit status 1 if so.
    pub fn is_success(&self) -> bool {
        self.failed_objects == 0
            && self.dead_lettered == 0
            && self.failed_events == 0
            && self.digests_invalid == 0
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "objects={} skipped_objects={} failed_objects={} events={} filtered={} indexed={} superseded={} \
             duplicates={} degraded={} dead_lettered={} failed_events={} digests_valid={} digests_invalid={} \
             integrity_updates={}",
            self.objects,
            self.skipped_objects,
            self.failed_objects,
            self.events,
            self.filtered,
            self.indexed,
            self.superseded,
            self.duplicates,
            self.degraded,
            self.dead_lettered,
            self.failed_events,
            self.digests_valid,
            self.digests_invalid,
            self.integrity_updates
        )
    }
}
