//! Index names: `<prefix>-YYYY.MM.DD` (or `-YYYY.MM`) from each event's time.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::error::ConfigError;

/// How much time one index covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Granularity {
    /// One index per UTC day.
    #[default]
    Day,
    /// One index per UTC month.
    Month,
}

impl std::str::FromStr for Granularity {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s {
            "day" => Ok(Granularity::Day),
            "month" => Ok(Granularity::Month),
            other => Err(ConfigError::Granularity(other.to_string())),
        }
    }
}

/// Names the indices of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexNaming {
    prefix: String,
    granularity: Granularity,
}

impl IndexNaming {
    /// Checks the prefix against the cluster's index-name rules.
    pub fn new(prefix: &str, granularity: Granularity) -> Result<Self, ConfigError> {
        let bad = |why: &str| ConfigError::Prefix {
            prefix: prefix.to_string(),
            why: why.to_string(),
        };
        if prefix.is_empty() {
            return Err(bad("it is empty"));
        }
        if prefix.len() > 200 {
            return Err(bad("it is longer than 200 bytes"));
        }
        // Exactly what the message allows: the prefix is pasted into URL
        // paths and patterns, where `%`, `&`, `;`, `'` and more would change
        // which indices a request names.
        if let Some(c) = prefix
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(bad(&format!(
                "it contains {c:?} (use lowercase letters, digits, '-' and '_')"
            )));
        }
        if prefix.starts_with(['-', '_']) {
            return Err(bad("it may not start with '-' or '_'"));
        }
        Ok(IndexNaming {
            prefix: prefix.to_string(),
            granularity,
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The granularity.
    pub fn granularity(&self) -> Granularity {
        self.granularity
    }

    /// The index an event at this time belongs to.
    pub fn index_for(&self, time: &DateTime<Utc>) -> String {
        self.index_for_date(time.date_naive())
    }

    /// The index holding this UTC date.
    pub fn index_for_date(&self, date: NaiveDate) -> String {
        match self.granularity {
            Granularity::Day => format!(
                "{}-{:04}.{:02}.{:02}",
                self.prefix,
                date.year(),
                date.month(),
                date.day()
            ),
            Granularity::Month => format!("{}-{:04}.{:02}", self.prefix, date.year(), date.month()),
        }
    }

    /// The pattern every event index matches: `<prefix>-*`.
    pub fn pattern(&self) -> String {
        format!("{}-*", self.prefix)
    }

    /// The dead-letter index: an underscore, so `<prefix>-*` never matches it.
    pub fn deadletter_index(&self) -> String {
        format!("{}_deadletter", self.prefix)
    }

    /// The index of log objects' integrity verdicts (underscore: outside
    /// the event pattern, like the dead letters).
    pub fn integrity_index(&self) -> String {
        format!("{}_integrity", self.prefix)
    }

    /// The last UTC date an event index of this prefix can hold, read from
    /// its name (`<prefix>-YYYY.MM.DD`, or `<prefix>-YYYY.MM` for a month,
    /// whichever granularity wrote it). `None` for any other name: retention
    /// never touches an index it did not name.
    pub fn last_date_of(&self, index: &str) -> Option<NaiveDate> {
        let rest = index.strip_prefix(&self.prefix)?.strip_prefix('-')?;
        let parts: Vec<&str> = rest.split('.').collect();
        let number = |text: &str, len: usize| {
            (text.len() == len && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u32>().ok())
                .flatten()
        };
        match parts.as_slice() {
            [y, m, d] => NaiveDate::from_ymd_opt(number(y, 4)? as i32, number(m, 2)?, number(d, 2)?),
            [y, m] => {
                let (year, month) = (number(y, 4)? as i32, number(m, 2)?);
                // Month 00 (or 13) is no name the naming produces.
                if !(1..=12).contains(&month) {
                    return None;
                }
                let next = if month == 12 {
                    NaiveDate::from_ymd_opt(year + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(year, month + 1, 1)
                };
                next?.pred_opt()
            }
            _ => None,
        }
    }

    /// Name of the installed event template.
    pub fn template_name(&self) -> String {
        format!("{}-events", self.prefix)
    }

    /// Name of the installed dead-letter template.
    pub fn deadletter_template_name(&self) -> String {
        format!("{}-deadletter", self.prefix)
    }

    /// The integrity index's template.
    pub fn integrity_template_name(&self) -> String {
        format!("{}-integrity", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn day_and_month_names() {
        let t = Utc.with_ymd_and_hms(2024, 3, 4, 23, 59, 59).unwrap();
        let day = IndexNaming::new("cloudtrail", Granularity::Day).unwrap();
        assert_eq!(day.index_for(&t), "cloudtrail-2024.03.04");
        let month = IndexNaming::new("ct", Granularity::Month).unwrap();
        assert_eq!(month.index_for(&t), "ct-2024.03");
        assert_eq!(day.pattern(), "cloudtrail-*");
        assert_eq!(day.deadletter_index(), "cloudtrail_deadletter");
    }

    #[test]
    fn dates_read_back_from_index_names_only_when_ours() {
        let naming = IndexNaming::new("ct", Granularity::Day).unwrap();
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(naming.last_date_of("ct-2024.03.14"), d(2024, 3, 14));
        assert_eq!(naming.last_date_of("ct-2024.02"), d(2024, 2, 29));
        assert_eq!(naming.last_date_of("ct-2024.12"), d(2024, 12, 31));
        for other in [
            "ct_deadletter",
            "ct-2024.13.01",
            "ct-2024.00",
            "ct-2024.13",
            "ct-2024.00.10",
            "ct-2024.3.14",
            "ct-x",
            "ctx-2024.03.14",
            "ct-2024.03.14-old",
            "other-2024.03.14",
            "ct-2024.03.14.01",
        ] {
            assert_eq!(naming.last_date_of(other), None, "{other}");
        }
    }

    #[test]
    fn bad_prefixes_say_why() {
        for bad in ["", "Upper", "a*b", "_x", "-x", "a b"] {
            let err = IndexNaming::new(bad, Granularity::Day).unwrap_err();
            assert!(err.to_string().contains("index prefix"), "{err}");
        }
        // Exactly the characters the message names; these once passed a
        // deny list (`%76ictim` reads `victim-*` once a URL decodes it).
        for bad in [
            "%76ictim",
            "a&b",
            "a;b",
            "o'brien",
            "caf\u{e9}",
            "a.b",
            "a+b",
            "a%2eb",
        ] {
            let err = IndexNaming::new(bad, Granularity::Day).unwrap_err().to_string();
            assert!(
                err.contains("use lowercase letters, digits, '-' and '_'"),
                "{bad}: {err}"
            );
        }
        for good in ["cloudtrail", "ct-prod_2", "0audit"] {
            assert!(IndexNaming::new(good, Granularity::Day).is_ok(), "{good}");
        }
        assert!("week".parse::<Granularity>().is_err());
    }
}
