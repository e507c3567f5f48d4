//! The command line: the three questions, setup, and errors that say what to do.

use std::io::Write;

use serde_json::{json, Value};
use trailsearch_e2e::*;
use trailsearch_mapping::TEMPLATE_VERSION;

fn ingest_fixtures(prefix: &str) {
    trailsearch(prefix, &["setup"]).expect_code(0);
    trailsearch(prefix, &["ingest", fixtures().to_str().unwrap()]).expect_code(1);
    refresh(&format!("{prefix}-*"));
}

fn rows(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn search_answers_the_three_questions() {
    let prefix = unique_prefix("search");
    ingest_fixtures(&prefix);

    let deleted = trailsearch(&prefix, &["search", "--event-name", "DeleteDBInstance"]).expect_code(0);
    assert_eq!(
        rows(&deleted),
        ["2024-03-14T09:26:53Z alice DeleteDBInstance 203.0.113.42 aws-cli prod-orders-db -"],
        "{deleted}"
    );

    let changed = trailsearch(
        &prefix,
        &[
            "search",
            "--event-name",
            "*SecurityGroup*",
            "--query",
            "readOnly:false",
        ],
    )
    .expect_code(0);
    assert_eq!(
        rows(&changed),
        [
            "2024-03-14T11:40:05Z ops-admin/bob RevokeSecurityGroupIngress 198.51.100.7 console sg-0a1b2c3d4e5f67890 -",
            "2024-03-14T11:02:17Z ops-admin/bob AuthorizeSecurityGroupIngress 198.51.100.7 console sg-0a1b2c3d4e5f67890 -",
        ],
        "{changed}"
    );
    // What was requested and what came back: the JSON lines hold both.
    let json_rows = trailsearch(
        &prefix,
        &["search", "--user", "ops-admin/bob", "--format", "json"],
    )
    .expect_code(0);
    let docs: Vec<serde_json::Value> = json_rows
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{json_rows}");
    assert_eq!(
        docs[1]["requestParameters"]["ipPermissions"]["items"][0]["fromPort"],
        json!(22)
    );
    assert_eq!(
        docs[1]["responseElements"]["securityGroupRuleSet"]["items"][0]["securityGroupRuleId"],
        "sgr-0fedcba9876543210"
    );

    let failing = trailsearch(&prefix, &["search", "--errors", "--user", "ci-deployer"]).expect_code(0);
    let row = |t: &str| {
        format!("2024-03-15T02:00:0{t}Z ci-deployer GetParameter 192.0.2.10 aws-cli /prod/db/password AccessDeniedException")
    };
    assert_eq!(rows(&failing), [row("3"), row("2"), row("1")], "{failing}");

    // A user given as a bare name inside an ARN, as an access key, and a limit.
    let alice = trailsearch(&prefix, &["search", "--user", "alice", "--format", "json"]).expect_code(0);
    assert_eq!(alice.stdout.lines().count(), 1, "{alice}");
    let key = trailsearch(
        &prefix,
        &["search", "--user", "AKIAEXAMPLEALICE0001", "--format", "json"],
    )
    .expect_code(0);
    assert_eq!(key.stdout, alice.stdout);
    let limited = trailsearch(&prefix, &["search", "--limit", "7", "--format", "json"]).expect_code(0);
    assert_eq!(limited.stdout.lines().count(), 7);
    // By a request parameter: field by field where the cluster indexes
    // free-shaped objects (`flattened`, `flat_object`); on the compatible
    // flavour (`enabled: false`) the field matches nothing, as the README
    // says, and the searchable JSON text copy finds the event instead.
    let by_query = |query: &str| {
        trailsearch(&prefix, &["search", "--query", query, "--format", "json"])
            .expect_code(0)
            .stdout
    };
    let deletion = trailsearch(
        &prefix,
        &["search", "--event-name", "DeleteDBInstance", "--format", "json"],
    )
    .stdout;
    assert_eq!(deletion.lines().count(), 1, "{deletion}");
    let by_field = by_query("requestParameters.dBInstanceIdentifier:prod-orders-db AND event.action:Delete*");
    let by_text = by_query(r#"trailsearch.text.requestParameters:"prod-orders-db" AND event.action:Delete*"#);
    match free_shaped_type(&prefix).as_str() {
        "flattened" | "flat_object" => {
            assert_eq!(by_field, deletion);
            assert_eq!(by_text, "", "no text copy where fields are indexed");
        }
        "object" => {
            assert_eq!(by_field, "", "not indexed on the compatible flavour");
            assert_eq!(by_text, deletion);
        }
        other => panic!("requestParameters is mapped as {other:?}"),
    }
}

/// The eventIDs `search --format json` prints for `args`, in its order.
fn searched_ids(prefix: &str, args: &[&str]) -> Vec<String> {
    let mut all = vec!["search", "--format", "json"];
    all.extend_from_slice(args);
    let run = trailsearch(prefix, &all).expect_code(0);
    run.stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["eventID"]
                .as_str()
                .unwrap_or("-")
                .to_string()
        })
        .collect()
}

/// The fixtures under `prefix`, and beside them an index as a daily one
/// created before the `trailsearch.<field>` name list ends up: mapping the
/// field dynamically, holding `event`, which lacks it.
fn fixtures_and_an_index_from_before(prefix: &str, field: &str, event: &Value) {
    ingest_fixtures(prefix);
    let old_index = format!("{prefix}-2020.01.01");
    let mapping = json!({"mappings": {"properties": {"trailsearch": {"properties": {
        field: {"type": "keyword", "ignore_above": 1024}}}}}});
    let (status, created) = http("PUT", &old_index, Some(&mapping));
    assert_eq!(status, 200, "{created}");
    let id = event["eventID"].as_str().unwrap();
    let (status, indexed) = http("PUT", &format!("{old_index}/_doc/{id}?refresh=true"), Some(event));
    assert!(status == 200 || status == 201, "{indexed}");
}

/// `--user` looks names up in `trailsearch.user_names`, and expands its
/// wildcards only over indices that do not map that field as the template
/// does: here one whose mapping took it dynamically, as a daily index
/// created before the field does when newer documents arrive. The events
/// of both kinds of index are found, and the same ones by every name.
#[test]
fn search_by_user_finds_names_in_indices_from_before_user_names() {
    let prefix = unique_prefix("search-user-names");
    // As an older trailsearch wrote it: no user_names.
    let old_event = json!({
        "@timestamp": "2020-01-01T10:00:00Z", "eventTime": "2020-01-01T10:00:00Z",
        "eventID": "00000000-0000-4000-8000-000000000001", "eventName": "DeleteBucket",
        "eventSource": "s3.amazonaws.com",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEOPSADMIN:bob",
            "arn": "arn:aws:sts::111122223333:assumed-role/ops-admin/bob"},
        "trailsearch": {"actor": "ops-admin/bob"},
    });
    fixtures_and_an_index_from_before(&prefix, "user_names", &old_event);
    let ids = |user: &str| searched_ids(&prefix, &["--user", user]);
    let old = "00000000-0000-4000-8000-000000000001".to_string();
    let bob = ids("ops-admin/bob");
    assert_eq!(bob.len(), 3, "two fixture events and the old one: {bob:?}");
    assert!(bob.contains(&old), "{bob:?}");
    // The session name, the role name and the principal ID's session part
    // find the same events, old and new.
    assert_eq!(ids("bob"), bob);
    assert_eq!(ids("ops-admin"), bob);
    // The documents from now on carry the names they are found by.
    let (_, hit) = http(
        "POST",
        &format!("{prefix}-2024.*/_search"),
        Some(&json!({"size": 1, "query": {"term": {"trailsearch.user_names": "bob"}}})),
    );
    assert_eq!(
        hit["hits"]["hits"][0]["_source"]["trailsearch"]["user_names"],
        json!(["bob", "ops-admin", "ops-admin/bob"]),
        "{hit}"
    );
}

/// `--resource` finds a name at the end of an ARN in `resources` by
/// `trailsearch.resource_names`, and in indices from before that field by
/// wildcards: the same events the wildcards alone find everywhere.
#[test]
fn search_by_resource_finds_names_in_indices_from_before_resource_names() {
    let prefix = unique_prefix("search-resource-names");
    // As an older trailsearch wrote it: no resource_names.
    let old_id = "00000000-0000-4000-8000-000000000002";
    let old_event = json!({
        "@timestamp": "2020-01-01T10:00:00Z", "eventTime": "2020-01-01T10:00:00Z",
        "eventID": old_id, "eventName": "AssumeRole", "eventSource": "sts.amazonaws.com",
        "resources": [{"ARN": "arn:aws:iam::111122223333:role/ReadOnlyAuditor"}],
    });
    fixtures_and_an_index_from_before(&prefix, "resource_names", &old_event);
    let ids = |resource: &str| {
        let mut ids = searched_ids(&prefix, &["--resource", resource, "--limit", "10000"]);
        ids.sort();
        ids
    };
    // What the wildcards over every index find, besides the exact values.
    let by_wildcards = |resource: &str| -> Vec<String> {
        let (status, answer) = http(
            "POST",
            &format!("{prefix}-*/_search"),
            Some(
                &json!({"size": 10000, "_source": ["eventID"], "query": {"bool": {"should": [
                {"term": {"trailsearch.resource": resource}},
                {"term": {"resources.ARN": resource}},
                {"wildcard": {"resources.ARN": {"value": format!("*:{resource}")}}},
                {"wildcard": {"resources.ARN": {"value": format!("*/{resource}")}}},
                {"term": {"requestParameters": resource}},
                {"match_phrase": {"trailsearch.text.requestParameters": resource}},
            ], "minimum_should_match": 1}}}),
            ),
        );
        assert_eq!(status, 200, "{answer}");
        let mut ids: Vec<String> = answer["hits"]["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["_source"]["eventID"].as_str().unwrap_or("-").to_string())
            .collect();
        ids.sort();
        ids
    };
    for resource in ["ReadOnlyAuditor", "role/ReadOnlyAuditor"] {
        let found = ids(resource);
        assert!(
            found.len() > 1 && found.contains(&old_id.to_string()),
            "{resource}: {found:?}"
        );
        assert_eq!(found, by_wildcards(resource), "{resource}");
    }
    // The documents from now on carry the names they are found by.
    let (_, hit) = http(
        "POST",
        &format!("{prefix}-2024.*/_search"),
        Some(&json!({"size": 1, "query": {"term": {"trailsearch.resource_names": "ReadOnlyAuditor"}}})),
    );
    let names = &hit["hits"]["hits"][0]["_source"]["trailsearch"]["resource_names"];
    assert_eq!(
        names,
        &json!(["ReadOnlyAuditor", "role/ReadOnlyAuditor"]),
        "{hit}"
    );
}

/// The blocks of `search --format detail` output, each as its lines.
fn blocks(run: &Run) -> Vec<Vec<String>> {
    run.stdout
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|b| b.lines().map(str::to_string).collect())
        .collect()
}

fn has(block: &[String], line: &str) {
    assert!(
        block.iter().any(|l| l == line),
        "{line:?} not in\n{}",
        block.join("\n")
    );
}

/// Each question's detail view shows every item the investigator must see,
/// with the planted incidents' exact values.
#[test]
fn search_detail_answers_each_question_in_full() {
    let prefix = unique_prefix("search-detail");
    ingest_fixtures(&prefix);

    // An RDS instance disappeared: who, from what environment, when (UTC),
    // which call, which instance.
    let deleted = trailsearch(
        &prefix,
        &["search", "--event-name", "DeleteDBInstance", "--format", "detail"],
    )
    .expect_code(0);
    let blocks_1 = blocks(&deleted);
    assert_eq!(blocks_1.len(), 1, "{deleted}");
    let block = &blocks_1[0];
    for line in [
        "2024-03-14T09:26:53Z  DeleteDBInstance  account 111122223333  us-east-1",
        "  actor        alice",
        "  identity     IAMUser arn:aws:iam::111122223333:user/alice",
        "  access key   AKIAEXAMPLEALICE0001",
        "  source ip    203.0.113.42",
        "  user agent   aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/rds.delete-db-instance [aws-cli]",
        "  tls host     rds.us-east-1.amazonaws.com",
        "  call         rds.amazonaws.com DeleteDBInstance (AwsApiCall, write)",
        "  resource     prod-orders-db",
        "                 \"skipFinalSnapshot\": true",
        "  event id     8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e01",
    ] {
        has(block, line);
    }
    assert_eq!(deleted.stderr.trim(), "1 of 1 events");

    // A security group changed: who, with which credentials, the full
    // request, the full response.
    let changed = trailsearch(
        &prefix,
        &[
            "search",
            "--event-name",
            "AuthorizeSecurityGroupIngress",
            "--resource",
            "sg-0a1b2c3d4e5f67890",
            "--format",
            "detail",
        ],
    )
    .expect_code(0);
    let blocks_2 = blocks(&changed);
    assert_eq!(blocks_2.len(), 1, "{changed}");
    let block = &blocks_2[0];
    for line in [
        "2024-03-14T11:02:17Z  AuthorizeSecurityGroupIngress  account 111122223333  us-east-1",
        "  actor        ops-admin/bob",
        "  identity     AssumedRole arn:aws:sts::111122223333:assumed-role/ops-admin/bob",
        "  access key   ASIAEXAMPLEBOBCONSOLE",
        "  issuer       Role arn:aws:iam::111122223333:role/ops-admin",
        "  session      created 2024-03-14T10:51:33Z, MFA yes, console yes",
        "  source ip    198.51.100.7",
        "  call         ec2.amazonaws.com AuthorizeSecurityGroupIngress (AwsApiCall, write)",
        "  resource     sg-0a1b2c3d4e5f67890",
    ] {
        has(block, line);
    }
    // The request and the response, whole and in order.
    let text = block.join("\n");
    let request = &text[text.find("  request      {").unwrap()..text.find("  response     {").unwrap()];
    for part in [
        "\"fromPort\": 22",
        "\"cidrIp\": \"0.0.0.0/0\"",
        "\"ipProtocol\": \"tcp\"",
        "\"toPort\": 22",
    ] {
        assert!(request.contains(part), "{part} not in {request}");
    }
    let response = &text[text.find("  response     {").unwrap()..text.find("  event id").unwrap()];
    for part in [
        "\"_return\": true",
        "\"securityGroupRuleId\": \"sgr-0fedcba9876543210\"",
        "\"cidrIpv4\": \"0.0.0.0/0\"",
    ] {
        assert!(response.contains(part), "{part} not in {response}");
    }

    // The CLI fails inside a script: the error code and message, the
    // environment, the time.
    let failing = trailsearch(
        &prefix,
        &[
            "search",
            "--errors",
            "--user",
            "ci-deployer",
            "--format",
            "detail",
        ],
    )
    .expect_code(0);
    let blocks_3 = blocks(&failing);
    assert_eq!(blocks_3.len(), 3, "{failing}");
    for (block, t) in blocks_3.iter().zip(["3", "2", "1"]) {
        for line in [
            format!("2024-03-15T02:00:0{t}Z  GetParameter  account 111122223333  eu-west-1"),
            "  error        AccessDeniedException".to_string(),
            "  message      User: arn:aws:iam::111122223333:user/ci-deployer is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:eu-west-1:111122223333:parameter/prod/db/password because no identity-based policy allows the ssm:GetParameter action".to_string(),
            "  source ip    192.0.2.10".to_string(),
            "  user agent   aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0 exe/x86_64.ubuntu.20 prompt/off command/ssm.get-parameter [aws-cli]".to_string(),
            "  resource     /prod/db/password".to_string(),
        ] {
            has(block, &line);
        }
    }

    // CSV for spreadsheets: a header and one line per event.
    let csv = trailsearch(
        &prefix,
        &["search", "--errors", "--user", "ci-deployer", "--format", "csv"],
    )
    .expect_code(0);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[0].starts_with("time,account,region,actor,arn,access_key,"),
        "{csv}"
    );
    assert!(
        lines[3].starts_with("2024-03-15T02:00:01Z,111122223333,eu-west-1,ci-deployer,arn:aws:iam::111122223333:user/ci-deployer,AKIAEXAMPLECIDEPLOY1,ssm.amazonaws.com,GetParameter,/prod/db/password,192.0.2.10,aws-cli,"),
        "{csv}"
    );
}

#[test]
fn quickstart_prints_the_three_answers() {
    let mut command = std::process::Command::new(repo_root().join("scripts/quickstart"));
    command
        .env("QUICKSTART_STOP", "1")
        .env("TRAILSEARCH_BIN", trailsearch_bin())
        .env_remove("TRAILSEARCH_ES_URL")
        .env_remove("TRAILSEARCH_INDEX_PREFIX");
    let run = run(command).expect_code(0);
    for expected in [
        r#"report: {"objects":44,"skipped_objects":1,"failed_objects":0,"events":3541,"filtered":0,"indexed":3537,"superseded":0,"duplicates":2,"degraded":0,"dead_lettered":2,"failed_events":0,"digests_valid":0,"digests_invalid":0,"integrity_updates":0}"#,
        "2024-03-14T09:26:53Z  DeleteDBInstance  account 111122223333  us-east-1",
        "  actor        alice",
        "  source ip    203.0.113.42",
        "  resource     prod-orders-db",
        "2024-03-14T11:02:17Z  AuthorizeSecurityGroupIngress  account 111122223333  us-east-1",
        "  access key   ASIAEXAMPLEBOBCONSOLE",
        "                       \"securityGroupRuleId\": \"sgr-0fedcba9876543210\",",
        "2024-03-15T02:00:03Z  GetParameter  account 111122223333  eu-west-1",
        "  error        AccessDeniedException",
        "who: carol@example.com, signed in through SAML provider arn:aws:iam::111122223333:saml-provider/okta",
    ] {
        assert!(run.stdout.contains(expected), "missing {expected:?}\n{run}");
    }
}

/// Each command's --help lists its own options first, then the global ones
/// it reads under their headings, and leaves out those it ignores; global
/// options are still accepted before or after the command.
#[test]
fn help_groups_options_and_leaves_out_what_a_command_ignores() {
    let help = |args: &[&str]| {
        let mut command = std::process::Command::new(trailsearch_bin());
        command.args(args);
        run(command).expect_code(0).stdout
    };
    let search = help(&["search", "--help"]);
    let own = search.find("Options:").unwrap();
    let cluster = search.find("Cluster:").unwrap();
    assert!(own < cluster, "{search}");
    for flag in ["--from", "--user", "--follow-sessions", "--format", "--full"] {
        let at = search
            .find(flag)
            .unwrap_or_else(|| panic!("{flag} missing:\n{search}"));
        assert!(at < cluster, "{flag} is the command's own:\n{search}");
    }
    assert!(search[cluster..].contains("--es-url"), "{search}");
    for ignored in [
        "--include",
        "--exclude",
        "--replicas",
        "--geoip-city-db",
        "--max-retry-time",
        "--flavour",
    ] {
        assert!(!search.contains(ignored), "search ignores {ignored}:\n{search}");
    }
    let ingest = help(&["ingest", "--help"]);
    for read in [
        "--include",
        "--exclude",
        "--geoip-asn-db",
        "--max-retry-time",
        "--flavour",
        "--es-url",
    ] {
        assert!(ingest.contains(read), "ingest reads {read}:\n{ingest}");
    }
    assert!(!ingest.contains("--replicas"), "{ingest}");
    assert!(help(&["setup", "--help"]).contains("--replicas"));
    let export = help(&["kibana", "export", "--help"]);
    assert!(
        export.contains("--index-prefix") && !export.contains("--es-url"),
        "{export}"
    );

    // Accepted anywhere, as before: an ignored option is no error.
    let prefix = unique_prefix("help");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    trailsearch(
        &prefix,
        &["search", "--include", "eventName:x", "--format", "json"],
    )
    .expect_code(0);
    trailsearch(&prefix, &["--replicas", "0", "search", "--format", "json"]).expect_code(0);
}

#[test]
fn setup_is_idempotent_and_will_not_fight_another_template() {
    let prefix = unique_prefix("setup");
    let first = trailsearch(&prefix, &["setup"]).expect_code(0);
    assert!(
        first.stdout.contains(&format!(
            "template {prefix}-events: version {TEMPLATE_VERSION} installed"
        )),
        "{first}"
    );
    let again = trailsearch(&prefix, &["setup"]).expect_code(0);
    assert!(
        again.stdout.contains(&format!(
            "template {prefix}-events: version {TEMPLATE_VERSION} up to date"
        )),
        "{again}"
    );

    let other = unique_prefix("other");
    let (status, body) = http(
        "PUT",
        &format!("_index_template/{other}-claims-all"),
        Some(&json!({"index_patterns": [format!("{other}*")], "priority": 900, "template": {}})),
    );
    assert_eq!(status, 200, "{body}");
    let refused = trailsearch(&other, &["setup"]).expect_code(1);
    assert!(
        refused.stderr.contains(&format!("{other}-claims-all")) && refused.stderr.contains("--index-prefix"),
        "{refused}"
    );
    let (status, _) = http("GET", &format!("_index_template/{other}-events"), None);
    assert_eq!(
        status, 404,
        "nothing was installed beside the conflicting template"
    );
    http("DELETE", &format!("_index_template/{other}-claims-all"), None);
}

#[test]
fn errors_name_the_file_the_record_and_what_to_do() {
    let prefix = unique_prefix("errors");
    let fixtures = fixtures();
    let fixtures = fixtures.to_str().unwrap();
    let no_setup = trailsearch(&prefix, &["ingest", fixtures]).expect_code(1);
    assert!(
        no_setup.stderr.contains("run `trailsearch setup` first"),
        "{no_setup}"
    );

    trailsearch(&prefix, &["setup"]).expect_code(0);
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::File::create(&cut)
        .unwrap()
        .write_all(br#"{"Records":[{"eventTime":"2024-03-14T09:00:00Z","eventID":"c1"},{"eventTime":"2024-03-14T09:00:01Z","eventID":"c2"},{"eventTime":"2024"#)
        .unwrap();
    let run = trailsearch(&prefix, &["ingest", cut.to_str().unwrap(), "--report", "json"]).expect_code(1);
    let report = run.report();
    balanced(&report);
    assert_eq!(
        (report["indexed"].as_u64(), report["failed_objects"].as_u64()),
        (Some(2), Some(1)),
        "{run}"
    );
    assert!(
        run.stderr.contains("cut.json") && run.stderr.contains("record 2"),
        "{run}"
    );

    let usage = trailsearch(&prefix, &["ingest", "--from", "yesterday-ish", fixtures]).expect_code(2);
    assert!(usage.stderr.contains("is not a time"), "{usage}");
    let unreachable = std::process::Command::new(trailsearch_bin())
        .args(["--es-url", "http://127.0.0.1:9", "setup"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unreachable.stderr)
        .contains("cannot reach the cluster at http://127.0.0.1:9/"));
}

#[test]
fn prune_deletes_only_old_event_indices() {
    let prefix = unique_prefix("prune");
    let today = chrono_free_today();
    let names = [
        format!("{prefix}-2001.01.01"),
        format!("{prefix}-2001.02"),
        format!("{prefix}-{today}"),
        format!("{prefix}_deadletter"),
        format!("{prefix}-keep-me"),
        format!("{prefix}-2001.01.01-restored"),
    ];
    for name in &names {
        let (status, body) = http("PUT", name, Some(&json!({})));
        assert_eq!(status, 200, "{name}: {body}");
    }
    let dry = trailsearch(&prefix, &["prune", "--older-than", "365d", "--dry-run"]).expect_code(0);
    assert_eq!(
        dry.stdout,
        format!("would delete {prefix}-2001.01.01\nwould delete {prefix}-2001.02\n"),
        "{dry}"
    );
    let run = trailsearch(&prefix, &["prune", "--older-than", "365d"]).expect_code(0);
    assert_eq!(
        run.stdout,
        format!("deleted {prefix}-2001.01.01\ndeleted {prefix}-2001.02\n"),
        "{run}"
    );
    for name in &names {
        let (status, _) = http("HEAD", name, None);
        let expected = if name.ends_with("2001.01.01") || name.ends_with("2001.02") {
            404
        } else {
            200
        };
        assert_eq!(status, expected, "{name}");
    }
    let usage = trailsearch(&prefix, &["prune", "--older-than", "2h"]).expect_code(2);
    assert!(usage.stderr.contains("whole days"), "{usage}");
}

/// Today's UTC date as `YYYY.MM.DD`, from the cluster-independent clock.
fn chrono_free_today() -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "+%Y.%m.%d"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn search_by_source_and_resource_and_page_past_the_window() {
    let prefix = unique_prefix("search-more");
    ingest_fixtures(&prefix);
    let json_lines = |args: &[&str]| -> Vec<serde_json::Value> {
        let mut all = vec!["search", "--format", "json"];
        all.extend_from_slice(args);
        let run = trailsearch(&prefix, &all).expect_code(0);
        run.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let ids = |docs: &[serde_json::Value]| -> Vec<String> {
        docs.iter()
            .map(|d| d["eventID"].as_str().unwrap_or("-").to_string())
            .collect()
    };
    let planted = |n: u32| format!("8f2c1b9e-5d4a-4e7b-9c3f-1a2b3c4d5e0{n}");

    // A request parameter's value, and the name at the end of an ARN.
    assert_eq!(
        ids(&json_lines(&[
            "--resource",
            "prod-orders-db",
            "--event-name",
            "Delete*"
        ])),
        [planted(1)]
    );
    let sg = json_lines(&["--resource", "sg-0a1b2c3d4e5f67890", "--query", "readOnly:false"]);
    assert_eq!(ids(&sg), [planted(3), planted(2)]);
    // An address, a CIDR range, and a service name.
    assert_eq!(
        ids(&json_lines(&["--source", "192.0.2.10"])),
        [planted(6), planted(5), planted(4)]
    );
    assert_eq!(
        ids(&json_lines(&["--source", "198.51.100.0/24"])),
        [planted(3), planted(2)]
    );
    let service = json_lines(&["--source", "ec2.amazonaws.com", "--limit", "1000"]);
    assert!(!service.is_empty());
    assert!(service
        .iter()
        .all(|d| d["sourceIPAddress"] == "ec2.amazonaws.com"));

    // Paging with search_after returns what one page would, in order.
    let one_page = json_lines(&["--limit", "2500"]);
    let paged = json_lines(&["--limit", "2500", "--page-size", "300"]);
    assert_eq!(paged.len(), 2500);
    assert_eq!(paged, one_page);
    let times: Vec<&str> = paged.iter().map(|d| d["@timestamp"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let all = json_lines(&["--limit", "100000", "--page-size", "1000"]);
    assert_eq!(all.len() as u64, manifest()["distinct_events"].as_u64().unwrap());
}

/// Durations past 100 years are usage errors that name the flag and the
/// range; they used to overflow the time arithmetic and panic.
#[test]
fn out_of_range_durations_are_usage_errors() {
    let prefix = unique_prefix("huge-durations");
    let fixtures = fixtures();
    let dir = fixtures.to_str().expect("utf-8 path");
    for (flag, args) in [
        ("--from", vec!["search", "--from", "99999999d"]),
        ("--to", vec!["search", "--to", "99999999999999999999999d"]),
        ("--from", vec!["ingest", dir, "--from", "99999999d"]),
        ("--older-than", vec!["prune", "--older-than", "99999999d"]),
        (
            "--max-retry-time",
            vec!["ingest", dir, "--max-retry-time", "99999999d"],
        ),
    ] {
        let run = trailsearch(&prefix, &args).expect_code(2);
        assert!(!run.stderr.contains("panicked"), "{run}");
        assert!(
            run.stderr.contains(flag) && run.stderr.contains("out of range: at most 36525d (100 years)"),
            "{run}"
        );
    }
}

/// A closed stdout ends the command quietly, killed by SIGPIPE as other
/// Unix tools are, and stops the work behind it; it used to panic.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;

    let prefix = unique_prefix("closed-pipe");
    ingest_fixtures(&prefix);
    let fixtures = fixtures();
    // SIGPIPE on Linux and macOS.
    const SIGPIPE: i32 = 13;
    // (arguments, whether the output is larger than a pipe holds, so the
    // command must meet the closed pipe)
    for (args, larger_than_a_pipe) in [
        (vec!["search", "--limit", "500", "--format", "json"], true),
        (
            vec!["ingest", fixtures.to_str().expect("utf-8 path"), "--dry-run"],
            true,
        ),
        (vec!["deadletter", "list"], false),
    ] {
        let mut child = std::process::Command::new(trailsearch_bin())
            .args(&args)
            .env("TRAILSEARCH_ES_URL", cluster_url())
            .env("TRAILSEARCH_INDEX_PREFIX", &*prefix)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("trailsearch");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        // The reader is dropped here: the pipe is closed, as `| head -1` does.
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?}: no first line; {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        let ended_by_pipe = out.status.signal() == Some(SIGPIPE);
        assert!(
            ended_by_pipe || (!larger_than_a_pipe && out.status.success()),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

/// `--help` never shows the userinfo of a URL taken from the environment.
#[test]
fn help_hides_credentials_in_urls() {
    for args in [vec!["--help"], vec!["search", "--help"], vec!["setup", "--help"]] {
        let mut command = std::process::Command::new(trailsearch_bin());
        command
            .args(&args)
            .env(
                "TRAILSEARCH_ES_URL",
                "https://elastic:s3cret-es@search.example.com:9200",
            )
            .env(
                "TRAILSEARCH_KIBANA_URL",
                "https://kibana:s3cret-kb@kibana.example.com:5601",
            );
        let run = run(command).expect_code(0);
        assert!(run.stdout.contains("TRAILSEARCH_ES_URL"), "{run}");
        assert!(!run.stdout.contains("s3cret"), "{run}");
    }
}

/// Control characters in event fields and object names reach a person's
/// terminal as visible escapes, never raw (line erase, window title, hidden
/// text); JSON output keeps them exact.
#[test]
fn terminal_escapes_in_events_and_names_are_shown_not_obeyed() {
    let prefix = unique_prefix("escapes");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let dir = tempfile::tempdir().expect("temp dir");
    let name = "evil\u{1b}[2K\u{1b}]0;title\u{7}.json";
    let record = json!({"eventVersion": "1.09", "eventTime": "2024-03-14T10:00:00Z", "eventID": "esc-1",
        "eventName": "Delete\u{1b}[8mBucket", "sourceIPAddress": "203.0.113.9",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/\u{1b}[2Kmallory"},
        "requestParameters": {"bucketName": "b\u{9b}31m"}});
    std::fs::write(dir.path().join(name), json!({"Records": [record]}).to_string()).expect("write");
    let ingest = trailsearch(&prefix, &["ingest", dir.path().to_str().expect("utf-8 path")]).expect_code(0);
    assert!(!ingest.stderr.contains('\u{1b}'), "{ingest}");
    assert!(
        ingest.stderr.contains("evil\\u{1b}[2K\\u{1b}]0;title\\u{7}.json"),
        "{ingest}"
    );

    let table = trailsearch(&prefix, &["search"]).expect_code(0);
    assert!(
        !table.stdout.contains('\u{1b}') && !table.stdout.contains('\u{9b}'),
        "{table}"
    );
    assert!(table.stdout.contains("Delete\\u{1b}[8mBucket"), "{table}");
    assert!(table.stdout.contains("  \\u{1b}[2Kmallory  "), "{table}");
    assert!(table.stdout.contains("b\\u{9b}31m"), "{table}");
    let detail = trailsearch(&prefix, &["search", "--format", "detail"]).expect_code(0);
    assert!(
        !detail.stdout.contains('\u{1b}') && !detail.stdout.contains('\u{9b}'),
        "{detail}"
    );
    assert!(detail.stdout.contains("user/\\u{1b}[2Kmallory"), "{detail}");

    let exact = trailsearch(&prefix, &["search", "--format", "json"]).expect_code(0);
    let doc: Value = serde_json::from_str(exact.stdout.trim()).expect("one JSON line");
    assert_eq!(doc["eventName"], record["eventName"]);
    assert_eq!(doc["userIdentity"]["arn"], record["userIdentity"]["arn"]);
}

/// Flags that contradict, ask for nothing or name what is not there are
/// usage errors, exit 2, with words; `TRAILSEARCH_INSECURE=0` means false;
/// WARN lines carry no colour codes into a pipe.
#[test]
fn usage_errors_exit_2_and_settings_read_as_written() {
    let prefix = unique_prefix("usage");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let fixtures = fixtures();
    let dir = fixtures.to_str().expect("utf-8 path");
    for (args, says) in [
        (
            vec!["ingest", dir, "--from", "2024-03-15", "--to", "2024-03-14"],
            "is after --to",
        ),
        (vec!["ingest", dir, "--bulk-docs", "0"], "must be at least 1"),
        (vec!["ingest", dir, "--concurrency", "0"], "must be at least 1"),
        (
            vec!["ingest", "/nonexistent/trailsearch/logs"],
            "/nonexistent/trailsearch/logs",
        ),
        (
            vec!["--index-prefix", "Bad%", "ingest", dir],
            "use lowercase letters, digits",
        ),
        (
            vec!["search", "--from", "2024-03-15", "--to", "2024-03-14"],
            "is after --to",
        ),
        (vec!["search", "--limit", "0"], "--limit 0"),
        (vec!["search", "--user", ""], "--user is empty"),
    ] {
        let run = trailsearch(&prefix, &args).expect_code(2);
        assert!(run.stderr.contains(says), "{says:?}\n{run}");
    }
    for (value, warned) in [
        ("0", false),
        ("false", false),
        ("no", false),
        ("off", false),
        ("1", true),
    ] {
        let run = trailsearch_at(
            cluster_url(),
            &prefix,
            &["search"],
            &[("TRAILSEARCH_INSECURE", value)],
        )
        .expect_code(0);
        assert_eq!(
            run.stderr.contains("--insecure"),
            warned,
            "TRAILSEARCH_INSECURE={value}\n{run}"
        );
    }
    // A WARN line, as a pipe receives it: no ANSI codes.
    let state = tempfile::NamedTempFile::new().expect("state file");
    std::fs::write(state.path(), "not json\n").expect("write");
    let run = trailsearch(
        &prefix,
        &[
            "ingest",
            dir,
            "--resume-file",
            state.path().to_str().unwrap(),
            "--dry-run",
        ],
    );
    assert!(
        run.stderr.contains("WARN") && run.stderr.contains("unreadable lines"),
        "{run}"
    );
    assert!(!run.stderr.contains('\u{1b}'), "{run}");
}

/// A Lucene query the cluster cannot parse: its reason, on one line.
#[test]
fn a_query_the_cluster_cannot_parse_says_why_in_one_line() {
    let prefix = unique_prefix("bad-query");
    ingest_fixtures(&prefix);
    let run = trailsearch(&prefix, &["search", "--query", "eventName:("]).expect_code(1);
    let error: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{run}");
    assert!(
        error[0].contains("HTTP 400") && error[0].contains("parse"),
        "{run}"
    );
    assert!(
        !run.stderr.contains("root_cause") && !run.stderr.contains('{'),
        "{run}"
    );
}
