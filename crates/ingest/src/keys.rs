//! CloudTrail's public keys for digest validation: from a file in
//! `aws cloudtrail list-public-keys` form, or from CloudTrail's
//! `ListPublicKeys` in each digest's region, cached by fingerprint. Never
//! from the bucket or the digest itself.

use std::collections::HashSet;

use aws_sdk_cloudtrail::error::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use trailsearch_cloudtrail::digest::{Digest, PublicKeys};

use crate::store::sdk_error_text;

/// Why public keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// The public keys digests are verified with (by default none: every
/// digest names a key not held).
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: PublicKeys,
    api: Option<aws_config::SdkConfig>,
    /// Regions and fingerprints already asked for: one call each at most.
    asked: HashSet<(String, String)>,
    calls: u64,
}

impl KeyRing {
    /// Keys given in a file (`--public-keys`, `TRAILSEARCH_PUBLIC_KEYS`);
    /// CloudTrail is never called.
    pub fn from_file(keys: PublicKeys) -> Self {
        KeyRing {
            keys,
            api: None,
            asked: HashSet::new(),
            calls: 0,
        }
    }

    /// Reads a file in `aws cloudtrail list-public-keys` form (one file may
    /// hold several regions' keys).
    pub fn from_path(path: &std::path::Path) -> Result<Self, KeyError> {
        let bytes = std::fs::read(path).map_err(|e| KeyError(format!("{}: {e}", path.display())))?;
        let keys = PublicKeys::from_list_public_keys(&bytes).map_err(|e| {
            KeyError(format!(
                "{}: {e}; write it with aws cloudtrail list-public-keys --start-time T --end-time T",
                path.display()
            ))
        })?;
        Ok(KeyRing::from_file(keys))
    }

    /// Keys from CloudTrail's `ListPublicKeys`, through the default AWS chain.
    pub async fn from_environment() -> Self {
        KeyRing::from_cloudtrail(aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await)
    }

    /// Keys from CloudTrail's `ListPublicKeys`, through the standard AWS
    /// chain (`AWS_ENDPOINT_URL_CLOUDTRAIL` for a VPC endpoint or a test
    /// stand-in).
    pub fn from_cloudtrail(config: aws_config::SdkConfig) -> Self {
        KeyRing {
            keys: PublicKeys::default(),
            api: Some(config),
            asked: HashSet::new(),
            calls: 0,
        }
    }

    /// The keys held so far.
    pub fn keys(&self) -> &PublicKeys {
        &self.keys
    }

    /// `ListPublicKeys` calls made.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// Makes sure the key that signed `digest` (of `region`) is held, asking
    /// for the hour it covers (the hour before `otherwise` when its times do
    /// not parse).
    pub async fn prepare_for(
        &mut self,
        region: &str,
        digest: &Digest,
        otherwise: DateTime<Utc>,
    ) -> Result<(), KeyError> {
        let (since, until) = digest
            .period()
            .unwrap_or((otherwise - chrono::Duration::hours(1), otherwise));
        self.prepare(region, &digest.digest_public_key_fingerprint, since, until)
            .await
    }

    /// Makes sure the key `fingerprint` of `region` is held, if CloudTrail
    /// has it for `start..end`: asks once per region and fingerprint, and
    /// keeps every key the answer holds. A key that stays unknown is the
    /// digest's problem, reported with it; only a failed call is an error.
    pub async fn prepare(
        &mut self,
        region: &str,
        fingerprint: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(), KeyError> {
        let Some(config) = &self.api else { return Ok(()) };
        if self.keys.contains(fingerprint)
            || !self.asked.insert((region.to_string(), fingerprint.to_string()))
        {
            return Ok(());
        }
        let client = aws_sdk_cloudtrail::Client::from_conf(
            aws_sdk_cloudtrail::config::Builder::from(config)
                .region(aws_sdk_cloudtrail::config::Region::new(region.to_string()))
                .build(),
        );
        // Keys rotate: a key signing near the window's end may start after
        // it, so the range reaches two hours further, as AWS's validator's does.
        let end = end + chrono::Duration::hours(2);
        let mut token = None;
        loop {
            self.calls += 1;
            let out = client
                .list_public_keys()
                .start_time(sdk_time(start))
                .end_time(sdk_time(end))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    let why = match (e.code(), e.raw_response()) {
                        // Not CloudTrail's error shape: say what came back, not the raw body.
                        (None, Some(raw)) => {
                            format!("HTTP {} with no CloudTrail error", raw.status().as_u16())
                        }
                        _ => sdk_error_text(&e),
                    };
                    KeyError(format!(
                        "CloudTrail ListPublicKeys in {region} failed: {why}; the role needs \
                         cloudtrail:ListPublicKeys (in a VPC, a CloudTrail endpoint), or give the keys \
                         with --public-keys FILE (aws cloudtrail list-public-keys output)"
                    ))
                })?;
            for key in out.public_key_list() {
                if let (Some(value), Some(fingerprint)) = (key.value(), key.fingerprint()) {
                    self.keys.insert(fingerprint, value.as_ref()).map_err(|e| {
                        KeyError(format!(
                            "ListPublicKeys in {region} returned key {fingerprint}: {e}"
                        ))
                    })?;
                }
            }
            match out.next_token() {
                Some(next) => token = Some(next.to_string()),
                None => return Ok(()),
            }
        }
    }
}

fn sdk_time(t: DateTime<Utc>) -> aws_sdk_cloudtrail::primitives::DateTime {
    aws_sdk_cloudtrail::primitives::DateTime::from_secs(t.timestamp())
}
