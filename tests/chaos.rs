//! Chaos (issue 3): thousands of concurrent operations through one hyper-util client and
//! `LroLayer`, against a loopback server that injects faults into about 5 % of its answers.
//!
//! The server (below, self-contained) serves four shapes of operation, chosen by the operation
//! number `i`: `Operation-Location` + `resourceLocation` (`i % 4 == 0`), `PUT` +
//! `Azure-AsyncOperation` then the original URL (1), `Location` polling (2), and `PUT` +
//! `provisioningState` (3). Operation `i` finishes after `1 + i % 3` successful status answers,
//! and its final resource is `{"name":"op-i",…}`.
//!
//! Redirecting monitors (spec §4a): of the `Operation-Location` and `Location` operations, five
//! in eight redirect. Their monitor answers the last poll with `303` (one in eight) or `302`
//! (one in eight) to `/resources/i?sig=tok-i`, the result; or answers the first poll with `307`,
//! `308` or `301` (one in eight each) to `/moved/i?sig=tok-i`, where the operation is then
//! polled. The server checks that the redirect's own token (`sig`) comes along, and that the
//! old monitor is not polled again once a redirect reached the client whole.
//!
//! Faults are drawn per request by a xorshift generator seeded with (seed, operation, request
//! number of that operation), so a run is reproducible whatever the interleaving: connection
//! reset without an answer, `500`/`502`/`503`/`504`, `429` with `Retry-After: 0`, a slow body
//! (three chunks a few ms apart), a garbage body, and a connection reset in the middle of a body.
//!
//! Every operation must end with the right final resource or a clear, typed error (a
//! `tower_lro::Error`, or the transport error / status of a faulted submission passed back
//! untouched); none may hang; the server must see each submission exactly once (the layer never
//! re-sends one). Outcomes are counted by kind and printed (`--nocapture` shows them).
//!
//! Real sockets: Tokio's clock is not paused; waits are shrunk to milliseconds.
//!
//! This file holds the server; the client side and the tests are in `chaos/run.rs`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tower::limit::ConcurrencyLimitLayer;
use tower::{ServiceBuilder, ServiceExt};
use tower_lro::{ErrorKind, LroLayer, LroMetadata, Rule};

/// Faults per thousand answers.
const FAULT_PER_MILLE: u64 = 50;

// ----------------------------------------------------------------------------------------------
// Deterministic randomness

struct XorShift(u64);

impl XorShift {
    fn new(seed: u64, op: usize, request: u32) -> Self {
        let mut s = seed
            ^ (op as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (u64::from(request) + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        if s == 0 {
            s = 0x2545_F491_4F6C_DD1D;
        }
        let mut r = Self(s);
        // Stir: nearby seeds give unrelated first outputs.
        for _ in 0..4 {
            r.next();
        }
        r
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

// ----------------------------------------------------------------------------------------------
// The server

type ServerBody = BoxBody<Bytes, std::io::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Submission,
    Status,
    Location,
    Provisioning,
    Resource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Reset,
    Status(u16),
    TooMany,
    Slow,
    Garbage,
    CutBody,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Reset => "connection reset",
            Fault::Status(500) => "500",
            Fault::Status(502) => "502",
            Fault::Status(503) => "503",
            Fault::Status(_) => "504",
            Fault::TooMany => "429 Retry-After: 0",
            Fault::Slow => "slow body",
            Fault::Garbage => "garbage body",
            Fault::CutBody => "reset mid-body",
        }
    }
}

/// What an operation's status monitor does (spec §4a).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redirect {
    /// `303`/`302` to the result when done.
    Done(u16),
    /// `307`/`308`/`301` to a new monitor on the first poll.
    Moved(u16),
}

fn redirect(i: usize) -> Option<Redirect> {
    if !matches!(shape(i), 0 | 2) {
        return None;
    }
    match (i / 4) % 8 {
        1 => Some(Redirect::Done(303)),
        2 => Some(Redirect::Done(302)),
        3 => Some(Redirect::Moved(307)),
        4 => Some(Redirect::Moved(308)),
        5 => Some(Redirect::Moved(301)),
        _ => None,
    }
}

struct State {
    seed: u64,
    addr: SocketAddr,
    /// Submissions seen, per operation.
    submissions: Vec<AtomicU32>,
    /// Requests seen, per operation (the fault generator's request number).
    requests: Vec<AtomicU32>,
    /// Successful status answers, per operation (its progress).
    progress: Vec<AtomicU32>,
    total: AtomicU64,
    faults: Mutex<BTreeMap<&'static str, u64>>,
    /// A `301`/`307`/`308` reached the client whole, per operation.
    moved: Vec<AtomicBool>,
    /// Redirects answered, by status.
    redirects: Mutex<BTreeMap<u16, u64>>,
    /// What the server saw that the layer must never do.
    violations: Mutex<Vec<String>>,
}

impl State {
    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }
}

fn shape(i: usize) -> usize {
    i % 4
}

fn polls_needed(i: usize) -> u32 {
    1 + (i % 3) as u32
}

fn full(body: impl Into<Bytes>) -> ServerBody {
    Full::new(body.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// A body in three pieces, a few milliseconds apart.
fn slow(body: Bytes) -> ServerBody {
    let n = body.len();
    let cuts = [0, n / 3, 2 * n / 3, n];
    let pieces: Vec<Bytes> = cuts.windows(2).map(|w| body.slice(w[0]..w[1])).collect();
    let stream = futures_util::stream::unfold(pieces.into_iter(), |mut it| async move {
        let piece = it.next()?;
        tokio::time::sleep(Duration::from_millis(2)).await;
        Some((Ok::<_, std::io::Error>(Frame::data(piece)), it))
    });
    StreamBody::new(stream).boxed()
}

/// One chunk, then the connection breaks.
fn cut(body: Bytes) -> ServerBody {
    let first = if body.is_empty() {
        Bytes::from_static(b"{")
    } else {
        body.slice(..body.len().div_ceil(2))
    };
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
        Ok(Frame::data(first)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected: reset mid-body",
        )),
    ];
    StreamBody::new(futures_util::stream::iter(frames)).boxed()
}

struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Answer {
    fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

fn hint(a: Answer, rng: &mut XorShift) -> Answer {
    match rng.below(3) {
        0 => a,
        n => a.header("retry-after-ms", n.to_string()),
    }
}

/// The answer a well-behaved server would give.
fn normal(state: &State, what: What, i: usize, at_moved: bool, rng: &mut XorShift) -> Answer {
    let name = format!("op-{i}");
    match what {
        What::Submission => match shape(i) {
            0 => hint(
                Answer::new(202, "").header(
                    "operation-location",
                    format!("http://{}/status/{i}", state.addr),
                ),
                rng,
            ),
            1 => Answer::new(
                201,
                format!(r#"{{"name":"{name}","properties":{{"provisioningState":"Accepted"}}}}"#),
            )
            .header("azure-asyncoperation", format!("/status/{i}"))
            .header("content-type", "application/json"),
            2 => hint(
                Answer::new(202, "").header("location", format!("/loc/{i}")),
                rng,
            ),
            _ => Answer::new(
                201,
                format!(r#"{{"name":"{name}","properties":{{"provisioningState":"Creating"}}}}"#),
            )
            .header("content-type", "application/json"),
        },
        What::Status | What::Location if !at_moved && first_move(state, i) => {
            let Some(Redirect::Moved(code)) = redirect(i) else {
                unreachable!()
            };
            Answer::new(code, "").header("location", format!("/moved/{i}?sig=tok-{i}"))
        }
        What::Status => {
            let done = state.progress[i].fetch_add(1, Ordering::SeqCst) + 1 >= polls_needed(i);
            if let (true, Some(Redirect::Done(code))) = (done, redirect(i)) {
                Answer::new(code, "").header("location", format!("/resources/{i}?sig=tok-{i}"))
            } else if !done {
                hint(
                    Answer::new(
                        200,
                        format!(r#"{{"operationId":"{name}","status":"Running"}}"#),
                    ),
                    rng,
                )
            } else if shape(i) == 0 {
                Answer::new(
                    200,
                    format!(
                        r#"{{"operationId":"{name}","status":"Succeeded","resourceLocation":"/resources/{i}"}}"#
                    ),
                )
            } else {
                Answer::new(
                    200,
                    format!(r#"{{"operationId":"{name}","status":"Succeeded"}}"#),
                )
            }
        }
        What::Location => {
            let done = state.progress[i].fetch_add(1, Ordering::SeqCst) + 1 >= polls_needed(i);
            if let (true, Some(Redirect::Done(code))) = (done, redirect(i)) {
                Answer::new(code, "").header("location", format!("/resources/{i}?sig=tok-{i}"))
            } else if done {
                Answer::new(200, format!(r#"{{"name":"{name}"}}"#))
            } else {
                hint(Answer::new(202, ""), rng)
            }
        }
        What::Provisioning => {
            let done = state.progress[i].fetch_add(1, Ordering::SeqCst) + 1 >= polls_needed(i);
            let ps = if done { "Succeeded" } else { "Creating" };
            hint(
                Answer::new(
                    200,
                    format!(r#"{{"name":"{name}","properties":{{"provisioningState":"{ps}"}}}}"#),
                ),
                rng,
            )
        }
        What::Resource => Answer::new(
            200,
            format!(r#"{{"name":"{name}","properties":{{"provisioningState":"Succeeded"}}}}"#),
        ),
    }
}

/// Whether a monitor that moves has not moved yet (its first poll answers the redirect).
fn first_move(state: &State, i: usize) -> bool {
    matches!(redirect(i), Some(Redirect::Moved(_))) && state.progress[i].load(Ordering::SeqCst) == 0
}

/// The request's path and whether it went to the moved monitor (`/moved/i`).
fn route(method: &Method, path: &str) -> Option<(What, usize, bool)> {
    let mut parts = path.trim_start_matches('/').split('/');
    let (kind, id) = (parts.next()?, parts.next()?);
    let i: usize = id.parse().ok()?;
    let moved = kind == "moved";
    let what = match (method.as_str(), kind) {
        ("POST" | "PUT", "ops") => What::Submission,
        ("GET", "status") => What::Status,
        ("GET", "loc") => What::Location,
        ("GET", "moved") if shape(i) == 0 => What::Status,
        ("GET", "moved") => What::Location,
        ("GET", "ops") if shape(i) == 3 => What::Provisioning,
        ("GET", "ops") | ("GET", "resources") => What::Resource,
        _ => return None,
    };
    Some((what, i, moved))
}

/// What the server checks of a request to a redirecting operation: the redirect's own token
/// comes along to its target, and a monitor that moved is not polled at its old address.
fn check_redirects(state: &State, what: What, i: usize, at_moved: bool, query: Option<&str>) {
    let Some(kind) = redirect(i) else {
        return;
    };
    let token = format!("sig=tok-{i}");
    let has_token = query.is_some_and(|q| q.split('&').any(|p| p == token));
    let to_target = match kind {
        Redirect::Done(_) => what == What::Resource,
        Redirect::Moved(_) => at_moved,
    };
    if to_target && !has_token {
        state.violation(format!(
            "op {i}: the redirect's token was dropped ({query:?})"
        ));
    }
    let old_monitor = matches!(what, What::Status | What::Location) && !at_moved;
    if old_monitor && state.moved[i].load(Ordering::SeqCst) {
        state.violation(format!("op {i}: the old monitor was polled after {kind:?}"));
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<ServerBody>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let _ = body.collect().await;
    state.total.fetch_add(1, Ordering::Relaxed);
    let Some((what, i, at_moved)) =
        route(&parts.method, parts.uri.path()).filter(|(_, i, _)| *i < state.submissions.len())
    else {
        let mut r = Response::new(full("no such route"));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return Ok(r);
    };
    if what == What::Submission {
        state.submissions[i].fetch_add(1, Ordering::SeqCst);
    }
    check_redirects(&state, what, i, at_moved, parts.uri.query());
    let n = state.requests[i].fetch_add(1, Ordering::SeqCst);
    let mut rng = XorShift::new(state.seed, i, n);
    let fault = (rng.below(1000) < FAULT_PER_MILLE).then(|| match rng.below(9) {
        0 => Fault::Reset,
        1 => Fault::Status(500),
        2 => Fault::Status(502),
        3 => Fault::Status(503),
        4 => Fault::Status(504),
        5 => Fault::TooMany,
        6 => Fault::Slow,
        7 => Fault::Garbage,
        _ => Fault::CutBody,
    });
    // Garbage where a body is not read as a status (a submission, a resource) would be a wrong
    // answer, not a fault the layer could notice: there it is a 503.
    let fault = match (fault, what) {
        (Some(Fault::Garbage), What::Submission | What::Resource) => Some(Fault::Status(503)),
        (f, _) => f,
    };
    if let Some(f) = fault {
        *state.faults.lock().unwrap().entry(f.name()).or_default() += 1;
    }
    let answer = match fault {
        Some(Fault::Reset) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "injected: reset",
            ))
        }
        Some(Fault::Status(s)) => Answer::new(s, "oops"),
        Some(Fault::TooMany) => Answer::new(429, "slow down").header("retry-after", "0"),
        Some(Fault::Garbage) if what == What::Location => Answer::new(202, "<html>garbage</html>"),
        Some(Fault::Garbage) => Answer::new(200, "<html>garbage</html>"),
        _ => normal(&state, what, i, at_moved, &mut rng),
    };
    if matches!(answer.status, 301..=308) {
        *state
            .redirects
            .lock()
            .unwrap()
            .entry(answer.status)
            .or_default() += 1;
        // Whole (a slow body is whole too): from now on the monitor is elsewhere.
        let whole = matches!(fault, None | Some(Fault::Slow));
        if whole && matches!(answer.status, 301 | 307 | 308) {
            state.moved[i].store(true, Ordering::SeqCst);
        }
    }
    let body = match fault {
        Some(Fault::Slow) => slow(answer.body),
        Some(Fault::CutBody) => cut(answer.body),
        _ => full(answer.body),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap();
    for (name, value) in answer.headers {
        response
            .headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    Ok(response)
}

struct Server {
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start(ops: usize, seed: u64) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = || (0..ops).map(|_| AtomicU32::new(0)).collect::<Vec<_>>();
        let state = Arc::new(State {
            seed,
            addr,
            submissions: counters(),
            requests: counters(),
            progress: counters(),
            total: AtomicU64::new(0),
            faults: Mutex::new(BTreeMap::new()),
            moved: (0..ops).map(|_| AtomicBool::new(false)).collect(),
            redirects: Mutex::new(BTreeMap::new()),
            violations: Mutex::new(Vec::new()),
        });
        let task = tokio::spawn(accept(listener, state.clone()));
        Server { state, task }
    }
}

async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    // An injected reset ends the connection with an error: that is the point.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[path = "chaos/run.rs"]
mod run;
