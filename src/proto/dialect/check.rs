//! How a declared dialect asks for a status or a result when a plain `GET` does not do: a
//! `HEAD` (Azure Blob copy's Get Blob Properties), or — opted into by writing it — a `POST`
//! with headers and a JSON body (AWS JSON-protocol services:
//! `X-Amz-Target: Transcribe.GetTranscriptionJob`, `{"TranscriptionJobName": "…"}`).
//!
//! The body and headers are filled once per operation (the status request's from the
//! submission's answer, the result request's from the terminal status answer): polls share
//! them, and nothing is built per poll.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use http::Method;
use serde::{Deserialize, Serialize};

use super::declared::DialectError;
use super::template::{BodyTemplate, Sources};

/// The methods a description may give a status or result request. Anything but `GET` and
/// `HEAD` is written out in the description: the layer never chooses it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum CheckMethod {
    /// The default.
    #[default]
    Get,
    /// The status is in the answer's headers (a resource that reports its own state).
    Head,
    /// A query sent as a body (AWS JSON protocol).
    Post,
}

impl CheckMethod {
    pub(crate) fn method(self) -> Method {
        match self {
            CheckMethod::Get => Method::GET,
            CheckMethod::Head => Method::HEAD,
            CheckMethod::Post => Method::POST,
        }
    }
}

/// `status_request` / `result_request`: `{"method": "HEAD"}`, or `{"method": "POST",
/// "headers": {"X-Amz-Target": "…"}, "body": {…}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestSpec {
    /// `GET` (default), `HEAD` or `POST`.
    #[serde(default)]
    pub(crate) method: CheckMethod,
    /// Headers added to the carried ones (replacing those of the same name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) headers: BTreeMap<String, String>,
    /// A JSON body whose strings are templates (`template.rs`); only with `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<BodyTemplate>,
}

/// A status or result request as one operation sends it: filled once, shared by its polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Bytes>,
}

/// Headers a description may not set: they describe the connection or the body's framing
/// (the client sets them), or they are credentials (a description is data anyone may share;
/// credentials come with the request, and the layer's origin rules apply to them).
fn refused_header(name: &str) -> bool {
    matches!(
        name,
        "host"
            | "content-length"
            | "transfer-encoding"
            | "connection"
            | "keep-alive"
            | "te"
            | "trailer"
            | "upgrade"
            | "expect"
            | "proxy-connection"
    ) || crate::credentials::is_credential_header(name)
        || crate::credentials::is_origin_bound_header(name)
}

impl RequestSpec {
    /// Checks the method, the headers and the body's templates.
    pub(crate) fn validate(&self, field: &'static str) -> Result<(), DialectError> {
        check_headers(field, &self.headers)?;
        if self.body.is_some() && self.method != CheckMethod::Post {
            return Err(DialectError::Invalid {
                field,
                problem: "a `body` is sent with `\"method\": \"POST\"` only".to_owned(),
            });
        }
        Ok(())
    }

    /// Whether polls need nothing but a `GET` (no check is kept).
    pub(crate) fn is_plain_get(&self) -> bool {
        self.method == CheckMethod::Get && self.headers.is_empty() && self.body.is_none()
    }

    /// The request as one operation sends it, its body filled from `src`.
    pub(crate) fn fill(&self, src: &Sources<'_>) -> Result<Check, String> {
        let body = match &self.body {
            Some(t) => Some(
                t.expand(src)
                    .map_err(|e| format!("the request body's {e}"))?,
            ),
            None => None,
        };
        Ok(self.with_body(body))
    }

    /// The request with a body already filled (a resumed operation's, from its handle).
    pub(crate) fn with_body(&self, body: Option<Bytes>) -> Check {
        Check {
            method: self.method.method(),
            headers: header_map(&self.headers, body.is_some()),
            body,
        }
    }
}

/// Checks the headers a description adds to a request (`status_request`, `result_request`,
/// `cancel`): names and values that parse, none of those the client or the caller sets.
pub(crate) fn check_headers(
    field: &'static str,
    headers: &BTreeMap<String, String>,
) -> Result<(), DialectError> {
    let invalid = |problem: String| DialectError::Invalid { field, problem };
    for (name, value) in headers {
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(format!("`{name}` is not a header name")))?;
        if refused_header(parsed.as_str()) {
            return Err(invalid(format!(
                "`{name}` may not be set by a description (connection, framing or credential \
                 header)"
            )));
        }
        HeaderValue::from_str(value)
            .map_err(|_| invalid(format!("the value of `{name}` is not a header value")))?;
    }
    Ok(())
}

/// The headers a description adds, as a map (checked by [`check_headers`] when the
/// description was read); with `json_body` (the request sends a body template's JSON), a
/// `Content-Type: application/json` unless the description names its own type (the
/// submission's `Content-Type` is not carried: it described the submission's body).
pub(crate) fn header_map(headers: &BTreeMap<String, String>, json_body: bool) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len() + usize::from(json_body));
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.insert(n, v);
        }
    }
    if json_body && !map.contains_key(CONTENT_TYPE) {
        map.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    map
}
