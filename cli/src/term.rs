//! Text from a server, made safe to print on a terminal or in a log line.
//!
//! A status word, an error message, a URL or a header value comes from whoever answered. Printed
//! as it is, an ESC sequence clears the screen, retitles the window or writes the clipboard
//! (OSC 52), a CR hides what came before it, and a newline forges a line in the proxy's log.
//! [`shown`] escapes every control character (C0, DEL, C1) and the Unicode characters that
//! reorder or hide text (every format character: bidi marks and isolates, zero-width marks, tag
//! characters), and cuts the text after [`LIMIT`] printed characters with a marker saying how
//! much was left out. The
//! escaping is the library's (`tower_lro::__private::Shown`), the one its error messages use,
//! so a message escaped there is left as it is here.
//!
//! Files the user asked for (`--metadata`, `-o`, stdout) keep full values: they are data.

use std::borrow::Cow;

/// Printed characters of one server-given string before it is cut.
pub const LIMIT: usize = tower_lro::__private::SHOWN_LIMIT;

/// A whole line that quotes several server strings (each already bounded where it was
/// formatted: a URL, a status word, a code and a message fit) is cut here, a backstop.
pub const LINE_LIMIT: usize = 8 * LIMIT;

/// `text` as it may be printed: escaped, and cut after [`LIMIT`] printed characters.
pub fn shown(text: &str) -> Cow<'_, str> {
    shown_within(text, LIMIT)
}

/// `text` as it may be printed: escaped, and cut after `limit` printed characters (for a whole
/// line, a backstop over the strings it quotes).
pub fn shown_within(text: &str, limit: usize) -> Cow<'_, str> {
    tower_lro::__private::shown(text, limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bounds() {
        assert!(matches!(shown("Running"), Cow::Borrowed("Running")));
        assert_eq!(shown("a\x1b[2J\r\nb\u{202e}"), "a\\x1b[2J\\r\\nb\\u{202e}");
        let out = shown(&"\x1b".repeat(1_000_000)).into_owned();
        assert!(out.len() <= LIMIT + 40, "{}", out.len());
        // What was escaped once is left as it is.
        assert_eq!(shown_within(&out, LINE_LIMIT), out);
    }
}
