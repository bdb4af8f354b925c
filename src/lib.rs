//! A Tower layer that resolves HTTP long-running operations (LROs) into one final response.
//!
//! # Overview
//!
//! Many HTTP APIs answer slow work with `202 Accepted` and a status URL (`Operation-Location`,
//! `Azure-AsyncOperation` or `Location`); the client polls it, honouring `Retry-After`, until the
//! status is `Succeeded` or `Failed`, then fetches the created resource. [`LroLayer`] wraps any
//! HTTP [`Service`](tower_service::Service) and does that loop inside, so the caller sees **one
//! final response** — the created resource — or a typed [`Error`].
//!
//! ```
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tower::BoxError> {
//! # tokio::time::pause();
//! # let polls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
//! # let http_client = tower::service_fn(move |req: Request<Full<Bytes>>| {
//! #     let polls = polls.clone();
//! #     async move {
//! #         let r = match (req.method().as_str(), req.uri().path()) {
//! #             ("POST", "/mapData") => Response::builder().status(202)
//! #                 .header("operation-location", "https://atlas.example/mapData/operations/1")
//! #                 .body(Full::<Bytes>::default()),
//! #             ("GET", "/mapData/operations/1") => {
//! #                 let done = polls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1;
//! #                 let status = if done { "Succeeded" } else { "Running" };
//! #                 let mut b = Response::builder().header("retry-after", "30");
//! #                 if done { b = b.header("resource-location", "https://atlas.example/mapData/udid-1"); }
//! #                 b.body(Full::from(format!(r#"{{"operationId":"1","status":"{status}"}}"#)))
//! #             }
//! #             _ => Response::builder().body(Full::from(r#"{"udid":"udid-1"}"#)),
//! #         };
//! #         Ok::<_, std::convert::Infallible>(r.unwrap())
//! #     }
//! # });
//! // `http_client` is any HTTP service: a hyper-util `Client`, a reqwest-middleware stack, ...
//! let client = ServiceBuilder::new()
//!     .layer(tower_lro::LroLayer::new())
//!     .service(http_client);
//!
//! let request = Request::post("https://atlas.example/mapData?api-version=2.0")
//!     .body(Full::from("...upload..."))?;
//! let response = client.oneshot(request).await?; // 202 → polls → the created resource
//!
//! let meta = response.extensions().get::<tower_lro::LroMetadata>().unwrap();
//! assert_eq!(meta.polls(), 2);
//! assert_eq!(response.into_body().collect().await?.to_bytes(), r#"{"udid":"udid-1"}"#);
//! # Ok(())
//! # }
//! ```
//!
//! # What starts an LRO, and what comes back
//!
//! | submission response | polls | final response |
//! | --- | --- | --- |
//! | `202`/`201`/`200` + `Operation-Location` or `Azure-AsyncOperation` | status body (`status`) | first that applies: a `303`/`302` from the monitor; `Resource-Location`; `201` + `Location`; body `resourceLocation`; the request URL for `PUT`/`PATCH`; the submission's `Location` for `POST`; else the terminal status response |
//! | `202` + `Location`, or `202` + `Content-Location` alone | `202` = running unless its body has a terminal word; `200`/`201`/`204` = done unless the body is a status document still running (Azure Maps Creator V1) | a `303`/`302` target, `Resource-Location`, `201` + `Location` or `resourceLocation` is fetched; else that response (with the status an `AsyncResult` header names) |
//! | `PUT`/`PATCH` → `200`/`201` with a non-terminal `provisioningState` | `GET` the request URL | the last `GET` |
//! | with [`Dialect::google`], [`Dialect::compute`], [`Dialect::fhir`], [`Dialect::ogc_processes`] or a declared [`Dialect`] | the dialect's monitor and words | the dialect's result |
//! | anything else (`400`, `202` with nothing to poll, …) | none | returned untouched, body streaming (a `PUT`/`PATCH` `200`/`201` JSON answer is read first, up to the body limit, to look for `provisioningState`: see [`LroLayer::detect_provisioning_state`]) |
//!
//! Status words are read with a vocabulary that knows what real services send (see
//! [`OperationStatus`]); a failure — a failure word, a success word beside a reported `error`,
//! a Google `error`, an `AsyncResult` of `4xx`/`5xx` — is an [`Error`] of kind
//! [`ErrorKind::OperationFailed`] carrying the OData-shaped error, the operation id and the
//! terminal response (or that response itself with [`LroLayer::failure_as_response`]). Waits
//! honour `retry-after-ms`, `x-ms-retry-after-ms` and `Retry-After` (seconds or HTTP-date),
//! clamped to [`LroLayer::wait_bounds`]; polls that answer `408`/`429`/`500`/`502`/`503`/`504` or
//! fail in transport are retried; the whole resolution has a deadline. URLs from answers that
//! name internal hosts are refused ([`LroLayer::ssrf_guard`]). Every final response produced by
//! polling carries [`LroMetadata`].
//!
//! # Architecture
//!
//! The protocol lives in a sans-IO core (`src/proto/`, not public): a state machine that takes
//! response heads and bodies and the current instant and says what to do next — wait until an
//! instant and `GET` a URL, deliver the answer in hand, or fail. One hand-written driver
//! (`src/driver/`) performs the I/O and the one timer it asks for; [`LroService`] and the
//! reqwest middleware both run it. A response that is not an LRO costs one copy of the request
//! head (to poll later) and nothing else: no boxing, no task, and no buffering except for the
//! `PUT`/`PATCH` `200`/`201` JSON answers read for `provisioningState`.
//!
//! # Composition
//!
//! - Put `tower::retry` (or any retrying layer) *inside* this layer to retry individual polls;
//!   outside it, a retry re-sends the whole submission, which is only safe when the submission
//!   is idempotent (a `PUT`, or a `POST` with a repeatability/idempotency key).
//! - A `tower::timeout::Timeout` outside bounds the whole operation; [`LroLayer::deadline`] does
//!   the same and also yields a [`ResumeHandle`].
//! - Auth, tracing and signing layers inside the layer apply to polls too; for a signature that
//!   must be fresh per request, use [`LroLayer::on_poll_request`].
//! - Per request: [`LroOptions`] in the request extensions (another deadline, final state or
//!   dialect; [`LroOptions::force`] to resolve despite `Prefer: respond-async`;
//!   [`LroOptions::start_only`] for a resume handle without polling), or
//!   `Prefer: respond-async` to get the `202` back untouched.
//! - With [`LroLayer::tag_requests`] (or an `on_poll_request` hook), every request the layer
//!   sends itself carries a [`LroRequest`] extension (status poll, resource fetch or cancel);
//!   polls do not inherit the submission's other extensions.
//!
//! # Uses
//!
//! - **hyper-util client**:
//!
//! ```no_run
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper_util::{client::legacy::Client, rt::TokioExecutor};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # async fn run() -> Result<(), tower::BoxError> {
//! let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
//! let svc = ServiceBuilder::new().layer(tower_lro::LroLayer::new()).service(client);
//! let request = http::Request::post("http://127.0.0.1:8080/conversions?api-version=2.0")
//!     .body(Full::from("..."))?;
//! let resource = svc.oneshot(request).await?.into_body().collect().await?.to_bytes();
//! # let _ = resource;
//! # Ok(())
//! # }
//! ```
//!
//! - **reqwest**: [`middleware::LroMiddleware`] (feature `reqwest-middleware`) resolves LROs in a
//!   `reqwest_middleware` stack, from the same [`LroLayer`] configuration and the same core.
//! - **Gateways**: `examples/gateway.rs` serves a synchronous API in front of an asynchronous
//!   upstream: failed operations become `422`/`500` with the OData error, deadlines `504` with a
//!   resume handle, protocol violations `502`; `Prefer: respond-async` gets the `202` through.
//! - **Custom policy**: the waits, bounds, final state, failure handling and credentials are
//!   configuration; hooks shape each poll and observe progress; [`LroOptions`] changes one
//!   request:
//!
//! ```
//! use std::time::Duration;
//! use tower_lro::{FinalState, LroLayer};
//!
//! let layer = LroLayer::new()
//!     // Poll every 2 s without hints, never faster than 500 ms nor slower than 1 min.
//!     .poll_interval(Duration::from_secs(2))
//!     .wait_bounds(Duration::from_millis(500), Duration::from_secs(60))
//!     .deadline(Duration::from_secs(15 * 60))
//!     // ARM's `final-state-via: original-uri`, and a gateway that forwards failures as they are.
//!     .final_state(FinalState::OriginalUri)
//!     .failure_as_response(true)
//!     // Azure Maps wants its key on the status URL too; status lives on another host.
//!     .carry_query_param("subscription-key")
//!     .allow_origin("https://status.example.com".parse().unwrap())
//!     // A service with a word of its own.
//!     .status_word(tower_lro::StatusMeaning::Succeeded, "Published")
//!     .on_poll_request(|req| {
//!         req.headers_mut().insert("x-ms-client-request-id", http::HeaderValue::from_static("fresh"));
//!     })
//!     .on_progress(|p| eprintln!("{} {:?}", p.status(), p.percent_complete()));
//! # let _ = layer;
//! ```
//!
//! # Operations that outlive the process
//!
//! A request whose [`LroOptions::idempotency_key`] is set has its submission stamped with
//! the key when the layer asks for it ([`LroLayer::idempotency_header`]: the IETF
//! `Idempotency-Key`, or OASIS `Repeatability-Request-ID` + `Repeatability-First-Sent`), so that
//! a retry below the layer may resend it safely. [`LroLayer::store`] adds an
//! [operation store](store): a keyed request whose operation is known is not sent again — it
//! resumes from the recorded [`ResumeHandle`], waits for the process that holds the
//! operation's lease, or is answered from the store. Exactly-once submission needs a key
//! **and** a store shared by every process that may see the request, and even then a process
//! that dies between the upstream's acceptance and the store's record leaves the next taker
//! to submit again: only an upstream that honours the idempotency header closes that window.
//! The [`store`] module says what is guaranteed and what is not.
//!
//! # Feature flags
//!
//! - `reqwest-middleware`: [`middleware::LroMiddleware`], a `reqwest_middleware::Middleware`;
//!   and [`connect::GuardedResolver`] as a `reqwest::dns::Resolve`.
//! - `hyper-util`: [`connect::AddressGuard::http_connector`], hyper-util's `HttpConnector` with
//!   the SSRF guard applied to the addresses it connects to.
//! - `tower-http`: when tower-http's `FollowRedirect` sits inside the layer, read where it ended
//!   up (its `RequestUri`), so a status monitor's redirect keeps its meaning ([redirects](crate::_protocol#redirects)).
//! - `store-redb`: [`store::RedbStore`], an operation store in one embedded file (redb).
//! - `store-redis`: [`store::RedisStore`], an operation store on Redis, for a fleet.
//! - `metrics`: counters of operations, polls and waits through the `metrics` facade (the
//!   names and what they count: [`metrics`]).
//! - `tracing`: a span per operation (`lro`, with the URL, rule and operation id) and an event
//!   per poll (status, whether the word was recognised, `percentComplete`, the wait and why it
//!   was chosen).
//!
//! # Decisions
//!
//! The protocol as the layer speaks it, and the decisions taken where the pattern leaves room,
//! are in [`_protocol`] ([its decisions](_protocol#decisions)).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

pub mod _protocol;
mod body;
mod cancel;
mod config;
pub mod connect;
pub mod credentials;
mod driver;
mod error;
pub mod future;
pub mod gateway;
pub mod header;
mod idempotency;
mod layer;
mod metadata;
pub mod metrics;
#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
pub mod middleware;
mod options;
mod parse;
mod proto;
mod resume;
mod rule;
mod service;
mod status;
pub mod store;
mod vocab;

pub use body::LroBody;
pub use cancel::{CancelOutcome, Cancellation, NotCancellable};
pub use config::{FinalState, InvalidOrigin, Origin};
pub use error::{Error, ErrorKind};
pub use idempotency::IdempotencyHeader;
pub use layer::LroLayer;
pub use metadata::{LroMetadata, Progress, Rule, WaitReason};
pub use options::LroOptions;
pub use parse::HintSource;
pub use proto::dialect::{Dialect, InvalidDialect};
pub use proto::request::{LroRequest, PollKind};
pub use resume::ResumeHandle;
pub use service::LroService;
pub use status::{ODataError, OperationStatus};
pub use vocab::StatusMeaning;

/// Internals for the crate's own fuzz targets, property tests, benches and the `lro` CLI of
/// this workspace (which shares the library's escaping, URL reading and error-chain rules).
/// Not part of the API: anything here may change in any release.
///
/// The builders' setters are `#[must_use]`: a call whose result is dropped configured nothing.
/// Each kept result compiles under `deny(unused_must_use)`, and each dropped one does not:
///
/// ```
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use tower_lro::{connect::AddressGuard, store::MemoryStore, LroLayer, LroOptions};
/// let _ = LroLayer::new().deadline(Duration::from_secs(1));
/// let _ = LroLayer::new().store(Arc::new(MemoryStore::new()));
/// let _ = LroLayer::new().store(Arc::new(MemoryStore::new())).lease(Duration::from_secs(1));
/// let _ = LroOptions::new().force();
/// let _ = AddressGuard::new().trust_host("status.example");
/// let _ = MemoryStore::new().finished_ttl(Duration::from_secs(1));
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// tower_lro::LroLayer::new().deadline(std::time::Duration::from_secs(1));
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// tower_lro::LroLayer::new().store(std::sync::Arc::new(tower_lro::store::MemoryStore::new()));
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// let store = tower_lro::LroLayer::new().store(std::sync::Arc::new(tower_lro::store::MemoryStore::new()));
/// store.lease(std::time::Duration::from_secs(1));
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// tower_lro::LroOptions::new().force();
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// tower_lro::connect::AddressGuard::new().trust_host("status.example");
/// ```
/// ```compile_fail
/// #![deny(unused_must_use)]
/// tower_lro::store::MemoryStore::new().finished_ttl(std::time::Duration::from_secs(1));
/// ```
#[doc(hidden)]
pub mod __private {
    pub use crate::error::shown::{needs_escape, shown, Shown, LIMIT as SHOWN_LIMIT, MARKER_MAX};
    pub use crate::error::{HandleProblem, LastAttempt, Reason, UrlProblem};
    pub use crate::parse::{
        parse_url_str, parse_url_value, prefers_respond_async, retry_after, unquote, UrlHeaderError,
    };
    pub use crate::status::{StatusBodyError, StatusDocument};

    pub use crate::config::Config;

    /// An error and its sources on one line, bounded: the gateway's rule, which the CLI
    /// shares for the errors it reports itself.
    pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
        crate::gateway::error_chain(err)
    }

    /// `text` as one URL path segment, appended to `out`: every byte but RFC 3986's unreserved
    /// characters percent-encoded (`%2F`), the declared templates' rule, which the CLI's façade
    /// shares for its operation ids.
    pub fn escape_segment(text: &str, out: &mut String) {
        crate::proto::dialect::template::escape_segment(text, out)
    }

    /// The error object of an operation that ended `word` with the upstream's `code` and
    /// `message` where it gave them (the word, and "the operation ended WORD", where not): the
    /// gateway's rule, which `lro proxy`'s façade documents share.
    pub fn failure_error(
        word: &str,
        code: Option<&str>,
        message: Option<&str>,
    ) -> serde_json::Value {
        crate::gateway::failure_error(word, code, message)
    }

    /// Adds to `headers` what a layer reading in `dialect` adds to a submission (`method` to
    /// `uri`) as it sends it: `Prefer: respond-async` when the dialect's `prefer_async` asks
    /// for it and the submission carries no `Prefer`. The CLI's `-v` shows the submission as
    /// it is sent.
    pub fn submission_headers(
        dialect: &crate::Dialect,
        method: &http::Method,
        uri: &http::Uri,
        headers: &mut http::HeaderMap,
    ) {
        crate::service::ask_async(dialect.asks_async(method, uri.path()), headers);
    }

    /// The configuration a layer resolves with, as the protocol core is started with it.
    pub fn config(layer: &crate::LroLayer) -> &Config {
        layer.config()
    }

    /// The error an operation store gives a request whose idempotency key names another one
    /// (for a gateway that finds that out before sending, to answer it as the gateway does).
    pub fn key_reused(key: impl Into<String>) -> crate::Error {
        crate::Error::new(None, Reason::IdempotencyMismatch { key: key.into() })
    }

    /// The sans-IO protocol core: the names its drivers outside the crate use.
    pub mod proto {
        pub use crate::proto::dialect::pointer::Pointer;
        pub use crate::proto::{
            Action, Answer, Begin, Failure, Machine, Now, Params, Plan, PollRequest, RequestHead,
            Submission,
        };
    }
}
