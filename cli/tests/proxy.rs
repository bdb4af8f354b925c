//! `lro proxy` in front of a mock asynchronous upstream.

mod support;

use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use support::{now, resp, Mock};
use tokio::io::{AsyncBufReadExt, BufReader};
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
                if polls.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
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

/// The proxy's log lines (after the start-up line), as they come.
type Log = Arc<Mutex<Vec<String>>>;

/// Starts `lro proxy --listen LISTEN`; the child, its base URL and its log.
async fn proxy_on(listen: &str, upstream: &str, extra: &[&str]) -> (Child, String, Log) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args(["proxy", "--listen", listen, "--upstream", upstream])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the proxy did not start")
        .unwrap()
        .unwrap();
    let addr = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .trim_end_matches(',')
        .to_owned();
    let log: Log = Arc::default();
    let sink = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    (child, addr, log)
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

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_answers_each_case() {
    let up = upstream().await;
    let (_child, base, log) = proxy_on(
        "127.0.0.1:0",
        &up.base,
        &["--max-time", "5", "--max-concurrent", "4"],
    )
    .await;

    // Many clients at once, more than the concurrency bound: each gets its own resource.
    let calls: Vec<_> = (0..12)
        .map(|n| tokio::spawn(call(format!("{base}/jobs/{n}"), false)))
        .collect();
    for (n, task) in calls.into_iter().enumerate() {
        let (status, _, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json(&body)["thing"], n.to_string());
    }

    let (status, _, body) = call(format!("{base}/fail"), false).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&body)["error"]["code"], "InvalidFeature");
    // Error answers log what is known of the operation, as successes do.
    let line = log_line(&log, "/fail").await;
    assert!(line.contains("-> 422 (Failed via "), "{line}");

    let (status, _, body) = call(format!("{base}/slow"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        json(&body)["resume"]["operation_url"],
        format!("{}/ops/slow", up.base)
    );
    let line = log_line(&log, "/slow").await;
    assert!(line.contains("-> 504 (NotStarted via "), "{line}");
    assert!(line.contains(" polls)"), "{line}");

    let polls_before = up.count("/ops/jobs/99");
    let (status, headers, _) = call(format!("{base}/jobs/99"), true).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        headers["operation-location"],
        format!("{}/ops/jobs/99", up.base)
    );
    assert_eq!(
        up.count("/ops/jobs/99"),
        polls_before,
        "respond-async: no poll"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_answers_unfinished_requests_503_with_their_handles() {
    let up = upstream().await;
    let (mut child, base) = proxy(&up.base, &["--max-time", "60", "--grace", "0.3"]).await;
    let pending = tokio::spawn(call(format!("{base}/wait"), false));
    // Bounded wait until the upstream saw the submission (the proxy then waits 20 s to poll).
    for _ in 0..200 {
        if up.count("/wait") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(up.count("/wait"), 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let (status, _, body) = pending.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        json(&body)["resume"]["operation_url"],
        format!("{}/ops/wait", up.base)
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.code(), Some(0));
}

/// `/hang`: never answered. `/jobs`: an operation whose first poll is never answered.
/// `/jobs2`: an operation that succeeds, whose resource's body stalls.
async fn stalling_upstream() -> String {
    use support::stall::{self, Reply};
    let h = |name: &str, value: String| (name.to_owned(), value);
    stall::start(
        move |_, target, base| match target.split('?').next().unwrap() {
            "/hang" | "/ops/1" => Reply::Never,
            "/things/2" => Reply::Stall(r#"{"partial":"#.to_owned()),
            "/jobs" => Reply::Full(
                202,
                vec![
                    h("operation-location", format!("{base}/ops/1")),
                    h("retry-after", "0".into()),
                ],
                String::new(),
            ),
            "/jobs2" => Reply::Full(
                202,
                vec![
                    h("operation-location", format!("{base}/ops/2")),
                    h("retry-after", "0".into()),
                ],
                String::new(),
            ),
            "/ops/2" => Reply::Full(
                200,
                vec![h("resource-location", format!("{base}/things/2"))],
                r#"{"status":"Succeeded"}"#.into(),
            ),
            _ => Reply::Full(404, vec![], String::new()),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn max_time_bounds_the_upstream_exchange() {
    let up = stalling_upstream().await;
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up, &["--max-time", "1"]).await;

    // The submission is never answered: 504, no operation, no handle.
    let (status, _, body) = call(format!("{base}/hang"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let body = json(&body);
    assert_eq!(body["error"]["code"], "GatewayTimeout");
    assert!(body["resume"].is_null(), "{body}");

    // A poll is never answered: 504 with the handle, and the log says what is known.
    let (status, _, body) = call(format!("{base}/jobs"), false).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let body = json(&body);
    assert_eq!(body["resume"]["operation_url"], format!("{up}/ops/1"));
    assert_eq!(body["error"]["operationUrl"], format!("{up}/ops/1"));
    let line = log_line(&log, "POST /jobs ").await;
    assert!(line.contains("-> 504 ("), "{line}");

    // The final body stalls: it is cut off at the deadline instead of holding the client.
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::post(format!("{base}/jobs2"))
        .body(Full::from("payload"))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(req))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
        .await
        .expect("the stalled body was not cut off");
    assert!(body.is_err(), "a cut-off body is an error for the client");
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_accepts_localhost_and_ipv6_loopback() {
    let up = upstream().await;
    let (_child, base, _) = proxy_on("localhost:0", &up.base, &["--max-time", "5"]).await;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (status, _, body) = call(format!("{base}/jobs/7"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "7");

    // [::1] only where this machine has IPv6 loopback.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        return;
    }
    let (_child, base, _) = proxy_on("[::1]:0", &up.base, &["--max-time", "5"]).await;
    assert!(base.starts_with("http://[::1]:"), "{base}");
    let (status, _, body) = call(format!("{base}/jobs/8"), false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["thing"], "8");
}
