//! Errors of the sink crate.

use std::time::Duration;

/// What went wrong talking to the cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A setting cannot be used.
    #[error("{0}")]
    Config(String),
    /// The request did not complete (connection refused or reset, timeout, TLS).
    #[error("{method} {url}: {reason}")]
    Transport {
        /// HTTP method.
        method: String,
        /// The URL without credentials.
        url: String,
        /// What happened, with its causes.
        reason: String,
        /// Whether it was a timeout.
        timeout: bool,
    },
    /// The answer was larger than the request can explain.
    #[error("{method} {url}: the answer is larger than {limit} bytes, more than this request can explain; it was not read")]
    AnswerTooLarge {
        /// HTTP method.
        method: String,
        /// The URL without credentials.
        url: String,
        /// Bytes read at most.
        limit: usize,
    },
    /// The cluster answered with an error status.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        /// HTTP method.
        method: String,
        /// The URL without credentials.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The cluster's answer is not what the API documents.
    #[error("unexpected answer from {url}: {reason}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// SigV4 signing failed, or no AWS credentials were found.
    #[error("AWS SigV4: {0}")]
    Signing(String),
    /// The cluster is a version trailsearch cannot index into.
    #[error("unsupported cluster: {0}")]
    Unsupported(String),
    /// Another index template already claims the event indices.
    #[error(
        "index template {name:?} (priority {priority}, patterns {patterns:?}) already claims {pattern} \
         with a priority >= {ours}; trailsearch will not override it. Delete it, lower its priority, \
         or choose another --index-prefix"
    )]
    TemplateConflict {
        /// The other template's name.
        name: String,
        /// Its priority.
        priority: u64,
        /// Its index patterns.
        patterns: Vec<String>,
        /// Our pattern.
        pattern: String,
        /// Our priority.
        ours: u32,
    },
    /// Retries stopped: the maximum retry time was reached.
    #[error("gave up after {attempts} attempts in {elapsed:?} (--max-retry-time): {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The last error.
        last: Box<SinkError>,
    },
    /// The dead-letter index rejected a dead letter.
    #[error("the dead-letter index {index} rejected a record: {reason}")]
    DeadLetterRejected {
        /// The dead-letter index.
        index: String,
        /// The cluster's reason.
        reason: String,
    },
}

impl SinkError {
    /// Whether sending the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            SinkError::Transport { .. } => true,
            SinkError::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
