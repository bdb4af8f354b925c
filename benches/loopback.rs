//! Over loopback: a hyper server on `127.0.0.1:0` (its own runtime, one worker thread) and a
//! hyper-util `Client` (a current-thread runtime), so client and server each have a core.
//!
//! 1. Pass-through: `GET /ping` answered `200` at once, body read to the end, through the bare
//!    client and through `LroService<Client>`, at concurrency 1 and 64.
//! 2. LRO resolution, Creator V2 flow: `POST /jobs` → `202` + `Operation-Location` +
//!    `Retry-After: 0`; two polls (`Running` with `Retry-After: 0`, then `Succeeded` with
//!    `Resource-Location`); `GET` the resource. Through the layer, and through a hand-written loop
//!    (same client, same requests, bodies read with http-body-util, status parsed with
//!    serde_json), at concurrency 1 and 64.
//!
//! Criterion reports each variant (elements = calls or completed LROs). Before that, an
//! interleaved A/B run (alternating rounds, ABBA order, same process, same connections)
//! prints throughput ratios that are far less sensitive to drift on a busy 2-core machine than
//! comparing two criterion runs, and the ratio of process CPU time per operation (client and
//! server threads, user and kernel, from `/proc/self/task/*/schedstat`), which other work on
//! the machine disturbs least. `LRO_AB_ROUNDS` (default 10) sets its rounds; `0` skips it.
//! `cargo bench --bench loopback -- ab-only` runs only the A/B summary.
//!
//! `cargo bench --bench loopback`.
//!
//! Profiling: `LRO_PROFILE=lro|hand|ping-lro|ping-bare LRO_PROFILE_ITERS=20000` runs that variant
//! at concurrency 1 in a plain loop and exits.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use futures_util::{stream, StreamExt};
use http::Request;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::runtime::Runtime;
use tower::Layer;
use tower_lro::{LroLayer, LroService};

mod common;

use common::{Behaviour, Body, BoxError, MockState};

type HttpClient = Client<HttpConnector, Body>;

struct Server {
    base: String,
    // Dropping the runtime stops the server.
    _rt: Runtime,
}

fn start_server() -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("mock-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    let base = format!("http://{addr}");
    let state = Arc::new(MockState::new(
        base.clone(),
        Behaviour {
            running_polls: 1,
            hold: Duration::ZERO,
            retry_after: Some(0),
        },
    ));
    rt.spawn(async move {
        // Ends with the runtime, or at the first accept error.
        while let Ok((stream, _)) = listener.accept().await {
            stream.set_nodelay(true).ok();
            let state = state.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        // Read the request body to the end, as a real server does.
                        let _ = body.collect().await;
                        Ok::<_, Infallible>(state.answer(&parts.method, &parts.uri))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Server { base, _rt: rt }
}

fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Runs `n` operations, at most `concurrency` at once; returns the elapsed time.
async fn run_many<F, Fut>(n: u64, concurrency: usize, f: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<bytes::Bytes, BoxError>>,
{
    let start = Instant::now();
    let mut results = stream::iter(0..n)
        .map(|_| f())
        .buffer_unordered(concurrency);
    while let Some(result) = results.next().await {
        black_box(result.expect("operation failed"));
    }
    start.elapsed()
}

#[derive(Clone)]
struct Clients {
    base: Arc<str>,
    bare: HttpClient,
    layered: LroService<HttpClient>,
}

impl Clients {
    fn new(base: &str) -> Self {
        let bare = client();
        Self {
            base: base.into(),
            layered: LroLayer::new().layer(bare.clone()),
            bare,
        }
    }

    async fn run(&self, what: Variant, n: u64, concurrency: usize) -> Duration {
        let base = &*self.base;
        match what {
            Variant::PingBare => {
                run_many(n, concurrency, || {
                    common::ping_once(self.bare.clone(), base)
                })
                .await
            }
            Variant::PingLayer => {
                run_many(n, concurrency, || {
                    common::ping_once(self.layered.clone(), base)
                })
                .await
            }
            Variant::Hand => {
                run_many(n, concurrency, || common::hand_lro(self.bare.clone(), base)).await
            }
            Variant::Layer => {
                run_many(n, concurrency, || {
                    common::layer_lro(self.layered.clone(), base)
                })
                .await
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Variant {
    PingBare,
    PingLayer,
    Hand,
    Layer,
}

/// CPU time of every thread of this process (client and server, user and kernel), from
/// `/proc/self/task/*/schedstat`, in nanoseconds. `None` where that is not available.
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread may end between listing and reading: skip it.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

struct AbResult {
    a_per_s: f64,
    b_per_s: f64,
    /// Median over rounds of B's throughput / A's.
    median: f64,
    /// Total A time / total B time.
    total: f64,
    /// Process CPU per operation, A / B (client and server together): the throughput ratio
    /// when the machine is CPU-bound, and far less disturbed by other work than wall time.
    cpu: Option<f64>,
}

/// Alternating rounds of `a` and `b` (ABBA): B's throughput relative to A's.
fn interleaved(
    rt: &Runtime,
    clients: &Clients,
    (a, b): (Variant, Variant),
    per_round: u64,
    concurrency: usize,
    rounds: usize,
) -> AbResult {
    // Warm: connections open, caches hot.
    rt.block_on(clients.run(a, per_round / 4 + 1, concurrency));
    rt.block_on(clients.run(b, per_round / 4 + 1, concurrency));
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    let (mut ca, mut cb) = (Some(0u64), Some(0u64));
    let mut ratios = Vec::with_capacity(rounds);
    let timed = |v: Variant, cpu: &mut Option<u64>| {
        let before = process_cpu_ns();
        let elapsed = rt.block_on(clients.run(v, per_round, concurrency));
        *cpu = match (*cpu, before, process_cpu_ns()) {
            (Some(sum), Some(x), Some(y)) => Some(sum + y.saturating_sub(x)),
            _ => None,
        };
        elapsed
    };
    for round in 0..rounds {
        let (da, db) = if round % 2 == 0 {
            let da = timed(a, &mut ca);
            (da, timed(b, &mut cb))
        } else {
            let db = timed(b, &mut cb);
            (timed(a, &mut ca), db)
        };
        ta += da;
        tb += db;
        ratios.push(da.as_secs_f64() / db.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    let n = (per_round * rounds as u64) as f64;
    AbResult {
        a_per_s: n / ta.as_secs_f64(),
        b_per_s: n / tb.as_secs_f64(),
        median: ratios[ratios.len() / 2],
        total: ta.as_secs_f64() / tb.as_secs_f64(),
        cpu: ca.zip(cb).map(|(a, b)| a as f64 / b as f64),
    }
}

/// Whether the command line's filter (if any) asks for the A/B summary: none, `ab-only`, or
/// one that names this bench's groups. Criterion options that take a value are skipped.
fn ab_wanted() -> bool {
    match common::cli_filter() {
        None => true,
        Some(f) => f == "ab-only" || f.starts_with("loopback") || "loopback".contains(f.as_str()),
    }
}

fn ab_summary(server: &Server) {
    let rounds: usize = common::env_or("LRO_AB_ROUNDS", 10);
    if rounds == 0 || !ab_wanted() {
        return;
    }
    let rt = client_runtime();
    let clients = Clients::new(&server.base);
    println!("interleaved A/B over loopback ({rounds} rounds, ABBA; ratios are B relative to A, >1 = B faster):");
    println!(
        "  {:<34} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "case", "A per s", "B per s", "median", "total", "CPU"
    );
    let cases: [(&str, (Variant, Variant), u64, usize); 4] = [
        (
            "pass-through c=1 (bare → layer)",
            (Variant::PingBare, Variant::PingLayer),
            2000,
            1,
        ),
        (
            "pass-through c=64 (bare → layer)",
            (Variant::PingBare, Variant::PingLayer),
            4000,
            64,
        ),
        (
            "LRO c=1 (hand-written → layer)",
            (Variant::Hand, Variant::Layer),
            400,
            1,
        ),
        (
            "LRO c=64 (hand-written → layer)",
            (Variant::Hand, Variant::Layer),
            1000,
            64,
        ),
    ];
    for (name, pair, per_round, concurrency) in cases {
        let r = interleaved(&rt, &clients, pair, per_round, concurrency, rounds);
        let cpu = r
            .cpu
            .map_or_else(|| "n/a".to_owned(), |c| format!("{c:.4}"));
        println!(
            "  {name:<34} {:>10.0} {:>10.0} {:>8.4} {:>8.4} {cpu:>8}",
            r.a_per_s, r.b_per_s, r.median, r.total
        );
    }
}

fn bench_loopback(c: &mut Criterion) {
    let server = start_server();
    let rt = client_runtime();
    let clients = Clients::new(&server.base);

    // The two clients must agree before they are timed.
    let hand = rt
        .block_on(common::hand_lro(clients.bare.clone(), &server.base))
        .expect("hand-written LRO");
    let res = rt
        .block_on(tower::ServiceExt::oneshot(
            clients.layered.clone(),
            common::submission(&server.base),
        ))
        .expect("layered LRO");
    let meta = res
        .extensions()
        .get::<tower_lro::LroMetadata>()
        .expect("LRO metadata")
        .clone();
    assert_eq!(meta.polls(), 2, "two polls: Running, then Succeeded");
    let body = rt
        .block_on(res.into_body().collect())
        .expect("resource body")
        .to_bytes();
    assert_eq!(body, hand);
    assert_eq!(&body[..], common::RESOURCE_BODY);

    let sizes = [
        (
            "hyper-util Client",
            std::mem::size_of_val(&tower::Service::call(
                &mut clients.bare.clone(),
                common::ping(&server.base),
            )),
        ),
        (
            "LroService<Client>",
            std::mem::size_of_val(&tower::Service::call(
                &mut clients.layered.clone(),
                common::ping(&server.base),
            )),
        ),
    ];
    for (name, size) in sizes {
        println!("response future size, {name}: {size} bytes");
    }

    ab_summary(&server);

    for (group_name, pair) in [
        (
            "loopback_passthrough",
            (Variant::PingBare, Variant::PingLayer),
        ),
        ("loopback_lro", (Variant::Hand, Variant::Layer)),
    ] {
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(1));
        for concurrency in [1usize, 64] {
            for variant in [pair.0, pair.1] {
                let name = match variant {
                    Variant::PingBare => "bare",
                    Variant::PingLayer | Variant::Layer => "lro_layer",
                    Variant::Hand => "hand_written",
                };
                group.bench_function(format!("{name}/c{concurrency}"), |b| {
                    b.to_async(&rt)
                        .iter_custom(|iters| clients.run(variant, iters, concurrency))
                });
            }
        }
        group.finish();
    }
}

fn profile(variant: &str) {
    let iters: u64 = common::env_or("LRO_PROFILE_ITERS", 20_000);
    let server = start_server();
    let rt = client_runtime();
    let clients = Clients::new(&server.base);
    let variant = match variant {
        "lro" => Variant::Layer,
        "hand" => Variant::Hand,
        "ping-lro" => Variant::PingLayer,
        "ping-bare" => Variant::PingBare,
        other => panic!("LRO_PROFILE={other}: expected lro, hand, ping-lro or ping-bare"),
    };
    let elapsed = rt.block_on(clients.run(variant, iters, 1));
    println!(
        "{variant:?}: {iters} in {elapsed:?} ({:.0}/s)",
        iters as f64 / elapsed.as_secs_f64()
    );
}

criterion_group!(benches, bench_loopback);

fn main() {
    if let Ok(variant) = std::env::var("LRO_PROFILE") {
        profile(&variant);
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
