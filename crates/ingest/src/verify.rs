//! `verify`: walks the digests and log objects of an S3 prefix in a window
//! and judges each, as CloudTrail's log file integrity validation documents
//! it. The window is the delivery time in the keys (a digest's is the end of
//! the hour it covers). Every digest read is valid or invalid; every log
//! object in the window, or listed by a digest in it, is verified, modified,
//! missing, unlisted or pending.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use trailsearch_cloudtrail::digest::{
    judge_hash, verify_chain, ChainBreak, ChainId, DigestProblem, LogFile, LogVerdict, SignedDigest,
};
use trailsearch_cloudtrail::{LogKey, LogKind};

use crate::error::IngestError;
use crate::filter::EventFilter;
use crate::integrity::{hash_object, Unhashed};
use crate::keys::KeyRing;
use crate::source::ObjectRef;
use crate::store::ObjectStore;

/// Log objects delivered this close to the window's end may not be listed by
/// a digest yet (a digest covers an hour and is delivered after it): pending.
pub const PENDING: Duration = Duration::hours(2);

/// Objects read at once.
const CONCURRENCY: usize = 16;

/// The counts, for one trail and region or in total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Digests read.
    pub digests: u64,
    /// Digests whose signature verifies with a key CloudTrail published.
    pub digests_valid: u64,
    /// Bad signature, unknown key, moved, unreadable.
    pub digests_invalid: u64,
    /// Log objects judged.
    pub logs: u64,
    /// The SHA-256 of its decompressed bytes is the one a valid digest lists.
    pub logs_verified: u64,
    /// It differs.
    pub logs_modified: u64,
    /// Listed by a valid digest, absent (or unreadable).
    pub logs_missing: u64,
    /// In the window, listed by no valid digest: it may have been planted.
    pub logs_unlisted: u64,
    /// In the window's last two hours and listed by no digest yet.
    pub logs_pending: u64,
    /// Digests whose predecessor is missing or does not match.
    pub chain_breaks: u64,
    /// Periods no digest covers: logging or validation was off.
    pub gaps: u64,
}

impl Counts {
    /// Each digest valid or invalid; each log object in exactly one state.
    pub fn is_balanced(&self) -> bool {
        self.digests == self.digests_valid + self.digests_invalid
            && self.logs
                == self.logs_verified
                    + self.logs_modified
                    + self.logs_missing
                    + self.logs_unlisted
                    + self.logs_pending
    }

    /// Nothing but verified (and pending) objects, valid digests and whole
    /// chains, and at least one digest.
    pub fn is_success(&self) -> bool {
        self.digests > 0
            && self.digests_invalid
                + self.logs_modified
                + self.logs_missing
                + self.logs_unlisted
                + self.chain_breaks
                + self.gaps
                == 0
    }

    fn add(&mut self, other: &Counts) {
        self.digests += other.digests;
        self.digests_valid += other.digests_valid;
        self.digests_invalid += other.digests_invalid;
        self.logs += other.logs;
        self.logs_verified += other.logs_verified;
        self.logs_modified += other.logs_modified;
        self.logs_missing += other.logs_missing;
        self.logs_unlisted += other.logs_unlisted;
        self.logs_pending += other.logs_pending;
        self.chain_breaks += other.chain_breaks;
        self.gaps += other.gaps;
    }
}

/// One trail in one region (`trail` is `None` for log objects no digest
/// lists: their names do not say which trail wrote them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCounts {
    /// `o-…` for an organization trail.
    pub organization: Option<String>,
    /// The account.
    pub account: String,
    /// The trail, where a digest names it.
    pub trail: Option<String>,
    /// The region.
    pub region: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// What was found wrong, naming the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `digest_invalid`, `log_modified`, `log_missing`, `log_unlisted`,
    /// `chain_break` or `gap`.
    pub kind: &'static str,
    /// `s3://bucket/key` of the object.
    pub object: String,
    /// What, in words.
    pub detail: String,
}

/// What `verify` found: the totals (flattened at the top, as the README's
/// report keys), each trail and region, and every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// The totals.
    #[serde(flatten)]
    pub total: Counts,
    /// By account, trail and region.
    pub chains: Vec<ChainCounts>,
    /// Every problem, in key order.
    pub problems: Vec<Problem>,
}

/// Progress of a run: objects read of those to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyProgress {
    /// Read so far.
    pub done: u64,
    /// To read (digests, then log objects once the digests are known).
    pub total: u64,
}

type Row = (Option<String>, String, Option<String>, String);

/// Verifies `s3://bucket/prefix` over the filter's window (`from`, `to`,
/// accounts, regions; `to` defaults to now).
pub async fn verify_prefix(
    store: &ObjectStore,
    bucket: &str,
    prefix: &str,
    filter: &EventFilter,
    keys: &mut KeyRing,
    progress: &(dyn Fn(VerifyProgress) + Sync),
) -> Result<VerifyReport, IngestError> {
    let end = filter.to.unwrap_or_else(Utc::now);
    let in_window = |t: DateTime<Utc>| filter.from.is_none_or(|from| t >= from) && t <= end;
    let (listed, _) = store.list_integrity(bucket, prefix, filter).await?;
    let mut digest_keys = Vec::new();
    let mut log_keys: BTreeMap<String, (LogKey, DateTime<Utc>)> = BTreeMap::new();
    for (key, _) in listed {
        let Some(parsed) = LogKey::parse(&key) else {
            continue;
        };
        let Some(delivered) = parsed.delivered() else {
            continue;
        };
        let wanted = (filter.accounts.is_empty() || filter.accounts.contains(&parsed.account))
            && (filter.regions.is_empty() || filter.regions.contains(&parsed.region));
        if !wanted || !in_window(delivered) {
            continue;
        }
        match parsed.kind {
            LogKind::Digest => digest_keys.push(key),
            LogKind::CloudTrail => {
                log_keys.insert(key, (parsed, delivered));
            }
            _ => {}
        }
    }

    let mut done = 0u64;
    let mut total = digest_keys.len() as u64;
    progress(VerifyProgress { done, total });
    let mut read = stream::iter(digest_keys.iter().cloned())
        .map(|key| async move {
            let read = store.read_digest(bucket, &key).await;
            (key, read)
        })
        .buffer_unordered(CONCURRENCY);
    let mut chains: BTreeMap<ChainId, Vec<(String, SignedDigest)>> = BTreeMap::new();
    let mut report = Report::default();
    while let Some((key, read)) = read.next().await {
        done += 1;
        progress(VerifyProgress { done, total });
        let Some((chain, _)) = ChainId::of_key(&key) else {
            continue;
        };
        let parsed = read
            .map_err(|f| DigestProblem::Unreadable(f.message))
            .and_then(|(bytes, signature)| SignedDigest::parse(&bytes, signature.as_deref()));
        match parsed {
            Ok(digest) => chains.entry(chain).or_default().push((key, digest)),
            Err(problem) => {
                let row = report.row_of(&chain);
                row.digests += 1;
                row.digests_invalid += 1;
                report.problem("digest_invalid", bucket, &key, problem.to_string());
            }
        }
    }
    drop(read);

    for (chain, digests) in &chains {
        for (_, digest) in digests {
            keys.prepare_for(&chain.region, &digest.digest, end)
                .await
                .map_err(|e| IngestError::PublicKeys(e.0))?;
        }
    }

    // Which log objects valid digests vouch for, and which only invalid ones list.
    let present: HashSet<&str> = digest_keys.iter().map(String::as_str).collect();
    let mut vouched: BTreeMap<String, (LogFile, ChainId)> = BTreeMap::new();
    let mut listed_by_invalid: HashMap<String, String> = HashMap::new();
    for (chain, digests) in chains {
        let verdict = verify_chain(bucket, &digests, keys.keys());
        let row = report.row_of(&chain);
        row.digests += verdict.digests;
        row.digests_valid += verdict.digests_valid;
        row.digests_invalid += verdict.invalid.len() as u64;
        row.chain_breaks += verdict.chain_breaks.len() as u64;
        row.gaps += verdict.gaps.len() as u64;
        for (key, problem) in &verdict.invalid {
            report.problem("digest_invalid", bucket, key, problem.to_string());
            if let Some((_, digest)) = digests.iter().find(|(k, _)| k == key) {
                for log in &digest.digest.log_files {
                    listed_by_invalid.insert(log.s3_object.clone(), key.clone());
                }
            }
        }
        for (key, others) in &verdict.chain_breaks {
            let detail = match others {
                ChainBreak::OtherPrevious { named, .. } if !present.contains(named.as_str()) => {
                    format!("its previous digest {named} is not in the bucket: deleted, or moved")
                }
                others => others.to_string(),
            };
            report.problem("chain_break", bucket, key, detail);
        }
        for (key, gap) in &verdict.gaps {
            report.problem(
                "gap",
                bucket,
                key,
                format!("{gap}: logging or validation was off"),
            );
        }
        for (log_key, log) in verdict.vouched {
            vouched.insert(log_key, (log, chain.clone()));
        }
    }

    // Hash every vouched object; judge the window's others.
    total += vouched.len() as u64;
    progress(VerifyProgress { done, total });
    let mut hashed = stream::iter(vouched.iter())
        .map(|(key, (log, _))| {
            let store = store.clone();
            let object = ObjectRef::S3 {
                bucket: log.s3_bucket.clone(),
                key: key.clone(),
            };
            async move {
                let hash = tokio::task::spawn_blocking(move || hash_object(&store, &object))
                    .await
                    .unwrap_or_else(|e| Err(Unhashed::Unreadable(e.to_string())));
                (key, hash)
            }
        })
        .buffer_unordered(CONCURRENCY);
    let mut hashes = HashMap::new();
    while let Some((key, hash)) = hashed.next().await {
        done += 1;
        progress(VerifyProgress { done, total });
        hashes.insert(key.clone(), hash);
    }
    drop(hashed);
    for (key, (log, chain)) in &vouched {
        let object = format!("s3://{}/{key}", log.s3_bucket);
        let row = report.row_of(chain);
        row.logs += 1;
        match hashes.remove(key) {
            Some(Ok(hash)) => match judge_hash(log, &hash) {
                LogVerdict::Verified => row.logs_verified += 1,
                _ => {
                    row.logs_modified += 1;
                    report.push(Problem {
                        kind: "log_modified",
                        object,
                        detail: format!(
                            "its SHA-256 is {hash}, not the {} its digest lists: changed after delivery",
                            log.hash_value
                        ),
                    });
                }
            },
            Some(Err(Unhashed::Absent)) | None => {
                row.logs_missing += 1;
                report.push(Problem {
                    kind: "log_missing",
                    object,
                    detail: "listed by a valid digest, not in the bucket: deleted".into(),
                });
            }
            Some(Err(Unhashed::Unreadable(why))) => {
                row.logs_modified += 1;
                report.push(Problem {
                    kind: "log_modified",
                    object,
                    detail: format!("listed by a valid digest, but not the gzip CloudTrail wrote: {why}"),
                });
            }
        }
    }
    for (key, (parsed, delivered)) in &log_keys {
        if vouched.contains_key(key) {
            continue;
        }
        let row = report.row(&(
            parsed.org_id.clone(),
            parsed.account.clone(),
            None,
            parsed.region.clone(),
        ));
        row.logs += 1;
        if let Some(digest) = listed_by_invalid.get(key) {
            row.logs_unlisted += 1;
            report.problem(
                "log_unlisted",
                bucket,
                key,
                format!("listed only by the invalid digest {digest}"),
            );
        } else if *delivered > end - PENDING {
            row.logs_pending += 1;
        } else {
            row.logs_unlisted += 1;
            report.problem(
                "log_unlisted",
                bucket,
                key,
                "no digest lists it: it may have been put there after delivery".into(),
            );
        }
    }
    Ok(report.finish())
}

#[derive(Default)]
struct Report {
    rows: BTreeMap<Row, Counts>,
    problems: Vec<Problem>,
}

impl Report {
    fn row_of(&mut self, chain: &ChainId) -> &mut Counts {
        let row = (
            chain.organization.clone(),
            chain.account.clone(),
            Some(chain.trail.clone()),
            chain.region.clone(),
        );
        self.rows.entry(row).or_default()
    }

    fn row(&mut self, row: &Row) -> &mut Counts {
        self.rows.entry(row.clone()).or_default()
    }

    fn problem(&mut self, kind: &'static str, bucket: &str, key: &str, detail: String) {
        self.push(Problem {
            kind,
            object: format!("s3://{bucket}/{key}"),
            detail,
        });
    }

    fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    fn finish(mut self) -> VerifyReport {
        let mut total = Counts::default();
        let chains = self
            .rows
            .into_iter()
            .map(|((organization, account, trail, region), counts)| {
                total.add(&counts);
                ChainCounts {
                    organization,
                    account,
                    trail,
                    region,
                    counts,
                }
            })
            .collect();
        self.problems
            .sort_by(|a, b| (&a.object, a.kind).cmp(&(&b.object, b.kind)));
        VerifyReport {
            total,
            chains,
            problems: self.problems,
        }
    }
}
