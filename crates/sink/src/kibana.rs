//! Importing saved objects into Kibana or OpenSearch Dashboards:
//! `GET /api/status` tells which one answers, `POST
//! /api/saved_objects/_import?overwrite=true` (multipart, with the product's
//! XSRF header) imports the NDJSON.

use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::SinkError;
use crate::transport::{RequestBody, Transport, TransportConfig};

/// Which product answers; the mapping crate writes the saved objects per product.
pub use trailsearch_kibana::KibanaFlavour;

/// What `GET /api/status` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KibanaStatus {
    /// Which product, when the answer tells.
    pub flavour: Option<KibanaFlavour>,
    /// `version.number`, when given.
    pub version: Option<String>,
}

impl KibanaStatus {
    /// Reads a `GET /api/status` body. Kibana 8 answers with `status.core.elasticsearch`
    /// (`?v7format` or Kibana 7: `status.statuses[].id` `core:elasticsearch@...` /
    /// `plugin:elasticsearch@...`); OpenSearch Dashboards with `core:opensearch@...`
    /// ids (`?v8format`: `status.core.opensearch`). Failing those, `version.build_flavor`
    /// (Kibana 8.10+ only) or the major version (Kibana 7+, Dashboards 1 to 3) decide.
    /// An answer that shows none of these (Kibana's redacted status for anonymous
    /// callers) leaves the flavour unknown.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let status: Value =
            serde_json::from_slice(body).map_err(|e| format!("GET /api/status is not JSON: {e}"))?;
        if !status.is_object() {
            return Err("GET /api/status is not a JSON object".into());
        }
        let version = status["version"]["number"].as_str().map(str::to_string);
        let core = &status["status"]["core"];
        let ids: Vec<&str> = status["status"]["statuses"]
            .as_array()
            .map(|list| list.iter().filter_map(|s| s["id"].as_str()).collect())
            .unwrap_or_default();
        let id_names = |service: &str| {
            ids.iter().any(|id| {
                id.strip_prefix("core:")
                    .or_else(|| id.strip_prefix("plugin:"))
                    .is_some_and(|rest| rest.split('@').next() == Some(service))
            })
        };
        let flavour = if core.get("opensearch").is_some() || id_names("opensearch") {
            Some(KibanaFlavour::OpenSearchDashboards)
        } else if core.get("elasticsearch").is_some()
            || id_names("elasticsearch")
            || status["version"].get("build_flavor").is_some()
        {
            Some(KibanaFlavour::Kibana)
        } else {
            let major = version
                .as_deref()
                .and_then(|v| v.split('.').next())
                .and_then(|m| m.parse::<u32>().ok());
            match major {
                Some(7..) => Some(KibanaFlavour::Kibana),
                Some(1..=3) => Some(KibanaFlavour::OpenSearchDashboards),
                _ => None,
            }
        };
        Ok(KibanaStatus { flavour, version })
    }
}

/// One object the import refused, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportFailure {
    /// The saved object type.
    pub kind: String,
    /// Its ID.
    pub id: String,
    /// Its title, when reported.
    pub title: Option<String>,
    /// `error.type`: `conflict`, `missing_references`, `unsupported_type`, `unknown`...
    pub error: String,
    /// The rest: the message, or the missing references.
    pub detail: String,
}

impl std::fmt::Display for ImportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.id)?;
        if let Some(title) = &self.title {
            write!(f, " ({title:?})")?;
        }
        write!(f, ": {}", self.error)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// An object Kibana imported under another ID than the file's: in a space
/// other than the default, Kibana 8+ gives an object whose ID is taken in
/// another space a new one (keeping the file's as `originId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewId {
    /// The saved object type.
    pub kind: String,
    /// The ID in the file.
    pub id: String,
    /// The ID Kibana gave it (`destinationId`).
    pub destination: String,
}

/// The answer to an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// `success`: every object imported.
    pub success: bool,
    /// `successCount`.
    pub success_count: u64,
    /// `errors`, one per refused object.
    pub failures: Vec<ImportFailure>,
    /// `successResults` imported under a new ID.
    pub new_ids: Vec<NewId>,
}

impl ImportReport {
    /// Reads the `_import` answer (`{success, successCount, errors: [...]}`).
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let answer: Value =
            serde_json::from_slice(body).map_err(|e| format!("the answer is not JSON: {e}"))?;
        let success = answer["success"]
            .as_bool()
            .ok_or_else(|| format!("the answer has no \"success\": {answer}"))?;
        let success_count = answer["successCount"].as_u64().unwrap_or(0);
        let failures = answer["errors"]
            .as_array()
            .map(|errors| errors.iter().map(failure).collect())
            .unwrap_or_default();
        let new_ids = answer["successResults"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|result| {
                let text = |v: &Value| v.as_str().map(str::to_string);
                let id = text(&result["id"])?;
                let destination = text(&result["destinationId"]).filter(|d| *d != id)?;
                Some(NewId {
                    kind: text(&result["type"]).unwrap_or_else(|| "?".into()),
                    id,
                    destination,
                })
            })
            .collect();
        Ok(ImportReport {
            success,
            success_count,
            failures,
            new_ids,
        })
    }
}

fn failure(entry: &Value) -> ImportFailure {
    let text = |v: &Value| v.as_str().map(str::to_string);
    let error = &entry["error"];
    let mut detail = Vec::new();
    if let Some(message) = text(&error["message"]) {
        detail.push(message);
    }
    if let Some(references) = error["references"].as_array() {
        let missing: Vec<String> = references
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["type"].as_str().unwrap_or("?"),
                    r["id"].as_str().unwrap_or("?")
                )
            })
            .collect();
        detail.push(format!("missing {}", missing.join(", ")));
    }
    if let Some(destination) = text(&error["destinationId"]) {
        detail.push(format!("conflicts with {destination}"));
    }
    ImportFailure {
        kind: text(&entry["type"]).unwrap_or_else(|| "?".into()),
        id: text(&entry["id"]).unwrap_or_else(|| "?".into()),
        title: text(&entry["meta"]["title"]).or_else(|| text(&entry["title"])),
        error: text(&error["type"]).unwrap_or_else(|| "unknown".into()),
        detail: detail.join("; "),
    }
}

macro_rules! boundary {
    () => {
        "trailsearch-saved-objects-5c0d2e8a41f7b963"
    };
}

/// The multipart boundary. Fixed, so the body bytes are the same on every
/// run; [`multipart_body`] refuses a file that contains it.
pub const MULTIPART_BOUNDARY: &str = boundary!();

const MULTIPART_CONTENT_TYPE: &str = concat!("multipart/form-data; boundary=", boundary!());

/// The `multipart/form-data` body of an import: one part, `file`, named
/// `trailsearch.ndjson` (the API accepts only `.ndjson` files).
pub fn multipart_body(ndjson: &[u8]) -> Result<RequestBody, SinkError> {
    let delimiter = format!("--{MULTIPART_BOUNDARY}");
    if ndjson.windows(delimiter.len()).any(|w| w == delimiter.as_bytes()) {
        return Err(SinkError::Config(
            "the saved objects contain the multipart boundary".into(),
        ));
    }
    let mut bytes = Vec::with_capacity(ndjson.len() + 256);
    bytes.extend_from_slice(delimiter.as_bytes());
    bytes.extend_from_slice(
        b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"trailsearch.ndjson\"\r\n\
          Content-Type: application/x-ndjson\r\n\r\n",
    );
    bytes.extend_from_slice(ndjson);
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(delimiter.as_bytes());
    bytes.extend_from_slice(b"--\r\n");
    Ok(RequestBody {
        bytes,
        content_type: MULTIPART_CONTENT_TYPE,
    })
}

/// The import path: objects with the same IDs are overwritten.
pub const IMPORT_PATH: &str = "api/saved_objects/_import?overwrite=true";

/// The header OpenSearch Dashboards' security plugin reads the tenant from.
pub const TENANT_HEADER: &str = "securitytenant";

/// Talks to one Kibana or OpenSearch Dashboards.
#[derive(Debug, Clone)]
pub struct KibanaClient {
    transport: Transport,
    /// OpenSearch Dashboards' security tenant (`global`, `private` or a name).
    tenant: Option<String>,
}

impl KibanaClient {
    /// A client for `config.url` (which may carry a base path or a space:
    /// `https://host:5601/s/security`). Bodies are never gzipped.
    pub fn new(mut config: TransportConfig) -> Result<Self, SinkError> {
        let url = Url::parse(&config.url)
            .map_err(|e| SinkError::Config(format!("--kibana-url {:?} is not a URL: {e}", config.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SinkError::Config(format!(
                "--kibana-url {:?}: use http:// or https://",
                crate::transport::redact_url(&config.url)
            )));
        }
        config.gzip_above = usize::MAX;
        Ok(KibanaClient {
            transport: Transport::new(config)?,
            tenant: None,
        })
    }

    /// Sends every request in this security tenant (`securitytenant`).
    pub fn with_tenant(mut self, tenant: Option<String>) -> Self {
        self.tenant = tenant;
        self
    }

    fn headers<'a>(&'a self, more: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
        let mut headers = more.to_vec();
        if let Some(tenant) = &self.tenant {
            headers.push((TENANT_HEADER, tenant.as_str()));
        }
        headers
    }

    /// The URL, without credentials.
    pub fn base_url(&self) -> &Url {
        self.transport.base_url()
    }

    /// `GET /api/status`.
    pub async fn status(&self) -> Result<KibanaStatus, SinkError> {
        let path = "api/status";
        let response = self
            .transport
            .send_with_headers(Method::GET, path, None, &self.headers(&[]))
            .await?;
        if !(200..300).contains(&response.status) {
            return Err(self.transport.status_error(&Method::GET, path, &response));
        }
        KibanaStatus::parse(&response.body).map_err(|reason| SinkError::InvalidResponse {
            url: format!("{}{path}", self.transport.base_url()),
            reason,
        })
    }

    /// Imports NDJSON saved objects, overwriting objects with the same IDs.
    /// A 2xx answer is a report, even when some objects were refused.
    pub async fn import(&self, flavour: KibanaFlavour, ndjson: &[u8]) -> Result<ImportReport, SinkError> {
        let body = multipart_body(ndjson)?;
        let response = self
            .transport
            .send_with_headers(
                Method::POST,
                IMPORT_PATH,
                Some(body),
                &self.headers(&[(flavour.xsrf_header(), "true")]),
            )
            .await?;
        if !(200..300).contains(&response.status) {
            return Err(self.transport.status_error(&Method::POST, IMPORT_PATH, &response));
        }
        ImportReport::parse(&response.body).map_err(|reason| SinkError::InvalidResponse {
            url: format!("{}{IMPORT_PATH}", self.transport.base_url()),
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_answers_tell_the_product() {
        let kibana8 = br#"{"name":"kb","version":{"number":"8.15.3","build_flavor":"traditional"},
            "status":{"overall":{"level":"available"},"core":{"elasticsearch":{"level":"available"},"savedObjects":{"level":"available"}}}}"#;
        let kibana7 = br#"{"version":{"number":"7.17.0"},"status":{"overall":{"state":"green"},
            "statuses":[{"id":"core:elasticsearch@7.17.0","state":"green"}]}}"#;
        let osd = br#"{"name":"osd","version":{"number":"2.17.0","build_hash":"x","build_number":1,"build_snapshot":false},
            "status":{"overall":{"state":"green"},"statuses":[{"id":"core:opensearch@2.17.0"},{"id":"core:savedObjects@2.17.0"}]}}"#;
        let osd_v8 =
            br#"{"version":{"number":"2.11.0"},"status":{"core":{"opensearch":{"level":"available"}}}}"#;
        let bare_osd = br#"{"version":{"number":"2.11.0"}}"#;
        let redacted = br#"{"status":{"overall":{"level":"available"}}}"#;
        let flavour = |body: &[u8]| KibanaStatus::parse(body).unwrap().flavour;
        assert_eq!(flavour(kibana8), Some(KibanaFlavour::Kibana));
        assert_eq!(flavour(kibana7), Some(KibanaFlavour::Kibana));
        assert_eq!(flavour(osd), Some(KibanaFlavour::OpenSearchDashboards));
        assert_eq!(flavour(osd_v8), Some(KibanaFlavour::OpenSearchDashboards));
        assert_eq!(flavour(bare_osd), Some(KibanaFlavour::OpenSearchDashboards));
        assert_eq!(flavour(redacted), None);
        assert_eq!(
            KibanaStatus::parse(osd).unwrap().version.as_deref(),
            Some("2.17.0")
        );
        assert!(KibanaStatus::parse(b"<html>").is_err());
    }

    #[test]
    fn import_answers_list_each_refused_object() {
        let ok = ImportReport::parse(br#"{"success":true,"successCount":23,"successResults":[]}"#).unwrap();
        assert_eq!((ok.success, ok.success_count, ok.failures.len()), (true, 23, 0));
        let moved = ImportReport::parse(
            br#"{"success":true,"successCount":2,"successResults":[
              {"type":"search","id":"s1","destinationId":"2f0c","meta":{}},
              {"type":"search","id":"s2","meta":{}}]}"#,
        )
        .unwrap();
        assert_eq!(
            moved.new_ids,
            [NewId {
                kind: "search".into(),
                id: "s1".into(),
                destination: "2f0c".into()
            }]
        );
        let refused = ImportReport::parse(
            br#"{"success":false,"successCount":21,"errors":[
              {"id":"v1","type":"visualization","title":"Top users","meta":{"title":"Top users","icon":"visualizeApp"},
               "error":{"type":"missing_references","references":[{"type":"index-pattern","id":"ip"}]}},
              {"id":"d1","type":"dashboard","meta":{"title":"Overview"},
               "error":{"type":"unknown","message":"mapping set to strict","statusCode":400}}]}"#,
        )
        .unwrap();
        assert!(!refused.success);
        let lines: Vec<String> = refused.failures.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                r#"visualization v1 ("Top users"): missing_references: missing index-pattern ip"#,
                r#"dashboard d1 ("Overview"): unknown: mapping set to strict"#,
            ]
        );
        assert!(ImportReport::parse(br#"{"statusCode":400}"#).is_err());
    }

    #[test]
    fn the_multipart_body_has_one_ndjson_file_part() {
        let body = multipart_body(b"{\"a\":1}\n").unwrap();
        assert_eq!(
            body.content_type,
            format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}")
        );
        let text = String::from_utf8(body.bytes).unwrap();
        assert_eq!(
            text,
            format!(
                "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"trailsearch.ndjson\"\r\nContent-Type: application/x-ndjson\r\n\r\n\
                 {{\"a\":1}}\n\r\n--{MULTIPART_BOUNDARY}--\r\n"
            )
        );
        let inside = format!("x--{MULTIPART_BOUNDARY}");
        assert!(multipart_body(inside.as_bytes()).is_err());
    }

    #[test]
    fn flavour_names() {
        assert_eq!("osd".parse::<KibanaFlavour>().unwrap().xsrf_header(), "osd-xsrf");
        assert_eq!(
            "kibana".parse::<KibanaFlavour>().unwrap().xsrf_header(),
            "kbn-xsrf"
        );
        assert!("elasticsearch".parse::<KibanaFlavour>().is_err());
    }
}
