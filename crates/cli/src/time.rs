//! Parsing the times given on the command line.

use chrono::{DateTime, NaiveDate, Utc};
use trailsearch_ingest::parse_duration;

/// RFC 3339, a UTC date (`2024-03-14`), or a time ago (`7d`, `2h`).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    parse_time_at(text, Utc::now())
}

fn parse_time_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    if let Ok(ago) = parse_duration(text) {
        let ago = chrono::Duration::from_std(ago).map_err(|e| e.to_string())?;
        return Ok(now - ago);
    }
    Err(format!(
        "{text:?} is not a time: use RFC 3339 (2024-03-14T09:00:00Z), a date (2024-03-14) or a time ago (7d, 2h)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_absolute_and_ago() {
        let now = Utc.with_ymd_and_hms(2024, 3, 14, 12, 0, 0).unwrap();
        assert_eq!(
            parse_time_at("2h", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 3, 14, 10, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time_at("2024-03-13", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 3, 13, 0, 0, 0).unwrap()
        );
        assert_eq!(
            parse_time_at("2024-03-13T01:02:03+01:00", now).unwrap(),
            Utc.with_ymd_and_hms(2024, 3, 13, 0, 2, 3).unwrap()
        );
        assert!(parse_time_at("yesterday", now).is_err());
    }
}
