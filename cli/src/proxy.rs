//! `lro proxy`: a synchronous HTTP front for an asynchronous upstream.
//!
//! Every request is forwarded through the layer (the same rules as `examples/gateway.rs`);
//! resolutions are bounded by a semaphore; SIGINT/SIGTERM stops accepting, lets in-flight
//! requests finish within a grace period, then answers the rest `503` with their resume handles.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{LroBody, LroMetadata, LroService, OperationStatus, ResumeHandle};

use crate::args::ProxyArgs;
use crate::exit::{self, Failure};
use crate::proxy_map::{error_response, forwardable_headers, json_response, upstream_uri};
use crate::{net, redact, setup};

/// The body sent upstream: the client's, streamed (boxed: polls need a `Default` body).
type UpstreamBody = UnsyncBoxBody<Bytes, hyper::Error>;
type Upstream = LroService<Client<net::Connector, UpstreamBody>>;
/// What the proxy answers: the upstream's final response, or a JSON answer of its own.
type ProxyBody = Either<Bounded<LroBody<Incoming>>, Full<Bytes>>;

tokio::task_local! {
    /// What is known of the operation of the request being resolved on this task.
    static CURRENT: Arc<Mutex<Latest>>;
}

/// The latest progress report of a request's operation.
#[derive(Default)]
struct Latest {
    handle: Option<ResumeHandle>,
    status: Option<OperationStatus>,
}

/// What the log line says of the operation, carried by an answer that has no `LroMetadata`.
#[derive(Clone)]
struct Known(String);

struct State {
    service: Upstream,
    upstream: Uri,
    slots: Semaphore,
    /// `--max-time`: bounds each request's upstream exchange, from its arrival.
    max_time: Option<Duration>,
    /// Becomes `true` when the grace period after a shutdown signal is over.
    expired: watch::Receiver<bool>,
}

/// Runs the proxy until SIGINT/SIGTERM; the exit code.
pub async fn run(args: ProxyArgs) -> Result<i32, Failure> {
    let addr = listen_addr(&args.listen)?;
    let upstream = setup::absolute_url(&args.upstream, "--upstream")?;
    let (layer, dialect) = setup::layer(&args.lro)?;
    let layer = layer.on_progress(|p| {
        let _ = CURRENT.try_with(|cell| {
            if let Ok(mut latest) = cell.lock() {
                latest.handle = p.resume_handle().cloned();
                latest.status = Some(p.status().clone());
            }
        });
    });
    let client = net::client::<UpstreamBody>(args.lro.cacert.as_deref())?;
    let (expire, expired) = watch::channel(false);
    let state = Arc::new(State {
        service: layer.layer(client),
        upstream: upstream.clone(),
        slots: Semaphore::new(args.max_concurrent as usize),
        max_time: args.lro.max_time.filter(|d| !d.is_zero()), // 0: no limit
        expired,
    });
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::local(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::local(format!("cannot listen on {addr}: {e}")))?;
    eprintln!(
        "lro proxy: listening on http://{local}, upstream {}, dialect {}",
        redact::url(&upstream.to_string()),
        dialect.name()
    );
    let graceful = GracefulShutdown::new();
    let signal = accept_loop(&listener, &state, &graceful).await?;
    drop(listener);
    eprintln!(
        "lro proxy: {signal}: no new connections; in-flight requests have {}",
        crate::report::secs(args.grace)
    );
    let closed = graceful.shutdown();
    tokio::pin!(closed);
    tokio::select! {
        _ = &mut closed => {}
        _ = tokio::time::sleep(args.grace) => {
            let _ = expire.send(true);
            // The remaining requests answer 503 at once; their connections then close.
            let _ = tokio::time::timeout(Duration::from_secs(5), &mut closed).await;
        }
    }
    eprintln!("lro proxy: stopped");
    Ok(exit::SUCCESS)
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

/// Accepts connections until a shutdown signal; the signal's name.
async fn accept_loop(
    listener: &TcpListener,
    state: &Arc<State>,
    graceful: &GracefulShutdown,
) -> Result<&'static str, Failure> {
    let install = |kind| signal(kind).map_err(|e| Failure::local(format!("signals: {e}")));
    let (mut int, mut term) = (
        install(SignalKind::interrupt())?,
        install(SignalKind::terminate())?,
    );
    loop {
        let (stream, peer) = tokio::select! {
            _ = int.recv() => return Ok("SIGINT"),
            _ = term.recv() => return Ok("SIGTERM"),
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("lro proxy: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let state = state.clone();
        let handler = hyper::service::service_fn(move |req| handle(state.clone(), peer, req));
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), handler);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("lro proxy: {peer}: connection ended with an error: {e}");
            }
        });
    }
}

/// One request: forwarded and resolved, or answered `503` when the grace period ends first.
/// Logs one line.
async fn handle(
    state: Arc<State>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, Infallible> {
    let started = Instant::now();
    let line = format!(
        "{peer} {} {}",
        req.method(),
        redact::url(&req.uri().to_string())
    );
    let cell = Arc::new(Mutex::new(Latest::default()));
    let mut expired = state.expired.clone();
    // --max-time bounds the upstream exchange (the submission's answer and the polls) and,
    // through `Bounded`, the final body; the layer's own deadline stays as configured.
    let deadline = state
        .max_time
        .map(|d| tokio::time::Instant::from_std(started) + d);
    let work = CURRENT.scope(cell.clone(), forward(state.clone(), req, deadline));
    let response = tokio::select! {
        response = work => response,
        _ = expired.wait_for(|done| *done) => {
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
            Some(m.status().to_string()),
            Some(m.rule().to_string()),
            Some(m.polls()),
        ),
        None => response
            .extensions()
            .get::<Known>()
            .map(|k| k.0.clone())
            .unwrap_or_default(),
    };
    eprintln!(
        "{line} -> {}{lro} in {:.3} s",
        response.status().as_u16(),
        started.elapsed().as_secs_f64()
    );
    Ok(response)
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
    let known = summary(
        latest.status.as_ref().map(ToString::to_string),
        latest.handle.as_ref().map(|h| h.rule().to_string()),
        latest.handle.as_ref().map(ResumeHandle::polls),
    );
    let body = json!({ "error": error, "resume": latest.handle });
    let mut response = json_response(status, &body).map(Either::Right);
    response.extensions_mut().insert(Known(known));
    response
}

/// ` (Running via operation-location, 3 polls)`: what is known of an operation, for the log.
fn summary(status: Option<String>, rule: Option<String>, polls: Option<u32>) -> String {
    let mut parts = match (status, rule) {
        (Some(s), Some(r)) => vec![format!("{s} via {r}")],
        (Some(s), None) => vec![s],
        (None, Some(r)) => vec![format!("via {r}")],
        (None, None) => Vec::new(),
    };
    if let Some(n) = polls {
        parts.push(format!("{n} polls"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// What an error of the client stack tells of the operation, for the log.
fn known_of(err: &BoxError) -> Known {
    let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
        return Known(String::new());
    };
    Known(summary(
        e.operation_status().map(ToString::to_string),
        e.rule().map(|r| r.to_string()),
        e.resume_handle().map(ResumeHandle::polls),
    ))
}

/// Forwards one request through the layer and turns the outcome into the client's answer.
async fn forward(
    state: Arc<State>,
    req: Request<Incoming>,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let Ok(_slot) = state.slots.acquire().await else {
        let body = json!({"error": {"code": "ServiceUnavailable", "message": "shutting down"}});
        return json_response(StatusCode::SERVICE_UNAVAILABLE, &body).map(Either::Right);
    };
    let (parts, body) = req.into_parts();
    let target = match upstream_uri(&state.upstream, &parts.uri) {
        Ok(uri) => uri,
        Err(message) => {
            let body = json!({"error": {"code": "BadRequest", "message": message}});
            return json_response(StatusCode::BAD_REQUEST, &body).map(Either::Right);
        }
    };
    let mut out = Request::new(body.boxed_unsync());
    *out.method_mut() = parts.method;
    *out.uri_mut() = target.clone();
    *out.headers_mut() = forwardable_headers(&parts.headers, true);
    match state.service.clone().oneshot(out).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            parts.headers = forwardable_headers(&parts.headers, false);
            Response::from_parts(parts, Either::Left(Bounded::new(body, deadline)))
        }
        Err(err) => {
            let mut response = error_response(&target, &err).map(Either::Right);
            response.extensions_mut().insert(known_of(&err));
            response
        }
    }
}

/// The upstream's final body, cut off (the connection then closes) when `--max-time` passes
/// while it streams: a stalled body does not hold the client for ever.
struct Bounded<B> {
    inner: Pin<Box<B>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> Bounded<B> {
    fn new(inner: B, deadline: Option<tokio::time::Instant>) -> Self {
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
