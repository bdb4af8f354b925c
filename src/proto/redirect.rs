//! Answers that point elsewhere (spec §4, §4a): a status monitor's redirects, and OData's
//! `AsyncResult` header on the final answer.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, LOCATION};
use http::StatusCode;

use super::link::Link;
use super::machine::Machine;
use super::request::PollKind;
use super::{Action, Now};
use crate::error::{Reason, UrlProblem};
use crate::status::OperationStatus;

/// OData 4.01's `AsyncResult`: the status of the original request, on the final monitor answer.
const ASYNC_RESULT: HeaderName = HeaderName::from_static("asyncresult");

impl Machine {
    /// A redirect on a status poll: `303`/`302` mean done, fetch the `Location`; `301`/`307`/
    /// `308` mean the monitor moved, poll it there. `None` for any other answer.
    pub(crate) fn on_redirect(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Option<Action> {
        let done = match status.as_u16() {
            302 | 303 => true,
            301 | 307 | 308 => false,
            _ => return None,
        };
        let target = headers
            .get(LOCATION)
            .map(|v| (v, self.op.monitor.join_value(v)));
        let next = match target {
            Some((_, Ok(next))) => next,
            Some((v, Err(e))) => {
                let reason = Reason::BadHeader {
                    status,
                    name: LOCATION,
                    value: v.clone(),
                    why: UrlProblem::Unreadable(e),
                };
                return Some(Action::Fail(
                    self.end(reason, Some((status, headers, Some(body)))),
                ));
            }
            None => {
                let reason = Reason::RedirectWithoutLocation { status };
                return Some(Action::Fail(
                    self.end(reason, Some((status, headers, Some(body)))),
                ));
            }
        };
        if done {
            // The result of the operation: fetched like a created resource (spec §6, first rule).
            if !self.op.status.is_success() {
                self.op.status = OperationStatus::succeeded();
            }
            return Some(self.fetch(next, now));
        }
        if let Err(e) = self.check(&next) {
            return Some(self.fail(e));
        }
        if next != self.op.monitor {
            self.op.monitor = next;
            self.reqs.forget_target();
        }
        // The moved monitor is polled at once, unless the redirect asked for a wait — or it is
        // not the first move in a row: a monitor that keeps moving (a redirect loop) is polled
        // at the usual pace, not hammered until the poll limit.
        if self.sched.moved() > 1 || crate::parse::retry_after(headers, now.wall()).is_some() {
            return Some(self.schedule(Some(headers), false, now).into());
        }
        Some(self.poll_now(now))
    }

    /// A status answer that an inner client fetched from `url` after following redirects: the
    /// monitor moved there if the answer reads as a status answer, else it is the result.
    pub(crate) fn on_followed_redirect(
        &mut self,
        url: Link,
        status: StatusCode,
        body: &Bytes,
        now: Now,
    ) -> Option<Action> {
        if let Err(e) = self.check(&url) {
            return Some(self.fail(e));
        }
        if self.op.dialect.reads_as_status(
            self.op.rule,
            self.op.operation_id.as_deref(),
            status,
            body,
        ) {
            self.op.monitor = url;
            self.reqs.forget_target();
            return None;
        }
        if !self.op.status.is_success() {
            self.op.status = OperationStatus::succeeded();
        }
        Some(Action::Deliver(
            self.deliver(now.mono(), Some(url.display())),
        ))
    }

    /// The next status poll, due now, within the poll limit.
    /// "Now" is as soon as the configured minimum wait allows, within the deadline.
    fn poll_now(&mut self, now: Now) -> Action {
        if self.sched.polls_spent(&self.cfg) {
            let error = self.timeout_error(true);
            return self.fail(error);
        }
        let wait = crate::proto::schedule::clamp_wait(&self.cfg, std::time::Duration::ZERO);
        let Some(at) = self.sched.fits(now.mono(), wait) else {
            let error = self.timeout_error(false);
            return self.fail(error);
        };
        match self.request_for(PollKind::Status, at) {
            Ok(request) => Action::Send { at, request },
            Err(e) => self.fail(e),
        }
    }

    /// A final answer whose `AsyncResult` header reports the original request's status
    /// (OData 4.01): delivered with that status, or a failure when it is a `4xx`/`5xx`.
    pub(crate) fn async_result(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Option<Action> {
        let result = headers
            .get(ASYNC_RESULT)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())?;
        if result.is_client_error() || result.is_server_error() {
            self.op.status = OperationStatus::failed();
            if self.cfg.failure_as_response {
                let mut delivery = self.deliver(now.mono(), None);
                delivery.status = Some(result);
                return Some(Action::Deliver(delivery));
            }
            let reason = Reason::AsyncResult { status, result };
            return Some(Action::Fail(
                self.end(reason, Some((status, headers, Some(body)))),
            ));
        }
        if !self.op.status.is_success() {
            self.op.status = OperationStatus::succeeded();
        }
        let mut delivery = self.deliver(now.mono(), None);
        delivery.status = Some(result);
        Some(Action::Deliver(delivery))
    }
}
