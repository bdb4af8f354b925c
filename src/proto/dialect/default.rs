//! The default dialect (spec §1–§5: Azure's headers, RFC 9110's `202` + `Location`,
//! `provisioningState`): the answers to the dialect questions that are its own.

use bytes::Bytes;
use http::header::{HeaderMap, CONTENT_LOCATION, LOCATION};
use http::{Method, StatusCode};

use super::{longer_than, looks_like_json};
use crate::config::Config;
use crate::header::{AZURE_ASYNC_OPERATION, OPERATION_LOCATION};
use crate::metadata::Rule;
use crate::status::{StatusBodyError, StatusDocument};

/// Whether a submission's answer head may start an operation (spec §1).
pub(crate) fn inspects(
    cfg: &Config,
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
) -> bool {
    let monitor =
        headers.contains_key(OPERATION_LOCATION) || headers.contains_key(AZURE_ASYNC_OPERATION);
    match status {
        StatusCode::ACCEPTED => {
            monitor
                || headers.contains_key(LOCATION)
                || headers.contains_key(CONTENT_LOCATION)
                || (cfg.accepted_retry && method == Method::GET)
        }
        StatusCode::OK | StatusCode::CREATED => {
            monitor
                || (cfg.detect_provisioning_state
                    && (method == Method::PUT || method == Method::PATCH)
                    && looks_like_json(headers)
                    && !longer_than(headers, cfg.status_body_limit))
        }
        _ => false,
    }
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
