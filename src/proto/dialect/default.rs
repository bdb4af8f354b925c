//! The default dialect (the default dialect's rules ([what starts an operation](crate::_protocol#what-starts-an-operation) to [provisioning state](crate::_protocol#provisioning-state)): Azure's headers, RFC 9110's `202` + `Location`,
//! `provisioningState`): the answers to the dialect questions that are its own.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, CONTENT_LOCATION, LOCATION};
use http::{Method, StatusCode};

use super::poll::{Misread, Reading};
use super::{longer_than, looks_like_json, Start};
use crate::config::{Config, FinalState};
use crate::error::{Reason, UrlProblem};
use crate::header::{AZURE_ASYNC_OPERATION, OPERATION_LOCATION, RESOURCE_LOCATION};
use crate::metadata::Rule;
use crate::proto::link::Link;
use crate::proto::machine::Operation;
use crate::proto::request::check_target;
use crate::proto::shapes::choose_rule;
use crate::status::{OperationStatus, StatusBodyError, StatusDocument};
use crate::vocab::Meaning;

/// OData 4.01's `AsyncResult`: the status of the original request, on the final monitor answer.
const ASYNC_RESULT: HeaderName = HeaderName::from_static("asyncresult");

/// Whether a submission's answer head may start an operation ([what starts an operation](crate::_protocol#what-starts-an-operation)).
pub(crate) fn inspects(
    cfg: &Config,
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> bool {
    let monitor = || names_a_monitor(headers);
    match status {
        StatusCode::ACCEPTED => {
            monitor()
                || headers.contains_key(LOCATION)
                || headers.contains_key(CONTENT_LOCATION)
                || (cfg.accepted_retry && method == Method::GET)
        }
        StatusCode::OK | StatusCode::CREATED => {
            monitor()
                || (cfg.detect_provisioning_state
                    && (method == Method::PUT || method == Method::PATCH)
                    && looks_like_json(headers)
                    && !longer_than(headers, cfg.status_body_limit))
        }
        _ => false,
    }
}

/// Whether an answer names a status monitor (`Operation-Location`, `Azure-AsyncOperation`).
/// Asked of every answer the layer sees, the pass-through ones too.
fn names_a_monitor(headers: &HeaderMap) -> bool {
    crate::header::has_any(headers, &[OPERATION_LOCATION, AZURE_ASYNC_OPERATION])
}

/// Whether a submission's answer starts an operation of the default dialect ([what starts an operation](crate::_protocol#what-starts-an-operation)), which
/// shape, and the header naming its monitor. A body where a member the shapes read comes
/// twice is malformed when the answer could start an operation: never the friendlier reading.
pub(crate) fn start<'h>(
    cfg: &Config,
    method: &Method,
    status: StatusCode,
    headers: &'h HeaderMap,
    body: Option<&Bytes>,
) -> Result<Start<'h>, Reason> {
    let (doc, duplicate) = match body.map(|b| StatusDocument::parse(b)) {
        Some(Ok(doc)) => (Some(doc), None),
        Some(Err(e @ StatusBodyError::DuplicateMember(_))) => (None, Some(e)),
        _ => (None, None),
    };
    let chosen = choose_rule(cfg, method, status, headers, doc.as_ref());
    if let Some(error) = duplicate {
        let may_provision = cfg.detect_provisioning_state
            && matches!(status, StatusCode::OK | StatusCode::CREATED)
            && (method == Method::PUT || method == Method::PATCH);
        if chosen.is_some() || may_provision {
            return Err(Reason::StatusBody { status, error });
        }
    }
    Ok(match chosen {
        Some((rule, header)) => Start::Shape { rule, header, doc },
        None => Start::NotLro,
    })
}

/// Whether a successful answer reached through a redirect is the monitor's (see
/// [`Dialect::reads_as_status`](super::Dialect::reads_as_status)).
pub(crate) fn reads_as_status(
    rule: Rule,
    body: &Bytes,
    same_op: impl Fn(Option<&str>, bool) -> bool,
) -> bool {
    match rule {
        Rule::ProvisioningState => true,
        Rule::AcceptedRetry => false,
        // A malformed status document (a member read twice) is judged by the poll's rules
        // too: never delivered as a result.
        _ => match StatusDocument::parse_status(body) {
            Err(StatusBodyError::DuplicateMember(_)) => true,
            doc => doc.is_ok_and(|d| {
                let known = d.status.as_ref().is_some_and(|s| s.is_recognised());
                same_op(d.operation_id.as_deref(), known)
            }),
        },
    }
}

/// What a status answer of the default dialect means, by the shape being polled ([status bodies](crate::_protocol#status-bodies) to [the final response](crate::_protocol#final-response)),
/// recording what it says of the operation in `op`.
pub(crate) fn read(
    op: &mut Operation,
    cfg: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Reading, Misread> {
    match op.rule {
        Rule::OperationLocation | Rule::AzureAsyncOperation => {
            status_poll(op, cfg, status, headers, body)
        }
        Rule::Location | Rule::ContentLocation => location_poll(op, cfg, status, headers, body),
        Rule::AcceptedRetry if status == StatusCode::ACCEPTED => Ok(Reading::RUNNING),
        Rule::AcceptedRetry => Ok(succeeded(op)),
        Rule::ProvisioningState => provisioning_poll(op, cfg, status, body),
        // The other dialects' shapes.
        Rule::GoogleOperation | Rule::ComputeOperation | Rule::Declared => {
            super::poll::read(op, cfg, status, headers, body).map_err(Misread::answer)
        }
    }
}

/// `Operation-Location` / `Azure-AsyncOperation`: every answer is a status document.
fn status_poll(
    op: &mut Operation,
    cfg: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Reading, Misread> {
    if !status.is_success() {
        return Err(Misread::answer(Reason::Rejected { status }));
    }
    let doc = read_doc(cfg, body, true)
        .map_err(|error| Misread::answer(Reason::StatusBody { status, error }))?;
    op.absorb(&doc);
    if doc.reports_failure() {
        Ok(failed(op, &doc))
    } else if doc
        .status
        .as_ref()
        .is_some_and(OperationStatus::is_terminal)
    {
        finish(op, status, headers, Some(&doc))
    } else {
        Ok(Reading::RUNNING)
    }
}

/// `202` + `Location`: `202` is running, a success status is done unless its body is a status
/// document still running (seed V1).
fn location_poll(
    op: &mut Operation,
    cfg: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Reading, Misread> {
    let doc = match read_doc(cfg, body, false) {
        Ok(doc) => Some(doc),
        // Not a status document (the resource itself, say) unless malformed as one.
        Err(error @ StatusBodyError::DuplicateMember(_)) if status.is_success() => {
            return Err(Misread::answer(Reason::StatusBody { status, error }));
        }
        Err(_) => None,
    };
    // A `202` whose body is a status document with a terminal word is terminal (Graph's copy
    // monitor answers `202 {"status":"completed"}`).
    let terminal_202 = doc
        .as_ref()
        .is_some_and(|d| either(d, OperationStatus::is_terminal));
    if status == StatusCode::ACCEPTED && !terminal_202 {
        let moved = moved_monitor(op, cfg, status, headers)?;
        if let Some(doc) = &doc {
            op.absorb(doc);
        }
        return Ok(Reading::Running { moved });
    }
    if !status.is_success() {
        return fhir_failure(op, headers, body)
            .ok_or_else(|| Misread::answer(Reason::Rejected { status }));
    }
    // OData 4.01: `AsyncResult` says the original request is done, whatever the body (the
    // result of that request) says in a `status` field of its own.
    if let Some(reading) = async_result(op, headers) {
        return Ok(reading);
    }
    if let Some(doc) = &doc {
        op.absorb(doc);
        if doc.reports_failure() {
            return Ok(failed(op, doc));
        }
        if either(doc, OperationStatus::is_known_in_progress) {
            // Still running, whatever the status code: a `Location` moves the monitor as on
            // a `202` (the Azure SDKs' location pollers read it from every answer).
            let moved = moved_monitor(op, cfg, status, headers)?;
            return Ok(Reading::Running { moved });
        }
        if doc.status.as_ref().is_some_and(OperationStatus::is_success) {
            return finish(op, status, headers, Some(doc));
        }
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        // An empty 200/201/204: the headers may still say where the resource is.
        return finish(op, status, headers, None);
    }
    Ok(succeeded(op))
}

/// An error answer of a `Content-Location` monitor that says it is a FHIR `OperationOutcome`
/// (`application/fhir+json`): the operation failed with its diagnostics, unless every issue
/// is transient (then it was retried, when its status allows). Read on error answers only.
fn fhir_failure(op: &mut Operation, headers: &HeaderMap, body: &Bytes) -> Option<Reading> {
    if op.rule != Rule::ContentLocation {
        return None;
    }
    let outcome = super::standards::fhir_outcome(headers, body).filter(|o| !o.transient)?;
    op.status = OperationStatus::failed();
    Some(Reading::failed(Some(outcome.error)))
}

/// A `Location` poll's answer that says the operation is still running may move the monitor:
/// where to, when it does. The target is checked as a moved monitor's (`301`/`307`/`308`).
fn moved_monitor(
    op: &Operation,
    cfg: &Config,
    status: StatusCode,
    headers: &HeaderMap,
) -> Result<Option<Link>, Misread> {
    let Some(v) = headers.get(LOCATION) else {
        return Ok(None);
    };
    match op.monitor.join_value(v) {
        Ok(next) => {
            check_target(cfg, &op.request_url, &next)
                .map_err(|why| Misread::refused(next.clone(), why))?;
            Ok((next != op.monitor).then_some(next))
        }
        Err(e) => Err(Misread::answer(Reason::BadHeader {
            status,
            name: LOCATION,
            value: v.clone(),
            why: UrlProblem::Unreadable(e),
        })),
    }
}

/// `PUT`/`PATCH` with a non-terminal `provisioningState`: `GET` the resource until it is.
fn provisioning_poll(
    op: &mut Operation,
    cfg: &Config,
    status: StatusCode,
    body: &Bytes,
) -> Result<Reading, Misread> {
    if status == StatusCode::ACCEPTED {
        return Ok(Reading::RUNNING);
    }
    if !status.is_success() {
        return Err(Misread::answer(Reason::Rejected { status }));
    }
    if status == StatusCode::NO_CONTENT {
        return Ok(succeeded(op));
    }
    // As the Azure SDKs do: the resource must answer with a JSON object.
    let doc = read_doc(cfg, body, false)
        .map_err(|error| Misread::answer(Reason::ResourceBody { status, error }))?;
    let state = doc.provisioning_state.clone();
    op.absorb(&doc);
    Ok(match state {
        _ if doc.reports_failure() => failed(op, &doc),
        Some(st) if !st.is_terminal() => Reading::RUNNING,
        _ => succeeded(op),
    })
}

/// A final answer whose `AsyncResult` header reports the original request's status (OData
/// 4.01): delivered with that status, or a failure when it is a `4xx`/`5xx`.
fn async_result(op: &mut Operation, headers: &HeaderMap) -> Option<Reading> {
    let result = headers
        .get(ASYNC_RESULT)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u16>()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())?;
    if result.is_client_error() || result.is_server_error() {
        op.status = OperationStatus::failed();
        return Some(Reading::Failed {
            error: None,
            result: Some(result),
        });
    }
    op.mark_succeeded();
    Some(Reading::Deliver {
        body: None,
        status: Some(result),
        decoded: None,
    })
}

/// Done, and the answer in hand is the final response.
fn succeeded(op: &mut Operation) -> Reading {
    op.mark_succeeded();
    Reading::DELIVER
}

/// The operation succeeded: fetch the resource if the final-state rules name one.
pub(super) fn finish(
    op: &mut Operation,
    status: StatusCode,
    headers: &HeaderMap,
    doc: Option<&StatusDocument>,
) -> Result<Reading, Misread> {
    op.mark_succeeded();
    let target = match op.final_state {
        FinalState::StatusMonitor => None,
        FinalState::OriginalUri => Some(Ok(op.request_url.clone())),
        FinalState::Location => match &op.submission_location {
            Some(loc) => Some(Ok(Link::clone(loc))),
            None => auto_target(op, status, headers, doc),
        },
        FinalState::Auto => auto_target(op, status, headers, doc),
    };
    match target {
        None => Ok(Reading::DELIVER),
        Some(Err(reason)) => Err(Misread::head(reason)),
        Some(Ok(url)) => Ok(Reading::Fetch(url)),
    }
}

/// The automatic final-state rules of [the final response](crate::_protocol#final-response), first that applies.
fn auto_target(
    op: &Operation,
    status: StatusCode,
    headers: &HeaderMap,
    doc: Option<&StatusDocument>,
) -> Option<Result<Link, Reason>> {
    let from_header = |name: HeaderName| {
        headers.get(&name).map(|v| {
            op.monitor.join_value(v).map_err(|e| Reason::BadHeader {
                status,
                name,
                value: v.clone(),
                why: UrlProblem::Unreadable(e),
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
        return Some(op.monitor.join(rl).map_err(|e| Reason::BadBodyUrl {
            status,
            field: "resourceLocation",
            value: rl.to_owned(),
            why: UrlProblem::Unreadable(e),
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

/// The operation failed: its word as sent; a success word beside a reported error keeps its
/// spelling with the meaning "failed".
fn failed(op: &mut Operation, doc: &StatusDocument) -> Reading {
    op.status = doc
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
                Meaning::Failed,
            ))
        })
        .unwrap_or_else(OperationStatus::failed);
    Reading::failed(doc.error.clone())
}

/// A body read as a status document, its words in the layer's vocabulary.
fn read_doc(cfg: &Config, body: &Bytes, whole: bool) -> Result<StatusDocument, StatusBodyError> {
    let mut doc = if whole {
        StatusDocument::parse_status(body)?
    } else {
        StatusDocument::parse(body)?
    };
    doc.reclassify(&cfg.vocabulary);
    Ok(doc)
}

/// A status document's word, or its `provisioningState`, matches.
fn either(doc: &StatusDocument, test: fn(&OperationStatus) -> bool) -> bool {
    doc.status.as_ref().is_some_and(test) || doc.provisioning_state.as_ref().is_some_and(test)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan of a short head and the lookups in a long one agree.
    #[test]
    fn a_monitor_is_found_in_short_and_long_heads() {
        for monitor in [Some(OPERATION_LOCATION), Some(AZURE_ASYNC_OPERATION), None] {
            for extra in [2, 20] {
                let mut headers = HeaderMap::new();
                for i in 0..extra {
                    let name = HeaderName::try_from(format!("x-extra-{i}")).unwrap();
                    headers.insert(name, "v".parse().unwrap());
                }
                headers.insert(
                    http::header::CONTENT_TYPE,
                    "application/json".parse().unwrap(),
                );
                if let Some(name) = &monitor {
                    headers.insert(name.clone(), "https://a.example/op".parse().unwrap());
                }
                assert_eq!(names_a_monitor(&headers), monitor.is_some(), "{headers:?}");
            }
        }
    }
}
