//! Shaping and templates, asserted on the exact bytes: the bytes are the
//! contract, and the e2e tests show what the real nodes make of them.

use std::sync::Arc;

use serde_json::{json, Value};
use trailsearch_mapping::*;

fn shaper(flavour: Flavour) -> Shaper {
    Shaper::new(IndexNaming::new("cloudtrail", Granularity::Day).unwrap(), flavour)
}

fn shape(flavour: Flavour, record: &Value) -> Result<Shaped, ShapeError> {
    let bytes = serde_json::to_vec(record).unwrap();
    shaper(flavour).shape(&bytes, Arc::new(Provenance::local("fixtures/a.json.gz")))
}

fn body(shaped: &Shaped) -> Value {
    serde_json::from_slice(&shaped.document.body).unwrap()
}

const TIME: &str = "2024-03-14T09:26:53Z";

#[test]
fn event_gets_timestamp_outcome_ip_and_source() {
    let shaped = shape(
        Flavour::OpenSearch,
        &json!({"eventTime": TIME, "eventID": "e1", "eventName": "DeleteDBInstance",
                "sourceIPAddress": "2001:db8::1", "errorCode": "AccessDenied"}),
    )
    .unwrap();
    assert_eq!(shaped.document.kind, DocumentKind::Event);
    assert_eq!(
        String::from_utf8(shaped.document.body.clone()).unwrap(),
        concat!(
            // The record's own bytes, as they came...
            r#"{"errorCode":"AccessDenied","eventID":"e1","eventName":"DeleteDBInstance","eventTime":"2024-03-14T09:26:53Z","sourceIPAddress":"2001:db8::1","#,
            // ...and the added fields.
            r#""@timestamp":"2024-03-14T09:26:53Z","event":{"outcome":"failure"},"source":{"ip":"2001:db8::1"},"trailsearch":{"source":{"kind":"file","key":"fixtures/a.json.gz"}}}"#
        )
    );
}

#[test]
fn source_ip_only_when_it_parses() {
    for not_ip in ["ec2.amazonaws.com", "AWS Internal", "10.0.0.1, 10.0.0.2"] {
        let doc = body(
            &shape(
                Flavour::OpenSearch,
                &json!({"eventTime": TIME, "sourceIPAddress": not_ip}),
            )
            .unwrap(),
        );
        assert!(doc.get("source").is_none(), "{not_ip}: {doc}");
        assert_eq!(doc["sourceIPAddress"], not_ip);
        assert_eq!(doc["event"]["outcome"], "success");
    }
}

#[test]
fn missing_or_bad_event_time_cannot_be_placed() {
    assert_eq!(
        shape(Flavour::OpenSearch, &json!({"eventID": "x"})).unwrap_err(),
        ShapeError::MissingEventTime
    );
    assert!(matches!(
        shape(Flavour::OpenSearch, &json!({"eventTime": "not-a-time"})).unwrap_err(),
        ShapeError::BadEventTime { .. }
    ));
    assert!(matches!(
        shape(Flavour::OpenSearch, &json!({"eventTime": 1710408413})).unwrap_err(),
        ShapeError::BadEventTime { .. }
    ));
    assert!(matches!(
        shape(Flavour::OpenSearch, &json!("text")).unwrap_err(),
        ShapeError::NotAnObject { .. }
    ));
}

#[test]
fn version_one_records_get_a_stable_hash_id() {
    let record = json!({"eventVersion": "1.0", "eventTime": TIME, "eventName": "RunInstances"});
    let a = shape(Flavour::OpenSearch, &record).unwrap();
    let b = shape(Flavour::OpenSearch, &record).unwrap();
    assert_eq!(a.document.id, b.document.id);
    assert_eq!(a.document.id.len(), 64);
}

#[test]
fn messy_real_shapes_stay_whole_and_indexed() {
    // Lists in IAM, objects in Lambda; numbers in EC2, strings in S3; booleans
    // and objects; HIDDEN strings where arrays stand elsewhere; nulls.
    for rp in [
        json!({"tags": [{"key": "team", "value": "db"}], "maxResults": 5, "disableApiTermination": true}),
        json!({"tags": {"team": "db"}, "maxResults": "1000", "disableApiTermination": {"value": true}}),
        json!({"filterSet": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
    ] {
        let record = json!({"eventTime": TIME, "requestParameters": rp, "responseElements": null,
                            "apiVersion": "2015-03-31"});
        let shaped = shape(Flavour::Elasticsearch, &record).unwrap();
        let doc = body(&shaped);
        assert_eq!(shaped.document.kind, DocumentKind::Event);
        assert_eq!(doc["requestParameters"], rp);
        assert_eq!(doc["responseElements"], Value::Null);
        assert!(doc["trailsearch"].get("unindexed").is_none());
    }
}

#[test]
fn insights_and_service_events_shape() {
    let insight = json!({"eventVersion": "1.08", "eventTime": TIME, "eventID": "i1", "eventType": "AwsCloudTrailInsight",
                         "insightDetails": {"state": "Start", "eventName": "RunInstances"}});
    assert_eq!(
        shape(Flavour::OpenSearch, &insight).unwrap().document.kind,
        DocumentKind::Event
    );
    let service = json!({"eventTime": TIME, "userIdentity": {"accountId": "111122223333", "invokedBy": "AWS Internal"}});
    assert_eq!(
        shape(Flavour::OpenSearch, &service).unwrap().document.kind,
        DocumentKind::Event
    );
}

#[test]
fn long_values_move_unindexed_but_stay_in_the_document() {
    let long = "x".repeat(MAX_TERM_BYTES + 10);
    let record = json!({"eventTime": TIME, "eventID": "long",
        "requestParameters": {"roleName": "r", "policyDocument": long, "nested": {"items": [long, "short"], "ok": 1}},
        "newThing": {"blob": long}});
    let shaped = shape(Flavour::OpenSearch, &record).unwrap();
    let doc = body(&shaped);
    assert_eq!(
        shaped.document.kind,
        DocumentKind::Event,
        "nothing is lost, so not degraded"
    );
    assert_eq!(
        doc["requestParameters"],
        json!({"roleName": "r", "nested": {"ok": 1}})
    );
    assert_eq!(
        doc["trailsearch"]["unindexed"],
        json!({"requestParameters": {"policyDocument": long, "nested": {"items": [long, "short"]}},
               "newThing": {"blob": long}})
    );
    assert_eq!(doc["newThing"], json!({}));
    // Just under the limit stays indexed.
    let fits = "y".repeat(MAX_TERM_BYTES - "requestParameters.p".len() - 1);
    let doc = body(
        &shape(
            Flavour::OpenSearch,
            &json!({"eventTime": TIME, "requestParameters": {"p": fits}}),
        )
        .unwrap(),
    );
    assert!(doc["trailsearch"].get("unindexed").is_none());
}

#[test]
fn wrong_types_of_known_fields_degrade_with_reasons() {
    let record = json!({"eventTime": TIME, "eventID": "w",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/a", "sessionContext": "oops"},
        "resources": {"ARN": {"nested": true}},
        "requestParameters": ["not", "an", "object"],
        "readOnly": "maybe"});
    let shaped = shape(Flavour::OpenSearch, &record).unwrap();
    assert_eq!(shaped.document.kind, DocumentKind::Degraded);
    let doc = body(&shaped);
    assert_eq!(
        doc["userIdentity"],
        json!({"type": "IAMUser", "arn": "arn:aws:iam::1:user/a"})
    );
    assert_eq!(
        doc["trailsearch"]["unindexed"],
        json!({"userIdentity": {"sessionContext": "oops"}, "resources": {"ARN": {"nested": true}},
               "requestParameters": ["not", "an", "object"], "readOnly": "maybe"})
    );
    assert_eq!(doc["trailsearch"]["degraded"], true);
    let reasons: Vec<String> =
        serde_json::from_value(doc["trailsearch"]["degraded_reasons"].clone()).unwrap();
    assert_eq!(
        reasons,
        [
            "readOnly: expected a boolean, found string",
            "requestParameters: expected an object, found array",
            "resources: expected an array of objects, found object",
            "userIdentity.sessionContext: expected an object, found string",
        ]
    );
}

#[test]
fn a_whole_known_object_of_the_wrong_type_moves_whole() {
    let shaped = shape(
        Flavour::OpenSearch,
        &json!({"eventTime": TIME, "userIdentity": "arn:aws:iam::1:root"}),
    )
    .unwrap();
    assert_eq!(shaped.document.kind, DocumentKind::Degraded);
    let doc = body(&shaped);
    assert!(doc.get("userIdentity").is_none());
    assert_eq!(
        doc["trailsearch"]["unindexed"]["userIdentity"],
        "arn:aws:iam::1:root"
    );
    assert_eq!(
        doc["trailsearch"]["degraded_reasons"],
        json!(["userIdentity: expected an object, found string"])
    );
}

#[test]
fn reserved_names_are_kept_unindexed() {
    let doc = body(
        &shape(
            Flavour::OpenSearch,
            &json!({"eventTime": TIME, "source": "x", "trailsearch": 1}),
        )
        .unwrap(),
    );
    assert_eq!(
        doc["trailsearch"]["unindexed"],
        json!({"source": "x", "trailsearch": 1})
    );
}

#[test]
fn compatible_flavour_adds_text_copies() {
    let rp = json!({"dBInstanceIdentifier": "prod-orders-db"});
    let doc = body(
        &shape(
            Flavour::Compatible,
            &json!({"eventTime": TIME, "requestParameters": rp}),
        )
        .unwrap(),
    );
    assert_eq!(
        doc["trailsearch"]["text"]["requestParameters"],
        r#"{"dBInstanceIdentifier":"prod-orders-db"}"#
    );
}

#[test]
fn degraded_form_keeps_known_scalars_only() {
    let record = json!({"eventTime": TIME, "eventID": "d", "eventName": "X", "userIdentity": {"arn": "a"},
                        "requestParameters": {"k": "v"}, "surprise": [1, {"a": 2}]});
    let shaped = shape(Flavour::OpenSearch, &record).unwrap();
    let degraded = shaper(Flavour::OpenSearch)
        .shape_degraded(
            &shaped.document,
            "mapper_parsing_exception: failed to parse field [surprise]",
        )
        .unwrap();
    assert_eq!(degraded.kind, DocumentKind::Degraded);
    assert_eq!(
        (degraded.index.as_str(), degraded.id.as_str()),
        ("cloudtrail-2024.03.14", "d")
    );
    assert_eq!(
        String::from_utf8(degraded.body).unwrap(),
        concat!(
            r#"{"eventID":"d","eventName":"X","eventTime":"2024-03-14T09:26:53Z","#,
            r#""@timestamp":"2024-03-14T09:26:53Z","event":{"outcome":"success"},"trailsearch":{"source":{"kind":"file","key":"fixtures/a.json.gz"},"#,
            // The actor stays searchable though `userIdentity` moved unindexed.
            r#""actor":"a","degraded":true,"degraded_reasons":["mapper_parsing_exception: failed to parse field [surprise]"],"#,
            r#""unindexed":{"requestParameters":{"k":"v"},"surprise":[1,{"a":2}],"userIdentity":{"arn":"a"}}}}"#
        )
    );
}

#[test]
fn dead_letters_hold_the_original_record() {
    let original: Arc<[u8]> = br#"{"eventID":"z","eventTime":"not-a-time"}"#.as_slice().into();
    let doc = shaper(Flavour::OpenSearch).shape_dead_letter(
        original,
        Arc::new(Provenance::s3("b", "AWSLogs/k.json.gz")),
        "bad time",
    );
    assert_eq!(
        (doc.index.as_str(), doc.id.as_str(), doc.kind),
        ("cloudtrail_deadletter", "z", DocumentKind::DeadLetter)
    );
    assert_eq!(
        String::from_utf8(doc.body).unwrap(),
        r#"{"reason":"bad time","record":"{\"eventID\":\"z\",\"eventTime\":\"not-a-time\"}","trailsearch":{"source":{"bucket":"b","key":"AWSLogs/k.json.gz","kind":"s3"}}}"#
    );
}

/// How the newest cluster of a flavour parses dates.
fn newest_dates(flavour: Flavour) -> DateParsing {
    match flavour {
        Flavour::OpenSearch => DateParsing::Rfc3339,
        _ => DateParsing::Default,
    }
}

/// Templates are golden files; `UPDATE_GOLDEN=1 cargo test` rewrites them.
#[test]
fn templates_match_golden_files() {
    let naming = IndexNaming::new("cloudtrail", Granularity::Day).unwrap();
    let mut outputs = vec![("deadletter".to_string(), deadletter_template(&naming, 1))];
    for flavour in [Flavour::Elasticsearch, Flavour::OpenSearch, Flavour::Compatible] {
        outputs.push((
            flavour.name().to_string(),
            index_template(flavour, newest_dates(flavour), &naming, 1),
        ));
    }
    outputs.push((
        "elasticsearch-legacy".into(),
        legacy_index_template(Flavour::Elasticsearch, &naming, 1),
    ));
    for (name, template) in outputs {
        let path = format!("{}/tests/golden/template-{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = serde_json::to_string_pretty(&template).unwrap() + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        let golden = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}; run with UPDATE_GOLDEN=1"));
        assert_eq!(
            text, golden,
            "{path} differs from the generated template; run with UPDATE_GOLDEN=1 if intended"
        );
    }
}

#[test]
fn templates_use_each_flavours_free_shaped_type() {
    let naming = IndexNaming::new("ct", Granularity::Month).unwrap();
    let es = index_template(Flavour::Elasticsearch, DateParsing::Default, &naming, 0);
    let props = &es["template"]["mappings"]["properties"];
    assert_eq!(
        props["requestParameters"],
        json!({"type": "flattened", "doc_values": false})
    );
    // Identifiers are looked up, never sorted or aggregated: no doc values.
    assert_eq!(props["requestID"]["doc_values"], json!(false));
    assert_eq!(
        props["eventID"].get("doc_values"),
        None,
        "search sorts on eventID"
    );
    assert_eq!(es["template"]["settings"]["index"]["codec"], "best_compression");
    assert_eq!(
        props["event"]["properties"]["action"],
        json!({"type": "alias", "path": "eventName"})
    );
    assert_eq!(es["index_patterns"], json!(["ct-*"]));
    assert_eq!(es["priority"], TEMPLATE_PRIORITY);
    let os = index_template(Flavour::OpenSearch, DateParsing::Rfc3339, &naming, 0);
    let os_props = &os["template"]["mappings"]["properties"];
    assert_eq!(os_props["responseElements"], json!({"type": "flat_object"}));
    for field in ["eventTime", "@timestamp"] {
        assert_eq!(
            os_props[field],
            json!({"type": "date", "format": "rfc3339_lenient"})
        );
        assert_eq!(
            props[field],
            json!({"type": "date"}),
            "the default format elsewhere"
        );
    }
    let compat = index_template(Flavour::Compatible, DateParsing::Default, &naming, 0);
    assert_eq!(
        compat["template"]["mappings"]["properties"]["requestParameters"],
        json!({"type": "object", "enabled": false})
    );
    assert!(
        defined_field_paths(Flavour::Compatible).contains(&"trailsearch.text.requestParameters".to_string())
    );
    // Every alias points at a field the template defines.
    let paths = defined_field_paths(Flavour::OpenSearch);
    for path in [
        "eventName",
        "eventSource",
        "eventID",
        "sourceIPAddress",
        "recipientAccountId",
        "awsRegion",
        "userAgent",
        "errorCode",
        "errorMessage",
    ] {
        assert!(paths.contains(&path.to_string()), "{path}");
    }
    assert!(paths.len() < 200, "the template defines {} fields", paths.len());
}

/// A lookup that knows one address and remembers what it was asked.
#[derive(Debug, Default)]
struct OneAddress {
    asked: std::sync::Mutex<Vec<std::net::IpAddr>>,
}

impl Locate for OneAddress {
    fn locate(&self, ip: std::net::IpAddr) -> Option<Arc<Location>> {
        self.asked.lock().unwrap().push(ip);
        (ip.to_string() == "81.2.69.142")
            .then(|| Location {
                country_iso_code: Some("GB".into()),
                country_name: Some("United Kingdom".into()),
                city_name: Some("London".into()),
                coordinates: Some((51.5142, -0.0931)),
                as_number: Some(20712),
                as_organization: Some("Andrews & Arnold Ltd".into()),
                ..Location::default()
            })
            .map(Arc::new)
    }
}

#[test]
fn enrichment_adds_location_network_tool_and_actor() {
    let locator = Arc::new(OneAddress::default());
    let shaper = shaper(Flavour::OpenSearch).with_locator(locator.clone());
    let record = json!({"eventTime": TIME, "eventID": "g1", "sourceIPAddress": "81.2.69.142",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROA:bob",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob"}});
    // The same record through the fast path and, made long, through the slow one.
    let mut long = record.clone();
    long["requestParameters"] = json!({"policy": "x".repeat(40_000)});
    for record in [&record, &long] {
        let bytes = serde_json::to_vec(record).unwrap();
        let shaped = shaper.shape(&bytes, Arc::new(Provenance::local("f"))).unwrap();
        let doc = body(&shaped);
        assert_eq!(
            doc["source"],
            json!({"ip": "81.2.69.142",
                "geo": {"country_iso_code": "GB", "country_name": "United Kingdom", "city_name": "London",
                        "location": {"lat": 51.5142, "lon": -0.0931}},
                "as": {"number": 20712, "organization": {"name": "Andrews & Arnold Ltd"}}})
        );
        assert_eq!(
            doc["user_agent"],
            json!({"name": "aws-cli", "version": "2.15.30"})
        );
        assert_eq!(doc["trailsearch"]["actor"], "Admin/bob");
        assert_eq!(doc["trailsearch"]["client"], "aws-cli");
    }

    // Private and documentation addresses are never looked up; unknown ones get no geo.
    for (address, has_source) in [
        ("10.1.2.3", true),
        ("203.0.113.9", true),
        ("8.8.8.8", true),
        ("ec2.amazonaws.com", false),
    ] {
        let bytes = serde_json::to_vec(&json!({"eventTime": TIME, "sourceIPAddress": address,
            "userAgent": "ec2.amazonaws.com", "userIdentity": {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}}))
        .unwrap();
        let doc = body(&shaper.shape(&bytes, Arc::new(Provenance::local("f"))).unwrap());
        assert_eq!(doc.get("source").is_some(), has_source, "{address}");
        assert!(doc["source"].get("geo").is_none(), "{address}: {doc}");
        assert!(doc.get("user_agent").is_none(), "{doc}");
        assert_eq!(doc["trailsearch"]["client"], "aws-service");
        assert_eq!(doc["trailsearch"]["actor"], "ec2.amazonaws.com");
    }
    let asked: Vec<String> = locator
        .asked
        .lock()
        .unwrap()
        .iter()
        .map(|ip| ip.to_string())
        .collect();
    assert_eq!(asked, ["81.2.69.142", "81.2.69.142", "8.8.8.8"]);
}

#[test]
fn an_oversized_records_dead_letter_keeps_its_head_under_its_own_id() {
    let long = "x".repeat(1000);
    let shaped = shape(
        Flavour::OpenSearch,
        &json!({"eventTime": TIME, "eventID": "big-1", "requestParameters": {"policy": long}}),
    )
    .unwrap();
    let letter = shaper(Flavour::OpenSearch).shape_oversized_dead_letter(&shaped.document, 100, "HTTP 413");
    assert_eq!(
        (letter.index.as_str(), letter.id.as_str()),
        ("cloudtrail_deadletter", "big-1")
    );
    assert_eq!(letter.kind, DocumentKind::DeadLetter);
    let body: Value = serde_json::from_slice(&letter.body).unwrap();
    assert_eq!(body["record"].as_str().unwrap().len(), 100);
    assert_eq!(body["record_bytes"], shaped.document.original().len());
    assert_eq!(body["reason"], "HTTP 413");
    assert_eq!(body["trailsearch"]["source"]["key"], "fixtures/a.json.gz");
}

#[test]
fn event_times_the_cluster_would_refuse_are_normalised_and_kept() {
    for (given, indexed) in [
        ("2024-03-14t09:26:53z", "2024-03-14T09:26:53Z"),
        ("2024-03-14 09:26:53Z", "2024-03-14T09:26:53Z"),
        ("2024-03-14T23:59:60Z", "2024-03-14T23:59:59.999999999Z"),
        (
            "2024-03-14T09:26:53.123456789012Z",
            "2024-03-14T09:26:53.123456789Z",
        ),
        ("2024-03-14T10:26:53+01:00", "2024-03-14T10:26:53+01:00"),
        ("2024-03-14T09:26:53-00:00", "2024-03-14T09:26:53Z"),
        ("2024-03-13T15:26:53-18:00", "2024-03-13T15:26:53-18:00"),
        ("2024-03-15T04:26:53+19:00", "2024-03-14T09:26:53Z"),
    ] {
        let shaped = shape(Flavour::OpenSearch, &json!({"eventTime": given, "eventID": "t1"})).unwrap();
        let doc = body(&shaped);
        assert_eq!(shaped.document.index, "cloudtrail-2024.03.14", "{given}");
        assert_eq!(shaped.document.kind, DocumentKind::Event, "{given}");
        if given == indexed {
            assert_eq!(doc["eventTime"], given, "taken as it is");
            assert_eq!(doc["trailsearch"].get("normalized"), None, "{doc}");
        } else {
            assert_eq!(doc["eventTime"], indexed, "{given}");
            assert_eq!(doc["trailsearch"]["unindexed"]["eventTime"], given);
            assert_eq!(doc["trailsearch"]["normalized"], json!(["eventTime"]));
        }
    }
}
