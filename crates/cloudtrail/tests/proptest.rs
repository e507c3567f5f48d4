//! Property tests of the record reader: whatever it is fed, it never panics,
//! and every record it yields is a contiguous byte range of its
//! (decompressed) input; for whole, valid input the records are exactly the
//! array's elements.

use std::io::Write;

use flate2::{write::GzEncoder, Compression};
use proptest::prelude::*;
use serde_json::Value;
use trailsearch_cloudtrail::{ReadError, Record, RecordReader};

/// A few hundred cases each, so the suite stays fast.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 300,
        ..ProptestConfig::default()
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("write to a Vec");
    encoder.finish().expect("finish a Vec")
}

/// Reads to the end (the reader is fused), returning the records and the
/// error that stopped it, if any.
fn read_all(input: &[u8]) -> (Vec<Record>, Option<ReadError>) {
    let mut reader = RecordReader::new(input);
    let mut records = Vec::new();
    loop {
        match reader.next_record() {
            Ok(Some(record)) => records.push(record),
            Ok(None) => return (records, None),
            Err(error) => {
                assert!(reader.next_record().expect("fused after an error").is_none());
                return (records, Some(error));
            }
        }
    }
}

/// Asserts every record is a byte range of `text`, in order, without
/// overlap, and numbered 0, 1, 2, ...
fn assert_byte_ranges(records: &[Record], text: &[u8]) {
    let mut from = 0;
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record.index, i);
        assert!(!record.bytes.is_empty(), "record {i} is empty");
        let at = memchr::memmem::find(&text[from..], &record.bytes)
            .unwrap_or_else(|| panic!("record {i} is not a byte range of the input after byte {from}"));
        from += at + record.bytes.len();
    }
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        // Strings full of the scanner's special bytes.
        "[\"\\\\{}\\[\\],: a\u{e9}\u{1F600}]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// `{"Records":[...]}` text with the given elements, pretty or compact,
/// maybe with other keys around the array.
fn log_text(records: &[Value], pretty: bool, extra: &Option<(String, Value)>) -> Vec<u8> {
    let mut object = serde_json::Map::new();
    if let Some((key, value)) = extra {
        if key != "Records" {
            object.insert(key.clone(), value.clone());
        }
    }
    object.insert("Records".into(), Value::Array(records.to_vec()));
    if let Some((key, value)) = extra {
        if key != "Records" {
            object.insert(format!("{key}-after"), value.clone());
        }
    }
    let object = Value::Object(object);
    if pretty {
        serde_json::to_vec_pretty(&object).expect("serialize")
    } else {
        serde_json::to_vec(&object).expect("serialize")
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn proptest_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (records, _) = read_all(&bytes);
        assert_byte_ranges(&records, &bytes);
        // The same bytes behind the gzip magic (a broken gzip stream), and
        // gzipped whole.
        let mut magic = vec![0x1f, 0x8b];
        magic.extend_from_slice(&bytes);
        read_all(&magic);
        let (records, _) = read_all(&gzip(&bytes));
        assert_byte_ranges(&records, &bytes);
    }

    #[test]
    fn proptest_arbitrary_bytes_after_a_records_prefix_never_panic(
        bytes in prop::collection::vec(
            prop_oneof![
                Just(b'{'), Just(b'}'), Just(b'['), Just(b']'), Just(b'"'),
                Just(b'\\'), Just(b','), Just(b':'), Just(b' '), any::<u8>(),
            ],
            0..1024,
        ),
    ) {
        let mut text = br#"{"Records":["#.to_vec();
        text.extend_from_slice(&bytes);
        let (records, _) = read_all(&text);
        assert_byte_ranges(&records, &text);
    }

    #[test]
    fn proptest_arbitrary_json_records_are_byte_ranges_and_round_trip(
        records in prop::collection::vec(json_value(), 0..8),
        pretty in any::<bool>(),
        extra in prop::option::of((any::<String>(), json_value())),
        gzipped in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let text = log_text(&records, pretty, &extra);
        let input = if gzipped { gzip(&text) } else { text.clone() };
        if truncate {
            // Cut anywhere: no panic, and what comes out is still a byte
            // range of the text, whether or not an error follows.
            let cut = cut.index(input.len());
            let (got, _) = read_all(&input[..cut]);
            assert_byte_ranges(&got, &text);
            prop_assert!(got.len() <= records.len());
        } else {
            let (got, error) = read_all(&input);
            prop_assert!(error.is_none(), "{:?}", error);
            assert_byte_ranges(&got, &text);
            // The elements as serde_json reads them from the same text.
            let whole: Value = serde_json::from_slice(&text).expect("valid JSON");
            let elements = whole["Records"].as_array().expect("an array");
            prop_assert_eq!(got.len(), elements.len());
            for (record, element) in got.iter().zip(elements) {
                let parsed: Value = serde_json::from_slice(&record.bytes).expect("a record parses");
                prop_assert_eq!(&parsed, element);
            }
        }
    }
}
