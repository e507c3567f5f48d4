//! The Kibana / OpenSearch Dashboards saved objects against the test
//! cluster holding the fixture corpus: every saved search's Lucene query and
//! every visualization's aggregation (built from its stored `visState`) run
//! as Kibana would run them, with exact expected events and counts; the
//! location, network, client and actor views and both products' maps over
//! synthetic documents carrying GeoIP fields; and the import `setup
//! --kibana-url` sends, checked by `tests/servers/kibana_stub.py` (no Kibana
//! runs here).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use trailsearch_e2e::*;

const RDS_DELETION: &str = "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e01";
const SG_CHANGES: [&str; 2] = [
    "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e02",
    "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e03",
];
const CHAIN_DELETION: &str = "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e10";
const CLI_ERRORS: [&str; 3] = [
    "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e04",
    "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e05",
    "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e06",
];

/// The time picker's range: the corpus (2024-03-13..15) and the synthetic
/// events (2024-03-16).
fn time_range() -> Value {
    json!({"range": {"@timestamp": {
        "gte": "2024-03-13T00:00:00.000Z",
        "lte": "2024-03-17T00:00:00.000Z",
        "format": "strict_date_optional_time",
    }}})
}

/// A Lucene query as Kibana sends it (`buildEsQuery`): a `query_string`
/// decorated with the default `query:queryString:options`
/// (`{"analyze_wildcard": true}`) and the `dateFormat:tz` time zone, and
/// nothing else, so the operator is Elasticsearch's default, OR, unless the
/// query says AND. An empty query is `match_all`.
fn kibana_lucene(query: &str) -> Value {
    if query.trim().is_empty() {
        json!({"match_all": {}})
    } else {
        json!({"query_string": {"query": query, "analyze_wildcard": true, "time_zone": "UTC"}})
    }
}

/// The query of a Discover or visualization request: the search source's
/// query in `must`, the time range in `filter`.
fn kibana_query(query: &str) -> Value {
    kibana_query_in(query, time_range())
}

/// [`kibana_query`] over another time picker range.
fn kibana_query_in(query: &str, range: Value) -> Value {
    json!({"bool": {"must": [kibana_lucene(query)], "filter": [range], "should": [], "must_not": []}})
}

fn search(prefix: &str, body: &Value) -> Value {
    let (status, answer) = http("POST", &format!("{prefix}-*/_search"), Some(body));
    assert_eq!(status, 200, "{body}\n{answer}");
    answer
}

fn total(prefix: &str, query: Value) -> u64 {
    let body =
        json!({"size": 0, "track_total_hits": true, "query": {"bool": {"filter": [query, time_range()]}}});
    search(prefix, &body)["hits"]["total"]["value"].as_u64().unwrap()
}

fn ingest_fixtures(prefix: &str) {
    trailsearch(prefix, &["setup"]).expect_code(0);
    trailsearch(prefix, &["ingest", fixtures().to_str().unwrap()]).expect_code(1);
    refresh(&format!("{prefix}-*"));
}

/// The saved objects `trailsearch kibana export` writes for this prefix and
/// product (`kibana` or `osd`).
pub(crate) fn exported(prefix: &str, flavour: &str) -> Vec<Value> {
    let run = trailsearch(prefix, &["kibana", "export", "--kibana-flavour", flavour]).expect_code(0);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn json_string(value: &Value) -> Value {
    serde_json::from_str(value.as_str().expect("a JSON string")).expect("JSON inside")
}

fn saved_query(object: &Value) -> String {
    let source = json_string(&object["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]);
    assert_eq!(source["query"]["language"], "lucene");
    source["query"]["query"].as_str().unwrap().to_string()
}

/// Slug -> Lucene query of every saved search.
pub(crate) fn saved_searches(objects: &[Value], prefix: &str) -> BTreeMap<String, String> {
    let id_start = format!("trailsearch-{prefix}-search-");
    objects
        .iter()
        .filter(|o| o["type"] == "search")
        .map(|o| {
            let slug = o["id"]
                .as_str()
                .unwrap()
                .strip_prefix(&id_start)
                .unwrap()
                .to_string();
            (slug, saved_query(o))
        })
        .collect()
}

/// The hits Discover shows for a saved search (its 500-row sample), newest first.
fn discover(prefix: &str, query: &str) -> Vec<Value> {
    discover_in(prefix, query, time_range())
}

/// [`discover`] over another time picker range.
pub(crate) fn discover_in(prefix: &str, query: &str, range: Value) -> Vec<Value> {
    let body = json!({
        "size": 500,
        "track_total_hits": true,
        "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "boolean"}}],
        "query": kibana_query_in(query, range),
    });
    let answer = search(prefix, &body);
    let hits: Vec<Value> = answer["hits"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["_source"].clone())
        .collect();
    assert_eq!(
        answer["hits"]["total"]["value"].as_u64(),
        Some(hits.len() as u64),
        "all hits fit in the sample: {query}"
    );
    hits
}

fn ids(hits: &[Value]) -> BTreeSet<String> {
    hits.iter()
        .map(|h| h["eventID"].as_str().unwrap().to_string())
        .collect()
}

fn names(hits: &[Value]) -> BTreeSet<String> {
    hits.iter()
        .map(|h| h["eventName"].as_str().unwrap().to_string())
        .collect()
}

/// (eventSource, eventName) -> count over the whole prefix, from a terms
/// aggregation: the independent oracle for the event-name searches.
fn calls(prefix: &str) -> BTreeMap<(String, String), u64> {
    let body = json!({"size": 0, "query": {"bool": {"filter": [time_range()]}}, "aggs": {"source": {
        "terms": {"field": "eventSource", "size": 500},
        "aggs": {"name": {"terms": {"field": "eventName", "size": 500}}},
    }}});
    let answer = search(prefix, &body);
    let mut out = BTreeMap::new();
    for source in answer["aggregations"]["source"]["buckets"].as_array().unwrap() {
        assert_eq!(source["name"]["sum_other_doc_count"], 0);
        for name in source["name"]["buckets"].as_array().unwrap() {
            out.insert(
                (
                    source["key"].as_str().unwrap().to_string(),
                    name["key"].as_str().unwrap().to_string(),
                ),
                name["doc_count"].as_u64().unwrap(),
            );
        }
    }
    out
}

fn count_where(calls: &BTreeMap<(String, String), u64>, pick: impl Fn(&str, &str) -> bool) -> u64 {
    calls
        .iter()
        .filter(|((source, name), _)| pick(source, name))
        .map(|(_, n)| n)
        .sum()
}

#[test]
fn kibana_export_is_the_checked_in_file_and_follows_the_prefix() {
    let read = |name: &str| std::fs::read_to_string(repo_root().join("kibana").join(name)).unwrap();
    let (kibana, osd) = (read("trailsearch.ndjson"), read("trailsearch-osd.ndjson"));
    for (args, checked_in, name) in [
        (&[][..], &kibana, "trailsearch.ndjson"),
        (&["--kibana-flavour", "kibana"][..], &kibana, "trailsearch.ndjson"),
        (&["--kibana-flavour", "osd"][..], &osd, "trailsearch-osd.ndjson"),
    ] {
        let command = [&["--index-prefix", "cloudtrail", "kibana", "export"][..], args].concat();
        let run = trailsearch("unused", &command).expect_code(0);
        assert!(
            run.stdout == *checked_in,
            "kibana/{name} differs from `trailsearch {}`: regenerate it",
            command.join(" ")
        );
    }
    assert_ne!(kibana, osd);
    // No cluster is asked: an unreachable one does not matter.
    let offline = std::process::Command::new(trailsearch_bin())
        .args(["--es-url", "http://127.0.0.1:9", "kibana", "export"])
        .env_remove("TRAILSEARCH_INDEX_PREFIX")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(offline.stdout).unwrap(), kibana);

    for flavour in ["kibana", "osd"] {
        let other = exported("t-kibana-prefix", flavour);
        assert_eq!(other[0]["attributes"]["title"], "t-kibana-prefix-*");
        assert_eq!(other[0]["id"], "trailsearch-t-kibana-prefix-index-pattern");
    }
    let bad = trailsearch("Bad Prefix", &["kibana", "export"]).expect_code(1);
    assert!(bad.stderr.contains("index prefix"), "{bad}");
    let bad = trailsearch("unused", &["kibana", "export", "--kibana-flavour", "grafana"]).expect_code(2);
    assert!(bad.stderr.contains("kibana or osd"), "{bad}");
}

#[test]
fn kibana_saved_searches_find_the_planted_events() {
    let prefix = unique_prefix("kibana-searches");
    ingest_fixtures(&prefix);
    let searches = saved_searches(&exported(&prefix, "kibana"), &prefix);
    assert_eq!(searches.len(), 14);
    let calls = calls(&prefix);
    let mut checked = BTreeSet::new();
    let mut check = |slug: &str| {
        assert!(checked.insert(slug.to_string()));
        discover(&prefix, &searches[slug])
    };

    // The three seed questions.
    let deletions = check("resource-deletions");
    // The RDS instance, and the bucket the credential chain's last hop deleted.
    assert_eq!(
        ids(&deletions),
        BTreeSet::from([RDS_DELETION.to_string(), CHAIN_DELETION.to_string()])
    );
    assert!(names(&deletions).iter().all(|n| !n.starts_with("Describe")));
    assert_eq!(
        deletions.len() as u64,
        count_where(&calls, |_, n| ["Delete", "Terminate", "Remove"]
            .iter()
            .any(|p| n.starts_with(p)))
    );
    assert!(
        count_where(&calls, |_, n| n.starts_with("Describe")) > 1000,
        "Describe* noise is there to exclude"
    );

    let groups = check("security-group-changes");
    assert_eq!(ids(&groups), SG_CHANGES.iter().map(|s| s.to_string()).collect());
    assert_eq!(groups[0]["requestParameters"]["groupId"], "sg-0a1b2c3d4e5f67890");
    assert!(count_where(&calls, |_, n| n == "DescribeSecurityGroups") > 100);

    let errors = check("api-errors");
    let error_ids = ids(&errors);
    assert!(
        CLI_ERRORS.iter().all(|id| error_ids.contains(*id)),
        "{error_ids:?}"
    );
    assert!(errors.iter().all(|h| h["errorCode"].is_string()));
    assert_eq!(
        errors.len() as u64,
        total(&prefix, json!({"exists": {"field": "errorCode"}}))
    );
    assert_eq!(errors.len(), 172);

    // The security staples the corpus holds.
    let denied = check("access-denied");
    let denied_ids = ids(&denied);
    assert!(CLI_ERRORS.iter().all(|id| denied_ids.contains(*id)));
    let codes: BTreeSet<&str> = denied.iter().map(|h| h["errorCode"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        BTreeSet::from([
            "AccessDenied",
            "AccessDeniedException",
            "Client.UnauthorizedOperation"
        ])
    );
    assert_eq!(
        denied.len() as u64,
        total(
            &prefix,
            json!({"terms": {"errorCode": ["AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation"]}})
        )
    );
    assert_eq!(denied.len(), 83, "ThrottlingException is not a denial");

    let sign_ins = check("console-sign-ins");
    assert_eq!(names(&sign_ins), BTreeSet::from(["ConsoleLogin".to_string()]));
    assert_eq!(
        sign_ins.len() as u64,
        count_where(&calls, |_, n| n == "ConsoleLogin")
    );
    assert_eq!(sign_ins.len(), 12);

    let failures = check("console-sign-in-failures");
    assert!(failures
        .iter()
        .all(|h| h["responseElements"]["ConsoleLogin"] == "Failure"));
    assert_eq!(
        failures.len() as u64,
        total(
            &prefix,
            json!({"bool": {"filter": [{"term": {"eventName": "ConsoleLogin"}}, {"exists": {"field": "errorMessage"}}]}})
        )
    );
    assert_eq!(failures.len(), 4);

    let root = check("root-activity");
    assert!(root.iter().all(|h| h["userIdentity"]["type"] == "Root"));
    assert_eq!(
        root.len() as u64,
        total(
            &prefix,
            json!({"bool": {
                "filter": [{"term": {"userIdentity.type": "Root"}}],
                "must_not": [{"exists": {"field": "userIdentity.invokedBy"}}, {"term": {"eventType": "AwsServiceEvent"}}],
            }})
        )
    );
    assert_eq!(root.len(), 4);

    let iam = check("iam-changes");
    assert_eq!(
        names(&iam),
        BTreeSet::from(["CreateRole", "PutRolePolicy", "TagRole"].map(String::from))
    );
    assert_eq!(
        iam.len() as u64,
        count_where(&calls, |s, n| s == "iam.amazonaws.com"
            && !["Get", "List", "Generate", "Simulate"]
                .iter()
                .any(|p| n.starts_with(p)))
    );
    assert!(
        count_where(&calls, |s, _| s == "iam.amazonaws.com") > 100,
        "IAM reads to exclude"
    );

    // Questions the corpus holds no answer to: nothing, exactly as the
    // independent count says, though the services' read calls are there.
    for (slug, source, reads) in [
        ("cloudtrail-config-tampering", "cloudtrail.amazonaws.com", 0),
        ("kms-key-disable-deletion", "kms.amazonaws.com", 600),
        ("s3-bucket-access-changes", "s3.amazonaws.com", 400),
        ("network-changes", "ec2.amazonaws.com", 600),
    ] {
        let hits = check(slug);
        assert_eq!(hits.len(), 0, "{slug}: {:?}", names(&hits));
        assert!(count_where(&calls, |s, _| s == source) >= reads, "{slug}");
    }
    // Read from files only: no provisional copy waits for its record (the
    // Lambda tests show the search finding them).
    assert_eq!(check("provisional-without-record").len(), 0);
    // Nor from S3: nothing to verify (integrity::* shows it finding events).
    assert_eq!(check("not-verified").len(), 0);
    assert_eq!(
        total(&prefix, json!({"term": {"trailsearch.source.kind": "file"}})),
        manifest()["distinct_events"].as_u64().unwrap()
    );
    assert_eq!(checked.len(), searches.len(), "every saved search ran");
}

/// One synthetic event for the questions the corpus does not answer.
fn event(n: usize, source: &str, name: &str, read_only: bool, identity: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "eventTime": format!("2024-03-16T10:{:02}:00Z", n),
        "eventID": format!("syn-{n:02}-{name}"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.66",
        "userAgent": "aws-cli/2.15.30",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "userIdentity": identity,
        "requestParameters": {"name": "x"},
    })
}

#[test]
fn kibana_saved_searches_find_synthetic_tampering_kms_s3_network_and_root_events() {
    let prefix = unique_prefix("kibana-synthetic");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let mallory = json!({"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory",
                         "accountId": "111122223333", "userName": "mallory"});
    let root = json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"});
    let root_via_service = json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root",
                                  "accountId": "111122223333", "invokedBy": "cloudformation.amazonaws.com"});
    let calls: &[(&str, &[(&str, bool)])] = &[
        (
            "cloudtrail.amazonaws.com",
            &[
                ("StopLogging", false),
                ("DeleteTrail", false),
                ("UpdateTrail", false),
                ("PutEventSelectors", false),
                ("DescribeTrails", true),
                ("GetTrailStatus", true),
                ("LookupEvents", true),
                ("StartLogging", false),
            ],
        ),
        (
            "config.amazonaws.com",
            &[
                ("DeleteConfigurationRecorder", false),
                ("StopConfigurationRecorder", false),
                ("DeleteDeliveryChannel", false),
                ("DescribeConfigurationRecorders", true),
            ],
        ),
        (
            "kms.amazonaws.com",
            &[
                ("DisableKey", false),
                ("ScheduleKeyDeletion", false),
                ("DeleteImportedKeyMaterial", false),
                ("DescribeKey", true),
                ("EnableKey", false),
                ("CancelKeyDeletion", false),
            ],
        ),
        (
            "s3.amazonaws.com",
            &[
                ("PutBucketPolicy", false),
                ("DeleteBucketPolicy", false),
                ("PutBucketAcl", false),
                ("PutBucketPublicAccessBlock", false),
                ("DeleteBucketPublicAccessBlock", false),
                ("GetBucketPolicy", true),
                ("GetBucketAcl", true),
                ("GetBucketPublicAccessBlock", true),
            ],
        ),
        (
            "ec2.amazonaws.com",
            &[
                ("CreateNetworkAclEntry", false),
                ("ReplaceNetworkAclAssociation", false),
                ("CreateRoute", false),
                ("DisassociateRouteTable", false),
                ("AttachInternetGateway", false),
                ("DeleteCustomerGateway", false),
                ("CreateVpc", false),
                ("ModifyVpcAttribute", false),
                ("AcceptVpcPeeringConnection", false),
                ("DescribeNetworkAcls", true),
                ("DescribeRouteTables", true),
                ("DescribeVpcs", true),
                ("DescribeInternetGateways", true),
                ("CreateTags", false),
            ],
        ),
        (
            "iam.amazonaws.com",
            &[("CreateAccessKey", false), ("GetAccountSummary", true)],
        ),
    ];
    let mut records = Vec::new();
    for (source, list) in calls {
        for (name, read_only) in *list {
            records.push(event(records.len(), source, name, *read_only, mallory.clone()));
        }
    }
    let n = records.len();
    records.push(event(
        n,
        "iam.amazonaws.com",
        "CreateAccessKey",
        false,
        root.clone(),
    ));
    records.push(event(
        n + 1,
        "s3.amazonaws.com",
        "PutBucketPolicy",
        false,
        root_via_service,
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("synthetic.json");
    std::fs::write(&path, json!({"Records": records}).to_string()).unwrap();
    trailsearch(&prefix, &["ingest", path.to_str().unwrap()]).expect_code(0);
    refresh(&format!("{prefix}-*"));

    let searches = saved_searches(&exported(&prefix, "kibana"), &prefix);
    let found = |slug: &str| {
        let hits = discover(&prefix, &searches[slug]);
        let mut list: Vec<String> = hits
            .iter()
            .map(|h| h["eventName"].as_str().unwrap().to_string())
            .collect();
        list.sort();
        list
    };
    let sorted = |list: &[&str]| {
        let mut list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        list.sort();
        list
    };
    assert_eq!(
        found("cloudtrail-config-tampering"),
        sorted(&[
            "StopLogging",
            "DeleteTrail",
            "UpdateTrail",
            "PutEventSelectors",
            "DeleteConfigurationRecorder",
            "StopConfigurationRecorder",
            "DeleteDeliveryChannel",
        ])
    );
    assert_eq!(
        found("kms-key-disable-deletion"),
        sorted(&["DisableKey", "ScheduleKeyDeletion", "DeleteImportedKeyMaterial"])
    );
    assert_eq!(
        found("s3-bucket-access-changes"),
        sorted(&[
            "PutBucketPolicy",
            "PutBucketPolicy",
            "DeleteBucketPolicy",
            "PutBucketAcl",
            "PutBucketPublicAccessBlock",
            "DeleteBucketPublicAccessBlock",
        ])
    );
    assert_eq!(
        found("network-changes"),
        sorted(&[
            "CreateNetworkAclEntry",
            "ReplaceNetworkAclAssociation",
            "CreateRoute",
            "DisassociateRouteTable",
            "AttachInternetGateway",
            "DeleteCustomerGateway",
            "CreateVpc",
            "ModifyVpcAttribute",
            "AcceptVpcPeeringConnection",
        ])
    );
    // Root itself, not root's credentials used by a service on its behalf.
    let root_hits = discover(&prefix, &searches["root-activity"]);
    assert_eq!(
        ids(&root_hits),
        BTreeSet::from([format!("syn-{n:02}-CreateAccessKey")])
    );
    assert_eq!(
        found("iam-changes"),
        sorted(&["CreateAccessKey", "CreateAccessKey"])
    );
    assert_eq!(
        found("resource-deletions"),
        sorted(&[
            "DeleteTrail",
            "DeleteConfigurationRecorder",
            "DeleteDeliveryChannel",
            "DeleteImportedKeyMaterial",
            "DeleteBucketPolicy",
            "DeleteBucketPublicAccessBlock",
            "DeleteCustomerGateway",
        ])
    );
    for slug in [
        "security-group-changes",
        "api-errors",
        "access-denied",
        "console-sign-ins",
    ] {
        assert_eq!(found(slug), Vec::<String>::new(), "{slug}");
    }
}

// --- visualizations ---------------------------------------------------------

/// The interval Kibana's `auto` resolves to is the time picker's business;
/// for this four-day range the test uses three hours.
const AUTO_INTERVAL: &str = "3h";

/// Translates a visualization's stored aggregations into the request Kibana
/// sends (`AggConfigs.toDsl`): bucket aggregations nested in the order they
/// are listed, under their agg ids; `count` is each bucket's `doc_count`, so
/// it adds nothing; terms ordered by the count metric order by `_count`;
/// each filters-agg filter is the Lucene query decorated as Kibana decorates
/// it, keyed by its label; a terms agg that shows missing values (on a
/// string field) asks for them as `__missing__`.
fn kibana_aggs(aggs: &[Value]) -> Value {
    let mut buckets: Vec<(String, Value)> = Vec::new();
    for agg in aggs.iter().filter(|a| a["enabled"] == true) {
        let id = agg["id"].as_str().unwrap().to_string();
        let params = &agg["params"];
        let dsl = match agg["type"].as_str().unwrap() {
            "count" => {
                assert_eq!(agg["schema"], "metric");
                continue;
            }
            "terms" => {
                let order_by = params["orderBy"].as_str().unwrap();
                let metric = aggs
                    .iter()
                    .find(|a| a["id"] == order_by)
                    .expect("orderBy names an agg");
                assert_eq!(metric["type"], "count", "ordered by the count");
                assert_eq!(params["otherBucket"], false);
                let mut terms = json!({
                    "field": params["field"],
                    "size": params["size"],
                    "order": {"_count": params["order"]},
                });
                if params["missingBucket"] == true {
                    terms["missing"] = json!(MISSING);
                }
                json!({ "terms": terms })
            }
            "date_histogram" => {
                assert_eq!(params["interval"], "auto");
                json!({"date_histogram": {
                    "field": params["field"],
                    "fixed_interval": AUTO_INTERVAL,
                    "time_zone": "UTC",
                    "min_doc_count": params["min_doc_count"],
                }})
            }
            "filters" => {
                let mut filters = serde_json::Map::new();
                for filter in params["filters"].as_array().unwrap() {
                    assert_eq!(filter["input"]["language"], "lucene");
                    let query = filter["input"]["query"].as_str().unwrap();
                    let label = filter["label"]
                        .as_str()
                        .filter(|l| !l.is_empty())
                        .unwrap_or(query);
                    filters.insert(label.to_string(), kibana_query_without_time(query));
                }
                json!({"filters": {"filters": filters}})
            }
            other => panic!("no translation for agg type {other}"),
        };
        buckets.push((id, dsl));
    }
    let mut nested: Option<(String, Value)> = None;
    for (id, mut dsl) in buckets.into_iter().rev() {
        if let Some((inner_id, inner)) = nested.take() {
            dsl["aggs"] = json!({ inner_id: inner });
        }
        nested = Some((id, dsl));
    }
    let (id, dsl) = nested.expect("a bucket aggregation");
    json!({ id: dsl })
}

fn kibana_query_without_time(query: &str) -> Value {
    json!({"bool": {"must": [kibana_lucene(query)], "filter": [], "should": [], "must_not": []}})
}

/// The key Kibana gives documents without the field in a terms agg that
/// shows missing values.
const MISSING: &str = "__missing__";

/// Rows of a bucket tree: the keys down to a leaf, and the leaf's count. No
/// rows when nothing matched; an empty sub-bucket (a row the table would
/// drop) fails.
fn rows(aggregations: &Value, aggs: &[Value]) -> Vec<(Vec<String>, u64)> {
    let ids: Vec<&str> = aggs
        .iter()
        .filter(|a| a["enabled"] == true && a["type"] != "count")
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    fn walk(node: &Value, ids: &[&str], keys: &mut Vec<String>, out: &mut Vec<(Vec<String>, u64)>) {
        let Some((id, rest)) = ids.split_first() else {
            out.push((keys.clone(), node["doc_count"].as_u64().unwrap()));
            return;
        };
        let buckets = &node[*id]["buckets"];
        let list: Vec<(String, &Value)> = match buckets {
            Value::Array(list) => list
                .iter()
                .map(|b| {
                    let key = b["key_as_string"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| match &b["key"] {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                    (key, b)
                })
                .collect(),
            Value::Object(map) => map.iter().map(|(k, b)| (k.clone(), b)).collect(),
            other => panic!("no buckets under {id}: {other}"),
        };
        assert!(
            !list.is_empty() || keys.is_empty(),
            "empty buckets under agg {id} in row {keys:?}"
        );
        for (key, bucket) in list {
            keys.push(key);
            walk(bucket, rest, keys, out);
            keys.pop();
        }
    }
    let mut out = Vec::new();
    walk(aggregations, &ids, &mut Vec::new(), &mut out);
    out
}

/// Runs a visualization as Kibana would: its search source's query, the
/// time range, and the aggregations of its `visState`.
fn run_visualization(prefix: &str, object: &Value) -> (u64, Vec<(Vec<String>, u64)>) {
    run_visualization_in(prefix, object, time_range())
}

/// [`run_visualization`] over another time picker range.
pub(crate) fn run_visualization_in(
    prefix: &str,
    object: &Value,
    range: Value,
) -> (u64, Vec<(Vec<String>, u64)>) {
    let state = json_string(&object["attributes"]["visState"]);
    let aggs = state["aggs"].as_array().unwrap();
    let body = json!({
        "size": 0,
        "track_total_hits": true,
        "query": kibana_query_in(&saved_query(object), range),
        "aggs": kibana_aggs(aggs),
    });
    let answer = search(prefix, &body);
    (
        answer["hits"]["total"]["value"].as_u64().unwrap(),
        rows(&answer["aggregations"], aggs),
    )
}

fn sum(rows: &[(Vec<String>, u64)], pick: impl Fn(&[String]) -> bool) -> u64 {
    rows.iter().filter(|(k, _)| pick(k)).map(|(_, n)| n).sum()
}

#[test]
fn kibana_visualizations_aggregate_the_corpus() {
    let prefix = unique_prefix("kibana-vis");
    ingest_fixtures(&prefix);
    let manifest = manifest();
    let events = manifest["distinct_events"].as_u64().unwrap();
    let objects = exported(&prefix, "kibana");
    let vis_start = format!("trailsearch-{prefix}-vis-");
    let mut seen = BTreeSet::new();
    let failed_calls = total(
        &prefix,
        json!({"bool": {"should": [{"exists": {"field": "errorCode"}}, {"exists": {"field": "errorMessage"}}]}}),
    );
    for object in objects.iter().filter(|o| o["type"] == "visualization") {
        let slug = object["id"]
            .as_str()
            .unwrap()
            .strip_prefix(&vis_start)
            .unwrap()
            .to_string();
        let (hits, rows) = run_visualization(&prefix, object);
        // The corpus was ingested without GeoIP databases, and from files,
        // which no digest can vouch for (integrity::* runs that view on S3).
        let empty = ["top-countries", "top-networks", "log-integrity"].contains(&slug.as_str());
        assert_eq!(rows.is_empty(), empty, "{slug}: {rows:?}");
        // Each first-level terms bucket counts what a term query counts.
        let check_terms = |field: &str| {
            let keys: BTreeSet<&String> = rows.iter().map(|(k, _)| &k[0]).collect();
            for key in keys {
                let mut filter = vec![json!({"term": {field: key}})];
                if slug == "errors-by-code" {
                    filter.push(json!({"exists": {"field": "errorCode"}}));
                }
                let expected = total(&prefix, json!({"bool": {"filter": filter}}));
                assert_eq!(sum(&rows, |k| &k[0] == key), expected, "{slug} {key}");
            }
        };
        match slug.as_str() {
            "events-over-time" => {
                assert_eq!(hits, events);
                assert_eq!(
                    sum(&rows, |_| true),
                    events,
                    "every event in one interval and outcome"
                );
                assert_eq!(sum(&rows, |k| k[1] == "failure"), failed_calls);
                assert_eq!(failed_calls, 176);
                assert_eq!(sum(&rows, |k| k[1] == "success"), events - failed_calls);
                let intervals: BTreeSet<&String> = rows.iter().map(|(k, _)| &k[0]).collect();
                assert!(intervals.len() >= 20, "{intervals:?}");
                assert!(
                    intervals.iter().all(|t| t.starts_with("2024-03-1")),
                    "{intervals:?}"
                );
            }
            "top-event-names" => {
                assert_eq!(rows.len(), 20);
                assert_eq!(rows[0], (vec!["Decrypt".to_string()], 469));
                assert!(rows.windows(2).all(|w| w[0].1 >= w[1].1), "by count, descending");
                check_terms("eventName");
            }
            "top-users" => {
                assert_eq!(rows.len(), 20);
                assert_eq!(
                    rows[0],
                    (
                        vec!["arn:aws:sts::111122223333:assumed-role/orders-fn/orders-processor".to_string()],
                        414
                    )
                );
                check_terms("userIdentity.arn");
            }
            "top-source-ips" => {
                assert_eq!(rows.len(), 20);
                assert_eq!(rows[0], (vec!["44.211.53.8".to_string()], 497));
                assert!(rows.iter().any(|(k, _)| k[0] == "cloudtrail.amazonaws.com"));
                check_terms("sourceIPAddress");
            }
            "user-agents" => {
                assert_eq!(rows.len(), 20);
                check_terms("userAgent");
            }
            "errors-by-code" => {
                assert_eq!(hits, 172, "the search source keeps calls with an errorCode");
                let codes: BTreeMap<&str, u64> = [
                    ("ThrottlingException", 89),
                    ("AccessDenied", 41),
                    ("Client.UnauthorizedOperation", 39),
                    ("AccessDeniedException", 3),
                ]
                .into();
                for (code, n) in &codes {
                    assert_eq!(sum(&rows, |k| k[0] == *code), *n, "{code}");
                }
                assert_eq!(sum(&rows, |_| true), 172, "no code has more than 5 services here");
                assert_eq!(
                    rows.iter()
                        .filter(|(k, _)| k[0] == "AccessDeniedException")
                        .collect::<Vec<_>>(),
                    [&(
                        vec![
                            "AccessDeniedException".to_string(),
                            "ssm.amazonaws.com".to_string()
                        ],
                        3
                    )]
                );
                check_terms("errorCode");
            }
            "events-by-account-region" => {
                for (account, n) in manifest["records_per_account"].as_object().unwrap() {
                    assert_eq!(sum(&rows, |k| k[0] == *account), n.as_u64().unwrap(), "{account}");
                }
                for (region, n) in manifest["records_per_region"].as_object().unwrap() {
                    assert_eq!(sum(&rows, |k| k[1] == *region), n.as_u64().unwrap(), "{region}");
                }
                assert_eq!(sum(&rows, |_| true), events);
            }
            "read-vs-write" => {
                let get = |label: &str| sum(&rows, |k| k[0] == label);
                assert_eq!(get("Read"), total(&prefix, json!({"term": {"readOnly": true}})));
                assert_eq!(get("Write"), total(&prefix, json!({"term": {"readOnly": false}})));
                assert_eq!(
                    (get("Read"), get("Write"), get("No readOnly field")),
                    (3020, 512, 5)
                );
                assert_eq!(
                    sum(&rows, |_| true),
                    events,
                    "the three filters cover every event once"
                );
            }
            "top-countries" | "top-networks" => {
                assert_eq!(hits, events);
                assert_eq!(total(&prefix, json!({"exists": {"field": "source.geo"}})), 0);
                assert_eq!(total(&prefix, json!({"exists": {"field": "source.as"}})), 0);
            }
            "clients" => {
                let named = |client: &str, tool: &str, n| (vec![client.to_string(), tool.to_string()], n);
                assert_eq!(
                    rows,
                    [
                        named("sdk", "Boto3", 916),
                        named("sdk", "aws-sdk-go-v2", 372),
                        named("sdk", "aws-sdk-go", 176),
                        named("console", MISSING, 453),
                        named("aws-service", MISSING, 450),
                        named("other", MISSING, 445),
                        named("aws-cli", "aws-cli", 430),
                        named("terraform", "Terraform", 293),
                    ]
                );
                assert_eq!(
                    sum(&rows, |_| true),
                    total(&prefix, json!({"exists": {"field": "trailsearch.client"}}))
                );
                check_terms("trailsearch.client");
                // Each row counts what a term query on the client and the
                // tool (or its absence) counts.
                for (keys, n) in &rows {
                    let name = if keys[1] == MISSING {
                        json!({"bool": {"must_not": [{"exists": {"field": "user_agent.name"}}]}})
                    } else {
                        json!({"term": {"user_agent.name": keys[1]}})
                    };
                    let query =
                        json!({"bool": {"filter": [{"term": {"trailsearch.client": keys[0]}}, name]}});
                    assert_eq!(*n, total(&prefix, query), "{keys:?}");
                }
            }
            "top-actors" => {
                assert_eq!(rows.len(), 20);
                assert_eq!(rows[0], (vec!["orders-fn/orders-processor".to_string()], 497));
                // AWS services are actors too; Top users misses them, as
                // their calls carry no ARN.
                assert!(rows.contains(&(vec!["cloudtrail.amazonaws.com".to_string()], 195)));
                assert_eq!(
                    total(
                        &prefix,
                        json!({"bool": {"filter": [
                            {"term": {"userIdentity.type": "AWSService"}},
                            {"exists": {"field": "userIdentity.arn"}},
                        ]}})
                    ),
                    0
                );
                assert!(rows.windows(2).all(|w| w[0].1 >= w[1].1), "by count, descending");
                check_terms("trailsearch.actor");
            }
            "top-resources" => {
                let firsts: Vec<&String> = rows.iter().map(|(k, _)| &k[0]).collect();
                let distinct: BTreeSet<&String> = firsts.iter().copied().collect();
                assert_eq!(distinct.len(), 20, "{rows:?}");
                assert_eq!(firsts[0], "/aws/lambda/invoice-renderer");
                assert_eq!(sum(&rows, |k| k[0] == "/aws/lambda/invoice-renderer"), 135);
                // The planted calls name their resources.
                let on = |resource: &str, name: &str| {
                    total(
                        &prefix,
                        json!({"bool": {"filter": [
                            {"term": {"trailsearch.resource": resource}},
                            {"term": {"eventName": name}},
                        ]}}),
                    )
                };
                assert_eq!(on("prod-orders-db", "DeleteDBInstance"), 1);
                assert_eq!(on("sg-0a1b2c3d4e5f67890", "AuthorizeSecurityGroupIngress"), 1);
                assert_eq!(on("sg-0a1b2c3d4e5f67890", "RevokeSecurityGroupIngress"), 1);
                check_terms("trailsearch.resource");
            }
            "log-integrity" => assert_eq!(hits, 0, "no events from S3"),
            other => panic!("no expectations for visualization {other}"),
        }
        seen.insert(slug);
    }
    assert_eq!(seen.len(), 14, "every visualization ran: {seen:?}");
}

/// Each column and aggregated field of every saved object, by object ID:
/// `(columns, aggregated)`.
fn columns_and_aggregated(objects: &[Value]) -> Vec<(String, Vec<String>, Vec<String>)> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_str().map(str::to_string))
            .collect()
    };
    objects
        .iter()
        .map(|o| {
            let columns = strings(&o["attributes"]["columns"]);
            let aggregated = match o["attributes"]["visState"].as_str() {
                Some(state) => {
                    let state: Value = serde_json::from_str(state).unwrap();
                    state["aggs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter_map(|a| a["params"]["field"].as_str().map(str::to_string))
                        .collect()
                }
                None => Vec::new(),
            };
            (o["id"].as_str().unwrap().to_string(), columns, aggregated)
        })
        .collect()
}

/// Asks the node itself: every Discover column is a field the index
/// pattern lists and none is a key inside a flattened / flat_object field
/// (whole free-shaped fields, shown as JSON, are columns on purpose); every
/// aggregated field is searchable and aggregatable and not free-shaped.
#[test]
fn kibana_columns_and_aggregations_use_real_fields_of_the_node() {
    let prefix = unique_prefix("kibana-field-caps");
    ingest_fixtures(&prefix);
    let free_shaped = free_shaped_type(&prefix);
    let mut objects = exported(&prefix, "kibana");
    objects.extend(exported(&prefix, "osd"));
    let used = columns_and_aggregated(&objects);
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for (_, columns, aggregated) in &used {
        names.extend(columns.iter().chain(aggregated).map(String::as_str));
    }
    let fields = names.iter().copied().collect::<Vec<_>>().join(",");
    let (status, caps) = http("GET", &format!("{prefix}-*/_field_caps?fields={fields}"), None);
    assert_eq!(status, 200, "{caps}");
    let top_level_free: BTreeSet<&str> = trailsearch_mapping::free_shaped_fields().collect();
    let mut checked = (0, 0);
    for (id, columns, aggregated) in &used {
        for column in columns {
            let kinds = caps["fields"][column].as_object();
            let whole_free = top_level_free.contains(column.as_str());
            match kinds {
                Some(kinds) => {
                    for (kind, cap) in kinds {
                        assert!(
                            kind != &free_shaped || whole_free,
                            "{id}: column {column} is a key inside a {kind} field"
                        );
                        assert_eq!(cap["searchable"], true, "{id}: column {column}");
                    }
                }
                // The compatible flavour stores free-shaped objects unindexed.
                None => assert!(
                    whole_free && free_shaped == "object",
                    "{id}: column {column} is no field of the index: {caps}"
                ),
            }
            checked.0 += 1;
        }
        for field in aggregated {
            let kinds = caps["fields"][field]
                .as_object()
                .unwrap_or_else(|| panic!("{id}: {field} is no field of the index"));
            for (kind, cap) in kinds {
                assert_ne!(kind, &free_shaped, "{id}: {field}");
                assert_eq!(cap["searchable"], true, "{id}: {field}");
                assert_eq!(cap["aggregatable"], true, "{id}: {field} cannot be aggregated");
            }
            checked.1 += 1;
        }
    }
    assert_eq!(checked, (210, 43), "columns and aggregated fields checked");
}

// --- location, network, client, actor -------------------------------------------

/// Where a synthetic call came from: a located public address, or an
/// address GeoIP is not asked about (an AWS service, a private address).
enum Source {
    Located(Origin),
    Unlocated(&'static str),
}

/// Country, city, location and network of a public address.
struct Origin {
    country: (&'static str, &'static str, &'static str),
    city: &'static str,
    location: (f64, f64),
    network: (u64, &'static str, &'static str),
}

const ASHBURN: (&str, (f64, f64)) = ("Ashburn", (39.0438, -77.4874));
const SEATTLE: (&str, (f64, f64)) = ("Seattle", (47.6062, -122.3321));
const PARIS: (&str, (f64, f64)) = ("Paris", (48.8566, 2.3522));
const FRANKFURT: (&str, (f64, f64)) = ("Frankfurt am Main", (50.1109, 8.6821));
const SYDNEY: (&str, (f64, f64)) = ("Sydney", (-33.8688, 151.2093));
const US: (&str, &str, &str) = ("United States", "US", "North America");
const FR: (&str, &str, &str) = ("France", "FR", "Europe");
const DE: (&str, &str, &str) = ("Germany", "DE", "Europe");
const AU: (&str, &str, &str) = ("Australia", "AU", "Oceania");
/// Number, organization, and the first three octets of an address in it.
const AMAZON: (u64, &str, &str) = (14618, "AMAZON-AES", "3.80.12");
const MICROSOFT: (u64, &str, &str) = (8075, "MICROSOFT-CORP-MSN-AS-BLOCK", "20.42.65");
const MICROSOFT_2: (u64, &str, &str) = (8068, "MICROSOFT-CORP-MSN-AS-BLOCK", "13.107.42");
const OVH: (u64, &str, &str) = (16276, "OVH SAS", "51.38.64");
const TELSTRA: (u64, &str, &str) = (1221, "Telstra Corporation Ltd", "1.120.33");

fn origin(
    country: (&'static str, &'static str, &'static str),
    (city, location): (&'static str, (f64, f64)),
    network: (u64, &'static str, &'static str),
) -> Source {
    Source::Located(Origin {
        country,
        city,
        location,
        network,
    })
}

/// A document as the shaper writes it with GeoIP databases configured,
/// indexed directly so the counts do not hang on a database's contents.
fn located_document(
    n: usize,
    source: Source,
    user_agent: &str,
    client: &str,
    agent: Option<(&str, &str)>,
    actor: &str,
) -> Value {
    let mut doc = json!({
        "@timestamp": format!("2024-03-16T11:{n:02}:00Z"),
        "eventTime": format!("2024-03-16T11:{n:02}:00Z"),
        "eventID": format!("geo-{n:02}"),
        "eventSource": "ec2.amazonaws.com",
        "eventName": "DescribeInstances",
        "userAgent": user_agent,
        "trailsearch": {"client": client, "actor": actor},
    });
    match source {
        Source::Located(o) => {
            let ip = format!("{}.{}", o.network.2, n + 10);
            doc["sourceIPAddress"] = json!(ip);
            doc["source"] = json!({
                "ip": ip,
                "geo": {
                    "country_name": o.country.0,
                    "country_iso_code": o.country.1,
                    "continent_name": o.country.2,
                    "city_name": o.city,
                    "location": {"lat": o.location.0, "lon": o.location.1},
                },
                "as": {"number": o.network.0, "organization": {"name": o.network.1}},
            });
        }
        Source::Unlocated(address) => doc["sourceIPAddress"] = json!(address),
    }
    if let Some((name, version)) = agent {
        doc["user_agent"] = json!({"name": name, "version": version});
    }
    // What the shaper would have written for this user agent.
    let classified = trailsearch_mapping::classify_user_agent(user_agent);
    assert_eq!(
        (classified.client, classified.name.zip(classified.version)),
        (client, agent),
        "{user_agent}"
    );
    doc
}

/// Fifteen calls: five from the United States (Ashburn twice, Seattle three
/// times), four from France, two from Germany, one from Australia, and three
/// with no location (two AWS services, one private address). Counts differ
/// from group to group so every table's order is known.
fn located_documents() -> Vec<Value> {
    let cli = (
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64",
        "aws-cli",
        Some(("aws-cli", "2.15.30")),
    );
    let old_cli = (
        "aws-cli/2.13.0 Python/3.11.4 Darwin/23.1",
        "aws-cli",
        Some(("aws-cli", "2.13.0")),
    );
    let boto3 = (
        "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.1 lang/python#3.12.1",
        "sdk",
        Some(("Boto3", "1.34.51")),
    );
    let go = (
        "aws-sdk-go/1.50.0 (go1.21.6; linux; amd64)",
        "sdk",
        Some(("aws-sdk-go", "1.50.0")),
    );
    let terraform = (
        "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0",
        "terraform",
        Some(("Terraform", "1.7.4")),
    );
    let console = ("signin.amazonaws.com", "console", None);
    let lambda = ("lambda.amazonaws.com", "aws-service", None);
    let bob = "Admin/bob@example.com";
    let calls = [
        (origin(US, ASHBURN, AMAZON), cli, "alice"),
        (origin(US, ASHBURN, AMAZON), cli, "alice"),
        (origin(US, SEATTLE, MICROSOFT), boto3, bob),
        (origin(US, SEATTLE, MICROSOFT_2), terraform, bob),
        (origin(US, SEATTLE, MICROSOFT), boto3, bob),
        (origin(FR, PARIS, OVH), console, "alice"),
        (origin(FR, PARIS, OVH), console, "alice"),
        (origin(FR, PARIS, OVH), old_cli, "alice"),
        (origin(FR, PARIS, MICROSOFT), cli, "alice"),
        (origin(DE, FRANKFURT, OVH), console, "root"),
        (origin(DE, FRANKFURT, MICROSOFT), boto3, bob),
        (origin(AU, SYDNEY, TELSTRA), cli, "mallory"),
        (
            Source::Unlocated("lambda.amazonaws.com"),
            lambda,
            "lambda.amazonaws.com",
        ),
        (
            Source::Unlocated("lambda.amazonaws.com"),
            lambda,
            "lambda.amazonaws.com",
        ),
        (Source::Unlocated("10.0.0.12"), go, "ci-deployer"),
    ];
    calls
        .into_iter()
        .enumerate()
        .map(|(n, (source, (ua, client, agent), actor))| {
            located_document(n, source, ua, client, agent, actor)
        })
        .collect()
}

/// A fresh prefix, its template installed (so `source.geo.location` is a
/// `geo_point`), holding [`located_documents`].
fn index_located_documents(test: &str) -> Prefix {
    let prefix = unique_prefix(test);
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let index = format!("{prefix}-2024.03.16");
    for doc in located_documents() {
        let id = doc["eventID"].as_str().unwrap();
        let (status, answer) = http("PUT", &format!("{index}/_doc/{id}"), Some(&doc));
        assert_eq!(status, 201, "{answer}");
    }
    refresh(&format!("{prefix}-*"));
    let (_, mapping) = http("GET", &format!("{index}/_mapping"), None);
    assert_eq!(
        mapping[&index]["mappings"]["properties"]["source"]["properties"]["geo"]["properties"]["location"]
            ["type"],
        "geo_point",
        "the template maps the location"
    );
    prefix
}

/// Events per `geotile_grid` tile of `field` at `precision` (zoom), under a
/// map's search: what Kibana's clusters layer asks for.
fn tiles(prefix: &str, query: &str, field: &str, precision: u32) -> BTreeMap<String, u64> {
    let body = json!({
        "size": 0,
        "query": kibana_query(query),
        "aggs": {"grid": {"geotile_grid": {"field": field, "precision": precision}}},
    });
    let answer = search(prefix, &body);
    answer["aggregations"]["grid"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap().to_string(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Events per geohash cell of a coordinate map's `geohash_grid` agg, asked
/// as Dashboards asks it (the agg's own field and precision, a
/// `geo_centroid` inside when `useGeocentroid`); the centroids must fall in
/// their cells.
fn geohash_cells(prefix: &str, query: &str, agg: &Value) -> BTreeMap<String, u64> {
    let params = &agg["params"];
    let mut grid = json!({"geohash_grid": {"field": params["field"], "precision": params["precision"]}});
    if params["useGeocentroid"] == true {
        grid["aggs"] = json!({"centroid": {"geo_centroid": {"field": params["field"]}}});
    }
    let answer = search(
        prefix,
        &json!({"size": 0, "query": kibana_query(query), "aggs": {"grid": grid}}),
    );
    answer["aggregations"]["grid"]["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|b| {
            assert!(
                b["centroid"]["location"]["lat"].is_number() || params["useGeocentroid"] != true,
                "{b}"
            );
            (
                b["key"].as_str().unwrap().to_string(),
                b["doc_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn row(keys: &[&str], n: u64) -> (Vec<String>, u64) {
    (keys.iter().map(|k| k.to_string()).collect(), n)
}

#[test]
fn kibana_location_network_client_and_actor_views_count_located_calls() {
    let prefix = index_located_documents("kibana-located");
    let objects = exported(&prefix, "kibana");
    let vis = |slug: &str| {
        let id = format!("trailsearch-{prefix}-vis-{slug}");
        let object = objects.iter().find(|o| o["id"] == id).unwrap();
        let (hits, rows) = run_visualization(&prefix, object);
        assert_eq!(hits, 15, "{slug}: every call");
        rows
    };
    assert_eq!(
        vis("top-countries"),
        [
            row(&["United States", "US"], 5),
            row(&["France", "FR"], 4),
            row(&["Germany", "DE"], 2),
            row(&["Australia", "AU"], 1),
        ]
    );
    assert_eq!(
        vis("top-networks"),
        [
            row(&["MICROSOFT-CORP-MSN-AS-BLOCK", "8075"], 4),
            row(&["MICROSOFT-CORP-MSN-AS-BLOCK", "8068"], 1),
            row(&["OVH SAS", "16276"], 4),
            row(&["AMAZON-AES", "14618"], 2),
            row(&["Telstra Corporation Ltd", "1221"], 1),
        ]
    );
    // Clients without a named tool keep their row.
    assert_eq!(
        vis("clients"),
        [
            row(&["aws-cli", "aws-cli"], 5),
            row(&["sdk", "Boto3"], 3),
            row(&["sdk", "aws-sdk-go"], 1),
            row(&["console", MISSING], 3),
            row(&["aws-service", MISSING], 2),
            row(&["terraform", "Terraform"], 1),
        ]
    );
    let actors = vis("top-actors");
    assert_eq!(
        actors[..2],
        [row(&["alice"], 6), row(&["Admin/bob@example.com"], 4)]
    );
    assert_eq!(actors[2], row(&["lambda.amazonaws.com"], 2));
    let ones: BTreeSet<(Vec<String>, u64)> = actors[3..].iter().cloned().collect();
    assert_eq!(
        ones,
        BTreeSet::from([row(&["ci-deployer"], 1), row(&["mallory"], 1), row(&["root"], 1)])
    );
    // `user.name` is the actor under its ECS name.
    assert_eq!(total(&prefix, json!({"term": {"user.name": "alice"}})), 6);
}

#[test]
fn kibana_maps_of_both_products_count_located_calls_per_tile() {
    let prefix = index_located_documents("kibana-maps");
    // Zoom 2: Seattle; Ashburn; Paris and Frankfurt together; Sydney.
    let expected = BTreeMap::from([
        ("2/0/1".to_string(), 3),
        ("2/1/1".to_string(), 2),
        ("2/2/1".to_string(), 6),
        ("2/3/2".to_string(), 1),
    ]);

    // Kibana: a clusters layer (a geotile grid) on the index pattern.
    let objects = exported(&prefix, "kibana");
    assert!(objects
        .iter()
        .all(|o| o["type"] != "visualization"
            || json_string(&o["attributes"]["visState"])["type"] != "tile_map"));
    let map = objects.iter().find(|o| o["type"] == "map").unwrap();
    assert_eq!(map["id"], format!("trailsearch-{prefix}-map-source-locations"));
    let layers = json_string(&map["attributes"]["layerListJSON"]);
    let grid = &layers.as_array().unwrap()[1]["sourceDescriptor"];
    assert_eq!(grid["type"], "ES_GEO_GRID");
    assert_eq!(grid["requestType"], "point");
    let reference = map["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == grid["indexPatternRefName"])
        .unwrap();
    assert_eq!(reference["type"], "index-pattern");
    assert_eq!(reference["id"], objects[0]["id"]);
    assert_eq!(objects[0]["attributes"]["title"], format!("{prefix}-*"));
    let state = json_string(&map["attributes"]["mapStateJSON"]);
    assert_eq!(state["query"]["language"], "lucene");
    let field = grid["geoField"].as_str().unwrap();
    assert_eq!(field, "source.geo.location");
    assert_eq!(
        tiles(&prefix, state["query"]["query"].as_str().unwrap(), field, 2),
        expected
    );

    // Dashboards: a coordinate map, its grid on the same field.
    let objects = exported(&prefix, "osd");
    assert!(objects.iter().all(|o| o["type"] != "map"));
    let map = objects
        .iter()
        .find(|o| o["id"] == format!("trailsearch-{prefix}-vis-source-locations"))
        .unwrap();
    let vis_state = json_string(&map["attributes"]["visState"]);
    assert_eq!(vis_state["type"], "tile_map");
    let aggs = vis_state["aggs"].as_array().unwrap();
    assert_eq!(aggs[0]["type"], "count");
    assert_eq!(aggs[1]["type"], "geohash_grid");
    assert_eq!(aggs[1]["schema"], "segment");
    assert_eq!(aggs[1]["params"]["field"], "source.geo.location");
    // Geohash cells at precision 2: Seattle c2, Ashburn dq, Paris and
    // Frankfurt u0, Sydney r3 (the same groups as the tiles above).
    let cells = BTreeMap::from([
        ("c2".to_string(), 3),
        ("dq".to_string(), 2),
        ("u0".to_string(), 6),
        ("r3".to_string(), 1),
    ]);
    assert_eq!(geohash_cells(&prefix, &saved_query(map), &aggs[1]), cells);
}

#[test]
fn kibana_investigation_filters_narrow_as_their_labels_say() {
    let prefix = unique_prefix("kibana-filters");
    ingest_fixtures(&prefix);
    let objects = exported(&prefix, "kibana");
    let dashboard = objects
        .iter()
        .find(|o| o["id"] == format!("trailsearch-{prefix}-dashboard-investigation"))
        .unwrap();
    let source = json_string(&dashboard["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]);
    let events = manifest()["distinct_events"].as_u64().unwrap();
    let mut counts = BTreeMap::new();
    for filter in source["filter"].as_array().unwrap() {
        // Kibana puts an enabled filter in bool.filter, or bool.must_not when negated.
        let clause = if filter["meta"]["negate"] == true {
            "must_not"
        } else {
            "filter"
        };
        let query = json!({"bool": {clause: [filter["query"].clone()]}});
        counts.insert(
            filter["meta"]["alias"].as_str().unwrap().to_string(),
            total(&prefix, query),
        );
    }
    assert_eq!(
        counts["Writes only"],
        total(&prefix, json!({"term": {"readOnly": false}}))
    );
    assert_eq!(counts["Writes only"], 512);
    assert_eq!(counts["Failures only"], 176);
    assert_eq!(
        counts["Not AWS services"],
        events - total(&prefix, json!({"term": {"userIdentity.type": "AWSService"}}))
    );
    assert_eq!(counts["Not AWS services"], events - 349);
}

// --- import -------------------------------------------------------------------

/// `tests/servers/kibana_stub.py`.
fn kibana_stub(args: &[&str]) -> PyServer {
    PyServer::start("kibana_stub.py", args)
}

fn setup_with(prefix: &str, stub: &PyServer, extra: &[&str]) -> Run {
    let mut args = vec![
        "--es-user",
        "trailsearch",
        "--es-password",
        "kibana-stub-secret",
        "setup",
        "--kibana-url",
        &stub.url,
    ];
    args.extend_from_slice(extra);
    trailsearch(prefix, &args)
}

const STUB_CREDENTIALS: [&str; 4] = ["--user", "trailsearch", "--password", "kibana-stub-secret"];

#[test]
fn kibana_setup_imports_into_kibana_and_opensearch_dashboards() {
    // Each product gets its own export: Kibana's with a map, Dashboards' with
    // a coordinate map among its visualizations.
    for (flavour, product, version, header, other_header, views) in [
        (
            "kibana",
            "Kibana",
            "8.15.3",
            "kbn-xsrf",
            "osd-xsrf",
            "14 visualizations, 1 map",
        ),
        (
            "osd",
            "OpenSearch Dashboards",
            "2.17.0",
            "osd-xsrf",
            "kbn-xsrf",
            "15 visualizations",
        ),
    ] {
        let prefix = unique_prefix(&format!("kibana-import-{flavour}"));
        let stub = kibana_stub(&[&["--flavour", flavour][..], &STUB_CREDENTIALS[..]].concat());
        let run = setup_with(&prefix, &stub, &[]).expect_code(0);
        let expected = exported(&prefix, flavour);
        let maps = |kind: &str| expected.iter().filter(|o| o["type"] == kind).count();
        assert_eq!(
            (maps("map"), maps("visualization")),
            if flavour == "kibana" { (1, 14) } else { (0, 15) }
        );
        assert!(
            run.stdout.contains(&format!(
                "{product} {version} at {}/: 32 of 32 saved objects imported (index pattern {prefix}-*, 14 searches, {views}, dashboards \"CloudTrail overview [{prefix}]\", \"CloudTrail investigation [{prefix}]\")",
                stub.url
            )),
            "{run}"
        );
        assert!(
            run.stdout.contains(&format!("template {prefix}-events")),
            "templates first: {run}"
        );

        let requests = stub.requests();
        assert_eq!(requests.len(), 2, "{requests:#?}");
        let (status, import) = (&requests[0], &requests[1]);
        assert_eq!(
            (status["method"].as_str(), status["path"].as_str()),
            (Some("GET"), Some("/api/status"))
        );
        assert_eq!(import["method"], "POST");
        assert_eq!(import["path"], "/api/saved_objects/_import?overwrite=true");
        assert_eq!(import["ok"], true, "{import:#}");
        assert_eq!(import["problems"], json!([]));
        let headers = &import["headers"];
        assert_eq!(headers[header], "true");
        assert!(headers.get(other_header).is_none());
        assert_eq!(headers["authorization"], "(present)", "the cluster's credentials");
        assert!(headers.get("content-encoding").is_none());
        assert!(headers["content-type"]
            .as_str()
            .unwrap()
            .starts_with("multipart/form-data; boundary="));
        assert_eq!(
            import["parts"],
            json!([{"name": "file", "filename": "trailsearch.ndjson", "content_type": "application/x-ndjson"}])
        );
        assert_eq!(
            import["objects"],
            Value::Array(expected),
            "the file part is the export"
        );
        assert_eq!(import["stored"], 32);

        // Stable IDs: importing again overwrites, nothing is duplicated.
        setup_with(&prefix, &stub, &[]).expect_code(0);
        let again = stub.requests();
        assert_eq!(again.len(), 4);
        assert_eq!(again[3]["stored"], 32, "{:#}", again[3]);
    }
}

#[test]
fn kibana_setup_reports_refused_objects_and_undetectable_products() {
    let prefix = unique_prefix("kibana-import-errors");

    // Objects refused: each is named on stderr, and setup exits 1.
    let refused_id = format!("trailsearch-{prefix}-vis-top-users");
    let stub = kibana_stub(
        &[
            &["--flavour", "kibana", "--refuse", &refused_id][..],
            &STUB_CREDENTIALS[..],
        ]
        .concat(),
    );
    let run = setup_with(&prefix, &stub, &[]).expect_code(1);
    assert!(run.stdout.contains("31 of 32 saved objects imported"), "{run}");
    assert!(
        run.stderr.contains(&format!(
            "error: saved object visualization {refused_id} (\"Top users [{prefix}]\"): unknown: mapping set to strict"
        )),
        "{run}"
    );

    // A status that names no product (Kibana's answer to anonymous callers):
    // setup says to pass --kibana-flavour; with it, everything is imported
    // (the answer names no version either).
    let redacted = kibana_stub(&[&["--flavour", "redacted"][..], &STUB_CREDENTIALS[..]].concat());
    let run = setup_with(&prefix, &redacted, &[]).expect_code(1);
    assert!(run.stderr.contains("--kibana-flavour kibana|osd"), "{run}");
    let run = setup_with(&prefix, &redacted, &["--kibana-flavour", "kibana"]).expect_code(0);
    assert!(run.stdout.contains("Kibana at "), "{run}");
    assert!(run.stdout.contains("32 of 32 saved objects imported"), "{run}");
    let requests = redacted.requests();
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert_eq!(requests[2]["headers"]["kbn-xsrf"], "true");

    // The wrong flavour forced: Dashboards wants osd-xsrf and says so.
    let osd = kibana_stub(&[&["--flavour", "osd"][..], &STUB_CREDENTIALS[..]].concat());
    let run = setup_with(&prefix, &osd, &["--kibana-flavour", "kibana"]).expect_code(1);
    assert!(
        run.stderr.contains("HTTP 400") && run.stderr.contains("osd-xsrf"),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("says it is OpenSearch Dashboards; going by --kibana-flavour kibana"),
        "{run}"
    );

    // Wrong credentials are the server's 401, shown.
    let strict = kibana_stub(&["--flavour", "kibana", "--user", "someone", "--password", "else"]);
    let run = setup_with(&prefix, &strict, &[]).expect_code(1);
    assert!(
        run.stderr.contains("HTTP 401") && run.stderr.contains("api/status"),
        "{run}"
    );

    // A URL that is not one.
    let run = trailsearch(&prefix, &["setup", "--kibana-url", "kibana:5601"]).expect_code(1);
    assert!(run.stderr.contains("--kibana-url"), "{run}");
    let run = trailsearch(
        &prefix,
        &["setup", "--kibana-url", "http://x", "--kibana-flavour", "grafana"],
    )
    .expect_code(2);
    assert!(run.stderr.contains("kibana or osd"), "{run}");
}

/// What each Kibana version takes, from its own `GET /api/status`: 7.17
/// (the legacy status shape) and 8.0 refuse the map's 8.1 layout, failing
/// the whole import (the stub answers 422 as Kibana's migrator does), so
/// they get everything else and a warning; 8.1+ and 9.x get the map too.
#[test]
fn kibana_setup_imports_what_each_kibana_version_takes() {
    let prefix = unique_prefix("kibana-versions");
    for (version, with_map) in [
        ("7.17.18", false),
        ("8.0.1", false),
        ("8.15.3", true),
        ("9.1.2", true),
    ] {
        let stub = kibana_stub(
            &[
                &["--flavour", "kibana", "--version", version][..],
                &STUB_CREDENTIALS[..],
            ]
            .concat(),
        );
        let run = setup_with(&prefix, &stub, &[]).expect_code(0);
        let requests = stub.requests();
        assert_eq!(requests.len(), 2, "{version}: {requests:#?}");
        let import = &requests[1];
        assert_eq!(import["status"], 200, "{version}: {import:#}");
        let objects = import["objects"].as_array().unwrap();
        let maps = objects.iter().filter(|o| o["type"] == "map").count();
        let overview = objects
            .iter()
            .find(|o| o["id"] == format!("trailsearch-{prefix}-dashboard-overview"))
            .unwrap();
        let refers_to_map = overview["references"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "map");
        if with_map {
            assert_eq!((maps, refers_to_map), (1, true), "{version}");
            assert!(
                run.stdout.contains(&format!(
                    "Kibana {version} at {}/: 32 of 32 saved objects imported",
                    stub.url
                )),
                "{run}"
            );
            assert!(!run.stderr.contains("warning"), "{run}");
        } else {
            assert_eq!((maps, refers_to_map), (0, false), "{version}");
            assert!(
                run.stdout.contains(&format!(
                    "Kibana {version} at {}/: 31 of 31 saved objects imported",
                    stub.url
                )),
                "{run}"
            );
            assert!(
                run.stderr.contains(&format!(
                    "warning: Kibana {version} cannot import the \"Source locations\" map"
                )),
                "{run}"
            );
        }
    }

    // Kibana older than the objects' 7.10 layout: nothing is sent.
    let old = kibana_stub(
        &[
            &["--flavour", "kibana", "--version", "7.9.3"][..],
            &STUB_CREDENTIALS[..],
        ]
        .concat(),
    );
    let run = setup_with(&prefix, &old, &[]).expect_code(1);
    assert!(run.stderr.contains("Kibana 7.9.3 is older than 7.10"), "{run}");
    assert_eq!(old.requests().len(), 1, "only the status was asked");
}

/// Dashboards' security tenant goes in the `securitytenant` header of every
/// request; Kibana has spaces instead. IDs Kibana changes in a non-default
/// space are reported.
#[test]
fn kibana_setup_sends_the_tenant_and_reports_new_ids() {
    let prefix = unique_prefix("kibana-tenant");
    let osd = kibana_stub(&[&["--flavour", "osd"][..], &STUB_CREDENTIALS[..]].concat());
    let run = setup_with(&prefix, &osd, &["--kibana-tenant", "global"]).expect_code(0);
    assert!(
        run.stdout
            .contains("/ (tenant global): 32 of 32 saved objects imported"),
        "{run}"
    );
    let requests = osd.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request["headers"]["securitytenant"], "global", "{request:#}");
    }

    let kibana = kibana_stub(&[&["--flavour", "kibana"][..], &STUB_CREDENTIALS[..]].concat());
    let run = setup_with(&prefix, &kibana, &["--kibana-tenant", "global"]).expect_code(2);
    assert!(
        run.stderr
            .contains("Kibana has spaces: put /s/SPACE in --kibana-url"),
        "{run}"
    );

    let space = kibana_stub(&[&["--flavour", "kibana", "--new-ids"][..], &STUB_CREDENTIALS[..]].concat());
    let run = setup_with(&prefix, &space, &[]).expect_code(0);
    assert!(run.stdout.contains("Kibana gave 32 objects new IDs"), "{run}");
    assert!(
        run.stdout.contains(&format!(
            "  search trailsearch-{prefix}-search-api-errors -> new-trailsearch-{prefix}-search-api-errors"
        )),
        "{run}"
    );
}
