//! `lro proxy`'s asynchronous façade (issue 16): for clients that can poll, one status
//! document whatever the upstream's dialect, answered from the operation store by any instance
//! that shares it.
//!
//! - A request with `Prefer: respond-async` is submitted through the layer and its store in the
//!   background; once the upstream has started an operation, the client gets `202` with
//!   `Operation-Location: /_lro/operations/{id}` (relative: resolved against the request's own
//!   URL), `Preference-Applied: respond-async` and `Retry-After`. An answer that starts no
//!   operation (a `400`, a plain `200`) is the client's answer as it is. The id is the client's
//!   `Idempotency-Key` or `Repeatability-Request-ID` scoped by its credentials when it sent one
//!   (`Scope::store_key`, percent-encoded in the URL), else a fresh random one (128 bits).
//! - `GET /_lro/operations/{id}`: the seed documents' V2 status document, see [`doc`]; with
//!   `Accept: text/event-stream`, server-sent events until the end, see [`events`].
//! - `GET /_lro/operations/{id}/result`: the result, fetched again through the layer's rules
//!   (or as recorded, when it was recorded whole); a failed operation's error as the proxy
//!   answers it for a synchronous request.
//! - `POST /_lro/resume`: continues the operation of a `504`'s resume handle, see [`resume`].
//!
//! An operation whose record is unfinished and whose lease is free (its instance died, or its
//! wait reached `--max-time`) is taken over by the instance a client asks about it: it
//! continues from the recorded handle, in the background, with the asking request's headers.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use serde_json::json;
use tokio::sync::Semaphore;
use tower::limit::ConcurrencyLimit;
use tower_lro::store::{OperationStore, StoreLayer, StoreService};

use crate::args::ProxyArgs;
use crate::net;
use crate::proxy::{ProxyBody, UpstreamBody};
use crate::proxy_limits::{over_limit, HeldBytes, ReadError};
use crate::proxy_map::json_response;

pub mod doc;
pub mod events;
pub mod resume;
mod run;
pub mod signal;

/// The client stack the façade sends through: the store layer over the proxy's bounded client.
type Service = StoreService<
    ConcurrencyLimit<hyper_util::client::legacy::Client<net::Connector, UpstreamBody>>,
>;

/// The largest request body the façade keeps for a background submission.
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The façade of one proxy instance.
pub struct Facade {
    service: Service,
    store: Arc<dyn OperationStore>,
    /// The credential scope of a client's key (its operation id is the scoped key).
    scope: Arc<crate::scope::Scope>,
    /// The same store's writes in this process, per key (read on a write, not on a timer).
    signals: Arc<signal::Signalled>,
    upstream: Uri,
    /// The dialect every operation is read in (a resume handle must name it).
    dialect: tower_lro::Dialect,
    /// The wait a status answer suggests (`Retry-After`, `retry-after-ms`).
    hint: Duration,
    /// How long an event stream lasts at most without `--max-time`.
    events_for: Duration,
    /// How long a lease lasts: how often a stream checks that its operation is being polled.
    lease: Duration,
    /// The holder a status request probes the lease with.
    probe: String,
    /// Keys whose operation a task of this process is running.
    running: Mutex<HashSet<String>>,
    /// One permit per operation running in the background (`--max-operations`).
    slots: Arc<Semaphore>,
    /// One permit per open event stream (`--max-operations` of them, counted apart from the
    /// operations: a stream holds a connection and its task until its end).
    streams: Arc<Semaphore>,
    /// `--max-held-bodies`: a submission's body is held from its reading until it is sent.
    held: Arc<crate::proxy_limits::HeldBodies>,
    /// `--idle-timeout`, `--body-min-rate`: the bounds on reading a request body.
    body_bounds: crate::proxy_map::BodyBounds,
}

impl Facade {
    /// The façade over `client`, keeping operations in `layer`'s store.
    pub fn new(
        layer: StoreLayer,
        store: Arc<signal::Signalled>,
        scope: Arc<crate::scope::Scope>,
        client: ConcurrencyLimit<hyper_util::client::legacy::Client<net::Connector, UpstreamBody>>,
        upstream: Uri,
        dialect: tower_lro::Dialect,
        args: &ProxyArgs,
    ) -> Arc<Self> {
        let probe = format!("{}/probe", layer.holder_id());
        let lease = args.store_lease;
        let layer = layer.lease(lease);
        Arc::new(Self {
            service: tower::Layer::layer(&layer, client),
            store: store.clone(),
            scope,
            signals: store,
            upstream,
            dialect,
            hint: args.lro.poll_interval.unwrap_or(Duration::from_secs(1)),
            events_for: args
                .lro
                .max_time
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_secs(300)),
            lease,
            probe,
            running: Mutex::default(),
            slots: Arc::new(Semaphore::new(args.max_operations as usize)),
            streams: Arc::new(Semaphore::new(args.max_operations as usize)),
            held: crate::proxy_limits::HeldBodies::new(args.max_held_bodies),
            body_bounds: crate::proxy_map::BodyBounds {
                pause: args.idle_timeout,
                min_rate: args.body_min_rate,
            },
        })
    }

    /// `--max-held-bodies`, which the proxy's keyed requests share with the façade.
    pub fn held(&self) -> Arc<crate::proxy_limits::HeldBodies> {
        self.held.clone()
    }

    /// Whether a task of this process runs the operation under `key`; marks it running when
    /// `claim` and it was not.
    fn runs(&self, key: &str, claim: bool) -> bool {
        let mut running = self.running.lock().expect("not poisoned");
        if running.contains(key) {
            return true;
        }
        if claim {
            running.insert(key.to_owned());
        }
        false
    }

    fn done(&self, key: &str) {
        self.running.lock().expect("not poisoned").remove(key);
    }

    fn busy(&self) -> bool {
        !self.running.lock().expect("not poisoned").is_empty()
    }

    /// Completes once no operation runs in the background on this process (checked every
    /// 20 ms: only while the proxy drains).
    pub async fn until_idle(&self) {
        while self.busy() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// What the façade answers for `req`, or the request back when it is the proxy's to forward.
pub async fn dispatch(
    facade: &Arc<Facade>,
    req: Request<Incoming>,
    deadline: Option<tokio::time::Instant>,
) -> Result<Response<ProxyBody>, Request<Incoming>> {
    let path = req.uri().path();
    if path != "/_lro" && !path.starts_with("/_lro/") {
        let wants_async = tower_lro::__private::prefers_respond_async(req.headers());
        if !wants_async || req.method() == Method::CONNECT {
            return Err(req);
        }
        return Ok(run::submit(facade, req, deadline).await);
    }
    let route: Vec<&str> = path["/_lro".len()..].split('/').skip(1).collect();
    let method = req.method().clone();
    let answer = match (route.as_slice(), &method) {
        (["resume"], &Method::POST) => resume::resume(facade, req, deadline).await,
        (["operations", id], &Method::GET) => match decode(id) {
            Some(id) => {
                let query = req.uri().query();
                doc::status(facade, &id, req.headers(), query, deadline).await
            }
            None => not_found(),
        },
        (["operations", id, "result"], &Method::GET) => match decode(id) {
            Some(id) => {
                let query = req.uri().query();
                doc::result(facade, &id, req.headers(), query, deadline).await
            }
            None => not_found(),
        },
        (["resume"] | ["operations", _] | ["operations", _, "result"], _) => {
            let message = format!("{method} is not allowed here");
            json_error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &message)
        }
        _ => not_found(),
    };
    Ok(answer)
}

/// A JSON answer `{"error":{"code","message"}}`.
pub(crate) fn json_error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body = json!({"error": {"code": code, "message": message}});
    json_response(status, &body).map(Either::Right)
}

fn not_found() -> Response<ProxyBody> {
    json_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        "no operation is known under this id",
    )
}

/// The request body, whole, within `limit` bytes and `--max-held-bodies`, read under the
/// bounds of a forwarded body (`--idle-timeout`, `--body-min-rate`); else the answer (`413`
/// when it is larger, `503` over the budget, `408` when it stopped coming or came too slowly,
/// `400` when it broke off).
async fn read_body(
    facade: &Facade,
    body: Incoming,
    limit: usize,
) -> Result<HeldBytes, Response<ProxyBody>> {
    let body = crate::proxy_map::ClientBody::new(body, facade.body_bounds);
    match facade.held.read(body, limit).await {
        Ok(held) => Ok(held),
        Err(ReadError::TooLarge) => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            &format!("the request body is over {limit} bytes"),
        )),
        Err(ReadError::OverBudget) => {
            // The same words as a keyed request's refusal.
            let message = crate::proxy_store::Refused::OverBudget(facade.held.cap()).to_string();
            let status = StatusCode::SERVICE_UNAVAILABLE;
            Err(over_limit(status, "max-held-bodies", &message).map(Either::Right))
        }
        Err(ReadError::Body(why)) => {
            let (answer, note) = crate::proxy_map::unreadable_answer(&why);
            let mut answer = answer.map(Either::Right);
            answer
                .extensions_mut()
                .insert(crate::proxy_log::Known(note.into()));
            Err(answer)
        }
    }
}

/// The body sent upstream, from bytes.
fn upstream_body(bytes: Bytes) -> UpstreamBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The body sent upstream, from a body read whole: its place in `--max-held-bodies` is given
/// back once it is sent.
fn held_body(held: HeldBytes) -> UpstreamBody {
    held.into_body()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The operation id for a client's idempotency key (`Idempotency-Key` or
/// `Repeatability-Request-ID`): the proxy's store key for it, scoped by the request's
/// credentials, in its headers and its `query` (`Scope::store_key`); `Err` with a message for
/// a key that cannot be an id.
fn client_key(
    scope: &crate::scope::Scope,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<String>, String> {
    let Some(key) = crate::proxy_store::key_of(headers).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    Ok(Some(scope.store_key(headers, query, &key)))
}

/// A fresh, unguessable operation id: 128 random bits, in hex.
fn fresh_id() -> std::io::Result<String> {
    crate::scope::random_hex::<16>()
        .ok_or_else(|| std::io::Error::other("the system's random generator failed"))
}

/// `id` as one path segment: every byte but the unreserved ones percent-encoded (the
/// library's rule for its templates).
fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    tower_lro::__private::escape_segment(id, &mut out);
    out
}

/// A path segment decoded (`crate::percent`'s rule); `None` when it does not decode to visible
/// ASCII.
fn decode(segment: &str) -> Option<String> {
    let id = crate::percent::decode(segment)?;
    let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    ok.then_some(id)
}

/// The status URL of `id`, relative to the proxy's root.
fn status_path(id: &str) -> String {
    format!("/_lro/operations/{}", encode(id))
}

/// The request headers an upstream request of the façade carries: the client's, without
/// those of the connection, of the client's own body, and of the façade itself.
fn carried(headers: &HeaderMap) -> HeaderMap {
    let mut out = crate::proxy_map::forwardable_headers(headers, true);
    let drop: Vec<HeaderName> = out
        .keys()
        .filter(|n| {
            let n = n.as_str();
            n.starts_with("content-")
                || matches!(n, "accept" | "last-event-id" | "prefer" | "expect")
        })
        .cloned()
        .collect();
    for name in drop {
        out.remove(name);
    }
    out
}

/// `Retry-After` (whole seconds, at least 1) and `retry-after-ms` for `wait`.
pub(crate) fn retry_headers(headers: &mut HeaderMap, wait: Duration) {
    let ms = wait.as_millis().max(1);
    let secs = ms.div_ceil(1000);
    headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs as u64));
    headers.insert("retry-after-ms", HeaderValue::from(ms as u64));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_the_path() {
        for id in ["k-1", "a b/c?d%e", "\"q\"", "0123456789abcdef"] {
            assert_eq!(decode(&encode(id)).as_deref(), Some(id));
            assert!(!encode(id).contains(['/', '?', '#', ' ']));
        }
        assert_eq!(encode("a b/c~_.-é"), "a%20b%2Fc~_.-%C3%A9");
        // A malformed escape is kept (one rule, `percent.rs`): no id is encoded so.
        assert_eq!(decode("%zz").as_deref(), Some("%zz"));
        assert_eq!(decode("%0A"), None);
        assert_eq!(decode(""), None);
    }

    #[test]
    fn client_keys_are_read_in_both_styles() {
        let scope = crate::scope::Scope::new(&[7; 32]);
        let client_key = |h: &HeaderMap| client_key(&scope, h, None);
        let mut h = HeaderMap::new();
        assert_eq!(client_key(&h), Ok(None));
        // Without credentials, the scope of nothing (see `Scope::store_key`).
        let none = scope.of(&HeaderMap::new(), None);
        let nobody = |key: &str| Ok(Some(format!("{none}:{key}")));
        h.insert("repeatability-request-id", HeaderValue::from_static("r-1"));
        assert_eq!(client_key(&h), nobody("r-1"));
        h.insert("idempotency-key", HeaderValue::from_static(r#""a\"b""#));
        assert_eq!(client_key(&h), nobody(r#"a"b"#));
        h.insert("idempotency-key", HeaderValue::from_static("\"\""));
        assert!(client_key(&h).is_err());
        // With credentials, the id is scoped by them: two callers' same key, two operations.
        let keyed = |auth: &'static str| {
            let mut h = HeaderMap::new();
            h.insert("idempotency-key", HeaderValue::from_static("\"k\""));
            h.insert("authorization", HeaderValue::from_static(auth));
            client_key(&h).unwrap().unwrap()
        };
        let (a, b) = (keyed("Bearer a"), keyed("Bearer b"));
        assert!(a.ends_with(":k") && b.ends_with(":k") && a != b, "{a} {b}");
    }

    #[test]
    fn fresh_ids_differ() {
        let (a, b) = (fresh_id().unwrap(), fresh_id().unwrap());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
