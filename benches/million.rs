//! The moonshot: many operations (`MILLION_N`, default 100 000; the goal is 1 000 000) waiting at
//! once in one process over loopback, each polled on time, and the client's peak RSS.
//!
//! - **Server**: a hyper 1 server in its own process (this binary with `MILLION_ROLE=server`) on
//!   `127.0.0.1:0`. `POST /jobs` → `202` + `Operation-Location: /operations/{id}` +
//!   `Retry-After: R`; the first poll → `Running` + `Retry-After: R`; the second → `Succeeded`
//!   (no resource to fetch: the status document is the final answer). Per operation it keeps the
//!   instant the next poll is due (its last answer + R) and counts a poll as **late** when it
//!   arrives more than `MILLION_LATE_MS` (default 1 000 ms) after that, **early** when it arrives
//!   before it. Three requests per operation.
//! - **Client**: the layer over one hyper-util legacy `Client` on a current-thread runtime (one
//!   core), behind a permit wrapper that lets at most `MILLION_CONNECTIONS` (default 32) requests
//!   be in flight, so operations share a few connections (the file limit is far below a
//!   million). Default allocator (no counting allocator: RSS is what a user pays). Operations
//!   are spawned at `MILLION_RATE` per second (default 10 000) so that the polls of the first
//!   ones do not queue behind the submissions of the last ones; `R` (`MILLION_RETRY_AFTER`)
//!   defaults to the ramp's length plus 10 s, so every operation is waiting at once.
//! - **Measured**: `VmRSS` before the spawn and at the moment every operation has had its `202`
//!   and none is in flight (all N waiting), their difference per operation, `VmHWM` at the end,
//!   late and early polls (from the server), and that every operation ended `200`.
//!
//! The request is `common::submission` with its ten headers; `MILLION_FEW_HEADERS=1` keeps three
//! (`authorization`, `accept`, `user-agent`), for an idea of what the headers weigh.
//!
//! `cargo bench --bench million -- --bench`, `MILLION_N=1000000 cargo bench --bench million --
//! --bench`. Without `--bench` (as under `cargo test --benches`) it runs a smoke size (N = 200,
//! R = 1 s).

use std::convert::Infallible;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::sync::Semaphore;
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_lro::LroLayer;

mod common;

type Body = Full<Bytes>;

// ---------------------------------------------------------------------------------------------
// The server process.

struct Ops {
    epoch: Instant,
    retry_after: u32,
    late_ms: u64,
    next: AtomicUsize,
    due_ms: Vec<AtomicU32>,
    polls: Vec<AtomicU8>,
    late: AtomicU64,
    early: AtomicU64,
    max_late_ms: AtomicU64,
    answered: AtomicU64,
}

impl Ops {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn answer(&self, base: &str, method: &Method, path: &str) -> Response<Body> {
        self.answered.fetch_add(1, Ordering::Relaxed);
        let now = self.now_ms();
        let due = now as u32 + self.retry_after * 1000;
        if method == Method::POST {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            self.due_ms[id].store(due, Ordering::Relaxed);
            return Response::builder()
                .status(StatusCode::ACCEPTED)
                .header("operation-location", format!("{base}/operations/{id}"))
                .header("retry-after", self.retry_after.to_string())
                .body(Body::new(Bytes::from_static(br#"{"status":"NotStarted"}"#)))
                .expect("response");
        }
        let Some(id) = path
            .strip_prefix("/operations/")
            .and_then(|id| id.parse::<usize>().ok())
            .filter(|id| *id < self.due_ms.len())
        else {
            return Response::builder()
                .status(StatusCode::NOT_FOUND)
                .body(Body::new(Bytes::new()))
                .expect("response");
        };
        let was_due = u64::from(self.due_ms[id].load(Ordering::Relaxed));
        if now < was_due {
            self.early.fetch_add(1, Ordering::Relaxed);
        } else if now - was_due > self.late_ms {
            self.late.fetch_add(1, Ordering::Relaxed);
        }
        self.max_late_ms
            .fetch_max(now.saturating_sub(was_due), Ordering::Relaxed);
        let polls = self.polls[id].fetch_add(1, Ordering::Relaxed) + 1;
        self.due_ms[id].store(due, Ordering::Relaxed);
        let (status, retry) = if polls < 2 {
            (&br#"{"status":"Running"}"#[..], true)
        } else {
            (&br#"{"status":"Succeeded"}"#[..], false)
        };
        let mut res = Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json");
        if retry {
            res = res.header("retry-after", self.retry_after.to_string());
        }
        res.body(Body::new(Bytes::from_static(status)))
            .expect("response")
    }
}

fn serve(n: usize, retry_after: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let base: &'static str =
        Box::leak(format!("http://{}", listener.local_addr().expect("addr")).into_boxed_str());
    let ops = Arc::new(Ops {
        epoch: Instant::now(),
        retry_after,
        late_ms: common::env_or("MILLION_LATE_MS", 1000),
        next: AtomicUsize::new(0),
        due_ms: (0..n).map(|_| AtomicU32::new(0)).collect(),
        polls: (0..n).map(|_| AtomicU8::new(0)).collect(),
        late: AtomicU64::new(0),
        early: AtomicU64::new(0),
        max_late_ms: AtomicU64::new(0),
        answered: AtomicU64::new(0),
    });
    let served = ops.clone();
    rt.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            stream.set_nodelay(true).ok();
            let ops = served.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let ops = ops.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let _ = body.collect().await;
                        Ok::<_, Infallible>(ops.answer(base, &parts.method, parts.uri.path()))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    println!("base={base}");
    std::io::stdout().flush().ok();
    // Serve until the parent closes our stdin, then report.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    println!(
        "late={} early={} max_late_ms={} answered={} submitted={}",
        ops.late.load(Ordering::Relaxed),
        ops.early.load(Ordering::Relaxed),
        ops.max_late_ms.load(Ordering::Relaxed),
        ops.answered.load(Ordering::Relaxed),
        ops.next.load(Ordering::Relaxed),
    );
    std::io::stdout().flush().ok();
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------------
// The client: at most `connections` requests in flight, each holding a permit to its body's end.

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static SUBMITTED: AtomicUsize = AtomicUsize::new(0);
static DONE: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

struct InFlight;

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
struct Capped {
    client: Client<HttpConnector, Body>,
    permits: Arc<Semaphore>,
}

type CappedFuture =
    Pin<Box<dyn Future<Output = Result<Response<common::PermitBody<InFlight>>, BoxError>> + Send>>;

impl Service<Request<Body>> for Capped {
    type Response = Response<common::PermitBody<InFlight>>;
    type Error = BoxError;
    type Future = CappedFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> CappedFuture {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        let guard = InFlight;
        let submission = req.method() == Method::POST;
        let client = self.client.clone();
        let permits = self.permits.clone();
        Box::pin(async move {
            let permit = permits.acquire_owned().await?;
            let res = client.request(req).await?;
            if submission {
                SUBMITTED.fetch_add(1, Ordering::Relaxed);
            }
            Ok(res.map(|body| common::PermitBody::new(body, permit, guard)))
        })
    }
}

fn server_process(n: usize, retry_after: u32) -> (std::process::Child, String) {
    let mut child = Command::new(std::env::current_exe().expect("exe"))
        .env("MILLION_ROLE", "server")
        .env("MILLION_N", n.to_string())
        .env("MILLION_RETRY_AFTER", retry_after.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("server process");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("server line");
    let base = line.trim().strip_prefix("base=").expect("base=").to_owned();
    (child, base)
}

async fn one(svc: tower_lro::LroService<Capped>, base: &'static str, few_headers: bool) {
    let mut req = common::submission(base);
    if few_headers {
        let keep = ["authorization", "accept", "user-agent"];
        let headers = std::mem::take(req.headers_mut());
        for (name, value) in &headers {
            if keep.contains(&name.as_str()) {
                req.headers_mut().insert(name.clone(), value.clone());
            }
        }
    }
    let ok = match svc.oneshot(req).await {
        Ok(res) if res.status() == StatusCode::OK => res.into_body().collect().await.is_ok(),
        Ok(_) | Err(_) => false,
    };
    if ok {
        DONE.fetch_add(1, Ordering::Relaxed);
    } else {
        FAILED.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = common::env_or("MILLION_N", if full { 100_000 } else { 200 });
    let rate: usize = common::env_or("MILLION_RATE", 10_000);
    let ramp_s = n.div_ceil(rate) as u32;
    let retry_after: u32 =
        common::env_or("MILLION_RETRY_AFTER", if full { ramp_s + 10 } else { 1 });
    if std::env::var("MILLION_ROLE").is_ok_and(|r| r == "server") {
        serve(n, retry_after);
        return;
    }
    let filter = common::cli_filter().unwrap_or_default();
    if !filter.is_empty() && !"million".contains(&filter) {
        return;
    }
    let connections: usize = common::env_or("MILLION_CONNECTIONS", 32);
    let few_headers = std::env::var("MILLION_FEW_HEADERS").is_ok_and(|v| v == "1");
    let (mut server, base) = server_process(n, retry_after);
    let base: &'static str = Box::leak(base.into_boxed_str());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let capped = Capped {
        client: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(connections)
            .build(connector),
        permits: Arc::new(Semaphore::new(connections)),
    };
    let layered = LroLayer::new().layer(capped);
    let timeout = Duration::from_secs(u64::from(retry_after) * 3 + u64::from(ramp_s) * 3 + 120);
    let (rss0, waiting_rss, waiting_at, done_at) = rt.block_on(async move {
        let rss0 = common::proc_kib("VmRSS");
        let start = Instant::now();
        let batch = (rate / 100).max(1);
        let mut spawned = 0;
        while spawned < n {
            for _ in 0..batch.min(n - spawned) {
                tokio::spawn(one(layered.clone(), base, few_headers));
                spawned += 1;
            }
            // Paced by the clock, not by the sleeps, so a slow moment does not stretch the ramp.
            let at = start + Duration::from_secs_f64(spawned as f64 / rate as f64);
            tokio::time::sleep_until(at.into()).await;
        }
        // All N waiting: every `202` in, nothing in flight, nothing finished.
        let mut waiting = None;
        while DONE.load(Ordering::Relaxed) + FAILED.load(Ordering::Relaxed) < n {
            assert!(start.elapsed() < timeout, "timed out");
            if waiting.is_none()
                && SUBMITTED.load(Ordering::Relaxed) == n
                && IN_FLIGHT.load(Ordering::Relaxed) == 0
            {
                waiting = Some((common::proc_kib("VmRSS"), start.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (rss, at) = waiting.unwrap_or((0, Duration::ZERO));
        (rss0, rss, at, start.elapsed())
    });
    drop(server.stdin.take());
    let mut report = String::new();
    server
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut report)
        .expect("server report");
    let _ = server.wait();
    let done = DONE.load(Ordering::Relaxed);
    let failed = FAILED.load(Ordering::Relaxed);
    println!(
        "million: n={n} rate={rate}/s retry_after={retry_after}s connections={connections} \
         few_headers={few_headers} done={done} failed={failed} all_waiting_at={:.1}s finished_at={:.1}s",
        waiting_at.as_secs_f64(),
        done_at.as_secs_f64()
    );
    println!(
        "  rss_before={:.1}MiB rss_all_waiting={:.1}MiB per_op={:.0}B vmhwm={:.1}MiB ({:.3} GiB)",
        rss0 as f64 / 1024.0,
        waiting_rss as f64 / 1024.0,
        (waiting_rss.saturating_sub(rss0)) as f64 * 1024.0 / n as f64,
        common::proc_kib("VmHWM") as f64 / 1024.0,
        common::proc_kib("VmHWM") as f64 / 1024.0 / 1024.0,
    );
    println!("  server: {}", report.trim());
    assert_eq!((done, failed), (n, 0), "every operation ends 200");
    assert!(waiting_rss > 0, "a moment with all {n} operations waiting");
}
