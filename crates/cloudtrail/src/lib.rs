//! CloudTrail's file formats, for trailsearch.
//!
//! CloudTrail delivers its events as log objects, `{"Records":[...]}`, most
//! often gzipped, under S3 keys of a fixed shape. This crate reads both:
//!
//! - [`RecordReader`] streams the elements of `"Records"` out of a log
//!   object, gzip or plain, as [`Record`]s holding each element's exact
//!   original bytes. It scans the text's structure without building a tree,
//!   so memory is bounded by the largest record, however large the object.
//!   Failures are [`ReadError`]s, which say at which byte and, where one is
//!   involved, in which record.
//! - [`LogKey`] parses a log file's S3 key (or local path) into its
//!   organization, account, [`LogKind`], region, date and file name.
//! - [`Trigger::decode`] turns a Lambda invocation payload (an S3 event
//!   notification direct or via SNS or SQS, CloudTrail's own SNS
//!   notification, an EventBridge event, an S3 Batch Operations job) into
//!   [`ObjectNotice`]s, each tagged with the [`Origin`] the Lambda's reply
//!   must name; [`sqs_batch_response`] and [`batch_response`] build those
//!   replies. Undecodable payloads are [`TriggerError`]s, except that one
//!   bad SQS message or batch task fails only itself.
//!
//! It knows nothing of networks, S3 clients or search clusters: it takes
//! any [`std::io::Read`], strings and JSON values, and leaves fetching and
//! indexing to its callers.
//!
//! ```
//! use trailsearch_cloudtrail::{LogKey, LogKind, RecordReader};
//!
//! let object = br#"{"Records":[{"eventName":"GetObject"}, {"eventName":"PutObject"}]}"#;
//! let mut reader = RecordReader::new(&object[..]);
//! let mut names = Vec::new();
//! while let Some(record) = reader.next_record()? {
//!     names.push(String::from_utf8(record.bytes).unwrap());
//! }
//! assert_eq!(names, [r#"{"eventName":"GetObject"}"#, r#"{"eventName":"PutObject"}"#]);
//! assert_eq!(reader.records_read(), 2);
//!
//! let key = LogKey::parse(
//!     "trails/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/f.json.gz",
//! )
//! .unwrap();
//! assert_eq!((key.account.as_str(), key.kind), ("111122223333", LogKind::CloudTrail));
//! # Ok::<(), trailsearch_cloudtrail::ReadError>(())
//! ```

#![deny(missing_docs)]

pub mod digest;
mod error;
mod key;
mod reader;
mod trigger;

pub use crate::{
    error::ReadError,
    key::{LogKey, LogKind},
    reader::{Record, RecordReader},
    trigger::{
        batch_response, sqs_batch_response, BatchResultCode, EventBatch, ObjectNotice, Origin, StreamSource,
        Trigger, TriggerError,
    },
};

#[cfg(test)]
mod tests;
