//! What happened during a resolution, attached to every final response ([the final response](crate::_protocol#final-response)).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::credentials::mask_url;
use crate::parse::HintSource;
use crate::resume::ResumeHandle;
pub use crate::rule::Rule;
use crate::status::OperationStatus;

/// The record of a resolved operation, in the extensions of every final response the layer
/// produced by polling.
///
/// ```
/// # async fn demo(resp: http::Response<()>) {
/// if let Some(meta) = resp.extensions().get::<tower_lro::LroMetadata>() {
///     println!("{} via {} after {} polls", meta.status(), meta.rule(), meta.polls());
/// }
/// # }
/// ```
#[derive(Clone, PartialEq)]
pub struct LroMetadata {
    pub(crate) operation_url: String,
    pub(crate) operation_id: Option<String>,
    pub(crate) rule: Rule,
    pub(crate) status: OperationStatus,
    pub(crate) polls: u32,
    pub(crate) elapsed: Duration,
    pub(crate) resource_url: Option<String>,
    pub(crate) dialect: std::sync::Arc<str>,
    // For an operation only started (`LroOptions::start_only`): how to resume it.
    pub(crate) resume: Option<Box<ResumeHandle>>,
    pub(crate) credentials_withheld: bool,
}

impl LroMetadata {
    /// The status monitor URL that was polled (the last one, if it moved), as the server gave
    /// it: a credential query value it holds (a SAS `sig=`) is not masked here. Mask it with
    /// [`credentials::mask_url`](crate::credentials::mask_url) before printing or logging it,
    /// as `lro` does and as [`Error`](crate::Error)'s `Display` does.
    pub fn operation_url(&self) -> &str {
        &self.operation_url
    }
    /// The operation's id, when one was seen: `operationId` (or `id`) of the status documents,
    /// a Google operation's `name`, or where a declared dialect's `operation_id` says.
    pub fn operation_id(&self) -> Option<&str> {
        self.operation_id.as_deref()
    }
    /// Which shape of [the submission](crate::_protocol#what-starts-an-operation) applied.
    pub fn rule(&self) -> Rule {
        self.rule
    }
    /// The terminal status.
    pub fn status(&self) -> &OperationStatus {
        &self.status
    }
    /// Requests sent to the status monitor, transient retries included (not the resource GET).
    pub fn polls(&self) -> u32 {
        self.polls
    }
    /// Whether a request of the operation went to an origin that gets no credentials, so that
    /// no later one carried them, the final fetch included (stripping is cumulative). A
    /// result fetched again later must not carry them either.
    pub fn credentials_withheld(&self) -> bool {
        self.credentials_withheld
    }
    /// Time from the submission's response to the final response's head.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// For a request sent with [`LroOptions::start_only`](crate::LroOptions::start_only): the
    /// handle that continues the operation the answer started (the answer itself is the
    /// submission's, untouched). `None` otherwise.
    pub fn resume_handle(&self) -> Option<&ResumeHandle> {
        self.resume.as_deref()
    }
    /// The dialect the operation was read in: `default`, `google`, `compute` or a declared
    /// dialect's name.
    pub fn dialect(&self) -> &str {
        &self.dialect
    }
    /// The URL of the created resource that was fetched, if one was.
    pub fn resource_url(&self) -> Option<&str> {
        self.resource_url.as_deref()
    }
}

/// A snapshot of an operation in progress, handed to the
/// [`LroLayer::on_progress`](crate::LroLayer::on_progress) hook after every status poll.
///
/// ```
/// let layer = tower_lro::LroLayer::new().on_progress(|p| {
///     let pct = p.percent_complete().map(|v| format!(" {v:.0}%")).unwrap_or_default();
///     eprintln!("{} {}{pct}, next poll in {:?}", p.operation_url(), p.status(), p.next_poll_in());
/// });
/// ```
#[derive(Clone, PartialEq)]
pub struct Progress {
    pub(crate) operation_url: String,
    pub(crate) operation_id: Option<String>,
    pub(crate) status: OperationStatus,
    pub(crate) percent_complete: Option<f64>,
    pub(crate) progress_text: Option<Arc<str>>,
    pub(crate) polls: u32,
    pub(crate) next_poll_in: Option<Duration>,
    pub(crate) wait_reason: Option<WaitReason>,
    pub(crate) elapsed: Duration,
    pub(crate) resume: Option<ResumeHandle>,
}

impl Progress {
    /// The status monitor, unmasked (see [`LroMetadata::operation_url`]).
    pub fn operation_url(&self) -> &str {
        &self.operation_url
    }
    /// The operation's id when one was seen (see [`LroMetadata::operation_id`]).
    pub fn operation_id(&self) -> Option<&str> {
        self.operation_id.as_deref()
    }
    /// The last status the monitor reported.
    pub fn status(&self) -> &OperationStatus {
        &self.status
    }
    /// `percentComplete`, when the status document has one.
    pub fn percent_complete(&self) -> Option<f64> {
        self.percent_complete
    }
    /// The progress as the service wrote it, when its dialect reads it as text: FHIR's
    /// `X-Progress` (`"Exporting Patient (2 of 5)"`), a declared dialect's progress header or
    /// string, as sent but trimmed and cut after 200 characters. It comes from the server:
    /// escape it before printing it on a terminal.
    pub fn progress_text(&self) -> Option<&str> {
        self.progress_text.as_deref()
    }
    /// Requests sent to the status monitor so far.
    pub fn polls(&self) -> u32 {
        self.polls
    }
    /// The wait before the next poll; `None` once the operation is over.
    pub fn next_poll_in(&self) -> Option<Duration> {
        self.next_poll_in
    }
    /// Why the next wait is what it is (a server hint, the interval, a backoff, a clamp).
    pub fn wait_reason(&self) -> Option<&WaitReason> {
        self.wait_reason.as_ref()
    }
    /// Time since the submission's response.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// How to continue the operation from here, while a poll is planned: what a program that
    /// may be interrupted (a command-line tool on Ctrl-C) saves.
    pub fn resume_handle(&self) -> Option<&ResumeHandle> {
        self.resume.as_ref()
    }
}

// `Debug` masks credential values in the URLs (as `Error`'s does): a `{:?}` in a log line must
// not carry a server's `sig=`; the accessors stay raw.
impl fmt::Debug for LroMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LroMetadata")
            .field("operation_url", &mask_url(&self.operation_url))
            .field("operation_id", &self.operation_id)
            .field("rule", &self.rule)
            .field("status", &self.status)
            .field("polls", &self.polls)
            .field("elapsed", &self.elapsed)
            .field("resource_url", &self.resource_url.as_deref().map(mask_url))
            .field("dialect", &self.dialect)
            .field("resume", &self.resume)
            .finish()
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("operation_url", &mask_url(&self.operation_url))
            .field("operation_id", &self.operation_id)
            .field("status", &self.status)
            .field("percent_complete", &self.percent_complete)
            .field("progress_text", &self.progress_text)
            .field("polls", &self.polls)
            .field("next_poll_in", &self.next_poll_in)
            .field("wait_reason", &self.wait_reason)
            .field("elapsed", &self.elapsed)
            .field("resume", &self.resume)
            .finish()
    }
}

/// Why the layer chose the wait before its next request (see [`Progress::wait_reason`]).
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

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
