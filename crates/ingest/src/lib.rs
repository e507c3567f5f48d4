/*!
The one pipeline both binaries call.

A [`Plan`] lists the objects to read ([`plan_local`] walks files and
directories, [`ObjectStore::plan_s3_prefix`] lists an S3 prefix; digests and other services' logs are skipped, keys outside
`--from/--to` pruned). [`run`] reads each object on a blocking thread
(`trailsearch-cloudtrail` streams its records, `trailsearch-mapping` shapes
them into documents), filters events ([`EventFilter`]), batches documents by
bytes and count and hands them to a
[`DocumentSink`](trailsearch_sink::DocumentSink) — the cluster, or the
[`DryRun`] writer. It returns a [`Report`] in which every event read sits in
exactly one counter, and reports progress through [`Progress`].

It knows nothing of terminals or Lambda.

```
use trailsearch_ingest::Report;
let report = Report { events: 3, indexed: 2, dead_lettered: 1, ..Report::default() };
assert!(report.is_balanced());
assert!(!report.is_success());
```
*/
#![deny(missing_docs)]

mod dry_run;
mod enrich;
mod error;
mod filter;
mod integrity;
mod keys;
mod pipeline;
mod report;
mod resume;
mod settings;
mod source;
mod store;
mod verify;

pub use crate::{
    dry_run::DryRun,
    enrich::{beside, load_locator, ASN_DB_NAME, CITY_DB_NAME},
    error::IngestError,
    filter::{EventFilter, FieldPattern},
    keys::{KeyError, KeyRing},
    pipeline::{run, IngestConfig, NoProgress, Progress, ProgressEvent, RunOutcome},
    report::Report,
    resume::{ResumeRecorder, ResumeState},
    settings::{
        parse_bytes, parse_duration, parse_flavour, parse_granularity, retention_cutoff, Cluster, Settings,
        SettingsError,
    },
    source::{path_text, plan_local, ObjectRef, Plan, SkipReason},
    store::{parse_s3_url, ListingStats, ObjectFailure, ObjectStore, S3Listing},
    verify::{verify_prefix, ChainCounts, Counts, Problem, VerifyProgress, VerifyReport, PENDING},
};
