//! Text for a person's terminal. Event fields (`eventName`, request
//! parameters, user agents, user names) and object names are chosen by
//! whoever made the call or wrote the bucket: printed raw, a control
//! character can erase lines, retitle the window or hide text from the
//! incident responder reading them. JSON output stays exact.

use std::borrow::Cow;

use serde_json::Value;

/// `text` with every control character (C0, DEL, C1) written as a visible
/// escape, `\u{1b}`; other text as it is.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A JSON value as a cell's text: a non-empty string, a number or a
/// boolean; nothing for the rest.
pub fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A field trailsearch derives at ingest (`trailsearch.<name>`): as
/// indexed (a degraded document keeps it even when its source field moved
/// unindexed), else as indexing derives it from the record (documents from
/// before the field).
pub fn derived_field(source: &Value, name: &str, derived: &Option<String>) -> Option<String> {
    value_text(&source["trailsearch"][name]).or_else(|| derived.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert!(matches!(escape_controls("DeleteBucket"), Cow::Borrowed(_)));
        assert_eq!(
            escape_controls("Get\u{1b}[2K\u{1b}]0;owned\u{7}"),
            "Get\\u{1b}[2K\\u{1b}]0;owned\\u{7}"
        );
        assert_eq!(
            escape_controls("a\rb\nc\u{7f}\u{9b}"),
            "a\\u{d}b\\u{a}c\\u{7f}\\u{9b}"
        );
        assert_eq!(escape_controls("café 東京"), "café 東京");
    }
}
