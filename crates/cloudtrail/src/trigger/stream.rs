//! CloudTrail events that arrive as events rather than as S3 objects:
//! EventBridge's "... via CloudTrail" events, CloudWatch Logs subscription
//! payloads, and Kinesis records carrying either (or a bare record). Each
//! payload becomes one [`EventBatch`]: the records' JSON and where they came
//! from.

use std::io::Read;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::{describe, malformed, parse, unrecognised, TriggerError};

/// Where a batch of streamed events came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StreamSource {
    /// An EventBridge event ("AWS API Call via CloudTrail" and the like).
    EventBridge {
        /// The EventBridge event's `id`.
        event_id: String,
        /// Its `detail-type`.
        detail_type: String,
    },
    /// A CloudWatch Logs subscription payload.
    CloudWatchLogs {
        /// `logGroup`.
        log_group: String,
        /// `logStream`.
        log_stream: String,
    },
    /// A Kinesis record.
    Kinesis {
        /// The stream's name, from `eventSourceARN`.
        stream: String,
        /// The record's `sequenceNumber`.
        sequence_number: String,
        /// The CloudWatch Logs group and stream, when the record carries a
        /// subscription payload.
        log: Option<(String, String)>,
    },
}

impl StreamSource {
    /// The path's name: `eventbridge`, `cloudwatch-logs` or `kinesis`.
    pub fn kind(&self) -> &'static str {
        match self {
            StreamSource::EventBridge { .. } => "eventbridge",
            StreamSource::CloudWatchLogs { .. } => "cloudwatch-logs",
            StreamSource::Kinesis { .. } => "kinesis",
        }
    }
}

impl std::fmt::Display for StreamSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamSource::EventBridge { event_id, .. } => write!(f, "eventbridge:{event_id}"),
            StreamSource::CloudWatchLogs {
                log_group,
                log_stream,
            } => write!(f, "cloudwatch-logs:{log_group}/{log_stream}"),
            StreamSource::Kinesis {
                stream,
                sequence_number,
                ..
            } => write!(f, "kinesis:{stream}/{sequence_number}"),
        }
    }
}

/// One payload's CloudTrail records, each as the JSON text it arrived as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBatch {
    /// Where the payload came from.
    pub source: StreamSource,
    /// The records, in payload order.
    pub records: Vec<String>,
}

/// Whether an EventBridge detail type is one of CloudTrail's.
pub(super) fn is_cloudtrail_detail_type(detail_type: &str) -> bool {
    detail_type.ends_with(" via CloudTrail")
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct CloudTrailEvent {
    id: String,
    detail_type: String,
    detail: Value,
}

/// An EventBridge CloudTrail event: its `detail` is the record.
pub(super) fn decode_eventbridge_cloudtrail(
    event: &Value,
    context: &str,
) -> Result<EventBatch, TriggerError> {
    let event: CloudTrailEvent = parse(event, context)?;
    if !event.detail.is_object() {
        return Err(malformed(
            format!("{context}: detail"),
            format!(
                "a CloudTrail record must be an object, found {}",
                describe(&event.detail)
            ),
        ));
    }
    Ok(EventBatch {
        records: vec![event.detail.to_string()],
        source: StreamSource::EventBridge {
            event_id: event.id,
            detail_type: event.detail_type,
        },
    })
}

#[derive(Deserialize)]
struct AwsLogs {
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogsPayload {
    message_type: String,
    #[serde(default)]
    log_group: String,
    #[serde(default)]
    log_stream: String,
    #[serde(default)]
    log_events: Vec<LogEvent>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

fn base64_decode(data: &str, context: &str) -> Result<Vec<u8>, TriggerError> {
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| malformed(context, format!("not base64: {e}")))
}

fn gunzip(bytes: &[u8], context: &str) -> Result<Vec<u8>, TriggerError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| malformed(context, format!("not gzip: {e}")))?;
    Ok(out)
}

/// A CloudWatch Logs subscription payload, already decompressed: its log
/// events' messages are the records. `None` for a `CONTROL_MESSAGE` (the
/// probe CloudWatch Logs sends to check the destination): nothing to ingest.
fn decode_logs_payload(
    json: &[u8],
    context: &str,
) -> Result<Option<(String, String, Vec<String>)>, TriggerError> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| malformed(context, format!("the CloudWatch Logs payload is not JSON: {e}")))?;
    let payload: LogsPayload = parse(&value, context)?;
    match payload.message_type.as_str() {
        "CONTROL_MESSAGE" => Ok(None),
        "DATA_MESSAGE" => Ok(Some((
            payload.log_group,
            payload.log_stream,
            payload.log_events.into_iter().map(|e| e.message).collect(),
        ))),
        other => Err(malformed(
            format!("{context}: messageType"),
            format!("{other:?} is neither DATA_MESSAGE nor CONTROL_MESSAGE"),
        )),
    }
}

/// `{"awslogs":{"data":"<base64 gzip JSON>"}}`, invoked by a subscription
/// filter.
pub(super) fn decode_awslogs(awslogs: &Value) -> Result<Option<EventBatch>, TriggerError> {
    let context = "the CloudWatch Logs payload (awslogs.data)";
    let awslogs: AwsLogs = parse(awslogs, "awslogs")?;
    let json = gunzip(&base64_decode(&awslogs.data, context)?, context)?;
    Ok(
        decode_logs_payload(&json, context)?.map(|(log_group, log_stream, records)| EventBatch {
            source: StreamSource::CloudWatchLogs {
                log_group,
                log_stream,
            },
            records,
        }),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KinesisRecord {
    pub(super) kinesis: KinesisData,
    #[serde(default, rename = "eventSourceARN")]
    event_source_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KinesisData {
    pub(super) sequence_number: String,
    data: String,
}

/// One Kinesis record: a gzip CloudWatch Logs payload (a subscription into
/// the stream), or the JSON of an EventBridge CloudTrail event or of a
/// CloudTrail record (a producer's own). `None` for a CloudWatch Logs
/// `CONTROL_MESSAGE`.
pub(super) fn decode_kinesis(record: &KinesisRecord) -> Result<Option<EventBatch>, TriggerError> {
    let sequence_number = record.kinesis.sequence_number.clone();
    let context = format!("Kinesis record {sequence_number}");
    let stream = record
        .event_source_arn
        .rsplit_once(":stream/")
        .map_or_else(|| record.event_source_arn.clone(), |(_, name)| name.to_string());
    let bytes = base64_decode(&record.kinesis.data, &context)?;
    let source = |log| StreamSource::Kinesis {
        stream: stream.clone(),
        sequence_number: sequence_number.clone(),
        log,
    };
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let json = gunzip(&bytes, &context)?;
        return Ok(
            decode_logs_payload(&json, &context)?.map(|(group, log_stream, records)| EventBatch {
                source: source(Some((group, log_stream))),
                records,
            }),
        );
    }
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| malformed(&context, format!("data is neither gzip nor JSON: {e}")))?;
    let detail_type = value.get("detail-type").and_then(Value::as_str);
    let records = match detail_type {
        Some(kind) if is_cloudtrail_detail_type(kind) => {
            decode_eventbridge_cloudtrail(&value, &context)?.records
        }
        Some(kind) => {
            return Err(unrecognised(format!(
                "{context} is an EventBridge {kind:?} event, not one of CloudTrail's"
            )))
        }
        None if value.get("eventVersion").is_some() || value.get("eventID").is_some() => {
            vec![String::from_utf8_lossy(&bytes).into_owned()]
        }
        None => {
            return Err(unrecognised(format!(
                "{context} holds {}, not a CloudWatch Logs payload, an EventBridge CloudTrail event \
                 or a CloudTrail record",
                describe(&value)
            )))
        }
    };
    Ok(Some(EventBatch {
        source: source(None),
        records,
    }))
}
