//! [`LroMiddleware`]: the same resolution as [`LroLayer`], as a
//! [`reqwest_middleware::Middleware`].
//!
//! It is built from an [`LroLayer`] (one configuration type for both clients) and drives the
//! same sans-IO [`proto`](crate::proto) core as [`LroService`](crate::LroService): the
//! behaviour, the errors and the [`LroMetadata`] are those of the [crate docs](crate).
//!
//! ```no_run
//! use std::time::Duration;
//! use reqwest_middleware::ClientBuilder;
//! use tower_lro::middleware::LroMiddleware;
//! use tower_lro::{LroLayer, LroMetadata};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     .with(LroMiddleware::from(LroLayer::new().deadline(Duration::from_secs(300))))
//!     .build();
//!
//! // 202 + Operation-Location → polls → the created resource.
//! let response = client
//!     .post("http://atlas.example/mapData?api-version=2.0")
//!     .body("...upload...")
//!     .send()
//!     .await?;
//! if let Some(meta) = response.extensions().get::<LroMetadata>() {
//!     println!("{} after {} polls", meta.status(), meta.polls());
//! }
//! let resource = response.bytes().await?;
//! # let _ = resource;
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! Errors of the submission itself come back as the inner middleware or client returned them.
//! Everything the resolution decides (a `Failed` operation, a timeout, a poll rejected, a
//! protocol error) is a [`tower_lro::Error`](crate::Error) inside
//! [`reqwest_middleware::Error::Middleware`]; reach it with [`lro_error`] (or
//! `anyhow::Error::downcast_ref`). An outer `reqwest-retry` wraps it in its `RetryError`: see
//! [`lro_error`].
//!
//! ```no_run
//! # async fn run(client: reqwest_middleware::ClientWithMiddleware) {
//! match client.post("http://atlas.example/mapData").send().await {
//!     Ok(resource) => { /* … */ }
//!     Err(e) => match tower_lro::middleware::lro_error(&e) {
//!         Some(lro) if lro.is_operation_failed() => {
//!             let code = lro.odata_error().and_then(|o| o.code.as_deref());
//!             eprintln!("operation failed: {code:?}");
//!         }
//!         Some(lro) => eprintln!("could not resolve the operation: {lro}"),
//!         None => eprintln!("the submission failed: {e}"),
//!     },
//! }
//! # }
//! ```
//!
//! # Per request
//!
//! Put [`LroOptions`] (or a [`ResumeHandle`]) in the *middleware* extensions, with
//! `reqwest_middleware::RequestBuilder::with_extension`; a request carrying
//! `Prefer: respond-async` gets its `202` back untouched, as with the Tower layer.
//!
//! # The requests it sends
//!
//! Polls and the resource `GET` go through the rest of the chain (the middlewares added after
//! this one, then the client), each with:
//! - the headers and query parameters the core carries (see the [crate docs](crate)), after
//!   the [`LroLayer::on_poll_request`] hook;
//! - the submission's per-request timeout (`RequestBuilder::timeout`), if it had one;
//! - middleware extensions: a copy of the submission's (taken before it was sent, without
//!   [`LroOptions`] and [`ResumeHandle`]), plus a [`LroRequest`](crate::proto::LroRequest)
//!   saying which kind of request it is, plus whatever the hook put in the request's
//!   extensions.
//!
//! A response that is not an LRO comes back as the client returned it, body unread. A final
//! response whose body the core had to read (a terminal status document) is rebuilt from the
//! bytes read, with its status, version, headers, extensions and URL.
//!
//! # Ordering with `reqwest-retry`
//!
//! `reqwest-middleware` runs middlewares in the order they were added, the first outermost.
//!
//! - **Retry added after this middleware** (the usual order):
//!   `.with(LroMiddleware::from(layer)).with(RetryTransientMiddleware::new_with_policy(policy))`.
//!   The retry sits inside and retries each request on its own: every poll and the resource
//!   `GET` (a poll answering `503` is re-sent by the retry, and the resolution goes on), and
//!   the submission too, exactly as `reqwest-retry` treats any request without this
//!   middleware. The core's own transient retries ([`LroLayer::transient_retries`]) then only
//!   see what the retry middleware gave up on.
//! - **Retry added before it**: the retry sits outside and sees one call per operation, so
//!   every retry it decides re-sends the *submission* and starts the operation again. With
//!   `reqwest-retry`'s default strategy that happens only when the submission itself answers a
//!   transient status or fails in transport: errors of the resolution are
//!   `reqwest_middleware::Error::Middleware`, which it treats as fatal, so polls are not retried
//!   by it and rely on the core's transient retries alone (and its errors come wrapped in
//!   `reqwest_retry::RetryError`, see [`lro_error`]). A strategy that retries middleware
//!   errors would re-submit after an operation failed or timed out: that is only safe when the
//!   submission is idempotent (`PUT`, `DELETE`, or a `POST` carrying a repeatability /
//!   idempotency key the server honours), and after a timeout resuming from the error's
//!   [`ResumeHandle`] is cheaper than starting over.
//!
//! [`LroOptions`]: crate::LroOptions
//! [`ResumeHandle`]: crate::ResumeHandle
//! [`LroMetadata`]: crate::LroMetadata

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::{Extensions, Uri};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tokio::time::Instant;

use crate::body::LroBody;
use crate::config::Config;
use crate::error::{Error, ErrorKind};
use crate::layer::{LroLayer, Settings};
use crate::metadata::LroMetadata;
use crate::options::LroOptions;
use crate::proto::{
    classify, resolution_deadline, submission_body_timeout, wants_resolution, Action, Begin,
    BodyError, Classify, Machine, RequestHead,
};
use crate::read::{ReadLimited, ReadOutcome};
use crate::resume::ResumeHandle;
use crate::time::clock;
use crate::trace::Trace;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type MwResult<T> = reqwest_middleware::Result<T>;

/// Resolves long-running operations inside a `reqwest-middleware` client.
///
/// Built from an [`LroLayer`]: `LroMiddleware::from(LroLayer::new().poll_interval(…))`. See the
/// [module docs](self). Cloning is cheap (one reference count).
#[derive(Clone, Debug, Default)]
pub struct LroMiddleware {
    layer: LroLayer,
}

impl LroMiddleware {
    /// A middleware with the configuration (and hooks) of `layer`.
    pub fn new(layer: LroLayer) -> Self {
        Self { layer }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        self.layer.config()
    }

    /// The layer this middleware was built from.
    pub fn layer(&self) -> &LroLayer {
        &self.layer
    }
}

impl From<LroLayer> for LroMiddleware {
    fn from(layer: LroLayer) -> Self {
        Self::new(layer)
    }
}

/// The [`tower_lro::Error`](crate::Error) inside a `reqwest_middleware::Error`, when the
/// resolution (not the submission) failed.
///
/// It looks through the error's source chain, and into `reqwest_middleware::Error`s found
/// there, so it also finds the error under a middleware that wraps it as a source (such as
/// `reqwest_retry::RetryError::WithRetries`). A wrapper that is *transparent* (such as
/// `reqwest_retry::RetryError::Error`, which an outer `reqwest-retry` puts around every error
/// it did not retry) hides it from any source chain: downcast to that wrapper first, then call
/// this on the error inside.
pub fn lro_error(error: &reqwest_middleware::Error) -> Option<&Error> {
    let reqwest_middleware::Error::Middleware(error) = error else {
        return None;
    };
    error.chain().find_map(|cause| {
        cause.downcast_ref::<Error>().or_else(|| {
            cause
                .downcast_ref::<reqwest_middleware::Error>()
                .and_then(lro_error)
        })
    })
}

// The signature `async_trait` gives `Middleware::handle`, written out so that this crate needs
// no proc-macro of its own.
impl Middleware for LroMiddleware {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        req: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> Pin<Box<dyn Future<Output = MwResult<Response>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(handle(&self.layer.settings, req, extensions, next))
    }
}

fn fail(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}

/// The head polling needs later: the one copy the pass-through path pays for.
fn head_of(req: &Request) -> Option<RequestHead> {
    let uri: Uri = req.url().as_str().parse().ok()?;
    Some(RequestHead {
        method: req.method().clone(),
        uri,
        version: req.version(),
        headers: req.headers().clone(),
    })
}

/// Extensions for the requests the middleware sends: the caller's, without what steers it.
fn poll_extensions(extensions: &Extensions) -> Extensions {
    let mut out = extensions.clone();
    out.remove::<LroOptions>();
    out.remove::<ResumeHandle>();
    out
}

async fn handle(
    settings: &Arc<Settings>,
    req: Request,
    extensions: &mut Extensions,
    next: Next<'_>,
) -> MwResult<Response> {
    let options = extensions.get::<LroOptions>().cloned();
    if let Some(handle) = extensions.get::<ResumeHandle>().cloned() {
        return resume(settings, req, extensions, next, handle, options).await;
    }
    if !wants_resolution(req.headers(), options.as_ref()) {
        return next.run(req, extensions).await;
    }
    // An URL that is not a valid `http::Uri` cannot be polled either: leave it alone.
    let Some(head) = head_of(&req) else {
        return next.run(req, extensions).await;
    };
    let timeout = req.timeout().copied();
    let base = poll_extensions(extensions);

    let response = next.clone().run(req, extensions).await?;
    let config = &settings.config;
    if classify(config, &head.method, response.status(), response.headers())
        == Classify::PassThrough
    {
        return Ok(response);
    }

    // Read the submission's body (under the limit, by the deadline) to decide.
    let trace = Trace::new(&head.method, &head.uri);
    let options = options.unwrap_or_default();
    // The machine counts its deadline from this same instant: one deadline in all.
    let (answered, wall) = clock();
    let read_by = tokio::time::Instant::from_std(resolution_deadline(config, &options, answered));
    let url = response.url().clone();
    let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
    let limit = config.status_body_limit;
    let Ok(outcome) = tokio::time::timeout_at(read_by, ReadLimited::new(body, limit)).await else {
        let error = submission_body_timeout(&head.uri);
        return Err(failed(&trace, error));
    };
    let read = outcome.complete();
    let begin = Machine::start(
        config.clone(),
        head,
        &options,
        parts.status,
        &parts.headers,
        read,
        answered,
        wall,
    );
    match begin {
        Err(e) => Err(failed(&trace, e)),
        Ok(Begin::NotLro) => match outcome {
            ReadOutcome::Complete(bytes) => Ok(rebuild(parts, reqwest::Body::from(bytes), url)),
            ReadOutcome::TooLarge { head, rest } => Ok(rebuild(
                parts,
                reqwest::Body::wrap(LroBody::prefixed(head, rest)),
                url,
            )),
            ReadOutcome::Failed(e) => Err(body_error(e)),
        },
        Ok(Begin::Lro(machine, action)) => {
            {
                let _entered = trace.enter();
                trace.started(&machine);
            }
            let driver = Driver {
                settings,
                machine,
                trace,
                base,
                timeout,
                next,
            };
            // The submission's answer was read: report it, as after every status answer.
            driver.report(action.next_status_poll());
            driver.run(action).await
        }
    }
}

/// Continues an operation from the [`ResumeHandle`] in the extensions; `req` is not sent, its
/// headers (fresh credentials) are carried onto the polls.
async fn resume(
    settings: &Arc<Settings>,
    req: Request,
    extensions: &mut Extensions,
    next: Next<'_>,
    handle: ResumeHandle,
    options: Option<LroOptions>,
) -> MwResult<Response> {
    let Some(head) = head_of(&req) else {
        return Err(fail(Error::new(
            ErrorKind::Protocol,
            Some(req.url().to_string()),
            "cannot carry a resumed operation: not a valid request URI",
        )));
    };
    let trace = Trace::new(&head.method, &head.uri);
    let options = options.unwrap_or_default();
    let (now, _) = clock();
    match Machine::resume(settings.config.clone(), &handle, &head, &options, now) {
        Err(e) => Err(failed(&trace, e)),
        Ok((machine, action)) => {
            let driver = Driver {
                settings,
                machine,
                trace,
                base: poll_extensions(extensions),
                timeout: req.timeout().copied(),
                next,
            };
            // As the Tower driver: the first poll of a resumed operation is due at once, and
            // nothing has been answered yet to report.
            driver.run(action).await
        }
    }
}

/// Records a failure of the resolution and wraps it for `reqwest-middleware`.
fn failed(trace: &Trace, error: Error) -> reqwest_middleware::Error {
    {
        let _entered = trace.enter();
        trace.failed(&error);
    }
    fail(error)
}

/// What one request of the loop came to, once its deadline-bounded part is over.
enum Outcome {
    Transport(BoxError),
    Head(Response),
    Read(
        http::response::Parts,
        reqwest::Url,
        ReadOutcome<reqwest::Body>,
    ),
}

/// Performs the I/O and timers the core asks for, as [`crate::future`]'s driver does.
struct Driver<'a> {
    settings: &'a Settings,
    machine: Box<Machine>,
    trace: Trace,
    base: Extensions,
    timeout: Option<Duration>,
    next: Next<'a>,
}

impl Driver<'_> {
    /// Tells the progress hook (and the trace) where the operation stands after an answer;
    /// `next_at` is when the next status poll is due, if one is planned.
    fn report(&self, next_at: Option<std::time::Instant>) {
        self.settings.report(&self.trace, &self.machine, next_at);
    }

    fn finished(&self, extensions: &mut Extensions, meta: LroMetadata) {
        {
            let _entered = self.trace.enter();
            self.trace.finished(&meta);
        }
        extensions.insert(meta);
    }

    async fn run(mut self, mut action: Action) -> MwResult<Response> {
        // Every turn sends one request: bounded by `max_polls`, the transient budget and the
        // deadline, all enforced by the core.
        loop {
            let request = match action {
                Action::Send { at, request } => {
                    let at = Instant::from_std(at);
                    if at > Instant::now() {
                        tokio::time::sleep_until(at).await;
                    }
                    request
                }
                Action::Fail(error) => return Err(failed(&self.trace, error)),
                Action::Deliver(_) => {
                    unreachable!("the core delivers only a response that was handed in")
                }
            };

            let req = self.settings.poll_request(request);
            let deadline = Instant::from_std(self.machine.deadline());
            let sent = tokio::time::timeout_at(deadline, self.exchange(req)).await;

            let (now, wall) = clock();
            // Whether a status answer (or its failure) is in: report it, as the Tower driver.
            let report = self.machine.is_polling();
            action = match sent {
                Err(_elapsed) => {
                    let error = self.machine.on_deadline(now);
                    return Err(failed(&self.trace, error));
                }
                Ok(Outcome::Transport(e)) => self.machine.on_transport_error(e, now, wall),
                Ok(Outcome::Head(mut response)) => {
                    // The resource, passed through unread: not a status answer.
                    let status = response.status();
                    match self
                        .machine
                        .on_response(status, response.headers(), None, now, wall)
                    {
                        Action::Deliver(meta) => {
                            self.finished(response.extensions_mut(), meta);
                            return Ok(response);
                        }
                        other => other,
                    }
                }
                Ok(Outcome::Read(parts, url, ReadOutcome::Complete(bytes))) => {
                    match self.machine.on_response(
                        parts.status,
                        &parts.headers,
                        Some(&bytes),
                        now,
                        wall,
                    ) {
                        Action::Deliver(meta) => {
                            let mut response = rebuild(parts, reqwest::Body::from(bytes), url);
                            // The last progress report comes before "finished".
                            if report {
                                self.report(None);
                            }
                            self.finished(response.extensions_mut(), meta);
                            return Ok(response);
                        }
                        other => other,
                    }
                }
                Ok(Outcome::Read(parts, _, ReadOutcome::TooLarge { .. })) => self
                    .machine
                    .on_body_error(parts.status, &parts.headers, BodyError::TooLarge, now, wall),
                Ok(Outcome::Read(parts, _, ReadOutcome::Failed(e))) => self.machine.on_body_error(
                    parts.status,
                    &parts.headers,
                    BodyError::Read(e),
                    now,
                    wall,
                ),
            };
            if report {
                self.report(action.next_status_poll());
            }
        }
    }

    /// Sends one poll or resource `GET` through the rest of the chain and reads its body when
    /// the core wants it.
    async fn exchange(&self, req: http::Request<()>) -> Outcome {
        let (parts, ()) = req.into_parts();
        let url = match reqwest::Url::parse(&parts.uri.to_string()) {
            Ok(url) => url,
            // What the client would answer for a URI it cannot send to.
            Err(e) => return Outcome::Transport(Box::new(e)),
        };
        let mut request = Request::new(parts.method, url);
        *request.headers_mut() = parts.headers;
        *request.version_mut() = parts.version;
        *request.timeout_mut() = self.timeout;
        let mut extensions = self.base.clone();
        extensions.extend(parts.extensions);

        let response = match self.next.clone().run(request, &mut extensions).await {
            Ok(response) => response,
            Err(e) => return Outcome::Transport(Box::new(e)),
        };
        if !self.machine.wants_body(response.status()) {
            return Outcome::Head(response);
        }
        let url = response.url().clone();
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let limit = self.settings.config.status_body_limit;
        let read = ReadLimited::new(body, limit).await;
        Outcome::Read(parts, url, read)
    }
}

/// A `reqwest::Response` from a head the middleware took apart, keeping its URL.
fn rebuild(mut parts: http::response::Parts, body: reqwest::Body, url: reqwest::Url) -> Response {
    use reqwest::ResponseBuilderExt;
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        parts.extensions.extend(carrier.into_parts().0.extensions);
    }
    Response::from(http::Response::from_parts(parts, body))
}

/// A submission body that failed mid-way: the client's own error when it is one.
fn body_error(e: BoxError) -> reqwest_middleware::Error {
    match e.downcast::<reqwest::Error>() {
        Ok(e) => reqwest_middleware::Error::Reqwest(*e),
        Err(e) => {
            let error = Error::new(
                ErrorKind::Protocol,
                None,
                "submission response body failed mid-way",
            )
            .with_source(e);
            fail(error)
        }
    }
}
