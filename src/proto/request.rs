//! The requests the layer sends by itself (spec §7): bodiless `GET`s that carry the
//! submission's headers minus those of its body and connection, the configured query
//! parameters, and credentials only where they may go.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::{HeaderMap, HeaderName, CONNECTION};
use http::{Method, Request, Uri, Version};

use super::link::Link;
use crate::config::Config;
use crate::error::UrlProblem;

/// The parts of the caller's request that polling needs later: the one copy the pass-through
/// path pays for.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The submission's method.
    pub method: Method,
    /// The submission's URI (absolute, or origin-form such as `/jobs`).
    pub uri: Uri,
    /// The submission's HTTP version, reused for polls.
    pub version: Version,
    /// The submission's headers; polls carry the ones that do not describe its body.
    pub headers: HeaderMap,
}

impl RequestHead {
    /// A head with HTTP/1.1.
    pub fn new(method: Method, uri: Uri, headers: HeaderMap) -> Self {
        Self {
            method,
            uri,
            version: Version::HTTP_11,
            headers,
        }
    }

    /// Copies the head of a request.
    pub fn from_request<B>(req: &Request<B>) -> Self {
        Self {
            method: req.method().clone(),
            uri: req.uri().clone(),
            version: req.version(),
            headers: req.headers().clone(),
        }
    }
}

/// What a request the layer sends is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PollKind {
    /// A request to the status monitor.
    Status,
    /// The final `GET` of the created resource.
    Resource,
}

/// In the extensions of every request the layer sends by itself, so inner layers and the
/// [`on_poll_request`](crate::LroLayer::on_poll_request) hook can tell polls from submissions.
///
/// ```
/// let layer = tower_lro::LroLayer::new().on_poll_request(|req| {
///     let info = req.extensions().get::<tower_lro::LroRequest>().unwrap();
///     if info.kind() == tower_lro::PollKind::Status && info.attempt() > 1 {
///         // a repeated status poll
///     }
/// });
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LroRequest {
    kind: PollKind,
    attempt: u32,
}

impl LroRequest {
    /// Status poll or resource fetch.
    pub fn kind(&self) -> PollKind {
        self.kind
    }
    /// 1-based count of requests of this kind so far in the operation.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

/// A `GET` the machine wants sent.
#[derive(Debug, Clone)]
pub struct PollRequest {
    uri: Uri,
    version: Version,
    // Shared with the machine until the request is built: a waiting operation holds no copy.
    headers: Arc<HeaderMap>,
    info: LroRequest,
}

impl PollRequest {
    /// The URI to `GET`.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
    /// The headers to send.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
    /// Status poll or resource fetch.
    pub fn kind(&self) -> PollKind {
        self.info.kind
    }
    /// The request, with an empty body and an [`LroRequest`] extension.
    pub fn into_request<B: Default>(self) -> Request<B> {
        let mut req = Request::new(B::default());
        *req.method_mut() = Method::GET;
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        *req.headers_mut() = Arc::unwrap_or_clone(self.headers);
        req.extensions_mut().insert(self.info);
        req
    }
}

/// A request target as last built: polls to the same URL reuse its URI and headers.
#[derive(Debug)]
struct Target {
    kind: PollKind,
    // With the carried query appended; `None`: the link's own URI, as it is.
    uri: Option<Box<Uri>>,
    headers: Arc<HeaderMap>,
    foreign: bool,
    stripped: bool,
}

/// What every request of one operation is built from, and the credential taint.
#[derive(Debug)]
pub(crate) struct Requests {
    version: Version,
    carried: Arc<HeaderMap>,
    // The carried query parameters, form-encoded in one string (one allocation, not three).
    carried_query: Option<Box<str>>,
    target: Option<Target>,
    tainted: bool,
}

impl Requests {
    pub(crate) fn new(cfg: &Config, version: Version, headers: HeaderMap, base: &Link) -> Self {
        Self {
            version,
            carried: Arc::new(carry_headers(headers)),
            carried_query: carry_query(cfg, base),
            target: None,
            tainted: false,
        }
    }

    /// The target URL changed (the monitor moved): build the next request afresh.
    pub(crate) fn forget_target(&mut self) {
        self.target = None;
    }

    /// Names (never values) of the headers polls carry.
    pub(crate) fn header_names(&self) -> Vec<String> {
        // `keys` yields each name once.
        self.carried.keys().map(|k| k.as_str().to_owned()).collect()
    }

    /// The request of `kind` to `url`, the `attempt`-th of its kind.
    pub(crate) fn build(
        &mut self,
        cfg: &Config,
        request_url: &Link,
        url: &Link,
        kind: PollKind,
        attempt: u32,
    ) -> Result<PollRequest, UrlProblem> {
        let hit = self
            .target
            .as_ref()
            .is_some_and(|t| t.kind == kind && t.stripped == (self.tainted || t.foreign));
        if !hit {
            self.target = Some(self.build_target(cfg, request_url, url, kind)?);
        }
        let target = self.target.as_ref().expect("built above");
        let uri = match &target.uri {
            Some(uri) => Uri::clone(uri),
            None => url.wire().clone(),
        };
        // Cumulative, as in tower-http's FilterCredentials: once a request has gone to a foreign
        // origin, no later request carries credentials either.
        self.tainted |= target.foreign;
        Ok(PollRequest {
            uri,
            version: self.version,
            headers: target.headers.clone(),
            info: LroRequest { kind, attempt },
        })
    }

    /// The URI (with the carried query) and the headers (without credentials when they must
    /// not go there) of a request to `url`.
    fn build_target(
        &self,
        cfg: &Config,
        request_url: &Link,
        url: &Link,
        kind: PollKind,
    ) -> Result<Target, UrlProblem> {
        let foreign = !url.same_origin(request_url) && !url.origin_in(&cfg.allowed_origins);
        let strip = self.tainted || foreign;
        let mut missing = self
            .carried_query
            .as_deref()
            .map(query_pairs)
            .unwrap_or_default();
        // Not a credential going to a foreign origin, and not already in the target's query.
        missing.retain(|(k, _)| !((strip && cfg.is_credential(k)) || url.has_query_param(k)));
        let headers = if strip
            && cfg
                .credential_headers
                .iter()
                .any(|h| self.carried.contains_key(h))
        {
            let mut headers = HeaderMap::clone(&self.carried);
            for name in &cfg.credential_headers {
                headers.remove(name);
            }
            Arc::new(headers)
        } else {
            self.carried.clone()
        };
        let uri = if missing.is_empty() {
            None
        } else {
            let uri = with_query(url.wire(), &missing).ok_or(UrlProblem::CarriedQuery)?;
            Some(Box::new(uri))
        };
        Ok(Target {
            uri,
            kind,
            headers,
            foreign,
            stripped: strip,
        })
    }
}

/// Refuses URLs the layer will not follow: non-http(s) schemes, https → http downgrades, and
/// (spec §7) internal hosts the submission did not go to, unless their origin is allowed.
pub(crate) fn check_target(cfg: &Config, request_url: &Link, url: &Link) -> Result<(), UrlProblem> {
    match url.scheme() {
        "https" => {}
        "http" if request_url.scheme() != "https" => {}
        "http" => {
            return Err(UrlProblem::Downgrade {
                submission: request_url.display(),
            })
        }
        other => return Err(UrlProblem::Scheme(other.to_owned())),
    }
    // An origin-form request's relative URLs stay on the submission's (unknown) host.
    if !cfg.ssrf_guard || url.is_placeholder() || url.origin_in(&cfg.allowed_origins) {
        return Ok(());
    }
    let submission = (!request_url.is_placeholder()).then(|| request_url.host());
    match super::ssrf::check(url.host(), submission) {
        super::ssrf::Verdict::Allowed => Ok(()),
        super::ssrf::Verdict::Refused(r) => Err(UrlProblem::Internal {
            class: r.class.describe(),
        }),
    }
}

/// `uri` as written, with `pairs` appended to its query; `None` if that does not make a URI.
fn with_query(uri: &Uri, pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Option<Uri> {
    let mut text = uri.to_string();
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    match uri.query() {
        Some("") => {}
        Some(_) => text.push('&'),
        None => text.push('?'),
    }
    text.push_str(&query.finish());
    Uri::try_from(text).ok()
}

/// The pairs of a form-encoded query, decoded; borrowed when nothing needs decoding (the
/// usual `api-version=2.0`), which spares the decoder's copies.
pub(crate) fn query_pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    if query.contains(['%', '+']) {
        return url::form_urlencoded::parse(query.as_bytes()).collect();
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (Cow::Borrowed(k), Cow::Borrowed(v))
        })
        .collect()
}

fn carry_query(cfg: &Config, base: &Link) -> Option<Box<str>> {
    let query = base.query()?;
    if cfg.carry_query.is_empty() {
        return None;
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in query_pairs(query) {
        if cfg.carry_query.iter().any(|c| *c == k) {
            out.append_pair(&k, &v);
            any = true;
        }
    }
    any.then(|| out.finish().into_boxed_str())
}

/// The submission's headers minus those that describe its body, its connection, its
/// preconditions or its idempotency: a poll is a fresh, bodiless `GET`.
///
/// Removed in place, as tower-http's redirect policies do: the values of each name keep their
/// order; the order between different names may change, which HTTP gives no meaning
/// (RFC 9110 §5.3).
pub(crate) fn carry_headers(mut headers: HeaderMap) -> HeaderMap {
    // Names a `Connection` header lists are hop-by-hop too (RFC 9110 §7.6.1).
    let mut dropped: Vec<HeaderName> = Vec::new();
    for value in headers.get_all(CONNECTION) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                dropped.push(name);
            }
        }
    }
    for name in &dropped {
        headers.remove(name);
    }
    // One name at a time, without collecting: there are seldom more than one or two.
    while let Some(name) = headers
        .keys()
        .find(|name| is_submission_only(name.as_str()))
        .cloned()
    {
        headers.remove(&name);
    }
    headers
}

/// A header that belongs to the submission alone (see [`carry_headers`]).
fn is_submission_only(n: &str) -> bool {
    match n.as_bytes().first() {
        Some(b'c') => n.starts_with("content-") || n == "connection",
        Some(b'i') => n.starts_with("if-") || n == "idempotency-key",
        Some(b'r') => n.starts_with("repeatability-") || n == "range",
        Some(b't') => matches!(n, "transfer-encoding" | "te" | "trailer"),
        Some(b'e') => n == "expect",
        Some(b'h') => n == "host",
        Some(b'k') => n == "keep-alive",
        Some(b'p') => matches!(n, "proxy-connection" | "prefer"),
        Some(b'u') => n == "upgrade",
        _ => false,
    }
}
