use std::io::{self, Read, Write};

use chrono::NaiveDate;
use flate2::{write::GzEncoder, Compression};

use crate::{LogKey, LogKind, ReadError, Record, RecordReader};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// Reads all records, or the first error.
fn read_all<R: Read>(reader: R) -> Result<Vec<Vec<u8>>, ReadError> {
    RecordReader::new(reader)
        .map(|r| r.map(|rec| rec.bytes))
        .collect()
}

fn records(doc: &[u8]) -> Vec<String> {
    read_all(doc)
        .unwrap()
        .into_iter()
        .map(|b| String::from_utf8(b).unwrap())
        .collect()
}

fn error(doc: &[u8]) -> ReadError {
    read_all(doc).unwrap_err()
}

/// Hands out at most `chunk` bytes per read, to move window edges around.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Fails with `Interrupted` on every other read.
struct Interrupting<'a> {
    inner: Chunked<'a>,
    flip: bool,
}

impl Read for Interrupting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.flip = !self.flip;
        if self.flip {
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.inner.read(buf)
    }
}

/// Yields its data, then fails.
struct Failing<'a>(&'a [u8]);

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.0.len().min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

// ---- reader: formats ----

#[test]
fn plain_json_records_in_order() {
    let doc = br#"{"Records":[{"a":1},{"b":2},{"c":3}]}"#;
    let mut reader = RecordReader::new(&doc[..]);
    for (i, want) in [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#].iter().enumerate() {
        let rec = reader.next_record().unwrap().unwrap();
        assert_eq!(
            rec,
            Record {
                index: i,
                bytes: want.as_bytes().to_vec()
            }
        );
    }
    assert!(reader.next_record().unwrap().is_none());
    assert!(reader.next_record().unwrap().is_none());
    assert_eq!(reader.records_read(), 3);
    assert_eq!(reader.bytes_read(), doc.len() as u64);
    assert_eq!(reader.input_bytes_read(), doc.len() as u64);
}

#[test]
fn gzip_is_detected_by_magic_bytes() {
    let doc = br#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#;
    let gz = gzip(doc);
    let mut reader = RecordReader::new(&gz[..]);
    let got: Vec<_> = reader.by_ref().map(|r| r.unwrap().bytes).collect();
    assert_eq!(got, read_all(&doc[..]).unwrap());
    assert_eq!(got.len(), 2);
    assert_eq!(reader.bytes_read(), doc.len() as u64);
    assert_eq!(reader.input_bytes_read(), gz.len() as u64);
    // The same bytes, fed one at a time: the sniff must not need both
    // magic bytes in one read.
    let slow = Chunked { data: &gz, chunk: 1 };
    assert_eq!(read_all(slow).unwrap(), got);
}

#[test]
fn plain_json_starting_with_0x1f_alone_is_not_gzip() {
    // A lone 0x1f is not the gzip magic; it is reported as JSON junk.
    let err = error(b"\x1f{}");
    assert!(
        matches!(err, ReadError::NotCloudTrail { offset: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn multi_member_gzip_is_read_whole() {
    let doc = br#"{"Records":[{"a":"first member"},{"b":"second member"}]}"#;
    // Split mid-record, as concatenated uploads might.
    let cut = 25;
    let mut gz = gzip(&doc[..cut]);
    gz.extend(gzip(&doc[cut..]));
    assert_eq!(
        records(&gz),
        [r#"{"a":"first member"}"#, r#"{"b":"second member"}"#]
    );
}

#[test]
fn leading_whitespace_and_bom_are_accepted() {
    let doc = b"\xef\xbb\xbf \n\t{\"Records\":[{\"a\":1}]} \n";
    assert_eq!(records(doc), [r#"{"a":1}"#]);
    // Byte-order mark split across reads.
    let slow = Chunked { data: doc, chunk: 1 };
    assert_eq!(read_all(slow).unwrap(), [b"{\"a\":1}".to_vec()]);
    assert_eq!(records(&gzip(doc)), [r#"{"a":1}"#]);
}

#[test]
fn interrupted_reads_are_retried() {
    let doc = br#"{"Records":[{"a":1},{"b":[2]}]}"#;
    let reader = Interrupting {
        inner: Chunked { data: doc, chunk: 3 },
        flip: false,
    };
    assert_eq!(read_all(reader).unwrap().len(), 2);
}

// ---- reader: exact bytes ----

#[test]
fn records_are_exact_byte_ranges() {
    let recs = [
        r#"{"a":{"b":{"c":[1,2,{"d":null}]}},"e":[]}"#,
        r#"{"s":"braces {}[] quote \" comma , backslash \\ colon :"}"#,
        r#"{"esc":"\\\"","tail":"\\","u":"\u00e9\ud83d\ude00"}"#,
        "{\"raw\":\"caf\u{e9} \u{1f600} \u{4e2d}\u{6587}\"}",
        r#"{ "spaced" : [ 1 , 2 ] , "x" : { } }"#,
        r#"{"k\"ey":"v]}"}"#,
    ];
    let doc = format!("{{ \"Records\" : [\n  {} \n] }}", recs.join(" ,\n\t "));
    assert_eq!(records(doc.as_bytes()), recs);
    // Each is valid JSON to a real parser.
    for r in recs {
        serde_json::from_str::<serde_json::Value>(r).unwrap();
    }
}

#[test]
fn records_need_not_come_first_and_keys_may_follow() {
    let doc = br#"{"before":{"x":["]","}",{"y":"\"["}]},"n":-1.5e3,"t":true,"s":"Records","Records":[{"a":1}],"after":[{"z":"]}"}],"null":null}"#;
    assert_eq!(records(doc), [r#"{"a":1}"#]);
}

#[test]
fn a_second_records_key_fails_the_object_after_the_first_arrays_records() {
    let doc = br#"{"Records":[{"a":1}],"Records":[{"b":2}]}"#;
    let mut reader = RecordReader::new(&doc[..]);
    assert_eq!(reader.next().unwrap().unwrap().bytes, br#"{"a":1}"#);
    let error = reader.next().unwrap().unwrap_err().to_string();
    assert!(error.contains("a second \"Records\" key"), "{error}");
    assert!(reader.next().is_none());
}

#[test]
fn empty_records_array() {
    assert!(records(br#"{"Records":[]}"#).is_empty());
    assert!(records(b"{ \"Records\" : [ \n ] , \"x\": 1 }\n").is_empty());
}

#[test]
fn non_object_elements_are_yielded_as_is() {
    let doc = br#"{"Records":["a string, with ]",42,-0.5e+3,null,true,false,[1,[2]],{"o":1}]}"#;
    assert_eq!(
        records(doc),
        [
            r#""a string, with ]""#,
            "42",
            "-0.5e+3",
            "null",
            "true",
            "false",
            "[1,[2]]",
            r#"{"o":1}"#
        ]
    );
}

// ---- reader: errors ----

fn assert_malformed(err: &ReadError, want_index: usize) {
    match err {
        ReadError::Malformed { index, .. } => assert_eq!(*index, want_index, "{err}"),
        other => panic!("expected Malformed, got {other:?}"),
    }
    assert_eq!(err.record_index(), Some(want_index));
}

fn assert_not_cloudtrail(err: &ReadError, reason_part: &str) {
    match err {
        ReadError::NotCloudTrail { reason, .. } => {
            assert!(reason.contains(reason_part), "{err}")
        }
        other => panic!("expected NotCloudTrail, got {other:?}"),
    }
    assert_eq!(err.record_index(), None);
}

#[test]
fn truncated_mid_record_names_the_record() {
    let doc = br#"{"Records":[{"a":1},{"b":"unterminated"#;
    let mut reader = RecordReader::new(&doc[..]);
    assert_eq!(reader.next_record().unwrap().unwrap().index, 0);
    let err = reader.next_record().unwrap_err();
    assert_malformed(&err, 1);
    match err {
        ReadError::Malformed { offset, .. } => assert_eq!(offset, doc.len() as u64),
        _ => unreachable!(),
    }
    assert!(err.to_string().contains("record 1"), "{err}");
    // Fused.
    assert!(reader.next_record().unwrap().is_none());
    assert!(reader.next().is_none());

    for (doc, index) in [
        (&br#"{"Records":[{"a":[1,2"#[..], 0),
        (br#"{"Records":[{"a":1},"#, 1),
        (br#"{"Records":[{"a":1}"#, 1),
        (br#"{"Records":["#, 0),
        (br#"{"Records":[12"#, 1),
        (br#"{"Records":["str\"#, 0),
    ] {
        assert_malformed(&error(doc), index);
    }
}

#[test]
fn truncated_or_corrupt_gzip_is_an_io_error() {
    let doc = format!(
        r#"{{"Records":[{}]}}"#,
        vec![r#"{"eventName":"x"}"#; 500].join(",")
    );
    let gz = gzip(doc.as_bytes());
    for cut in [gz.len() / 2, gz.len() - 4, 12] {
        let err = error(&gz[..cut]);
        assert!(matches!(err, ReadError::Io { .. }), "cut {cut}: {err:?}");
    }
    // Cut off in the header: no record is involved.
    assert_eq!(error(&gz[..12]).record_index(), None);
    // Cut off mid-stream: the record being read is named.
    let err = error(&gz[..gz.len() / 2]);
    let index = err.record_index().expect("a record is involved");
    assert!(index < 500, "{err}");
    assert!(err.to_string().contains(&format!("in record {index}:")), "{err}");
    let mut corrupt = gz.clone();
    for b in &mut corrupt[20..40] {
        *b ^= 0x55;
    }
    let err = error(&corrupt);
    assert!(matches!(err, ReadError::Io { .. }), "{err:?}");
}

#[test]
fn underlying_read_error_is_io_with_offset() {
    let err = read_all(Failing(br#"{"Records":[{"a":1},"#)).unwrap_err();
    match err {
        ReadError::Io {
            offset, ref source, ..
        } => {
            assert_eq!(offset, 20);
            assert_eq!(source.to_string(), "disk on fire");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn empty_input_is_not_cloudtrail() {
    assert_not_cloudtrail(&error(b""), "empty");
    assert_not_cloudtrail(&error(b" \n\t "), "empty");
    assert_not_cloudtrail(&error(b"\xef\xbb\xbf"), "empty");
    assert_not_cloudtrail(&error(&gzip(b"")), "empty");
}

#[test]
fn top_level_not_an_object() {
    for doc in [&b"[]"[..], b"\"Records\"", b"42", b"null", b"<html>"] {
        assert_not_cloudtrail(&error(doc), "not an object");
    }
    assert_not_cloudtrail(&error(b"\xef\xbbX"), "byte-order mark");
}

#[test]
fn missing_records_key() {
    for doc in [
        &b"{}"[..],
        br#"{"records":[{"a":1}]}"#,
        br#"{"a":{"Records":[]},"b":["Records"]}"#,
        br#"{"Rec\u006frds":[]}"#,
    ] {
        assert_not_cloudtrail(&error(doc), "no \"Records\" key");
    }
}

#[test]
fn records_not_an_array() {
    for doc in [
        &br#"{"Records":{"a":1}}"#[..],
        br#"{"Records":null}"#,
        br#"{"Records":"[]"}"#,
    ] {
        assert_not_cloudtrail(&error(doc), "not an array");
    }
}

#[test]
fn broken_structure_outside_records() {
    assert_not_cloudtrail(&error(br#"{"a":1"#), "end of input");
    assert_not_cloudtrail(&error(br#"{"a" 1}"#), "expected `:`");
    assert_not_cloudtrail(&error(br#"{a:1}"#), "expected a key");
    assert_not_cloudtrail(&error(br#"{"a":1 "b":2}"#), "expected `,` or `}`");
    assert_not_cloudtrail(&error(br#"{"a":,"Records":[]}"#), "expected a value");
    assert_not_cloudtrail(&error(br#"{"a":[1}}"#), "mismatched");
    assert_not_cloudtrail(&error(br#"{"Records":[]"#), "end of input");
    assert_not_cloudtrail(&error(br#"{"Records":[],}"#), "expected a key");
    assert_not_cloudtrail(&error(br#"{"Records":[] x}"#), "after the Records array");
}

#[test]
fn trailing_data_after_the_object() {
    assert!(records(b"{\"Records\":[{\"a\":1}]}  \r\n\t").len() == 1);
    let doc = br#"{"Records":[{"a":1}]} {"Records":[]}"#;
    let mut reader = RecordReader::new(&doc[..]);
    assert!(reader.next_record().unwrap().is_some());
    let err = reader.next_record().unwrap_err();
    match &err {
        ReadError::NotCloudTrail { offset, reason } => {
            assert_eq!(*offset, 22);
            assert!(reason.contains("trailing data"), "{err}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn broken_structure_between_and_inside_records() {
    assert_malformed(&error(br#"{"Records":[{"a":1},]}"#), 1);
    assert_malformed(&error(br#"{"Records":[{"a":1} {"b":2}]}"#), 1);
    assert_malformed(&error(br#"{"Records":[,]}"#), 0);
    assert_malformed(&error(br#"{"Records":[{"a":1},{"b":[}]}"#), 1);
    assert_malformed(&error(br#"{"Records":[{"a":1},1"x"]}"#), 2);
    let err = error(br#"{"Records":[{"a":1},{"b":[}]}"#);
    match err {
        ReadError::Malformed { offset, .. } => assert_eq!(offset, 26),
        other => panic!("{other:?}"),
    }
}

#[test]
fn oversized_record_is_too_large_not_malformed() {
    let doc = br#"{"Records":[{"a":"0123456789"},{"b":"0123456789012345678901234567890123456789"},{"c":1}]}"#;
    let mut reader = RecordReader::new(&doc[..]).with_max_record(32);
    assert!(reader.next_record().unwrap().is_some());
    let err = reader.next_record().unwrap_err();
    assert!(
        matches!(
            err,
            ReadError::RecordTooLarge {
                index: 1,
                limit: 32,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.record_index(), Some(1));
    let text = err.to_string();
    assert!(
        text.contains("record 1 is too large") && !text.contains("malformed"),
        "{text}"
    );
    // Exactly at the cap is fine.
    let doc = br#"{"Records":[{"a":"0123456789"}]}"#;
    let reader = RecordReader::new(&doc[..]).with_max_record(18);
    assert_eq!(reader.count(), 1);
    // Skipped values are not capped: they are never held.
    let doc = br#"{"big":"0123456789012345678901234567890123456789","Records":[]}"#;
    let mut reader = RecordReader::new(&doc[..]).with_max_record(12);
    assert!(reader.next_record().unwrap().is_none());
}

#[test]
fn deep_nesting_does_not_use_the_call_stack() {
    const DEPTH: usize = 10_000;
    let nested = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let record = format!(r#"{{"deep":{nested}}}"#);
    let doc = format!(r#"{{"skip":{nested},"Records":[{record},{nested}],"after":{nested}}}"#);
    let truncated = format!(r#"{{"Records":[{{"deep":{}"#, "{\"a\":[".repeat(DEPTH));
    // A small stack: any recursion per level would overflow it.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let got = records(doc.as_bytes());
            assert_eq!(got, [record, nested]);
            assert_malformed(&error(truncated.as_bytes()), 0);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// A document whose records straddle many 64 KiB window edges, checked
/// against serde_json.
fn big_document() -> (serde_json::Value, Vec<serde_json::Value>) {
    let recs: Vec<serde_json::Value> = (0..5_000)
        .map(|i| {
            serde_json::json!({
                "eventVersion": "1.08",
                "eventID": format!("id-{i}"),
                "eventName": if i % 7 == 0 { "Weird{[\"\\]}" } else { "GetObject" },
                "requestParameters": { "bucketName": "b", "key": "x".repeat(i % 300), "n": i },
                "resources": [{"ARN": "arn:aws:s3:::b/\u{e9}"}],
                "readOnly": i % 2 == 0,
            })
        })
        .collect();
    let doc = serde_json::json!({ "Records": recs.clone(), "zz": {"after": [1, 2, 3]} });
    (doc, recs)
}

#[test]
fn records_spanning_buffer_edges_match_serde_json() {
    let (doc, _) = big_document();
    let compact = serde_json::to_vec(&doc).unwrap();
    assert!(compact.len() > 8 * 64 * 1024);
    let expected: Vec<Vec<u8>> = doc["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| serde_json::to_vec(v).unwrap())
        .collect();
    assert_eq!(read_all(&compact[..]).unwrap(), expected);
    assert_eq!(read_all(&gzip(&compact)[..]).unwrap(), expected);
    let odd = Chunked {
        data: &compact,
        chunk: 65_537,
    };
    assert_eq!(read_all(odd).unwrap(), expected);
    let tiny = Chunked {
        data: &compact[..200_000],
        chunk: 7,
    };
    let partial: Vec<_> = RecordReader::new(tiny).collect();
    let (ok, err): (Vec<_>, Vec<_>) = partial.into_iter().partition(Result::is_ok);
    assert_eq!(err.len(), 1);
    for (got, want) in ok.into_iter().zip(&expected) {
        assert_eq!(&got.unwrap().bytes, want);
    }
}

#[test]
fn pretty_printed_records_parse_back_to_the_same_values() {
    let (doc, recs) = big_document();
    let pretty = serde_json::to_vec_pretty(&doc).unwrap();
    let got = read_all(&pretty[..]).unwrap();
    assert_eq!(got.len(), recs.len());
    for (bytes, want) in got.iter().zip(&recs) {
        assert_eq!(bytes.first(), Some(&b'{'));
        assert_eq!(bytes.last(), Some(&b'}'));
        let value: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(&value, want);
    }
}

// ---- key grammar ----

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

const FILE: &str = "111122223333_CloudTrail_us-east-1_20240517T0000Z_abc.json.gz";

#[test]
fn key_plain() {
    let key = LogKey::parse(&format!(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/{FILE}"
    ))
    .unwrap();
    assert_eq!(
        key,
        LogKey {
            org_id: None,
            account: "111122223333".into(),
            kind: LogKind::CloudTrail,
            region: "us-east-1".into(),
            date: date(2024, 5, 17),
            file_name: FILE.into(),
        }
    );
}

#[test]
fn key_with_prefix_or_local_path() {
    for prefix in ["my/trail/prefix/", "/var/tmp/dump/", "./", "prefix-AWSLogs/"] {
        let key = LogKey::parse(&format!(
            "{prefix}AWSLogs/111122223333/CloudTrail/eu-west-2/2023/12/31/{FILE}"
        ))
        .unwrap();
        assert_eq!(key.region, "eu-west-2");
        assert_eq!(key.date, date(2023, 12, 31));
        assert_eq!(key.file_name, FILE);
    }
    let native = [
        "dump",
        "AWSLogs",
        "111122223333",
        "CloudTrail",
        "us-east-1",
        "2024",
        "01",
        "02",
        "f.json",
    ]
    .join(std::path::MAIN_SEPARATOR_STR);
    assert_eq!(LogKey::parse(&native).unwrap().date, date(2024, 1, 2));
}

#[test]
fn key_last_parsing_awslogs_wins() {
    let key = LogKey::parse(
        "AWSLogs/999999999999/CloudTrail/us-east-1/2020/01/01/AWSLogs/111122223333/CloudTrail/us-west-2/2024/02/29/f.json.gz",
    )
    .unwrap();
    assert_eq!(
        (key.account.as_str(), key.date),
        ("111122223333", date(2024, 2, 29))
    );
    // A later AWSLogs that does not parse does not hide an earlier one.
    let key =
        LogKey::parse("backup/AWSLogs/old/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/f.json.gz")
            .unwrap();
    assert_eq!(key.account, "111122223333");
}

#[test]
fn key_org_trail() {
    let key = LogKey::parse(&format!(
        "org/AWSLogs/o-aa111bb222/111122223333/CloudTrail/us-east-1/2024/05/17/{FILE}"
    ))
    .unwrap();
    assert_eq!(key.org_id.as_deref(), Some("o-aa111bb222"));
    assert_eq!(key.account, "111122223333");
    for bad_org in ["o-short", "o-UPPERCASE12", "o-", &format!("o-{}", "a".repeat(33))] {
        let k = format!("AWSLogs/{bad_org}/111122223333/CloudTrail/us-east-1/2024/05/17/f");
        assert_eq!(LogKey::parse(&k), None, "{k}");
    }
}

#[test]
fn keys_name_their_delivery_time() {
    let at = |key: &str| {
        LogKey::parse(key)
            .and_then(|k| k.delivered())
            .map(|t| t.to_rfc3339())
    };
    assert_eq!(
        at("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/111122223333_CloudTrail_us-east-1_20240517T1005Z_abc.json.gz").as_deref(),
        Some("2024-05-17T10:05:00+00:00")
    );
    assert_eq!(
        at("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/17/111122223333_CloudTrail-Digest_us-east-1_my_trail_us-east-1_20240517T110031Z_backfill.json.gz").as_deref(),
        Some("2024-05-17T11:00:31+00:00")
    );
    assert_eq!(at("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/111122223333_CloudTrail_us-east-1_bad_abc.json.gz"), None);
}

#[test]
fn key_digest_and_insight() {
    let digest = LogKey::parse(
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2024/05/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20240517T000000Z.json.gz",
    )
    .unwrap();
    assert_eq!(digest.kind, LogKind::Digest);
    assert_eq!(digest.region, "us-east-2");
    let insight =
        LogKey::parse("AWSLogs/o-aa111bb222/111122223333/CloudTrail-Insight/ap-south-1/2024/05/17/f.json.gz")
            .unwrap();
    assert_eq!(insight.kind, LogKind::Insight);
}

#[test]
fn key_bad_dates() {
    for ymd in [
        "2023/02/29",
        "2024/02/30",
        "2024/13/01",
        "2024/00/10",
        "2024/01/32",
        "2024/1/05",
        "24/01/05",
        "2024/01/5",
        "2024/+1/05",
        "year/01/05",
    ] {
        let k = format!("AWSLogs/111122223333/CloudTrail/us-east-1/{ymd}/f.json.gz");
        assert_eq!(LogKey::parse(&k), None, "{k}");
    }
}

#[test]
fn key_not_cloudtrail() {
    for k in [
        "AWSLogs/111122223333/Config/us-east-1/2024/05/17/ConfigHistory/f.json.gz",
        "AWSLogs/111122223333/elasticloadbalancing/us-east-1/2024/05/17/f.log.gz",
        "AWSLogs/111122223333/cloudtrail/us-east-1/2024/05/17/f.json.gz",
        "f.json.gz",
        "",
        "AWSLogs",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/sub/f.json.gz",
        "AWSLogs/111122223333/CloudTrail//2024/05/17/f.json.gz",
        "AWSLogs/111122223333/CloudTrail/US-EAST-1/2024/05/17/f.json.gz",
        "awslogs/111122223333/CloudTrail/us-east-1/2024/05/17/f.json.gz",
    ] {
        assert_eq!(LogKey::parse(k), None, "{k:?}");
    }
}

#[test]
fn key_wrong_account_length() {
    for account in [
        "11112222333",
        "1111222233334",
        "11112222333x",
        "",
        "１１１１２２２２３３３３",
    ] {
        let k = format!("AWSLogs/{account}/CloudTrail/us-east-1/2024/05/17/f.json.gz");
        assert_eq!(LogKey::parse(&k), None, "{k}");
    }
}

#[test]
fn key_from_the_file_name_alone() {
    let log =
        LogKey::parse_file_name("111122223333_CloudTrail_us-east-1_20240314T0930Z_fNzbUNBJQtbwhBfe.json.gz")
            .unwrap();
    assert_eq!(
        (log.account.as_str(), log.kind, log.region.as_str()),
        ("111122223333", LogKind::CloudTrail, "us-east-1")
    );
    assert_eq!(log.date, chrono::NaiveDate::from_ymd_opt(2024, 3, 14).unwrap());
    let digest = LogKey::parse_file_name(
        "111122223333_CloudTrail-Digest_us-east-1_mgmt_us-east-1_20240315T010203Z.json.gz",
    )
    .unwrap();
    assert_eq!(
        (digest.kind, digest.date.to_string().as_str()),
        (LogKind::Digest, "2024-03-15")
    );
    let insight =
        LogKey::parse_file_name("111122223333_CloudTrail-Insight_eu-west-1_20240101T0000Z_x.json").unwrap();
    assert_eq!(insight.kind, LogKind::Insight);
    for name in [
        "f.json.gz",
        "111122223333_Config_us-east-1_20240314T0930Z_x.json.gz",
        "11112222333_CloudTrail_us-east-1_20240314T0930Z_x.json.gz",
        "111122223333_CloudTrail_us-east-1_20241314T0930Z_x.json.gz",
        "111122223333_CloudTrail_us-east-1_2024031409:30_x.json.gz",
        "111122223333_CloudTrail_us-east-1_20240314T0930Z_x.txt",
        "111122223333_CloudTrail_US-EAST-1_20240314T0930Z_x.json.gz",
    ] {
        assert_eq!(LogKey::parse_file_name(name), None, "{name}");
    }
}

#[test]
fn zero_bytes_after_the_gzip_stream_end_it_as_for_gnu_gzip() {
    let doc = br#"{"Records":[{"a":1},{"b":2}]}"#;
    for zeros in [1, 511, 70_000] {
        let mut gz = gzip(doc);
        gz.extend(std::iter::repeat_n(0u8, zeros));
        assert_eq!(read_all(&gz[..]).unwrap().len(), 2, "{zeros} zero bytes");
    }
    // Two members, zeros between them and after: both read.
    let mut gz = gzip(br#"{"Records":[{"a":1},"#);
    gz.extend([0u8; 16]);
    gz.extend(gzip(br#"{"b":2}]}"#));
    gz.extend([0u8; 16]);
    assert_eq!(read_all(&gz[..]).unwrap().len(), 2);
    // Anything else after the stream is an error, not silence.
    let mut gz = gzip(doc);
    gz.extend(b"garbage");
    let error = read_all(&gz[..]).unwrap_err().to_string();
    assert!(
        error.contains("neither another gzip member nor zero bytes"),
        "{error}"
    );
}
