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

/// The most `eventName` values read to expand a pattern; a trail with more
/// distinct names leaves the pattern for each shard to expand.
const EVENT_NAME_VOCABULARY: usize = 10_000;

/// The field of [`Identity::user_names`](crate::Identity::user_names).
pub const USER_NAMES_FIELD: &str = "trailsearch.user_names";

/// The field of [`resource_names`](crate::resource_names).
pub const RESOURCE_NAMES_FIELD: &str = "trailsearch.resource_names";

/// What the cluster said before the search, so that no shard has to expand
/// a wildcard: each shard compiles and runs every wildcard on its own, about
/// a millisecond apiece, which over a month of daily indices is most of a
/// search's time (`scripts/bench --real`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// The `eventName` values in the searched time that match a wildcard
    /// pattern of [`SearchQuery::event_names`]; `None` when not read whole
    /// (the shards expand the patterns then).
    pub event_names: Option<Vec<String>>,
    /// The indices that do not map `trailsearch.user_names` as the template
    /// does (created before it): `--user` expands its wildcards there only.
    /// `None` when unknown: everywhere.
    pub without_user_names: Option<Vec<String>>,
    /// The same for `trailsearch.resource_names` and `--resource`.
    pub without_resource_names: Option<Vec<String>>,
}

/// One element of a wildcard pattern as the `wildcard` query reads it.
enum Token {
    /// `*`: any run of characters.
    Any,
    /// `?`: one character.
    One,
    /// Any other character, or one escaped with `\`.
    Char(char),
}

fn tokens(pattern: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Token::Any,
            '?' => Token::One,
            '\\' => Token::Char(chars.next().unwrap_or('\\')),
            c => Token::Char(c),
        });
    }
    out
}

/// Whether a pattern has an unescaped `*` or `?`.
fn has_wildcard(pattern: &str) -> bool {
    tokens(pattern).iter().any(|t| !matches!(t, Token::Char(_)))
}

/// The text a pattern without wildcards stands for (escapes removed).
fn unescape(pattern: &str) -> String {
    tokens(pattern)
        .into_iter()
        .filter_map(|t| match t {
            Token::Char(c) => Some(c),
            Token::Any | Token::One => None,
        })
        .collect()
}

/// Whether `text` matches a wildcard pattern: `*` any run of characters,
/// `?` one, `\` escapes the next.
pub fn wildcard_matches(pattern: &str, text: &str) -> bool {
    let tokens = tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    // Greedy with one backtrack point: the last `*` seen.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Token::One) => {
                t += 1;
                p += 1;
            }
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|token| matches!(token, Token::Any))
}

/// The indices of a `GET <pattern>/_mapping/field/<fields>` answer that do
/// not map `field` (a `trailsearch.*` identifier list) as the template does:
/// those created before it, including one that mapped it dynamically when
/// newer documents arrived, whose older documents lack it.
pub fn indices_without(answer: &Value, field: &str) -> Vec<String> {
    let expected = crate::template::identifier();
    let leaf = field.rsplit('.').next().unwrap_or(field);
    let Some(indices) = answer.as_object() else {
        return Vec::new();
    };
    let mut out: Vec<String> = indices
        .iter()
        .filter(|(_, index)| index["mappings"][field]["mapping"][leaf] != expected)
        .map(|(name, _)| name.clone())
        .collect();
    out.sort_unstable();
    out
}

/// Adds to `any` the wildcards that find what a derived name list holds,
/// for the indices without it only (`without`; everywhere when unknown).
fn where_not_derived(any: &mut Vec<Value>, wildcards: Vec<Value>, without: &Option<Vec<String>>) {
    match without {
        None => any.extend(wildcards),
        Some(indices) if indices.is_empty() => {}
        // Each other shard rewrites this to nothing before expanding a wildcard.
        Some(indices) => any.push(json!({"bool": {
            "filter": [{"terms": {"_index": indices}}],
            "should": wildcards,
            "minimum_should_match": 1,
        }})),
    }
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
    /// The `_search` request body for all `limit` hits at once, with
    /// nothing resolved beforehand.
    pub fn to_body(&self) -> Value {
        self.page_body(&Resolved::default(), self.limit, None)
    }

    /// One page: `size` hits after the sort values `after` (`search_after`),
    /// so results beyond the 10,000-hit window can be read.
    pub fn page_body(&self, resolved: &Resolved, size: usize, after: Option<&Value>) -> Value {
        let mut body = self.base_body(resolved);
        body["size"] = json!(size);
        if let Some(after) = after {
            body["search_after"] = after.clone();
            // The total was counted on the first page.
            body["track_total_hits"] = json!(false);
        }
        body
    }

    /// The request that lists the `eventName` values in the searched time,
    /// when a pattern has a wildcard to match them against
    /// ([`matching_event_names`](Self::matching_event_names)).
    pub fn event_name_vocabulary(&self) -> Option<Value> {
        if !self.event_names.iter().any(|p| has_wildcard(p)) {
            return None;
        }
        Some(json!({
            "size": 0,
            "track_total_hits": false,
            "query": {"bool": {"filter": self.time_filter().into_iter().collect::<Vec<_>>()}},
            "aggs": {"names": {"terms": {"field": "eventName", "size": EVENT_NAME_VOCABULARY}}},
        }))
    }

    /// The names of an [`event_name_vocabulary`](Self::event_name_vocabulary)
    /// answer that a wildcard pattern matches; `None` unless the answer
    /// holds every name.
    pub fn matching_event_names(&self, answer: &Value) -> Option<Vec<String>> {
        let names = &answer["aggregations"]["names"];
        if names["sum_other_doc_count"].as_u64() != Some(0) {
            return None;
        }
        let patterns: Vec<&String> = self.event_names.iter().filter(|p| has_wildcard(p)).collect();
        Some(
            names["buckets"]
                .as_array()?
                .iter()
                .filter_map(|bucket| bucket["key"].as_str())
                .filter(|name| patterns.iter().any(|p| wildcard_matches(p, name)))
                .map(str::to_string)
                .collect(),
        )
    }

    fn time_filter(&self) -> Option<Value> {
        if self.from.is_none() && self.to.is_none() {
            return None;
        }
        let mut range = serde_json::Map::new();
        if let Some(from) = &self.from {
            range.insert("gte".into(), Value::String(time(from)));
        }
        if let Some(to) = &self.to {
            range.insert("lte".into(), Value::String(time(to)));
        }
        Some(json!({"range": {"@timestamp": range}}))
    }

    /// Exact names as one `terms`; patterns as the names they matched, else
    /// as `wildcard` queries.
    fn event_name_filter(&self, resolved: &Resolved) -> Value {
        let (patterns, exact): (Vec<&String>, Vec<&String>) =
            self.event_names.iter().partition(|p| has_wildcard(p));
        let mut names: Vec<String> = exact.into_iter().map(|p| unescape(p)).collect();
        let mut any = Vec::new();
        match &resolved.event_names {
            Some(found) => names.extend(found.iter().cloned()),
            None => any.extend(
                patterns
                    .into_iter()
                    .map(|pattern| json!({"wildcard": {"eventName": {"value": pattern}}})),
            ),
        }
        names.sort_unstable();
        names.dedup();
        // No name matched and no pattern is left: an empty `terms` matches nothing.
        if !names.is_empty() || any.is_empty() {
            any.push(json!({"terms": {"eventName": names}}));
        }
        json!({"bool": {"should": any, "minimum_should_match": 1}})
    }

    fn base_body(&self, resolved: &Resolved) -> Value {
        let mut filters: Vec<Value> = self.time_filter().into_iter().collect();
        if !self.event_names.is_empty() {
            filters.push(self.event_name_filter(resolved));
        }
        if let Some(user) = &self.user {
            let exact = [
                "userIdentity.arn",
                "userIdentity.userName",
                "userIdentity.principalId",
                "userIdentity.accessKeyId",
                // `alice` in user/alice; `bob`, `ops-admin` or `ops-admin/bob`
                // in assumed-role/ops-admin/bob; `bob` in AROA...:bob
                USER_NAMES_FIELD,
            ]
            .map(|field| json!({"term": {field: user}}));
            let mut any: Vec<Value> = exact.into_iter().collect();
            let name = escape_wildcard(user);
            // The same names where the index does not hold them.
            let inside = vec![
                json!({"wildcard": {"userIdentity.arn": {"value": format!("*/{name}")}}}),
                json!({"wildcard": {"userIdentity.arn": {"value": format!("*/{name}/*")}}}),
                json!({"wildcard": {"userIdentity.principalId": {"value": format!("*:{name}")}}}),
            ];
            where_not_derived(&mut any, inside, &resolved.without_user_names);
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
            let mut any = vec![
                json!({"term": {"trailsearch.resource": resource}}),
                json!({"term": {"resources.ARN": resource}}),
                // a name at the end of an ARN: ...:db:prod-orders-db, ...:parameter/prod/x
                json!({"term": {RESOURCE_NAMES_FIELD: resource}}),
                // any leaf of the free-shaped request parameters
                json!({"term": {"requestParameters": resource}}),
                // the compatible flavour's searchable copy
                json!({"match_phrase": {"trailsearch.text.requestParameters": resource}}),
            ];
            // The same names where the index does not hold them.
            let inside = vec![
                json!({"wildcard": {"resources.ARN": {"value": format!("*:{name}")}}}),
                json!({"wildcard": {"resources.ARN": {"value": format!("*/{name}")}}}),
            ];
            where_not_derived(&mut any, inside, &resolved.without_resource_names);
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
        let page = q.page_body(
            &Resolved::default(),
            10,
            Some(&json!(["2024-03-14T00:00:00Z", "e1"])),
        );
        assert_eq!(page["search_after"], json!(["2024-03-14T00:00:00Z", "e1"]));
        assert_eq!(page["size"], 10);
    }

    #[test]
    fn wildcards_match_as_the_wildcard_query_reads_them() {
        for (pattern, text, matches) in [
            ("*SecurityGroup*", "AuthorizeSecurityGroupIngress", true),
            ("*SecurityGroup*", "SecurityGroup", true),
            ("*SecurityGroup*", "DescribeSecurityGroupRules", true),
            ("*SecurityGroup*", "DescribeSecuritygroups", false),
            ("Delete*", "DeleteDBInstance", true),
            ("Delete*", "BatchDeleteImage", false),
            ("Get?bject", "GetObject", true),
            ("Get?bject", "GetObjectAcl", false),
            ("*a*b", "xaxxbxb", true),
            ("*a*b", "xaxxbx", false),
            (r"Odd\*Name", "Odd*Name", true),
            (r"Odd\*Name", "OddXName", false),
            ("?", "é", true),
            ("", "", true),
            ("*", "", true),
        ] {
            assert_eq!(wildcard_matches(pattern, text), matches, "{pattern} ~ {text}");
        }
        assert!(has_wildcard("Delete*") && has_wildcard("Get?bject"));
        assert!(!has_wildcard(r"Odd\*Name") && !has_wildcard("DeleteDBInstance"));
        assert_eq!(unescape(r"Odd\*Name\\"), r"Odd*Name\");
    }

    #[test]
    fn patterns_become_the_names_they_match_and_exact_names_one_terms() {
        let q = SearchQuery {
            event_names: vec!["*SecurityGroup*".into(), "DeleteDBInstance".into()],
            from: Some("2026-10-01T00:00:00Z".parse().unwrap()),
            ..Default::default()
        };
        // Unresolved: the pattern stays a wildcard, the exact name a term.
        let body = q.to_body();
        assert_eq!(
            body["query"]["bool"]["filter"][1]["bool"]["should"],
            json!([
                {"wildcard": {"eventName": {"value": "*SecurityGroup*"}}},
                {"terms": {"eventName": ["DeleteDBInstance"]}},
            ])
        );
        let vocabulary = q.event_name_vocabulary().expect("a pattern to expand");
        assert_eq!(
            vocabulary["query"]["bool"]["filter"][0], body["query"]["bool"]["filter"][0],
            "same time range"
        );
        assert_eq!(vocabulary["aggs"]["names"]["terms"]["field"], "eventName");
        let answer = json!({"aggregations": {"names": {"sum_other_doc_count": 0, "buckets": [
            {"key": "DescribeSecurityGroups", "doc_count": 9},
            {"key": "GetObject", "doc_count": 5},
            {"key": "AuthorizeSecurityGroupIngress", "doc_count": 1},
        ]}}});
        let names = q.matching_event_names(&answer);
        assert_eq!(
            names.as_deref(),
            Some(
                &[
                    "DescribeSecurityGroups".to_string(),
                    "AuthorizeSecurityGroupIngress".to_string()
                ][..]
            )
        );
        let resolved = Resolved {
            event_names: names,
            ..Default::default()
        };
        assert_eq!(
            q.page_body(&resolved, 5, None)["query"]["bool"]["filter"][1]["bool"]["should"],
            json!([{"terms": {"eventName": ["AuthorizeSecurityGroupIngress", "DeleteDBInstance", "DescribeSecurityGroups"]}}])
        );
        // A vocabulary cut short is not used.
        let cut = json!({"aggregations": {"names": {"sum_other_doc_count": 3, "buckets": []}}});
        assert_eq!(q.matching_event_names(&cut), None);
        assert_eq!(q.matching_event_names(&json!({"hits": {}})), None);
        // A pattern nothing matched: no event.
        let none = Resolved {
            event_names: Some(Vec::new()),
            ..Default::default()
        };
        let only_pattern = SearchQuery {
            event_names: vec!["*Nothing*".into()],
            ..Default::default()
        };
        assert_eq!(
            only_pattern.page_body(&none, 5, None)["query"]["bool"]["filter"][0]["bool"]["should"],
            json!([{"terms": {"eventName": []}}])
        );
        // Exact names need no vocabulary.
        let exact = SearchQuery {
            event_names: vec!["DeleteDBInstance".into(), r"Odd\*Name".into()],
            ..Default::default()
        };
        assert_eq!(exact.event_name_vocabulary(), None);
        assert_eq!(
            exact.to_body()["query"]["bool"]["filter"][0]["bool"]["should"],
            json!([{"terms": {"eventName": ["DeleteDBInstance", "Odd*Name"]}}])
        );
    }

    #[test]
    fn wildcards_run_only_where_the_derived_names_are_not_indexed() {
        type Without = fn(Option<Vec<String>>) -> Resolved;
        let cases: [(SearchQuery, &str, usize, Without); 2] = [
            (
                SearchQuery {
                    user: Some("bob".into()),
                    ..Default::default()
                },
                r#"{"term":{"trailsearch.user_names":"bob"}}"#,
                3,
                |without| Resolved {
                    without_user_names: without,
                    ..Default::default()
                },
            ),
            (
                SearchQuery {
                    resource: Some("prod-orders-db".into()),
                    ..Default::default()
                },
                r#"{"term":{"trailsearch.resource_names":"prod-orders-db"}}"#,
                2,
                |without| Resolved {
                    without_resource_names: without,
                    ..Default::default()
                },
            ),
        ];
        for (q, lookup, wildcards, without) in cases {
            let should = |resolved: &Resolved| {
                q.page_body(resolved, 1, None)["query"]["bool"]["filter"][0]["bool"]["should"].clone()
            };
            let unknown = should(&Resolved::default());
            assert!(unknown.to_string().contains(lookup), "{unknown}");
            assert_eq!(
                unknown.to_string().matches("wildcard").count(),
                wildcards,
                "{unknown}"
            );
            let all_new = should(&without(Some(Vec::new())));
            assert!(!all_new.to_string().contains("wildcard"), "{all_new}");
            assert_eq!(all_new.as_array().map(Vec::len), Some(5));
            let some_old = should(&without(Some(vec!["cloudtrail-2026.11.30".into()])));
            let guarded = &some_old[5]["bool"];
            assert_eq!(
                guarded["filter"],
                json!([{"terms": {"_index": ["cloudtrail-2026.11.30"]}}])
            );
            assert_eq!(guarded["should"].as_array().map(Vec::len), Some(wildcards));
        }
    }

    #[test]
    fn an_index_holds_user_names_when_it_maps_them_as_the_template_does() {
        let answer = json!({
            "cloudtrail-2026.12.01": {"mappings": {"trailsearch.user_names": {"full_name": "trailsearch.user_names",
                "mapping": {"user_names": {"type": "keyword", "ignore_above": 1024, "doc_values": false}}}}},
            // created before the field; a newer document then mapped it dynamically
            "cloudtrail-2026.11.30": {"mappings": {"trailsearch.user_names": {"full_name": "trailsearch.user_names",
                "mapping": {"user_names": {"type": "keyword", "ignore_above": 1024}}}}},
            "cloudtrail-2026.11.29": {"mappings": {}},
        });
        assert_eq!(
            indices_without(&answer, USER_NAMES_FIELD),
            ["cloudtrail-2026.11.29", "cloudtrail-2026.11.30"]
        );
        // One answer for both lists: each is judged on its own field.
        let mut both = answer.clone();
        both["cloudtrail-2026.12.01"]["mappings"][RESOURCE_NAMES_FIELD] = json!({
            "full_name": RESOURCE_NAMES_FIELD,
            "mapping": {"resource_names": {"type": "keyword", "ignore_above": 1024, "doc_values": false}}});
        assert_eq!(
            indices_without(&both, RESOURCE_NAMES_FIELD),
            ["cloudtrail-2026.11.29", "cloudtrail-2026.11.30"]
        );
        assert_eq!(
            indices_without(&answer, RESOURCE_NAMES_FIELD),
            [
                "cloudtrail-2026.11.29",
                "cloudtrail-2026.11.30",
                "cloudtrail-2026.12.01"
            ]
        );
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
