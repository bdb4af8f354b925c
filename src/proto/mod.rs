//! The sans-IO protocol core: it reads response heads and bodies and says what to do next.
//!
//! Nothing under `proto/` performs I/O, reads a clock, spawns or awaits: a driver hands in what
//! it received and the instant it is ([`Now`]), and gets back what to do — wait until an
//! instant and send a request (a `GET`, or what a declared dialect says:
//! [`PollRequest::method`], [`PollRequest::body`]), deliver the response it holds, or fail. The crate's Tower driver
//! (`src/driver/`) is the one driver; this module is reachable from outside only through the
//! hidden `__private` module, for fuzzing and benches.
//!
//! The files, one concern each:
//!
//! | file | concern |
//! | --- | --- |
//! | [`submission`] | the submission's answer: pass through, or start an operation; the one deadline |
//! | [`machine`] | the state of one operation, and its two inputs: [`Machine::handle_answer`], [`Machine::handle_failure`] |
//! | [`shapes`] | which answers start an operation ([what starts an operation](crate::_protocol#what-starts-an-operation)) |
//! | [`dialect`] | one `match` per question about a dialect; each dialect's readers (the default's: [status bodies](crate::_protocol#status-bodies) to [the final response](crate::_protocol#final-response)) |
//! | [`cancel`] | the request that cancels an operation, and what its answer means |
//! | `resume` | resume handles to and from the machine's state ([control](crate::_protocol#control)) |
//! | [`schedule`] | waits, backoff, budgets and the deadline ([waiting](crate::_protocol#waiting-between-polls)) |
//! | [`request`] | the requests the layer sends: carried headers and query, credentials ([poll requests](crate::_protocol#poll-requests)) |
//! | `carried` | the headers an operation carries, compact while it waits |
//! | [`link`] | URLs as the server wrote them, resolved and checked |
//!
//! # Driving the core
//!
//! A driver must, in this order:
//!
//! 1. On the submission's answer head, call [`classify`]. `PassThrough`: hand the answer back
//!    untouched, body streaming; nothing else happens.
//! 2. `Inspect`: build a [`Submission`] with the instant the head arrived. Read the answer's
//!    body under [`Config::status_body_limit`](crate::config::Config), but not past
//!    [`Submission::read_deadline`]; if the deadline comes first, fail with
//!    [`Submission::timed_out`].
//! 3. Call [`Submission::start`] with the body (or `None` when it ran over the limit).
//!    [`Begin::NotLro`]: hand the answer back with the body read so far and the unread rest.
//!    [`Begin::Lro`]: keep the [`Machine`] and carry out its first [`Plan`].
//! 4. Loop until the machine delivers or fails:
//!    - [`Plan::Send`] / [`Action::Send`]: wait until `at` (at once if it has passed), then drive
//!      the inner service to readiness and send the request, shaped by the user's hook, with
//!      its method and its body when it has one ([`PollRequest::body`]). From
//!      the send until the answer's body is read, bound everything by [`Machine::deadline`]:
//!      when it passes, hand in [`Failure::DeadlinePassed`].
//!    - On an answer head, read the body (under the size limit, by the deadline) iff
//!      [`Machine::wants_body`] says so, then hand in the [`Answer`] (body `None` when it
//!      was not read) — or [`Failure::BodyTooLarge`] / [`Failure::BodyFailed`]. A failed call
//!      (or readiness) is [`Failure::Transport`].
//!    - After every hand-in (and after `start`), call [`Machine::poll_progress`] if anyone
//!      listens: it yields a report exactly when a status answer (or the submission) was read.
//!      Report it before acting on a `Deliver`.
//!    - [`Action::Deliver`]: the answer just handed in is the final response; give it the
//!      [`Delivery`]'s status and body part (or the body it made) when it names them, put its
//!      [`LroMetadata`](crate::LroMetadata) in the extensions and return it (body streaming if
//!      it was not read).
//!    - [`Action::Fail`] / [`Plan::Fail`]: return the error.
//!    - [`Action::Cancel`] / [`Plan::Cancel`] (only when asked for): send the cancel request
//!      at once, bounded by [`cancel::CANCEL_BOUND`]; return the error with what came of it
//!      ([`cancel::noted`]).
//!
//! Every loop turn sends one request, and the core bounds them (deadline, `max_polls`, the
//! transient budget), so a driver that follows this contract always ends.
//!
//! ```
//! use std::{sync::Arc, time::{Instant, SystemTime}};
//! use bytes::Bytes;
//! use http::{HeaderMap, Method, StatusCode};
//! use tower_lro::__private::proto::{Action, Answer, Begin, Now, Params, Plan, RequestHead, Submission};
//! use tower_lro::__private::Config;
//!
//! let cfg = Arc::new(Config::default());
//! let head = RequestHead::new(Method::POST, "https://atlas.microsoft.com/mapData?api-version=2.0".parse().unwrap(), HeaderMap::new());
//! let mut headers = HeaderMap::new();
//! headers.insert("operation-location", "https://atlas.microsoft.com/mapData/operations/1".parse().unwrap());
//!
//! let now = Now::new(Instant::now(), SystemTime::now());
//! let params = Params::new(&cfg);
//! let submission = Submission::new(cfg, head, params, now);
//! let Begin::Lro(mut machine, Plan::Send { at, request }) = submission.start(StatusCode::ACCEPTED, &headers, None).unwrap() else { panic!() };
//! assert_eq!(at, now.mono() + std::time::Duration::from_secs(1)); // no Retry-After: the poll interval
//! assert_eq!(request.uri().to_string(), "https://atlas.microsoft.com/mapData/operations/1?api-version=2.0");
//!
//! let body = Bytes::from_static(br#"{"operationId":"1","status":"Succeeded"}"#);
//! let answer = Answer { status: StatusCode::OK, headers: &HeaderMap::new(), body: Some(&body) };
//! let action = machine.handle_answer(Now::new(at, SystemTime::now()), answer);
//! assert!(matches!(action, Action::Deliver(_)));
//! ```

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use crate::config::{Config, FinalState};
use crate::error::Error;
use crate::metadata::LroMetadata;

pub(crate) mod cancel;
mod carried;
pub(crate) mod dialect;
pub(crate) mod link;
pub(crate) mod machine;
pub(crate) mod operation;
mod oversized;
mod redirect;
pub(crate) mod request;
mod resume;
pub(crate) mod schedule;
pub(crate) mod shapes;
pub(crate) mod ssrf;
pub(crate) mod submission;

#[cfg(test)]
mod tests;

pub use machine::Machine;
pub use request::{PollRequest, RequestHead};
pub(crate) use shapes::{classify, Classify};
pub use submission::Submission;

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An instant, on both clocks the core reads: the monotonic one for waits and deadlines, the
/// wall clock for HTTP-dates in `Retry-After`.
///
/// The wall clock is needed only for a `Retry-After` date in an answer without a `Date` of
/// its own, so a driver may leave it out ([`Now::monotonic`]): the core then reads
/// [`SystemTime::now`] in that one case. Tests that want every reading fixed give both
/// ([`Now::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    mono: Instant,
    wall: Option<SystemTime>,
}

impl Now {
    /// Both readings of one instant.
    pub fn new(mono: Instant, wall: SystemTime) -> Self {
        Self {
            mono,
            wall: Some(wall),
        }
    }
    /// The monotonic reading alone: the wall clock is read when, and only when, it is needed.
    pub fn monotonic(mono: Instant) -> Self {
        Self { mono, wall: None }
    }
    /// The monotonic reading.
    pub fn mono(&self) -> Instant {
        self.mono
    }
    /// The wall-clock reading (read now, for a [`Now::monotonic`]).
    pub fn wall(&self) -> SystemTime {
        self.wall.unwrap_or_else(SystemTime::now)
    }
}

/// What one resolution is started with, beyond the layer's [`Config`]: the per-request choices
/// the driver has already resolved (the core reads no request extensions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub(crate) deadline: Duration,
    pub(crate) final_state: FinalState,
    /// The final-state choice was made for this request (it then overrides a resume handle's).
    pub(crate) final_state_chosen: bool,
    pub(crate) dialect: dialect::Dialect,
    pub(crate) start_only: bool,
    pub(crate) bound_body: bool,
    pub(crate) cancel_on_give_up: bool,
}

impl Params {
    /// The configuration's own choices.
    pub fn new(cfg: &Config) -> Self {
        Self {
            deadline: cfg.deadline(),
            final_state: cfg.final_state(),
            final_state_chosen: false,
            dialect: dialect::Dialect::default(),
            start_only: false,
            bound_body: cfg.bound_final_body(),
            cancel_on_give_up: false,
        }
    }
    /// Whether the layer, when it gives up (deadline, poll limit), cancels the operation first
    /// ([`Plan::Cancel`]). Default `false`.
    pub fn cancel_on_give_up(mut self, enabled: bool) -> Self {
        self.cancel_on_give_up = enabled;
        self
    }
    /// Whether a delivered final body that streams is cut at the deadline (the default is the
    /// configuration's, [`Config::bound_final_body`]).
    pub fn bound_final_body(mut self, enabled: bool) -> Self {
        self.bound_body = enabled;
        self
    }
    /// Whether a delivered final body is to be cut: asked for, and the deadline is not
    /// "never" (`Duration::MAX`).
    pub(crate) fn bounds_body(&self) -> bool {
        self.bound_body && self.deadline < FOREVER
    }
    /// Only start the operation: deliver the submission's answer with a resume handle in its
    /// metadata instead of polling.
    pub fn start_only(mut self, start_only: bool) -> Self {
        self.start_only = start_only;
        self
    }
    /// Another dialect.
    pub fn dialect(mut self, dialect: dialect::Dialect) -> Self {
        self.dialect = dialect;
        self
    }
    /// Another overall deadline.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
    /// Another final-state choice.
    pub fn final_state(mut self, final_state: FinalState) -> Self {
        self.final_state = final_state;
        self.final_state_chosen = true;
        self
    }
}

/// In a response's extensions: the URL the answer actually came from, when an inner client
/// followed redirects to get it (reqwest does by default). The driver hands it to
/// [`Machine::answered_from`] so the meaning of the redirect survives ([redirects](crate::_protocol#redirects)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnsweredFrom(pub http::Uri);

/// An answer to the request of the last `Send`, handed to [`Machine::handle_answer`].
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: &'a HeaderMap,
    /// The whole body when [`Machine::wants_body`] asked for it, else `None` (the body streams
    /// on to the caller if the answer is delivered).
    pub body: Option<&'a Bytes>,
}

/// What became of a request that got no usable answer, handed to [`Machine::handle_failure`].
#[derive(Debug)]
pub enum Failure<'a> {
    /// The inner service failed to produce an answer.
    Transport(BoxError),
    /// The answer's body ran over the size limit.
    BodyTooLarge {
        /// The answer's status.
        status: StatusCode,
        /// The answer's headers.
        headers: &'a HeaderMap,
    },
    /// The answer's body failed mid-way.
    BodyFailed {
        /// What the body reported.
        error: BoxError,
    },
    /// [`Machine::deadline`] passed while the request (or its body) was in flight.
    DeadlinePassed,
}

/// What to do when no answer is in hand: the first step of an operation, and the step after a
/// [`Failure`]. It cannot deliver, for there is nothing to deliver.
#[derive(Debug)]
pub enum Plan {
    /// Wait until `at` (at once when it has passed), then send `request`.
    Send {
        /// When to send.
        at: Instant,
        /// What to send.
        request: PollRequest,
    },
    /// The layer gives up (deadline, poll limit) and was asked to cancel first: send
    /// `request` at once, bounded by `cancel::CANCEL_BOUND`, note what came of it with
    /// `cancel::noted`, then end with the error.
    Cancel {
        /// The cancel to send.
        request: cancel::CancelRequest,
        /// The error the operation ends with.
        error: Error,
    },
    /// The operation ends with this error before any poll.
    Fail(Error),
}

/// What a driver must do after handing in an [`Answer`].
#[derive(Debug)]
pub enum Action {
    /// Wait until `at` (at once when it has passed), then send `request`.
    Send {
        /// When to send.
        at: Instant,
        /// What to send.
        request: PollRequest,
    },
    /// The answer just handed in is the final response: deliver it as this says.
    Deliver(Delivery),
    /// As [`Plan::Cancel`]: cancel, then end with the error.
    Cancel {
        /// The cancel to send.
        request: cancel::CancelRequest,
        /// The error the operation ends with.
        error: Error,
    },
    /// The operation ends with this error.
    Fail(Error),
}

impl From<Plan> for Action {
    fn from(plan: Plan) -> Self {
        match plan {
            Plan::Send { at, request } => Action::Send { at, request },
            Plan::Cancel { request, error } => Action::Cancel { request, error },
            Plan::Fail(e) => Action::Fail(e),
        }
    }
}

/// How to deliver the answer in hand as the final response: the metadata for its extensions,
/// and what of the answer changes on the way.
#[derive(Debug)]
pub struct Delivery {
    /// What the final response carries in its extensions.
    pub metadata: LroMetadata,
    /// The status to deliver the answer with, when not its own (OData `AsyncResult`).
    pub status: Option<StatusCode>,
    /// The part of the read body that is the final body (a Google `response`, an embedded
    /// result), when not all of it.
    pub body: Option<std::ops::Range<usize>>,
    /// The final body, when the core made it from the read body rather than cut it out (a
    /// JSON document a string of it held, decoded): it replaces the body.
    pub decoded: Option<bytes::Bytes>,
}

impl Delivery {
    /// The answer as it is, with this metadata.
    pub(crate) fn new(metadata: LroMetadata) -> Self {
        Self {
            metadata,
            status: None,
            body: None,
            decoded: None,
        }
    }
}

/// The outcome of [`Submission::start`].
#[derive(Debug)]
// Returned once per submission and consumed at once: boxing the plan would only add an
// allocation.
#[allow(clippy::large_enum_variant)]
pub enum Begin {
    /// The answer is final as it is (for example a `200` whose `provisioningState` is already
    /// terminal): deliver it, with the body that was read.
    NotLro,
    /// An LRO: drive the machine, starting with this plan.
    Lro(Box<Machine>, Plan),
    /// An operation already finished in the submission's answer (a Google `Operation` that is
    /// `done`): deliver that answer as this says.
    Final(Delivery),
}

/// About 30 years: stands for "no deadline" without overflowing any timer.
pub(crate) const FOREVER: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
