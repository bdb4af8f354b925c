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
use crate::vocab::StatusMeaning;

/// Resolves long-running operations: wraps a service in [`LroService`].
///
/// See the [crate docs](crate) for the behaviour. Every method takes and returns `self`;
/// cloning is cheap (one reference count).
///
/// The builder comes in groups, in this order: waiting, limits, recognising operations, the
/// final response, what polls carry and where they may go, hooks, persistence. One rule holds
/// for all of them: a *list knob* adds to its list ([`carry_query_param`](Self::carry_query_param),
/// [`carry_query_params`](Self::carry_query_params),
/// [`credential_header`](Self::credential_header), [`allow_origin`](Self::allow_origin),
/// [`status_word`](Self::status_word)), every other knob replaces its value, and no knob's
/// meaning depends on the order of the calls.
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
/// assert!(format!("{layer:?}").contains("subscription-key"));
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
            .field("tag_requests", &s.tag_requests)
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
}

/// # Waiting
///
/// When the next poll goes out. A server's wait hint (`Retry-After`, `retry-after-ms`,
/// `x-ms-retry-after-ms`) is followed; without one the layer chooses the wait: its *unhinted
/// backoff* stays at the first wait for 5 polls, then doubles up to a cap (transient failures
/// back off from the same first wait, doubling at once). [`wait_bounds`](Self::wait_bounds)
/// bounds every wait, hinted or not. Each setter means the same whatever the order of the
/// calls.
impl LroLayer {
    /// Unhinted waits start at `first` for 5 polls, then double up to `cap` (default 1 s and
    /// 30 s; a `cap` below `first` is `first`). The same as
    /// [`poll_interval(first)`](Self::poll_interval) with
    /// [`max_poll_interval(cap)`](Self::max_poll_interval), in either order.
    ///
    /// ```
    /// use std::time::Duration;
    /// let layer = tower_lro::LroLayer::new()
    ///     .poll_backoff(Duration::from_secs(2), Duration::from_secs(60));
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn poll_backoff(self, first: Duration, cap: Duration) -> Self {
        self.edit(|c| {
            c.poll_interval = Some(first);
            c.max_poll_interval = Some(cap);
        })
    }

    /// The first unhinted wait. Alone it is every unhinted wait (a fixed interval); with a
    /// [`max_poll_interval`](Self::max_poll_interval), set before or after, waits grow from it
    /// to that cap. Without either call: 1 s for 5 polls, then doubling up to 30 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_lro::LroLayer;
    /// // Every unhinted wait is 2 s.
    /// let fixed = LroLayer::new().poll_interval(Duration::from_secs(2));
    /// // Both grow from 2 s to 60 s: the order of the calls does not matter.
    /// let a = LroLayer::new()
    ///     .max_poll_interval(Duration::from_secs(60))
    ///     .poll_interval(Duration::from_secs(2));
    /// let b = LroLayer::new()
    ///     .poll_interval(Duration::from_secs(2))
    ///     .max_poll_interval(Duration::from_secs(60));
    /// # let _ = (fixed, a, b);
    /// ```
    #[must_use]
    pub fn poll_interval(self, interval: Duration) -> Self {
        self.edit(|c| c.poll_interval = Some(interval))
    }

    /// The cap unhinted waits grow to (default 30 s), from the
    /// [`poll_interval`](Self::poll_interval) (default 1 s), whichever of the two is called
    /// first.
    #[must_use]
    pub fn max_poll_interval(self, cap: Duration) -> Self {
        self.edit(|c| c.max_poll_interval = Some(cap))
    }

    /// Spread the waits the layer chooses (unhinted and transient backoff), so that clients
    /// started together do not poll together: each such wait is shortened by a random share
    /// of at most `fraction` of it (clamped to `[0, 1]`; default 0, no jitter).
    ///
    /// `1.0` is AWS's "full jitter" (a wait anywhere in `[0, w]`), `0.5` its "equal jitter"
    /// (`[w/2, w]`); smithy's waiters draw between their minimum delay and the computed one,
    /// which is `1.0` here with [`wait_bounds`](Self::wait_bounds)' minimum. Jitter never
    /// lengthens a wait, and never shortens a server's hint: its `Retry-After` is kept as
    /// given. [`wait_bounds`](Self::wait_bounds) still holds after jitter.
    ///
    /// ```
    /// // Waits the layer chooses are cut by up to half ("equal jitter").
    /// let layer = tower_lro::LroLayer::new().poll_jitter(0.5);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn poll_jitter(self, fraction: f64) -> Self {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self.edit(|c| c.jitter = fraction)
    }

    /// Make the jitter's draws repeatable: every operation starts its sequence from `seed`
    /// (default: a fresh seed per operation), for tests and simulations. Without
    /// [`poll_jitter`](Self::poll_jitter) it has no effect.
    #[must_use]
    pub fn poll_jitter_seed(self, seed: u64) -> Self {
        self.edit(|c| c.jitter_seed = Some(seed))
    }

    /// Bounds every wait, server-given or not, to `[min, max]` (default 0 s and 5 min).
    #[must_use]
    pub fn wait_bounds(self, min: Duration, max: Duration) -> Self {
        self.edit(|c| {
            c.min_wait = min;
            c.max_wait = max;
        })
    }
}

/// # Limits
///
/// How long, how many requests and how much of a body a resolution may spend, and what the
/// layer does when it gives up.
impl LroLayer {
    /// The overall deadline of a resolution, from the submission's response (default 10 min).
    /// Use `Duration::MAX` to poll for as long as the server says to.
    #[must_use]
    pub fn deadline(self, deadline: Duration) -> Self {
        self.edit(|c| c.deadline = deadline)
    }

    /// At most this many requests to the status monitor (default 1000).
    #[must_use]
    pub fn max_polls(self, max: u32) -> Self {
        self.edit(|c| c.max_polls = max)
    }

    /// Transient poll failures retried in a row before giving up (default 5).
    #[must_use]
    pub fn transient_retries(self, retries: u32) -> Self {
        self.edit(|c| c.transient_retries = retries)
    }

    /// Size limit for status and submission bodies the layer reads (default 1 MiB). A
    /// `Location` monitor's `200` over it is the result, fetched again and streamed unread.
    #[must_use]
    pub fn status_body_limit(self, bytes: usize) -> Self {
        self.edit(|c| c.status_body_limit = bytes)
    }

    /// Cancel an operation when the layer gives up on it — its deadline passed, or the poll
    /// limit was reached — before returning the timeout error (default `false`: never
    /// cancelled). See [`LroOptions::cancel_on_give_up`](crate::LroOptions::cancel_on_give_up),
    /// which overrides it per request.
    #[must_use]
    pub fn cancel_on_give_up(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.settings).cancel_on_give_up = enabled;
        self
    }
}

/// # Recognising operations
///
/// Which answers start an operation and what their status words mean: the dialect, the
/// vocabulary, and the shapes the layer looks for.
impl LroLayer {
    /// The dialect the layer's services speak ([dialects](crate::_protocol#dialects); default: the default dialect). A
    /// request's [`LroOptions::dialect`](crate::LroOptions::dialect) overrides it.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new().dialect(tower_lro::Dialect::google());
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        Arc::make_mut(&mut self.settings).dialect = dialect;
        self
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
    #[must_use]
    pub fn status_word(self, meaning: StatusMeaning, word: &str) -> Self {
        self.edit(|c| c.vocabulary.add(meaning, word))
    }

    /// Decide what status words mean with a function, consulted before any word list;
    /// `None` falls back to them.
    #[must_use]
    pub fn status_classifier<F>(self, classify: F) -> Self
    where
        F: Fn(&str) -> Option<StatusMeaning> + Send + Sync + 'static,
    {
        self.edit(|c| {
            let vocabulary = std::mem::take(&mut c.vocabulary);
            c.vocabulary = vocabulary.with_classifier(classify);
        })
    }

    /// Detect the ARM `PUT`/`PATCH` → `provisioningState` shape (default `true`). Turning it
    /// off spares buffering `200`/`201` JSON answers to `PUT`/`PATCH`.
    #[must_use]
    pub fn detect_provisioning_state(self, enabled: bool) -> Self {
        self.edit(|c| c.detect_provisioning_state = enabled)
    }

    /// For `GET` requests only, and only when asked: a `202` with nothing to poll means "not
    /// ready yet, ask again" (GitHub's statistics endpoints), so the same request is sent again
    /// after the hinted or unhinted wait, within the deadline (default `false`).
    #[must_use]
    pub fn accepted_means_retry(self, enabled: bool) -> Self {
        self.edit(|c| c.accepted_retry = enabled)
    }
}

/// # The final response
///
/// Where the final response comes from, what a failed operation yields, and how long its
/// body may stream.
impl LroLayer {
    /// Where the final response comes from (default [`FinalState::Auto`]).
    #[must_use]
    pub fn final_state(self, final_state: FinalState) -> Self {
        self.edit(|c| c.final_state = final_state)
    }

    /// Return a `Failed`/`Canceled` terminal status response instead of an error (for gateways
    /// that forward it). Default `false`.
    #[must_use]
    pub fn failure_as_response(self, enabled: bool) -> Self {
        self.edit(|c| c.failure_as_response = enabled)
    }

    /// Whether the deadline also bounds the final body when it streams (default `true`): a
    /// fetched resource whose body has not ended when the operation's
    /// [`deadline`](Self::deadline) passes yields an [`Error`](crate::Error) of kind
    /// [`Timeout`](crate::ErrorKind::Timeout) and ends. With `false`, the final body streams
    /// for as long as the server sends it (bound it yourself, for example with
    /// `tower_http::timeout`). A body the layer read whole, and any pass-through body, carries
    /// no timer either way; nor does any body when the deadline is `Duration::MAX`. A request's
    /// [`LroOptions::bound_final_body`](crate::LroOptions::bound_final_body) overrides it.
    #[must_use]
    pub fn bound_final_body(self, enabled: bool) -> Self {
        self.edit(|c| c.bound_final_body = enabled)
    }
}

/// # What polls carry and where they may go
///
/// The query parameters carried onto polls, the credentials kept to the submission's origin
/// (and the origins allowed to receive them), the guard against URLs naming internal hosts,
/// and the body of polls that need one.
impl LroLayer {
    /// Also carry this query parameter of the submission URL onto poll and resource URLs that
    /// lack it (`api-version` is carried by default; Azure Maps wants `subscription-key`).
    #[must_use]
    pub fn carry_query_param(self, name: impl Into<String>) -> Self {
        self.carry_query_params([name])
    }

    /// Also carry these query parameters: [`carry_query_param`](Self::carry_query_param) for
    /// each (a list knob: it adds to the list, `api-version` stays carried).
    #[must_use]
    pub fn carry_query_params<I, T>(self, names: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.edit(|c| {
            for name in names {
                let name = name.into();
                if !c.carry_query.contains(&name) {
                    c.carry_query.push(name);
                }
            }
        })
    }

    /// Treat this header (and query parameter of the same name) as a credential: it is never
    /// sent to an origin other than the submission's.
    #[must_use]
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
    #[must_use]
    pub fn allow_origin(self, origin: Origin) -> Self {
        self.edit(|c| {
            if !c.allowed_origins.contains(&origin) {
                c.allowed_origins.push(origin);
            }
        })
    }

    /// Refuse status, redirect and resource URLs whose host is link-local, unspecified or a
    /// cloud metadata name, and loopback or private-range hosts unless the submission went to
    /// such a host too ([poll requests](crate::_protocol#poll-requests); default `true`). Allowed origins are exempt.
    #[must_use]
    pub fn ssrf_guard(self, enabled: bool) -> Self {
        self.edit(|c| c.ssrf_guard = enabled)
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
    #[must_use]
    pub fn poll_body<B, F>(mut self, make: F) -> Self
    where
        B: 'static,
        F: Fn(bytes::Bytes) -> B + Send + Sync + 'static,
    {
        let maker = crate::driver::settings::PollBody::<B>(Box::new(make));
        Arc::make_mut(&mut self.settings).poll_body = Some(Arc::new(maker));
        self
    }
}

/// # Hooks
///
/// Functions the layer calls: to shape each request it sends by itself, and to report each
/// operation's progress (each replaces the one set before); and whether the requests it sends
/// by itself say so in their extensions, for inner layers.
impl LroLayer {
    /// Shape every request the layer sends by itself (polls and the resource `GET`), for
    /// example to sign it afresh. The request's extensions hold a
    /// [`LroRequest`](crate::LroRequest) saying which kind it is (with a hook, every request
    /// the layer sends is tagged, as [`tag_requests`](Self::tag_requests) does), and whether
    /// the layer withholds the caller's credentials from it
    /// ([`credentials_withheld`](crate::LroRequest::credentials_withheld)): a hook that signs
    /// or adds a token must not do so then.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new().on_poll_request(|req| {
    ///     req.headers_mut().insert("x-poll", http::HeaderValue::from_static("1"));
    /// });
    /// ```
    #[must_use]
    pub fn on_poll_request<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Request<()>) + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.settings).hook = Some(Arc::new(hook));
        self
    }

    /// Put a [`LroRequest`](crate::LroRequest) (status poll, resource fetch or cancel, and
    /// its attempt) in the extensions of every request the layer sends by itself, so that inner
    /// layers — a retry policy, a signer, metrics — can tell them from submissions. Off by
    /// default: the extension costs three allocations a request (about a tenth of a waiting
    /// operation's allocations). An [`on_poll_request`](Self::on_poll_request) hook turns it on.
    ///
    /// ```
    /// let layer = tower_lro::LroLayer::new().tag_requests(true);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn tag_requests(mut self, tag: bool) -> Self {
        Arc::make_mut(&mut self.settings).tag_requests = tag;
        self
    }

    /// Be told where each operation stands: once when the submission's answer starts it
    /// (`polls() == 0`), then after every status poll (status, `percentComplete`, the wait
    /// chosen), for example to draw a progress bar. The hook runs
    /// inline on the response future's task: keep it short.
    #[must_use]
    pub fn on_progress<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        Arc::make_mut(&mut self.settings).progress = Some(Arc::new(hook));
        self
    }
}

/// # Persistence
///
/// What lets an operation outlive its call: the idempotency key stamped on submissions, and
/// [`store`](Self::store), which keeps operations in an operation store.
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
    #[must_use]
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
