//! The Lambda `bootstrap` under the Lambda runtime API, served locally by
//! `cargo lambda watch --only-lambda-apis`: real trigger payloads that moto's
//! S3, SQS and SNS produced, invoked with `cargo lambda invoke`, against the
//! test cluster.
//!
//! The already built `target/debug/bootstrap` is started by the test itself
//! (pointed at the emulator with `AWS_LAMBDA_RUNTIME_API`), so nothing is
//! compiled inside the test. Both processes are killed when the test ends,
//! and by the kernel if the test process dies first (`PR_SET_PDEATHSIG`).

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trailsearch_e2e::*;

/// The function name `cargo lambda watch --only-lambda-apis` serves.
const FUNCTION: &str = "_";

fn cargo_lambda() -> PathBuf {
    let bin = repo_root().join(".venv/bin/cargo-lambda");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/bootstrap",
        bin.display()
    );
    bin
}

/// The child gets SIGKILL when the thread that spawned it ends (the test's
/// thread), so a test process that dies never leaves it behind.
fn die_with_parent(command: &mut Command) -> &mut Command {
    extern "C" {
        fn prctl(option: i32, ...) -> i32;
        fn getppid() -> i32;
    }
    const PR_SET_PDEATHSIG: i32 = 1;
    const SIGKILL: std::ffi::c_ulong = 9;
    let parent = std::process::id() as i32;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if getppid() != parent {
                // The parent died before prctl took effect.
                return Err(std::io::Error::other("parent already gone"));
            }
            Ok(())
        })
    }
}

/// `cargo lambda watch` serving the runtime API, and the function polling it.
struct LambdaRuntime {
    port: u16,
    watch: Child,
    function: Option<Child>,
    dir: tempfile::TempDir,
    invocations: usize,
}

impl LambdaRuntime {
    fn start(prefix: &str) -> LambdaRuntime {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().to_path_buf();
        let log = |name: &str| File::create(logs.join(name)).expect("log file");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let watch_log = log("watch.log");
        let watch = die_with_parent(
            Command::new(cargo_lambda())
                .args(["lambda", "watch", "--only-lambda-apis", "--ignore-changes"])
                .args([
                    "--invoke-address",
                    "127.0.0.1",
                    "--invoke-port",
                    &port.to_string(),
                ])
                // How long an invoke request waits for the function's reply.
                .args(["--timeout", "120", "--color", "never"])
                .current_dir(repo_root())
                .stdin(Stdio::null())
                .stdout(watch_log.try_clone().expect("log"))
                .stderr(watch_log),
        )
        .spawn()
        .expect("cargo lambda watch");
        let mut runtime = LambdaRuntime {
            port,
            watch,
            function: None,
            dir,
            invocations: 0,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = runtime.watch.try_wait() {
                panic!("cargo lambda watch exited ({status})");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cargo lambda watch did not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let function_log = log("function.log");
        let mut function = Command::new(bootstrap_bin());
        function
            .env_clear()
            // What Lambda sets (here: what `cargo lambda watch` says it needs).
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
            // The function's own configuration.
            .env("TRAILSEARCH_ES_URL", cluster_url())
            .env("TRAILSEARCH_INDEX_PREFIX", prefix)
            .env("TRAILSEARCH_REPLICAS", "0")
            .envs(moto_env())
            .env("NO_COLOR", "1")
            .current_dir(runtime.dir.path())
            .stdin(Stdio::null())
            .stdout(function_log.try_clone().expect("log"))
            .stderr(function_log);
        runtime.function = Some(die_with_parent(&mut function).spawn().expect("bootstrap"));
        runtime
    }

    fn function_alive(&mut self) -> bool {
        matches!(self.function.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }

    /// Invokes the function through the emulator with `cargo lambda invoke`:
    /// the reply, or the error cargo-lambda reported. Prints the wall time.
    fn invoke(&mut self, label: &str, payload: &Value) -> Result<Value, String> {
        assert!(self.function_alive(), "the function exited before {label}");
        self.invocations += 1;
        let file = self.dir.path().join(format!("{}-{label}.json", self.invocations));
        std::fs::write(&file, payload.to_string()).expect("payload file");
        let mut command = Command::new(cargo_lambda());
        command
            .args(["lambda", "invoke", FUNCTION, "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &self.port.to_string(), "--color", "never"])
            .args(["--output-format", "json", "--data-file"])
            .arg(&file)
            .current_dir(self.dir.path());
        let started = Instant::now();
        let done = run(command);
        println!("invocation {label}: {} ms", started.elapsed().as_millis());
        if done.code == 0 {
            Ok(serde_json::from_str(&done.stdout)
                .unwrap_or_else(|e| panic!("{label}: not JSON ({e}):\n{done}")))
        } else {
            Err(format!("{}{}", done.stderr, done.stdout))
        }
    }
}

impl Drop for LambdaRuntime {
    fn drop(&mut self) {
        if let Some(function) = self.function.as_mut() {
            let _ = function.kill();
            let _ = function.wait();
        }
        let _ = self.watch.kill();
        let _ = self.watch.wait();
        if std::thread::panicking() {
            eprintln!("--- the function's log\n{}", self.log("function.log"));
            eprintln!("--- cargo lambda watch's log\n{}", self.log("watch.log"));
        }
    }
}

/// Runs `tests/servers/lambda_triggers.py` and returns its JSON.
fn triggers(args: &[&str]) -> Value {
    let mut command = Command::new(repo_root().join(".venv/bin/python"));
    command
        .arg(repo_root().join("tests/servers/lambda_triggers.py"))
        .args(args);
    let done = run(command).expect_code(0);
    serde_json::from_str(&done.stdout).unwrap_or_else(|e| panic!("{e}:\n{done}"))
}

/// The oracle: distinct placeable events and dead letters of these objects.
fn expected(keys: &[&str]) -> (u64, u64) {
    let fixtures = fixtures();
    let mut args = vec!["expect", fixtures.to_str().expect("utf-8")];
    args.extend(keys);
    let out = triggers(&args);
    (
        out["events"].as_u64().unwrap(),
        out["dead_letters"].as_u64().unwrap(),
    )
}

/// The SQS event Lambda's event source mapping builds from received messages.
fn sqs_event(queue_arn: &str, messages: &[Value]) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The SNS event Lambda builds from one notification (the envelope an SQS
/// subscription of the same topic received).
fn sns_event(subscription_arn: &str, envelope: &Value) -> Value {
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": {
            "Type": envelope["Type"],
            "MessageId": envelope["MessageId"],
            "TopicArn": envelope["TopicArn"],
            "Subject": envelope.get("Subject").cloned().unwrap_or(Value::Null),
            "Message": envelope["Message"],
            "Timestamp": envelope["Timestamp"],
            "SignatureVersion": envelope["SignatureVersion"],
            "Signature": envelope["Signature"],
            "SigningCertUrl": envelope["SigningCertURL"],
            "UnsubscribeUrl": envelope["UnsubscribeURL"],
            "MessageAttributes": envelope.get("MessageAttributes").cloned().unwrap_or(json!({})),
        },
    }]})
}

const DAY: &str = "AWSLogs/444455556666/CloudTrail/us-east-1/2024/03/13/";
/// Two objects that deliver one record twice: 103 distinct events of 104.
const TWICE_A: &str = "444455556666_CloudTrail_us-east-1_20240313T1210Z_5McsHlnO1Brb33rn.json.gz";
const TWICE_B: &str = "444455556666_CloudTrail_us-east-1_20240313T1315Z_rVUmPrQgoBLkGRDe.json.gz";
const CLEAN_A: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T0730Z_02V9weYtOyhFmT2r.json.gz";
const CLEAN_B: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T1105Z_ohIPfRRG3mjnhSH6.json.gz";
const CLEAN_C: &str = "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/14/111122223333_CloudTrail_eu-west-1_20240314T0855Z_VjoROPS80lvWaWF4.json.gz";
/// Holds the record whose eventTime is "not-a-time": it is dead-lettered.
const NOT_A_TIME: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/13/111122223333_CloudTrail_us-east-1_20240313T0415Z_4NOADFqLJmZZ2x7g.json.gz";
const CORRUPT: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T2355Z_CorruptCorrupt01.json.gz";
const MISSING: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/14/111122223333_CloudTrail_us-east-1_20240314T2356Z_MissingMissing01.json.gz";

#[test]
fn the_bootstrap_under_the_lambda_runtime_api_answers_every_trigger() {
    let prefix = unique_prefix("lambda-runtime");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let fixtures = fixtures();
    let fixtures = fixtures.to_str().expect("utf-8");
    let every_object: Vec<String> = corpus_objects();
    let every_object: Vec<&str> = every_object.iter().map(String::as_str).collect();
    // The oracle agrees with the manifest over the whole corpus.
    let m = manifest();
    assert_eq!(
        expected(&every_object),
        (
            m["distinct_events"].as_u64().unwrap(),
            m["records_without_valid_event_time"].as_u64().unwrap()
        )
    );

    let mut lambda = LambdaRuntime::start(&prefix);
    let name = |what: &str| format!("{}-{what}", prefix.replacen("t-", "ts-", 1));
    let events = || count(&format!("{prefix}-*"));
    let dead_letters = || count(&format!("{prefix}_deadletter"));
    let mut ingested: Vec<&str> = Vec::new();

    // (a) S3 -> SQS: one batch with the s3:TestEvent, two good objects and a
    // corrupt one; only the corrupt object's message is reported.
    let twice_a = format!("{DAY}{TWICE_A}");
    let twice_b = format!("{DAY}{TWICE_B}");
    let (bucket, queue) = (name("sqs"), name("sqs"));
    let out = triggers(&[
        "s3-sqs",
        moto_url(),
        &bucket,
        &queue,
        fixtures,
        CORRUPT,
        &twice_a,
        &twice_b,
    ]);
    let messages = out["messages"].as_array().expect("messages").clone();
    let body_naming = |needle: &str| -> Vec<&Value> {
        messages
            .iter()
            .filter(|m| m["Body"].as_str().unwrap().contains(needle))
            .collect()
    };
    assert_eq!(body_naming("s3:TestEvent").len(), 1, "{out}");
    let corrupt = body_naming("CorruptCorrupt01");
    assert_eq!(corrupt.len(), 1, "{out}");
    let corrupt_id = corrupt[0]["MessageId"].clone();
    let event = sqs_event(out["queue_arn"].as_str().unwrap(), &messages);
    let reply = lambda
        .invoke("sqs", &event)
        .unwrap_or_else(|e| panic!("sqs: {e}"));
    assert_eq!(
        reply,
        json!({"batchItemFailures": [{"itemIdentifier": corrupt_id}]}),
        "objects \"not started\" in the log below? `cargo lambda watch` sends \
         lambda-runtime-deadline-ms: 600000 (a duration, not a Unix time), so the \
         handler must not read that as a deadline long past"
    );
    ingested.extend([twice_a.as_str(), twice_b.as_str()]);
    let (want, dead) = expected(&ingested);
    assert_eq!(want, 103);
    assert_eq!((events(), dead_letters()), (want, dead), "after the SQS batch");

    // (b) S3 -> SNS: one invocation per notification, as Lambda makes them;
    // the third object was already ingested from another bucket.
    let (bucket, topic, queue) = (name("sns"), name("sns"), name("sns-sub"));
    let out = triggers(&[
        "s3-sns",
        moto_url(),
        &bucket,
        &topic,
        &queue,
        fixtures,
        CLEAN_A,
        CLEAN_B,
        &twice_a,
    ]);
    let subscription = out["subscription_arn"].as_str().unwrap();
    let envelopes = out["envelopes"].as_array().expect("envelopes");
    assert_eq!(envelopes.len(), 4, "{out}");
    for (i, envelope) in envelopes.iter().enumerate() {
        let reply = lambda
            .invoke(&format!("sns-s3-{i}"), &sns_event(subscription, envelope))
            .unwrap_or_else(|e| panic!("sns-s3 {i}: {e}"));
        assert_eq!(reply, json!({}), "{envelope}");
    }
    ingested.extend([CLEAN_A, CLEAN_B]);
    let (want, dead) = expected(&ingested);
    assert_eq!((events(), dead_letters()), (want, dead), "after S3 -> SNS");

    // (c) CloudTrail's own notification through SNS, naming two objects, one
    // with a record that has no usable eventTime.
    let (bucket, topic, queue) = (name("trail"), name("trail"), name("trail-sub"));
    let out = triggers(&[
        "cloudtrail-sns",
        moto_url(),
        &bucket,
        &topic,
        &queue,
        fixtures,
        NOT_A_TIME,
        CLEAN_C,
    ]);
    let envelope = &out["envelopes"][0];
    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["s3Bucket"], bucket.as_str(), "{out}");
    let reply = lambda
        .invoke(
            "sns-cloudtrail",
            &sns_event(out["subscription_arn"].as_str().unwrap(), envelope),
        )
        .unwrap_or_else(|e| panic!("sns-cloudtrail: {e}"));
    assert_eq!(reply, json!({}));
    ingested.extend([NOT_A_TIME, CLEAN_C]);
    let (want, dead) = expected(&ingested);
    assert_eq!(dead, 1);
    assert_eq!(
        (events(), dead_letters()),
        (want, dead),
        "after CloudTrail -> SNS"
    );

    // (d) A direct S3 notification: the one S3 sent for a good object is
    // answered with {}, and naming a missing object is an invocation error
    // (Lambda retries it), which cargo-lambda reports.
    let good = body_naming(TWICE_A);
    let direct: Value = serde_json::from_str(good[0]["Body"].as_str().unwrap()).unwrap();
    let reply = lambda
        .invoke("s3-direct", &direct)
        .unwrap_or_else(|e| panic!("s3-direct: {e}"));
    assert_eq!(reply, json!({}));
    let mut missing = direct.clone();
    missing["Records"][0]["s3"]["object"]["key"] = json!(MISSING);
    let error = lambda
        .invoke("s3-direct-missing", &missing)
        .expect_err("a missing object fails the invocation");
    println!("cargo lambda invoke reported:\n{error}");
    // cargo-lambda wraps the message to the terminal's width.
    let flat: String = error
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect();
    for needle in ["1of1objectsfailed", "MissingMissing01", "NoSuchKey"] {
        assert!(flat.contains(needle), "{needle} in:\n{error}");
    }
    assert_eq!(
        (events(), dead_letters()),
        (want, dead),
        "after the direct invocations"
    );

    // (e) CloudTrail events that come as events: EventBridge, CloudWatch
    // Logs, Kinesis (whose undecodable record alone comes back, by sequence
    // number). Two events, each indexed once whatever the path.
    let trigger = |name: &str| -> Value {
        let text =
            std::fs::read_to_string(repo_root().join("tests/fixtures/triggers").join(name)).expect("fixture");
        serde_json::from_str(&text).expect("fixture JSON")
    };
    let reply = lambda
        .invoke("eventbridge", &trigger("eventbridge-cloudtrail-api-call.json"))
        .unwrap_or_else(|e| panic!("eventbridge: {e}"));
    assert_eq!(reply, json!({}));
    let reply = lambda
        .invoke("sqs-eventbridge", &trigger("sqs-eventbridge-cloudtrail.json"))
        .unwrap_or_else(|e| panic!("sqs-eventbridge: {e}"));
    assert_eq!(reply, json!({"batchItemFailures": []}));
    let reply = lambda
        .invoke("cloudwatch-logs", &trigger("cloudwatch-logs.json"))
        .unwrap_or_else(|e| panic!("cloudwatch-logs: {e}"));
    assert_eq!(reply, json!({}));
    let reply = lambda
        .invoke("kinesis", &trigger("kinesis.json"))
        .unwrap_or_else(|e| panic!("kinesis: {e}"));
    assert_eq!(
        reply,
        json!({"batchItemFailures": [{"itemIdentifier": "49590338271490256608559692541336630111039049876712685666"}]})
    );
    assert_eq!(
        (events(), dead_letters()),
        (want + 2, dead),
        "after the streamed paths"
    );

    // The function lived through every invocation and said what it did.
    assert!(lambda.function_alive(), "the function exited");
    let log = lambda.log("function.log");
    assert!(log.contains("CorruptCorrupt01"), "{log}");
}

/// Every log object of the corpus (no digests), relative to `fixtures()`.
fn corpus_objects() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = fixtures();
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    let mut keys: Vec<String> = paths
        .iter()
        .map(|p| p.strip_prefix(&root).unwrap().to_str().unwrap().to_string())
        .filter(|k| k.ends_with(".json.gz") && !k.contains("CloudTrail-Digest"))
        .collect();
    keys.sort();
    keys
}

/// Settings the function cannot start with are posted to the runtime API's
/// `/runtime/init/error` in words naming the environment variable, before
/// the process exits (it used to exit with the error in the log only).
#[test]
fn bad_settings_are_posted_to_the_init_error_endpoint() {
    for (variable, value, says) in [
        ("TRAILSEARCH_CONCURRENCY", "0", "must be at least 1"),
        (
            "TRAILSEARCH_RETENTION",
            "99999999d",
            "out of range: at most 36525d",
        ),
    ] {
        let request = init_error_of(variable, value);
        assert!(
            request.starts_with("POST /2018-06-01/runtime/init/error "),
            "{request}"
        );
        assert!(
            request.contains("Lambda-Runtime-Function-Error-Type: Init.Settings"),
            "{request}"
        );
        assert!(request.contains(variable) && request.contains(says), "{request}");
    }
}

/// What `bootstrap` posts to a stand-in runtime API when started with
/// `variable=value` (asserting that it then exits with a failure).
fn init_error_of(variable: &str, value: &str) -> String {
    use std::io::{Read, Write};
    let api = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = api.local_addr().expect("address").to_string();
    let mut child = Command::new(bootstrap_bin())
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "trailsearch-test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TRAILSEARCH_ES_URL", "http://127.0.0.1:9")
        .env(variable, value)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("bootstrap");
    let (mut stream, _) = api.accept().expect("the init error request");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&request).ends_with('}') {
        let n = stream.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    stream
        .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .expect("answer");
    drop(stream);
    assert!(
        !child.wait().expect("bootstrap exits").success(),
        "the process exits after reporting"
    );
    String::from_utf8_lossy(&request).into_owned()
}
