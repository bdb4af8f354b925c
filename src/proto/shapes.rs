//! The shapes of the pattern ([what starts an operation](crate::_protocol#what-starts-an-operation)): which answers start an operation. How each kind of
//! poll is read, and where the final response comes from, is the default dialect's
//! (`dialect/default.rs`).

use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LOCATION, LOCATION};
use http::{Method, StatusCode};

use super::dialect::Dialect;
use crate::config::Config;
use crate::header::{AZURE_ASYNC_OPERATION, OPERATION_LOCATION};
use crate::metadata::Rule;
use crate::status::{OperationStatus, StatusDocument};

/// What the head of a submission's answer says, before any body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Classify {
    /// Not an LRO: hand the answer back untouched, body streaming.
    PassThrough,
    /// Maybe an LRO: read the body (under the size limit) and start a
    /// [`Submission`](super::Submission).
    Inspect,
}

/// Cheap, allocation-free check of a submission's answer head ([what starts an operation](crate::_protocol#what-starts-an-operation), and [dialects](crate::_protocol#dialects) for the other
/// dialects).
pub(crate) fn classify(
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
