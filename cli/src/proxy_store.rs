//! `lro proxy --store`: where the operations of requests that carry an idempotency key are
//! kept, and how such a request is sent so that a retry **attaches** to its operation.
//!
//! A request with `Idempotency-Key` (the IETF httpapi draft; a structured-field string, a bare
//! token accepted too) or `Repeatability-Request-ID` (OASIS, as Azure services take it) goes
//! through the library's [`StoreService`] under that key: a known operation — started by this
//! proxy or another one on the same store, before or after a crash — is not submitted again;
//! the client gets its final answer. The header still goes upstream, which may honour it too.
//! A request without a key is forwarded as before, without touching the store.
//!
//! Keys are scoped by the request's credentials: the store's key is `{scope}:{key}`, the scope
//! an HMAC of the credential headers the request carries under a secret the proxies that share
//! the store share (see [`crate::scope`]), so two callers that happen to pick the same key
//! never see each other's operations, and no one can undo a scope into a credential. The
//! asynchronous façade uses the same store key as its operation id, so a request that waits and
//! one that asks `respond-async` under the same key and credentials share one operation.
//!
//! A keyed request's body is read whole before it is sent (at most [`KEYED_BODY_LIMIT`], and
//! within `--max-held-bodies` together with the other bodies held until they are sent): the
//! store fingerprints the request (method, URL, and the body by its MAC under the key scope's
//! secret: no unkeyed digest of it is stored), and another request under the same key is
//! refused `422` (`application/problem+json`, as the draft says). A second request under a
//! key whose operation is running *waits* for it (rather than the draft's `409`), within the
//! request's deadline.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use serde_json::json;
use tower::limit::ConcurrencyLimit;
use tower::{BoxError, Layer, ServiceExt};
use tower_lro::store::{
    MemoryStore, OperationStore, RedbStore, RedisStore, StoreError, StoreLayer, StoreService,
};
use tower_lro::{LroBody, LroOptions};

use crate::exit::Failure;
use crate::net;
use crate::proxy::UpstreamBody;
use crate::proxy_limits::ReadError;
use crate::proxy_map::{error_response as gateway_error, json_response};
use crate::scope::{self, Scope};

type Inner = ConcurrencyLimit<Client<net::Connector, UpstreamBody>>;

/// The largest body of a request with an idempotency key (read whole to fingerprint it).
pub const KEYED_BODY_LIMIT: usize = 1024 * 1024;

/// How long a redis store may take to answer at start-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The store and the service that sends keyed requests through it.
pub struct Store {
    /// Where the records are (the health check reads it).
    pub records: Arc<dyn OperationStore>,
    service: StoreService<Inner>,
    scope: Arc<Scope>,
    /// `--max-held-bodies`: a keyed body is held from its reading until it is sent.
    held: Arc<crate::proxy_limits::HeldBodies>,
}

/// A store as opened: its records, where they are (`in memory`, `in file PATH`, `in redis
/// URL`: the start-up line's "operations kept …"), the scope of its keys
/// and where that scope's secret comes from (for the start-up line).
pub struct Opened {
    pub records: Arc<dyn OperationStore>,
    pub kept: String,
    pub scope: Arc<Scope>,
    pub secret: String,
}

/// Where `--store` keeps records, parsed.
enum Spec<'a> {
    Memory,
    File(&'a str),
    Redis(&'a str),
}

fn spec(text: Option<&str>) -> Result<Spec<'_>, Failure> {
    let Some(text) = text.map(str::trim) else {
        return Ok(Spec::Memory);
    };
    let scheme = text.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        None if !text.is_empty() => Ok(Spec::File(text)),
        Some("redis") => Ok(Spec::Redis(text)),
        Some(other) => Err(Failure::usage(format!(
            "--store: `{other}://` is not supported (a file path, or redis://HOST:PORT[/DB])"
        ))),
        None => Err(Failure::usage(
            "--store: expected a file path or redis://HOST:PORT[/DB]",
        )),
    }
}

/// Opens the store `--store` names (in memory without one), and the scope of its keys under
/// `--scope-secret-file`'s secret, else the store's own (see [`crate::scope`]). A store that
/// cannot be opened or reached is a usage error (exit 2) whose message never holds the redis
/// URL's password.
pub async fn open(
    text: Option<&str>,
    ttl: Duration,
    lease: Duration,
    secret_file: Option<&Path>,
) -> Result<Opened, Failure> {
    let given = secret_file
        .map(|path| Ok::<_, Failure>((scope::read_file(path)?, format!("file {}", path.display()))))
        .transpose()?;
    let (records, kept, own) = open_store(text, ttl, lease, given.is_none()).await?;
    let (secret, from) = given
        .or(own)
        .ok_or_else(|| Failure::local("no secret for the key scopes"))?;
    Ok(Opened {
        records,
        kept,
        scope: Arc::new(Scope::new(&secret)),
        secret: from,
    })
}

/// A secret and where it is, for the start-up line.
type Secret = (Vec<u8>, String);

/// The store, what it is, and its own secret when `own_secret` (see [`crate::scope`]).
async fn open_store(
    text: Option<&str>,
    ttl: Duration,
    lease: Duration,
    own_secret: bool,
) -> Result<(Arc<dyn OperationStore>, String, Option<Secret>), Failure> {
    // `--store-ttl 0`: kept until removed.
    let ttl = (!ttl.is_zero()).then_some(ttl);
    // A running record expires once nothing showed it alive for `--store-ttl` (its holder
    // renews its lease every third of `--store-lease`): never less than three leases.
    let running = ttl.map(|ttl| ttl.max(3 * lease));
    match spec(text)? {
        Spec::Memory => {
            let store = match (ttl, running) {
                (Some(ttl), Some(running)) => {
                    MemoryStore::new().finished_ttl(ttl).running_ttl(running)
                }
                _ => MemoryStore::new(),
            };
            let own = own_secret
                .then(|| Ok::<_, Failure>((scope::fresh()?, "this process".to_owned())))
                .transpose()?;
            Ok((Arc::new(store), "in memory".to_owned(), own))
        }
        Spec::File(path) => {
            // redb opens in a blocking call; the runtime is not serving anything yet.
            let mut store = RedbStore::open(path).map_err(|e| {
                Failure::usage(format!("--store {path}: cannot open the store file: {e}"))
            })?;
            if let (Some(ttl), Some(running)) = (ttl, running) {
                store = store.finished_ttl(ttl).running_ttl(running);
            }
            // Made while this process holds the store file (redb lets one open it).
            let own = own_secret
                .then(|| {
                    let path = Path::new(path);
                    let shown = format!("file {}", scope::beside(path).display());
                    Ok::<_, Failure>((scope::beside_file(path)?, shown))
                })
                .transpose()?;
            Ok((Arc::new(store), format!("in file {path}"), own))
        }
        Spec::Redis(url) => {
            let shown = crate::redact::url(url);
            let refused = |why: String| {
                let why = why.replace(password(url).unwrap_or("\u{0}"), "***");
                Failure::usage(format!("--store {shown}: cannot reach redis: {why}"))
            };
            let connect = tokio::time::timeout(CONNECT_TIMEOUT, RedisStore::connect(url));
            let mut store = match connect.await {
                Ok(Ok(store)) => store,
                Ok(Err(e)) => return Err(refused(e.to_string())),
                Err(_) => return Err(refused(format!("no answer within {CONNECT_TIMEOUT:?}"))),
            };
            if let (Some(ttl), Some(running)) = (ttl, running) {
                store = store.finished_ttl(ttl).running_ttl(running);
            }
            // The connection manager connects lazily on some errors: ask once.
            if let Err(e) = store.load("-:lro-proxy-startup-check").await {
                return Err(refused(e.to_string()));
            }
            let own = if own_secret {
                // Set if absent: proxies of a fleet that start at once agree on the first.
                let fresh = scope::fresh()?;
                let made = store.shared_value(scope::REDIS_NAME, &fresh).await;
                let from = format!("redis {shown} (shared:{})", scope::REDIS_NAME);
                let bytes = made.map_err(|e| refused(e.to_string()))?;
                Some((scope::checked(bytes, &from)?, from))
            } else {
                None
            };
            Ok((Arc::new(store), format!("in redis {shown}"), own))
        }
    }
}

/// The password of a `redis://user:password@host` URL, if any.
fn password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

impl Store {
    /// The service that sends keyed requests through `layer`, whose store is `records`.
    pub fn new(
        opened: &Opened,
        layer: &StoreLayer,
        inner: Inner,
        held: Arc<crate::proxy_limits::HeldBodies>,
    ) -> Self {
        Self {
            records: opened.records.clone(),
            service: layer.layer(inner),
            scope: opened.scope.clone(),
            held,
        }
    }

    /// Sends `req` through the store when it carries an idempotency key, else through `plain`
    /// as before.
    pub async fn send<S>(
        &self,
        plain: &S,
        req: Request<UpstreamBody>,
    ) -> Result<Response<LroBody<Incoming>>, BoxError>
    where
        S: tower::Service<
                Request<UpstreamBody>,
                Response = Response<LroBody<Incoming>>,
                Error = BoxError,
            > + Clone,
    {
        let key = match key_of(req.headers()) {
            Ok(Some(key)) => key,
            Ok(None) => return plain.clone().oneshot(req).await,
            Err(bad) => return Err(bad.into()),
        };
        let (parts, body) = req.into_parts();
        let held = match self.held.read(body, KEYED_BODY_LIMIT).await {
            Ok(held) => held,
            Err(ReadError::TooLarge) => return Err(Refused::TooLarge.into()),
            Err(ReadError::OverBudget) => return Err(Refused::OverBudget(self.held.cap()).into()),
            // The client's body broke off: its own error, which the proxy answers `400`.
            Err(ReadError::Body(e)) => return Err(e.into()),
        };
        let options = LroOptions::new()
            .idempotency_key(
                self.scope
                    .store_key(&parts.headers, parts.uri.query(), &key),
            )
            .request_body_mac(self.scope.body_mac(&held.bytes).as_ref());
        let body = held.into_body().map_err(|never| match never {});
        let mut req = Request::from_parts(parts, body.boxed_unsync());
        req.extensions_mut().insert(options);
        self.service.clone().oneshot(req).await
    }
}

/// The longest idempotency key taken (a store key, a façade id): a key is a client's name for
/// an operation, not data.
pub const KEY_LIMIT: usize = 256;

/// A keyed request the proxy refuses before anything is sent.
#[derive(Debug)]
pub enum Refused {
    /// The key is empty, over [`KEY_LIMIT`] bytes, or not a visible ASCII string.
    BadKey,
    /// The body is over [`KEYED_BODY_LIMIT`].
    TooLarge,
    /// Held, the body would take the bodies held at once over `--max-held-bodies` (its bytes).
    OverBudget(u64),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::BadKey => write!(
                f,
                "the Idempotency-Key (a quoted string) or Repeatability-Request-ID must be 1 to \
                 {KEY_LIMIT} visible ASCII characters"
            ),
            Refused::TooLarge => write!(
                f,
                "a request with an idempotency key has a body of at most {KEYED_BODY_LIMIT} bytes"
            ),
            Refused::OverBudget(cap) => write!(
                f,
                "the proxy holds --max-held-bodies {cap} bytes of request bodies already; retry \
                 later"
            ),
        }
    }
}

impl std::error::Error for Refused {}

/// The request's idempotency key: `Idempotency-Key` (a structured-field string; a bare token
/// is taken as it is), else `Repeatability-Request-ID`.
pub fn key_of(headers: &HeaderMap) -> Result<Option<String>, Refused> {
    let (value, quoted) = match (
        headers.get("idempotency-key"),
        headers.get("repeatability-request-id"),
    ) {
        (Some(v), _) => (v, true),
        (None, Some(v)) => (v, false),
        (None, None) => return Ok(None),
    };
    let text = value.to_str().map_err(|_| Refused::BadKey)?.trim();
    let key = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if quoted => unescape(inner).ok_or(Refused::BadKey)?,
        _ => text.to_owned(),
    };
    let visible = key.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if key.is_empty() || key.len() > KEY_LIMIT || !visible {
        return Err(Refused::BadKey);
    }
    Ok(Some(key))
}

/// A structured-field string's content with `\"` and `\\` unescaped; `None` for any other
/// escape or a bare quote.
fn unescape(inner: &str) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                e @ ('"' | '\\') => out.push(e),
                _ => return None,
            },
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// The answer for an error of a forwarded request: the gateway's rules, and for a keyed
/// request a refused key or an unreachable store (`503`); a reused key (`422`) and a failure
/// answered from the store are the gateway's.
pub fn error_response(target: &Uri, err: &BoxError) -> Response<Full<Bytes>> {
    if let Some(refused) = err.downcast_ref::<Refused>() {
        let (status, code) = match refused {
            Refused::BadKey => (StatusCode::BAD_REQUEST, "BadRequest"),
            Refused::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge"),
            Refused::OverBudget(_) => {
                let message = refused.to_string();
                let status = StatusCode::SERVICE_UNAVAILABLE;
                return crate::proxy_limits::over_limit(status, "max-held-bodies", &message);
            }
        };
        let body = json!({"error": {"code": code, "message": refused.to_string()}});
        return json_response(status, &body);
    }
    if let Some(store) = err.downcast_ref::<StoreError>() {
        let message = crate::redact::text(&store.to_string());
        let body = json!({"error": {"code": "ServiceUnavailable", "message": message}});
        let mut response = json_response(StatusCode::SERVICE_UNAVAILABLE, &body);
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    gateway_error(target, err)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header map of `pairs`, in order (repeated names appended).
    pub(crate) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn keys_from_either_header() {
        let key = |pairs: &[(&str, &str)]| key_of(&headers(pairs)).ok().flatten();
        assert_eq!(key(&[("idempotency-key", r#""a\"b""#)]).unwrap(), r#"a"b"#);
        assert_eq!(key(&[("idempotency-key", "bare-1")]).unwrap(), "bare-1");
        assert_eq!(key(&[("repeatability-request-id", "r-1")]).unwrap(), "r-1");
        assert_eq!(key(&[]), None);
        assert!(key_of(&headers(&[("idempotency-key", r#""""#)])).is_err());
        assert!(key_of(&headers(&[("idempotency-key", r#""a\nb""#)])).is_err());
    }

    #[test]
    fn redis_passwords_are_not_shown() {
        let url = "redis://user:s3cret@127.0.0.1:6379/2";
        assert_eq!(password(url), Some("s3cret"));
        assert_eq!(crate::redact::url(url), "redis://***@127.0.0.1:6379/2");
        assert_eq!(password("redis://127.0.0.1:6379"), None);
        assert_eq!(
            crate::redact::url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
