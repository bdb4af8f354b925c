//! The submission step: an answer whose head said "maybe an LRO", read and decided on.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::machine::{request_base, Init, Machine};
use super::request::{check_target, RequestHead};
use super::schedule::resolution_deadline;
use super::shapes::choose_rule;
use super::{Begin, Now, Params, Plan};
use crate::config::Config;
use crate::error::{Error, Reason, UrlProblem};
use crate::metadata::Rule;
use crate::status::StatusDocument;

/// A submission whose answer's head has arrived and may start an operation.
///
/// It owns the one deadline of the resolution, counted from the instant the head arrived: the
/// read of the answer's body is bounded by it ([`read_deadline`](Self::read_deadline)), and so
/// is every poll after it.
#[derive(Debug)]
pub struct Submission {
    cfg: Arc<Config>,
    head: RequestHead,
    params: Params,
    answered: Now,
    deadline: Instant,
}

impl Submission {
    /// The submission `head`, answered at `answered` (when
    /// [`classify`](super::classify) said `Inspect`).
    pub fn new(cfg: Arc<Config>, head: RequestHead, params: Params, answered: Now) -> Self {
        let deadline = resolution_deadline(params.deadline, answered.mono());
        Self {
            cfg,
            head,
            params,
            answered,
            deadline,
        }
    }

    /// The instant by which the answer's body must have been read.
    pub fn read_deadline(&self) -> Instant {
        self.deadline
    }

    /// The error when the answer's body did not end by [`read_deadline`](Self::read_deadline).
    pub fn timed_out(self) -> Error {
        Error::new(
            Some(self.head.uri.to_string()),
            Reason::SubmissionBodyTimeout,
        )
    }

    /// Decides on the answer, given its body (`None` when it was not read whole): final as it
    /// is, or an operation to drive.
    pub fn start(
        self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&Bytes>,
    ) -> Result<Begin, Error> {
        let doc = body.and_then(|b| StatusDocument::parse(b).ok());
        let Some((rule, monitor_header)) =
            choose_rule(&self.cfg, &self.head.method, status, headers, doc.as_ref())
        else {
            return Ok(Begin::NotLro);
        };

        // Only an LRO needs the request's URL (to resolve and check the monitor's).
        let base = request_base(&self.head.uri)?;
        let bad_header = |why: UrlProblem| {
            let (name, value) = monitor_header
                .clone()
                .expect("the request URL is not refused");
            let reason = Reason::BadHeader {
                status,
                name,
                value: value.clone(),
                why,
            };
            Error::new(Some(base.display()), reason).with_response(status, headers, body)
        };
        let monitor = match &monitor_header {
            Some((_, v)) => base
                .join_value(v)
                .map_err(|e| bad_header(UrlProblem::Unreadable(e)))?,
            None => base.clone(),
        };
        check_target(&self.cfg, &base, &monitor).map_err(&bad_header)?;
        let submission_location = match rule {
            Rule::Location => Some(monitor.clone()),
            _ => headers
                .get(http::header::LOCATION)
                .and_then(|v| base.join_value(v).ok()),
        };
        let init = Init {
            rule,
            method: self.head.method,
            version: self.head.version,
            request_url: base,
            headers: self.head.headers,
            monitor,
            submission_location,
            final_state: self.params.final_state,
        };
        let now = self.answered;
        let mut machine = Machine::new(self.cfg, init, &self.params, now.mono());
        if let Some(doc) = &doc {
            machine.absorb(doc);
        }
        let plan = machine.schedule(Some(headers), false, now);
        // The submission's answer was read: it is reported like a status answer.
        machine.sched.report_due = true;
        if let Plan::Send { at, .. } = &plan {
            machine.sched.next_status_at = Some(*at);
        }
        Ok(Begin::Lro(Box::new(machine), plan))
    }
}
