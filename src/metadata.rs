//! What happened during a resolution, attached to every final response (spec §6).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::resume::ResumeHandle;
use crate::status::OperationStatus;

/// Which shape of spec §1 started the polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rule {
    /// `Operation-Location` header, status body polling (seed V2).
    OperationLocation,
    /// `Azure-AsyncOperation` header, status body polling (ARM).
    AzureAsyncOperation,
    /// `202` with `Location`, location rules (seed V1).
    Location,
    /// `PUT`/`PATCH` whose body has a non-terminal `provisioningState` (ARM).
    ProvisioningState,
}

impl Rule {
    /// The header (or body field) that selected the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::OperationLocation => "Operation-Location",
            Rule::AzureAsyncOperation => "Azure-AsyncOperation",
            Rule::Location => "Location",
            Rule::ProvisioningState => "provisioningState",
        }
    }

    /// Whether polls of this rule read a status document (§3).
    pub(crate) fn reads_status_body(self) -> bool {
        matches!(self, Rule::OperationLocation | Rule::AzureAsyncOperation)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

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
#[derive(Debug, Clone, PartialEq)]
pub struct LroMetadata {
    pub(crate) operation_url: String,
    pub(crate) operation_id: Option<String>,
    pub(crate) rule: Rule,
    pub(crate) status: OperationStatus,
    pub(crate) polls: u32,
    pub(crate) elapsed: Duration,
    pub(crate) resource_url: Option<String>,
}

impl LroMetadata {
    /// The status monitor URL that was polled (the last one, if it moved).
    pub fn operation_url(&self) -> &str {
        &self.operation_url
    }
    /// `operationId` (or `id`) from the status documents, when one was seen.
    pub fn operation_id(&self) -> Option<&str> {
        self.operation_id.as_deref()
    }
    /// Which shape of spec §1 applied.
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
    /// Time from the submission's response to the final response's head.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
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
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub(crate) operation_url: String,
    pub(crate) operation_id: Option<String>,
    pub(crate) status: OperationStatus,
    pub(crate) percent_complete: Option<f64>,
    pub(crate) polls: u32,
    pub(crate) next_poll_in: Option<Duration>,
    pub(crate) wait_reason: Option<crate::proto::WaitReason>,
    pub(crate) elapsed: Duration,
    pub(crate) resume_handle: Option<ResumeHandle>,
}

impl Progress {
    /// The status monitor.
    pub fn operation_url(&self) -> &str {
        &self.operation_url
    }
    /// `operationId` (or `id`) when one was seen.
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
    /// Requests sent to the status monitor so far.
    pub fn polls(&self) -> u32 {
        self.polls
    }
    /// The wait before the next poll; `None` once the operation is over.
    pub fn next_poll_in(&self) -> Option<Duration> {
        self.next_poll_in
    }
    /// Why the next wait is what it is (a server hint, the interval, a backoff, a clamp).
    pub fn wait_reason(&self) -> Option<&crate::proto::WaitReason> {
        self.wait_reason.as_ref()
    }
    /// Time since the submission's response.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }
    /// A handle to continue this operation later, as it stands now (for example to save it when
    /// the program is interrupted while it waits); `None` when the operation is over.
    pub fn resume_handle(&self) -> Option<&ResumeHandle> {
        self.resume_handle.as_ref()
    }
}
