//! `Sink::settle` against a scripted local HTTP server: per-item retries
//! resend only the failed items, refusals degrade then dead-letter, and
//! retries stop at the retry budget.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use trailsearch_mapping::{Document, Flavour, Granularity, IndexNaming, Provenance, Shaper};
use trailsearch_sink::{
    Auth, DocumentSink, RetryPolicy, Settled, Sink, SinkError, Transport, TransportConfig,
};

/// A bulk request as the server saw it: (index, id, body) per document.
type Seen = Vec<Vec<(String, String, Value)>>;

/// Answers each request with the next scripted (status, body); the body may
/// use `{items}` to be filled from a per-document status list.
async fn serve(script: Vec<(u16, Value)>) -> (String, Arc<Mutex<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        for (status, body) in script {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut raw = Vec::new();
            let mut buf = [0u8; 65536];
            let (head_end, length) = loop {
                let n = socket.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
                if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    break (end + 4, length);
                }
            };
            while raw.len() < head_end + length {
                let n = socket.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
            }
            let mut text = String::new();
            flate2::read::GzDecoder::new(&raw[head_end..])
                .read_to_string(&mut text)
                .unwrap();
            // A 409 is looked up with `_mget`: answered from the script,
            // not logged as a bulk request.
            let mget = raw.starts_with(b"POST /_mget");
            let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            if !mget {
                log.lock().unwrap().push(
                    lines
                        .chunks(2)
                        .map(|p| {
                            let action = p[0].as_object().unwrap();
                            let a = action.get("index").or_else(|| action.get("create")).unwrap();
                            (
                                a["_index"].as_str().unwrap().into(),
                                a["_id"].as_str().unwrap().into(),
                                p[1].clone(),
                            )
                        })
                        .collect(),
                );
            }
            let body = body.to_string();
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            // A client that refuses an answer may close before it is written.
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    (url, seen)
}

fn items(statuses: &[u16]) -> Value {
    let items: Vec<Value> = statuses
        .iter()
        .map(|s| match s {
            400 => json!({"create": {"status": 400, "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [x]"}}}),
            s if *s >= 300 => json!({"create": {"status": s, "error": {"type": "x", "reason": "busy"}}}),
            s => json!({"create": {"status": s}}),
        })
        .collect();
    json!({"errors": true, "items": items})
}

fn sink(url: &str, max_retry_time: Duration) -> Sink {
    let transport = Transport::new(TransportConfig {
        url: url.into(),
        auth: Auth::None,
        ca_cert: None,
        insecure: false,
        timeout: Duration::from_secs(5),
        gzip_above: 0,
    })
    .unwrap();
    let policy = RetryPolicy {
        base: Duration::from_millis(1),
        cap: Duration::from_millis(5),
        jitter: false,
    };
    Sink::new(transport, shaper(), policy, max_retry_time)
}

fn shaper() -> Shaper {
    Shaper::new(
        IndexNaming::new("ct", Granularity::Day).unwrap(),
        Flavour::OpenSearch,
    )
}

fn docs(n: usize) -> Vec<Document> {
    (0..n)
        .map(|i| {
            let record =
                format!(r#"{{"eventTime":"2024-03-14T10:00:00Z","eventID":"e{i}","eventName":"N{i}"}}"#);
            shaper()
                .shape(record.as_bytes(), Arc::new(Provenance::local("f")))
                .unwrap()
                .document
        })
        .collect()
}

fn ids(batch: &[(String, String, Value)]) -> Vec<&str> {
    batch.iter().map(|(_, id, _)| id.as_str()).collect()
}

#[tokio::test]
async fn only_failed_items_are_resent_and_refusals_degrade_then_dead_letter() {
    let (url, seen) = serve(vec![
        (503, json!({"error": "down"})),
        (200, items(&[201, 409, 429, 400, 503])),
        // e1's 409: the same event is indexed (a redelivery).
        (
            200,
            json!({"docs": [{"_id": "e1", "found": true,
            "_source": {"eventTime": "2024-03-14T10:00:00Z", "eventName": "N1"}}]}),
        ),
        (200, items(&[201, 400, 201])),
        (200, items(&[201])),
    ])
    .await;
    let settled = sink(&url, Duration::from_secs(10)).settle(docs(5)).await.unwrap();
    assert_eq!(
        settled,
        Settled {
            indexed: 3,
            duplicates: 1,
            degraded: 0,
            dead_lettered: 1,
            superseded: 0
        }
    );
    let seen = seen.lock().unwrap();
    assert_eq!(ids(&seen[0]), ["e0", "e1", "e2", "e3", "e4"]);
    assert_eq!(ids(&seen[1]), ["e0", "e1", "e2", "e3", "e4"]);
    // e2 and e4 retried as they were; e3 in its degraded form.
    assert_eq!(ids(&seen[2]), ["e2", "e3", "e4"]);
    assert_eq!(seen[2][1].2["trailsearch"]["degraded"], true);
    assert_eq!(seen[2][0].2["trailsearch"].get("degraded"), None);
    // Refused degraded too: the original record goes to the dead-letter index.
    assert_eq!(seen[3][0].0, "ct_deadletter");
    assert_eq!(
        seen[3][0].2["record"],
        r#"{"eventTime":"2024-03-14T10:00:00Z","eventID":"e3","eventName":"N3"}"#
    );
    assert!(seen[3][0].2["reason"]
        .as_str()
        .unwrap()
        .contains("rejected even degraded"));
    assert_eq!(seen[3][0].1, "e3");
}

#[tokio::test]
async fn retries_stop_at_the_retry_budget_and_say_how_many_were_left() {
    let script = (0..200).map(|_| (429, json!({"error": "too many"}))).collect();
    let (url, _) = serve(script).await;
    let err = sink(&url, Duration::from_millis(60))
        .settle(docs(3))
        .await
        .unwrap_err();
    assert_eq!(err.unsettled, 3);
    assert_eq!(err.settled, Settled::default());
    assert!(
        matches!(err.error, SinkError::RetriesExhausted { .. }),
        "{}",
        err.error
    );
    assert!(err.error.to_string().contains("429"), "{}", err.error);
}

#[tokio::test]
async fn a_client_error_on_the_whole_request_fails_at_once() {
    let (url, seen) = serve(vec![(401, json!({"error": "unauthorized"}))]).await;
    let err = sink(&url, Duration::from_secs(10))
        .settle(docs(2))
        .await
        .unwrap_err();
    assert_eq!(err.unsettled, 2);
    assert!(err.error.to_string().contains("HTTP 401"), "{}", err.error);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_cluster_that_stays_down_fails_later_batches_after_one_probe() {
    let script = (0..400).map(|_| (503, json!({"error": "down"}))).collect();
    let (url, seen) = serve(script).await;
    let sink = sink(&url, Duration::from_millis(150));
    let first = sink.settle(docs(2)).await.unwrap_err();
    assert!(
        matches!(first.error, SinkError::RetriesExhausted { .. }),
        "{}",
        first.error
    );
    let after_first = seen.lock().unwrap().len();
    assert!(after_first > 1, "the first batch retried: {after_first}");
    // The budget is shared: the cluster has been down longer than it allows.
    let second = sink.settle(docs(2)).await.unwrap_err();
    assert_eq!(second.unsettled, 2);
    assert_eq!(
        seen.lock().unwrap().len(),
        after_first + 1,
        "one probe, no second round of retries"
    );
}

#[tokio::test]
async fn progress_restarts_the_retry_budget() {
    // Each answer settles one item and asks for the rest again: slow, but
    // never stuck, so the batch is never given up on.
    let script = vec![
        (200, items(&[201, 429, 429, 429])),
        (200, items(&[201, 429, 429])),
        (200, items(&[201, 429])),
        (200, items(&[201])),
    ];
    let (url, _) = serve(script).await;
    let policy_budget = Duration::from_millis(3);
    let settled = sink(&url, policy_budget).settle(docs(4)).await.unwrap();
    assert_eq!(settled.indexed, 4);
}

#[tokio::test]
async fn an_answer_larger_than_the_batch_can_explain_fails_the_batch_unread() {
    // 20 MiB for 3 documents: a cluster (or an impostor) cannot make the
    // client buffer it; the batch fails, once, naming the bound.
    let huge = json!({"items": "x".repeat(20 << 20)});
    let (url, seen) = serve(vec![(200, huge)]).await;
    let err = sink(&url, Duration::from_secs(10))
        .settle(docs(3))
        .await
        .unwrap_err();
    assert_eq!(err.unsettled, 3);
    assert_eq!(err.settled, Settled::default());
    assert!(
        matches!(err.error, SinkError::AnswerTooLarge { limit, .. } if limit == trailsearch_sink::bulk_answer_limit(3)),
        "{}",
        err.error
    );
    assert!(err.error.to_string().contains("was not read"), "{}", err.error);
    assert_eq!(seen.lock().unwrap().len(), 1, "not retried");
}

#[tokio::test]
async fn a_batch_past_the_request_limit_is_split_and_the_record_too_large_alone_is_dead_lettered() {
    let too_large = (413, json!({"error": "Request Entity Too Large"}));
    let (url, seen) = serve(vec![
        too_large.clone(),    // [e0 e1 e2]
        (200, items(&[201])), // [e0]
        too_large.clone(),    // [e1 e2]
        too_large,            // [e1]
        (200, items(&[201])), // e1's dead letter
        (200, items(&[201])), // [e2]
    ])
    .await;
    let settled = sink(&url, Duration::from_secs(10)).settle(docs(3)).await.unwrap();
    assert_eq!(
        settled,
        Settled {
            indexed: 2,
            dead_lettered: 1,
            ..Settled::default()
        }
    );
    let seen = seen.lock().unwrap();
    let batches: Vec<Vec<&str>> = seen.iter().map(|b| ids(b)).collect();
    assert_eq!(
        batches,
        [
            vec!["e0", "e1", "e2"],
            vec!["e0"],
            vec!["e1", "e2"],
            vec!["e1"],
            vec!["e1"],
            vec!["e2"]
        ]
    );
    let letter = &seen[4][0];
    assert_eq!(letter.0, "ct_deadletter");
    assert!(
        letter.2["reason"].as_str().unwrap().contains("HTTP 413"),
        "{}",
        letter.2
    );
    let record = r#"{"eventTime":"2024-03-14T10:00:00Z","eventID":"e1","eventName":"N1"}"#;
    assert_eq!(letter.2["record_bytes"], record.len());
    assert_eq!(letter.2["record"], record, "short enough to keep whole");
}
