//! `lro proxy` in front of a mock asynchronous upstream.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{now, proxy_on, resp, Log, Mock};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Child;

/// An upstream: `/jobs/N` succeed after one `Running` poll; `/fail` fails; `/slow` asks for a
/// 30 s wait; `/wait` asks for 20 s (within the proxy's deadline).
async fn upstream() -> Mock {
    let polls = Arc::new(AtomicU32::new(0));
    Mock::start(move |req, base| {
        let path = req.target.split('?').next().unwrap().to_owned();
        let op = |wait: &str| resp(202, &[("operation-location", format!("{base}/ops{path}")), ("retry-after", wait.to_owned())], "");
        match path.as_str() {
            p if p.starts_with("/jobs/") => op("0"),
            "/fail" => op("0"),
            "/slow" => op("30"),
            "/wait" => op("20"),
            "/ops/fail" => resp(200, &[], r#"{"status":"Failed","error":{"code":"InvalidFeature","message":"The provided feature is invalid."}}"#),
            "/ops/slow" | "/ops/wait" => resp(200, &[("retry-after", "20".to_owned())], r#"{"status":"Running"}"#),
            p if p.starts_with("/ops/jobs/") => {
                let n = p.trim_start_matches("/ops/jobs/");
                if polls.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                    resp(200, &[now()], r#"{"status":"Running"}"#)
                } else {
                    resp(200, &[("resource-location", format!("{base}/things/{n}"))], r#"{"status":"Succeeded"}"#)
                }
            }
            p if p.starts_with("/things/") => resp(200, &[], &format!(r#"{{"thing":"{}"}}"#, &p[8..])),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

/// Starts `lro proxy` on a free loopback port; the child and its base URL. Its log is drained.
async fn proxy(upstream: &str, extra: &[&str]) -> (Child, String) {
    let (child, base, _) = proxy_on("127.0.0.1:0", upstream, extra).await;
    (child, base)
}

/// The log line of the request to `path`, waited for (bounded).
async fn log_line(log: &Log, path: &str) -> String {
    for _ in 0..500 {
        if let Some(line) = log.lock().unwrap().iter().find(|l| l.contains(path)) {
            return line.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no log line for {path}: {:?}", log.lock().unwrap());
}

async fn call(url: String, prefer_async: bool) -> (StatusCode, http::HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut req = Request::post(url).body(Full::from("payload")).unwrap();
    if prefer_async {
        req.headers_mut()
            .insert("prefer", "respond-async".parse().unwrap());
    }
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .unwrap()
        .unwrap();
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes(),
    )
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

/// `host:port` of a base URL.
fn authority(base: &str) -> &str {
    base.trim_start_matches("http://")
}

mod abuse;
mod answers;
