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
    let unit = text.trim_start_matches(|c: char| c.is_ascii_digit());
    if unit.len() < text.len() && ["", "ms", "s", "m", "h", "d"].contains(&unit) {
        // Shaped like a time ago: its only error is a range the duration
        // names (at most 100 years), which says more than "not a time".
        let ago = parse_duration(text)?;
        return chrono::Duration::from_std(ago)
            .ok()
            .and_then(|ago| now.checked_sub_signed(ago))
            .ok_or_else(|| format!("{text:?} reaches before the earliest time this can represent"));
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
        let huge = parse_time_at("99999999d", now).unwrap_err();
        assert!(huge.contains("out of range: at most 36525d"), "{huge}");
    }
}
