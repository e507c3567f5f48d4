//! What the index records of log file integrity: `trailsearch.integrity` on
//! each event, and one verdict per log object in `<prefix>_integrity`,
//! whichever of the digest and the object arrives first.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// An event's `trailsearch.integrity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Integrity {
    /// From S3, and no valid digest has vouched for its object yet.
    Pending,
    /// Its object's SHA-256 is the one a valid digest lists.
    Verified,
    /// It differs: the object was changed after delivery.
    Modified,
}

impl Integrity {
    /// The value in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Integrity::Pending => "pending",
            Integrity::Verified => "verified",
            Integrity::Modified => "modified",
        }
    }

    /// Every value, as documents hold them.
    pub const ALL: [&'static str; 3] = ["pending", "verified", "modified"];
}

/// What a valid digest said of one log object, and what its bytes gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The object's bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// The digest that lists it (`bucket/key`).
    pub digest: String,
    /// The SHA-256 it lists.
    pub listed_sha256: String,
    /// What the object's decompressed bytes hash to; `None`: not in the bucket.
    pub sha256: Option<String>,
}

impl Verdict {
    /// What its events carry; `None` when the object is missing (no events
    /// of it can be indexed from S3).
    pub fn integrity(&self) -> Option<Integrity> {
        let found = self.sha256.as_ref()?;
        Some(match found.eq_ignore_ascii_case(&self.listed_sha256) {
            true => Integrity::Verified,
            false => Integrity::Modified,
        })
    }

    /// `verified`, `modified` or `missing`.
    pub fn state(&self) -> &'static str {
        self.integrity().map_or("missing", Integrity::as_str)
    }

    /// Its `_id` in the integrity index: a hash of `bucket/key`, since keys
    /// may be longer than an `_id` may be.
    pub fn id_of(bucket: &str, key: &str) -> String {
        hex::encode(Sha256::digest(format!("{bucket}/{key}").as_bytes()))
    }

    /// Its document.
    pub fn to_json(&self) -> Value {
        json!({
            "bucket": self.bucket,
            "key": self.key,
            "state": self.state(),
            "digest": self.digest,
            "listed_sha256": self.listed_sha256,
            "sha256": self.sha256,
        })
    }

    /// Reads a document [`to_json`](Self::to_json) wrote.
    pub fn from_json(source: &Value) -> Option<Verdict> {
        let text = |name: &str| source[name].as_str().map(str::to_string);
        Some(Verdict {
            bucket: text("bucket")?,
            key: text("key")?,
            digest: text("digest")?,
            listed_sha256: text("listed_sha256")?,
            sha256: text("sha256"),
        })
    }
}

/// Mappings of the integrity index.
pub fn integrity_mappings() -> Value {
    let keyword = json!({"type": "keyword"});
    json!({
        "dynamic": false,
        "properties": {
            "bucket": keyword, "key": keyword, "state": keyword, "digest": keyword,
            "listed_sha256": keyword, "sha256": keyword,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_round_trips_and_judges_its_events() {
        let mut verdict = Verdict {
            bucket: "b".into(),
            key: "AWSLogs/k.json.gz".into(),
            digest: "b/AWSLogs/d.json.gz".into(),
            listed_sha256: "AB".into(),
            sha256: Some("ab".into()),
        };
        assert_eq!(verdict.integrity(), Some(Integrity::Verified));
        assert_eq!(Verdict::from_json(&verdict.to_json()), Some(verdict.clone()));
        verdict.sha256 = Some("cd".into());
        assert_eq!(verdict.state(), "modified");
        verdict.sha256 = None;
        assert_eq!((verdict.integrity(), verdict.state()), (None, "missing"));
        assert_eq!(Verdict::from_json(&verdict.to_json()), Some(verdict));
        assert_eq!(Verdict::id_of("b", "k").len(), 64);
    }
}
