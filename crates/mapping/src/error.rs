//! Errors of the mapping crate.

/// A record that cannot be placed in an index; it belongs in the dead-letter index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeError {
    /// The record's bytes are not JSON.
    #[error("the record is not valid JSON: {reason}")]
    InvalidJson {
        /// The parser's message.
        reason: String,
    },
    /// The record is JSON but not an object.
    #[error("the record is a JSON {found}, not an object")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// No `eventTime`: the record cannot be placed in a dated index.
    #[error("the record has no eventTime, so it cannot be placed in a dated index")]
    MissingEventTime,
    /// `eventTime` is not an RFC 3339 timestamp.
    #[error("the record's eventTime {value:?} is not an RFC 3339 timestamp")]
    BadEventTime {
        /// The value found (shortened).
        value: String,
    },
}

/// A setting the mapping crate cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The index prefix breaks the cluster's naming rules.
    #[error("index prefix {prefix:?} is not usable: {why}")]
    Prefix {
        /// The prefix given.
        prefix: String,
        /// What is wrong.
        why: String,
    },
    /// Unknown granularity.
    #[error("granularity {0:?} is not one of: day, month")]
    Granularity(String),
}
