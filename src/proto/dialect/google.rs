//! Google's operation dialects ([dialects](crate::_protocol#dialects)): the `google.longrunning.Operation` of AIP-151 as
//! JSON over HTTP, and Compute Engine's own `Operation` resource.
//!
//! Readers are lenient about missing fields and strict about fields of the wrong type, and
//! never panic on input.
//!
//! - AIP-151, long-running operations: <https://google.aip.dev/151>
//! - `google.longrunning.Operation`:
//!   <https://cloud.google.com/vertex-ai/docs/reference/rest/Shared.Types/ListOperationsResponse#Operation>
//! - Vertex AI `projects.locations.operations.get`:
//!   <https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.operations/get>
//! - Cloud Run Admin API v2 `projects.locations.operations.get`:
//!   <https://cloud.google.com/run/docs/reference/rest/v2/projects.locations.operations/get>
//! - Compute Engine operations: <https://cloud.google.com/compute/docs/reference/rest/v1/zoneOperations>
//!   and "Handling API responses": <https://cloud.google.com/compute/docs/api/how-tos/api-requests-responses>

use std::fmt;
use std::ops::Range;

use serde_json::{Map, Value};
use url::Url;

use super::json::{at_or_under, parse_recording, pointer_span};
use crate::vocab::{classify_default, error_reports_failure, Meaning};

/// Why a body is not an operation of the dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OperationBodyError {
    /// The body is empty.
    Empty,
    /// The body is not JSON.
    NotJson(String),
    /// The body is JSON but not an object.
    NotObject,
    /// No `name`, on an operation that is not done (there is nothing to poll).
    MissingName,
    /// No `status` on a Compute Engine operation.
    MissingStatus,
    /// `kind` names another resource than `compute#operation`.
    WrongKind(String),
    /// A member the reader consults comes twice (its JSON pointer): malformed, whichever
    /// value is friendlier.
    DuplicateMember(String),
    /// A field of the wrong type.
    BadField {
        /// The field.
        field: &'static str,
        /// What it should have been.
        expected: &'static str,
    },
}

impl fmt::Display for OperationBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("an empty body where an operation was expected"),
            Self::NotJson(e) => write!(f, "a body that is not JSON ({e})"),
            Self::NotObject => f.write_str("JSON that is not an object"),
            Self::MissingName => f.write_str("an operation without a `name` that is not done"),
            Self::MissingStatus => f.write_str("a Compute Engine operation without a `status`"),
            Self::WrongKind(k) => write!(f, "a `kind` of `{k}`, not `compute#operation`"),
            Self::BadField { field, expected } => write!(f, "a `{field}` that is not {expected}"),
            Self::DuplicateMember(p) => write!(f, "a member `{p}` that comes twice"),
        }
    }
}

impl std::error::Error for OperationBodyError {}

/// Reads a JSON object; a duplicate of a member `consulted` names is an error.
fn parse_object(
    body: &[u8],
    consulted: fn(&str) -> bool,
) -> Result<Map<String, Value>, OperationBodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(OperationBodyError::Empty);
    }
    let parsed = parse_recording(body).map_err(|e| OperationBodyError::NotJson(e.to_string()))?;
    if let Some(p) = parsed.duplicate(consulted) {
        return Err(OperationBodyError::DuplicateMember(p.to_owned()));
    }
    match parsed.value {
        Value::Object(obj) => Ok(obj),
        _ => Err(OperationBodyError::NotObject),
    }
}

/// The members of an `Operation` the reader consults: a duplicate of any of them (or inside
/// `error`, or of a progress figure in `metadata`) is malformed. Duplicates inside `response`
/// are the result's own business, handed on as sent.
fn google_consults(pointer: &str) -> bool {
    matches!(pointer, "/name" | "/done" | "/response" | "/metadata")
        || at_or_under(pointer, "/error")
        || pointer.strip_prefix("/metadata/").is_some_and(|k| {
            PROGRESS_KEYS.contains(&k) || k == "@type" || at_or_under(k, "progress")
        })
}

/// The members of a Compute Engine operation the reader consults (and anything in `error`).
fn compute_consults(pointer: &str) -> bool {
    const TOP: [&str; 9] = [
        "/kind",
        "/status",
        "/name",
        "/selfLink",
        "/targetLink",
        "/operationType",
        "/progress",
        "/httpErrorStatusCode",
        "/httpErrorMessage",
    ];
    TOP.contains(&pointer) || at_or_under(pointer, "/error")
}

/// An optional string field: absent or `null` is `None`; another type is an error.
fn opt_str(
    obj: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, OperationBodyError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(OperationBodyError::BadField {
            field,
            expected: "a string",
        }),
    }
}

/// A number, or a string holding one (proto3 JSON writes 64-bit integers as strings).
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

/// A `google.rpc.Status`: the error of a failed or canceled operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GoogleStatus {
    /// The `google.rpc.Code` (`1` is `CANCELLED`); `0` when absent.
    pub(crate) code: i32,
    /// The developer-facing message; empty when absent.
    pub(crate) message: String,
    /// The `details` list, as sent.
    pub(crate) details: Vec<Value>,
}

/// `google.rpc.Code.CANCELLED`.
const CANCELLED: i32 = 1;

impl GoogleStatus {
    fn from_json(obj: &Map<String, Value>) -> Self {
        let code = obj
            .get("code")
            .and_then(number)
            .filter(|c| c.fract() == 0.0 && *c >= f64::from(i32::MIN) && *c <= f64::from(i32::MAX))
            .map_or(0, |c| c as i32);
        Self {
            code,
            message: obj
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            details: match obj.get("details") {
                Some(Value::Array(items)) => items.clone(),
                _ => Vec::new(),
            },
        }
    }
}

/// A `google.longrunning.Operation` read from a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GoogleOperation {
    /// The operation's resource name (`projects/p/locations/l/operations/123`); empty only on a
    /// done operation that did not send one.
    pub(crate) name: String,
    /// `done`; absent means `false`.
    pub(crate) done: bool,
    /// `metadata`, as sent.
    pub(crate) metadata: Option<Value>,
    /// `error`, when the operation failed or was canceled.
    pub(crate) error: Option<GoogleStatus>,
    /// Where `response` is in the body (see [`GoogleOperation::response_bytes`]).
    pub(crate) response: Option<Range<usize>>,
    /// A progress figure from `metadata` (see [`progress_from_metadata`]).
    pub(crate) progress_percent: Option<f64>,
}

impl GoogleOperation {
    /// Reads an operation from a response body.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, OperationBodyError> {
        let obj = parse_object(body, google_consults)?;
        let done = match obj.get("done") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(OperationBodyError::BadField {
                    field: "done",
                    expected: "a boolean",
                })
            }
        };
        let name = match opt_str(&obj, "name")? {
            Some(name) if !name.is_empty() => name,
            _ if done => String::new(),
            _ => return Err(OperationBodyError::MissingName),
        };
        let error = match obj.get("error") {
            None | Some(Value::Null) => None,
            Some(Value::Object(e)) => Some(GoogleStatus::from_json(e)),
            Some(_) => {
                return Err(OperationBodyError::BadField {
                    field: "error",
                    expected: "an object",
                })
            }
        };
        let response = match obj.get("response") {
            None | Some(Value::Null) => None,
            Some(_) => pointer_span(body, "/response"),
        };
        let metadata = obj.get("metadata").filter(|m| !m.is_null()).cloned();
        let progress_percent = metadata.as_ref().and_then(progress_from_metadata);
        Ok(Self {
            name,
            done,
            metadata,
            error,
            response,
            progress_percent,
        })
    }

    /// Running until `done`; then `error` is a failure (`CANCELLED` a cancellation), and its
    /// absence a success.
    pub(crate) fn outcome(&self) -> Meaning {
        match (&self.error, self.done) {
            (_, false) => Meaning::Running,
            (None, true) => Meaning::Succeeded,
            (Some(e), true) if e.code == CANCELLED => Meaning::Canceled,
            (Some(_), true) => Meaning::Failed,
        }
    }

    /// The bytes of `response` in `body` (the body this operation was read from): the final
    /// response body on success.
    #[cfg(test)] // the table tests read hosts and bodies through it
    pub(crate) fn response_bytes<'a>(&self, body: &'a [u8]) -> Option<&'a [u8]> {
        body.get(self.response.clone()?)
    }
}

/// A progress percentage from an operation's `metadata`: `progressPercent`,
/// `progress_percent`, `percentComplete` or `progressPercentage` at its top level, or
/// `progress.progressPercent` (Spanner's `OperationProgress`). Numbers or numeric strings,
/// clamped to 0–100.
pub(crate) fn progress_from_metadata(metadata: &Value) -> Option<f64> {
    let obj = metadata.as_object()?;
    PROGRESS_KEYS
        .iter()
        .find_map(|k| obj.get(*k).and_then(number))
        .or_else(|| {
            let progress = obj.get("progress")?;
            progress
                .get("progressPercent")
                .or_else(|| progress.get("progress_percent"))
                .and_then(number)
        })
        .map(|p| p.clamp(0.0, 100.0))
}

/// The progress figures of an operation's `metadata`, first found wins.
const PROGRESS_KEYS: [&str; 4] = [
    "progressPercent",
    "progress_percent",
    "percentComplete",
    "progressPercentage",
];

/// Why no poll URL could be made from an operation name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PollUrlError {
    /// The name is empty, absolute-path, or has empty, `.` or `..` segments.
    BadName(String),
    /// The submission URL has no version segment (`v1`, `v2beta1`, ...) to root the name at,
    /// and no base was configured.
    NoServiceRoot(String),
    /// The name is a full URL that is not http(s), or the result is not a valid URL.
    BadUrl(String),
}

impl fmt::Display for PollUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName(n) => write!(f, "the operation name `{n}` is not a relative resource name"),
            Self::NoServiceRoot(u) => write!(
                f,
                "the submission URL `{u}` has no version segment (such as `v1`) to find the operation under; configure the base URL"
            ),
            Self::BadUrl(u) => write!(f, "`{u}` is not an http(s) URL"),
        }
    }
}

impl std::error::Error for PollUrlError {}

/// Whether a path segment is an API version: `v` digits, optionally `p` digits (Cloud Speech's
/// `v1p1beta1`), optionally `alpha` or `beta` and digits: `v1`, `v2`, `v1beta1`, `v1alpha`,
/// `v1p1beta1`.
pub(crate) fn is_version_segment(segment: &str) -> bool {
    fn digits(s: &str) -> (&str, bool) {
        let rest = s.trim_start_matches(|c: char| c.is_ascii_digit());
        (rest, rest.len() < s.len())
    }
    let Some(rest) = segment.strip_prefix('v') else {
        return false;
    };
    let (mut rest, any) = digits(rest);
    if !any {
        return false;
    }
    if let Some(after_p) = rest.strip_prefix('p') {
        let (after, any) = digits(after_p);
        if !any {
            return false;
        }
        rest = after;
    }
    if let Some(stage) = rest
        .strip_prefix("alpha")
        .or_else(|| rest.strip_prefix("beta"))
    {
        rest = digits(stage).0;
    }
    rest.is_empty()
}

/// The service root of a submission URL: scheme, authority and the path up to and including
/// its first version segment, with a trailing `/` (`https://svc/v1/projects/p:x` →
/// `https://svc/v1/`). `None` when no segment is a version.
pub(crate) fn service_root(submission: &Url) -> Option<Url> {
    let mut root = String::from("/");
    for segment in submission.path_segments()? {
        root.push_str(segment);
        root.push('/');
        if is_version_segment(segment) {
            let mut url = submission.clone();
            url.set_path(&root);
            url.set_query(None);
            url.set_fragment(None);
            return Some(url);
        }
    }
    None
}

/// The URL to `GET` an operation by its `name` (AIP-151): the name under `base` when one is
/// configured, else under the submission's [`service_root`].
/// `https://svc/v1/projects/p/locations/l/things:create` and
/// `projects/p/locations/l/operations/123` give `https://svc/v1/projects/p/locations/l/operations/123`.
///
/// A name that is itself an http(s) URL is taken as it is. Names with empty, `.` or `..`
/// segments are refused, so a name cannot climb out of the service root.
pub(crate) fn poll_url(
    submission: &Url,
    name: &str,
    base: Option<&Url>,
) -> Result<Url, PollUrlError> {
    if name.starts_with("https://") || name.starts_with("http://") {
        return match Url::parse(name) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(url),
            _ => Err(PollUrlError::BadUrl(name.to_owned())),
        };
    }
    let bad_segment = |s: &str| s.is_empty() || s == "." || s == "..";
    if name.is_empty() || name.split('/').any(bad_segment) || name.contains(['?', '#', '\\']) {
        return Err(PollUrlError::BadName(name.to_owned()));
    }
    let root = match base {
        Some(base) => base.clone(),
        None => service_root(submission)
            .ok_or_else(|| PollUrlError::NoServiceRoot(submission.to_string()))?,
    };
    let mut url = root;
    let path = format!("{}/{name}", url.path().trim_end_matches('/'));
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    if matches!(url.scheme(), "http" | "https") && !url.cannot_be_a_base() {
        Ok(url)
    } else {
        Err(PollUrlError::BadUrl(url.to_string()))
    }
}

/// The `status` of a Compute Engine operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ComputeStatus {
    /// `PENDING`.
    Pending,
    /// `RUNNING`.
    Running,
    /// `DONE`: finished, with or without errors.
    Done,
    /// Any other word, kept as sent.
    Other(String),
}

/// One entry of a Compute Engine operation's `error.errors[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ComputeError {
    /// `code`, such as `QUOTA_EXCEEDED`; empty when absent.
    pub(crate) code: String,
    /// `message`; empty when absent.
    pub(crate) message: String,
    /// `location`, when sent.
    pub(crate) location: Option<String>,
}

/// What ends a successful Compute Engine operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ComputeFinal {
    /// The terminal operation is the final response (a `delete`, or no `targetLink`).
    Operation,
    /// `GET` this `targetLink`.
    Fetch(String),
}

/// A Compute Engine `Operation` (`kind: compute#operation`) read from a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ComputeOperation {
    /// `name`; empty when absent.
    pub(crate) name: String,
    /// `status`.
    pub(crate) status: ComputeStatus,
    /// `selfLink`: the URL to poll.
    pub(crate) self_link: Option<String>,
    /// `targetLink`: the resource the operation acts on.
    pub(crate) target_link: Option<String>,
    /// `operationType` (`insert`, `delete`, `setMetadata`, ...).
    pub(crate) operation_type: Option<String>,
    /// `progress`, 0–100, "not necessarily linear".
    pub(crate) progress: Option<f64>,
    /// `error.errors[]`.
    pub(crate) errors: Vec<ComputeError>,
    /// `error`, as sent.
    pub(crate) error: Option<Value>,
    /// `httpErrorStatusCode`: the HTTP status the failed operation would have had.
    pub(crate) http_error_status_code: Option<u16>,
    /// `httpErrorMessage`.
    pub(crate) http_error_message: Option<String>,
}

impl ComputeOperation {
    /// Whether a parsed body says it is a Compute Engine operation (`kind: compute#operation`).
    #[cfg(test)] // the table tests read hosts and bodies through it
    pub(crate) fn is_compute_operation(body: &Value) -> bool {
        body.get("kind").and_then(Value::as_str) == Some("compute#operation")
    }

    /// Reads an operation from a response body. A `kind` other than `compute#operation` is an
    /// error; a missing `kind` is accepted.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, OperationBodyError> {
        let obj = parse_object(body, compute_consults)?;
        if let Some(kind) = opt_str(&obj, "kind")? {
            if kind != "compute#operation" {
                return Err(OperationBodyError::WrongKind(kind));
            }
        }
        let status = match opt_str(&obj, "status")? {
            None => return Err(OperationBodyError::MissingStatus),
            Some(s) if s.eq_ignore_ascii_case("PENDING") => ComputeStatus::Pending,
            Some(s) if s.eq_ignore_ascii_case("RUNNING") => ComputeStatus::Running,
            Some(s) if s.eq_ignore_ascii_case("DONE") => ComputeStatus::Done,
            Some(s) => ComputeStatus::Other(s),
        };
        let error = obj.get("error").filter(|e| !e.is_null()).cloned();
        let errors = match error.as_ref().and_then(|e| e.get("errors")) {
            Some(Value::Array(items)) => items.iter().map(compute_error).collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            name: opt_str(&obj, "name")?.unwrap_or_default(),
            status,
            self_link: opt_str(&obj, "selfLink")?,
            target_link: opt_str(&obj, "targetLink")?,
            operation_type: opt_str(&obj, "operationType")?,
            progress: obj
                .get("progress")
                .and_then(number)
                .map(|p| p.clamp(0.0, 100.0)),
            errors,
            error,
            http_error_status_code: obj
                .get("httpErrorStatusCode")
                .and_then(number)
                .filter(|c| (100.0..=999.0).contains(c) && c.fract() == 0.0)
                .map(|c| c as u16),
            http_error_message: opt_str(&obj, "httpErrorMessage")?,
        })
    }

    /// `PENDING`/`RUNNING` run; `DONE` with errors (`error.errors[]`, or an `error` object that
    /// reports one by the [status-body rule](crate::_protocol#status-bodies)) failed, else succeeded. Other words are read with the
    /// default vocabulary.
    pub(crate) fn outcome(&self) -> Meaning {
        let failed =
            !self.errors.is_empty() || self.error.as_ref().is_some_and(error_reports_failure);
        match &self.status {
            ComputeStatus::Pending | ComputeStatus::Running => Meaning::Running,
            ComputeStatus::Done if failed => Meaning::Failed,
            ComputeStatus::Done => Meaning::Succeeded,
            ComputeStatus::Other(word) => match classify_default(word).meaning {
                Meaning::Succeeded if failed => Meaning::Failed,
                meaning => meaning,
            },
        }
    }

    /// Whether the operation deletes its target (`operationType: delete`).
    pub(crate) fn is_delete(&self) -> bool {
        self.operation_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("delete"))
    }

    /// What to return once the operation succeeded: the target resource, unless it was deleted
    /// (or there is no `targetLink`), when the terminal operation itself is the answer.
    pub(crate) fn final_target(&self) -> ComputeFinal {
        match &self.target_link {
            Some(link) if !self.is_delete() && !link.is_empty() => {
                ComputeFinal::Fetch(link.clone())
            }
            _ => ComputeFinal::Operation,
        }
    }
}

fn compute_error(item: &Value) -> ComputeError {
    let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
    ComputeError {
        code: text("code").unwrap_or_default(),
        message: text("message").unwrap_or_default(),
        location: text("location"),
    }
}

#[cfg(test)]
#[path = "google_tests.rs"]
mod tests;
