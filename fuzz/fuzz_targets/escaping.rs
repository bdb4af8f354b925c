//! What a server sends, as a terminal or a log would print it: `__private::shown` / `Shown` on
//! arbitrary text and limits, and the library's error messages (`Display`) for a status
//! document carrying the text as its status word, OData code, message and target.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    tower_lro_fuzz::escaping::fuzz_escaping(data);
});
