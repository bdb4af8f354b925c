//! Cancelling an operation: explicitly from a resume handle ([`LroService::cancel`]), or when
//! the layer gives up, if asked to ([`LroOptions::cancel_on_give_up`](crate::LroOptions::cancel_on_give_up)).
//!
//! How a dialect cancels is the core's question (`proto/cancel.rs`); this file holds the types
//! callers read and the one explicit send.

use std::fmt;
use std::future::Future;

use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower_service::Service;

use crate::error::{Error, HandleProblem, Reason};
use crate::metadata::Rule;
use crate::proto::cancel::{judge, CancelRequest};
use crate::proto::RequestHead;
use crate::resume::ResumeHandle;
use crate::service::LroService;

type BoxError = tower::BoxError;

/// What the server answered to a cancel request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancelOutcome {
    /// A `2xx` (whose body, where the dialect says how to read one, does not say the server
    /// did nothing: a declared `cancel`'s `answer`): the server took the request. The
    /// operation may still end otherwise (a cancel is a request, not a promise): poll it to
    /// see how it ended.
    Accepted,
    /// `404`, `405` or `501`: the server does not cancel this operation there (many Azure
    /// monitors answer a `DELETE` so), or the operation is gone.
    NotSupported,
    /// Another status.
    Refused,
    /// No answer: the request failed, or its time bound passed.
    NoAnswer,
}

impl CancelOutcome {
    /// Whether the server took the cancel.
    pub fn is_accepted(self) -> bool {
        self == Self::Accepted
    }
}

impl fmt::Display for CancelOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Accepted => "accepted",
            Self::NotSupported => "not supported",
            Self::Refused => "refused",
            Self::NoAnswer => "not answered",
        })
    }
}

/// A cancel request that was sent, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancellation {
    outcome: CancelOutcome,
    method: Method,
    url: String,
    status: Option<StatusCode>,
}

impl Cancellation {
    pub(crate) fn new(request: &CancelRequest, status: Option<StatusCode>) -> Self {
        Self {
            outcome: status.map_or(CancelOutcome::NoAnswer, judge),
            method: request.method().clone(),
            url: shown(request.uri()),
            status,
        }
    }
    /// What the server answered.
    pub fn outcome(&self) -> CancelOutcome {
        self.outcome
    }
    /// The method sent (`DELETE`, `POST`).
    pub fn method(&self) -> &Method {
        &self.method
    }
    /// The URL it went to (query parameters named like credentials left out).
    pub fn url(&self) -> &str {
        &self.url
    }
    /// The answer's status, when one came.
    pub fn status(&self) -> Option<StatusCode> {
        self.status
    }
}

/// Why an operation cannot be cancelled: nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotCancellable {
    /// The dialect has no way to cancel (Compute Engine's operations have no cancel method).
    Dialect {
        /// The dialect's name.
        dialect: &'static str,
    },
    /// A declared dialect whose description has no `cancel` member.
    NotDeclared {
        /// The dialect's name.
        dialect: String,
    },
    /// The shape polls the resource itself (`provisioningState`, a retried `GET`): a `DELETE`
    /// there would delete the resource, not cancel an operation.
    Shape {
        /// The shape.
        rule: Rule,
    },
    /// The cancel URL could not be made.
    Url {
        /// What went wrong.
        problem: String,
    },
    /// The body of a declared dialect's cancel could not be made (a template in it found
    /// nothing: an operation with no id).
    Body {
        /// What went wrong.
        problem: String,
    },
}

impl fmt::Display for NotCancellable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dialect { dialect } => {
                write!(f, "the {dialect} dialect has no way to cancel an operation")
            }
            Self::NotDeclared { dialect } => write!(
                f,
                "the dialect {dialect} declares no `cancel` (add \"cancel\": {{\"method\": \"DELETE\"}} if the service cancels so)"
            ),
            Self::Shape { rule } => write!(
                f,
                "a {rule:?} operation is polled at the resource itself: a DELETE there would delete the resource"
            ),
            Self::Url { problem } => write!(f, "no cancel URL: {problem}"),
            Self::Body { problem } => write!(f, "no cancel body: {problem}"),
        }
    }
}

impl<S> LroService<S> {
    /// Cancels the operation of a resume handle: sends the one request its dialect cancels with
    /// (`DELETE` on the status monitor by default, Google's `POST …:cancel`, a declared
    /// `cancel`) through the inner service, under the same rules as polls (credentials only to
    /// the submission's origin, the SSRF guard, the `on_poll_request` hook, which sees
    /// [`PollKind::Cancel`](crate::PollKind::Cancel)).
    ///
    /// `request` is built as for resuming ([`ResumeHandle::into_request`]): the handle in its
    /// extensions, the credentials in its headers (and URL query). Nothing else of it is sent.
    ///
    /// `Ok` when the server answered `2xx` ([`CancelOutcome::Accepted`]) or `404`/`405`/`501`
    /// ([`CancelOutcome::NotSupported`]): see [`Cancellation::outcome`]. Any other answer is
    /// an error of kind [`UnexpectedStatus`](crate::ErrorKind::UnexpectedStatus) with the
    /// answer in it; so is a `2xx` whose body says the server did nothing, when the dialect
    /// says where its answer says so (a declared `cancel`'s `answer`: Ray's
    /// `{"stopped": false}`, reason `CancelAnswerRefused`; that body is read under the status
    /// body limit, and one longer says nothing). An operation that cannot be cancelled is an
    /// error of kind [`NotCancellable`](crate::ErrorKind::NotCancellable) (nothing is sent). A
    /// declared `cancel` with a `body` needs the layer's
    /// [`poll_body`](crate::LroLayer::poll_body) for `ReqB`, as a `status_request` with one
    /// does (without it: an error of kind [`Protocol`](crate::ErrorKind::Protocol), nothing
    /// sent). The cancel is sent once, never retried. A refusal carries the answer
    /// ([`Error::body`](crate::Error::body), read under the status body limit).
    ///
    /// ```no_run
    /// # async fn demo<S>(service: tower_lro::LroService<S>, handle: tower_lro::ResumeHandle)
    /// # where S: tower::Service<http::Request<String>, Response = http::Response<String>> + Clone,
    /// #       S::Error: Into<tower::BoxError> {
    /// let mut request: http::Request<String> = handle.into_request();
    /// request.headers_mut().insert("authorization", "Bearer …".parse().unwrap());
    /// match service.cancel(request).await {
    ///     Ok(c) if c.outcome().is_accepted() => println!("cancel accepted"),
    ///     Ok(c) => println!("{} {}: {}", c.method(), c.url(), c.outcome()),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// # }
    /// ```
    pub fn cancel<ReqB, ResB>(
        &self,
        request: Request<ReqB>,
    ) -> impl Future<Output = Result<Cancellation, Error>>
    where
        S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
        S::Error: Into<BoxError>,
        ReqB: Default + 'static,
        ResB: Body,
        ResB::Error: Into<BoxError>,
    {
        let inner = self.inner.clone();
        let settings = self.settings.clone();
        let built = build(&settings, &request);
        async move {
            let request = built?;
            let sent = match settings.cancel_request::<ReqB>(request.clone()) {
                Ok(sent) => sent,
                Err(body_type) => {
                    let url = Some(shown(request.uri()));
                    return Err(Error::new(url, Reason::NoPollBody { body_type }));
                }
            };
            let response = match inner.oneshot(sent).await {
                Ok(response) => response,
                Err(e) => return answered(&request, Err(e.into())),
            };
            let status = response.status();
            if request.reads_answer(status) {
                // A `2xx` whose body may say the server did nothing (a declared `answer`).
                let (parts, body) = response.into_parts();
                let body = read(body, settings.config.status_body_limit()).await;
                return match request.refusal(&parts.headers, body.as_deref()) {
                    None => answered(&request, Ok(status)),
                    Some((place, word)) => {
                        let method = request.method().clone();
                        let reason = Reason::CancelAnswerRefused {
                            method,
                            status,
                            place,
                            word,
                        };
                        let error = Error::new(Some(shown(request.uri())), reason);
                        Err(error.with_response(status, &parts.headers, body.as_ref()))
                    }
                };
            }
            match answered(&request, Ok(status)) {
                // A refusal keeps what the server said (its body, under the size limit).
                Err(e) if matches!(e.reason(), Reason::CancelRefused { .. }) => {
                    let (parts, body) = response.into_parts();
                    let body = read(body, settings.config.status_body_limit()).await;
                    Err(e.with_response(status, &parts.headers, body.as_ref()))
                }
                other => other,
            }
        }
    }
}

/// An answer's body, read up to `limit` bytes; `None` when it is longer or fails.
async fn read<B>(body: B, limit: usize) -> Option<bytes::Bytes>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let read = http_body_util::Limited::new(body, limit).collect().await;
    read.ok().map(|c| c.to_bytes())
}

/// The cancel request for the handle that `request` carries.
fn build<B>(
    settings: &crate::driver::Settings,
    request: &Request<B>,
) -> Result<CancelRequest, Error> {
    let handle = request.extensions().get::<ResumeHandle>().ok_or_else(|| {
        let why = HandleProblem::Missing;
        Error::new(Some(request.uri().to_string()), Reason::BadHandle { why })
    })?;
    let options = request.extensions().get::<crate::LroOptions>();
    let params = settings.params(options);
    let head = RequestHead::from_request(request);
    let now = std::time::Instant::now();
    crate::proto::cancel::from_handle(settings.config.clone(), handle, &head, &params, now)
}

/// What an answer (or its failure) to `request` means, as the explicit cancel returns it.
pub(crate) fn answered(
    request: &CancelRequest,
    answer: Result<StatusCode, BoxError>,
) -> Result<Cancellation, Error> {
    let url = shown(request.uri());
    let method = request.method().clone();
    match answer {
        Ok(status) => {
            let done = Cancellation::new(request, Some(status));
            match done.outcome {
                CancelOutcome::Accepted | CancelOutcome::NotSupported => Ok(done),
                _ => Err(Error::new(
                    Some(url),
                    Reason::CancelRefused { method, status },
                )),
            }
        }
        Err(error) => {
            let reason = match crate::connect::Refused::find(&*error) {
                Some(refused) => {
                    Reason::Refused(crate::error::UrlProblem::Resolved(refused.clone()))
                }
                None => Reason::CancelUnanswered { method },
            };
            Err(Error::new(Some(url), reason).with_source(error))
        }
    }
}

/// A URI as errors and reports show it: credentials masked.
fn shown(uri: &http::Uri) -> String {
    crate::credentials::mask_url(&uri.to_string()).into_owned()
}
