//! Trigger payloads: every envelope a CloudTrail log object can reach the
//! Lambda in, decoded to a flat list of object references, and the paths
//! CloudTrail events come by as events (EventBridge, CloudWatch Logs,
//! Kinesis), decoded to batches of records.
//!
//! One decoder covers them all because accounts wire S3 to the Lambda in
//! whatever way they already have (S3 notifications straight to Lambda or
//! through SNS or SQS, CloudTrail's own SNS topic, EventBridge, Batch
//! Operations for backfills), while the reply depends on the envelope: SQS
//! wants the ids of failed messages, Batch Operations a result per task,
//! everything else plain success or failure. So every notice keeps its
//! [`Origin`].
//!
//! The envelopes are small private serde types rather than
//! `aws_lambda_events`' structs: those deserialize a batch whole, so one
//! malformed SQS message would fail every message with it, whereas here it
//! is reported alone (`undecodable`) and the rest proceed; they also lack
//! CloudTrail's own SNS notification and tolerate fewer real-world variants.

mod stream;
#[cfg(test)]
mod tests;

pub use stream::{EventBatch, StreamSource};

use std::fmt;

use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

/// One S3 object a trigger names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectNotice {
    /// The bucket's name (never an ARN).
    pub bucket: String,
    /// The object key, URL-decoded where the envelope encodes it: exactly
    /// what `GetObject` takes.
    pub key: String,
    /// The object's size in bytes, when the trigger says.
    pub size: Option<u64>,
    /// The object version the trigger names, if any.
    pub version_id: Option<String>,
}

/// Where a notice came from, so the reply can name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// Direct invocation (S3 event, SNS, EventBridge): one invocation
    /// succeeds or fails whole.
    Direct,
    /// An SQS message: failed ones go in `batchItemFailures`.
    SqsMessage {
        /// The SQS `messageId`, which `batchItemFailures` echoes.
        message_id: String,
    },
    /// An S3 Batch Operations task.
    BatchTask {
        /// The `taskId`, which the task's result echoes.
        task_id: String,
    },
    /// A Kinesis record: failed ones go in `batchItemFailures` by sequence number.
    KinesisRecord {
        /// The record's `sequenceNumber`, which `batchItemFailures` echoes.
        sequence_number: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Direct => f.write_str("direct invocation"),
            Origin::SqsMessage { message_id } => write!(f, "SQS message {message_id}"),
            Origin::BatchTask { task_id } => write!(f, "batch task {task_id}"),
            Origin::KinesisRecord { sequence_number } => write!(f, "Kinesis record {sequence_number}"),
        }
    }
}

/// A decoded trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// Objects to ingest, each with its origin.
    ///
    /// In an SQS batch every message is in exactly one of the three lists:
    /// `notices` (once per object it names), `empty_origins` (it named no
    /// object) or `undecodable`. The Lambda reports the `undecodable` ones,
    /// and those whose objects failed, in `batchItemFailures`, and
    /// acknowledges the rest. [`Origin::Direct`] never appears in
    /// `empty_origins` or `undecodable`: a direct invocation has nothing to
    /// acknowledge per message, and one that cannot be decoded is an
    /// [`Err`] from [`Trigger::decode`] instead.
    Objects {
        /// The objects to ingest, in payload order.
        notices: Vec<(Origin, ObjectNotice)>,
        /// CloudTrail events that arrived as events (EventBridge, CloudWatch
        /// Logs, Kinesis), one batch per payload, in payload order.
        events: Vec<(Origin, EventBatch)>,
        /// SQS messages that named no object (an `s3:TestEvent`, an
        /// `ObjectRemoved` record, an EventBridge event other than "Object
        /// Created"): they must still be acknowledged, i.e. left out of
        /// `batchItemFailures`.
        empty_origins: Vec<Origin>,
        /// SQS messages whose body could not be decoded (not JSON, an
        /// unknown shape, a badly URL-encoded key...), with the reason.
        /// Only these messages fail, not the whole batch, so SQS redelivers
        /// them and eventually moves them to the dead-letter queue, where
        /// they can be inspected.
        undecodable: Vec<(Origin, String)>,
    },
    /// An S3 Batch Operations job invocation: the reply needs these to echo
    /// back (see [`batch_response`]).
    BatchOperations {
        /// The `invocationId`, echoed in the response.
        invocation_id: String,
        /// The `invocationSchemaVersion` (`"1.0"` or `"2.0"`), echoed in
        /// the response.
        invocation_schema_version: String,
        /// The tasks' objects.
        tasks: Vec<(Origin, ObjectNotice)>,
        /// Tasks whose object could not be decoded (a badly URL-encoded
        /// key, no bucket), with the reason: the Lambda answers them
        /// [`BatchResultCode::PermanentFailure`], the reason as
        /// `resultString`, rather than failing the whole invocation.
        undecodable: Vec<(Origin, String)>,
    },
    /// A scheduled event (EventBridge "Scheduled Event"): run retention.
    Scheduled,
}

/// The trigger shapes [`Trigger::decode`] accepts, for error messages.
const ACCEPTED: &str = "an S3 event notification ({\"Records\":[{\"eventSource\":\"aws:s3\",...}]}) \
or s3:TestEvent, invoked directly or carried by SNS ({\"Records\":[{\"EventSource\":\"aws:sns\",...}]}) \
or SQS ({\"Records\":[{\"eventSource\":\"aws:sqs\",...}]}, raw or in an SNS envelope); \
CloudTrail's SNS notification ({\"s3Bucket\":...,\"s3ObjectKey\":[...]}) via SNS or SQS; \
an EventBridge S3 \"Object Created\" event, direct or via SQS; \
an EventBridge CloudTrail event (\"AWS API Call via CloudTrail\" and the other \"... via CloudTrail\" types), \
direct, via SQS or SNS in SQS; \
a CloudWatch Logs subscription payload ({\"awslogs\":{\"data\":...}}); \
Kinesis records ({\"Records\":[{\"eventSource\":\"aws:kinesis\",...}]}) of CloudWatch Logs payloads, \
EventBridge CloudTrail events or CloudTrail records; \
an EventBridge \"Scheduled Event\"; \
an S3 Batch Operations invocation (invocationSchemaVersion 1.0 or 2.0)";

/// Why a trigger payload could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The payload (or a message inside it) has none of the accepted
    /// shapes.
    #[error("unrecognised trigger: {found}; accepted: {ACCEPTED}")]
    Unrecognised {
        /// What was found instead, and where.
        found: String,
    },
    /// An SNS `Message` or SQS `body` is not JSON.
    #[error("message {message_id}: body is not valid JSON: {source}")]
    BadJson {
        /// The SNS `MessageId` or SQS `messageId`.
        message_id: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An object key that should be URL-encoded is not validly so.
    #[error("object key {key:?} is not valid URL-encoded UTF-8: {reason}")]
    BadKey {
        /// The key as it appeared in the payload.
        key: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A recognised shape misses a field it needs, or has one of the
    /// wrong type.
    #[error("malformed {location}: {reason}")]
    Malformed {
        /// Where in the payload, e.g. `Records[2]` or `SQS message <id>`.
        location: String,
        /// What was wrong.
        reason: String,
    },
    /// An S3 Batch Operations invocation of a schema version this crate
    /// does not know.
    #[error("unsupported S3 Batch Operations invocationSchemaVersion {version:?} (supported: 1.0, 2.0)")]
    UnsupportedSchema {
        /// The version found.
        version: String,
    },
}

impl Trigger {
    /// Decodes a Lambda invocation payload.
    ///
    /// Accepts:
    /// - S3 event notifications (`{"Records":[{"eventSource":"aws:s3",...}]}`),
    ///   keeping only `ObjectCreated:*` records, and S3 test events;
    /// - SNS invocations (`"EventSource":"aws:sns"`) whose `Message` is an S3
    ///   event notification, an S3 test event, CloudTrail's own notification
    ///   `{"s3Bucket":...,"s3ObjectKey":[...]}` or an EventBridge S3 event;
    /// - SQS invocations (`"eventSource":"aws:sqs"`) whose bodies are any of
    ///   those, raw or wrapped in an SNS envelope (`"Type":"Notification"`);
    ///   a body that cannot be decoded fails only its message (see
    ///   [`Trigger::Objects`]);
    /// - EventBridge events from S3 (`"source":"aws.s3"`): "Object Created"
    ///   names its object, S3's other object events name none;
    /// - EventBridge CloudTrail events (detail types "... via CloudTrail",
    ///   from any service) direct or in any message above: their `detail`
    ///   is the record, an [`EventBatch`];
    /// - CloudWatch Logs subscription payloads (`{"awslogs":{"data":..}}`),
    ///   whose log events are records (a `CONTROL_MESSAGE` names none);
    /// - Kinesis batches (`"eventSource":"aws:kinesis"`), each record a
    ///   gzip CloudWatch Logs payload, an EventBridge CloudTrail event or a
    ///   record; a record that cannot be decoded fails alone
    ///   ([`Origin::KinesisRecord`]);
    /// - EventBridge "Scheduled Event"s from `aws.events`: [`Trigger::Scheduled`];
    /// - S3 Batch Operations invocations, schema 1.0 and 2.0.
    ///
    /// Keys are URL-decoded where AWS encodes them (S3 event notifications,
    /// Batch Operations); CloudTrail's own notification carries them raw.
    /// Unknown fields are ignored everywhere.
    ///
    /// ```
    /// use trailsearch_cloudtrail::{ObjectNotice, Origin, Trigger};
    ///
    /// let payload = serde_json::json!({"Records": [{
    ///     "eventSource": "aws:s3",
    ///     "eventName": "ObjectCreated:Put",
    ///     "s3": {"bucket": {"name": "logs"}, "object": {"key": "a+b%3Ac.json.gz", "size": 42}}
    /// }]});
    /// let Trigger::Objects { notices, .. } = Trigger::decode(&payload)? else { unreachable!() };
    /// assert_eq!(notices, [(Origin::Direct, ObjectNotice {
    ///     bucket: "logs".into(),
    ///     key: "a b:c.json.gz".into(),
    ///     size: Some(42),
    ///     version_id: None,
    /// })]);
    /// # Ok::<(), trailsearch_cloudtrail::TriggerError>(())
    /// ```
    pub fn decode(payload: &Value) -> Result<Trigger, TriggerError> {
        let Some(object) = payload.as_object() else {
            return Err(unrecognised(format!("the payload is {}", describe(payload))));
        };
        if let Some(records) = object.get("Records") {
            return decode_records(records);
        }
        if object.contains_key("invocationSchemaVersion") {
            return decode_batch(payload);
        }
        if is_scheduled(payload) {
            return Ok(Trigger::Scheduled);
        }
        if let Some(awslogs) = object.get("awslogs") {
            return Ok(Trigger::Objects {
                notices: Vec::new(),
                events: stream::decode_awslogs(awslogs)?
                    .map(|batch| (Origin::Direct, batch))
                    .into_iter()
                    .collect(),
                empty_origins: Vec::new(),
                undecodable: Vec::new(),
            });
        }
        // Anything else must be a message shape invoked directly (an
        // EventBridge event, or a test).
        let found = decode_message(payload, "the payload", Envelope::Allowed)?;
        Ok(Trigger::Objects {
            notices: found.notices.into_iter().map(|n| (Origin::Direct, n)).collect(),
            events: found.events.into_iter().map(|e| (Origin::Direct, e)).collect(),
            empty_origins: Vec::new(),
            undecodable: Vec::new(),
        })
    }
}

/// The result of one S3 Batch Operations task, as its response states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BatchResultCode {
    /// The task is done.
    Succeeded,
    /// The task failed but may succeed if retried: Batch Operations
    /// retries it.
    TemporaryFailure,
    /// The task failed for good.
    PermanentFailure,
}

impl BatchResultCode {
    /// The `resultCode` string AWS expects.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchResultCode::Succeeded => "Succeeded",
            BatchResultCode::TemporaryFailure => "TemporaryFailure",
            BatchResultCode::PermanentFailure => "PermanentFailure",
        }
    }
}

impl fmt::Display for BatchResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds the response an S3 Batch Operations invocation expects:
/// `{"invocationSchemaVersion", "treatMissingKeysAs": "PermanentFailure",
/// "invocationId", "results": [{"taskId", "resultCode", "resultString"}]}`.
///
/// `invocation_id` and `schema` are echoed from the invocation
/// ([`Trigger::BatchOperations`]); each result is `(taskId, code,
/// resultString)`. A task missing from `results` counts as a permanent
/// failure, so a forgotten task is never reported as done.
pub fn batch_response(
    invocation_id: &str,
    schema: &str,
    results: &[(String, BatchResultCode, String)],
) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|(task_id, code, result)| {
            json!({"taskId": task_id, "resultCode": code.as_str(), "resultString": result})
        })
        .collect();
    json!({
        "invocationSchemaVersion": schema,
        "treatMissingKeysAs": "PermanentFailure",
        "invocationId": invocation_id,
        "results": results,
    })
}

/// Builds an SQS partial batch response:
/// `{"batchItemFailures":[{"itemIdentifier":"<messageId>"}, ...]}`.
///
/// An empty list acknowledges the whole batch. (The event source mapping
/// must have `ReportBatchItemFailures` on, or SQS ignores this and treats
/// the invocation as a success.)
pub fn sqs_batch_response(failed_message_ids: &[String]) -> Value {
    let failures: Vec<Value> = failed_message_ids
        .iter()
        .map(|id| json!({"itemIdentifier": id}))
        .collect();
    json!({ "batchItemFailures": failures })
}

// ---- decoding ----

/// Whether an SNS envelope may still be unwrapped: once only (SNS to SQS
/// without raw delivery), never inside an SNS message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Envelope {
    Allowed,
    Unwrapped,
}

/// `{"Records":[...]}` at the top level: S3, SNS or SQS records.
fn decode_records(records: &Value) -> Result<Trigger, TriggerError> {
    let Some(records) = records.as_array() else {
        return Err(malformed("Records", "not an array"));
    };
    let mut notices = Vec::new();
    let mut events = Vec::new();
    let mut empty_origins = Vec::new();
    let mut undecodable = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let location = format!("Records[{i}]");
        match record_source(record) {
            Some("aws:s3") => {
                if let Some(notice) = decode_s3_record(record, &location)? {
                    notices.push((Origin::Direct, notice));
                }
            }
            Some("aws:sns") => {
                let sns: SnsRecord = parse(record, &location)?;
                let body = parse_body(&sns.sns.message, &sns.sns.message_id)?;
                let context = format!("SNS message {}", sns.sns.message_id);
                let found = decode_message(&body, &context, Envelope::Unwrapped)?;
                notices.extend(found.notices.into_iter().map(|n| (Origin::Direct, n)));
                events.extend(found.events.into_iter().map(|e| (Origin::Direct, e)));
            }
            Some("aws:sqs") => {
                // Without its id a message cannot be answered for, so a
                // record lacking one fails the batch.
                let sqs: SqsRecord = parse(record, &location)?;
                let origin = Origin::SqsMessage {
                    message_id: sqs.message_id.clone(),
                };
                match decode_sqs_body(&sqs) {
                    Ok(found) if found.is_empty() => empty_origins.push(origin),
                    Ok(found) => {
                        notices.extend(found.notices.into_iter().map(|n| (origin.clone(), n)));
                        events.extend(found.events.into_iter().map(|e| (origin.clone(), e)));
                    }
                    Err(err) => undecodable.push((origin, err.to_string())),
                }
            }
            Some("aws:kinesis") => {
                // Without its sequence number a record cannot be answered
                // for, so a record lacking one fails the batch.
                let kinesis: stream::KinesisRecord = parse(record, &location)?;
                let origin = Origin::KinesisRecord {
                    sequence_number: kinesis.kinesis.sequence_number.clone(),
                };
                match stream::decode_kinesis(&kinesis) {
                    Ok(Some(batch)) => events.push((origin, batch)),
                    Ok(None) => empty_origins.push(origin),
                    Err(err) => undecodable.push((origin, err.to_string())),
                }
            }
            other => {
                return Err(unrecognised(format!(
                    "{location} has eventSource {}",
                    source_name(other)
                )))
            }
        }
    }
    Ok(Trigger::Objects {
        notices,
        events,
        empty_origins,
        undecodable,
    })
}

/// What one message names: objects, or CloudTrail events that came as events.
#[derive(Default)]
struct Found {
    notices: Vec<ObjectNotice>,
    events: Vec<EventBatch>,
}

impl Found {
    fn objects(notices: Vec<ObjectNotice>) -> Self {
        Found {
            notices,
            events: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.notices.is_empty() && self.events.is_empty()
    }
}

/// A Lambda record's source: S3 and SQS records spell it `eventSource`,
/// SNS records `EventSource`.
fn record_source(record: &Value) -> Option<&str> {
    record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str)
}

/// A record's source for messages: quoted, or "missing".
fn source_name(source: Option<&str>) -> String {
    source.map_or_else(|| "missing".to_owned(), |s| format!("{s:?}"))
}

fn decode_sqs_body(sqs: &SqsRecord) -> Result<Found, TriggerError> {
    let body = parse_body(&sqs.body, &sqs.message_id)?;
    let context = format!("SQS message {}", sqs.message_id);
    decode_message(&body, &context, Envelope::Allowed)
}

/// Decodes one message: an SNS `Message`, an SQS `body`, or a payload
/// invoked directly. `context` names it in errors.
fn decode_message(message: &Value, context: &str, envelope: Envelope) -> Result<Found, TriggerError> {
    let Some(object) = message.as_object() else {
        return Err(unrecognised(format!("{context} is {}", describe(message))));
    };
    if let Some(records) = object.get("Records") {
        return decode_s3_notification(records, context).map(Found::objects);
    }
    if object.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        // Sent once when a notification configuration is saved.
        return Ok(Found::default());
    }
    if object.contains_key("s3Bucket") {
        return decode_cloudtrail_notification(message, context).map(Found::objects);
    }
    if object.contains_key("detail-type") {
        return decode_eventbridge(message, context);
    }
    if let Some(kind) = object.get("Type").and_then(Value::as_str) {
        if envelope == Envelope::Allowed && object.contains_key("Message") {
            if kind == "Notification" {
                let sns: SnsMessage = parse(message, context)?;
                let body = parse_body(&sns.message, &sns.message_id)?;
                let context = format!("{context}: SNS message {}", sns.message_id);
                return decode_message(&body, &context, Envelope::Unwrapped);
            }
            // Notably a SubscriptionConfirmation (cross-account SNS to
            // SQS): failing it keeps it, and its SubscribeURL, in the queue
            // for the operator instead of silently deleting it.
            return Err(unrecognised(format!(
                "{context} is an SNS {kind:?} message, which names no object \
                 (a subscription must be confirmed through its SubscribeURL)"
            )));
        }
    }
    Err(unrecognised(format!("{context} is {}", describe(message))))
}

/// `{"Records":[...]}` inside a message or invoked directly: only S3
/// records may appear.
fn decode_s3_notification(records: &Value, context: &str) -> Result<Vec<ObjectNotice>, TriggerError> {
    let Some(records) = records.as_array() else {
        return Err(malformed(format!("{context}: Records"), "not an array"));
    };
    let mut notices = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let location = format!("{context}: Records[{i}]");
        match record_source(record) {
            Some("aws:s3") => notices.extend(decode_s3_record(record, &location)?),
            other => {
                return Err(unrecognised(format!(
                    "{location} has eventSource {}",
                    source_name(other)
                )))
            }
        }
    }
    Ok(notices)
}

/// One S3 event notification record: its object if it is an
/// `ObjectCreated:*` event, else nothing.
fn decode_s3_record(record: &Value, location: &str) -> Result<Option<ObjectNotice>, TriggerError> {
    let header: S3Record = parse(record, location)?;
    // AWS writes `ObjectCreated:Put`; S3-compatible stores write
    // `s3:ObjectCreated:Put`. Both mean the same.
    let name = header
        .event_name
        .strip_prefix("s3:")
        .unwrap_or(&header.event_name);
    if !name.starts_with("ObjectCreated:") {
        return Ok(None);
    }
    let Some(entity) = record.get("s3") else {
        return Err(malformed(location, "an ObjectCreated record without \"s3\""));
    };
    let entity: S3Entity = parse(entity, &format!("{location}.s3"))?;
    let key = decode_form_key(&entity.object.key).map_err(|reason| TriggerError::BadKey {
        key: entity.object.key.clone(),
        reason,
    })?;
    Ok(Some(ObjectNotice {
        bucket: entity.bucket.name,
        key,
        size: entity.object.size,
        version_id: non_empty(entity.object.version_id),
    }))
}

/// CloudTrail's own SNS notification. Its keys are raw, not URL-encoded.
fn decode_cloudtrail_notification(message: &Value, context: &str) -> Result<Vec<ObjectNotice>, TriggerError> {
    let note: CloudTrailNotification = parse(message, context)?;
    Ok(note
        .s3_object_key
        .into_vec()
        .into_iter()
        .map(|key| ObjectNotice {
            bucket: note.s3_bucket.clone(),
            key,
            size: None,
            version_id: None,
        })
        .collect())
}

/// An EventBridge event inside a message or invoked directly: only S3's
/// count; a scheduled event is handled by [`Trigger::decode`] before this.
fn decode_eventbridge(message: &Value, context: &str) -> Result<Found, TriggerError> {
    let event: EventBridgeEvent = parse(message, context)?;
    if stream::is_cloudtrail_detail_type(&event.detail_type) {
        return Ok(Found {
            notices: Vec::new(),
            events: vec![stream::decode_eventbridge_cloudtrail(message, context)?],
        });
    }
    let unknown = || {
        unrecognised(format!(
            "{context} is an EventBridge {:?} event from {:?}",
            event.detail_type, event.source
        ))
    };
    if event.source != "aws.s3" {
        return Err(unknown());
    }
    if event.detail_type != "Object Created" {
        // S3's other object events name nothing to ingest. Anything else from
        // aws.s3 (a CloudTrail record of an S3 API call, "AWS API Call via
        // CloudTrail") is not acknowledged unread: it fails, as the same
        // events of every other service do.
        return match S3_OBJECT_EVENTS.contains(&event.detail_type.as_str()) {
            true => Ok(Found::default()),
            false => Err(unknown()),
        };
    }
    let detail: EventBridgeDetail = parse(&event.detail, &format!("{context}: detail"))?;
    Ok(Found::objects(vec![ObjectNotice {
        bucket: detail.bucket.name,
        key: decode_eventbridge_key(&detail.object.key),
        size: detail.object.size,
        version_id: non_empty(detail.object.version_id),
    }]))
}

/// The detail types of S3's own EventBridge object events other than
/// "Object Created" (Amazon S3 User Guide, "EventBridge event message
/// structure").
const S3_OBJECT_EVENTS: &[&str] = &[
    "Object Deleted",
    "Object Restore Initiated",
    "Object Restore Completed",
    "Object Restore Expired",
    "Object Tags Added",
    "Object Tags Deleted",
    "Object ACL Updated",
    "Object Storage Class Changed",
    "Object Access Tier Changed",
];

fn is_scheduled(payload: &Value) -> bool {
    payload.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
        && payload.get("source").and_then(Value::as_str) == Some("aws.events")
}

fn decode_batch(payload: &Value) -> Result<Trigger, TriggerError> {
    let invocation: BatchInvocation = parse(payload, "the S3 Batch Operations invocation")?;
    if !matches!(invocation.invocation_schema_version.as_str(), "1.0" | "2.0") {
        return Err(TriggerError::UnsupportedSchema {
            version: invocation.invocation_schema_version,
        });
    }
    let mut tasks = Vec::new();
    let mut undecodable = Vec::new();
    for (i, task) in invocation.tasks.iter().enumerate() {
        // Without its taskId a task cannot be answered for, so that fails
        // the invocation; anything else fails only the task.
        let task: BatchTask = parse(task, &format!("tasks[{i}]"))?;
        let origin = Origin::BatchTask {
            task_id: task.task_id.clone(),
        };
        match batch_notice(task) {
            Ok(notice) => tasks.push((origin, notice)),
            Err(reason) => undecodable.push((origin, reason)),
        }
    }
    Ok(Trigger::BatchOperations {
        invocation_id: invocation.invocation_id,
        invocation_schema_version: invocation.invocation_schema_version,
        tasks,
        undecodable,
    })
}

fn batch_notice(task: BatchTask) -> Result<ObjectNotice, String> {
    // Schema 2.0 names the bucket, 1.0 gives its ARN; take whichever is
    // there rather than trusting the version to say which.
    let bucket = match (task.s3_bucket, task.s3_bucket_arn) {
        (Some(bucket), _) if !bucket.is_empty() => bucket,
        (_, Some(arn)) => bucket_from_arn(&arn)
            .ok_or_else(|| format!("s3BucketArn {arn:?} is not an S3 bucket ARN"))?
            .to_owned(),
        _ => return Err("the task names no bucket (s3Bucket or s3BucketArn)".to_owned()),
    };
    let raw = task.s3_key.ok_or_else(|| "the task names no s3Key".to_owned())?;
    let key = decode_form_key(&raw).map_err(|reason| {
        TriggerError::BadKey {
            key: raw.clone(),
            reason,
        }
        .to_string()
    })?;
    Ok(ObjectNotice {
        bucket,
        key,
        size: None,
        version_id: non_empty(task.s3_version_id),
    })
}

/// The bucket of an S3 bucket ARN: `arn:aws:s3:::bucket`. AWS's own
/// Batch Operations example fills in region and account
/// (`arn:aws:s3:us-east-1:0123456788:bucket`), so those are not required
/// to be empty.
fn bucket_from_arn(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _partition, "s3", _region, _account, bucket]
            if !bucket.is_empty() && !bucket.contains('/') =>
        {
            Some(bucket)
        }
        _ => None,
    }
}

// ---- keys ----

/// Decodes a key in S3's notification encoding (HTML-form URL encoding):
/// `+` is a space, `%XX` a byte; the bytes must form UTF-8.
fn decode_form_key(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                // Digit by digit: `u8::from_str_radix` would take "+1".
                let hex = match bytes.get(i + 1..i + 3) {
                    Some(&[hi, lo]) => hex_value(hi).zip(hex_value(lo)),
                    _ => None,
                };
                match hex {
                    Some((hi, lo)) => out.push(hi << 4 | lo),
                    None => return Err(format!("'%' at byte {i} is not followed by two hex digits")),
                }
                i += 2;
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|err| {
        format!(
            "the decoded bytes are not UTF-8 (invalid sequence at decoded byte {})",
            err.utf8_error().valid_up_to()
        )
    })
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Encodes a key the way S3 event notifications do (as Java's
/// `URLEncoder`, keeping `/`), for [`decode_eventbridge_key`].
fn encode_form_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b'/' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// An EventBridge key, decoded only when it is exactly what S3's
/// notification encoding would have produced.
///
/// AWS documents that S3 *notification* keys are URL-encoded but says
/// nothing for EventBridge, and the evidence disagrees: captured S3
/// EventBridge events show raw `:` in keys (a notification would say
/// `%3A`), and so do moto's, while AWS's Powertools and Data Prepper
/// URL-decode them. Decoding only what round-trips is right either way
/// for every key that has a character S3's encoding would have escaped,
/// and for every CloudTrail key (their own characters are all unreserved;
/// only a trail's key prefix can differ). What stays ambiguous is a key
/// whose only special characters are `+` or valid `%XX`: it is decoded,
/// as Powertools does.
fn decode_eventbridge_key(raw: &str) -> String {
    match decode_form_key(raw) {
        Ok(decoded) if encode_form_key(&decoded) == raw => decoded,
        _ => raw.to_owned(),
    }
}

// ---- helpers ----

fn parse<'a, T: Deserialize<'a>>(value: &'a Value, location: &str) -> Result<T, TriggerError> {
    T::deserialize(value).map_err(|err| malformed(location, err.to_string()))
}

fn parse_body(text: &str, message_id: &str) -> Result<Value, TriggerError> {
    serde_json::from_str(text).map_err(|source| TriggerError::BadJson {
        message_id: message_id.to_owned(),
        source,
    })
}

fn unrecognised(found: String) -> TriggerError {
    TriggerError::Unrecognised { found }
}

fn malformed(location: impl Into<String>, reason: impl Into<String>) -> TriggerError {
    TriggerError::Malformed {
        location: location.into(),
        reason: reason.into(),
    }
}

/// A short description of a JSON value for error messages: its type, and
/// for an object its first keys, which usually tell what it was meant to
/// be.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(_) => "a number".to_owned(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(map) if map.is_empty() => "an empty object".to_owned(),
        Value::Object(map) => {
            const SHOWN: usize = 8;
            let mut keys: Vec<String> = map.keys().take(SHOWN).map(|k| format!("{k:?}")).collect();
            if map.len() > SHOWN {
                keys.push("...".to_owned());
            }
            format!("an object with keys {}", keys.join(", "))
        }
    }
}

/// An empty version id names no version; treat it as absent.
fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// A size that is a number, or a string of one; anything else is dropped
/// rather than failing the object, since a size is only advisory.
fn lenient_size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

// ---- wire shapes (only the fields used; unknown ones are ignored) ----

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    #[serde(default)]
    event_name: String,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: BucketName,
    object: S3Object,
}

#[derive(Deserialize)]
struct BucketName {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Object {
    key: String,
    #[serde(default, deserialize_with = "lenient_size")]
    size: Option<u64>,
    #[serde(default)]
    version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsRecord {
    sns: SnsMessage,
}

/// The `Sns` object of a Lambda SNS record, and the SNS envelope SQS
/// receives without raw delivery: the fields used are named alike.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMessage {
    #[serde(default)]
    message_id: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecord {
    message_id: String,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudTrailNotification {
    s3_bucket: String,
    s3_object_key: OneOrMany,
}

/// `s3ObjectKey` is documented as a list; a lone string is read as one.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(key) => vec![key],
            OneOrMany::Many(keys) => keys,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct EventBridgeEvent {
    detail_type: String,
    source: String,
    #[serde(default)]
    detail: Value,
}

#[derive(Deserialize)]
struct EventBridgeDetail {
    bucket: BucketName,
    object: EventBridgeObject,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct EventBridgeObject {
    key: String,
    #[serde(default, deserialize_with = "lenient_size")]
    size: Option<u64>,
    #[serde(default)]
    version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchInvocation {
    invocation_schema_version: String,
    invocation_id: String,
    #[serde(default)]
    tasks: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchTask {
    task_id: String,
    #[serde(default)]
    s3_key: Option<String>,
    #[serde(default)]
    s3_version_id: Option<String>,
    #[serde(default)]
    s3_bucket: Option<String>,
    #[serde(default)]
    s3_bucket_arn: Option<String>,
}
