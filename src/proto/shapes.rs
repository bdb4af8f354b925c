//! The shapes of the pattern (spec §1, §3–§6): which answers start an operation, how each kind
//! of poll is read, and where the final response comes from.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LOCATION, LOCATION};
use http::{Method, StatusCode};

use super::dialect::Dialect;
use super::link::Link;
use super::machine::{Machine, Phase};
use super::request::PollKind;
use super::{Action, Now};
use crate::config::{Config, FinalState};
use crate::error::{Error, Reason, UrlProblem};
use crate::header::{AZURE_ASYNC_OPERATION, OPERATION_LOCATION, RESOURCE_LOCATION};
use crate::metadata::Rule;
use crate::status::{OperationStatus, StatusBodyError, StatusDocument};

/// What the head of a submission's answer says, before any body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classify {
    /// Not an LRO: hand the answer back untouched, body streaming.
    PassThrough,
    /// Maybe an LRO: read the body (under the size limit) and start a
    /// [`Submission`](super::Submission).
    Inspect,
}

/// Cheap, allocation-free check of a submission's answer head (spec §1, and §10 for the other
/// dialects).
pub fn classify(
    cfg: &Config,
    dialect: &Dialect,
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> Classify {
    if dialect.inspects(cfg, method, status, headers) {
        Classify::Inspect
    } else {
        Classify::PassThrough
    }
}

/// Which shape a submission's answer starts, and the header naming its monitor (`None`: the
/// request's own URL); `None` when the answer is final as it is.
pub(crate) fn choose_rule<'h>(
    cfg: &Config,
    method: &Method,
    status: StatusCode,
    headers: &'h HeaderMap,
    doc: Option<&StatusDocument>,
) -> Option<(Rule, Option<(HeaderName, &'h HeaderValue)>)> {
    let ol = headers.get(OPERATION_LOCATION);
    let aao = headers.get(AZURE_ASYNC_OPERATION);
    let monitor = ol
        .map(|v| (Rule::OperationLocation, Some((OPERATION_LOCATION, v))))
        .or_else(|| aao.map(|v| (Rule::AzureAsyncOperation, Some((AZURE_ASYNC_OPERATION, v)))));
    match status {
        StatusCode::OK | StatusCode::CREATED => {
            let ps = doc.and_then(|d| d.provisioning_state.as_ref());
            if ps.is_some_and(OperationStatus::is_terminal) {
                return None;
            }
            monitor.or_else(|| {
                (cfg.detect_provisioning_state
                    && (method == Method::PUT || method == Method::PATCH)
                    && ps.is_some())
                .then_some((Rule::ProvisioningState, None))
            })
        }
        StatusCode::ACCEPTED => monitor
            .or_else(|| {
                headers
                    .get(LOCATION)
                    .map(|v| (Rule::Location, Some((LOCATION, v))))
            })
            .or_else(|| {
                headers
                    .get(CONTENT_LOCATION)
                    .map(|v| (Rule::ContentLocation, Some((CONTENT_LOCATION, v))))
            })
            // GitHub's statistics endpoints: "not ready yet, ask again" (opt-in, safe methods).
            .or_else(|| {
                (cfg.accepted_retry && method == Method::GET).then_some((Rule::AcceptedRetry, None))
            }),
        _ => None,
    }
}

/// A status document's word, or its `provisioningState`, matches.
fn either(doc: &StatusDocument, test: fn(&OperationStatus) -> bool) -> bool {
    doc.status.as_ref().is_some_and(test) || doc.provisioning_state.as_ref().is_some_and(test)
}

impl Machine {
    /// `Operation-Location` / `Azure-AsyncOperation`: every answer is a status document.
    pub(crate) fn on_status_poll(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Action {
        if !status.is_success() {
            return self.reject(status, headers, body);
        }
        let doc = match self.read_doc(body, true) {
            Ok(doc) => doc,
            Err(error) => {
                let reason = Reason::StatusBody { status, error };
                return Action::Fail(self.end(reason, Some((status, headers, Some(body)))));
            }
        };
        self.absorb(&doc);
        if doc.reports_failure() {
            self.fail_operation(status, headers, body, &doc, now)
        } else if doc
            .status
            .as_ref()
            .is_some_and(OperationStatus::is_terminal)
        {
            self.finish(status, headers, Some(&doc), now)
        } else {
            self.schedule(Some(headers), false, now).into()
        }
    }

    /// `202` + `Location`: `202` is running, a success status is done unless its body is a
    /// status document still running (seed V1).
    pub(crate) fn on_location_poll(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Action {
        let doc = match self.read_doc(body, false) {
            Ok(doc) => Some(doc),
            // Not a status document (the resource itself, say) unless malformed as one.
            Err(error @ StatusBodyError::DuplicateMember(_)) if status.is_success() => {
                let reason = Reason::StatusBody { status, error };
                return Action::Fail(self.end(reason, Some((status, headers, Some(body)))));
            }
            Err(_) => None,
        };
        // A `202` whose body is a status document with a terminal word is terminal (Graph's
        // copy monitor answers `202 {"status":"completed"}`).
        let terminal_202 = doc
            .as_ref()
            .is_some_and(|d| either(d, OperationStatus::is_terminal));
        if status == StatusCode::ACCEPTED && !terminal_202 {
            if let Err(e) = self.follow_location(status, headers, body) {
                return self.fail(e);
            }
            if let Some(doc) = &doc {
                self.absorb(doc);
            }
            return self.schedule(Some(headers), false, now).into();
        }
        if !status.is_success() {
            return self.reject(status, headers, body);
        }
        // OData 4.01: `AsyncResult` says the original request is done, whatever the body (the
        // result of that request) says in a `status` field of its own.
        if let Some(action) = self.async_result(status, headers, body, now) {
            return action;
        }
        if let Some(doc) = &doc {
            self.absorb(doc);
            if doc.reports_failure() {
                return self.fail_operation(status, headers, body, doc, now);
            }
            if either(doc, OperationStatus::is_known_in_progress) {
                return self.schedule(Some(headers), false, now).into();
            }
            if doc.status.as_ref().is_some_and(OperationStatus::is_success) {
                return self.finish(status, headers, Some(doc), now);
            }
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            // An empty 200/201/204: the headers may still say where the resource is.
            return self.finish(status, headers, None, now);
        }
        self.succeed(now)
    }

    /// A `202` on a `Location` poll may move the monitor.
    fn follow_location(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<(), Error> {
        let Some(v) = headers.get(LOCATION) else {
            return Ok(());
        };
        match self.op.monitor.join_value(v) {
            Ok(next) => {
                self.check(&next)?;
                if next != self.op.monitor {
                    self.op.monitor = next;
                    self.reqs.forget_target();
                }
                Ok(())
            }
            Err(e) => {
                let reason = Reason::BadHeader {
                    status,
                    name: LOCATION,
                    value: v.clone(),
                    why: UrlProblem::Unreadable(e),
                };
                Err(self.end(reason, Some((status, headers, Some(body)))))
            }
        }
    }

    /// `PUT`/`PATCH` with a non-terminal `provisioningState`: `GET` the resource until it is.
    pub(crate) fn on_provisioning_poll(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        now: Now,
    ) -> Action {
        if status == StatusCode::ACCEPTED {
            return self.schedule(Some(headers), false, now).into();
        }
        if !status.is_success() {
            return self.reject(status, headers, body);
        }
        if status == StatusCode::NO_CONTENT {
            return self.succeed(now);
        }
        // As the Azure SDKs do: the resource must answer with a JSON object.
        let doc = match self.read_doc(body, false) {
            Ok(doc) => doc,
            Err(error) => {
                let reason = Reason::ResourceBody { status, error };
                return Action::Fail(self.end(reason, Some((status, headers, Some(body)))));
            }
        };
        let state = doc.provisioning_state.clone();
        self.absorb(&doc);
        match state {
            _ if doc.reports_failure() => self.fail_operation(status, headers, body, &doc, now),
            Some(st) if !st.is_terminal() => self.schedule(Some(headers), false, now).into(),
            _ => self.succeed(now),
        }
    }

    // ----- outcomes -----

    /// The operation succeeded: fetch the resource if the final-state rules name one.
    fn finish(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        doc: Option<&StatusDocument>,
        now: Now,
    ) -> Action {
        if !self.op.status.is_success() {
            self.op.status = OperationStatus::succeeded();
        }
        let target = match self.op.final_state {
            FinalState::StatusMonitor => None,
            FinalState::OriginalUri => Some(Ok(self.op.request_url.clone())),
            FinalState::Location => match &self.op.submission_location {
                Some(loc) => Some(Ok(Link::clone(loc))),
                None => self.auto_target(status, headers, doc),
            },
            FinalState::Auto => self.auto_target(status, headers, doc),
        };
        match target {
            None => self.succeed(now),
            Some(Err(e)) => self.fail(e),
            Some(Ok(url)) => self.fetch(url, now),
        }
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

    /// A body read as a status document, its words in the layer's vocabulary.
    fn read_doc(&self, body: &Bytes, whole: bool) -> Result<StatusDocument, StatusBodyError> {
        let mut doc = if whole {
            StatusDocument::parse_status(body)?
        } else {
            StatusDocument::parse(body)?
        };
        doc.reclassify(&self.cfg.vocabulary);
        Ok(doc)
    }

    /// The automatic final-state rules of spec §6, first that applies.
    fn auto_target(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        doc: Option<&StatusDocument>,
    ) -> Option<Result<Link, Error>> {
        let op = &self.op;
        let from_header = |name: HeaderName| {
            headers.get(&name).map(|v| {
                op.monitor.join_value(v).map_err(|e| {
                    let reason = Reason::BadHeader {
                        status,
                        name,
                        value: v.clone(),
                        why: UrlProblem::Unreadable(e),
                    };
                    self.op_error(op.monitor.display(), reason, Some((status, headers, None)))
                })
            })
        };
        if let Some(t) = from_header(RESOURCE_LOCATION) {
            return Some(t);
        }
        if status == StatusCode::CREATED {
            if let Some(t) = from_header(LOCATION) {
                return Some(t);
            }
        }
        if let Some(rl) = doc.and_then(|d| d.resource_location.as_deref()) {
            return Some(op.monitor.join(rl).map_err(|e| {
                let reason = Reason::BadBodyUrl {
                    status,
                    field: "resourceLocation",
                    value: rl.to_owned(),
                    why: UrlProblem::Unreadable(e),
                };
                self.op_error(op.monitor.display(), reason, Some((status, headers, None)))
            }));
        }
        if op.rule.reads_status_body() {
            if op.method == Method::PUT || op.method == Method::PATCH {
                return Some(Ok(op.request_url.clone()));
            }
            if op.method == Method::POST {
                if let Some(loc) = &op.submission_location {
                    return Some(Ok(Link::clone(loc)));
                }
            }
        }
        None
    }

    /// The operation failed: an error carrying the terminal answer, or that answer itself
    /// with `failure_as_response`.
    fn fail_operation(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &Bytes,
        doc: &StatusDocument,
        now: Now,
    ) -> Action {
        // The failure word as sent; a success word beside a reported error keeps its spelling
        // with the meaning "failed".
        self.op.status = doc
            .status
            .clone()
            .filter(OperationStatus::is_failure)
            .or_else(|| {
                doc.provisioning_state
                    .clone()
                    .filter(OperationStatus::is_failure)
            })
            .or_else(|| {
                let word = doc.status.as_ref().or(doc.provisioning_state.as_ref())?;
                Some(OperationStatus::with_meaning(
                    word.as_str(),
                    crate::vocab::Meaning::Failed,
                ))
            })
            .unwrap_or_else(OperationStatus::failed);
        if self.cfg.failure_as_response {
            return Action::Deliver(self.deliver(now.mono(), None));
        }
        self.phase = Phase::Done;
        let reason = Reason::OperationFailed {
            status,
            state: self.op.status.clone(),
            error: doc.error.clone().map(Box::new),
        };
        Action::Fail(self.end(reason, Some((status, headers, Some(body)))))
    }

    /// A poll answered with a status that is neither success nor transient.
    fn reject(&mut self, status: StatusCode, headers: &HeaderMap, body: &Bytes) -> Action {
        let reason = Reason::Rejected { status };
        Action::Fail(self.end(reason, Some((status, headers, Some(body)))))
    }
}
