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
//! | the operation ended `Failed`/`Canceled` | `422`, or `500` (see [`failure_status`]) | `{"error":{…}}`, the upstream's OData error as sent |
//! | the deadline or the poll limit was reached | `504` | `{"error":{…},"resume":{…}}` with the resume handle |
//! | the upstream broke the protocol, gave an insecure URL, answered a poll with an unexpected status, kept failing | `502` | `{"error":{…,"upstreamUrl","upstreamStatus","upstreamBody"}}` |
//! | the upstream could not be reached at all | `502` | `{"error":{…,"upstreamUrl"}}` |
//!
//! `cargo run --example gateway` starts a mock upstream shaped like the Azure Maps Creator LRO
//! API V2 (`202` + `Operation-Location`, `Retry-After: 1`, `Resource-Location` on success), the
//! gateway in front of it, sends one request through the gateway and prints what happened.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
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
use tower_lro::{ErrorKind, LroBody, LroLayer, LroMetadata, LroService};

/// The body sent upstream: the client's body, streamed as it arrives. It is boxed because the
/// layer needs `Default` request bodies for its polls, which hyper's `Incoming` is not.
pub type UpstreamBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// The client stack the gateway forwards through.
pub type Upstream = LroService<Client<HttpConnector, UpstreamBody>>;

/// What the gateway answers: the upstream's final response streamed, or a JSON error of its own.
pub type GatewayBody = Either<LroBody<Incoming>, Full<Bytes>>;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded.
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

/// How much of an upstream body a `502` answer quotes.
const QUOTED_BODY_LIMIT: usize = 1024;

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
    *out.headers_mut() = forwardable_headers(&parts.headers, true);
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
            parts.headers = forwardable_headers(&parts.headers, false);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(err) => error_response(&target, &*err).map(Either::Right),
    })
}

/// `base` followed by the path and query of `request` (`http://up/v1` + `/jobs?a=1` →
/// `http://up/v1/jobs?a=1`).
pub fn upstream_uri(base: &Uri, request: &Uri) -> Result<Uri, String> {
    let (Some(scheme), Some(authority)) = (base.scheme(), base.authority()) else {
        return Err(format!("upstream {base} is not an absolute URL"));
    };
    let prefix = base.path().trim_end_matches('/');
    let path_and_query = request.path_and_query().map_or("/", |p| p.as_str());
    let path_and_query = if path_and_query.starts_with('/') {
        path_and_query.to_owned()
    } else {
        // `OPTIONS *` and other targets that are not origin-form.
        format!("/{path_and_query}")
    };
    Uri::builder()
        .scheme(scheme.clone())
        .authority(authority.clone())
        .path_and_query(format!("{prefix}{path_and_query}"))
        .build()
        .map_err(|e| format!("cannot forward {request}: {e}"))
}

/// `headers` without hop-by-hop headers, the headers the `Connection` header names, and (for a
/// request) `Host`, which the client sets for the upstream.
pub fn forwardable_headers(headers: &HeaderMap, request: bool) -> HeaderMap {
    let named_by_connection: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.keys_len());
    for (name, value) in headers {
        let n = name.as_str();
        let dropped = HOP_BY_HOP.contains(&n)
            || (request && *name == HOST)
            || named_by_connection.iter().any(|t| t == n);
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The status for an operation that ended `Failed`/`Canceled`, from its OData error code.
///
/// The rule: a code that names a fault of the service rather than of the request — anything
/// starting with `Internal` (`InternalServerError`, `InternalError`, …), `ServerError`,
/// `ServiceError`, `ServiceUnavailable` (any case) — or no code at all (the upstream gave no
/// reason, so the gateway cannot blame the request) is `500`. Every other code
/// (`InvalidFeature`, `BadRequest`, `Conflict`, …) says the request could not be carried out as
/// sent: `422 Unprocessable Content`.
pub fn failure_status(odata_code: Option<&str>) -> StatusCode {
    let Some(code) = odata_code.map(str::to_ascii_lowercase) else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    let server_fault = code.starts_with("internal")
        || matches!(
            code.as_str(),
            "servererror" | "serviceerror" | "serviceunavailable"
        );
    if server_fault {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The gateway's answer for an error of the client stack, for a request forwarded to `target`.
pub fn error_response(
    target: &Uri,
    err: &(dyn StdError + Send + Sync + 'static),
) -> Response<Full<Bytes>> {
    let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
        // The submission itself failed in transport (connection refused, reset, …).
        let body = json!({"error": {
            "code": "BadGateway",
            "message": format!("upstream {target} could not be reached: {}", error_chain(err)),
            "upstreamUrl": target.to_string(),
        }});
        return json_response(StatusCode::BAD_GATEWAY, &body);
    };
    match e.kind() {
        ErrorKind::OperationFailed => {
            let error = odata_json(e);
            let code = error.get("code").and_then(Value::as_str);
            let status = failure_status(code);
            json_response(status, &json!({ "error": error }))
        }
        ErrorKind::Timeout | ErrorKind::PollLimit => {
            let resume = e
                .resume_handle()
                .and_then(|h| serde_json::to_value(h).ok())
                .unwrap_or(Value::Null);
            let body = json!({
                "error": {
                    "code": "GatewayTimeout",
                    "message": e.to_string(),
                    "operationUrl": e.operation_url(),
                    "operationId": e.operation_id(),
                },
                "resume": resume,
            });
            json_response(StatusCode::GATEWAY_TIMEOUT, &body)
        }
        // Protocol, Insecure, UnexpectedStatus, RetriesExhausted, and kinds added later.
        _ => {
            let quoted = e.body().map(|b| {
                let end = b.len().min(QUOTED_BODY_LIMIT);
                String::from_utf8_lossy(&b[..end]).into_owned()
            });
            let body = json!({"error": {
                "code": "BadGateway",
                "message": e.to_string(),
                "upstreamUrl": e.url().map_or_else(|| target.to_string(), str::to_owned),
                "upstreamStatus": e.status().map(|s| s.as_u16()),
                "upstreamBody": quoted,
            }});
            json_response(StatusCode::BAD_GATEWAY, &body)
        }
    }
}

/// The failed operation's OData `error` object: as the upstream sent it when its terminal body is
/// JSON with an `error` object (no field lost), else rebuilt from the parsed error.
fn odata_json(e: &tower_lro::Error) -> Value {
    let sent = e
        .body()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|mut v| v.get_mut("error").map(Value::take))
        .filter(Value::is_object);
    if let Some(error) = sent {
        return error;
    }
    let status = e.operation_status().map(|s| s.to_string());
    match e.odata_error() {
        Some(o) => rebuild_odata(o),
        None => json!({
            "code": Value::Null,
            "message": format!("the operation ended {}", status.as_deref().unwrap_or("Failed")),
        }),
    }
}

fn rebuild_odata(o: &tower_lro::ODataError) -> Value {
    let mut v = json!({ "code": o.code(), "message": o.message() });
    if let Some(target) = o.target() {
        v["target"] = json!(target);
    }
    if !o.details().is_empty() {
        v["details"] = Value::Array(o.details().iter().map(rebuild_odata).collect());
    }
    if let Some(inner) = o
        .innererror()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        v["innererror"] = inner;
    }
    v
}

fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    // Bounded: error chains are short, but a cyclic `source` must not hang the gateway.
    for _ in 0..8 {
        let Some(s) = source else { break };
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
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
