//! Shared fixtures of the integration tests: the loopback [`MockServer`] with a real hyper-util
//! client ([`server`] and the client helpers here), one way to drive a `tower-test` mock
//! ([`mock`]), and the status documents the tests answer with ([`docs`]).
#![allow(dead_code)]

pub mod docs;
pub mod mock;
pub mod server;

pub use docs::*;
pub use mock::{answer_with, lro_error, resp, submission, Op, Req, Res};
pub use server::{MockServer, Recorded, Reply};

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroBody, LroLayer, LroService};

/// Upper bound for any one exchange in a test: a hung test fails instead of hanging CI.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The client side
// ---------------------------------------------------------------------------------------------

/// hyper-util's legacy client over plain HTTP/1.1.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The client stack under test: `LroLayer` over a real hyper-util client.
pub type LroClient = LroService<HttpClient>;

/// The response the caller gets from [`LroClient`].
pub type LroResponse = Response<LroBody<Incoming>>;

/// A fresh hyper-util client (HTTP/1.1, plain TCP).
pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// `LroLayer` over a fresh hyper-util client, built with `ServiceBuilder`.
pub fn lro_client(layer: LroLayer) -> LroClient {
    ServiceBuilder::new().layer(layer).service(http_client())
}

/// A layer whose every wait is at most 5 ms: servers may say `Retry-After: 30`, tests don't wait.
pub fn fast_layer() -> LroLayer {
    LroLayer::new().wait_bounds(Duration::ZERO, Duration::from_millis(5))
}

/// [`fast_layer`] carrying the Azure Maps `subscription-key` query parameter onto every poll.
pub fn maps_layer() -> LroLayer {
    fast_layer().carry_query_param("subscription-key")
}

/// Two loopback servers, the caller's origin A and another origin B, with A accepting
/// `POST /jobs` (`202`) and naming `/ops/1` on B as its `Operation-Location`: the cross-origin
/// setup of the credential-stripping tests. The test says what B (and A's later paths) answer.
pub async fn two_origins() -> (MockServer, MockServer) {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &b.url("/ops/1")),
    );
    (a, b)
}

/// Sends `req` through a clone of `svc` (after `poll_ready`), failing the test after
/// [`TEST_TIMEOUT`].
pub async fn send<S, B>(svc: &S, req: Request<Full<Bytes>>) -> Result<Response<B>, BoxError>
where
    S: tower::Service<Request<Full<Bytes>>, Response = Response<B>, Error = BoxError> + Clone,
{
    tokio::time::timeout(TEST_TIMEOUT, svc.clone().oneshot(req))
        .await
        .expect("the exchange finished within the test timeout")
}

/// Reads a whole body, failing the test after [`TEST_TIMEOUT`].
pub async fn body_bytes<B>(body: B) -> Bytes
where
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    tokio::time::timeout(TEST_TIMEOUT, body.collect())
        .await
        .expect("the body arrived within the test timeout")
        .expect("the body reads")
        .to_bytes()
}

/// A request with a body (`Content-Type: application/json` when the body is not empty).
pub fn request(method: Method, url: &str, body: &str) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(url);
    if !body.is_empty() {
        builder = builder.header(CONTENT_TYPE, "application/json");
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
        .expect("valid request")
}

/// A `POST` with a JSON body.
pub fn post(url: &str, body: &str) -> Request<Full<Bytes>> {
    request(Method::POST, url, body)
}

/// A `GET` with an empty body.
pub fn get(url: &str) -> Request<Full<Bytes>> {
    request(Method::GET, url, "")
}

/// Asserts that `r` is a poll or resource fetch as spec §7 wants it: a `GET` with an empty
/// body and none of the submission's payload headers.
pub fn assert_bodiless_get(r: &Recorded) {
    assert_eq!(r.method, Method::GET, "{} {}", r.method, r.uri);
    assert!(
        r.body.is_empty(),
        "GET {} carried a body {:?}",
        r.uri,
        r.body
    );
    for name in ["content-type", "content-encoding", "transfer-encoding"] {
        assert!(
            !r.headers.contains_key(name),
            "GET {} carried {name}: {:?}",
            r.uri,
            r.headers.get(name)
        );
    }
    if let Some(len) = r.header("content-length") {
        assert_eq!(len, "0", "GET {} had content-length {len}", r.uri);
    }
}
