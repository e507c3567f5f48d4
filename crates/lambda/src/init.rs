//! Telling the Lambda service why the function cannot start.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::HandlerError;

/// Posts `error` to the runtime API's `/runtime/init/error`
/// (`AWS_LAMBDA_RUNTIME_API`), so that the failed start reads in words
/// (`errorType`, `errorMessage`) where the caller and the console show
/// invocation errors, not only in the log. Best effort: without the API,
/// or when it does not answer, the error is only logged. Returns the
/// runtime API's status code when it answered.
pub fn report_init_error(error: &HandlerError) -> Option<u16> {
    tracing::error!(error = %error, "cannot start");
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").ok()?;
    let body = serde_json::json!({
        "errorType": format!("Init.{}", error.kind()),
        "errorMessage": error.to_string(),
    })
    .to_string();
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n\
         Lambda-Runtime-Function-Error-Type: Init.{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        error.kind(),
        body.len()
    );
    let mut stream = TcpStream::connect(&api).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ').nth(1).and_then(|status| status.parse().ok())
}
