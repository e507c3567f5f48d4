//! The handler called directly with each trigger fixture, against real
//! servers: S3 on moto, the cluster on the real test node.

use std::path::PathBuf;
use std::time::Duration;

use aws_credential_types::Credentials;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{json, Value};
use trailsearch_cloudtrail::{RecordReader, Trigger};
use trailsearch_e2e::{
    cluster_url, corpus_key_file, count, digest_corpus, fixtures, http, moto_url, refresh, repo_root,
    term_counts, trailsearch, unique_prefix,
};
use trailsearch_ingest::{KeyRing, ObjectStore, Settings};
use trailsearch_lambda::{handle, Deps, HandlerError, LambdaSettings};

struct Stack {
    prefix: trailsearch_e2e::Prefix,
    bucket: String,
    s3: aws_sdk_s3::Client,
    deps: Deps,
}

fn s3_client() -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .endpoint_url(moto_url())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn stack(test: &str, lambda: LambdaSettings) -> Stack {
    stack_with(test, lambda, |_| {}).await
}

async fn stack_with(test: &str, lambda: LambdaSettings, adjust: impl FnOnce(&mut Settings)) -> Stack {
    let prefix = unique_prefix(test);
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let bucket = prefix.replacen("t-", "ts-", 1);
    let s3 = s3_client();
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket");
    let mut settings = Settings {
        es_url: cluster_url().to_string(),
        index_prefix: prefix.to_string(),
        replicas: 0,
        ..Settings::default()
    };
    adjust(&mut settings);
    let deps = Deps::new(settings, lambda, ObjectStore::with_s3(s3.clone())).expect("deps");
    Stack {
        prefix,
        bucket,
        s3,
        deps,
    }
}

fn lambda_settings() -> LambdaSettings {
    LambdaSettings {
        retention: None,
        metrics_namespace: "trailsearch-test".into(),
        safety_margin: Duration::from_secs(10),
    }
}

/// A trigger fixture, pointed at the test bucket.
fn payload(name: &str, bucket: &str) -> Value {
    let path = repo_root().join("tests/fixtures/triggers").join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text.replace("trailsearch-logs", bucket)).expect("fixture JSON")
}

/// A small log object of the corpus (the first of one day) and its record count.
fn sample() -> (Vec<u8>, u64) {
    let dir = fixtures().join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let bytes = std::fs::read(&paths[0]).unwrap();
    let records = RecordReader::new(&bytes[..]).count() as u64;
    assert!(records > 0);
    (bytes, records)
}

/// Uploads the sample under every key the payload names, except `skip`.
async fn upload_named(stack: &Stack, payload: &Value, skip: &[&str]) -> usize {
    let notices = match Trigger::decode(payload).expect("decodes") {
        Trigger::Objects { notices, .. } => notices,
        Trigger::BatchOperations { tasks, .. } => tasks,
        other => panic!("no objects in {other:?}"),
    };
    let (bytes, _) = sample();
    let mut uploaded = 0;
    for (_, notice) in notices {
        if skip.iter().any(|s| notice.key.contains(s)) {
            continue;
        }
        stack
            .s3
            .put_object()
            .bucket(&stack.bucket)
            .key(&notice.key)
            .body(bytes.clone().into())
            .send()
            .await
            .expect("put");
        uploaded += 1;
    }
    uploaded
}

fn event(payload: Value) -> LambdaEvent<Value> {
    LambdaEvent::new(payload, Context::default())
}

#[tokio::test]
async fn s3_notification_invoked_directly_indexes_the_object() {
    let stack = stack("lambda-s3", lambda_settings()).await;
    let payload = payload("s3-put.json", &stack.bucket);
    assert_eq!(upload_named(&stack, &payload, &[]).await, 1);
    let reply = handle(event(payload), &stack.deps).await.expect("handled");
    assert_eq!(reply, json!({}));
    let (_, records) = sample();
    assert_eq!(count(&format!("{}-*", stack.prefix)), records);
    // The document says where it came from: the bucket and the decoded key.
    let (_, hits) = http(
        "POST",
        &format!("{}-*/_search", stack.prefix),
        Some(&json!({"size": 1})),
    );
    let source = &hits["hits"]["hits"][0]["_source"]["trailsearch"]["source"];
    assert_eq!(source["bucket"], stack.bucket.as_str());
    assert!(
        source["key"]
            .as_str()
            .unwrap()
            .starts_with("security logs:prod/AWSLogs/"),
        "{source}"
    );
}

#[tokio::test]
async fn documents_carry_geoip_from_databases_fetched_from_s3() {
    let city = repo_root().join(".venv/geoip/GeoLite2-City.mmdb");
    let asn = repo_root().join(".venv/geoip/GeoLite2-ASN-test.mmdb");
    for db in [&city, &asn] {
        assert!(db.is_file(), "{} is missing: run scripts/bootstrap", db.display());
    }
    let mut bucket = String::new();
    let stack = stack_with("lambda-geoip", lambda_settings(), |settings| {
        bucket = settings.index_prefix.replacen("t-", "ts-", 1);
        settings.geoip_city_db = Some(city.display().to_string());
        settings.geoip_asn_db = Some(format!("s3://{bucket}/layers/GeoLite2-ASN.mmdb"));
    })
    .await;
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key("layers/GeoLite2-ASN.mmdb")
        .body(std::fs::read(&asn).unwrap().into())
        .send()
        .await
        .expect("put");
    let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T0930Z_geo.json";
    let record = json!({"eventTime": "2024-03-14T09:26:53Z", "eventID": "geo-1", "sourceIPAddress": "8.8.8.8",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8", "userIdentity": {"type": "IAMUser", "userName": "bob"}});
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(key)
        .body(json!({"Records": [record]}).to_string().into_bytes().into())
        .send()
        .await
        .expect("put");
    let payload = json!({"s3Bucket": stack.bucket, "s3ObjectKey": [key]});
    let reply = handle(event(payload), &stack.deps).await.expect("handled");
    assert_eq!(reply, json!({}));
    refresh(&format!("{}-*", stack.prefix));
    let (_, hits) = http("POST", &format!("{}-*/_search", stack.prefix), Some(&json!({})));
    let doc = &hits["hits"]["hits"][0]["_source"];
    assert_eq!(doc["source"]["geo"]["country_iso_code"], "US", "{hits}");
    assert_eq!(
        doc["source"]["as"],
        json!({"number": 15169, "organization": {"name": "GOOGLE"}})
    );
    assert_eq!(doc["trailsearch"]["actor"], "bob");
    assert_eq!(doc["trailsearch"]["client"], "aws-cli");
}

#[tokio::test]
async fn a_direct_invocation_with_a_missing_object_fails_for_a_retry() {
    let stack = stack("lambda-s3-missing", lambda_settings()).await;
    let payload = payload("s3-put.json", &stack.bucket);
    let err = handle(event(payload), &stack.deps).await.unwrap_err();
    assert!(
        matches!(
            err,
            HandlerError::ObjectsFailed {
                failed: 1,
                objects: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("NoSuchKey"), "{err}");
}

#[tokio::test]
async fn sqs_reports_exactly_the_messages_whose_objects_failed() {
    let stack = stack("lambda-sqs", lambda_settings()).await;
    let payload = payload("sqs-s3.json", &stack.bucket);
    let Trigger::Objects { notices, .. } = Trigger::decode(&payload).unwrap() else {
        panic!()
    };
    assert_eq!(notices.len(), 2);
    let (first, second) = (&notices[0], &notices[1]);
    // The first message's object exists; the second's is missing.
    let skip = second.1.key.rsplit('/').next().unwrap().to_string();
    assert_eq!(upload_named(&stack, &payload, &[&skip]).await, 1);
    let reply = handle(event(payload.clone()), &stack.deps)
        .await
        .expect("handled");
    let trailsearch_cloudtrail::Origin::SqsMessage { message_id } = &second.0 else {
        panic!()
    };
    assert_eq!(
        reply,
        json!({"batchItemFailures": [{"itemIdentifier": message_id}]})
    );
    let (_, records) = sample();
    assert_eq!(count(&format!("{}-*", stack.prefix)), records);

    // Corrupt, not missing: the same message, and only it, fails.
    stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(&second.1.key)
        .body(b"\x1f\x8b\x08\x00garbage".to_vec().into())
        .send()
        .await
        .unwrap();
    let reply = handle(event(payload), &stack.deps).await.expect("handled");
    assert_eq!(
        reply,
        json!({"batchItemFailures": [{"itemIdentifier": message_id}]})
    );
    assert!(matches!(
        first.0,
        trailsearch_cloudtrail::Origin::SqsMessage { .. }
    ));
    // Redelivery of the first object added nothing.
    assert_eq!(count(&format!("{}-*", stack.prefix)), records);
}

#[tokio::test]
async fn sqs_undecodable_messages_fail_alone() {
    let stack = stack("lambda-sqs-bad", lambda_settings()).await;
    let payload = payload("sqs-mixed-with-bad-body.json", &stack.bucket);
    let Trigger::Objects { undecodable, .. } = Trigger::decode(&payload).unwrap() else {
        panic!()
    };
    upload_named(&stack, &payload, &[]).await;
    let reply = handle(event(payload), &stack.deps).await.expect("handled");
    let expected: Vec<Value> = undecodable
        .iter()
        .map(|(o, _)| match o {
            trailsearch_cloudtrail::Origin::SqsMessage { message_id } => {
                json!({"itemIdentifier": message_id})
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(reply, json!({"batchItemFailures": expected}));
}

#[tokio::test]
async fn every_object_shape_reaches_the_index() {
    for fixture in [
        "sns-s3.json",
        "sns-cloudtrail.json",
        "sqs-sns-envelope.json",
        "sqs-sns-raw-cloudtrail.json",
        "eventbridge-object-created.json",
        "sqs-eventbridge-object-created.json",
    ] {
        let stack = stack(
            &format!("lambda-{}", fixture.trim_end_matches(".json")),
            lambda_settings(),
        )
        .await;
        let payload = payload(fixture, &stack.bucket);
        let uploaded = upload_named(&stack, &payload, &[]).await;
        assert!(uploaded >= 1, "{fixture}");
        let reply = handle(event(payload), &stack.deps)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        assert!(
            reply == json!({}) || reply == json!({"batchItemFailures": []}),
            "{fixture}: {reply}"
        );
        let (_, records) = sample();
        assert_eq!(count(&format!("{}-*", stack.prefix)), records, "{fixture}");
    }
}

#[tokio::test]
async fn test_events_are_acknowledged_without_reading_anything() {
    let stack = stack("lambda-test-event", lambda_settings()).await;
    for fixture in ["s3-test-event.json", "sqs-test-event.json"] {
        let reply = handle(event(payload(fixture, &stack.bucket)), &stack.deps)
            .await
            .expect(fixture);
        assert!(
            reply == json!({}) || reply == json!({"batchItemFailures": []}),
            "{fixture}: {reply}"
        );
    }
}

#[tokio::test]
async fn batch_operations_answer_every_task() {
    for fixture in ["batch-ops-1.0.json", "batch-ops-2.0.json"] {
        let stack = stack(
            &format!("lambda-{}", fixture.trim_end_matches(".json").replace('.', "")),
            lambda_settings(),
        )
        .await;
        let payload = payload(fixture, &stack.bucket);
        let Trigger::BatchOperations {
            tasks, invocation_id, ..
        } = Trigger::decode(&payload).unwrap()
        else {
            panic!()
        };
        upload_named(&stack, &payload, &[]).await;
        let reply = handle(event(payload), &stack.deps).await.expect(fixture);
        assert_eq!(
            reply["invocationId"],
            invocation_id.as_str(),
            "{fixture}: {reply}"
        );
        let results = reply["results"].as_array().unwrap();
        assert_eq!(results.len(), tasks.len(), "{fixture}: {reply}");
        for result in results {
            assert_eq!(result["resultCode"], "Succeeded", "{fixture}: {reply}");
        }
    }
    // A missing object is a permanent failure with the reason.
    let stack = stack("lambda-batch-missing", lambda_settings()).await;
    let reply = handle(event(payload("batch-ops-2.0.json", &stack.bucket)), &stack.deps)
        .await
        .unwrap();
    let result = &reply["results"][0];
    assert_eq!(result["resultCode"], "PermanentFailure", "{reply}");
    assert!(
        result["resultString"].as_str().unwrap().contains("NoSuchKey"),
        "{reply}"
    );
}

#[tokio::test]
async fn near_the_deadline_no_object_starts_and_sqs_redelivers_them() {
    let stack = stack("lambda-deadline", lambda_settings()).await;
    let payload = payload("sqs-s3.json", &stack.bucket);
    upload_named(&stack, &payload, &[]).await;
    let mut context = Context::default();
    // Five seconds left, less than the ten-second safety margin.
    context.deadline = (chrono::Utc::now().timestamp_millis() + 5_000) as u64;
    let reply = handle(LambdaEvent::new(payload, context), &stack.deps)
        .await
        .unwrap();
    assert_eq!(reply["batchItemFailures"].as_array().unwrap().len(), 2, "{reply}");
    assert_eq!(count(&format!("{}-*", stack.prefix)), 0);
}

#[tokio::test]
async fn scheduled_events_prune_old_indices_only() {
    let lambda = LambdaSettings {
        retention: Some(Duration::from_secs(30 * 86_400)),
        ..lambda_settings()
    };
    let stack = stack("lambda-retention", lambda).await;
    let old = format!("{}-2001.01.01", stack.prefix);
    let keep = [
        format!("{}-keep", stack.prefix),
        format!("{}_deadletter", stack.prefix),
    ];
    for index in keep.iter().chain([&old]) {
        assert_eq!(http("PUT", index, Some(&json!({}))).0, 200, "{index}");
    }
    let reply = handle(
        event(payload("eventbridge-scheduled.json", &stack.bucket)),
        &stack.deps,
    )
    .await
    .unwrap();
    assert_eq!(reply, json!({"deleted": [old]}));
    assert_eq!(http("HEAD", &old, None).0, 404);
    for index in &keep {
        assert_eq!(http("HEAD", index, None).0, 200, "{index}");
    }
}

fn secrets_client() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .endpoint_url(moto_url())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

#[tokio::test]
async fn cluster_credentials_come_from_the_secret_once() {
    let base = stack("lambda-secret", lambda_settings()).await;
    let secrets = secrets_client();
    let name = format!("{}-es", base.prefix);
    let created = secrets
        .create_secret()
        .name(&name)
        .secret_string(r#"{"username":"writer","password":"pw-from-secret-77"}"#)
        .send()
        .await
        .expect("secret");
    let arn = created.arn().unwrap().to_string();
    let deps_for = |arn: &str| {
        let settings = Settings {
            es_url: cluster_url().to_string(),
            index_prefix: base.prefix.to_string(),
            replicas: 0,
            es_secret_arn: Some(arn.to_string()),
            ..Settings::default()
        };
        Deps::new(settings, lambda_settings(), ObjectStore::with_s3(base.s3.clone()))
            .unwrap()
            .with_secrets(secrets.clone())
    };
    let payload = payload("s3-put.json", &base.bucket);
    upload_named(&base, &payload, &[]).await;
    let reply = handle(event(payload.clone()), &deps_for(&arn))
        .await
        .expect("handled with the secret");
    assert_eq!(reply, json!({}));

    let missing = format!("{arn}-missing");
    let err = handle(event(payload), &deps_for(&missing))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&missing) && err.contains("TRAILSEARCH_ES_SECRET_ARN"),
        "{err}"
    );
    assert!(!err.contains("pw-from-secret-77"));
}

/// The fault proxy in front of the test cluster, refusing every bulk
/// request; killed on drop.
struct DownCluster {
    child: std::process::Child,
    url: String,
}

impl DownCluster {
    fn start() -> DownCluster {
        use std::io::BufRead;
        let mut child = std::process::Command::new(repo_root().join(".venv/bin/python"))
            .arg(repo_root().join("tests/servers/fault_proxy.py"))
            .args([
                "--upstream",
                cluster_url(),
                "--port",
                "0",
                "--down-seconds",
                "1000",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("fault proxy");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        DownCluster {
            url: ready["url"].as_str().unwrap().to_string(),
            child,
        }
    }
}

impl Drop for DownCluster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn objects_whose_retries_run_out_are_reported_for_redelivery() {
    let base = stack("lambda-down", lambda_settings()).await;
    let down = DownCluster::start();
    let settings = Settings {
        es_url: down.url.clone(),
        index_prefix: base.prefix.to_string(),
        replicas: 0,
        max_retry_time: Duration::from_secs(1),
        ..Settings::default()
    };
    let deps = Deps::new(settings, lambda_settings(), ObjectStore::with_s3(base.s3.clone())).unwrap();

    // SQS: every message whose object could not be settled comes back.
    let sqs = payload("sqs-s3.json", &base.bucket);
    upload_named(&base, &sqs, &[]).await;
    let reply = handle(event(sqs), &deps).await.expect("handled");
    assert_eq!(reply["batchItemFailures"].as_array().unwrap().len(), 2, "{reply}");

    // Batch Operations: a temporary failure, so the job retries the task.
    let batch = payload("batch-ops-2.0.json", &base.bucket);
    upload_named(&base, &batch, &[]).await;
    let reply = handle(event(batch), &deps).await.expect("handled");
    assert_eq!(reply["results"][0]["resultCode"], "TemporaryFailure", "{reply}");
    assert_eq!(count(&format!("{}-*", base.prefix)), 0);
}

// --- CloudTrail events that arrive as events -----------------------------------

const FIRST: &str = "3f1c2b9e-7d4a-4e7b-9c3f-000000000001";
const SECOND: &str = "3f1c2b9e-7d4a-4e7b-9c3f-000000000002";

/// `_source` of an event by its `eventID`.
fn source_of(prefix: &str, event_id: &str) -> Value {
    let (status, hits) = http(
        "POST",
        &format!("{prefix}-*/_search"),
        Some(&json!({"query": {"term": {"eventID": event_id}}, "version": true})),
    );
    assert_eq!(status, 200, "{hits}");
    let hits = hits["hits"]["hits"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 1, "{event_id}: {hits:?}");
    let mut source = hits[0]["_source"].clone();
    source["_version"] = hits[0]["_version"].clone();
    source
}

#[tokio::test]
async fn every_streamed_path_indexes_provisional_copies_with_exact_counts() {
    let stack = stack("lambda-streams", lambda_settings()).await;
    let prefix = stack.prefix.to_string();
    let indexed = || {
        refresh(&format!("{prefix}-*"));
        count(&format!("{prefix}-*"))
    };

    // EventBridge, invoked directly: one event, its record.
    let reply = handle(
        event(payload("eventbridge-cloudtrail-api-call.json", "-")),
        &stack.deps,
    )
    .await
    .expect("handled");
    assert_eq!(reply, json!({}));
    assert_eq!(indexed(), 1);
    let first = source_of(&prefix, FIRST);
    assert_eq!(
        first["trailsearch"]["source"],
        json!({"kind": "eventbridge", "key": "eventbridge:6a7e8feb-b491-4cf7-a9f1-bf3703467718",
               "eventbridge_id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718"})
    );
    assert_eq!(first["_version"], 0, "a provisional copy");

    // EventBridge through SQS (raw, and in an SNS envelope): the first event
    // again is a duplicate, the second is new; nothing fails.
    let reply = handle(
        event(payload("sqs-eventbridge-cloudtrail.json", "-")),
        &stack.deps,
    )
    .await
    .expect("handled");
    assert_eq!(reply, json!({"batchItemFailures": []}));
    assert_eq!(indexed(), 2);

    // CloudWatch Logs: both records, already there.
    let reply = handle(event(payload("cloudwatch-logs.json", "-")), &stack.deps)
        .await
        .expect("handled");
    assert_eq!(reply, json!({}));
    assert_eq!(indexed(), 2);
    // Its probe names nothing.
    let reply = handle(event(payload("cloudwatch-logs-control.json", "-")), &stack.deps)
        .await
        .expect("handled");
    assert_eq!(reply, json!({}));

    // Kinesis: the record that is neither gzip nor JSON fails alone, by
    // sequence number; the control message is acknowledged.
    let reply = handle(event(payload("kinesis.json", "-")), &stack.deps)
        .await
        .expect("handled");
    assert_eq!(
        reply,
        json!({"batchItemFailures": [{"itemIdentifier": "49590338271490256608559692541336630111039049876712685666"}]})
    );
    assert_eq!(indexed(), 2);
    // `search --provisional` lists what no S3 record has replaced yet.
    let provisional =
        trailsearch(&stack.prefix, &["search", "--provisional", "--format", "json"]).expect_code(0);
    assert_eq!(provisional.stdout.lines().count(), 2, "{provisional}");
    // So does the saved search, its query run as Kibana runs it (the copies
    // are of 2024, long past their log objects' delivery).
    let saved = trailsearch_kibana::saved_searches()
        .into_iter()
        .find(|s| s.slug == "provisional-without-record")
        .expect("saved search");
    let (status, found) = http(
        "POST",
        &format!("{prefix}-*/_count"),
        Some(
            &json!({"query": {"query_string": {"query": saved.query, "analyze_wildcard": true, "time_zone": "UTC"}}}),
        ),
    );
    assert_eq!((status, found["count"].as_u64()), (200, Some(2)), "{found}");
    // The first copy to arrive is the one kept: provisional copies never
    // replace each other.
    assert_eq!(
        source_of(&prefix, FIRST)["trailsearch"]["source"]["kind"],
        "eventbridge"
    );
    assert_eq!(
        source_of(&prefix, SECOND)["trailsearch"]["source"]["kind"],
        "eventbridge"
    );
}

/// The record behind the fixtures' events, as its S3 log object holds it.
fn s3_copy(dir: &std::path::Path, records: &[Value]) -> String {
    let path = dir.join("111122223333_CloudTrail_us-east-1_20240316T1005Z_AbCdEfGh12345678.json");
    std::fs::write(&path, json!({"Records": records}).to_string()).expect("write");
    path.to_str().unwrap().to_string()
}

fn provisional_records() -> Vec<Value> {
    let eventbridge = payload("sqs-eventbridge-cloudtrail.json", "-");
    let first: Value = serde_json::from_str(eventbridge["Records"][0]["body"].as_str().unwrap()).unwrap();
    let envelope: Value = serde_json::from_str(eventbridge["Records"][1]["body"].as_str().unwrap()).unwrap();
    let second: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    vec![first["detail"].clone(), second["detail"].clone()]
}

/// The S3 copy is the record of truth, whatever the order: a later S3 copy
/// replaces a provisional one (counted `superseded`), even one that differs
/// from it; a later provisional copy never replaces anything; documents
/// written by `create` before versioned writes are duplicates.
#[tokio::test]
async fn the_s3_copy_ends_as_the_document_in_every_order() {
    let records = provisional_records();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = s3_copy(dir.path(), &records);

    // Provisional first, then S3: replaced, counted superseded.
    let first_stack = stack("lambda-order-a", lambda_settings()).await;
    let prefix = first_stack.prefix.to_string();
    // Through EventBridge, the second event arrives cut down (as a 256 KB
    // entry limit would leave it): the S3 copy restores it.
    let mut cut = payload("sqs-eventbridge-cloudtrail.json", "-");
    let mut envelope: Value = serde_json::from_str(cut["Records"][1]["body"].as_str().unwrap()).unwrap();
    let mut message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    message["detail"]["requestParameters"] = json!(null);
    envelope["Message"] = json!(message.to_string());
    cut["Records"][1]["body"] = json!(envelope.to_string());
    handle(event(cut), &first_stack.deps).await.expect("handled");
    refresh(&format!("{prefix}-*"));
    assert_eq!(source_of(&prefix, SECOND)["requestParameters"], json!(null));
    let run = trailsearch(&first_stack.prefix, &["ingest", &file, "--report", "json"]).expect_code(0);
    let report = run.report();
    assert_eq!(
        (
            report["events"].as_u64(),
            report["indexed"].as_u64(),
            report["superseded"].as_u64(),
            report["duplicates"].as_u64()
        ),
        (Some(2), Some(2), Some(2), Some(0)),
        "{run}"
    );
    refresh(&format!("{prefix}-*"));
    assert_eq!(count(&format!("{prefix}-*")), 2);
    for id in [FIRST, SECOND] {
        let source = source_of(&prefix, id);
        assert_eq!(source["trailsearch"]["source"]["kind"], "file", "{id}");
        assert_eq!(source["_version"], 1, "{id}");
    }
    assert_eq!(
        source_of(&prefix, SECOND)["requestParameters"],
        records[1]["requestParameters"]
    );
    let left = trailsearch(
        &first_stack.prefix,
        &["search", "--provisional", "--format", "json"],
    )
    .expect_code(0);
    assert_eq!(left.stdout, "", "replaced: {left}");
    // The S3 copy again: duplicates, nothing replaced.
    let again = trailsearch(&first_stack.prefix, &["ingest", &file, "--report", "json"]).expect_code(0);
    assert_eq!(
        (
            again.report()["duplicates"].as_u64(),
            again.report()["superseded"].as_u64()
        ),
        (Some(2), Some(0)),
        "{again}"
    );

    // S3 first, then provisional copies: those are duplicates.
    let second_stack = stack("lambda-order-b", lambda_settings()).await;
    let prefix = second_stack.prefix.to_string();
    trailsearch(&second_stack.prefix, &["ingest", &file]).expect_code(0);
    for fixture in ["eventbridge-cloudtrail-api-call.json", "cloudwatch-logs.json"] {
        assert_eq!(
            handle(event(payload(fixture, "-")), &second_stack.deps)
                .await
                .expect("handled"),
            json!({})
        );
    }
    refresh(&format!("{prefix}-*"));
    assert_eq!(count(&format!("{prefix}-*")), 2);
    for id in [FIRST, SECOND] {
        assert_eq!(
            source_of(&prefix, id)["trailsearch"]["source"]["kind"],
            "file",
            "{id}"
        );
    }

    // Documents written before versioned writes (bulk `create`, version 1):
    // re-ingest is all duplicates, the documents untouched.
    let third_stack = stack("lambda-order-c", lambda_settings()).await;
    let prefix = third_stack.prefix.to_string();
    let mut bulk = String::new();
    for record in &records {
        let id = record["eventID"].as_str().unwrap();
        bulk.push_str(&json!({"create": {"_index": format!("{prefix}-2024.03.16"), "_id": id}}).to_string());
        bulk.push('\n');
        let mut old = record.clone();
        old["@timestamp"] = old["eventTime"].clone();
        old["trailsearch"] = json!({"source": {"key": "old-release.json"}});
        bulk.push_str(&old.to_string());
        bulk.push('\n');
    }
    let (status, answer) = trailsearch_e2e::http_ndjson("_bulk?refresh=true", bulk.as_bytes());
    assert_eq!((status, &answer["errors"]), (200, &json!(false)), "{answer}");
    let run = trailsearch(&third_stack.prefix, &["ingest", &file, "--report", "json"]).expect_code(0);
    assert_eq!(
        (
            run.report()["duplicates"].as_u64(),
            run.report()["superseded"].as_u64()
        ),
        (Some(2), Some(0)),
        "{run}"
    );
    handle(event(payload("cloudwatch-logs.json", "-")), &third_stack.deps)
        .await
        .expect("handled");
    refresh(&format!("{prefix}-*"));
    assert_eq!(count(&format!("{prefix}-*")), 2);
    for id in [FIRST, SECOND] {
        assert_eq!(
            source_of(&prefix, id)["trailsearch"]["source"]["key"],
            "old-release.json",
            "{id}"
        );
    }
}

/// S3 notifications for these keys of `bucket`, in one payload.
fn s3_put(bucket: &str, keys: &[String]) -> Value {
    let records: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1000}}})
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn digests_s3_announces_give_the_verdicts_verify_gives_in_either_order() {
    for digests_first in [true, false] {
        let Stack {
            prefix, bucket, deps, ..
        } = stack("lambda-integrity", lambda_settings()).await;
        let corpus = format!("{bucket}-corpus");
        let manifest = tokio::task::spawn_blocking({
            let corpus = corpus.clone();
            move || digest_corpus(&corpus, "flip-log")
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let keys = KeyRing::from_path(&corpus_key_file(&manifest, dir.path())).unwrap();
        let deps = deps.with_keys(keys);
        let names = |list: &str| -> Vec<String> {
            manifest[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
                .collect()
        };
        let (digests, logs) = (names("digests"), names("logs"));
        let mut payloads = vec![s3_put(&corpus, &digests), s3_put(&corpus, &logs)];
        if !digests_first {
            payloads.reverse();
        }
        for payload in payloads {
            let reply = handle(event(payload), &deps).await.expect("handled");
            assert_eq!(reply, json!({}), "digests first: {digests_first}");
        }
        // As verify counts the objects: 30 verified (90 events), 1 modified
        // (3), and the 2 no digest lists yet (6) pending.
        assert_eq!(
            term_counts(&format!("{prefix}-*"), "trailsearch.integrity"),
            [
                ("modified".to_string(), 3),
                ("pending".to_string(), 6),
                ("verified".to_string(), 90)
            ],
            "digests first: {digests_first}"
        );
        let e = &manifest["expected"];
        assert_eq!(
            (
                e["logs_verified"].as_u64(),
                e["logs_modified"].as_u64(),
                e["logs_pending"].as_u64()
            ),
            (Some(30), Some(1), Some(2))
        );
    }
}
