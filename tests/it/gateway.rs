//! The gateway example over real loopback sockets: a mock upstream, the gateway's `serve`, and a
//! plain hyper-util client talking to the gateway. Real time (no paused clock): the layer's waits
//! are shrunk with `wait_bounds` instead.

/// `examples/gateway.rs`, compiled in.
#[path = "../../examples/gateway.rs"]
#[allow(dead_code)]
mod example;

use crate::support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_lro::{LroLayer, ResumeHandle};

use support::{body_bytes, fast_layer, http_client, MockServer, Reply, SEED_FAILED, TEST_TIMEOUT};

const OP_ID: &str = "c587574e-add9-4ef7-9788-1635bed9a87e";

fn running() -> String {
    json!({"operationId": OP_ID, "created": "3/11/2020 8:45:13 PM +00:00", "status": "Running"})
        .to_string()
}

fn succeeded() -> String {
    json!({"operationId": OP_ID, "created": "2021-05-06T07:55:19.5256829+00:00", "status": "Succeeded"})
        .to_string()
}

/// A running gateway; dropping it stops it and its connections.
struct Gateway {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Gateway {
    async fn start(upstream: &str, layer: LroLayer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream: Uri = upstream.parse().unwrap();
        let task = tokio::spawn(example::serve(listener, upstream, layer));
        Self { addr, task }
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }
}

/// What the gateway's client got.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    took: Duration,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

async fn call(req: Request<Full<Bytes>>) -> Answer {
    let started = Instant::now();
    let client = http_client();
    let response = tokio::time::timeout(TEST_TIMEOUT, client.request(req))
        .await
        .expect("the gateway answered within the test timeout")
        .expect("the gateway answered");
    let (parts, body) = response.into_parts();
    let body = body_bytes(body).await;
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
        took: started.elapsed(),
    }
}

fn post(url: &str) -> http::request::Builder {
    Request::post(url).header("content-type", "application/json")
}

/// A V2 upstream: `POST /mapData` → `202` + `Operation-Location` (+ `Retry-After: 30`, which the
/// gateway's wait bounds shrink), the monitor answers from `status_replies`.
fn v2_upstream(server: &MockServer, status_replies: Vec<Reply>) -> String {
    let monitor = server.url(&format!("/mapData/operations/{OP_ID}?api-version=2.0"));
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202)
            .header("Operation-Location", &monitor)
            .header("Retry-After", "30"),
    );
    server.sequence(
        Method::GET,
        &format!("/mapData/operations/{OP_ID}"),
        status_replies,
    );
    monitor
}

#[tokio::test]
async fn v2_success_answers_with_the_created_resource() {
    let server = MockServer::start().await;
    let resource = server.url("/mapData/metadata/udid-1?api-version=2.0");
    v2_upstream(
        &server,
        vec![
            Reply::new(200).header("Retry-After", "30").json(running()),
            Reply::new(200)
                .header("Resource-Location", &format!("\"{resource}\""))
                .json(succeeded()),
        ],
    );
    server.always(
        Method::GET,
        "/mapData/metadata/udid-1",
        Reply::new(200)
            .header("x-resource", "udid-1")
            .json(r#"{"udid":"udid-1"}"#),
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let req = post(&gw.url("/mapData?api-version=2.0&dataFormat=zip"))
        .header("authorization", "Bearer token-1")
        .header("x-custom", "kept")
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "dropped")
        .header("keep-alive", "timeout=5")
        .body(Full::from(r#"{"upload":true}"#))
        .unwrap();
    let answer = call(req).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, r#"{"udid":"udid-1"}"#);
    assert_eq!(answer.headers["x-resource"], "udid-1");
    assert_eq!(answer.headers["content-type"], "application/json");

    // The submission went upstream once, as the client sent it minus hop-by-hop headers.
    assert_eq!(server.hits(&Method::POST, "/mapData"), 1);
    let seen = server.requests();
    let submission = &seen[0];
    assert_eq!(submission.method, Method::POST);
    assert_eq!(
        submission.uri.to_string(),
        "/mapData?api-version=2.0&dataFormat=zip"
    );
    assert_eq!(submission.body, r#"{"upload":true}"#);
    assert_eq!(submission.header("authorization"), Some("Bearer token-1"));
    assert_eq!(submission.header("x-custom"), Some("kept"));
    assert_eq!(submission.header("content-type"), Some("application/json"));
    assert_eq!(
        submission.header("host"),
        Some(server.addr().to_string().as_str()),
        "Host names the upstream, not the gateway"
    );
    for hop in ["x-hop", "keep-alive"] {
        assert!(!submission.headers.contains_key(hop), "{hop} was forwarded");
    }
    // Then two polls and the resource, all GETs with the client's credentials.
    let paths: Vec<String> = seen.iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(
        paths[1..],
        [
            format!("/mapData/operations/{OP_ID}?api-version=2.0"),
            format!("/mapData/operations/{OP_ID}?api-version=2.0"),
            "/mapData/metadata/udid-1?api-version=2.0".to_owned(),
        ]
    );
    for r in &seen[1..] {
        support::assert_bodiless_get(r);
        assert_eq!(r.header("authorization"), Some("Bearer token-1"));
    }
}

#[tokio::test]
async fn failed_operation_is_422_with_the_upstream_odata_error() {
    let server = MockServer::start().await;
    v2_upstream(
        &server,
        vec![
            Reply::new(200).header("Retry-After", "30").json(running()),
            Reply::new(200).json(SEED_FAILED),
        ],
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(
        post(&gw.url("/mapData?api-version=2.0"))
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.headers["content-type"], "application/json");
    let seed: Value = serde_json::from_str(SEED_FAILED).unwrap();
    assert_eq!(answer.json(), json!({ "error": seed["error"] }));
}

#[tokio::test]
async fn failed_operation_with_an_internal_code_is_500() {
    let server = MockServer::start().await;
    v2_upstream(
        &server,
        vec![Reply::new(200).json(
            r#"{"status":"Failed","error":{"code":"InternalServerError","message":"disk on fire","target":"tiles"}}"#,
        )],
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        answer.json(),
        json!({"error": {"code": "InternalServerError", "message": "disk on fire", "target": "tiles"}})
    );
}

#[test]
fn failure_status_rule() {
    use tower_lro::gateway::failure_status;
    assert_eq!(failure_status(Some("InvalidFeature")), 422);
    assert_eq!(failure_status(Some("BadRequest")), 422);
    assert_eq!(failure_status(Some("Conflict")), 422);
    assert_eq!(failure_status(Some("InternalServerError")), 500);
    assert_eq!(failure_status(Some("internalError")), 500);
    assert_eq!(failure_status(Some("ServiceUnavailable")), 500);
    assert_eq!(failure_status(Some("ServerError")), 500);
    assert_eq!(failure_status(None), 422);
}

#[tokio::test]
async fn running_forever_past_the_deadline_is_504_with_a_resume_handle() {
    let server = MockServer::start().await;
    let monitor = v2_upstream(
        &server,
        vec![Reply::new(200)
            .header("retry-after-ms", "20")
            .json(running())],
    );
    let layer = fast_layer().deadline(Duration::from_millis(200));
    let gw = Gateway::start(&server.base(), layer).await;

    let answer = call(
        post(&gw.url("/mapData?api-version=2.0"))
            .header("authorization", "Bearer never-in-the-handle")
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    // It kept polling until the next 20 ms wait would end past the 200 ms deadline, and gave
    // up then: not much earlier, nor later.
    assert!(
        answer.took >= Duration::from_millis(150) && answer.took < Duration::from_secs(1),
        "took {:?}",
        answer.took
    );
    let body = answer.json();
    assert_eq!(body["error"]["code"], "GatewayTimeout");
    assert_eq!(body["error"]["operationUrl"], monitor);
    assert_eq!(body["error"]["operationId"], OP_ID);
    let handle: ResumeHandle = serde_json::from_value(body["resume"].clone())
        .unwrap_or_else(|e| panic!("resume is a handle ({e}): {}", body["resume"]));
    assert_eq!(handle.operation_url(), monitor);
    assert_eq!(handle.version(), ResumeHandle::VERSION);
    assert!(
        !String::from_utf8_lossy(&answer.body).contains("never-in-the-handle"),
        "a credential leaked into the 504 body"
    );
    // Polled every 20 ms or so: more than once before giving up.
    assert!(server.hits(&Method::GET, &format!("/mapData/operations/{OP_ID}")) >= 2);
    assert_eq!(server.hits(&Method::POST, "/mapData"), 1);
}

#[tokio::test]
async fn garbage_status_body_is_502_naming_the_status_url() {
    let server = MockServer::start().await;
    let monitor = v2_upstream(
        &server,
        vec![Reply::new(200).body("<html>upstream proxy error</html>")],
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(
        post(&gw.url("/mapData?api-version=2.0"))
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let body = answer.json();
    assert_eq!(body["error"]["code"], "BadGateway");
    assert_eq!(body["error"]["upstreamUrl"], monitor);
    assert_eq!(body["error"]["upstreamStatus"], 200);
    assert_eq!(
        body["error"]["upstreamBody"],
        "<html>upstream proxy error</html>"
    );
}

#[tokio::test]
async fn poll_rejected_with_404_is_502_with_what_the_upstream_answered() {
    let server = MockServer::start().await;
    let monitor = v2_upstream(
        &server,
        vec![Reply::new(404).json(r#"{"error":{"code":"OperationNotFound"}}"#)],
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let body = answer.json();
    assert_eq!(body["error"]["upstreamStatus"], 404);
    assert_eq!(body["error"]["upstreamUrl"], monitor);
    assert_eq!(
        body["error"]["upstreamBody"],
        r#"{"error":{"code":"OperationNotFound"}}"#
    );
}

#[tokio::test]
async fn prefer_respond_async_gets_the_upstream_202_untouched() {
    let server = MockServer::start().await;
    let monitor = v2_upstream(&server, vec![Reply::new(200).json(succeeded())]);
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(
        post(&gw.url("/mapData?api-version=2.0"))
            .header("prefer", "respond-async")
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::ACCEPTED);
    assert_eq!(answer.headers["operation-location"], monitor.as_str());
    assert_eq!(answer.headers["retry-after"], "30");
    assert!(answer.body.is_empty());
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "nothing was polled");
    assert_eq!(seen[0].header("prefer"), Some("respond-async"));
}

#[tokio::test]
async fn a_non_lro_answer_passes_through() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(400)
            .header("x-ms-request-id", "req-7")
            .json(r#"{"error":{"code":"BadRequest","message":"no udid"}}"#),
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.headers["x-ms-request-id"], "req-7");
    assert_eq!(
        answer.body,
        r#"{"error":{"code":"BadRequest","message":"no udid"}}"#
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn unreachable_upstream_is_502() {
    // A port nothing listens on: bind, note it, close it.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let gw = Gateway::start(&format!("http://{closed}"), fast_layer()).await;

    let answer = call(
        post(&gw.url("/mapData?x=1"))
            .body(Full::from("{}"))
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let body = answer.json();
    assert_eq!(body["error"]["code"], "BadGateway");
    assert_eq!(
        body["error"]["upstreamUrl"],
        format!("http://{closed}/mapData?x=1")
    );
    // Nothing answered: no upstream status or body to report.
    assert!(body["error"].get("upstreamStatus").is_none(), "{body}");
    assert!(body["error"].get("upstreamBody").is_none(), "{body}");
}

#[tokio::test]
async fn upstream_base_path_prefixes_the_request_path() {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/api/v1/things",
        Reply::new(200).body("things"),
    );
    let gw = Gateway::start(&server.url("/api/v1/"), fast_layer()).await;

    let answer = call(
        Request::get(gw.url("/things?page=2"))
            .body(Full::default())
            .unwrap(),
    )
    .await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, "things");
    assert_eq!(
        server.requests()[0].uri.to_string(),
        "/api/v1/things?page=2"
    );
}

#[tokio::test]
async fn a_resource_larger_than_the_status_limit_streams_through_whole() {
    let server = MockServer::start().await;
    let resource = server.url("/tiles/1");
    v2_upstream(
        &server,
        vec![Reply::new(200)
            .header("Resource-Location", &resource)
            .json(succeeded())],
    );
    let big: Bytes = (0..256 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    server.always(Method::GET, "/tiles/1", Reply::new(200).body(big.clone()));
    let gw = Gateway::start(&server.base(), fast_layer().status_body_limit(4096)).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body.len(), big.len());
    assert!(answer.body == big, "the resource arrived altered");
}

#[tokio::test]
async fn the_demo_upstream_resolves_through_the_gateway() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = format!("http://{}", listener.local_addr().unwrap());
    let upstream_task = tokio::spawn(example::demo_upstream(listener));
    let gw = Gateway::start(&upstream, fast_layer()).await;

    let answer = call(
        post(&gw.url("/mapData?api-version=2.0"))
            .body(Full::from("zip"))
            .unwrap(),
    )
    .await;
    upstream_task.abort();

    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["udid"], "udid-1");
    // Retry-After: 1 was clamped to 5 ms by the gateway's wait bounds.
    assert!(
        answer.took < Duration::from_secs(1),
        "took {:?}",
        answer.took
    );
}

#[tokio::test]
async fn an_unusable_monitor_url_is_502() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", "ftp://files.example/ops/1"),
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let body = answer.json();
    // The one check of message text: the refused URL reaches the gateway's client only there.
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("ftp://files.example/ops/1"), "{message}");
    assert_eq!(server.requests().len(), 1, "nothing was polled");
}

#[tokio::test]
async fn a_poll_that_keeps_failing_is_502_with_the_last_answer() {
    let server = MockServer::start().await;
    let monitor = v2_upstream(
        &server,
        vec![Reply::new(503)
            .header("retry-after-ms", "1")
            .body("overloaded")],
    );
    let gw = Gateway::start(&server.base(), fast_layer().transient_retries(2)).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let body = answer.json();
    assert_eq!(body["error"]["upstreamUrl"], monitor);
    assert_eq!(body["error"]["upstreamStatus"], 503);
    assert_eq!(body["error"]["upstreamBody"], "overloaded");
    // The first try and two retries.
    assert_eq!(
        server.hits(&Method::GET, &format!("/mapData/operations/{OP_ID}")),
        3
    );
}

#[tokio::test]
async fn the_poll_limit_is_504_with_a_resume_handle() {
    let server = MockServer::start().await;
    let monitor = v2_upstream(
        &server,
        vec![Reply::new(200)
            .header("retry-after-ms", "1")
            .json(running())],
    );
    let gw = Gateway::start(&server.base(), fast_layer().max_polls(3)).await;

    let answer = call(post(&gw.url("/mapData")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    let body = answer.json();
    assert_eq!(body["resume"]["operation_url"], monitor);
    assert_eq!(
        server.hits(&Method::GET, &format!("/mapData/operations/{OP_ID}")),
        3
    );
}

#[tokio::test]
async fn a_chunked_request_body_streams_upstream() {
    use futures_util::stream;
    use http_body::Frame;
    use http_body_util::StreamBody;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use std::convert::Infallible;

    let server = MockServer::start().await;
    server.always(Method::PUT, "/blobs/1", Reply::new(201).body("stored"));
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    type Chunks = StreamBody<stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;
    let client: Client<_, Chunks> = Client::builder(TokioExecutor::new()).build_http();
    let chunks: Vec<Result<Frame<Bytes>, Infallible>> = ["one,", "two,", "three"]
        .into_iter()
        .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))))
        .collect();
    let req = Request::put(gw.url("/blobs/1"))
        .body(StreamBody::new(stream::iter(chunks)))
        .unwrap();
    let response = tokio::time::timeout(TEST_TIMEOUT, client.request(req))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(body_bytes(response.into_body()).await, "stored");
    let seen = server.requests();
    assert_eq!(seen[0].body, "one,two,three");
}

/// A monitor URL signed by the upstream (a SAS `sig=`) is named in the `502` masked: the
/// gateway's client gets the URL's shape, never the signature (nor in the message).
#[tokio::test]
async fn a_signed_monitor_is_named_masked_in_the_502() {
    let server = MockServer::start().await;
    let monitor = server.url("/ops/1?sv=1&sig=SIG-SECRET");
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("Operation-Location", &monitor),
    );
    server.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).body("<html>no</html>"),
    );
    let gw = Gateway::start(&server.base(), fast_layer()).await;

    let answer = call(post(&gw.url("/jobs")).body(Full::from("{}")).unwrap()).await;

    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    let text = String::from_utf8_lossy(&answer.body).into_owned();
    assert!(!text.contains("SIG-SECRET"), "{text}");
    assert_eq!(
        answer.json()["error"]["upstreamUrl"],
        server.url("/ops/1?sv=1&sig=***")
    );
}
