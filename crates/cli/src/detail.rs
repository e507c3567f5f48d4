//! `search --format detail`: one block per event holding everything an
//! investigator asks of it — when and where, who (and with which
//! credentials), from what environment, which call on which resource, what
//! failed, and the request and response in full.

use std::fmt::Write as _;

use serde_json::Value;
use trailsearch_mapping::derive;

use crate::display::{derived_field, escape_controls, value_text as text};

/// Longest string value shown inside a request or response, and most lines
/// of each, unless `--full`.
const LONG_VALUE: usize = 200;
const MANY_LINES: usize = 60;

/// Labels are padded to this width.
const LABEL: usize = 12;

fn yes_no(value: Option<bool>) -> Option<&'static str> {
    value.map(|v| if v { "yes" } else { "no" })
}

/// `"true"`/`"false"` strings and booleans alike.
fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Lines of one block, label and value, every value escaped for the terminal.
struct Block {
    out: String,
}

impl Block {
    fn line(&mut self, label: &str, value: impl AsRef<str>) {
        let value = escape_controls(value.as_ref());
        let _ = writeln!(self.out, "  {label:<LABEL$} {value}");
    }

    fn opt(&mut self, label: &str, value: Option<impl AsRef<str>>) {
        if let Some(value) = value {
            self.line(label, value);
        }
    }

    /// A JSON object, pretty-printed under its label; long strings and
    /// long objects cut with a marker unless `full`.
    fn json(&mut self, label: &str, value: &Value, full: bool) {
        if value.is_null() || value.as_object().is_some_and(|m| m.is_empty()) {
            return;
        }
        let shown = if full { value.clone() } else { cut_strings(value) };
        let pretty = serde_json::to_string_pretty(&shown).unwrap_or_default();
        let lines: Vec<&str> = pretty.lines().collect();
        let kept = if full {
            lines.len()
        } else {
            lines.len().min(MANY_LINES)
        };
        for (i, line) in lines[..kept].iter().enumerate() {
            self.line(if i == 0 { label } else { "" }, line);
        }
        if kept < lines.len() {
            self.line(
                "",
                format!("… {} more lines (--full shows them)", lines.len() - kept),
            );
        }
    }
}

/// Every string longer than [`LONG_VALUE`] characters cut, with how much
/// was left out.
fn cut_strings(value: &Value) -> Value {
    match value {
        Value::String(s) if s.chars().count() > LONG_VALUE => {
            let kept: String = s.chars().take(LONG_VALUE).collect();
            let left = s.chars().count() - LONG_VALUE;
            Value::String(format!("{kept}… [{left} more characters: --full]"))
        }
        Value::Array(items) => Value::Array(items.iter().map(cut_strings).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), cut_strings(v))).collect()),
        other => other.clone(),
    }
}

/// Where the source address is, from the GeoIP fields when enriched.
fn place(source: &Value) -> Option<String> {
    let geo = &source["source"]["geo"];
    let network = &source["source"]["as"];
    let parts: Vec<String> = [
        text(&geo["city_name"]),
        text(&geo["country_name"]).or_else(|| text(&geo["country_iso_code"])),
        text(&network["number"]).map(|n| match text(&network["organization"]["name"]) {
            Some(org) => format!("AS{n} {org}"),
            None => format!("AS{n}"),
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// One event as a block of labelled lines, ending in a blank line.
pub fn render(source: &Value, full: bool) -> String {
    let derived = derive(source);
    let identity = &source["userIdentity"];
    let session = &identity["sessionContext"];
    let dash = || "-".to_string();
    let mut block = Block { out: String::new() };

    let heading = [
        text(&source["eventTime"]).unwrap_or_else(dash),
        text(&source["eventName"])
            .or_else(|| text(&source["eventType"]))
            .unwrap_or_else(dash),
        format!(
            "account {}",
            text(&source["recipientAccountId"]).unwrap_or_else(dash)
        ),
        text(&source["awsRegion"]).unwrap_or_else(dash),
    ]
    .join("  ");
    let _ = writeln!(block.out, "{}", escape_controls(&heading));

    // Who, and with which credentials.
    block.opt("actor", derived_field(source, "actor", &derived.actor));
    block.opt(
        "identity",
        match (text(&identity["type"]), text(&identity["arn"])) {
            (Some(kind), Some(arn)) => Some(format!("{kind} {arn}")),
            (kind, arn) => kind.or(arn),
        },
    );
    block.opt("principal", text(&identity["principalId"]));
    block.opt("access key", text(&identity["accessKeyId"]));
    block.opt("invoked by", text(&identity["invokedBy"]));
    let issuer = &session["sessionIssuer"];
    block.opt(
        "issuer",
        match (text(&issuer["type"]), text(&issuer["arn"])) {
            (Some(kind), Some(arn)) => Some(format!("{kind} {arn}")),
            (kind, arn) => kind.or(arn),
        },
    );
    block.opt(
        "source id",
        text(&session["sourceIdentity"]).or_else(|| text(&identity["sourceIdentity"])),
    );
    let mfa = flag(&source["trailsearch"]["mfa"]).or(derived.mfa);
    let console = flag(&source["sessionCredentialFromConsole"]);
    let session_facts: Vec<String> = [
        text(&session["attributes"]["creationDate"]).map(|t| format!("created {t}")),
        yes_no(mfa).map(|m| format!("MFA {m}")),
        yes_no(console).map(|c| format!("console {c}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !session_facts.is_empty() {
        block.line("session", session_facts.join(", "));
    }
    block.opt("sign-in", derived.console_login);

    // From what environment.
    block.opt(
        "source ip",
        text(&source["sourceIPAddress"]).map(|ip| match place(source) {
            Some(place) => format!("{ip} ({place})"),
            None => ip,
        }),
    );
    block.opt(
        "user agent",
        text(&source["userAgent"]).map(|agent| match text(&source["trailsearch"]["client"]) {
            Some(client) => format!("{agent} [{client}]"),
            None => agent,
        }),
    );
    block.opt(
        "tls host",
        text(&source["tlsDetails"]["clientProvidedHostHeader"]),
    );
    block.opt("vpc endpoint", text(&source["vpcEndpointId"]));

    // Which call, on what.
    let read_only = flag(&source["readOnly"]).map(|r| if r { "read" } else { "write" });
    let kind: Vec<String> = [text(&source["eventType"]), read_only.map(str::to_string)]
        .into_iter()
        .flatten()
        .collect();
    let call = [text(&source["eventSource"]), text(&source["eventName"])]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !call.is_empty() {
        block.line(
            "call",
            match kind.is_empty() {
                true => call,
                false => format!("{call} ({})", kind.join(", ")),
            },
        );
    }
    block.opt("resource", derived_field(source, "resource", &derived.resource));
    for (i, resource) in source["resources"].as_array().into_iter().flatten().enumerate() {
        let arn = text(&resource["ARN"]).unwrap_or_else(dash);
        let line = match text(&resource["type"]) {
            Some(kind) => format!("{arn} ({kind})"),
            None => arn,
        };
        block.line(if i == 0 { "resources" } else { "" }, line);
    }

    // What failed.
    block.opt("error", text(&source["errorCode"]));
    block.opt("message", text(&source["errorMessage"]));

    // What was asked, and what came back.
    block.json("request", &source["requestParameters"], full);
    block.json("response", &source["responseElements"], full);
    block.json("additional", &source["additionalEventData"], full);

    block.opt("event id", text(&source["eventID"]));
    block.opt("request id", text(&source["requestID"]));
    // Only S3 copies can be verified: local files and provisional copies carry none.
    block.opt(
        "integrity",
        text(&source["trailsearch"]["integrity"]).map(|integrity| match integrity.as_str() {
            "verified" => "verified: a valid CloudTrail digest lists its log object's SHA-256".to_string(),
            "modified" => "MODIFIED: its log object was changed after delivery (trailsearch verify names it)"
                .to_string(),
            "pending" => "pending: no valid digest has vouched for its log object yet".to_string(),
            other => other.to_string(),
        }),
    );
    block.out.push('\n');
    block.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_block_shows_who_from_where_what_and_the_answer() {
        let event = json!({
            "eventTime": "2024-03-14T11:02:17Z", "eventName": "AuthorizeSecurityGroupIngress",
            "eventSource": "ec2.amazonaws.com", "eventType": "AwsApiCall", "readOnly": false,
            "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "sourceIPAddress": "198.51.100.7", "userAgent": "Mozilla/5.0\u{1b}[2K",
            "sessionCredentialFromConsole": "true",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/ops-admin/bob",
                "accessKeyId": "ASIAEXAMPLE", "sessionContext": {
                    "sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/ops-admin", "userName": "ops-admin"},
                    "attributes": {"creationDate": "2024-03-14T10:51:33Z", "mfaAuthenticated": "true"}}},
            "requestParameters": {"groupId": "sg-1", "policy": "x".repeat(250)},
            "responseElements": {"_return": true},
            "source": {"geo": {"country_name": "France", "city_name": "Paris"}, "as": {"number": 16276, "organization": {"name": "OVH SAS"}}},
            "trailsearch": {"client": "console"},
            "eventID": "e1",
        });
        let block = render(&event, false);
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(
            lines[0],
            "2024-03-14T11:02:17Z  AuthorizeSecurityGroupIngress  account 111122223333  us-east-1"
        );
        for expected in [
            "  actor        ops-admin/bob",
            "  identity     AssumedRole arn:aws:sts::111122223333:assumed-role/ops-admin/bob",
            "  access key   ASIAEXAMPLE",
            "  issuer       Role arn:aws:iam::111122223333:role/ops-admin",
            "  session      created 2024-03-14T10:51:33Z, MFA yes, console yes",
            "  source ip    198.51.100.7 (Paris, France, AS16276 OVH SAS)",
            "  user agent   Mozilla/5.0\\u{1b}[2K [console]",
            "  call         ec2.amazonaws.com AuthorizeSecurityGroupIngress (AwsApiCall, write)",
            "  resource     sg-1",
            "  request      {",
            "                 \"groupId\": \"sg-1\",",
            "  response     {",
            "                 \"_return\": true",
            "  event id     e1",
        ] {
            assert!(lines.contains(&expected), "{expected:?} not in\n{block}");
        }
        assert!(
            block.contains(&format!("{}… [50 more characters: --full]", "x".repeat(200))),
            "{block}"
        );
        assert!(render(&event, true).contains(&"x".repeat(250)));
        assert!(block.ends_with("\n\n"));
        // Read from a file: nothing to say of its integrity.
        assert!(!block.contains("integrity"), "{block}");
    }

    #[test]
    fn a_block_says_what_the_digests_say_of_its_log_object() {
        for (integrity, line) in [
            ("verified", "  integrity    verified: a valid CloudTrail digest lists its log object's SHA-256"),
            ("modified", "  integrity    MODIFIED: its log object was changed after delivery (trailsearch verify names it)"),
            ("pending", "  integrity    pending: no valid digest has vouched for its log object yet"),
        ] {
            let event = json!({"eventTime": "2024-03-14T11:02:17Z", "eventName": "DeleteBucket",
                "trailsearch": {"source": {"kind": "s3"}, "integrity": integrity}});
            let block = render(&event, false);
            assert!(block.lines().any(|l| l == line), "{line:?} not in\n{block}");
        }
    }
}
