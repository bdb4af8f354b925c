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

pub mod escaping;

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
use tower_lro::__private::{config as config_of, Config, Reason};
use tower_lro::{
    Dialect, ErrorKind, FinalState, LroLayer, LroRequest, Origin, PollKind, ResumeHandle,
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

// ----------------------------------------------------------------------------------------------
// The wider world (spec §3, §4, §4a, §7, §10): used by `Scenario::decode_wide` only, so the
// byte literals of older fuzz findings decode as they did.

/// More submission URLs: service roots with a version segment (Google), an internal host (the
/// SSRF guard then lets internal targets through).
pub const SUBMISSIONS_WIDE: &[&str] = &[
    "https://svc.example/v1/projects/p/locations/l/things:create?subscription-key=secret",
    "http://10.1.2.3:8080/v2beta1/jobs?api-version=1",
    "/v1/projects/p:run?subscription-key=secret",
    "https://svc.example/compute/v1/projects/p/zones/z/instances",
];

/// The submission URL of index `i` (into [`SUBMISSIONS`], then [`SUBMISSIONS_WIDE`]).
pub fn submission_url(i: usize) -> &'static str {
    SUBMISSIONS
        .get(i)
        .copied()
        .unwrap_or_else(|| SUBMISSIONS_WIDE[i - SUBMISSIONS.len()])
}

/// More URL values: internal and metadata hosts in their many spellings, and redirect targets
/// carrying a token of the server's own in their query.
pub const URL_VALUES_WIDE: &[&str] = &[
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./x",
    "http://169.254.170.2/v2/credentials",
    "http://[fe80::1]/op",
    "http://0.0.0.0/op",
    "http://[::]/op",
    "http://0/op",
    "http://10.0.0.1/op",
    "http://192.168.1.10:8080/op",
    "http://172.16.0.1/op",
    "http://localhost/op",
    "http://app.localhost/op",
    "http://127.0.0.1/op",
    "http://0x7f.1/op",
    "http://2130706433/op",
    "http://0177.0.0.1/op",
    "http://127.1/op",
    "http://[::ffff:127.0.0.1]/op",
    "http://[::ffff:a9fe:a9fe]/op",
    "http://[fd00::1]/op",
    "http://100.64.0.1/op",
    "http://10.1.2.3:8080/v2beta1/operations/5",
    "https://blob.other.example/result/1?sig=tok&se=2030",
    "https://other.example/moved?tempauth=tok",
    "https://svc.example/result/1?sig=tok",
    "https://svc.example/operations/9?subscription-key=servertoken",
    "https://svc.example/v1/operations/moved?sig=tok",
    "/result/1?sig=tok",
    "/operations/moved",
];

/// The wider vocabulary (spec §3), spelled as services spell it.
pub const STATES_WIDE: &[&str] = &[
    "Completed",
    "completed",
    "Complete",
    "DONE",
    "done",
    "Success",
    "Successful",
    "PartiallySucceeded",
    "partiallyCompleted",
    "Failure",
    "Error",
    "errored",
    "ValidationFailed",
    "deleteFailed",
    "TestFailed",
    "In progress",
    "IN_PROGRESS",
    "in-progress",
    "Cancelling",
    "PENDING",
    "RUNNING",
    "Partially Succeeded",
    "succeeded ",
    "Terminated",
];

/// More response headers the core reads now.
pub const RESPONSE_HEADERS_WIDE: &[&str] = &[
    "content-location",
    "asyncresult",
    "location",
    "x-ms-copy-status",
    "x-progress",
    "x-amz-job-id",
];

/// Google operation names, good and hostile.
pub const GOOGLE_NAMES: &[&str] = &[
    "operations/1",
    "projects/p/locations/l/operations/op-1",
    "operations/a%2Fb",
    "",
    "../escape",
    "a//b",
    "./x",
    "operations/1?x=1",
    "/operations/1",
    "https://svc.example/v1/operations/2",
    "https://other.example/v1/operations/3?sig=tok",
    "http://169.254.169.254/computeMetadata/v1/",
    "http://10.0.0.1/v1/operations/4",
    "ftp://svc.example/x",
];

/// Redirect statuses (spec §4a).
pub const REDIRECTS: &[u16] = &[301, 302, 303, 307, 308];

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
    /// The dialect the submission is read in (`Params::dialect`).
    pub dialect: DialectSpec,
}

/// A dialect a scenario names, as data (so a scenario prints and clones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialectSpec {
    /// The default dialect (spec §1–§5).
    Default,
    /// `Dialect::google()`, or `google_with_base(base)` (falling back to `google()` when the
    /// base is refused).
    Google(Option<String>),
    /// `Dialect::compute()`.
    Compute,
    /// `Dialect::from_json(json)`; only descriptions it accepts are made.
    Declared(String),
}

impl DialectSpec {
    /// The dialect itself.
    pub fn build(&self) -> Dialect {
        match self {
            DialectSpec::Default => Dialect::default(),
            DialectSpec::Google(None) => Dialect::google(),
            DialectSpec::Google(Some(base)) => {
                Dialect::google_with_base(base).unwrap_or_else(|_| Dialect::google())
            }
            DialectSpec::Compute => Dialect::compute(),
            DialectSpec::Declared(json) => {
                Dialect::from_json(json).expect("only accepted descriptions are made")
            }
        }
    }
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
    /// Let the bugs already reported pass (see [`Checks::CAMPAIGN`]), so that a campaign
    /// finds the others instead of the same one again.
    pub known_bugs_pass: bool,
}

impl Checks {
    /// Every check.
    pub const ALL: Checks = Checks {
        after_end_response: true,
        after_end_errors: true,
        known_bugs_pass: false,
    };

    /// What a campaign runs with: every check. When a campaign finds a bug that cannot be fixed
    /// at once, set `known_bugs_pass` here and give the bug an exact signature (as was done for
    /// the two this campaign found, both fixed: a Compute Engine `DONE` with `error.errors[]`
    /// reported as succeeded, `FUZZ_COMPUTE_FAILURE_READ_AS_SUCCESS`; the poll after a moved
    /// monitor sent below `min_wait`, `FUZZ_MOVED_MONITOR_BELOW_MIN_WAIT`).
    pub const CAMPAIGN: Checks = Checks::ALL;
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

/// Which decoder: `None` is the original one (older fuzz findings are byte literals of it);
/// `Some(dialect)` the wide one, which draws from the wider lists too and shapes bodies for the
/// scenario's dialect.
type W<'a> = Option<&'a DialectSpec>;

/// Picks from `base`, or (wide) from `base` followed by `extra`.
fn pick_w<'a, T>(
    u: &mut Unstructured<'_>,
    w: W<'_>,
    base: &'a [T],
    extra: &'a [T],
) -> AResult<&'a T> {
    if w.is_none() {
        return pick(u, base);
    }
    let i = u.choose_index(base.len() + extra.len())?;
    Ok(base.get(i).unwrap_or_else(|| &extra[i - base.len()]))
}

fn decode_url_value(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    decode_url(u, None)
}

fn decode_url(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Vec<u8>> {
    let top = if w.is_some() { 12 } else { 9 };
    Ok(match u.int_in_range(0u8..=top)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => {
            let n = u.int_in_range(60_000usize..=70_000)?;
            format!("https://svc.example/{}", "a".repeat(n)).into_bytes()
        }
        2 => {
            let base = pick_w(u, w, URL_VALUES, URL_VALUES_WIDE)?;
            let tail: &str = u.arbitrary()?;
            format!("{base}{tail}").into_bytes()
        }
        10 | 11 => pick(u, URL_VALUES_WIDE)?.as_bytes().to_vec(),
        12 => {
            let base = pick(u, URL_VALUES_WIDE)?;
            let token: &str = u.arbitrary()?;
            let sep = if base.contains('?') { '&' } else { '?' };
            let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            format!("{base}{sep}sig={token}").into_bytes()
        }
        _ => pick_w(u, w, URL_VALUES, URL_VALUES_WIDE)?
            .as_bytes()
            .to_vec(),
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
    decode_headers_w(u, None)
}

fn decode_headers_w(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Vec<(String, Vec<u8>)>> {
    let n = u.int_in_range(0u8..=5)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = *pick_w(u, w, RESPONSE_HEADERS, RESPONSE_HEADERS_WIDE)?;
        let value = match name {
            "operation-location"
            | "azure-asyncoperation"
            | "location"
            | "resource-location"
            | "content-location" => decode_url(u, w)?,
            "retry-after" | "retry-after-ms" | "x-ms-retry-after-ms" | "date" => {
                decode_retry_value(u)?
            }
            // A job id for `{header:x-amz-job-id}` templates: plain, escaped, hostile.
            "x-amz-job-id" if u.ratio(3u8, 4)? => {
                let values = ["j-1", "a/../b", "..", "//evil.example", "%2e%2e", " 7 "];
                pick(u, &values)?.as_bytes().to_vec()
            }
            "x-ms-copy-status" | "x-progress" if u.ratio(3u8, 4)? => {
                let values = [
                    "pending",
                    "success",
                    "failed",
                    "aborted",
                    "1024/4096",
                    "40%",
                    "1/0",
                    "Exporting Patient",
                    "",
                ];
                pick(u, &values)?.as_bytes().to_vec()
            }
            "asyncresult" if u.ratio(3u8, 4)? => {
                let codes = [
                    "200", "201", "204", "400", "404", "409", "500", "503", " 202 ",
                ];
                pick(u, &codes)?.as_bytes().to_vec()
            }
            _ => u.arbitrary::<&[u8]>()?.to_vec(),
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

fn json_state(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<serde_json::Value> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => serde_json::Value::Null,
        1 => serde_json::json!(3),
        2 => serde_json::json!({"a": 1}),
        3 => serde_json::Value::String(u.arbitrary::<String>()?),
        _ => serde_json::Value::String((*pick_w(u, w, STATES, STATES_WIDE)?).to_owned()),
    })
}

/// An `error` member: OData objects, Compute `errors[]`, `google.rpc.Status`, and nonsense.
fn json_error(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let top = if w.is_some() { 9 } else { 3 };
    Ok(match u.int_in_range(0u8..=top)? {
        0 => json!({"code": "Bad", "message": "broken", "details": {"code": "D"}}),
        1 => json!({"code": 5, "details": [{"code": "A"}, 3, null]}),
        2 => json!("not an object"),
        3 => json!({"innererror": {"deep": [1, 2, 3]}}),
        4 => json!({"errors": [{"code": "QUOTA_EXCEEDED", "message": "quota"}]}),
        5 => json!({"errors": []}),
        6 => json!({"code": "0", "message": null}),
        7 => json!({"code": 1, "message": "cancelled"}),
        8 => json!({"code": u.arbitrary::<i64>()?, "message": u.arbitrary::<String>()?}),
        _ => json!({}),
    })
}

fn decode_doc(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Vec<u8>> {
    let mut obj = serde_json::Map::new();
    if !u.ratio(1u8, 6)? {
        obj.insert("status".into(), json_state(u, w)?);
    }
    if u.ratio(1u8, 3)? {
        let mut props = serde_json::Map::new();
        props.insert("provisioningState".into(), json_state(u, w)?);
        if u.ratio(1u8, 4)? {
            props.insert("error".into(), serde_json::json!({"code": "Inner"}));
        }
        obj.insert("properties".into(), props.into());
    }
    if u.ratio(1u8, 6)? {
        obj.insert("provisioningState".into(), json_state(u, w)?);
    }
    if u.ratio(1u8, 3)? {
        obj.insert("operationId".into(), serde_json::json!("op-1"));
    }
    if u.ratio(1u8, 6)? {
        obj.insert("id".into(), serde_json::json!(7));
    }
    if u.ratio(1u8, 3)? {
        let v = String::from_utf8_lossy(&decode_url(u, w)?).into_owned();
        obj.insert("resourceLocation".into(), v.into());
    }
    if u.ratio(1u8, 4)? {
        obj.insert("error".into(), json_error(u, w)?);
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

fn decode_body(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Option<Vec<u8>>> {
    let top = if w.is_some() { 16 } else { 11 };
    Ok(Some(match u.int_in_range(0u8..=top)? {
        0 => Vec::new(),
        1 => u.arbitrary::<&[u8]>()?.to_vec(),
        2 => pick(
            u,
            &["[1,2]", "\"Running\"", "null", "3", "{", "  \n", "<html>"],
        )?
        .as_bytes()
        .to_vec(),
        3 => {
            let mut d = decode_doc(u, w)?;
            let cut = u.int_in_range(0..=d.len())?;
            d.truncate(cut);
            d
        }
        4 => {
            let mut d = b"\xEF\xBB\xBF".to_vec();
            d.extend(decode_doc(u, w)?);
            d
        }
        5 => return Ok(None),
        12..=15 => dialect_body(u, w)?,
        16 => {
            let mut d = dialect_body(u, w)?;
            let cut = u.int_in_range(0..=d.len())?;
            d.truncate(cut);
            d
        }
        _ => decode_doc(u, w)?,
    }))
}

/// A body in the scenario's dialect (any dialect's, for the default one).
fn dialect_body(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Vec<u8>> {
    let which = match w {
        Some(DialectSpec::Google(_)) => 0,
        Some(DialectSpec::Compute) => 1,
        Some(DialectSpec::Declared(_)) => 2,
        _ => u.int_in_range(0u8..=2)?,
    };
    let value = match which {
        0 => google_op(u, w)?,
        1 => compute_op(u, w)?,
        _ => declared_doc(u, w)?,
    };
    Ok(value.to_string().into_bytes())
}

fn decode_status(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<u16> {
    if u.ratio(1u8, 16)? {
        u.int_in_range(100..=999)
    } else {
        Ok(*pick_w(u, w, STATUSES, REDIRECTS)?)
    }
}

fn decode_answer(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Answer> {
    Ok(Answer {
        status: decode_status(u, w)?,
        headers: decode_headers_w(u, w)?,
        body: decode_body(u, w)?,
    })
}

/// A status monitor's redirect (spec §4a): a redirect status, usually a `Location`.
fn decode_redirect(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Answer> {
    let mut answer = decode_answer(u, w)?;
    answer.status = *pick(u, REDIRECTS)?;
    if !u.ratio(1u8, 10)? {
        answer
            .headers
            .insert(0, ("location".to_owned(), decode_url(u, w)?));
    }
    Ok(answer)
}

fn decode_event(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Event> {
    let latency_ms = match u.int_in_range(0u8..=3)? {
        0 => 0,
        1 => u.int_in_range(0..=100)?,
        2 => u.int_in_range(0..=600_000)?,
        _ => u.arbitrary()?,
    };
    let top = if w.is_some() { 19 } else { 15 };
    Ok(match u.int_in_range(0u8..=top)? {
        0 => Event::Transport { latency_ms },
        1 => Event::TooLarge {
            answer: decode_answer(u, w)?,
            latency_ms,
        },
        2 => Event::BodyRead {
            answer: decode_answer(u, w)?,
            latency_ms,
        },
        16..=18 => Event::Response {
            answer: decode_redirect(u, w)?,
            latency_ms,
        },
        19 => {
            let mut answer = decode_answer(u, w)?;
            answer.status = *pick(u, &[200u16, 200, 201, 202])?;
            answer.body = Some(dialect_body(u, w)?);
            Event::Response { answer, latency_ms }
        }
        _ => Event::Response {
            answer: decode_answer(u, w)?,
            latency_ms,
        },
    })
}

// ----------------------------------------------------------------------------------------------
// Dialect bodies and descriptions

fn opt_insert(
    u: &mut Unstructured<'_>,
    obj: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    odds: u8,
    value: impl FnOnce(&mut Unstructured<'_>) -> AResult<serde_json::Value>,
) -> AResult<()> {
    if u.ratio(odds, 8)? {
        let v = value(u)?;
        obj.insert(key.to_owned(), v);
    }
    Ok(())
}

fn url_json(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<serde_json::Value> {
    Ok(String::from_utf8_lossy(&decode_url(u, w)?)
        .into_owned()
        .into())
}

/// A Google `Operation` (AIP-151): well-formed most of the time, wrong types sometimes.
fn google_op(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "name", 7, |u| {
        Ok(match u.int_in_range(0u8..=5)? {
            0 => u.arbitrary::<String>()?.into(),
            1 => url_json(u, w)?,
            2 => json!(42),
            _ => (*pick(u, GOOGLE_NAMES)?).into(),
        })
    })?;
    opt_insert(u, &mut obj, "done", 6, |u| {
        Ok(match u.int_in_range(0u8..=7)? {
            0 => json!(null),
            1 => json!("true"),
            2 | 3 => json!(false),
            _ => json!(true),
        })
    })?;
    opt_insert(u, &mut obj, "error", 3, |u| json_error(u, w))?;
    opt_insert(u, &mut obj, "response", 3, |u| {
        Ok(match u.int_in_range(0u8..=3)? {
            0 => json!({"@type": "type.googleapis.com/x.Thing", "name": "things/1"}),
            1 => json!(null),
            2 => json!([1, {"a": "b"}]),
            _ => u.arbitrary::<String>()?.into(),
        })
    })?;
    opt_insert(u, &mut obj, "metadata", 3, |u| {
        let key = *pick(
            u,
            &["progressPercent", "progress_percent", "percentComplete"],
        )?;
        Ok(match u.int_in_range(0u8..=2)? {
            0 => json!({ key: u.arbitrary::<f32>()? }),
            1 => json!({ key: u.arbitrary::<String>()? }),
            _ => json!({"progress": {"progressPercent": u.arbitrary::<i64>()?}}),
        })
    })?;
    Ok(obj.into())
}

/// A Compute Engine `Operation`.
fn compute_op(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "kind", 7, |u| {
        Ok((*pick(
            u,
            &["compute#operation", "compute#operation", "compute#instance"],
        )?)
        .into())
    })?;
    opt_insert(u, &mut obj, "status", 7, |u| {
        Ok(match u.int_in_range(0u8..=9)? {
            0 => json_state(u, w)?,
            1 => json!(7),
            n => ([
                "PENDING", "RUNNING", "DONE", "DONE", "DONE", "done", "RUNNING", "DONE",
            ][usize::from(n - 2)])
            .into(),
        })
    })?;
    opt_insert(u, &mut obj, "name", 4, |_| Ok("operation-1".into()))?;
    opt_insert(u, &mut obj, "selfLink", 7, |u| url_json(u, w))?;
    opt_insert(u, &mut obj, "targetLink", 6, |u| url_json(u, w))?;
    opt_insert(u, &mut obj, "operationType", 4, |u| {
        Ok((*pick(u, &["insert", "delete", "DELETE", "setMetadata", ""])?).into())
    })?;
    opt_insert(u, &mut obj, "error", 3, |u| json_error(u, w))?;
    opt_insert(u, &mut obj, "progress", 2, |u| {
        Ok(json!(u.arbitrary::<i32>()?))
    })?;
    opt_insert(u, &mut obj, "httpErrorStatusCode", 1, |u| {
        Ok(json!(u.arbitrary::<i32>()?))
    })?;
    Ok(obj.into())
}

/// A body for declared dialects: the members the fixtures and the structured descriptions
/// point at, each present or not.
fn declared_doc(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "status", 6, |u| json_state(u, w))?;
    opt_insert(u, &mut obj, "runtimeStatus", 2, |u| json_state(u, w))?;
    opt_insert(u, &mut obj, "self", 3, |u| url_json(u, w))?;
    opt_insert(u, &mut obj, "statusQueryGetUri", 2, |u| url_json(u, w))?;
    opt_insert(u, &mut obj, "targetResourceLocation", 2, |u| url_json(u, w))?;
    opt_insert(u, &mut obj, "action", 3, |u| {
        let id = if u.arbitrary()? {
            json!(u.arbitrary::<u32>()?)
        } else {
            json!("a/../b")
        };
        Ok(json!({"id": id, "status": json_state(u, w)?, "resource_id": 7}))
    })?;
    opt_insert(u, &mut obj, "_links", 2, |u| {
        Ok(json!({"self": {"href": url_json(u, w)?}}))
    })?;
    opt_insert(u, &mut obj, "links", 2, |u| {
        Ok(json!({"actions": [{"href": url_json(u, w)?}], "files": url_json(u, w)?}))
    })?;
    opt_insert(u, &mut obj, "error", 2, |u| json_error(u, w))?;
    opt_insert(u, &mut obj, "output", 2, |u| {
        Ok(if u.arbitrary()? {
            json!({"result": [1, 2]})
        } else {
            json!("done: ok")
        })
    })?;
    opt_insert(u, &mut obj, "title", 1, |u| {
        Ok(u.arbitrary::<String>()?.into())
    })?;
    // Issue 15: links chosen by relation, a task's state beside its result, FHIR issues.
    opt_insert(u, &mut obj, "items", 2, |u| {
        let rels = [
            "self",
            "results",
            "http://www.opengis.net/def/rel/ogc/1.0/results",
            "a]b=c",
        ];
        let n = u.int_in_range(0u8..=3)?;
        let mut links = Vec::new();
        for _ in 0..n {
            links.push(json!({"rel": *pick(u, &rels)?, "href": url_json(u, w)?, "id": 7}));
        }
        Ok(links.into())
    })?;
    opt_insert(u, &mut obj, "state", 2, |u| json_state(u, w))?;
    opt_insert(u, &mut obj, "issue", 2, |u| {
        Ok(json!([{"severity": "error", "diagnostics": u.arbitrary::<String>()?}]))
    })?;
    Ok(obj.into())
}

/// The declared dialects of `tests/fixtures/dialects/`.
pub const DIALECT_FIXTURES: &[&str] = &[
    include_str!("../../tests/fixtures/dialects/digitalocean-droplet-actions.json"),
    include_str!("../../tests/fixtures/dialects/durable-functions.json"),
    include_str!("../../tests/fixtures/dialects/graph-teams-operations.json"),
    include_str!("../../tests/fixtures/dialects/hal-task-resource.json"),
    include_str!("../../tests/fixtures/dialects/speech-batch-transcription.json"),
    include_str!("../../tests/fixtures/dialects/azure-blob-copy.json"),
    include_str!("../../tests/fixtures/dialects/fhir-bulk-export.json"),
    include_str!("../../tests/fixtures/dialects/ogc-api-processes-job.json"),
    include_str!("../../tests/fixtures/dialects/celery-flower-task.json"),
    include_str!("../../tests/fixtures/dialects/aws-mediaconvert-job.json"),
    include_str!("../../tests/fixtures/dialects/aws-transcribe-job.json"),
];

const POINTERS: &[&str] = &[
    "/status",
    "/self",
    "/action/status",
    "/action/id",
    "/runtimeStatus",
    "/statusQueryGetUri",
    "/links/actions/0/href",
    "/_links/self/href",
    "/links/files",
    "/targetResourceLocation",
    "/output",
    "/error",
    "/title",
    "",
    "/",
    "/a~1b/~0",
    "status",
    "/~2",
    // Selectors (issue 15): by a member's value, escaped, chained, unclosed, empty.
    "/items[rel=results]/href",
    "/items[rel=http://www.opengis.net/def/rel/ogc/1.0/results]/href",
    "/items/[rel=self]/href",
    "/items[rel=a~3b~4c]/href",
    "/items[rel=self][rel=self]",
    "/items[id=7]",
    "/issue[severity=error]/diagnostics",
    "/issue/0/diagnostics",
    "/state",
    "/items[rel=",
    "/items[=x]",
    "/items[rel=x]y",
    "/a~2b",
];

const TEMPLATES: &[&str] = &[
    "https://svc.example/v2/actions/{/action/id}",
    "/ops/{/action/id}",
    "https://svc.example/{/self}",
    "http://169.254.169.254/{/action/id}",
    "{/self}",
    "https://svc.example/{",
    "https://svc.example/{}x",
    "https://svc.example/{/a}{/b}",
    // Issue 15: headers, the status URL, the submission's URL; network paths; malformed.
    "/jobs/{header:x-amz-job-id}",
    "jobs/{header:X-Amz-Job-Id}/{/action/id}",
    "{submission_url}/status/{/action/id}",
    "{status_url}/output",
    "{status_url}",
    "//evil.example/{/action/id}",
    "\\\\169.254.169.254/{header:x-amz-job-id}",
    "/x/{header:bad name}",
    "/x/{nope}",
    "/x/{header:}",
];

/// A `status_request` / `result_request`: a method (allowed or not), headers (some refused),
/// maybe a JSON body template.
fn request_spec(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "method", 5, |u| {
        Ok((*pick(u, &["GET", "HEAD", "POST", "POST", "DELETE", "get"])?).into())
    })?;
    opt_insert(u, &mut obj, "headers", 3, |u| {
        let names = [
            "X-Amz-Target",
            "Content-Type",
            "Accept",
            "Authorization",
            "Content-Length",
            "Host",
            "bad name",
        ];
        let values = ["Svc.GetJob", "application/x-amz-json-1.1", "bad\nvalue", ""];
        let mut headers = serde_json::Map::new();
        for _ in 0..u.int_in_range(0u8..=3)? {
            headers.insert((*pick(u, &names)?).to_owned(), (*pick(u, &values)?).into());
        }
        Ok(headers.into())
    })?;
    opt_insert(u, &mut obj, "body", 4, |u| {
        let texts = [
            "{/action/id}",
            "{/self}",
            "{header:x-amz-job-id}",
            "{status_url}",
            "{submission_url}",
            "plain",
            "{nope}",
            "{/missing}",
        ];
        Ok(match u.int_in_range(0u8..=3)? {
            0 => json!({"JobName": *pick(u, &texts)?}),
            1 => json!({"Ids": [*pick(u, &texts)?, 3, null], "Nested": {"X": *pick(u, &texts)?}}),
            2 => json!(*pick(u, &texts)?),
            _ => json!(u.arbitrary::<u8>()?),
        })
    })?;
    opt_insert(u, &mut obj, "bogus", 1, |_| Ok(json!(1)))?;
    Ok(obj.into())
}

/// A URL source (`status_url`) or result source of a description.
fn url_source(u: &mut Unstructured<'_>, result: bool) -> AResult<serde_json::Value> {
    use serde_json::json;
    let free = |u: &mut Unstructured<'_>, list: &[&str]| -> AResult<String> {
        Ok(if u.ratio(1u8, 6)? {
            u.arbitrary::<String>()?
        } else {
            (*pick(u, list)?).to_owned()
        })
    };
    let headers = [
        "Location",
        "Operation-Location",
        "Content-Location",
        "x-status",
        "bad name",
    ];
    if !result && u.ratio(1u8, 6)? {
        return Ok(json!("self"));
    }
    Ok(match u.int_in_range(0u8..=if result { 3 } else { 2 })? {
        0 => json!({"header": free(u, &headers)?}),
        1 => json!({"pointer": free(u, POINTERS)?}),
        2 => json!({"template": free(u, TEMPLATES)?}),
        _ => json!({"embedded": free(u, POINTERS)?}),
    })
}

fn sources(u: &mut Unstructured<'_>, result: bool) -> AResult<serde_json::Value> {
    let n = u.int_in_range(0u8..=3)?;
    if n == 1 {
        return url_source(u, result);
    }
    let items: AResult<Vec<_>> = (0..n).map(|_| url_source(u, result)).collect();
    Ok(items?.into())
}

fn word_list(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    let n = u.int_in_range(0u8..=3)?;
    let mut words = Vec::new();
    for _ in 0..n {
        words.push(if u.ratio(1u8, 4)? {
            u.arbitrary::<String>()?
        } else {
            (*pick_w(u, Some(&DialectSpec::Default), STATES, STATES_WIDE)?).to_owned()
        });
    }
    Ok(words.into())
}

/// Where a declared dialect reads a text: a pointer, `{"pointer": …}` or `{"header": …}`.
fn place(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let headers = ["x-ms-copy-status", "x-progress", "X-Progress", "bad name"];
    Ok(match u.int_in_range(0u8..=2)? {
        0 => json!({"header": *pick(u, &headers)?}),
        1 => json!({"pointer": *pick(u, POINTERS)?}),
        _ => json!(*pick(u, POINTERS)?),
    })
}

/// A dialect description from structured but arbitrary fields (or a fixture), as JSON text.
pub fn declared_json(u: &mut Unstructured<'_>) -> AResult<String> {
    use serde_json::json;
    if u.ratio(1u8, 4)? {
        return Ok((*pick(u, DIALECT_FIXTURES)?).to_owned());
    }
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "name", 4, |u| {
        Ok(u.arbitrary::<String>()?.into())
    })?;
    opt_insert(u, &mut obj, "status_url", 7, |u| sources(u, false))?;
    let codes = |u: &mut Unstructured<'_>| -> AResult<serde_json::Value> {
        let n = u.int_in_range(0u8..=3)?;
        let all: AResult<Vec<u16>> = (0..n)
            .map(|_| {
                if u.ratio(1u8, 8)? {
                    u.arbitrary()
                } else {
                    Ok(*pick(u, &[200u16, 201, 202, 204, 303, 400, 500])?)
                }
            })
            .collect();
        Ok(json!(all?))
    };
    opt_insert(u, &mut obj, "start_on", 5, codes)?;
    opt_insert(u, &mut obj, "status_body_on", 2, codes)?;
    opt_insert(u, &mut obj, "status_word", 7, |u| {
        Ok(if u.ratio(1u8, 8)? {
            u.arbitrary::<String>()?.into()
        } else if u.ratio(1u8, 6)? {
            place(u)?
        } else {
            (*pick(u, POINTERS)?).into()
        })
    })?;
    opt_insert(u, &mut obj, "words", 3, |u| {
        let mut words = serde_json::Map::new();
        for meaning in ["succeeded", "failed", "canceled", "running"] {
            opt_insert(u, &mut words, meaning, 3, word_list)?;
        }
        Ok(words.into())
    })?;
    opt_insert(u, &mut obj, "result", 4, |u| sources(u, true))?;
    opt_insert(
        u,
        &mut obj,
        "error",
        3,
        |u| Ok((*pick(u, POINTERS)?).into()),
    )?;
    opt_insert(u, &mut obj, "error_marks_failure", 2, |u| {
        Ok(u.arbitrary::<bool>()?.into())
    })?;
    opt_insert(u, &mut obj, "base_url", 2, |u| {
        url_json(u, Some(&DialectSpec::Default))
    })?;
    // Issue 15: meaning by HTTP status, progress from a pointer or a header.
    opt_insert(u, &mut obj, "status_codes", 3, |u| {
        let keys = [
            "200", "202", "404", "500", "503", "4xx", "5XX", "2xx", "302", "6xx", "x",
        ];
        let meanings = ["running", "succeeded", "failed", "canceled", "done"];
        let mut codes = serde_json::Map::new();
        for _ in 0..u.int_in_range(0u8..=3)? {
            codes.insert((*pick(u, &keys)?).to_owned(), (*pick(u, &meanings)?).into());
        }
        Ok(codes.into())
    })?;
    opt_insert(u, &mut obj, "progress", 2, place)?;
    // Issue 15: checks that are not a plain `GET`.
    opt_insert(u, &mut obj, "status_request", 3, request_spec)?;
    opt_insert(u, &mut obj, "result_request", 2, request_spec)?;
    opt_insert(u, &mut obj, "bogus", 1, |_| Ok(json!(1)))?;
    Ok(serde_json::Value::Object(obj).to_string())
}

/// A dialect for a wide scenario: mostly the default one; declared ones only when accepted.
fn decode_dialect(u: &mut Unstructured<'_>) -> AResult<DialectSpec> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 | 1 => DialectSpec::Default,
        2 => DialectSpec::Google(None),
        3 => {
            let base = pick(
                u,
                &[
                    "https://svc.example/v1/",
                    "https://svc.example",
                    "http://10.0.0.1/v1",
                ],
            )?;
            DialectSpec::Google(Some((*base).to_owned()))
        }
        4 => DialectSpec::Compute,
        _ => {
            let json = declared_json(u)?;
            match Dialect::from_json(&json) {
                Ok(_) => DialectSpec::Declared(json),
                Err(_) => DialectSpec::Default,
            }
        }
    })
}

impl Scenario {
    /// Decodes a scenario from fuzzer bytes, as the first harness did (the byte literals of
    /// older findings in `tests/props.rs` decode through this).
    pub fn decode(u: &mut Unstructured<'_>) -> AResult<Scenario> {
        Self::decode_with(u, None)
    }

    /// Decodes a scenario that may name a dialect, answer with redirects, dialect bodies,
    /// `Content-Location`, `AsyncResult` and the wider vocabulary (spec §3–§4a, §7, §10).
    pub fn decode_wide(u: &mut Unstructured<'_>) -> AResult<Scenario> {
        let dialect = decode_dialect(u)?;
        Self::decode_with(u, Some(&dialect))
    }

    fn decode_with(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Scenario> {
        let knobs = decode_knobs(u)?;
        let methods = [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::GET,
        ];
        let method = pick(u, &methods)?.clone();
        let url = match w {
            None => u.choose_index(SUBMISSIONS.len())?,
            Some(_) => u.choose_index(SUBMISSIONS.len() + SUBMISSIONS_WIDE.len())?,
        };
        let mut request_headers = Vec::new();
        for i in 0..REQUEST_HEADERS.len() {
            if u.ratio(2u8, 3)? {
                request_headers.push(i);
            }
        }
        let submission = decode_submission(u, w)?;
        let mut events = Vec::new();
        while !u.is_empty() && events.len() < 64 {
            events.push(decode_event(u, w)?);
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
            dialect: w.cloned().unwrap_or(DialectSpec::Default),
        })
    }
}

/// The submission's answer: usually something that starts an LRO (in the scenario's dialect).
fn decode_submission(u: &mut Unstructured<'_>, w: W<'_>) -> AResult<Answer> {
    let mut submission = decode_answer(u, w)?;
    let dialect_start = matches!(w, Some(d) if *d != DialectSpec::Default);
    if dialect_start && u.ratio(3u8, 4)? {
        submission.status = *pick(u, &[200u16, 200, 201, 202])?;
        submission.body = Some(dialect_body(u, w)?);
        if u.ratio(1u8, 3)? {
            submission
                .headers
                .insert(0, ("location".to_owned(), decode_url(u, w)?));
        }
    } else if u.ratio(3u8, 4)? {
        submission.status = *pick(u, &[200u16, 201, 202, 202, 202])?;
        let names = ["operation-location", "azure-asyncoperation", "location"];
        let name = *pick_w(u, w, &names, &["content-location"])?;
        submission
            .headers
            .insert(0, (name.to_owned(), decode_url(u, w)?));
    }
    Ok(submission)
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
    config_of(&layer).clone()
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
    /// The dialect of the scenario.
    dialect: DialectSpec,
    /// Whether the submission went to an internal host (localhost, loopback, private).
    sub_internal: bool,
    /// A declared dialect's `status_request` and `result_request`, as the harness reads them.
    declared_requests: [Option<DeclaredRequest>; 2],
}

/// How a declared dialect says a status or result request is sent, read from its JSON apart
/// from the library.
#[derive(Debug, Clone)]
struct DeclaredRequest {
    method: Method,
    headers: Vec<String>,
    body: bool,
}

fn declared_requests(dialect: &DialectSpec) -> [Option<DeclaredRequest>; 2] {
    let DialectSpec::Declared(json) = dialect else {
        return [None, None];
    };
    let value: serde_json::Value = serde_json::from_str(json).expect("accepted JSON");
    ["status_request", "result_request"].map(|field| {
        let spec = value.get(field)?;
        Some(DeclaredRequest {
            method: spec
                .get("method")
                .and_then(|m| m.as_str())
                .map_or(Method::GET, |m| m.parse().expect("accepted method")),
            headers: spec
                .get("headers")
                .and_then(|h| h.as_object())
                .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
                .unwrap_or_default(),
            body: spec.get("body").is_some(),
        })
    })
}

impl Ctx {
    fn new(s: &Scenario) -> Ctx {
        let cfg = Arc::new(config(&s.knobs));
        let submission_url = submission_url(s.url);
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
        params = params.dialect(s.dialect.build());
        let sub_internal =
            uri.scheme().is_some() && host_kind(&base_url(submission_url)) == HostKind::Internal;
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
            dialect: s.dialect.clone(),
            sub_internal,
            declared_requests: declared_requests(&s.dialect),
        }
    }

    /// The name of the scenario's dialect.
    fn params_dialect_name(&self) -> String {
        self.dialect.build().name().to_owned()
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
    /// What the run is held to.
    checks: Checks,
    /// The last answer was a status monitor's `301`/`307`/`308`.
    moved: bool,
    /// A status monitor's redirect just handed in: where it pointed (absolute values only).
    redirect_to: Option<url::Url>,
}

/// The request an action plans, if any: when and of what kind.
fn planned(action: &Action) -> Option<(Instant, PollKind)> {
    match action {
        Action::Send { at, request } => Some((*at, request.kind())),
        _ => None,
    }
}

/// The submission step: `Submission::new(…).start(…)`, and its checks.
fn start(
    ctx: &Ctx,
    s: &Scenario,
    clock: &Clock,
    checks: Checks,
) -> Result<(Box<Machine>, Plan), End> {
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
    let over = dialect_failure(&ctx.dialect, &s.submission);
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
        Ok(Begin::Final(meta)) => {
            if over {
                check_not_success(&ctx.dialect, &Action::Deliver(meta), checks);
            }
            Err(End::Delivered)
        }
        Ok(Begin::Lro(machine, plan)) => {
            assert_eq!(machine.deadline(), deadline, "one deadline");
            assert!(
                !(over && matches!(plan, Plan::Send { .. })),
                "a failed {:?} operation goes on with {plan:?}",
                ctx.dialect
            );
            Ok((machine, plan))
        }
    }
}

/// Drives the machine through the scenario, checking every invariant (panics on a break).
pub fn run(s: &Scenario, checks: Checks) -> Summary {
    let ctx = Ctx::new(s);
    let t0 = Instant::now();
    let clock = Clock { t0, now: t0 };
    let (machine, plan) = match start(&ctx, s, &clock, checks) {
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
        checks,
        moved: false,
        redirect_to: None,
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
            Action::Deliver(d) => break run.delivered(&d.metadata),
            // The harness never asks for a cancel on giving up: that is a failure as well.
            Action::Fail(e) | Action::Cancel { error: e, .. } => break run.failed(&e),
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
            Ok((resumed, Plan::Send { at, request })) => {
                assert_eq!(at, now, "a resumed operation polls at once");
                // The handle carries the dialect, and the resumed operation keeps it.
                assert_eq!(h.dialect(), ctx.params_dialect_name(), "{h:?}");
                assert_eq!(resumed.resume_handle().dialect(), h.dialect());
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
            Ok((_, Plan::Fail(e) | Plan::Cancel { error: e, .. })) | Err(e) => {
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
                let known_bug = self.checks.known_bugs_pass && self.moved;
                assert!(
                    wait >= min || known_bug,
                    "wait {wait:?} below min_wait {min:?}"
                );
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

    /// What a request looks like: a `GET` (or what a declared dialect says: a `HEAD`, a
    /// `POST` with its body) to http(s), numbered, without the submission's body headers (but
    /// those the description sets), and without credentials once the operation went to a
    /// foreign origin.
    fn check_request(&mut self, request: PollRequest) {
        let ctx = self.ctx;
        let kind = request.kind();
        let declared = match kind {
            PollKind::Status => ctx.declared_requests[0].as_ref(),
            _ => ctx.declared_requests[1].as_ref(),
        };
        let body = request.body().cloned();
        let req: http::Request<()> = request.into_request();
        let set_by_description =
            |name: &str| declared.is_some_and(|d| d.headers.iter().any(|h| h == name));
        match declared {
            // A status request is always as declared.
            Some(d) if kind == PollKind::Status => assert_eq!(req.method(), d.method),
            // A result is fetched as declared, or with `GET` (a `303`, a `HEAD`'s resource).
            Some(d) => assert!(req.method() == d.method || req.method() == Method::GET),
            None => assert_eq!(req.method(), Method::GET),
        }
        if let Some(body) = &body {
            assert_eq!(req.method(), Method::POST, "a body on a {}", req.method());
            assert!(declared.is_some_and(|d| d.body), "a body nobody declared");
            let _: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
        } else {
            let posted = req.method() == Method::POST;
            assert!(
                !(posted && declared.is_some_and(|d| d.body)),
                "declared body not sent"
            );
        }
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
                set_by_description(name) || !req.headers().contains_key(*name),
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
        let url = self.check_host(uri);
        self.check_redirect_query(&url);
    }

    /// No credential after a foreign hop (cumulative); same-origin polls before it keep them.
    fn check_credentials(&mut self, req: &http::Request<()>) {
        let ctx = self.ctx;
        let uri = req.uri();
        let target = origin_of(uri, &ctx.sub_origin);
        self.tainted |= target != ctx.sub_origin && !ctx.allowed(&target);
        let names = &ctx.credential_names;
        // The configured names and the library's list (`tower_lro::credentials`).
        let header_is =
            |n: &str| names.contains(n) || tower_lro::credentials::is_credential_header(n);
        let query_is = |k: &str| {
            names.contains(&*k.to_ascii_lowercase())
                || tower_lro::credentials::is_credential_query(k)
        };
        let query_secret = uri.query().is_some_and(|q| {
            url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| query_is(&k) && v == "secret")
        });
        let header_secret = req.headers().keys().any(|n| header_is(n.as_str()));
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
                if header_is(n.as_str()) && !NEVER_COPIED.contains(&n.as_str()) {
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
        self.moved = false;
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
            Event::Response { answer, .. } => self.answer(now, answer, headers),
            failure => {
                let too_large = matches!(failure, Event::TooLarge { .. });
                let failure = match failure {
                    Event::TooLarge { .. } => Failure::BodyTooLarge { status, headers },
                    Event::BodyRead { .. } => Failure::BodyFailed {
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

    /// An answer handed in through `handle_answer`; a dialect's failed operation is never a
    /// success, and a redirect's target is remembered for [`Run::check_redirect_query`].
    fn answer(&mut self, now: Now, answer: Answer, headers: &HeaderMap) -> Action {
        let status = status_code(answer.status);
        let polled = self.in_flight == PollKind::Status;
        let over = polled && dialect_failure(&self.ctx.dialect, &answer);
        self.redirect_to = self.redirect_target(polled, &answer);
        self.moved = polled && matches!(answer.status, 301 | 307 | 308);
        let body = answer.body.map(Bytes::from);
        let body = if self.machine.wants_body(status) {
            Some(body.unwrap_or_default())
        } else {
            None
        };
        let answer = CoreAnswer {
            status,
            headers,
            body: body.as_ref(),
        };
        let action = self.machine.handle_answer(now, answer);
        if over {
            check_not_success(&self.ctx.dialect, &action, self.checks);
        }
        action
    }

    /// Where a status monitor's redirect points, when its `Location` is a plain absolute URL.
    fn redirect_target(&self, polled: bool, answer: &Answer) -> Option<url::Url> {
        if !polled || !REDIRECTS.contains(&answer.status) {
            return None;
        }
        let map = header_map(&answer.headers);
        let text = map.get("location")?.to_str().ok()?;
        let plain = text.trim() == text && !text.contains('"');
        let absolute = text.starts_with("http://") || text.starts_with("https://");
        url::Url::parse(text).ok().filter(|_| plain && absolute)
    }

    /// Spec §4a: a redirect's own query (a SAS or `tempauth` token) is the server's to give
    /// and is kept on the request that follows it there.
    fn check_redirect_query(&mut self, sent: &url::Url) {
        let Some(target) = self.redirect_to.take() else {
            return;
        };
        let same = target.host() == sent.host()
            && target.port_or_known_default() == sent.port_or_known_default()
            && target.path() == sent.path();
        if !same {
            return;
        }
        for (k, v) in target.query_pairs() {
            assert!(
                sent.query_pairs().any(|(k2, v2)| k2 == k && v2 == v),
                "the redirect's own query {k}={v} dropped: {target} → {sent}"
            );
        }
    }

    /// Spec §7: nothing to a link-local, unspecified or metadata host, and nothing to an
    /// internal host unless the submission went to one. Returns the request's URL.
    fn check_host(&self, uri: &Uri) -> url::Url {
        let Some(_) = uri.scheme() else {
            return base_url("/")
                .join(&uri.to_string())
                .expect("origin-form URL");
        };
        let url = url::Url::parse(&uri.to_string()).expect("poll URIs are URLs");
        match host_kind(&url) {
            HostKind::Public => {}
            HostKind::Forbidden => panic!("sent to a link-local/metadata host: {uri}"),
            HostKind::Internal => assert!(
                self.ctx.sub_internal,
                "sent to an internal host though the submission went to {}: {uri}",
                self.ctx.submission_url
            ),
        }
        url
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

/// Where a host stands for the SSRF guard (spec §7), read independently of the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// Anything else.
    Public,
    /// `localhost`, loopback, private ranges: only when the submission went to one.
    Internal,
    /// Link-local, unspecified, cloud metadata: never.
    Forbidden,
}

/// The [`HostKind`] of a URL's host (as the URL standard reads it: `0x7f.1` is `127.0.0.1`).
pub fn host_kind(url: &url::Url) -> HostKind {
    use std::net::{Ipv4Addr, Ipv6Addr};
    fn v4(ip: Ipv4Addr) -> HostKind {
        if ip.is_link_local() || ip.octets()[0] == 0 {
            HostKind::Forbidden
        } else if ip.is_loopback() || ip.is_private() {
            HostKind::Internal
        } else {
            HostKind::Public
        }
    }
    fn v6(ip: Ipv6Addr) -> HostKind {
        let first = ip.segments()[0];
        if let Some(ip) = ip.to_ipv4_mapped() {
            v4(ip)
        } else if ip.is_unspecified() || first & 0xffc0 == 0xfe80 {
            HostKind::Forbidden
        } else if ip.is_loopback() || first & 0xfe00 == 0xfc00 {
            HostKind::Internal
        } else {
            HostKind::Public
        }
    }
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "metadata.google.internal" {
                HostKind::Forbidden
            } else if d == "localhost" || d.ends_with(".localhost") {
                HostKind::Internal
            } else {
                HostKind::Public
            }
        }
        Some(url::Host::Ipv4(ip)) => v4(ip),
        Some(url::Host::Ipv6(ip)) => v6(ip),
        None => HostKind::Public,
    }
}

/// Whether a `2xx` answer reports a finished, failed operation of the dialect: a Google
/// `Operation` with `done: true` and an `error`, or a Compute Engine `DONE` with
/// `error.errors[]` (spec §10).
pub fn dialect_failure(dialect: &DialectSpec, answer: &Answer) -> bool {
    use serde_json::Value;
    if !(200..300).contains(&answer.status) {
        return false;
    }
    let Some(v) = answer
        .body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
    else {
        return false;
    };
    match dialect {
        DialectSpec::Google(_) => {
            v.get("done") == Some(&Value::Bool(true))
                && v.get("error").is_some_and(Value::is_object)
        }
        DialectSpec::Compute => {
            let done = v
                .get("status")
                .and_then(Value::as_str)
                .is_some_and(|s| s.eq_ignore_ascii_case("done"));
            let errors = v.pointer("/error/errors").and_then(Value::as_array);
            done && errors.is_some_and(|e| !e.is_empty())
        }
        _ => false,
    }
}

/// The known bug of [`Checks::CAMPAIGN`]: a failed Compute operation's metadata says `DONE`,
/// read as succeeded.
fn known_compute_bug(dialect: &DialectSpec, meta: &tower_lro::LroMetadata) -> bool {
    *dialect == DialectSpec::Compute && meta.status().is_success()
}

/// After a dialect's failed operation: a failure, or (`failure_as_response`) the terminal
/// answer delivered as a failure; never a success, never another request.
fn check_not_success(dialect: &DialectSpec, action: &Action, checks: Checks) {
    match action {
        Action::Fail(_) | Action::Cancel { .. } => {}
        Action::Deliver(d) if checks.known_bugs_pass && known_compute_bug(dialect, &d.metadata) => {
        }
        Action::Deliver(d) => assert!(
            !d.metadata.status().is_success(),
            "a failed {dialect:?} operation delivered as a success: {:?}",
            d.metadata
        ),
        Action::Send { request, .. } => panic!(
            "a failed {dialect:?} operation goes on with a {:?} request",
            request.kind()
        ),
    }
}

/// The fuzz entry point: decode and run; undecodable inputs are skipped.
pub fn fuzz_machine(data: &[u8], checks: Checks) {
    let mut u = Unstructured::new(data);
    if let Ok(s) = Scenario::decode(&mut u) {
        run(&s, checks);
    }
}

/// The wide fuzz entry point (the `machine` target): scenarios that may name a dialect,
/// answer with redirects, dialect bodies, `Content-Location`, `AsyncResult` and the wider
/// vocabulary.
pub fn fuzz_machine_wide(data: &[u8], checks: Checks) {
    let mut u = Unstructured::new(data);
    if let Ok(s) = Scenario::decode_wide(&mut u) {
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
    let Ok(selector) = u.int_in_range(0u8..=3) else {
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

// ----------------------------------------------------------------------------------------------
// The `dialects` target

/// The `dialects` fuzz entry point: `Dialect::from_json` on raw text, structured descriptions
/// driven through the core with arbitrary answers, and `Dialect::google_with_base`. Whatever
/// is accepted round-trips through a resume handle.
pub fn fuzz_dialects(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.int_in_range(0u8..=2) else {
        return;
    };
    match selector {
        0 => {
            let text = String::from_utf8_lossy(u.take_rest()).into_owned();
            check_declared_text(&text);
        }
        1 => {
            let Ok(json) = declared_json(&mut u) else {
                return;
            };
            if check_declared_text(&json) {
                let spec = DialectSpec::Declared(json);
                if let Ok(s) = Scenario::decode_with(&mut u, Some(&spec)) {
                    run(&s, Checks::CAMPAIGN);
                }
            }
        }
        3 => {
            let text = match u.ratio(1u8, 2) {
                Ok(true) => u.arbitrary::<String>().unwrap_or_default(),
                _ => pick(&mut u, POINTERS).map_or("", |p| *p).to_owned(),
            };
            if let Ok(doc) = declared_doc(&mut u, None) {
                check_pointer(&text, &doc);
            }
        }
        _ => {
            let base = String::from_utf8_lossy(u.take_rest()).into_owned();
            if let Ok(d) = Dialect::google_with_base(&base) {
                let handle = handle_with(serde_json::json!({ "google": { "base": base } }));
                let h2 = check_handle_round_trip(&d, &handle);
                let base2 = serde_json::to_value(&h2).expect("handle serializes");
                let base2 = base2
                    .pointer("/dialect/google/base")
                    .and_then(|b| b.as_str());
                let back = Dialect::google_with_base(base2.expect("the handle keeps the base"));
                assert_eq!(back.as_ref(), Ok(&d), "google base {base:?} → {base2:?}");
            }
        }
    }
}

/// A declared dialect's pointer with selectors (issue 15): parsing never panics and keeps its
/// text; what it finds is what its concrete RFC 6901 pointer finds with `serde_json`, and that
/// concrete pointer is one it reads (a duplicate there would be refused); without selectors or
/// the new escapes (`~2`, `~3`, `~4`) it finds what `serde_json` finds.
pub fn check_pointer(text: &str, doc: &serde_json::Value) {
    use tower_lro::__private::proto::Pointer;
    let Ok(p) = Pointer::parse(text) else {
        return;
    };
    assert_eq!(p.as_str(), text);
    let found = p.find(doc);
    let concrete = p.concrete(doc);
    assert_eq!(
        concrete.as_deref().and_then(|c| doc.pointer(c)),
        found,
        "{text} in {doc}"
    );
    if let Some(c) = &concrete {
        assert!(p.touches(c, false), "{text} does not read {c}");
    }
    let plain = !text.contains('[') && !["~2", "~3", "~4"].iter().any(|e| text.contains(e));
    if plain {
        assert_eq!(found, doc.pointer(text), "{text} in {doc}");
    }
}

/// `Dialect::from_json` never panics; what it accepts parses the same through `FromStr`,
/// and round-trips through a resume handle. Returns whether it was accepted.
pub fn check_declared_text(text: &str) -> bool {
    let Ok(d) = Dialect::from_json(text) else {
        return false;
    };
    let _ = format!("{d:?} {}", d.name());
    assert!(!d.is_default());
    assert_eq!(
        text.parse::<Dialect>().as_ref(),
        Ok(&d),
        "FromStr disagrees"
    );
    let value: serde_json::Value = serde_json::from_str(text).expect("accepted text is JSON");
    let h2 = check_handle_round_trip(&d, &handle_with(serde_json::json!({ "declared": value })));
    let written = serde_json::to_value(&h2).expect("handle serializes");
    let declared = written
        .pointer("/dialect/declared")
        .expect("the handle carries the description");
    let back = Dialect::from_json(&declared.to_string());
    assert_eq!(back.as_ref(), Ok(&d), "{text} → {declared}");
    true
}

/// A resume handle of an operation in the given dialect (as `ResumeHandle` JSON).
fn handle_with(dialect: serde_json::Value) -> ResumeHandle {
    let json = serde_json::json!({
        "version": 1,
        "rule": "declared",
        "method": "POST",
        "request_url": "https://svc.example/v1/jobs?api-version=1",
        "operation_url": "https://svc.example/v1/operations/1",
        "final_state": "auto",
        "origin": "https://svc.example",
        "header_names": ["accept"],
        "polls": 2,
        "dialect": dialect,
    });
    serde_json::from_value(json).expect("a handle")
}

/// `Machine::resume` takes the handle's dialect; the handle the resumed machine writes names
/// it, survives JSON, and resumes to itself. Returns that handle.
fn check_handle_round_trip(d: &Dialect, handle: &ResumeHandle) -> ResumeHandle {
    let cfg = Arc::new(Config::default());
    let head = RequestHead::new(
        Method::POST,
        Uri::from_static("https://svc.example/v1/jobs?api-version=1"),
        HeaderMap::new(),
    );
    let params = Params::new(&cfg);
    let now = Instant::now();
    let resume = |h: &ResumeHandle| match Machine::resume(cfg.clone(), h, &head, &params, now) {
        Ok((m, Plan::Send { .. })) => m.resume_handle(),
        Ok((_, Plan::Fail(e) | Plan::Cancel { error: e, .. })) | Err(e) => {
            panic!("{d:?} does not resume: {e} ({h:?})")
        }
    };
    let h2 = resume(handle);
    assert_eq!(h2.dialect(), d.name(), "{h2:?}");
    let json = serde_json::to_string(&h2).expect("handle serializes");
    let h3: ResumeHandle = serde_json::from_str(&json).expect("handle deserializes");
    assert_eq!(h3, h2);
    // Resumed again, the same handle, one poll further (the poll the resume plans counts).
    let without_polls = |h: &ResumeHandle| {
        let mut v = serde_json::to_value(h).expect("handle serializes");
        let polls = v["polls"].take().as_u64();
        (v, polls)
    };
    let ((again, n_again), (was, n_was)) = (without_polls(&resume(&h3)), without_polls(&h2));
    assert_eq!(again, was, "a resumed handle resumes to itself");
    assert_eq!(n_again, n_was.map(|n| n + 1));
    h2
}

// ----------------------------------------------------------------------------------------------
// The credential filter (issue 14): the `credentials` target and its proptest.

/// The `credentials` fuzz entry point: a submission carrying credentials of every kind (the
/// library's listed names, names its patterns match, arbitrary names — any name the list
/// classes a credential gets a secret value `S3KR1T…`, origin-bound headers `P1NNED…`, every
/// other name a plain value), driven through status monitors, redirects and resources on the
/// submission's origin, an allowed one and foreign ones, whose URLs may carry the server's own
/// tokens (`SRV70K…`). Checked at every step:
///
/// - no request to an origin other than the submission's (or an allowed one) carries a `S3KR1T`
///   (or `Z4DDED`, a name the caller added) value in a header or its target, nor does any request after one went there (cumulative);
///   no request to any origin other than the submission's carries a `P1NNED` value;
/// - requests to the submission's origin before any foreign hop carry every credential header;
/// - the resume handle (the machine's, a progress report's, an error's) holds no `S3KR1T`,
///   `P1NNED` or `SRV70K`, and neither does any URL of the metadata or of an error once masked
///   as `lro --metadata` masks it (`credentials::mask_url`).
pub fn fuzz_credentials(data: &[u8]) {
    let mut u = Unstructured::new(data);
    if let Ok(s) = creds::CredScenario::decode(&mut u) {
        creds::run(&s);
    }
}

/// The credential scenarios: see [`fuzz_credentials`].
pub mod creds {
    use super::*;
    use tower_lro::credentials::{self, ORIGIN_BOUND_HEADERS, PATTERNS};

    const SUBMISSION: &str = "https://svc.example/jobs";
    const ALLOWED: &str = "https://allowed.example";

    /// Targets the server may name (relative ones resolve on the submission's origin).
    const TARGETS: &[&str] = &[
        "https://svc.example/ops/1",
        "/ops/2",
        "https://other.example/ops/3",
        "https://allowed.example/ops/4",
        "http://svc.example/ops/5",
        "https://svc.example:8443/ops/6",
        "https://SVC.example/ops/7",
        "https://blob.other.example/result/8",
        "https://svc.example/result/9",
    ];

    /// What secret values are made of: a caller's credential, an origin-bound header's value,
    /// a token of the server's, a credential only the caller's `credential_header` names (which
    /// `lro`'s masking, knowing the library's list alone, does not mask).
    /// (None starts with a hex digit, so no percent-encoded name can spell one.)
    const MARKERS: [&str; 4] = ["S3KR1T", "P1NNED", "SRV70K", "Z4DDED"];

    /// Headers a poll never carries (spec §7), credentials or not.
    fn submission_only(n: &str) -> bool {
        ["content-", "if-", "repeatability-"]
            .iter()
            .any(|p| n.starts_with(p))
            || [
                "connection",
                "proxy-connection",
                "keep-alive",
                "transfer-encoding",
                "te",
                "trailer",
                "upgrade",
                "expect",
                "host",
                "prefer",
                "range",
                "idempotency-key",
            ]
            .contains(&n)
    }

    /// Harmless names, carried everywhere.
    const PLAIN: &[&str] = &[
        "api-version",
        "accept",
        "x-ms-client-request-id",
        "se",
        "page",
    ];

    /// A name: listed, made from a pattern, origin-bound, harmless or arbitrary, in any case.
    fn name(u: &mut Unstructured<'_>) -> AResult<String> {
        let base = match u.int_in_range(0..=5u8)? {
            0 => u.choose(credentials::HEADERS)?.to_string(),
            1 => u.choose(credentials::QUERY)?.to_string(),
            2 => format!("x-{}-{}", u.choose(PATTERNS)?, u.int_in_range(0..=9u8)?),
            3 => u.choose(ORIGIN_BOUND_HEADERS)?.to_string(),
            4 => u.choose(PLAIN)?.to_string(),
            _ => {
                let raw: String = u.arbitrary()?;
                let name: String = raw
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(24)
                    .collect();
                // A name is never mistaken for a value.
                let lower = name.to_ascii_lowercase();
                match MARKERS
                    .iter()
                    .any(|m| lower.contains(&m.to_ascii_lowercase()))
                {
                    true => "x".to_owned(),
                    false => name,
                }
            }
        };
        let upper: bool = u.arbitrary()?;
        Ok(if upper {
            base.to_ascii_uppercase()
        } else {
            base
        })
    }

    /// A URL the server names, maybe with a token of its own under a credential name.
    fn target(u: &mut Unstructured<'_>, n: usize) -> AResult<String> {
        let mut url = u.choose(TARGETS)?.to_string();
        if u.arbitrary()? {
            let token = name(u)?;
            // A token under a credential's name; any other name's value is the server's data.
            let value = match credentials::is_credential_query(&token) {
                true => "SRV70K",
                false => "data",
            };
            let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            if !token.is_empty() {
                url.push_str(&format!("?{token}={value}{n}&x=1"));
            }
        }
        Ok(url)
    }

    /// One answer of the server.
    #[derive(Debug, Clone)]
    pub enum Reply {
        Running,
        Succeeded(Option<String>),
        Redirect(u16, String),
        Error,
    }

    /// A credential scenario.
    #[derive(Debug, Clone)]
    pub struct CredScenario {
        headers: Vec<String>,
        query: Vec<String>,
        added: Option<String>,
        allow: bool,
        monitor: String,
        replies: Vec<Reply>,
    }

    impl CredScenario {
        /// Decodes a scenario from fuzz input.
        pub fn decode(u: &mut Unstructured<'_>) -> AResult<CredScenario> {
            let mut headers = Vec::new();
            for _ in 0..u.int_in_range(0..=10u8)? {
                headers.push(name(u)?);
            }
            let mut query = Vec::new();
            for _ in 0..u.int_in_range(0..=8u8)? {
                query.push(name(u)?);
            }
            let added = if u.ratio(1, 4)? { Some(name(u)?) } else { None };
            let allow = u.arbitrary()?;
            let monitor = target(u, 0)?;
            let mut replies = Vec::new();
            for n in 1..=u.int_in_range(0..=8usize)? {
                replies.push(match u.int_in_range(0..=3u8)? {
                    0 => Reply::Running,
                    1 => Reply::Succeeded(if u.arbitrary()? {
                        Some(target(u, n)?)
                    } else {
                        None
                    }),
                    2 => Reply::Redirect(*u.choose(&[301, 302, 303, 307, 308])?, target(u, n)?),
                    _ => Reply::Error,
                });
            }
            Ok(CredScenario {
                headers,
                query,
                added,
                allow,
                monitor,
                replies,
            })
        }
    }

    /// The layer's configuration, the submission's head, and the credential header names sent.
    fn setup(s: &CredScenario) -> (Config, RequestHead, Vec<HeaderName>) {
        let mut layer = LroLayer::new()
            .wait_bounds(Duration::ZERO, Duration::from_millis(10))
            .deadline(Duration::from_secs(60))
            .max_polls(20);
        let added = s
            .added
            .as_deref()
            .and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok());
        if let Some(name) = &added {
            layer = layer.credential_header(name.clone());
        }
        if s.allow {
            layer = layer.allow_origin(Origin::parse(ALLOWED).expect("an origin"));
        }
        let cfg = config_of(&layer.carry_query_params(s.query.iter().cloned())).clone();
        let added_is = |n: &str| {
            added
                .as_ref()
                .is_some_and(|a| a.as_str().eq_ignore_ascii_case(n))
        };
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (i, n) in s.query.iter().enumerate() {
            let kind = kind(credentials::is_credential_query(n), added_is(n));
            pairs.append_pair(n, &format!("{kind}{i}"));
        }
        let uri: Uri = format!("{SUBMISSION}?{}", pairs.finish())
            .parse()
            .expect("a form-encoded query makes a URI");
        let mut map = HeaderMap::new();
        let mut secret_names = Vec::new();
        for (i, n) in s.headers.iter().enumerate() {
            let Ok(name) = HeaderName::from_bytes(n.as_bytes()) else {
                continue;
            };
            let value = if credentials::is_origin_bound_header(n) {
                format!("P1NNED{i}")
            } else {
                let kind = kind(credentials::is_credential_header(n), added_is(n));
                if kind != "plain" {
                    secret_names.push(name.clone());
                }
                format!("{kind}{i}")
            };
            map.append(name, HeaderValue::from_str(&value).expect("ASCII"));
        }
        (cfg, RequestHead::new(Method::POST, uri, map), secret_names)
    }

    /// The marker of a value: a credential of the library's list, one the caller added, none.
    fn kind(listed: bool, added: bool) -> &'static str {
        match (listed, added) {
            (true, _) => "S3KR1T",
            (false, true) => "Z4DDED",
            _ => "plain",
        }
    }

    fn answer_of(reply: &Reply) -> (StatusCode, HeaderMap, Bytes) {
        let mut headers = HeaderMap::new();
        let value = |s: &str| HeaderValue::from_str(s).expect("ASCII");
        let (status, body) = match reply {
            Reply::Running => (200, r#"{"status":"Running"}"#.to_owned()),
            Reply::Succeeded(None) => (200, r#"{"status":"Succeeded"}"#.to_owned()),
            Reply::Succeeded(Some(url)) => (
                200,
                format!(r#"{{"status":"Succeeded","resourceLocation":"{url}"}}"#),
            ),
            Reply::Redirect(code, url) => {
                headers.insert("location", value(url));
                (*code, String::new())
            }
            Reply::Error => (500, String::new()),
        };
        headers.insert("retry-after", value("0"));
        (
            StatusCode::from_u16(status).expect("a status"),
            headers,
            Bytes::from(body),
        )
    }

    /// No credential value in a handle (`markers`: all of them), nor in masked URLs (those of
    /// the library's list).
    fn check_record(what: &str, text: &str, markers: &[&str]) {
        for marker in markers {
            assert!(!text.contains(marker), "{marker} in {what}: {text}");
        }
    }

    fn check_handle(handle: &ResumeHandle) {
        let json = serde_json::to_string(handle).expect("a handle serializes");
        check_record("a resume handle", &json, &MARKERS);
    }

    fn check_masked(what: &str, url: Option<&str>) {
        if let Some(url) = url {
            check_record(what, &credentials::mask_url(url), &MARKERS[..3]);
        }
    }

    fn check_error(e: &tower_lro::Error) {
        check_masked("an error's URL", e.url());
        if let Some(h) = e.resume_handle() {
            check_handle(h);
        }
    }

    /// Drives one scenario, checking every request, handle and masked URL.
    pub fn run(s: &CredScenario) {
        let (cfg, head, secret_names) = setup(s);
        let cfg = Arc::new(cfg);
        let sub_origin = url::Url::parse(SUBMISSION).expect("a URL").origin();
        let allowed = url::Url::parse(ALLOWED).expect("a URL").origin();
        let t0 = Instant::now();
        let now = |at: Instant| Now::new(at, wall0());
        let params = Params::new(&cfg);
        let submission = Submission::new(cfg.clone(), head.clone(), params, now(t0));
        let mut headers = HeaderMap::new();
        headers.insert(
            "operation-location",
            HeaderValue::from_str(&s.monitor).expect("ASCII"),
        );
        headers.insert("retry-after", HeaderValue::from_static("0"));
        let (mut machine, plan) = match submission.start(StatusCode::ACCEPTED, &headers, None) {
            Ok(Begin::Lro(machine, plan)) => (machine, plan),
            Ok(_) => return,
            Err(e) => return check_error(&e),
        };
        let mut action = Action::from(plan);
        let mut replies = s.replies.iter();
        let mut tainted = false;
        let mut clock = t0;
        for _ in 0..64 {
            check_handle(&machine.resume_handle());
            if let Some(p) = machine.poll_progress(clock) {
                check_masked("progress", Some(p.operation_url()));
                if let Some(h) = p.resume_handle() {
                    check_handle(h);
                }
            }
            let request = match action {
                Action::Send { at, request } => {
                    clock = clock.max(at);
                    request
                }
                Action::Deliver(d) => {
                    let meta = &d.metadata;
                    check_masked("metadata", Some(meta.operation_url()));
                    check_masked("metadata", meta.resource_url());
                    if let Some(h) = meta.resume_handle() {
                        check_handle(h);
                    }
                    return;
                }
                Action::Fail(e) | Action::Cancel { error: e, .. } => return check_error(&e),
            };
            let req: http::Request<()> = request.into_request();
            let target = origin_of(req.uri(), &sub_origin);
            let other = target != sub_origin;
            tainted |= other && !(s.allow && target == allowed);
            let text = |v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned();
            for (n, v) in req.headers() {
                let v = text(v);
                assert!(
                    !(other && v.contains("P1NNED")),
                    "{n}: {v} sent to {target:?}"
                );
                let secret = v.contains("S3KR1T") || v.contains("Z4DDED");
                assert!(!(tainted && secret), "{n}: {v} sent after a foreign hop");
            }
            let uri = req.uri().to_string();
            let secret = uri.contains("S3KR1T") || uri.contains("Z4DDED");
            assert!(!(tainted && secret), "{uri} after a foreign hop");
            // (A `Connection` header may name any header hop-by-hop.)
            if !tainted && !other && !head.headers.contains_key("connection") {
                for n in secret_names.iter().filter(|n| !submission_only(n.as_str())) {
                    assert_eq!(
                        req.headers().get_all(n).iter().count(),
                        head.headers.get_all(n).iter().count(),
                        "{n} dropped on a same-origin request to {uri}"
                    );
                }
            }
            let reply = replies.next().cloned().unwrap_or(Reply::Succeeded(None));
            let (status, headers, body) = answer_of(&reply);
            let body = machine.wants_body(status).then_some(&body);
            clock += Duration::from_millis(1);
            action = machine.handle_answer(
                now(clock),
                CoreAnswer {
                    status,
                    headers: &headers,
                    body,
                },
            );
        }
    }
}
