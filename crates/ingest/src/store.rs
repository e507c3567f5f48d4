//! Opening objects: local files, and S3 objects streamed from `GetObject`.

use std::fs::File;
use std::io::Read;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio_util::io::SyncIoBridge;

use crate::error::IngestError;
use crate::filter::EventFilter;
use crate::source::{ObjectRef, Plan};

/// Why an object failed, and whether trying again later may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFailure {
    /// What happened, naming the object (and the record, where one is involved).
    pub message: String,
    /// `false` for throttling, timeouts and cluster trouble (retry later);
    /// `true` for objects that will never read (missing, denied, not CloudTrail, corrupt).
    pub permanent: bool,
}

/// Where objects are read from. Cloning is cheap.
#[derive(Debug, Clone, Default)]
pub struct ObjectStore {
    s3: Option<aws_sdk_s3::Client>,
}

impl ObjectStore {
    /// Local files only.
    pub fn local() -> Self {
        ObjectStore { s3: None }
    }

    /// Local files and S3 through this client.
    pub fn with_s3(client: aws_sdk_s3::Client) -> Self {
        ObjectStore { s3: Some(client) }
    }

    /// An S3 client from the standard AWS chain. `AWS_ENDPOINT_URL` (MinIO,
    /// moto, LocalStack) switches to path-style addressing, since
    /// `bucket.127.0.0.1` does not resolve.
    pub async fn s3_client_from_environment() -> aws_sdk_s3::Client {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3_config = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(custom_endpoint)
            .build();
        aws_sdk_s3::Client::from_conf(s3_config)
    }

    fn s3(&self) -> Result<&aws_sdk_s3::Client, ObjectFailure> {
        self.s3.as_ref().ok_or_else(|| ObjectFailure {
            message: "no S3 client was configured for s3:// objects".into(),
            permanent: true,
        })
    }

    /// Opens an object for streaming. Call from a blocking thread inside the
    /// runtime: S3 bodies are bridged from async to `Read`, never buffered whole.
    pub fn open_blocking(&self, object: &ObjectRef) -> Result<Box<dyn Read + Send>, ObjectFailure> {
        match object {
            ObjectRef::Local(path) => File::open(path)
                .map(|f| Box::new(f) as Box<dyn Read + Send>)
                .map_err(|e| ObjectFailure {
                    message: format!("cannot open: {e}"),
                    permanent: e.kind() != std::io::ErrorKind::Interrupted,
                }),
            ObjectRef::S3 { bucket, key } => {
                let client = self.s3()?;
                let handle = tokio::runtime::Handle::current();
                let response = handle
                    .block_on(client.get_object().bucket(bucket).key(key).send())
                    .map_err(|e| {
                        let code = e.code().unwrap_or("").to_string();
                        ObjectFailure {
                            permanent: matches!(
                                code.as_str(),
                                "NoSuchKey" | "NoSuchBucket" | "AccessDenied" | "InvalidObjectState"
                            ),
                            message: format!("GetObject failed: {}", DisplayErrorContext(&e)),
                        }
                    })?;
                Ok(Box::new(SyncIoBridge::new_with_handle(
                    response.body.into_async_read(),
                    handle,
                )))
            }
        }
    }

    /// Lists `s3://bucket/prefix` into the plan: digests and other logs
    /// skipped, keys outside the filter's dates pruned.
    pub async fn plan_s3_prefix(
        &self,
        bucket: &str,
        prefix: &str,
        filter: &EventFilter,
        plan: &mut Plan,
    ) -> Result<(), IngestError> {
        let client = self.s3().map_err(|f| IngestError::Listing {
            url: format!("s3://{bucket}/{prefix}"),
            reason: f.message,
        })?;
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| IngestError::Listing {
                url: format!("s3://{bucket}/{prefix}"),
                reason: DisplayErrorContext(&e).to_string(),
            })?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let size = object.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
                plan.add(
                    ObjectRef::S3 {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                    },
                    size,
                    filter,
                );
            }
        }
        Ok(())
    }
}

/// Splits `s3://bucket/prefix`.
pub fn parse_s3_url(url: &str) -> Result<(String, String), IngestError> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| IngestError::BadS3Url(url.to_string()))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(IngestError::BadS3Url(url.to_string()));
    }
    Ok((bucket.to_string(), prefix.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        assert_eq!(
            parse_s3_url("s3://b/AWSLogs/1/").unwrap(),
            ("b".into(), "AWSLogs/1/".into())
        );
        assert_eq!(parse_s3_url("s3://b").unwrap(), ("b".into(), String::new()));
        assert!(parse_s3_url("s3:///x").is_err());
        assert!(parse_s3_url("http://b/x").is_err());
    }
}
