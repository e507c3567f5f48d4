//! Which events a run keeps: `--from/--to`, `--account`, `--region`, and
//! field patterns (`--include` / `--exclude`, e.g. `eventName:Describe*`).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use trailsearch_cloudtrail::LogKey;
use trailsearch_mapping::EventFacts;
use trailsearch_sink::glob_match;

/// `field:pattern`: a record field (dotted path, CloudTrail's names) and a
/// `*` glob its value must match (`readOnly:true`, `eventName:Describe*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPattern {
    /// Dotted path, e.g. `userIdentity.type`.
    pub path: String,
    /// Glob over the value's text.
    pub pattern: String,
}

impl std::str::FromStr for FieldPattern {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once(':') {
            Some((path, pattern)) if !path.trim().is_empty() => Ok(FieldPattern {
                path: path.trim().to_string(),
                pattern: pattern.trim().to_string(),
            }),
            _ => Err(format!(
                "{text:?} is not field:pattern, e.g. eventName:Describe* or readOnly:true"
            )),
        }
    }
}

impl FieldPattern {
    /// Parses a comma-separated list.
    pub fn parse_list(text: &str) -> Result<Vec<FieldPattern>, String> {
        text.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(str::parse)
            .collect()
    }

    fn matches(&self, record: &Value) -> bool {
        let value = self.path.split('.').try_fold(record, |v, key| v.get(key));
        let text = match value {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return false,
        };
        glob_match(&self.pattern, &text)
    }
}

/// Event filters; empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// `recipientAccountId` values to keep.
    pub accounts: Vec<String>,
    /// `awsRegion` values to keep.
    pub regions: Vec<String>,
    /// Keep only events matching one of these (none: keep all).
    pub include: Vec<FieldPattern>,
    /// Drop events matching any of these.
    pub exclude: Vec<FieldPattern>,
}

impl EventFilter {
    /// Whether an object with this key may hold matching events. Key dates
    /// get a day of slack: an object is delivered up to ~15 minutes after
    /// its events, across midnight too.
    pub fn key_may_match(&self, key: &LogKey) -> bool {
        let slack = Duration::days(1);
        if let Some(from) = self.from {
            if key.date < (from - slack).date_naive() {
                return false;
            }
        }
        if let Some(to) = self.to {
            if key.date > (to + slack).date_naive() {
                return false;
            }
        }
        (self.accounts.is_empty() || self.accounts.contains(&key.account))
            && (self.regions.is_empty() || self.regions.contains(&key.region))
    }

    /// Whether the field patterns need the parsed record.
    pub fn has_field_patterns(&self) -> bool {
        !self.include.is_empty() || !self.exclude.is_empty()
    }

    /// Whether a record passes `--include` and `--exclude`.
    pub fn matches_record(&self, record: &Value) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(record)))
            && !self.exclude.iter().any(|p| p.matches(record))
    }

    /// Whether an event matches exactly.
    pub fn matches(&self, facts: &EventFacts) -> bool {
        let in_time =
            self.from.is_none_or(|from| facts.time >= from) && self.to.is_none_or(|to| facts.time <= to);
        let listed = |wanted: &[String], value: &Option<String>| {
            wanted.is_empty() || value.as_ref().is_some_and(|v| wanted.contains(v))
        };
        in_time && listed(&self.accounts, &facts.account) && listed(&self.regions, &facts.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, d, h, 0, 0).unwrap()
    }

    #[test]
    fn keys_pruned_with_a_day_of_slack() {
        let filter = EventFilter {
            from: Some(at(14, 12)),
            to: Some(at(14, 13)),
            ..Default::default()
        };
        let key = |day: u32| {
            LogKey::parse(&format!(
                "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/{day:02}/f.json.gz"
            ))
            .unwrap()
        };
        assert!(!filter.key_may_match(&key(12)));
        assert!(filter.key_may_match(&key(13)));
        assert!(filter.key_may_match(&key(15)));
        assert!(!filter.key_may_match(&key(16)));
    }

    #[test]
    fn field_patterns() {
        let record = serde_json::json!({"eventName": "DescribeInstances", "readOnly": true,
            "userIdentity": {"type": "AssumedRole"}, "n": 5});
        let filter = |include: &str, exclude: &str| EventFilter {
            include: FieldPattern::parse_list(include).unwrap(),
            exclude: FieldPattern::parse_list(exclude).unwrap(),
            ..Default::default()
        };
        assert!(!filter("", "eventName:Describe*").matches_record(&record));
        assert!(!filter("", "readOnly:true").matches_record(&record));
        assert!(filter("", "readOnly:false,eventName:Get*").matches_record(&record));
        assert!(filter("userIdentity.type:Assumed*", "").matches_record(&record));
        assert!(!filter("userIdentity.type:Root", "").matches_record(&record));
        assert!(filter("n:5", "missing.field:*").matches_record(&record));
        assert!(FieldPattern::parse_list("eventName").is_err());
        assert!(FieldPattern::parse_list(":x").is_err());
    }

    #[test]
    fn events_filtered_exactly() {
        let filter = EventFilter {
            from: Some(at(14, 12)),
            to: Some(at(14, 13)),
            accounts: vec!["1".into()],
            ..Default::default()
        };
        let facts = |t, account: &str| EventFacts {
            time: t,
            account: Some(account.into()),
            region: None,
        };
        assert!(filter.matches(&facts(at(14, 12), "1")));
        assert!(filter.matches(&facts(at(14, 13), "1")));
        assert!(!filter.matches(&facts(at(14, 14), "1")));
        assert!(!filter.matches(&facts(at(14, 12), "2")));
    }
}
