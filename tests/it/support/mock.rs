//! One way to drive a `tower-test` mock: [`Op`] runs one operation through `LroLayer` over a
//! mock inner service and answers its requests one at a time (Tokio's clock paused, so times are
//! exact); [`answer_with`] answers every request reaching a mock that sits under other
//! middleware.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::{LroBody, LroLayer, LroService};
use tower_test::mock;

/// What a mock inner service is called with.
pub type Req = Request<Full<Bytes>>;
/// What a mock inner service answers.
pub type Res = Response<Full<Bytes>>;
/// What the caller of `LroLayer` over a mock gets.
pub type Out = Result<Response<LroBody<Full<Bytes>>>, BoxError>;

/// A scripted answer: status, headers (values as raw bytes: hostile values need not be UTF-8,
/// so write `b"…"` or `.as_bytes()`) and a body.
pub fn resp(status: u16, headers: &[(&str, &[u8])], body: impl Into<Bytes>) -> Res {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        r.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    r
}

/// A submission with a credential, a payload header and a JSON body.
pub fn submission(method: Method, uri: &str) -> Req {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer secret")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{\"input\":1}")))
        .unwrap()
}

/// The submission URL of the mock-driven hostile and wider-pattern tests.
pub const SUB: &str = "https://svc.example/a/b/jobs?api-version=1";
/// Their status monitor.
pub const MONITOR: &str = "https://svc.example/operations/1";

/// Starts a POST to [`SUB`] and answers it with `first`.
pub async fn submit(layer: LroLayer, first: Res) -> Op {
    let mut op = Op::start(layer, submission(Method::POST, SUB));
    op.answer(first).await;
    op
}

/// A `202` naming `url` as its `Operation-Location`.
pub fn ol(url: &str) -> Res {
    resp(202, &[("operation-location", url.as_bytes())], "")
}

/// The whole body of a final response, as text.
pub async fn body_text(response: Response<LroBody<Full<Bytes>>>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The `tower_lro::Error` of a failed call (panics on a success or another error type).
pub fn lro_error(out: Out) -> Box<tower_lro::Error> {
    match out {
        Ok(r) => panic!("expected an error, got {}", r.status()),
        Err(e) => e
            .downcast::<tower_lro::Error>()
            .unwrap_or_else(|e| panic!("not a tower_lro::Error: {e}")),
    }
}

/// One operation through `LroLayer` over a mock inner service.
pub struct Op {
    /// The mock's handle: what the layer sends arrives here.
    pub handle: mock::Handle<Req, Res>,
    /// The caller's call, spawned.
    pub call: JoinHandle<Out>,
    t0: Instant,
    /// A clone of the service, kept so that the mock still takes requests after the call ends.
    kept: Option<LroService<mock::Mock<Req, Res>>>,
}

impl Op {
    /// Sends `req` through `layer` over a fresh mock.
    pub fn start(layer: LroLayer, req: Req) -> Op {
        Self::spawn(layer, req, false)
    }

    /// Like [`Op::start`], but keeps a clone of the service alive, so that a request sent after
    /// the call ended (or was dropped) would still reach the mock and be seen.
    pub fn start_kept(layer: LroLayer, req: Req) -> Op {
        Self::spawn(layer, req, true)
    }

    fn spawn(layer: LroLayer, req: Req, keep: bool) -> Op {
        let (svc, handle) = mock::pair::<Req, Res>();
        let svc = layer.layer(svc);
        let kept = keep.then(|| svc.clone());
        let t0 = Instant::now();
        let call = tokio::spawn(svc.oneshot(req));
        Op {
            handle,
            call,
            t0,
            kept,
        }
    }

    /// Takes the next request the layer sends, leaving it unanswered.
    pub async fn next(&mut self) -> (Req, mock::SendResponse<Res>) {
        self.handle.next_request().await.expect("a request")
    }

    /// Takes the next request the layer sends and answers it.
    pub async fn answer(&mut self, response: Res) -> Req {
        let (req, send) = self.next().await;
        send.send_response(response);
        req
    }

    /// Takes the next request and answers it with a transport error.
    pub async fn fail_transport(&mut self) -> Req {
        let (req, send) = self.next().await;
        send.send_error("connection reset by peer");
        req
    }

    /// Time since the call started (Tokio's clock).
    pub fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }

    /// Panics if the layer sends a request within `within` (Tokio's clock).
    pub async fn assert_quiet(&mut self, within: Duration, what: &str) {
        let next = tokio::time::timeout(within, self.handle.next_request()).await;
        assert!(matches!(next, Err(_) | Ok(None)), "{what}");
    }

    /// The caller's result (await it once).
    pub async fn outcome(&mut self) -> Out {
        (&mut self.call).await.expect("the call task")
    }

    /// The caller's result; then, unless a clone of the service was kept, proves nothing else
    /// was sent.
    pub async fn finish(mut self) -> Out {
        let out = self.outcome().await;
        if self.kept.is_none() {
            assert!(
                self.handle.next_request().await.is_none(),
                "a request was sent after the result"
            );
        }
        out
    }
}

/// A request a mock saw: method, URI, headers, body, and when (since [`answer_with`] started).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub at: Duration,
}

/// Answers every request reaching `handle` with `answer` (given the request and how many came
/// before it) until every clone of the mock is dropped, then yields what it saw.
pub fn answer_with<F>(mut handle: mock::Handle<Req, Res>, mut answer: F) -> JoinHandle<Vec<Seen>>
where
    F: FnMut(&Seen, usize) -> Result<Res, BoxError> + Send + 'static,
{
    let t0 = Instant::now();
    tokio::spawn(async move {
        let mut seen = Vec::new();
        // Bounded: no test sends more than a few dozen requests.
        for n in 0..1000 {
            let Some((req, send)) = handle.next_request().await else {
                break;
            };
            let (parts, body) = req.into_parts();
            let s = Seen {
                method: parts.method,
                uri: parts.uri.to_string(),
                headers: parts.headers,
                body: body.collect().await.unwrap().to_bytes(),
                at: t0.elapsed(),
            };
            match answer(&s, n) {
                Ok(res) => send.send_response(res),
                Err(e) => send.send_error(e),
            }
            seen.push(s);
        }
        seen
    })
}
