//! A gateway that turns an asynchronous upstream into a synchronous API.
//!
//! Every request the gateway receives is forwarded to the upstream (method, path and query,
//! headers without hop-by-hop ones and `Host`, the body streamed) through
//! `LroLayer` over a hyper-util `Client`. When the upstream answers `202` and a status monitor,
//! the layer polls it and the gateway's client gets one final response: the created resource,
//! streamed. A client that sends `Prefer: respond-async` gets the upstream's `202` untouched.
//!
//! Failures become HTTP answers with a JSON body:
//!
//! | what happened | status | body |
//! | --- | --- | --- |
//! | the operation ended `Failed`/`Canceled` | the upstream's own `4xx`/`5xx`, else `422` (`500` for a code naming a service fault: `tower_lro::gateway::failure_status`) | `{"error":{…}}`, the upstream's OData error as sent |
//! | the deadline or the poll limit was reached | `504` | `{"error":{…},"resume":{…}}` with the resume handle |
//! | the upstream broke the protocol, gave an insecure URL, answered a poll with an unexpected status, kept failing | `502` | `{"error":{…,"upstreamUrl","upstreamStatus","upstreamBody"}}` |
//! | the exchange with the upstream failed (unreachable, or an answer that is not HTTP) | `502` | `{"error":{…,"upstreamUrl"}}` |
//!
//! `cargo run --example gateway` starts a mock upstream shaped like the Azure Maps Creator LRO
//! API V2 (`202` + `Operation-Location`, `Retry-After: 1`, `Resource-Location` on success), the
//! gateway in front of it, sends one request through the gateway and prints what happened.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{gateway, LroBody, LroLayer, LroMetadata, LroService};

/// The body sent upstream: the client's body, streamed as it arrives. It is boxed because the
/// layer needs `Default` request bodies for its polls, which hyper's `Incoming` is not.
pub type UpstreamBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// The client stack the gateway forwards through.
pub type Upstream = LroService<Client<HttpConnector, UpstreamBody>>;

/// What the gateway answers: the upstream's final response streamed, or a JSON error of its own.
pub type GatewayBody = Either<LroBody<Incoming>, Full<Bytes>>;

/// Serves the gateway on `listener` until the returned future is dropped (dropping it also ends
/// every open connection). Each request is forwarded to `upstream` (a base URL such as
/// `http://10.0.0.5:8080` or `https://api.example/v1`; the request's path is appended to the
/// base's path) through `layer`.
pub async fn serve(listener: TcpListener, upstream: Uri, layer: LroLayer) {
    let client: Client<HttpConnector, UpstreamBody> =
        Client::builder(TokioExecutor::new()).build_http();
    let service: Upstream = ServiceBuilder::new().layer(layer).service(client);
    let upstream = Arc::new(upstream);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        eprintln!("gateway: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let service = service.clone();
                let upstream = upstream.clone();
                connections.spawn(async move {
                    let handler = hyper::service::service_fn(move |req| {
                        forward(service.clone(), upstream.clone(), req)
                    });
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await
                    {
                        eprintln!("gateway: connection ended with an error: {e}");
                    }
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Forwards one request and turns the outcome into the answer for the gateway's client.
pub async fn forward(
    service: Upstream,
    upstream: Arc<Uri>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let (parts, body) = req.into_parts();
    let target = match upstream_uri(&upstream, &parts.uri) {
        Ok(uri) => uri,
        Err(message) => {
            let body = json!({"error": {"code": "BadRequest", "message": message}});
            return Ok(json_response(StatusCode::BAD_REQUEST, &body).map(Either::Right));
        }
    };
    let mut out = Request::new(body.boxed_unsync());
    *out.method_mut() = parts.method;
    *out.uri_mut() = target.clone();
    *out.headers_mut() = forwardable(&parts.headers, true);
    Ok(match service.oneshot(out).await {
        Ok(response) => {
            if let Some(meta) = response.extensions().get::<LroMetadata>() {
                println!(
                    "  gateway: resolved {} via {:?} in {} polls, {:.1} s -> {}",
                    meta.operation_url(),
                    meta.rule(),
                    meta.polls(),
                    meta.elapsed().as_secs_f64(),
                    response.status()
                );
            }
            let (mut parts, body) = response.into_parts();
            parts.headers = forwardable(&parts.headers, false);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(err) => gateway::error_response(&target, &*err)
            .map(Full::new)
            .map(Either::Right),
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `base` followed by the request's path and query. The demo accepts only plain paths (no dot
/// segment, no percent-encoding, no backslash), so nothing can climb above `base`; `lro proxy`
/// confines arbitrary paths instead.
fn upstream_uri(base: &Uri, request: &Uri) -> Result<Uri, String> {
    let path = request.path();
    let plain = path.starts_with('/')
        && !path.contains(['%', '\\'])
        && path.split('/').all(|s| s != "." && s != "..");
    if !plain {
        return Err(format!(
            "the gateway forwards plain paths only, not {path:?}"
        ));
    }
    let (Some(scheme), Some(authority)) = (base.scheme(), base.authority()) else {
        return Err(format!("the upstream {base} is not an absolute URL"));
    };
    let base_path = base.path().trim_end_matches('/');
    let query = request
        .query()
        .map_or_else(String::new, |q| format!("?{q}"));
    format!("{scheme}://{authority}{base_path}{path}{query}")
        .parse()
        .map_err(|e| format!("not a URL: {e}"))
}

/// `headers` without the hop-by-hop ones, those the `Connection` header names, and (for a
/// request) `Host`.
fn forwardable(headers: &http::HeaderMap, request: bool) -> http::HeaderMap {
    const HOP_BY_HOP: [&str; 9] = [
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    ];
    let mut out = headers.clone();
    for name in HOP_BY_HOP {
        out.remove(name);
    }
    // And the headers the `Connection` header names.
    for named in headers.get_all(http::header::CONNECTION) {
        for name in named.to_str().unwrap_or_default().split(',') {
            out.remove(name.trim());
        }
    }
    if request {
        out.remove(http::header::HOST);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The demo: a mock upstream, the gateway, one request.
// ---------------------------------------------------------------------------------------------

/// A mock upstream shaped like the Azure Maps Creator LRO API V2: `POST /mapData` answers `202`
/// with `Operation-Location` and `Retry-After: 1`; the status monitor says `Running` once, then
/// `Succeeded` with a (quoted, as in the seed) `Resource-Location`; the resource is JSON.
/// Every exchange is printed.
pub async fn demo_upstream(listener: TcpListener) {
    let base = match listener.local_addr() {
        Ok(addr) => format!("http://{addr}"),
        Err(e) => return eprintln!("upstream: no local address: {e}"),
    };
    let polls = Arc::new(AtomicU32::new(0));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let (base, polls) = (base.clone(), polls.clone());
                connections.spawn(async move {
                    let handler = hyper::service::service_fn(move |req| {
                        demo_answer(base.clone(), polls.clone(), req)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn demo_answer(
    base: String,
    polls: Arc<AtomicU32>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let op = "c587574e-add9-4ef7-9788-1635bed9a87e";
    let created = "2021-05-06T07:55:19.5256829+00:00";
    let mut headers: Vec<(&'static str, String)> = Vec::new();
    let (status, text) = match (&parts.method, parts.uri.path()) {
        (&Method::POST, "/mapData") => {
            let location = format!("{base}/mapData/operations/{op}?api-version=2.0");
            headers.push(("operation-location", location));
            headers.push(("retry-after", "1".into()));
            (StatusCode::ACCEPTED, String::new())
        }
        (&Method::GET, path) if path == format!("/mapData/operations/{op}") => {
            if polls.fetch_add(1, Ordering::SeqCst) == 0 {
                headers.push(("retry-after", "1".into()));
                let doc = json!({"operationId": op, "created": created, "status": "Running"});
                (StatusCode::OK, doc.to_string())
            } else {
                let resource = format!("\"{base}/mapData/metadata/udid-1?api-version=2.0\"");
                headers.push(("resource-location", resource));
                let doc = json!({"operationId": op, "created": created, "status": "Succeeded"});
                (StatusCode::OK, doc.to_string())
            }
        }
        (&Method::GET, "/mapData/metadata/udid-1") => {
            let doc = json!({"udid": "udid-1", "description": "a converted indoor map package"});
            (StatusCode::OK, doc.to_string())
        }
        _ => (StatusCode::NOT_FOUND, String::new()),
    };
    println!(
        "  upstream: {} {} ({} bytes) -> {status}{} {text}",
        parts.method,
        parts.uri,
        body.len(),
        headers
            .iter()
            .map(|(k, v)| format!(", {k}: {v}"))
            .collect::<String>()
    );
    let json = !text.is_empty();
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .append(HeaderName::from_static(name), value);
        }
    }
    if json {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let upstream_listener = TcpListener::bind("127.0.0.1:0").await?;
    let upstream: Uri = format!("http://{}", upstream_listener.local_addr()?).parse()?;
    let upstream_task = tokio::spawn(demo_upstream(upstream_listener));

    let gateway_listener = TcpListener::bind("127.0.0.1:0").await?;
    let gateway_addr = gateway_listener.local_addr()?;
    let layer = LroLayer::new().deadline(Duration::from_secs(20));
    let gateway_task = tokio::spawn(serve(gateway_listener, upstream.clone(), layer));
    println!("upstream on {upstream}, gateway on http://{gateway_addr}");

    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build_http();
    let request = Request::post(format!(
        "http://{gateway_addr}/mapData?api-version=2.0&dataFormat=dwgzippackage"
    ))
    .header(CONTENT_TYPE, "application/octet-stream")
    .body(Full::new(Bytes::from_static(
        b"...a zipped drawing package...",
    )))?;
    println!("client: POST {} (one call)", request.uri());

    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        let response = client.request(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, BoxError>((status, headers, body))
    })
    .await;

    upstream_task.abort();
    gateway_task.abort();
    let (status, headers, body) = outcome.map_err(|_| "no answer within 30 s")??;
    println!(
        "client: got {status} after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (name, value) in &headers {
        println!("  {name}: {}", value.to_str().unwrap_or("<binary>"));
    }
    println!("  body: {}", String::from_utf8_lossy(&body));
    if status != StatusCode::OK {
        return Err(format!("expected 200 from the gateway, got {status}").into());
    }
    Ok(())
}
