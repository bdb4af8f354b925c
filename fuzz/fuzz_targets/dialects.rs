//! `Dialect::from_json` on arbitrary text, declared dialects built from structured but
//! arbitrary fields and driven through the core, and `Dialect::google_with_base`; whatever is
//! accepted round-trips through a resume handle (`ResumeHandle` JSON → `Machine::resume`).
//! See `src/harness.rs` (`fuzz_dialects`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tower_lro_fuzz::fuzz_dialects(data);
});
