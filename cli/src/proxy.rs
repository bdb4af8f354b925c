//! `lro proxy`: a synchronous HTTP front for an asynchronous upstream.
//!
//! Every request is forwarded through the layer (the same rules as `examples/gateway.rs`);
//! resolutions are bounded by a semaphore; SIGINT/SIGTERM stops accepting, lets in-flight
//! requests finish within a grace period, then answers the rest `503` with their resume handles.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};
use tower::{Layer, ServiceExt};
use tower_lro::{LroBody, LroMetadata, LroService, ResumeHandle};

use crate::args::ProxyArgs;
use crate::exit::{self, Failure};
use crate::proxy_map::{error_response, forwardable_headers, json_response, upstream_uri};
use crate::{net, redact, setup};

/// The body sent upstream: the client's, streamed (boxed: polls need a `Default` body).
type UpstreamBody = UnsyncBoxBody<Bytes, hyper::Error>;
type Upstream = LroService<Client<net::Connector, UpstreamBody>>;
/// What the proxy answers: the upstream's final response, or a JSON answer of its own.
type ProxyBody = Either<LroBody<Incoming>, Full<Bytes>>;

tokio::task_local! {
    /// The latest resume handle of the request being resolved on this task.
    static CURRENT: Arc<Mutex<Option<ResumeHandle>>>;
}

struct State {
    service: Upstream,
    upstream: Uri,
    slots: Semaphore,
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
                *latest = p.resume_handle().cloned();
            }
        });
    });
    let client = net::client::<UpstreamBody>(args.lro.cacert.as_deref())?;
    let (expire, expired) = watch::channel(false);
    let state = Arc::new(State {
        service: layer.layer(client),
        upstream: upstream.clone(),
        slots: Semaphore::new(args.max_concurrent as usize),
        expired,
    });
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Failure::local(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| Failure::local(format!("cannot listen on {addr}: {e}")))?;
    eprintln!(
        "lro proxy: listening on http://{local}, upstream {upstream}, dialect {}",
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

/// `HOST:PORT`, or a port alone for loopback.
fn listen_addr(text: &str) -> Result<SocketAddr, Failure> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse().map_err(|_| {
        Failure::usage(format!(
            "--listen `{text}`: expected HOST:PORT (an IP address) or a port"
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
    let cell = Arc::new(Mutex::new(None));
    let mut expired = state.expired.clone();
    let work = CURRENT.scope(cell.clone(), forward(state.clone(), req));
    let response = tokio::select! {
        response = work => response,
        _ = expired.wait_for(|done| *done) => {
            let handle = cell.lock().ok().and_then(|mut h| h.take());
            let body = json!({
                "error": {"code": "ServiceUnavailable", "message": "the proxy is shutting down"},
                "resume": handle,
            });
            json_response(StatusCode::SERVICE_UNAVAILABLE, &body).map(Either::Right)
        }
    };
    let lro = match response.extensions().get::<LroMetadata>() {
        Some(m) => format!(" ({} via {}, {} polls)", m.status(), m.rule(), m.polls()),
        None => String::new(),
    };
    eprintln!(
        "{line} -> {}{lro} in {:.3} s",
        response.status().as_u16(),
        started.elapsed().as_secs_f64()
    );
    Ok(response)
}

/// Forwards one request through the layer and turns the outcome into the client's answer.
async fn forward(state: Arc<State>, req: Request<Incoming>) -> Response<ProxyBody> {
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
            Response::from_parts(parts, Either::Left(body))
        }
        Err(err) => error_response(&target, &err).map(Either::Right),
    }
}
