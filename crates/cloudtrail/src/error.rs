//! The reader's error type.

/// Why a CloudTrail log object could not be read.
///
/// Offsets count bytes of the (decompressed) JSON text from its start, so
/// they point into the document whether or not it was gzipped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The underlying reader failed, or the gzip stream is corrupt or
    /// truncated.
    #[error("cannot read the object at byte {offset}{}: {source}", in_record(.index))]
    Io {
        /// Bytes of JSON consumed before the failure.
        offset: u64,
        /// Zero-based index of the record being read when the input failed,
        /// if the failure came inside or just before a record (a gzip stream
        /// cut off mid-record, say).
        index: Option<usize>,
        /// The I/O (or decompression) error.
        #[source]
        source: std::io::Error,
    },
    /// The input is not shaped like a CloudTrail log object
    /// (`{"Records":[...]}`): e.g. it is empty, its top level is not an
    /// object, it has no `"Records"` key, `"Records"` is not an array, or the
    /// text around the array is broken.
    #[error("not a CloudTrail log object: {reason} (at byte {offset})")]
    NotCloudTrail {
        /// Where the problem was found.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// A record past the size limit (64 MiB): no record CloudTrail writes
    /// comes near it, and reading on would hold it all in memory.
    #[error("record {index} is too large: more than {limit} bytes (at byte {offset}); records are read up to 64 MiB")]
    RecordTooLarge {
        /// Zero-based index of the record being read.
        index: usize,
        /// Where the limit was reached.
        offset: u64,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A record (or the separators between records) is structurally broken:
    /// unbalanced brackets, an unterminated string, the input ending
    /// mid-record.
    #[error("malformed JSON in record {index} at byte {offset}: {reason}")]
    Malformed {
        /// Zero-based index of the record being read.
        index: usize,
        /// Where the problem was found.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
}

impl ReadError {
    /// Index of the record involved, when the error concerns one.
    pub fn record_index(&self) -> Option<usize> {
        match self {
            ReadError::Malformed { index, .. } | ReadError::RecordTooLarge { index, .. } => Some(*index),
            ReadError::Io { index, .. } => *index,
            ReadError::NotCloudTrail { .. } => None,
        }
    }
}

/// `" in record N"` for a failure inside a record, else nothing.
fn in_record(index: &Option<usize>) -> String {
    index.map(|i| format!(" in record {i}")).unwrap_or_default()
}
