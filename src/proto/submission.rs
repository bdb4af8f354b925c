//! The submission step: an answer whose head said "maybe an LRO", read and decided on.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};

use super::dialect::Start;
use super::link::Link;
use super::machine::{Init, Machine};
use super::operation::request_base;
use super::request::{check_target, RequestHead};
use super::schedule::resolution_deadline;
use super::{Action, Begin, Delivery, Now, Params, Plan};
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

    /// The URL the submission went to (whose answer is being read).
    pub fn request_uri(&self) -> &http::Uri {
        &self.head.uri
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
        let (cfg, head) = (&self.cfg, &self.head);
        let started =
            self.params
                .dialect
                .start(cfg, &head.method, &head.uri, status, headers, body);
        match started {
            Ok(Start::NotLro) => Ok(Begin::NotLro),
            Ok(Start::Shape { rule, header, doc }) => {
                self.start_shape(rule, header, doc, (status, headers, body))
            }
            Ok(Start::Monitor {
                url,
                reads_submission,
                operation_id,
            }) => {
                let found = (url.as_str(), reads_submission, operation_id);
                self.start_monitor(found, (status, headers, body))
            }
            Err(reason) => {
                let url = request_base(&head.uri)?.display();
                Err(Error::new(Some(url), reason).with_response(status, headers, body))
            }
        }
    }

    /// One of the default dialect's shapes, its monitor named by `monitor_header` (`None`:
    /// the request's own URL).
    fn start_shape(
        self,
        rule: Rule,
        monitor_header: Option<(HeaderName, &HeaderValue)>,
        doc: Option<StatusDocument>,
        (status, headers, body): Answered<'_>,
    ) -> Result<Begin, Error> {
        // Only an LRO needs the request's URL (to resolve and check the monitor's).
        let base = request_base(&self.head.uri)?;
        let bad_header = |why: UrlProblem| {
            let reason = match monitor_header.clone() {
                Some((name, value)) => Reason::BadHeader {
                    status,
                    name,
                    value: value.clone(),
                    why,
                },
                // The monitor is the request's own URL (provisioningState, accepted-means-
                // retry): a host the layer refuses to poll.
                None => Reason::Refused(why),
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
        let (mut machine, now) = self.machine(rule, base, monitor, submission_location);
        if let Some(doc) = &doc {
            machine.op.absorb(doc);
        }
        let plan = machine.schedule(Some(headers), false, now);
        Ok(begin(machine, plan.into(), now))
    }

    /// The machine for `rule`, polling `monitor`.
    fn machine(
        self,
        rule: Rule,
        base: Link,
        monitor: Link,
        submission_location: Option<Link>,
    ) -> (Box<Machine>, Now) {
        let init = Init {
            carry_from: None,
            rule,
            method: self.head.method,
            version: self.head.version,
            request_url: base,
            headers: self.head.carried,
            monitor,
            submission_location,
            final_state: self.params.final_state,
            dialect: self.params.dialect.clone(),
        };
        let now = self.answered;
        // Boxed where it is made: the machine is large, and moved by value it was copied
        // once per hand-over (here, into `begin`, into its box).
        let machine = Box::new(Machine::new(self.cfg, init, &self.params, now.mono()));
        (machine, now)
    }

    /// An operation of another dialect, whose monitor the answer named (`raw`), which
    /// (`reads_submission`) is read as the first status answer, and whose id it carried.
    fn start_monitor(
        self,
        (raw, reads_submission, operation_id): (&str, bool, Option<String>),
        (status, headers, body): Answered<'_>,
    ) -> Result<Begin, Error> {
        let base = request_base(&self.head.uri)?;
        let failed = |reason: Reason| {
            Error::new(Some(base.display()), reason).with_response(status, headers, body)
        };
        let monitor = base.join(raw).map_err(|e| {
            failed(Reason::DialectBody {
                status,
                problem: format!("a status URL {raw:?} that is unusable: {e}"),
            })
        })?;
        check_target(&self.cfg, &base, &monitor).map_err(|why| failed(Reason::Refused(why)))?;
        let dialect = &self.params.dialect;
        let check = match (monitor.to_url(), base.to_url()) {
            (Some(at), Some(from)) => dialect.status_check(headers, body, (&at, &from)),
            _ => Ok(None),
        };
        let check = check.map_err(|problem| failed(Reason::DialectBody { status, problem }))?;
        let rule = dialect.rule().unwrap_or(Rule::Declared);
        let (mut machine, now) = self.machine(rule, base, monitor, None);
        machine.op.set_check(check);
        machine.op.operation_id = operation_id;
        let action = match body {
            Some(body) if reads_submission => machine.read(status, headers, body, now),
            _ => machine.schedule(Some(headers), false, now).into(),
        };
        Ok(begin(machine, action, now))
    }
}

/// The submission's answer: status, head and body (when it was read whole).
type Answered<'a> = (StatusCode, &'a HeaderMap, Option<&'a Bytes>);

/// The machine's first step, from what it made of the submission's answer.
fn begin(mut machine: Box<Machine>, action: Action, now: Now) -> Begin {
    // The submission's answer was read: it is reported like a status answer.
    machine.sched.report_submission();
    let plan = match action {
        Action::Deliver(meta) => return Begin::Final(meta),
        // Asked not to wait: the submission's answer, with a handle to resume from.
        Action::Send { .. } if machine.sched.ends.start_only => {
            // The planned poll is not sent: it does not count.
            machine.sched.unplan();
            let mut meta = machine.metadata(now.mono(), None);
            meta.resume = Some(Box::new(machine.resume_handle()));
            return Begin::Final(Delivery::new(meta));
        }
        Action::Send { at, request } => Plan::Send { at, request },
        Action::Cancel { request, error } => Plan::Cancel { request, error },
        // Giving up at once (a first wait past the deadline) cancels too, when asked.
        Action::Fail(e) if machine.sched.ends.cancel_on_give_up => machine.give_up(true, e),
        Action::Fail(e) => Plan::Fail(e),
    };
    Begin::Lro(machine, plan)
}
