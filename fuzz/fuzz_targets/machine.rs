//! Drives the sans-IO core (`tower_lro::__private::proto`: `Submission`, then `Machine`)
//! through arbitrary exchanges, in any dialect (default, Google, Compute Engine, declared),
//! with redirects, `Content-Location`, `AsyncResult` and the wider status vocabulary; see
//! `src/harness.rs` for the invariants checked (`Scenario::decode_wide`).
//!
//! Every invariant is checked, including "after `Deliver`/`Fail` the machine asks for nothing
//! more" (which found two bugs, now fixed and kept as regression tests in `tests/props.rs`).
//! `Checks::CAMPAIGN` is every check (its docs say how a campaign may let a bug it already
//! reported pass, to find others).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_lro_fuzz::{fuzz_machine_wide, Checks};

fuzz_target!(|data: &[u8]| {
    fuzz_machine_wide(data, Checks::CAMPAIGN);
});
