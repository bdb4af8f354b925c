//! Per-request control of a resolution, through request extensions (spec §8).

use std::time::Duration;

use crate::config::FinalState;
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
    pub(crate) idempotency_key: Option<std::sync::Arc<str>>,
    pub(crate) body_digest: Option<u64>,
}

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

    /// Resolve this request even though it says `Prefer: respond-async` (spec §8): OData and
    /// HL7 FHIR servers answer `202` only to requests that carry that preference, so their
    /// callers send it *and* want the final response. Polls never carry `Prefer`.
    pub fn force(mut self) -> Self {
        self.forced = true;
        self
    }

    /// The dialect of this request's operation (spec §10), instead of the layer's.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = Some(dialect);
        self
    }

    /// Only start the operation: when the answer starts one, return that answer untouched,
    /// with [`LroMetadata::resume_handle`](crate::LroMetadata::resume_handle) set, instead of
    /// polling — for a caller that finishes it later (`lro --no-wait`). No poll is sent.
    pub fn start_only(mut self) -> Self {
        self.start_only = true;
        self
    }

    /// The overall deadline for this request's operation.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The final-state choice for this request's operation.
    pub fn final_state(mut self, final_state: FinalState) -> Self {
        self.final_state = Some(final_state);
        self
    }

    /// Whether this request's final body, when it streams, is cut at the deadline (see
    /// [`LroLayer::bound_final_body`](crate::LroLayer::bound_final_body); `false` leaves it
    /// unbounded).
    pub fn bound_final_body(mut self, enabled: bool) -> Self {
        self.bound_final_body = Some(enabled);
        self
    }

    /// The idempotency key of this request's operation: the layer stamps the submission with
    /// it in the style chosen by [`LroLayer::idempotency_header`](crate::LroLayer::idempotency_header)
    /// (nothing is stamped without that choice, nor for a key that is not visible ASCII), and
    /// a layer with an [operation store](crate::store) keys the operation's record by it.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into().into());
        self
    }

    /// The bytes of this request's body, for the store's fingerprint of the request (method,
    /// URL and a hash of these bytes): the layer does not read request bodies itself. A
    /// request under a known key whose fingerprint differs is refused
    /// ([`Reason::IdempotencyMismatch`](crate::__private::Reason::IdempotencyMismatch)).
    pub fn request_body(mut self, body: &[u8]) -> Self {
        self.body_digest = Some(crate::store::fnv1a(body));
        self
    }

    /// The idempotency key, if any.
    pub fn key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
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
    options.is_some_and(|o| o.forced) || !crate::parse::prefers_respond_async(headers)
}
