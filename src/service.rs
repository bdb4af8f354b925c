//! [`LroService`]: the middleware.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use crate::driver::Settings;
use crate::future::ResponseFuture;
use crate::header::PREFER;
use crate::layer::LroLayer;
use crate::options::{wants_resolution, LroOptions};
use crate::proto::RequestHead;
use crate::resume::ResumeHandle;

/// Middleware that resolves long-running operations into one final response.
///
/// See the [crate docs](crate) for the behaviour and [`LroLayer`] for the configuration.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use tower_lro::{LroLayer, LroService};
/// # let http_client = tower::service_fn(|_: http::Request<Full<Bytes>>| async {
/// #     Ok::<_, std::convert::Infallible>(http::Response::new(Full::<Bytes>::default()))
/// # });
/// // The same service as `ServiceBuilder::new().layer(LroLayer::new()).service(http_client)`.
/// let svc = LroService::new(http_client, LroLayer::new());
/// let _client = svc.get_ref();
/// ```
///
/// # Clone
///
/// Each call that may be an operation clones the inner service once (the ready one is kept for
/// the polls, as `tower-http`'s `FollowRedirect` does); every poll goes through that instance,
/// driven to readiness again before each request. A pass-through call clones nothing. So `S`
/// should be cheap to clone: hyper-util's `Client` is.
///
/// # Send
///
/// `LroService<S>` and its [`ResponseFuture`] are `Send` whenever `S`, `S::Future` and the
/// request and response bodies are. The layer spawns no task and needs a Tokio runtime with
/// the time driver only once a response turns out to be an LRO.
#[derive(Clone)]
pub struct LroService<S> {
    pub(crate) inner: S,
    pub(crate) settings: Arc<Settings>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for LroService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LroService")
            .field("inner", &self.inner)
            .field("config", &*self.settings.config)
            .finish()
    }
}

impl<S> LroService<S> {
    /// Wraps `inner` with the configuration of `layer`.
    pub fn new(inner: S, layer: LroLayer) -> Self {
        Self {
            inner,
            settings: layer.settings,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for LroService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>> + Clone,
    S::Error: Into<tower::BoxError>,
    ReqB: Default + 'static,
    ResB: Body,
    ResB::Data: From<bytes::Bytes>,
    ResB::Error: Into<tower::BoxError>,
{
    type Response = Response<crate::LroBody<ResB>>;
    type Error = tower::BoxError;
    type Future = ResponseFuture<S, ReqB, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        if self.settings.idempotency.is_some() {
            let key = req
                .extensions()
                .get::<LroOptions>()
                .and_then(LroOptions::key_arc)
                .cloned();
            stamp_key(req.headers_mut(), key.as_ref(), &self.settings);
        }
        let options = req.extensions().get::<LroOptions>();
        let resume = req.extensions().get::<ResumeHandle>();
        if resume.is_none() && !wants_resolution(req.headers(), options) {
            return ResponseFuture::pass_through(self.inner.call(req));
        }
        // The future keeps the service that was driven to readiness, to poll through it later;
        // a fresh clone takes its place.
        let clone = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, clone);
        let settings = request_settings(&self.settings, options);
        if let Some(handle) = resume {
            let options = options.cloned();
            let head = RequestHead::from_request(&req);
            return ResponseFuture::resume(ready, settings, handle.clone(), head, options);
        }
        let options = options.cloned();
        let dialect = self.settings.dialect(options.as_ref());
        ask_async(
            dialect.asks_async(req.method(), req.uri().path()),
            req.headers_mut(),
        );
        let head = RequestHead::from_request(&req);
        let future = ready.call(req);
        ResponseFuture::submitted(future, ready, settings, head, options)
    }
}

/// The settings a request is driven with: the layer's, with the request's own progress hook
/// (if any) called after the layer's. Shared by the service and the reqwest middleware.
pub(crate) fn request_settings(
    base: &Arc<Settings>,
    options: Option<&LroOptions>,
) -> Arc<Settings> {
    match options.and_then(LroOptions::progress) {
        Some(hook) => {
            let hook = hook.0.clone();
            with_progress(base, move |p: &crate::Progress| hook(p))
        }
        None => base.clone(),
    }
}

/// The settings with `then` called after the layer's progress hook (if any) on every report:
/// a request's own hook, an operation store's recorder. The one place hooks are chained.
pub(crate) fn with_progress(
    base: &Settings,
    then: impl Fn(&crate::Progress) + Send + Sync + 'static,
) -> Arc<Settings> {
    let mut settings = base.clone();
    let layer = settings.progress.take();
    settings.progress = Some(Arc::new(move |p: &crate::Progress| {
        if let Some(layer) = &layer {
            layer(p);
        }
        then(p);
    }));
    Arc::new(settings)
}

/// Adds `Prefer: respond-async` to a submission whose dialect `asks` for it (`prefer_async`)
/// and that carries no `Prefer` of its own (a caller's own `Prefer` wins, whatever it says).
pub(crate) fn ask_async(asks: bool, headers: &mut http::HeaderMap) {
    if asks && !headers.contains_key(PREFER) {
        headers.insert(PREFER, http::HeaderValue::from_static("respond-async"));
    }
}

/// Stamps a request's headers with its options' idempotency key, if any, unless they carry one
/// already (a store's front stamps the time it recorded as first sent).
pub(crate) fn stamp_key(
    headers: &mut http::HeaderMap,
    key: Option<&Arc<str>>,
    settings: &Settings,
) {
    if let (Some(style), Some(key)) = (settings.idempotency, key) {
        crate::idempotency::stamp(headers, style, key, std::time::SystemTime::now());
    }
}
