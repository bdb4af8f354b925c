//! Drives the sans-IO core (`tower_lro::__private::proto`: `Submission`, then `Machine`)
//! through arbitrary exchanges, in any dialect (default, Google, Compute Engine, declared),
//! with redirects, `Content-Location`, `AsyncResult` and the wider status vocabulary; see
//! `src/harness.rs` for the invariants checked (`Scenario::decode`).
//!
//! Every invariant is checked, including "after `Deliver`/`Fail` the machine asks for nothing
//! more" (which found two bugs, now fixed and kept as regression tests in `tests/props.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tower_lro_fuzz::fuzz_machine(data);
});
