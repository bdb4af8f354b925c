//! The requests the layer sends by itself ([poll requests](crate::_protocol#poll-requests)): bodiless `GET`s (or what a declared
//! dialect says: `HEAD`, a `POST` with a body) that carry the submission's headers minus those
//! of its body and connection, the configured query parameters, and credentials only where
//! they may go — whatever the method.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, CONNECTION};
use http::{Method, Request, Uri, Version};

use super::carried::{Carried, SHORT_HEAD};
use super::dialect::check::Check;
use super::link::Link;
use crate::config::Config;
use crate::error::UrlProblem;

/// The parts of the caller's request that polling needs later: the one copy the pass-through
/// path pays for.
///
/// Of the headers it keeps only those polls carry (not the ones that describe the submission's
/// body, connection, preconditions or idempotency), in one shared block: nothing, and no
/// allocation, when polls would carry none of them.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// The submission's method.
    pub method: Method,
    /// The submission's URI (absolute, or origin-form such as `/jobs`).
    pub uri: Uri,
    /// The submission's HTTP version, reused for polls.
    pub version: Version,
    // The submission's headers that polls carry.
    pub(crate) carried: Carried,
}

impl RequestHead {
    /// A head with HTTP/1.1.
    pub fn new(method: Method, uri: Uri, headers: HeaderMap) -> Self {
        Self::from_parts(&method, &uri, Version::HTTP_11, &headers)
    }

    /// Copies the head of a request; see [`from_parts`](Self::from_parts).
    pub fn from_request<B>(req: &Request<B>) -> Self {
        Self::from_parts(req.method(), req.uri(), req.version(), req.headers())
    }

    /// Copies a request's head, and of its headers those polls would carry (see
    /// [`carried_headers`](Self::carried_headers)).
    pub fn from_parts(method: &Method, uri: &Uri, version: Version, headers: &HeaderMap) -> Self {
        Self {
            method: method.clone(),
            uri: uri.clone(),
            version,
            carried: carried_of(headers),
        }
    }

    /// The headers polls carry: the submission's, without those that describe its body, its
    /// connection, its preconditions or its idempotency (see [poll
    /// requests](crate::_protocol#poll-requests)).
    pub fn carried_headers(&self) -> HeaderMap {
        self.carried.to_map()
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
    /// A request that cancels the operation (`DELETE` on the monitor, Google's `POST
    /// …:cancel`, a declared dialect's `cancel`).
    Cancel,
}

/// In the extensions of every request the layer sends by itself when the layer
/// [tags its requests](crate::LroLayer::tag_requests) or has an
/// [`on_poll_request`](crate::LroLayer::on_poll_request) hook, so inner layers and the hook can
/// tell polls from submissions.
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
    withheld: bool,
}

impl LroRequest {
    pub(crate) fn new(kind: PollKind, attempt: u32, withheld: bool) -> Self {
        Self {
            kind,
            attempt,
            withheld,
        }
    }
    /// Status poll or resource fetch.
    pub fn kind(&self) -> PollKind {
        self.kind
    }
    /// 1-based count of requests of this kind so far in the operation.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// Whether the layer sends this request without the caller's credentials: it goes to an
    /// origin credentials may not go to, or follows a request that went to one (the layer
    /// withholds them cumulatively, across a resume too). An inner layer or an
    /// [`on_poll_request`](crate::LroLayer::on_poll_request) hook that adds credentials of its
    /// own (a token, a signature) must not add them to such a request: the URL was chosen by
    /// another origin.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new().on_poll_request(|req| {
    ///     let info = req.extensions().get::<tower_lro::LroRequest>().copied();
    ///     if info.is_some_and(|i| !i.credentials_withheld()) {
    ///         req.headers_mut().insert("authorization", "Bearer t".parse().unwrap());
    ///     }
    /// });
    /// # let _ = layer;
    /// ```
    pub fn credentials_withheld(&self) -> bool {
        self.withheld
    }
}

/// A request the machine wants sent: a bodiless `GET`, unless a declared dialect says how its
/// status or result is asked for (`HEAD`, or a `POST` with a body).
#[derive(Debug, Clone)]
pub struct PollRequest {
    uri: Uri,
    version: Version,
    // Shared with the machine until the request is built: a waiting operation holds no copy.
    headers: Carried,
    // The `LroRequest` parts, apart: beside `version` they fill one word, not two.
    kind: PollKind,
    attempt: u32,
    // Sent without the caller's credentials (see `LroRequest::credentials_withheld`).
    withheld: bool,
    // The method and body when not a bodiless `GET` (shared, filled once per operation).
    check: Option<Arc<Check>>,
}

impl PollRequest {
    /// The URI to `GET`.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
    /// The headers to send (built: a waiting request keeps them compact).
    pub fn headers(&self) -> HeaderMap {
        self.headers.to_map()
    }
    /// Status poll or resource fetch.
    pub fn kind(&self) -> PollKind {
        self.kind
    }
    /// The method: `GET`, unless a declared dialect gives another.
    pub fn method(&self) -> &Method {
        self.check.as_ref().map_or(&Method::GET, |c| &c.method)
    }
    /// The body to send, when the request has one (a declared dialect's `POST`): it is not in
    /// [`into_request`](Self::into_request)'s request, whose body is `B::default()`.
    pub fn body(&self) -> Option<&Bytes> {
        self.check.as_ref().and_then(|c| c.body.as_ref())
    }
    /// The request, with an empty body (see [`body`](Self::body)) and an [`LroRequest`]
    /// extension.
    pub fn into_request<B: Default>(self) -> Request<B> {
        self.build(true)
    }

    /// The request, with an empty body, and an [`LroRequest`] extension when `tag` (the
    /// extension costs three allocations a request: it is added only when asked for).
    pub(crate) fn build<B: Default>(self, tag: bool) -> Request<B> {
        let mut req = Request::new(B::default());
        *req.method_mut() = self.method().clone();
        *req.uri_mut() = self.uri;
        *req.version_mut() = self.version;
        // A request that carries nothing keeps the new request's empty map (no map built and
        // dropped per poll).
        if !self.headers.is_empty() {
            *req.headers_mut() = self.headers.to_map();
        }
        if tag {
            req.extensions_mut().insert(LroRequest {
                kind: self.kind,
                attempt: self.attempt,
                withheld: self.withheld,
            });
        }
        req
    }
}

/// A request target as last built: polls to the same URL reuse its URI and headers.
#[derive(Debug)]
struct Target {
    kind: PollKind,
    // With the carried query appended; `None`: the link's own URI, as it is.
    uri: Option<Box<Uri>>,
    headers: Carried,
    foreign: bool,
    stripped: bool,
}

/// What every request of one operation is built from, and the credential taint.
#[derive(Debug)]
pub(crate) struct Requests {
    version: Version,
    carried: Carried,
    // What `carried` holds, classified once per operation (never per poll), and only when a
    // request goes to another origin: the usual operation never classifies a header.
    secrets: Option<Secrets>,
    // The carried query parameters, form-encoded in one string (one allocation, not three).
    carried_query: Option<Box<str>>,
    target: Option<Target>,
    tainted: bool,
}

impl Requests {
    pub(crate) fn new(cfg: &Config, version: Version, carried: Carried, base: &Link) -> Self {
        Self {
            version,
            secrets: None,
            carried,
            carried_query: carry_query(cfg, base),
            target: None,
            tainted: false,
        }
    }

    /// Whether a request went to a foreign origin: no later one carries credentials.
    pub(crate) fn withheld(&self) -> bool {
        self.tainted
    }

    /// Carry no credentials from now on (a resumed operation whose handle says a request went
    /// to a foreign origin).
    pub(crate) fn withhold(&mut self) {
        self.tainted = true;
        self.target = None;
    }

    /// The target URL changed (the monitor moved): build the next request afresh.
    pub(crate) fn forget_target(&mut self) {
        self.target = None;
    }

    /// Names (never values) of the headers polls carry.
    pub(crate) fn header_names(&self) -> Vec<String> {
        self.carried
            .names()
            .map(|k| k.as_str().to_owned())
            .collect()
    }

    /// Whether `uri` is what the last request to `url` was sent to (with the carried query).
    pub(crate) fn sent_to(&self, url: &Link, uri: &Uri) -> bool {
        let sent = match self.target.as_ref().and_then(|t| t.uri.as_deref()) {
            Some(with_query) => with_query,
            None => url.wire(),
        };
        sent == uri || sent.to_string() == uri.to_string()
    }

    /// The request of `kind` to `url`, the `attempt`-th of its kind, sent as `check` says
    /// when not as a bodiless `GET`.
    pub(crate) fn build(
        &mut self,
        cfg: &Config,
        request_url: &Link,
        url: &Link,
        (kind, check): (PollKind, Option<&Arc<Check>>),
        attempt: u32,
    ) -> Result<PollRequest, UrlProblem> {
        let hit = self
            .target
            .as_ref()
            .is_some_and(|t| t.kind == kind && t.stripped == (self.tainted || t.foreign));
        if !hit {
            let extra = check.map(|c| &c.headers).filter(|h| !h.is_empty());
            let target = self.build_target(cfg, request_url, url, kind, extra)?;
            self.target = Some(target);
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
            kind,
            attempt,
            withheld: target.stripped,
            check: check.cloned(),
        })
    }

    /// The URI (with the carried query) and the headers (without credentials when they must
    /// not go there, with a description's `extra` ones) of a request to `url`.
    /// Out of line: once a target, not on every poll.
    #[inline(never)]
    fn build_target(
        &mut self,
        cfg: &Config,
        request_url: &Link,
        url: &Link,
        kind: PollKind,
        extra: Option<&HeaderMap>,
    ) -> Result<Target, UrlProblem> {
        // The usual target is on the submission's own authority: same origin, no tuple built.
        let elsewhere = !url.same_authority(request_url) && !url.same_origin(request_url);
        let foreign =
            elsewhere && !url.origin_in(&cfg.allowed_origins) && !same_service(request_url, url);
        let strip = self.tainted || foreign;
        // Not a credential going to a foreign origin, and not already in the target's query.
        let wanted = |k: &str| !((strip && cfg.is_credential_query(k)) || url.has_query_param(k));
        let uri = match self.carried_query.as_deref() {
            None => None,
            // Every carried pair is already there (a monitor URL that has `api-version`): the
            // link's own URI, with no list of pairs built.
            Some(q) if !any_name(q, &wanted) => None,
            // Every carried pair goes: append the carried query as it is (it is form-encoded
            // already, exactly as the serializer would write its pairs again).
            Some(q) if all_names(q, &wanted) => {
                let uri = append_query(url.wire(), q).ok_or(UrlProblem::CarriedQuery)?;
                Some(Box::new(uri))
            }
            Some(q) => {
                let mut missing = query_pairs(q);
                missing.retain(|(k, _)| wanted(k));
                let uri = with_query(url.wire(), &missing).ok_or(UrlProblem::CarriedQuery)?;
                Some(Box::new(uri))
            }
        };
        // Origin-bound headers (`Metadata`, ...) go to the submission's own origin only, allowed
        // origins included.
        let bound = strip || elsewhere;
        let secrets = match (bound, self.secrets) {
            (false, _) => None,
            (true, Some(known)) => Some(known),
            (true, None) => {
                let known = Secrets::of(cfg, &self.carried);
                self.secrets = Some(known);
                Some(known)
            }
        };
        let headers = if secrets.is_some_and(|k| (strip && k.credentials) || (bound && k.bound)) {
            let kept = |(name, _): &&(HeaderName, _)| {
                let n = name.as_str();
                !((strip && cfg.is_credential_header(n))
                    || crate::credentials::is_origin_bound_header(n))
            };
            Carried::from_pairs(self.carried.iter().filter(kept).cloned().collect())
        } else {
            self.carried.clone()
        };
        // A description's headers (no credentials: refused when it is read) replace carried
        // ones of the same name; built once per target, not per poll.
        let headers = match extra {
            Some(extra) => {
                let mut merged: Vec<_> = headers
                    .iter()
                    .filter(|(name, _)| !extra.contains_key(name))
                    .cloned()
                    .collect();
                // One value a name, the last, as `HeaderMap::insert` in turn would leave.
                let last = |n: &HeaderName| extra.get_all(n).iter().next_back().cloned();
                let added = extra.keys().filter_map(|n| Some((n.clone(), last(n)?)));
                merged.extend(added);
                Carried::from_pairs(merged)
            }
            None => headers,
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

/// Whether the carried headers hold credentials or origin-bound headers: when they hold
/// neither (a request without credentials), every target shares the one carried map.
#[derive(Debug, Clone, Copy)]
struct Secrets {
    credentials: bool,
    bound: bool,
}

impl Secrets {
    fn of(cfg: &Config, headers: &Carried) -> Self {
        let mut secrets = Secrets {
            credentials: false,
            bound: false,
        };
        for (name, _) in headers.iter() {
            secrets.credentials |= cfg.is_credential_header(name.as_str());
            secrets.bound |= crate::credentials::is_origin_bound_header(name.as_str());
        }
        secrets
    }
}

/// Google's APIs answer on one service's hosts: Compute Engine's `selfLink`s name
/// `https://www.googleapis.com/compute/v1/…` for requests sent to `compute.googleapis.com`.
/// Two https hosts under `googleapis.com` are one service for credentials (both are Google's,
/// and its operations cannot be polled without the caller's token).
fn same_service(request_url: &Link, url: &Link) -> bool {
    let google = |l: &Link| {
        let host = l.host().trim_end_matches('.').to_ascii_lowercase();
        l.scheme() == "https" && (host == "googleapis.com" || host.ends_with(".googleapis.com"))
    };
    google(request_url) && google(url)
}

/// Refuses URLs the layer will not follow: non-http(s) schemes, https → http downgrades, and
/// ([poll requests](crate::_protocol#poll-requests)) internal hosts the submission did not go to, unless their origin is allowed.
pub(crate) fn check_target(cfg: &Config, request_url: &Link, url: &Link) -> Result<(), UrlProblem> {
    match url.scheme() {
        "https" => {}
        "http" if request_url.scheme() != "https" => {}
        "http" => {
            // The caller's own URL, quoted in messages and `Debug`: masked here, once.
            return Err(UrlProblem::Downgrade {
                submission: crate::credentials::mask_url(&request_url.display()).into_owned(),
            });
        }
        other => return Err(UrlProblem::Scheme(other.to_owned())),
    }
    // An origin-form request's relative URLs stay on the submission's (unknown) host. A server
    // that names the placeholder host itself, for a request that was not origin-form, names no
    // host the layer could check: refused.
    if url.is_placeholder() {
        return match request_url.is_placeholder() {
            true => Ok(()),
            false => Err(UrlProblem::Internal {
                class: "a reserved placeholder host",
            }),
        };
    }
    if !cfg.ssrf_guard || url.origin_in(&cfg.allowed_origins) {
        return Ok(());
    }
    use super::ssrf::{check, judge, Verdict};
    let submission = (!request_url.is_placeholder()).then_some(request_url);
    let host = url.host();
    let verdict = match submission {
        // Hosts the fast path read (plain names, dotted quads), classified without the URL
        // parser's IDNA pass; a target on the submission's own authority (the usual monitor
        // and resource), classified once.
        Some(sub) if url.is_plain() && url.same_authority(sub) => {
            let class = plain_host_class(host);
            judge(class, host, Some(class))
        }
        Some(sub) if url.is_plain() && sub.is_plain() => judge(
            plain_host_class(host),
            host,
            Some(plain_host_class(sub.host())),
        ),
        None if url.is_plain() => judge(plain_host_class(host), host, None),
        _ => check(host, submission.map(Link::host)),
    };
    match verdict {
        Verdict::Allowed => Ok(()),
        Verdict::Refused(r) => Err(UrlProblem::Internal {
            class: r.class.describe(),
        }),
    }
}

/// The SSRF class of the host of a link the fast path read: a plain name, or a dotted-quad
/// IPv4 address that `std` reads as the URL parser does.
fn plain_host_class(host: &str) -> super::ssrf::HostClass {
    match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => super::ssrf::classify_ipv4(ip),
        Err(_) => super::ssrf::classify_host(host),
    }
}

/// `uri` as written, with `pairs` appended to its query; `None` if that does not make a URI.
fn with_query(uri: &Uri, pairs: &[(Cow<'_, str>, Cow<'_, str>)]) -> Option<Uri> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    append_query(uri, &query.finish())
}

/// `uri` as written, with the form-encoded `query` appended to its own.
fn append_query(uri: &Uri, query: &str) -> Option<Uri> {
    let mut text = super::link::write_uri(uri, query.len() + 1);
    match uri.query() {
        Some("") => {}
        Some(_) => text.push('&'),
        None => text.push('?'),
    }
    text.push_str(query);
    Uri::try_from(text).ok()
}

/// The names of a form-encoded query, decoded as `query_pairs` decodes them, without
/// collecting them.
fn names<'q>(query: &'q str) -> impl Iterator<Item = Cow<'q, str>> + 'q {
    let plain = !query.contains(['%', '+']);
    let raw = plain.then(|| {
        query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| Cow::Borrowed(pair.split_once('=').map_or(pair, |(k, _)| k)))
    });
    let decoded = (!plain).then(|| url::form_urlencoded::parse(query.as_bytes()).map(|(k, _)| k));
    raw.into_iter()
        .flatten()
        .chain(decoded.into_iter().flatten())
}

fn any_name(query: &str, f: &dyn Fn(&str) -> bool) -> bool {
    names(query).any(|k| f(&k))
}

fn all_names(query: &str, f: &dyn Fn(&str) -> bool) -> bool {
    names(query).all(|k| f(&k))
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
    // The usual query (`api-version=2.0`) is written as the serializer would write it again:
    // copy the carried pairs as they are, with no list of pairs and no re-encoding. One walk
    // over its bytes tells whether it is in that form and writes the carried pairs; while
    // every pair so far is carried as written, nothing is written (the answer may be the
    // query itself).
    let carried = |name: &[u8]| cfg.carry_query.iter().any(|c| c.as_bytes() == name);
    let (mut every, mut out, mut start) = (true, None::<String>, 0usize);
    for pair in query.as_bytes().split(|&b| b == b'&') {
        let mut name_end = None;
        for (i, &b) in pair.iter().enumerate() {
            match b {
                b'=' if name_end.is_some() => return carry_decoded_query(cfg, query),
                b'=' => name_end = Some(i),
                b'*' | b'-' | b'.' | b'_' => {}
                _ if b.is_ascii_alphanumeric() => {}
                _ => return carry_decoded_query(cfg, query),
            }
        }
        let is_carried = carried(&pair[..name_end.unwrap_or(pair.len())]);
        if every && !(is_carried && name_end.is_some()) {
            // The first pair not carried as written: the pairs before it were.
            every = false;
            let before = &query[..start.saturating_sub(1)];
            out = (!before.is_empty()).then(|| String::from(before));
        }
        if !every && is_carried && !pair.is_empty() {
            let out = out.get_or_insert_with(|| String::with_capacity(query.len() + 1));
            if !out.is_empty() {
                out.push('&');
            }
            // ASCII only (checked above).
            out.push_str(&query[start..start + pair.len()]);
            // A bare `name` is written `name=` by the serializer.
            if name_end.is_none() {
                out.push('=');
            }
        }
        start += pair.len() + 1;
    }
    // Every pair carried as written (`api-version=2.0` alone): the query itself.
    if every {
        return Some(query.into());
    }
    out.map(String::into_boxed_str)
}

/// [`carry_query`] for a query not in the serializer's form: decoded, then encoded again.
fn carry_decoded_query(cfg: &Config, query: &str) -> Option<Box<str>> {
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

/// What polls carry of a submission's `headers` ([`carry_headers`]), built straight from them:
/// no map is copied, and nothing is allocated when nothing is carried.
pub(crate) fn carried_of(headers: &HeaderMap) -> Carried {
    if headers.is_empty() {
        return Carried::default();
    }
    // Names a `Connection` header lists, or a head of over 64 values: rare, the general path.
    if headers.len() > SHORT_HEAD || crate::header::has_any(headers, &[CONNECTION]) {
        return Carried::from_map(carry_headers(headers.clone()));
    }
    Carried::from_headers(headers, |name| !is_submission_only(name.as_str()))
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

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
