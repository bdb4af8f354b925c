//! The hold: many LROs waiting at once over loopback, through one connection-capped hyper-util
//! client. The layer against the hand-written loop (`common::hand_lro`) on the same client type,
//! measured side by side in one run.
//!
//! Set-up:
//!
//! - **Server**: a hyper 1 server in its *own process* (this binary with `HOLD_ROLE=server`), on
//!   two `127.0.0.1:0` listeners: "hold" (the Creator V2 mock answering `Retry-After: 1` on the
//!   `202` and on every `Running`) and "fast" (the same with `Retry-After: 0`). In its own process
//!   the server adds nothing to the client's CPU time, live heap or RSS, so every figure below is
//!   the client's alone.
//! - **An operation** is the Creator V2 flow: `POST /jobs` → `202` + `Operation-Location`; three
//!   polls answered `Running`, `Running`, `Succeeded` (the third poll is the terminal one, so an
//!   operation makes exactly 3 polls and waits 3 × 1 s); then `GET` the `Resource-Location`.
//!   Five requests per operation, all with the ten headers of `common::headers()`.
//! - **Client**: one hyper-util legacy `Client` (`TCP_NODELAY`, `pool_max_idle_per_host(64)`) on a
//!   current-thread Tokio runtime, behind `Capped`: a 64-permit semaphore taken before a request
//!   is sent and released only when its response body has ended (or is dropped). The pool keeps
//!   up to 64 idle connections, and a request is only sent when one of the 64 connections that
//!   can exist is free, so at most 64 connections are open. A connector that only counts
//!   (`Counting`) checks that: the bench prints the highest number of connections open at once
//!   and how many were opened during the timed part. A pool setting alone cannot do it:
//!   hyper-util's legacy pool caps *idle* connections, not open ones; a connector that waits for
//!   a permit would leave connect futures parked inside the pool. The layer wraps `Capped`, and
//!   the hand-written loop calls `Capped`: same client, same cap, same per-request wrapper.
//!
//! Measures (each mode in the same binary, interleaved):
//!
//! 1. **Hold** (`HOLD_N`, default 10 000 operations spawned at once). Each hold runs in its own
//!    child process (so RSS and heap start clean), in ABBA order over `HOLD_ROUNDS` (default 2)
//!    rounds. Client CPU per operation: the CPU time of every thread of the child (user and
//!    kernel, `/proc/self/task/*/schedstat`) from the spawn of the N operations to the end of the
//!    last, divided by N. Memory per waiting operation: a counting global allocator's live bytes,
//!    and `VmRSS`, at the first moment when all N operations have had their `202`, no request is
//!    in flight or queued and none has fetched its resource (every operation sleeps between two
//!    polls), minus the same figures just before the spawn, divided by N. That moment is found
//!    on the client's own thread (so no task is half-way through a step): the `Capped` wrapper
//!    wakes a probe task when the last in-flight request ends. If the client never gets quiet
//!    (a machine too slow for N), the sample with the fewest requests in flight is used and the
//!    count is printed.
//! 2. **Throughput** (`Retry-After: 0`): `HOLD_TPUT_OPS` (default 500) operations per round at
//!    concurrency `HOLD_C` (default 64), ABBA over `HOLD_AB_ROUNDS` (default 6) rounds in this
//!    process: client CPU per operation.
//! 3. **Pass-through**: a non-LRO `GET /ping` through the bare `Capped` client and through
//!    `LroService<Capped>`, `HOLD_PING_OPS` (default 4 000) per round at concurrency `HOLD_C`,
//!    same rounds: client CPU per request.
//!
//! The counting allocator is on in every mode (two relaxed atomic adds per allocation, the
//! same in each mode).
//!
//! `cargo bench --bench hold`; e.g. `HOLD_N=100000 HOLD_ROUNDS=3 cargo bench --bench hold`.
//! Without `--bench` on its command line (as under `cargo test --benches`) it runs a smoke-sized
//! version (N = 300, one round); run the binary directly with `--bench` for the full sizes.
//!
//! Profiling: `HOLD_ROLE=hold HOLD_MODE=hand|layer HOLD_N=1000` runs one hold and prints its
//! line (it starts its own server process when `HOLD_BASE` is not set); run it under
//! `valgrind --tool=callgrind` or `--tool=dhat` (valgrind does not follow the server child).
//! `HOLD_SIZES=1` adds, on stderr, the live blocks of a waiting operation by size and the sizes
//! of the futures. `HOLD_ROLE=ops HOLD_MODE=hand|layer|ping-bare|ping-layer HOLD_OPS=2000`
//! runs the throughput or pass-through operations alone (for callgrind).

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::pin::Pin;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use http::{Method, Request, Response, Uri};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::runtime::Runtime;
use tokio::sync::{Notify, Semaphore};
use tower::{Layer, Service};
use tower_lro::{LroLayer, LroService};

mod common;

use common::{Behaviour, Body, BoxError, MockState};

// ---------------------------------------------------------------------------------------------
// Counting allocator (the same as benches/memory.rs).

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

/// `HOLD_SIZES=1`: also count live blocks by size (the last bucket takes every larger block),
/// so the hold can print what each waiting operation keeps, block by block. Off by default: it
/// costs one more atomic add per allocation.
static BY_SIZE_ON: AtomicBool = AtomicBool::new(false);
const SIZE_BUCKETS: usize = 4097;
static LIVE_BY_SIZE: [AtomicIsize; SIZE_BUCKETS] = [const { AtomicIsize::new(0) }; SIZE_BUCKETS];

fn count_size(size: usize, delta: isize) {
    if BY_SIZE_ON.load(Ordering::Relaxed) {
        LIVE_BY_SIZE[size.min(SIZE_BUCKETS - 1)].fetch_add(delta, Ordering::Relaxed);
    }
}

fn grew(size: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    LIVE.fetch_add(size, Ordering::Relaxed);
    count_size(size, 1);
}

fn shrank(size: usize) {
    LIVE.fetch_sub(size, Ordering::Relaxed);
    count_size(size, -1);
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            // Counted as a free of the old block and an allocation of the new one.
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// Measurement helpers.

/// CPU time of every live thread of this process (user and kernel), in nanoseconds, from
/// `/proc/self/task/*/schedstat` (the same clock as `CLOCK_THREAD_CPUTIME_ID`).
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    let mut total = 0;
    for task in tasks.flatten() {
        // A thread may end between listing and reading: skip it.
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// `(utime, stime)` of the process in clock ticks, from `/proc/self/stat`.
fn user_sys_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let at = |i: usize| fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line; 12 and 13 after the state letter.
    (at(11), at(12))
}

// ---------------------------------------------------------------------------------------------
// The client: a counting connector and a 64-permit wrapper.

/// Connections open now, the most open at once, and connections opened in all.
static OPEN: AtomicUsize = AtomicUsize::new(0);
static MAX_OPEN: AtomicUsize = AtomicUsize::new(0);
static CONNECTS: AtomicUsize = AtomicUsize::new(0);

/// `HttpConnector`, counting the connections it opens and that are still open.
#[derive(Clone)]
struct CountingConnector {
    inner: HttpConnector,
}

struct CountedIo {
    io: TokioIo<TcpStream>,
}

impl Drop for CountedIo {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
    }
}

impl hyper::rt::Read for CountedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for CountedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl Connection for CountedIo {
    fn connected(&self) -> Connected {
        self.io.connected()
    }
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<CountedIo, BoxError>> + Send>>;

impl Service<Uri> for CountingConnector {
    type Response = CountedIo;
    type Error = BoxError;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> ConnectFuture {
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            let io = connecting.await?;
            CONNECTS.fetch_add(1, Ordering::Relaxed);
            let open = OPEN.fetch_add(1, Ordering::Relaxed) + 1;
            MAX_OPEN.fetch_max(open, Ordering::Relaxed);
            Ok(CountedIo { io })
        })
    }
}

type HttpClient = Client<CountingConnector, Body>;

fn http_client(connections: usize) -> HttpClient {
    let mut inner = HttpConnector::new();
    inner.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(connections)
        .build(CountingConnector { inner })
}

/// Requests sent or waiting for a permit; submissions answered; resource fetches started.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static SUBMITTED: AtomicUsize = AtomicUsize::new(0);
static FETCHES: AtomicUsize = AtomicUsize::new(0);
/// Woken when the last request in flight ends.
static QUIET: Notify = Notify::const_new();

/// Counts one request in flight until dropped (with its permit, at the end of the body).
struct Tracker {
    submission: bool,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if self.submission {
            SUBMITTED.fetch_add(1, Ordering::Relaxed);
        }
        if IN_FLIGHT.fetch_sub(1, Ordering::Relaxed) == 1 {
            QUIET.notify_one();
        }
    }
}

/// The client behind a connection cap: a request waits for one of `connections` permits and
/// keeps it until its response body ends (when hyper hands the connection back to the pool).
#[derive(Clone)]
struct Capped {
    client: HttpClient,
    permits: Arc<Semaphore>,
}

impl Capped {
    fn new(connections: usize) -> Self {
        Self {
            client: http_client(connections),
            permits: Arc::new(Semaphore::new(connections)),
        }
    }
}

type CappedFuture =
    Pin<Box<dyn Future<Output = Result<Response<common::PermitBody<Tracker>>, BoxError>> + Send>>;

impl Service<Request<Body>> for Capped {
    type Response = Response<common::PermitBody<Tracker>>;
    type Error = BoxError;
    type Future = CappedFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> CappedFuture {
        IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
        if req.uri().path().starts_with("/resources/") {
            FETCHES.fetch_add(1, Ordering::Relaxed);
        }
        let tracker = Tracker {
            submission: req.method() == Method::POST,
        };
        let client = self.client.clone();
        let permits = self.permits.clone();
        Box::pin(async move {
            let permit = permits.acquire_owned().await?;
            let res = client.request(req).await?;
            Ok(res.map(|body| common::PermitBody::new(body, permit, tracker)))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The server process.

fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("hold-server")
        .enable_all()
        .build()
        .expect("server runtime");
    let behaviour = |retry_after| Behaviour {
        // Running, Running, then Succeeded: the third poll is the terminal one.
        running_polls: 2,
        hold: Duration::ZERO,
        retry_after: Some(retry_after),
    };
    let mut bases = Vec::new();
    for retry_after in [1, 0] {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let state = Arc::new(MockState::new(base.clone(), behaviour(retry_after)));
        bases.push(base);
        rt.spawn(async move {
            // Ends with the process, or at the first accept error.
            while let Ok((stream, _)) = listener.accept().await {
                stream.set_nodelay(true).ok();
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let state = state.clone();
                        async move {
                            let (parts, body) = req.into_parts();
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
    }
    println!("hold={} fast={}", bases[0], bases[1]);
    std::io::stdout().flush().ok();
    // Serve until the parent closes our stdin (or goes away).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    std::process::exit(0);
}

/// A server process of our own; it ends when this value (its stdin) is dropped.
struct ServerProcess {
    child: std::process::Child,
    hold: String,
    fast: String,
}

impl ServerProcess {
    fn start() -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .env("HOLD_ROLE", "server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("server stdout"))
            .read_line(&mut line)
            .expect("server address");
        let hold = field(&line, "hold").to_owned();
        let fast = field(&line, "fast").to_owned();
        assert!(
            hold.starts_with("http://127.0.0.1:"),
            "server said {line:?}"
        );
        Self { child, hold, fast }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("?")
}

// ---------------------------------------------------------------------------------------------
// Running operations.

fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime")
}

#[derive(Clone)]
struct Clients {
    bare: Capped,
    layered: LroService<Capped>,
}

impl Clients {
    fn new(connections: usize) -> Self {
        let bare = Capped::new(connections);
        Self {
            layered: LroLayer::new().layer(bare.clone()),
            bare,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Hand,
    Layer,
    PingBare,
    PingLayer,
}

fn run_op(
    clients: &Clients,
    op: Op,
    base: &'static str,
) -> Pin<Box<dyn Future<Output = Result<Bytes, BoxError>> + Send>> {
    match op {
        Op::Hand => Box::pin(common::hand_lro(clients.bare.clone(), base)),
        Op::Layer => Box::pin(common::layer_lro(clients.layered.clone(), base)),
        Op::PingBare => Box::pin(common::ping_once(clients.bare.clone(), base)),
        Op::PingLayer => Box::pin(common::ping_once(clients.layered.clone(), base)),
    }
}

/// `n` operations, at most `concurrency` at once; each must succeed with the expected body.
async fn run_many(clients: &Clients, op: Op, base: &'static str, n: usize, concurrency: usize) {
    let expected: &[u8] = match op {
        Op::Hand | Op::Layer => common::RESOURCE_BODY,
        Op::PingBare | Op::PingLayer => common::PING_BODY,
    };
    let mut results = stream::iter(0..n)
        .map(|_| run_op(clients, op, base))
        .buffer_unordered(concurrency);
    while let Some(result) = results.next().await {
        let body = result.unwrap_or_else(|e| panic!("{op:?} failed: {e}"));
        assert_eq!(&body[..], expected, "{op:?}: wrong body");
    }
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_owned().into_boxed_str())
}

/// What the probe saw when every operation was waiting (or the closest it came).
#[derive(Debug, Clone)]
struct Sample {
    live: usize,
    /// Live blocks by size at the sample (when `HOLD_SIZES=1`).
    sizes: Option<Box<[isize]>>,
    rss_kib: u64,
    in_flight: usize,
    at: Duration,
}

fn size_snapshot() -> Option<Box<[isize]>> {
    BY_SIZE_ON.load(Ordering::Relaxed).then(|| {
        LIVE_BY_SIZE
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    })
}

/// To stderr: the live blocks each waiting operation adds, by size (blocks per operation and
/// bytes per operation), largest share first.
fn print_sizes(before: &[isize], at: &[isize], n: usize) {
    let mut rows: Vec<(usize, f64)> = before
        .iter()
        .zip(at)
        .enumerate()
        .map(|(size, (b, a))| (size, (a - b) as f64 / n as f64))
        .filter(|(_, per_op)| per_op.abs() >= 0.05)
        .collect();
    rows.sort_by(|x, y| (y.1 * y.0 as f64).total_cmp(&(x.1 * x.0 as f64)));
    eprintln!("live blocks per waiting operation, by size (size B, blocks/op, B/op):");
    for (size, per_op) in rows {
        let label = if size == SIZE_BUCKETS - 1 { ">=" } else { "" };
        eprintln!(
            "  {label}{size:>6} {per_op:>7.2} {:>8.0}",
            per_op * size as f64
        );
    }
}

/// Runs on the client's thread: samples heap and RSS at the first quiet moment after all `n`
/// submissions were answered and before any resource fetch; otherwise keeps the least busy one.
async fn probe(n: usize, start: Instant) -> Option<Sample> {
    let mut best: Option<Sample> = None;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(600);
    while tokio::time::Instant::now() < give_up {
        tokio::select! {
            _ = QUIET.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if FETCHES.load(Ordering::Relaxed) > 0 {
            break;
        }
        if SUBMITTED.load(Ordering::Relaxed) < n {
            continue;
        }
        let in_flight = IN_FLIGHT.load(Ordering::Relaxed);
        if best.as_ref().is_some_and(|b| b.in_flight <= in_flight) {
            continue;
        }
        let live = LIVE.load(Ordering::Relaxed);
        best = Some(Sample {
            live,
            sizes: size_snapshot(),
            rss_kib: common::proc_kib("VmRSS"),
            in_flight,
            at: start.elapsed(),
        });
        if in_flight == 0 {
            break;
        }
    }
    best
}

/// To stderr: the sizes of the spawned futures and of the layer's parts.
fn print_type_sizes() {
    let clients = Clients::new(1);
    let hand = common::hand_lro(clients.bare.clone(), "http://127.0.0.1:1");
    let layer = common::layer_lro(clients.layered.clone(), "http://127.0.0.1:1");
    let call = tower::Service::call(
        &mut clients.layered.clone(),
        common::ping("http://127.0.0.1:1"),
    );
    eprintln!(
        "sizes: hand_lro future {} B, layer_lro future {} B, LroService<Capped> response future {} B, \
         Capped future (boxed) {} B, proto::Machine {} B, proto::RequestHead {} B, \
         proto::PollRequest {} B, tokio Sleep {} B, http::response::Parts {} B, http::Uri {} B, \
         Capped {} B, PermitBody {} B",
        std::mem::size_of_val(&hand),
        std::mem::size_of_val(&layer),
        std::mem::size_of_val(&call),
        std::mem::size_of::<CappedFuture>(),
        std::mem::size_of::<tower_lro::__private::proto::Machine>(),
        std::mem::size_of::<tower_lro::__private::proto::RequestHead>(),
        std::mem::size_of::<tower_lro::__private::proto::PollRequest>(),
        std::mem::size_of::<tokio::time::Sleep>(),
        std::mem::size_of::<http::response::Parts>(),
        std::mem::size_of::<Uri>(),
        std::mem::size_of::<Capped>(),
        std::mem::size_of::<common::PermitBody<Tracker>>(),
    );
}

/// One hold in this process: prints one `key=value` line.
fn hold_child(op: Op, n: usize, connections: usize) {
    let own_server = std::env::var("HOLD_BASE")
        .is_err()
        .then(ServerProcess::start);
    let (hold_base, fast_base) = match &own_server {
        Some(s) => (leak(&s.hold), leak(&s.fast)),
        None => (
            leak(&std::env::var("HOLD_BASE").unwrap_or_default()),
            leak(&std::env::var("HOLD_FAST_BASE").unwrap_or_default()),
        ),
    };
    let timeout = Duration::from_secs(common::env_or("HOLD_TIMEOUT_S", 600));
    if std::env::var("HOLD_SIZES").is_ok_and(|v| v == "1") {
        BY_SIZE_ON.store(true, Ordering::Relaxed);
        print_type_sizes();
    }
    let rt = client_runtime();
    let clients = Clients::new(connections);
    rt.block_on(async {
        // Warm: the code paths (64 fast operations of this mode, one at a time, so on one
        // connection), then `connections` connections to the hold server, so the pool is full
        // before the baseline.
        run_many(&clients, op, fast_base, 64, 1).await;
        run_many(&clients, Op::PingBare, hold_base, connections, connections).await;
        let connects_before = CONNECTS.load(Ordering::Relaxed);
        let open_before = OPEN.load(Ordering::Relaxed);
        MAX_OPEN.store(open_before, Ordering::Relaxed);
        SUBMITTED.store(0, Ordering::Relaxed);
        FETCHES.store(0, Ordering::Relaxed);
        let (live0, rss0, allocs0) = (
            LIVE.load(Ordering::Relaxed),
            common::proc_kib("VmRSS"),
            ALLOCS.load(Ordering::Relaxed),
        );
        let sizes0 = size_snapshot();
        let (user0, sys0) = user_sys_ticks();
        let cpu0 = process_cpu_ns();
        let start = Instant::now();
        let probe = tokio::spawn(probe(n, start));
        let mut handles = Vec::with_capacity(n);
        for _ in 0..n {
            handles.push(match op {
                Op::Hand => tokio::spawn(common::hand_lro(clients.bare.clone(), hold_base)),
                Op::Layer => tokio::spawn(common::layer_lro(clients.layered.clone(), hold_base)),
                other => panic!("a hold runs LROs, not {other:?}"),
            });
        }
        let joined = tokio::time::timeout(timeout, async {
            let mut ok = 0usize;
            let mut first_error = None;
            for handle in handles {
                match handle.await.expect("task") {
                    Ok(body) if &body[..] == common::RESOURCE_BODY => ok += 1,
                    Ok(_) => first_error = first_error.or(Some("wrong final body".to_owned())),
                    Err(e) => first_error = first_error.or(Some(e.to_string())),
                }
            }
            (ok, first_error)
        })
        .await;
        let elapsed = start.elapsed();
        let cpu = process_cpu_ns() - cpu0;
        let (user1, sys1) = user_sys_ticks();
        let allocs = ALLOCS.load(Ordering::Relaxed) - allocs0;
        let (ok, error) = joined.unwrap_or((0, Some("timed out".to_owned())));
        probe.abort();
        let sample = probe.await.ok().flatten();
        if let (Some(before), Some(at)) = (&sizes0, sample.as_ref().and_then(|s| s.sizes.as_ref()))
        {
            print_sizes(before, at, n);
        }
        let (heap, rss, in_flight, at) = sample.as_ref().map_or((f64::NAN, f64::NAN, usize::MAX, 0), |s| {
            (
                (s.live as f64 - live0 as f64) / n as f64,
                (s.rss_kib as f64 - rss0 as f64) * 1024.0 / n as f64,
                s.in_flight,
                s.at.as_millis(),
            )
        });
        let user_share = (user1 - user0) as f64 / ((user1 - user0) + (sys1 - sys0)).max(1) as f64;
        println!(
            "mode={op:?} n={n} ok={ok} cpu_ns_per_op={:.0} user_share={user_share:.2} \
             heap_per_op={heap:.0} rss_per_op={rss:.0} sample_in_flight={in_flight} \
             sample_ms={at} allocs_per_op={:.1} elapsed_ms={} open_before={open_before} max_open={} connects_during={} error={}",
            cpu as f64 / n as f64,
            allocs as f64 / n as f64,
            elapsed.as_millis(),
            MAX_OPEN.load(Ordering::Relaxed),
            CONNECTS.load(Ordering::Relaxed) - connects_before,
            error.unwrap_or_else(|| "none".to_owned()).replace(' ', "_"),
        );
    });
    drop(own_server);
}

/// `HOLD_ROLE=ops HOLD_MODE=hand|layer|ping-bare|ping-layer HOLD_OPS=n`: `n` operations (the
/// throughput flow with `Retry-After: 0`, or pass-through `GET`s) at concurrency `HOLD_C`,
/// after a warm-up of 64; prints the client CPU per operation. For callgrind.
fn ops_child(connections: usize) {
    let op = match std::env::var("HOLD_MODE").as_deref() {
        Ok("hand") => Op::Hand,
        Ok("layer") => Op::Layer,
        Ok("ping-bare") => Op::PingBare,
        Ok("ping-layer") => Op::PingLayer,
        other => panic!("HOLD_MODE={other:?}: expected hand, layer, ping-bare or ping-layer"),
    };
    let n: usize = common::env_or("HOLD_OPS", 2000);
    let concurrency: usize = common::env_or("HOLD_C", 64);
    let server = ServerProcess::start();
    let base = leak(&server.fast);
    let rt = client_runtime();
    let clients = Clients::new(connections);
    rt.block_on(run_many(&clients, op, base, 64, concurrency));
    let cpu0 = process_cpu_ns();
    rt.block_on(run_many(&clients, op, base, n, concurrency));
    let cpu = process_cpu_ns() - cpu0;
    println!(
        "ops mode={op:?} n={n} c={concurrency} cpu_ns_per_op={:.0}",
        cpu as f64 / n as f64
    );
}

// ---------------------------------------------------------------------------------------------
// The parent: holds in child processes, then throughput and pass-through in this process.

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// ABBA rounds of `a` and `b` in this process: client CPU per operation of each, and the
/// median of per-round ratios b / a.
fn ab_cpu(
    rt: &Runtime,
    clients: &Clients,
    (a, b): (Op, Op),
    base: &'static str,
    per_round: usize,
    concurrency: usize,
    rounds: usize,
) -> (f64, f64, f64) {
    rt.block_on(run_many(clients, a, base, per_round / 4 + 1, concurrency));
    rt.block_on(run_many(clients, b, base, per_round / 4 + 1, concurrency));
    let timed = |op: Op| {
        let before = process_cpu_ns();
        rt.block_on(run_many(clients, op, base, per_round, concurrency));
        (process_cpu_ns() - before) as f64 / per_round as f64
    };
    let (mut sa, mut sb, mut ratios) = (0.0, 0.0, Vec::new());
    for round in 0..rounds {
        let (ca, cb) = if round % 2 == 0 {
            let ca = timed(a);
            (ca, timed(b))
        } else {
            let cb = timed(b);
            (timed(a), cb)
        };
        sa += ca;
        sb += cb;
        ratios.push(cb / ca);
    }
    (sa / rounds as f64, sb / rounds as f64, median(ratios))
}

fn main() {
    let n: usize = common::env_or("HOLD_N", 10_000);
    let connections: usize = common::env_or("HOLD_CONNECTIONS", 64);
    match std::env::var("HOLD_ROLE").as_deref() {
        Ok("server") => return serve(),
        Ok("ops") => return ops_child(connections),
        Ok("hold") => {
            let op = match std::env::var("HOLD_MODE").as_deref() {
                Ok("hand") => Op::Hand,
                Ok("layer") => Op::Layer,
                other => panic!("HOLD_MODE={other:?}: expected hand or layer"),
            };
            return hold_child(op, n, connections);
        }
        _ => {}
    }
    // `cargo bench -- <filter>`: run only when the filter names this bench or nothing.
    let filter = common::cli_filter().unwrap_or_default();
    if !filter.is_empty() && !"hold".contains(&filter) {
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` (or `--all-targets`) does not: then
    // a smoke run with small sizes, as criterion does in test mode.
    let full = std::env::args().any(|a| a == "--bench");
    let small = |full_size: usize, smoke: usize| if full { full_size } else { smoke };
    let n: usize = common::env_or("HOLD_N", small(n, 300));
    let hold_rounds: usize = common::env_or("HOLD_ROUNDS", small(2, 1));
    let ab_rounds: usize = common::env_or("HOLD_AB_ROUNDS", small(6, 2));
    let concurrency: usize = common::env_or("HOLD_C", 64);
    let tput_ops: usize = common::env_or("HOLD_TPUT_OPS", small(500, 100));
    let ping_ops: usize = common::env_or("HOLD_PING_OPS", small(4000, 500));
    let server = ServerProcess::start();
    let exe = std::env::current_exe().expect("current exe");
    println!(
        "hold: n={n} operations at once, 3 polls each (Running, Running, Succeeded) with \
         Retry-After: 1, {connections} connections, {hold_rounds} ABBA rounds (a child process each)"
    );
    let mut per_mode: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    for round in 0..hold_rounds {
        let order = if round % 2 == 0 {
            ["hand", "layer"]
        } else {
            ["layer", "hand"]
        };
        for mode in order {
            let out = Command::new(&exe)
                .env("HOLD_ROLE", "hold")
                .env("HOLD_MODE", mode)
                .env("HOLD_N", n.to_string())
                .env("HOLD_CONNECTIONS", connections.to_string())
                .env("HOLD_BASE", &server.hold)
                .env("HOLD_FAST_BASE", &server.fast)
                .output()
                .expect("run a hold");
            let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            assert!(
                out.status.success(),
                "hold {mode} failed: {line}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            println!("  {line}");
            assert_eq!(field(&line, "ok"), n.to_string(), "every LRO completes");
            per_mode[usize::from(mode == "layer")].push(line);
        }
    }
    let mean = |lines: &[String], key: &str| {
        lines
            .iter()
            .map(|l| field(l, key).parse::<f64>().unwrap_or(f64::NAN))
            .sum::<f64>()
            / lines.len() as f64
    };
    // Per-round ratios, pairing the i-th hand hold with the i-th layer hold.
    let paired = |key: &str| {
        median(
            per_mode[0]
                .iter()
                .zip(&per_mode[1])
                .map(|(h, l)| {
                    field(l, key).parse::<f64>().unwrap_or(f64::NAN)
                        / field(h, key).parse::<f64>().unwrap_or(f64::NAN)
                })
                .collect(),
        )
    };

    let rt = client_runtime();
    let clients = Clients::new(connections);
    let (hold_base, fast_base) = (leak(&server.hold), leak(&server.fast));
    let tput = ab_cpu(
        &rt,
        &clients,
        (Op::Hand, Op::Layer),
        fast_base,
        tput_ops,
        concurrency,
        ab_rounds,
    );
    let ping = ab_cpu(
        &rt,
        &clients,
        (Op::PingBare, Op::PingLayer),
        hold_base,
        ping_ops,
        concurrency,
        ab_rounds,
    );
    drop(server);

    println!();
    println!(
        "{:<44} {:>14} {:>14} {:>8} {:>8}",
        "measure (client only)", "baseline", "layer", "ratio", "median"
    );
    let row = |name: &str, a: f64, b: f64, med: f64| {
        println!("{name:<44} {a:>14.0} {b:>14.0} {:>8.3} {med:>8.3}", b / a);
    };
    let (h, l) = (&per_mode[0], &per_mode[1]);
    row(
        "hold: CPU ns per LRO",
        mean(h, "cpu_ns_per_op"),
        mean(l, "cpu_ns_per_op"),
        paired("cpu_ns_per_op"),
    );
    row(
        "hold: live heap B per waiting LRO",
        mean(h, "heap_per_op"),
        mean(l, "heap_per_op"),
        paired("heap_per_op"),
    );
    row(
        "hold: RSS B per waiting LRO",
        mean(h, "rss_per_op"),
        mean(l, "rss_per_op"),
        paired("rss_per_op"),
    );
    row(
        "hold: allocations per LRO",
        mean(h, "allocs_per_op"),
        mean(l, "allocs_per_op"),
        paired("allocs_per_op"),
    );
    row(
        &format!("throughput (Retry-After: 0, c={concurrency}): CPU ns/LRO"),
        tput.0,
        tput.1,
        tput.2,
    );
    row(
        &format!("pass-through GET (c={concurrency}): CPU ns/request"),
        ping.0,
        ping.1,
        ping.2,
    );
    println!(
        "(baseline = hand-written loop, or the bare client for pass-through; ratio = mean layer / \
         mean baseline; median = median of per-round ratios; targets: hold CPU and memory <= 1.10, \
         throughput <= 1.05, pass-through <= 1.02)"
    );
}
