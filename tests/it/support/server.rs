//! A loopback HTTP/1.1 mock server for integration tests over real sockets.
//!
//! ```ignore
//! let server = MockServer::start().await;
//! server.sequence(Method::GET, "/ops/1", vec![
//!     Reply::new(200).header("retry-after", "1").body(r#"{"status":"Running"}"#),
//!     Reply::new(200).body(r#"{"status":"Succeeded"}"#),
//! ]);
//! server.always(Method::POST, "/jobs", Reply::new(202).header("operation-location", &server.url("/ops/1")));
//! let client = support::lro_client(fast_layer());
//! let resp = support::send(&client, support::post(&server.url("/jobs"), "{}")).await.unwrap();
//! assert_eq!(server.requests().len(), 3);
//! ```
//!
//! The server binds `127.0.0.1:0`, answers from a route table keyed by (method, path) — the
//! query string is not part of the key — records every request it receives, and stops (its
//! accept loop and every open connection) when the [`MockServer`] is dropped. Unknown routes
//! answer `404` with a body naming the request.
//!
//! Tests that talk to it use real sockets, so they must not pause Tokio's clock; shrink the
//! layer's waits instead (see [`fast_layer`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

// ---------------------------------------------------------------------------------------------
// Requests the server saw
// ---------------------------------------------------------------------------------------------

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Request method.
    pub method: Method,
    /// Request target as sent (origin-form for hyper-util's client: path and query).
    pub uri: Uri,
    /// HTTP version.
    pub version: Version,
    /// Request headers as received.
    pub headers: HeaderMap,
    /// The whole request body.
    pub body: Bytes,
    /// When the request's head and body had arrived.
    pub at: Instant,
}

impl Recorded {
    /// The path of the request target.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The query pairs of the request target, decoded, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// A header as text (panics on a non-UTF-8 value).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("header is text"))
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted responses
// ---------------------------------------------------------------------------------------------

/// A scripted response. Headers are sent in the order they were added; hyper adds `date` and
/// `content-length`.
#[derive(Debug, Clone)]
pub struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    delay: Duration,
    abort: bool,
}

impl Reply {
    /// A response with this status, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("valid status code"),
            headers: Vec::new(),
            body: Bytes::new(),
            delay: Duration::ZERO,
            abort: false,
        }
    }

    /// Close the connection without answering (a transport error for the client).
    pub fn abort() -> Self {
        Self {
            abort: true,
            ..Self::new(500)
        }
    }

    /// Adds a header; the value is sent byte for byte (quotes and spaces included).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("valid header name");
        let value = HeaderValue::from_str(value).expect("valid header value");
        self.headers.push((name, value));
        self
    }

    /// Sets the body, sent byte for byte.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json(self, body: impl Into<Bytes>) -> Self {
        self.header(CONTENT_TYPE.as_str(), "application/json")
            .body(body)
    }

    /// Waits this long (real time, on the server) before answering.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The status this reply sends.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers this reply sends, in order.
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The body this reply sends.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }
}

/// Computes a reply from the request and how many earlier requests hit the same route.
pub type Handler = Arc<dyn Fn(&Recorded, usize) -> Reply + Send + Sync>;

struct Route {
    handler: Handler,
    hits: usize,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<(Method, String), Route>>,
    log: Mutex<Vec<Recorded>>,
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// A loopback HTTP/1.1 server answering from a route table. Dropping it stops it.
///
/// Header names go on the wire in Title-Case (`Operation-Location: …`, as the seed documents
/// print them) unless the server was started with [`MockServer::start_lowercase`].
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

impl MockServer {
    /// Binds `127.0.0.1:0` and starts serving (needs a Tokio runtime with I/O). Header names
    /// are sent in Title-Case.
    pub async fn start() -> Self {
        Self::start_with(true).await
    }

    /// Like [`MockServer::start`], but header names go on the wire in lower case (hyper's
    /// default), to test case-insensitive reading.
    pub async fn start_lowercase() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(title_case: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(accept_loop(listener, shared.clone(), title_case));
        Self { addr, shared, task }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `base()` followed by `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base())
    }

    /// Routes `(method, path)` to a handler that sees the request and the number of earlier
    /// hits of this route (0 for the first). Replaces an earlier route and its hit count.
    pub fn route<F>(&self, method: Method, path: &str, handler: F)
    where
        F: Fn(&Recorded, usize) -> Reply + Send + Sync + 'static,
    {
        self.shared.routes.lock().unwrap().insert(
            (method, path.to_owned()),
            Route {
                handler: Arc::new(handler),
                hits: 0,
            },
        );
    }

    /// Answers the n-th hit with `replies[n]`, and every hit after the last with the last one.
    pub fn sequence(&self, method: Method, path: &str, replies: Vec<Reply>) {
        assert!(!replies.is_empty(), "a sequence needs at least one reply");
        self.route(method, path, move |_, n| {
            replies[n.min(replies.len() - 1)].clone()
        });
    }

    /// Answers every hit with `reply`.
    pub fn always(&self, method: Method, path: &str, reply: Reply) {
        self.route(method, path, move |_, _| reply.clone());
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().unwrap().clone()
    }

    /// The requests received so far whose path is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path() == path)
            .collect()
    }

    /// How many requests hit `(method, path)` so far (0 for an unknown route).
    pub fn hits(&self, method: &Method, path: &str) -> usize {
        self.shared
            .routes
            .lock()
            .unwrap()
            .get(&(method.clone(), path.to_owned()))
            .map_or(0, |r| r.hits)
    }

    /// Forgets the recorded requests (routes and hit counts stay).
    pub fn clear_requests(&self) {
        self.shared.log.lock().unwrap().clear();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, title_case: bool) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle(shared.clone(), req)
                    });
                    // Connection errors (an aborted reply, a client hanging up) end the
                    // connection; they are part of what tests script.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .title_case_headers(title_case)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let recorded = Recorded {
        method: parts.method,
        uri: parts.uri,
        version: parts.version,
        headers: parts.headers,
        body,
        at: Instant::now(),
    };
    shared.log.lock().unwrap().push(recorded.clone());

    // Take the handler and the hit number under the lock; run it outside.
    let found = {
        let mut routes = shared.routes.lock().unwrap();
        routes
            .get_mut(&(recorded.method.clone(), recorded.path().to_owned()))
            .map(|route| {
                let n = route.hits;
                route.hits += 1;
                (route.handler.clone(), n)
            })
    };
    let reply = match found {
        Some((handler, n)) => handler(&recorded, n),
        None => Reply::new(404).body(format!(
            "mock server: no route for {} {}",
            recorded.method,
            recorded.path()
        )),
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    if reply.abort {
        return Err(std::io::Error::other("scripted abort"));
    }
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    for (name, value) in reply.headers {
        response.headers_mut().append(name, value);
    }
    Ok(response)
}
