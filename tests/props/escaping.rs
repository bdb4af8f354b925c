//! Escaping (the `escaping` fuzz target's checks, `fuzz/src/escaping.rs`).

use super::*;

proptest! {
    #![proptest_config(config())]

    /// Any text, any limit: escaped, bounded, kept when plain, reversible when not cut.
    #[test]
    fn server_text_is_shown_escaped_and_bounded(text in any::<String>(), limit in 0usize..700) {
        harness::escaping::check_shown(&text, limit);
    }

    /// Hostile text in a failed operation's error or as a status word: the core's error message
    /// holds no control or bidi character and stays within its bound.
    #[test]
    fn error_messages_quote_server_text_safely(
        text in prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                proptest::sample::select(vec!['\u{1b}', '\n', '\r', '\0', '\u{9b}', '\u{202e}', 'x', ']', '\\']),
                0..2000,
            ).prop_map(|v| v.into_iter().collect::<String>()),
        ],
        failed in any::<bool>(),
    ) {
        harness::escaping::check_error(&text, failed);
    }
}

#[test]
fn escaping_fuzz_inputs_replay() {
    // The last: text that fits in characters but not once escaped (a harness bug it found).
    for data in [
        &b""[..],
        b"\x00\x1b",
        b"\xff\xe2\x80\xae\x1b]52;c;ZXZpbA==\x07",
        b"\x02\xff\xff\xff\xff\xff\xff\xff\x00",
    ] {
        harness::escaping::fuzz_escaping(data);
    }
    harness::escaping::check_shown(&"\u{1b}".repeat(1_000_000), 300);
}
