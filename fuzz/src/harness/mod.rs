//! Shared harness of the `machine` fuzz target and of `tests/props.rs`.
//!
//! It turns bytes (through the `arbitrary` crate) or proptest strategies into a [`Scenario`]: a
//! configuration, a submission (method, URL, request headers, response status, headers, body)
//! and a sequence of [`Event`]s (poll responses, transport errors, body errors). [`run`] drives
//! the sans-IO core (`tower_lro::__private::proto`) through it as its module docs tell a driver
//! to: `Submission::new(…).start(…)`, then `Machine::handle_answer` / `Machine::handle_failure`
//! for each request sent and `Machine::poll_progress` after every hand-in, with a synthetic
//! clock that jumps to each `Send`'s `at`. It panics when an invariant breaks:
//!
//! - every `at` is `>= now` and `<= machine.deadline()`; the deadline is the submission's
//!   `read_deadline()` and where the config (or the per-request `Params`) put it;
//! - every wait is at most `max(max_wait, min_wait)`; a status poll's wait is at least `min_wait`;
//! - status polls `<= max_polls`, resource fetches `<= transient_retries + 1`, attempts count up;
//! - polls are `GET`s to `http`/`https` only, never `https` → `http`, and carry neither `Host`
//!   nor headers describing the submission's body/connection/preconditions;
//! - after a request went to a foreign origin (not allowed by config), it and every later
//!   request carry no credential header and no credential query value of the submission;
//!   requests to the submission's own origin before that carry them;
//! - a body over the limit ends the operation; a deadline passing in flight
//!   (`Failure::DeadlinePassed`) ends it with a `Timeout`;
//! - `Timeout`/`PollLimit` errors carry a resume handle that round-trips through serde and
//!   resumes (`Machine::resume`) with a status poll due at once, numbered after the handle's
//!   polls; errors display without panicking;
//! - `poll_progress` reports exactly once after the submission and after each answer (or
//!   failure) of a status request, never after a resource fetch or a deadline, with the polls
//!   answered and the next status poll's wait;
//! - after `Deliver`/`Fail` the machine asks for nothing more (every hand-in is refused).
//!
//! By concern: [`vocab`] and [`scenario`] (what a scenario is made of), `decode` (from fuzzer
//! bytes), `answers` (what servers answer, declared dialects), `drive` ([`run`]), `checks` (the
//! invariants), `targets` (the entry points of the `machine`, `parsers` and `dialects`
//! targets), [`creds`] and [`escaping`] (the `credentials` and `escaping` targets).
//!
//! The module is included by path from `tests/props.rs`, so it uses only crates that are
//! dependencies (or dev-dependencies) of `tower-lro` too, and names its siblings with `super::`.

mod answers;
mod checks;
pub mod creds;
mod decode;
mod drive;
pub mod escaping;
pub mod scenario;
mod targets;
pub mod vocab;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arbitrary::{Result as AResult, Unstructured};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use tower_lro::__private::proto::{
    Action, Answer as CoreAnswer, Begin, Failure, Machine, Now, Params, Plan, PollRequest,
    RequestHead, Submission,
};
use tower_lro::__private::{config as config_of, Config, Reason};
use tower_lro::{
    Dialect, ErrorKind, FinalState, LroLayer, LroRequest, Origin, PollKind, ResumeHandle,
};

pub use answers::{declared_json, DIALECT_FIXTURES};
pub use checks::{dialect_failure, host_kind, HostKind};
pub use creds::fuzz_credentials;
pub use drive::{config, run, wall0};
pub use scenario::{Answer, DialectSpec, End, Event, Knobs, Scenario, Summary};
pub use targets::{
    base_url, check_declared_text, check_pointer, check_retry_hint, check_url, fuzz_dialects,
    fuzz_machine, fuzz_parsers,
};
pub use vocab::*;

use answers::*;
use checks::*;
use decode::*;
use drive::*;
