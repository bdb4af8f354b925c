//! [`LroMiddleware`]: the same resolution as [`LroLayer`], as a
//! [`reqwest_middleware::Middleware`].
//!
//! It is built from an [`LroLayer`] (one configuration type for both clients) and drives the
//! same driver as [`LroService`](crate::LroService): the
//! behaviour, the errors and the [`LroMetadata`] are those of the [crate docs](crate).
//!
//! ```no_run
//! use std::time::Duration;
//! use reqwest_middleware::ClientBuilder;
//! use tower_lro::middleware::LroMiddleware;
//! use tower_lro::{LroLayer, LroMetadata};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Redirects that leave an origin are handed back to the layer: see "Redirects" below.
//! let reqwest = reqwest::Client::builder()
//!     .redirect(tower_lro::middleware::redirect_policy())
//!     .build()?;
//! let client = ClientBuilder::new(reqwest)
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
//!             let code = lro.odata_error().and_then(|o| o.code());
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
//!   [`LroOptions`] and [`ResumeHandle`]), plus a [`LroRequest`](crate::LroRequest)
//!   saying which kind of request it is when the layer
//!   [tags its requests](crate::LroLayer::tag_requests) or has a hook, plus whatever the hook
//!   put in the request's extensions.
//!
//! A response that is not an LRO comes back as the client returned it, body unread. Any other
//! final response is rebuilt from the one the driver delivered, with its status, version,
//! headers, extensions and URL; its body streams (or is the bytes the core read).
//!
//! # Redirects
//!
//! reqwest follows redirects itself, in the client, before the layer sees the answer, and its
//! default policy follows them to any origin with every header but `Authorization`, cookies and
//! `Proxy-Authorization`: a poll's `x-api-key`, `Ocp-Apim-Subscription-Key` or `Metadata: true`
//! would reach a host a status monitor redirects to. Build the `reqwest::Client` under this
//! middleware with [`redirect_policy`] (or `reqwest::redirect::Policy::none()`): redirects
//! within one origin are still followed by reqwest, one to another origin comes back to the
//! layer, which follows it under its own rules (no credential or origin-bound header to
//! another origin, the address guard). The policy is the client's, so it applies to that
//! client's other requests too.
//!
//! # How it works
//!
//! The middleware owns no protocol logic: it wraps the rest of the chain
//! (`reqwest_middleware::Next`) in a small Tower `Service` and hands the submission's answer to
//! the same driver as [`LroService`](crate::LroService), so both clients behave alike by
//! construction.
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
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Extensions, Uri};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tower_service::Service;

use crate::driver::{Call, Driver, Resume, Settings};
use crate::error::{Error, HandleProblem, Reason};
use crate::layer::LroLayer;
use crate::options::{wants_resolution, LroOptions};
use crate::proto::{classify, AnsweredFrom, Classify, RequestHead};
use crate::resume::ResumeHandle;

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

/// The redirect policy for the `reqwest::Client` under [`LroMiddleware`] (see
/// [Redirects](self#redirects)): follows at most 10 redirects while they stay on the origin
/// (scheme, host, port) of the request's URL, and hands back the first one that leaves it, for
/// the layer to follow under its own rules.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(reqwest::Url::origin);
        if attempt.previous().len() > 10 || first != Some(attempt.url().origin()) {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
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

async fn handle(
    settings: &Arc<Settings>,
    mut req: Request,
    extensions: &mut Extensions,
    next: Next<'_>,
) -> MwResult<Response> {
    let options = extensions.get::<LroOptions>().cloned();
    // What `LroService::call` does first, the same way: the idempotency key.
    let key = options.as_ref().and_then(LroOptions::key_arc);
    crate::service::stamp_key(req.headers_mut(), key, settings);
    let handle = extensions.get::<ResumeHandle>().cloned();
    if handle.is_none() && !wants_resolution(req.headers(), options.as_ref()) {
        return next.run(req, extensions).await;
    }
    // A submission whose dialect asks for `Prefer: respond-async` (`prefer_async`).
    if handle.is_none() {
        let dialect = settings.dialect(options.as_ref());
        let asks = dialect.asks_async(req.method(), req.url().path());
        crate::service::ask_async(asks, req.headers_mut());
    }
    let head = head_of(&req);
    let service = NextService {
        next: next.clone(),
        base: Arc::new(poll_extensions(extensions)),
        timeout: req.timeout().copied(),
    };
    // The request's own progress hook, called after the layer's.
    let settings = crate::service::request_settings(settings, options.as_ref());
    let resolved = match (handle, head) {
        (Some(_), None) => {
            let reason = Reason::BadHandle {
                why: HandleProblem::CarrierUri,
            };
            return Err(fail(Error::new(Some(req.url().to_string()), reason)));
        }
        (Some(handle), Some(head)) => {
            let args = Resume {
                service,
                settings,
                handle,
                head,
                options,
            };
            Driver::resume(args).await
        }
        // An URL that is not a valid `http::Uri` cannot be polled either: leave it alone.
        (None, None) => return next.run(req, extensions).await,
        (None, Some(head)) => {
            let response = next.run(req, extensions).await?;
            let (status, headers) = (response.status(), response.headers());
            let dialect = settings.dialect(options.as_ref());
            if classify(&settings.config, dialect, &head.method, status, headers)
                == Classify::PassThrough
            {
                return Ok(response);
            }
            let call = Call {
                service,
                settings,
                head,
                options,
            };
            Driver::inspect(call, into_http(response)).await
        }
    };
    match resolved {
        Ok(response) => Ok(Response::from(response.map(reqwest::Body::wrap))),
        Err(e) => Err(resolution_error(e)),
    }
}

/// The head polling needs later: the one copy the pass-through path pays for.
fn head_of(req: &Request) -> Option<RequestHead> {
    let uri: Uri = req.url().as_str().parse().ok()?;
    Some(RequestHead::from_parts(
        req.method(),
        &uri,
        req.version(),
        req.headers(),
    ))
}

/// Extensions for the requests the middleware sends: the caller's, without what steers it.
fn poll_extensions(extensions: &Extensions) -> Extensions {
    let mut out = extensions.clone();
    out.remove::<LroOptions>();
    out.remove::<ResumeHandle>();
    out
}

fn fail(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}

/// What the driver failed with, for `reqwest-middleware`: the resolution's [`Error`]; the
/// client's own error when a submission body failed mid-way.
fn resolution_error(e: BoxError) -> reqwest_middleware::Error {
    let e = match e.downcast::<Error>() {
        Ok(e) => return fail(*e),
        Err(e) => e,
    };
    match e.downcast::<reqwest::Error>() {
        Ok(e) => reqwest_middleware::Error::Reqwest(*e),
        Err(e) => fail(Error::new(None, Reason::SubmissionBodyFailed).with_source(e)),
    }
}

/// A `reqwest::Response` as an `http::Response`, keeping its URL (in the extensions, where
/// the conversion back looks for it).
fn into_http(response: Response) -> http::Response<reqwest::Body> {
    use reqwest::ResponseBuilderExt;
    let url = response.url().clone();
    let mut response = http::Response::from(response);
    if let Ok(carrier) = http::Response::builder().url(url).body(()) {
        response
            .extensions_mut()
            .extend(carrier.into_parts().0.extensions);
    }
    response
}

/// The rest of the chain as a Tower service, for the driver: always ready; each call sends one
/// request through `Next`, with the submission's timeout and middleware extensions.
#[derive(Clone)]
struct NextService<'a> {
    next: Next<'a>,
    base: Arc<Extensions>,
    timeout: Option<Duration>,
}

type NextFuture<'a> =
    Pin<Box<dyn Future<Output = MwResult<http::Response<reqwest::Body>>> + Send + 'a>>;

impl<'a> Service<http::Request<reqwest::Body>> for NextService<'a> {
    type Response = http::Response<reqwest::Body>;
    type Error = reqwest_middleware::Error;
    type Future = NextFuture<'a>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<reqwest::Body>) -> Self::Future {
        let (parts, _) = req.into_parts();
        let next = self.next.clone();
        let mut extensions = Extensions::clone(&self.base);
        extensions.extend(parts.extensions);
        let timeout = self.timeout;
        Box::pin(async move {
            let url = reqwest::Url::parse(&parts.uri.to_string())
                .map_err(reqwest_middleware::Error::middleware)?;
            let mut request = Request::new(parts.method, url.clone());
            *request.headers_mut() = parts.headers;
            *request.version_mut() = parts.version;
            *request.timeout_mut() = timeout;
            // reqwest's errors name the URL they were sending to, and a poll's URL holds what
            // the server wrote into it (`sig=`) and the carried query: left out, the error the
            // layer reports names the URL masked.
            let response = next
                .run(request, &mut extensions)
                .await
                .map_err(|e| match e {
                    reqwest_middleware::Error::Reqwest(e) => {
                        reqwest_middleware::Error::Reqwest(e.without_url())
                    }
                    other => other,
                })?;
            // reqwest follows redirects itself: say where the answer came from.
            let from = (response.url() != &url)
                .then(|| response.url().as_str().parse::<Uri>().ok())
                .flatten();
            let mut response = into_http(response);
            if let Some(from) = from {
                response.extensions_mut().insert(AnsweredFrom(from));
            }
            Ok(response)
        })
    }
}
