//! [`LroLayer`]: the configuration, and the `Layer` that wraps a service in [`LroService`].

use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderName;
use http::Request;
use tower_layer::Layer;

use crate::config::{Config, FinalState, Origin};
use crate::driver::Settings;
use crate::metadata::Progress;
use crate::proto::dialect::Dialect;
use crate::service::LroService;
use crate::vocab::Meaning as StatusMeaning;

/// Resolves long-running operations: wraps a service in [`LroService`].
///
/// See the [crate docs](crate) for the behaviour. Every method takes and returns `self`;
/// cloning is cheap (one reference count).
///
/// ```
/// use std::time::Duration;
/// use tower_lro::{FinalState, LroLayer};
/// let layer = LroLayer::new()
///     .poll_interval(Duration::from_secs(2))
///     .deadline(Duration::from_secs(120))
///     .final_state(FinalState::Auto)
///     .carry_query_param("subscription-key");
/// // Its `Debug` shows the whole configuration.
/// assert!(format!("{layer:?}").contains("poll_interval: 2s"));
/// ```
#[derive(Clone)]
pub struct LroLayer {
    pub(crate) settings: Arc<Settings>,
}

impl Default for LroLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for LroLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &*self.settings;
        let hook = |present: bool| if present { "<fn>" } else { "none" };
        f.debug_struct("LroLayer")
            .field("config", &*s.config)
            .field("dialect", &s.dialect)
            .field("idempotency_header", &s.idempotency)
            .field("cancel_on_give_up", &s.cancel_on_give_up)
            .field(
                "on_poll_request",
                &format_args!("{}", hook(s.hook.is_some())),
            )
            .field(
                "on_progress",
                &format_args!("{}", hook(s.progress.is_some())),
            )
            .field(
                "poll_body",
                &format_args!("{}", hook(s.poll_body.is_some())),
            )
            .finish()
    }
}

impl LroLayer {
    /// A layer with the defaults listed on each method.
    pub fn new() -> Self {
        Self {
            settings: Arc::new(Settings::new(Config::default())),
        }
    }

    /// The configuration in force (shown by `Debug`; read back by the crate's own tests).
    pub(crate) fn config(&self) -> &Config {
        &self.settings.config
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let settings = Arc::make_mut(&mut self.settings);
        f(Arc::make_mut(&mut settings.config));
        self
    }

    /// The wait when a response carries no wait hint: every such wait is `interval`.
    ///
    /// Without this call the default is a bounded backoff for long operations: 1 s for 5 polls,
    /// then doubling up to 30 s. To grow from `interval`, call
    /// [`max_poll_interval`](Self::max_poll_interval) after this.
    pub fn poll_interval(self, interval: Duration) -> Self {
        self.edit(|c| {
            c.poll_interval = interval;
            c.max_poll_interval = interval;
        })
    }

    /// Lets unhinted waits grow: they stay at the poll interval for 5 polls, then double up to
    /// `cap` (default 30 s).
    pub fn max_poll_interval(self, cap: Duration) -> Self {
        self.edit(|c| c.max_poll_interval = cap)
    }

    /// Bounds every wait, server-given or not, to `[min, max]` (default 0 s and 5 min).
    pub fn wait_bounds(self, min: Duration, max: Duration) -> Self {
        self.edit(|c| {
            c.min_wait = min;
            c.max_wait = max;
        })
    }

    /// The overall deadline of a resolution, from the submission's response (default 10 min).
    /// Use `Duration::MAX` to poll for as long as the server says to.
    pub fn deadline(self, deadline: Duration) -> Self {
        self.edit(|c| c.deadline = deadline)
    }

    /// Whether the deadline also bounds the final body when it streams (default `true`): a
    /// fetched resource whose body has not ended when the operation's
    /// [`deadline`](Self::deadline) passes yields an [`Error`](crate::Error) of kind
    /// [`Timeout`](crate::ErrorKind::Timeout) and ends. With `false`, the final body streams
    /// for as long as the server sends it (bound it yourself, for example with
    /// `tower_http::timeout`). A body the layer read whole, and any pass-through body, carries
    /// no timer either way; nor does any body when the deadline is `Duration::MAX`. A request's
    /// [`LroOptions::bound_final_body`](crate::LroOptions::bound_final_body) overrides it.
    pub fn bound_final_body(self, enabled: bool) -> Self {
        self.edit(|c| c.bound_final_body = enabled)
    }

    /// At most this many requests to the status monitor (default 1000).
    pub fn max_polls(self, max: u32) -> Self {
        self.edit(|c| c.max_polls = max)
    }

    /// Transient poll failures retried in a row before giving up (default 5).
    pub fn transient_retries(self, retries: u32) -> Self {
        self.edit(|c| c.transient_retries = retries)
    }

    /// Size limit for status and submission bodies the layer reads (default 1 MiB).
    pub fn status_body_limit(self, bytes: usize) -> Self {
        self.edit(|c| c.status_body_limit = bytes)
    }

    /// Where the final response comes from (default [`FinalState::Auto`]).
    pub fn final_state(self, final_state: FinalState) -> Self {
        self.edit(|c| c.final_state = final_state)
    }

    /// Return a `Failed`/`Canceled` terminal status response instead of an error (for gateways
    /// that forward it). Default `false`.
    pub fn failure_as_response(self, enabled: bool) -> Self {
        self.edit(|c| c.failure_as_response = enabled)
    }

    /// Also carry this query parameter of the submission URL onto poll and resource URLs that
    /// lack it (`api-version` is carried by default; Azure Maps wants `subscription-key`).
    pub fn carry_query_param(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.edit(|c| {
            if !c.carry_query.contains(&name) {
                c.carry_query.push(name);
            }
        })
    }

    /// Carry exactly these query parameters (replaces the list).
    pub fn carry_query_params<I, T>(self, names: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        self.edit(|c| c.carry_query = names)
    }

    /// Treat this header (and query parameter of the same name) as a credential: it is never
    /// sent to an origin other than the submission's.
    pub fn credential_header(self, name: HeaderName) -> Self {
        self.edit(|c| {
            if !c.credential_headers.contains(&name) {
                c.credential_headers.push(name);
            }
        })
    }

    /// Let an origin other than the submission's receive credentials.
    ///
    /// ```
    /// # fn main() -> Result<(), tower_lro::InvalidOrigin> {
    /// let layer = tower_lro::LroLayer::new().allow_origin("https://status.example.com".parse()?);
    /// # let _ = layer; Ok(())
    /// # }
    /// ```
    pub fn allow_origin(self, origin: Origin) -> Self {
        self.edit(|c| {
            if !c.allowed_origins.contains(&origin) {
                c.allowed_origins.push(origin);
            }
        })
    }

    /// Add a status word with its meaning to the vocabulary ([status bodies](crate::_protocol#status-bodies)), for a service with words
    /// of its own; it also re-assigns a default word. Words are compared ignoring case, spaces,
    /// `-` and `_`.
    ///
    /// ```
    /// use tower_lro::{LroLayer, StatusMeaning};
    /// let layer = LroLayer::new()
    ///     .status_word(StatusMeaning::Succeeded, "Published")
    ///     .status_word(StatusMeaning::Canceled, "Terminated");
    /// # let _ = layer;
    /// ```
    pub fn status_word(self, meaning: StatusMeaning, word: &str) -> Self {
        self.edit(|c| c.vocabulary.add(meaning, word))
    }

    /// Decide what status words mean with a function, consulted before any word list;
    /// `None` falls back to them.
    pub fn status_classifier<F>(self, classify: F) -> Self
    where
        F: Fn(&str) -> Option<StatusMeaning> + Send + Sync + 'static,
    {
        self.edit(|c| {
            let vocabulary = std::mem::take(&mut c.vocabulary);
            c.vocabulary = vocabulary.with_classifier(classify);
        })
    }

    /// How to make a request body of the service's type `B` from bytes, for dialects whose
    /// status or result requests carry one (a declared `status_request` with `"method":
    /// "POST"` and a `body`, as AWS JSON-protocol services need).
    ///
    /// The layer's service asks only `B: Default + 'static` of the body type (bodiless polls
    /// are `B::default()`; the builder is found again by the type): it cannot make a body with
    /// content out of that, and asks for no conversion from bytes, so `Empty<Bytes>` stays
    /// usable. Without this call, or with a function for another type than the service's
    /// body, an operation whose requests need a body ends with an error of kind
    /// [`Protocol`](crate::ErrorKind::Protocol) naming the body type and this method. Name the
    /// type when inference could choose another, as for a boxed body whose error type is left
    /// open: `.poll_body(|b| -> MyBody { … })`.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    /// let layer = tower_lro::LroLayer::new().poll_body(Full::<Bytes>::new);
    /// # let _ = layer;
    /// ```
    pub fn poll_body<B, F>(mut self, make: F) -> Self
    where
        B: 'static,
        F: Fn(bytes::Bytes) -> B + Send + Sync + 'static,
    {
        let maker = crate::driver::settings::PollBody::<B>(Box::new(make));
        Arc::make_mut(&mut self.settings).poll_body = Some(Arc::new(maker));
        self
    }

    /// The dialect the layer's services speak ([dialects](crate::_protocol#dialects); default: the default dialect). A
    /// request's [`LroOptions::dialect`](crate::LroOptions::dialect) overrides it.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new().dialect(tower_lro::Dialect::google());
    /// # let _ = layer;
    /// ```
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        Arc::make_mut(&mut self.settings).dialect = dialect;
        self
    }

    /// For `GET` requests only, and only when asked: a `202` with nothing to poll means "not
    /// ready yet, ask again" (GitHub's statistics endpoints), so the same request is sent again
    /// after the hinted or unhinted wait, within the deadline (default `false`).
    pub fn accepted_means_retry(self, enabled: bool) -> Self {
        self.edit(|c| c.accepted_retry = enabled)
    }

    /// Refuse status, redirect and resource URLs whose host is link-local, unspecified or a
    /// cloud metadata name, and loopback or private-range hosts unless the submission went to
    /// such a host too ([poll requests](crate::_protocol#poll-requests); default `true`). Allowed origins are exempt.
    pub fn ssrf_guard(self, enabled: bool) -> Self {
        self.edit(|c| c.ssrf_guard = enabled)
    }

    /// Detect the ARM `PUT`/`PATCH` → `provisioningState` shape (default `true`). Turning it
    /// off spares buffering `200`/`201` JSON answers to `PUT`/`PATCH`.
    pub fn detect_provisioning_state(self, enabled: bool) -> Self {
        self.edit(|c| c.detect_provisioning_state = enabled)
    }

    /// Shape every request the layer sends by itself (polls and the resource `GET`), for
    /// example to sign it afresh. The request's extensions hold a
    /// [`LroRequest`](crate::LroRequest) saying which kind it is.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new().on_poll_request(|req| {
    ///     req.headers_mut().insert("x-poll", http::HeaderValue::from_static("1"));
    /// });
    /// ```
    pub fn on_poll_request<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Request<()>) + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.settings).hook = Some(Arc::new(hook));
        self
    }

    /// Cancel an operation when the layer gives up on it — its deadline passed, or the poll
    /// limit was reached — before returning the timeout error (default `false`: never
    /// cancelled). See [`LroOptions::cancel_on_give_up`](crate::LroOptions::cancel_on_give_up),
    /// which overrides it per request.
    pub fn cancel_on_give_up(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.settings).cancel_on_give_up = enabled;
        self
    }

    /// Be told where each operation stands: once when the submission's answer starts it
    /// (`polls() == 0`), then after every status poll (status, `percentComplete`, the wait
    /// chosen), for example to draw a progress bar. The hook runs
    /// inline on the response future's task: keep it short.
    pub fn on_progress<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.settings).progress = Some(Arc::new(hook));
        self
    }
}

impl LroLayer {
    /// Stamp submissions whose [`LroOptions`](crate::LroOptions) carry an
    /// [idempotency key](crate::LroOptions::idempotency_key) with it, in this header style
    /// (default: none). Polls never carry it.
    ///
    /// ```
    /// use tower_lro::{IdempotencyHeader, LroLayer};
    /// let layer = LroLayer::new().idempotency_header(IdempotencyHeader::Repeatability);
    /// # let _ = layer;
    /// ```
    pub fn idempotency_header(mut self, style: crate::IdempotencyHeader) -> Self {
        Arc::make_mut(&mut self.settings).idempotency = Some(style);
        self
    }
}

impl<S> Layer<S> for LroLayer {
    type Service = LroService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LroService::new(inner, self.clone())
    }
}
