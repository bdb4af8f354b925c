//! Per-request control of a resolution, through request extensions ([control](crate::_protocol#control)).

use std::time::Duration;

use std::sync::Arc;

use crate::config::FinalState;
use crate::driver::settings::ProgressHook;
use crate::metadata::Progress;
use crate::proto::dialect::Dialect;

/// Put this in a request's extensions to change how the layer treats that one request.
///
/// ```
/// use std::time::Duration;
/// use tower_lro::{FinalState, LroOptions};
/// let mut req = http::Request::post("https://example.com/jobs").body(String::new()).unwrap();
/// req.extensions_mut().insert(
///     LroOptions::new().deadline(Duration::from_secs(30)).final_state(FinalState::StatusMonitor),
/// );
/// // or hand the 202 back untouched:
/// req.extensions_mut().insert(LroOptions::disabled());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LroOptions {
    pub(crate) disabled: bool,
    pub(crate) forced: bool,
    pub(crate) start_only: bool,
    pub(crate) dialect: Option<Dialect>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) final_state: Option<FinalState>,
    pub(crate) bound_final_body: Option<bool>,
    // The rarely set choices, boxed: the options travel inline in every response future.
    pub(crate) extra: Option<Box<Extra>>,
}

/// The rarely set per-request choices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extra {
    pub(crate) idempotency_key: Option<Arc<str>>,
    pub(crate) body_digest: Option<crate::store::BodyDigest>,
    pub(crate) progress: Option<RequestProgress>,
    pub(crate) cancel_on_give_up: Option<bool>,
    pub(crate) continue_recorded: bool,
}

/// A progress hook for one request (compared by identity).
#[derive(Clone)]
pub(crate) struct RequestProgress(pub(crate) ProgressHook);

impl std::fmt::Debug for RequestProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fn(&Progress)")
    }
}

impl PartialEq for RequestProgress {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RequestProgress {}

impl LroOptions {
    /// No change from the layer's configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Do not resolve this request: its response comes back untouched, like a request with
    /// `Prefer: respond-async`.
    pub fn disabled() -> Self {
        Self {
            disabled: true,
            ..Self::default()
        }
    }

    /// Resolve this request even though it says `Prefer: respond-async` ([control](crate::_protocol#control)): OData and
    /// HL7 FHIR servers answer `202` only to requests that carry that preference, so their
    /// callers send it *and* want the final response. Polls never carry `Prefer`.
    #[must_use]
    pub fn force(mut self) -> Self {
        self.forced = true;
        self
    }

    /// The dialect of this request's operation ([dialects](crate::_protocol#dialects)), instead of the layer's.
    #[must_use]
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = Some(dialect);
        self
    }

    /// Only start the operation: when the answer starts one, return that answer untouched,
    /// with [`LroMetadata::resume_handle`](crate::LroMetadata::resume_handle) set, instead of
    /// polling — for a caller that finishes it later (`lro --no-wait`). No poll is sent.
    #[must_use]
    pub fn start_only(mut self) -> Self {
        self.start_only = true;
        self
    }

    /// The overall deadline for this request's operation.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The final-state choice for this request's operation.
    #[must_use]
    pub fn final_state(mut self, final_state: FinalState) -> Self {
        self.final_state = Some(final_state);
        self
    }

    /// Whether this request's final body, when it streams, is cut at the deadline (see
    /// [`LroLayer::bound_final_body`](crate::LroLayer::bound_final_body); `false` leaves it
    /// unbounded).
    #[must_use]
    pub fn bound_final_body(mut self, enabled: bool) -> Self {
        self.bound_final_body = Some(enabled);
        self
    }

    /// The idempotency key of this request's operation: the layer stamps the submission with
    /// it in the style chosen by [`LroLayer::idempotency_header`](crate::LroLayer::idempotency_header)
    /// (nothing is stamped without that choice, nor for a key that is not visible ASCII), and
    /// a layer with an [operation store](crate::store) keys the operation's record by it.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.extra().idempotency_key = Some(key.into().into());
        self
    }

    /// The bytes of this request's body, for the store's fingerprint of the request (method,
    /// URL and a hash of these bytes): the layer does not read request bodies itself. A
    /// request under a known key whose fingerprint differs is refused with an error of kind
    /// [`Conflict`](crate::ErrorKind::Conflict).
    ///
    /// The hash is unkeyed (FNV-1a): whoever reads the store can test guesses of a body of
    /// known structure against it offline. For a body that may hold a secret, give its MAC
    /// under a secret of your own instead ([`request_body_mac`](Self::request_body_mac)).
    #[must_use]
    pub fn request_body(mut self, body: &[u8]) -> Self {
        self.extra().body_digest = Some(crate::store::BodyDigest::Plain(crate::store::fnv1a(body)));
        self
    }

    /// In place of [`request_body`](Self::request_body): the body by a MAC the caller computed
    /// under a secret that the store does not hold (an HMAC-SHA256 of the body under a
    /// per-deployment key, say; `lro proxy` uses its key scope's secret). The fingerprint then
    /// holds no unkeyed digest of the body, so a secret in a body of known structure cannot be
    /// guessed offline by whoever reads the store. Two requests are the same when their MACs
    /// are: every process that shares a store must use the same secret (see
    /// [`OperationRecord::made_by_mac`](crate::store::OperationRecord::made_by_mac)).
    #[must_use]
    pub fn request_body_mac(mut self, mac: &[u8]) -> Self {
        self.extra().body_digest = Some(crate::store::BodyDigest::Keyed(crate::store::fnv1a(mac)));
        self
    }

    /// Be told where this request's operation stands, as the layer's
    /// [`on_progress`](crate::LroLayer::on_progress) hook is (and after it): once when the
    /// submission's answer starts it, then after every status poll. The hook runs inline on the
    /// response future's task: keep it short. It replaces an earlier hook of these options
    /// (and [`watch_progress`](Self::watch_progress)'s).
    #[must_use]
    pub fn on_progress<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Progress) + Send + Sync + 'static,
    {
        self.extra().progress = Some(RequestProgress(Arc::new(hook)));
        self
    }

    /// This request's progress as values: the receiver holds the latest report
    /// ([`Progress`]), and its `changed()` ends with an error once the operation is over (when
    /// the layer has dropped these options; keep no clone of them). Wrap it in
    /// `tokio_stream::wrappers::WatchStream` for a `Stream`.
    ///
    /// ```
    /// let (options, mut progress) = tower_lro::LroOptions::new().watch_progress();
    /// let mut req = http::Request::post("https://example.com/jobs").body(String::new()).unwrap();
    /// req.extensions_mut().insert(options);
    /// # async fn show(mut progress: tokio::sync::watch::Receiver<Option<tower_lro::Progress>>) {
    /// while progress.changed().await.is_ok() {
    ///     if let Some(p) = progress.borrow_and_update().as_ref() {
    ///         println!("{} {:?}", p.status(), p.percent_complete());
    ///     }
    /// }
    /// # }
    /// ```
    #[must_use]
    pub fn watch_progress(self) -> (Self, tokio::sync::watch::Receiver<Option<Progress>>) {
        let (tx, rx) = tokio::sync::watch::channel(None);
        let options = self.on_progress(move |p| {
            tx.send_replace(Some(p.clone()));
        });
        (options, rx)
    }

    /// Whether the layer cancels this request's operation when it gives up on it (the
    /// deadline passed, or the poll limit was reached), instead of the layer's choice
    /// ([`LroLayer::cancel_on_give_up`](crate::LroLayer::cancel_on_give_up); off by default).
    ///
    /// The cancel is the dialect's (`DELETE` on the status monitor by default, Google's `POST
    /// …:cancel`, a declared `cancel`), sent once under the same rules as polls, and waited
    /// for at most 10 s; what came of it is in
    /// [`Error::cancellation`](crate::Error::cancellation), and the error stays the timeout it
    /// was. An operation that cannot be cancelled is left alone. A response future that is
    /// dropped sends nothing: a drop is not a give-up (the caller may resume from a handle),
    /// and the layer spawns no task; cancel explicitly with
    /// [`LroService::cancel`](crate::LroService::cancel) from the latest
    /// [`Progress::resume_handle`](crate::Progress::resume_handle) instead.
    #[must_use]
    pub fn cancel_on_give_up(mut self, enabled: bool) -> Self {
        self.extra().cancel_on_give_up = Some(enabled);
        self
    }

    pub(crate) fn cancels_on_give_up(&self) -> Option<bool> {
        self.extra.as_ref()?.cancel_on_give_up
    }

    /// With an [idempotency key](Self::idempotency_key), through a layer with an
    /// [operation store](crate::store): only continue (or answer) the operation recorded under
    /// the key. Nothing is submitted, and the request's method, URL and body are not compared
    /// with the record's (the record says what the operation is): the request supplies only
    /// the headers (credentials) its polls and result fetch carry. Without a record, or with
    /// one whose submission was sent but whose handle was never recorded, the call fails with
    /// an error of kind [`Conflict`](crate::ErrorKind::Conflict) saying that nothing is recorded
    /// under the key. For a front that hands out operation ids
    /// and continues them when asked about them (`lro proxy`'s asynchronous façade).
    #[must_use]
    pub fn continue_recorded(mut self) -> Self {
        self.extra().continue_recorded = true;
        self
    }

    /// Whether only a recorded operation is continued ([`continue_recorded`](Self::continue_recorded)).
    pub fn continues_recorded(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.continue_recorded)
    }

    /// The idempotency key, if any.
    pub fn key(&self) -> Option<&str> {
        self.extra.as_ref()?.idempotency_key.as_deref()
    }

    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    pub(crate) fn key_arc(&self) -> Option<&Arc<str>> {
        self.extra.as_ref()?.idempotency_key.as_ref()
    }

    pub(crate) fn body_digest(&self) -> Option<crate::store::BodyDigest> {
        self.extra.as_ref()?.body_digest
    }

    pub(crate) fn progress(&self) -> Option<&RequestProgress> {
        self.extra.as_ref()?.progress.as_ref()
    }

    /// Whether resolution is turned off.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }
}

/// Whether the caller wants this request resolved at all: not when its options disable the
/// layer, nor when it asks for the `202` itself (`Prefer: respond-async`).
pub(crate) fn wants_resolution(headers: &http::HeaderMap, options: Option<&LroOptions>) -> bool {
    if options.is_some_and(LroOptions::is_disabled) {
        return false;
    }
    // Most requests carry no `Prefer`: a look at the names says so, with no value read.
    let prefer = || {
        crate::header::has_any(headers, &[crate::header::PREFER])
            && crate::parse::prefers_respond_async(headers)
    };
    options.is_some_and(|o| o.forced) || !prefer()
}
