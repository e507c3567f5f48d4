use serde_json::{json, Value};

use super::*;

const BUCKET: &str = "trailsearch-logs";
const K1: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T0930Z_AbCdEfGh12345678.json.gz";
const K2: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T0935Z_IjKlMnOp90123456.json.gz";
const K3: &str = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/14/111122223333_CloudTrail_eu-west-1_20240314T0930Z_QrStUvWx78901234.json.gz";
const K4: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T0940Z_YzAbCdEf34567890.json.gz";

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/triggers");

/// Every fixture, each of which has a test below.
const FIXTURE_NAMES: &[&str] = &[
    "batch-ops-1.0.json",
    "batch-ops-2.0.json",
    "cloudwatch-logs-control.json",
    "cloudwatch-logs.json",
    "eventbridge-cloudtrail-api-call.json",
    "eventbridge-object-created.json",
    "eventbridge-scheduled.json",
    "kinesis.json",
    "s3-put.json",
    "s3-test-event.json",
    "sns-cloudtrail.json",
    "sns-s3.json",
    "sqs-eventbridge-cloudtrail.json",
    "sqs-eventbridge-object-created.json",
    "sqs-mixed-with-bad-body.json",
    "sqs-s3.json",
    "sqs-sns-envelope.json",
    "sqs-sns-raw-cloudtrail.json",
    "sqs-test-event.json",
];

/// Reads a fixture, checking that its JSON survives parse -> serialize ->
/// parse (compact and pretty) unchanged.
fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let compact: Value = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
    let pretty: Value = serde_json::from_str(&serde_json::to_string_pretty(&value).unwrap()).unwrap();
    assert_eq!(compact, value, "{name}: compact round-trip");
    assert_eq!(pretty, value, "{name}: pretty round-trip");
    value
}

fn decode_fixture(name: &str) -> Trigger {
    Trigger::decode(&fixture(name)).unwrap()
}

fn notice(key: &str, size: Option<u64>, version_id: Option<&str>) -> ObjectNotice {
    ObjectNotice {
        bucket: BUCKET.to_owned(),
        key: key.to_owned(),
        size,
        version_id: version_id.map(str::to_owned),
    }
}

fn sqs(id: &str) -> Origin {
    Origin::SqsMessage {
        message_id: id.to_owned(),
    }
}

fn task(id: &str) -> Origin {
    Origin::BatchTask {
        task_id: id.to_owned(),
    }
}

type Parts = (Vec<(Origin, ObjectNotice)>, Vec<Origin>, Vec<(Origin, String)>);
type EventParts = (Vec<(Origin, EventBatch)>, Vec<Origin>, Vec<(Origin, String)>);

/// Every list of a [`Trigger::Objects`].
fn all_parts(trigger: Trigger) -> (Vec<(Origin, ObjectNotice)>, EventParts) {
    match trigger {
        Trigger::Objects {
            notices,
            events,
            empty_origins,
            undecodable,
        } => (notices, (events, empty_origins, undecodable)),
        other => panic!("expected Trigger::Objects, got {other:?}"),
    }
}

/// The objects of a trigger that carries no CloudTrail events as events.
fn objects(trigger: Trigger) -> Parts {
    let (notices, (events, empty_origins, undecodable)) = all_parts(trigger);
    assert_eq!(events, [], "no CloudTrail events delivered as events here");
    (notices, empty_origins, undecodable)
}

/// The event batches of a trigger that names no object.
fn event_batches(trigger: Trigger) -> EventParts {
    let (notices, parts) = all_parts(trigger);
    assert_eq!(notices, [], "no objects here");
    parts
}

/// The eventIDs of a batch's records.
fn event_ids(batch: &EventBatch) -> Vec<String> {
    batch
        .records
        .iter()
        .map(|r| {
            serde_json::from_str::<Value>(r).unwrap()["eventID"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

const FIRST: &str = "3f1c2b9e-7d4a-4e7b-9c3f-000000000001";
const SECOND: &str = "3f1c2b9e-7d4a-4e7b-9c3f-000000000002";

#[test]
fn eventbridge_cloudtrail_events_carry_their_record() {
    let (events, empty, undecodable) = event_batches(decode_fixture("eventbridge-cloudtrail-api-call.json"));
    assert!(empty.is_empty() && undecodable.is_empty());
    assert_eq!(events.len(), 1);
    let (origin, batch) = &events[0];
    assert_eq!(origin, &Origin::Direct);
    assert_eq!(
        batch.source,
        StreamSource::EventBridge {
            event_id: "6a7e8feb-b491-4cf7-a9f1-bf3703467718".into(),
            detail_type: "AWS API Call via CloudTrail".into()
        }
    );
    assert_eq!(event_ids(batch), [FIRST]);
    assert_eq!(
        batch.source.to_string(),
        "eventbridge:6a7e8feb-b491-4cf7-a9f1-bf3703467718"
    );

    // Through SQS, raw or in an SNS envelope: one batch per message.
    let (events, empty, undecodable) = event_batches(decode_fixture("sqs-eventbridge-cloudtrail.json"));
    assert!(empty.is_empty() && undecodable.is_empty());
    let got: Vec<(Origin, Vec<String>)> = events.iter().map(|(o, b)| (o.clone(), event_ids(b))).collect();
    assert_eq!(
        got,
        [
            (
                sqs("2e1424d4-f796-459a-8184-9c92662be6da"),
                vec![FIRST.to_string()]
            ),
            (
                sqs("4c6d7f2a-1b3e-4a5c-9d8e-0f1a2b3c4d5e"),
                vec![SECOND.to_string()]
            ),
        ]
    );

    // Every detail type CloudTrail sends, from any service.
    for detail_type in [
        "AWS Console Sign In via CloudTrail",
        "AWS Console Action via CloudTrail",
        "AWS Service Event via CloudTrail",
        "AWS Insight via CloudTrail",
    ] {
        let mut event = fixture("eventbridge-cloudtrail-api-call.json");
        event["detail-type"] = json!(detail_type);
        event["source"] = json!("aws.signin");
        let (events, _, _) = event_batches(Trigger::decode(&event).unwrap());
        assert_eq!(events.len(), 1, "{detail_type}");
    }
    let mut bad = fixture("eventbridge-cloudtrail-api-call.json");
    bad["detail"] = json!("x");
    assert!(matches!(decode_err(bad), TriggerError::Malformed { .. }));
}

#[test]
fn cloudwatch_logs_payloads_carry_their_log_events() {
    let (events, empty, undecodable) = event_batches(decode_fixture("cloudwatch-logs.json"));
    assert!(empty.is_empty() && undecodable.is_empty());
    assert_eq!(events.len(), 1);
    let (origin, batch) = &events[0];
    assert_eq!(origin, &Origin::Direct);
    assert_eq!(
        batch.source,
        StreamSource::CloudWatchLogs {
            log_group: "aws-cloudtrail-logs-111122223333-3f9a1c2e".into(),
            log_stream: "111122223333_CloudTrail_us-east-1".into()
        }
    );
    assert_eq!(event_ids(batch), [FIRST, SECOND]);
    // The destination check CloudWatch Logs sends names nothing.
    assert_eq!(
        event_batches(decode_fixture("cloudwatch-logs-control.json")),
        (vec![], vec![], vec![])
    );
    for (data, why) in [("%%%", "not base64"), ("aGVsbG8=", "not gzip")] {
        let err = decode_err(json!({"awslogs": {"data": data}}));
        assert!(err.to_string().contains(why), "{err}");
    }
}

#[test]
fn kinesis_records_fail_alone_and_are_answered_by_sequence_number() {
    let (events, empty, undecodable) = event_batches(decode_fixture("kinesis.json"));
    let seq = |s: &str| Origin::KinesisRecord {
        sequence_number: s.into(),
    };
    let s1 = "49590338271490256608559692538361571095921575989136588898";
    let s2 = "49590338271490256608559692540925702759324208523137515618";
    let s3 = "49590338271490256608559692541335421185219374962845237346";
    let s4 = "49590338271490256608559692541336630111039049876712685666";
    let got: Vec<(Origin, String, Vec<String>)> = events
        .iter()
        .map(|(o, b)| (o.clone(), b.source.to_string(), event_ids(b)))
        .collect();
    assert_eq!(
        got,
        [
            (
                seq(s1),
                format!("kinesis:cloudtrail-events/{s1}"),
                vec![FIRST.to_string(), SECOND.to_string()]
            ),
            (
                seq(s2),
                format!("kinesis:cloudtrail-events/{s2}"),
                vec![FIRST.to_string()]
            ),
        ]
    );
    assert_eq!(
        events[0].1.source,
        StreamSource::Kinesis {
            stream: "cloudtrail-events".into(),
            sequence_number: s1.into(),
            log: Some((
                "aws-cloudtrail-logs-111122223333-3f9a1c2e".into(),
                "111122223333_CloudTrail_us-east-1".into()
            ))
        }
    );
    assert_eq!(empty, [seq(s3)], "the control message is acknowledged");
    assert_eq!(undecodable.len(), 1);
    assert_eq!(undecodable[0].0, seq(s4));
    assert!(
        undecodable[0].1.contains("neither gzip nor JSON"),
        "{}",
        undecodable[0].1
    );
}

fn only_notices(notices: Vec<(Origin, ObjectNotice)>) -> Parts {
    (notices, Vec::new(), Vec::new())
}

fn decode_err(payload: Value) -> TriggerError {
    Trigger::decode(&payload).unwrap_err()
}

/// An S3 event notification record.
fn s3_record(event_name: &str, key: &str) -> Value {
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": BUCKET, "arn": "arn:aws:s3:::trailsearch-logs"},
            "object": {"key": key, "size": 10, "sequencer": "0065F2C4"}
        }
    })
}

/// An SQS invocation of one message per body.
fn sqs_event(bodies: &[(&str, String)]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .map(|(id, body)| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"}))
        .collect();
    json!({ "Records": records })
}

// ---- fixtures ----

#[test]
fn every_fixture_is_listed_and_tested() {
    let mut found: Vec<String> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    found.sort();
    assert_eq!(found, FIXTURE_NAMES);
}

#[test]
fn fixture_nested_bodies_round_trip() {
    // The JSON inside SNS `Message`s and SQS `body`s must itself be real
    // JSON, except for the one deliberately truncated body.
    let mut broken = Vec::new();
    for name in FIXTURE_NAMES {
        let value = fixture(name);
        let Some(records) = value.get("Records").and_then(Value::as_array) else {
            continue;
        };
        for record in records {
            let nested = record
                .get("body")
                .or_else(|| record.get("Sns").and_then(|s| s.get("Message")));
            let Some(text) = nested.and_then(Value::as_str) else {
                continue;
            };
            match serde_json::from_str::<Value>(text) {
                Ok(inner) => {
                    let again: Value = serde_json::from_str(&serde_json::to_string(&inner).unwrap()).unwrap();
                    assert_eq!(again, inner, "{name}");
                    // An SNS envelope's Message is JSON too.
                    if let Some(message) = inner.get("Message").and_then(Value::as_str) {
                        serde_json::from_str::<Value>(message).unwrap();
                    }
                }
                Err(_) => broken.push(format!("{name}: {}", record["messageId"])),
            }
        }
    }
    assert_eq!(
        broken,
        ["sqs-mixed-with-bad-body.json: \"a61fd549-5eae-4801-9b4b-94c81b6d5f27\""]
    );
}

#[test]
fn fixture_s3_put() {
    // `+` is a space and `%3A` a colon: the trail's prefix is
    // "security logs:prod/".
    assert_eq!(
        objects(decode_fixture("s3-put.json")),
        only_notices(vec![(
            Origin::Direct,
            notice(
                &format!("security logs:prod/{K1}"),
                Some(5187),
                Some("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrH")
            )
        )])
    );
}

#[test]
fn fixture_s3_test_event() {
    assert_eq!(
        objects(decode_fixture("s3-test-event.json")),
        only_notices(vec![])
    );
}

#[test]
fn fixture_sns_s3() {
    assert_eq!(
        objects(decode_fixture("sns-s3.json")),
        only_notices(vec![(Origin::Direct, notice(K1, Some(5187), None))])
    );
}

#[test]
fn fixture_sns_cloudtrail() {
    assert_eq!(
        objects(decode_fixture("sns-cloudtrail.json")),
        only_notices(vec![
            (Origin::Direct, notice(K1, None, None)),
            (Origin::Direct, notice(K3, None, None)),
        ])
    );
}

#[test]
fn fixture_sqs_s3() {
    assert_eq!(
        objects(decode_fixture("sqs-s3.json")),
        only_notices(vec![
            (
                sqs("10a5c63a-b6a0-4a67-8da8-1468468eef1e"),
                notice(K1, Some(5187), None)
            ),
            (
                sqs("5e62ed92-8edf-41d7-9902-f4c0d9dd9866"),
                notice(K2, Some(12044), None)
            ),
        ])
    );
}

#[test]
fn fixture_sqs_sns_envelope() {
    let first = sqs("166dfade-ca07-44fc-8dcc-427c4f58fb0e");
    assert_eq!(
        objects(decode_fixture("sqs-sns-envelope.json")),
        only_notices(vec![
            (first.clone(), notice(K1, None, None)),
            (first, notice(K3, None, None)),
            (
                sqs("7403eefa-8b85-43a2-a615-52ad628e4d78"),
                notice(K2, Some(12044), None)
            ),
        ])
    );
}

#[test]
fn fixture_sqs_sns_raw_cloudtrail() {
    assert_eq!(
        objects(decode_fixture("sqs-sns-raw-cloudtrail.json")),
        only_notices(vec![(
            sqs("2be28036-9857-45d6-a727-329e4360bafa"),
            notice(K2, None, None)
        )])
    );
}

#[test]
fn fixture_sqs_test_event() {
    assert_eq!(
        objects(decode_fixture("sqs-test-event.json")),
        (vec![], vec![sqs("d8de5636-bcd3-40dc-a16f-ada269398c4b")], vec![])
    );
}

#[test]
fn fixture_sqs_mixed_with_bad_body() {
    let (notices, empty, undecodable) = objects(decode_fixture("sqs-mixed-with-bad-body.json"));
    assert_eq!(
        notices,
        [(
            sqs("f43ee73c-54be-48bf-841e-87a3cee17751"),
            notice(K1, Some(5187), None)
        )]
    );
    assert_eq!(empty, [sqs("9b66f611-b40e-41cd-9998-0a6875e26311")]);
    let origins: Vec<&Origin> = undecodable.iter().map(|(o, _)| o).collect();
    assert_eq!(
        origins,
        [
            &sqs("a61fd549-5eae-4801-9b4b-94c81b6d5f27"),
            &sqs("5fb68250-cfba-48ed-9b0f-b1101ea19239"),
            &sqs("7d929638-1b80-43a9-adcd-7d310d193485"),
        ]
    );
    // Truncated body: the parse error names the message.
    assert!(
        undecodable[0].1.starts_with(
            "message a61fd549-5eae-4801-9b4b-94c81b6d5f27: body is not valid JSON: EOF while parsing"
        ),
        "{}",
        undecodable[0].1
    );
    // A key whose %-escapes end mid-character: the key is named.
    assert_eq!(
        undecodable[1].1,
        "object key \"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/caf%C3%A9%E2%82.json.gz\" \
         is not valid URL-encoded UTF-8: the decoded bytes are not UTF-8 (invalid sequence at decoded byte 58)"
    );
    // JSON of some other shape.
    assert!(
        undecodable[2].1.starts_with(
            "unrecognised trigger: SQS message 7d929638-1b80-43a9-adcd-7d310d193485 is an object with keys \"alarmName\", \"newState\"; accepted: "
        ),
        "{}",
        undecodable[2].1
    );
}

#[test]
fn fixture_eventbridge_object_created() {
    assert_eq!(
        objects(decode_fixture("eventbridge-object-created.json")),
        only_notices(vec![(
            Origin::Direct,
            notice(K4, Some(20931), Some("uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G"))
        )])
    );
}

#[test]
fn fixture_sqs_eventbridge_object_created() {
    assert_eq!(
        objects(decode_fixture("sqs-eventbridge-object-created.json")),
        only_notices(vec![(
            sqs("619b352c-aa19-4829-b8a0-4cec7082c107"),
            notice(K4, Some(20931), None)
        )])
    );
}

#[test]
fn fixture_eventbridge_scheduled() {
    assert_eq!(decode_fixture("eventbridge-scheduled.json"), Trigger::Scheduled);
}

#[test]
fn fixture_batch_ops_1_0() {
    assert_eq!(
        decode_fixture("batch-ops-1.0.json"),
        Trigger::BatchOperations {
            invocation_id: "wE/u3pxk6JCYRpd5VhjjUmjoTzAzT2GoINzco/sLEHeyOGKXQHDkF2jog/rBXntywtf73Eo0"
                .to_owned(),
            invocation_schema_version: "1.0".to_owned(),
            tasks: vec![(task("xbAyRlYD6CczWWzKQc1YTM/fdMIbJt7z"), notice(K3, None, None))],
            undecodable: vec![],
        }
    );
}

#[test]
fn fixture_batch_ops_2_0() {
    assert_eq!(
        decode_fixture("batch-ops-2.0.json"),
        Trigger::BatchOperations {
            invocation_id: "fjb0iE9i2ZdktuWhytqiT3+GQtWarkHy8SJ8sm7GvoV06KMBvz9v02DSm1TRchPmwkSa37Um"
                .to_owned(),
            invocation_schema_version: "2.0".to_owned(),
            tasks: vec![(
                task("CdgbzrbCkdNrtARl20ruM/TOA81b4dYg"),
                notice(
                    &format!("security logs:prod/{K1}"),
                    None,
                    Some("3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrH")
                )
            )],
            undecodable: vec![],
        }
    );
}

// ---- key decoding ----

#[test]
fn form_key_decodes_plus_and_percent() {
    let cases = [
        ("plain/key.json.gz", "plain/key.json.gz"),
        ("a+b", "a b"),
        ("a%2Bb", "a+b"),
        ("2024%3A03", "2024:03"),
        ("2024%3a03", "2024:03"), // lowercase hex is still hex
        ("100%25", "100%"),
        ("%20lead+and+trail%20", " lead and trail "),
        ("caf%C3%A9", "café"),
        ("%E2%82%AC5", "€5"),
        ("%F0%9F%93%9C.json", "📜.json"),
        ("café", "café"), // raw non-ASCII passes through
        ("", ""),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_form_key(raw).as_deref(), Ok(want), "{raw}");
    }
}

#[test]
fn form_key_rejects_bad_escapes_and_bad_utf8() {
    let cases = [
        ("100%", "'%' at byte 3 is not followed by two hex digits"),
        ("a%4", "'%' at byte 1 is not followed by two hex digits"),
        ("a%G1b", "'%' at byte 1 is not followed by two hex digits"),
        ("a%+1b", "'%' at byte 1 is not followed by two hex digits"),
        (
            "x%E2%82",
            "the decoded bytes are not UTF-8 (invalid sequence at decoded byte 1)",
        ),
        (
            "ab%FF",
            "the decoded bytes are not UTF-8 (invalid sequence at decoded byte 2)",
        ),
        (
            "%C3%28",
            "the decoded bytes are not UTF-8 (invalid sequence at decoded byte 0)",
        ),
        (
            // An encoded surrogate half is not UTF-8 either.
            "%ED%A0%80",
            "the decoded bytes are not UTF-8 (invalid sequence at decoded byte 0)",
        ),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_form_key(raw), Err(want.to_owned()), "{raw}");
    }
}

#[test]
fn bad_key_in_direct_s3_event_fails_naming_the_key() {
    let err = decode_err(json!({"Records": [s3_record("ObjectCreated:Put", "logs/a%ZZ.json")]}));
    assert!(matches!(&err, TriggerError::BadKey { key, .. } if key == "logs/a%ZZ.json"));
    assert_eq!(
        err.to_string(),
        "object key \"logs/a%ZZ.json\" is not valid URL-encoded UTF-8: '%' at byte 6 is not followed by two hex digits"
    );
}

#[test]
fn form_key_encoding_round_trips() {
    for key in [
        "security logs:prod/AWSLogs/x.json.gz",
        "a+b c%d",
        "café/📜 (1).json",
        "-_.*/~!'()=&;,?@$",
    ] {
        assert_eq!(decode_form_key(&encode_form_key(key)).as_deref(), Ok(key));
    }
    assert_eq!(
        encode_form_key("security logs:prod/a_b-c.d*"),
        "security+logs%3Aprod/a_b-c.d*"
    );
}

#[test]
fn eventbridge_keys_are_decoded_only_when_they_round_trip() {
    let cases = [
        // Raw `:`, as captured S3 EventBridge events show: kept raw.
        (
            "raw/health-check/2023-08-08T14:03:40.532432.zip",
            "raw/health-check/2023-08-08T14:03:40.532432.zip",
        ),
        // Only S3's encoding could have produced these: decoded.
        ("security+logs%3Aprod/k.json.gz", "security logs:prod/k.json.gz"),
        ("caf%C3%A9.json", "café.json"),
        // A raw space, colon or non-ASCII character means nothing was
        // encoded, so `+` and `%` are literal.
        ("a+b:c", "a+b:c"),
        ("my file+1.json", "my file+1.json"),
        ("café+x", "café+x"),
        // Escapes S3 would not have written (lowercase, or of an
        // unreserved byte): literal.
        ("a%3ab", "a%3ab"),
        ("a%41", "a%41"),
        // Invalid escapes are literal too, never an error.
        ("100%", "100%"),
        ("x%E2%82", "x%E2%82"),
        // The ambiguous case, decoded as Powertools does.
        ("a+b.json", "a b.json"),
        (K1, K1),
    ];
    for (raw, want) in cases {
        assert_eq!(decode_eventbridge_key(raw), want, "{raw}");
    }
}

// ---- S3 event notifications ----

#[test]
fn only_object_created_records_count() {
    let payload = json!({"Records": [
        s3_record("ObjectRemoved:Delete", "gone.json.gz"),
        s3_record("ObjectCreated:CompleteMultipartUpload", "big.json.gz"),
        s3_record("ObjectRemoved:DeleteMarkerCreated", "gone2.json.gz"),
        s3_record("ObjectRestore:Completed", "restored.json.gz"),
        s3_record("LifecycleExpiration:Delete", "expired.json.gz"),
        s3_record("ObjectCreated:Copy", "copied.json.gz"),
        s3_record("s3:ObjectCreated:Put", "minio.json.gz"),
    ]});
    let keys: Vec<String> = objects(Trigger::decode(&payload).unwrap())
        .0
        .into_iter()
        .map(|(_, n)| n.key)
        .collect();
    assert_eq!(keys, ["big.json.gz", "copied.json.gz", "minio.json.gz"]);
}

#[test]
fn removed_records_need_no_s3_entity() {
    // Only ObjectCreated records are looked into, so an odd removal record
    // cannot fail the invocation.
    let payload = json!({"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectRemoved:Delete", "s3": "?"}
    ]});
    assert_eq!(objects(Trigger::decode(&payload).unwrap()), only_notices(vec![]));
}

#[test]
fn sqs_message_with_only_removals_is_acknowledged_as_empty() {
    let body = json!({"Records": [s3_record("ObjectRemoved:Delete", "gone.json.gz")]}).to_string();
    assert_eq!(
        objects(Trigger::decode(&sqs_event(&[("m1", body)])).unwrap()),
        (vec![], vec![sqs("m1")], vec![])
    );
}

#[test]
fn created_record_without_s3_is_malformed() {
    let err = decode_err(json!({"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}
    ]}));
    assert_eq!(
        err.to_string(),
        "malformed Records[0]: an ObjectCreated record without \"s3\""
    );
    let err = decode_err(json!({"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {}}}
    ]}));
    assert!(
        matches!(&err, TriggerError::Malformed { location, reason }
            if location == "Records[0].s3" && reason.contains("missing field `key`")),
        "{err}"
    );
}

#[test]
fn sizes_and_versions_are_read_leniently() {
    let record = |object: Value| {
        json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": BUCKET}, "object": object}}]})
    };
    let decode = |object: Value| objects(Trigger::decode(&record(object)).unwrap()).0[0].1.clone();
    let n = decode(json!({"key": "k", "size": "5187", "versionId": ""}));
    assert_eq!((n.size, n.version_id), (Some(5187), None));
    let n = decode(json!({"key": "k", "size": -1, "versionId": null}));
    assert_eq!((n.size, n.version_id), (None, None));
    let n = decode(json!({"key": "k", "versionId": "null"}));
    // "null" is the real version id of objects written before versioning.
    assert_eq!((n.size, n.version_id.as_deref()), (None, Some("null")));
}

#[test]
fn empty_records_decode_to_nothing() {
    assert_eq!(
        objects(Trigger::decode(&json!({"Records": []})).unwrap()),
        only_notices(vec![])
    );
}

// ---- SNS and SQS ----

#[test]
fn sns_message_that_is_not_json_names_the_message() {
    let err = decode_err(json!({"Records": [{
        "EventSource": "aws:sns",
        "Sns": {"Type": "Notification", "MessageId": "sns-42", "Message": "Hello from SNS!"}
    }]}));
    assert!(matches!(&err, TriggerError::BadJson { message_id, .. } if message_id == "sns-42"));
    assert!(
        err.to_string()
            .starts_with("message sns-42: body is not valid JSON: "),
        "{err}"
    );
}

#[test]
fn sns_message_of_unknown_shape_fails_the_invocation() {
    let err = decode_err(json!({"Records": [{
        "EventSource": "aws:sns",
        "Sns": {"MessageId": "sns-43", "Message": "{\"AlarmName\":\"x\"}"}
    }]}));
    assert!(
        err.to_string().starts_with(
            "unrecognised trigger: SNS message sns-43 is an object with keys \"AlarmName\"; accepted: "
        ),
        "{err}"
    );
}

#[test]
fn sns_envelope_is_unwrapped_once_only() {
    let inner = json!({"s3Bucket": BUCKET, "s3ObjectKey": [K1]}).to_string();
    let once = json!({"Type": "Notification", "MessageId": "sns-1", "Message": inner}).to_string();
    let twice = json!({"Type": "Notification", "MessageId": "sns-2", "Message": once}).to_string();
    let (notices, empty, undecodable) =
        objects(Trigger::decode(&sqs_event(&[("m1", once), ("m2", twice)])).unwrap());
    assert_eq!(notices, [(sqs("m1"), notice(K1, None, None))]);
    assert!(empty.is_empty());
    assert_eq!(undecodable.len(), 1);
    assert_eq!(undecodable[0].0, sqs("m2"));
    assert!(
        undecodable[0]
            .1
            .contains("SQS message m2: SNS message sns-2 is an object with keys"),
        "{}",
        undecodable[0].1
    );
}

#[test]
fn sns_subscription_confirmation_in_sqs_fails_only_that_message() {
    let body = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "c-1",
        "Token": "2336412f37",
        "TopicArn": "arn:aws:sns:us-east-1:444455556666:trailsearch-cloudtrail",
        "Message": "You have chosen to subscribe to the topic ...",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
    })
    .to_string();
    let (_, _, undecodable) = objects(Trigger::decode(&sqs_event(&[("m1", body)])).unwrap());
    assert_eq!(undecodable[0].0, sqs("m1"));
    assert!(
        undecodable[0].1.contains("\"SubscriptionConfirmation\"")
            && undecodable[0].1.contains("SubscribeURL"),
        "{}",
        undecodable[0].1
    );
}

#[test]
fn sqs_record_without_message_id_fails_the_batch() {
    let err = decode_err(json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}));
    assert!(
        matches!(&err, TriggerError::Malformed { location, reason }
            if location == "Records[0]" && reason.contains("messageId")),
        "{err}"
    );
}

#[test]
fn every_sqs_message_lands_in_exactly_one_list() {
    let created = json!({"Records": [s3_record("ObjectCreated:Put", "a.json.gz"), s3_record("ObjectCreated:Put", "b.json.gz")]});
    let bodies = [
        ("two", created.to_string()),
        ("none", json!({"Records": []}).to_string()),
        ("bad", "not json".to_owned()),
        ("empty-body", String::new()),
        ("ct", json!({"s3Bucket": BUCKET, "s3ObjectKey": []}).to_string()),
    ];
    let (notices, empty, undecodable) = objects(Trigger::decode(&sqs_event(&bodies)).unwrap());
    assert_eq!(
        notices.iter().map(|(o, _)| o).collect::<Vec<_>>(),
        [&sqs("two"), &sqs("two")]
    );
    assert_eq!(empty, [sqs("none"), sqs("ct")]);
    assert_eq!(
        undecodable.iter().map(|(o, _)| o).collect::<Vec<_>>(),
        [&sqs("bad"), &sqs("empty-body")]
    );
}

#[test]
fn cloudtrail_notification_keys_are_not_url_decoded() {
    let body = json!({"s3Bucket": BUCKET, "s3ObjectKey": "trail+prefix%3A/AWSLogs/x.json.gz"}).to_string();
    let (notices, _, _) = objects(Trigger::decode(&sqs_event(&[("m1", body)])).unwrap());
    assert_eq!(
        notices,
        [(sqs("m1"), notice("trail+prefix%3A/AWSLogs/x.json.gz", None, None))]
    );
}

#[test]
fn s3_records_inside_a_message_must_be_s3_records() {
    // An SQS event inside an SQS body is nobody's format.
    let body = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "x", "body": "{}"}]}).to_string();
    let (_, _, undecodable) = objects(Trigger::decode(&sqs_event(&[("m1", body)])).unwrap());
    assert!(
        undecodable[0]
            .1
            .starts_with("unrecognised trigger: SQS message m1: Records[0] has eventSource \"aws:sqs\""),
        "{}",
        undecodable[0].1
    );
}

// ---- EventBridge ----

fn eventbridge(source: &str, detail_type: &str) -> Value {
    json!({
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": source,
        "account": "111122223333",
        "time": "2024-03-14T09:45:11Z",
        "region": "us-east-1",
        "resources": ["arn:aws:s3:::trailsearch-logs"],
        "detail": {"version": "0", "bucket": {"name": BUCKET}, "object": {"key": "k", "size": 1}}
    })
}

#[test]
fn eventbridge_s3_events_other_than_object_created_name_nothing() {
    for detail_type in super::S3_OBJECT_EVENTS {
        assert_eq!(
            objects(Trigger::decode(&eventbridge("aws.s3", detail_type)).unwrap()),
            only_notices(vec![]),
            "{detail_type}"
        );
    }
}

/// A CloudTrail record of an S3 API call reaches EventBridge from `aws.s3`
/// too: it is a CloudTrail event like any other service's, never taken for
/// one of S3's object events and acknowledged unread.
#[test]
fn eventbridge_cloudtrail_events_from_s3_are_not_dropped() {
    let mut event = eventbridge("aws.s3", "AWS API Call via CloudTrail");
    event["detail"] = json!({"eventVersion": "1.09", "eventSource": "s3.amazonaws.com",
        "eventName": "PutBucketPolicy", "eventID": "e1", "eventTime": "2024-03-14T10:00:00Z"});
    let (events, empty, undecodable) =
        event_batches(Trigger::decode(&sqs_event(&[("m1", event.to_string())])).unwrap());
    assert!(
        empty.is_empty() && undecodable.is_empty(),
        "not acknowledged unread"
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, sqs("m1"));
    assert_eq!(event_ids(&events[0].1), ["e1"]);
    // An aws.s3 event that is neither an object event nor CloudTrail's fails.
    let err = decode_err(eventbridge("aws.s3", "Bucket Policy Drift"));
    assert!(
        err.to_string()
            .starts_with("unrecognised trigger: the payload is an EventBridge \"Bucket Policy Drift\" event from \"aws.s3\""),
        "{err}"
    );
}

#[test]
fn eventbridge_events_from_other_sources_are_unrecognised() {
    let err = decode_err(eventbridge("aws.ec2", "EC2 Instance State-change Notification"));
    assert!(
        err.to_string().starts_with(
            "unrecognised trigger: the payload is an EventBridge \"EC2 Instance State-change Notification\" event from \"aws.ec2\"; accepted: "
        ),
        "{err}"
    );
    // "Scheduled Event" only means retention when EventBridge itself sent it.
    assert!(matches!(
        decode_err(eventbridge("my.app", "Scheduled Event")),
        TriggerError::Unrecognised { .. }
    ));
}

#[test]
fn scheduled_event_via_sqs_fails_only_its_message() {
    let body = eventbridge("aws.events", "Scheduled Event").to_string();
    let (_, _, undecodable) = objects(Trigger::decode(&sqs_event(&[("m1", body)])).unwrap());
    assert_eq!(undecodable[0].0, sqs("m1"));
    assert!(undecodable[0].1.contains("\"Scheduled Event\""));
}

#[test]
fn eventbridge_object_created_without_object_is_malformed() {
    let mut event = eventbridge("aws.s3", "Object Created");
    event["detail"] = json!({"bucket": {"name": BUCKET}});
    let err = decode_err(event);
    assert!(
        matches!(&err, TriggerError::Malformed { location, .. } if location == "the payload: detail"),
        "{err}"
    );
}

// ---- Batch Operations ----

fn batch(version: &str, tasks: Value) -> Value {
    json!({
        "invocationSchemaVersion": version,
        "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "job": {"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"},
        "tasks": tasks
    })
}

#[test]
fn batch_bucket_arn_may_carry_region_and_account() {
    // As in AWS's own Batch Operations example.
    let payload = batch(
        "1.0",
        json!([{"taskId": "t1", "s3Key": "customerImage1.jpg", "s3VersionId": "1",
                "s3BucketArn": "arn:aws:s3:us-east-1:0123456788:examplebucket"}]),
    );
    let Trigger::BatchOperations { tasks, .. } = Trigger::decode(&payload).unwrap() else {
        panic!()
    };
    assert_eq!(tasks[0].1.bucket, "examplebucket");
    assert_eq!(tasks[0].1.version_id.as_deref(), Some("1"));
}

#[test]
fn batch_task_problems_fail_only_the_task() {
    let payload = batch(
        "1.0",
        json!([
            {"taskId": "good", "s3Key": "a+b.json.gz", "s3BucketArn": "arn:aws-cn:s3:::cn-bucket"},
            {"taskId": "bad-key", "s3Key": "a%E2.json.gz", "s3BucketArn": "arn:aws:s3:::b"},
            {"taskId": "bad-arn", "s3Key": "k", "s3BucketArn": "arn:aws:s3:us-east-1:1:accesspoint/ap"},
            {"taskId": "no-bucket", "s3Key": "k"},
            {"taskId": "no-key", "s3Bucket": "b"}
        ]),
    );
    let Trigger::BatchOperations {
        tasks, undecodable, ..
    } = Trigger::decode(&payload).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        tasks,
        [(
            task("good"),
            ObjectNotice {
                bucket: "cn-bucket".to_owned(),
                key: "a b.json.gz".to_owned(),
                size: None,
                version_id: None
            }
        )]
    );
    assert_eq!(
        undecodable,
        [
            (
                task("bad-key"),
                "object key \"a%E2.json.gz\" is not valid URL-encoded UTF-8: the decoded bytes are not UTF-8 (invalid sequence at decoded byte 1)".to_owned()
            ),
            (
                task("bad-arn"),
                "s3BucketArn \"arn:aws:s3:us-east-1:1:accesspoint/ap\" is not an S3 bucket ARN".to_owned()
            ),
            (
                task("no-bucket"),
                "the task names no bucket (s3Bucket or s3BucketArn)".to_owned()
            ),
            (task("no-key"), "the task names no s3Key".to_owned()),
        ]
    );
}

#[test]
fn batch_task_without_task_id_fails_the_invocation() {
    let err = decode_err(batch("2.0", json!([{"s3Key": "k", "s3Bucket": "b"}])));
    assert!(
        matches!(&err, TriggerError::Malformed { location, reason }
            if location == "tasks[0]" && reason.contains("taskId")),
        "{err}"
    );
}

#[test]
fn batch_schema_versions_other_than_1_and_2_are_refused() {
    let err = decode_err(batch("3.0", json!([])));
    assert!(matches!(&err, TriggerError::UnsupportedSchema { version } if version == "3.0"));
    assert_eq!(
        err.to_string(),
        "unsupported S3 Batch Operations invocationSchemaVersion \"3.0\" (supported: 1.0, 2.0)"
    );
}

// ---- unrecognised payloads ----

#[test]
fn unknown_payload_error_lists_accepted_shapes() {
    let err = decode_err(json!({"hello": "world", "answer": 42}));
    assert!(matches!(err, TriggerError::Unrecognised { .. }));
    let text = err.to_string();
    assert!(
        text.starts_with(
            "unrecognised trigger: the payload is an object with keys \"answer\", \"hello\"; accepted: "
        ),
        "{text}"
    );
    for shape in [
        "S3 event notification",
        "\"eventSource\":\"aws:s3\"",
        "s3:TestEvent",
        "\"EventSource\":\"aws:sns\"",
        "\"eventSource\":\"aws:sqs\"",
        "SNS envelope",
        "\"s3Bucket\"",
        "\"s3ObjectKey\"",
        "EventBridge S3 \"Object Created\"",
        "\"Scheduled Event\"",
        "S3 Batch Operations invocation (invocationSchemaVersion 1.0 or 2.0)",
    ] {
        assert!(text.contains(shape), "{shape} missing from: {text}");
    }
}

#[test]
fn non_object_payloads_are_unrecognised() {
    for (payload, what) in [
        (json!([]), "an array"),
        (json!("s3://trailsearch-logs/x"), "a string"),
        (json!(null), "null"),
        (json!({}), "an empty object"),
    ] {
        let text = decode_err(payload).to_string();
        assert!(
            text.starts_with(&format!(
                "unrecognised trigger: the payload is {what}; accepted: "
            )),
            "{text}"
        );
    }
}

#[test]
fn a_cloudtrail_log_object_is_not_a_trigger() {
    // Its records also sit under "Records", with CloudTrail's eventSource.
    let err = decode_err(json!({"Records": [
        {"eventVersion": "1.08", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}
    ]}));
    assert!(
        err.to_string().starts_with(
            "unrecognised trigger: Records[0] has eventSource \"ec2.amazonaws.com\"; accepted: "
        ),
        "{err}"
    );
    let err = decode_err(json!({"Records": [{"eventName": "x"}]}));
    assert!(
        err.to_string()
            .starts_with("unrecognised trigger: Records[0] has eventSource missing; accepted: "),
        "{err}"
    );
}

#[test]
fn records_that_are_not_an_array_are_malformed() {
    assert_eq!(
        decode_err(json!({"Records": {}})).to_string(),
        "malformed Records: not an array"
    );
}

#[test]
fn long_key_lists_are_cut_in_descriptions() {
    let many: serde_json::Map<String, Value> = (0..10).map(|i| (format!("k{i}"), json!(i))).collect();
    assert_eq!(
        describe(&Value::Object(many)),
        "an object with keys \"k0\", \"k1\", \"k2\", \"k3\", \"k4\", \"k5\", \"k6\", \"k7\", ..."
    );
}

// ---- replies ----

#[test]
fn batch_response_follows_the_documented_shape() {
    let response = batch_response(
        "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
        "2.0",
        &[
            (
                "t1".to_owned(),
                BatchResultCode::Succeeded,
                "412 events".to_owned(),
            ),
            (
                "t2".to_owned(),
                BatchResultCode::TemporaryFailure,
                "cluster answered 429".to_owned(),
            ),
            (
                "t3".to_owned(),
                BatchResultCode::PermanentFailure,
                "not a CloudTrail log object".to_owned(),
            ),
        ],
    );
    assert_eq!(
        response,
        json!({
            "invocationSchemaVersion": "2.0",
            "treatMissingKeysAs": "PermanentFailure",
            "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
            "results": [
                {"taskId": "t1", "resultCode": "Succeeded", "resultString": "412 events"},
                {"taskId": "t2", "resultCode": "TemporaryFailure", "resultString": "cluster answered 429"},
                {"taskId": "t3", "resultCode": "PermanentFailure", "resultString": "not a CloudTrail log object"}
            ]
        })
    );
    assert_eq!(
        batch_response("i", "1.0", &[])["results"],
        json!([]),
        "no results is still a list"
    );
}

#[test]
fn sqs_batch_response_lists_failed_message_ids() {
    assert_eq!(
        sqs_batch_response(&["m2".to_owned(), "m5".to_owned()]),
        json!({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m5"}]})
    );
    assert_eq!(sqs_batch_response(&[]).to_string(), r#"{"batchItemFailures":[]}"#);
}

#[test]
fn reply_names_display_plainly() {
    assert_eq!(Origin::Direct.to_string(), "direct invocation");
    assert_eq!(sqs("m1").to_string(), "SQS message m1");
    assert_eq!(task("t1").to_string(), "batch task t1");
    assert_eq!(BatchResultCode::TemporaryFailure.to_string(), "TemporaryFailure");
}
