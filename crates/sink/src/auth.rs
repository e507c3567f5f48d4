//! Credentials and request signing.

use std::sync::Arc;
use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;

use crate::error::SinkError;

/// A secret string: its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for building a header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Which AWS service a SigV4 signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SigV4Service {
    /// Amazon OpenSearch Service domains.
    Es,
    /// OpenSearch Serverless collections.
    Aoss,
}

impl SigV4Service {
    /// The signing name.
    pub fn name(self) -> &'static str {
        match self {
            SigV4Service::Es => "es",
            SigV4Service::Aoss => "aoss",
        }
    }
}

impl std::str::FromStr for SigV4Service {
    type Err = SinkError;
    fn from_str(s: &str) -> Result<Self, SinkError> {
        match s {
            "es" => Ok(SigV4Service::Es),
            "aoss" => Ok(SigV4Service::Aoss),
            other => Err(SinkError::Config(format!(
                "--aws-sigv4 {other:?} is not one of: es (Amazon OpenSearch Service), aoss (OpenSearch Serverless)"
            ))),
        }
    }
}

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// SigV4 signing with credentials from a provider (the standard AWS chain by default).
#[derive(Clone)]
pub struct SigV4 {
    service: SigV4Service,
    region: String,
    credentials: SharedCredentialsProvider,
    clock: Clock,
}

impl std::fmt::Debug for SigV4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("service", &self.service)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl SigV4 {
    /// Signs for `service` in `region` with these credentials.
    pub fn new(
        service: SigV4Service,
        region: impl Into<String>,
        credentials: SharedCredentialsProvider,
    ) -> Self {
        SigV4 {
            service,
            region: region.into(),
            credentials,
            clock: Arc::new(SystemTime::now),
        }
    }

    /// Credentials and region from the standard AWS chain (environment,
    /// profile, web identity, container and instance metadata).
    pub async fn from_environment(service: SigV4Service, region: Option<String>) -> Result<Self, SinkError> {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let region = region
            .or_else(|| config.region().map(|r| r.to_string()))
            .ok_or_else(|| SinkError::Signing("no AWS region: set AWS_REGION".into()))?;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| SinkError::Signing("no AWS credentials provider could be built".into()))?;
        Ok(SigV4::new(service, region, credentials))
    }

    /// Uses this clock instead of the system's (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The service signed for.
    pub fn service(&self) -> SigV4Service {
        self.service
    }

    /// Signs a finished request; returns the headers to add.
    pub async fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Vec<(String, String)>, SinkError> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| SinkError::Signing(format!("no AWS credentials: {e}")))?;
        let identity = credentials.into();
        let mut settings = SigningSettings::default();
        // OpenSearch Serverless requires the payload hash as a header.
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service.name())
            .time((self.clock)())
            .settings(settings)
            .build()
            .map_err(|e| SinkError::Signing(e.to_string()))?
            .into();
        let request = SignableRequest::new(method, url, headers.iter().copied(), SignableBody::Bytes(body))
            .map_err(|e| SinkError::Signing(e.to_string()))?;
        let (instructions, _signature) = sign(request, &params)
            .map_err(|e| SinkError::Signing(e.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect())
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: Secret,
    },
    /// An Elasticsearch API key (the base64 `id:key` form).
    ApiKey(Secret),
    /// AWS SigV4, applied last over the final (gzipped) body.
    SigV4(SigV4),
}
