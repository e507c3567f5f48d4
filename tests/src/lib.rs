//! The end-to-end harness: the test cluster, the `trailsearch` binary, a
//! fresh index prefix per test, and a tiny HTTP client for assertions.
//!
//! The cluster is the real node that `scripts/test` started
//! (`TRAILSEARCH_TEST_ES_URL`), or one this process starts with
//! `scripts/node run` (the `suite` node of `scripts/nodes.tsv`, or
//! `TRAILSEARCH_TEST_NODE`) on free 127.0.0.1 ports, stopped when the process
//! exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The fixture corpus and its manifest.
pub fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/cloudtrail")
}

/// The fixture manifest (the oracle).
pub fn manifest() -> Value {
    let path = repo_root().join("tests/fixtures/cloudtrail-manifest.json");
    serde_json::from_slice(&std::fs::read(&path).expect("manifest")).expect("manifest JSON")
}

/// A binary of the workspace's debug build (`scripts/test` builds them
/// all before the tests).
fn built_bin(name: &str, package: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let bin = target.join("debug").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p {package}` (scripts/test does)",
        bin.display()
    );
    bin
}

/// The built `trailsearch` binary.
pub fn trailsearch_bin() -> PathBuf {
    built_bin("trailsearch", "trailsearch-cli")
}

/// The test cluster's URL.
pub fn cluster_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("TRAILSEARCH_TEST_ES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_node(&node_name()).url.clone(),
    })
}

/// The name (`scripts/nodes.tsv`) of the node the tests run against:
/// `TRAILSEARCH_TEST_NODE`, else the table's `suite` node.
pub fn node_name() -> String {
    match std::env::var("TRAILSEARCH_TEST_NODE") {
        Ok(name) if !name.is_empty() => name,
        _ => {
            let out = run(node_command(&["names", "--role", "suite"])).expect_code(0);
            out.stdout.trim().to_string()
        }
    }
}

fn node_command(args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command.arg(repo_root().join("scripts/node")).args(args);
    command
}

/// A real node started by `scripts/node run`, stopped when this process
/// exits (`--parent-pid`) or when [`RealNode::stop`] is called.
#[derive(Debug)]
pub struct RealNode {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The node's own process (the JVM), for a SIGKILL.
    pub pid: u32,
    /// Its data folder.
    pub data: PathBuf,
    /// Its logs folder.
    pub logs: PathBuf,
    /// Seconds it took to answer.
    pub seconds: f64,
    supervisor: Option<std::process::Child>,
}

impl RealNode {
    /// Stops the node and waits for its supervisor to finish.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.supervisor.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Waits for the supervisor after the node was killed from outside.
    pub fn reap(&mut self) {
        if let Some(mut child) = self.supervisor.take() {
            let _ = child.wait();
        }
    }

    /// The last lines of the node's own output, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.logs.join("node.out")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for RealNode {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the node `name` of `scripts/nodes.tsv` (see `scripts/node run`),
/// with `extra` arguments such as `--data DIR`. The cluster of the suite is
/// kept for the whole process: it is leaked on purpose, and its supervisor
/// stops it when this process is gone.
pub fn start_node_with(name: &str, extra: &[&str]) -> RealNode {
    let pid = std::process::id().to_string();
    let mut args = vec!["run", name, "--parent-pid", &pid];
    args.extend_from_slice(extra);
    let mut child = node_command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 scripts/node run {name}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("scripts/node's ready line");
    if line.trim().is_empty() {
        let status = child.wait().expect("scripts/node");
        panic!("scripts/node run {name} did not start a node ({status}); its reason is above");
    }
    let ready: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("scripts/node said {line:?}: {e}"));
    let text = |key: &str| {
        ready[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {ready}"))
            .to_string()
    };
    RealNode {
        url: text("url"),
        pid: ready["pid"].as_u64().expect("pid") as u32,
        data: PathBuf::from(text("data")),
        logs: PathBuf::from(text("log")),
        seconds: ready["seconds"].as_f64().unwrap_or(0.0),
        supervisor: Some(child),
    }
}

fn start_node(name: &str) -> &'static RealNode {
    Box::leak(Box::new(start_node_with(name, &[])))
}

/// A fresh index prefix for one test, so tests share the cluster safely.
/// Dropping it deletes the test's indices (`PREFIX-*`, `PREFIX_*`) and
/// templates, so the shared node does not fill up; a failing test keeps them
/// for a look.
#[derive(Debug)]
pub struct Prefix(String);

impl std::ops::Deref for Prefix {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Prefix {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let p = &self.0;
        http(
            "DELETE",
            &format!("{p}-*,{p}_*?ignore_unavailable=true&allow_no_indices=true&expand_wildcards=all"),
            None,
        );
        // Templates too: setup reads them all, and an old test's would stay.
        for api in ["_index_template", "_template"] {
            for kind in ["events", "deadletter", "integrity"] {
                http("DELETE", &format!("{api}/{p}-{kind}"), None);
            }
        }
    }
}

/// A fresh index prefix for one test; see [`Prefix`].
pub fn unique_prefix(test: &str) -> Prefix {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let clean: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    Prefix(format!("t-{clean}-{}-{n}", std::process::id()))
}

/// A finished `trailsearch` run.
#[derive(Debug)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with the whole run shown unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "{self}");
        self
    }

    /// The JSON report (stdout, or the last stderr line in dry runs).
    pub fn report(&self) -> Value {
        // A dry run's stdout is bulk bodies: its report is on stderr.
        let bulk = ["{\"create\":", "{\"index\":"];
        let dry_run = bulk
            .iter()
            .any(|action| self.stdout.trim_start().starts_with(action));
        let text = if self.stdout.trim_start().starts_with('{') && !dry_run {
            self.stdout.trim().lines().last().unwrap_or("")
        } else {
            self.stderr.trim().lines().last().unwrap_or("")
        };
        serde_json::from_str(text).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ {}\nexit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `trailsearch` against the test cluster with this index prefix.
pub fn trailsearch(prefix: &str, args: &[&str]) -> Run {
    let mut command = Command::new(trailsearch_bin());
    command
        .args(args)
        .env("TRAILSEARCH_ES_URL", cluster_url())
        .env("TRAILSEARCH_INDEX_PREFIX", prefix)
        .env("TRAILSEARCH_REPLICAS", "0")
        .env_remove("TRAILSEARCH_FLAVOUR")
        .current_dir(repo_root());
    run(command)
}

/// Runs a command to completion.
pub fn run(mut command: Command) -> Run {
    let shown = format!("{command:?}");
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap_or_else(|e| panic!("{shown}: {e}"));
    Run {
        command: shown,
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// One HTTP request to the test cluster (plain HTTP, loopback only).
pub fn http(method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    http_at(cluster_url(), method, path, body)
}

/// One HTTP request to a loopback server (the cluster, or a test proxy):
/// the status and the body as JSON (a string if it is not).
pub fn http_at(base_url: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    http_body_at(base_url, method, path, "application/json", body.as_bytes())
}

/// An NDJSON request (`_bulk`) to the test cluster.
pub fn http_ndjson(path: &str, body: &[u8]) -> (u16, Value) {
    http_body_at(cluster_url(), "POST", path, "application/x-ndjson", body)
}

fn http_body_at(base_url: &str, method: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let url = base_url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    write!(
        stream,
        "{method} /{} HTTP/1.1\r\nHost: {url}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        path.trim_start_matches('/'),
        body.len()
    )
    .expect("write");
    stream.write_all(body).expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let payload = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    (
        status,
        serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
    )
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        text = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Refreshes indices so counts see every document.
pub fn refresh(pattern: &str) {
    refresh_at(cluster_url(), pattern);
}

/// [`refresh`] on the cluster at `url`.
pub fn refresh_at(url: &str, pattern: &str) {
    let (status, body) = http_at(
        url,
        "POST",
        &format!("{pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true"),
        None,
    );
    assert!(status < 300, "refresh {pattern}: {status} {body}");
}

/// Documents matching a pattern (after a refresh).
pub fn count(pattern: &str) -> u64 {
    count_at(cluster_url(), pattern)
}

/// [`count`] on the cluster at `url`.
pub fn count_at(url: &str, pattern: &str) -> u64 {
    refresh_at(url, pattern);
    let (status, body) = http_at(
        url,
        "GET",
        &format!("{pattern}/_count?ignore_unavailable=true&allow_no_indices=true"),
        None,
    );
    assert_eq!(status, 200, "count {pattern}: {body}");
    body["count"].as_u64().expect("count")
}

/// Asserts the report's invariant and returns it.
pub fn balanced(report: &Value) -> &Value {
    let n = |k: &str| {
        report[k]
            .as_u64()
            .unwrap_or_else(|| panic!("report has no {k}: {report}"))
    };
    assert_eq!(
        n("events"),
        n("filtered")
            + n("indexed")
            + n("duplicates")
            + n("degraded")
            + n("dead_lettered")
            + n("failed_events"),
        "unbalanced report {report}"
    );
    report
}

/// Runs `trailsearch` against `url` (an auth proxy, say) with this index
/// prefix and extra environment. Inherited `AWS_*`, `TRAILSEARCH_*` and
/// HTTP proxy variables are cleared first, so only `env` decides the
/// credentials, the TLS settings and where requests go.
pub fn trailsearch_at(url: &str, prefix: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(trailsearch_bin());
    command.args(args);
    aimed_at(&mut command, url, prefix, env);
    run(command)
}

/// Points `command` (a `trailsearch` run, or one wrapped by another tool)
/// at `url` with this index prefix and extra environment, clearing inherited
/// `AWS_*`, `TRAILSEARCH_*` and HTTP proxy variables first.
pub fn aimed_at(command: &mut Command, url: &str, prefix: &str, env: &[(&str, &str)]) {
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy().to_ascii_uppercase();
        if text.starts_with("AWS_") || text.starts_with("TRAILSEARCH_") || text.ends_with("_PROXY") {
            command.env_remove(&name);
        }
    }
    command
        .env("TRAILSEARCH_ES_URL", url)
        .env("TRAILSEARCH_INDEX_PREFIX", prefix)
        .env("TRAILSEARCH_REPLICAS", "0")
        .envs(env.iter().copied())
        .current_dir(repo_root());
}

/// The S3 endpoint (moto): the one `scripts/test` started
/// (`TRAILSEARCH_TEST_MOTO_URL`), or one this process starts from `.venv/`.
pub fn moto_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("TRAILSEARCH_TEST_MOTO_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => start_moto(),
    })
}

fn start_moto() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let bin = repo_root().join(".venv/bin/moto_server");
    let mut child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/bootstrap", bin.display()));
    let pid = child.id();
    // moto has no parent watch: a thread reaps it, and the harness kills it
    // when the test process exits.
    std::thread::spawn(move || child.wait());
    register_kill_at_exit(pid);
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return format!("http://127.0.0.1:{port}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("moto_server did not listen on 127.0.0.1:{port}");
}

fn register_kill_at_exit(pid: u32) {
    extern "C" fn kill_children() {
        if let Some(pids) = CHILDREN.get() {
            for pid in pids.lock().map(|p| p.clone()).unwrap_or_default() {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
        }
    }
    extern "C" {
        fn atexit(callback: extern "C" fn()) -> i32;
    }
    static CHILDREN: OnceLock<std::sync::Mutex<Vec<u32>>> = OnceLock::new();
    let first = CHILDREN.get().is_none();
    CHILDREN
        .get_or_init(Default::default)
        .lock()
        .expect("pids")
        .push(pid);
    if first {
        // SAFETY: registers a plain function with no captured state.
        unsafe {
            atexit(kill_children);
        }
    }
}

/// Creates `bucket` on moto and uploads `dir` into it under `prefix`;
/// returns the number of objects.
pub fn s3_upload(bucket: &str, dir: &Path, prefix: &str) -> usize {
    let mut command = Command::new(repo_root().join(".venv/bin/python"));
    command.arg(repo_root().join("tests/servers/s3_upload.py")).args([
        moto_url(),
        bucket,
        dir.to_str().expect("utf-8 path"),
        prefix,
    ]);
    let run = run(command).expect_code(0);
    run.stdout.trim().parse().unwrap_or_else(|_| panic!("{run}"))
}

/// Environment for the CLI to reach moto as S3.
pub fn moto_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", moto_url().to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/nonexistent/trailsearch-test".into()),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/trailsearch-test".into(),
        ),
    ]
}

/// The built Lambda `bootstrap` (package `trailsearch-lambda`, built by
/// `cargo build --workspace --all-targets`), or `TRAILSEARCH_TEST_BOOTSTRAP`.
pub fn bootstrap_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("TRAILSEARCH_TEST_BOOTSTRAP").filter(|v| !v.is_empty()) {
        return PathBuf::from(bin);
    }
    built_bin("bootstrap", "trailsearch-lambda")
}

/// [`trailsearch_at`], also measuring the run's peak resident memory in KiB
/// (`/usr/bin/time -v`'s "Maximum resident set size"; `None` where
/// `/usr/bin/time` is missing).
pub fn trailsearch_at_measured(
    url: &str,
    prefix: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Run, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return (trailsearch_at(url, prefix, args, env), None);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("time.txt");
    let mut command = Command::new(time);
    command
        .arg("-v")
        .arg("-o")
        .arg(&out)
        .arg(trailsearch_bin())
        .args(args);
    aimed_at(&mut command, url, prefix, env);
    let result = run(command);
    let peak = std::fs::read_to_string(&out).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
    });
    (result, peak)
}

/// Records a note on this test's cell of the compatibility matrix (a check
/// scoped to what the engine has, say, with why); `scripts/matrix-table`
/// prints it under the table. Outside the matrix it goes to stderr only.
pub fn matrix_note(note: &str) {
    eprintln!("matrix note: {note}");
    let Ok(path) = std::env::var("TRAILSEARCH_MATRIX_NOTES") else {
        return;
    };
    let test = std::thread::current().name().unwrap_or("?").to_string();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    writeln!(file, "{test}\t{note}").unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// How the cluster mapped `requestParameters` in the test's event indices
/// (`flattened`, `flat_object`, or `object` on the compatible flavour), as
/// the cluster itself reports it.
pub fn free_shaped_type(prefix: &str) -> String {
    let (status, body) = http("GET", &format!("{prefix}-*/_mapping"), None);
    assert_eq!(status, 200, "mapping: {body}");
    body.as_object()
        .and_then(|indices| indices.values().next())
        .and_then(|index| index["mappings"]["properties"]["requestParameters"]["type"].as_str())
        .unwrap_or_else(|| panic!("no requestParameters mapping in {body}"))
        .to_string()
}

/// A test server of `tests/servers/` that prints `{"url": ...}` first and
/// logs one JSON line per request to stderr; killed on drop.
pub struct PyServer {
    child: std::process::Child,
    /// Where it listens.
    pub url: String,
    dir: tempfile::TempDir,
}

impl PyServer {
    /// Starts `tests/servers/SCRIPT` with `args` under the bootstrap's Python.
    pub fn start(script: &str, args: &[&str]) -> PyServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let log = std::fs::File::create(dir.path().join("requests.log")).expect("the request log");
        let python = repo_root().join(".venv/bin/python");
        let mut child = Command::new(&python)
            .arg(repo_root().join("tests/servers").join(script))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/bootstrap", python.display()));
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let url = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["url"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("{script} said {line:?}"));
        PyServer { child, url, dir }
    }

    /// The requests it logged.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .expect("the request log")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("request log line {l}")))
            .collect()
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes a signed CloudTrail corpus into `bucket` on moto
/// (`tests/servers/digest_corpus.py`, tampered with as `tamper` says) and
/// returns its manifest: the keys written, the trails, the public keys,
/// and the counts `verify` must give.
pub fn digest_corpus(bucket: &str, tamper: &str) -> Value {
    let mut command = Command::new(repo_root().join(".venv/bin/python"));
    command
        .arg(repo_root().join("tests/servers/digest_corpus.py"))
        .args([moto_url(), bucket, "--tamper", tamper]);
    let written = run(command).expect_code(0);
    serde_json::from_str(&written.stdout).unwrap_or_else(|e| panic!("{e}: {written}"))
}

/// A corpus manifest's public keys, every region's in one file, as
/// `aws cloudtrail list-public-keys` prints them.
pub fn corpus_key_file(manifest: &Value, dir: &Path) -> PathBuf {
    let keys: Vec<Value> = manifest["public_keys"]
        .as_object()
        .expect("public_keys")
        .values()
        .flat_map(|list| list.as_array().cloned().unwrap_or_default())
        .collect();
    let path = dir.join("public-keys.json");
    std::fs::write(&path, serde_json::json!({ "PublicKeyList": keys }).to_string()).expect("key file");
    path
}

/// How many documents of `pattern` hold each value of `field` (after a
/// refresh), sorted by value.
pub fn term_counts(pattern: &str, field: &str) -> Vec<(String, u64)> {
    refresh(pattern);
    let body = serde_json::json!({"size": 0, "aggs": {"t": {"terms": {"field": field, "size": 100}}}});
    let (status, answer) = http("POST", &format!("{pattern}/_search"), Some(&body));
    assert_eq!(status, 200, "{answer}");
    let mut counts: Vec<(String, u64)> = answer["aggregations"]["t"]["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b["key"].as_str().unwrap_or("").to_string(),
                b["doc_count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    counts.sort();
    counts
}
