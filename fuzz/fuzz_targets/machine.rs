//! Drives the sans-IO core (`tower_lro::__private::proto`: `Submission`, then `Machine`)
//! through arbitrary exchanges; see `src/harness.rs` for the invariants checked.
//!
//! Every invariant is checked, including "after `Deliver`/`Fail` the machine asks for nothing
//! more" (which found two bugs, now fixed and kept as regression tests in `tests/props.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_lro_fuzz::{fuzz_machine, Checks};

fuzz_target!(|data: &[u8]| {
    fuzz_machine(data, Checks::ALL);
});
