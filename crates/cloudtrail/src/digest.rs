//! CloudTrail log file integrity validation, as AWS documents it for custom
//! implementations: every hour a trail writes, per region, a digest that
//! lists the log objects delivered in that hour with the SHA-256 of each
//! (of the decompressed bytes), chained to the previous digest, and signs
//! it with SHA256withRSA over
//! `digestEndTime \n bucket/key \n hex SHA-256 of the decompressed digest \n
//! previous signature (or "null")`; the hex signature is the digest
//! object's `signature` user metadata. Pure code: the caller reads the
//! objects and hands in the public keys (CloudTrail's `ListPublicKeys`).

use std::collections::HashMap;

use base64::Engine;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// One digest object's content (its decompressed JSON).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    /// The trail's account.
    pub aws_account_id: String,
    /// The hour it covers: start.
    pub digest_start_time: String,
    /// The hour it covers: end; first line of the signing string.
    pub digest_end_time: String,
    /// Where the digest itself was written.
    pub digest_s3_bucket: String,
    /// Its key.
    pub digest_s3_object: String,
    /// Which public key signed it.
    pub digest_public_key_fingerprint: String,
    /// `SHA256withRSA`.
    pub digest_signature_algorithm: String,
    /// The previous digest of the chain: its key (absent for the first).
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    /// Its SHA-256, hex.
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    /// Its signature, hex; absent (`null`) for the first digest.
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    /// The log objects delivered in the hour.
    #[serde(default)]
    pub log_files: Vec<LogFile>,
}

impl Digest {
    /// The hour it covers, `(start, end)`, when both times parse.
    pub fn period(&self) -> Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let time = |text: &str| {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        Some((time(&self.digest_start_time)?, time(&self.digest_end_time)?))
    }
}

/// A log object a digest vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFile {
    /// Its bucket.
    pub s3_bucket: String,
    /// Its key.
    pub s3_object: String,
    /// SHA-256 of its decompressed bytes, hex.
    pub hash_value: String,
    /// `SHA-256`.
    pub hash_algorithm: String,
}

/// Why a digest is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestProblem {
    /// The object is not a digest's JSON.
    #[error("not a CloudTrail digest: {0}")]
    Unreadable(String),
    /// Signed with a key the public keys given do not hold.
    #[error("signed with public key {fingerprint}, which the public keys given do not hold")]
    UnknownKey {
        /// `digestPublicKeyFingerprint`.
        fingerprint: String,
    },
    /// An algorithm other than SHA256withRSA.
    #[error("signature algorithm {0:?} is not SHA256withRSA")]
    Algorithm(String),
    /// No `signature` metadata, or not hex.
    #[error("the digest object's signature metadata is missing or not hex")]
    NoSignature,
    /// The signature does not verify: the digest or its signature was
    /// changed, or it was moved (its bucket and key are signed).
    #[error("the signature does not verify: the digest or its signature metadata was changed after delivery to {0}")]
    BadSignature(String),
    /// Read from another place than the one it was written to and signed for.
    #[error("moved: it says it was delivered to {0}")]
    Moved(String),
}

/// A digest and what it needs to be verified.
#[derive(Debug, Clone)]
pub struct SignedDigest {
    /// Its content.
    pub digest: Digest,
    /// SHA-256 of its decompressed bytes, hex.
    pub hash: String,
    /// Its `signature` metadata, hex.
    pub signature: Option<String>,
}

impl SignedDigest {
    /// Reads a digest's decompressed bytes and its `signature` metadata.
    pub fn parse(decompressed: &[u8], signature: Option<&str>) -> Result<Self, DigestProblem> {
        let digest: Digest =
            serde_json::from_slice(decompressed).map_err(|e| DigestProblem::Unreadable(e.to_string()))?;
        Ok(SignedDigest {
            digest,
            hash: sha256_hex(decompressed),
            signature: signature.map(|s| s.trim().to_ascii_lowercase()),
        })
    }

    /// The string CloudTrail signs.
    pub fn signing_string(&self) -> String {
        let d = &self.digest;
        format!(
            "{}\n{}/{}\n{}\n{}",
            d.digest_end_time,
            d.digest_s3_bucket,
            d.digest_s3_object,
            self.hash,
            d.previous_digest_signature.as_deref().unwrap_or("null")
        )
    }

    /// Verifies a digest read from `bucket`/`key`: it must name that place
    /// (the signature covers the place it names, so a copy elsewhere would
    /// verify), and its signature must verify.
    pub fn verify_at(&self, bucket: &str, key: &str, keys: &PublicKeys) -> Result<(), DigestProblem> {
        let d = &self.digest;
        if d.digest_s3_bucket != bucket || d.digest_s3_object != key {
            return Err(DigestProblem::Moved(format!(
                "{}/{}",
                d.digest_s3_bucket, d.digest_s3_object
            )));
        }
        self.verify(keys)
    }

    /// Verifies the signature with the key its fingerprint names.
    pub fn verify(&self, keys: &PublicKeys) -> Result<(), DigestProblem> {
        let d = &self.digest;
        if d.digest_signature_algorithm != "SHA256withRSA" {
            return Err(DigestProblem::Algorithm(d.digest_signature_algorithm.clone()));
        }
        let key = keys
            .get(&d.digest_public_key_fingerprint)
            .ok_or_else(|| DigestProblem::UnknownKey {
                fingerprint: d.digest_public_key_fingerprint.clone(),
            })?;
        let bytes = self
            .signature
            .as_deref()
            .and_then(|s| hex::decode(s).ok())
            .ok_or(DigestProblem::NoSignature)?;
        let signature = Signature::try_from(bytes.as_slice()).map_err(|_| DigestProblem::NoSignature)?;
        VerifyingKey::<Sha256>::new(key.clone())
            .verify(self.signing_string().as_bytes(), &signature)
            .map_err(|_| {
                DigestProblem::BadSignature(format!("{}/{}", d.digest_s3_bucket, d.digest_s3_object))
            })
    }
}

/// How a digest links to the one before it in its chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainBreak {
    /// It names a previous digest that is not the one before it.
    #[error("it names {named} as previous digest, not {found}")]
    OtherPrevious {
        /// `previousDigestS3Object`.
        named: String,
        /// The key of the digest before it.
        found: String,
    },
    /// The previous digest's hash differs from the one recorded.
    #[error("the previous digest's SHA-256 is {found}, not the {recorded} it recorded")]
    Hash {
        /// `previousDigestHashValue`.
        recorded: String,
        /// Of the previous digest's bytes.
        found: String,
    },
    /// The previous digest's signature differs from the one recorded.
    #[error("the previous digest's signature is not the one it recorded")]
    Signature,
    /// Time passes between the previous digest's end and its start: no
    /// digest covers it (logging or validation was off).
    #[error("no digest covers {from} to {to}")]
    Gap {
        /// The previous digest's end.
        from: String,
        /// This one's start.
        to: String,
    },
}

/// Checks that `next` follows `previous` in one trail's chain in one region.
pub fn check_link(previous: &SignedDigest, next: &SignedDigest) -> Result<(), ChainBreak> {
    let (p, n) = (&previous.digest, &next.digest);
    // CloudTrail starts a new chain (no previous digest) when logging or
    // validation is turned back on: the time between is a gap, not a break.
    if n.previous_digest_s3_object.is_none() && n.digest_start_time != p.digest_end_time {
        return Err(ChainBreak::Gap {
            from: p.digest_end_time.clone(),
            to: n.digest_start_time.clone(),
        });
    }
    if n.previous_digest_s3_object.as_deref() != Some(p.digest_s3_object.as_str()) {
        return Err(ChainBreak::OtherPrevious {
            named: n
                .previous_digest_s3_object
                .clone()
                .unwrap_or_else(|| "none".into()),
            found: p.digest_s3_object.clone(),
        });
    }
    let recorded = n.previous_digest_hash_value.clone().unwrap_or_default();
    if !recorded.eq_ignore_ascii_case(&previous.hash) {
        return Err(ChainBreak::Hash {
            recorded,
            found: previous.hash.clone(),
        });
    }
    let same_signature = match (&n.previous_digest_signature, &previous.signature) {
        (Some(recorded), Some(theirs)) => recorded.eq_ignore_ascii_case(theirs),
        _ => false,
    };
    if !same_signature {
        return Err(ChainBreak::Signature);
    }
    if n.digest_start_time != p.digest_end_time {
        return Err(ChainBreak::Gap {
            from: p.digest_end_time.clone(),
            to: n.digest_start_time.clone(),
        });
    }
    Ok(())
}

/// What a log object's bytes say against the digest that lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogVerdict {
    /// The SHA-256 of its decompressed bytes is the one listed.
    Verified,
    /// It differs: the object was changed after delivery.
    Modified,
}

/// Judges a log object's decompressed bytes against its listing.
pub fn judge_log(listed: &LogFile, decompressed: &[u8]) -> LogVerdict {
    judge_hash(listed, &sha256_hex(decompressed))
}

/// Judges a log object by the SHA-256 (hex) of its decompressed bytes.
pub fn judge_hash(listed: &LogFile, sha256: &str) -> LogVerdict {
    match sha256.eq_ignore_ascii_case(&listed.hash_value) {
        true => LogVerdict::Verified,
        false => LogVerdict::Modified,
    }
}

/// A gzip log object's decompressed bytes, hashed (SHA-256) as they are
/// read, so that one pass can both parse the records and check the hash.
pub struct HashingGzReader<R: std::io::Read> {
    // bufread, so that what follows the stream stays in the buffer to be seen.
    decoder: flate2::bufread::GzDecoder<std::io::BufReader<R>>,
    hasher: Sha256,
}

impl<R: std::io::Read> HashingGzReader<R> {
    /// Reads the gzip object `compressed`.
    pub fn new(compressed: R) -> Self {
        HashingGzReader {
            decoder: flate2::bufread::GzDecoder::new(std::io::BufReader::new(compressed)),
            hasher: Sha256::new(),
        }
    }

    /// Reads what is left and returns the SHA-256 (hex) of every
    /// decompressed byte. Bytes after the gzip stream are an error, as they
    /// are to AWS's own validator: CloudTrail writes one gzip member per object.
    pub fn finish(mut self) -> std::io::Result<String> {
        use std::io::Read;
        std::io::copy(&mut self, &mut std::io::sink())?;
        if self.decoder.into_inner().read(&mut [0u8; 1])? != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "unexpected data after the end of the gzip stream",
            ));
        }
        Ok(hex::encode(self.hasher.finalize()))
    }
}

impl<R: std::io::Read> std::io::Read for HashingGzReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.decoder.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The SHA-256 (hex) of a gzip object's decompressed bytes, streamed
/// ([`HashingGzReader`]).
pub fn sha256_of_gzip(compressed: impl std::io::Read) -> std::io::Result<String> {
    HashingGzReader::new(compressed).finish()
}

/// Which chain a digest belongs to, from its key's file name
/// (`ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz`):
/// several trails may write into one prefix, and each region of each trail
/// is its own chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainId {
    /// The organization (`o-…`) of an organization trail.
    pub organization: Option<String>,
    /// The account.
    pub account: String,
    /// The region the digest covers.
    pub region: String,
    /// The trail's name (it may hold `_`).
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
}

impl ChainId {
    /// The chain of a digest key, and whether the digest is a backfill one
    /// (outside the hourly chain); `None` for a key in no digest's grammar.
    pub fn of_key(key: &str) -> Option<(ChainId, bool)> {
        let name = key.rsplit('/').next()?;
        let stem = name
            .strip_suffix(".json.gz")
            .or_else(|| name.strip_suffix(".json"))?;
        let (stem, backfill) = match stem.strip_suffix("_backfill") {
            Some(stem) => (stem, true),
            None => (stem, false),
        };
        let parts: Vec<&str> = stem.split('_').collect();
        if parts.len() < 6 || parts[1] != "CloudTrail-Digest" {
            return None;
        }
        // ACCOUNT, CloudTrail-Digest, REGION, TRAIL (may hold `_`), HOMEREGION, TIMESTAMP.
        let trail = parts[3..parts.len() - 2].join("_");
        let organization = key
            .split('/')
            .skip_while(|c| *c != "AWSLogs")
            .nth(1)
            .filter(|c| c.starts_with("o-"))
            .map(str::to_string);
        Some((
            ChainId {
                organization,
                account: parts[0].to_string(),
                region: parts[2].to_string(),
                trail,
                home_region: parts[parts.len() - 2].to_string(),
            },
            backfill,
        ))
    }
}

impl std::fmt::Display for ChainId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.organization {
            Some(org) => write!(f, "{org}/{} {} {}", self.account, self.trail, self.region),
            None => write!(f, "{} {} {}", self.account, self.trail, self.region),
        }
    }
}

/// What one chain's digests in a window say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainVerdict {
    /// Digests read.
    pub digests: u64,
    /// Digests whose signature verifies.
    pub digests_valid: u64,
    /// Digests that do not verify, with why, by key.
    pub invalid: Vec<(String, DigestProblem)>,
    /// Links that do not hold, by the later digest's key.
    pub chain_breaks: Vec<(String, ChainBreak)>,
    /// Periods no digest covers.
    pub gaps: Vec<(String, ChainBreak)>,
    /// The log objects the valid digests vouch for: key -> listing.
    pub vouched: HashMap<String, LogFile>,
}

/// Verifies one chain's digests read from `bucket` (in any order): each
/// place and signature, each link between consecutive hourly digests
/// (backfill digests vouch for their objects outside the chain), and
/// gathers the log objects vouched for. Only valid digests vouch.
pub fn verify_chain(bucket: &str, digests: &[(String, SignedDigest)], keys: &PublicKeys) -> ChainVerdict {
    let mut verdict = ChainVerdict::default();
    let mut hourly: Vec<&(String, SignedDigest)> = Vec::new();
    for entry in digests {
        let (key, digest) = entry;
        verdict.digests += 1;
        match digest.verify_at(bucket, key, keys) {
            Ok(()) => {
                verdict.digests_valid += 1;
                for log in &digest.digest.log_files {
                    verdict.vouched.insert(log.s3_object.clone(), log.clone());
                }
            }
            Err(problem) => verdict.invalid.push((key.clone(), problem)),
        }
        let backfill = ChainId::of_key(key).is_some_and(|(_, backfill)| backfill);
        if !backfill {
            hourly.push(entry);
        }
    }
    hourly.sort_by(|a, b| a.1.digest.digest_end_time.cmp(&b.1.digest.digest_end_time));
    for pair in hourly.windows(2) {
        let ((_, previous), (key, next)) = (pair[0], pair[1]);
        match check_link(previous, next) {
            Ok(()) => {}
            Err(gap @ ChainBreak::Gap { .. }) => verdict.gaps.push((key.clone(), gap)),
            Err(others) => verdict.chain_breaks.push((key.clone(), others)),
        }
    }
    verdict
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// CloudTrail's public keys, by fingerprint.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    by_fingerprint: HashMap<String, RsaPublicKey>,
}

/// Why public keys could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("public keys: {0}")]
pub struct PublicKeysError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyList {
    public_key_list: Vec<ListedKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedKey {
    value: String,
    fingerprint: String,
}

impl PublicKeys {
    /// Reads `aws cloudtrail list-public-keys` output: `{"PublicKeyList":
    /// [{"Value": <base64 DER PKCS#1>, "Fingerprint": ..}, ..]}`.
    pub fn from_list_public_keys(json: &[u8]) -> Result<Self, PublicKeysError> {
        let list: KeyList = serde_json::from_slice(json).map_err(|e| {
            PublicKeysError(format!(
                "not ListPublicKeys output ({{\"PublicKeyList\":[..]}}): {e}"
            ))
        })?;
        let mut keys = PublicKeys::default();
        for (i, listed) in list.public_key_list.into_iter().enumerate() {
            let value = base64::engine::general_purpose::STANDARD
                .decode(listed.value.trim())
                .map_err(|e| PublicKeysError(format!("PublicKeyList[{i}].Value is not base64: {e}")))?;
            keys.insert(&listed.fingerprint, &value)
                .map_err(|e| PublicKeysError(format!("PublicKeyList[{i}].Value: {e}")))?;
        }
        Ok(keys)
    }

    /// Adds a key as `ListPublicKeys` returns its `Value` blob: DER PKCS#1,
    /// or that DER in base64 (the blob CloudTrail sends holds the base64
    /// text, and AWS's own validator decodes it once more, so what
    /// `aws cloudtrail list-public-keys` prints may be encoded twice).
    pub fn insert(&mut self, fingerprint: &str, value: &[u8]) -> Result<(), PublicKeysError> {
        let key = RsaPublicKey::from_pkcs1_der(value).or_else(|der_error| {
            let text = std::str::from_utf8(value).map_err(|_| der_error)?;
            let der = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| der_error)?;
            RsaPublicKey::from_pkcs1_der(&der)
        });
        let key = key.map_err(|e| PublicKeysError(format!("not a PKCS#1 RSA public key: {e}")))?;
        self.by_fingerprint.insert(fingerprint.to_ascii_lowercase(), key);
        Ok(())
    }

    /// Whether a key of this fingerprint is held.
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.get(fingerprint).is_some()
    }

    fn get(&self, fingerprint: &str) -> Option<&RsaPublicKey> {
        self.by_fingerprint.get(&fingerprint.to_ascii_lowercase())
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.by_fingerprint.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
    use rsa::pkcs1v15::SigningKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use serde_json::json;

    const KEY: &str = include_str!("../../../tests/fixtures/digest/test-signing-key.pem");
    const FINGERPRINT: &str = "67b9fa73676d86966b449dd677850753";

    fn signer() -> (SigningKey<Sha256>, PublicKeys) {
        let private = rsa::RsaPrivateKey::from_pkcs1_pem(KEY).unwrap();
        let der = private.to_public_key().to_pkcs1_der().unwrap();
        let list = json!({"PublicKeyList": [{
            "Value": base64::engine::general_purpose::STANDARD.encode(der.as_bytes()),
            "ValidityStartTime": "2024-01-01T00:00:00Z", "ValidityEndTime": "2025-01-01T00:00:00Z",
            "Fingerprint": FINGERPRINT}]});
        let keys = PublicKeys::from_list_public_keys(list.to_string().as_bytes()).unwrap();
        (SigningKey::<Sha256>::new(private), keys)
    }

    /// A digest of the hour ending at `end`, signed, chained to `previous`.
    fn digest(
        end: &str,
        start: &str,
        previous: Option<&SignedDigest>,
        logs: &[(&str, &[u8])],
    ) -> (Vec<u8>, SignedDigest) {
        let key = format!("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/14/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_{end}.json.gz");
        let body = json!({
            "awsAccountId": "111122223333", "digestStartTime": start, "digestEndTime": end,
            "digestS3Bucket": "trail-bucket", "digestS3Object": key,
            "digestPublicKeyFingerprint": FINGERPRINT, "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": end, "oldestEventTime": start,
            "previousDigestS3Bucket": previous.map(|_| "trail-bucket"),
            "previousDigestS3Object": previous.map(|p| p.digest.digest_s3_object.clone()),
            "previousDigestHashValue": previous.map(|p| p.hash.clone()),
            "previousDigestHashAlgorithm": "SHA-256",
            "previousDigestSignature": previous.and_then(|p| p.signature.clone()),
            "logFiles": logs.iter().map(|(k, bytes)| json!({"s3Bucket": "trail-bucket", "s3Object": k,
                "hashValue": sha256_hex(bytes), "hashAlgorithm": "SHA-256"})).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        let unsigned = SignedDigest::parse(&body, None).unwrap();
        let (signing, _) = signer();
        let signature = hex::encode(signing.sign(unsigned.signing_string().as_bytes()).to_bytes());
        let signed = SignedDigest::parse(&body, Some(&signature)).unwrap();
        (body, signed)
    }

    #[test]
    fn a_signed_chain_verifies_and_every_change_is_named() {
        let (_, keys) = signer();
        let log: &[u8] = br#"{"Records":[{"eventID":"e1"}]}"#;
        let (_, first) = digest(
            "2024-03-14T01:00:00Z",
            "2024-03-14T00:00:00Z",
            None,
            &[("AWSLogs/a.json.gz", log)],
        );
        let (second_bytes, second) =
            digest("2024-03-14T02:00:00Z", "2024-03-14T01:00:00Z", Some(&first), &[]);
        assert!(
            first.signing_string().ends_with("\nnull"),
            "the first digest signs null"
        );
        first.verify(&keys).unwrap();
        second.verify(&keys).unwrap();
        check_link(&first, &second).unwrap();
        assert_eq!(judge_log(&first.digest.log_files[0], log), LogVerdict::Verified);
        assert_eq!(
            judge_log(&first.digest.log_files[0], br#"{"Records":[]}"#),
            LogVerdict::Modified
        );

        // A changed digest, or the same one under another key, no longer verifies.
        let tampered = String::from_utf8(second_bytes.clone())
            .unwrap()
            .replace("T02:00:00Z", "T02:00:01Z");
        let tampered = SignedDigest::parse(tampered.as_bytes(), second.signature.as_deref()).unwrap();
        assert!(matches!(
            tampered.verify(&keys),
            Err(DigestProblem::BadSignature(_))
        ));
        let mut moved = second.clone();
        moved.digest.digest_s3_object = "AWSLogs/elsewhere.json.gz".into();
        assert!(matches!(moved.verify(&keys), Err(DigestProblem::BadSignature(_))));
        let mut unknown = second.clone();
        unknown.digest.digest_public_key_fingerprint = "00".into();
        assert!(matches!(
            unknown.verify(&keys),
            Err(DigestProblem::UnknownKey { .. })
        ));
        let unsigned = SignedDigest::parse(&second_bytes, None).unwrap();
        assert_eq!(unsigned.verify(&keys), Err(DigestProblem::NoSignature));

        // Links: another previous, a changed previous, a gap.
        let (_, stray) = digest("2024-03-14T02:00:00Z", "2024-03-14T01:00:00Z", None, &[]);
        assert!(matches!(
            check_link(&first, &stray),
            Err(ChainBreak::OtherPrevious { .. })
        ));
        let mut changed_first = first.clone();
        changed_first.hash = "ab".into();
        assert!(matches!(
            check_link(&changed_first, &second),
            Err(ChainBreak::Hash { .. })
        ));
        let (_, late) = digest("2024-03-14T04:00:00Z", "2024-03-14T03:00:00Z", Some(&second), &[]);
        assert_eq!(
            check_link(&second, &late),
            Err(ChainBreak::Gap {
                from: "2024-03-14T02:00:00Z".into(),
                to: "2024-03-14T03:00:00Z".into()
            })
        );
        assert!(SignedDigest::parse(b"{}", None).is_err());
        assert!(PublicKeys::from_list_public_keys(b"[]").is_err());
    }

    #[test]
    fn a_chain_in_a_window_counts_every_digest_link_and_vouched_object() {
        let (_, keys) = signer();
        let log: &[u8] = br#"{"Records":[]}"#;
        let (_, first) = digest(
            "2024-03-14T01:00:00Z",
            "2024-03-14T00:00:00Z",
            None,
            &[("AWSLogs/a.json.gz", log)],
        );
        let (second_bytes, second) = digest(
            "2024-03-14T02:00:00Z",
            "2024-03-14T01:00:00Z",
            Some(&first),
            &[("AWSLogs/b.json.gz", log)],
        );
        let (_, fourth) = digest("2024-03-14T04:00:00Z", "2024-03-14T03:00:00Z", Some(&second), &[]);
        // The listed hash rewritten to vouch for another object: the bytes changed.
        let text = String::from_utf8(second_bytes).unwrap();
        let listed = &second.digest.log_files[0].hash_value;
        let forged_bytes = text.replace(listed.as_str(), &"0".repeat(64));
        let forged = SignedDigest::parse(forged_bytes.as_bytes(), second.signature.as_deref()).unwrap();
        let key = |d: &SignedDigest| d.digest.digest_s3_object.clone();
        // In any order; the third hour has no digest.
        let verdict = verify_chain(
            "trail-bucket",
            &[
                (key(&fourth), fourth.clone()),
                (key(&first), first.clone()),
                (key(&second), second.clone()),
            ],
            &keys,
        );
        assert_eq!((verdict.digests, verdict.digests_valid), (3, 3));
        assert!(verdict.invalid.is_empty() && verdict.chain_breaks.is_empty());
        assert_eq!(verdict.gaps.len(), 1);
        assert_eq!(verdict.gaps[0].0, key(&fourth));
        let mut vouched: Vec<&String> = verdict.vouched.keys().collect();
        vouched.sort();
        assert_eq!(vouched, ["AWSLogs/a.json.gz", "AWSLogs/b.json.gz"]);
        // A forged digest vouches for nothing; a digest read from another key is moved.
        let verdict = verify_chain(
            "trail-bucket",
            &[(key(&first), first.clone()), (key(&second), forged)],
            &keys,
        );
        assert_eq!(verdict.digests_valid, 1);
        assert!(matches!(verdict.invalid[0].1, DigestProblem::BadSignature(_)));
        assert!(!verdict.vouched.contains_key("AWSLogs/b.json.gz"));
        let verdict = verify_chain(
            "trail-bucket",
            &[("AWSLogs/copied.json.gz".into(), first.clone())],
            &keys,
        );
        assert!(
            verdict.invalid[0].1.to_string().starts_with("moved: "),
            "{:?}",
            verdict.invalid
        );
        // The same key in another bucket is moved too: the signature alone would pass it.
        let elsewhere = verify_chain("other-bucket", &[(key(&first), first.clone())], &keys);
        assert!(
            matches!(elsewhere.invalid[0].1, DigestProblem::Moved(_)),
            "{:?}",
            elsewhere.invalid
        );
        assert!(
            verdict.invalid[0]
                .1
                .to_string()
                .contains("moved: it says it was delivered to trail-bucket/AWSLogs/111122223333"),
            "{:?}",
            verdict.invalid
        );

        let (chain, backfill) = ChainId::of_key(&key(&first)).unwrap();
        assert_eq!(
            (chain.to_string(), backfill),
            ("111122223333 trail us-east-1".to_string(), false)
        );
        let (chain, backfill) = ChainId::of_key(
            "AWSLogs/o-1/111122223333/CloudTrail-Digest/eu-west-1/2024/03/14/111122223333_CloudTrail-Digest_eu-west-1_org_trail_us-east-1_20240314T020000Z_backfill.json.gz",
        )
        .unwrap();
        assert_eq!(
            (chain.trail.as_str(), chain.region.as_str(), backfill),
            ("org_trail", "eu-west-1", true)
        );
        assert_eq!(ChainId::of_key("AWSLogs/x.json.gz"), None);
        assert_eq!(chain.organization.as_deref(), Some("o-1"));
        assert_eq!(chain.home_region, "us-east-1");
    }

    #[test]
    fn a_restarted_chain_is_a_gap_and_keys_read_in_either_encoding() {
        let (_, first) = digest("2024-03-14T01:00:00Z", "2024-03-14T00:00:00Z", None, &[]);
        let (_, restarted) = digest("2024-03-14T03:00:00Z", "2024-03-14T02:00:00Z", None, &[]);
        assert_eq!(
            check_link(&first, &restarted),
            Err(ChainBreak::Gap {
                from: "2024-03-14T01:00:00Z".into(),
                to: "2024-03-14T02:00:00Z".into()
            })
        );
        // The DER itself, or its base64 text (as ListPublicKeys' blob holds it).
        let private = rsa::RsaPrivateKey::from_pkcs1_pem(KEY).unwrap();
        let der = private.to_public_key().to_pkcs1_der().unwrap();
        let text = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        let mut keys = PublicKeys::default();
        keys.insert("AA", der.as_bytes()).unwrap();
        keys.insert("bb", text.as_bytes()).unwrap();
        assert!(keys.contains("aa") && keys.contains("BB"));
        assert!(keys.insert("cc", b"not a key").is_err());
        let twice = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        let list = json!({"PublicKeyList": [{"Value": twice, "Fingerprint": FINGERPRINT}]});
        assert_eq!(
            PublicKeys::from_list_public_keys(list.to_string().as_bytes())
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_gzip_object_hashes_its_decompressed_bytes_and_refuses_trailing_data() {
        use std::io::Write;
        let plain = br#"{"Records":[]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(plain).unwrap();
        let mut gz = gz.finish().unwrap();
        assert_eq!(sha256_of_gzip(gz.as_slice()).unwrap(), sha256_hex(plain));
        gz.extend_from_slice(b"x");
        assert!(sha256_of_gzip(gz.as_slice()).is_err());
        assert!(sha256_of_gzip(&b"plain"[..]).is_err());
    }
}
