//! A status body (and a submission body) of a million one-byte chunks, through the layer over
//! an in-memory service: what reading small chunks costs (issue 14, §5). Prints the time per
//! operation (best and median of the runs); asserts only that the operation resolves.
//!
//! `cargo bench --bench chunks` (`LRO_CHUNKS=n` for another count, `LRO_CHUNK_RUNS=n` runs,
//! `LRO_CHUNK_LOOPBACK=0` to skip the loopback part, e.g. under callgrind).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Empty};
use tower::{Layer, ServiceExt};
use tower_lro::LroLayer;

/// `doc`, one byte per frame.
struct Chunks {
    doc: &'static [u8],
    at: usize,
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let at = self.at;
        Poll::Ready(self.doc.get(at..at + 1).map(|b| {
            self.at += 1;
            Ok(Frame::data(Bytes::from_static(b)))
        }))
    }
}

/// A status document of `n` bytes: `{"status":"Succeeded","pad":"aaa…"}`.
fn document(n: usize) -> &'static [u8] {
    let head = r#"{"status":"Succeeded","pad":""#;
    let mut doc = head.as_bytes().to_vec();
    doc.resize(n - 2, b'a');
    doc.extend_from_slice(b"\"}");
    Box::leak(doc.into_boxed_slice())
}

fn answer(
    status: u16,
    headers: &[(&'static str, &'static str)],
    doc: &'static [u8],
) -> Response<Chunks> {
    let mut r = Response::new(Chunks { doc, at: 0 });
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut()
            .insert(*k, http::HeaderValue::from_static(v));
    }
    r
}

fn time(label: &str, runs: usize, mut one: impl FnMut()) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            one();
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "{label}: best {:.1} ms, median {:.1} ms ({runs} runs)",
        times[0].as_secs_f64() * 1e3,
        times[runs / 2].as_secs_f64() * 1e3
    );
}

fn main() {
    let n: usize = std::env::var("LRO_CHUNKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = std::env::var("LRO_CHUNK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let doc = document(n);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let layer = LroLayer::new();

    // The status poll's body arrives in n one-byte chunks.
    let status = layer.clone().layer(tower::service_fn(
        move |req: Request<Empty<Bytes>>| async move {
            Ok::<_, Infallible>(match req.uri().path() {
                "/jobs" => answer(
                    202,
                    &[
                        ("operation-location", "http://s.example/ops/1"),
                        ("retry-after", "0"),
                    ],
                    b"",
                ),
                _ => answer(200, &[("content-type", "application/json")], doc),
            })
        },
    ));
    // The submission's own answer: a `201` to a `PUT` read for `provisioningState`.
    let submission = layer.layer(tower::service_fn(
        move |_: Request<Empty<Bytes>>| async move {
            Ok::<_, Infallible>(answer(201, &[("content-type", "application/json")], doc))
        },
    ));
    let req = |method: &str, uri: &str| {
        Request::builder()
            .method(method)
            .uri(uri)
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    time(&format!("status body, {n} x 1-byte chunks"), runs, || {
        let resp = rt
            .block_on(status.clone().oneshot(req("POST", "http://s.example/jobs")))
            .unwrap();
        let body = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
        assert_eq!(body.len(), n);
    });
    time(
        &format!("submission body, {n} x 1-byte chunks"),
        runs,
        || {
            let resp = rt
                .block_on(
                    submission
                        .clone()
                        .oneshot(req("PUT", "http://s.example/things/1")),
                )
                .unwrap();
            let body = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            assert_eq!(body.len(), n);
        },
    );
    if std::env::var("LRO_CHUNK_LOOPBACK").as_deref() != Ok("0") {
        loopback(doc, n, runs);
    }
}

/// The same status body over loopback (hyper server, chunked encoding, hyper-util client):
/// the bare client reading it, and the layer resolving the operation.
fn loopback(doc: &'static [u8], n: usize, runs: usize) {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                let svc = hyper::service::service_fn(
                    move |req: Request<hyper::body::Incoming>| async move {
                        Ok::<_, Infallible>(match req.uri().path() {
                            "/jobs" => answer(
                                202,
                                &[("operation-location", "/ops/1"), ("retry-after", "0")],
                                b"",
                            ),
                            _ => answer(200, &[("content-type", "application/json")], doc),
                        })
                    },
                );
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc),
                );
            }
        });
    });
    let addr = rx.recv().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = |method: &str, path: &str| {
        Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .body(Empty::<Bytes>::new())
            .unwrap()
    };
    time(
        &format!("loopback, bare client reads the status body, {n} x 1-byte chunks"),
        runs,
        || {
            let resp = rt.block_on(client.request(req("GET", "/ops/1"))).unwrap();
            let body = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            assert_eq!(body.len(), n);
        },
    );
    let layered = LroLayer::new().layer(client.clone());
    time(
        &format!("loopback, layer resolves with that status body, {n} x 1-byte chunks"),
        runs,
        || {
            let resp = rt
                .block_on(layered.clone().oneshot(req("POST", "/jobs")))
                .unwrap();
            let body = rt.block_on(resp.into_body().collect()).unwrap().to_bytes();
            assert_eq!(body.len(), n);
        },
    );
}
