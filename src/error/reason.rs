//! Why a resolution failed, as data: every [`Error`](crate::Error) carries one [`Reason`], and
//! this file is the one place that turns a reason into words.
//!
//! The core builds reasons, never text: tests and callers match on the variant, and a message
//! can be reworded here without touching the state machine.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::StatusCode;

use super::shown::{Shown, LIMIT};
use super::ErrorKind;
use crate::parse::UrlHeaderError;
use crate::status::{ODataError, OperationStatus, StatusBodyError};

#[path = "reason_show.rs"]
mod show;
use show::{Polls, ShowBodyError, ShowOData, ShowStatus, ShowValue, ShowWord};

/// Why a resolution did not end in a success.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// A URL-carrying header of an answer could not be used.
    BadHeader {
        /// The answer's status.
        status: StatusCode,
        /// The header.
        name: HeaderName,
        /// Its value, as sent.
        value: HeaderValue,
        /// What is wrong with it.
        why: UrlProblem,
    },
    /// A URL in a status body (`resourceLocation`, …) could not be used.
    BadBodyUrl {
        /// The answer's status.
        status: StatusCode,
        /// The field.
        field: &'static str,
        /// Its value, as sent.
        value: String,
        /// What is wrong with it.
        why: UrlProblem,
    },
    /// A URL the layer will not follow: not http(s), or an https → http downgrade.
    Refused(UrlProblem),
    /// A status body that is not a status document.
    StatusBody {
        /// The answer's status.
        status: StatusCode,
        /// What is wrong with it.
        error: StatusBodyError,
    },
    /// A resource polled for `provisioningState` answered with something that is not a JSON
    /// object.
    ResourceBody {
        /// The answer's status.
        status: StatusCode,
        /// What is wrong with it.
        error: StatusBodyError,
    },
    /// A body over the configured limit.
    BodyTooLarge {
        /// The answer's status.
        status: StatusCode,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A poll answered with a status that is neither success nor transient.
    Rejected {
        /// That status.
        status: StatusCode,
    },
    /// The operation ended in failure.
    OperationFailed {
        /// The terminal answer's status.
        status: StatusCode,
        /// The failure word the server sent.
        state: OperationStatus,
        /// The OData error of the status document, if it had one.
        error: Option<Box<ODataError>>,
    },
    /// Transient failures in a row beyond the budget.
    RetriesExhausted {
        /// Attempts in a row that failed.
        attempts: u32,
        /// The last of them.
        last: LastAttempt,
    },
    /// More status polls than `max_polls` would be needed.
    PollLimit {
        /// The last status seen.
        state: OperationStatus,
        /// Polls sent.
        polls: u32,
        /// The limit.
        limit: u32,
    },
    /// The deadline passed, or the next wait would end past it.
    Deadline {
        /// The last status seen.
        state: OperationStatus,
        /// Polls sent.
        polls: u32,
        /// The deadline, from the submission's answer.
        after: Duration,
    },
    /// The submission's answer was still being read at the deadline.
    SubmissionBodyTimeout,
    /// A request reused the idempotency key of a different request (method, URL or body):
    /// refused, not merged (the IETF `Idempotency-Key` draft answers it `422`).
    IdempotencyMismatch {
        /// The key.
        key: String,
    },
    /// A call asked to continue only a recorded operation
    /// ([`LroOptions::continue_recorded`](crate::LroOptions::continue_recorded)), and the store
    /// holds none under its key that can be continued (no record, or no handle yet).
    NothingRecorded {
        /// The key.
        key: String,
    },
    /// Another process held the operation's lease until the deadline passed.
    LeaseHeld {
        /// The key.
        key: String,
    },
    /// The call was stopped before its operation ended
    /// ([`StoreLayer::hand_over`](crate::store::StoreLayer::hand_over)): its latest resume
    /// handle is recorded and its lease released, for another process to continue at once.
    HandedOver {
        /// The key.
        key: String,
    },
    /// The operation store recorded that the operation under this key failed.
    StoredFailure {
        /// The failure word recorded (`Failed`, `Canceled`).
        state: String,
        /// The error code recorded, if any.
        code: Option<String>,
        /// The error message recorded, if any.
        message: Option<String>,
    },
    /// The submission's answer body failed mid-way (reqwest adapter).
    SubmissionBodyFailed,
    /// The request's own URL cannot be polled from.
    BadRequestUrl {
        /// What is wrong with it.
        why: String,
    },
    /// A resume handle that cannot be continued.
    BadHandle {
        /// What is wrong with it.
        why: HandleProblem,
    },
    /// An answer a dialect could not read (not its operation object, a URL it names that
    /// cannot be used, …).
    DialectBody {
        /// The answer's status.
        status: StatusCode,
        /// What is wrong with it.
        problem: String,
    },
    /// A status monitor redirected without a usable `Location`.
    RedirectWithoutLocation {
        /// The redirect's status.
        status: StatusCode,
    },
    /// The final answer's `AsyncResult` header (OData 4.01) reports that the original request
    /// failed with this status.
    AsyncResult {
        /// The final answer's own status.
        status: StatusCode,
        /// The status `AsyncResult` reports.
        result: StatusCode,
    },
    /// An answer was handed in after the operation ended (a driver bug, reported, not panicked).
    AnswerAfterEnd,
    /// The dialect sends its status or result requests with a body, and the layer was given
    /// no way to make a request body of the service's type (`LroLayer::poll_body`).
    NoPollBody {
        /// The service's request body type.
        body_type: &'static str,
    },
    /// The delivered final body was still streaming at the operation's deadline (the error's
    /// URL is where it came from).
    FinalBodyTimeout,
    /// The operation cannot be cancelled: nothing was sent.
    NotCancellable(crate::cancel::NotCancellable),
    /// A cancel request was answered with a status that neither accepts it (`2xx`) nor says
    /// cancelling is not supported (`404`, `405`, `501`).
    CancelRefused {
        /// The cancel's method.
        method: http::Method,
        /// The answer's status.
        status: StatusCode,
    },
    /// A cancel request was answered `2xx`, but the answer says the server did nothing: a
    /// declared `cancel`'s `answer` found a word there that refuses it (Ray's
    /// `{"stopped": false}` for a job that had already finished).
    CancelAnswerRefused {
        /// The cancel's method.
        method: http::Method,
        /// The answer's status.
        status: StatusCode,
        /// Where the answer says so: the `answer`'s pointer (`/stopped`), or `header NAME`.
        place: String,
        /// What it says there, as sent (`false`); or that it gives that member more than once.
        word: String,
    },
    /// A cancel request got no answer (it is not retried).
    CancelUnanswered {
        /// The cancel's method.
        method: http::Method,
    },
}

/// What is wrong with a URL the layer was given.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlProblem {
    /// The value does not read as a URL.
    Unreadable(UrlHeaderError),
    /// `http` after an `https` submission.
    Downgrade {
        /// The submission's URL, its credential values masked
        /// ([`credentials::mask_url`](crate::credentials::mask_url)).
        submission: String,
    },
    /// A scheme other than `http` or `https`.
    Scheme(String),
    /// The URL with the carried query is not a valid request URI.
    CarriedQuery,
    /// The host is internal (link-local, a cloud metadata name, loopback or a private range)
    /// and the submission's is not ([poll requests](crate::_protocol#poll-requests)); no connection was attempted.
    Internal {
        /// What kind of host it is.
        class: &'static str,
    },
    /// The host resolved to an address the connector's guard refused
    /// ([`connect::Refused`](crate::connect::Refused)); no connection was attempted.
    Resolved(crate::connect::Refused),
}

/// The last of a run of transient failures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LastAttempt {
    /// An answer with this status.
    Status(StatusCode),
    /// The inner service failed; its error, rendered.
    Transport(String),
}

/// What is wrong with a resume handle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandleProblem {
    /// A format version this crate does not read.
    Version(u32),
    /// `request_url` does not parse.
    RequestUrl,
    /// A URL in the handle is unusable.
    Url(String),
    /// `method` is not an HTTP method.
    Method,
    /// The request carrying the handle has no valid URI (reqwest adapter).
    CarrierUri,
    /// The handle's dialect cannot be read.
    Dialect(String),
    /// The request carries no handle (a cancel needs one).
    Missing,
}

impl Reason {
    /// The public kind of this reason.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Reason::BadHeader { why, .. } | Reason::BadBodyUrl { why, .. } => why.kind(),
            Reason::Refused(why) => why.kind(),
            Reason::OperationFailed { .. }
            | Reason::AsyncResult { .. }
            | Reason::StoredFailure { .. } => ErrorKind::OperationFailed,
            Reason::IdempotencyMismatch { .. } | Reason::NothingRecorded { .. } => {
                ErrorKind::Conflict
            }
            Reason::LeaseHeld { .. } | Reason::HandedOver { .. } => ErrorKind::Timeout,
            Reason::Rejected { .. }
            | Reason::CancelRefused { .. }
            | Reason::CancelAnswerRefused { .. } => ErrorKind::UnexpectedStatus,
            Reason::NotCancellable(_) => ErrorKind::NotCancellable,
            Reason::CancelUnanswered { .. } => ErrorKind::RetriesExhausted,
            Reason::RetriesExhausted { .. } => ErrorKind::RetriesExhausted,
            Reason::PollLimit { .. } => ErrorKind::PollLimit,
            Reason::Deadline { .. } | Reason::SubmissionBodyTimeout | Reason::FinalBodyTimeout => {
                ErrorKind::Timeout
            }
            Reason::StatusBody { .. }
            | Reason::ResourceBody { .. }
            | Reason::BodyTooLarge { .. }
            | Reason::SubmissionBodyFailed
            | Reason::BadRequestUrl { .. }
            | Reason::BadHandle { .. }
            | Reason::RedirectWithoutLocation { .. }
            | Reason::DialectBody { .. }
            | Reason::AnswerAfterEnd
            | Reason::NoPollBody { .. } => ErrorKind::Protocol,
        }
    }
}

impl UrlProblem {
    /// A refused scheme or a downgrade is a security refusal; anything else wrong with a URL
    /// breaks the protocol.
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            UrlProblem::Unreadable(UrlHeaderError::Scheme(_))
            | UrlProblem::Downgrade { .. }
            | UrlProblem::Scheme(_)
            | UrlProblem::Internal { .. }
            | UrlProblem::Resolved(_) => ErrorKind::Insecure,
            UrlProblem::Unreadable(_) | UrlProblem::CarriedQuery => ErrorKind::Protocol,
        }
    }
}

impl From<UrlHeaderError> for UrlProblem {
    fn from(e: UrlHeaderError) -> Self {
        match e {
            UrlHeaderError::Scheme(s) => UrlProblem::Scheme(s),
            other => UrlProblem::Unreadable(other),
        }
    }
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // It may quote the value (a scheme, a URL parser's complaint): bounded.
            UrlProblem::Unreadable(e) => Shown::new(&e.to_string(), 2 * LIMIT).fmt(f),
            // The caller's own URL, whose query may hold a credential (`subscription-key`).
            UrlProblem::Downgrade { submission } => write!(
                f,
                "is http, but the submission {} was https",
                crate::credentials::mask_url(submission)
            ),
            UrlProblem::Scheme(s) => {
                write!(f, "has scheme `{}`, not http(s)", Shown::new(s, LIMIT))
            }
            UrlProblem::CarriedQuery => {
                f.write_str("is not a valid request URI with the carried query")
            }
            UrlProblem::Internal { class } => write!(
                f,
                "names {class}, which the submission's host is not: refused, not connected to"
            ),
            UrlProblem::Resolved(refused) => write!(f, "is refused: {refused}"),
        }
    }
}

/// The text of [`connect::Refused`](crate::connect::Refused): what the host is, and why that
/// is refused.
pub(crate) fn show_refused(
    refused: &crate::connect::Refused,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let class = refused.class();
    let host = ShowValue(refused.host().as_bytes());
    match refused.address() {
        Some(ip) if ip.to_string() != refused.host().trim_matches(['[', ']']) => {
            write!(f, "host {host} resolves to {ip}, {class}")?
        }
        _ => write!(f, "host {host} is {class}")?,
    }
    if class.is_internal() {
        f.write_str(", and the submission's host is not")?;
    }
    f.write_str("; not connected to")
}

impl fmt::Display for HandleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandleProblem::Version(v) => write!(f, "resume handle version {v} is not 1"),
            HandleProblem::RequestUrl => f.write_str("request_url does not parse"),
            HandleProblem::Url(e) => write!(f, "a URL in the handle is unusable ({e})"),
            HandleProblem::Method => f.write_str("bad method"),
            HandleProblem::Dialect(e) => f.write_str(e),
            HandleProblem::Missing => f.write_str("the request carries no resume handle"),
            HandleProblem::CarrierUri => {
                f.write_str("the request carrying the handle has no valid URI")
            }
        }
    }
}

impl fmt::Display for LastAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LastAttempt::Status(s) => ShowStatus(*s).fmt(f),
            LastAttempt::Transport(e) => {
                write!(f, "transport error: {}", Shown::new(e, 2 * LIMIT))
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(written) = self.fmt_answer(f).or_else(|| self.fmt_kept(f)) {
            return written;
        }
        match self {
            Reason::Refused(why) => why.fmt(f),
            Reason::BadHeader { .. }
            | Reason::BadBodyUrl { .. }
            | Reason::StatusBody { .. }
            | Reason::ResourceBody { .. }
            | Reason::BodyTooLarge { .. }
            | Reason::Rejected { .. }
            | Reason::OperationFailed { .. }
            | Reason::IdempotencyMismatch { .. }
            | Reason::NothingRecorded { .. }
            | Reason::LeaseHeld { .. }
            | Reason::HandedOver { .. }
            | Reason::StoredFailure { .. }
            | Reason::NotCancellable(_)
            | Reason::CancelRefused { .. }
            | Reason::CancelAnswerRefused { .. }
            | Reason::CancelUnanswered { .. } => Ok(()), // written by `fmt_answer`/`fmt_kept`
            Reason::RetriesExhausted { attempts, last } => {
                write!(f, "failed {attempts} times in a row; last answer: {last}")
            }
            Reason::PollLimit {
                state,
                polls,
                limit,
            } => write!(
                f,
                "still {} after {} (limit {limit})",
                ShowWord(state),
                Polls(*polls)
            ),
            Reason::Deadline {
                state,
                polls,
                after,
            } => write!(
                f,
                "still {} after {} at the {after:?} deadline",
                ShowWord(state),
                Polls(*polls)
            ),
            Reason::SubmissionBodyTimeout => {
                f.write_str("sent a submission response whose body did not end before the deadline")
            }
            Reason::SubmissionBodyFailed => f.write_str("submission response body failed mid-way"),
            Reason::BadRequestUrl { why } => write!(f, "is not a usable request URL ({why})"),
            Reason::BadHandle { why } => write!(f, "cannot be resumed: {why}"),
            Reason::DialectBody { status, problem } => write!(
                f,
                "answered {} with {}",
                ShowStatus(*status),
                Shown::new(problem, 2 * LIMIT)
            ),
            Reason::RedirectWithoutLocation { status } => write!(
                f,
                "answered {} without a usable Location",
                ShowStatus(*status)
            ),
            Reason::AsyncResult { status, result } => write!(
                f,
                "answered {} with AsyncResult {}: the original request failed",
                ShowStatus(*status),
                ShowStatus(*result)
            ),
            Reason::AnswerAfterEnd => f.write_str("an answer arrived after the operation ended"),
            Reason::NoPollBody { body_type } => write!(
                f,
                "is asked with a request body, and the layer cannot make a `{body_type}`: \
                 give it one with `LroLayer::poll_body`"
            ),
            Reason::FinalBodyTimeout => {
                f.write_str("sent a final body that did not end before the deadline")
            }
        }
    }
}

impl Reason {
    /// The reasons of the operation store and of cancelling, written; `None` for the others.
    fn fmt_kept(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        Some(match self {
            Reason::IdempotencyMismatch { key } => write!(
                f,
                "idempotency key {} already names a different request",
                Shown::new(key, LIMIT)
            ),
            Reason::NothingRecorded { key } => write!(
                f,
                "no operation that can be continued is recorded under key {}",
                Shown::new(key, LIMIT)
            ),
            Reason::LeaseHeld { key } => write!(
                f,
                "the operation under key {} was still held by another process at the deadline",
                Shown::new(key, LIMIT)
            ),
            Reason::HandedOver { key } => write!(
                f,
                "stopped before the operation under key {} ended: its handle is recorded for \
                 another process to continue",
                Shown::new(key, LIMIT)
            ),
            Reason::StoredFailure {
                state,
                code,
                message,
            } => write!(
                f,
                "operation {} (recorded): {}: {}",
                Shown::new(state, LIMIT),
                Shown::new(code.as_deref().unwrap_or("-"), LIMIT),
                Shown::new(message.as_deref().unwrap_or("-"), LIMIT)
            ),
            Reason::NotCancellable(why) => {
                let why = why.to_string();
                write!(f, "cannot be cancelled: {}", Shown::new(&why, 2 * LIMIT))
            }
            Reason::CancelRefused { method, status } => write!(
                f,
                "answered {} to the cancel ({method}): refused",
                ShowStatus(*status)
            ),
            Reason::CancelAnswerRefused {
                method,
                status,
                place,
                word,
            } => write!(
                f,
                "answered {} to the cancel ({method}), saying {} at {}: refused",
                ShowStatus(*status),
                Shown::new(word, LIMIT),
                Shown::new(place, LIMIT)
            ),
            Reason::CancelUnanswered { method } => {
                write!(f, "did not answer the cancel ({method}); it is not retried")
            }
            _ => return None,
        })
    }
}

impl Reason {
    /// The reasons that quote an answer (its status, and what in it was wrong), written; `None`
    /// for the others.
    fn fmt_answer(&self, f: &mut fmt::Formatter<'_>) -> Option<fmt::Result> {
        let written = match self {
            Reason::BadHeader {
                status,
                name,
                value,
                why,
            } => write!(
                f,
                "answered {} with {name} {}: {why}",
                ShowStatus(*status),
                ShowValue(value.as_bytes())
            ),
            Reason::BadBodyUrl {
                status,
                field,
                value,
                why,
            } => write!(
                f,
                "answered {} with {field} {}: {why}",
                ShowStatus(*status),
                ShowValue(value.as_bytes())
            ),
            Reason::StatusBody { status, error } => {
                write!(
                    f,
                    "answered {} with {}",
                    ShowStatus(*status),
                    ShowBodyError(error)
                )
            }
            Reason::ResourceBody { status, error } => match error {
                StatusBodyError::Empty => write!(
                    f,
                    "answered {} with an empty body where the resource was expected",
                    ShowStatus(*status)
                ),
                other => write!(
                    f,
                    "answered {} with {}",
                    ShowStatus(*status),
                    ShowBodyError(other)
                ),
            },
            Reason::BodyTooLarge { status, limit } => write!(
                f,
                "answered {} with a body over the {limit}-byte limit",
                ShowStatus(*status)
            ),
            Reason::Rejected { status } => write!(f, "answered {}", ShowStatus(*status)),
            Reason::OperationFailed {
                status,
                state,
                error,
            } => match error {
                Some(odata) => write!(
                    f,
                    "answered {}: operation {}: {}",
                    ShowStatus(*status),
                    ShowWord(state),
                    ShowOData(odata)
                ),
                None => write!(
                    f,
                    "answered {}: operation {} (no error details)",
                    ShowStatus(*status),
                    ShowWord(state)
                ),
            },
            _ => return None,
        };
        Some(written)
    }
}
