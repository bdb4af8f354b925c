//! The integration tests, as one binary (each binary links hyper, tokio and reqwest).
//!
//! `tests/chaos.rs` (heavy) and `tests/schedule.rs` (poll schedules, and 100 000 LROs at once
//! when `--ignored`) stay separate binaries.

mod support;

mod api;
mod autorest;
mod autorest_mock;
mod cancel;
mod compose;
mod credentials;
mod final_body;
mod gateway;
mod hostile;
mod knobs;
mod resume;
mod seeds;
mod service;
mod standards;
mod store;
mod wider;
mod wider_mocks;

#[cfg(feature = "hyper-util")]
mod connect;
#[cfg(feature = "reqwest-middleware")]
mod reqwest;
#[cfg(feature = "tracing")]
mod tracing;
