//! One strict pass over a record that decides whether its original bytes can
//! be sent as they are: valid JSON, no duplicate key at any depth (real
//! clusters refuse them, while `serde_json` keeps the last), no reserved
//! name, and every known field of its catalogued type. Nothing is built:
//! values are walked, and only the few strings the document needs are kept,
//! borrowed from the record.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::actor::Identity;
use crate::catalogue::{cloudtrail_field, is_reserved, Field, FieldType};
use crate::document::MAX_TERM_BYTES;
use crate::gather::{At, Gathered};

/// What the document needs from a clean record.
#[derive(Debug, Default)]
pub(crate) struct CleanRecord<'a> {
    pub event_time: Option<Cow<'a, str>>,
    pub event_id: Option<Cow<'a, str>>,
    pub source_ip: Option<Cow<'a, str>>,
    pub account: Option<Cow<'a, str>>,
    pub region: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub event_source: Option<Cow<'a, str>>,
    /// What the derived fields are made of.
    pub gathered: Gathered<'a>,
    /// `errorCode` or `errorMessage` is there and not null.
    pub failed: bool,
}

/// Checks a record; `Err` means "not clean": the caller takes the slow path,
/// which says precisely what is wrong.
pub(crate) fn check_record(bytes: &[u8]) -> Result<CleanRecord<'_>, serde_json::Error> {
    // One UTF-8 check of the whole record lets the parser skip one per string.
    let text = std::str::from_utf8(bytes).map_err(|_| not_clean::<serde_json::Error>("invalid UTF-8"))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let clean = de.deserialize_map(TopLevel)?;
    de.end()?;
    Ok(clean)
}

/// Gathers from a parsed record (the slow path's) with the same walk as
/// the strict pass's, so both paths derive the same fields.
pub(crate) fn gathered_of(record: &Map<String, Value>) -> Gathered<'_> {
    let mut gathered = Gathered::default();
    for (name, value) in record {
        let Some(at) = At::top(name) else { continue };
        if matches!(at, At::Identity(_)) {
            if !value.is_object() {
                continue;
            }
            gathered.identity = Some(Identity::default());
        }
        let mut keys = KeyStack::default();
        let walk = Conform {
            shape: Shape::Any,
            keys: &mut keys,
            capture: Some((at, &mut gathered)),
            term_path: None,
        };
        // A walk of any shape over a tree, which holds no duplicate key, cannot fail.
        let _ = walk.deserialize(value);
    }
    gathered
}

/// Whether a value has the JSON shape a field of this type accepts: the
/// same rules the strict pass applies to record bytes.
pub(crate) fn conforms(ty: FieldType, value: &Value) -> bool {
    let mut keys = KeyStack::default();
    Conform::new(Shape::Field(ty), &mut keys)
        .deserialize(value)
        .is_ok()
}

fn not_clean<E: de::Error>(why: &str) -> E {
    E::custom(why)
}

struct TopLevel;

impl<'de> Visitor<'de> for TopLevel {
    type Value = CleanRecord<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CleanRecord<'de>, A::Error> {
        let mut clean = CleanRecord::default();
        let mut keys = KeyStack::default();
        while let Some(Key(name)) = map.next_key()? {
            if is_reserved(&name) {
                return Err(not_clean("a reserved name"));
            }
            let field = cloudtrail_field(&name);
            let slot = match &*name {
                "eventTime" => Some(&mut clean.event_time),
                "eventID" => Some(&mut clean.event_id),
                "sourceIPAddress" => Some(&mut clean.source_ip),
                "recipientAccountId" => Some(&mut clean.account),
                "awsRegion" => Some(&mut clean.region),
                "userAgent" => Some(&mut clean.user_agent),
                "eventSource" => Some(&mut clean.event_source),
                _ => None,
            };
            let error_field = matches!(&*name, "errorCode" | "errorMessage");
            let at = At::top(&name);
            let name_len = name.len();
            if !keys.insert(0, name) {
                return Err(not_clean("a duplicate key"));
            }
            let shape = field.map_or(Shape::Any, |field| Shape::Field(field.ty));
            if matches!(at, Some(At::Identity(_))) {
                clean.gathered.identity = Some(Identity::default());
            }
            let capture = at.map(|at| (at, &mut clean.gathered));
            // The slow path moves what would exceed the term limit out of
            // free-shaped objects and unknown top-level ones: watch those.
            let free_shaped = field.is_none_or(|field| field.ty == FieldType::FreeShaped);
            let term_path = free_shaped.then_some(name_len);
            let seen_value = map.next_value_seed(Conform {
                shape,
                keys: &mut keys,
                capture,
                term_path,
            })?;
            if error_field && !matches!(seen_value, Seen::Null) {
                clean.failed = true;
            }
            if let (Some(slot), Seen::Str(text)) = (slot, seen_value) {
                *slot = Some(text);
            }
        }
        Ok(clean)
    }
}

/// A map key, borrowed from the record unless it has escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(StrVisitor).map(Key)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// The keys of the objects being walked, innermost last: each object's
/// keys follow its parent's and are dropped when it ends, so one buffer
/// serves a whole record. Each key carries a cheap fingerprint so that
/// comparing keys rarely touches their bytes.
#[derive(Default)]
struct KeyStack<'de> {
    keys: Vec<(u64, Cow<'de, str>)>,
}

impl<'de> KeyStack<'de> {
    /// Whether `key` is new among the keys from `start` on. Linear: objects
    /// in records have tens of keys, and a 5,000-key object costs
    /// milliseconds, once.
    fn insert(&mut self, start: usize, key: Cow<'de, str>) -> bool {
        let print = fingerprint(key.as_bytes());
        let current = self.keys.get(start..).unwrap_or_default();
        if current.iter().any(|(p, k)| *p == print && *k == key) {
            return false;
        }
        self.keys.push((print, key));
        true
    }
}

/// Length and first and last eight bytes: distinct for nearly all pairs of
/// distinct keys, and equal keys always agree.
fn fingerprint(bytes: &[u8]) -> u64 {
    let word = |part: &[u8]| {
        let mut buf = [0u8; 8];
        buf[..part.len()].copy_from_slice(part);
        u64::from_le_bytes(buf)
    };
    let head = word(&bytes[..bytes.len().min(8)]);
    let tail = word(&bytes[bytes.len().saturating_sub(8)..]);
    head ^ tail.rotate_left(29) ^ (bytes.len() as u64).rotate_left(58)
}

/// What a value was, as far as the top level cares.
enum Seen<'de> {
    Null,
    Str(Cow<'de, str>),
    Other,
}

/// What a value must be.
#[derive(Clone, Copy)]
enum Shape {
    /// Anything.
    Any,
    /// What a field of this type accepts (null always).
    Field(FieldType),
    /// An object with these known sub-fields (not null).
    ObjectOf(&'static [Field]),
    /// A string, number, boolean or null.
    Scalar,
}

/// Walks a value checking its shape; fails on a duplicate key anywhere.
/// Where the derived fields come from it also keeps their strings (see
/// `gather.rs`), so they cost no second pass.
struct Conform<'k, 'de> {
    shape: Shape,
    keys: &'k mut KeyStack<'de>,
    capture: Option<(At, &'k mut Gathered<'de>)>,
    /// Inside a free-shaped object: the length of the dotted path to this
    /// value, which with a string leaf makes the term Lucene indexes.
    term_path: Option<usize>,
}

impl<'k, 'de> Conform<'k, 'de> {
    fn new(shape: Shape, keys: &'k mut KeyStack<'de>) -> Self {
        Conform {
            shape,
            keys,
            capture: None,
            term_path: None,
        }
    }

    fn scalar<E: de::Error>(self) -> Result<Seen<'de>, E> {
        match self.shape {
            Shape::Any | Shape::Scalar => Ok(Seen::Other),
            Shape::Field(ty) if ty.takes_scalars() => Ok(Seen::Other),
            _ => Err(not_clean("a value of the wrong type")),
        }
    }

    fn string<E: de::Error>(self, text: Cow<'de, str>) -> Result<Seen<'de>, E> {
        if self
            .term_path
            .is_some_and(|path| path + 1 + text.len() > MAX_TERM_BYTES)
        {
            return Err(not_clean("a value past the term limit"));
        }
        if let Some((at, gathered)) = self.capture {
            gathered.keep(at, text.clone());
        }
        let fits = match self.shape {
            Shape::Any | Shape::Scalar => true,
            Shape::Field(ty) => match ty {
                ty if ty.takes_scalars() => true,
                FieldType::Date => true,
                FieldType::Boolean => matches!(&*text, "true" | "false"),
                FieldType::Ip => text.parse::<std::net::IpAddr>().is_ok(),
                _ => false,
            },
            Shape::ObjectOf(_) => false,
        };
        if fits {
            Ok(Seen::Str(text))
        } else {
            Err(not_clean("a string of the wrong kind"))
        }
    }
}

impl<'de> DeserializeSeed<'de> for Conform<'_, 'de> {
    type Value = Seen<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Seen<'de>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Conform<'_, 'de> {
    type Value = Seen<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Seen<'de>, E> {
        match self.shape {
            Shape::ObjectOf(_) => Err(not_clean("null where an object belongs")),
            _ => Ok(Seen::Null),
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Seen<'de>, E> {
        match self.shape {
            Shape::Field(FieldType::Boolean) => Ok(Seen::Other),
            _ => self.scalar(),
        }
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Seen<'de>, E> {
        match self.shape {
            Shape::Field(FieldType::Long) => Ok(Seen::Other),
            _ => self.scalar(),
        }
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Seen<'de>, E> {
        match self.shape {
            Shape::Field(FieldType::Long) => Ok(Seen::Other),
            _ => self.scalar(),
        }
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Seen<'de>, E> {
        self.scalar()
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Seen<'de>, E> {
        self.string(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Seen<'de>, E> {
        self.string(Cow::Owned(v.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seen<'de>, A::Error> {
        let item = match self.shape {
            Shape::Any => Shape::Any,
            Shape::Field(ty) if ty.takes_scalars() => Shape::Scalar,
            Shape::Field(FieldType::ObjectArray(fields)) => Shape::ObjectOf(fields),
            _ => return Err(not_clean("an array where none belongs")),
        };
        // Only `resources` gathers from its items; elsewhere an array where
        // a string belongs names nothing.
        let mut capture = match self.capture {
            Some((At::Resources, gathered)) => Some(gathered),
            _ => None,
        };
        // Items share the array's path.
        while seq
            .next_element_seed(Conform {
                term_path: self.term_path,
                capture: capture.as_deref_mut().map(|gathered| (At::Resources, gathered)),
                ..Conform::new(item, &mut *self.keys)
            })?
            .is_some()
        {}
        Ok(Seen::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen<'de>, A::Error> {
        let known: &[Field] = match self.shape {
            Shape::Any | Shape::Field(FieldType::FreeShaped | FieldType::GeoPoint) => &[],
            Shape::ObjectOf(fields)
            | Shape::Field(FieldType::Object(fields) | FieldType::ObjectArray(fields)) => fields,
            _ => return Err(not_clean("an object where none belongs")),
        };
        let start = self.keys.keys.len();
        let mut capture = self.capture;
        while let Some(Key(key)) = map.next_key()? {
            let child = known.iter().find(|field| field.name == key);
            let child_capture = match &mut capture {
                Some((at, identity)) => at.child(&key).map(|path| (path, &mut **identity)),
                None => None,
            };
            let key_len = key.len();
            if !self.keys.insert(start, key) {
                return Err(not_clean("a duplicate key"));
            }
            let shape = child.map_or(Shape::Any, |field| Shape::Field(field.ty));
            let term_path = self.term_path.map(|path| path + 1 + key_len);
            map.next_value_seed(Conform {
                shape,
                keys: &mut *self.keys,
                capture: child_capture,
                term_path,
            })?;
        }
        self.keys.keys.truncate(start);
        Ok(Seen::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_records_pass_and_keep_what_the_document_needs() {
        let clean = check_record(
            br#"{"eventTime":"2024-01-01T00:00:00Z","x":[1,{"a":2}],"requestParameters":null,"errorCode":"E","awsRegion":"eu\u002dwest-1"}"#,
        )
        .unwrap();
        assert_eq!(clean.event_time.as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(clean.region.as_deref(), Some("eu-west-1"));
        assert!(clean.failed);
        assert!(clean.event_id.is_none());
    }

    #[test]
    fn anything_the_slow_path_would_change_is_not_clean() {
        let many_keys: String = (0..40).map(|i| format!("\"k{i}\":1,")).collect();
        for bad in [
            r#"{"a":1,"a":2}"#.to_string(),
            r#"{"x":{"b":{"c":1,"c":1}}}"#.to_string(),
            format!(r#"{{"x":{{{many_keys}"k7":2}}}}"#),
            r#"{"userIdentity":{"type":"A","type":"B"}}"#.to_string(),
            r#"{"userIdentity":"bob"}"#.to_string(),
            r#"{"userIdentity":{"sessionContext":{"attributes":[]}}}"#.to_string(),
            r#"{"resources":[null]}"#.to_string(),
            r#"{"readOnly":"yes"}"#.to_string(),
            r#"{"eventName":{"a":1}}"#.to_string(),
            r#"{"eventName":[[1]]}"#.to_string(),
            r#"{"requestParameters":[1]}"#.to_string(),
            r#"{"source":"x"}"#.to_string(),
            r#"{"trailsearch":{}}"#.to_string(),
            r#"{"a":1} x"#.to_string(),
            r#"[1]"#.to_string(),
            r#"{"a":"\ud800"}"#.to_string(),
        ] {
            assert!(check_record(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(check_record(b"{\"a\":\"\xff\"}").is_err());
        let distinct: String = (0..40).map(|i| format!("\"k{i}\":1,")).collect();
        let fine = format!(r#"{{"x":{{{distinct}"k40":2}},"resources":{{"ARN":"a"}},"readOnly":"true"}}"#);
        assert!(check_record(fine.as_bytes()).is_ok());
    }

    #[test]
    fn escaped_keys_compare_by_their_text() {
        assert!(check_record(br#"{"x":{"a":1,"\u0061":2}}"#).is_err());
    }
}
