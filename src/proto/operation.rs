//! What is known of one operation (`Operation`), where it stands (`Phase`) and what a
//! [`Machine`](super::Machine) starts from (`Init`): the machine's data, apart from its clock
//! (`schedule.rs`) and its requests (`request.rs`).

use std::sync::Arc;

use http::{Method, Version};

use super::dialect::check::Check;
use super::dialect::Dialect;
use super::link::Link;
use crate::config::FinalState;
use crate::metadata::Rule;
use crate::status::{OperationStatus, StatusDocument};

/// What is known of the operation: what metadata, errors and resume handles report.
#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) rule: Rule,
    pub(crate) method: Method,
    pub(crate) request_url: Link,
    pub(crate) monitor: Link,
    pub(crate) submission_location: Option<Box<Link>>,
    pub(crate) final_state: FinalState,
    pub(crate) operation_id: Option<String>,
    pub(crate) percent_complete: Option<f64>,
    pub(crate) status: OperationStatus,
    pub(crate) dialect: Dialect,
    /// What only an operation of a declared dialect keeps (one box: others pay nothing).
    pub(crate) declared: Option<Box<Declared>>,
}

/// What an operation of a declared dialect keeps, built once per operation.
#[derive(Debug)]
pub(crate) struct Declared {
    /// The dialect's words added to the layer's vocabulary.
    pub(crate) words: crate::vocab::Vocabulary,
    /// How status requests are sent when not as a plain `GET` (`status_request`), filled once.
    pub(crate) check: Option<Arc<Check>>,
    /// How the result is fetched when not with a plain `GET` (`result_request`).
    pub(crate) fetch_check: Option<Arc<Check>>,
    /// The progress as text, when the dialect reads it so (FHIR's `X-Progress`): only
    /// declared dialects read one, so other operations do not carry the field.
    pub(crate) progress_text: Option<Arc<str>>,
}

impl Operation {
    /// The progress as text, when the dialect read one.
    pub(crate) fn progress_text(&self) -> Option<&Arc<str>> {
        self.declared.as_ref()?.progress_text.as_ref()
    }

    /// What a status document says of the operation.
    pub(crate) fn absorb(&mut self, doc: &StatusDocument) {
        let op = self;
        // Copied only when it changes (usually once per operation).
        if let Some(id) = &doc.operation_id {
            if op.operation_id.as_deref().map(str::as_bytes) != Some(id.as_bytes()) {
                op.operation_id = Some(String::from(&**id));
            }
        }
        // Per document: a terminal status without the field does not keep an old percentage.
        op.percent_complete = doc.percent_complete;
        if let Some(st) = doc.status.as_ref().or(doc.provisioning_state.as_ref()) {
            // A server's `NotStarted` replaces the one the layer assumed (equal, but no word).
            if op.status != *st || op.status.is_assumed() {
                op.status = st.clone();
            }
        }
    }

    /// How status requests are sent: `check` from now on (a declared dialect's).
    pub(crate) fn set_check(&mut self, check: Option<Check>) {
        if let (Some(d), Some(check)) = (self.declared.as_mut(), check) {
            d.check = Some(Arc::new(check));
        }
    }

    /// The operation succeeded (a success word already read stays as it is).
    pub(crate) fn mark_succeeded(&mut self) {
        if !self.status.is_success() {
            self.status = OperationStatus::succeeded();
        }
    }
}

/// Where the operation stands.
#[derive(Debug, Clone)]
pub(crate) enum Phase {
    /// Polling the status monitor.
    Polling,
    /// Fetching the created resource at this URL.
    Fetching(Box<Link>),
    /// Over: no more input is expected.
    Done,
}

/// What a machine starts from: a submission's answer, or a resume handle.
pub(crate) struct Init {
    pub(crate) rule: Rule,
    pub(crate) method: Method,
    pub(crate) version: Version,
    pub(crate) request_url: Link,
    // What polls carry of the submission's headers.
    pub(crate) headers: super::carried::Carried,
    pub(crate) monitor: Link,
    pub(crate) submission_location: Option<Link>,
    pub(crate) final_state: FinalState,
    pub(crate) dialect: Dialect,
    /// Where the carried query parameters come from, when not the request's URL (a resumed
    /// operation: the resuming request's URL, which carries the credentials a handle omits).
    pub(crate) carry_from: Option<Link>,
}

/// The absolute URL of the request, or a placeholder-based one for origin-form URIs.
pub(crate) fn request_base(uri: &http::Uri) -> Result<Link, crate::error::Error> {
    Link::from_request(uri).map_err(|why| {
        let reason = crate::error::Reason::BadRequestUrl { why };
        crate::error::Error::new(Some(uri.to_string()), reason)
    })
}
