//! Shared harness of the `machine` fuzz target and of `tests/props.rs`.
//!
//! It turns bytes (through the `arbitrary` crate) or proptest strategies into a [`Scenario`]: a
//! configuration, a submission (method, URL, request headers, response status, headers, body)
//! and a sequence of [`Event`]s (poll responses, transport errors, body errors). [`run`] drives
//! `tower_lro::proto::Machine` through it with a synthetic clock that jumps to each
//! `Action::Send`'s `at`, and panics when an invariant breaks:
//!
//! - every `at` is `>= now` and `<= machine.deadline()`, and the deadline is where the config
//!   put it;
//! - every wait is at most `max(max_wait, min_wait)`; a status poll's wait is at least `min_wait`;
//! - status polls `<= max_polls`, resource fetches `<= transient_retries + 1`, attempts count up;
//! - polls are `GET`s to `http`/`https` only, never `https` → `http`, and carry neither `Host`
//!   nor headers describing the submission's body/connection/preconditions;
//! - after a request went to a foreign origin (not allowed by config), it and every later
//!   request carry no credential header and no credential query value of the submission;
//!   requests to the submission's own origin before that carry them;
//! - `Timeout`/`PollLimit` errors carry a resume handle; errors display without panicking;
//! - after `Deliver`/`Fail` the machine asks for nothing more (see [`Checks`]).
//!
//! The file is included by path from `tests/props.rs`, so it uses only crates that are
//! dependencies (or dev-dependencies) of `tower-lro` too.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arbitrary::{Result as AResult, Unstructured};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use tower_lro::proto::{Action, Begin, BodyError, LroRequest, Machine, PollKind, RequestHead};
use tower_lro::{Config, ErrorKind, FinalState, LroOptions};

/// Submission URLs (absolute and origin-form). Credentials in the query are always `secret`.
pub const SUBMISSIONS: &[&str] = &[
    "https://svc.example/jobs?api-version=2024-01-01&subscription-key=secret",
    "http://svc.example:8080/a/b/jobs?api-version=1",
    "https://svc.example/",
    "/jobs?subscription-key=secret&api-version=3",
    "/",
    "http://127.0.0.1:1/x?Subscription-Key=secret",
    "https://[::1]:8443/ops?x=1&api-version=2",
    "http://svc.example/jobs/%7Bid%7D?api-version=1",
];

/// URL-ish header and `resourceLocation` values, good and hostile.
pub const URL_VALUES: &[&str] = &[
    "https://svc.example/operations/1",
    "http://svc.example/operations/1",
    "https://other.example/operations/1",
    "https://svc.example:444/op",
    "http://svc.example:8080/a/op?api-version=9",
    "/operations/2",
    "operations/3",
    "../up",
    "//other.example/op",
    "\"https://svc.example/quoted\"",
    "  https://svc.example/ws  ",
    "?q=1",
    "#frag",
    "",
    "\"\"",
    "\"",
    "ftp://svc.example/op",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "data:text/plain,hi",
    "http://",
    "https://:80/",
    "http://[::1",
    "https://svc.example/op?subscription-key=leak",
    "https://user:pass@svc.example/op",
    "https://svc.example/{id}/x",
    "https://svc.example/%zz",
    "mailto:x@y",
    "https://svc.example/op#frag",
    "http://origin-form.invalid/x",
    "https://other.example/op?api-version=1",
    "http://127.0.0.1:1/next",
    "https://[::1]:8443/other",
    "HTTPS://SVC.EXAMPLE/Upper",
    "https://svc.example/a b",
    "https://svc.example/\"q\"",
    "https://svc.example/op?x=|^`",
];

/// Wait-hint values.
pub const RETRY_VALUES: &[&str] = &[
    "0",
    "1",
    "5",
    "30",
    "99999999999",
    "18446744073709551615",
    "99999999999999999999999",
    "-1",
    "-5",
    "1.5",
    "abc",
    "",
    " 7 ",
    "+3",
    "0x10",
    "1e3",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "/bar",
];

/// `status` / `provisioningState` spellings.
pub const STATES: &[&str] = &[
    "NotStarted",
    "Running",
    "Succeeded",
    "Failed",
    "Canceled",
    "Cancelled",
    "succeeded",
    "FAILED",
    "InProgress",
    "Accepted",
    "Creating",
    "Weird",
    "",
];

/// Response status codes worth a try.
pub const STATUSES: &[u16] = &[
    200, 201, 202, 204, 203, 206, 301, 302, 303, 304, 307, 400, 401, 403, 404, 405, 409, 410, 408,
    429, 500, 501, 502, 503, 504, 100, 599, 999,
];

/// Response header names the machine reads (and some it must not care about).
pub const RESPONSE_HEADERS: &[&str] = &[
    "operation-location",
    "azure-asyncoperation",
    "location",
    "resource-location",
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "date",
    "content-type",
    "content-length",
    "connection",
    "x-other",
];

/// Request headers a submission may carry: `(name, value)`.
pub const REQUEST_HEADERS: &[(&str, &str)] = &[
    ("authorization", "Bearer secret"),
    ("cookie", "session=secret"),
    ("proxy-authorization", "Basic secret"),
    ("ocp-apim-subscription-key", "secret"),
    ("subscription-key", "secret"),
    ("x-api-key", "secret"),
    ("host", "svc.example"),
    ("content-type", "application/json"),
    ("content-length", "42"),
    ("transfer-encoding", "chunked"),
    ("expect", "100-continue"),
    ("if-match", "\"etag\""),
    ("if-none-match", "*"),
    ("connection", "x-conn-only"),
    ("x-conn-only", "1"),
    ("prefer", "return=minimal"),
    ("accept", "application/json"),
    ("x-ms-client-request-id", "9C4D50EE"),
    ("idempotency-key", "k"),
];

/// Headers that must never be copied onto a poll.
pub const NEVER_COPIED: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "expect",
    "if-match",
    "if-none-match",
    "connection",
    "prefer",
    "idempotency-key",
];

/// A response: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code (any `u16` that `http` accepts).
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Body bytes (`None`: the driver did not read it).
    pub body: Option<Vec<u8>>,
}

/// What happens to a request the machine sent.
#[derive(Debug, Clone)]
pub enum Event {
    /// A response arrives `latency_ms` after the send.
    Response {
        /// The answer.
        answer: Answer,
        /// Time in flight.
        latency_ms: u32,
    },
    /// The inner service failed.
    Transport {
        /// Time in flight.
        latency_ms: u32,
    },
    /// The head arrived, the body was over the limit.
    TooLarge {
        /// Status and headers of the head.
        answer: Answer,
        /// Time in flight.
        latency_ms: u32,
    },
    /// The head arrived, the body broke.
    BodyRead {
        /// Status and headers of the head.
        answer: Answer,
        /// Time in flight.
        latency_ms: u32,
    },
}

/// Knobs of [`Config`] the scenario sets.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// `poll_interval`.
    pub poll_interval: Duration,
    /// `max_poll_interval`.
    pub max_poll_interval: Duration,
    /// `min_wait`.
    pub min_wait: Duration,
    /// `max_wait`.
    pub max_wait: Duration,
    /// `deadline`.
    pub deadline: Duration,
    /// `max_polls`.
    pub max_polls: u32,
    /// `transient_retries`.
    pub transient_retries: u32,
    /// `final_state`.
    pub final_state: FinalState,
    /// `failure_as_response`.
    pub failure_as_response: bool,
    /// `detect_provisioning_state`.
    pub detect_provisioning_state: bool,
    /// Also carry `subscription-key` / `Subscription-Key`.
    pub carry_key: bool,
    /// Allow `https://other.example` to receive credentials.
    pub allow_other: bool,
    /// Per-request deadline override.
    pub option_deadline: Option<Duration>,
    /// Per-request final-state override.
    pub option_final_state: Option<FinalState>,
}

/// One whole exchange.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Configuration.
    pub knobs: Knobs,
    /// Submission method.
    pub method: Method,
    /// Submission URL (index into [`SUBMISSIONS`]).
    pub url: usize,
    /// Which of [`REQUEST_HEADERS`] the submission carries.
    pub request_headers: Vec<usize>,
    /// The submission's response.
    pub submission: Answer,
    /// What happens to each request the machine sends, in order. When they run out, every
    /// further request is answered `200` with a running status document.
    pub events: Vec<Event>,
}

/// How strict [`run`] is about the machine after its end.
#[derive(Debug, Clone, Copy)]
pub struct Checks {
    /// After `Deliver`/`Fail`, `on_response` must not ask for a `Send` nor `Deliver`.
    pub after_end_response: bool,
    /// After `Deliver`/`Fail`, `on_transport_error` / `on_body_error` must not ask for a `Send`.
    pub after_end_errors: bool,
}

impl Checks {
    /// Every check.
    pub const ALL: Checks = Checks {
        after_end_response: true,
        after_end_errors: true,
    };
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// `Machine::start` returned an error of this kind.
    StartError(ErrorKind),
    /// Not an LRO.
    NotLro,
    /// `Deliver` after this many sends.
    Delivered,
    /// `Fail` with this kind.
    Failed(ErrorKind),
    /// A response arrived after the deadline: `on_deadline`.
    Deadline,
}

/// What [`run`] observed.
#[derive(Debug, Clone)]
pub struct Summary {
    /// How it ended.
    pub end: End,
    /// Status polls sent.
    pub status_sends: u32,
    /// Resource fetches sent.
    pub resource_sends: u32,
    /// Synthetic time from the submission's response to the end.
    pub elapsed: Duration,
}

// ----------------------------------------------------------------------------------------------
// Decoding from bytes

fn pick<'a, T>(u: &mut Unstructured<'_>, items: &'a [T]) -> AResult<&'a T> {
    u.choose(items)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn decode_duration(u: &mut Unstructured<'_>, default: Duration) -> AResult<Duration> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => default,
        1 => Duration::ZERO,
        2 => ms(u.int_in_range(0..=10_000)?),
        3 => ms(u.int_in_range(0..=120_000)?),
        4 => Duration::from_secs(u64::from(u.arbitrary::<u32>()?)),
        5 => Duration::MAX,
        6 => Duration::from_nanos(u.arbitrary::<u64>()?),
        _ => ms(u.int_in_range(1..=50)?),
    })
}

fn decode_final_state(u: &mut Unstructured<'_>) -> AResult<FinalState> {
    Ok(*pick(
        u,
        &[
            FinalState::Auto,
            FinalState::Location,
            FinalState::OriginalUri,
            FinalState::StatusMonitor,
        ],
    )?)
}

fn decode_knobs(u: &mut Unstructured<'_>) -> AResult<Knobs> {
    let d = Config::default();
    Ok(Knobs {
        poll_interval: decode_duration(u, d.poll_interval)?,
        max_poll_interval: decode_duration(u, d.max_poll_interval)?,
        min_wait: if u.ratio(1u8, 4)? {
            decode_duration(u, d.min_wait)?
        } else {
            Duration::ZERO
        },
        max_wait: decode_duration(u, d.max_wait)?,
        deadline: decode_duration(u, d.deadline)?,
        max_polls: match u.int_in_range(0u8..=63)? {
            0 | 2 | 3 => 0,
            1 => 1000,
            _ => u32::from(u.int_in_range(1u8..=40)?),
        },
        transient_retries: u.int_in_range(0..=8)?,
        final_state: decode_final_state(u)?,
        failure_as_response: u.arbitrary()?,
        detect_provisioning_state: !u.ratio(1u8, 8)?,
        carry_key: u.arbitrary()?,
        allow_other: u.ratio(1u8, 4)?,
        option_deadline: if u.ratio(1u8, 8)? {
            Some(decode_duration(u, d.deadline)?)
        } else {
            None
        },
        option_final_state: if u.ratio(1u8, 8)? {
            Some(decode_final_state(u)?)
        } else {
            None
        },
    })
}

fn decode_url_value(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => {
            let n = u.int_in_range(60_000usize..=70_000)?;
            format!("https://svc.example/{}", "a".repeat(n)).into_bytes()
        }
        2 => {
            let base = pick(u, URL_VALUES)?;
            let tail: &str = u.arbitrary()?;
            format!("{base}{tail}").into_bytes()
        }
        _ => pick(u, URL_VALUES)?.as_bytes().to_vec(),
    })
}

fn decode_retry_value(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => {
            // An HTTP-date around "now" of the synthetic wall clock.
            // (Not before 1970: httpdate cannot format those.)
            let offset = i64::from(u.arbitrary::<i32>()?).max(-1_600_000_000);
            let at = if offset >= 0 {
                wall0() + Duration::from_secs(offset.unsigned_abs())
            } else {
                wall0() - Duration::from_secs(offset.unsigned_abs())
            };
            httpdate::fmt_http_date(at).into_bytes()
        }
        2 => u.arbitrary::<u64>()?.to_string().into_bytes(),
        3 => u.int_in_range(0u32..=20)?.to_string().into_bytes(),
        _ => pick(u, RETRY_VALUES)?.as_bytes().to_vec(),
    })
}

fn decode_headers(u: &mut Unstructured<'_>) -> AResult<Vec<(String, Vec<u8>)>> {
    let n = u.int_in_range(0u8..=5)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = *pick(u, RESPONSE_HEADERS)?;
        let value = match name {
            "operation-location" | "azure-asyncoperation" | "location" | "resource-location" => {
                decode_url_value(u)?
            }
            "retry-after" | "retry-after-ms" | "x-ms-retry-after-ms" | "date" => {
                decode_retry_value(u)?
            }
            _ => u.arbitrary::<&[u8]>()?.to_vec(),
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

fn json_state(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => serde_json::Value::Null,
        1 => serde_json::json!(3),
        2 => serde_json::json!({"a": 1}),
        3 => serde_json::Value::String(u.arbitrary::<String>()?),
        _ => serde_json::Value::String((*pick(u, STATES)?).to_owned()),
    })
}

fn decode_doc(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    let mut obj = serde_json::Map::new();
    if !u.ratio(1u8, 6)? {
        obj.insert("status".into(), json_state(u)?);
    }
    if u.ratio(1u8, 3)? {
        let mut props = serde_json::Map::new();
        props.insert("provisioningState".into(), json_state(u)?);
        if u.ratio(1u8, 4)? {
            props.insert("error".into(), serde_json::json!({"code": "Inner"}));
        }
        obj.insert("properties".into(), props.into());
    }
    if u.ratio(1u8, 6)? {
        obj.insert("provisioningState".into(), json_state(u)?);
    }
    if u.ratio(1u8, 3)? {
        obj.insert("operationId".into(), serde_json::json!("op-1"));
    }
    if u.ratio(1u8, 6)? {
        obj.insert("id".into(), serde_json::json!(7));
    }
    if u.ratio(1u8, 3)? {
        let v = String::from_utf8_lossy(&decode_url_value(u)?).into_owned();
        obj.insert("resourceLocation".into(), v.into());
    }
    if u.ratio(1u8, 4)? {
        let e = match u.int_in_range(0u8..=3)? {
            0 => serde_json::json!({"code": "Bad", "message": "broken", "details": {"code": "D"}}),
            1 => serde_json::json!({"code": 5, "details": [{"code": "A"}, 3, null]}),
            2 => serde_json::json!("not an object"),
            _ => serde_json::json!({"innererror": {"deep": [1, 2, 3]}}),
        };
        obj.insert("error".into(), e);
    }
    if u.ratio(1u8, 6)? {
        obj.insert(
            "percentComplete".into(),
            serde_json::json!(u.arbitrary::<f32>()?),
        );
    }
    let text = serde_json::Value::Object(obj).to_string();
    Ok(text.into_bytes())
}

fn decode_body(u: &mut Unstructured<'_>) -> AResult<Option<Vec<u8>>> {
    Ok(Some(match u.int_in_range(0u8..=11)? {
        0 => Vec::new(),
        1 => u.arbitrary::<&[u8]>()?.to_vec(),
        2 => pick(
            u,
            &["[1,2]", "\"Running\"", "null", "3", "{", "  \n", "<html>"],
        )?
        .as_bytes()
        .to_vec(),
        3 => {
            let mut d = decode_doc(u)?;
            let cut = u.int_in_range(0..=d.len())?;
            d.truncate(cut);
            d
        }
        4 => {
            let mut d = b"\xEF\xBB\xBF".to_vec();
            d.extend(decode_doc(u)?);
            d
        }
        5 => return Ok(None),
        _ => decode_doc(u)?,
    }))
}

fn decode_status(u: &mut Unstructured<'_>) -> AResult<u16> {
    if u.ratio(1u8, 16)? {
        u.int_in_range(100..=999)
    } else {
        Ok(*pick(u, STATUSES)?)
    }
}

fn decode_answer(u: &mut Unstructured<'_>) -> AResult<Answer> {
    Ok(Answer {
        status: decode_status(u)?,
        headers: decode_headers(u)?,
        body: decode_body(u)?,
    })
}

fn decode_event(u: &mut Unstructured<'_>) -> AResult<Event> {
    let latency_ms = match u.int_in_range(0u8..=3)? {
        0 => 0,
        1 => u.int_in_range(0..=100)?,
        2 => u.int_in_range(0..=600_000)?,
        _ => u.arbitrary()?,
    };
    Ok(match u.int_in_range(0u8..=15)? {
        0 => Event::Transport { latency_ms },
        1 => Event::TooLarge {
            answer: decode_answer(u)?,
            latency_ms,
        },
        2 => Event::BodyRead {
            answer: decode_answer(u)?,
            latency_ms,
        },
        _ => Event::Response {
            answer: decode_answer(u)?,
            latency_ms,
        },
    })
}

impl Scenario {
    /// Decodes a scenario from fuzzer bytes.
    pub fn decode(u: &mut Unstructured<'_>) -> AResult<Scenario> {
        let knobs = decode_knobs(u)?;
        let method = pick(
            u,
            &[
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::GET,
            ],
        )?
        .clone();
        let url = u.choose_index(SUBMISSIONS.len())?;
        let mut request_headers = Vec::new();
        for i in 0..REQUEST_HEADERS.len() {
            if u.ratio(2u8, 3)? {
                request_headers.push(i);
            }
        }
        // The submission: usually something that starts an LRO.
        let mut submission = decode_answer(u)?;
        if u.ratio(3u8, 4)? {
            submission.status = *pick(u, &[200u16, 201, 202, 202, 202])?;
            let name = *pick(
                u,
                &["operation-location", "azure-asyncoperation", "location"],
            )?;
            submission
                .headers
                .insert(0, (name.to_owned(), decode_url_value(u)?));
        }
        let mut events = Vec::new();
        while !u.is_empty() && events.len() < 64 {
            events.push(decode_event(u)?);
        }
        let mut knobs = knobs;
        let long_value = submission.headers.iter().any(|(_, v)| v.len() > 4096);
        if long_value && knobs.max_polls > 40 {
            // 1000 polls of a 64 KiB URL take ~0.3 s (20 s under ASan): keep the fuzzer fast.
            knobs.max_polls = 40;
        }
        Ok(Scenario {
            knobs,
            method,
            url,
            request_headers,
            submission,
            events,
        })
    }
}

// ----------------------------------------------------------------------------------------------
// Driving

/// The synthetic wall clock at the submission's response.
pub fn wall0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn header_map(headers: &[(String, Vec<u8>)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value),
        ) else {
            continue;
        };
        map.append(name, value);
    }
    map
}

fn status_code(n: u16) -> StatusCode {
    StatusCode::from_u16(n).unwrap_or(StatusCode::OK)
}

fn running_answer() -> Answer {
    Answer {
        status: 200,
        headers: Vec::new(),
        body: Some(
            br#"{"status":"Running","properties":{"provisioningState":"Running"}}"#.to_vec(),
        ),
    }
}

/// The configuration a scenario's knobs describe.
pub fn config(k: &Knobs) -> Config {
    let mut cfg = Config::default();
    cfg.poll_interval = k.poll_interval;
    cfg.max_poll_interval = k.max_poll_interval;
    cfg.min_wait = k.min_wait;
    cfg.max_wait = k.max_wait;
    cfg.deadline = k.deadline;
    cfg.max_polls = k.max_polls;
    cfg.transient_retries = k.transient_retries;
    cfg.final_state = k.final_state;
    cfg.failure_as_response = k.failure_as_response;
    cfg.detect_provisioning_state = k.detect_provisioning_state;
    if k.carry_key {
        cfg.carry_query.push("subscription-key".into());
        cfg.carry_query.push("Subscription-Key".into());
    }
    if k.allow_other {
        cfg.allowed_origins
            .push(url::Url::parse("https://other.example").unwrap().origin());
    }
    cfg
}

/// The origin a request URI goes to; origin-form URIs stay on the submission's origin.
fn origin_of(uri: &Uri, submission: &url::Origin) -> url::Origin {
    if uri.scheme().is_some() {
        url::Url::parse(&uri.to_string())
            .map(|u| u.origin())
            .unwrap_or_else(|e| panic!("poll URI {uri} is not a URL: {e}"))
    } else {
        submission.clone()
    }
}

struct Clock {
    t0: Instant,
    now: Instant,
}

impl Clock {
    fn wall(&self) -> SystemTime {
        wall0() + (self.now - self.t0)
    }
    /// Advances by `ms`, saturating far in the future.
    fn advance_ms(&mut self, ms: u32) {
        self.now += Duration::from_millis(u64::from(ms));
    }
}

/// Drives the machine through the scenario, checking every invariant (panics on a break).
pub fn run(s: &Scenario, checks: Checks) -> Summary {
    let cfg = Arc::new(config(&s.knobs));
    let submission_url = SUBMISSIONS[s.url];
    let uri: Uri = submission_url.parse().expect("submission URLs parse");
    let sub_https = uri.scheme_str() == Some("https");
    let sub_origin = if uri.scheme().is_some() {
        url::Url::parse(submission_url).unwrap().origin()
    } else {
        url::Url::parse("http://origin-form.invalid/")
            .unwrap()
            .origin()
    };
    let mut req_headers = HeaderMap::new();
    for &i in &s.request_headers {
        let (n, v) = REQUEST_HEADERS[i];
        req_headers.append(HeaderName::from_static(n), HeaderValue::from_static(v));
    }
    let credential_names: HashSet<String> = cfg
        .credential_headers
        .iter()
        .map(|h| h.as_str().to_owned())
        .collect();
    let head = RequestHead::new(s.method.clone(), uri, req_headers.clone());
    let mut options = LroOptions::new();
    if let Some(d) = s.knobs.option_deadline {
        options = options.deadline(d);
    }
    if let Some(f) = s.knobs.option_final_state {
        options = options.final_state(f);
    }
    let deadline_len = s.knobs.option_deadline.unwrap_or(cfg.deadline);

    let t0 = Instant::now();
    let mut clock = Clock { t0, now: t0 };
    let sub_headers = header_map(&s.submission.headers);
    let sub_body = s.submission.body.clone().map(Bytes::from);
    let begin = Machine::start(
        cfg.clone(),
        head,
        &options,
        status_code(s.submission.status),
        &sub_headers,
        sub_body.as_ref(),
        clock.now,
        clock.wall(),
    );
    let summary = |end: End, st: u32, rs: u32, clock: &Clock| Summary {
        end,
        status_sends: st,
        resource_sends: rs,
        elapsed: clock.now - clock.t0,
    };
    let (mut machine, mut action) = match begin {
        Err(e) => {
            let _ = e.to_string();
            assert!(
                matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Insecure),
                "start failed with {:?}",
                e.kind()
            );
            return summary(End::StartError(e.kind()), 0, 0, &clock);
        }
        Ok(Begin::NotLro) => return summary(End::NotLro, 0, 0, &clock),
        Ok(Begin::Lro(m, a)) => (m, a),
    };
    if let Some(expected) = t0.checked_add(deadline_len) {
        assert!(
            machine.deadline() <= expected,
            "deadline {:?} past the configured {:?}",
            machine.deadline() - t0,
            deadline_len
        );
    }

    let max_wait = cfg.max_wait.max(cfg.min_wait);
    let mut status_sends = 0u32;
    let mut resource_sends = 0u32;
    let mut tainted = false;
    let mut events = s.events.iter();
    // Each iteration sends one request: the bound is generous on purpose.
    let bound = cfg.max_polls as usize + cfg.transient_retries as usize + 3;
    let mut steps = 0usize;
    let end = loop {
        steps += 1;
        assert!(steps <= bound, "more than {bound} actions");
        let request = match action {
            Action::Deliver(meta) => {
                assert_eq!(meta.polls(), status_sends, "{meta:?}");
                assert!(meta.elapsed() <= clock.now - t0);
                break End::Delivered;
            }
            Action::Fail(e) => {
                let _ = format!("{e} {e:?}");
                let _ = e.to_response();
                if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::PollLimit) {
                    let h = e.resume_handle().expect("timeouts carry a resume handle");
                    let _ = serde_json::to_string(h).expect("handle serializes");
                }
                assert!(clock.now <= machine.deadline() || e.is_timeout());
                break End::Failed(e.kind());
            }
            Action::Send { at, request } => {
                assert!(at >= clock.now, "send scheduled in the past");
                assert!(
                    at <= machine.deadline(),
                    "send at {:?} past the deadline {:?}",
                    at - t0,
                    machine.deadline() - t0
                );
                let wait = at - clock.now;
                assert!(
                    wait <= max_wait,
                    "wait {wait:?} beyond max_wait {max_wait:?}"
                );
                match request.kind() {
                    PollKind::Status => {
                        status_sends += 1;
                        assert!(
                            wait >= cfg.min_wait,
                            "wait {wait:?} below min_wait {:?}",
                            cfg.min_wait
                        );
                        assert!(
                            status_sends <= cfg.max_polls,
                            "{status_sends} polls, limit {}",
                            cfg.max_polls
                        );
                    }
                    PollKind::Resource => {
                        resource_sends += 1;
                        assert!(
                            resource_sends <= cfg.transient_retries + 1,
                            "{resource_sends} resource fetches"
                        );
                    }
                    _ => unreachable!(),
                }
                clock.now = at;
                request
            }
        };

        // ----- what the request looks like -----
        let kind = request.kind();
        let req: http::Request<()> = request.into_request();
        assert_eq!(req.method(), Method::GET);
        let info = *req.extensions().get::<LroRequest>().expect("LroRequest");
        assert_eq!(info.kind, kind);
        let expected_attempt = match kind {
            PollKind::Status => status_sends,
            _ => resource_sends,
        };
        assert_eq!(info.attempt, expected_attempt, "attempt numbering");
        let uri = req.uri();
        if let Some(scheme) = uri.scheme_str() {
            assert!(scheme == "http" || scheme == "https", "scheme {scheme}");
            assert!(!(sub_https && scheme == "http"), "https → http: {uri}");
            assert!(uri.host().is_some_and(|h| !h.is_empty()), "no host: {uri}");
        } else {
            assert!(
                uri.path().starts_with('/'),
                "neither absolute nor origin-form: {uri}"
            );
        }
        for name in NEVER_COPIED {
            assert!(
                !req.headers().contains_key(*name),
                "{name} copied onto a poll"
            );
        }
        if req_headers.contains_key("connection") {
            // Named by the submission's Connection header: hop-by-hop.
            assert!(
                !req.headers().contains_key("x-conn-only"),
                "x-conn-only copied"
            );
        }
        let target = origin_of(uri, &sub_origin);
        let foreign = target != sub_origin && !cfg.allowed_origins.contains(&target);
        tainted |= foreign;
        let query_secret = uri.query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .any(|(k, v)| credential_names.contains(&*k.to_ascii_lowercase()) && v == "secret")
        });
        let header_secret = req
            .headers()
            .iter()
            .any(|(n, _)| credential_names.contains(n.as_str()));
        // The submission's own URL (a `PUT`'s final GET, `FinalState::OriginalUri`) keeps the
        // query the caller wrote, credentials included: it goes back where they came from.
        let own_url = uri == submission_url;
        if tainted {
            assert!(
                !header_secret,
                "credential header sent after a foreign hop: {uri}"
            );
            assert!(
                !query_secret || own_url,
                "credential query sent after a foreign hop: {uri}"
            );
        } else {
            for (n, v) in req_headers.iter() {
                if credential_names.contains(n.as_str()) {
                    assert_eq!(
                        req.headers().get(n),
                        Some(v),
                        "{n} dropped on a same-origin poll"
                    );
                }
            }
        }
        if req_headers.contains_key("accept") {
            assert!(req.headers().contains_key("accept"), "accept dropped");
        }

        // ----- what happens to it -----
        let event = events.next().cloned().unwrap_or(Event::Response {
            answer: running_answer(),
            latency_ms: 1,
        });
        let latency = match &event {
            Event::Response { latency_ms, .. }
            | Event::Transport { latency_ms }
            | Event::TooLarge { latency_ms, .. }
            | Event::BodyRead { latency_ms, .. } => *latency_ms,
        };
        clock.advance_ms(latency);
        if clock.now > machine.deadline() {
            // The driver's deadline timer fires while the request is in flight.
            let e = machine.on_deadline(clock.now);
            assert_eq!(e.kind(), ErrorKind::Timeout);
            assert!(e.resume_handle().is_some());
            break End::Deadline;
        }
        let wall = clock.wall();
        action = match event {
            Event::Transport { .. } => machine.on_transport_error("reset".into(), clock.now, wall),
            Event::TooLarge { answer, .. } => {
                let h = header_map(&answer.headers);
                machine.on_body_error(
                    status_code(answer.status),
                    &h,
                    BodyError::TooLarge,
                    clock.now,
                    wall,
                )
            }
            Event::BodyRead { answer, .. } => {
                let h = header_map(&answer.headers);
                machine.on_body_error(
                    status_code(answer.status),
                    &h,
                    BodyError::Read("cut".into()),
                    clock.now,
                    wall,
                )
            }
            Event::Response { answer, .. } => {
                let status = status_code(answer.status);
                let h = header_map(&answer.headers);
                let body = answer.body.map(Bytes::from);
                let body = if machine.wants_body(status) {
                    Some(body.unwrap_or_default())
                } else {
                    None
                };
                machine.on_response(status, &h, body.as_ref(), clock.now, wall)
            }
        };
    };

    if matches!(end, End::Delivered | End::Failed(_) | End::Deadline) {
        let wall = clock.wall();
        if checks.after_end_response {
            let body = Bytes::from_static(br#"{"status":"Running"}"#);
            let a = machine.on_response(
                StatusCode::OK,
                &HeaderMap::new(),
                Some(&body),
                clock.now,
                wall,
            );
            assert!(
                matches!(a, Action::Fail(_)),
                "on_response after the end asked for {a:?}"
            );
        }
        if checks.after_end_errors {
            let a = machine.on_transport_error("late".into(), clock.now, wall);
            assert!(
                !matches!(a, Action::Send { .. } | Action::Deliver(_)),
                "on_transport_error after the end asked for {a:?}"
            );
            let a = machine.on_body_error(
                StatusCode::OK,
                &HeaderMap::new(),
                BodyError::Read("late".into()),
                clock.now,
                wall,
            );
            assert!(
                !matches!(a, Action::Send { .. } | Action::Deliver(_)),
                "on_body_error after the end asked for {a:?}"
            );
        }
    }
    summary(end, status_sends, resource_sends, &clock)
}

/// The fuzz entry point: decode and run; undecodable inputs are skipped.
pub fn fuzz_machine(data: &[u8], checks: Checks) {
    let mut u = Unstructured::new(data);
    if let Ok(s) = Scenario::decode(&mut u) {
        run(&s, checks);
    }
}

/// The parsers fuzz entry point: `retry_after`, `parse_url_value`, `unquote`,
/// `StatusDocument::parse`/`parse_status`, with consistency checks.
pub fn fuzz_parsers(data: &[u8]) {
    use tower_lro::header::{parse_url_str, parse_url_value, retry_after, unquote};
    use tower_lro::status::StatusDocument;

    let mut u = Unstructured::new(data);
    let Ok(selector) = u.int_in_range(0u8..=2) else {
        return;
    };
    match selector {
        0 => {
            let Ok(headers) = decode_headers(&mut u) else {
                return;
            };
            let map = header_map(&headers);
            if let Some(got) = retry_after(&map, wall0()) {
                check_retry_hint(&map, got);
            }
        }
        1 => {
            let Ok(raw) = decode_url_value(&mut u) else {
                return;
            };
            let Ok(base) = u.choose(SUBMISSIONS) else {
                return;
            };
            let base = base_url(base);
            if let Ok(text) = std::str::from_utf8(&raw) {
                let _ = unquote(text);
                if let Ok(url) = parse_url_str(text, &base) {
                    check_url(&url);
                }
            }
            if let Ok(v) = HeaderValue::from_bytes(&raw) {
                if let Ok(url) = parse_url_value(&v, &base) {
                    check_url(&url);
                }
            }
        }
        _ => {
            let body = u.take_rest();
            let parsed = StatusDocument::parse(body);
            match StatusDocument::parse_status(body) {
                Ok(doc) => {
                    assert!(doc.status.is_some());
                    assert!(parsed.is_ok());
                }
                Err(_) => {
                    if let Ok(doc) = parsed {
                        assert!(doc.status.is_none() || doc.status_wrong_type);
                    }
                }
            }
        }
    }
}

/// A URL the parsers accepted is `http(s)` with a host.
pub fn check_url(url: &url::Url) {
    assert!(matches!(url.scheme(), "http" | "https"), "{url}");
    assert!(url.host_str().is_some_and(|h| !h.is_empty()), "{url}");
}

/// The URL a submission URI stands for: origin-form ones on the core's placeholder origin.
pub fn base_url(submission: &str) -> url::Url {
    if submission.starts_with('/') {
        url::Url::parse("http://origin-form.invalid/")
            .unwrap()
            .join(submission)
            .unwrap()
    } else {
        url::Url::parse(submission).unwrap()
    }
}

/// A wait hint `retry_after` found comes from a header that is there and reads as the digits
/// (in its unit) or the HTTP-date it returned.
pub fn check_retry_hint(
    map: &http::HeaderMap,
    (d, src): (std::time::Duration, tower_lro::header::HintSource),
) {
    use tower_lro::header::HintSource;
    let name = match src {
        HintSource::RetryAfterMs => "retry-after-ms",
        HintSource::XMsRetryAfterMs => "x-ms-retry-after-ms",
        HintSource::RetryAfterSeconds | HintSource::RetryAfterDate => "retry-after",
    };
    let raw = map.get(name).expect("the hint came from a present header");
    let text = raw.to_str().expect("hints are ASCII").trim();
    if src == HintSource::RetryAfterDate {
        assert!(httpdate::parse_http_date(text).is_ok(), "{text:?}");
    } else {
        assert!(
            !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()),
            "{text:?}"
        );
        let n = text.parse::<u64>().unwrap_or(u64::MAX);
        let want = if src == HintSource::RetryAfterSeconds {
            std::time::Duration::from_secs(n)
        } else {
            std::time::Duration::from_millis(n)
        };
        assert_eq!(d, want);
    }
}
