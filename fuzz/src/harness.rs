//! Shared harness of the `machine` fuzz target and of `tests/props.rs`.
//!
//! It turns bytes (through the `arbitrary` crate) or proptest strategies into a [`Scenario`]: a
//! configuration, a submission (method, URL, request headers, response status, headers, body)
//! and a sequence of [`Event`]s (poll responses, transport errors, body errors). [`run`] drives
//! the sans-IO core (`tower_lro::__private::proto`) through it as its module docs tell a driver
//! to: `Submission::new(…).start(…)`, then `Machine::handle_answer` / `Machine::handle_failure`
//! for each request sent and `Machine::poll_progress` after every hand-in, with a synthetic
//! clock that jumps to each `Send`'s `at`. It panics when an invariant breaks:
//!
//! - every `at` is `>= now` and `<= machine.deadline()`; the deadline is the submission's
//!   `read_deadline()` and where the config (or the per-request `Params`) put it;
//! - every wait is at most `max(max_wait, min_wait)`; a status poll's wait is at least `min_wait`;
//! - status polls `<= max_polls`, resource fetches `<= transient_retries + 1`, attempts count up;
//! - polls are `GET`s to `http`/`https` only, never `https` → `http`, and carry neither `Host`
//!   nor headers describing the submission's body/connection/preconditions;
//! - after a request went to a foreign origin (not allowed by config), it and every later
//!   request carry no credential header and no credential query value of the submission;
//!   requests to the submission's own origin before that carry them;
//! - a body over the limit ends the operation; a deadline passing in flight
//!   (`Failure::DeadlinePassed`) ends it with a `Timeout`;
//! - `Timeout`/`PollLimit` errors carry a resume handle that round-trips through serde and
//!   resumes (`Machine::resume`) with a status poll due at once, numbered after the handle's
//!   polls; errors display without panicking;
//! - `poll_progress` reports exactly once after the submission and after each answer (or
//!   failure) of a status request, never after a resource fetch or a deadline, with the polls
//!   answered and the next status poll's wait;
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
use tower_lro::__private::proto::{
    Action, Answer as CoreAnswer, Begin, Failure, Machine, Now, Params, Plan, PollRequest,
    RequestHead, Submission,
};
use tower_lro::__private::Reason;
use tower_lro::{
    Config, ErrorKind, FinalState, LroLayer, LroRequest, Origin, PollKind, ResumeHandle,
};

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
    /// After `Deliver`/`Fail`, `handle_answer` must refuse (`Fail` with `AnswerAfterEnd`),
    /// never ask for a `Send` nor `Deliver`.
    pub after_end_response: bool,
    /// After `Deliver`/`Fail`, every `handle_failure` must refuse (`Plan::Fail` with
    /// `AnswerAfterEnd`), never ask for a `Send`.
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
    /// `Submission::start` returned an error of this kind.
    StartError(ErrorKind),
    /// Not an LRO.
    NotLro,
    /// `Deliver`.
    Delivered,
    /// `Fail` with this kind.
    Failed(ErrorKind),
    /// The deadline passed while a request was in flight: `Failure::DeadlinePassed`.
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
        poll_interval: decode_duration(u, d.poll_interval())?,
        max_poll_interval: decode_duration(u, d.max_poll_interval())?,
        min_wait: if u.ratio(1u8, 4)? {
            decode_duration(u, d.min_wait())?
        } else {
            Duration::ZERO
        },
        max_wait: decode_duration(u, d.max_wait())?,
        deadline: decode_duration(u, d.deadline())?,
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
            Some(decode_duration(u, d.deadline())?)
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

/// The configuration a scenario's knobs describe, built through [`LroLayer`] (the one
/// configuration surface).
pub fn config(k: &Knobs) -> Config {
    // `poll_interval` pins `max_poll_interval` to itself: set the cap after it.
    let mut layer = LroLayer::new()
        .poll_interval(k.poll_interval)
        .max_poll_interval(k.max_poll_interval)
        .wait_bounds(k.min_wait, k.max_wait)
        .deadline(k.deadline)
        .max_polls(k.max_polls)
        .transient_retries(k.transient_retries)
        .final_state(k.final_state)
        .failure_as_response(k.failure_as_response)
        .detect_provisioning_state(k.detect_provisioning_state);
    if k.carry_key {
        layer = layer
            .carry_query_param("subscription-key")
            .carry_query_param("Subscription-Key");
    }
    if k.allow_other {
        let other = Origin::parse("https://other.example").expect("an origin");
        layer = layer.allow_origin(other);
    }
    layer.config().clone()
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
    /// Both readings, as the core takes them.
    fn now(&self) -> Now {
        Now::new(self.now, self.wall())
    }
    /// Advances by `ms`.
    fn advance_ms(&mut self, ms: u32) {
        self.now += Duration::from_millis(u64::from(ms));
    }
}

/// What a run holds fixed: the configuration and the submission.
struct Ctx {
    cfg: Arc<Config>,
    head: RequestHead,
    params: Params,
    /// The deadline the params ask for.
    deadline_len: Duration,
    submission_url: &'static str,
    sub_https: bool,
    sub_origin: url::Origin,
    credential_names: HashSet<String>,
    /// The longest wait the clamp allows.
    max_wait: Duration,
}

impl Ctx {
    fn new(s: &Scenario) -> Ctx {
        let cfg = Arc::new(config(&s.knobs));
        let submission_url = SUBMISSIONS[s.url];
        let uri: Uri = submission_url.parse().expect("submission URLs parse");
        let sub_https = uri.scheme_str() == Some("https");
        let sub_origin = base_url(submission_url).origin();
        let mut req_headers = HeaderMap::new();
        for &i in &s.request_headers {
            let (n, v) = REQUEST_HEADERS[i];
            req_headers.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        let credential_names = cfg
            .credential_headers()
            .iter()
            .map(|h| h.as_str().to_owned())
            .collect();
        let mut params = Params::new(&cfg);
        if let Some(d) = s.knobs.option_deadline {
            params = params.deadline(d);
        }
        if let Some(f) = s.knobs.option_final_state {
            params = params.final_state(f);
        }
        Ctx {
            head: RequestHead::new(s.method.clone(), uri, req_headers),
            params,
            deadline_len: s.knobs.option_deadline.unwrap_or(cfg.deadline()),
            submission_url,
            sub_https,
            sub_origin,
            credential_names,
            max_wait: cfg.max_wait().max(cfg.min_wait()),
            cfg,
        }
    }

    /// Whether the configuration lets `origin` receive credentials.
    fn allowed(&self, origin: &url::Origin) -> bool {
        let shown = origin.ascii_serialization();
        self.cfg
            .allowed_origins()
            .iter()
            .any(|o| o.to_string() == shown)
    }
}

/// Where a run stands.
struct Run<'c> {
    ctx: &'c Ctx,
    machine: Box<Machine>,
    clock: Clock,
    status_sends: u32,
    resource_sends: u32,
    /// A request went to a foreign origin: no credential may follow (cumulative).
    tainted: bool,
    /// The kind of the request in flight.
    in_flight: PollKind,
}

/// The request an action plans, if any: when and of what kind.
fn planned(action: &Action) -> Option<(Instant, PollKind)> {
    match action {
        Action::Send { at, request } => Some((*at, request.kind())),
        _ => None,
    }
}

/// The submission step: `Submission::new(…).start(…)`, and its checks.
fn start(ctx: &Ctx, s: &Scenario, clock: &Clock) -> Result<(Box<Machine>, Plan), End> {
    let (cfg, head, params) = (ctx.cfg.clone(), ctx.head.clone(), ctx.params.clone());
    let submission = Submission::new(cfg, head, params, clock.now());
    let deadline = submission.read_deadline();
    assert!(deadline >= clock.t0, "read deadline before the answer");
    if let Some(expected) = clock.t0.checked_add(ctx.deadline_len) {
        assert!(
            deadline <= expected,
            "deadline {:?} past the configured {:?}",
            deadline - clock.t0,
            ctx.deadline_len
        );
    }
    let headers = header_map(&s.submission.headers);
    let body = s.submission.body.clone().map(Bytes::from);
    match submission.start(status_code(s.submission.status), &headers, body.as_ref()) {
        Err(e) => {
            let _ = format!("{e} {e:?}");
            assert!(
                matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Insecure),
                "start failed with {:?}",
                e.reason()
            );
            Err(End::StartError(e.kind()))
        }
        Ok(Begin::NotLro) => Err(End::NotLro),
        // Finished in the submission's answer (a dialect's operation that is already done).
        Ok(Begin::Final(_)) => Err(End::Delivered),
        Ok(Begin::Lro(machine, plan)) => {
            assert_eq!(machine.deadline(), deadline, "one deadline");
            Ok((machine, plan))
        }
    }
}

/// Drives the machine through the scenario, checking every invariant (panics on a break).
pub fn run(s: &Scenario, checks: Checks) -> Summary {
    let ctx = Ctx::new(s);
    let t0 = Instant::now();
    let clock = Clock { t0, now: t0 };
    let (machine, plan) = match start(&ctx, s, &clock) {
        Ok(started) => started,
        Err(end) => {
            return Summary {
                end,
                status_sends: 0,
                resource_sends: 0,
                elapsed: Duration::ZERO,
            }
        }
    };
    let mut run = Run {
        ctx: &ctx,
        machine,
        clock,
        status_sends: 0,
        resource_sends: 0,
        tainted: false,
        in_flight: PollKind::Status,
    };
    let mut action = Action::from(plan);
    // The submission's answer was read: it is reported.
    run.check_progress(true, planned(&action));

    let mut events = s.events.iter();
    // Each iteration sends one request: the bound is generous on purpose.
    let bound = ctx.cfg.max_polls() as usize + ctx.cfg.transient_retries() as usize + 3;
    let mut steps = 0usize;
    let end = loop {
        steps += 1;
        assert!(steps <= bound, "more than {bound} actions");
        let request = match action {
            Action::Deliver(meta) => break run.delivered(&meta),
            Action::Fail(e) => break run.failed(&e),
            Action::Send { at, request } => run.send(at, request),
        };
        run.check_request(request);
        // When the events run out, every further request is answered "Running".
        let event = events.next().cloned().unwrap_or(Event::Response {
            answer: running_answer(),
            latency_ms: 1,
        });
        match run.hand_in(event) {
            Ok(next) => action = next,
            Err(end) => break end,
        }
    };
    run.after_end(checks);
    Summary {
        end,
        status_sends: run.status_sends,
        resource_sends: run.resource_sends,
        elapsed: run.clock.now - t0,
    }
}

impl Run<'_> {
    /// `Action::Deliver`: the metadata counts what was sent.
    fn delivered(&self, meta: &tower_lro::LroMetadata) -> End {
        assert_eq!(meta.polls(), self.status_sends, "{meta:?}");
        assert!(meta.elapsed() <= self.clock.now - self.clock.t0);
        End::Delivered
    }

    /// `Action::Fail` / `Plan::Fail`: the error renders, and timeouts carry a handle that
    /// resumes.
    fn failed(&self, e: &tower_lro::Error) -> End {
        let _ = format!("{e} {e:?} {:?}", e.reason());
        let _ = e.to_response();
        if matches!(e.kind(), ErrorKind::Timeout | ErrorKind::PollLimit) {
            assert!(matches!(
                e.reason(),
                Reason::Deadline { .. } | Reason::PollLimit { .. }
            ));
            self.check_resume(e);
        }
        assert!(self.clock.now <= self.machine.deadline() || e.is_timeout());
        End::Failed(e.kind())
    }

    /// A timeout's resume handle serializes, and a machine resumed from it (with the same
    /// head) polls the status monitor at once, or refuses the handle.
    fn check_resume(&self, e: &tower_lro::Error) {
        let ctx = self.ctx;
        let h = e.resume_handle().expect("timeouts carry a resume handle");
        let json = serde_json::to_string(h).expect("handle serializes");
        let back: ResumeHandle = serde_json::from_str(&json).expect("handle deserializes");
        assert_eq!(&back, h);
        let now = self.clock.now;
        match Machine::resume(ctx.cfg.clone(), h, &ctx.head, &ctx.params, now) {
            Ok((_, Plan::Send { at, request })) => {
                assert_eq!(at, now, "a resumed operation polls at once");
                let req: http::Request<()> = request.into_request();
                let info = *req.extensions().get::<LroRequest>().expect("LroRequest");
                assert_eq!(info.kind(), PollKind::Status);
                // The poll budget starts afresh when the handle had spent it.
                let spent = if h.polls() >= ctx.cfg.max_polls() {
                    0
                } else {
                    h.polls()
                };
                assert_eq!(info.attempt(), spent + 1, "resumed attempt numbering");
            }
            Ok((_, Plan::Fail(e))) | Err(e) => {
                let _ = format!("{e} {e:?}");
                assert!(
                    matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Insecure),
                    "resume failed with {:?}",
                    e.reason()
                );
            }
        }
    }

    /// `Action::Send` / `Plan::Send`: when and how often.
    fn send(&mut self, at: Instant, request: PollRequest) -> PollRequest {
        let (cfg, t0) = (&self.ctx.cfg, self.clock.t0);
        let deadline = self.machine.deadline();
        assert!(at >= self.clock.now, "send scheduled in the past");
        assert!(
            at <= deadline,
            "send at {:?} past the deadline {:?}",
            at - t0,
            deadline - t0
        );
        let wait = at - self.clock.now;
        let max_wait = self.ctx.max_wait;
        assert!(
            wait <= max_wait,
            "wait {wait:?} beyond max_wait {max_wait:?}"
        );
        match request.kind() {
            PollKind::Status => {
                self.status_sends += 1;
                let min = cfg.min_wait();
                assert!(wait >= min, "wait {wait:?} below min_wait {min:?}");
                let (n, limit) = (self.status_sends, cfg.max_polls());
                assert!(n <= limit, "{n} polls, limit {limit}");
            }
            PollKind::Resource => {
                self.resource_sends += 1;
                let n = self.resource_sends;
                assert!(n <= cfg.transient_retries() + 1, "{n} resource fetches");
            }
            _ => unreachable!(),
        }
        self.in_flight = request.kind();
        self.clock.now = at;
        request
    }

    /// What a request looks like: a `GET` to http(s), numbered, without the submission's body
    /// headers, and without credentials once the operation went to a foreign origin.
    fn check_request(&mut self, request: PollRequest) {
        let ctx = self.ctx;
        let kind = request.kind();
        let req: http::Request<()> = request.into_request();
        assert_eq!(req.method(), Method::GET);
        let info = *req.extensions().get::<LroRequest>().expect("LroRequest");
        assert_eq!(info.kind(), kind);
        let expected_attempt = match kind {
            PollKind::Status => self.status_sends,
            _ => self.resource_sends,
        };
        assert_eq!(info.attempt(), expected_attempt, "attempt numbering");
        let uri = req.uri();
        if let Some(scheme) = uri.scheme_str() {
            assert!(scheme == "http" || scheme == "https", "scheme {scheme}");
            assert!(!(ctx.sub_https && scheme == "http"), "https → http: {uri}");
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
        let sub_headers = &ctx.head.headers;
        if sub_headers.contains_key("connection") {
            // Named by the submission's Connection header: hop-by-hop.
            assert!(
                !req.headers().contains_key("x-conn-only"),
                "x-conn-only copied"
            );
        }
        if sub_headers.contains_key("accept") {
            assert!(req.headers().contains_key("accept"), "accept dropped");
        }
        self.check_credentials(&req);
    }

    /// No credential after a foreign hop (cumulative); same-origin polls before it keep them.
    fn check_credentials(&mut self, req: &http::Request<()>) {
        let ctx = self.ctx;
        let uri = req.uri();
        let target = origin_of(uri, &ctx.sub_origin);
        self.tainted |= target != ctx.sub_origin && !ctx.allowed(&target);
        let names = &ctx.credential_names;
        let query_secret = uri.query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .any(|(k, v)| names.contains(&*k.to_ascii_lowercase()) && v == "secret")
        });
        let header_secret = req.headers().keys().any(|n| names.contains(n.as_str()));
        // The submission's own URL (a `PUT`'s final GET, `FinalState::OriginalUri`) keeps the
        // query the caller wrote, credentials included: it goes back where they came from.
        let own_url = uri == ctx.submission_url;
        if self.tainted {
            assert!(
                !header_secret,
                "credential header sent after a foreign hop: {uri}"
            );
            assert!(
                !query_secret || own_url,
                "credential query sent after a foreign hop: {uri}"
            );
        } else {
            for (n, v) in ctx.head.headers.iter() {
                if names.contains(n.as_str()) {
                    assert_eq!(
                        req.headers().get(n),
                        Some(v),
                        "{n} dropped on a same-origin poll"
                    );
                }
            }
        }
    }

    /// What happens to the request in flight, handed in through `handle_answer` or
    /// `handle_failure`: the next action, or the end when the deadline passed in flight.
    fn hand_in(&mut self, event: Event) -> Result<Action, End> {
        let latency = match &event {
            Event::Response { latency_ms, .. }
            | Event::Transport { latency_ms }
            | Event::TooLarge { latency_ms, .. }
            | Event::BodyRead { latency_ms, .. } => *latency_ms,
        };
        self.clock.advance_ms(latency);
        let now = self.clock.now();
        if self.clock.now > self.machine.deadline() {
            // The driver's deadline timer fires while the request is in flight.
            let plan = self.machine.handle_failure(now, Failure::DeadlinePassed);
            let Plan::Fail(e) = plan else {
                panic!("DeadlinePassed answered with {plan:?}")
            };
            assert_eq!(e.kind(), ErrorKind::Timeout);
            assert!(matches!(e.reason(), Reason::Deadline { .. }), "{e:?}");
            self.check_resume(&e);
            // A deadline is not an answer: nothing to report.
            self.check_progress(false, None);
            return Err(End::Deadline);
        }
        let (status, headers) = match &event {
            Event::Transport { .. } => (StatusCode::OK, HeaderMap::new()),
            Event::Response { answer, .. }
            | Event::TooLarge { answer, .. }
            | Event::BodyRead { answer, .. } => {
                (status_code(answer.status), header_map(&answer.headers))
            }
        };
        let headers = &headers;
        let action = match event {
            Event::Response { answer, .. } => {
                let body = answer.body.map(Bytes::from);
                let body = if self.machine.wants_body(status) {
                    Some(body.unwrap_or_default())
                } else {
                    None
                };
                let body = body.as_ref();
                let answer = CoreAnswer {
                    status,
                    headers,
                    body,
                };
                self.machine.handle_answer(now, answer)
            }
            failure => {
                let too_large = matches!(failure, Event::TooLarge { .. });
                let failure = match failure {
                    Event::TooLarge { .. } => Failure::BodyTooLarge { status, headers },
                    Event::BodyRead { .. } => Failure::BodyFailed {
                        status,
                        headers,
                        error: "cut".into(),
                    },
                    _ => Failure::Transport("reset".into()),
                };
                let plan = self.machine.handle_failure(now, failure);
                if too_large {
                    assert!(
                        matches!(&plan, Plan::Fail(e) if matches!(e.reason(), Reason::BodyTooLarge { .. })),
                        "a body over the limit ended in {plan:?}"
                    );
                }
                Action::from(plan)
            }
        };
        // Every answer to a status request is reported (its failures too).
        self.check_progress(self.in_flight == PollKind::Status, planned(&action));
        Ok(action)
    }

    /// `poll_progress` reports exactly when expected, once, and agrees with the plan.
    fn check_progress(&mut self, expected: bool, next: Option<(Instant, PollKind)>) {
        let now = self.clock.now;
        let report = self.machine.poll_progress(now);
        assert_eq!(report.is_some(), expected, "progress report {report:?}");
        if let Some(p) = report {
            assert_eq!(p.polls(), self.status_sends, "{p:?}");
            let next_poll_in = next
                .filter(|(_, kind)| *kind == PollKind::Status)
                .map(|(at, _)| at - now);
            assert_eq!(p.next_poll_in(), next_poll_in, "{p:?}");
            assert_eq!(p.resume_handle().is_some(), next_poll_in.is_some());
            assert!(p.elapsed() <= now - self.clock.t0);
        }
        assert!(self.machine.poll_progress(now).is_none(), "reported twice");
    }

    /// After `Deliver`/`Fail` the machine asks for nothing more, whatever is handed in.
    fn after_end(&mut self, checks: Checks) {
        let now = self.clock.now();
        let refused = |e: &tower_lro::Error| matches!(e.reason(), Reason::AnswerAfterEnd);
        if checks.after_end_response {
            let body = Bytes::from_static(br#"{"status":"Running"}"#);
            let headers = HeaderMap::new();
            let answer = CoreAnswer {
                status: StatusCode::OK,
                headers: &headers,
                body: Some(&body),
            };
            let a = self.machine.handle_answer(now, answer);
            assert!(
                matches!(&a, Action::Fail(e) if refused(e)),
                "handle_answer after the end asked for {a:?}"
            );
        }
        if checks.after_end_errors {
            let headers = HeaderMap::new();
            let failures = [
                Failure::Transport("late".into()),
                Failure::BodyFailed {
                    status: StatusCode::OK,
                    headers: &headers,
                    error: "late".into(),
                },
                Failure::BodyTooLarge {
                    status: StatusCode::OK,
                    headers: &headers,
                },
                Failure::DeadlinePassed,
            ];
            for failure in failures {
                let p = self.machine.handle_failure(now, failure);
                assert!(
                    matches!(&p, Plan::Fail(e) if refused(e)),
                    "handle_failure after the end asked for {p:?}"
                );
            }
        }
        assert!(self.machine.poll_progress(now.mono()).is_none());
    }
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
    use tower_lro::__private::{
        parse_url_str, parse_url_value, retry_after, unquote, StatusDocument,
    };

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
    (d, src): (std::time::Duration, tower_lro::HintSource),
) {
    use tower_lro::HintSource;
    let name = match src {
        HintSource::RetryAfterMs => "retry-after-ms",
        HintSource::XMsRetryAfterMs => "x-ms-retry-after-ms",
        HintSource::RetryAfterSeconds | HintSource::RetryAfterDate => "retry-after",
        // `HintSource` is non-exhaustive: a new source needs a check here.
        other => panic!("a hint source the harness does not know: {other:?}"),
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
