//! `LroMiddleware` in a real `reqwest` client (`reqwest-middleware`), against a loopback server.
//!
//! Real sockets: no paused time; the layer's waits are clamped to a few milliseconds instead.

use crate::support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Extensions, Method, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next, RequestBuilder};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{RetryError, RetryTransientMiddleware};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower_lro::__private::Reason;
use tower_lro::middleware::{lro_error, redirect_policy, LroMiddleware};
use tower_lro::{ErrorKind, FinalState, LroLayer, LroMetadata, LroOptions, Progress, Rule};
use tower_lro::{LroRequest, PollKind};

use support::{
    assert_bodiless_get, fast_layer, maps_layer, MockServer, Reply, SEED_V1_RUNNING,
    SEED_V2_RUNNING, SEED_V2_SUCCEEDED, TEST_TIMEOUT,
};

const SUBSCRIPTION_KEY: &str = "sk-test";

const RESOURCE: &str = r#"{"tilesetId":"tileset-1","ontology":"facility-2.0"}"#;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A plain-HTTP reqwest client that ignores proxy environment variables.
fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain-HTTP reqwest client builds")
}

/// `LroMiddleware` alone over a reqwest client.
fn client(layer: LroLayer) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::from(layer))
        .build()
}

/// A layer as Azure Maps wants it: `subscription-key` is carried onto polls too.
async fn send(request: RequestBuilder) -> reqwest_middleware::Result<Response> {
    tokio::time::timeout(TEST_TIMEOUT, request.send())
        .await
        .expect("the exchange finished within the test timeout")
}

async fn body(response: Response) -> String {
    let bytes = tokio::time::timeout(TEST_TIMEOUT, response.bytes())
        .await
        .expect("the body arrived within the test timeout")
        .expect("the body reads");
    String::from_utf8(bytes.to_vec()).expect("the body is text")
}

fn submit_url(server: &MockServer) -> String {
    server.url(&format!(
        "/mapData?api-version=2.0&subscription-key={SUBSCRIPTION_KEY}"
    ))
}

fn submit(client: &ClientWithMiddleware, server: &MockServer) -> RequestBuilder {
    client
        .post(submit_url(server))
        .header("content-type", "application/json")
        .bearer_auth("caller-token")
        .body(r#"{"upload":"..."}"#)
}

fn metadata(response: &Response) -> &LroMetadata {
    response
        .extensions()
        .get::<LroMetadata>()
        .expect("a resolved response carries LroMetadata")
}

fn the_lro_error(err: &reqwest_middleware::Error) -> &tower_lro::Error {
    lro_error(err).unwrap_or_else(|| panic!("expected a tower_lro::Error, got {err:?}"))
}

/// Seed V2: `202` + `Operation-Location`, `Running` then `Succeeded` with `Resource-Location`.
fn serve_v2_success(server: &MockServer) {
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1")),
    );
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![
            Reply::new(200)
                .header("Retry-After", "30")
                .json(SEED_V2_RUNNING),
            Reply::new(200)
                .header(
                    "Resource-Location",
                    &format!("\"{}\"", server.url("/tilesets/tileset-1")),
                )
                .json(SEED_V2_SUCCEEDED),
        ],
    );
    server.always(
        Method::GET,
        "/tilesets/tileset-1",
        Reply::new(200).header("x-resource", "yes").json(RESOURCE),
    );
}

// ---------------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn v2_success_returns_the_resource_with_metadata() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let client = client(maps_layer());

    let response = send(submit(&client, &server)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-resource"], "yes");
    // The resource response streams as the client returned it: its own URL.
    assert_eq!(response.url().path(), "/tilesets/tileset-1");
    let meta = metadata(&response).clone();
    assert_eq!(meta.rule(), Rule::OperationLocation);
    assert_eq!(meta.polls(), 2);
    assert_eq!(
        meta.operation_id(),
        Some("c587574e-add9-4ef7-9788-1635bed9a87e")
    );
    assert!(meta.status().is_terminal(), "{}", meta.status());
    assert!(
        meta.resource_url()
            .is_some_and(|u| u.contains("/tilesets/tileset-1")),
        "{:?}",
        meta.resource_url()
    );
    assert_eq!(body(response).await, RESOURCE);

    let requests = server.requests();
    let order: Vec<(Method, &str)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.path()))
        .collect();
    assert_eq!(
        order,
        [
            (Method::POST, "/mapData"),
            (Method::GET, "/mapData/operations/1"),
            (Method::GET, "/mapData/operations/1"),
            (Method::GET, "/tilesets/tileset-1"),
        ]
    );
    for poll in &requests[1..] {
        assert_bodiless_get(poll);
        assert_eq!(poll.header("authorization"), Some("Bearer caller-token"));
        assert_eq!(poll.query("api-version").as_deref(), Some("2.0"));
        assert_eq!(
            poll.query("subscription-key").as_deref(),
            Some(SUBSCRIPTION_KEY)
        );
    }
}

/// What `LroService::call` does per request, the middleware does too: the idempotency key is
/// stamped on the submission (not on polls), and the request's own progress hook is called.
#[tokio::test]
async fn the_middleware_stamps_the_key_and_calls_the_request_progress_hook() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let layer = maps_layer().idempotency_header(tower_lro::IdempotencyHeader::IdempotencyKey);
    let client = client(layer);
    let reports = Arc::new(AtomicUsize::new(0));
    let seen = reports.clone();
    let options = LroOptions::new()
        .idempotency_key("order-42")
        .on_progress(move |_: &Progress| {
            seen.fetch_add(1, Ordering::SeqCst);
        });

    let response = send(submit(&client, &server).with_extension(options))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let requests = server.requests();
    assert_eq!(requests[0].header("idempotency-key"), Some("\"order-42\""));
    assert!(requests[1..]
        .iter()
        .all(|r| r.header("idempotency-key").is_none()));
    assert!(
        reports.load(Ordering::SeqCst) >= 2,
        "the 202, then each poll"
    );
}

/// The middleware adds `Prefer: respond-async` where the dialect's `prefer_async` says, as the
/// layer does: a user's copy of the `fhir` description asks for it on a `$export` kick-off
/// without `Prefer`, leaves a caller's own `Prefer` alone, and polls carry none.
#[tokio::test]
async fn the_middleware_asks_for_async_where_a_declared_copy_of_fhir_says() {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/fhir/$export",
        Reply::new(202).header("content-location", &server.url("/fhir/status/1")),
    );
    server.always(
        Method::GET,
        "/fhir/status/1",
        Reply::new(200).json(r#"{"output":[]}"#),
    );
    let copy = include_str!("../../src/proto/dialect/standards/fhir.json");
    let dialect = tower_lro::Dialect::from_json(copy).unwrap();
    let client = client(fast_layer().dialect(dialect));
    let url = server.url("/fhir/$export");

    let plain = send(client.get(&url)).await.unwrap();
    assert_eq!(body(plain).await, r#"{"output":[]}"#);
    let own = client
        .get(&url)
        .header("Prefer", "respond-async, handling=lenient");
    let own = send(own.with_extension(LroOptions::new().force()))
        .await
        .unwrap();
    assert_eq!(body(own).await, r#"{"output":[]}"#);

    let kick_offs = server.requests_to("/fhir/$export");
    let prefer: Vec<_> = kick_offs.iter().map(|r| r.header("prefer")).collect();
    assert_eq!(
        prefer,
        [
            Some("respond-async"),
            Some("respond-async, handling=lenient")
        ]
    );
    let polls = server.requests_to("/fhir/status/1");
    assert_eq!(polls.len(), 2);
    assert!(polls.iter().all(|r| r.header("prefer").is_none()));
}

#[tokio::test]
async fn v1_success_201_fetches_the_created_resource() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Location", &server.url("/mapData/operations/1")),
    );
    let created = format!(
        r#"{{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Succeeded",
    "resourceLocation": "{}"
}}"#,
        server.url("/tilesets/tileset-1")
    );
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![
            Reply::new(200)
                .header("Retry-After", "30")
                .json(SEED_V1_RUNNING),
            Reply::new(201)
                .header(
                    "Location",
                    &format!("\"{}\"", server.url("/tilesets/tileset-1")),
                )
                .json(created),
        ],
    );
    server.always(
        Method::GET,
        "/tilesets/tileset-1",
        Reply::new(200).json(RESOURCE),
    );
    let client = client(maps_layer());

    let response = send(submit(&client, &server)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let meta = metadata(&response);
    assert_eq!(meta.rule(), Rule::Location);
    assert_eq!(meta.polls(), 2);
    assert_eq!(body(response).await, RESOURCE);
    assert_eq!(server.hits(&Method::POST, "/mapData"), 1);
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 2);
    assert_eq!(server.hits(&Method::GET, "/tilesets/tileset-1"), 1);
}

#[tokio::test]
async fn failure_is_an_operation_failed_error_with_the_odata_error() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1")),
    );
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![
            Reply::new(200)
                .header("Retry-After", "30")
                .json(SEED_V2_RUNNING),
            Reply::new(200).json(support::SEED_FAILED),
        ],
    );
    let client = client(maps_layer());

    let err = send(submit(&client, &server)).await.unwrap_err();

    // Reachable through anyhow as well as through the helper.
    let reqwest_middleware::Error::Middleware(inner) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    assert!(inner.downcast_ref::<tower_lro::Error>().is_some());
    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::OperationFailed);
    assert!(lro.is_operation_failed());
    let odata = lro.odata_error().expect("the OData error is kept");
    assert_eq!(odata.code(), Some("InvalidFeature"));
    assert_eq!(odata.message(), Some("The provided feature is invalid."));
    assert_eq!(
        lro.operation_id(),
        Some("c587574e-add9-4ef7-9788-1635bed9a87e")
    );
    assert_eq!(lro.status(), Some(StatusCode::OK));
    assert!(lro
        .url()
        .is_some_and(|u| u.contains("/mapData/operations/1")));
    assert!(
        matches!(
            lro.reason(),
            Reason::OperationFailed { state, error: Some(odata), .. }
                if state.as_str() == "Failed" && odata.code() == Some("InvalidFeature")
        ),
        "{:?}",
        lro.reason()
    );
    // No resource fetch after a failure.
    assert_eq!(server.requests().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// Pass-through and per-request control
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn plain_200_and_400_come_back_untouched() {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/plain",
        Reply::new(200).header("x-plain", "1").body("just a body"),
    );
    let bad = r#"{"error":{"code":"BadRequest","message":"Upload is not valid"}}"#;
    server.always(Method::POST, "/mapData", Reply::new(400).json(bad));
    let client = client(maps_layer());

    let ok = send(client.get(server.url("/plain"))).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-plain"], "1");
    assert_eq!(ok.url().path(), "/plain");
    assert!(ok.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body(ok).await, "just a body");

    let rejected = send(submit(&client, &server)).await.unwrap();
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    assert!(rejected.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body(rejected).await, bad);

    assert_eq!(server.requests().len(), 2, "nothing was polled");
}

#[tokio::test]
async fn respond_async_and_disabled_options_get_the_202_back() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let client = client(maps_layer());

    let prefer = send(submit(&client, &server).header("Prefer", "respond-async"))
        .await
        .unwrap();
    assert_eq!(prefer.status(), StatusCode::ACCEPTED);
    assert!(prefer.headers().contains_key("operation-location"));
    assert!(prefer.extensions().get::<LroMetadata>().is_none());

    let disabled = send(submit(&client, &server).with_extension(LroOptions::disabled()))
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::ACCEPTED);

    assert_eq!(server.requests().len(), 2, "nothing was polled");
}

#[tokio::test]
async fn per_request_final_state_returns_the_rebuilt_status_response() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let client = client(maps_layer());

    let response = send(
        submit(&client, &server)
            .with_extension(LroOptions::new().final_state(FinalState::StatusMonitor)),
    )
    .await
    .unwrap();

    // The terminal status response, read by the middleware and rebuilt: status, headers, body
    // and URL are those the server sent.
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("resource-location"));
    assert_eq!(response.url().path(), "/mapData/operations/1");
    assert_eq!(response.url().query_pairs().count(), 2);
    assert_eq!(metadata(&response).polls(), 2);
    assert_eq!(metadata(&response).resource_url(), None);
    assert_eq!(body(response).await, SEED_V2_SUCCEEDED);
    assert_eq!(server.hits(&Method::GET, "/tilesets/tileset-1"), 0);
}

#[tokio::test]
async fn oversized_status_body_is_a_protocol_error() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1")),
    );
    let big = format!(r#"{{"status":"Running","pad":"{}"}}"#, "x".repeat(4096));
    server.always(
        Method::GET,
        "/mapData/operations/1",
        Reply::new(200).json(big),
    );
    let client = client(maps_layer().status_body_limit(1024));

    let err = send(submit(&client, &server)).await.unwrap_err();

    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::Protocol, "{lro}");
    assert!(
        matches!(
            lro.reason(),
            Reason::BodyTooLarge { status, limit: 1024 } if *status == StatusCode::OK
        ),
        "{:?}",
        lro.reason()
    );
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 1);
}

// ---------------------------------------------------------------------------------------------
// Deadline and resumption
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deadline_times_out_a_hung_poll_and_the_handle_resumes_it() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1")),
    );
    server.route(Method::GET, "/mapData/operations/1", |_, n| {
        if n == 0 {
            // Hangs past the deadline.
            Reply::new(200)
                .json(SEED_V2_RUNNING)
                .delay(Duration::from_secs(2))
        } else {
            Reply::new(200).json(SEED_V2_SUCCEEDED)
        }
    });
    let client = client(maps_layer());

    let started = std::time::Instant::now();
    let err = send(
        submit(&client, &server)
            .with_extension(LroOptions::new().deadline(Duration::from_millis(200))),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the deadline cut the poll short"
    );
    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::Timeout, "{lro}");
    let handle = lro
        .resume_handle()
        .expect("a timeout carries a resume handle")
        .clone();
    assert!(handle.operation_url().contains("/mapData/operations/1"));

    // Resume: the request is not sent; the operation is polled with its headers.
    let response = send(
        client
            .get(handle.request_url().to_owned())
            .header("x-fresh", "token")
            .with_extension(handle),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, SEED_V2_SUCCEEDED);
    assert_eq!(
        server.hits(&Method::POST, "/mapData"),
        1,
        "not re-submitted"
    );
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 2);
    let last = server.requests_to("/mapData/operations/1").pop().unwrap();
    assert_eq!(last.header("x-fresh"), Some("token"));
}

// ---------------------------------------------------------------------------------------------
// Composition: hooks, inner middlewares, reqwest-retry
// ---------------------------------------------------------------------------------------------

/// A caller-side extension, to see it carried to the polls.
#[derive(Debug, Clone, PartialEq)]
struct Tag(&'static str);

/// An inner middleware that records what each request carries in its extensions.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// What [`Recorder`] saw of one request.
type Seen = (Method, Option<LroRequest>, Option<Tag>);

impl Middleware for Recorder {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        req: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.seen.lock().unwrap().push((
            req.method().clone(),
            extensions.get::<LroRequest>().copied(),
            extensions.get::<Tag>().cloned(),
        ));
        next.run(req, extensions)
    }
}

#[tokio::test]
async fn polls_go_through_inner_middlewares_with_the_hooks_applied() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let recorder = Recorder::default();
    let progress = Arc::new(AtomicUsize::new(0));
    let counted = progress.clone();
    let layer = maps_layer()
        .on_poll_request(|req| {
            req.headers_mut()
                .insert("x-poll", http::HeaderValue::from_static("signed"));
        })
        .on_progress(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
    let client = ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::from(layer))
        .with(recorder.clone())
        .build();

    let response = send(submit(&client, &server).with_extension(Tag("caller")))
        .await
        .unwrap();
    assert_eq!(body(response).await, RESOURCE);

    let seen = recorder.seen.lock().unwrap().clone();
    let kinds: Vec<(Method, Option<(PollKind, u32)>)> = seen
        .iter()
        .map(|(m, r, _)| (m.clone(), r.map(|r| (r.kind(), r.attempt()))))
        .collect();
    assert_eq!(
        kinds,
        [
            (Method::POST, None),
            (Method::GET, Some((PollKind::Status, 1))),
            (Method::GET, Some((PollKind::Status, 2))),
            (Method::GET, Some((PollKind::Resource, 1))),
        ]
    );
    assert!(
        seen.iter().all(|(_, _, tag)| tag == &Some(Tag("caller"))),
        "{seen:?}"
    );
    let requests = server.requests();
    assert_eq!(
        requests[0].header("x-poll"),
        None,
        "the submission is not a poll"
    );
    assert!(requests[1..]
        .iter()
        .all(|r| r.header("x-poll") == Some("signed")));
    // Two planned polls and the delivery, as the Tower driver reports them.
    assert_eq!(progress.load(Ordering::SeqCst), 3);
}

fn fast_retry(max_retries: u32) -> RetryTransientMiddleware<ExponentialBackoff> {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(max_retries);
    RetryTransientMiddleware::new_with_policy(policy)
}

/// `202` + `Operation-Location`; the first poll answers `503`, the second `Succeeded`.
fn serve_flaky_poll(server: &MockServer) {
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1")),
    );
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![Reply::new(503), Reply::new(200).json(SEED_V2_SUCCEEDED)],
    );
}

#[tokio::test]
async fn retry_inside_retries_the_poll_and_sends_the_submission_once() {
    let server = MockServer::start().await;
    serve_flaky_poll(&server);
    // The core's own transient retries are off: only reqwest-retry can get past the 503.
    let client = ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::from(maps_layer().transient_retries(0)))
        .with(fast_retry(3))
        .build();

    let response = send(submit(&client, &server)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    // The core planned one poll; reqwest-retry sent it twice.
    assert_eq!(metadata(&response).polls(), 1);
    assert_eq!(body(response).await, SEED_V2_SUCCEEDED);
    assert_eq!(server.hits(&Method::POST, "/mapData"), 1);
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 2);
}

#[tokio::test]
async fn without_retry_the_same_503_exhausts_the_core_budget() {
    let server = MockServer::start().await;
    serve_flaky_poll(&server);
    let client = client(maps_layer().transient_retries(0));

    let err = send(submit(&client, &server)).await.unwrap_err();

    assert_eq!(the_lro_error(&err).kind(), ErrorKind::RetriesExhausted);
    assert_eq!(
        the_lro_error(&err).status(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 1);
}

#[tokio::test]
async fn retry_outside_neither_retries_polls_nor_re_submits_after_a_resolution_error() {
    let server = MockServer::start().await;
    serve_flaky_poll(&server);
    let client = ClientBuilder::new(reqwest_client())
        .with(fast_retry(3))
        .with(LroMiddleware::from(maps_layer().transient_retries(0)))
        .build();

    let err = send(submit(&client, &server)).await.unwrap_err();

    // The 503 reached the core (whose budget is 0); the error is fatal to reqwest-retry, which
    // hands it back wrapped, transparently, in its own error type.
    let reqwest_middleware::Error::Middleware(outer) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    let Some(RetryError::Error(inner)) = outer.downcast_ref::<RetryError>() else {
        panic!("expected reqwest-retry's RetryError::Error, got {outer:?}");
    };
    assert_eq!(the_lro_error(inner).kind(), ErrorKind::RetriesExhausted);
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 1);
    assert_eq!(
        server.hits(&Method::POST, "/mapData"),
        1,
        "not re-submitted"
    );
}

#[tokio::test]
async fn retry_outside_re_sends_a_submission_that_answered_503() {
    let server = MockServer::start().await;
    server.sequence(
        Method::POST,
        "/mapData",
        vec![
            Reply::new(503),
            Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1")),
        ],
    );
    server.always(
        Method::GET,
        "/mapData/operations/1",
        Reply::new(200).json(support::SEED_FAILED),
    );
    let client = ClientBuilder::new(reqwest_client())
        .with(fast_retry(3))
        .with(LroMiddleware::from(maps_layer()))
        .build();

    let err = send(submit(&client, &server)).await.unwrap_err();

    assert_eq!(
        server.hits(&Method::POST, "/mapData"),
        2,
        "the submission was sent twice"
    );
    // After a retry reqwest-retry keeps the error as a source: `lro_error` finds it.
    let reqwest_middleware::Error::Middleware(outer) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    assert!(matches!(
        outer.downcast_ref::<RetryError>(),
        Some(RetryError::WithRetries { retries: 1, .. })
    ));
    assert_eq!(the_lro_error(&err).kind(), ErrorKind::OperationFailed);
}

// ---------------------------------------------------------------------------------------------
// Chunked PUT answers (not servable by the mock server, which always sends Content-Length)
// ---------------------------------------------------------------------------------------------

/// Serves one connection: reads a request head and answers `200` with a chunked JSON body sent
/// in the given chunks.
async fn serve_chunked_once(chunks: Vec<String>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/resource", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                return;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let mut out = String::from(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        );
        for chunk in &chunks {
            out.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
        }
        out.push_str("0\r\n\r\n");
        stream.write_all(out.as_bytes()).await.expect("write");
        stream.shutdown().await.ok();
    });
    (url, task)
}

#[tokio::test]
async fn put_answered_with_a_terminal_state_is_rebuilt_whole() {
    let doc = r#"{"id":"r1","properties":{"provisioningState":"Succeeded"}}"#;
    let (url, task) = serve_chunked_once(vec![doc[..20].to_owned(), doc[20..].to_owned()]).await;
    let client = client(fast_layer());

    let response = send(client.put(&url).body("{}")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().as_str(), url);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body(response).await, doc);
    task.await.unwrap();
}

#[tokio::test]
async fn put_answer_over_the_limit_streams_back_whole() {
    let first = format!(
        r#"{{"provisioningState":"Succeeded","pad":"{}"#,
        "a".repeat(64)
    );
    let rest = format!(r#"{}"}}"#, "b".repeat(64));
    let (url, task) = serve_chunked_once(vec![first.clone(), rest.clone()]).await;
    let client = client(fast_layer().status_body_limit(16));

    let response = send(client.put(&url).body("{}")).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().as_str(), url);
    assert_eq!(body(response).await, format!("{first}{rest}"));
    task.await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Smoke: the adapter runs the Tower driver, so one scenario through both clients must agree.
// ---------------------------------------------------------------------------------------------

/// A progress report without its timing.
#[derive(Debug, PartialEq)]
struct Report {
    operation_url: String,
    status: String,
    polls: u32,
    percent_complete: Option<f64>,
    next_poll_planned: bool,
    wait_reason: Option<String>,
}

impl Report {
    fn of(p: &Progress) -> Self {
        Self {
            operation_url: p.operation_url().to_owned(),
            status: p.status().to_string(),
            polls: p.polls(),
            percent_complete: p.percent_complete(),
            next_poll_planned: p.next_poll_in().is_some(),
            wait_reason: p.wait_reason().map(ToString::to_string),
        }
    }
}

/// How a resolution ended, without timings.
type End = (
    StatusCode,
    String,
    (String, Option<String>, Rule, String, u32, Option<String>),
);

fn end(status: StatusCode, body: String, meta: &LroMetadata) -> End {
    (
        status,
        body,
        (
            meta.operation_url().to_owned(),
            meta.operation_id().map(str::to_owned),
            meta.rule(),
            meta.status().to_string(),
            meta.polls(),
            meta.resource_url().map(str::to_owned),
        ),
    )
}

/// A request as the server saw it, reduced to what both clients must agree on.
type Wire = (
    Method,
    String,
    Vec<(String, String)>,
    Option<String>,
    Option<String>,
);

fn wire(server: &MockServer) -> Vec<Wire> {
    server
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path().to_owned(),
                r.query_pairs(),
                r.header("authorization").map(str::to_owned),
                r.header("x-poll").map(str::to_owned),
            )
        })
        .collect()
}

fn recording_layer(reports: &Arc<Mutex<Vec<Report>>>) -> LroLayer {
    let reports = reports.clone();
    maps_layer()
        .on_poll_request(|req| {
            let kind = req.extensions().get::<LroRequest>().map(|r| r.kind());
            let value = if kind == Some(PollKind::Resource) {
                "resource"
            } else {
                "status"
            };
            req.headers_mut()
                .insert("x-poll", http::HeaderValue::from_static(value));
        })
        .on_progress(move |p| reports.lock().unwrap().push(Report::of(p)))
}

/// Seed V2 through `LroService` (hyper-util) and through `LroMiddleware` (reqwest), against one
/// server: the same requests, the same outcome and the same progress reports.
#[tokio::test]
async fn smoke_both_clients_resolve_seed_v2_alike() {
    let server = MockServer::start().await;

    // Tower: LroService over hyper-util.
    serve_v2_success(&server);
    let tower_reports = Arc::new(Mutex::new(Vec::new()));
    let svc = support::lro_client(recording_layer(&tower_reports));
    let mut req = support::post(&submit_url(&server), r#"{"upload":"..."}"#);
    req.headers_mut().insert(
        "authorization",
        http::HeaderValue::from_static("Bearer caller-token"),
    );
    let response = support::send(&svc, req).await.expect("tower resolves");
    let status = response.status();
    let meta = response.extensions().get::<LroMetadata>().cloned().unwrap();
    let bytes = support::body_bytes(response.into_body()).await;
    let tower_end = end(status, String::from_utf8(bytes.to_vec()).unwrap(), &meta);
    let tower_wire = wire(&server);

    // reqwest: LroMiddleware over reqwest. Routing again resets the scripts' hit counts.
    server.clear_requests();
    serve_v2_success(&server);
    let mw_reports = Arc::new(Mutex::new(Vec::new()));
    let client = client(recording_layer(&mw_reports));
    let response = send(submit(&client, &server))
        .await
        .expect("reqwest resolves");
    let status = response.status();
    let meta = metadata(&response).clone();
    let mw_end = end(status, body(response).await, &meta);
    let mw_wire = wire(&server);

    assert_eq!(tower_wire.len(), 4, "submission, two polls, the resource");
    assert_eq!(mw_wire, tower_wire, "the same requests reach the server");
    assert_eq!(mw_end, tower_end, "the same outcome");
    let (mw_reports, tower_reports) = (mw_reports.lock().unwrap(), tower_reports.lock().unwrap());
    assert!(!tower_reports.is_empty());
    assert_eq!(*mw_reports, *tower_reports, "the same progress reports");
}

/// A poll that cannot connect: reqwest's error names the URL it was sending to (the carried
/// `subscription-key`, the server's `sig=`). The error's message and `Debug` mask them; the
/// typed kind is `RetriesExhausted`.
#[tokio::test]
async fn a_transport_failure_is_reported_with_its_url_masked() {
    let server = MockServer::start().await;
    // A loopback port with no listener: every poll's connection is refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let monitor = format!("http://127.0.0.1:{port}/ops/1?sig=SIG-SECRET");
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &monitor),
    );
    let client = client(maps_layer().transient_retries(1));

    let err = send(submit(&client, &server)).await.unwrap_err();

    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::RetriesExhausted, "{lro}");
    for text in [lro.to_string(), format!("{lro:?}")] {
        assert!(!text.contains("SIG-SECRET"), "{text}");
        assert!(!text.contains(SUBSCRIPTION_KEY), "{text}");
    }
}

/// reqwest follows redirects in the client, before the layer sees them, to any origin, with
/// every header but `Authorization` and cookies. With [`redirect_policy`], a status monitor's
/// `307` to another origin comes back to the layer, which polls there without the
/// credentials (`x-api-key`, `Ocp-Apim-Subscription-Key`) and origin-bound headers
/// (`Metadata`) the submission carried; reqwest's own policy delivered all three.
#[tokio::test]
async fn with_the_redirect_policy_a_monitor_redirected_elsewhere_gets_no_credential() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/ops/1")),
    );
    server.always(
        Method::GET,
        "/ops/1",
        Reply::new(307).header("Location", &other.url("/ops/1")),
    );
    other.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).json(r#"{"status":"Succeeded"}"#),
    );
    let reqwest = reqwest::Client::builder()
        .no_proxy()
        .redirect(redirect_policy())
        .build()
        .unwrap();
    let client = ClientBuilder::new(reqwest)
        .with(LroMiddleware::from(fast_layer()))
        .build();
    let secrets = [
        ("x-api-key", "KEY-SECRET"),
        ("ocp-apim-subscription-key", "SUB-SECRET"),
        ("metadata", "true"),
    ];
    let mut request = client.post(server.url("/mapData")).body("{}");
    for (name, value) in secrets {
        request = request.header(name, value);
    }

    let response = send(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(metadata(&response).status().as_str(), "Succeeded");
    let polls = server.requests_to("/ops/1");
    assert_eq!(polls.len(), 1);
    let elsewhere = other.requests_to("/ops/1");
    assert_eq!(elsewhere.len(), 1, "the layer followed the 307 itself");
    for (name, value) in secrets {
        assert_eq!(
            polls[0].header(name),
            Some(value),
            "{name} on its own origin"
        );
        assert_eq!(
            elsewhere[0].header(name),
            None,
            "{name} went to another origin"
        );
    }
}
