//! The error the layer returns when an operation does not end in a success.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::credentials::mask_url;
use crate::metadata::Rule;
use crate::resume::ResumeHandle;
use crate::status::{ODataError, OperationStatus};
use crate::vocab::Meaning;

mod reason;
pub(crate) mod shown;

pub(crate) use reason::show_refused;
pub use reason::{HandleProblem, LastAttempt, Reason, UrlProblem};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What kind of failure an [`Error`] is.
///
/// New kinds may be added in minor releases: a `match` needs a `_` arm.
///
/// ```
/// use tower_lro::ErrorKind;
/// // What a gateway answers (`tower_lro::gateway::error_response` is the crate's own mapping).
/// fn status_for(err: &tower_lro::Error) -> u16 {
///     match err.kind() {
///         ErrorKind::OperationFailed | ErrorKind::Conflict => 422,
///         // Both carry a `ResumeHandle` that continues the operation later.
///         ErrorKind::Timeout | ErrorKind::PollLimit => 504,
///         _ => 502,
///     }
/// }
/// # let _ = status_for;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The operation ended `Failed` or `Canceled` ([`Error::is_canceled`] tells them apart). The
    /// terminal response and its OData error are in the error.
    OperationFailed,
    /// The deadline passed, or the next wait would end past it. Carries a [`ResumeHandle`].
    Timeout,
    /// More polls than `max_polls` would be needed. Carries a [`ResumeHandle`].
    PollLimit,
    /// A server broke the protocol: a bad monitor header, a status body that is not a status
    /// document, a body over the size limit.
    Protocol,
    /// A URL the layer refuses to follow: a scheme other than http(s), or an https → http
    /// downgrade.
    Insecure,
    /// A poll answered with a status that is neither success nor transient (`3xx`, most `4xx`).
    /// The response is in the error.
    UnexpectedStatus,
    /// A poll kept failing transiently (`408`, `429`, `5xx`, transport errors) beyond the budget.
    RetriesExhausted,
    /// The operation cannot be cancelled: its dialect has no way to (Compute Engine, a declared
    /// dialect without `cancel`), or its shape polls the resource itself. Nothing was sent.
    NotCancellable,
    /// An [idempotency key](crate::LroOptions::idempotency_key) does not fit the operation
    /// store's record: the key of a different request (`422`-worthy), or, for a request that
    /// [only continues a recorded operation](crate::LroOptions::continue_recorded), a key with
    /// nothing recorded under it. The message says which.
    Conflict,
}

/// A resolution that did not end in a success. Converts into [`tower::BoxError`] and downcasts
/// back:
///
/// ```
/// # fn demo(err: tower::BoxError) {
/// if let Some(e) = err.downcast_ref::<tower_lro::Error>() {
///     if e.is_operation_failed() {
///         let code = e.odata_error().and_then(|o| o.code());
///         eprintln!("{} failed with {:?}", e.url().unwrap_or("?"), code);
///     }
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    /// The URL that answered (or was refused).
    url: Option<String>,
    /// What it answered, as data; rendered by `Display`.
    reason: Reason,
    rule: Option<Rule>,
    operation_url: Option<String>,
    operation_id: Option<String>,
    operation_status: Option<OperationStatus>,
    response: Option<Snapshot>,
    attempts: Option<u32>,
    resume: Option<ResumeHandle>,
    source: Option<BoxError>,
    /// The cancel sent when the layer gave up (`LroOptions::cancel_on_give_up`).
    cancel: Option<crate::cancel::Cancellation>,
}

/// The head and buffered body of the response an error is about.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Error {
    pub(crate) fn new(url: Option<String>, reason: Reason) -> Self {
        Self {
            inner: Box::new(Inner {
                url,
                reason,
                rule: None,
                operation_url: None,
                operation_id: None,
                operation_status: None,
                response: None,
                attempts: None,
                resume: None,
                source: None,
                cancel: None,
            }),
        }
    }

    pub(crate) fn with_operation(
        mut self,
        rule: Rule,
        url: &str,
        id: Option<&str>,
        status: Option<&OperationStatus>,
    ) -> Self {
        self.inner.rule = Some(rule);
        self.inner.operation_url = Some(url.to_owned());
        self.inner.operation_id = id.map(str::to_owned);
        self.inner.operation_status = status.cloned();
        self
    }

    pub(crate) fn with_response(
        mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> Self {
        self.inner.response = Some(Snapshot {
            status,
            headers: headers.clone(),
            body: body.cloned().unwrap_or_default(),
        });
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = Some(attempts);
        self
    }

    pub(crate) fn with_resume(mut self, handle: ResumeHandle) -> Self {
        self.inner.resume = Some(handle);
        self
    }

    pub(crate) fn with_cancellation(mut self, cancel: crate::cancel::Cancellation) -> Self {
        self.inner.cancel = Some(cancel);
        self
    }

    /// When the layer gave up (deadline, poll limit) with
    /// [`cancel_on_give_up`](crate::LroOptions::cancel_on_give_up) on: the cancel it sent
    /// before returning this error, and what came of it. `None` when none was sent.
    pub fn cancellation(&self) -> Option<&crate::cancel::Cancellation> {
        self.inner.cancel.as_ref()
    }

    pub(crate) fn with_source(mut self, source: BoxError) -> Self {
        self.inner.source = Some(source);
        self
    }

    /// The typed reason behind this error: what tests and the crate's own code match on.
    /// Not part of the stable API (its variants follow the protocol core). It holds values as
    /// sent, and so does its own `Debug`; the error's `Debug` masks their credentials.
    #[doc(hidden)]
    pub fn reason(&self) -> &Reason {
        &self.inner.reason
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.reason.kind()
    }
    /// The operation ended `Failed` or `Canceled`: it did not succeed (true for a canceled
    /// operation too; [`Error::is_canceled`] tells the two apart).
    pub fn is_operation_failed(&self) -> bool {
        self.kind() == ErrorKind::OperationFailed
    }
    /// The operation ended with a status word that means canceled (`Canceled`, `Cancelled`,
    /// `CANCELLED`, a dialect's word for it): someone stopped it, it did not fail. The kind stays
    /// [`ErrorKind::OperationFailed`].
    pub fn is_canceled(&self) -> bool {
        matches!(
            &self.inner.reason,
            Reason::OperationFailed { state, .. } if state.meaning() == Meaning::Canceled
        )
    }
    /// The deadline passed (or the poll limit was reached): see [`Error::resume_handle`].
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind(), ErrorKind::Timeout | ErrorKind::PollLimit)
    }
    /// A server broke the protocol, or gave a URL the layer refuses to follow.
    pub fn is_protocol(&self) -> bool {
        matches!(self.kind(), ErrorKind::Protocol | ErrorKind::Insecure)
    }
    /// The URL that answered (or was refused), as it was sent: credential query values and
    /// userinfo included, so that a caller can retry or inspect it. The error's `Display`
    /// masks them ([`credentials::mask_url`](crate::credentials::mask_url)), and so does its
    /// `Debug`; mask this value the same way before logging it.
    pub fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }
    /// The status monitor, when polling had started, unmasked as [`Error::url`] is.
    pub fn operation_url(&self) -> Option<&str> {
        self.inner.operation_url.as_deref()
    }
    /// The operation's id when one was seen (see
    /// [`LroMetadata::operation_id`](crate::LroMetadata::operation_id)).
    pub fn operation_id(&self) -> Option<&str> {
        self.inner.operation_id.as_deref()
    }
    /// Which shape of [the submission](crate::_protocol#what-starts-an-operation) was being polled.
    pub fn rule(&self) -> Option<Rule> {
        self.inner.rule
    }
    /// The last operation status seen.
    pub fn operation_status(&self) -> Option<&OperationStatus> {
        self.inner.operation_status.as_ref()
    }
    /// The OData `error` of a failed operation's status document.
    pub fn odata_error(&self) -> Option<&ODataError> {
        match &self.inner.reason {
            Reason::OperationFailed { error, .. } => error.as_deref(),
            _ => None,
        }
    }
    /// The HTTP status of the response this error is about.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.response.as_ref().map(|r| r.status)
    }
    /// The headers of the response this error is about.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner.response.as_ref().map(|r| &r.headers)
    }
    /// The (buffered, size-limited) body of the response this error is about.
    pub fn body(&self) -> Option<&Bytes> {
        self.inner.response.as_ref().map(|r| &r.body)
    }
    /// The response this error is about, rebuilt (for gateways that forward it).
    pub fn to_response(&self) -> Option<http::Response<Bytes>> {
        let snap = self.inner.response.as_ref()?;
        let mut resp = http::Response::new(snap.body.clone());
        *resp.status_mut() = snap.status;
        *resp.headers_mut() = snap.headers.clone();
        Some(resp)
    }
    /// Attempts made, for [`ErrorKind::RetriesExhausted`].
    pub fn attempts(&self) -> Option<u32> {
        self.inner.attempts
    }
    /// How to continue the operation later, for timeouts.
    pub fn resume_handle(&self) -> Option<&ResumeHandle> {
        self.inner.resume.as_ref()
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        // The reason as `Display` words it (values quoted masked and bounded): its fields hold
        // what was sent as it was, credentials included.
        d.field("kind", &self.kind())
            .field("url", &i.url.as_deref().map(mask_url))
            .field("reason", &format_args!("{}", i.reason));
        if let Some(op) = &i.operation_url {
            d.field("operation_url", &mask_url(op));
        }
        if let Some(s) = &i.operation_status {
            d.field("operation_status", s);
        }
        if let Some(r) = &i.response {
            d.field("status", &r.status);
        }
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        if let Some(c) = &i.cancel {
            d.field("cancellation", c);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cancelling = matches!(
            self.inner.reason,
            Reason::NotCancellable(_)
                | Reason::CancelRefused { .. }
                | Reason::CancelAnswerRefused { .. }
                | Reason::CancelUnanswered { .. }
        );
        let what = match self.kind() {
            _ if cancelling => "cancelling the long-running operation",
            ErrorKind::NotCancellable => "long-running operation not cancellable",
            ErrorKind::OperationFailed if self.is_canceled() => "long-running operation canceled",
            ErrorKind::OperationFailed => "long-running operation failed",
            ErrorKind::Timeout => "long-running operation timed out",
            ErrorKind::PollLimit => "long-running operation exceeded the poll limit",
            ErrorKind::Protocol => "long-running operation protocol error",
            ErrorKind::Insecure => "long-running operation refused an insecure URL",
            ErrorKind::UnexpectedStatus => "long-running operation poll rejected",
            ErrorKind::RetriesExhausted => "long-running operation poll kept failing",
            ErrorKind::Conflict => "long-running operation key conflict",
        };
        match &self.inner.url {
            // The URL may be a server's (a monitor, a resource): credential values masked,
            // escaped and bounded.
            Some(url) => write!(
                f,
                "{what}: {} {}",
                shown::Shown::new(&mask_url(url), 2 * shown::LIMIT),
                self.inner.reason
            ),
            None => write!(f, "{what}: {}", self.inner.reason),
        }?;
        match &self.inner.cancel {
            Some(c) => write!(
                f,
                "; cancel sent ({} {}): {}",
                c.method(),
                shown::Shown::new(c.url(), 2 * shown::LIMIT),
                c.outcome()
            ),
            None => Ok(()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn error_is_send_sync_and_boxes() {
        assert_send_sync::<Error>();
        let e = Error::new(
            Some("https://x.example/ops/1".into()),
            Reason::Rejected {
                status: StatusCode::NOT_FOUND,
            },
        )
        .with_response(StatusCode::NOT_FOUND, &HeaderMap::new(), None);
        assert_eq!(
            e.to_string(),
            "long-running operation poll rejected: https://x.example/ops/1 answered 404 Not Found"
        );
        let boxed: tower::BoxError = e.into();
        let back = boxed.downcast_ref::<Error>().unwrap();
        assert_eq!(back.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(back.kind(), ErrorKind::UnexpectedStatus);
    }

    #[test]
    fn a_canceled_operation_is_told_apart_from_a_failed_one() {
        let ended = |word: &str| {
            Error::new(
                Some("https://x.example/ops/1".into()),
                Reason::OperationFailed {
                    status: StatusCode::OK,
                    state: OperationStatus::parse(word),
                    error: None,
                },
            )
        };
        for word in ["Canceled", "Cancelled", "CANCELLED"] {
            let e = ended(word);
            assert!(e.is_canceled(), "{word}");
            // Backward compatible: a canceled operation is still one that did not succeed.
            assert!(e.is_operation_failed(), "{word}");
            assert_eq!(e.kind(), ErrorKind::OperationFailed);
            assert!(
                e.to_string()
                    .starts_with("long-running operation canceled:"),
                "{e}"
            );
        }
        let e = ended("Failed");
        assert!(!e.is_canceled() && e.is_operation_failed());
        assert!(
            e.to_string().starts_with("long-running operation failed:"),
            "{e}"
        );
        let rejected = Error::new(
            None,
            Reason::Rejected {
                status: StatusCode::NOT_FOUND,
            },
        );
        assert!(!rejected.is_canceled());
    }
}
