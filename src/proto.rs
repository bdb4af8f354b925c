//! The sans-IO protocol core: it reads response heads and bodies and says what to do next.
//!
//! No I/O, no timers, no async: a driver hands in what it received and the instant it is, and
//! gets back an [`Action`] — wait until an instant and send a `GET`, deliver the response it
//! holds, or fail. The [`LroService`](crate::LroService) is one such driver; a CLI or another
//! client adapter can be another.
//!
//! ```
//! use std::{sync::Arc, time::{Instant, SystemTime}};
//! use bytes::Bytes;
//! use http::{HeaderMap, Method, StatusCode};
//! use tower_lro::proto::{classify, Action, Begin, Classify, Machine, RequestHead};
//! use tower_lro::{Config, LroOptions};
//!
//! let cfg = Arc::new(Config::default());
//! let head = RequestHead::new(Method::POST, "https://atlas.microsoft.com/mapData?api-version=2.0".parse().unwrap(), HeaderMap::new());
//! let mut headers = HeaderMap::new();
//! headers.insert("operation-location", "https://atlas.microsoft.com/mapData/operations/1".parse().unwrap());
//! assert_eq!(classify(&cfg, &head.method, StatusCode::ACCEPTED, &headers), Classify::Inspect);
//!
//! let now = Instant::now();
//! let begin = Machine::start(cfg, head, &LroOptions::new(), StatusCode::ACCEPTED, &headers, None, now, SystemTime::now()).unwrap();
//! let Begin::Lro(mut machine, Action::Send { at, request }) = begin else { panic!() };
//! assert_eq!(at, now + std::time::Duration::from_secs(1)); // no Retry-After: the poll interval
//! assert_eq!(request.uri().to_string(), "https://atlas.microsoft.com/mapData/operations/1?api-version=2.0");
//!
//! let body = Bytes::from_static(br#"{"operationId":"1","status":"Succeeded"}"#);
//! let action = machine.on_response(StatusCode::OK, &HeaderMap::new(), Some(&body), at, SystemTime::now());
//! assert!(matches!(action, Action::Deliver(_)));
//! ```

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, LOCATION};
use http::{Method, Request, StatusCode, Uri, Version};

use crate::config::{Config, FinalState};
use crate::error::{Error, ErrorKind};
use crate::header::{
    retry_after, HintSource, UrlHeaderError, AZURE_ASYNC_OPERATION, OPERATION_LOCATION,
    RESOURCE_LOCATION,
};
use crate::link::Link;
use crate::metadata::{LroMetadata, Progress, Rule};
use crate::options::LroOptions;
use crate::resume::ResumeHandle;
use crate::status::{OperationStatus, StatusDocument};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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

/// What the head of a submission response says, before any body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classify {
    /// Not an LRO: hand the response back untouched, body streaming.
    PassThrough,
    /// Maybe an LRO: read the body (under the size limit) and call [`Machine::start`].
    Inspect,
}

/// Whether the caller wants this request resolved at all: not when its options disable the
/// layer, nor when it asks for the `202` itself (`Prefer: respond-async`).
pub(crate) fn wants_resolution(headers: &HeaderMap, options: Option<&LroOptions>) -> bool {
    !(options.is_some_and(LroOptions::is_disabled) || crate::header::prefers_respond_async(headers))
}

/// Cheap, allocation-free check of a submission response head (spec §1).
pub fn classify(
    cfg: &Config,
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Classify {
    let monitor =
        headers.contains_key(OPERATION_LOCATION) || headers.contains_key(AZURE_ASYNC_OPERATION);
    let inspect = match status {
        StatusCode::ACCEPTED => monitor || headers.contains_key(LOCATION),
        StatusCode::OK | StatusCode::CREATED => {
            monitor
                || (cfg.detect_provisioning_state
                    && (method == Method::PUT || method == Method::PATCH)
                    && looks_like_json(headers)
                    && !longer_than(headers, cfg.status_body_limit))
        }
        _ => false,
    };
    if inspect {
        Classify::Inspect
    } else {
        Classify::PassThrough
    }
}

fn looks_like_json(headers: &HeaderMap) -> bool {
    match headers.get(http::header::CONTENT_TYPE) {
        None => true,
        // `…/json`, `…+json`, any case; without allocating (this runs on pass-through answers).
        Some(v) => v
            .as_bytes()
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"json")),
    }
}

fn longer_than(headers: &HeaderMap, limit: usize) -> bool {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64)
}

/// The outcome of [`Machine::start`].
#[derive(Debug)]
// Returned once per submission and consumed at once: boxing the action would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum Begin {
    /// The response is final as it is (for example a `200` whose `provisioningState` is
    /// already terminal): deliver it, with the body that was read.
    NotLro,
    /// An LRO: drive the machine, starting with this action.
    Lro(Box<Machine>, Action),
}

/// What a driver must do next.
#[derive(Debug)]
pub enum Action {
    /// Wait until `at` (immediately when it is not in the future), then send `request`.
    Send {
        /// When to send.
        at: Instant,
        /// What to send.
        request: PollRequest,
    },
    /// The response just handed in is the final one: deliver it with this metadata in its
    /// extensions.
    Deliver(LroMetadata),
    /// The operation ends with this error.
    Fail(Error),
}

impl Action {
    /// The instant of the next status poll, when this action plans one (not a resource fetch):
    /// what a progress report calls "next poll in".
    pub fn next_status_poll(&self) -> Option<Instant> {
        match self {
            Action::Send { at, request } if request.kind() == PollKind::Status => Some(*at),
            _ => None,
        }
    }
}

/// The error of a submission whose response body did not end before the deadline (the driver
/// reads it to decide, before any machine exists).
pub(crate) fn submission_body_timeout(uri: &Uri) -> Error {
    Error::new(
        ErrorKind::Timeout,
        Some(uri.to_string()),
        "sent a submission response whose body did not end before the deadline",
    )
}

/// What the poll request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PollKind {
    /// A request to the status monitor.
    Status,
    /// The final `GET` of the created resource.
    Resource,
}

/// Put in the extensions of every request the layer sends by itself, so inner layers and the
/// poll hook can tell polls from submissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LroRequest {
    /// Status poll or resource fetch.
    pub kind: PollKind,
    /// 1-based count of requests of this kind so far.
    pub attempt: u32,
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

/// A body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// It was longer than the configured limit.
    TooLarge,
    /// The transport failed mid-body.
    Read(BoxError),
}

#[derive(Debug, Clone)]
enum Phase {
    Polling,
    Fetching(Box<Link>),
    Done,
}

/// A request target as last built: polls to the same URL reuse its URI and headers. Dropped
/// when the monitor URL changes.
#[derive(Debug)]
struct Target {
    kind: PollKind,
    // With the carried query appended; `None`: the link's own URI, as it is.
    uri: Option<Box<Uri>>,
    headers: Arc<HeaderMap>,
    foreign: bool,
    stripped: bool,
}

/// The state of one long-running operation.
#[derive(Debug)]
pub struct Machine {
    cfg: Arc<Config>,
    rule: Rule,
    method: Method,
    version: Version,
    request_url: Link,
    carried: Arc<HeaderMap>,
    // The carried query parameters, form-encoded in one string (one allocation, not three).
    carried_query: Option<Box<str>>,
    target: Option<Target>,
    monitor: Link,
    submission_location: Option<Box<Link>>,
    final_state: FinalState,
    started: Instant,
    deadline: Instant,
    phase: Phase,
    polls: u32,
    fetches: u32,
    unhinted: u32,
    transient: u32,
    tainted: bool,
    operation_id: Option<String>,
    percent_complete: Option<f64>,
    status: OperationStatus,
    wait_reason: Option<WaitReason>,
}

/// Why the machine chose the wait before its next request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitReason {
    /// The server's hint, from this header.
    Hint(HintSource),
    /// No hint: the configured interval (and its growth).
    Interval,
    /// The backoff after a transient failure.
    TransientBackoff,
    /// The wait for this reason was clamped to the configured bounds.
    Clamped(Box<WaitReason>),
}

impl std::fmt::Display for WaitReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WaitReason::Hint(HintSource::RetryAfterMs) => f.write_str("retry-after-ms"),
            WaitReason::Hint(HintSource::XMsRetryAfterMs) => f.write_str("x-ms-retry-after-ms"),
            WaitReason::Hint(HintSource::RetryAfterSeconds) => f.write_str("Retry-After seconds"),
            WaitReason::Hint(HintSource::RetryAfterDate) => f.write_str("Retry-After date"),
            WaitReason::Interval => f.write_str("poll interval"),
            WaitReason::TransientBackoff => f.write_str("transient-failure backoff"),
            WaitReason::Clamped(inner) => write!(f, "{inner}, clamped"),
        }
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

/// A refused scheme is a security refusal; anything else wrong with a URL breaks the protocol.
fn url_error_kind(e: &UrlHeaderError) -> ErrorKind {
    match e {
        UrlHeaderError::Scheme(_) => ErrorKind::Insecure,
        _ => ErrorKind::Protocol,
    }
}

fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// A header value for a message: lossy, quoted, and cut short (servers may be hostile).
fn show_value(v: &HeaderValue) -> String {
    let s = String::from_utf8_lossy(v.as_bytes());
    let mut out: String = s.chars().take(200).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    format!("{out:?}")
}

/// "answered 202 Accepted with Operation-Location "…": why" — a URL-carrying header that
/// could not be used.
fn header_detail(
    status: StatusCode,
    name: &dyn std::fmt::Display,
    value: &HeaderValue,
    why: &dyn std::fmt::Display,
) -> String {
    format!(
        "answered {} with {name} {}: {why}",
        show_status(status),
        show_value(value)
    )
}

fn show_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(r) => format!("{} {r}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// What a machine starts from: a submission's answer, or a resume handle.
struct Init {
    rule: Rule,
    method: Method,
    version: Version,
    request_url: Link,
    headers: HeaderMap,
    monitor: Link,
    submission_location: Option<Link>,
    final_state: FinalState,
}

impl Machine {
    fn new(cfg: Arc<Config>, init: Init, options: &LroOptions, now: Instant) -> Self {
        Machine {
            deadline: resolution_deadline(&cfg, options, now),
            rule: init.rule,
            method: init.method,
            version: init.version,
            carried: Arc::new(carry_headers(init.headers)),
            carried_query: carry_query(&cfg, &init.request_url),
            target: None,
            request_url: init.request_url,
            monitor: init.monitor,
            submission_location: init.submission_location.map(Box::new),
            final_state: init.final_state,
            started: now,
            phase: Phase::Polling,
            polls: 0,
            fetches: 0,
            unhinted: 0,
            transient: 0,
            tainted: false,
            operation_id: None,
            percent_complete: None,
            status: OperationStatus::NotStarted,
            wait_reason: None,
            cfg,
        }
    }

    /// Decides from the submission's response (head and, when read, body) whether polling
    /// starts, and if so returns the machine and its first action.
    ///
    /// `body` is `None` when it was not read (or was longer than the limit). An LRO whose
    /// monitor header is present but unusable is an `Err` naming the header and its value.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        cfg: Arc<Config>,
        head: RequestHead,
        options: &LroOptions,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&Bytes>,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Begin, Error> {
        let doc = body.and_then(|b| StatusDocument::parse(b).ok());
        let ol = headers.get(OPERATION_LOCATION);
        let aao = headers.get(AZURE_ASYNC_OPERATION);
        let loc = headers.get(LOCATION);
        let (rule, monitor_header) = match status {
            StatusCode::OK | StatusCode::CREATED => {
                let ps = doc.as_ref().and_then(|d| d.provisioning_state.as_ref());
                if ps.is_some_and(OperationStatus::is_terminal) {
                    return Ok(Begin::NotLro);
                }
                if let Some(v) = ol {
                    (Rule::OperationLocation, Some((OPERATION_LOCATION, v)))
                } else if let Some(v) = aao {
                    (Rule::AzureAsyncOperation, Some((AZURE_ASYNC_OPERATION, v)))
                } else if cfg.detect_provisioning_state
                    && (head.method == Method::PUT || head.method == Method::PATCH)
                    && ps.is_some()
                {
                    (Rule::ProvisioningState, None)
                } else {
                    return Ok(Begin::NotLro);
                }
            }
            StatusCode::ACCEPTED => {
                if let Some(v) = ol {
                    (Rule::OperationLocation, Some((OPERATION_LOCATION, v)))
                } else if let Some(v) = aao {
                    (Rule::AzureAsyncOperation, Some((AZURE_ASYNC_OPERATION, v)))
                } else if let Some(v) = loc {
                    (Rule::Location, Some((LOCATION, v)))
                } else {
                    return Ok(Begin::NotLro);
                }
            }
            _ => return Ok(Begin::NotLro),
        };

        // Only an LRO needs the request's URL (to resolve and check the monitor's).
        let base = request_base(&head.uri)?;
        let shown_request = base.display();
        let bad_header =
            |kind: ErrorKind, name: &HeaderName, v: &HeaderValue, why: &dyn std::fmt::Display| {
                Error::new(
                    kind,
                    Some(shown_request.clone()),
                    header_detail(status, name, v, why),
                )
                .with_response(status, headers, body)
            };
        let monitor = match &monitor_header {
            Some((name, v)) => base
                .join_value(v)
                .map_err(|e| bad_header(url_error_kind(&e), name, v, &e))?,
            None => base.clone(),
        };
        let submission_location = match rule {
            Rule::Location => Some(monitor.clone()),
            _ => loc.and_then(|v| base.join_value(v).ok()),
        };
        let final_state = options.final_state.unwrap_or(cfg.final_state);
        let init = Init {
            rule,
            method: head.method.clone(),
            version: head.version,
            request_url: base,
            headers: head.headers,
            monitor,
            submission_location,
            final_state,
        };
        let mut machine = Machine::new(cfg, init, options, now);
        if let Err(e) = machine.check_target(&machine.monitor) {
            let (name, v) = monitor_header.expect("request URL is never refused");
            return Err(bad_header(e.kind(), &name, v, &e.detail()));
        }
        if let Some(doc) = &doc {
            machine.absorb(doc);
        }
        let action = machine.schedule(Some(headers), false, now, wall);
        Ok(Begin::Lro(Box::new(machine), action))
    }

    /// Continues an operation from a [`ResumeHandle`]; `head` supplies the headers (fresh
    /// credentials) to carry. The first poll is due at once.
    pub fn resume(
        cfg: Arc<Config>,
        handle: &ResumeHandle,
        head: &RequestHead,
        options: &LroOptions,
        now: Instant,
    ) -> Result<(Box<Machine>, Action), Error> {
        let bad = |what: &str| {
            Error::new(
                ErrorKind::Protocol,
                Some(handle.operation_url.clone()),
                format!("cannot be resumed: {what}"),
            )
        };
        if handle.version != ResumeHandle::VERSION {
            return Err(bad(&format!(
                "resume handle version {} is not {}",
                handle.version,
                ResumeHandle::VERSION
            )));
        }
        let request_uri: Uri = handle
            .request_url
            .parse()
            .map_err(|_| bad("request_url does not parse"))?;
        let request_url = request_base(&request_uri)?;
        // Absolute URLs stand as they are; origin-form ones resolve against the request's.
        let join = |s: &str| -> Result<Link, Error> {
            request_url
                .join(s)
                .map_err(|e| bad(&format!("a URL in the handle is unusable ({e})")))
        };
        let monitor = join(&handle.operation_url)?;
        let submission_location = handle
            .submission_location
            .as_deref()
            .map(join)
            .transpose()?;
        let method = Method::from_bytes(handle.method.as_bytes()).map_err(|_| bad("bad method"))?;
        let init = Init {
            rule: handle.rule,
            method,
            version: head.version,
            request_url,
            headers: head.headers.clone(),
            monitor,
            submission_location,
            final_state: options.final_state.unwrap_or(handle.final_state),
        };
        let mut machine = Machine::new(cfg, init, options, now);
        machine.polls = handle.polls;
        machine.operation_id.clone_from(&handle.operation_id);
        machine.status = OperationStatus::Running;
        machine.check_target(&machine.monitor)?;
        if machine.polls >= machine.cfg.max_polls {
            machine.polls = 0;
        }
        let request = machine.request_for(PollKind::Status)?;
        Ok((Box::new(machine), Action::Send { at: now, request }))
    }

    /// Whether the driver must read the body of this response (under the size limit) before
    /// calling [`Machine::on_response`]. `false` means: hand in the head only, and on
    /// [`Action::Deliver`] pass the body through unread (the created resource).
    pub fn wants_body(&self, status: StatusCode) -> bool {
        match self.phase {
            Phase::Fetching(_) => is_transient(status),
            _ => true,
        }
    }

    /// When the resolution must be over. Drivers bound every in-flight request by it.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The shape being polled.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// Hands in a response to the request of the last [`Action::Send`].
    pub fn on_response(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&Bytes>,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        match &self.phase {
            Phase::Done => {
                return Action::Fail(Error::new(
                    ErrorKind::Protocol,
                    None,
                    "response after the operation ended",
                ))
            }
            Phase::Fetching(url) => {
                if is_transient(status) {
                    return self.retry(Some((status, headers, body)), None, now, wall);
                }
                let shown = url.display();
                self.phase = Phase::Done;
                return Action::Deliver(self.metadata(now, Some(shown)));
            }
            Phase::Polling => {}
        }
        if is_transient(status) {
            return self.retry(Some((status, headers, body)), None, now, wall);
        }
        self.transient = 0;
        let empty = Bytes::new();
        let body = body.unwrap_or(&empty);
        match self.rule {
            Rule::OperationLocation | Rule::AzureAsyncOperation => {
                self.on_status_poll(status, headers, body, now, wall)
            }
            Rule::Location => self.on_location_poll(status, headers, body, now, wall),
            Rule::ProvisioningState => self.on_provisioning_poll(status, headers, body, now, wall),
        }
    }

    /// Hands in a transport error (the inner service failed) for the last request.
    pub fn on_transport_error(
        &mut self,
        error: BoxError,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        self.retry(None, Some(error), now, wall)
    }

    /// Hands in a failure to read the body of a response whose head was `status`.
    pub fn on_body_error(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        error: BodyError,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        match error {
            BodyError::TooLarge => {
                let detail = format!(
                    "answered {} with a body over the {}-byte limit",
                    show_status(status),
                    self.cfg.status_body_limit
                );
                Action::Fail(self.end(ErrorKind::Protocol, detail, Some((status, headers, None))))
            }
            BodyError::Read(e) => self.retry(None, Some(e), now, wall),
        }
    }

    /// The error for a deadline that passed while a request was in flight.
    pub fn on_deadline(&mut self, _now: Instant) -> Error {
        self.phase = Phase::Done;
        self.timeout_error(ErrorKind::Timeout)
    }

    /// Where the operation stands; `next_at` is the instant of the next poll, if one is planned.
    pub fn progress(&self, now: Instant, next_at: Option<Instant>) -> Progress {
        Progress {
            operation_url: self.monitor.display(),
            operation_id: self.operation_id.clone(),
            status: self.status.clone(),
            percent_complete: self.percent_complete,
            // A planned request is already counted in `self.polls`: report the ones answered.
            polls: self.polls - u32::from(next_at.is_some() && self.polls > 0),
            next_poll_in: next_at.map(|at| at.saturating_duration_since(now)),
            wait_reason: next_at.and(self.wait_reason.clone()),
            elapsed: now.saturating_duration_since(self.started),
            resume_handle: next_at.map(|_| self.resume_handle()),
        }
    }

    /// Whether the machine is polling the status monitor (not fetching the resource, not done).
    pub fn is_polling(&self) -> bool {
        matches!(self.phase, Phase::Polling)
    }

    /// A handle to continue this operation later.
    pub fn resume_handle(&self) -> ResumeHandle {
        // `keys` yields each name once.
        let names: Vec<String> = self.carried.keys().map(|k| k.as_str().to_owned()).collect();
        ResumeHandle {
            version: ResumeHandle::VERSION,
            rule: self.rule,
            method: self.method.as_str().to_owned(),
            request_url: self.request_url.display(),
            operation_url: self.monitor.display(),
            final_state: self.final_state,
            submission_location: self.submission_location.as_ref().map(|u| u.display()),
            operation_id: self.operation_id.clone(),
            origin: if self.request_url.is_placeholder() {
                String::new()
            } else {
                self.request_url.origin_text()
            },
            header_names: names,
            polls: self.polls,
        }
    }

    // ----- the three poll shapes -----

    fn on_status_poll(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        if !status.is_success() {
            return self.reject(status, headers, body);
        }
        let doc = match StatusDocument::parse_status(body) {
            Ok(doc) => doc,
            Err(e) => {
                let detail = format!("answered {} with {e}", show_status(status));
                let response = Some((status, headers, Some(body)));
                return Action::Fail(self.end(ErrorKind::Protocol, detail, response));
            }
        };
        self.absorb(&doc);
        let st = doc.status.clone().unwrap_or(OperationStatus::Running);
        if st.is_failure() {
            self.fail_operation(status, headers, body, &doc, now)
        } else if st.is_terminal() {
            self.finish(status, headers, Some(&doc), now)
        } else {
            self.schedule(Some(headers), false, now, wall)
        }
    }

    fn on_location_poll(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        if status == StatusCode::ACCEPTED {
            if let Some(v) = headers.get(LOCATION) {
                match self.monitor.join_value(v) {
                    Ok(next) => {
                        if let Err(e) = self.check_target(&next) {
                            return self.fail(e);
                        }
                        if next != self.monitor {
                            self.monitor = next;
                            self.target = None;
                        }
                    }
                    Err(e) => {
                        let detail = header_detail(status, &"Location", v, &e);
                        let response = Some((status, headers, Some(body)));
                        return Action::Fail(self.end(url_error_kind(&e), detail, response));
                    }
                }
            }
            if let Ok(doc) = StatusDocument::parse(body) {
                self.absorb(&doc);
            }
            return self.schedule(Some(headers), false, now, wall);
        }
        if !status.is_success() {
            return self.reject(status, headers, body);
        }
        let doc = StatusDocument::parse(body).ok();
        if let Some(doc) = &doc {
            self.absorb(doc);
            let failed = doc.status.as_ref().is_some_and(OperationStatus::is_failure)
                || doc
                    .provisioning_state
                    .as_ref()
                    .is_some_and(OperationStatus::is_failure);
            if failed {
                return self.fail_operation(status, headers, body, doc, now);
            }
            let running = doc
                .status
                .as_ref()
                .is_some_and(OperationStatus::is_known_in_progress)
                || doc
                    .provisioning_state
                    .as_ref()
                    .is_some_and(OperationStatus::is_known_in_progress);
            if running {
                return self.schedule(Some(headers), false, now, wall);
            }
            if doc.status == Some(OperationStatus::Succeeded) {
                return self.finish(status, headers, Some(doc), now);
            }
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            // An empty 200/201/204: the headers may still say where the resource is.
            return self.finish(status, headers, None, now);
        }
        self.succeed(now)
    }

    fn on_provisioning_poll(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        if status == StatusCode::ACCEPTED {
            return self.schedule(Some(headers), false, now, wall);
        }
        if !status.is_success() {
            return self.reject(status, headers, body);
        }
        if status == StatusCode::NO_CONTENT {
            return self.succeed(now);
        }
        // As the Azure SDKs do: the resource must answer with a JSON object.
        let doc = match StatusDocument::parse(body) {
            Ok(doc) => doc,
            Err(e) => {
                let e = match e {
                    crate::status::StatusBodyError::Empty => {
                        "an empty body where the resource was expected".to_owned()
                    }
                    other => other.to_string(),
                };
                let detail = format!("answered {} with {e}", show_status(status));
                let response = Some((status, headers, Some(body)));
                return Action::Fail(self.end(ErrorKind::Protocol, detail, response));
            }
        };
        let state = doc.provisioning_state.clone();
        self.absorb(&doc);
        match state {
            Some(st) if st.is_failure() => self.fail_operation(status, headers, body, &doc, now),
            Some(st) if !st.is_terminal() => self.schedule(Some(headers), false, now, wall),
            _ => self.succeed(now),
        }
    }

    // ----- outcomes -----

    fn finish(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        doc: Option<&StatusDocument>,
        now: Instant,
    ) -> Action {
        self.status = OperationStatus::Succeeded;
        let target = match self.final_state {
            FinalState::StatusMonitor => None,
            FinalState::OriginalUri => Some(Ok(self.request_url.clone())),
            FinalState::Location => match &self.submission_location {
                Some(loc) => Some(Ok(Link::clone(loc))),
                None => self.auto_target(status, headers, doc),
            },
            FinalState::Auto => self.auto_target(status, headers, doc),
        };
        match target {
            None => self.succeed(now),
            Some(Err(e)) => self.fail(e),
            Some(Ok(url)) => {
                if let Err(e) = self.check_target(&url) {
                    return self.fail(e);
                }
                self.phase = Phase::Fetching(Box::new(url));
                match self.request_for(PollKind::Resource) {
                    Ok(request) => Action::Send { at: now, request },
                    Err(e) => self.fail(e),
                }
            }
        }
    }

    /// The automatic final-state rules of spec §6, first that applies.
    fn auto_target(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        doc: Option<&StatusDocument>,
    ) -> Option<Result<Link, Error>> {
        let from_header = |name: HeaderName| {
            headers.get(&name).map(|v| {
                self.monitor.join_value(v).map_err(|e| {
                    self.op_error(
                        url_error_kind(&e),
                        &self.monitor,
                        header_detail(status, &name, v, &e),
                        Some((status, headers, None)),
                    )
                })
            })
        };
        if let Some(t) = from_header(RESOURCE_LOCATION) {
            return Some(t);
        }
        if status == StatusCode::CREATED {
            if let Some(t) = from_header(LOCATION) {
                return Some(t);
            }
        }
        if let Some(rl) = doc.and_then(|d| d.resource_location.as_deref()) {
            return Some(self.monitor.join(rl).map_err(|e| {
                self.op_error(
                    url_error_kind(&e),
                    &self.monitor,
                    format!(
                        "answered {} with resourceLocation {rl:?}: {e}",
                        show_status(status)
                    ),
                    Some((status, headers, None)),
                )
            }));
        }
        if self.rule.reads_status_body() {
            if self.method == Method::PUT || self.method == Method::PATCH {
                return Some(Ok(self.request_url.clone()));
            }
            if self.method == Method::POST {
                if let Some(loc) = &self.submission_location {
                    return Some(Ok(Link::clone(loc)));
                }
            }
        }
        None
    }

    fn fail_operation(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        doc: &StatusDocument,
        now: Instant,
    ) -> Action {
        self.status = doc
            .status
            .clone()
            .filter(OperationStatus::is_failure)
            .or_else(|| {
                doc.provisioning_state
                    .clone()
                    .filter(OperationStatus::is_failure)
            })
            .unwrap_or(OperationStatus::Failed);
        self.phase = Phase::Done;
        if self.cfg.failure_as_response {
            return Action::Deliver(self.metadata(now, None));
        }
        let detail = match &doc.error {
            Some(odata) => format!(
                "answered {}: operation {}: {odata}",
                show_status(status),
                self.status
            ),
            None => format!(
                "answered {}: operation {} (no error details)",
                show_status(status),
                self.status
            ),
        };
        let response = Some((status, headers, Some(body)));
        Action::Fail(
            self.end(ErrorKind::OperationFailed, detail, response)
                .with_odata(doc.error.clone()),
        )
    }

    /// Ends the operation with `error`.
    fn fail(&mut self, error: Error) -> Action {
        self.phase = Phase::Done;
        Action::Fail(error)
    }

    /// Ends the operation successfully with the response just handed in.
    fn succeed(&mut self, now: Instant) -> Action {
        self.status = OperationStatus::Succeeded;
        self.phase = Phase::Done;
        Action::Deliver(self.metadata(now, None))
    }

    fn reject(&mut self, status: StatusCode, headers: &HeaderMap, body: &Bytes) -> Action {
        let detail = format!("answered {}", show_status(status));
        let response = Some((status, headers, Some(body)));
        Action::Fail(self.end(ErrorKind::UnexpectedStatus, detail, response))
    }

    /// Ends the operation with an error about the request in flight and its answer.
    fn end(
        &mut self,
        kind: ErrorKind,
        detail: String,
        response: Option<(StatusCode, &HeaderMap, Option<&Bytes>)>,
    ) -> Error {
        let error = self.op_error(kind, self.in_flight_url(), detail, response);
        self.phase = Phase::Done;
        error
    }

    /// Retries the request in flight after a transient failure, within the budget.
    fn retry(
        &mut self,
        response: Option<(StatusCode, &HeaderMap, Option<&Bytes>)>,
        source: Option<BoxError>,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        if matches!(self.phase, Phase::Done) {
            return Action::Fail(Error::new(
                ErrorKind::Protocol,
                None,
                "an answer arrived after the operation ended",
            ));
        }
        self.transient += 1;
        if self.transient > self.cfg.transient_retries {
            let last = match (&response, &source) {
                (Some((status, _, _)), _) => show_status(*status),
                (None, Some(e)) => format!("transport error: {e}"),
                (None, None) => "no answer".to_owned(),
            };
            let attempts = self.transient;
            let detail = format!("failed {attempts} times in a row; last answer: {last}");
            let mut err = self
                .end(ErrorKind::RetriesExhausted, detail, response)
                .with_attempts(attempts);
            if let Some(source) = source {
                err = err.with_source(source);
            }
            return Action::Fail(err);
        }
        self.schedule(response.map(|(_, h, _)| h), true, now, wall)
    }

    /// Plans the next request to the current target after a wait.
    fn schedule(
        &mut self,
        hint_from: Option<&HeaderMap>,
        transient: bool,
        now: Instant,
        wall: SystemTime,
    ) -> Action {
        let (wait, reason) = match hint_from.and_then(|h| retry_after(h, wall)) {
            Some((d, source)) => (d, WaitReason::Hint(source)),
            None if transient => (
                self.cfg.transient_wait(self.transient),
                WaitReason::TransientBackoff,
            ),
            None => {
                let w = self.cfg.unhinted_wait(self.unhinted);
                self.unhinted = self.unhinted.saturating_add(1);
                (w, WaitReason::Interval)
            }
        };
        let clamped = self.cfg.clamp_wait(wait);
        self.wait_reason = Some(if clamped == wait {
            reason
        } else {
            WaitReason::Clamped(Box::new(reason))
        });
        let wait = clamped;
        let kind = match &self.phase {
            Phase::Fetching(_) => PollKind::Resource,
            _ => PollKind::Status,
        };
        if kind == PollKind::Status && self.polls >= self.cfg.max_polls {
            return self.fail(self.timeout_error(ErrorKind::PollLimit));
        }
        match now.checked_add(wait) {
            Some(at) if at <= self.deadline => match self.request_for(kind) {
                Ok(request) => Action::Send { at, request },
                Err(e) => self.fail(e),
            },
            _ => self.fail(self.timeout_error(ErrorKind::Timeout)),
        }
    }

    // ----- requests and URLs -----

    /// Refuses URLs the layer will not follow: non-http(s) schemes, https → http downgrades.
    fn check_target(&self, url: &Link) -> Result<(), Error> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.request_url.scheme() != "https" => Ok(()),
            "http" => Err(Error::new(
                ErrorKind::Insecure,
                Some(url.display()),
                format!(
                    "is http, but the submission {} was https",
                    self.request_url.display()
                ),
            )
            .with_operation(
                self.rule,
                &self.monitor.display(),
                self.operation_id.as_deref(),
                Some(&self.status),
            )),
            other => Err(Error::new(
                ErrorKind::Insecure,
                Some(url.display()),
                format!("has scheme `{other}`, not http(s)"),
            )),
        }
    }

    /// The next request of `kind`: to the status monitor, or to the resource being fetched.
    fn request_for(&mut self, kind: PollKind) -> Result<PollRequest, Error> {
        let hit = self
            .target
            .as_ref()
            .is_some_and(|t| t.kind == kind && t.stripped == (self.tainted || t.foreign));
        let url = match (&self.phase, kind) {
            (Phase::Fetching(url), PollKind::Resource) => url,
            _ => &self.monitor,
        };
        if !hit {
            let target = self.build_target(url, kind)?;
            self.target = Some(target);
        }
        let target = self.target.as_ref().expect("built above");
        let uri = match &target.uri {
            Some(uri) => Uri::clone(uri),
            None => url.wire().clone(),
        };
        let headers = target.headers.clone();
        // Cumulative, as in tower-http's FilterCredentials: once a request has gone to a foreign
        // origin, no later request carries credentials either.
        self.tainted |= target.foreign;
        let attempt = match kind {
            PollKind::Status => {
                self.polls += 1;
                self.polls
            }
            PollKind::Resource => {
                self.fetches += 1;
                self.fetches
            }
        };
        Ok(PollRequest {
            uri,
            version: self.version,
            headers,
            info: LroRequest { kind, attempt },
        })
    }

    /// The URI (with the carried query) and the headers (without credentials when they must
    /// not go there) of a request to `url`.
    fn build_target(&self, url: &Link, kind: PollKind) -> Result<Target, Error> {
        let foreign =
            !url.same_origin(&self.request_url) && !url.origin_in(&self.cfg.allowed_origins);
        let strip = self.tainted || foreign;
        let mut missing = self
            .carried_query
            .as_deref()
            .map(query_pairs)
            .unwrap_or_default();
        // Not a credential going to a foreign origin, and not already in the target's query.
        missing.retain(|(k, _)| !((strip && self.cfg.is_credential(k)) || url.has_query_param(k)));
        let headers = if strip
            && self
                .cfg
                .credential_headers
                .iter()
                .any(|h| self.carried.contains_key(h))
        {
            let mut headers = HeaderMap::clone(&self.carried);
            for name in &self.cfg.credential_headers {
                headers.remove(name);
            }
            Arc::new(headers)
        } else {
            self.carried.clone()
        };
        let uri = if missing.is_empty() {
            None
        } else {
            let uri = with_query(url.wire(), &missing).ok_or_else(|| {
                Error::new(
                    ErrorKind::Protocol,
                    Some(url.display()),
                    "is not a valid request URI with the carried query",
                )
            })?;
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

    fn in_flight_url(&self) -> &Link {
        match &self.phase {
            Phase::Fetching(u) => u,
            _ => &self.monitor,
        }
    }

    fn absorb(&mut self, doc: &StatusDocument) {
        if doc.operation_id.is_some() && doc.operation_id != self.operation_id {
            self.operation_id.clone_from(&doc.operation_id);
        }
        // Per document: a terminal status without the field does not keep an old percentage.
        self.percent_complete = doc.percent_complete;
        if let Some(st) = doc.status.as_ref().or(doc.provisioning_state.as_ref()) {
            self.status = st.clone();
        }
    }

    fn metadata(&self, now: Instant, resource_url: Option<String>) -> LroMetadata {
        LroMetadata {
            operation_url: self.monitor.display(),
            operation_id: self.operation_id.clone(),
            rule: self.rule,
            status: self.status.clone(),
            polls: self.polls,
            elapsed: now.saturating_duration_since(self.started),
            resource_url,
        }
    }

    fn op_error(
        &self,
        kind: ErrorKind,
        url: &Link,
        detail: String,
        response: Option<(StatusCode, &HeaderMap, Option<&Bytes>)>,
    ) -> Error {
        let mut e = Error::new(kind, Some(url.display()), detail).with_operation(
            self.rule,
            &self.monitor.display(),
            self.operation_id.as_deref(),
            Some(&self.status),
        );
        if let Some((status, headers, body)) = response {
            e = e.with_response(status, headers, body);
        }
        e
    }

    fn timeout_error(&self, kind: ErrorKind) -> Error {
        let detail = match kind {
            ErrorKind::PollLimit => format!(
                "still {} after {} polls (limit {})",
                self.status, self.polls, self.cfg.max_polls
            ),
            _ => format!(
                "still {} after {} polls at the {:?} deadline",
                self.status,
                self.polls,
                self.deadline.saturating_duration_since(self.started)
            ),
        };
        self.op_error(kind, &self.monitor, detail, None)
            .with_resume(self.resume_handle())
    }
}

/// About 30 years: stands for "no deadline" without overflowing any timer.
pub(crate) const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// When an operation whose submission was answered at `answered` must be resolved: the
/// deadline (per request, else configured) from then, saturating at [`FOREVER`]. Drivers bound
/// the read of the submission's body by the same instant they later hand to
/// [`Machine::start`] as `now`, so the whole resolution fits in one deadline.
pub(crate) fn resolution_deadline(
    cfg: &Config,
    options: &LroOptions,
    answered: Instant,
) -> Instant {
    let d = options.deadline.unwrap_or(cfg.deadline);
    answered
        .checked_add(d)
        .or_else(|| answered.checked_add(FOREVER))
        .unwrap_or(answered)
}

/// The absolute URL of the request, or a placeholder-based one for origin-form URIs.
fn request_base(uri: &Uri) -> Result<Link, Error> {
    Link::from_request(uri).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            Some(uri.to_string()),
            format!("is not a usable request URL ({e})"),
        )
    })
}

/// The pairs of a form-encoded query, decoded; borrowed when nothing needs decoding (the
/// usual `api-version=2.0`), which spares the decoder's copies.
fn query_pairs(query: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
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
fn carry_headers(mut headers: HeaderMap) -> HeaderMap {
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

#[cfg(test)]
#[path = "proto_tests.rs"]
mod tests;
