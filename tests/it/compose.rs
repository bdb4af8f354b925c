//! `LroLayer` composed with other Tower middleware, against `tower-test` mocks with Tokio's clock
//! paused: retry inside and outside, an overall timeout, a concurrency limit, tracing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tower::limit::ConcurrencyLimitLayer;
use tower::retry::{Policy, RetryLayer};
use tower::timeout::TimeoutLayer;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_http::trace::TraceLayer;
use tower_lro::{ErrorKind, LroLayer, LroMetadata};
use tower_test::mock;

use crate::support::{answer_with, resp, Req, Res, RUNNING, SUCCEEDED};

fn request(method: Method, uri: &str, body: &'static str) -> Req {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

const FAILED_BUSY: &str =
    r#"{"status":"Failed","error":{"code":"ServiceBusy","message":"try again"}}"#;

/// Retries a failed call of an idempotent request (`GET`, `PUT`, `DELETE`, …) up to `left` more
/// times, one second apart. A `POST` is never retried: sending it again may do its work twice.
#[derive(Clone, Debug)]
struct RetryIdempotent {
    left: usize,
}

impl<B: Clone, Res> Policy<Request<B>, Res, BoxError> for RetryIdempotent {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        req: &mut Request<B>,
        result: &mut Result<Res, BoxError>,
    ) -> Option<Self::Future> {
        if result.is_ok() || self.left == 0 || !req.method().is_idempotent() {
            return None;
        }
        self.left -= 1;
        Some(tokio::time::sleep(Duration::from_secs(1)))
    }

    fn clone_request(&mut self, req: &Request<B>) -> Option<Request<B>> {
        Some(req.clone())
    }
}

/// (a) Retry INSIDE the layer retries one poll; the submission is sent once and the layer never
/// sees the failed attempt.
#[tokio::test(start_paused = true)]
async fn retry_inside_retries_a_failed_poll_without_resubmitting() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let svc = ServiceBuilder::new()
        .layer(LroLayer::new())
        .layer(RetryLayer::new(RetryIdempotent { left: 2 }))
        .service(mock);
    let server = answer_with(handle, |s, n| match n {
        0 => Ok(resp(
            202,
            &[
                ("operation-location", b"https://s.example/ops/1"),
                ("retry-after", b"10"),
            ],
            "",
        )),
        1 => Err("connection reset by peer".into()),
        _ if s.uri.ends_with("/ops/1") => Ok(resp(200, &[], SUCCEEDED)),
        _ => panic!("unexpected request {s:?}"),
    });

    let response = svc
        .oneshot(request(Method::POST, "https://s.example/jobs", "{}"))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let meta = response.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(
        meta.polls(),
        1,
        "the retried attempt is invisible to the layer"
    );
    let seen = server.await.unwrap();
    let summary: Vec<(Method, &str, Duration)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.uri.as_str(), s.at))
        .collect();
    assert_eq!(
        summary,
        [
            (Method::POST, "https://s.example/jobs", Duration::ZERO),
            (
                Method::GET,
                "https://s.example/ops/1",
                Duration::from_secs(10)
            ),
            (
                Method::GET,
                "https://s.example/ops/1",
                Duration::from_secs(11)
            ),
        ]
    );
}

/// (b) The same policy OUTSIDE the layer: a failed *operation* is an error of the whole call, so
/// the retry re-sends the submission and a new operation starts.
///
/// That is only safe when the submission is idempotent: a `PUT` of the whole resource to a URL
/// the client chose (ARM's create-or-update), where sending it twice converges to the same state.
/// A `POST` usually creates something each time; even with a `Repeatability-Request-ID` or
/// `Idempotency-Key` the server may answer the re-send with the first (failed) operation. Prefer
/// retry inside the layer (polls are `GET`s) and keep an outer retry for idempotent requests only,
/// as this policy does.
#[tokio::test(start_paused = true)]
async fn retry_outside_resubmits_an_idempotent_put_after_a_failed_operation() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryIdempotent { left: 2 }))
        .layer(LroLayer::new())
        .service(mock);
    let server = answer_with(handle, |s, _| {
        let accepted = |op: &str| {
            resp(
                202,
                &[("operation-location", op.as_bytes()), ("retry-after", b"5")],
                "",
            )
        };
        Ok(match (s.method.as_str(), s.uri.as_str()) {
            // The first submission's operation fails, the second one succeeds.
            ("PUT", "https://s.example/things/1") if s.at < Duration::from_secs(5) => {
                accepted("https://s.example/ops/1")
            }
            ("PUT", "https://s.example/things/1") => accepted("https://s.example/ops/2"),
            ("GET", "https://s.example/ops/1") => resp(200, &[], FAILED_BUSY),
            ("GET", "https://s.example/ops/2") => resp(200, &[], SUCCEEDED),
            ("GET", "https://s.example/things/1") => resp(200, &[], r#"{"id":1}"#),
            _ => panic!("unexpected request {s:?}"),
        })
    });

    let response = svc
        .oneshot(request(
            Method::PUT,
            "https://s.example/things/1",
            r#"{"size":3}"#,
        ))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, r#"{"id":1}"#);
    let seen = server.await.unwrap();
    let summary: Vec<(&str, &str, u64)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.uri.as_str(), s.at.as_secs()))
        .collect();
    assert_eq!(
        summary,
        [
            ("PUT", "https://s.example/things/1", 0),
            ("GET", "https://s.example/ops/1", 5),
            // The policy's one-second backoff, then the submission again, whole.
            ("PUT", "https://s.example/things/1", 6),
            ("GET", "https://s.example/ops/2", 11),
            ("GET", "https://s.example/things/1", 11),
        ]
    );
    assert_eq!(seen[2].body, r#"{"size":3}"#);
}

/// (b, continued) The same outer policy leaves a failed `POST` alone: the caller gets the
/// operation's error and the submission went out once.
#[tokio::test(start_paused = true)]
async fn retry_outside_does_not_resubmit_a_post() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let svc = ServiceBuilder::new()
        .layer(RetryLayer::new(RetryIdempotent { left: 2 }))
        .layer(LroLayer::new())
        .service(mock);
    let server = answer_with(handle, |s, _| {
        Ok(match s.method.as_str() {
            "POST" => resp(
                202,
                &[("operation-location", b"https://s.example/ops/1")],
                "",
            ),
            _ => resp(200, &[], FAILED_BUSY),
        })
    });

    let err = svc
        .oneshot(request(Method::POST, "https://s.example/jobs", "{}"))
        .await
        .unwrap_err();

    let err = err
        .downcast_ref::<tower_lro::Error>()
        .expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(
        err.odata_error().and_then(|o| o.code()),
        Some("ServiceBusy")
    );
    let seen = server.await.unwrap();
    assert_eq!(seen.iter().filter(|s| s.method == Method::POST).count(), 1);
}

/// (c) A `Timeout` outside bounds the whole resolution: polls, waits and all.
#[tokio::test(start_paused = true)]
async fn timeout_outside_bounds_the_whole_operation() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let svc = ServiceBuilder::new()
        .layer(TimeoutLayer::new(Duration::from_secs(60)))
        .layer(LroLayer::new())
        .service(mock);
    // Polls every 7 s: at 7, 14, …, 56; the next would be at 63.
    let server = answer_with(handle, |s, _| {
        Ok(match s.method.as_str() {
            "POST" => resp(
                202,
                &[
                    ("operation-location", b"https://s.example/ops/1"),
                    ("retry-after", b"7"),
                ],
                "",
            ),
            _ => resp(200, &[("retry-after", b"7")], RUNNING),
        })
    });
    let t0 = Instant::now();

    let err = svc
        .oneshot(request(Method::POST, "https://s.example/jobs", "{}"))
        .await
        .unwrap_err();

    assert_eq!(t0.elapsed(), Duration::from_secs(60));
    assert!(
        err.is::<tower::timeout::error::Elapsed>(),
        "expected Elapsed, got {err:?}"
    );
    // Dropping the timed-out future stopped the polling: the mock's last clone is gone.
    let seen = server.await.unwrap();
    let polls: Vec<u64> = seen
        .iter()
        .filter(|s| s.method == Method::GET)
        .map(|s| s.at.as_secs())
        .collect();
    assert_eq!(polls, [7, 14, 21, 28, 35, 42, 49, 56]);
}

/// (d) A concurrency limit of 1 outside: the permit is held for the whole resolution, so a
/// second call waits until the first operation is over; the first one's polls go to the inner
/// service directly and do not wait for a permit (no deadlock).
#[tokio::test(start_paused = true)]
async fn concurrency_limit_outside_holds_the_permit_for_the_whole_operation() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let svc = ServiceBuilder::new()
        .layer(ConcurrencyLimitLayer::new(1))
        .layer(LroLayer::new())
        .service(mock);
    let first_done = Arc::new(Mutex::new(None::<Duration>));
    let server = answer_with(handle, |s, _| {
        let op = if s.uri.contains("/a") { "a" } else { "b" };
        Ok(match s.method.as_str() {
            "POST" => {
                let monitor = format!("https://s.example/ops/{op}");
                resp(
                    202,
                    &[
                        ("operation-location", monitor.as_bytes()),
                        ("retry-after", b"5"),
                    ],
                    "",
                )
            }
            _ if s.at < Duration::from_secs(10) => resp(200, &[("retry-after", b"5")], RUNNING),
            _ => resp(200, &[], SUCCEEDED),
        })
    });
    let t0 = Instant::now();

    let first = {
        let svc = svc.clone();
        let done = first_done.clone();
        tokio::spawn(async move {
            let r = svc
                .oneshot(request(Method::POST, "https://s.example/a", "{}"))
                .await;
            *done.lock().unwrap() = Some(t0.elapsed());
            r
        })
    };
    // Let the first call take the permit before the second asks for it.
    tokio::task::yield_now().await;
    let second = tokio::spawn(svc.clone().oneshot(request(
        Method::POST,
        "https://s.example/b",
        "{}",
    )));
    drop(svc);

    let a = first.await.unwrap().unwrap();
    let b = second.await.unwrap().unwrap();
    assert_eq!(a.extensions().get::<LroMetadata>().unwrap().polls(), 2);
    assert_eq!(b.extensions().get::<LroMetadata>().unwrap().polls(), 1);
    let first_done = first_done.lock().unwrap().expect("the first call ended");
    assert_eq!(first_done, Duration::from_secs(10));

    let seen = server.await.unwrap();
    let summary: Vec<(&str, &str, u64)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.uri.as_str(), s.at.as_secs()))
        .collect();
    assert_eq!(
        summary,
        [
            ("POST", "https://s.example/a", 0),
            ("GET", "https://s.example/ops/a", 5),
            ("GET", "https://s.example/ops/a", 10),
            // Only once the first operation is over does the second submission go out.
            ("POST", "https://s.example/b", 10),
            ("GET", "https://s.example/ops/b", 15),
        ]
    );
}

/// (e) `TraceLayer::new_for_http()` outside the layer sees one request and the final response;
/// inside it, it also sees every poll.
#[tokio::test(start_paused = true)]
async fn trace_layer_outside_and_inside() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let outer = Arc::new(AtomicUsize::new(0));
    let inner = Arc::new(AtomicUsize::new(0));
    let outer_statuses = Arc::new(Mutex::new(Vec::new()));
    let svc = ServiceBuilder::new()
        .layer(
            TraceLayer::new_for_http()
                .on_request({
                    let outer = outer.clone();
                    move |_: &Req, _: &_| {
                        outer.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .on_response({
                    let statuses = outer_statuses.clone();
                    move |res: &Response<_>, _: Duration, _: &_| {
                        statuses.lock().unwrap().push(res.status().as_u16());
                    }
                }),
        )
        .layer(LroLayer::new())
        .layer(TraceLayer::new_for_http().on_request({
            let inner = inner.clone();
            move |_: &Req, _: &_| {
                inner.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .service(mock);
    let server = answer_with(handle, |s, _| {
        Ok(match (s.method.as_str(), s.uri.as_str(), s.at.as_secs()) {
            ("POST", _, _) => resp(202, &[("location", b"https://s.example/ops/1")], ""),
            // Seed V1: 202 while running, then 201 + Location of the new resource.
            (_, "https://s.example/ops/1", 0..=1) => {
                resp(202, &[("location", b"https://s.example/ops/1")], "")
            }
            (_, "https://s.example/ops/1", _) => resp(
                201,
                &[("location", b"https://s.example/things/1")],
                SUCCEEDED,
            ),
            (_, "https://s.example/things/1", _) => resp(200, &[], r#"{"id":1}"#),
            _ => panic!("unexpected request {s:?}"),
        })
    });

    let response = svc
        .oneshot(request(Method::POST, "https://s.example/things", "{}"))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let meta = response.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(meta.polls(), 2);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, r#"{"id":1}"#);
    let seen = server.await.unwrap();
    // Submission, two polls, the resource GET.
    assert_eq!(seen.len(), 4);
    assert_eq!(outer.load(Ordering::SeqCst), 1);
    assert_eq!(inner.load(Ordering::SeqCst), 4);
    assert_eq!(*outer_statuses.lock().unwrap(), [200]);
}

/// (d, inside) A concurrency limit of 1 INSIDE the layer bounds requests in flight, not
/// operations: no permit is held while an operation waits between polls, so two operations
/// overlap and neither starves.
#[tokio::test(start_paused = true)]
async fn concurrency_limit_inside_bounds_requests_not_operations() {
    let (mock, handle) = mock::pair::<Req, Res>();
    let svc = ServiceBuilder::new()
        .layer(LroLayer::new())
        .layer(ConcurrencyLimitLayer::new(1))
        .service(mock);
    let server = answer_with(handle, |s, _| {
        let op = if s.uri.ends_with('a') { "a" } else { "b" };
        Ok(match s.method.as_str() {
            "POST" => {
                let monitor = format!("https://s.example/ops/{op}");
                resp(
                    202,
                    &[
                        ("operation-location", monitor.as_bytes()),
                        ("retry-after", b"5"),
                    ],
                    "",
                )
            }
            _ if s.at < Duration::from_secs(10) => resp(200, &[("retry-after", b"5")], RUNNING),
            _ => resp(200, &[], SUCCEEDED),
        })
    });
    let t0 = Instant::now();

    let a = tokio::spawn(
        svc.clone()
            .oneshot(request(Method::POST, "https://s.example/a", "{}")),
    );
    let b = tokio::spawn(
        svc.clone()
            .oneshot(request(Method::POST, "https://s.example/b", "{}")),
    );
    drop(svc);
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());

    assert_eq!(t0.elapsed(), Duration::from_secs(10));
    assert_eq!(a.extensions().get::<LroMetadata>().unwrap().polls(), 2);
    assert_eq!(b.extensions().get::<LroMetadata>().unwrap().polls(), 2);
    let seen = server.await.unwrap();
    let mut summary: Vec<(&str, &str, u64)> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.uri.as_str(), s.at.as_secs()))
        .collect();
    summary.sort();
    assert_eq!(
        summary,
        [
            ("GET", "https://s.example/ops/a", 5),
            ("GET", "https://s.example/ops/a", 10),
            ("GET", "https://s.example/ops/b", 5),
            ("GET", "https://s.example/ops/b", 10),
            ("POST", "https://s.example/a", 0),
            ("POST", "https://s.example/b", 0),
        ]
    );
}

/// A service whose request body has no `From<Bytes>` (`Empty<Bytes>`) still takes the layer:
/// bodies for `POST` checks come from `LroLayer::poll_body`, not from a bound on the body.
#[test]
fn a_body_type_without_from_bytes_still_composes() {
    fn is_service<S: tower::Service<Request<http_body_util::Empty<Bytes>>>>(_: &S) {}
    let client: hyper_util::client::legacy::Client<_, http_body_util::Empty<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    is_service(&ServiceBuilder::new().layer(LroLayer::new()).service(client));
}
