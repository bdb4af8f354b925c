//! Text from a server, made safe to print on a terminal or in a log line.
//!
//! A status word, an error message, a URL or a header value comes from whoever answered. Printed
//! as it is, an ESC sequence clears the screen, retitles the window or writes the clipboard
//! (OSC 52), a CR hides what came before it, and a newline forges a line in the proxy's log.
//! [`shown`] escapes every control character (C0, DEL, C1) and the Unicode format characters
//! that reorder or hide text (bidirectional overrides and isolates, zero-width marks), and cuts
//! the text after [`LIMIT`] characters with a marker saying how much was left out.
//!
//! Files the user asked for (`--metadata`, `-o`, stdout) keep full values: they are data.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters of one server-given string printed before it is cut.
pub const LIMIT: usize = 300;

/// `text` as it may be printed: escaped, and cut after [`LIMIT`] characters.
pub fn shown(text: &str) -> Cow<'_, str> {
    shown_within(text, LIMIT)
}

/// `text` as it may be printed: escaped, and cut after `limit` characters (for a line that
/// holds several server strings and wants a tighter bound on each).
pub fn shown_within(text: &str, limit: usize) -> Cow<'_, str> {
    let plain = text.len() <= limit && !text.chars().any(needs_escape);
    if plain {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(limit * 4) + 32);
    for (count, (at, c)) in text.char_indices().enumerate() {
        if count == limit {
            let rest = text.len() - at;
            let _ = write!(out, "…[{rest} more bytes]");
            return Cow::Owned(out);
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Control characters, and the format characters that change how the rest of a line reads.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}' // zero-width space/joiners, LRM, RLM
                | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings/overrides
                | '\u{2060}'..='\u{2069}' // word joiner, invisible operators, bidi isolates
                | '\u{feff}' // zero-width no-break space
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(shown("Running"), Cow::Borrowed("Running")));
        assert!(matches!(shown("Läuft – 50 %"), Cow::Borrowed(_)));
    }

    #[test]
    fn control_and_format_characters_are_escaped() {
        let cases = [
            ("a\x1b[2Jb", "a\\x1b[2Jb"),
            ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
            ("ok\r\nforged 200", "ok\\r\\nforged 200"),
            ("nul\0", "nul\\0"),
            ("del\x7f", "del\\x7f"),
            ("c1\u{9b}31m", "c1\\u{9b}31m"),
            ("tab\there", "tab\\there"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
            ("zero\u{200b}width", "zero\\u{200b}width"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
        ];
        for (input, want) in cases {
            assert_eq!(shown(input), want, "{input:?}");
        }
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let long = "x".repeat(100_000);
        let out = shown(&long);
        assert_eq!(out.chars().filter(|&c| c == 'x').count(), LIMIT);
        assert!(out.ends_with(&format!("…[{} more bytes]", 100_000 - LIMIT)));
        // Escapes at most quadruple a kept character: the output stays bounded.
        let hostile = "\x1b".repeat(1_000_000);
        assert!(shown(&hostile).len() < LIMIT * 6 + 40);
        // Cut on a character boundary.
        let wide = "é".repeat(LIMIT + 5);
        assert!(shown(&wide).starts_with(&"é".repeat(LIMIT)));
    }
}
