//! What the benches share: the request they send, a mock of the Azure Maps Creator V2 LRO API,
//! and the two clients compared (the layer, and a hand-written polling loop).
//!
//! Not a bench target itself (Cargo only discovers `benches/*.rs` and `benches/*/main.rs`).

#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use tower::{Service, ServiceExt};

pub type Body = Full<Bytes>;
pub type BoxError = tower::BoxError;

/// A `/proc/self/status` field (`VmRSS`, `VmHWM`) in KiB; 0 where there is none.
pub fn proc_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The submission's body (a Creator conversion request).
pub const JOB_BODY: &[u8] =
    br#"{"udid":"6f2b9a4e-3c1d-4e5f-8a7b-9c0d1e2f3a4b","outputOntology":"facility-2.0","description":"floor plans"}"#;

/// The created resource (a Creator tileset's metadata).
pub const RESOURCE_BODY: &[u8] = br#"{"tilesetId":"c587574e-add9-4ef7-9788-1635bed9a87e","datasetId":"907d0d3e-b1e7-4c6b-bcb7-a4c6e6e7a1c2","description":"floor plans","minZoom":16,"maxZoom":18,"bbox":[-122.13284,47.63638,-122.1313,47.63718]}"#;

/// A small non-LRO answer.
pub const PING_BODY: &[u8] = br#"{"id":"42","name":"floor-1","status":"ready"}"#;

/// The ten headers a typical Azure SDK request carries.
pub fn headers() -> HeaderMap {
    let pairs: [(&'static str, &'static str); 10] = [
        (
            "authorization",
            "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2F0bGFzLm1pY3Jvc29mdC5jb20vIn0.c2lnbmF0dXJl",
        ),
        ("accept", "application/json"),
        ("user-agent", "azsdk-rust-maps-creator/0.1.0 (rustc; linux)"),
        ("content-type", "application/json"),
        ("x-ms-client-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        (
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ),
        ("x-ms-date", "Sun, 22 Nov 2026 10:00:00 GMT"),
        ("x-ms-version", "2.0"),
        ("accept-encoding", "gzip, deflate"),
        ("x-ms-return-client-request-id", "true"),
    ];
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        map.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    map
}

fn request(method: Method, uri: &str, body: Bytes) -> Request<Body> {
    let mut req = Request::new(Body::new(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri.parse().expect("valid uri");
    *req.headers_mut() = headers();
    req
}

/// `POST {base}/jobs?api-version=2.0` with the ten headers and a JSON body.
pub fn submission(base: &str) -> Request<Body> {
    request(
        Method::POST,
        &format!("{base}/jobs?api-version=2.0"),
        Bytes::from_static(JOB_BODY),
    )
}

/// `GET {base}/ping?api-version=2.0` with the ten headers: answered `200` at once.
pub fn ping(base: &str) -> Request<Body> {
    request(
        Method::GET,
        &format!("{base}/ping?api-version=2.0"),
        Bytes::new(),
    )
}

/// How the mock operation behaves.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Polls answered `Running` before `Succeeded` (per operation).
    pub running_polls: u32,
    /// An operation also stays `Running` until this long after its submission.
    pub hold: Duration,
    /// `Retry-After` (seconds) on the `202` and on every `Running` answer.
    pub retry_after: Option<u64>,
}

/// The server side of the Creator V2 flow: `POST /jobs` → `202` + `Operation-Location`;
/// `GET /operations/{id}` → `Running` (with `Retry-After`) then `Succeeded` with
/// `Resource-Location`; `GET /resources/{id}` → `200` with the resource; `GET /ping` → `200`.
#[derive(Debug)]
pub struct MockState {
    base: String,
    next: AtomicU64,
    polls: Mutex<HashMap<u64, u32>>,
    behaviour: Behaviour,
    epoch: tokio::time::Instant,
}

impl MockState {
    pub fn new(base: impl Into<String>, behaviour: Behaviour) -> Self {
        Self {
            base: base.into(),
            next: AtomicU64::new(0),
            polls: Mutex::new(HashMap::new()),
            behaviour,
            epoch: tokio::time::Instant::now(),
        }
    }

    fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    pub fn answer(&self, method: &Method, uri: &Uri) -> Response<Body> {
        let path = uri.path();
        let json = |status: StatusCode, body: Bytes| {
            let mut res = Response::new(Body::new(body));
            *res.status_mut() = status;
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            res.headers_mut().insert(
                "x-ms-request-id",
                HeaderValue::from_static("6d4c1a2e-9f8b-4e3d-a1c2-0b9e8f7d6c5b"),
            );
            res
        };
        let retry_after = |res: &mut Response<Body>| {
            if let Some(s) = self.behaviour.retry_after {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(s));
            }
        };
        if method == Method::POST && path == "/jobs" {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            if self.behaviour.running_polls > 0 {
                self.polls.lock().unwrap().insert(id, 0);
            }
            let mut res = json(StatusCode::ACCEPTED, Bytes::new());
            let url = format!(
                "{}/operations/{id}-{}?api-version=2.0",
                self.base,
                self.millis()
            );
            res.headers_mut().insert(
                "operation-location",
                HeaderValue::try_from(url).expect("valid header"),
            );
            retry_after(&mut res);
            return res;
        }
        if method != Method::GET {
            return json(StatusCode::METHOD_NOT_ALLOWED, Bytes::new());
        }
        if let Some(op) = path.strip_prefix("/operations/") {
            let Some((id, start)) = op.split_once('-') else {
                return json(StatusCode::NOT_FOUND, Bytes::new());
            };
            let (Ok(id), Ok(start)) = (id.parse::<u64>(), start.parse::<u64>()) else {
                return json(StatusCode::NOT_FOUND, Bytes::new());
            };
            let mut running = self.millis() < start + self.behaviour.hold.as_millis() as u64;
            if self.behaviour.running_polls > 0 {
                let mut polls = self.polls.lock().unwrap();
                let Some(n) = polls.get_mut(&id) else {
                    return json(StatusCode::NOT_FOUND, Bytes::new());
                };
                *n += 1;
                if *n <= self.behaviour.running_polls {
                    running = true;
                } else if !running {
                    polls.remove(&id);
                }
            }
            let status = if running { "Running" } else { "Succeeded" };
            let body = format!(
                r#"{{"operationId":"{id:08}-add9-4ef7-9788-1635bed9a87e","created":"2021-05-06T07:55:19.5256829+00:00","status":"{status}"}}"#
            );
            let mut res = json(StatusCode::OK, Bytes::from(body));
            if running {
                retry_after(&mut res);
            } else {
                let url = format!("{}/resources/{id}?api-version=2.0", self.base);
                res.headers_mut().insert(
                    "resource-location",
                    HeaderValue::try_from(url).expect("valid header"),
                );
            }
            return res;
        }
        if path.starts_with("/resources/") {
            return json(StatusCode::OK, Bytes::from_static(RESOURCE_BODY));
        }
        if path == "/ping" {
            return json(StatusCode::OK, Bytes::from_static(PING_BODY));
        }
        json(StatusCode::NOT_FOUND, Bytes::new())
    }
}

/// The mock as an in-memory service: every call is answered at once.
#[derive(Debug, Clone)]
pub struct Mock(pub Arc<MockState>);

impl Mock {
    pub fn new(behaviour: Behaviour) -> Self {
        Self(Arc::new(MockState::new(
            "https://contoso.example.com",
            behaviour,
        )))
    }
}

impl Service<Request<Body>> for Mock {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        ready(Ok(self.0.answer(req.method(), req.uri())))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}

fn url_header(headers: &HeaderMap, name: &str) -> Result<Uri, BoxError> {
    let value = headers
        .get(name)
        .ok_or_else(|| format!("no {name} header"))?;
    Ok(value.to_str()?.trim().trim_matches('"').parse()?)
}

#[derive(serde::Deserialize)]
struct StatusDoc {
    status: String,
}

/// One request through `svc`, its body read to the end.
async fn exchange<S, B>(
    svc: S,
    req: Request<Body>,
) -> Result<(http::response::Parts, Bytes), BoxError>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let res = svc.oneshot(req).await.map_err(Into::into)?;
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.map_err(Into::into)?.to_bytes();
    Ok((parts, bytes))
}

fn get(uri: Uri, headers: HeaderMap) -> Request<Body> {
    let mut req = Request::new(Body::default());
    *req.uri_mut() = uri;
    *req.headers_mut() = headers;
    req
}

/// The hand-written loop a careful user would write for this one API: `POST`, read the `202`,
/// `GET` the status monitor (same headers, minus the body's) until `Succeeded`, honouring
/// `Retry-After`, then `GET` the resource and read it. It keeps only the monitor URL and the
/// headers between requests. No deadline, no URL checks, no credential policy, no metadata:
/// the floor the layer is measured against.
pub async fn hand_lro<S, B>(svc: S, base: &str) -> Result<Bytes, BoxError>
where
    S: Service<Request<Body>, Response = Response<B>> + Clone,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let req = submission(base);
    // Polls carry the submission's headers, minus the one that describes its body.
    let mut poll_headers = req.headers().clone();
    poll_headers.remove(header::CONTENT_TYPE);
    let (monitor, mut wait) = {
        let (parts, _) = exchange(svc.clone(), req).await?;
        if parts.status != StatusCode::ACCEPTED {
            return Err(format!("submission answered {}", parts.status).into());
        }
        let monitor = url_header(&parts.headers, "operation-location")?;
        (
            monitor,
            retry_after(&parts.headers).unwrap_or(Duration::from_secs(1)),
        )
    };
    let mut resource = None;
    for _ in 0..1000 {
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let req = get(monitor.clone(), poll_headers.clone());
        let (parts, bytes) = exchange(svc.clone(), req).await?;
        if !parts.status.is_success() {
            return Err(format!("status monitor answered {}", parts.status).into());
        }
        let doc: StatusDoc = serde_json::from_slice(&bytes)?;
        if doc.status.eq_ignore_ascii_case("succeeded") {
            resource = Some(url_header(&parts.headers, "resource-location")?);
            break;
        }
        if doc.status.eq_ignore_ascii_case("failed") || doc.status.eq_ignore_ascii_case("canceled")
        {
            return Err(format!("operation {}", doc.status).into());
        }
        wait = retry_after(&parts.headers).unwrap_or(Duration::from_secs(1));
    }
    let resource = resource.ok_or("still running after 1000 polls")?;
    let (parts, bytes) = exchange(svc, get(resource, poll_headers)).await?;
    if !parts.status.is_success() {
        return Err(format!("resource answered {}", parts.status).into());
    }
    Ok(bytes)
}

/// The same flow through the layer: one call, then read the final response's body.
pub async fn layer_lro<S, B>(svc: S, base: &str) -> Result<Bytes, BoxError>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    // Written out rather than through `exchange`: a nested `async fn` would grow the caller's
    // task (640 → 896 B), and the memory bench counts that task as the layer's.
    let res = svc.oneshot(submission(base)).await.map_err(Into::into)?;
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.map_err(Into::into)?.to_bytes();
    if !parts.status.is_success() {
        return Err(format!("final response {}", parts.status).into());
    }
    Ok(bytes)
}

/// A non-LRO `GET` through `svc`, body read to the end.
pub async fn ping_once<S, B>(svc: S, base: &str) -> Result<Bytes, BoxError>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    Ok(exchange(svc, ping(base)).await?.1)
}

/// The number in the environment variable `name`, or `default` when it is unset or not one.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The filter `cargo bench -- <filter>` passed, if any: the first argument that is neither an
/// option nor the value of a criterion option that takes one.
pub fn cli_filter() -> Option<String> {
    const WITH_VALUE: [&str; 8] = [
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--save-baseline",
        "--baseline",
        "--profile-time",
        "--noise-threshold",
        "--significance-level",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    args.iter()
        .enumerate()
        .find(|(i, a)| {
            !a.starts_with('-') && (*i == 0 || !WITH_VALUE.contains(&args[i - 1].as_str()))
        })
        .map(|(_, a)| a.clone())
}

pin_project_lite::pin_project! {
    /// A response body that holds its request's connection permit (and a guard `G` of the
    /// bench's own, such as an in-flight count) until the body ends: with hyper's pool, that is
    /// when the connection is free again.
    pub struct PermitBody<G> {
        #[pin]
        body: hyper::body::Incoming,
        held: Option<(tokio::sync::OwnedSemaphorePermit, G)>,
    }
}

impl<G> PermitBody<G> {
    pub fn new(
        body: hyper::body::Incoming,
        permit: tokio::sync::OwnedSemaphorePermit,
        guard: G,
    ) -> Self {
        Self {
            body,
            held: Some((permit, guard)),
        }
    }
}

impl<G> http_body::Body for PermitBody<G> {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.body.poll_frame(cx));
        if !matches!(frame, Some(Ok(_))) {
            *this.held = None;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
