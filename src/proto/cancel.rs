//! Cancelling an operation (issue 15 item 8): the request the core asks a driver to send, and
//! what the server's answer to it means.
//!
//! Which request cancels an operation is a question about its dialect, answered by one `match`
//! in `dialect/mod.rs` (`Dialect::cancel_target`); this file holds what every dialect shares:
//! the declared `cancel` member, the request (built like a poll: same credential, origin and
//! SSRF rules), and the reading of its answer. Nothing here performs I/O.

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use super::dialect::check::{check_headers, header_map, Check};
use super::dialect::declared::{resolve, CancelAnswer, DialectError, Template, UrlSource};
use super::dialect::template::{BodyTemplate, Sources};
use super::link::Link;
use super::request::{PollKind, PollRequest};
use crate::cancel::{CancelOutcome, NotCancellable};
use crate::metadata::Rule;

/// How a declared dialect cancels an operation:
/// `"cancel": {"method": "DELETE", "url": {"template": "…"}}`, or a `POST` (or `PATCH`, `PUT`)
/// with headers and a JSON body (`"headers": {"X-Amz-Target": "…"}, "body": {"executionArn":
/// "{/operation_id}"}`; Apache Airflow's `PATCH` of the DAG run with `{"state": "failed"}`).
///
/// `url` left out: the status URL itself. A template's placeholders (the URL's and the
/// body's) read what is known of the operation when it is cancelled — `/status_url` and
/// `/operation_id` (and `{status_url}`) — and a relative result resolves against the status URL
/// (or `base_url` for a root-relative one). The headers are checked as a `status_request`'s.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeclaredCancel {
    /// `DELETE`, `POST`, `PATCH` or `PUT`.
    pub(crate) method: CancelMethod,
    /// Where to send it; absent: the status URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) url: Option<UrlSource>,
    /// Headers added to the carried ones (replacing those of the same name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) headers: BTreeMap<String, String>,
    /// A JSON body whose strings are templates; not with `DELETE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<BodyTemplate>,
    /// Where a `2xx` answer says whether the server did anything, and in which words:
    /// `{"word": "/stopped", "accepted": ["true"]}` (Ray). Absent: the status alone decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) answer: Option<CancelAnswer>,
}

/// The methods a declared cancel may use: `DELETE` (of the operation or its monitor), or a
/// request that may carry a body: `POST` (an action: `/cancel`, `StopExecution`), `PATCH` or
/// `PUT` (the operation's state written: Apache Airflow's `PATCH` of a DAG run to `failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) enum CancelMethod {
    #[serde(rename = "DELETE")]
    Delete,
    #[serde(rename = "POST")]
    Post,
    #[serde(rename = "PATCH")]
    Patch,
    #[serde(rename = "PUT")]
    Put,
}

impl CancelMethod {
    fn method(self) -> Method {
        match self {
            Self::Delete => Method::DELETE,
            Self::Post => Method::POST,
            Self::Patch => Method::PATCH,
            Self::Put => Method::PUT,
        }
    }
}

/// The request that cancels an operation: its method, its URL, and the headers and body a
/// declared dialect adds (`None`: none).
pub(crate) type Target = (Method, Link, Option<Check>);

/// What a cancel's templates may read: the JSON document [`DeclaredCancel::target`] fills
/// them from has these members, and no answer is in hand.
const KNOWN: [&str; 2] = ["/status_url", "/operation_id"];

impl DeclaredCancel {
    /// Checks what serde cannot: the URL is a template or left out (a header or a pointer
    /// names a part of an answer, and a cancel is sent with no answer in hand), the templates
    /// read what a cancel knows, the headers are ones a description may set, and a body goes
    /// with `POST`, `PATCH` or `PUT`, never with `DELETE`.
    pub(crate) fn validate(&self) -> Result<(), DialectError> {
        let invalid = |problem: String| DialectError::Invalid {
            field: "cancel",
            problem,
        };
        let mut templates: Vec<&Template> = match &self.url {
            None => Vec::new(),
            Some(UrlSource::Template(t)) => vec![t],
            Some(_) => {
                return Err(invalid(
                    "`url` must be a template (its placeholders read `/status_url` and \
                     `/operation_id`) or left out for the status URL itself"
                        .to_owned(),
                ))
            }
        };
        check_headers("cancel", &self.headers)?;
        if let Some(answer) = &self.answer {
            answer.validate()?;
        }
        if let Some(body) = &self.body {
            if self.method == CancelMethod::Delete {
                return Err(invalid(
                    "a `body` is sent with `\"method\"` `POST`, `PATCH` or `PUT`, not `DELETE`"
                        .to_owned(),
                ));
            }
            templates.extend(body.templates());
        }
        for t in templates {
            let unknown = t.pointers().find(|p| !KNOWN.contains(&p.as_str()));
            if t.reads_headers_or_submission_url() || unknown.is_some() {
                return Err(invalid(format!(
                    "template `{}` reads what a cancel does not know (its placeholders read \
                     `/status_url`, `/operation_id` and `{{status_url}}`)",
                    t.text()
                )));
            }
        }
        Ok(())
    }

    /// The method, the URL, and the headers and body of the cancel request.
    pub(crate) fn target(
        &self,
        monitor: &Link,
        operation_id: Option<&str>,
        base: Option<&url::Url>,
    ) -> Result<Target, NotCancellable> {
        let method = self.method.method();
        let url_template = match &self.url {
            Some(UrlSource::Template(t)) => Some(t),
            _ => None,
        };
        if url_template.is_none() && self.body.is_none() {
            let check = (!self.headers.is_empty()).then(|| Check {
                method: method.clone(),
                headers: header_map(&self.headers, false),
                body: None,
            });
            return Ok((method, monitor.clone(), check));
        }
        let known = serde_json::json!({
            "status_url": monitor.display(),
            "operation_id": operation_id.map_or(Value::Null, |id| Value::String(id.to_owned())),
        });
        let monitor_url = monitor.to_url().ok_or_else(|| NotCancellable::Url {
            problem: "the status URL is not absolute".to_owned(),
        })?;
        let no_headers = HeaderMap::new();
        let sources = Sources {
            body: &known,
            headers: &no_headers,
            status_url: Some(&monitor_url),
            submission_url: None,
        };
        let url = match url_template {
            Some(t) => expand(t, &sources, &monitor_url, base)?,
            None => monitor.clone(),
        };
        let body: Option<Bytes> = match &self.body {
            Some(t) => Some(
                t.expand(&sources)
                    .map_err(|e| NotCancellable::Body { problem: e })?,
            ),
            None => None,
        };
        let check = Check {
            method: method.clone(),
            headers: header_map(&self.headers, body.is_some()),
            body,
        };
        Ok((method, url, Some(check)))
    }
}

/// A cancel URL template, filled from what is known of the operation.
fn expand(
    template: &Template,
    sources: &Sources<'_>,
    monitor_url: &url::Url,
    base: Option<&url::Url>,
) -> Result<Link, NotCancellable> {
    let bad = |problem: String| NotCancellable::Url { problem };
    let (what, raw) = template
        .expand(sources)
        .ok_or_else(|| bad("its template found nothing to fill in".to_owned()))?;
    let url = resolve(&raw, monitor_url, base).map_err(|p| bad(format!("{what} gave {p}")))?;
    link_of(url.as_str()).map_err(bad)
}

/// Google's `CancelOperation` over HTTP (AIP-151): `POST` on the operation's own URL with
/// `:cancel` after its name (`v1/{name=operations/**}:cancel`). The monitor is the name
/// resolved under the service root, as every poll went.
pub(crate) fn google_target(monitor: &Link) -> Result<Target, NotCancellable> {
    let mut url = monitor.to_url().ok_or_else(|| NotCancellable::Url {
        problem: "the operation's URL is not absolute".to_owned(),
    })?;
    let path = format!("{}:cancel", url.path().trim_end_matches('/'));
    url.set_path(&path);
    let link = link_of(url.as_str()).map_err(|problem| NotCancellable::Url { problem })?;
    Ok((Method::POST, link, None))
}

/// The default dialect: `DELETE` on the status monitor (OData's and FHIR's asynchronous
/// pattern). Shapes whose monitor is the resource itself are not cancellable this way: a
/// `DELETE` there would delete the resource.
pub(crate) fn default_target(rule: Rule, monitor: &Link) -> Result<Target, NotCancellable> {
    match rule {
        Rule::ProvisioningState | Rule::AcceptedRetry => Err(NotCancellable::Shape { rule }),
        _ => Ok((Method::DELETE, monitor.clone(), None)),
    }
}

fn link_of(text: &str) -> Result<Link, String> {
    let uri: Uri = text
        .parse()
        .map_err(|_| format!("`{text}` is not a request URI"))?;
    Link::from_request(&uri)
}

/// A request that cancels an operation: built like a poll (the carried headers, with
/// credentials only where they may go), with its own method, and the headers and body a
/// declared dialect's `cancel` adds.
#[derive(Debug, Clone)]
pub struct CancelRequest {
    method: Method,
    request: PollRequest,
    /// How a `2xx` answer's body says whether the server did anything (a declared `answer`).
    answer: Option<Box<CancelAnswer>>,
}

impl CancelRequest {
    pub(crate) fn new(method: Method, request: PollRequest, answer: Option<&CancelAnswer>) -> Self {
        debug_assert_eq!(request.kind(), PollKind::Cancel);
        let answer = answer.cloned().map(Box::new);
        Self {
            method,
            request,
            answer,
        }
    }

    /// Whether the answer's head and body are read when its status is `status`: a `2xx`
    /// to a cancel whose dialect says where such an answer tells what the server did.
    pub(crate) fn reads_answer(&self, status: StatusCode) -> bool {
        status.is_success() && self.answer.is_some()
    }

    /// What refuses the cancel in its `2xx` answer (`headers`, and `body` when it was read
    /// within the status body limit): where the answer says so and what it says there.
    /// `None`: the answer takes the cancel, or says nothing of it.
    pub(crate) fn refusal(
        &self,
        headers: &HeaderMap,
        body: Option<&[u8]>,
    ) -> Option<(String, String)> {
        let answer = self.answer.as_deref()?;
        let word = answer.refusal(headers, body)?;
        Some((answer.place(), word))
    }
    /// `DELETE` or `POST`, or what a declared dialect's `cancel` names (`PATCH`, `PUT`).
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The URI to send it to.
    pub fn uri(&self) -> &Uri {
        self.request.uri()
    }
    /// The headers to send (built: see [`PollRequest::headers`]).
    pub fn headers(&self) -> http::HeaderMap {
        self.request.headers()
    }
    /// The body to send, when the request has one (a declared dialect's `cancel` with a
    /// `body`): it is not in [`into_request`](Self::into_request)'s request, whose body is
    /// `B::default()`.
    pub fn body(&self) -> Option<&Bytes> {
        self.request.body()
    }
    /// The request, with an empty body (see [`body`](Self::body)) and an
    /// [`LroRequest`](crate::LroRequest) extension of kind [`PollKind::Cancel`].
    pub fn into_request<B: Default>(self) -> Request<B> {
        self.build(true)
    }

    /// The request, with an [`LroRequest`](crate::LroRequest) extension when `tag`.
    pub(crate) fn build<B: Default>(self, tag: bool) -> Request<B> {
        let mut req = self.request.build(tag);
        *req.method_mut() = self.method;
        req
    }
}

/// The request that cancels the operation of a [`ResumeHandle`](crate::ResumeHandle); `head`
/// supplies the headers (credentials) and the carried query, as for
/// [`Machine::resume`](super::Machine::resume).
pub(crate) fn from_handle(
    cfg: std::sync::Arc<crate::config::Config>,
    handle: &crate::ResumeHandle,
    head: &super::RequestHead,
    params: &super::Params,
    now: std::time::Instant,
) -> Result<CancelRequest, crate::Error> {
    super::resume::machine(cfg, handle, head, params, now)?.cancel_request()
}

/// What an answer to a cancel request means by its status: `2xx` accepted; `404`, `405` and
/// `501` say the server does not cancel there; anything else is refused. (A declared
/// `answer` may still find a `2xx`'s body refusing it: [`CancelRequest::refusal`].)
pub(crate) fn judge(status: StatusCode) -> CancelOutcome {
    match status.as_u16() {
        200..=299 => CancelOutcome::Accepted,
        404 | 405 | 501 => CancelOutcome::NotSupported,
        _ => CancelOutcome::Refused,
    }
}

/// How long a driver waits for the answer to a cancel sent when the layer gives up: the
/// deadline has passed by then, and the cancel must not hold the caller much longer.
pub(crate) const CANCEL_BOUND: std::time::Duration = std::time::Duration::from_secs(10);

/// `error` with what came of the cancel sent before it (`status`: the answer's, or `None`
/// when none came within [`CANCEL_BOUND`]). The error stays what it was: a failed cancel
/// never masks it.
pub(crate) fn noted(
    error: crate::Error,
    request: &CancelRequest,
    status: Option<StatusCode>,
) -> crate::Error {
    error.with_cancellation(crate::cancel::Cancellation::new(request, status))
}

#[cfg(test)]
#[path = "cancel_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "cancel_body_tests.rs"]
mod body_tests;

#[cfg(test)]
#[path = "cancel_answer_tests.rs"]
mod answer_tests;
