//! The only module that does I/O: one HTTP client, built once.

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use flate2::write::GzEncoder;
use flate2::Compression;
use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HOST,
};
use reqwest::{Method, Url};

use crate::auth::Auth;
use crate::error::SinkError;

/// A request body and its media type.
#[derive(Debug, Clone)]
pub struct RequestBody {
    /// The bytes, uncompressed.
    pub bytes: Vec<u8>,
    /// `application/json`, `application/x-ndjson`, or `multipart/form-data`
    /// with its boundary.
    pub content_type: &'static str,
}

impl RequestBody {
    /// A JSON body.
    pub fn json(value: &serde_json::Value) -> Self {
        RequestBody {
            bytes: value.to_string().into_bytes(),
            content_type: "application/json",
        }
    }

    /// An NDJSON body (bulk).
    pub fn ndjson(bytes: Vec<u8>) -> Self {
        RequestBody {
            bytes,
            content_type: "application/x-ndjson",
        }
    }
}

/// A response: status and body bytes.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// `error.type: reason (caused by: reason)` from an Elasticsearch or
/// OpenSearch error answer (`{"error":{"root_cause":[...],"type","reason",
/// "caused_by":{...}}}`), on one line; `None` for any other body.
pub fn cluster_reason(body: &[u8]) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    let error = answer.get("error")?;
    if let Some(text) = error.as_str() {
        // Kibana and Dashboards: `{"statusCode","error","message"}`.
        return Some(one_line(&match answer.get("message").and_then(|m| m.as_str()) {
            Some(message) => format!("{text}: {message}"),
            None => text.to_string(),
        }));
    }
    let kind = error.get("type").and_then(|t| t.as_str()).unwrap_or("error");
    let reason = error.get("reason").and_then(|r| r.as_str())?;
    let mut line = format!("{kind}: {reason}");
    let cause = error
        .get("caused_by")
        .and_then(|c| c.get("reason"))
        .and_then(|r| r.as_str());
    if let Some(cause) = cause.filter(|c| *c != reason) {
        line.push_str(&format!(" (caused by: {cause})"));
    }
    Some(one_line(&line))
}

fn one_line(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(600) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// The most of an answer read when a request names no smaller bound: a
/// search page of the largest documents fits; a cluster (or something
/// posing as one) cannot make the client buffer more.
pub const ANSWER_LIMIT: usize = 512 << 20;

/// Connection settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Cluster URL, e.g. `http://localhost:9200`.
    pub url: String,
    /// Authentication.
    pub auth: Auth,
    /// Extra CA certificate (PEM) to trust.
    pub ca_cert: Option<Vec<u8>>,
    /// Skip certificate verification.
    pub insecure: bool,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Gzip request bodies larger than this many bytes.
    pub gzip_above: usize,
}

/// Sends requests to one cluster.
#[derive(Debug, Clone)]
pub struct Transport {
    client: reqwest::Client,
    base: Url,
    auth: Auth,
    gzip_above: usize,
}

impl Transport {
    /// Builds the client once.
    pub fn new(config: TransportConfig) -> Result<Self, SinkError> {
        let mut base = Url::parse(&config.url)
            .map_err(|e| SinkError::Config(format!("--es-url {:?} is not a URL: {e}", config.url)))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(SinkError::Config(format!(
                "--es-url {:?}: use http:// or https://",
                config.url
            )));
        }
        let mut auth = config.auth;
        // Credentials in the URL become basic auth, and leave the URL so they
        // never appear in messages.
        if !base.username().is_empty() {
            if matches!(auth, Auth::None) {
                let user = percent_decode(base.username());
                let password = percent_decode(base.password().unwrap_or(""));
                auth = Auth::Basic {
                    user,
                    password: crate::auth::Secret::new(password),
                };
            }
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(50))
            // The cluster's APIs never redirect: a redirect means a URL to fix
            // (http for https, a dashboard's address), shown as its status
            // rather than followed (where a POST would turn into a GET).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("trailsearch/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &config.ca_cert {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| SinkError::Config(format!("--ca-cert: not a PEM certificate: {e}")))?;
            builder = builder.tls_certs_merge([cert]);
        } else if base.scheme() == "http" {
            // Plain HTTP needs no roots: reading the system's (hundreds of
            // files) is most of a short `search`'s time in the client.
            builder = builder.tls_certs_only([]);
        }
        if config.insecure {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| SinkError::Config(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(Transport {
            client,
            base,
            auth,
            gzip_above: config.gzip_above,
        })
    }

    /// The cluster URL, without credentials.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The authentication in use.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// Sends one request; any status is a `Response` (callers judge it).
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
    ) -> Result<Response, SinkError> {
        self.send_with_headers(method, path_and_query, body, &[]).await
    }

    /// [`send`](Self::send) with extra headers (Kibana's `kbn-xsrf`, say);
    /// they are signed like the others under SigV4.
    pub async fn send_with_headers(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
        extra_headers: &[(&'static str, &str)],
    ) -> Result<Response, SinkError> {
        self.send_limited(method, path_and_query, body, extra_headers, ANSWER_LIMIT)
            .await
    }

    /// [`send_with_headers`](Self::send_with_headers), reading at most
    /// `limit` bytes of the answer: a larger one fails with
    /// [`SinkError::AnswerTooLarge`] instead of being buffered whole.
    pub async fn send_limited(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
        extra_headers: &[(&'static str, &str)],
        limit: usize,
    ) -> Result<Response, SinkError> {
        let url = self
            .base
            .join(path_and_query.trim_start_matches('/'))
            .map_err(|e| SinkError::Config(format!("bad request path {path_and_query:?}: {e}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in extra_headers {
            let bad = || SinkError::Config(format!("header {name}: {value:?} cannot be sent"));
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
            headers.insert(header_name, HeaderValue::from_str(value).map_err(|_| bad())?);
        }
        let mut bytes = Vec::new();
        if let Some(body) = body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
            if body.bytes.len() > self.gzip_above {
                bytes = gzip(&body.bytes);
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            } else {
                bytes = body.bytes;
            }
        }
        self.authenticate(&method, &url, &mut headers, &bytes).await?;
        let result = self
            .client
            .request(method.clone(), url.clone())
            .headers(headers)
            .body(bytes)
            .send()
            .await;
        let transport_error = |e: reqwest::Error| SinkError::Transport {
            method: method.to_string(),
            url: url.to_string(),
            timeout: e.is_timeout(),
            reason: chain(&e),
        };
        let mut response = result.map_err(transport_error)?;
        let status = response.status().as_u16();
        let too_large = || SinkError::AnswerTooLarge {
            method: method.to_string(),
            url: url.to_string(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    }

    /// Sends a request and requires a 2xx answer.
    pub async fn send_ok(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<RequestBody>,
    ) -> Result<Response, SinkError> {
        let response = self.send(method.clone(), path_and_query, body).await?;
        if (200..300).contains(&response.status) {
            Ok(response)
        } else {
            Err(self.status_error(&method, path_and_query, &response))
        }
    }

    /// The error for a non-2xx response: the cluster's own reason in one
    /// line where it gives one, else the start of its answer.
    pub fn status_error(&self, method: &Method, path_and_query: &str, response: &Response) -> SinkError {
        let excerpt = cluster_reason(&response.body).unwrap_or_else(|| {
            String::from_utf8_lossy(&response.body[..response.body.len().min(600)]).into_owned()
        });
        SinkError::Status {
            method: method.to_string(),
            url: format!("{}{}", self.base, path_and_query.trim_start_matches('/')),
            status: response.status,
            body: excerpt,
        }
    }

    async fn authenticate(
        &self,
        method: &Method,
        url: &Url,
        headers: &mut HeaderMap,
        body: &[u8],
    ) -> Result<(), SinkError> {
        let header = |value: String| {
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                SinkError::Config("credentials contain characters not allowed in a header".into())
            })?;
            value.set_sensitive(true);
            Ok::<_, SinkError>(value)
        };
        match &self.auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password.expose()));
                headers.insert(AUTHORIZATION, header(format!("Basic {token}"))?);
            }
            Auth::ApiKey(key) => {
                headers.insert(AUTHORIZATION, header(format!("ApiKey {}", key.expose()))?);
            }
            Auth::SigV4(signer) => {
                // The Host header is signed, so send exactly the one signed.
                let host = match (url.host_str(), url.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_string(),
                    _ => return Err(SinkError::Config(format!("{url} has no host"))),
                };
                headers.insert(HOST, header(host)?);
                let pairs: Vec<(String, String)> = headers
                    .iter()
                    .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                    .collect();
                let borrowed: Vec<(&str, &str)> =
                    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                for (name, value) in signer
                    .sign(method.as_str(), url.as_str(), &borrowed, body)
                    .await?
                {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|e| SinkError::Signing(format!("bad header name {name}: {e}")))?;
                    headers.insert(name, header(value)?);
                }
            }
        }
        Ok(())
    }
}

/// Gzip at a fast level: bulk bodies compress ~10x even so, and the CPU
/// goes to shaping instead.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 6), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL without the user and password it may carry, for messages.
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        // Unparsable: show nothing that could be a secret.
        Err(_) => "(the --es-url given)".to_string(),
    }
}

/// An error with its causes, one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clusters_reason_on_one_line() {
        // What OpenSearch answers a `query_string` it cannot parse.
        let body = br#"{"error":{"root_cause":[{"type":"query_shard_exception","reason":"Failed to parse query [a:(]"}],
            "type":"search_phase_execution_exception","reason":"all shards failed","phase":"query","grouped":true,
            "caused_by":{"type":"query_shard_exception","reason":"Failed to parse query [a:(]"}},"status":400}"#;
        assert_eq!(
            cluster_reason(body).unwrap(),
            "search_phase_execution_exception: all shards failed (caused by: Failed to parse query [a:(])"
        );
        assert_eq!(
            cluster_reason(br#"{"error":"Incorrect HTTP method\nfor uri"}"#).unwrap(),
            "Incorrect HTTP method for uri"
        );
        assert_eq!(
            cluster_reason(br#"{"statusCode":400,"error":"Bad Request","message":"Request must contain a osd-xsrf header."}"#)
                .unwrap(),
            "Bad Request: Request must contain a osd-xsrf header."
        );
        assert_eq!(cluster_reason(b"<html>502</html>"), None);
        assert_eq!(cluster_reason(br#"{"ok":true}"#), None);
    }

    #[tokio::test]
    async fn a_redirect_is_answered_not_followed() {
        use std::io::{BufRead, BufReader};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // Answers every request on one connection with a redirect to https.
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut requests = Vec::new();
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line.starts_with("POST ") || line.starts_with("GET ") {
                    requests.push(line.trim_end().to_string());
                }
                if line == "\r\n" {
                    (&stream)
                        .write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://127.0.0.1:1/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .unwrap();
                    break;
                }
                line.clear();
            }
            requests
        });
        let transport = Transport::new(TransportConfig {
            url,
            auth: Auth::None,
            ca_cert: None,
            insecure: false,
            timeout: Duration::from_secs(5),
            gzip_above: usize::MAX,
        })
        .unwrap();
        let response = transport.send(Method::GET, "/", None).await.unwrap();
        assert_eq!(response.status, 301);
        assert_eq!(server.join().unwrap(), vec!["GET / HTTP/1.1".to_string()]);
    }
}
