//! Shaping: one CloudTrail record's bytes -> one document for the index.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::integrity::Integrity;

use crate::agent::classify as classify_user_agent;
use crate::catalogue::{cloudtrail_field, Field, FieldType, ADDED_FIELDS};
use crate::error::ShapeError;
use crate::gather::Derived;
use crate::geo::{is_public, Locate, Location};
use crate::index::IndexNaming;
use crate::strict::{check_record, conforms, gathered_of};
use crate::template::Flavour;

/// Lucene's limit on one indexed term, in bytes.
pub const MAX_TERM_BYTES: usize = 32_766;

/// Longest `eventID` used as `_id` as it is; longer ones are hashed (`_id` is
/// capped at 512 bytes).
const MAX_ID_BYTES: usize = 512;

/// Longest rejection reason kept in a document.
const MAX_REASON_BYTES: usize = 1024;

/// Where a record came from: an S3 object, a local file, or an event that
/// arrived by another path (EventBridge, CloudWatch Logs, Kinesis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The bucket, for S3 objects.
    pub bucket: Option<String>,
    /// The S3 key, the local path as given, or the stream source's name
    /// (`kinesis:<stream>/<sequence number>`).
    pub key: String,
    /// For events that did not come in their S3 object: the path they came
    /// by. Such copies are provisional: the S3 record replaces them.
    pub stream: Option<StreamOrigin>,
    /// `trailsearch.integrity` of S3 objects: what a digest said of the
    /// object before it was read (else pending).
    pub integrity: Option<Integrity>,
}

/// The path a provisional copy came by, as `trailsearch.source.*` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOrigin {
    /// `eventbridge`, `cloudwatch-logs` or `kinesis`.
    pub kind: &'static str,
    /// What identifies the payload there (`log_group`, `log_stream`,
    /// `stream`, `sequence_number`, `eventbridge_id`), in order.
    pub fields: Vec<(&'static str, String)>,
}

/// The paths provisional copies come by.
pub const STREAM_KINDS: &[&str] = &["eventbridge", "cloudwatch-logs", "kinesis"];

/// The `trailsearch.source.*` fields that name a provisional copy's payload.
pub const STREAM_FIELDS: &[&str] = &[
    "eventbridge_id",
    "log_group",
    "log_stream",
    "stream",
    "sequence_number",
];

/// The external version of a provisional copy: any S3 copy (version 1, as
/// every document `create` wrote before) replaces it.
pub const PROVISIONAL_VERSION: u64 = 0;

/// The external version of a copy read from its log object.
pub const RECORD_VERSION: u64 = 1;

impl Provenance {
    /// A local file, named by the path as given.
    pub fn local(path: impl Into<String>) -> Self {
        Provenance {
            bucket: None,
            key: path.into(),
            stream: None,
            integrity: None,
        }
    }

    /// An S3 object.
    pub fn s3(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Provenance {
            bucket: Some(bucket.into()),
            key: key.into(),
            stream: None,
            integrity: None,
        }
    }

    /// Reads back `trailsearch.source` as [`to_json`](Self::to_json) wrote
    /// it (a dead letter's source, for replay).
    pub fn from_json(source: &Value) -> Option<Provenance> {
        let text = |name: &str| source[name].as_str().map(str::to_string);
        let key = text("key")?;
        let kind = source["kind"].as_str().unwrap_or_default();
        let stream = STREAM_KINDS
            .iter()
            .find(|k| **k == kind)
            .map(|kind| StreamOrigin {
                kind,
                fields: STREAM_FIELDS
                    .iter()
                    .filter_map(|name| text(name).map(|value| (*name, value)))
                    .collect(),
            });
        Some(Provenance {
            bucket: text("bucket"),
            key,
            stream,
            integrity: None,
        })
    }

    /// `trailsearch.source.kind`: `s3`, `file`, or the stream's path.
    pub fn kind(&self) -> &'static str {
        match (&self.stream, &self.bucket) {
            (Some(stream), _) => stream.kind,
            (None, Some(_)) => "s3",
            (None, None) => "file",
        }
    }

    /// The external version its documents are written with.
    pub fn version(&self) -> u64 {
        match self.stream {
            Some(_) => PROVISIONAL_VERSION,
            None => RECORD_VERSION,
        }
    }

    /// `trailsearch.source`'s members, in the order they are written.
    fn members(&self) -> impl Iterator<Item = (&str, &str)> {
        let stream = self.stream.iter().flat_map(|s| &s.fields);
        [
            ("kind", Some(self.kind())),
            ("bucket", self.bucket.as_deref()),
            ("key", Some(self.key.as_str())),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
        .chain(stream.map(|(name, value)| (*name, value.as_str())))
    }

    fn to_json(&self) -> Value {
        Value::Object(
            self.members()
                .map(|(name, value)| (name.to_string(), Value::String(value.to_string())))
                .collect(),
        )
    }

    /// Writes `"kind":..,"bucket":..,"key":..,...` (the members, no braces).
    fn write_members(&self, out: &mut Vec<u8>) {
        for (i, (name, value)) in self.members().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_json(out, name);
            out.push(b':');
            write_json(out, value);
        }
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
    original: Original,
    /// Where the record came from.
    pub provenance: Arc<Provenance>,
}

/// Where a document's original record bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Original {
    /// Kept apart from the body.
    Apart(Arc<[u8]>),
    /// The body's first `n` bytes and a closing brace: a spliced record
    /// keeps no second copy, which halves the memory of documents in flight.
    Spliced(usize),
}

impl Document {
    /// A document for `body`, remembering `original` for degrading or
    /// dead-lettering later.
    pub fn new(
        index: String,
        id: String,
        body: Vec<u8>,
        kind: DocumentKind,
        original: Arc<[u8]>,
        provenance: Arc<Provenance>,
    ) -> Self {
        Document {
            index,
            id,
            body,
            kind,
            original: Original::Apart(original),
            provenance,
        }
    }

    /// The record's original bytes.
    pub fn original(&self) -> Cow<'_, [u8]> {
        match &self.original {
            Original::Apart(bytes) => Cow::Borrowed(bytes),
            Original::Spliced(n) => {
                let mut bytes = self.body.get(..*n).unwrap_or_default().to_vec();
                bytes.push(b'}');
                Cow::Owned(bytes)
            }
        }
    }
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
    locator: Option<Arc<dyn Locate>>,
}

impl Shaper {
    /// A shaper for these indices on a cluster of this flavour.
    pub fn new(naming: IndexNaming, flavour: Flavour) -> Self {
        Shaper {
            naming,
            flavour,
            locator: None,
        }
    }

    /// Adds `source.geo.*` and `source.as.*` from this lookup.
    pub fn with_locator(mut self, locator: Arc<dyn Locate>) -> Self {
        self.locator = Some(locator);
        self
    }

    /// The index naming.
    pub fn naming(&self) -> &IndexNaming {
        &self.naming
    }

    /// Shapes a record. Known fields of the wrong type and values too long to
    /// index are moved to `trailsearch.unindexed` (the document is then
    /// `Degraded` or, for long values only, still an `Event`); a record that
    /// cannot be placed in an index is an error, to be dead-lettered.
    pub fn shape(&self, original: &[u8], provenance: Arc<Provenance>) -> Result<Shaped, ShapeError> {
        match self.shape_clean(original, &provenance) {
            Some(shaped) => Ok(shaped),
            None => self.shape_tree(original.into(), provenance),
        }
    }

    /// The slow path: the record parsed into a tree, changed, serialized.
    fn shape_tree(&self, original: Arc<[u8]>, provenance: Arc<Provenance>) -> Result<Shaped, ShapeError> {
        let mut record = parse_object(&original)?;
        let time = event_time(record.get("eventTime"))?;
        let id = document_id(&original, Some(&record));
        let facts = EventFacts {
            time,
            account: string_field(record.get("recipientAccountId")),
            region: string_field(record.get("awsRegion")),
        };
        let mut added = Additions::of(&record, time, self.locator.as_deref());

        let mut unindexed = Map::new();
        let mut reasons = Vec::new();
        if normalize_event_time(&mut record, &time, &mut unindexed) {
            added.normalized.push("eventTime");
        }
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
        if self.flavour.needs_text_copies() {
            added.text_copies = text_copies(&record);
        }
        added.unindexed = unindexed;
        added.reasons = reasons;

        Ok(Shaped {
            document: Document {
                index: self.naming.index_for(&time),
                id,
                body: splice(&to_line(record), &added, &provenance).0,
                kind,
                original: Original::Apart(original),
                provenance,
            },
            facts,
        })
    }

    /// The fast path, for the records that need no change: the original
    /// bytes with the added fields spliced in before the closing brace, with
    /// no document tree built. `None` sends the record down the slow path,
    /// which decides and explains everything else, among it a free-shaped
    /// leaf past Lucene's term limit (the strict pass measures each). The
    /// compatible flavour always takes the slow path (its text copies
    /// re-serialize anyway).
    fn shape_clean(&self, original: &[u8], provenance: &Arc<Provenance>) -> Option<Shaped> {
        if self.flavour == Flavour::Compatible {
            return None;
        }
        let clean = check_record(original).ok()?;
        let event_time = clean.event_time.as_deref()?;
        if !cluster_takes_time(event_time) {
            return None;
        }
        let time = parse_event_time(event_time).ok()?;
        let mut added = Additions {
            failed: clean.failed,
            ..Additions::new(time)
        };
        added.enrich(
            clean.source_ip.as_deref(),
            clean.user_agent.as_deref(),
            clean.gathered.derive(clean.event_source.as_deref()),
            self.locator.as_deref(),
        );
        let original_bytes = original;
        let (body, verbatim) = splice(original, &added, provenance);
        let original = if verbatim {
            Original::Spliced(original.len() - 1)
        } else {
            Original::Apart(original.into())
        };
        Some(Shaped {
            document: Document {
                index: self.naming.index_for(&time),
                id: id_from(original_bytes, clean.event_id.as_deref()),
                body,
                kind: DocumentKind::Event,
                original,
                provenance: provenance.clone(),
            },
            facts: EventFacts {
                time,
                account: clean.account.map(Cow::into_owned),
                region: clean.region.map(Cow::into_owned),
            },
        })
    }

    /// The degraded form of a document the cluster rejected: only the known
    /// scalar fields stay indexed; every object and unknown field moves to
    /// `trailsearch.unindexed`, and `reason` is recorded.
    pub fn shape_degraded(&self, rejected: &Document, reason: &str) -> Result<Document, ShapeError> {
        let original = rejected.original();
        let record = parse_object(&original)?;
        let time = event_time(record.get("eventTime"))?;
        let mut added = Additions::of(&record, time, self.locator.as_deref());
        let mut kept = Map::new();
        let mut unindexed = Map::new();
        for (name, value) in record {
            let scalar_field = cloudtrail_field(&name).filter(|field| {
                (field.ty.takes_scalars() || matches!(field.ty, FieldType::Date | FieldType::Boolean))
                    && conforms(field.ty, &value)
            });
            if scalar_field.is_some() {
                kept.insert(name, value);
            } else {
                unindexed.insert(name, value);
            }
        }
        if normalize_event_time(&mut kept, &time, &mut unindexed) {
            added.normalized.push("eventTime");
        }
        added.reasons = vec![truncate(reason, MAX_REASON_BYTES)];
        if self.flavour.needs_text_copies() {
            added.text_copies = text_copies(&kept);
        }
        added.unindexed = unindexed;
        Ok(Document {
            index: rejected.index.clone(),
            id: rejected.id.clone(),
            body: splice(&to_line(kept), &added, &rejected.provenance).0,
            kind: DocumentKind::Degraded,
            original: match &rejected.original {
                Original::Apart(bytes) => Original::Apart(bytes.clone()),
                Original::Spliced(_) => Original::Apart(original.into()),
            },
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
        let record = json!({"record": String::from_utf8_lossy(&original)});
        self.dead_letter_document(id, record, reason, original, provenance)
    }

    /// The dead letter of a record too large for the cluster to take in one
    /// request: under the record's own `_id`, with its first `keep` bytes
    /// (its source names the whole) and `reason`.
    pub fn shape_oversized_dead_letter(&self, doc: &Document, keep: usize, reason: &str) -> Document {
        let original = doc.original();
        let head = &original[..original.len().min(keep)];
        let record = json!({"record": String::from_utf8_lossy(head), "record_bytes": original.len()});
        self.dead_letter_document(
            doc.id.clone(),
            record,
            reason,
            original.into(),
            doc.provenance.clone(),
        )
    }

    /// A dead letter under `id`: `record` (what it keeps of the record)
    /// with the reason and the source every dead letter carries.
    fn dead_letter_document(
        &self,
        id: String,
        mut body: Value,
        reason: &str,
        original: Arc<[u8]>,
        provenance: Arc<Provenance>,
    ) -> Document {
        body["reason"] = Value::String(truncate(reason, MAX_REASON_BYTES));
        body["trailsearch"] = json!({"source": provenance.to_json()});
        Document {
            index: self.naming.deadletter_index(),
            id,
            body: to_line_value(&body),
            kind: DocumentKind::DeadLetter,
            original: Original::Apart(original),
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

fn event_time(value: Option<&Value>) -> Result<DateTime<Utc>, ShapeError> {
    match value {
        None | Some(Value::Null) => Err(ShapeError::MissingEventTime),
        Some(Value::String(text)) => parse_event_time(text),
        Some(other) => Err(ShapeError::BadEventTime {
            value: truncate(&other.to_string(), 100),
        }),
    }
}

/// Rewrites an `eventTime` in a form RFC 3339 allows and the cluster's date
/// format does not (lower-case `t`/`z`, a space, a leap second, more than
/// nine fractional digits, `-00:00`, an offset past 18 hours) as the time
/// it names, keeping the original in `unindexed`; whether it did.
fn normalize_event_time(
    record: &mut Map<String, Value>,
    time: &DateTime<Utc>,
    unindexed: &mut Map<String, Value>,
) -> bool {
    match record.get("eventTime") {
        Some(Value::String(text)) if !cluster_takes_time(text) => {
            let original = Value::String(text.clone());
            record.insert("eventTime".into(), Value::String(canonical_time(time)));
            unindexed.insert("eventTime".into(), original);
            true
        }
        _ => false,
    }
}

/// Whether the cluster's date formats (`strict_date_optional_time`,
/// `rfc3339_lenient`) take this RFC 3339 text as it is:
/// `YYYY-MM-DDTHH:MM:SS`, up to nine fractional digits, then `Z` or an
/// offset of at most 18 hours other than `-00:00`; upper-case `T` and `Z`,
/// seconds up to 59.
fn cluster_takes_time(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |range: std::ops::Range<usize>| b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && b.get(10) == Some(&b'T')
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19)
        && b[17] <= b'5';
    if !shape {
        return false;
    }
    let mut rest = &b[19..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&n) {
            return false;
        }
        rest = &fraction[n..];
    }
    match rest {
        b"Z" => true,
        // `-00:00` is RFC 3339's "offset unknown", which `rfc3339_lenient`
        // refuses; beyond 18 hours `java.time` refuses any.
        b"-00:00" => false,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let two_digits = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| u16::from(a - b'0') * 10 + u16::from(b - b'0'))
            };
            match (two_digits(*h1, *h2), two_digits(*m1, *m2)) {
                (Some(hours), Some(minutes)) => minutes <= 59 && hours * 60 + minutes <= 18 * 60,
                _ => false,
            }
        }
        _ => false,
    }
}

/// A time as the cluster takes it: UTC, `Z`, a leap second's nanoseconds
/// kept within its minute (`23:59:60` is `23:59:59.999999999`, in the same
/// day's index).
fn canonical_time(time: &DateTime<Utc>) -> String {
    let within = time
        .with_nanosecond(time.nanosecond().min(999_999_999))
        .unwrap_or(*time);
    within.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn parse_event_time(text: &str) -> Result<DateTime<Utc>, ShapeError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ShapeError::BadEventTime {
            value: truncate(text, 100),
        })
}

/// The derived fields of a record, as indexing derives them: for search
/// results of documents indexed before a field existed.
pub fn derive(record: &Value) -> Derived {
    match record.as_object() {
        Some(map) => gathered_of(map).derive(map.get("eventSource").and_then(Value::as_str)),
        None => Derived::default(),
    }
}

/// `_id`: the `eventID`, or a hash of the record's bytes (version 1.0
/// records have no `eventID`), so a redelivery always maps to the same `_id`.
pub fn document_id(original: &[u8], record: Option<&Map<String, Value>>) -> String {
    id_from(
        original,
        record.and_then(|r| r.get("eventID")).and_then(Value::as_str),
    )
}

fn id_from(original: &[u8], event_id: Option<&str>) -> String {
    match event_id {
        Some(id) if !id.is_empty() && id.len() <= MAX_ID_BYTES => id.to_string(),
        _ => hex::encode(Sha256::digest(original)),
    }
}

fn string_field(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_string)
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
        FieldType::Keyword | FieldType::Identifier | FieldType::Text => "a string, number or boolean",
        FieldType::Date => "a timestamp string",
        FieldType::Boolean => "a boolean",
        FieldType::Long => "a whole number",
        FieldType::GeoPoint => "a point (lat, lon)",
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

/// The fields trailsearch adds, made of a few facts of the record.
struct Additions {
    time: DateTime<Utc>,
    /// `errorCode` or `errorMessage` is there.
    failed: bool,
    /// `sourceIPAddress`, when it is an address.
    source_ip: Option<IpAddr>,
    /// Where `source_ip` is, for public addresses the lookup knows.
    location: Option<Arc<Location>>,
    /// `trailsearch.client`, `user_agent.name`, `user_agent.version`.
    client: Option<&'static str>,
    agent_name: Option<String>,
    agent_version: Option<String>,
    /// `trailsearch.actor`, `.resource` and the other derived fields.
    derived: Derived,
    /// The compatible flavour's searchable copies of free-shaped objects.
    text_copies: Map<String, Value>,
    unindexed: Map<String, Value>,
    reasons: Vec<String>,
    /// `trailsearch.normalized`: fields rewritten to a form the cluster
    /// takes (their originals are in `unindexed`).
    normalized: Vec<&'static str>,
}

impl Additions {
    fn new(time: DateTime<Utc>) -> Self {
        Additions {
            time,
            failed: false,
            source_ip: None,
            location: None,
            client: None,
            agent_name: None,
            agent_version: None,
            derived: Derived::default(),
            text_copies: Map::new(),
            unindexed: Map::new(),
            reasons: Vec::new(),
            normalized: Vec::new(),
        }
    }

    fn of(record: &Map<String, Value>, time: DateTime<Utc>, locator: Option<&dyn Locate>) -> Self {
        let mut added = Additions {
            failed: ["errorCode", "errorMessage"]
                .iter()
                .any(|name| record.get(*name).is_some_and(|v| !v.is_null())),
            ..Additions::new(time)
        };
        let derived = gathered_of(record).derive(record.get("eventSource").and_then(Value::as_str));
        added.enrich(
            record.get("sourceIPAddress").and_then(Value::as_str),
            record.get("userAgent").and_then(Value::as_str),
            derived,
            locator,
        );
        added
    }

    /// Where the call came from and with what, and who made it.
    fn enrich(
        &mut self,
        source_address: Option<&str>,
        user_agent: Option<&str>,
        derived: Derived,
        locator: Option<&dyn Locate>,
    ) {
        self.source_ip = source_ip(source_address);
        if let (Some(ip), Some(locator)) = (self.source_ip, locator) {
            if is_public(ip) {
                self.location = locator.locate(ip).filter(|l| !l.is_empty());
            }
        }
        if let Some(user_agent) = user_agent {
            let agent = classify_user_agent(user_agent);
            self.client = Some(agent.client);
            self.agent_name = agent.name.map(str::to_string);
            self.agent_version = agent.version.map(str::to_string);
        }
        self.derived = derived;
    }

    /// Writes the added members, each after a comma, and the record's
    /// closing brace: `,"@timestamp":...,"trailsearch":{...}}`.
    fn write(&self, provenance: &Provenance, out: &mut Vec<u8>) {
        out.extend_from_slice(b",\"@timestamp\":");
        write_json(out, &canonical_time(&self.time));
        out.extend_from_slice(if self.failed {
            b",\"event\":{\"outcome\":\"failure\"}"
        } else {
            b",\"event\":{\"outcome\":\"success\"}"
        });
        if let Some(ip) = self.source_ip {
            out.extend_from_slice(b",\"source\":{\"ip\":");
            write_json(out, &ip.to_string());
            if let Some(location) = &self.location {
                write_location(location, out);
            }
            out.push(b'}');
        }
        if self.agent_name.is_some() {
            out.extend_from_slice(b",\"user_agent\":{\"name\":");
            write_json(out, &self.agent_name);
            if let Some(version) = &self.agent_version {
                out.extend_from_slice(b",\"version\":");
                write_json(out, version);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b",\"trailsearch\":{\"source\":{");
        provenance.write_members(out);
        out.push(b'}');
        if let Some(integrity) = provenance.integrity {
            out.extend_from_slice(b",\"integrity\":");
            write_json(out, integrity.as_str());
        }
        let derived = &self.derived;
        let strings = [
            (&b",\"actor\":"[..], &derived.actor),
            (b",\"resource\":", &derived.resource),
            (b",\"issued_access_key\":", &derived.issued_access_key),
            (b",\"issued_session\":", &derived.issued_session),
            (b",\"console_login\":", &derived.console_login),
        ];
        for (member, value) in strings {
            if let Some(value) = value {
                out.extend_from_slice(member);
                write_json(out, value);
            }
        }
        let lists = [
            (&b",\"user_names\":"[..], &derived.user_names),
            (b",\"resource_names\":", &derived.resource_names),
        ];
        for (member, names) in lists {
            if !names.is_empty() {
                out.extend_from_slice(member);
                write_json(out, names);
            }
        }
        if let Some(mfa) = derived.mfa {
            out.extend_from_slice(if mfa { b",\"mfa\":true" } else { b",\"mfa\":false" });
        }
        if let Some(client) = self.client {
            out.extend_from_slice(b",\"client\":");
            write_json(out, client);
        }
        if !self.text_copies.is_empty() {
            out.extend_from_slice(b",\"text\":");
            write_json(out, &self.text_copies);
        }
        if !self.reasons.is_empty() {
            out.extend_from_slice(b",\"degraded\":true,\"degraded_reasons\":");
            write_json(out, &self.reasons);
        }
        if !self.normalized.is_empty() {
            out.extend_from_slice(b",\"normalized\":");
            write_json(out, &self.normalized);
        }
        if !self.unindexed.is_empty() {
            out.extend_from_slice(b",\"unindexed\":");
            write_json(out, &self.unindexed);
        }
        out.extend_from_slice(b"}}");
    }
}

/// `,"geo":{...},"as":{...}` inside `source`, with the parts the lookup knew.
/// Written member by member: this runs for most documents.
fn write_location(location: &Location, out: &mut Vec<u8>) {
    let geo = [
        ("continent_name", &location.continent_name),
        ("country_iso_code", &location.country_iso_code),
        ("country_name", &location.country_name),
        ("region_iso_code", &location.region_iso_code),
        ("region_name", &location.region_name),
        ("city_name", &location.city_name),
    ];
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, name: &str| {
        out.extend_from_slice(if first { b",\"geo\":{\"" } else { b",\"" });
        first = false;
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    };
    for (name, value) in geo {
        if let Some(value) = value {
            member(out, name);
            write_json(out, value);
        }
    }
    if let Some((lat, lon)) = location.coordinates {
        member(out, "location");
        out.extend_from_slice(b"{\"lat\":");
        write_json(out, &lat);
        out.extend_from_slice(b",\"lon\":");
        write_json(out, &lon);
        out.push(b'}');
    }
    if !first {
        out.push(b'}');
    }
    if location.as_number.is_none() && location.as_organization.is_none() {
        return;
    }
    out.extend_from_slice(b",\"as\":{");
    if let Some(number) = location.as_number {
        out.extend_from_slice(format!("\"number\":{number}").as_bytes());
    }
    if let Some(name) = &location.as_organization {
        if location.as_number.is_some() {
            out.push(b',');
        }
        out.extend_from_slice(b"\"organization\":{\"name\":");
        write_json(out, name);
        out.push(b'}');
    }
    out.push(b'}');
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Serializing strings, string lists and maps into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, value);
}

fn source_ip(address: Option<&str>) -> Option<IpAddr> {
    address.and_then(|s| s.trim().parse::<IpAddr>().ok())
}

/// The compatible flavour's text copies of the free-shaped objects.
fn text_copies(record: &Map<String, Value>) -> Map<String, Value> {
    crate::catalogue::free_shaped_fields()
        .filter_map(|name| match record.get(name) {
            Some(value @ Value::Object(_)) => Some((name.to_string(), Value::String(value.to_string()))),
            _ => None,
        })
        .collect()
}

/// A serialized record object with the added fields before its closing
/// brace, on one line. The record is an object with members, so it ends in
/// `}` and takes a comma; a line break in it can only be whitespace between
/// tokens (JSON strings cannot hold one raw). Also says whether the body
/// starts with the record's bytes as they were (no line break replaced).
fn splice(record: &[u8], added: &Additions, provenance: &Provenance) -> (Vec<u8>, bool) {
    let open = record.len().saturating_sub(1);
    // Room for the added fields: the body is never grown and copied again.
    let mut body = Vec::with_capacity(record.len() + 768);
    body.extend_from_slice(&record[..open]);
    let verbatim = memchr::memchr2(b'\n', b'\r', &body).is_none();
    if !verbatim {
        for byte in &mut body {
            if matches!(*byte, b'\n' | b'\r') {
                *byte = b' ';
            }
        }
    }
    let no_members = record[..open].iter().rev().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    added.write(provenance, &mut body);
    if no_members {
        // The comma before the first added member.
        body.remove(open);
    }
    (body, verbatim)
}

fn to_line(record: Map<String, Value>) -> Vec<u8> {
    to_line_value(&Value::Object(record))
}

fn to_line_value(value: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail: its keys are strings.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Granularity;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            10 => Just(Value::Null),
            10 => any::<bool>().prop_map(Value::Bool),
            10 => any::<i64>().prop_map(Value::from),
            10 => (-1e6f64..1e6).prop_map(Value::from),
            10 => "[a-z0-9 .:/\\\"é\n-]{0,12}".prop_map(Value::from),
            10 => Just(Value::from("203.0.113.7")),
            // Around Lucene's term limit, with the path's length either side of it.
            1 => (MAX_TERM_BYTES - 40..MAX_TERM_BYTES).prop_map(|n| Value::from("x".repeat(n))),
        ]
    }

    fn json() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-zA-Z@.]{1,8}", inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Records mixing CloudTrail's own names (right and wrong types),
    /// reserved names and unknown ones.
    fn record() -> impl Strategy<Value = (Vec<(String, Value)>, bool)> {
        let name = prop_oneof![
            3 => prop::sample::select(
                crate::catalogue::CLOUDTRAIL_FIELDS.iter().map(|f| f.name.to_string()).collect::<Vec<_>>()
            ),
            1 => prop::sample::select(vec!["source".to_string(), "trailsearch".into(), "event".into()]),
            2 => "[a-zA-Z]{1,10}",
        ];
        (prop::collection::vec((name, json()), 0..12), any::<bool>())
    }

    fn write(members: &[(String, Value)], pretty: bool) -> Vec<u8> {
        let mut text = String::from("{\"eventTime\":\"2024-03-14T09:26:53Z\"");
        for (name, value) in members {
            let sep = if pretty { ",\n  " } else { "," };
            let value = if pretty {
                serde_json::to_string_pretty(value).unwrap()
            } else {
                value.to_string()
            };
            text.push_str(&format!("{sep}{}:{value}", Value::from(name.as_str())));
        }
        text.push('}');
        text.into_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Splicing is an optimisation only: whenever the fast path takes a
        /// record, the document means exactly what the slow path's does.
        #[test]
        fn the_fast_path_agrees_with_the_tree((members, pretty) in record()) {
            let shaper = Shaper::new(IndexNaming::new("cloudtrail", Granularity::Day).unwrap(), Flavour::OpenSearch);
            let original: Arc<[u8]> = write(&members, pretty).into();
            let provenance = Arc::new(Provenance::s3("b\"1", "k/é"));
            let tree = shaper.shape_tree(original.clone(), provenance.clone());
            match shaper.shape_clean(&original, &provenance) {
                None => {}
                Some(fast) => {
                    let tree = tree.unwrap();
                    prop_assert_eq!(&fast.document.index, &tree.document.index);
                    prop_assert_eq!(&fast.document.id, &tree.document.id);
                    prop_assert_eq!(fast.document.kind, tree.document.kind);
                    prop_assert_eq!(&fast.facts, &tree.facts);
                    prop_assert!(!fast.document.body.contains(&b'\n'));
                    let fast_body: Value = serde_json::from_slice(&fast.document.body).unwrap();
                    let tree_body: Value = serde_json::from_slice(&tree.document.body).unwrap();
                    prop_assert_eq!(fast_body, tree_body);
                    prop_assert_eq!(&*fast.document.original(), &*original);
                }
            }
        }
    }

    #[test]
    fn long_records_take_the_fast_path_unless_a_free_shaped_leaf_is_past_the_term_limit() {
        let shaper = Shaper::new(
            IndexNaming::new("cloudtrail", Granularity::Day).unwrap(),
            Flavour::OpenSearch,
        );
        let provenance = Arc::new(Provenance::local("a.json"));
        let items: Vec<Value> = (0..4000)
            .map(|n| json!({"instanceId": format!("i-{n:012}")}))
            .collect();
        let big = json!({"eventTime": "2024-03-14T09:26:53Z", "eventID": "e1",
            "responseElements": {"instancesSet": {"items": items}}, "userAgent": "x".repeat(40_000)});
        let bytes = serde_json::to_vec(&big).unwrap();
        assert!(bytes.len() > 2 * MAX_TERM_BYTES);
        assert!(
            shaper.shape_clean(&bytes, &provenance).is_some(),
            "many short values: fast"
        );

        // path "requestParameters.policy", '=', then the value: one byte over the limit.
        let over = MAX_TERM_BYTES - "requestParameters.policy".len();
        for (len, fast) in [(over - 1, true), (over, false)] {
            let record = json!({"eventTime": "2024-03-14T09:26:53Z", "eventID": "e2",
                "requestParameters": {"policy": "p".repeat(len)}});
            let bytes = serde_json::to_vec(&record).unwrap();
            assert_eq!(shaper.shape_clean(&bytes, &provenance).is_some(), fast, "{len}");
            let shaped = shaper.shape(&bytes, provenance.clone()).unwrap();
            let body: Value = serde_json::from_slice(&shaped.document.body).unwrap();
            assert_eq!(
                body["trailsearch"]["unindexed"]["requestParameters"]["policy"].is_string(),
                !fast
            );
        }
    }

    #[test]
    fn clean_records_keep_their_original_bytes() {
        let shaper = Shaper::new(
            IndexNaming::new("cloudtrail", Granularity::Day).unwrap(),
            Flavour::OpenSearch,
        );
        let original = b"{\"eventTime\":\"2024-03-14T09:26:53Z\",\n \"n\":1.0e3, \"eventID\":\"e1\" }";
        let shaped = shaper
            .shape(original.as_slice(), Arc::new(Provenance::local("a")))
            .unwrap();
        assert_eq!(
            String::from_utf8(shaped.document.body).unwrap(),
            "{\"eventTime\":\"2024-03-14T09:26:53Z\",  \"n\":1.0e3, \"eventID\":\"e1\" ,\"@timestamp\":\"2024-03-14T09:26:53Z\",\
             \"event\":{\"outcome\":\"success\"},\"trailsearch\":{\"source\":{\"kind\":\"file\",\"key\":\"a\"}}}"
        );
    }
}
