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
    /// The signature does not verify: the digest was changed, or moved
    /// (its bucket and key are signed).
    #[error("the signature does not verify: the digest was changed or moved from {0}")]
    BadSignature(String),
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
    match sha256_hex(decompressed).eq_ignore_ascii_case(&listed.hash_value) {
        true => LogVerdict::Verified,
        false => LogVerdict::Modified,
    }
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
            let der = base64::engine::general_purpose::STANDARD
                .decode(listed.value.trim())
                .map_err(|e| PublicKeysError(format!("PublicKeyList[{i}].Value is not base64: {e}")))?;
            let key = RsaPublicKey::from_pkcs1_der(&der).map_err(|e| {
                PublicKeysError(format!("PublicKeyList[{i}].Value is not a PKCS#1 RSA key: {e}"))
            })?;
            keys.by_fingerprint
                .insert(listed.fingerprint.to_ascii_lowercase(), key);
        }
        Ok(keys)
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
}
