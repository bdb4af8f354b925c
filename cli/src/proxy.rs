//! `lro proxy`: a synchronous HTTP front for an asynchronous upstream.
//!
//! Every request is forwarded through the layer (the same rules as `examples/gateway.rs`).
//! Upstream requests (submissions, polls, final fetches) are bounded by `--max-concurrent`;
//! an operation waiting between polls holds no slot. Requests being answered are bounded by
//! `--max-operations`, beyond which a request is answered `503` with `Retry-After` at once;
//! client connections by `--max-connections`, beyond which they wait in the kernel's backlog
//! (see [`crate::proxy_conn`] for the connections' timeouts). SIGINT/SIGTERM stops accepting,
//! lets in-flight requests and background operations finish within `--drain`, then hands the
//! operations still running over (their handles recorded, their leases released: another
//! proxy on the store continues them at once) and answers the rest `503` with their resume
//! handles. A second signal exits at once.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::limit::ConcurrencyLimit;
use tower::{BoxError, Layer};
use tower_lro::{LroBody, LroMetadata, LroService};

use crate::args::ProxyArgs;
use crate::exit::{self, Failure};
use crate::proxy_conn::{self as conn, held_back, Throttle, Timed, Timeouts, Tracked, Watch};
use crate::proxy_log::{known_of, summary, AccessLog, Known, Latest};
use crate::proxy_map::{
    body_unreadable, forwardable_headers, json_response, upstream_uri, ClientBody, UnreadableBody,
};
use crate::term::shown;
use crate::{net, redact, setup};

/// The body sent upstream: the client's, streamed (boxed: polls need a `Default` body); its
/// only error is the client's body breaking off.
pub(crate) type UpstreamBody = UnsyncBoxBody<Bytes, UnreadableBody>;
/// The layer over the client, each upstream request holding one of `--max-concurrent` slots
/// until its answer's head arrives.
type Upstream = LroService<ConcurrencyLimit<Client<net::Connector, UpstreamBody>>>;
/// What the proxy answers: the upstream's final response (or the façade's event stream), or a
/// JSON answer of its own.
pub(crate) type ProxyBody =
    Either<Bounded<Either<LroBody<Incoming>, crate::facade::events::EventBody>>, Full<Bytes>>;

tokio::task_local! {
    /// What is known of the operation of the request being resolved on this task.
    static CURRENT: Arc<Mutex<Latest>>;
}

struct State {
    service: Upstream,
    upstream: Uri,
    /// `--max-operations`: one permit per request being answered.
    operations: Semaphore,
    max_operations: u32,
    /// `--max-client-operations`: requests being answered per peer address, when bounded.
    clients: Option<Arc<crate::proxy_limits::PerClient>>,
    /// `--max-time`: bounds each request's upstream exchange, from its arrival.
    max_time: Option<Duration>,
    /// `--idle-timeout`, `--body-min-rate`: the bounds on reading a request body.
    body_bounds: crate::proxy_map::BodyBounds,
    /// Becomes `true` when the drain after a shutdown signal is over.
    expired: watch::Receiver<bool>,
    /// The asynchronous façade (`Prefer: respond-async`, `/_lro/*`).
    facade: Arc<crate::facade::Facade>,
    /// `--store`: requests with an idempotency key go through it.
    store: crate::proxy_store::Store,
}

/// Runs the proxy until SIGINT/SIGTERM; the exit code.
pub async fn run(args: ProxyArgs) -> Result<i32, Failure> {
    let addr = listen_addr(&args.listen)?;
    let upstream = setup::absolute_url(&args.upstream, "--upstream")?;
    if setup::take_userinfo(upstream.clone())?.1.is_some() {
        // It would not be sent, and resume handles given to clients would hold it.
        return Err(Failure::usage(
            "--upstream: a user or password in the URL is not supported (clients send their \
             own Authorization)",
        ));
    }
    let (layer, dialect) = setup::layer(&args.lro)?;
    // A dialect's `POST` status requests: their bodies in the upstream client's body type.
    let layer = layer
        .poll_body(|b| -> UpstreamBody { Full::new(b).map_err(|n| match n {}).boxed_unsync() });
    let layer = layer.on_progress(|p| {
        let _ = CURRENT.try_with(|cell| {
            if let Ok(mut latest) = cell.lock() {
                latest.handle = p.resume_handle().cloned();
                latest.status = Some(p.status().clone());
            }
        });
    });
    let client = net::upstream_client::<UpstreamBody>(&args, &upstream)?;
    let client = ConcurrencyLimit::new(client, args.max_concurrent as usize);
    let secret_file = args.scope_secret_file.as_deref();
    let mut opened = crate::proxy_store::open(
        args.store.as_deref(),
        args.store_ttl,
        args.store_lease,
        secret_file,
    )
    .await?;
    // This process's writes signal the façade's readers (see `facade::signal`).
    let signals = Arc::new(crate::facade::signal::Signalled::new(opened.records));
    let records: Arc<dyn tower_lro::store::OperationStore> = signals.clone();
    crate::proxy_admin::install();
    // One store front for keyed requests and the façade: one hand-over at the drain's end.
    let mut stores = layer.clone().store(records.clone()).lease(args.store_lease);
    if let Some(id) = crate::scope::holder_id() {
        stores = stores.holder(id);
    }
    let facade = crate::facade::Facade::new(
        stores.clone(),
        signals,
        opened.scope.clone(),
        client.clone(),
        upstream.clone(),
        dialect.clone(),
        &args,
    );
    opened.records = records;
    let store = crate::proxy_store::Store::new(&opened, &stores, client.clone(), facade.held());
    let (expire, expired) = watch::channel(false);
    let state = Arc::new(State {
        service: layer.layer(client),
        upstream: upstream.clone(),
        operations: Semaphore::new(args.max_operations as usize),
        max_operations: args.max_operations,
        clients: crate::proxy_limits::PerClient::new(args.max_client_operations),
        max_time: args.lro.max_time.filter(|d| !d.is_zero()), // 0: no limit
        body_bounds: crate::proxy_map::BodyBounds {
            pause: args.idle_timeout,
            min_rate: args.body_min_rate,
        },
        expired,
        facade,
        store,
    });
    let listener =
        conn::listen(addr).map_err(|e| Failure::local(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::local(format!("cannot listen on {addr}: {e}")))?;
    let (stop, stopping) = watch::channel(false);
    let conns = Conns::new(&args, stopping);
    eprintln!(
        "lro proxy: listening on http://{local}, upstream {}, dialect {}, at most {} \
         connections, {} operations, {} upstream requests at once, operations kept {}, key \
         scopes under the secret of {}",
        redact::url(&upstream.to_string()),
        dialect.name(),
        conns.cap,
        args.max_operations,
        args.max_concurrent,
        opened.kept,
        opened.secret,
    );
    let mut signals = Signals::install()?;
    let signal = accept_loop(&listener, &state, &conns, &mut signals).await?;
    drop(listener);
    eprintln!(
        "lro proxy: {signal}: no new connections; in-flight requests and background \
         operations have {}",
        crate::report::secs(args.drain)
    );
    // Idle connections close at once, busy ones after their answer.
    let _ = stop.send(true);
    let drained = drained(&conns, &state.facade);
    tokio::pin!(drained);
    tokio::select! {
        () = &mut drained => {}
        () = tokio::time::sleep(args.drain) => {
            // What still runs is handed over: its handle recorded, its lease released.
            stores.hand_over();
            // The remaining requests answer 503 at once; their connections then close.
            let _ = expire.send(true);
            tokio::select! {
                _ = tokio::time::timeout(Duration::from_secs(5), &mut drained) => {}
                second = signals.recv() => signals.exit_at_once(second),
            }
        }
        second = signals.recv() => signals.exit_at_once(second),
    }
    eprintln!("lro proxy: stopped");
    Ok(exit::SUCCESS)
}

/// Completes once every client connection closed and no operation runs in the background.
async fn drained(conns: &Conns, facade: &crate::facade::Facade) {
    let _all = conns.slots.acquire_many(conns.cap).await;
    facade.until_idle().await;
}

/// SIGINT and SIGTERM.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Self, Failure> {
        let install = |kind| signal(kind).map_err(|e| Failure::local(format!("signals: {e}")));
        Ok(Self {
            int: install(SignalKind::interrupt())?,
            term: install(SignalKind::terminate())?,
        })
    }

    /// The next signal's name.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }

    /// A second signal while draining: the process ends now, `128 +` the signal's number.
    fn exit_at_once(&self, name: &str) -> ! {
        eprintln!("lro proxy: {name} again: exiting at once");
        let code = if name == "SIGINT" {
            exit::SIGINT
        } else {
            exit::SIGTERM
        };
        std::process::exit(code)
    }
}

/// `HOST:PORT` (an IP address, `[::1]` for IPv6, or `localhost` for 127.0.0.1), or a port
/// alone for loopback.
fn listen_addr(text: &str) -> Result<SocketAddr, Failure> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Some((host, port)) = text.rsplit_once(':') {
        if host.eq_ignore_ascii_case("localhost") {
            if let Ok(port) = port.parse::<u16>() {
                return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
            }
        }
    }
    text.parse().map_err(|_| {
        Failure::usage(format!(
            "--listen `{text}`: expected HOST:PORT (an IP address, [IPv6] or localhost) or a port"
        ))
    })
}

/// The client connections: their cap, timeouts, and the signal that the proxy is stopping.
struct Conns {
    /// One permit per open connection.
    slots: Arc<Semaphore>,
    cap: u32,
    timeouts: Timeouts,
    stopping: watch::Receiver<bool>,
    /// Lines for failed accepts, and for connections closed with an error.
    accept_errors: Arc<Throttle>,
    conn_errors: Arc<Throttle>,
}

impl Conns {
    /// `--max-connections`, lowered to fit the open-files limit: two files a connection (it, and
    /// the upstream connection its answer's body comes on), after the other upstream ones and 64.
    fn new(args: &ProxyArgs, stopping: watch::Receiver<bool>) -> Self {
        let reserve = 2 * u64::from(args.max_concurrent) + 64;
        let fits = conn::open_files_limit().map_or(u64::MAX, |n| n.saturating_sub(reserve) / 2);
        let cap = u64::from(args.max_connections).min(fits).max(1);
        let cap = u32::try_from(cap).unwrap_or(u32::MAX);
        Self {
            slots: Arc::new(Semaphore::new(cap as usize)),
            cap,
            timeouts: Timeouts {
                header: args.header_timeout,
                idle: args.idle_timeout,
            },
            stopping,
            accept_errors: Arc::default(),
            conn_errors: Arc::default(),
        }
    }
}

/// Accepts connections until a shutdown signal; the signal's name. At the connection cap it
/// accepts nothing until a connection closes: new ones wait in the kernel's backlog.
async fn accept_loop(
    listener: &TcpListener,
    state: &Arc<State>,
    conns: &Conns,
    signals: &mut Signals,
) -> Result<&'static str, Failure> {
    loop {
        let permit = tokio::select! {
            name = signals.recv() => return Ok(name),
            permit = conns.slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return Ok("closed"),
            },
        };
        let (stream, peer) = tokio::select! {
            name = signals.recv() => return Ok(name),
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    if let Some(held) = conns.accept_errors.admit(tokio::time::Instant::now()) {
                        let e = e.to_string();
                        eprintln!("lro proxy: accept failed: {}{}", shown(&e), held_back(held));
                    }
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        serve(stream, peer, permit, state.clone(), conns);
    }
}

/// Serves one client connection on its own task, holding `permit` until it closes.
fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    state: Arc<State>,
    conns: &Conns,
) {
    let watch = Watch::new(conns.timeouts);
    let io = TokioIo::new(Timed::new(stream, watch.clone()));
    let on_request = watch.clone();
    let handler = hyper::service::service_fn(move |req| {
        // The same deadline as the request's own (`handle`): its answer is cut there too.
        let answer_by = state.max_time.map(|d| tokio::time::Instant::now() + d);
        on_request.busy(answer_by);
        let (answer, watch) = (handle(state.clone(), peer, req), on_request.clone());
        async move { Ok::<_, Infallible>(answer.await.map(|body| Tracked::new(body, watch))) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .max_header_size(conn::MAX_HEAD)
        .max_buf_size(conn::MAX_HEAD)
        .serve_connection(io, handler);
    let mut stopping = conns.stopping.clone();
    let errors = conns.conn_errors.clone();
    let header_timeout = conns.timeouts.header;
    tokio::spawn(async move {
        let _permit = permit;
        tokio::pin!(conn);
        let ended = tokio::select! {
            ended = conn.as_mut() => Some(ended),
            _ = stopping.wait_for(|stop| *stop) => None,
        };
        let ended = match ended {
            Some(ended) => ended,
            None => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        let why = if watch.head_expired() {
            format!(
                "no complete request head within {}",
                crate::report::secs(header_timeout)
            )
        } else if let Err(e) = ended {
            shown(&e.to_string()).into_owned()
        } else {
            return;
        };
        if let Some(held) = errors.admit(tokio::time::Instant::now()) {
            eprintln!(
                "lro proxy: {peer}: connection closed: {why}{}",
                held_back(held)
            );
        }
    });
}

/// One request: forwarded and resolved, or answered `503` when the drain ends first or
/// `--max-operations` requests are already being answered. Logs one line.
async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let (method, path) = (req.method(), req.uri().path());
    if let Some(own) = crate::proxy_admin::answer(&*state.store.records, method, path).await {
        return own.map(Either::Right);
    }
    let mut log = AccessLog::new(peer, &req);
    let _client = match &state.clients {
        Some(clients) => match clients.admit(peer.ip()) {
            Some(slot) => Some(slot),
            None => {
                log.print("429", " (over --max-client-operations)");
                return too_many(clients.cap());
            }
        },
        None => None,
    };
    let Ok(_operation) = state.operations.try_acquire() else {
        let response = overloaded(state.max_operations);
        log.print("503", " (over --max-operations)");
        return response;
    };
    let started = log.started;
    let cell = log.cell.clone();
    let mut expired = state.expired.clone();
    // --max-time bounds the upstream exchange (the submission's answer and the polls) and,
    // through `Bounded`, the final body; the layer's own deadline stays as configured.
    let deadline = state
        .max_time
        .map(|d| tokio::time::Instant::from_std(started) + d);
    // Through the store front: at the drain's end it hands its operation over, and is given
    // the moment that takes.
    let stored = crate::proxy_store::key_of(req.headers()).is_ok_and(|k| k.is_some())
        || tower_lro::__private::prefers_respond_async(req.headers());
    let work = CURRENT.scope(cell.clone(), forward(state.clone(), req, deadline));
    tokio::pin!(work);
    let response = tokio::select! {
        response = &mut work => response,
        () = async { let _ = expired.wait_for(|done| *done).await; } => {
            if stored {
                let _ = tokio::time::timeout(HAND_OVER, &mut work).await;
            }
            let error = json!({"code": "ServiceUnavailable", "message": "the proxy is shutting down"});
            unfinished(&cell, StatusCode::SERVICE_UNAVAILABLE, error)
        }
        () = until(deadline) => {
            let error = json!({
                "code": "GatewayTimeout",
                "message": format!(
                    "no final answer from the upstream within --max-time {}",
                    crate::report::secs(state.max_time.unwrap_or_default())
                ),
            });
            unfinished(&cell, StatusCode::GATEWAY_TIMEOUT, error)
        }
    };
    let lro = match response.extensions().get::<LroMetadata>() {
        Some(m) => summary(
            crate::proxy_log::word(m.status()),
            Some(m.rule().to_string()),
            Some(m.polls()),
        ),
        None => response
            .extensions()
            .get::<Known>()
            .map(|k| k.0.clone())
            .unwrap_or_default(),
    };
    log.print(response.status().as_str(), &lro);
    response
}

/// How long a request through the store front is given, at the drain's end, to record its
/// operation's handle and release its lease.
const HAND_OVER: Duration = Duration::from_secs(2);

/// `503` with `Retry-After`: the proxy is answering `--max-operations` requests already.
fn overloaded(max: u32) -> Response<ProxyBody> {
    let message =
        format!("the proxy is answering --max-operations {max} requests already; retry later");
    let status = StatusCode::SERVICE_UNAVAILABLE;
    crate::proxy_limits::over_limit(status, "max-operations", &message).map(Either::Right)
}

/// `429` with `Retry-After`: the client has `--max-client-operations` requests being answered.
fn too_many(max: u32) -> Response<ProxyBody> {
    let message = format!(
        "this client has --max-client-operations {max} requests being answered already; retry \
         later"
    );
    let status = StatusCode::TOO_MANY_REQUESTS;
    crate::proxy_limits::over_limit(status, "max-client-operations", &message).map(Either::Right)
}

/// Completes at `deadline`; never without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The answer for a request whose resolution did not finish (shutdown, `--max-time`): `error`
/// and the latest resume handle, when an operation had started.
fn unfinished(cell: &Mutex<Latest>, status: StatusCode, mut error: Value) -> Response<ProxyBody> {
    let latest = cell
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    if let Some(handle) = &latest.handle {
        error["operationUrl"] = json!(handle.operation_url());
        error["operationId"] = json!(handle.operation_id());
    }
    let known = latest.summary();
    let body = json!({ "error": error, "resume": latest.handle });
    let mut response = json_response(status, &body).map(Either::Right);
    response.extensions_mut().insert(Known(known));
    response
}

/// Forwards one request through the layer and turns the outcome into the client's answer.
async fn forward(
    state: Arc<State>,
    req: Request<Incoming>,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let req = match crate::facade::dispatch(&state.facade, req, deadline).await {
        Ok(answer) => return answer,
        Err(req) => req,
    };
    let (parts, body) = req.into_parts();
    if parts.method == http::Method::CONNECT {
        // Not a tunnel: forwarded, a CONNECT would ask the upstream for one.
        let message = "CONNECT is not forwarded: this proxy is not a tunnel";
        let body = json!({"error": {"code": "MethodNotAllowed", "message": message}});
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &body).map(Either::Right);
    }
    let target = match upstream_uri(&state.upstream, &parts.uri) {
        Ok(uri) => uri,
        Err(message) => {
            let body = json!({"error": {"code": "BadRequest", "message": message}});
            return json_response(StatusCode::BAD_REQUEST, &body).map(Either::Right);
        }
    };
    let mut out = Request::new(ClientBody::new(body, state.body_bounds).boxed_unsync());
    *out.method_mut() = parts.method;
    *out.uri_mut() = target.clone();
    *out.headers_mut() = forwardable_headers(&parts.headers, true);
    match state.store.send(&state.service, out).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            parts.headers = forwardable_headers(&parts.headers, false);
            crate::proxy_map::mark_partial(&mut parts);
            let body = Bounded::new(Either::Left(body), deadline);
            Response::from_parts(parts, Either::Left(body))
        }
        // The client's body broke off or stopped: its fault, whatever the client stack made of it.
        Err(err) => match body_unreadable(&*err) {
            Some(why) => {
                let (response, note) = crate::proxy_map::unreadable_answer(why);
                let mut response = response.map(Either::Right);
                response.extensions_mut().insert(Known(note.into()));
                response
            }
            None => {
                let mut response =
                    crate::proxy_store::error_response(&target, &err).map(Either::Right);
                response.extensions_mut().insert(known_of(&err));
                response
            }
        },
    }
}

/// The upstream's final body, cut off (the connection then closes) when `--max-time` passes
/// while it streams: a stalled body does not hold the client for ever.
pub(crate) struct Bounded<B> {
    inner: Pin<Box<B>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> Bounded<B> {
    pub(crate) fn new(inner: B, deadline: Option<tokio::time::Instant>) -> Self {
        Self {
            inner: Box::pin(inner),
            sleep: deadline.map(|at| Box::pin(tokio::time::sleep_until(at))),
        }
    }
}

impl<B> Body for Bounded<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = this.inner.as_mut().poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let expired = match &mut this.sleep {
            Some(sleep) => sleep.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if !expired {
            return Poll::Pending;
        }
        this.sleep = None;
        Poll::Ready(Some(Err(
            "the upstream's body did not end within --max-time".into(),
        )))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
