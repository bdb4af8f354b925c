//! The final body and the deadline (issue 14, §5): a delivered final body that streams is cut
//! at the operation's deadline unless the caller says otherwise; pass-through bodies carry no
//! timer; a status body in a million one-byte chunks reads whole.
//!
//! The timing tests run an in-memory inner service on Tokio's paused clock (exact instants);
//! one test stalls a resource body over a real loopback socket.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body as _, Frame};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use tokio::time::Instant;
use tower::{Layer, ServiceExt};
use tower_lro::__private::Reason;
use tower_lro::{ErrorKind, LroBody, LroLayer, LroMetadata, LroOptions};

use crate::support::{self, TEST_TIMEOUT};

type Body = BoxBody<Bytes, Infallible>;

const SUB: &str = "https://svc.example/jobs";
const MONITOR: &str = "https://svc.example/operations/1";
const RESOURCE: &str = "https://svc.example/things/1";

/// A body that sends `first` and then nothing, ever.
fn stalling(first: &'static [u8]) -> Body {
    let head = stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from_static(first)))]);
    BodyExt::boxed(StreamBody::new(head.chain(stream::pending())))
}

fn full(body: &'static str) -> Body {
    Full::new(Bytes::from_static(body.as_bytes())).boxed()
}

fn answer(status: u16, headers: &[(&str, &str)], body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    r
}

/// An operation whose status monitor says `Succeeded` on its first poll (1 s after the `202`)
/// and whose resource answers at once with a body that stalls after four bytes. `GET` on the
/// submission URL is not an LRO: it answers `200` with a stalling body of its own.
async fn inner(req: Request<Full<Bytes>>) -> Result<Response<Body>, Infallible> {
    Ok(match (req.method().as_str(), req.uri().path()) {
        ("POST", "/jobs") => answer(
            202,
            &[("operation-location", MONITOR), ("retry-after", "1")],
            full(""),
        ),
        ("GET", "/operations/1") => answer(
            200,
            &[("content-type", "application/json")],
            full(r#"{"status":"Succeeded","resourceLocation":"https://svc.example/things/1"}"#),
        ),
        ("GET", "/things/1") => answer(200, &[], stalling(b"part")),
        ("POST", "/big") => answer(
            202,
            &[("operation-location", MONITOR)],
            stalling(b"0123456789"),
        ),
        _ => answer(200, &[], stalling(b"plain")),
    })
}

fn request(method: Method, uri: &str, options: Option<LroOptions>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .unwrap();
    if let Some(o) = options {
        req.extensions_mut().insert(o);
    }
    req
}

async fn call(layer: LroLayer, req: Request<Full<Bytes>>) -> Response<LroBody<Body>> {
    let svc = layer.layer(tower::service_fn(inner));
    svc.oneshot(req).await.expect("the operation resolves")
}

/// The first frame's bytes.
async fn first_frame(body: &mut LroBody<Body>) -> Bytes {
    let frame = body.frame().await.expect("a frame").expect("not an error");
    frame.into_data().expect("data")
}

/// The next frame, which must be the timeout error; fails (rather than hangs: the clock is
/// paused) when no timer cuts the body within two hours.
async fn cut_error(body: &mut LroBody<Body>) -> tower::BoxError {
    tokio::time::timeout(Duration::from_secs(7200), body.frame())
        .await
        .expect("the body was cut")
        .expect("an error frame")
        .unwrap_err()
}

/// The layer's deadline (60 s here) cuts the resource body that stalls: the error comes at
/// exactly 60 s after the `202`, is a timeout, and names the resource URL; the body then ends.
#[tokio::test(start_paused = true)]
async fn a_stalled_final_body_is_cut_at_the_deadline() {
    let t0 = Instant::now();
    let layer = LroLayer::new().deadline(Duration::from_secs(60));
    let resp = call(layer, request(Method::POST, SUB, None)).await;
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(1),
        "delivered after one poll"
    );
    let meta = resp.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(meta.resource_url(), Some(RESOURCE));
    let mut body = resp.into_body();
    assert!(!body.is_buffered());
    assert_eq!(first_frame(&mut body).await, "part");
    let err = cut_error(&mut body).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(60), "cut at the deadline");
    let err = err
        .downcast::<tower_lro::Error>()
        .expect("a tower_lro::Error");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_timeout());
    assert_eq!(err.reason(), &Reason::FinalBodyTimeout);
    assert_eq!(err.url(), Some(RESOURCE));
    assert!(
        body.frame().await.is_none(),
        "the body ends after the error"
    );
    assert!(body.is_end_stream());
}

/// A per-request deadline is the one that cuts the body.
#[tokio::test(start_paused = true)]
async fn the_request_deadline_bounds_the_body() {
    let t0 = Instant::now();
    let options = LroOptions::new().deadline(Duration::from_secs(5));
    let resp = call(LroLayer::new(), request(Method::POST, SUB, Some(options))).await;
    let mut body = resp.into_body();
    assert_eq!(first_frame(&mut body).await, "part");
    let err = cut_error(&mut body).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(5));
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.reason(), &Reason::FinalBodyTimeout);
}

/// An answer final at once (`start_only`) whose body runs over the size limit is delivered as
/// it came, what was read then the rest: the rest is cut at the deadline too.
#[tokio::test(start_paused = true)]
async fn a_partly_read_answer_final_at_once_is_cut_too() {
    let t0 = Instant::now();
    let layer = LroLayer::new()
        .deadline(Duration::from_secs(30))
        .status_body_limit(4);
    let options = LroOptions::new().start_only();
    let uri = "https://svc.example/big";
    let resp = call(layer, request(Method::POST, uri, Some(options))).await;
    let meta = resp.extensions().get::<LroMetadata>().unwrap();
    assert!(meta.resume_handle().is_some());
    let mut body = resp.into_body();
    assert_eq!(first_frame(&mut body).await, "0123456789");
    let err = cut_error(&mut body).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.reason(), &Reason::FinalBodyTimeout);
    assert_eq!(
        err.url(),
        Some(uri),
        "the submission's URL: its answer is the body"
    );
}

/// Still pending an hour past the deadline: no timer cut it.
async fn assert_unbounded(mut body: LroBody<Body>, first: &str) {
    assert_eq!(first_frame(&mut body).await, first);
    let later = tokio::time::timeout(Duration::from_secs(3600), body.frame()).await;
    assert!(later.is_err(), "the body was not cut: {later:?}");
}

/// `bound_final_body(false)` on the layer, or on the request, leaves the final body unbounded;
/// a request can also turn the bound back on under a layer that turned it off.
#[tokio::test(start_paused = true)]
async fn the_bound_can_be_turned_off_and_on() {
    let short = LroLayer::new().deadline(Duration::from_secs(60));
    assert!(
        tower_lro::__private::config(&short).bound_final_body(),
        "bounded by default"
    );
    let off = short.clone().bound_final_body(false);
    assert!(!tower_lro::__private::config(&off).bound_final_body());
    let resp = call(off.clone(), request(Method::POST, SUB, None)).await;
    assert_unbounded(resp.into_body(), "part").await;

    let options = LroOptions::new().bound_final_body(false);
    let resp = call(short, request(Method::POST, SUB, Some(options))).await;
    assert_unbounded(resp.into_body(), "part").await;

    let t0 = Instant::now();
    let options = LroOptions::new().bound_final_body(true);
    let resp = call(off, request(Method::POST, SUB, Some(options))).await;
    let mut body = resp.into_body();
    assert_eq!(first_frame(&mut body).await, "part");
    cut_error(&mut body).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(60));
}

/// A deadline of `Duration::MAX` ("poll for as long as the server says") bounds nothing.
#[tokio::test(start_paused = true)]
async fn an_endless_deadline_leaves_the_body_alone() {
    let layer = LroLayer::new().deadline(Duration::MAX);
    let resp = call(layer, request(Method::POST, SUB, None)).await;
    assert_unbounded(resp.into_body(), "part").await;
}

/// A pass-through answer (not an LRO) streams untouched: no timer, whatever the deadline.
#[tokio::test(start_paused = true)]
async fn pass_through_bodies_have_no_timer() {
    let layer = LroLayer::new().deadline(Duration::from_secs(1));
    let resp = call(layer, request(Method::GET, SUB, None)).await;
    assert!(resp.extensions().get::<LroMetadata>().is_none());
    assert!(!resp.body().is_buffered());
    assert_unbounded(resp.into_body(), "plain").await;
}

/// A status body that arrives one byte per frame is read whole: the document decides the
/// operation, and the delivered body is every byte, in order.
#[tokio::test(start_paused = true)]
async fn a_status_body_in_one_byte_chunks_reads_whole() {
    const N: usize = 200_000;
    let mut doc = br#"{"status":"Succeeded","pad":""#.to_vec();
    doc.resize(N - 2, b'a');
    doc.extend_from_slice(b"\"}");
    let doc: &'static [u8] = Box::leak(doc.into_boxed_slice());
    let svc = LroLayer::new().layer(tower::service_fn(move |req: Request<Full<Bytes>>| {
        let one_by_one = stream::iter(0..doc.len())
            .map(move |i| Ok::<_, Infallible>(Frame::data(Bytes::from_static(&doc[i..i + 1]))));
        async move {
            Ok::<_, Infallible>(match req.uri().path() {
                "/jobs" => answer(202, &[("operation-location", MONITOR)], full("")),
                _ => answer(200, &[], BodyExt::boxed(StreamBody::new(one_by_one))),
            })
        }
    }));
    let resp = svc
        .oneshot(request(Method::POST, SUB, None))
        .await
        .expect("the operation resolves");
    let meta = resp.extensions().get::<LroMetadata>().unwrap();
    assert!(meta.status().is_success());
    assert_eq!(meta.polls(), 1);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], doc);
}

/// Over a real socket: the resource's server sends its head and a few bytes, then holds the
/// connection open. The layer's deadline (300 ms) cuts the body with a timeout naming the
/// resource URL, well before the test's own limit.
#[tokio::test]
async fn a_stalled_resource_over_loopback_is_cut() {
    let server = StallServer::start().await;
    let layer = support::fast_layer().deadline(Duration::from_millis(300));
    let client = support::lro_client(layer);
    let started = std::time::Instant::now();
    let resp = support::send(&client, support::post(&server.url("/jobs"), ""))
        .await
        .expect("the operation resolves");
    assert_eq!(resp.status(), StatusCode::OK);
    let mut body = resp.into_body();
    let first = tokio::time::timeout(TEST_TIMEOUT, body.frame())
        .await
        .expect("a frame in time")
        .expect("a frame")
        .expect("data");
    assert_eq!(first.into_data().unwrap(), "part");
    let err = tokio::time::timeout(TEST_TIMEOUT, body.frame())
        .await
        .expect("cut before the test's limit")
        .expect("an error frame")
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let err = err
        .downcast::<tower_lro::Error>()
        .expect("a tower_lro::Error");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.reason(), &Reason::FinalBodyTimeout);
    assert_eq!(err.url(), Some(server.url("/things/1").as_str()));
}

/// A loopback HTTP/1.1 server (hyper) whose resource body stalls after four bytes.
struct StallServer {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl StallServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            // Bounded: the test makes three requests, on at most three connections.
            for _ in 0..8 {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let io = hyper_util::rt::TokioIo::new(tcp);
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let base = format!("http://{addr}");
                    async move {
                        Ok::<_, Infallible>(match req.uri().path() {
                            "/jobs" => answer(
                                202,
                                &[
                                    ("operation-location", &format!("{base}/operations/1")),
                                    ("retry-after", "0"),
                                ],
                                full(""),
                            ),
                            "/operations/1" => {
                                let doc = format!(
                                    r#"{{"status":"Succeeded","resourceLocation":"{base}/things/1"}}"#
                                );
                                Response::new(Full::new(Bytes::from(doc)).boxed())
                            }
                            _ => answer(200, &[("content-length", "100")], stalling(b"part")),
                        })
                    }
                });
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Self { addr, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for StallServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A declared `embedded_json` result (AWS Step Functions' `output`, a JSON document written
/// into a string) is delivered as the document the string holds, without the status answer's
/// `Content-Length` (which counted the whole status body), its `ETag` and its digests; an
/// `embedded` part loses them too.
#[tokio::test(start_paused = true)]
async fn a_decoded_or_cut_result_loses_the_whole_bodys_length_tag_and_digests() {
    const DONE: &str =
        r#"{"id":"x1","status":"SUCCEEDED","output":"{\"greeting\":\"Hello \\\"World\\\"\"}"}"#;
    async fn job(req: Request<Full<Bytes>>) -> Result<Response<Body>, Infallible> {
        Ok(match req.uri().path() {
            "/runs" => answer(200, &[], full(r#"{"id":"x1","status":"RUNNING"}"#)),
            _ => answer(
                200,
                &[
                    ("content-length", "82"),
                    ("etag", "\"whole\""),
                    ("content-digest", "sha-256=:d2hvbGU=:"),
                    ("repr-digest", "sha-256=:d2hvbGU=:"),
                    ("digest", "SHA-256=d2hvbGU="),
                    ("content-md5", "d2hvbGU="),
                    ("accept-ranges", "bytes"),
                ],
                full(DONE),
            ),
        })
    }
    for (result, want) in [
        ("embedded_json", r#"{"greeting":"Hello \"World\""}"#),
        ("embedded", r#""{\"greeting\":\"Hello \\\"World\\\"\"}""#),
    ] {
        let dialect = tower_lro::Dialect::from_json(&format!(
            r#"{{"start_on": [200], "status_url": {{"template": "/runs/{{/id}}"}},
                "status_word": "/status", "words": {{"succeeded": ["SUCCEEDED"]}},
                "result": {{"{result}": "/output"}}}}"#
        ))
        .unwrap();
        let svc = LroLayer::new()
            .dialect(dialect)
            .layer(tower::service_fn(job));
        let resp = svc
            .oneshot(request(Method::POST, "https://svc.example/runs", None))
            .await
            .expect("the operation resolves");
        assert_eq!(DONE.len(), 82);
        // Nothing that described the whole answer describes the part: no length, entity tag
        // or digest of it.
        for name in [
            "content-length",
            "etag",
            "content-digest",
            "repr-digest",
            "digest",
            "content-md5",
            "accept-ranges",
        ] {
            assert_eq!(resp.headers().get(name), None, "{result}: {name}");
        }
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, want, "{result}");
    }
}

/// A `Location` monitor whose `200` is the result, larger than the status body limit: too
/// large to be a status document, it is the result, fetched again and delivered unread (it
/// failed the operation `BodyTooLarge`: any export over 1 MiB behind `202` + `Location`).
/// A `202` over the limit is still a protocol error: it says the operation runs, and its
/// body cannot be read to say otherwise.
#[tokio::test(start_paused = true)]
async fn a_location_monitors_result_over_the_status_limit_is_delivered_unread() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const EXPORT: &str = "https://svc.example/exports/1";
    const PENDING: &str = "https://svc.example/pending/1";
    let big: &'static str = "0123456789abcdefghij";
    let gets = Arc::new(AtomicUsize::new(0));
    let seen = gets.clone();
    let inner = tower::service_fn(move |req: Request<Full<Bytes>>| {
        let seen = seen.clone();
        async move {
            Ok::<_, Infallible>(match (req.method().as_str(), req.uri().path()) {
                ("POST", "/exports") => {
                    answer(202, &[("location", EXPORT), ("retry-after", "1")], full(""))
                }
                ("GET", "/exports/1") => {
                    seen.fetch_add(1, Ordering::SeqCst);
                    answer(200, &[("content-type", "text/csv")], full(big))
                }
                ("POST", _) => answer(
                    202,
                    &[("location", PENDING), ("retry-after", "1")],
                    full(""),
                ),
                _ => answer(202, &[("retry-after", "1")], full(big)),
            })
        }
    });
    let layer = LroLayer::new().status_body_limit(8);
    let svc = layer.clone().layer(inner.clone());
    let req = request(Method::POST, "https://svc.example/exports", None);
    let resp = tokio::time::timeout(TEST_TIMEOUT, svc.oneshot(req))
        .await
        .unwrap()
        .expect("the result is delivered");
    assert_eq!(resp.status(), StatusCode::OK);
    let meta = resp.extensions().get::<LroMetadata>().expect("metadata");
    assert_eq!(meta.rule(), tower_lro::Rule::Location);
    assert_eq!(meta.resource_url(), Some(EXPORT));
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, big.as_bytes());
    assert_eq!(gets.load(Ordering::SeqCst), 2, "polled, then fetched again");

    // A `202` over the limit still fails the operation, typed.
    let svc = layer.layer(inner);
    let req = request(Method::POST, "https://svc.example/other", None);
    let err = tokio::time::timeout(TEST_TIMEOUT, svc.oneshot(req))
        .await
        .unwrap()
        .expect_err("a 202 too large to read");
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(
        matches!(err.reason(), Reason::BodyTooLarge { status, limit: 8 } if *status == StatusCode::ACCEPTED),
        "{:?}",
        err.reason()
    );
}

/// A `Location` monitor's result over the status body limit says the operation succeeded, as
/// the same result under the limit does (its metadata said `NotStarted`, meaning running:
/// `lro --metadata` wrote `"meaning":"running"` for a finished export, and the stores recorded
/// a word no server sent).
#[tokio::test(start_paused = true)]
async fn a_result_over_the_status_limit_says_succeeded_as_under_it() {
    const EXPORT: &str = "https://svc.example/exports/1";
    let inner = tower::service_fn(|req: Request<Full<Bytes>>| async move {
        Ok::<_, Infallible>(match req.method().as_str() {
            "POST" => answer(202, &[("location", EXPORT), ("retry-after", "1")], full("")),
            _ => answer(
                200,
                &[("content-type", "text/csv")],
                full("0123456789abcdef"),
            ),
        })
    });
    let mut said = Vec::new();
    for limit in [1024, 8] {
        let svc = LroLayer::new().status_body_limit(limit).layer(inner);
        let req = request(Method::POST, "https://svc.example/exports", None);
        let resp = tokio::time::timeout(TEST_TIMEOUT, svc.oneshot(req))
            .await
            .unwrap()
            .expect("the result is delivered");
        let meta = resp.extensions().get::<LroMetadata>().expect("metadata");
        said.push((limit, meta.status().meaning(), meta.status().is_assumed()));
    }
    let succeeded = tower_lro::StatusMeaning::Succeeded;
    assert_eq!(said, [(1024, succeeded, false), (8, succeeded, false)]);
}
