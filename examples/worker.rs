//! `cargo run --example worker --features store-redb`
//!
//! A worker resolves a long-running operation under an idempotency key, with its progress kept
//! in an embedded file store (redb). Half-way it is killed (its task aborted: no clean-up, the
//! lease is not released). A restarted worker, with the same file and the same key, resumes the
//! operation from the file: the upstream sees **one** submission.
//!
//! The upstream is a small mock embedded at the bottom of this file, on 127.0.0.1 (random
//! port); the file lives in a temporary directory. No setup.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::store::{OperationState, OperationStore, Outcome, RedbStore, StoreLayer};
use tower_lro::{IdempotencyHeader, LroLayer, LroOptions};

const KEY: &str = "nightly-report-2026-12-07";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let upstream = upstream::start().await?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("operations.redb");
    println!("upstream on {}, store in {}", upstream.base, path.display());

    // --- First life: submit, poll a little, then get killed. ---
    let store = Arc::new(RedbStore::open(&path)?);
    let worker = tokio::spawn(resolve(layer(store.clone()), upstream.base.clone()));
    let mut seen = None;
    loop {
        let record = store.load(KEY).await?;
        if let Some(OperationState::Polling { handle }) = record.map(|r| r.state) {
            if seen != Some(handle.polls()) {
                seen = Some(handle.polls());
                let (url, polls) = (handle.operation_url(), handle.polls());
                println!("worker 1: recorded: polling {url} after {polls} polls");
            }
            if handle.polls() >= 3 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.abort();
    let _ = worker.await;
    drop(store);
    println!("worker 1: killed");

    // --- Second life: same file, same key. ---
    let store = loop {
        // The killed worker's last file access may still be letting go of the file.
        match RedbStore::open(&path) {
            Ok(store) => break Arc::new(store),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    println!("worker 2: started; waits for the dead worker's lease to expire (2 s)");
    let (outcome, body) = resolve(layer(store), upstream.base.clone()).await?;
    println!("worker 2: {outcome:?}: {body}");
    println!(
        "upstream saw {} submission(s) and {} polls",
        upstream.submissions(),
        upstream.polls()
    );
    assert_eq!(upstream.submissions(), 1);
    assert_eq!(outcome, Outcome::Resumed);
    Ok(())
}

/// The worker's layer: the file store, a 2 s lease, the IETF idempotency header.
fn layer(store: Arc<dyn OperationStore>) -> StoreLayer {
    LroLayer::new()
        .idempotency_header(IdempotencyHeader::IdempotencyKey)
        .store(store)
        .lease(Duration::from_secs(2))
}

/// Resolves the keyed operation: how it came about, and the final body.
async fn resolve(layer: StoreLayer, base: String) -> Result<(Outcome, String), BoxError> {
    let client = ServiceBuilder::new()
        .layer(layer)
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());
    let body = r#"{"report":"nightly"}"#;
    let mut req = Request::post(format!("{base}/reports")).body(Full::from(body))?;
    req.extensions_mut().insert(
        LroOptions::new()
            .idempotency_key(KEY)
            .request_body(body.as_bytes()),
    );
    let response = client.oneshot(req).await?;
    let outcome = *response
        .extensions()
        .get::<Outcome>()
        .expect("a keyed call");
    let body = response.into_body().collect().await?.to_bytes();
    Ok((outcome, String::from_utf8_lossy(&body).into_owned()))
}

mod upstream {
    //! `POST /reports` → `202` + `Operation-Location`; the operation succeeds at its 12th poll.
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use bytes::Bytes;
    use http::{Method, Response};
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    #[derive(Default)]
    struct Counts {
        submissions: AtomicUsize,
        polls: AtomicUsize,
    }

    pub struct Upstream {
        pub base: String,
        counts: Arc<Counts>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Upstream {
        pub fn submissions(&self) -> usize {
            self.counts.submissions.load(Ordering::SeqCst)
        }
        pub fn polls(&self) -> usize {
            self.counts.polls.load(Ordering::SeqCst)
        }
    }

    impl Drop for Upstream {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub async fn start() -> std::io::Result<Upstream> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let counts = Arc::new(Counts::default());
        let (shared, url) = (counts.clone(), base.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (counts, base) = (shared.clone(), url.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let reply = answer(&counts, &base, req.method(), req.uri().path());
                        async move { Ok::<_, std::convert::Infallible>(reply) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Upstream { base, counts, task })
    }

    fn answer(counts: &Counts, base: &str, method: &Method, path: &str) -> Response<Full<Bytes>> {
        let reply = Response::builder().header("content-type", "application/json");
        let reply = match (method.as_str(), path) {
            ("POST", "/reports") => {
                counts.submissions.fetch_add(1, Ordering::SeqCst);
                reply
                    .status(202)
                    .header("operation-location", format!("{base}/operations/1"))
                    .header("retry-after-ms", "200")
                    .body(Full::default())
            }
            ("GET", "/operations/1") => {
                let n = counts.polls.fetch_add(1, Ordering::SeqCst) + 1;
                if n >= 12 {
                    reply
                        .header("resource-location", format!("{base}/reports/1"))
                        .body(Full::from(
                            r#"{"status":"Succeeded","percentComplete":100}"#,
                        ))
                } else {
                    let pct = n * 8;
                    reply
                        .header("retry-after-ms", "200")
                        .body(Full::from(format!(
                            r#"{{"status":"Running","percentComplete":{pct}}}"#
                        )))
                }
            }
            ("GET", "/reports/1") => reply.body(Full::from(r#"{"rows":42}"#)),
            _ => reply.status(404).body(Full::default()),
        };
        reply.expect("a valid response")
    }
}
