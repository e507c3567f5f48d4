//! The design's settings, their defaults, and what they build: the
//! transport, the detected cluster and the sink. The CLI fills them from
//! flags (each also read from its variable); the Lambda from the variables.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use trailsearch_mapping::{Flavour, Granularity, IndexNaming, Locate, Shaper};

use crate::filter::{EventFilter, FieldPattern};
use trailsearch_sink::{
    Auth, BatchLimits, ClusterInfo, RetryPolicy, Secret, SigV4, SigV4Service, Sink, SinkError, Transport,
    TransportConfig,
};

/// A setting that cannot be used, naming the flag or variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A value does not parse.
    #[error("{name}={value:?}: {why}")]
    Invalid {
        /// The variable or flag.
        name: String,
        /// The value given.
        value: String,
        /// What is expected.
        why: String,
    },
    /// Settings that do not go together.
    #[error("{0}")]
    Conflict(String),
    /// The cluster could not be reached or used.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The CA certificate file cannot be read.
    #[error("{}: {source}", path.display())]
    CaCert {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl SettingsError {
    /// A value given or settings combined wrongly (exit status 2), rather
    /// than a cluster or a file that failed.
    pub fn is_usage(&self) -> bool {
        matches!(self, SettingsError::Invalid { .. } | SettingsError::Conflict(_))
    }
}

/// Every setting of the design's table, with its default. `Debug` shows
/// the URL without credentials; secrets are [`Secret`]s.
#[derive(Clone)]
pub struct Settings {
    /// `TRAILSEARCH_ES_URL`.
    pub es_url: String,
    /// `TRAILSEARCH_INDEX_PREFIX`.
    pub index_prefix: String,
    /// `TRAILSEARCH_GRANULARITY`.
    pub granularity: Granularity,
    /// `TRAILSEARCH_ES_USER`.
    pub es_user: Option<String>,
    /// `TRAILSEARCH_ES_PASSWORD`.
    pub es_password: Option<Secret>,
    /// `TRAILSEARCH_ES_API_KEY`.
    pub es_api_key: Option<Secret>,
    /// `TRAILSEARCH_ES_SECRET_ARN` (Lambda): a Secrets Manager secret holding
    /// `{"username","password"}` or `{"api_key"}`.
    pub es_secret_arn: Option<String>,
    /// `TRAILSEARCH_AWS_SIGV4`.
    pub aws_sigv4: Option<SigV4Service>,
    /// `TRAILSEARCH_CA_CERT`.
    pub ca_cert: Option<PathBuf>,
    /// `TRAILSEARCH_INSECURE`.
    pub insecure: bool,
    /// `TRAILSEARCH_GZIP_REQUESTS`: gzip request bodies. Fewer bytes on a
    /// slow link, at a fifth of the client's CPU (`scripts/bench --real`), so
    /// the Lambda beside its cluster turns it off.
    pub gzip_requests: bool,
    /// `TRAILSEARCH_REPLICAS`.
    pub replicas: u32,
    /// `TRAILSEARCH_FLAVOUR`: `None` detects it from `GET /`.
    pub flavour: Option<Flavour>,
    /// `TRAILSEARCH_BULK_BYTES` / `TRAILSEARCH_BULK_DOCS`.
    pub bulk: BatchLimits,
    /// `TRAILSEARCH_CONCURRENCY`.
    pub concurrency: usize,
    /// `TRAILSEARCH_TIMEOUT`.
    pub timeout: Duration,
    /// `TRAILSEARCH_MAX_RETRY_TIME`.
    pub max_retry_time: Duration,
    /// `TRAILSEARCH_INCLUDE`: keep only events matching one of these.
    pub include: Vec<FieldPattern>,
    /// `TRAILSEARCH_EXCLUDE`: drop events matching any (counted as `filtered`).
    pub exclude: Vec<FieldPattern>,
    /// `TRAILSEARCH_GEOIP_CITY_DB`: a MaxMind City database, path or `s3://` URL.
    pub geoip_city_db: Option<String>,
    /// `TRAILSEARCH_GEOIP_ASN_DB`: a MaxMind ASN database, path or `s3://` URL.
    pub geoip_asn_db: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("es_url", &trailsearch_sink::redact_url(&self.es_url))
            .field("index_prefix", &self.index_prefix)
            .field("granularity", &self.granularity)
            .field("es_user", &self.es_user)
            .field("es_password", &self.es_password)
            .field("es_api_key", &self.es_api_key)
            .field("es_secret_arn", &self.es_secret_arn)
            .field("aws_sigv4", &self.aws_sigv4)
            .field("ca_cert", &self.ca_cert)
            .field("insecure", &self.insecure)
            .field("gzip_requests", &self.gzip_requests)
            .field("replicas", &self.replicas)
            .field("flavour", &self.flavour)
            .field("bulk", &self.bulk)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("max_retry_time", &self.max_retry_time)
            .field("include", &self.include)
            .field("exclude", &self.exclude)
            .field("geoip_city_db", &self.geoip_city_db)
            .field("geoip_asn_db", &self.geoip_asn_db)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            es_url: "http://localhost:9200".into(),
            index_prefix: "cloudtrail".into(),
            granularity: Granularity::Day,
            es_user: None,
            es_password: None,
            es_api_key: None,
            es_secret_arn: None,
            aws_sigv4: None,
            ca_cert: None,
            insecure: false,
            gzip_requests: true,
            replicas: 1,
            flavour: None,
            bulk: BatchLimits::default(),
            concurrency: 4,
            timeout: Duration::from_secs(30),
            max_retry_time: Duration::from_secs(300),
            include: Vec::new(),
            exclude: Vec::new(),
            geoip_city_db: None,
            geoip_asn_db: None,
        }
    }
}

/// The longest duration any setting takes: 100 years, past any retention or
/// look-back, and well inside the dates clusters and `chrono` can hold.
pub const MAX_DURATION_DAYS: u64 = 36_525;

/// `30s`, `5m`, `2h`, `7d`, `500ms`, or plain seconds; at most
/// [`MAX_DURATION_DAYS`] days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let out_of_range = || format!("{text:?} is out of range: at most {MAX_DURATION_DAYS}d (100 years)");
    let n: u64 = number.parse().map_err(|e: std::num::ParseIntError| {
        if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
            out_of_range()
        } else {
            format!("{text:?} is not a duration like 30s, 5m, 2h or 7d")
        }
    })?;
    let (millis_per_unit, unit_ok) = match unit {
        "ms" => (1, true),
        "" | "s" => (1_000, true),
        "m" => (60_000, true),
        "h" => (3_600_000, true),
        "d" => (86_400_000, true),
        _ => (0, false),
    };
    if !unit_ok {
        return Err(format!("{text:?}: unknown unit {unit:?} (use ms, s, m, h or d)"));
    }
    match n.checked_mul(millis_per_unit) {
        Some(millis) if millis <= MAX_DURATION_DAYS * 86_400_000 => Ok(Duration::from_millis(millis)),
        _ => Err(out_of_range()),
    }
}

/// `5MiB`, `512KiB`, `1MB`, or plain bytes.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 5MiB"))?;
    let factor = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1024,
        "kb" => 1000,
        "mib" | "m" => 1024 * 1024,
        "mb" => 1_000_000,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use KiB or MiB)")),
    };
    Ok(n * factor)
}

/// The first UTC date retention keeps: indices holding only earlier days
/// go. Whole days, so an index is never deleted while it may still be written.
pub fn retention_cutoff(
    now: chrono::DateTime<chrono::Utc>,
    older_than: Duration,
) -> Result<chrono::NaiveDate, SettingsError> {
    let days = older_than.as_secs() / 86_400;
    if days == 0 {
        return Err(SettingsError::Invalid {
            name: "--older-than".into(),
            value: format!("{older_than:?}"),
            why: "retention is counted in whole days: give at least 1d".into(),
        });
    }
    Ok(now.date_naive() - chrono::Days::new(days))
}

/// `day` or `month`.
pub fn parse_granularity(text: &str) -> Result<Granularity, String> {
    text.parse::<Granularity>().map_err(|e| e.to_string())
}

/// `elasticsearch`, `opensearch` or `compatible`.
pub fn parse_flavour(text: &str) -> Result<Flavour, String> {
    match text {
        "elasticsearch" => Ok(Flavour::Elasticsearch),
        "opensearch" => Ok(Flavour::OpenSearch),
        "compatible" => Ok(Flavour::Compatible),
        other => Err(format!(
            "{other:?} is not one of: elasticsearch, opensearch, compatible"
        )),
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "" | "0" | "false" | "no" => Ok(false),
        _ => Err(format!("{text:?} is not true or false")),
    }
}

impl Settings {
    /// The settings from `TRAILSEARCH_*` variables, read through `lookup`
    /// (`std::env::var` in the Lambda; a map in tests). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        // One variable, parsed; unset or empty keeps the default.
        let var = |name: &str| lookup(name).filter(|v| !v.is_empty());
        fn parsed<T>(
            name: &str,
            value: Option<String>,
            parse: impl Fn(&str) -> Result<T, String>,
        ) -> Result<Option<T>, SettingsError> {
            value
                .map(|v| {
                    parse(&v).map_err(|why| SettingsError::Invalid {
                        name: name.into(),
                        value: v.clone(),
                        why,
                    })
                })
                .transpose()
        }
        let number = |v: &str| v.parse::<usize>().map_err(|_| "not a whole number".to_string());
        let d = Settings::default();
        let replicas = parsed("TRAILSEARCH_REPLICAS", var("TRAILSEARCH_REPLICAS"), |v| {
            v.parse::<u32>().map_err(|_| "not a whole number".to_string())
        })?;
        let aws_sigv4 = parsed("TRAILSEARCH_AWS_SIGV4", var("TRAILSEARCH_AWS_SIGV4"), |v| {
            v.parse::<SigV4Service>().map_err(|e| e.to_string())
        })?;
        let settings = Settings {
            es_url: var("TRAILSEARCH_ES_URL").unwrap_or(d.es_url),
            index_prefix: var("TRAILSEARCH_INDEX_PREFIX").unwrap_or(d.index_prefix),
            granularity: parsed(
                "TRAILSEARCH_GRANULARITY",
                var("TRAILSEARCH_GRANULARITY"),
                parse_granularity,
            )?
            .unwrap_or(d.granularity),
            es_user: var("TRAILSEARCH_ES_USER"),
            es_password: var("TRAILSEARCH_ES_PASSWORD").map(Secret::new),
            es_api_key: var("TRAILSEARCH_ES_API_KEY").map(Secret::new),
            es_secret_arn: var("TRAILSEARCH_ES_SECRET_ARN"),
            geoip_city_db: var("TRAILSEARCH_GEOIP_CITY_DB"),
            geoip_asn_db: var("TRAILSEARCH_GEOIP_ASN_DB"),
            aws_sigv4,
            ca_cert: var("TRAILSEARCH_CA_CERT").map(PathBuf::from),
            insecure: parsed("TRAILSEARCH_INSECURE", var("TRAILSEARCH_INSECURE"), parse_bool)?
                .unwrap_or(false),
            gzip_requests: parsed(
                "TRAILSEARCH_GZIP_REQUESTS",
                var("TRAILSEARCH_GZIP_REQUESTS"),
                parse_bool,
            )?
            .unwrap_or(d.gzip_requests),
            replicas: replicas.unwrap_or(d.replicas),
            flavour: parsed("TRAILSEARCH_FLAVOUR", var("TRAILSEARCH_FLAVOUR"), parse_flavour)?,
            bulk: BatchLimits {
                max_bytes: parsed(
                    "TRAILSEARCH_BULK_BYTES",
                    var("TRAILSEARCH_BULK_BYTES"),
                    parse_bytes,
                )?
                .unwrap_or(d.bulk.max_bytes),
                max_docs: parsed("TRAILSEARCH_BULK_DOCS", var("TRAILSEARCH_BULK_DOCS"), number)?
                    .unwrap_or(d.bulk.max_docs),
            },
            concurrency: parsed("TRAILSEARCH_CONCURRENCY", var("TRAILSEARCH_CONCURRENCY"), number)?
                .unwrap_or(d.concurrency),
            timeout: parsed("TRAILSEARCH_TIMEOUT", var("TRAILSEARCH_TIMEOUT"), parse_duration)?
                .unwrap_or(d.timeout),
            max_retry_time: parsed(
                "TRAILSEARCH_MAX_RETRY_TIME",
                var("TRAILSEARCH_MAX_RETRY_TIME"),
                parse_duration,
            )?
            .unwrap_or(d.max_retry_time),
            include: parsed(
                "TRAILSEARCH_INCLUDE",
                var("TRAILSEARCH_INCLUDE"),
                FieldPattern::parse_list,
            )?
            .unwrap_or_default(),
            exclude: parsed(
                "TRAILSEARCH_EXCLUDE",
                var("TRAILSEARCH_EXCLUDE"),
                FieldPattern::parse_list,
            )?
            .unwrap_or_default(),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks combinations.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let chosen = [
            self.es_user.is_some(),
            self.es_api_key.is_some(),
            self.aws_sigv4.is_some(),
        ];
        if chosen.iter().filter(|c| **c).count() > 1 {
            return Err(SettingsError::Conflict(
                "choose one of --es-user/--es-password (TRAILSEARCH_ES_USER/TRAILSEARCH_ES_PASSWORD), \
                 --es-api-key (TRAILSEARCH_ES_API_KEY) and --aws-sigv4 (TRAILSEARCH_AWS_SIGV4)"
                    .into(),
            ));
        }
        if self.es_password.is_some() && self.es_user.is_none() {
            return Err(SettingsError::Conflict(
                "--es-password (TRAILSEARCH_ES_PASSWORD) needs --es-user (TRAILSEARCH_ES_USER)".into(),
            ));
        }
        if self.bulk.max_docs == 0 || self.bulk.max_bytes == 0 || self.concurrency == 0 {
            return Err(SettingsError::Conflict(
                "--bulk-docs, --bulk-bytes and --concurrency (TRAILSEARCH_BULK_DOCS, TRAILSEARCH_BULK_BYTES, \
                 TRAILSEARCH_CONCURRENCY) must be at least 1"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Takes the cluster credentials from a Secrets Manager secret's JSON:
    /// `{"username","password"}` or `{"api_key"}`.
    pub fn apply_secret(&mut self, secret_json: &str) -> Result<(), SettingsError> {
        let invalid = |why: &str| SettingsError::Invalid {
            name: "TRAILSEARCH_ES_SECRET_ARN".into(),
            value: self.es_secret_arn.clone().unwrap_or_default(),
            why: why.into(),
        };
        let value: serde_json::Value = serde_json::from_str(secret_json).map_err(|_| {
            invalid("the secret is not JSON; store {\"username\",\"password\"} or {\"api_key\"}")
        })?;
        let text = |key: &str| {
            value
                .get(key)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        match (text("username"), text("password"), text("api_key")) {
            (Some(user), Some(password), None) => {
                self.es_user = Some(user);
                self.es_password = Some(Secret::new(password));
            }
            (None, None, Some(key)) => self.es_api_key = Some(Secret::new(key)),
            _ => {
                return Err(invalid(
                    "the secret must hold either \"username\" and \"password\", or \"api_key\"",
                ))
            }
        }
        self.es_secret_arn = None;
        Ok(())
    }

    /// The event filter of the settings alone (no time or account bounds).
    pub fn event_filter(&self) -> EventFilter {
        EventFilter {
            include: self.include.clone(),
            exclude: self.exclude.clone(),
            ..EventFilter::default()
        }
    }

    /// The index naming.
    pub fn naming(&self) -> Result<IndexNaming, SettingsError> {
        IndexNaming::new(&self.index_prefix, self.granularity).map_err(|e| SettingsError::Invalid {
            name: "TRAILSEARCH_INDEX_PREFIX".into(),
            value: self.index_prefix.clone(),
            why: e.to_string(),
        })
    }

    async fn auth(&self) -> Result<Auth, SettingsError> {
        Ok(if let Some(user) = &self.es_user {
            Auth::Basic {
                user: user.clone(),
                password: self.es_password.clone().unwrap_or_else(|| Secret::new("")),
            }
        } else if let Some(key) = &self.es_api_key {
            Auth::ApiKey(key.clone())
        } else if let Some(service) = self.aws_sigv4 {
            Auth::SigV4(SigV4::from_environment(service, None).await?)
        } else {
            Auth::None
        })
    }

    /// The transport (no request is sent).
    pub async fn transport(&self) -> Result<Transport, SettingsError> {
        let ca_cert = match &self.ca_cert {
            Some(path) => Some(std::fs::read(path).map_err(|source| SettingsError::CaCert {
                path: path.clone(),
                source,
            })?),
            None => None,
        };
        Ok(Transport::new(TransportConfig {
            url: self.es_url.clone(),
            auth: self.auth().await?,
            ca_cert,
            insecure: self.insecure,
            timeout: self.timeout,
            // Bodies this small gain nothing from gzip.
            gzip_above: if self.gzip_requests { 1024 } else { usize::MAX },
        })?)
    }

    /// Connects: `GET /` tells the cluster and, unless set, the flavour.
    pub async fn connect(&self) -> Result<Cluster, SettingsError> {
        let transport = self.transport().await?;
        let info = Sink::cluster_info(&transport).await?;
        let flavour = match self.flavour {
            Some(flavour) => flavour,
            None => info.flavour()?,
        };
        Ok(Cluster {
            transport,
            info,
            flavour,
            locator: None,
        })
    }
}

/// A reachable cluster: its transport, what it is, and the flavour in use.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The transport.
    pub transport: Transport,
    /// What `GET /` said.
    pub info: ClusterInfo,
    /// The mapping flavour.
    pub flavour: Flavour,
    /// The GeoIP/ASN lookup documents are enriched with, if any.
    pub locator: Option<Arc<dyn Locate>>,
}

impl Cluster {
    /// The sink for these indices.
    pub fn sink(&self, settings: &Settings, naming: IndexNaming) -> Sink {
        Sink::new(
            self.transport.clone(),
            self.shaper(naming),
            RetryPolicy::default(),
            settings.max_retry_time,
        )
    }

    /// The shaper for these indices.
    pub fn shaper(&self, naming: IndexNaming) -> Shaper {
        let shaper = Shaper::new(naming, self.flavour);
        match &self.locator {
            Some(locator) => shaper.with_locator(locator.clone()),
            None => shaper,
        }
    }

    /// Enriches documents with this GeoIP/ASN lookup.
    pub fn with_locator(mut self, locator: Option<Arc<dyn Locate>>) -> Self {
        self.locator = locator;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_and_variables() {
        let s = Settings::from_lookup(lookup(&[])).unwrap();
        assert_eq!(
            (s.es_url.as_str(), s.index_prefix.as_str()),
            ("http://localhost:9200", "cloudtrail")
        );
        assert_eq!(
            (s.bulk.max_bytes, s.bulk.max_docs, s.concurrency),
            (5 * 1024 * 1024, 5000, 4)
        );
        assert_eq!(
            (s.timeout, s.max_retry_time),
            (Duration::from_secs(30), Duration::from_secs(300))
        );
        assert!(s.gzip_requests);
        let s = Settings::from_lookup(lookup(&[
            ("TRAILSEARCH_GZIP_REQUESTS", "false"),
            ("TRAILSEARCH_GRANULARITY", "month"),
            ("TRAILSEARCH_BULK_BYTES", "1MiB"),
            ("TRAILSEARCH_MAX_RETRY_TIME", "2m"),
            ("TRAILSEARCH_ES_USER", "u"),
            ("TRAILSEARCH_ES_PASSWORD", "hunter2"),
            ("TRAILSEARCH_REPLICAS", ""),
            ("TRAILSEARCH_EXCLUDE", "eventName:Describe*,readOnly:true"),
        ]))
        .unwrap();
        assert!(!s.gzip_requests);
        assert_eq!(s.exclude.len(), 2);
        assert_eq!(s.event_filter().exclude[1].path, "readOnly");
        assert_eq!(s.granularity, Granularity::Month);
        assert_eq!(
            (s.bulk.max_bytes, s.max_retry_time, s.replicas),
            (1 << 20, Duration::from_secs(120), 1)
        );
        assert!(!format!("{s:?}").contains("hunter2"));
        let s = Settings::from_lookup(lookup(&[("TRAILSEARCH_ES_URL", "https://u:pw-9@h:9200/")])).unwrap();
        assert!(!format!("{s:?}").contains("pw-9"), "{s:?}");
    }

    #[test]
    fn secrets_fill_the_credentials_and_never_show() {
        let mut s = Settings::from_lookup(lookup(&[("TRAILSEARCH_ES_SECRET_ARN", "arn:x")])).unwrap();
        s.apply_secret(r#"{"username":"writer","password":"s3cr3t-pw"}"#)
            .unwrap();
        assert_eq!(s.es_user.as_deref(), Some("writer"));
        assert!(!format!("{s:?}").contains("s3cr3t-pw"));
        let mut s = Settings::from_lookup(lookup(&[("TRAILSEARCH_ES_SECRET_ARN", "arn:x")])).unwrap();
        s.apply_secret(r#"{"api_key":"k-123"}"#).unwrap();
        assert_eq!(s.es_api_key.as_ref().map(Secret::expose), Some("k-123"));
        let mut s = Settings::from_lookup(lookup(&[("TRAILSEARCH_ES_SECRET_ARN", "arn:x")])).unwrap();
        let err = s.apply_secret(r#"{"user":"x"}"#).unwrap_err().to_string();
        assert!(err.contains("username") && !err.contains("\"x\""), "{err}");
        assert!(s.apply_secret("not json").is_err());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Settings::from_lookup(lookup(&[("TRAILSEARCH_TIMEOUT", "soon")])).unwrap_err();
        assert!(
            err.to_string().starts_with("TRAILSEARCH_TIMEOUT=\"soon\""),
            "{err}"
        );
        let err = Settings::from_lookup(lookup(&[("TRAILSEARCH_GZIP_REQUESTS", "maybe")])).unwrap_err();
        assert!(
            err.to_string().starts_with("TRAILSEARCH_GZIP_REQUESTS=\"maybe\""),
            "{err}"
        );
        let err = Settings::from_lookup(lookup(&[
            ("TRAILSEARCH_ES_USER", "u"),
            ("TRAILSEARCH_ES_API_KEY", "k"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("choose one"), "{err}");
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 weeks").is_err());
        // Out of range, not a panic or a wrap (the adversarial 99999999d).
        assert_eq!(
            parse_duration("36525d").unwrap(),
            Duration::from_secs(36_525 * 86_400)
        );
        for huge in [
            "36526d",
            "99999999d",
            "99999999999999999999d",
            "9999999999999999999h",
        ] {
            let error = parse_duration(huge).unwrap_err();
            assert!(error.contains("out of range: at most 36525d"), "{huge}: {error}");
        }
        assert_eq!(parse_bytes("5MiB").unwrap(), 5 * 1024 * 1024);
        assert!(parse_bytes("5GiB").is_err());
    }
}
