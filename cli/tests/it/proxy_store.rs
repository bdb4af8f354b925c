//! `lro proxy --store`: requests with an idempotency key attach to their operation (in memory,
//! in a file that outlives the proxy); a reused key is refused; a store that cannot be opened
//! stops the proxy at start-up.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{proxy_on, resp, Mock};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// An upstream whose operations run until `done` is set: `POST /jobs` creates operation N,
/// polled at `/ops/N` (Retry-After 0), whose result is `/things/N`.
struct Upstream {
    mock: Mock,
    done: Arc<AtomicBool>,
}

impl Upstream {
    async fn start() -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let (finished, created) = (done.clone(), Arc::new(AtomicU32::new(0)));
        let mock = Mock::start(move |req, base| {
            let path = req.target.split('?').next().unwrap();
            if req.method == "POST" && path == "/jobs" {
                let n = created.fetch_add(1, Ordering::SeqCst);
                let location = format!("{base}/ops/{n}");
                return resp(202, &[("operation-location", location)], "");
            }
            if let Some(n) = path.strip_prefix("/ops/") {
                if !finished.load(Ordering::SeqCst) {
                    let wait = ("retry-after", "0".to_owned());
                    return resp(200, &[wait], r#"{"status":"Running"}"#);
                }
                let thing = ("resource-location", format!("{base}/things/{n}"));
                return resp(200, &[thing], r#"{"status":"Succeeded"}"#);
            }
            if let Some(n) = path.strip_prefix("/things/") {
                return resp(200, &[], &format!(r#"{{"thing":{n}}}"#));
            }
            resp(404, &[], "")
        })
        .await;
        Self { mock, done }
    }

    fn submissions(&self) -> usize {
        self.mock.count("/jobs")
    }
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `POST {base}/jobs` with `body` and `headers`; the status, content type and body.
async fn post(
    client: &HttpClient,
    base: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, String, String) {
    let mut req = Request::post(format!("{base}/jobs"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// Waits (bounded) until `cond` holds.
async fn until(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 10 s");
}

#[tokio::test]
async fn retries_with_a_key_attach_to_one_operation() {
    let up = Upstream::start().await;
    let (_proxy, base, log) =
        proxy_on("127.0.0.1:0", &up.mock.base, &["--poll-interval", "0.02"]).await;
    let client = client();
    let key = [("idempotency-key", r#""order-1""#)];
    let first = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move { post(&client, &base, &key, "{}").await }
    });
    until("the submission", || up.submissions() == 1).await;
    // The same request again while the operation runs: it waits for it, and is not sent.
    let second = tokio::spawn({
        let (client, base) = (client.clone(), base.clone());
        async move { post(&client, &base, &key, "{}").await }
    });
    // Give it time to arrive: twenty more polls of the running operation.
    let polls = up.mock.count("/ops/0");
    until("more polls", || up.mock.count("/ops/0") >= polls + 20).await;
    assert!(log.lock().unwrap().is_empty(), "neither is answered yet");
    up.done.store(true, Ordering::SeqCst);
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(first.0, StatusCode::OK, "{first:?}");
    assert_eq!(first, second);
    assert_eq!(first.2, r#"{"thing":0}"#);
    // After the end: answered from the store (the result fetched again), not sent.
    let bare = [("idempotency-key", "order-1")];
    assert_eq!(post(&client, &base, &bare, "{}").await, first);
    assert_eq!(up.submissions(), 1);
    // The key went upstream with the submission.
    let sent = up.mock.requests();
    let submission = sent.iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(submission.headers["idempotency-key"], r#""order-1""#);
    // The same key with another body: refused, as the IETF draft says; nothing is sent.
    let (status, content_type, body) = post(&client, &base, &key, r#"{"other":1}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "IdempotencyKeyReused");
    assert_eq!(up.submissions(), 1);
    // Repeatability-Request-ID names a key too; without a key, every request is sent.
    let oasis = [("repeatability-request-id", "order-2")];
    assert_eq!(post(&client, &base, &oasis, "{}").await.0, StatusCode::OK);
    assert_eq!(post(&client, &base, &oasis, "{}").await.0, StatusCode::OK);
    assert_eq!(up.submissions(), 2);
    assert_eq!(post(&client, &base, &[], "{}").await.0, StatusCode::OK);
    assert_eq!(post(&client, &base, &[], "{}").await.0, StatusCode::OK);
    assert_eq!(up.submissions(), 4);
}

#[tokio::test]
async fn keys_are_scoped_by_credentials_and_checked() {
    let up = Upstream::start().await;
    up.done.store(true, Ordering::SeqCst);
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &[]).await;
    let client = client();
    let alice = [("idempotency-key", r#""k""#), ("authorization", "Bearer a")];
    let bob = [("idempotency-key", r#""k""#), ("authorization", "Bearer b")];
    assert_eq!(post(&client, &base, &alice, "{}").await.0, StatusCode::OK);
    // Another caller's same key is another operation.
    assert_eq!(post(&client, &base, &bob, "{}").await.0, StatusCode::OK);
    assert_eq!(up.submissions(), 2);
    // The same caller, its credentials sent in another order: its operation, not sent again.
    let carol = [
        ("idempotency-key", r#""k""#),
        ("authorization", "Bearer c"),
        ("x-api-key", "c"),
    ];
    let carol_again = [carol[0], carol[2], carol[1]];
    assert_eq!(post(&client, &base, &carol, "{}").await.0, StatusCode::OK);
    assert_eq!(
        post(&client, &base, &carol_again, "{}").await.0,
        StatusCode::OK
    );
    assert_eq!(up.submissions(), 3);
    // Empty, not visible ASCII, over 256 characters: refused, nothing sent.
    let huge = format!("\"{}\"", "k".repeat(257));
    for bad in [r#""""#, r#""a\nb""#, huge.as_str()] {
        let (status, _, _) = post(&client, &base, &[("idempotency-key", bad)], "{}").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let big = "x".repeat(1024 * 1024 + 1);
    let (status, _, _) = post(&client, &base, &alice, &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(up.submissions(), 3);
}

/// A caller without credentials cannot reach another caller's operation by spelling its key
/// as the proxy scopes it (`{scope of the credential headers}:{key}`, which the façade shows
/// in its operation ids; here the secret is the test's, so it knows alice's scope): it gets an
/// operation of its own.
#[tokio::test]
async fn a_key_spelled_as_another_callers_scoped_key_is_not_theirs() {
    let up = Upstream::start().await;
    up.done.store(true, Ordering::SeqCst);
    let dir = crate::support::temp_dir("forged-scope");
    let secret = dir.join("secret");
    std::fs::write(&secret, "a test's secret of 32 bytes or more\n").unwrap();
    let args = ["--scope-secret-file", secret.to_str().unwrap()];
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let client = client();
    let alice = [("idempotency-key", r#""k""#), ("authorization", "Bearer a")];
    let (status, _, body) = post(&client, &base, &alice, "{}").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, r#"{"thing":0}"#));
    let scope = crate::support::scope_under(
        &std::fs::read(&secret).unwrap(),
        &[("authorization", "Bearer a")],
    );
    let forged = format!("{scope}:k");
    let (status, _, body) = post(&client, &base, &[("idempotency-key", &forged)], "{}").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"thing":1}"#, "a new operation, not alice's");
    assert_eq!(up.submissions(), 2);
}

#[tokio::test]
async fn a_file_store_outlives_the_proxy() {
    let up = Upstream::start().await;
    up.done.store(true, Ordering::SeqCst);
    let dir = crate::support::temp_dir("file-store");
    let file = dir.join("ops.redb");
    let store = ["--store", file.to_str().unwrap()];
    let client = client();
    let key = [("idempotency-key", r#""kept""#)];
    let (mut proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &store).await;
    let first = post(&client, &base, &key, "{}").await;
    assert_eq!(first.0, StatusCode::OK);
    proxy.kill().await.unwrap();
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &store).await;
    assert_eq!(post(&client, &base, &key, "{}").await, first);
    assert_eq!(up.submissions(), 1);
}

#[tokio::test]
async fn finished_records_expire_after_the_store_ttl() {
    let up = Upstream::start().await;
    up.done.store(true, Ordering::SeqCst);
    let dir = crate::support::temp_dir("store-ttl");
    let file = dir.join("ops.redb");
    let args = ["--store", file.to_str().unwrap(), "--store-ttl", "1"];
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let client = client();
    let key = [("idempotency-key", r#""short-lived""#)];
    let first = post(&client, &base, &key, "{}").await;
    assert_eq!(first.2, r#"{"thing":0}"#);
    // Within the TTL the answer comes from the store; after it, the key is new again.
    let mut answers = Vec::new();
    for _ in 0..100 {
        let again = post(&client, &base, &key, "{}").await;
        assert_eq!(again.0, StatusCode::OK);
        answers.push(again.2);
        if up.submissions() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        up.submissions(),
        2,
        "submitted again once the record expired"
    );
    assert_eq!(answers.first().unwrap(), r#"{"thing":0}"#);
    assert_eq!(answers.last().unwrap(), r#"{"thing":1}"#);
}

/// `lro proxy ARGS` that must stop at start-up; its exit code and stderr.
async fn refused(args: &[&str]) -> (i32, String) {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the proxy stopped within 20 s")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

#[tokio::test]
async fn a_store_that_cannot_be_opened_stops_the_proxy() {
    // A port nothing listens on: taken from the OS, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}/0");
    let (code, stderr) = refused(&["--store", &url]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(stderr.contains("cannot reach redis"), "{stderr}");
    let dir = crate::support::temp_dir("no-store");
    let inside_a_file = dir.join("file");
    std::fs::write(&inside_a_file, "not a directory").unwrap();
    let path = inside_a_file.join("ops.redb");
    let (code, stderr) = refused(&["--store", path.to_str().unwrap()]).await;
    assert_eq!(code, 2, "{stderr}");
    let (code, stderr) = refused(&["--store", "rediss://127.0.0.1:1"]).await;
    assert_eq!(code, 2, "{stderr}");
}

/// `GET {base}{path}`; the status and body.
async fn get(client: &HttpClient, base: &str, path: &str) -> (StatusCode, String) {
    let req = Request::get(format!("{base}{path}"))
        .body(Full::default())
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .expect("an answer within 20 s")
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The value of the series `line` starts with in a Prometheus text.
fn series(text: &str, line: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {line} in\n{text}"))
        .parse::<f64>()
        .unwrap() as u64
}

#[tokio::test]
async fn health_and_metrics_are_the_proxys_own() {
    let up = Upstream::start().await;
    up.done.store(true, Ordering::SeqCst);
    let redis = crate::support::redis_server::RedisServer::start();
    let args = ["--store", redis.url.as_str(), "--poll-interval", "0.02"];
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let client = client();
    let (status, body) = get(&client, &base, "/_health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ok"}"#);
    let key = [("idempotency-key", r#""m-1""#)];
    assert_eq!(post(&client, &base, &key, "{}").await.0, StatusCode::OK);
    assert_eq!(post(&client, &base, &key, "{}").await.0, StatusCode::OK);
    let (status, text) = get(&client, &base, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(series(&text, "lro_operations_started_total"), 1);
    assert_eq!(series(&text, "lro_operations_attached_total"), 1);
    let succeeded = r#"lro_operations_finished_total{outcome="succeeded"}"#;
    assert_eq!(series(&text, succeeded), 1);
    assert_eq!(series(&text, "lro_operations_in_flight"), 0);
    assert!(series(&text, "lro_polls_total") >= 1);
    assert!(series(&text, r#"lro_waits_total{on="poll"}"#) >= 1);
    let req = Request::delete(format!("{base}/metrics"))
        .body(Full::default())
        .unwrap();
    let refused = client.request(req).await.unwrap();
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    // Neither path went upstream; another method is refused there.
    let upstream_saw = |path: &str| up.mock.count(path);
    assert_eq!(upstream_saw("/_health") + upstream_saw("/metrics"), 0);
    // The store gone: unhealthy, and a keyed request is answered 503.
    drop(redis);
    let (status, body) = get(&client, &base, "/_health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let (status, _, _) = post(&client, &base, &[("idempotency-key", "m-2")], "{}").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
