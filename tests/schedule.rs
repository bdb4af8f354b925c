//! Performance shape that can be asserted exactly (spec §9): how many polls an operation costs
//! and when they go out, and that a very large number of operations in flight at once all
//! complete. Tokio's clock is paused: no real waiting, fully deterministic.
//!
//! The exact schedule under `Retry-After` is asserted once, in `tests/it/service.rs`
//! (`polls_exactly_when_retry_after_says`); this file covers the unhinted backoff.
//!
//! `cargo test --test schedule -- --nocapture` prints the poll schedules;
//! `cargo test --release --test schedule -- --ignored --nocapture` runs 100 000 LROs at once.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tower::{service_fn, Layer, ServiceExt};
use tower_lro::{LroLayer, LroMetadata};

type Body = Full<Bytes>;

/// An in-memory Creator V2 operation that succeeds `done_after` its submission, answering
/// `Retry-After: retry_after` while it runs (and on the `202`). Logs when each poll arrived.
#[derive(Clone)]
struct Operation {
    epoch: Instant,
    done_after: Duration,
    retry_after: Option<u64>,
    polls: Arc<Mutex<Vec<Duration>>>,
}

impl Operation {
    fn new(done_after: Duration, retry_after: Option<u64>) -> Self {
        Self {
            epoch: Instant::now(),
            done_after,
            retry_after,
            polls: Arc::default(),
        }
    }

    fn answer(&self, req: &Request<Body>) -> Response<Body> {
        let mut res = Response::new(Body::default());
        let hint = |res: &mut Response<Body>| {
            if let Some(s) = self.retry_after {
                res.headers_mut()
                    .insert("retry-after", HeaderValue::from(s));
            }
        };
        if req.method() == Method::POST {
            *res.status_mut() = StatusCode::ACCEPTED;
            res.headers_mut().insert(
                "operation-location",
                HeaderValue::from_static("https://contoso.example.com/operations/1"),
            );
            hint(&mut res);
            return res;
        }
        if req.uri().path() == "/resources/1" {
            *res.body_mut() = Body::new(Bytes::from_static(b"{\"id\":\"1\"}"));
            return res;
        }
        let elapsed = self.epoch.elapsed();
        self.polls.lock().unwrap().push(elapsed);
        if elapsed >= self.done_after {
            res.headers_mut().insert(
                "resource-location",
                HeaderValue::from_static("https://contoso.example.com/resources/1"),
            );
            *res.body_mut() = Body::new(Bytes::from_static(b"{\"status\":\"Succeeded\"}"));
        } else {
            hint(&mut res);
            *res.body_mut() = Body::new(Bytes::from_static(b"{\"status\":\"Running\"}"));
        }
        res
    }
}

fn submission() -> Request<Body> {
    Request::post("https://contoso.example.com/jobs?api-version=2.0")
        .header("authorization", "Bearer token")
        .header("content-type", "application/json")
        .body(Body::new(Bytes::from_static(b"{\"udid\":\"x\"}")))
        .unwrap()
}

/// Resolves one operation; returns when each poll went out (ms after the submission) and the
/// metadata of the final response.
async fn schedule(done_after: Duration, retry_after: Option<u64>) -> (Vec<u128>, LroMetadata) {
    let op = Operation::new(done_after, retry_after);
    let svc = {
        let op = op.clone();
        service_fn(move |req: Request<Body>| -> Ready<Result<_, Infallible>> {
            ready(Ok(op.answer(&req)))
        })
    };
    let res = LroLayer::new()
        .layer(svc)
        .oneshot(submission())
        .await
        .expect("the operation resolves");
    assert_eq!(res.status(), StatusCode::OK);
    let meta = res
        .extensions()
        .get::<LroMetadata>()
        .expect("metadata")
        .clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "{\"id\":\"1\"}", "the resource is the final response");
    let polls = op
        .polls
        .lock()
        .unwrap()
        .iter()
        .map(Duration::as_millis)
        .collect();
    (polls, meta)
}

fn show(label: &str, polls: &[u128]) {
    let secs: Vec<String> = polls
        .iter()
        .map(|ms| format!("{}", *ms as f64 / 1000.0))
        .collect();
    println!("{label}: {} polls at [{}] s", polls.len(), secs.join(", "));
}

#[tokio::test(start_paused = true)]
async fn no_retry_after_done_at_95s_follows_default_backoff() {
    // 1 s for 5 polls, then doubling to the 30 s cap: waits 1,1,1,1,1,2,4,8,16,30,30.
    let (polls, meta) = schedule(Duration::from_secs(95), None).await;
    show("no Retry-After, done at 95 s", &polls);
    let expected: Vec<u128> = [1, 2, 3, 4, 5, 7, 11, 19, 35, 65, 95]
        .iter()
        .map(|s| s * 1000)
        .collect();
    assert_eq!(polls, expected);
    assert_eq!(meta.polls(), 11);
}

#[tokio::test(start_paused = true)]
async fn no_retry_after_long_operation_polls_every_30s_after_ramp() {
    // Done at 500 s (within the 10 min deadline): after the ramp, one poll every 30 s (the cap).
    let (polls, _) = schedule(Duration::from_secs(500), None).await;
    show("no Retry-After, done at 500 s", &polls);
    let gaps: Vec<u128> = polls.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        &gaps[..8],
        [1000, 1000, 1000, 1000, 2000, 4000, 8000, 16000]
    );
    assert!(gaps[8..].iter().all(|g| *g == 30_000), "gaps {gaps:?}");
    assert_eq!(
        polls.len(),
        25,
        "1..5 s, 7, 11, 19, 35 s, then every 30 s to 515 s"
    );
}

#[tokio::test(start_paused = true)]
#[ignore = "100 000 operations: run with --release --ignored"]
async fn hundred_thousand_lros_in_flight_all_complete() {
    let n: usize = std::env::var("LRO_STRESS_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // Stateless server: every operation runs 2.5 s from its submission, Retry-After: 1.
    let epoch = Instant::now();
    // Submissions seen at t = 0: each operation then runs until 3 s, so these were all in
    // flight at once.
    let at_zero = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = at_zero.clone();
    let svc = service_fn(move |req: Request<Body>| -> Ready<Result<_, Infallible>> {
        let mut res = Response::new(Body::default());
        let path = req.uri().path();
        if req.method() == Method::POST {
            *res.status_mut() = StatusCode::ACCEPTED;
            let at = epoch.elapsed().as_millis();
            if at == 0 {
                seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let url = format!("https://contoso.example.com/operations/{at}");
            res.headers_mut()
                .insert("operation-location", url.try_into().unwrap());
            res.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        } else if let Some(at) = path.strip_prefix("/operations/") {
            let at: u128 = at.parse().unwrap();
            if epoch.elapsed().as_millis() >= at + 2500 {
                res.headers_mut().insert(
                    "resource-location",
                    HeaderValue::from_static("https://contoso.example.com/resources/1"),
                );
                *res.body_mut() = Body::new(Bytes::from_static(b"{\"status\":\"Succeeded\"}"));
            } else {
                res.headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                *res.body_mut() = Body::new(Bytes::from_static(b"{\"status\":\"Running\"}"));
            }
        } else {
            *res.body_mut() = Body::new(Bytes::from_static(b"{\"id\":\"1\"}"));
        }
        ready(Ok(res))
    });
    let svc = LroLayer::new().layer(svc);
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let svc = svc.clone();
            tokio::spawn(async move {
                let res = svc.oneshot(submission()).await?;
                let polls = res.extensions().get::<LroMetadata>().map(|m| m.polls());
                let body = res.into_body().collect().await?.to_bytes();
                Ok::<_, tower::BoxError>((polls, body))
            })
        })
        .collect();
    for handle in handles {
        let (polls, body) = handle.await.unwrap().expect("every LRO succeeds");
        assert_eq!(polls, Some(3), "Running at 1 s and 2 s, Succeeded at 3 s");
        assert_eq!(body, "{\"id\":\"1\"}");
    }
    assert_eq!(
        at_zero.load(std::sync::atomic::Ordering::Relaxed),
        n,
        "every operation was submitted at t = 0, so all were in flight at once"
    );
    assert_eq!(epoch.elapsed(), Duration::from_secs(3));
    println!("{n} LROs in flight at once: all completed at t = 3 s (paused clock)");
}
