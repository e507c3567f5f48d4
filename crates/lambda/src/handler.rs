//! The handler: trigger -> object references -> pipeline -> reply.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use trailsearch_cloudtrail::{
    batch_response, sqs_batch_response, BatchResultCode, ObjectNotice, Origin, Trigger, TriggerError,
};
use trailsearch_ingest::{
    beside, load_locator, parse_duration, retention_cutoff, run, Cluster, IngestConfig, KeyRing, ObjectRef,
    ObjectStore, Plan, Progress, ProgressEvent, Report, RunOutcome, Settings, SettingsError, ASN_DB_NAME,
    CITY_DB_NAME,
};
use trailsearch_mapping::IndexNaming;

use crate::metrics::{emf_line, emf_path_lines, InvocationMetrics};

/// Why an invocation failed as a whole (Lambda then retries or redrives it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The payload is no trigger this function knows.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    /// Settings or the cluster.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The GeoIP/ASN databases (`TRAILSEARCH_GEOIP_*_DB`) cannot be used.
    #[error(transparent)]
    Enrichment(#[from] trailsearch_ingest::IngestError),
    /// The index template is missing: documents would get dynamic mappings.
    #[error("the index template {template} is not installed on {url}: run `trailsearch setup` first")]
    NoTemplate {
        /// The template name.
        template: String,
        /// The cluster.
        url: String,
    },
    /// Objects of a direct invocation failed.
    #[error("{failed} of {objects} objects failed: {first}")]
    ObjectsFailed {
        /// How many failed.
        failed: usize,
        /// How many were named.
        objects: usize,
        /// The first failure.
        first: String,
    },
    /// The Secrets Manager secret could not be read.
    #[error("cannot read the secret {arn} (TRAILSEARCH_ES_SECRET_ARN): {reason}")]
    Secret {
        /// The secret's ARN.
        arn: String,
        /// Why.
        reason: String,
    },
    /// Retention failed.
    #[error("retention: {0}")]
    Retention(trailsearch_sink::SinkError),
}

impl HandlerError {
    /// A short name for Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerError::Trigger(_) => "UnrecognisedTrigger",
            HandlerError::Settings(_) => "Settings",
            HandlerError::Enrichment(_) => "Enrichment",
            HandlerError::NoTemplate { .. } => "NoTemplate",
            HandlerError::ObjectsFailed { .. } => "ObjectsFailed",
            HandlerError::Secret { .. } => "Secret",
            HandlerError::Retention(_) => "Retention",
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.kind().to_string(),
            error_message: error.to_string(),
        }
    }
}

/// The Lambda's own settings, beside the design's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaSettings {
    /// `TRAILSEARCH_RETENTION`: indices older than this go on scheduled events.
    pub retention: Option<Duration>,
    /// `TRAILSEARCH_METRICS_NAMESPACE` (default `trailsearch`).
    pub metrics_namespace: String,
    /// `TRAILSEARCH_SAFETY_MARGIN` (default 10 s): no object starts, and no
    /// retry waits, closer than this to the invocation's deadline.
    pub safety_margin: Duration,
}

impl LambdaSettings {
    /// From variables read through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let duration = |name: &str| -> Result<Option<Duration>, SettingsError> {
            lookup(name)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    parse_duration(&v).map_err(|why| SettingsError::Invalid {
                        name: name.into(),
                        value: v.clone(),
                        why,
                    })
                })
                .transpose()
        };
        Ok(LambdaSettings {
            retention: duration("TRAILSEARCH_RETENTION")?,
            metrics_namespace: lookup("TRAILSEARCH_METRICS_NAMESPACE")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "trailsearch".into()),
            safety_margin: duration("TRAILSEARCH_SAFETY_MARGIN")?.unwrap_or(Duration::from_secs(10)),
        })
    }
}

/// What the handler needs, built once per cold start without network calls;
/// the cluster is reached lazily, on the first invocation that needs it.
pub struct Deps {
    settings: Settings,
    lambda: LambdaSettings,
    naming: IndexNaming,
    store: ObjectStore,
    secrets: Option<aws_sdk_secretsmanager::Client>,
    cluster: OnceCell<Cluster>,
    /// CloudTrail's public keys for the digests S3 announces.
    keys: Arc<tokio::sync::Mutex<KeyRing>>,
}

impl Deps {
    /// Dependencies from settings and an object store.
    pub fn new(settings: Settings, lambda: LambdaSettings, store: ObjectStore) -> Result<Self, HandlerError> {
        let naming = settings.naming()?;
        Ok(Deps {
            settings,
            lambda,
            naming,
            store,
            secrets: None,
            cluster: OnceCell::new(),
            keys: Arc::default(),
        })
    }

    /// Validates digests with these keys.
    pub fn with_keys(mut self, keys: KeyRing) -> Self {
        self.keys = Arc::new(tokio::sync::Mutex::new(keys));
        self
    }

    /// Reads `TRAILSEARCH_ES_SECRET_ARN` with this client.
    pub fn with_secrets(mut self, client: aws_sdk_secretsmanager::Client) -> Self {
        self.secrets = Some(client);
        self
    }

    /// From the environment: the design's `TRAILSEARCH_*` variables, and
    /// the standard AWS chain for S3 (`AWS_ENDPOINT_URL` for MinIO or moto).
    pub async fn from_environment() -> Result<Self, HandlerError> {
        let lookup = |name: &str| std::env::var(name).ok();
        let mut settings = Settings::from_lookup(lookup)?;
        // Databases packaged beside `bootstrap` serve when no variable names one.
        if let Some(dir) = std::env::current_exe()
            .ok()
            .as_deref()
            .and_then(std::path::Path::parent)
        {
            settings.geoip_city_db = settings.geoip_city_db.or_else(|| beside(dir, CITY_DB_NAME));
            settings.geoip_asn_db = settings.geoip_asn_db.or_else(|| beside(dir, ASN_DB_NAME));
        }
        let lambda = LambdaSettings::from_lookup(lookup)?;
        let store = ObjectStore::with_s3(ObjectStore::s3_client_from_environment().await);
        let keys = match lookup("TRAILSEARCH_PUBLIC_KEYS") {
            Some(path) => {
                KeyRing::from_path(std::path::Path::new(&path)).map_err(|e| SettingsError::Invalid {
                    name: "TRAILSEARCH_PUBLIC_KEYS".into(),
                    value: path.clone(),
                    why: e.to_string(),
                })?
            }
            None => KeyRing::from_environment().await,
        };
        let deps = Deps::new(settings, lambda, store)?.with_keys(keys);
        Ok(if deps.settings.es_secret_arn.is_some() {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            deps.with_secrets(aws_sdk_secretsmanager::Client::new(&config))
        } else {
            deps
        })
    }

    /// The settings with the secret's credentials, fetched once per cold start.
    async fn settings_with_secret(&self) -> Result<Settings, HandlerError> {
        let mut settings = self.settings.clone();
        let Some(arn) = settings.es_secret_arn.clone() else {
            return Ok(settings);
        };
        let client = self.secrets.as_ref().ok_or_else(|| HandlerError::Secret {
            arn: arn.clone(),
            reason: "no Secrets Manager client".into(),
        })?;
        let secret = client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .map_err(|e| HandlerError::Secret {
                arn: arn.clone(),
                reason: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
            })?;
        let text = secret.secret_string().ok_or_else(|| HandlerError::Secret {
            arn: arn.clone(),
            reason: "the secret has no string value".into(),
        })?;
        settings.apply_secret(text)?;
        Ok(settings)
    }

    async fn cluster(&self) -> Result<&Cluster, HandlerError> {
        self.cluster
            // Boxed: the SDK futures nest deeply enough to overflow type layout.
            .get_or_try_init(|| {
                Box::pin(async {
                    let cluster = self.settings_with_secret().await?.connect().await?;
                    let installed =
                        trailsearch_sink::template_installed(&cluster.transport, &cluster.info, &self.naming)
                            .await
                            .map_err(SettingsError::from)?;
                    if !installed {
                        return Err(HandlerError::NoTemplate {
                            template: self.naming.template_name(),
                            url: cluster.transport.base_url().to_string(),
                        });
                    }
                    // Fetched with the cluster, on the first event: never at init.
                    let locator = load_locator(
                        self.settings.geoip_city_db.as_deref(),
                        self.settings.geoip_asn_db.as_deref(),
                        &self.store,
                    )
                    .await?;
                    Ok(cluster.with_locator(locator))
                })
            })
            .await
    }
}

/// One object's result, as the progress events told it.
#[derive(Debug, Clone, Default)]
struct ObjectResult {
    report: Report,
    newest_event: Option<DateTime<Utc>>,
}

/// Logs one JSON line per object, with the report's key names, and keeps
/// each object's result for the reply.
#[derive(Default)]
struct Results {
    by_object: Mutex<HashMap<String, ObjectResult>>,
}

impl Progress for Results {
    fn on_event(&self, event: &ProgressEvent) {
        if let ProgressEvent::ObjectDone {
            object,
            bytes,
            report,
            error,
            newest_event,
        } = event
        {
            let r = report;
            tracing::info!(
                object = %object, bytes, objects = r.objects, failed_objects = r.failed_objects,
                events = r.events, filtered = r.filtered, indexed = r.indexed, duplicates = r.duplicates,
                degraded = r.degraded, dead_lettered = r.dead_lettered, failed_events = r.failed_events,
                error = error.as_deref().unwrap_or(""), "object done"
            );
            if let Ok(mut by_object) = self.by_object.lock() {
                by_object.insert(
                    object.clone(),
                    ObjectResult {
                        report: *report,
                        newest_event: *newest_event,
                    },
                );
            }
        }
    }
}

/// The invocation's deadline as an `Instant`, or `None` without one (tests).
fn deadline_of(context: &lambda_runtime::Context) -> Option<Instant> {
    // Lambda sends a Unix time in milliseconds; emulators may send something
    // else (`cargo lambda watch` sends 600000, a duration). A "deadline"
    // before 2001 is no deadline: honouring it would start no object at all.
    if context.deadline < 1_000_000_000_000 {
        if context.deadline != 0 {
            tracing::warn!(
                deadline_ms = context.deadline,
                "the invocation's deadline is not a Unix time in milliseconds; ignoring it"
            );
        }
        return None;
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(context.deadline);
    let left = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left)
}

/// Handles one invocation.
pub async fn handle(event: LambdaEvent<Value>, deps: &Deps) -> Result<Value, HandlerError> {
    let deadline = deadline_of(&event.context);
    match Trigger::decode(&event.payload)? {
        Trigger::Scheduled => prune(deps).await,
        Trigger::Objects {
            notices,
            events,
            empty_origins,
            undecodable,
        } => {
            for (origin, reason) in &undecodable {
                tracing::warn!(origin = %origin, reason = %reason, "message not understood; left for redelivery");
            }
            // Each payload of events is one object of the report, read from memory.
            let work: Vec<(Origin, ObjectRef, u64)> = notices
                .iter()
                .map(|(origin, notice)| (origin.clone(), object_of(notice), notice.size.unwrap_or(0)))
                .chain(events.into_iter().map(|(origin, batch)| {
                    let size = batch.records.iter().map(|r| r.len() as u64).sum();
                    (origin, ObjectRef::from(batch), size)
                }))
                .collect();
            let ingested = ingest(deps, work.iter().map(|(_, o, size)| (o.clone(), *size)), deadline).await?;
            let batched = work
                .iter()
                .map(|(o, _, _)| o)
                .chain(&empty_origins)
                .chain(undecodable.iter().map(|(o, _)| o))
                .any(|o| matches!(o, Origin::SqsMessage { .. } | Origin::KinesisRecord { .. }));
            if batched {
                // SQS answers by message, Kinesis by sequence number, in one shape.
                let mut failed: Vec<String> = Vec::new();
                let failed_origins = undecodable.iter().map(|(o, _)| o).chain(
                    work.iter()
                        .filter(|(_, object, _)| ingested.failed.contains_key(&object.name()))
                        .map(|(o, _, _)| o),
                );
                for origin in failed_origins {
                    let id = match origin {
                        Origin::SqsMessage { message_id } => message_id,
                        Origin::KinesisRecord { sequence_number } => sequence_number,
                        _ => continue,
                    };
                    if !failed.contains(id) {
                        failed.push(id.clone());
                    }
                }
                return Ok(sqs_batch_response(&failed));
            }
            match ingested.failed.iter().next() {
                None => Ok(json!({})),
                Some((name, failure)) => Err(HandlerError::ObjectsFailed {
                    failed: ingested.failed.len(),
                    objects: work.len(),
                    first: format!("{name}: {}", failure.0),
                }),
            }
        }
        Trigger::BatchOperations {
            invocation_id,
            invocation_schema_version,
            tasks,
            undecodable,
        } => {
            let objects = tasks
                .iter()
                .map(|(_, notice)| (object_of(notice), notice.size.unwrap_or(0)));
            let ingested = ingest(deps, objects, deadline).await?;
            let mut results = Vec::new();
            for (origin, notice) in &tasks {
                let Origin::BatchTask { task_id } = origin else {
                    continue;
                };
                let name = object_of(notice).name();
                let (code, text) = if let Some((message, permanent)) = ingested.failed.get(&name) {
                    let code = if *permanent {
                        BatchResultCode::PermanentFailure
                    } else {
                        BatchResultCode::TemporaryFailure
                    };
                    (code, message.clone())
                } else if ingested.skipped.contains(&name) {
                    (
                        BatchResultCode::Succeeded,
                        "skipped: not a CloudTrail log object".to_string(),
                    )
                } else {
                    let report = ingested.results.get(&name).map(|r| r.report).unwrap_or_default();
                    (BatchResultCode::Succeeded, report.to_string())
                };
                results.push((task_id.clone(), code, text));
            }
            for (origin, reason) in undecodable {
                if let Origin::BatchTask { task_id } = origin {
                    results.push((task_id, BatchResultCode::PermanentFailure, reason));
                }
            }
            Ok(batch_response(
                &invocation_id,
                &invocation_schema_version,
                &results,
            ))
        }
        _ => Ok(json!({})),
    }
}

fn object_of(notice: &ObjectNotice) -> ObjectRef {
    ObjectRef::S3 {
        bucket: notice.bucket.clone(),
        key: notice.key.clone(),
    }
}

/// What an invocation's ingest did, per object name.
struct Ingested {
    /// Failed objects: message and whether it is permanent.
    failed: HashMap<String, (String, bool)>,
    /// Objects skipped (digests, other logs).
    skipped: HashSet<String>,
    /// Per-object results.
    results: HashMap<String, ObjectResult>,
}

async fn ingest(
    deps: &Deps,
    objects: impl Iterator<Item = (ObjectRef, u64)>,
    deadline: Option<Instant>,
) -> Result<Ingested, HandlerError> {
    let started = Instant::now();
    let filter = deps.settings.event_filter();
    // S3 announces digests too: each is validated, and vouches for its objects.
    let mut plan = Plan {
        digests: true,
        ..Plan::default()
    };
    let mut seen = HashSet::new();
    for (object, size) in objects {
        // The same object named twice (two messages, or a redelivery inside
        // one batch) is read once.
        if seen.insert(object.clone()) {
            plan.add(object, size, &filter);
        }
    }
    let skipped: HashSet<String> = plan.skipped.iter().map(|(object, _)| object.name()).collect();
    let paths: HashMap<String, &'static str> = plan
        .objects
        .iter()
        .map(|(object, _)| (object.name(), object.path_kind()))
        .collect();
    let object_bytes = plan.bytes();
    let results = Results::default();
    let outcome = if plan.objects.is_empty() {
        RunOutcome {
            report: Report {
                skipped_objects: plan.skipped.len() as u64,
                ..Report::default()
            },
            failed: Vec::new(),
        }
    } else {
        let cluster = deps.cluster().await?;
        let margin = deps.lambda.safety_margin;
        let start_deadline = deadline.map(|d| d.checked_sub(margin).unwrap_or(d));
        let mut settings = deps.settings.clone();
        if let Some(d) = start_deadline {
            // Retries end before the deadline, so the reply still goes out.
            settings.max_retry_time = settings
                .max_retry_time
                .min(d.saturating_duration_since(Instant::now()));
        }
        let config = IngestConfig {
            concurrency: settings.concurrency,
            limits: settings.bulk,
            filter,
            start_deadline,
            keys: Some(deps.keys.clone()),
        };
        let sink = cluster.sink(&settings, deps.naming.clone());
        let shaper = cluster.shaper(deps.naming.clone());
        run(plan, &shaper, &sink, &deps.store, &config, &results).await
    };
    let results = results.by_object.into_inner().unwrap_or_else(|p| p.into_inner());
    let lag = |t: chrono::DateTime<Utc>| (Utc::now() - t).num_milliseconds() as f64 / 1000.0;
    let newest = results.values().filter_map(|r| r.newest_event).max();
    let mut newest_by_path: std::collections::BTreeMap<&'static str, chrono::DateTime<Utc>> =
        Default::default();
    for (name, result) in &results {
        if let (Some(path), Some(t)) = (paths.get(name), result.newest_event) {
            let slot = newest_by_path.entry(path).or_insert(t);
            *slot = (*slot).max(t);
        }
    }
    let metrics = InvocationMetrics {
        report: outcome.report,
        object_bytes,
        duration_ms: started.elapsed().as_millis() as u64,
        ingest_lag_seconds: newest.map(lag),
        lag_by_path: newest_by_path
            .into_iter()
            .map(|(path, t)| (path, lag(t)))
            .collect(),
    };
    // EMF must be lines of their own on stdout, which Lambda sends to CloudWatch Logs.
    let now = Utc::now().timestamp_millis();
    println!("{}", emf_line(&deps.lambda.metrics_namespace, &metrics, now));
    for line in emf_path_lines(&deps.lambda.metrics_namespace, &metrics, now) {
        println!("{line}");
    }
    tracing::info!(
        objects = outcome.report.objects,
        skipped_objects = outcome.report.skipped_objects,
        failed_objects = outcome.report.failed_objects,
        events = outcome.report.events,
        filtered = outcome.report.filtered,
        indexed = outcome.report.indexed,
        superseded = outcome.report.superseded,
        duplicates = outcome.report.duplicates,
        degraded = outcome.report.degraded,
        dead_lettered = outcome.report.dead_lettered,
        failed_events = outcome.report.failed_events,
        "invocation done"
    );
    let failed = outcome
        .failed
        .into_iter()
        .map(|(object, failure)| (object.name(), (failure.message, failure.permanent)))
        .collect();
    Ok(Ingested {
        failed,
        skipped,
        results,
    })
}

async fn prune(deps: &Deps) -> Result<Value, HandlerError> {
    let Some(older_than) = deps.lambda.retention else {
        tracing::info!("scheduled event: TRAILSEARCH_RETENTION is not set; nothing to prune");
        return Ok(json!({"deleted": []}));
    };
    let cluster = deps.cluster().await?;
    let cutoff = retention_cutoff(Utc::now(), older_than)?;
    let deleted = trailsearch_sink::prune_indices(&cluster.transport, &deps.naming, cutoff, false)
        .await
        .map_err(HandlerError::Retention)?;
    tracing::info!(deleted = deleted.len(), cutoff = %cutoff, "retention done");
    Ok(json!({"deleted": deleted}))
}
