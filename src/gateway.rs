//! For gateways that put a synchronous API in front of an asynchronous upstream: the answer
//! for a resolution that failed.
//!
//! `examples/gateway.rs` embeds it in a hyper server; `lro proxy` is the ready-made one. Both
//! answer alike because they share this module:
//!
//! | what happened | status | body |
//! | --- | --- | --- |
//! | the operation ended in failure | the upstream's own `4xx`/`5xx` when its terminal answer had one (or an OData `AsyncResult` header named one: the original request's status), else `422` (`500` for a code naming a service fault, see [`failure_status`]) | `{"error":{…}}`, the upstream's error object as sent (or rebuilt from the parsed one); without one, `{"code": WORD, "message": "the operation ended WORD"}` with the upstream's status word, its code or message in their place where it gave one |
//! | the deadline or the poll limit was reached | `504` | `{"error":{…},"resume":{…}}` with the resume handle |
//! | the upstream broke the protocol, gave a refused URL, answered a poll with an unexpected status, kept failing | `502` | `{"error":{…,"upstreamUrl","upstreamStatus","upstreamBody"}}` |
//! | the exchange with the upstream failed (unreachable, or an answer that is not HTTP) | `502` | `{"error":{…,"upstreamUrl"}}` |
//! | an [idempotency key](crate::LroOptions::idempotency_key) already names another request (an [operation store](crate::store) refused it: [`Conflict`](ErrorKind::Conflict)) | `422`, `application/problem+json` (RFC 9457, as the IETF `Idempotency-Key` draft says) | `{"type","title","detail","error":{"code":"IdempotencyKeyReused",…}}` |
//!
//! Every URL these bodies name (`upstreamUrl`, `operationUrl`, and those in `message`) has its
//! credential values masked ([`mask_url`]): a signature the upstream put in its monitor URL is
//! not handed to the gateway's clients.
//!
//! ```
//! use tower_lro::gateway::error_response;
//! let target: http::Uri = "https://jobs.internal/v1/jobs".parse().unwrap();
//! let refused: tower::BoxError = "connection refused".into();
//! assert_eq!(error_response(&target, &*refused).status(), 502);
//! ```

use std::error::Error as StdError;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode, Uri};
use serde_json::{json, Value};

use crate::credentials::mask_url;
use crate::error::{Error, ErrorKind, Reason};
use crate::status::ODataError;

/// How much of an upstream body a `502` answer quotes.
const QUOTED_BODY_LIMIT: usize = 1024;
/// The status for an operation that ended in failure when the upstream's terminal answer was
/// not itself an error status, from its error code.
///
/// A code that names a fault of the service rather than of the request — anything starting
/// with `Internal` (`InternalServerError`, `InternalError`, …), `ServerError`, `ServiceError`,
/// `ServiceUnavailable` (any case) — is `500`. Every other code (`InvalidFeature`,
/// `BadRequest`, `Conflict`, a Google `google.rpc.Code` number, …) and no code at all say the
/// operation the request asked for failed: `422 Unprocessable Content`.
pub fn failure_status(code: Option<&str>) -> StatusCode {
    let Some(code) = code.map(str::to_ascii_lowercase) else {
        return StatusCode::UNPROCESSABLE_ENTITY;
    };
    let server_fault = code.starts_with("internal")
        || matches!(
            code.as_str(),
            "servererror" | "serviceerror" | "serviceunavailable"
        );
    if server_fault {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The gateway's answer (JSON) for an error of the client stack, for a request forwarded to
/// `target`: see the [module docs](self).
pub fn error_response(
    target: &Uri,
    err: &(dyn StdError + Send + Sync + 'static),
) -> Response<Bytes> {
    let Some(e) = err.downcast_ref::<Error>() else {
        // The submission itself failed in transport (connection refused, reset, an answer that
        // is not valid HTTP, …): the chain says which.
        let body = json!({"error": {
            "code": "BadGateway",
            "message": format!(
                "the exchange with upstream {} failed: {}",
                mask_url(&target.to_string()).into_owned(),
                error_chain(err)
            ),
            "upstreamUrl": mask_url(&target.to_string()).into_owned(),
        }});
        return json_response(StatusCode::BAD_GATEWAY, &body);
    };
    let resume = e.resume_handle().and_then(|h| serde_json::to_value(h).ok());
    match e.kind() {
        ErrorKind::OperationFailed => {
            let error = error_json(e);
            let status = upstream_failure_status(e).unwrap_or_else(|| {
                let code = match error.get("code") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                failure_status(code.as_deref())
            });
            json_response(status, &json!({ "error": error }))
        }
        ErrorKind::Conflict => conflict(e.reason()),
        ErrorKind::Timeout | ErrorKind::PollLimit => {
            let body = json!({
                "error": {
                    "code": "GatewayTimeout",
                    "message": e.to_string(),
                    "operationUrl": e.operation_url().map(mask_url),
                    "operationId": e.operation_id(),
                },
                "resume": resume,
            });
            json_response(StatusCode::GATEWAY_TIMEOUT, &body)
        }
        // Protocol, Insecure, UnexpectedStatus, RetriesExhausted, and kinds added later.
        _ => {
            let quoted = e.body().map(|b| {
                let end = b.len().min(QUOTED_BODY_LIMIT);
                String::from_utf8_lossy(&b[..end]).into_owned()
            });
            let mut body = json!({"error": {
                "code": "BadGateway",
                "message": e.to_string(),
                "upstreamUrl": mask_url(&e.url().map_or_else(|| target.to_string(), str::to_owned)).into_owned(),
                "upstreamStatus": e.status().map(|s| s.as_u16()),
                "upstreamBody": quoted,
            }});
            if let Some(resume) = resume {
                body["resume"] = resume;
            }
            json_response(StatusCode::BAD_GATEWAY, &body)
        }
    }
}

/// `422` as problem details (RFC 9457): the key names another request (the IETF
/// `Idempotency-Key` draft's answer), or names no operation that can be continued. The key is
/// not echoed: a gateway's store key may hold more than the client sent.
fn conflict(reason: &crate::error::Reason) -> Response<Bytes> {
    let (code, title, detail) = match reason {
        crate::error::Reason::NothingRecorded { .. } => (
            "NothingRecorded",
            "No operation is recorded under this idempotency key",
            "no operation that can be continued is recorded under this key",
        ),
        _ => (
            "IdempotencyKeyReused",
            "Idempotency-Key is already used",
            "this idempotency key was used with another request (method, URL or body); a key \
             names one request",
        ),
    };
    let body = json!({
        "type": "https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/",
        "title": title,
        "detail": detail,
        "error": {"code": code, "message": detail},
    });
    let mut response = json_response(StatusCode::UNPROCESSABLE_ENTITY, &body);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// A JSON answer.
fn json_response(status: StatusCode, body: &Value) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The upstream's own `4xx`/`5xx` for a failed operation: its terminal answer's status, or
/// the one an OData `AsyncResult` names (the original request's own status: a `200` from the
/// monitor carrying `AsyncResult: 400` is the upstream answering the request `400`); for a
/// failure answered from a store's record, the one the record kept.
pub(crate) fn upstream_failure_status(e: &Error) -> Option<StatusCode> {
    let own = match e.reason() {
        Reason::AsyncResult { result, .. } => Some(*result),
        _ => e.status(),
    };
    own.filter(|s| s.is_client_error() || s.is_server_error())
}

/// The failed operation's error object: as the upstream sent it when its terminal body is JSON
/// with an `error` object (no field lost), else rebuilt from the parsed error.
fn error_json(e: &Error) -> Value {
    let sent = e
        .body()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|mut v| v.get_mut("error").map(Value::take))
        .filter(Value::is_object);
    if let Some(error) = sent {
        return error;
    }
    if let crate::error::Reason::StoredFailure {
        state,
        code,
        message,
    } = e.reason()
    {
        // A failure an operation store recorded: its code and message as recorded.
        return failure_error(state, code.as_deref(), message.as_deref());
    }
    match e.odata_error() {
        Some(o) => rebuild(o),
        None => {
            let word = e.operation_status().map_or("Failed", |s| s.as_str());
            failure_error(word, None, None)
        }
    }
}

/// The error object of an operation that ended `word` (`Failed`, `Cancelled`, the upstream's
/// word) with the upstream's `code` and `message`, where it gave them: `code` the upstream's,
/// else the word; `message` the upstream's, else "the operation ended WORD". One rule for a
/// gateway's answer, the answer from a store's record and `lro proxy`'s façade documents.
pub(crate) fn failure_error(word: &str, code: Option<&str>, message: Option<&str>) -> Value {
    let message = match message {
        Some(message) => message.to_owned(),
        None => format!("the operation ended {word}"),
    };
    json!({ "code": code.unwrap_or(word), "message": message })
}

fn rebuild(o: &ODataError) -> Value {
    let mut v = json!({ "code": o.code(), "message": o.message() });
    if let Some(target) = o.target() {
        v["target"] = json!(target);
    }
    if !o.details().is_empty() {
        v["details"] = Value::Array(o.details().iter().map(rebuild).collect());
    }
    if let Some(inner) = o
        .innererror()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        v["innererror"] = inner;
    }
    v
}

/// An error and its sources on one line (`connection refused: …`), for an answer's message;
/// bounded, so a cyclic `source` cannot hang it.
pub(crate) fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    for _ in 0..8 {
        let Some(s) = source else { break };
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure without an error object: the word is the code, the message says how it
    /// ended; whatever the upstream gave is kept. The same for a live failure and a recorded one.
    #[test]
    fn a_failure_without_an_error_object_says_its_word() {
        let target: Uri = "http://127.0.0.1:1/jobs".parse().unwrap();
        let body = |e: Error| {
            let answer = error_response(&target, &e);
            serde_json::from_slice::<Value>(answer.body()).unwrap()["error"].take()
        };
        let canceled = crate::OperationStatus::parse("Cancelled");
        let failed = Reason::OperationFailed {
            status: StatusCode::OK,
            state: canceled.clone(),
            error: None,
        };
        let live = Error::new(None, failed).with_operation(
            crate::Rule::OperationLocation,
            "http://127.0.0.1:1/ops/1",
            None,
            Some(&canceled),
        );
        let stored = |code: Option<&str>, message: Option<&str>| {
            Error::new(
                None,
                Reason::StoredFailure {
                    state: "Cancelled".to_owned(),
                    code: code.map(str::to_owned),
                    message: message.map(str::to_owned),
                },
            )
        };
        let said = json!({"code": "Cancelled", "message": "the operation ended Cancelled"});
        assert_eq!(body(live), said);
        assert_eq!(body(stored(None, None)), said);
        assert_eq!(
            body(stored(Some("Stopped"), Some("by an operator"))),
            json!({"code": "Stopped", "message": "by an operator"})
        );
    }

    #[test]
    fn failure_status_rule() {
        for (code, want) in [
            (Some("InvalidFeature"), 422),
            (Some("Conflict"), 422),
            (Some("InternalServerError"), 500),
            (Some("serviceUnavailable"), 500),
            (Some("9"), 422),
            (None, 422),
        ] {
            assert_eq!(failure_status(code), want, "{code:?}");
        }
    }
}
