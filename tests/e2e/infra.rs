//! The deployment template, `infra/template.yaml`: clean under the pinned
//! cfn-lint, and keeping what the Lambda relies on.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;
use trailsearch_e2e::{repo_root, run};

#[test]
fn sam_template_passes_cfn_lint() {
    let mut command = Command::new(repo_root().join("scripts/lint-infra"));
    command.current_dir(repo_root());
    let lint = run(command);
    assert_eq!(lint.code, 0, "cfn-lint reports errors or warnings:\n{lint}");
}

#[test]
fn sam_template_keeps_the_contract() {
    let t = template();
    let (function_id, function) = only(&t, "AWS::Serverless::Function");
    let props = &function["Properties"];

    // Runtime and build: the `bootstrap` binary, built by cargo-lambda from the workspace root.
    assert_eq!(props["Runtime"], "provided.al2023");
    assert_eq!(props["Handler"], "bootstrap");
    assert_eq!(props["CodeUri"], "..");
    assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda");
    assert_eq!(function["Metadata"]["BuildProperties"]["Binary"], "bootstrap");

    // The SQS event reports partial batch failures.
    let (_, sqs) = event(props, &["SQS"]);
    let sqs = &sqs["Properties"];
    assert_eq!(
        sqs["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"]),
        "{sqs}"
    );
    assert_eq!(sqs["BatchSize"], 10, "{sqs}");
    let window = sqs["MaximumBatchingWindowInSeconds"].as_u64().unwrap_or(0);
    let queue_id = get_att(&sqs["Queue"], "Arn");
    let queue = &t["Resources"][queue_id];
    assert_eq!(
        queue["Type"], "AWS::SQS::Queue",
        "the SQS event's queue {queue_id}"
    );

    // Visibility timeout >= 6 x function timeout + batching window, for every
    // timeout the parameters allow (CloudFormation cannot multiply, so the
    // template derives one from the other; this checks the derivation).
    let defaults = parameter_defaults(&t);
    let timeouts = match props["Timeout"]["Ref"].as_str() {
        Some(name) => parameter_values(&t, name),
        None => vec![number(&t, &props["Timeout"], &defaults)],
    };
    assert!(!timeouts.is_empty(), "no function timeout: {}", props["Timeout"]);
    for timeout in timeouts {
        let mut params = defaults.clone();
        if let Some(name) = props["Timeout"]["Ref"].as_str() {
            params.insert(name.to_string(), timeout.to_string());
        }
        let function_timeout = number(&t, &props["Timeout"], &params);
        let visibility = number(&t, &queue["Properties"]["VisibilityTimeout"], &params);
        assert!(
            visibility >= 6 * function_timeout + window,
            "timeout {function_timeout} s needs a visibility timeout of at least {} s, not {visibility} s",
            6 * function_timeout + window
        );
    }

    // Failed messages end in a dead-letter queue that outlives the queue's retention.
    let redrive = &queue["Properties"]["RedrivePolicy"];
    let dlq_id = get_att(&redrive["deadLetterTargetArn"], "Arn");
    assert_ne!(dlq_id, queue_id);
    let dlq = &t["Resources"][dlq_id];
    assert_eq!(dlq["Type"], "AWS::SQS::Queue", "dead-letter target {dlq_id}");
    assert!(
        number(&t, &redrive["maxReceiveCount"], &defaults) >= 1,
        "{redrive}"
    );
    let retention = |q: &Value| {
        q["Properties"]
            .get("MessageRetentionPeriod")
            .map_or(345_600, |v| number(&t, v, &defaults))
    };
    assert!(
        retention(dlq) > retention(queue),
        "the DLQ must keep messages longer than the queue"
    );

    // The daily retention run reaches the function as EventBridge's "Scheduled Event".
    let (kind, schedule) = event(props, &["Schedule", "ScheduleV2"]);
    let schedule = &schedule["Properties"];
    assert_eq!(schedule["Schedule"], "rate(1 day)", "{schedule}");
    match (kind, schedule.get("Input")) {
        // An EventBridge rule without Input delivers its own scheduled event.
        ("Schedule", None) => {}
        (_, Some(Value::String(input))) => {
            let input: Value = serde_json::from_str(input).expect("schedule Input is JSON");
            assert_eq!(input["source"], "aws.events", "{input}");
            assert_eq!(input["detail-type"], "Scheduled Event", "{input}");
        }
        other => panic!("the schedule must deliver a Scheduled Event from aws.events: {other:?}"),
    }

    // IAM: every permission is in the template, none on "*" but where AWS requires it.
    assert!(
        props.get("Role").is_some() && props.get("Policies").is_none(),
        "{function_id} must use the template's own role: a SAM-generated role gets managed \
         policies on \"*\" (AWSLambdaBasicExecutionRole, AWSLambdaSQSQueueExecutionRole)"
    );
    for (id, role) in resources(&t).filter(|(_, r)| r["Type"] == "AWS::IAM::Role") {
        assert!(
            role["Properties"].get("ManagedPolicyArns").is_none(),
            "{id}: managed policies hide their statements from this check"
        );
    }
    let mut statements = Vec::new();
    collect_statements(&t["Resources"], &mut statements);
    assert!(statements.len() > 5, "found only {statements:?}");
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        assert!(
            statement.get("NotAction").is_none(),
            "Allow with NotAction: {statement}"
        );
        let actions = strings(&statement["Action"]);
        for action in &actions {
            assert!(
                !action.ends_with('*') || action.contains(":Describe"),
                "wildcard action in {statement}"
            );
        }
        if statement.get("NotResource").is_some() || strings(&statement["Resource"]).contains(&"*") {
            assert!(
                actions.iter().all(|a| REQUIRES_ANY_RESOURCE.contains(a)),
                "Resource \"*\" beyond {REQUIRES_ANY_RESOURCE:?}: {statement}"
            );
        }
    }

    // The digests S3 announces are validated with CloudTrail's published keys.
    assert!(
        statements
            .iter()
            .any(|s| s["Effect"] == "Allow" && strings(&s["Action"]).contains(&"cloudtrail:ListPublicKeys")),
        "the function's role cannot read CloudTrail's public keys"
    );

    // Settings reach the function as the variables the Lambda reads; the lag
    // alarm watches the namespace the function writes its metrics to.
    let env = props["Environment"]["Variables"]
        .as_object()
        .expect("environment");
    assert!(env.contains_key("TRAILSEARCH_ES_URL"), "{env:?}");
    for name in env.keys() {
        assert!(name.starts_with("TRAILSEARCH_"), "unexpected variable {name}");
    }
    let alarm = |metric: &str| {
        resources(&t)
            .find(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm" && r["Properties"]["MetricName"] == metric)
            .unwrap_or_else(|| panic!("no alarm on {metric}"))
            .1["Properties"]
            .clone()
    };
    let dlq_alarm = alarm("ApproximateNumberOfMessagesVisible");
    assert_eq!(get_att(&dlq_alarm["Dimensions"][0]["Value"], "QueueName"), dlq_id);
    assert_eq!(alarm("Errors")["Dimensions"][0]["Value"]["Ref"], function_id);
    let lag_alarm = alarm("IngestLagSeconds");
    assert_eq!(lag_alarm["Namespace"], env["TRAILSEARCH_METRICS_NAMESPACE"]);
    // The function's EMF line declares no dimensions (`"Dimensions": [[]]`);
    // an alarm matches only a metric with exactly its dimensions.
    assert!(lag_alarm.get("Dimensions").is_none(), "{lag_alarm}");
    let digest_alarm = alarm("DigestsInvalid");
    assert_eq!(digest_alarm["Namespace"], env["TRAILSEARCH_METRICS_NAMESPACE"]);
    assert!(digest_alarm.get("Dimensions").is_none(), "{digest_alarm}");
}

/// Actions that work only on `Resource: "*"`: describe calls have no
/// resource-level permissions (VPC network interfaces, VPC deployments
/// only), nor has CloudTrail's ListPublicKeys (digest validation).
const REQUIRES_ANY_RESOURCE: &[&str] = &[
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "cloudtrail:ListPublicKeys",
];

/// The template as JSON, read by cfn-lint's own decoder (which accepts `!Sub`
/// and the other short forms) from `.venv/`, so no YAML crate is needed.
/// The paths for events in seconds: each optional, each failing into the
/// dead-letter queue rather than dropping, Kinesis answering per record
/// and never blocking its shard on one bad batch.
#[test]
fn sam_template_wires_the_event_paths_to_fail_into_the_dead_letter_queue() {
    let t = template();
    let dead_letter_queue = "DeadLetterQueue";
    assert_eq!(t["Resources"][dead_letter_queue]["Type"], "AWS::SQS::Queue");
    let (_, kinesis) = only(&t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(kinesis["Condition"], "HasKinesis");
    let props = &kinesis["Properties"];
    assert_eq!(
        props["FunctionResponseTypes"],
        serde_json::json!(["ReportBatchItemFailures"])
    );
    assert_eq!(props["BisectBatchOnFunctionError"], true);
    assert!(
        props["MaximumRetryAttempts"].as_u64().is_some_and(|n| n <= 10),
        "{props}"
    );
    assert_eq!(
        get_att(&props["DestinationConfig"]["OnFailure"]["Destination"], "Arn"),
        dead_letter_queue
    );
    let (_, async_config) = only(&t, "AWS::Lambda::EventInvokeConfig");
    let async_props = &async_config["Properties"];
    assert_eq!(async_props["MaximumRetryAttempts"], 2);
    assert_eq!(
        get_att(
            &async_props["DestinationConfig"]["OnFailure"]["Destination"],
            "Arn"
        ),
        dead_letter_queue
    );
    let (_, rule) = only(&t, "AWS::Events::Rule");
    assert_eq!(rule["Condition"], "HasEventsRule");
    let detail_types = strings(&rule["Properties"]["EventPattern"]["detail-type"]);
    assert!(detail_types.iter().all(|d| d.ends_with(" via CloudTrail")) && detail_types.len() == 5);
    assert_eq!(
        rule["Properties"]["State"]["Fn::If"][1],
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    );
    assert_eq!(get_att(&rule["Properties"]["Targets"][0]["Arn"], "Arn"), "Queue");
    let (_, subscription) = only(&t, "AWS::Logs::SubscriptionFilter");
    assert_eq!(subscription["Condition"], "HasLogGroup");
    let (function_id, _) = only(&t, "AWS::Serverless::Function");
    assert_eq!(
        get_att(&subscription["Properties"]["DestinationArn"], "Arn"),
        function_id
    );
}

fn template() -> Value {
    let python = repo_root().join(".venv/bin/python");
    let mut command = Command::new(&python);
    command
        .args(["-c", LOAD])
        .arg(repo_root().join("infra/template.yaml"));
    let load = run(command);
    assert_eq!(
        load.code,
        0,
        "{} could not read the template (run scripts/bootstrap):\n{load}",
        python.display()
    );
    serde_json::from_str(&load.stdout).unwrap_or_else(|e| panic!("{e}:\n{load}"))
}

const LOAD: &str = "import json, sys
from cfnlint.decode import decode
template, problems = decode(sys.argv[1])
if problems:
    sys.exit('\\n'.join(str(p) for p in problems))
json.dump(template, sys.stdout)
";

fn resources(t: &Value) -> impl Iterator<Item = (&str, &Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .map(|(id, r)| (id.as_str(), r))
}

/// The one resource of this type, with its logical id.
fn only<'a>(t: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let found: Vec<_> = resources(t).filter(|(_, r)| r["Type"] == kind).collect();
    assert_eq!(
        found.len(),
        1,
        "want one {kind}, found {:?}",
        found.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    found[0]
}

/// The function's one event of these types, with its type.
fn event<'a>(function: &'a Value, kinds: &[&str]) -> (&'a str, &'a Value) {
    let events = function["Events"].as_object().expect("Events");
    let found: Vec<_> = events
        .values()
        .filter_map(|e| Some((e["Type"].as_str()?, e)))
        .filter(|(kind, _)| kinds.contains(kind))
        .collect();
    assert_eq!(found.len(), 1, "want one {kinds:?} event in {events:?}");
    found[0]
}

/// The logical id in `Fn::GetAtt: [id, attribute]`.
fn get_att<'a>(v: &'a Value, attribute: &str) -> &'a str {
    match v["Fn::GetAtt"].as_array().map(Vec::as_slice) {
        Some([id, attr]) if attr == attribute => id.as_str().expect("logical id"),
        _ => panic!("want Fn::GetAtt [..., {attribute}], got {v}"),
    }
}

fn parameter_defaults(t: &Value) -> HashMap<String, String> {
    let params = t["Parameters"].as_object().expect("Parameters");
    params
        .iter()
        .filter_map(|(name, p)| Some((name.clone(), scalar_text(p.get("Default")?)?)))
        .collect()
}

/// The values a Number parameter may take: its default, its allowed values
/// and its maximum.
fn parameter_values(t: &Value, name: &str) -> Vec<u64> {
    let p = &t["Parameters"][name];
    let mut values: Vec<u64> = p["AllowedValues"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(p.get("Default"))
        .chain(p.get("MaxValue"))
        .filter_map(|v| scalar_text(v)?.parse().ok())
        .collect();
    values.sort_unstable();
    values.dedup();
    values
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A value the template gives literally, by `Ref` to a parameter, or by
/// `Fn::FindInMap` keyed on such, with parameters set as in `params`.
fn text(t: &Value, v: &Value, params: &HashMap<String, String>) -> String {
    if let Some(s) = scalar_text(v) {
        return s;
    }
    if let Some(name) = v["Ref"].as_str() {
        return params
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("parameter {name} has no value"));
    }
    if let Some([map, key, attr]) = v["Fn::FindInMap"].as_array().map(Vec::as_slice) {
        let (map, key, attr) = (text(t, map, params), text(t, key, params), text(t, attr, params));
        let found = &t["Mappings"][&map][&key][&attr];
        return scalar_text(found).unwrap_or_else(|| panic!("Mappings.{map}.{key}.{attr} is missing"));
    }
    panic!("cannot evaluate {v}")
}

fn number(t: &Value, v: &Value, params: &HashMap<String, String>) -> u64 {
    let s = text(t, v, params);
    s.parse().unwrap_or_else(|_| panic!("{v} is {s:?}, not a number"))
}

/// Every policy statement anywhere below `v`, both branches of each `Fn::If`.
fn collect_statements(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) => {
            if o.contains_key("Effect") && (o.contains_key("Action") || o.contains_key("NotAction")) {
                out.push(v.clone());
            }
            o.values().for_each(|child| collect_statements(child, out));
        }
        Value::Array(a) => a.iter().for_each(|child| collect_statements(child, out)),
        _ => {}
    }
}

/// The literal strings of a string-or-list field (intrinsics count as none).
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}
