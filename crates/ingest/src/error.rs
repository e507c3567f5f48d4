//! Errors of the ingest crate.

use std::path::PathBuf;

/// A source that cannot be listed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A path cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not an `s3://bucket/prefix` URL.
    #[error("{0:?} is not an S3 URL: use s3://bucket/prefix")]
    BadS3Url(String),
    /// An S3 prefix cannot be listed.
    #[error("cannot list {url}: {reason}")]
    Listing {
        /// The S3 URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// CloudTrail's public keys cannot be had.
    #[error("public keys: {0}")]
    PublicKeys(String),
    /// The GeoIP/ASN databases cannot be used.
    #[error("GeoIP: {0}")]
    GeoIp(String),
}
