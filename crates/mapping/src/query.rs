//! Search requests over the event indices, built from the catalogue's names.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

/// A terminal search: every set criterion must match; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Events at or before this time.
    pub to: Option<DateTime<Utc>>,
    /// `eventName` patterns (`*` and `?` wildcards); any may match.
    pub event_names: Vec<String>,
    /// A user: an ARN, user name, principal ID, access key, or a name
    /// inside an ARN (`alice`, `ops-admin/bob`, `ops-admin`).
    pub user: Option<String>,
    /// Credentials issued to the user (`--follow-sessions`): events made
    /// with any of these access keys count as the user's too.
    pub session_keys: Vec<String>,
    /// Only calls that issued credentials (`trailsearch.issued_access_key`).
    pub issuing_only: bool,
    /// Only provisional copies (from EventBridge, CloudWatch Logs or
    /// Kinesis) that no S3 record has replaced.
    pub provisional_only: bool,
    /// Only failed calls (`errorCode` or `errorMessage` present).
    pub errors_only: bool,
    /// Where calls came from: an IP address or CIDR range (`source.ip`), or
    /// a `sourceIPAddress` value such as a service name.
    pub source: Option<String>,
    /// A resource: an ARN in `resources`, or any request parameter's value
    /// (`prod-orders-db`, `sg-0a1b2c3d4e5f67890`).
    pub resource: Option<String>,
    /// A Lucene query string.
    pub lucene: Option<String>,
    /// How many events at most.
    pub limit: usize,
}

fn escape_wildcard(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn is_ip_or_cidr(text: &str) -> bool {
    let (address, bits) = text.split_once('/').unwrap_or((text, "0"));
    address.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok()
}

fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl SearchQuery {
    /// The `_search` request body for all `limit` hits at once.
    pub fn to_body(&self) -> Value {
        self.page_body(self.limit, None)
    }

    /// One page: `size` hits after the sort values `after` (`search_after`),
    /// so results beyond the 10,000-hit window can be read.
    pub fn page_body(&self, size: usize, after: Option<&Value>) -> Value {
        let mut body = self.base_body();
        body["size"] = json!(size);
        if let Some(after) = after {
            body["search_after"] = after.clone();
            // The total was counted on the first page.
            body["track_total_hits"] = json!(false);
        }
        body
    }

    fn base_body(&self) -> Value {
        let mut filters = Vec::new();
        if self.from.is_some() || self.to.is_some() {
            let mut range = serde_json::Map::new();
            if let Some(from) = &self.from {
                range.insert("gte".into(), Value::String(time(from)));
            }
            if let Some(to) = &self.to {
                range.insert("lte".into(), Value::String(time(to)));
            }
            filters.push(json!({"range": {"@timestamp": range}}));
        }
        if !self.event_names.is_empty() {
            let any: Vec<Value> = self
                .event_names
                .iter()
                .map(|pattern| json!({"wildcard": {"eventName": {"value": pattern}}}))
                .collect();
            filters.push(json!({"bool": {"should": any, "minimum_should_match": 1}}));
        }
        if let Some(user) = &self.user {
            let exact = [
                "userIdentity.arn",
                "userIdentity.userName",
                "userIdentity.principalId",
                "userIdentity.accessKeyId",
            ]
            .map(|field| json!({"term": {field: user}}));
            let name = escape_wildcard(user);
            let inside = [
                // `alice` in user/alice; `bob` or `ops-admin/bob` in assumed-role/ops-admin/bob
                json!({"wildcard": {"userIdentity.arn": {"value": format!("*/{name}")}}}),
                // a role name: every session of assumed-role/ops-admin/*
                json!({"wildcard": {"userIdentity.arn": {"value": format!("*/{name}/*")}}}),
                // a role session name inside the principal ID (AROA...:bob)
                json!({"wildcard": {"userIdentity.principalId": {"value": format!("*:{name}")}}}),
            ];
            let mut any: Vec<Value> = exact.into_iter().chain(inside).collect();
            if !self.session_keys.is_empty() {
                any.push(json!({"terms": {"userIdentity.accessKeyId": self.session_keys}}));
            }
            filters.push(json!({"bool": {"should": any, "minimum_should_match": 1}}));
        }
        if self.issuing_only {
            filters.push(json!({"exists": {"field": "trailsearch.issued_access_key"}}));
        }
        if self.provisional_only {
            filters.push(json!({"terms": {"trailsearch.source.kind": crate::document::STREAM_KINDS}}));
        }
        if let Some(source) = &self.source {
            let mut any = vec![json!({"term": {"sourceIPAddress": source}})];
            if is_ip_or_cidr(source) {
                any.push(json!({"term": {"source.ip": source}}));
            }
            filters.push(json!({"bool": {"should": any, "minimum_should_match": 1}}));
        }
        if let Some(resource) = &self.resource {
            let name = escape_wildcard(resource);
            let any = [
                json!({"term": {"trailsearch.resource": resource}}),
                json!({"term": {"resources.ARN": resource}}),
                // a name at the end of an ARN: ...:db:prod-orders-db, ...:parameter/prod/x
                json!({"wildcard": {"resources.ARN": {"value": format!("*:{name}")}}}),
                json!({"wildcard": {"resources.ARN": {"value": format!("*/{name}")}}}),
                // any leaf of the free-shaped request parameters
                json!({"term": {"requestParameters": resource}}),
                // the compatible flavour's searchable copy
                json!({"match_phrase": {"trailsearch.text.requestParameters": resource}}),
            ];
            filters.push(json!({"bool": {"should": any, "minimum_should_match": 1}}));
        }
        if self.errors_only {
            filters.push(json!({"bool": {"should": [
                {"exists": {"field": "errorCode"}},
                {"exists": {"field": "errorMessage"}},
            ], "minimum_should_match": 1}}));
        }
        let mut must = Vec::new();
        if let Some(lucene) = &self.lucene {
            must.push(json!({"query_string": {"query": lucene, "default_operator": "AND"}}));
        }
        json!({
            "size": self.limit,
            "track_total_hits": true,
            "sort": [{"@timestamp": {"order": "desc"}}, {"eventID": {"order": "desc", "missing": "_last"}}],
            "query": {"bool": {"filter": filters, "must": must}},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_matches_names_inside_arns_with_wildcards_escaped() {
        let q = SearchQuery {
            user: Some("ops-admin/b*b".into()),
            limit: 5,
            ..Default::default()
        };
        let body = q.to_body().to_string();
        assert!(body.contains(r#""value":"*/ops-admin/b\\*b""#), "{body}");
        assert!(
            body.contains(r#""term":{"userIdentity.userName":"ops-admin/b*b"}"#),
            "{body}"
        );
        assert!(body.contains(r#""size":5"#));
    }

    #[test]
    fn source_and_resource() {
        let q = SearchQuery {
            source: Some("203.0.113.0/24".into()),
            resource: Some("prod-orders-db".into()),
            ..Default::default()
        };
        let body = q.to_body().to_string();
        assert!(
            body.contains(r#"{"term":{"source.ip":"203.0.113.0/24"}}"#),
            "{body}"
        );
        assert!(
            body.contains(r#"{"term":{"requestParameters":"prod-orders-db"}}"#),
            "{body}"
        );
        let q = SearchQuery {
            source: Some("ec2.amazonaws.com".into()),
            ..Default::default()
        };
        assert!(!q.to_body().to_string().contains("source.ip"));
        let page = q.page_body(10, Some(&json!(["2024-03-14T00:00:00Z", "e1"])));
        assert_eq!(page["search_after"], json!(["2024-03-14T00:00:00Z", "e1"]));
        assert_eq!(page["size"], 10);
    }

    #[test]
    fn empty_query_matches_everything_newest_first() {
        let body = SearchQuery {
            limit: 50,
            ..Default::default()
        }
        .to_body();
        assert_eq!(body["query"]["bool"]["filter"], json!([]));
        assert_eq!(body["sort"][0]["@timestamp"]["order"], "desc");
    }
}
