//! `__private::retry_after`, `__private::parse_url_value`/`parse_url_str`/`unquote` and
//! `__private::StatusDocument::parse`/`parse_status` on arbitrary input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tower_lro_fuzz::fuzz_parsers(data);
});
