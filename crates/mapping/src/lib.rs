/*!
The index: what trailsearch stores and how it is searched.

This crate owns the **field catalogue** ([`CLOUDTRAIL_FIELDS`], [`ADDED_FIELDS`])
and everything generated from it: the index templates per cluster [`Flavour`]
([`index_template`]), index names ([`IndexNaming`]), `_id`s ([`document_id`]),
document shaping ([`Shaper`] turns a record's bytes into a [`Document`]) and
search bodies ([`SearchQuery`], and [`trace`]'s credential-chain requests).
The Kibana / OpenSearch Dashboards saved objects are generated from the
catalogue by the `kibana` crate. It knows nothing of networks: the `sink` crate
sends what this crate builds.

Why it decides so much client-side: real clusters reject values longer than
Lucene's term limit and known fields of the wrong type, while test servers are
often lenient. Shaping therefore moves such values to the unindexed
`trailsearch.unindexed` object itself, so the document bytes say what happens,
on every cluster alike.

```
use std::sync::Arc;
use trailsearch_mapping::{Flavour, Granularity, IndexNaming, Provenance, Shaper};

let naming = IndexNaming::new("cloudtrail", Granularity::Day).unwrap();
let shaper = Shaper::new(naming, Flavour::OpenSearch);
let record = br#"{"eventTime":"2024-03-14T09:26:53Z","eventID":"e1","eventName":"DeleteDBInstance","sourceIPAddress":"203.0.113.42"}"#;
let shaped = shaper.shape(record, Arc::new(Provenance::local("a.json"))).unwrap();
assert_eq!(shaped.document.index, "cloudtrail-2024.03.14");
assert_eq!(shaped.document.id, "e1");
let body = String::from_utf8(shaped.document.body).unwrap();
assert!(body.contains(r#""source":{"ip":"203.0.113.42"}"#));
```
*/
#![deny(missing_docs)]

mod actor;
mod agent;
mod catalogue;
mod document;
mod error;
mod fingerprint;
mod gather;
mod geo;
mod index;
mod integrity;
mod query;
mod strict;
mod template;
pub mod trace;

pub use crate::{
    actor::Identity,
    agent::{classify as classify_user_agent, Agent, CLIENTS},
    catalogue::{
        aggregatable, catalogue_path, cloudtrail_field, free_shaped_fields, Field, FieldType, ADDED_FIELDS,
        CLOUDTRAIL_FIELDS, TRAILSEARCH_FIELDS,
    },
    document::{
        derive, document_id, Document, DocumentKind, EventFacts, Provenance, Shaped, Shaper, StreamOrigin,
        MAX_TERM_BYTES, PROVISIONAL_VERSION, RECORD_VERSION, STREAM_FIELDS, STREAM_KINDS,
    },
    error::{ConfigError, ShapeError},
    fingerprint::EventFingerprint,
    gather::{resource_names, Derived, RESOURCE_PARAMETERS},
    geo::{is_public, Locate, Location},
    index::{Granularity, IndexNaming},
    integrity::{integrity_mappings, Integrity, Verdict},
    query::{
        indices_without, wildcard_matches, Resolved, SearchQuery, RESOURCE_NAMES_FIELD, USER_NAMES_FIELD,
    },
    template::{
        deadletter_mappings, deadletter_template, defined_field_paths, index_template, integrity_template,
        legacy_deadletter_template, legacy_index_template, legacy_integrity_template, mappings, DateParsing,
        Flavour, KEYWORD_IGNORE_ABOVE, TEMPLATE_PRIORITY, TEMPLATE_VERSION,
    },
};
