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
