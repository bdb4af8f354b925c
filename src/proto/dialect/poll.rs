//! What a dialect's reading of a status answer comes to ([`Reading`]), and how the answers of
//! a dialect other than the default one are read: where its status URL is, and what a status
//! answer says.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::declared::{CheckMethod, DeclaredDialect, FoundError, ResultTarget, Sources};
use super::google::{ComputeFinal, ComputeOperation, GoogleOperation, OperationBodyError};
use super::json::{parse_recording, Parsed};
use super::Kind;
use crate::config::Config;
use crate::error::Reason;
use crate::error::UrlProblem;
use crate::proto::link::Link;
use crate::proto::machine::Operation;
use crate::status::{ODataError, OperationStatus, StatusBodyError};
use crate::vocab::Meaning;

/// What a dialect's reading of a status answer came to: what the machine does next
/// (`Machine::act`).
#[derive(Debug)]
pub(crate) enum Reading {
    /// Still running: poll again, at `moved` from now on when the monitor moved there.
    Running {
        /// The monitor's new URL (already checked), when a `202` moved it.
        moved: Option<Link>,
    },
    /// Done: deliver this answer.
    Deliver {
        /// The part of the body that is the final body, when not all of it.
        body: Option<std::ops::Range<usize>>,
        /// The status to deliver it with, when not its own (OData `AsyncResult`).
        status: Option<StatusCode>,
        /// The final body, when the dialect made it from the answer (a JSON document a string
        /// held, decoded) rather than cut it out.
        decoded: Option<Bytes>,
    },
    /// Done: fetch this URL for the final response.
    Fetch(Link),
    /// Failed or canceled, with these details; `result` is the original request's status an
    /// OData `AsyncResult` reported.
    Failed {
        /// The error the answer reported.
        error: Option<ODataError>,
        /// The failed request's status, from `AsyncResult`.
        result: Option<StatusCode>,
    },
}

impl Reading {
    /// Still running, the monitor unmoved.
    pub(crate) const RUNNING: Reading = Reading::Running { moved: None };
    /// Done: deliver the answer as it is.
    pub(crate) const DELIVER: Reading = Reading::Deliver {
        body: None,
        status: None,
        decoded: None,
    };
    /// What a `Deliver` changes of the answer it delivers: its body part, its status, the body
    /// made from it (nothing for another reading).
    pub(crate) fn shape(self, delivery: &mut crate::proto::Delivery) {
        if let Reading::Deliver {
            body,
            status,
            decoded,
        } = self
        {
            delivery.body = body;
            delivery.status = status;
            delivery.decoded = decoded;
        }
    }
    /// Failed with these details.
    pub(crate) fn failed(error: Option<ODataError>) -> Reading {
        Reading::Failed {
            error,
            result: None,
        }
    }
}

/// Why an answer could not be read into a [`Reading`]: the error is built by the machine.
#[derive(Debug)]
pub(crate) enum Misread {
    /// The answer is unusable: the error carries it, body included.
    Answer(Box<Reason>),
    /// The answer's head names an unusable URL: the error carries the head only.
    Head(Box<Reason>),
    /// The answer names a URL the layer may not go to.
    Refused(Box<(Link, UrlProblem)>),
}

// Boxed: a reading's `Result` stays small on the path every poll takes.
impl Misread {
    pub(crate) fn answer(reason: Reason) -> Self {
        Misread::Answer(Box::new(reason))
    }
    pub(crate) fn head(reason: Reason) -> Self {
        Misread::Head(Box::new(reason))
    }
    pub(crate) fn refused(url: Link, why: UrlProblem) -> Self {
        Misread::Refused(Box::new((url, why)))
    }
}

/// Reads a status answer of a Google, Compute Engine or declared dialect, recording its word
/// and progress in `op`.
pub(crate) fn read(
    op: &mut Operation,
    cfg: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Reading, Reason> {
    let reading = match op.dialect.kind().clone() {
        Kind::Google { .. } => {
            reject_unless_success(status)?;
            let parsed = GoogleOperation::parse(body).map_err(|e| operation_body(status, e))?;
            read_google(op, &parsed)
        }
        Kind::Compute => {
            reject_unless_success(status)?;
            let parsed = ComputeOperation::parse(body).map_err(|e| operation_body(status, e))?;
            read_compute(op, &parsed).map_err(|problem| Reason::DialectBody { status, problem })?
        }
        Kind::Declared(d) => {
            if !status.is_success() {
                if let Some(outcome) = super::standards::declared_outcome(&d, body) {
                    if !outcome.transient {
                        op.status = OperationStatus::failed();
                        note_progress_text(op, None);
                        return Ok(Reading::failed(Some(outcome.error)));
                    }
                }
                if !d.is_status_body(status) {
                    return Err(Reason::Rejected { status });
                }
            }
            let value = declared_body(&d, status, body)?;
            read_declared(op, cfg, &d, status, headers, body, &value)
                .map_err(|problem| Reason::DialectBody { status, problem })?
        }
        // The dialect rules start only with their dialect (`Submission::start_dialect`).
        Kind::Default => {
            return Err(Reason::DialectBody {
                status,
                problem: "a dialect's answer to an operation in the default dialect".to_owned(),
            })
        }
    };
    Ok(reading)
}

/// A result URL a dialect's answer names, resolved against the monitor.
fn fetch(op: &Operation, raw: &str) -> Result<Reading, String> {
    op.monitor
        .join(raw)
        .map(Reading::Fetch)
        .map_err(|e| format!("the result URL {raw:?} is unusable: {e}"))
}

fn read_google(state: &mut Operation, op: &GoogleOperation) -> Reading {
    if !op.name.is_empty() && state.operation_id.as_deref() != Some(op.name.as_str()) {
        state.operation_id = Some(op.name.clone());
    }
    state.percent_complete = op.progress_percent;
    let meaning = op.outcome();
    let word = match meaning {
        Meaning::Running => "Running",
        Meaning::Succeeded => "Succeeded",
        Meaning::Canceled => "Cancelled",
        _ => "Failed",
    };
    state.status = OperationStatus::parse(word);
    match (meaning, &op.error) {
        (Meaning::Running, _) => Reading::RUNNING,
        (Meaning::Succeeded, _) => Reading::Deliver {
            body: op.response.clone(),
            status: None,
            decoded: None,
        },
        (_, Some(e)) => Reading::failed(Some(ODataError {
            code: Some(e.code.to_string()),
            message: Some(e.message.clone()).filter(|m| !m.is_empty()),
            target: None,
            details: e.details.iter().filter_map(ODataError::from_json).collect(),
            innererror: None,
        })),
        (_, None) => Reading::failed(None),
    }
}

fn read_compute(state: &mut Operation, op: &ComputeOperation) -> Result<Reading, String> {
    if !op.name.is_empty() {
        state.operation_id = Some(op.name.clone());
    }
    state.percent_complete = op.progress;
    let word = match &op.status {
        super::google::ComputeStatus::Pending => "PENDING",
        super::google::ComputeStatus::Running => "RUNNING",
        super::google::ComputeStatus::Done => "DONE",
        super::google::ComputeStatus::Other(w) => w.as_str(),
    };
    let meaning = op.outcome();
    // The word as sent, with what it means here: `DONE` beside `error.errors[]` failed.
    state.status = OperationStatus::with_meaning(word, meaning);
    Ok(match meaning {
        Meaning::Running => Reading::RUNNING,
        Meaning::Succeeded => match op.final_target() {
            ComputeFinal::Operation => Reading::DELIVER,
            ComputeFinal::Fetch(link) => return fetch(state, &link),
        },
        _ => {
            let first = op.errors.first();
            Reading::failed(Some(ODataError {
                code: first.map(|e| e.code.clone()),
                message: first
                    .map(|e| e.message.clone())
                    .or_else(|| op.http_error_message.clone()),
                target: None,
                details: op
                    .errors
                    .iter()
                    .skip(1)
                    .map(|e| ODataError {
                        code: Some(e.code.clone()),
                        message: Some(e.message.clone()),
                        ..ODataError::default()
                    })
                    .collect(),
                innererror: None,
            }))
        }
    })
}

fn read_declared(
    op: &mut Operation,
    cfg: &Config,
    d: &DeclaredDialect,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
    value: &Value,
) -> Result<Reading, String> {
    let vocabulary = op.declared.as_deref().map_or(&cfg.vocabulary, |d| &d.words);
    let reading = d.read_status(vocabulary, status, headers, value);
    if let Some(word) = reading.word {
        op.status = OperationStatus::classify(word, vocabulary);
    } else if reading.meaning == Meaning::Succeeded {
        op.status = OperationStatus::succeeded();
    } else if reading.classified.recognised
        && reading.meaning == Meaning::Running
        && op.status.as_str() != "Running"
    {
        // Running by its HTTP status (FHIR's `202`): said once, not copied per poll.
        op.status = OperationStatus::running();
    }
    if let Some(id) = d.find_id(headers, value) {
        // Copied only when it changes (usually once per operation).
        if op.operation_id.as_deref() != Some(&*id) {
            op.operation_id = Some(id.into_owned());
        }
    }
    op.percent_complete = d.percent(headers, value);
    let text = d
        .progress
        .as_ref()
        .and_then(|p| p.progress_text(headers, value));
    note_progress_text(op, text.as_deref());
    match reading.meaning {
        Meaning::Running => Ok(Reading::RUNNING),
        Meaning::Succeeded => {
            let found = result_of(op, d, headers, body, value)?;
            Ok(found.unwrap_or_else(|| {
                // A `HEAD` told the state of the resource at the status URL: it is the result.
                if d.status_method() == CheckMethod::Head {
                    Reading::Fetch(op.monitor.clone())
                } else {
                    Reading::DELIVER
                }
            }))
        }
        _ => {
            if !op.status.is_failure() {
                op.status = OperationStatus::failed();
            }
            // Ended without success, but the word leaves a result (`partial_result`).
            if reading.word.is_some_and(|w| d.leaves_result(w)) {
                if let Some(found) = result_of(op, d, headers, body, value)? {
                    return Ok(found);
                }
            }
            let error = reading.error.as_ref().map(FoundError::odata);
            Ok(Reading::failed(error))
        }
    }
}

/// The result a terminal status answer names through `result` (and, for a fetch, the
/// `result_request` filled from it); `None` when no source finds one.
fn result_of(
    op: &mut Operation,
    d: &DeclaredDialect,
    headers: &HeaderMap,
    body: &Bytes,
    value: &Value,
) -> Result<Option<Reading>, String> {
    let url = op.monitor.to_url().ok_or("the monitor is not a URL")?;
    let submission = op.request_url.to_url();
    let urls = (&url, submission.as_ref());
    let target = match d.result(headers, body, Some(value), urls) {
        Ok(Some(target)) => target,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let part = |body, decoded| Reading::Deliver {
        body,
        status: None,
        decoded,
    };
    match target {
        ResultTarget::Embedded(range) => Ok(Some(part(Some(range), None))),
        ResultTarget::Decoded(bytes) => Ok(Some(part(None, Some(bytes)))),
        ResultTarget::Fetch(target) => {
            if let Some(spec) = &d.result_request {
                let src = Sources {
                    body: value,
                    headers,
                    status_url: Some(&url),
                    submission_url: submission.as_ref(),
                };
                let check = spec
                    .fill(&src)
                    .map_err(|e| format!("`result_request`: {e}"))?;
                if let Some(d) = op.declared.as_mut() {
                    d.fetch_check = Some(std::sync::Arc::new(check));
                }
            }
            fetch(op, target.as_str()).map(Some)
        }
    }
}

/// Characters of a progress text kept (FHIR's `X-Progress` is free text of any length).
const PROGRESS_TEXT_LIMIT: usize = 200;

/// Records a progress text, cut after [`PROGRESS_TEXT_LIMIT`] characters; copied only when it
/// changes.
fn note_progress_text(op: &mut Operation, text: Option<&str>) {
    let text = text.map(|t| match t.char_indices().nth(PROGRESS_TEXT_LIMIT) {
        Some((end, _)) => &t[..end],
        None => t,
    });
    let Some(declared) = op.declared.as_mut() else {
        return;
    };
    if declared.progress_text.as_deref() != text {
        declared.progress_text = text.map(Into::into);
    }
}

/// Where a dialect's submission answer says the operation is: the status URL, whether the
/// answer is read as the first status answer, and the operation's id when it carries one.
type Found = Option<(String, bool, Option<String>)>;

/// Where a declared dialect's submission answer says the operation is (see
/// [`Dialect::start`](super::Dialect::start)), and its id.
pub(crate) fn declared_monitor(
    d: &DeclaredDialect,
    request_url: &Link,
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&Bytes>,
) -> Result<Found, Reason> {
    if !d.starts_polling(status) {
        return Ok(None);
    }
    let value = match body.map(|b| parse_recording(b)) {
        Some(Ok(parsed)) => Some(unique(d, status, parsed)?),
        _ => None,
    };
    let url = request_url.to_url().ok_or_else(unusable_request_url)?;
    let has_word = d.carries_word(headers, value.as_ref());
    let id = d.find_id(headers, value.as_ref().unwrap_or(&Value::Null));
    d.status_url(headers, value.as_ref(), &url)
        .map(|found| found.map(|u| (u.to_string(), has_word, id.map(Into::into))))
        .map_err(|e| Reason::DialectBody {
            status,
            problem: e.to_string(),
        })
}

/// Where a Google `Operation` submission answer says the operation is.
pub(crate) fn google_monitor(
    base: Option<&url::Url>,
    request_url: &Link,
    status: StatusCode,
    body: Option<&Bytes>,
) -> Result<Found, Reason> {
    let op = body.map(|b| GoogleOperation::parse(b)).transpose();
    let Some(op) = op
        .or_else(|e| only_duplicates(status, e))?
        .filter(looks_like_an_operation)
    else {
        return Ok(None);
    };
    if op.name.is_empty() {
        // Done at once and nameless: read in place (the submission is its own monitor).
        return Ok(Some((request_url.display(), true, None)));
    }
    let submission = request_url.to_url().ok_or_else(unusable_request_url)?;
    super::google::poll_url(&submission, &op.name, base)
        .map(|u| Some((u.to_string(), true, None)))
        .map_err(|e| dialect_body(status, &e))
}

/// Where a Compute Engine `Operation` submission answer says the operation is: its `selfLink`.
pub(crate) fn compute_monitor(status: StatusCode, body: Option<&Bytes>) -> Result<Found, Reason> {
    let op = body.map(|b| ComputeOperation::parse(b)).transpose();
    let Some(op) = op.or_else(|e| only_duplicates(status, e))? else {
        return Ok(None);
    };
    match op.self_link {
        Some(link) => Ok(Some((link, true, None))),
        None => Err(Reason::DialectBody {
            status,
            problem: "a Compute Engine operation without a selfLink".to_owned(),
        }),
    }
}

/// Whether a parsed body is an `Operation` rather than a resource with a `name` of its own
/// (both are JSON objects with `name`). The JSON mapping of proto3 omits `"done": false`, so a
/// running operation may carry only `name` and `metadata`: it is an operation when it says it
/// is done, carries a `response`/`error`/`@type`d `metadata`, or its name has an `operations/`
/// segment (AIP-151: "operations/{id}" under a resource).
fn looks_like_an_operation(op: &GoogleOperation) -> bool {
    op.done
        || op.response.is_some()
        || op.error.is_some()
        || op
            .metadata
            .as_ref()
            .is_some_and(|m| m.get("@type").is_some())
        || op.name.starts_with("operations/")
        || op.name.contains("/operations/")
}

fn unusable_request_url() -> Reason {
    Reason::BadRequestUrl {
        why: "the URL parser does not read it".to_owned(),
    }
}

fn reject_unless_success(status: StatusCode) -> Result<(), Reason> {
    if status.is_success() {
        Ok(())
    } else {
        Err(Reason::Rejected { status })
    }
}

/// A dialect's body that is not its operation: a duplicate of a member the reader consults is
/// a malformed status document, as in the default dialect.
fn operation_body(status: StatusCode, e: OperationBodyError) -> Reason {
    match e {
        OperationBodyError::DuplicateMember(p) => duplicate(status, p),
        other => dialect_body(status, &other),
    }
}

/// At the submission, a body that is not an operation is passed through, unless a member the
/// reader consults comes twice.
fn only_duplicates<T>(status: StatusCode, e: OperationBodyError) -> Result<Option<T>, Reason> {
    match e {
        OperationBodyError::DuplicateMember(p) => Err(duplicate(status, p)),
        _ => Ok(None),
    }
}

fn duplicate(status: StatusCode, pointer: String) -> Reason {
    Reason::StatusBody {
        status,
        error: StatusBodyError::DuplicateMember(pointer.into()),
    }
}

/// A declared dialect's status body, read once; a duplicate of a member it consults fails it.
/// A body that is not JSON reads as `null` when the dialect does not read its word there.
fn declared_body(d: &DeclaredDialect, status: StatusCode, body: &[u8]) -> Result<Value, Reason> {
    match parse_recording(body) {
        Ok(parsed) => unique(d, status, parsed),
        Err(_) if d.body_optional() => Ok(Value::Null),
        Err(e) => Err(dialect_body(status, &e)),
    }
}

fn unique(d: &DeclaredDialect, status: StatusCode, parsed: Parsed) -> Result<Value, Reason> {
    match parsed.duplicate(|p| d.consults(p)) {
        Some(p) => Err(duplicate(status, p.to_owned())),
        None => Ok(parsed.value),
    }
}

fn dialect_body(status: StatusCode, e: &dyn std::fmt::Display) -> Reason {
    Reason::DialectBody {
        status,
        problem: e.to_string(),
    }
}
