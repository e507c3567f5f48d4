//! Parsing times, durations and sizes given on the command line.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

/// `30s`, `5m`, `2h`, `7d`, `500ms`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 5m, 2h or 7d"))?;
    let seconds = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use ms, s, m, h or d)")),
    };
    Ok(Duration::from_secs(seconds))
}

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

/// `5MiB`, `512KiB`, `1MB`, or plain bytes.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 5MiB"))?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1024,
        "kb" => 1000,
        "mib" | "m" => 1024 * 1024,
        "mb" => 1_000_000,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use KiB or MiB)")),
    };
    Ok(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn durations_times_sizes() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 weeks").is_err());
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
        assert_eq!(parse_bytes("5MiB").unwrap(), 5 * 1024 * 1024);
        assert!(parse_bytes("5GiB").is_err());
    }
}
