//! Which events a run keeps: `--from/--to`, `--account`, `--region`, and
//! field patterns (`--include` / `--exclude`, e.g. `eventName:Describe*`).

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use trailsearch_cloudtrail::LogKey;
use trailsearch_mapping::{EventFacts, FieldType, ADDED_FIELDS};
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
            Some((path, pattern)) if !path.trim().is_empty() => {
                let path = path.trim();
                visible_to_filters(path)?;
                Ok(FieldPattern {
                    path: path.to_string(),
                    pattern: pattern.trim().to_string(),
                })
            }
            _ => Err(format!(
                "{text:?} is not field:pattern, e.g. eventName:Describe* or readOnly:true"
            )),
        }
    }
}

/// Filters read the record as CloudTrail wrote it, before shaping: a field
/// trailsearch adds (`@timestamp`, the ECS names, `trailsearch.*`) is not
/// there yet, and a pattern on it would silently match nothing.
fn visible_to_filters(path: &str) -> Result<(), String> {
    let first = path.split('.').next().unwrap_or(path);
    if first != "trailsearch" && !ADDED_FIELDS.iter().any(|field| field.name == first) {
        return Ok(());
    }
    let alias = path.split_once('.').and_then(|(top, rest)| {
        let field = ADDED_FIELDS.iter().find(|field| field.name == top)?;
        match field.ty {
            FieldType::Object(children) => children.iter().find_map(|child| match child.ty {
                FieldType::Alias(target) if child.name == rest => Some(target),
                _ => None,
            }),
            _ => None,
        }
    });
    let hint = match alias {
        Some(target) if !target.starts_with("trailsearch.") => format!(": filter on {target} instead"),
        _ => String::new(),
    };
    Err(format!(
        "{path:?} is a field trailsearch adds to the document; filters see the record as CloudTrail \
         wrote it{hint}"
    ))
}

impl FieldPattern {
    /// Parses a comma-separated list.
    pub fn parse_list(text: &str) -> Result<Vec<FieldPattern>, String> {
        text.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(str::parse)
            .collect()
    }

    /// Whether the value at the path matches; through arrays (as
    /// `resources.ARN`), when any element's does.
    fn matches(&self, record: &Value) -> bool {
        let path: Vec<&str> = self.path.split('.').collect();
        self.matches_at(record, &path)
    }

    fn matches_at(&self, value: &Value, path: &[&str]) -> bool {
        if let Value::Array(items) = value {
            return items.iter().any(|item| self.matches_at(item, path));
        }
        match path.split_first() {
            Some((key, rest)) => value.get(*key).is_some_and(|v| self.matches_at(v, rest)),
            None => match value {
                Value::String(s) => glob_match(&self.pattern, s),
                Value::Bool(b) => glob_match(&self.pattern, &b.to_string()),
                Value::Number(n) => glob_match(&self.pattern, &n.to_string()),
                _ => false,
            },
        }
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
    /// The filters as one line of text, the same for the same filters:
    /// `--resume` records it with an object whose events they left out in
    /// part, so that only a run under the same filters skips it.
    pub fn resume_key(&self) -> String {
        let time = |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        let patterns = |list: &[FieldPattern]| {
            list.iter()
                .map(|p| format!("{}:{}", p.path, p.pattern))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut accounts = self.accounts.clone();
        accounts.sort();
        let mut regions = self.regions.clone();
        regions.sort();
        format!(
            "from={} to={} account={} region={} include={} exclude={}",
            time(&self.from),
            time(&self.to),
            accounts.join(","),
            regions.join(","),
            patterns(&self.include),
            patterns(&self.exclude)
        )
    }

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
    fn patterns_reach_into_arrays() {
        // The README lists resources.ARN; `resources` is an array.
        let record = serde_json::json!({"resources": [
            {"ARN": "arn:aws:s3:::logs", "type": "AWS::S3::Bucket"},
            {"ARN": "arn:aws:s3:::logs/key", "type": "AWS::S3::Object"}]});
        let include = |pattern: &str| EventFilter {
            include: FieldPattern::parse_list(pattern).unwrap(),
            ..Default::default()
        };
        assert!(include("resources.ARN:arn:aws:s3:::logs/*").matches_record(&record));
        assert!(include("resources.type:AWS::S3::Bucket").matches_record(&record));
        assert!(!include("resources.ARN:arn:aws:kms:*").matches_record(&record));
    }

    #[test]
    fn fields_trailsearch_adds_are_usage_errors() {
        for (pattern, hint) in [
            ("event.action:Delete*", "filter on eventName instead"),
            ("cloud.region:us-east-1", "filter on awsRegion instead"),
            (
                "@timestamp:2024*",
                "filters see the record as CloudTrail wrote it",
            ),
            (
                "trailsearch.actor:bob",
                "filters see the record as CloudTrail wrote it",
            ),
        ] {
            let error = FieldPattern::parse_list(pattern).unwrap_err();
            assert!(error.contains(hint), "{pattern}: {error}");
        }
        assert!(FieldPattern::parse_list("userIdentity.arn:*bob").is_ok());
    }

    #[test]
    fn resume_keys_differ_exactly_when_the_filters_do() {
        let day = |d| EventFilter {
            from: Some(at(d, 0)),
            to: Some(at(d, 23)),
            ..Default::default()
        };
        assert_eq!(day(14).resume_key(), day(14).resume_key());
        assert_ne!(day(14).resume_key(), day(15).resume_key());
        let regions = |r: &[&str]| EventFilter {
            regions: r.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        assert_eq!(
            regions(&["a", "b"]).resume_key(),
            regions(&["b", "a"]).resume_key()
        );
        assert_ne!(EventFilter::default().resume_key(), regions(&["a"]).resume_key());
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
