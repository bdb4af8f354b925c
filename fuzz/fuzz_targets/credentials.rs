//! The credential filter (issue 14): a submission carrying credentials of every kind (listed
//! names, names the patterns match, arbitrary names, origin-bound headers, carried query
//! parameters, a name the caller added) through monitors, redirects and resources on its own
//! origin, an allowed one and foreign ones; no credential value reaches another origin, a
//! resume handle, or a URL masked as `lro --metadata` masks it. See
//! `src/harness.rs` (`fuzz_credentials`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tower_lro_fuzz::fuzz_credentials(data);
});
