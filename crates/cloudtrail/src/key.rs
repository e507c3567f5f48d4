//! The S3 key grammar CloudTrail writes its log files under.

use chrono::NaiveDate;

/// Which kind of file a CloudTrail key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LogKind {
    /// Event log files, under `CloudTrail/`.
    CloudTrail,
    /// Integrity digest files, under `CloudTrail-Digest/`.
    Digest,
    /// Insights event files, under `CloudTrail-Insight/`.
    Insight,
}

impl LogKind {
    fn from_dir(dir: &str) -> Option<LogKind> {
        match dir {
            "CloudTrail" => Some(LogKind::CloudTrail),
            "CloudTrail-Digest" => Some(LogKind::Digest),
            "CloudTrail-Insight" => Some(LogKind::Insight),
            _ => None,
        }
    }
}

/// The parts of a CloudTrail log file's S3 key (or local path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// The organization ID (`o-...`) of an organization trail.
    pub org_id: Option<String>,
    /// The 12-digit account the events belong to.
    pub account: String,
    /// Which kind of file this is.
    pub kind: LogKind,
    /// The region directory, e.g. `us-east-1`.
    pub region: String,
    /// The date directory (UTC day the file was delivered for).
    pub date: NaiveDate,
    /// The last component, e.g. `123456789012_CloudTrail_us-east-1_..._abc.json.gz`.
    pub file_name: String,
}

impl LogKey {
    /// Parses `[prefix/]AWSLogs/[o-orgid/]<12-digit account>/CloudTrail|CloudTrail-Digest|CloudTrail-Insight/<region>/YYYY/MM/DD/<file>`.
    ///
    /// Anything may precede `AWSLogs/` (a trail's S3 key prefix, or a local
    /// directory path; both `/` and the OS path separator split
    /// components). When `AWSLogs` occurs more than once, the last
    /// occurrence that parses wins. Returns `None` when the key is not in
    /// this grammar (e.g. `AWSLogs/123/Config/...` or a plain file name) or
    /// the date is invalid.
    pub fn parse(key: &str) -> Option<LogKey> {
        let parts: Vec<&str> = key.split(['/', std::path::MAIN_SEPARATOR]).collect();
        parts
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, part)| **part == "AWSLogs")
            .find_map(|(i, _)| parse_after_awslogs(parts.get(i + 1..)?))
    }
}

impl LogKey {
    /// When CloudTrail delivered the file, from the timestamp in its name
    /// (`YYYYMMDDTHHMMZ` for logs; digests' `YYYYMMDDTHHMMSSZ` is the end of
    /// the hour they cover).
    pub fn delivered(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let stem = self.file_name.split('.').next()?;
        let stem = stem.strip_suffix("_backfill").unwrap_or(stem);
        let parts: Vec<&str> = stem.split('_').collect();
        let stamp = match self.kind {
            LogKind::Digest => *parts.last()?,
            _ => *parts.get(3)?,
        };
        let format = match stamp.len() {
            16 => "%Y%m%dT%H%M%SZ",
            _ => "%Y%m%dT%H%MZ",
        };
        chrono::NaiveDateTime::parse_from_str(stamp, format)
            .ok()
            .map(|t| t.and_utc())
    }
}

impl LogKey {
    /// Parses a file name alone, as CloudTrail names its files
    /// (`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_UNIQUE.json.gz`; digests
    /// `ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ.json.gz`),
    /// for copies that lost the folder layout (`aws s3 cp --recursive` of
    /// one day into a flat folder). The date is the file's timestamp's.
    pub fn parse_file_name(name: &str) -> Option<LogKey> {
        let stem = name.strip_suffix(".gz").unwrap_or(name).strip_suffix(".json")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let (account, kind, region) = (*parts.first()?, *parts.get(1)?, *parts.get(2)?);
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let kind = LogKind::from_dir(kind)?;
        let stamp = match kind {
            LogKind::Digest => *parts.last()?,
            _ => *parts.get(3)?,
        };
        if parts.len() < 5 || stamp.as_bytes().get(8) != Some(&b'T') || !stamp.ends_with('Z') {
            return None;
        }
        let date = NaiveDate::from_ymd_opt(
            digits(stamp.get(0..4)?, 4)?,
            digits(stamp.get(4..6)?, 2)?,
            digits(stamp.get(6..8)?, 2)?,
        )?;
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        region_ok.then(|| LogKey {
            org_id: None,
            account: account.to_owned(),
            kind,
            region: region.to_owned(),
            date,
            file_name: name.to_owned(),
        })
    }
}

/// Parses the components after `AWSLogs`; they must end with the file name.
fn parse_after_awslogs(parts: &[&str]) -> Option<LogKey> {
    let (org_id, rest) = match parts.split_first()? {
        (first, rest) if first.starts_with("o-") => {
            is_org_id(first).then_some(())?;
            (Some((*first).to_owned()), rest)
        }
        _ => (None, parts),
    };
    let [account, kind, region, year, month, day, file_name] = rest else {
        return None;
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kind = LogKind::from_dir(kind)?;
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok || file_name.is_empty() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(digits(year, 4)?, digits(month, 2)?, digits(day, 2)?)?;
    Some(LogKey {
        org_id,
        account: (*account).to_owned(),
        kind,
        region: (*region).to_owned(),
        date,
        file_name: (*file_name).to_owned(),
    })
}

/// `o-` followed by 10 to 32 lowercase letters or digits.
fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Exactly `width` ASCII digits, as a number.
fn digits<T: std::str::FromStr>(s: &str, width: usize) -> Option<T> {
    if s.len() == width && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}
