/*!
Talking to an Elasticsearch or OpenSearch cluster.

A [`Transport`] (built once: URL, [`Auth`], TLS, timeout; the only I/O in this
crate) carries requests. [`ClusterInfo`] reads `GET /` and picks the mapping
[`Flavour`](trailsearch_mapping::Flavour). [`Sink`] implements
[`DocumentSink::settle`]: it sends [`Document`](trailsearch_mapping::Document)s
in gzip-compressed `_bulk` requests of `create` actions, parses one
[`ItemOutcome`] per document, retries only the items that may succeed later
([`RetryPolicy`]), sends a degraded form of documents the cluster refuses, and
dead-letters what is refused even then. Every document ends in exactly one
[`Settled`] counter, or the batch fails with a [`BatchError`] that says how
many were left. [`install_templates`] is the setup call; [`KibanaClient`] imports the saved
objects into Kibana or OpenSearch Dashboards.

The crate knows nothing of S3 or Lambda.

```
use trailsearch_sink::{parse_bulk_response, ItemOutcome};
let answer = br#"{"items":[{"create":{"status":201}},{"create":{"status":409}}]}"#;
let outcomes = parse_bulk_response("_bulk", answer, 2).unwrap();
assert_eq!(outcomes, [ItemOutcome::Created, ItemOutcome::Duplicate]);
```
*/
#![deny(missing_docs)]

mod auth;
mod bulk;
mod client;
mod deadletter;
mod error;
mod flavour;
mod integrity;
mod kibana;
mod retention;
mod retry;
mod setup;
mod trace;
mod transport;

pub use crate::{
    auth::{Auth, Secret, SigV4, SigV4Service},
    bulk::{
        encode_bulk, encode_document, encoded_len, parse_bulk_response, BatchLimits, ItemOutcome,
        BULK_FILTER_PATH,
    },
    client::{bulk_answer_limit, BatchError, DocumentSink, Settled, Sink},
    deadletter::{
        delete_dead_letters, group_by_reason, indexed_events, parse_mget_sources, reason_group, DeadLetter,
        DeadLetterScroll, Indexed, ReasonCount,
    },
    error::SinkError,
    flavour::{ClusterInfo, Distribution},
    kibana::{
        multipart_body, ImportFailure, ImportReport, KibanaClient, KibanaFlavour, KibanaStatus, NewId,
        IMPORT_PATH, MULTIPART_BOUNDARY, TENANT_HEADER,
    },
    retention::{indices_to_prune, prune_indices},
    retry::{Backoff, RetryPolicy},
    setup::{conflicting_template, glob_match, install_templates, template_installed, TemplateChange},
    trace::Trace,
    transport::{
        chain, cluster_reason, gzip, redact_url, RequestBody, Response, Transport, TransportConfig,
        ANSWER_LIMIT,
    },
};
