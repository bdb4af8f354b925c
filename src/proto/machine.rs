//! The state of one long-running operation, and its single input entry point.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, StatusCode, Uri};

use super::cancel::CancelRequest;
use super::dialect::{Dialect, Misread, Reading};
use super::link::Link;
use super::redirect::{self, Redirect};
use super::request::{check_target, PollKind, PollRequest, RequestHead, Requests};
use super::schedule::{is_transient, Ends, Schedule};
use super::{Action, Answer, BoxError, Delivery, Failure, Now, Params, Plan};
use crate::config::Config;
use crate::error::{Error, LastAttempt, Reason, UrlProblem};
use crate::metadata::{LroMetadata, Progress, Rule};
use crate::resume::ResumeHandle;
use crate::status::OperationStatus;

pub(crate) use super::operation::{Declared, Init, Operation, Phase};

/// The state of one long-running operation: what is known of it (`Operation`), its clock and
/// budgets (`Schedule`, in `schedule.rs`), how its requests are built (`Requests`, in
/// `request.rs`) and where it stands (`Phase`).
///
/// A driver feeds it through [`Machine::handle_answer`] and [`Machine::handle_failure`] and
/// reads reports through [`Machine::poll_progress`]; the `proto` module docs give the
/// contract.
#[derive(Debug)]
pub struct Machine {
    pub(crate) cfg: Arc<Config>,
    pub(crate) op: Operation,
    pub(crate) sched: Schedule,
    pub(crate) reqs: Requests,
    pub(crate) phase: Phase,
    /// Where the next answer came from, when an inner client followed redirects to get it.
    pub(crate) answered_from: Option<Box<Link>>,
}

impl Machine {
    pub(crate) fn new(cfg: Arc<Config>, init: Init, params: &Params, now: Instant) -> Self {
        let carry_from = init.carry_from.as_ref().unwrap_or(&init.request_url);
        let reqs = Requests::new(&cfg, init.version, init.headers, carry_from);
        let mut sched = Schedule::new(now, params.deadline);
        sched.ends = Ends {
            start_only: params.start_only,
            bound_body: params.bounds_body(),
            cancel_on_give_up: params.cancel_on_give_up,
        };
        Machine {
            sched,
            reqs,
            op: Operation {
                rule: init.rule,
                method: init.method,
                request_url: init.request_url,
                monitor: init.monitor,
                submission_location: init.submission_location.map(Box::new),
                final_state: init.final_state,
                operation_id: None,
                percent_complete: None,
                status: OperationStatus::not_started(),
                declared: init.dialect.vocabulary(&cfg.vocabulary).map(|words| {
                    Box::new(Declared {
                        words,
                        check: None,
                        fetch_check: None,
                        progress_text: None,
                    })
                }),
                dialect: init.dialect,
            },
            phase: Phase::Polling,
            answered_from: None,
            cfg,
        }
    }

    /// Continues an operation from a [`ResumeHandle`]; `head` supplies the headers (fresh
    /// credentials) to carry. The first poll is due at once.
    pub fn resume(
        cfg: Arc<Config>,
        handle: &ResumeHandle,
        head: &RequestHead,
        params: &Params,
        now: Instant,
    ) -> Result<(Box<Machine>, Plan), Error> {
        let mut machine = super::resume::machine(cfg, handle, head, params, now)?;
        if let Err(why) = check_target(&machine.cfg, &machine.op.request_url, &machine.op.monitor) {
            return Err(Error::new(
                Some(machine.op.monitor.display()),
                Reason::Refused(why),
            ));
        }
        let request = machine.request_for(PollKind::Status, now)?;
        Ok((Box::new(machine), Plan::Send { at: now, request }))
    }

    /// Whether the driver must read the body of an answer with this status (under the size
    /// limit) before handing it in. `false` means: hand in the head only, and on
    /// [`Action::Deliver`] pass the body through unread (the created resource).
    pub fn wants_body(&self, status: StatusCode) -> bool {
        match self.phase {
            Phase::Fetching(_) => is_transient(status),
            _ => true,
        }
    }

    /// When a delivered final body that still streams is to be cut: the deadline, unless the
    /// caller left the body unbounded (or the deadline is "never").
    pub fn final_body_deadline(&self) -> Option<Instant> {
        self.sched.ends.bound_body.then_some(self.sched.deadline())
    }

    /// When the resolution must be over. Drivers bound every in-flight request by it.
    pub fn deadline(&self) -> Instant {
        self.sched.deadline()
    }

    /// The shape being polled.
    pub fn rule(&self) -> Rule {
        self.op.rule
    }

    /// Says that the next answer came from `url`, not from the URL the request went to: an inner
    /// client followed redirects. On a status poll, an answer that reads as a status answer
    /// means the monitor moved there; any other answer is the result a `303`/`302` led to,
    /// and is the final response ([redirects](crate::_protocol#redirects)).
    pub fn answered_from(&mut self, url: &Uri) {
        let current: &Link = match &self.phase {
            Phase::Fetching(u) => u,
            _ => &self.op.monitor,
        };
        // Where the request went (clients that always report it, such as tower-http's
        // `FollowRedirect` inside reqwest, report the same URL when nothing was followed).
        if self.reqs.sent_to(current, url) {
            return;
        }
        let Ok(link) = self.op.monitor.join(&url.to_string()) else {
            return;
        };
        self.answered_from = (link != *current).then(|| Box::new(link));
    }

    /// Hands in the answer to the request of the last `Send`.
    pub fn handle_answer(&mut self, now: Now, answer: Answer<'_>) -> Action {
        if matches!(self.phase, Phase::Done) {
            return Action::Fail(Error::new(None, Reason::AnswerAfterEnd));
        }
        self.begin_input(true);
        let polling = matches!(self.phase, Phase::Polling);
        let (status, headers) = (answer.status, answer.headers);
        let action = match self.read_common(&answer) {
            Some((reading, body)) => {
                self.settled_answer(); // neither transient nor a redirect
                self.act(reading, status, headers, body, now)
            }
            None => self.on_response(status, headers, answer.body, now),
        };
        match action {
            Action::Fail(error) => {
                let error = self.unreported(error);
                match self.sched.ends.cancel_on_give_up {
                    true => self.give_up(polling, error).into(),
                    false => Action::Fail(error),
                }
            }
            action => action,
        }
    }

    /// A status poll's answer of the common form read in the dialect's short pass, with its
    /// body; `None` for others. The general steps it skips apply to none of these (a `2xx`
    /// while polling, not reached through a redirect).
    fn read_common<'a>(
        &mut self,
        answer: &Answer<'a>,
    ) -> Option<(Result<Reading, Misread>, &'a Bytes)> {
        let (Phase::Polling, None, Some(body)) = (&self.phase, &self.answered_from, answer.body)
        else {
            return None;
        };
        let (op, cfg) = (&mut self.op, &self.cfg);
        Dialect::read_common(op, cfg, answer.status, answer.headers, body).map(|r| (r, body))
    }

    /// An error that ends the operation without an answer having said where it stands (a
    /// rejected poll, a body that is no status document, a refused URL, retries spent) is
    /// reported by the error alone: a progress report would repeat a status no answer gave
    /// now — for a resumed operation, one no answer gave at all.
    fn unreported(&mut self, error: Error) -> Error {
        let read = matches!(
            error.reason(),
            Reason::OperationFailed { .. }
                | Reason::AsyncResult { .. }
                | Reason::PollLimit { .. }
                | Reason::Deadline { .. }
        );
        if !read {
            self.sched.begin_input(false);
        }
        error
    }

    /// Hands in that the request of the last `Send` got no usable answer. Nothing is
    /// delivered from a failure: the machine retries (within its budget) or fails.
    pub fn handle_failure(&mut self, now: Now, failure: Failure<'_>) -> Plan {
        if matches!(self.phase, Phase::Done) {
            return Plan::Fail(Error::new(None, Reason::AnswerAfterEnd));
        }
        // A deadline is not an answer worth reporting.
        self.begin_input(!matches!(failure, Failure::DeadlinePassed));
        self.answered_from = None;
        let polling = matches!(self.phase, Phase::Polling);
        match self.on_failure(failure, now) {
            Plan::Fail(error) => {
                let error = self.unreported(error);
                match self.sched.ends.cancel_on_give_up {
                    true => self.give_up(polling, error),
                    false => Plan::Fail(error),
                }
            }
            plan => plan,
        }
    }

    /// What a failure means: retry, or fail.
    fn on_failure(&mut self, failure: Failure<'_>, now: Now) -> Plan {
        match failure {
            // The connector's SSRF guard refused the address: final, not transient.
            Failure::Transport(error) => match crate::connect::Refused::find(&*error) {
                Some(refused) => {
                    let reason = Reason::Refused(UrlProblem::Resolved(refused.clone()));
                    Plan::Fail(self.end(reason, None).with_source(error))
                }
                None => self.retry(None, Some(error), now),
            },
            Failure::BodyFailed { error } => self.retry(None, Some(error), now),
            Failure::BodyTooLarge { status, headers } => {
                if let Some(plan) = self.oversized_result(status, now) {
                    return plan;
                }
                let limit = self.cfg.status_body_limit;
                let reason = Reason::BodyTooLarge { status, limit };
                Plan::Fail(self.end(reason, Some((status, headers, None))))
            }
            Failure::DeadlinePassed => {
                self.phase = Phase::Done;
                Plan::Fail(self.timeout_error(false))
            }
        }
    }

    /// The request that cancels this operation, built like a poll (the same credential, origin
    /// and SSRF rules); an error when it cannot be cancelled (nothing is to be sent then).
    pub fn cancel_request(&mut self) -> Result<CancelRequest, Error> {
        let op = &self.op;
        let target = op
            .dialect
            .cancel_target(op.rule, &op.monitor, op.operation_id.as_deref());
        let not = |why| self.op_error(op.monitor.display(), Reason::NotCancellable(why), None);
        let (method, url, check) = target.map_err(not)?;
        self.check(&url)?;
        let check = check.map(std::sync::Arc::new);
        let (cfg, request_url) = (&self.cfg, &self.op.request_url);
        let built = self.reqs.build(
            cfg,
            request_url,
            &url,
            (PollKind::Cancel, check.as_ref()),
            1,
        );
        let request = built.map_err(|why| self.refusal(&url, why))?;
        let answer = self.op.dialect.cancel_answer();
        Ok(CancelRequest::new(method, request, answer))
    }

    /// Giving up while polling (deadline, poll limit): cancel first, if the operation can be.
    pub(crate) fn give_up(&mut self, polling: bool, error: Error) -> Plan {
        let gave_up = matches!(
            error.reason(),
            Reason::Deadline { .. } | Reason::PollLimit { .. }
        );
        match (polling && gave_up).then(|| self.cancel_request().ok()) {
            Some(Some(request)) => Plan::Cancel { request, error },
            _ => Plan::Fail(error),
        }
    }

    /// What every input resets: a status answer (or its failure) is worth a progress report.
    fn begin_input(&mut self, reportable: bool) {
        self.sched
            .begin_input(reportable && matches!(self.phase, Phase::Polling));
    }

    fn on_response(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: Option<&Bytes>,
        now: Now,
    ) -> Action {
        // Where this answer came from is about this answer only.
        let followed = self.answered_from.take();
        // A dialect may answer a failure with a status body on a `5xx` (Durable Functions, a
        // FHIR `OperationOutcome`).
        let status_body = || {
            let op = &self.op;
            matches!(self.phase, Phase::Polling)
                && op.dialect.status_body_on(op.rule, status, headers, body)
        };
        if is_transient(status) && !status_body() {
            return self.retry(Some((status, headers, body)), None, now).into();
        }
        if let Phase::Fetching(url) = &self.phase {
            let shown = url.display();
            return Action::Deliver(self.deliver(now.mono, Some(shown)));
        }
        let empty = Bytes::new();
        let body = body.unwrap_or(&empty);
        if let Some(action) = self.on_redirect(status, headers, body, now) {
            return action;
        }
        self.settled_answer();
        if let Some(url) = followed {
            if let Some(action) = self.on_followed_redirect(*url, status, body, now) {
                return action;
            }
        }
        self.read(status, headers, body, now)
    }

    /// An answer neither transient nor a redirect ends the runs of transient failures and of
    /// moves. The general path (`on_response`) and the short pass (`handle_answer`) both come
    /// through here: a step for such answers is added once.
    fn settled_answer(&mut self) {
        self.sched.answered();
        self.sched.settled();
    }

    /// Reads a status answer in the operation's dialect, and acts on what it means.
    pub(crate) fn read(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Action {
        let reading = Dialect::read(&mut self.op, &self.cfg, status, headers, body);
        self.act(reading, status, headers, body, now)
    }

    /// Does what a reading of the answer in hand says: polls again, fetches, delivers or
    /// fails — the one place each of these follows a status answer.
    fn act(
        &mut self,
        reading: Result<Reading, Misread>,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Action {
        let answer = Some((status, headers, Some(body)));
        match reading {
            Ok(Reading::Running { moved }) => {
                if let Some(next) = moved {
                    self.op.monitor = next;
                    self.reqs.forget_target();
                }
                self.schedule(Some(headers), false, now).into()
            }
            Ok(part @ Reading::Deliver { .. }) => {
                let mut delivery = self.deliver(now.mono, None);
                part.shape(&mut delivery);
                Action::Deliver(delivery)
            }
            Ok(Reading::Fetch(url)) => self.fetch(url, now),
            Ok(Reading::Failed { error, result }) => {
                if self.cfg.failure_as_response {
                    let mut delivery = self.deliver(now.mono, None);
                    delivery.status = result;
                    return Action::Deliver(delivery);
                }
                let reason = match result {
                    Some(result) => Reason::AsyncResult { status, result },
                    None => Reason::OperationFailed {
                        status,
                        state: self.op.status.clone(),
                        error: error.map(Box::new),
                    },
                };
                Action::Fail(self.end(reason, answer))
            }
            Err(Misread::Answer(reason)) => Action::Fail(self.end(*reason, answer)),
            Err(Misread::Head(reason)) => {
                let url = self.op.monitor.display();
                let error = self.op_error(url, *reason, Some((status, headers, None)));
                self.fail(error)
            }
            Err(Misread::Refused(refused)) => {
                let (url, why) = *refused;
                let error = self.refusal(&url, why);
                self.fail(error)
            }
        }
    }

    /// A redirect on a status poll: `303`/`302` mean done, fetch the `Location`; `301`/`307`/
    /// `308` mean the monitor moved, poll it there. `None` for any other answer.
    fn on_redirect(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Option<Action> {
        let read = redirect::read(status, headers, &self.op.monitor)?;
        // A redirect is an answer: it ends a run of transient failures (not one of moves).
        self.sched.answered();
        let next = match read {
            Ok(Redirect::Moved(next)) => next,
            Ok(Redirect::Done(result)) => {
                // The result of the operation: fetched like a created resource ([the final response](crate::_protocol#final-response)).
                self.op.mark_succeeded();
                return Some(self.fetch(result, now));
            }
            Err(reason) => {
                let answer = Some((status, headers, Some(body)));
                return Some(Action::Fail(self.end(reason, answer)));
            }
        };
        if let Err(e) = self.check(&next) {
            return Some(self.fail(e));
        }
        if next != self.op.monitor {
            self.op.monitor = next;
            self.reqs.forget_target();
        }
        // The moved monitor is polled at once (as soon as the minimum wait allows), unless the
        // redirect asked for a wait — or it is not the first move in a row: a monitor that
        // keeps moving (a redirect loop) is polled at the usual pace, not hammered.
        let hinted = crate::parse::retry_after_at(headers, || now.wall()).is_some();
        if self.sched.moved() > 1 || hinted {
            return Some(self.schedule(Some(headers), false, now).into());
        }
        if self.sched.polls_spent(&self.cfg) {
            let error = self.timeout_error(true);
            return Some(self.fail(error));
        }
        let wait = super::schedule::clamp_wait(&self.cfg, std::time::Duration::ZERO);
        let Some(at) = self.sched.fits(now.mono, wait) else {
            let error = self.timeout_error(false);
            return Some(self.fail(error));
        };
        Some(match self.request_for(PollKind::Status, at) {
            Ok(request) => Action::Send { at, request },
            Err(e) => self.fail(e),
        })
    }

    /// A status answer that an inner client fetched from `url` after following redirects: the
    /// monitor moved there if the answer reads as a status answer, else it is the result.
    fn on_followed_redirect(
        &mut self,
        url: Link,
        status: StatusCode,
        body: &Bytes,
        now: Now,
    ) -> Option<Action> {
        if let Err(e) = self.check(&url) {
            return Some(self.fail(e));
        }
        let op = &self.op;
        let seen_id = op.operation_id.as_deref();
        if op.dialect.reads_as_status(op.rule, seen_id, status, body) {
            self.op.monitor = url;
            self.reqs.forget_target();
            return None;
        }
        self.op.mark_succeeded();
        Some(Action::Deliver(self.deliver(now.mono, Some(url.display()))))
    }

    /// A report of where the operation stands, once after each status answer (and after the
    /// submission's): `None` when nothing new was read since the last call.
    pub fn poll_progress(&mut self, now: Instant) -> Option<Progress> {
        let (polls, next_at, wait_reason) = self.sched.take_report()?;
        Some(Progress {
            operation_url: self.op.monitor.display(),
            operation_id: self.op.operation_id.clone(),
            status: self.op.status.clone(),
            percent_complete: self.op.percent_complete,
            progress_text: self.op.progress_text().cloned(),
            polls,
            next_poll_in: next_at.map(|at| at.saturating_duration_since(now)),
            wait_reason,
            elapsed: self.sched.elapsed(now),
            // A handle resumed from here sends the planned poll again: it counts once.
            resume: next_at.map(|_| {
                let mut handle = self.resume_handle();
                handle.polls = polls;
                handle
            }),
        })
    }

    /// A handle to continue this operation later.
    pub fn resume_handle(&self) -> ResumeHandle {
        super::resume::handle(&self.cfg, &self.op, &self.reqs, &self.sched)
    }

    /// Done: `GET` the result at `url` now, if the layer may go there.
    pub(crate) fn fetch(&mut self, url: Link, now: Now) -> Action {
        if let Err(e) = self.check(&url) {
            return self.fail(e);
        }
        self.phase = Phase::Fetching(Box::new(url));
        let at = now.mono();
        match self.request_for(PollKind::Resource, at) {
            Ok(request) => Action::Send { at, request },
            Err(e) => self.fail(e),
        }
    }

    pub(crate) fn metadata(&self, now: Instant, resource_url: Option<String>) -> LroMetadata {
        LroMetadata {
            operation_url: self.op.monitor.display(),
            operation_id: self.op.operation_id.clone(),
            rule: self.op.rule,
            status: self.op.status.clone(),
            polls: self.sched.polls(),
            elapsed: self.sched.elapsed(now),
            resource_url,
            dialect: self.op.dialect.shared_name(),
            resume: None,
            credentials_withheld: self.reqs.withheld(),
        }
    }

    /// Delivers the answer in hand as it is: the operation is over.
    pub(crate) fn deliver(&mut self, now: Instant, resource_url: Option<String>) -> Delivery {
        self.phase = Phase::Done;
        Delivery::new(self.metadata(now, resource_url))
    }

    /// Ends the operation with `error`.
    pub(crate) fn fail(&mut self, error: Error) -> Action {
        self.phase = Phase::Done;
        Action::Fail(error)
    }

    /// Ends the operation with an error about the request in flight and its answer.
    pub(crate) fn end(
        &mut self,
        reason: Reason,
        response: Option<(StatusCode, &HeaderMap, Option<&Bytes>)>,
    ) -> Error {
        let url = match &self.phase {
            Phase::Fetching(u) => u.display(),
            _ => self.op.monitor.display(),
        };
        let error = self.op_error(url, reason, response);
        self.phase = Phase::Done;
        error
    }

    /// An error about `url` in the context of this operation.
    pub(crate) fn op_error(
        &self,
        url: String,
        reason: Reason,
        response: Option<(StatusCode, &HeaderMap, Option<&Bytes>)>,
    ) -> Error {
        let op = &self.op;
        let mut e = Error::new(Some(url), reason).with_operation(
            op.rule,
            &op.monitor.display(),
            op.operation_id.as_deref(),
            Some(&op.status),
        );
        if let Some((status, headers, body)) = response {
            e = e.with_response(status, headers, body);
        }
        e
    }

    /// The deadline (or, with `poll_limit`, the poll limit) error, with a resume handle.
    pub(crate) fn timeout_error(&self, poll_limit: bool) -> Error {
        let state = self.op.status.clone();
        let polls = self.sched.polls();
        let reason = if poll_limit {
            let limit = self.cfg.max_polls;
            Reason::PollLimit {
                state,
                polls,
                limit,
            }
        } else {
            let after = self.sched.allowed();
            Reason::Deadline {
                state,
                polls,
                after,
            }
        };
        self.op_error(self.op.monitor.display(), reason, None)
            .with_resume(self.resume_handle())
    }

    /// Retries the request in flight after a transient failure, within the budget.
    fn retry(
        &mut self,
        response: Option<(StatusCode, &HeaderMap, Option<&Bytes>)>,
        source: Option<BoxError>,
        now: Now,
    ) -> Plan {
        if self.sched.transient_failure(&self.cfg) {
            return self.schedule(response.map(|(_, h, _)| h), true, now);
        }
        let last = match (&response, &source) {
            (Some((status, _, _)), _) => LastAttempt::Status(*status),
            (None, Some(e)) => LastAttempt::Transport(e.to_string()),
            (None, None) => LastAttempt::Transport("no answer".to_owned()),
        };
        let attempts = self.sched.transient();
        let reason = Reason::RetriesExhausted { attempts, last };
        let mut err = self.end(reason, response).with_attempts(attempts);
        if let Some(source) = source {
            err = err.with_source(source);
        }
        Plan::Fail(err)
    }

    /// Plans the next request to the current target after a wait: hinted by `hint_from`,
    /// else the transient backoff (`transient`) or the unhinted interval.
    pub(crate) fn schedule(
        &mut self,
        hint_from: Option<&HeaderMap>,
        transient: bool,
        now: Now,
    ) -> Plan {
        let wait = self.sched.next_wait(&self.cfg, hint_from, transient, now);
        let kind = match &self.phase {
            Phase::Fetching(_) => PollKind::Resource,
            _ => PollKind::Status,
        };
        let planned = if kind == PollKind::Status && self.sched.polls_spent(&self.cfg) {
            Err(self.timeout_error(true))
        } else {
            match self.sched.fits(now.mono, wait) {
                Some(at) => self.request_for(kind, at).map(|request| (at, request)),
                None => Err(self.timeout_error(false)),
            }
        };
        match planned {
            Ok((at, request)) => Plan::Send { at, request },
            Err(error) => {
                self.phase = Phase::Done;
                Plan::Fail(error)
            }
        }
    }

    /// The next request of `kind`, to be sent at `at`: to the status monitor, or to the
    /// resource being fetched. It is planned (counted, and noted for progress reports).
    pub(crate) fn request_for(
        &mut self,
        kind: PollKind,
        at: Instant,
    ) -> Result<PollRequest, Error> {
        let url = match (&self.phase, kind) {
            (Phase::Fetching(url), PollKind::Resource) => url,
            _ => &self.op.monitor,
        };
        let attempt = self.sched.next_attempt(kind);
        let check = self.op.declared.as_deref().and_then(|d| match kind {
            PollKind::Status => d.check.as_ref(),
            PollKind::Resource => d.fetch_check.as_ref(),
            PollKind::Cancel => None,
        });
        let request = self
            .reqs
            .build(&self.cfg, &self.op.request_url, url, (kind, check), attempt)
            .map_err(|why| Error::new(Some(url.display()), Reason::Refused(why)))?;
        self.sched.plan(kind, at);
        Ok(request)
    }

    /// Checks a URL the operation is about to follow, as an error in its context.
    pub(crate) fn check(&self, url: &Link) -> Result<(), Error> {
        check_target(&self.cfg, &self.op.request_url, url).map_err(|why| self.refusal(url, why))
    }

    /// A refused URL as an error in the context of this operation.
    pub(crate) fn refusal(&self, url: &Link, why: UrlProblem) -> Error {
        self.op_error(url.display(), Reason::Refused(why), None)
    }
}
