//! Authentication and TLS, end to end: the `trailsearch` binary against the
//! test cluster behind `tests/servers/auth_proxy.py`, a reverse proxy that
//! checks SigV4 signatures independently with botocore, basic credentials or
//! an API key, and can serve HTTPS with a throwaway CA.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use trailsearch_e2e::*;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY-e2e";
const REGION: &str = "eu-west-1";

/// The auth proxy in front of the test cluster; killed on drop.
struct Proxy {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Proxy {
    /// Starts `auth_proxy.py` with these arguments (after `--upstream` and
    /// `--port 0`); with `tls`, serving HTTPS with its CA in `tls_dir()`.
    fn start(args: &[&str], tls: bool) -> Proxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = std::fs::File::create(dir.path().join("proxy.log")).expect("proxy log");
        let tls_dir = dir.path().join("tls");
        let python = repo_root().join(".venv/bin/python");
        let mut command = Command::new(&python);
        command
            .arg(repo_root().join("tests/servers/auth_proxy.py"))
            .args(["--upstream", cluster_url(), "--port", "0"])
            .args(args)
            .args(if tls {
                vec!["--tls-dir".as_ref(), tls_dir.as_os_str()]
            } else {
                vec![]
            })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // A file, not a pipe: the proxy writes each request's line before
            // answering it, so once a client has exited its lines are all there.
            .stderr(log)
            .current_dir(repo_root());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/bootstrap", python.display()));
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line);
        let mut proxy = Proxy {
            child,
            url: String::new(),
            dir,
        };
        let ready: Option<Value> = read.ok().and_then(|_| serde_json::from_str(&line).ok());
        match ready.as_ref().and_then(|r| r["url"].as_str()) {
            Some(url) if url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:") => {
                proxy.url = url.to_string();
            }
            _ => panic!("auth proxy said {line:?}\n--- its log\n{}", proxy.log_text()),
        }
        proxy
    }

    fn sigv4(service: &str) -> Proxy {
        Proxy::start(
            &[
                "--mode",
                "sigv4",
                "--service",
                service,
                "--region",
                REGION,
                "--access-key",
                ACCESS_KEY,
                "--secret-key",
                SECRET_KEY,
            ],
            false,
        )
    }

    /// Where the proxy wrote `ca.pem` (started with `tls`).
    fn tls_dir(&self) -> PathBuf {
        self.dir.path().join("tls")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("proxy.log")).unwrap_or_default()
    }

    /// Every log line, as JSON (a line that is not JSON stays a string).
    fn log(&self) -> Vec<Value> {
        self.log_text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.to_string())))
            .collect()
    }

    /// The logged requests (lines with a method), in order.
    fn requests(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|l| l.get("method").is_some())
            .collect()
    }

    /// Whether a log line matching `wanted` appears within a few seconds: the
    /// proxy logs from its own threads, so a line about a connection the client
    /// has already dropped may land after the client exits.
    fn logs_soon(&self, wanted: impl Fn(&Value) -> bool) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if self.log().iter().any(&wanted) {
                return true;
            }
            if std::time::Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn rejected(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["ok"] != Value::Bool(true))
            .collect()
    }

    /// The AWS environment for a run: these credentials, `eu-west-1`, no
    /// instance metadata, and config files that do not exist (so nothing on
    /// this machine is read).
    fn aws_env(&self, secret: &str) -> Vec<(&'static str, String)> {
        let missing = |name: &str| self.dir.path().join(name).display().to_string();
        vec![
            ("AWS_REGION", REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", secret.to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("AWS_CONFIG_FILE", missing("no-aws-config")),
            ("AWS_SHARED_CREDENTIALS_FILE", missing("no-aws-credentials")),
        ]
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn with(env: &[(&'static str, String)], extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut all = env.to_vec();
    all.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    all
}

/// Panics unless no secret appears in the run's output.
fn assert_no_secret(run: &Run, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "the secret {secret:?} was shown:\n{run}"
        );
    }
}

fn n(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(v >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A fixture directory whose events all index (no duplicates, no dead letters).
fn clean_fixture_day() -> PathBuf {
    fixtures().join("AWSLogs/111122223333/CloudTrail/eu-west-1/2024/03/13")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

#[test]
fn sigv4_es_signatures_verify_with_botocore() {
    let prefix = unique_prefix("sigv4-es");
    let m = manifest();
    let fixtures = fixtures();
    let proxy = Proxy::sigv4("es");
    let env = proxy.aws_env(SECRET_KEY);
    let sigv4 = |args: &[&str], env: &[(&'static str, String)]| {
        let mut all = vec!["--aws-sigv4", "es"];
        all.extend_from_slice(args);
        trailsearch_at(&proxy.url, &prefix, &all, &refs(env))
    };
    let mut runs = Vec::new();

    runs.push(sigv4(&["setup"], &env).expect_code(0));
    // Two fixture records are dead-lettered by design: exit 1.
    let ingest = sigv4(&["ingest", path_str(&fixtures), "--report", "json"], &env).expect_code(1);
    let report = ingest.report();
    balanced(&report);
    assert_eq!(
        (
            n(&report, "indexed"),
            n(&report, "dead_lettered"),
            n(&report, "failed_objects")
        ),
        (
            n(&m, "distinct_events"),
            n(&m, "records_without_valid_event_time"),
            0
        ),
        "{ingest}"
    );
    runs.push(ingest);
    assert_eq!(count(&format!("{prefix}-*")), n(&m, "distinct_events"));

    // A search: a `*` in the path and a query string, signed as well.
    let found = sigv4(
        &["search", "--event-name", "DeleteDBInstance", "--format", "json"],
        &env,
    )
    .expect_code(0);
    assert_eq!(found.stdout.lines().count(), 1, "{found}");
    runs.push(found);
    // Trace logging shows the canonical requests, never the secret key.
    runs.push(sigv4(&["setup"], &with(&env, &[("TRAILSEARCH_LOG", "trace")])).expect_code(0));

    let requests = proxy.requests();
    let log = proxy.log_text();
    assert!(proxy.rejected().is_empty(), "rejected requests:\n{log}");
    let gzipped_bulk = requests.iter().filter(|r| {
        r["method"] == "POST"
            && r["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/_bulk?filter_path=") && p.contains(','))
            && r["gzip"] == Value::Bool(true)
            && r["status"] == 200
    });
    assert!(gzipped_bulk.count() >= 1, "no gzipped _bulk went through:\n{log}");
    assert!(
        requests
            .iter()
            .any(|r| r["path"].as_str().is_some_and(|p| p.contains("-*/_search?"))),
        "no search went through:\n{log}"
    );
    for run in &runs {
        assert_no_secret(run, &[SECRET_KEY]);
    }
    assert!(!log.contains(SECRET_KEY), "the proxy logged the secret:\n{log}");

    // A wrong secret key: the signature does not verify.
    let before = proxy.rejected().len();
    let wrong = sigv4(&["setup"], &proxy.aws_env("not-the-secret-key")).expect_code(1);
    assert!(wrong.stderr.contains("403"), "{wrong}");
    assert_no_secret(&wrong, &["not-the-secret-key"]);
    let rejected = proxy.rejected();
    assert_eq!(rejected.len(), before + 1, "{}", proxy.log_text());
    assert!(
        rejected[before]["why"]
            .as_str()
            .is_some_and(|w| w.contains("signature we calculated does not match")),
        "{}",
        proxy.log_text()
    );
}

#[test]
fn sigv4_aoss_signs_for_aoss() {
    let prefix = unique_prefix("sigv4-aoss");
    let proxy = Proxy::sigv4("aoss");
    let env = proxy.aws_env(SECRET_KEY);
    let env = refs(&env);

    let setup = trailsearch_at(&proxy.url, &prefix, &["--aws-sigv4", "aoss", "setup"], &env).expect_code(0);
    let day = clean_fixture_day();
    let ingest = trailsearch_at(
        &proxy.url,
        &prefix,
        &[
            "--aws-sigv4",
            "aoss",
            "ingest",
            path_str(&day),
            "--report",
            "json",
        ],
        &env,
    )
    .expect_code(0);
    let report = ingest.report();
    balanced(&report);
    assert!(
        n(&report, "indexed") > 0 && n(&report, "indexed") == n(&report, "events"),
        "{ingest}"
    );
    assert!(proxy.rejected().is_empty(), "{}", proxy.log_text());
    assert!(
        proxy
            .requests()
            .iter()
            .any(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/_bulk?"))
                && r["gzip"] == Value::Bool(true)),
        "{}",
        proxy.log_text()
    );
    assert_no_secret(&setup, &[SECRET_KEY]);
    assert_no_secret(&ingest, &[SECRET_KEY]);

    // Signed for the other service: refused.
    let es = trailsearch_at(&proxy.url, &prefix, &["--aws-sigv4", "es", "setup"], &env).expect_code(1);
    assert!(es.stderr.contains("403"), "{es}");
    let rejected = proxy.rejected();
    assert_eq!(rejected.len(), 1, "{}", proxy.log_text());
    assert!(
        rejected[0]["why"].as_str().is_some_and(|w| w.contains("'aoss'")),
        "{}",
        proxy.log_text()
    );
}

#[test]
fn basic_and_api_key_auth() {
    const USER: &str = "trail-writer";
    const PASSWORD: &str = "pw-7Hq2:basic-Zx9!";
    const WRONG_PASSWORD: &str = "pw-wrong-4Kd8";
    const API_KEY: &str = "dHJhaWw6a2V5LTlmM2E3YzFlLXNlY3JldA==";
    const WRONG_API_KEY: &str = "dHJhaWw6a2V5LXdyb25nLTMzMzM=";
    let prefix = unique_prefix("basic-apikey");
    let token = base64(&format!("{USER}:{PASSWORD}"));
    let in_url = PASSWORD.replace(':', "%3A");
    let secrets = [PASSWORD, &in_url, WRONG_PASSWORD, API_KEY, WRONG_API_KEY, &token];

    // Basic authentication: flags, environment, the URL's user info.
    let basic = Proxy::start(
        &["--mode", "basic", "--user", USER, "--password", PASSWORD],
        false,
    );
    let mut runs = vec![
        trailsearch_at(
            &basic.url,
            &prefix,
            &["--es-user", USER, "--es-password", PASSWORD, "setup"],
            &[],
        )
        .expect_code(0),
        trailsearch_at(
            &basic.url,
            &prefix,
            &["ingest", path_str(&clean_fixture_day()), "--report", "json"],
            &[
                ("TRAILSEARCH_ES_USER", USER),
                ("TRAILSEARCH_ES_PASSWORD", PASSWORD),
            ],
        )
        .expect_code(0),
        trailsearch_at(
            &basic.url,
            &prefix,
            &["search", "--limit", "3"],
            &[
                ("TRAILSEARCH_ES_USER", USER),
                ("TRAILSEARCH_ES_PASSWORD", PASSWORD),
                ("TRAILSEARCH_LOG", "trace"),
            ],
        )
        .expect_code(0),
    ];
    let with_user_info = basic.url.replacen("://", &format!("://{USER}:{in_url}@"), 1);
    runs.push(trailsearch_at(&with_user_info, &prefix, &["setup"], &[]).expect_code(0));
    assert!(basic.rejected().is_empty(), "{}", basic.log_text());

    let wrong = trailsearch_at(
        &basic.url,
        &prefix,
        &["setup"],
        &[
            ("TRAILSEARCH_ES_USER", USER),
            ("TRAILSEARCH_ES_PASSWORD", WRONG_PASSWORD),
        ],
    )
    .expect_code(1);
    assert!(wrong.stderr.contains("401"), "{wrong}");
    runs.push(wrong);
    let wrong_in_url = basic
        .url
        .replacen("://", &format!("://{USER}:{WRONG_PASSWORD}@"), 1);
    let wrong_in_url = trailsearch_at(&wrong_in_url, &prefix, &["setup"], &[]).expect_code(1);
    assert!(wrong_in_url.stderr.contains("401"), "{wrong_in_url}");
    runs.push(wrong_in_url);
    let none = trailsearch_at(&basic.url, &prefix, &["setup"], &[]).expect_code(1);
    assert!(none.stderr.contains("401"), "{none}");
    runs.push(none);
    assert_eq!(basic.rejected().len(), 3, "{}", basic.log_text());

    // API keys: flag and environment.
    let api = Proxy::start(&["--mode", "apikey", "--api-key", API_KEY], false);
    runs.push(trailsearch_at(&api.url, &prefix, &["--es-api-key", API_KEY, "setup"], &[]).expect_code(0));
    runs.push(
        trailsearch_at(
            &api.url,
            &prefix,
            &["search", "--limit", "3"],
            &[("TRAILSEARCH_ES_API_KEY", API_KEY), ("TRAILSEARCH_LOG", "trace")],
        )
        .expect_code(0),
    );
    assert!(api.rejected().is_empty(), "{}", api.log_text());
    let wrong_key = trailsearch_at(
        &api.url,
        &prefix,
        &["setup"],
        &[("TRAILSEARCH_ES_API_KEY", WRONG_API_KEY)],
    )
    .expect_code(1);
    assert!(wrong_key.stderr.contains("401"), "{wrong_key}");
    runs.push(wrong_key);
    assert_eq!(api.rejected().len(), 1, "{}", api.log_text());

    for run in &runs {
        assert_no_secret(run, &secrets);
    }
    for proxy in [&basic, &api] {
        let log = proxy.log_text();
        assert!(
            secrets.iter().all(|s| !log.contains(s)),
            "the proxy logged a secret:\n{log}"
        );
    }
}

#[test]
fn tls_verification_and_ca_cert() {
    const USER: &str = "tls-user";
    const PASSWORD: &str = "pw-tls-5Rt1";
    let prefix = unique_prefix("tls");
    let proxy = Proxy::start(&["--mode", "basic", "--user", USER, "--password", PASSWORD], true);
    assert!(proxy.url.starts_with("https://127.0.0.1:"), "{}", proxy.url);
    let ca = proxy.tls_dir().join("ca.pem");
    let creds = [
        ("TRAILSEARCH_ES_USER", USER),
        ("TRAILSEARCH_ES_PASSWORD", PASSWORD),
    ];

    let unverified = trailsearch_at(&proxy.url, &prefix, &["setup"], &creds).expect_code(1);
    let message = unverified.stderr.to_lowercase();
    assert!(
        message.contains("certificate") || message.contains("tls"),
        "{unverified}"
    );
    assert!(
        proxy.logs_soon(|l| l["event"] == "tls handshake failed"),
        "{}",
        proxy.log_text()
    );

    trailsearch_at(
        &proxy.url,
        &prefix,
        &["--ca-cert", path_str(&ca), "setup"],
        &creds,
    )
    .expect_code(0);
    let localhost = proxy.url.replace("127.0.0.1", "localhost");
    let mut with_env = creds.to_vec();
    with_env.push(("TRAILSEARCH_CA_CERT", path_str(&ca)));
    trailsearch_at(&localhost, &prefix, &["setup"], &with_env).expect_code(0);

    let insecure = trailsearch_at(&proxy.url, &prefix, &["--insecure", "setup"], &creds).expect_code(0);
    assert!(
        insecure
            .stderr
            .lines()
            .any(|l| l.contains("warning") && l.contains("--insecure")),
        "{insecure}"
    );
    assert!(proxy.rejected().is_empty(), "{}", proxy.log_text());
    // Every accepted request came over TLS: three setups' worth.
    assert!(proxy.requests().len() >= 3, "{}", proxy.log_text());
}
