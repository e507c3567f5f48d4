//! `trailsearch-null-bulk [--port 0]`: a bulk endpoint that reads every item
//! it is sent (action lines parsed, sources checked), counts them, answers
//! that each was created, and does nothing else. It isolates a loader's own
//! cost; `GET /_null/stats` shows what arrived, so a loader that skips work
//! is caught. Loopback only. Prints `{"url":"http://127.0.0.1:PORT"}`.

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use trailsearch_bench::bulk::{accept, SourceCheck};

/// A null `_bulk` endpoint that looks like an OpenSearch 3 cluster.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0: a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Check sources only for `{...}` instead of parsing them.
    #[arg(long)]
    cheap_source_check: bool,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    items: AtomicU64,
    bytes: AtomicU64,
}

const ROOT: &str = r#"{"name":"null","cluster_name":"null","version":{"number":"3.0.0","distribution":"opensearch"},"tagline":"The OpenSearch Project: https://opensearch.org/"}"#;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{}", args.port))?;
    let addr = listener.local_addr()?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{{\"url\":\"http://{addr}\"}}")?;
        stdout.flush()?;
    }
    let stats = Arc::new(Stats::default());
    let check = if args.cheap_source_check {
        SourceCheck::Braces
    } else {
        SourceCheck::Parse
    };
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(conn) => conn,
            // Out of file descriptors and the like: keep serving the others.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stats = stats.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, stats.clone(), check));
            // Keep-alive is hyper's default for HTTP/1.1.
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                if !e.is_incomplete_message() {
                    eprintln!("connection: {e}");
                }
            }
        });
    }
}

fn json(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, kind: &str, reason: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({"error": {"type": kind, "reason": reason}, "status": status.as_u16()});
    json(status, body.to_string())
}

async fn handle(
    req: Request<Incoming>,
    stats: Arc<Stats>,
    check: SourceCheck,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let gzip = req
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    // Every body is read whole, as a cluster would, whatever the route.
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return Ok(error(StatusCode::BAD_REQUEST, "io_exception", &e.to_string())),
    };
    let response = match (&method, segments.as_slice()) {
        (&Method::GET | &Method::HEAD, []) => json(StatusCode::OK, ROOT),
        (&Method::POST | &Method::PUT, ["_bulk"]) => bulk(&body, gzip, None, &stats, check),
        (&Method::POST | &Method::PUT, [index, "_bulk"]) => bulk(&body, gzip, Some(index), &stats, check),
        (&Method::GET, ["_null", "stats"]) => json(
            StatusCode::OK,
            format!(
                "{{\"requests\":{},\"items\":{},\"bytes\":{}}}",
                stats.requests.load(Ordering::SeqCst),
                stats.items.load(Ordering::SeqCst),
                stats.bytes.load(Ordering::SeqCst)
            ),
        ),
        (&Method::POST, ["_null", "reset"]) => {
            stats.requests.store(0, Ordering::SeqCst);
            stats.items.store(0, Ordering::SeqCst);
            stats.bytes.store(0, Ordering::SeqCst);
            json(StatusCode::OK, "{\"acknowledged\":true}")
        }
        // Clients check that their template is installed before ingesting
        // (trailsearch refuses to run without it): every template exists.
        (&Method::GET, [api, ..]) if *api == "_index_template" || *api == "_template" => {
            json(StatusCode::OK, "{\"index_templates\":[]}")
        }
        // Index and template creation or deletion: accepted, nothing kept.
        (&Method::PUT | &Method::DELETE | &Method::HEAD, [first, ..])
            if !first.starts_with('_') || *first == "_index_template" || *first == "_template" =>
        {
            json(StatusCode::OK, "{}")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "no_handler",
            &format!("no handler for {method} {path}"),
        ),
    };
    Ok(response)
}

fn bulk(
    body: &Bytes,
    gzip: bool,
    url_index: Option<&str>,
    stats: &Stats,
    check: SourceCheck,
) -> Response<Full<Bytes>> {
    let mut inflated = Vec::new();
    let ndjson: &[u8] = if gzip {
        let mut decoder = flate2::read::MultiGzDecoder::new(&body[..]);
        if let Err(e) = decoder.read_to_end(&mut inflated) {
            return error(
                StatusCode::BAD_REQUEST,
                "parse_exception",
                &format!("bad gzip body: {e}"),
            );
        }
        &inflated
    } else {
        body
    };
    match accept(ndjson, url_index, check) {
        Ok(done) => {
            stats.requests.fetch_add(1, Ordering::SeqCst);
            stats.items.fetch_add(done.items, Ordering::SeqCst);
            stats.bytes.fetch_add(ndjson.len() as u64, Ordering::SeqCst);
            json(StatusCode::OK, done.response)
        }
        Err(reason) => error(StatusCode::BAD_REQUEST, "illegal_argument_exception", &reason),
    }
}
