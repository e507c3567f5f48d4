//! `trace` and `search --follow-sessions` on the node: the fixtures' chain
//! (a SAML user -> a role -> a role in another account -> the deleting
//! call), an origin outside the indexed time, and a loop.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use trailsearch_e2e::*;

const SAML: &str = "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e07";
const ASSUME: &str = "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e08";
const ASSUME_OWNER_COPY: &str = "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e09";
const DELETE_BUCKET: &str = "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e10";

fn ingest_fixtures(prefix: &str) {
    trailsearch(prefix, &["setup"]).expect_code(0);
    trailsearch(prefix, &["ingest", fixtures().to_str().unwrap()]).expect_code(1);
    refresh(&format!("{prefix}-*"));
}

/// The eventIDs of a `trace --format json` answer's hops, newest first.
fn hop_ids(trace: &Value) -> Vec<String> {
    trace["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event_id"].as_str().unwrap().to_string())
        .collect()
}

fn event_ids(json_lines: &str) -> BTreeSet<String> {
    json_lines
        .lines()
        .map(|l| {
            let doc: Value = serde_json::from_str(l).unwrap();
            doc["eventID"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn trace_follows_a_saml_user_through_two_roles_and_accounts() {
    let prefix = unique_prefix("trace-chain");
    ingest_fixtures(&prefix);

    let run = trailsearch(&prefix, &["trace", DELETE_BUCKET]).expect_code(0);
    let blocks: Vec<&str> = run.stdout.split("\n\n").collect();
    assert_eq!(blocks.len(), 4, "three hops and who: {run}");
    assert_eq!(
        blocks[0].lines().collect::<Vec<_>>(),
        [
            "1. 2024-03-14T12:07:42Z  DeleteBucket  account 444455556666",
            "     identity    AssumedRole arn:aws:sts::444455556666:assumed-role/prod-deployer/deploy-1234",
            "     access key  ASIAEXAMPLECAROL0002",
            "     source id   carol@example.com",
            "     source ip   203.0.113.77",
            "     user agent  aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off command/s3api.delete-bucket",
            &format!("     event id    {DELETE_BUCKET}"),
        ]
    );
    // The cross-account AssumeRole, logged in both accounts, is one hop:
    // the caller's copy.
    assert_eq!(
        blocks[1].lines().take(4).collect::<Vec<_>>(),
        [
            "2. 2024-03-14T12:05:10Z  AssumeRole  account 111122223333",
            "     identity    AssumedRole arn:aws:sts::111122223333:assumed-role/okta-engineer/carol@example.com",
            "     access key  ASIAEXAMPLECAROL0001",
            "     issued      ASIAEXAMPLECAROL0002 (arn:aws:sts::444455556666:assumed-role/prod-deployer/deploy-1234)",
        ]
    );
    assert!(blocks[1].ends_with(&format!("event id    {ASSUME}")), "{run}");
    assert_eq!(
        blocks[2].lines().take(3).collect::<Vec<_>>(),
        [
            "3. 2024-03-14T12:00:00Z  AssumeRoleWithSAML  account 111122223333",
            "     identity    SAMLUser carol@example.com",
            "     issued      ASIAEXAMPLECAROL0001 (arn:aws:sts::111122223333:assumed-role/okta-engineer/carol@example.com)",
        ]
    );
    assert_eq!(
        blocks[3].trim(),
        "who: carol@example.com, signed in through SAML provider arn:aws:iam::111122223333:saml-provider/okta"
    );

    // For tools: one JSON object; from the role owner's copy the chain is the same.
    let json = trailsearch(&prefix, &["trace", ASSUME_OWNER_COPY, "--format", "json"]).expect_code(0);
    let trace: Value = serde_json::from_str(json.stdout.trim()).unwrap();
    let hops = hop_ids(&trace);
    assert_eq!(hops, [ASSUME, SAML]);
    assert_eq!(
        trace["origin"],
        json!({"kind": "saml-user", "subject": "carol@example.com",
               "provider": "arn:aws:iam::111122223333:saml-provider/okta"})
    );
    assert_eq!(trace["hops"][1]["source_ip"], "203.0.113.77");

    // An IAM user is the end of its own chain.
    let alice = trailsearch(
        &prefix,
        &[
            "trace",
            "8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e01",
            "--format",
            "json",
        ],
    )
    .expect_code(0);
    let alice: Value = serde_json::from_str(alice.stdout.trim()).unwrap();
    assert_eq!(
        alice["origin"],
        json!({"kind": "iam-user", "name": "alice", "arn": "arn:aws:iam::111122223333:user/alice"})
    );
    assert_eq!(alice["hops"].as_array().unwrap().len(), 1);

    // No such event: exit 1, saying what to do.
    let missing = trailsearch(&prefix, &["trace", "no-such-event"]).expect_code(1);
    assert!(
        missing
            .stderr
            .contains(&format!("no event with eventID no-such-event in {prefix}-*")),
        "{missing}"
    );
}

#[test]
fn follow_sessions_finds_the_events_of_every_credential_issued_to_a_user() {
    let prefix = unique_prefix("trace-follow");
    ingest_fixtures(&prefix);
    let by_name = trailsearch(
        &prefix,
        &["search", "--user", "carol@example.com", "--format", "json"],
    )
    .expect_code(0);
    assert_eq!(
        event_ids(&by_name.stdout),
        BTreeSet::from([SAML, ASSUME, ASSUME_OWNER_COPY].map(String::from))
    );
    let followed = trailsearch(
        &prefix,
        &[
            "search",
            "--user",
            "carol@example.com",
            "--follow-sessions",
            "--format",
            "json",
        ],
    )
    .expect_code(0);
    assert_eq!(
        event_ids(&followed.stdout),
        BTreeSet::from([SAML, ASSUME, ASSUME_OWNER_COPY, DELETE_BUCKET].map(String::from))
    );
    // Other criteria still apply to what the sessions did.
    let deletions = trailsearch(
        &prefix,
        &[
            "search",
            "--user",
            "carol@example.com",
            "--follow-sessions",
            "--event-name",
            "Delete*",
            "--format",
            "json",
        ],
    )
    .expect_code(0);
    assert_eq!(
        event_ids(&deletions.stdout),
        BTreeSet::from([DELETE_BUCKET.to_string()])
    );
    let usage = trailsearch(&prefix, &["search", "--follow-sessions"]).expect_code(2);
    assert!(usage.stderr.contains("--user"), "{usage}");
}

fn call(id: &str, time: &str, key: &str, issued: Option<&str>) -> Value {
    let mut event = json!({
        "eventVersion": "1.09", "eventTime": time, "eventID": id,
        "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "sourceIPAddress": "198.51.100.20", "userAgent": "Boto3/1.34.0",
        "userIdentity": {"type": "AssumedRole", "accessKeyId": key,
            "arn": format!("arn:aws:sts::111122223333:assumed-role/r/{id}"),
            "sessionContext": {"sourceIdentity": "dave", "attributes": {"creationDate": "2024-03-16T08:00:00Z"}}},
    });
    match issued {
        Some(issued) => {
            event["responseElements"] = json!({"credentials": {"accessKeyId": issued}});
        }
        None => {
            event["eventName"] = json!("DeleteTable");
            event["eventSource"] = json!("dynamodb.amazonaws.com");
        }
    }
    event
}

#[test]
fn trace_names_an_origin_outside_the_index_and_a_loop_in_words() {
    let prefix = unique_prefix("trace-edges");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let records = [
        // Made with a key whose issuing call was never ingested.
        call("orphan", "2024-03-16T09:00:00Z", "ASIANOTINDEXED", None),
        // Two calls each issuing the key the other used: records that cannot be.
        call("loop-a", "2024-03-16T09:10:00Z", "ASIALOOPA", Some("ASIALOOPB")),
        call("loop-b", "2024-03-16T09:11:00Z", "ASIALOOPB", Some("ASIALOOPA")),
        call("loop-use", "2024-03-16T09:12:00Z", "ASIALOOPA", None),
    ];
    std::fs::write(
        dir.path().join("edges.json"),
        json!({"Records": records}).to_string(),
    )
    .unwrap();
    trailsearch(&prefix, &["ingest", dir.path().to_str().unwrap()]).expect_code(0);
    refresh(&format!("{prefix}-*"));

    let orphan = trailsearch(&prefix, &["trace", "orphan"]).expect_code(1);
    let who = orphan.stdout.lines().last().unwrap();
    assert_eq!(
        who,
        format!(
            "who: unknown: the call that issued access key ASIANOTINDEXED or session \
             arn:aws:sts::111122223333:assumed-role/r/orphan is not in {prefix}-* (events from \
             2024-03-16T09:00:00.000Z on); ingest the older logs of that account and trace again. \
             The sessions carry the source identity dave, which whoever assumed the first role of the chain set"
        ),
        "{orphan}"
    );

    let looped = trailsearch(&prefix, &["trace", "loop-use", "--format", "json"]).expect_code(1);
    let trace: Value = serde_json::from_str(looped.stdout.trim()).unwrap();
    let hops = hop_ids(&trace);
    assert_eq!(hops, ["loop-use", "loop-b", "loop-a"]);
    assert_eq!(trace["origin"], json!({"kind": "loop", "event_id": "loop-b"}));
    let words = trailsearch(&prefix, &["trace", "loop-use"]).expect_code(1);
    assert!(
        words
            .stdout
            .contains("who: unknown: the chain leads back to event loop-b, already on it"),
        "{words}"
    );
}

/// The ends AWS itself makes: an EC2 instance profile (the `AssumeRole` is
/// the EC2 service's own) and an IAM Identity Center user, whose role
/// session is used with another key than the one its SAML sign-in returned
/// (found by the session's ARN at its creation time), in the shapes
/// CloudTrail logs them.
#[test]
fn trace_ends_on_an_aws_service_and_an_identity_center_user() {
    let prefix = unique_prefix("trace-aws-ends");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let account = "111122223333";
    let role = "AWSReservedSSO_AdministratorAccess_7243976e43c75fc5";
    let session_arn = format!("arn:aws:sts::{account}:assumed-role/{role}/dana@example.com");
    let records = [
        json!({"eventVersion": "1.08", "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"},
            "eventTime": "2024-03-16T07:00:00Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "awsRegion": "us-east-1", "sourceIPAddress": "ec2.amazonaws.com", "userAgent": "ec2.amazonaws.com",
            "requestParameters": {"roleSessionName": "i-00888ddddd3333322", "roleArn": format!("arn:aws:iam::{account}:role/app-instance")},
            "responseElements": {"credentials": {"accessKeyId": "ASIAEXAMPLEINSTANCE1", "sessionToken": "x", "expiration": "Mar 16, 2024, 1:00:00 PM"}},
            "eventID": "ec2-assume", "eventType": "AwsApiCall", "recipientAccountId": account,
            "sharedEventID": "0aa168dc-6402-4bbf-9bc6-4d2bf58f106c"}),
        json!({"eventVersion": "1.08", "eventTime": "2024-03-16T07:30:00Z", "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject", "awsRegion": "us-east-1", "sourceIPAddress": "10.0.1.17", "userAgent": "aws-sdk-java/2.20.0",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEAPP:i-00888ddddd3333322",
                "arn": format!("arn:aws:sts::{account}:assumed-role/app-instance/i-00888ddddd3333322"),
                "accountId": account, "accessKeyId": "ASIAEXAMPLEINSTANCE1",
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "app-instance"},
                    "attributes": {"creationDate": "2024-03-16T07:00:00Z", "mfaAuthenticated": "false"}, "ec2RoleDelivery": "2.0"}},
            "requestParameters": {"bucketName": "acme-data", "key": "a.csv"},
            "eventID": "ec2-use", "eventType": "AwsApiCall", "recipientAccountId": account}),
        json!({"eventVersion": "1.11", "userIdentity": {"type": "SAMLUser", "principalId": "Q1:dana@example.com",
                "userName": "dana@example.com", "identityProvider": "Q1"},
            "eventTime": "2024-03-16T08:08:20Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithSAML",
            "awsRegion": "eu-west-1", "sourceIPAddress": "13.239.101.254", "userAgent": "aws-sdk-java/2.46.14",
            "requestParameters": {"roleSessionName": "dana@example.com",
                "roleArn": format!("arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{role}"),
                "principalArn": format!("arn:aws:iam::{account}:saml-provider/AWSSSO_9882ccf00912484e_DO_NOT_DELETE")},
            "responseElements": {"credentials": {"accessKeyId": "ASIAEXAMPLESSOISSUED", "sessionToken": "x", "expiration": "Mar 16, 2024, 8:08:19 PM"},
                "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLESSO:dana@example.com", "arn": session_arn},
                "subject": "dana@example.com", "subjectType": "persistent"},
            "eventID": "sso-saml", "eventType": "AwsApiCall", "recipientAccountId": account}),
        json!({"eventVersion": "1.11", "eventTime": "2024-03-16T08:09:00Z", "eventSource": "ec2.amazonaws.com",
            "eventName": "TerminateInstances", "awsRegion": "eu-west-1", "sourceIPAddress": "54.79.161.228",
            "userAgent": "aws-cli/2.15.30", "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}},
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLESSO:dana@example.com", "arn": session_arn,
                "accountId": account, "accessKeyId": "ASIAEXAMPLESSOUSED01",
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": role},
                    "attributes": {"creationDate": "2024-03-16T08:08:20Z", "mfaAuthenticated": "false"}},
                "onBehalfOf": {"userId": "976710cc5d-9d976f61", "identityStoreArn": "arn:aws:identitystore::607481581596:identitystore/d-976710cc5d"}},
            "eventID": "sso-use", "eventType": "AwsApiCall", "recipientAccountId": account}),
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ends.json"),
        json!({"Records": records}).to_string(),
    )
    .unwrap();
    trailsearch(&prefix, &["ingest", dir.path().to_str().unwrap()]).expect_code(0);
    refresh(&format!("{prefix}-*"));

    let trace = |id: &str| -> Value {
        let run = trailsearch(&prefix, &["trace", id, "--format", "json"]).expect_code(0);
        serde_json::from_str(run.stdout.trim()).unwrap()
    };
    let instance = trace("ec2-use");
    assert_eq!(hop_ids(&instance), ["ec2-use", "ec2-assume"]);
    assert_eq!(
        instance["origin"],
        json!({"kind": "aws-service", "service": "ec2.amazonaws.com"})
    );

    let sso = trace("sso-use");
    assert_eq!(hop_ids(&sso), ["sso-use", "sso-saml"]);
    assert_eq!(
        sso["origin"],
        json!({"kind": "identity-center-user", "user": "dana@example.com",
               "identity_store": "arn:aws:identitystore::607481581596:identitystore/d-976710cc5d"})
    );
    let words = trailsearch(&prefix, &["trace", "sso-use"]).expect_code(0);
    assert!(
        words.stdout.ends_with(
            "who: dana@example.com, IAM Identity Center user of arn:aws:identitystore::607481581596:identitystore/d-976710cc5d\n"
        ),
        "{words}"
    );
}
