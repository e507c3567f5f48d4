//! Shaping: one CloudTrail record's bytes -> one document for the index.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::catalogue::{cloudtrail_field, Field, FieldType, ADDED_FIELDS};
use crate::error::ShapeError;
use crate::index::IndexNaming;
use crate::template::Flavour;

/// Lucene's limit on one indexed term, in bytes.
pub const MAX_TERM_BYTES: usize = 32_766;

/// Longest `eventID` used as `_id` as it is; longer ones are hashed (`_id` is
/// capped at 512 bytes).
const MAX_ID_BYTES: usize = 512;

/// Longest rejection reason kept in a document.
const MAX_REASON_BYTES: usize = 1024;

/// Where a record came from: an S3 object or a local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The bucket, for S3 objects.
    pub bucket: Option<String>,
    /// The S3 key, or the local path as given.
    pub key: String,
}

impl Provenance {
    /// A local file, named by the path as given.
    pub fn local(path: impl Into<String>) -> Self {
        Provenance {
            bucket: None,
            key: path.into(),
        }
    }

    fn to_json(&self) -> Value {
        let mut source = Map::new();
        if let Some(bucket) = &self.bucket {
            source.insert("bucket".into(), Value::String(bucket.clone()));
        }
        source.insert("key".into(), Value::String(self.key.clone()));
        Value::Object(source)
    }
}

impl std::fmt::Display for Provenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.bucket {
            Some(bucket) => write!(f, "s3://{bucket}/{}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

/// What a document is, which decides the report counter it settles in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentKind {
    /// The event, whole.
    Event,
    /// The event with some fields moved to `trailsearch.unindexed`.
    Degraded,
    /// The original record in the dead-letter index.
    DeadLetter,
}

/// One bulk `create`: where, under which `_id`, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Target index.
    pub index: String,
    /// `_id`: the `eventID`, or a hash of the record's bytes.
    pub id: String,
    /// The JSON source, one line.
    pub body: Vec<u8>,
    /// Event, degraded event or dead letter.
    pub kind: DocumentKind,
    /// The record's original bytes, for degrading or dead-lettering later.
    pub original: Arc<[u8]>,
    /// Where the record came from.
    pub provenance: Arc<Provenance>,
}

/// The few facts about an event that filters need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    /// `eventTime`, parsed.
    pub time: DateTime<Utc>,
    /// `recipientAccountId`.
    pub account: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
}

/// A shaped record: its document and its facts.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// The document to send.
    pub document: Document,
    /// Facts for filtering.
    pub facts: EventFacts,
}

/// Turns records into documents for one index naming and cluster flavour.
#[derive(Debug, Clone)]
pub struct Shaper {
    naming: IndexNaming,
    flavour: Flavour,
}

impl Shaper {
    /// A shaper for these indices on a cluster of this flavour.
    pub fn new(naming: IndexNaming, flavour: Flavour) -> Self {
        Shaper { naming, flavour }
    }

    /// The index naming.
    pub fn naming(&self) -> &IndexNaming {
        &self.naming
    }

    /// Shapes a record. Known fields of the wrong type and values too long to
    /// index are moved to `trailsearch.unindexed` (the document is then
    /// `Degraded` or, for long values only, still an `Event`); a record that
    /// cannot be placed in an index is an error, to be dead-lettered.
    pub fn shape(&self, original: Arc<[u8]>, provenance: Arc<Provenance>) -> Result<Shaped, ShapeError> {
        let mut record = parse_object(&original)?;
        let time = event_time(&record)?;
        let id = document_id(&original, Some(&record));
        let facts = EventFacts {
            time,
            account: string_field(&record, "recipientAccountId"),
            region: string_field(&record, "awsRegion"),
        };

        let mut unindexed = Map::new();
        let mut reasons = Vec::new();
        take_reserved_names(&mut record, &mut unindexed, &mut reasons);
        take_wrong_types(&mut record, &mut unindexed, &mut reasons);
        if self.flavour != Flavour::Compatible {
            take_long_values(&mut record, &mut unindexed);
        }
        let kind = if reasons.is_empty() {
            DocumentKind::Event
        } else {
            DocumentKind::Degraded
        };
        add_fields(&mut record, &time, self.flavour, &provenance, unindexed, &reasons);

        Ok(Shaped {
            document: Document {
                index: self.naming.index_for(&time),
                id,
                body: to_line(record),
                kind,
                original,
                provenance,
            },
            facts,
        })
    }

    /// The degraded form of a document the cluster rejected: only the known
    /// scalar fields stay indexed; every object and unknown field moves to
    /// `trailsearch.unindexed`, and `reason` is recorded.
    pub fn shape_degraded(&self, rejected: &Document, reason: &str) -> Result<Document, ShapeError> {
        let record = parse_object(&rejected.original)?;
        let time = event_time(&record)?;
        let mut kept = Map::new();
        let mut unindexed = Map::new();
        for (name, value) in record {
            let scalar_field = cloudtrail_field(&name).filter(|field| {
                matches!(
                    field.ty,
                    FieldType::Keyword | FieldType::Text | FieldType::Date | FieldType::Boolean
                ) && conforms(field.ty, &value)
            });
            if scalar_field.is_some() {
                kept.insert(name, value);
            } else {
                unindexed.insert(name, value);
            }
        }
        let reasons = vec![truncate(reason, MAX_REASON_BYTES)];
        add_fields(
            &mut kept,
            &time,
            self.flavour,
            &rejected.provenance,
            unindexed,
            &reasons,
        );
        Ok(Document {
            index: rejected.index.clone(),
            id: rejected.id.clone(),
            body: to_line(kept),
            kind: DocumentKind::Degraded,
            original: rejected.original.clone(),
            provenance: rejected.provenance.clone(),
        })
    }

    /// The dead-letter document for a record: the original bytes as a string,
    /// the reason and the source.
    pub fn shape_dead_letter(
        &self,
        original: Arc<[u8]>,
        provenance: Arc<Provenance>,
        reason: &str,
    ) -> Document {
        let parsed = parse_object(&original).ok();
        let id = document_id(&original, parsed.as_ref());
        let body = json!({
            "record": String::from_utf8_lossy(&original),
            "reason": truncate(reason, MAX_REASON_BYTES),
            "trailsearch": {"source": provenance.to_json()},
        });
        Document {
            index: self.naming.deadletter_index(),
            id,
            body: to_line_value(&body),
            kind: DocumentKind::DeadLetter,
            original,
            provenance,
        }
    }
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ShapeError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ShapeError::NotAnObject {
            found: json_type(&other),
        }),
        Err(err) => Err(ShapeError::InvalidJson {
            reason: err.to_string(),
        }),
    }
}

fn event_time(record: &Map<String, Value>) -> Result<DateTime<Utc>, ShapeError> {
    match record.get("eventTime") {
        None | Some(Value::Null) => Err(ShapeError::MissingEventTime),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| ShapeError::BadEventTime {
                value: truncate(text, 100),
            }),
        Some(other) => Err(ShapeError::BadEventTime {
            value: truncate(&other.to_string(), 100),
        }),
    }
}

/// `_id`: the `eventID`, or a hash of the record's bytes (version 1.0
/// records have no `eventID`), so a redelivery always maps to the same `_id`.
pub fn document_id(original: &[u8], record: Option<&Map<String, Value>>) -> String {
    match record.and_then(|r| r.get("eventID")) {
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_ID_BYTES => id.clone(),
        _ => hex::encode(Sha256::digest(original)),
    }
}

fn string_field(record: &Map<String, Value>, name: &str) -> Option<String> {
    record.get(name).and_then(Value::as_str).map(str::to_string)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

/// Whether a value has the JSON shape a field of this type accepts.
fn conforms(ty: FieldType, value: &Value) -> bool {
    if value.is_null() {
        return true;
    }
    match ty {
        FieldType::Keyword | FieldType::Text => match value {
            Value::Array(items) => items.iter().all(is_scalar),
            other => is_scalar(other),
        },
        FieldType::Date => value.is_string(),
        FieldType::Boolean => {
            matches!(value, Value::Bool(_)) || matches!(value.as_str(), Some("true" | "false"))
        }
        FieldType::Ip => value.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        FieldType::FreeShaped => value.is_object(),
        FieldType::Object(fields) => object_conforms(fields, value),
        FieldType::ObjectArray(fields) => match value {
            Value::Array(items) => items.iter().all(|item| object_conforms(fields, item)),
            other => object_conforms(fields, other),
        },
        FieldType::Alias(_) => false,
    }
}

fn object_conforms(fields: &[Field], value: &Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    fields
        .iter()
        .all(|field| map.get(field.name).is_none_or(|v| conforms(field.ty, v)))
}

/// Top-level names trailsearch itself fills: a record that carries one
/// keeps it, unindexed.
fn take_reserved_names(
    record: &mut Map<String, Value>,
    unindexed: &mut Map<String, Value>,
    reasons: &mut Vec<String>,
) {
    let reserved = ADDED_FIELDS.iter().map(|f| f.name).chain(["trailsearch"]);
    for name in reserved {
        if let Some(value) = record.remove(name) {
            reasons.push(format!(
                "{name}: the name is reserved for trailsearch's own fields"
            ));
            unindexed.insert(name.to_string(), value);
        }
    }
}

/// Moves known fields whose value has the wrong JSON type; inside known
/// objects only the offending sub-field moves.
fn take_wrong_types(
    record: &mut Map<String, Value>,
    unindexed: &mut Map<String, Value>,
    reasons: &mut Vec<String>,
) {
    let names: Vec<String> = record.keys().cloned().collect();
    for name in names {
        if let Some(field) = cloudtrail_field(&name) {
            take_wrong_typed(field, record, unindexed, reasons, "");
        }
    }
}

fn take_wrong_typed(
    field: &Field,
    parent: &mut Map<String, Value>,
    unindexed: &mut Map<String, Value>,
    reasons: &mut Vec<String>,
    path: &str,
) {
    let Some(value) = parent.get_mut(field.name) else {
        return;
    };
    let full = if path.is_empty() {
        field.name.to_string()
    } else {
        format!("{path}.{}", field.name)
    };
    if let (FieldType::Object(children), Value::Object(map)) = (field.ty, &mut *value) {
        let mut moved = Map::new();
        for child in children {
            take_wrong_typed(child, map, &mut moved, reasons, &full);
        }
        if !moved.is_empty() {
            unindexed.insert(field.name.to_string(), Value::Object(moved));
        }
        return;
    }
    if !conforms(field.ty, value) {
        let found = json_type(value);
        reasons.push(format!("{full}: expected {}, found {found}", expected(field.ty)));
        if let Some(value) = parent.remove(field.name) {
            unindexed.insert(field.name.to_string(), value);
        }
    }
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Keyword | FieldType::Text => "a string, number or boolean",
        FieldType::Date => "a timestamp string",
        FieldType::Boolean => "a boolean",
        FieldType::Ip => "an IP address",
        FieldType::FreeShaped | FieldType::Object(_) => "an object",
        FieldType::ObjectArray(_) => "an array of objects",
        FieldType::Alias(_) => "nothing (an alias)",
    }
}

/// Moves string leaves of free-shaped objects whose indexed term
/// (`path=value`) would exceed Lucene's limit; the nearest enclosing object
/// member moves whole, so the document keeps every value.
fn take_long_values(record: &mut Map<String, Value>, unindexed: &mut Map<String, Value>) {
    for (name, value) in record.iter_mut() {
        let free_shaped = match cloudtrail_field(name) {
            Some(field) => field.ty == FieldType::FreeShaped,
            None => value.is_object(),
        };
        if let (true, Value::Object(map)) = (free_shaped, value) {
            let moved = take_long_members(map, name);
            if !moved.is_empty() {
                let slot = unindexed
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(slot) = slot {
                    slot.extend(moved);
                }
            }
        }
    }
}

fn take_long_members(map: &mut Map<String, Value>, path: &str) -> Map<String, Value> {
    let mut moved = Map::new();
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let child_path = format!("{path}.{key}");
        let Some(value) = map.get_mut(&key) else { continue };
        if let Value::Object(child) = value {
            let inner = take_long_members(child, &child_path);
            if !inner.is_empty() {
                moved.insert(key, Value::Object(inner));
            }
        } else if has_long_string(value, child_path.len()) {
            if let Some(value) = map.remove(&key) {
                moved.insert(key, value);
            }
        }
    }
    moved
}

fn has_long_string(value: &Value, path_len: usize) -> bool {
    match value {
        Value::String(s) => path_len + 1 + s.len() > MAX_TERM_BYTES,
        Value::Array(items) => items.iter().any(|v| has_long_string(v, path_len)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| has_long_string(v, path_len + 1 + k.len())),
        _ => false,
    }
}

fn add_fields(
    record: &mut Map<String, Value>,
    time: &DateTime<Utc>,
    flavour: Flavour,
    provenance: &Provenance,
    unindexed: Map<String, Value>,
    reasons: &[String],
) {
    record.insert(
        "@timestamp".into(),
        Value::String(time.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    );
    let failed = ["errorCode", "errorMessage"]
        .iter()
        .any(|name| record.get(*name).is_some_and(|v| !v.is_null()));
    record.insert(
        "event".into(),
        json!({"outcome": if failed { "failure" } else { "success" }}),
    );
    if let Some(ip) = record
        .get("sourceIPAddress")
        .and_then(Value::as_str)
        .and_then(|s| s.trim().parse::<IpAddr>().ok())
    {
        record.insert("source".into(), json!({"ip": ip.to_string()}));
    }

    let mut ours = Map::new();
    ours.insert("source".into(), provenance.to_json());
    if flavour.needs_text_copies() {
        let copies: Map<String, Value> = crate::catalogue::free_shaped_fields()
            .filter_map(|name| match record.get(name) {
                Some(value @ Value::Object(_)) => Some((name.to_string(), Value::String(value.to_string()))),
                _ => None,
            })
            .collect();
        if !copies.is_empty() {
            ours.insert("text".into(), Value::Object(copies));
        }
    }
    if !reasons.is_empty() {
        ours.insert("degraded".into(), Value::Bool(true));
        ours.insert("degraded_reasons".into(), json!(reasons));
    }
    if !unindexed.is_empty() {
        ours.insert("unindexed".into(), Value::Object(unindexed));
    }
    record.insert("trailsearch".into(), Value::Object(ours));
}

fn to_line(record: Map<String, Value>) -> Vec<u8> {
    to_line_value(&Value::Object(record))
}

fn to_line_value(value: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail: its keys are strings.
    serde_json::to_vec(value).unwrap_or_default()
}
