//! Bad input through the real CLI: every damaged object of
//! `tests/fixtures/bad/` (`scripts/gen-bad-inputs`), plus two large ones
//! built here, is ingested into a fresh prefix. Each test asserts the exit
//! code, the report's exact counts (and its invariant), that nothing
//! panicked, what the error names (file, record, cause), what is indexed
//! and what the dead-letter index holds, with its reasons.
//!
//! Reading stops at a corruption point: the records before it are indexed,
//! none after it is read, and the object counts in `failed_objects`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use trailsearch_e2e::*;

fn bad(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/bad").join(name)
}

/// `setup`, then `ingest PATH --report json` into a fresh prefix.
fn ingest(test: &str, path: &Path) -> (Prefix, Run) {
    let prefix = unique_prefix(test);
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let run = trailsearch(
        &prefix,
        &["ingest", path.to_str().expect("UTF-8 path"), "--report", "json"],
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
    (prefix, run)
}

/// Asserts the exit code and the whole report, exactly, and its invariant.
fn expect_report(run: &Run, code: i32, counts: Value) {
    assert_eq!(run.code, code, "{run}");
    let report = run.report();
    balanced(&report);
    let mut want = json!({
        "objects": 1, "skipped_objects": 0, "failed_objects": 0, "events": 0, "filtered": 0,
        "indexed": 0, "superseded": 0, "duplicates": 0, "degraded": 0, "dead_lettered": 0, "failed_events": 0,
        "digests_valid": 0, "digests_invalid": 0, "integrity_updates": 0,
    });
    for (key, value) in counts.as_object().expect("an object") {
        want[key] = value.clone();
    }
    assert_eq!(report, want, "{run}");
}

/// The `error:` line for the object: it names the file and holds `parts`.
fn expect_error(run: &Run, path: &Path, parts: &[&str]) {
    let name = path.to_str().expect("UTF-8 path");
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: ") && l.contains(name))
        .unwrap_or_else(|| panic!("no error line naming {name}:\n{run}"));
    for part in parts {
        assert!(line.contains(part), "{part:?} not in {line:?}");
    }
}

/// No `error:` line at all: the object was read to its end.
fn expect_no_error(run: &Run) {
    assert!(!run.stderr.lines().any(|l| l.starts_with("error: ")), "{run}");
}

/// The dead letters' `(reason, record)`, sorted by reason.
fn dead_letters(prefix: &str) -> Vec<(String, String)> {
    let index = format!("{prefix}_deadletter");
    refresh(&index);
    let (status, body) = http(
        "POST",
        &format!("{index}/_search?ignore_unavailable=true&allow_no_indices=true"),
        Some(&json!({"size": 100})),
    );
    assert_eq!(status, 200, "{body}");
    let mut letters: Vec<(String, String)> = body["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| {
            let source = &hit["_source"];
            (
                source["reason"].as_str().expect("a reason").to_string(),
                source["record"].as_str().expect("the record").to_string(),
            )
        })
        .collect();
    letters.sort();
    letters
}

fn reasons(prefix: &str) -> Vec<String> {
    dead_letters(prefix)
        .into_iter()
        .map(|(reason, _)| reason)
        .collect()
}

/// The indexed events' `eventID`s, sorted.
fn event_ids(prefix: &str) -> Vec<String> {
    let pattern = format!("{prefix}-*");
    refresh(&pattern);
    let (status, body) = http(
        "POST",
        &format!("{pattern}/_search?ignore_unavailable=true&allow_no_indices=true"),
        Some(&json!({"size": 100})),
    );
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["_source"]["eventID"].as_str().expect("eventID").to_string())
        .collect();
    ids.sort();
    ids
}

/// The fixtures' eventID for good record `n` (see `scripts/gen-bad-inputs`).
fn id(n: u64) -> String {
    format!("0badf00d-0000-4000-8000-{n:012}")
}

// ---- unreadable objects: failed_objects, nothing indexed ----

#[test]
fn bad_input_empty_file_fails_the_object() {
    let path = bad("empty.json");
    let (prefix, run) = ingest("bad-empty", &path);
    expect_report(&run, 1, json!({"failed_objects": 1}));
    expect_error(&run, &path, &["not a CloudTrail log object", "empty input"]);
    assert_eq!(count(&format!("{prefix}-*")), 0);
    assert_eq!(count(&format!("{prefix}_deadletter")), 0);
}

#[test]
fn bad_input_gzip_of_garbage_fails_the_object() {
    let path = bad("garbage.json.gz");
    let (prefix, run) = ingest("bad-garbage-gz", &path);
    expect_report(&run, 1, json!({"failed_objects": 1}));
    expect_error(
        &run,
        &path,
        &["cannot read the object at byte 0", "invalid gzip header"],
    );
    assert_eq!(count(&format!("{prefix}-*")), 0);
}

#[test]
fn bad_input_plain_text_fails_the_object() {
    let path = bad("plain.txt");
    let (prefix, run) = ingest("bad-plain-text", &path);
    expect_report(&run, 1, json!({"failed_objects": 1}));
    expect_error(
        &run,
        &path,
        &[
            "not a CloudTrail log object",
            "the top level is not an object (found `T`)",
            "at byte 0",
        ],
    );
    assert_eq!(count(&format!("{prefix}-*")), 0);
}

#[test]
fn bad_input_json_without_records_fails_the_object() {
    let path = bad("no-records.json");
    let (prefix, run) = ingest("bad-no-records", &path);
    expect_report(&run, 1, json!({"failed_objects": 1}));
    expect_error(
        &run,
        &path,
        &["not a CloudTrail log object", "no \"Records\" key"],
    );
    assert_eq!(count(&format!("{prefix}-*")), 0);
}

#[test]
fn bad_input_records_not_an_array_fails_the_object() {
    let path = bad("records-not-array.json");
    let (prefix, run) = ingest("bad-records-not-array", &path);
    expect_report(&run, 1, json!({"failed_objects": 1}));
    expect_error(
        &run,
        &path,
        &["\"Records\" is not an array (found `{`)", "at byte 11"],
    );
    assert_eq!(count(&format!("{prefix}-*")), 0);
}

// ---- objects damaged part-way: the records before the damage are indexed ----

#[test]
fn bad_input_truncated_gzip_indexes_the_records_before_the_cut() {
    // 40 records gzipped, the stream cut at half its compressed length: the
    // first 9 decompress whole; reading record 9 meets the end of the stream.
    let path = bad("truncated.json.gz");
    let (prefix, run) = ingest("bad-truncated-gz", &path);
    expect_report(&run, 1, json!({"failed_objects": 1, "events": 9, "indexed": 9}));
    expect_error(
        &run,
        &path,
        &[
            "cannot read the object",
            "in record 9",
            "incomplete deflate stream",
        ],
    );
    assert_eq!(event_ids(&prefix), (0..9).map(id).collect::<Vec<_>>());
}

#[test]
fn bad_input_records_array_cut_off_mid_record_indexes_the_records_before() {
    let path = bad("cut-off.json");
    let (prefix, run) = ingest("bad-cut-off", &path);
    expect_report(&run, 1, json!({"failed_objects": 1, "events": 3, "indexed": 3}));
    expect_error(
        &run,
        &path,
        &[
            "malformed JSON in record 3",
            "unexpected end of input",
            "records before this point were ingested",
        ],
    );
    assert_eq!(event_ids(&prefix), [id(1), id(2), id(3)]);
    assert_eq!(count(&format!("{prefix}_deadletter")), 0);
}

// ---- records that cannot be placed: dead-lettered with the reason ----

#[test]
fn bad_input_records_that_are_strings_or_numbers_are_dead_lettered() {
    let path = bad("scalar-records.json");
    let (prefix, run) = ingest("bad-scalar-records", &path);
    expect_report(&run, 1, json!({"events": 4, "indexed": 2, "dead_lettered": 2}));
    expect_no_error(&run);
    assert_eq!(event_ids(&prefix), [id(1), id(2)]);
    assert_eq!(
        dead_letters(&prefix),
        [
            (
                "record 1: the record is a JSON string, not an object".into(),
                "\"just a string\"".into()
            ),
            (
                "record 2: the record is a JSON number, not an object".into(),
                "42".into()
            ),
        ]
    );
}

#[test]
fn bad_input_event_time_missing_or_unparsable_is_dead_lettered() {
    let path = bad("event-time.json");
    let (prefix, run) = ingest("bad-event-time", &path);
    expect_report(&run, 1, json!({"events": 4, "indexed": 1, "dead_lettered": 3}));
    expect_no_error(&run);
    assert_eq!(event_ids(&prefix), [id(1)]);
    assert_eq!(
        reasons(&prefix),
        [
            "record 1: the record has no eventTime, so it cannot be placed in a dated index",
            "record 2: the record's eventTime \"yesterday\" is not an RFC 3339 timestamp",
            "record 3: the record's eventTime \"1710410400\" is not an RFC 3339 timestamp",
        ]
    );
}

#[test]
fn bad_input_invalid_utf8_in_a_string_is_dead_lettered_with_the_parse_error() {
    // The reader yields the record's bytes untouched; serde_json refuses the
    // invalid UTF-8, so the record cannot be shaped and is dead-lettered
    // (its bytes kept, lossily, in `record`). The records around it are indexed.
    let path = bad("invalid-utf8.json");
    let (prefix, run) = ingest("bad-invalid-utf8", &path);
    expect_report(&run, 1, json!({"events": 3, "indexed": 2, "dead_lettered": 1}));
    expect_no_error(&run);
    assert_eq!(event_ids(&prefix), [id(1), id(3)]);
    let letters = dead_letters(&prefix);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let (reason, record) = &letters[0];
    assert!(
        reason.starts_with("record 1: the record is not valid JSON: invalid unicode code point"),
        "{reason}"
    );
    assert!(
        record.contains("agent-\u{fffd}\u{fffd}") && record.contains(&id(2)),
        "{record}"
    );
}

#[test]
fn bad_input_depth_200_exceeds_serde_json_recursion_limit_and_is_dead_lettered() {
    // The reader scans any depth (a bit a level); serde_json parses at most
    // 128 levels, so the depth-200 record is dead-lettered with that reason,
    // and the depth-100 one beside it is indexed.
    let path = bad("deep.json");
    let (prefix, run) = ingest("bad-deep", &path);
    expect_report(&run, 1, json!({"events": 2, "indexed": 1, "dead_lettered": 1}));
    expect_no_error(&run);
    assert_eq!(event_ids(&prefix), [id(2)]);
    let letters = dead_letters(&prefix);
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(
        letters[0]
            .0
            .starts_with("record 0: the record is not valid JSON: recursion limit exceeded"),
        "{letters:?}"
    );
    assert!(
        letters[0].1.contains(&"{\"a\":".repeat(199)),
        "the whole record is kept"
    );
}

#[test]
fn bad_input_duplicate_keys_keep_the_last_value() {
    // serde_json keeps the last of duplicate keys: the record is indexed
    // with eventName "SecondName".
    let path = bad("duplicate-keys.json");
    let (prefix, run) = ingest("bad-duplicate-keys", &path);
    expect_report(&run, 0, json!({"events": 2, "indexed": 2}));
    expect_no_error(&run);
    let (status, body) = http(
        "POST",
        &format!("{prefix}-*/_search"),
        Some(&json!({"query": {"term": {"eventID": id(1)}}})),
    );
    assert_eq!(status, 200, "{body}");
    let hits = body["hits"]["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 1, "{body}");
    assert_eq!(hits[0]["_source"]["eventName"], "SecondName", "{body}");
}

// ---- large objects, built here so the checked-in corpus stays small ----

fn record(n: u64, extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","eventTime":"2024-03-14T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventID":"{}","recipientAccountId":"111122223333"{extra}}}"#,
        id(n)
    )
}

#[test]
fn bad_input_one_record_of_1_mb_is_indexed_with_its_long_value_unindexed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("one-megabyte.json");
    let long = "x".repeat(1 << 20);
    let body = format!(
        r#"{{"Records":[{}]}}"#,
        record(1, &format!(r#","requestParameters":{{"policy":"{long}"}}"#))
    );
    assert!(body.len() > 1 << 20);
    std::fs::write(&path, body).expect("write");
    let (prefix, run) = ingest("bad-one-mb", &path);
    expect_report(&run, 0, json!({"events": 1, "indexed": 1}));
    expect_no_error(&run);
    // Over Lucene's term limit: kept whole under trailsearch.unindexed.
    let (status, doc) = http("GET", &format!("{prefix}-2024.03.14/_doc/{}", id(1)), None);
    assert_eq!(status, 200, "{doc}");
    let source = doc["_source"].to_string();
    assert!(
        source.contains(&long) && source.contains("unindexed"),
        "{}",
        &source[..300]
    );
}

#[test]
fn bad_input_100000_tiny_records_are_all_indexed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tiny.json");
    let records: Vec<String> = (0..100_000)
        .map(|n| format!(r#"{{"eventTime":"2024-03-14T10:00:00Z","eventID":"{}"}}"#, id(n)))
        .collect();
    std::fs::write(&path, format!(r#"{{"Records":[{}]}}"#, records.join(","))).expect("write");
    let (prefix, run) = ingest("bad-tiny", &path);
    expect_report(&run, 0, json!({"events": 100_000, "indexed": 100_000}));
    expect_no_error(&run);
    assert_eq!(count(&format!("{prefix}-*")), 100_000);
}

/// A directory walk reports each entry it cannot read and ingests the rest:
/// a dangling link fails as an object, a FIFO and links to directories are
/// skipped with their reasons (they used to abort the whole run, or walk a
/// loop 40 levels deep, or walk `/`); a flat copy of CloudTrail files and a
/// lower-case `cloudtrail/` folder are read, another service's logs skipped.
#[test]
fn bad_input_unreadable_entries_fail_alone_and_flat_copies_are_read() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let write = |rel: &str, n: u64| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!(r#"{{"Records":[{}]}}"#, record(n, ""))).unwrap();
    };
    write("good.json", 1);
    write(
        "AWSLogs/111122223333_CloudTrail_us-east-1_20240314T0930Z_flat.json",
        2,
    );
    write(
        "AWSLogs/111122223333/cloudtrail/us-east-1/2024/03/14/lower.json",
        3,
    );
    write("AWSLogs/111122223333/Config/us-east-1/2024/03/14/config.json", 4);
    symlink("/nonexistent/trailsearch", root.join("dangling.json")).unwrap();
    symlink("/", root.join("root-link")).unwrap();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    symlink("..", root.join("sub/back")).unwrap();
    let fifo = root.join("pipe.json");
    run({
        let mut c = std::process::Command::new("mkfifo");
        c.arg(&fifo);
        c
    })
    .expect_code(0);

    let prefix = unique_prefix("bad-walk");
    trailsearch(&prefix, &["setup"]).expect_code(0);
    let path = root.to_str().unwrap();
    let run = trailsearch(&prefix, &["ingest", path, "--report", "json", "-v"]).expect_code(1);
    let report = balanced(&run.report()).clone();
    assert_eq!(
        report,
        json!({"objects": 4, "skipped_objects": 4, "failed_objects": 1, "events": 3, "filtered": 0,
               "indexed": 3, "superseded": 0, "duplicates": 0, "degraded": 0, "dead_lettered": 0,
               "failed_events": 0, "digests_valid": 0, "digests_invalid": 0, "integrity_updates": 0}),
        "{run}"
    );
    assert_eq!(event_ids(&prefix), [id(1), id(2), id(3)]);
    for line in [
        "dangling.json: a symbolic link to nothing readable",
        "skipped 1 objects: other services' logs under AWSLogs/",
        "skipped 1 objects: not regular files (FIFOs, sockets, devices)",
        "skipped 2 objects: links to directories, not followed (--follow-symlinks follows them)",
        "pipe.json: not regular files",
        "root-link: links to directories",
    ] {
        assert!(run.stderr.contains(line), "missing {line:?}\n{run}");
    }

    // Followed, the loop is found and named, not walked.
    let looped = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(looped.path().join("sub")).unwrap();
    symlink("..", looped.path().join("sub/back")).unwrap();
    std::fs::write(
        looped.path().join("sub/one.json"),
        format!(r#"{{"Records":[{}]}}"#, record(5, "")),
    )
    .unwrap();
    let run = trailsearch(
        &prefix,
        &[
            "ingest",
            looped.path().to_str().unwrap(),
            "--follow-symlinks",
            "--report",
            "json",
        ],
    )
    .expect_code(1);
    let report = balanced(&run.report()).clone();
    assert_eq!(
        (report["indexed"].as_u64(), report["failed_objects"].as_u64()),
        (Some(1), Some(1)),
        "{run}"
    );
    assert!(run.stderr.contains("sub/back: a symbolic link loop"), "{run}");
}
