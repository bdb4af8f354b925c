//! One HTTP request to a proxy or mock on loopback, bounded in time, and its answer.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A response's status, headers and whole body.
pub type Answer = (StatusCode, http::HeaderMap, Bytes);

/// One request (a fresh client, so no connection is shared between calls), bounded to 20 s.
pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::from(body.to_owned())).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

/// A body as JSON; a body that is not says what it was.
pub fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// `POST {url}` (body `{}`) with `Prefer: respond-async` and `extra`, answered `202`: its
/// `Operation-Location` (relative to the proxy). The operation may have ended before it.
pub async fn accepted(url: &str, extra: &[(&str, &str)]) -> String {
    let mut headers = vec![("prefer", "respond-async")];
    headers.extend_from_slice(extra);
    let (status, h, body) = send("POST", url, &headers, "{}").await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    h["operation-location"].to_str().unwrap().to_owned()
}

/// The façade's status document at `url` once its status is terminal (bounded: 10 s); every
/// answer before it carries `Retry-After`.
pub async fn until_terminal(url: &str) -> Answer {
    until_terminal_with(url, &[]).await
}

/// [`until_terminal`], each status request with `headers` (the credential the operation was
/// started with, which a takeover needs).
pub async fn until_terminal_with(url: &str, headers: &[(&str, &str)]) -> Answer {
    for _ in 0..200 {
        let answer = send("GET", url, headers, "").await;
        assert_eq!(
            answer.0,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&answer.2)
        );
        let status = json(&answer.2)["status"].as_str().unwrap().to_owned();
        if !matches!(status.as_str(), "NotStarted" | "Running") {
            return answer;
        }
        assert!(answer.1.contains_key("retry-after"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not end within 10 s");
}
