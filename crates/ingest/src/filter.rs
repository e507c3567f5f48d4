//! Which events a run keeps: `--from/--to`, `--account`, `--region`.

use chrono::{DateTime, Duration, Utc};
use trailsearch_cloudtrail::LogKey;
use trailsearch_mapping::EventFacts;

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
