//! Text a server sent, made safe to print on a terminal or in a log line.
//!
//! A status word, an error message or a URL comes from whoever answered. Printed as it is, an
//! ESC sequence clears the screen, retitles the window or writes the clipboard (OSC 52), a CR
//! hides what came before it, and a newline forges a line in a log. [`Shown`] escapes every
//! control character (C0, DEL, C1), the line and paragraph separators, and every Unicode format
//! character (bidirectional marks, overrides and isolates, zero-width marks, tag characters), and
//! cuts the text once its escaped form reaches the limit, with a marker saying how many bytes
//! were left out. The output holds no character that [`needs_escape`], and at most
//! `limit + MARKER_MAX` characters: `limit` of text and escapes, then the marker.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Characters of one server-given string that error messages print before cutting it.
pub const LIMIT: usize = 300;

/// The longest marker [`Shown`] appends when it cuts (`…[18446744073709551615 more bytes]`).
pub const MARKER_MAX: usize = 34;

/// `text`, escaped and cut after `limit` printed characters, as a [`fmt::Display`] that writes
/// straight into the formatter (no allocation).
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    text: &'a str,
    limit: usize,
}

impl<'a> Shown<'a> {
    /// `text` bounded at `limit` printed characters (escapes count by their length).
    pub fn new(text: &'a str, limit: usize) -> Self {
        Self { text, limit }
    }
}

/// `text` as it may be printed: borrowed when nothing needs escaping and it is short enough.
pub fn shown(text: &str, limit: usize) -> Cow<'_, str> {
    let short = text.len() <= limit || text.chars().count() <= limit;
    if short && !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(Shown::new(text, limit).to_string())
}

/// Control characters, the line and paragraph separators, and every format character
/// (Unicode's general category `Cf`, as of Unicode 16): they change how the rest of a line
/// reads or are not seen at all.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}' // soft hyphen
                | '\u{600}'..='\u{605}' // prepended concatenation marks
                | '\u{61c}' // Arabic letter mark (a bidi mark, as RLM)
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{890}'..='\u{891}'
                | '\u{8e2}'
                | '\u{180e}' // Mongolian vowel separator
                | '\u{200b}'..='\u{200f}' // zero-width space/joiners, LRM, RLM
                | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings/overrides
                | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
                | '\u{2066}'..='\u{206f}' // bidi isolates, deprecated format characters
                | '\u{feff}' // zero-width no-break space
                | '\u{fff9}'..='\u{fffb}' // interlinear annotation marks
                | '\u{110bd}'
                | '\u{110cd}'
                | '\u{13430}'..='\u{1343f}' // Egyptian hieroglyph format controls
                | '\u{1bca0}'..='\u{1bca3}' // shorthand format controls
                | '\u{1d173}'..='\u{1d17a}' // musical symbol format controls
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}' // tag characters (invisible ASCII)
        )
}

/// The escape for `c` (at most 9 characters: `\u{e007f}`), or `None` when it prints as itself.
fn escape(c: char, buf: &mut [u8; 10]) -> Option<&str> {
    if !needs_escape(c) {
        return None;
    }
    let fixed = match c {
        '\n' => "\\n",
        '\r' => "\\r",
        '\t' => "\\t",
        '\0' => "\\0",
        _ => "",
    };
    if !fixed.is_empty() {
        return Some(fixed);
    }
    let mut w = SliceWriter { buf, len: 0 };
    let _ = if (c as u32) < 0x80 {
        write!(w, "\\x{:02x}", c as u32)
    } else {
        write!(w, "\\u{{{:x}}}", c as u32)
    };
    let len = w.len;
    std::str::from_utf8(&buf[..len]).ok()
}

struct SliceWriter<'b> {
    buf: &'b mut [u8; 10],
    len: usize,
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        let dest = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text;
        let mut printed = 0usize;
        // Plain characters are written in runs, from `run` up to the current one.
        let mut run = 0usize;
        let mut buf = [0u8; 10];
        for (at, c) in text.char_indices() {
            let escaped = escape(c, &mut buf);
            let width = escaped.map_or(1, str::len);
            if printed + width > self.limit {
                f.write_str(&text[run..at])?;
                return write!(f, "…[{} more bytes]", text.len() - at);
            }
            printed += width;
            if let Some(escaped) = escaped {
                f.write_str(&text[run..at])?;
                f.write_str(escaped)?;
                run = at + c.len_utf8();
            }
        }
        f.write_str(&text[run..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(shown("Running", LIMIT), Cow::Borrowed("Running")));
        assert!(matches!(shown("Läuft – 50 %", LIMIT), Cow::Borrowed(_)));
        let wide = "é".repeat(LIMIT);
        assert!(matches!(shown(&wide, LIMIT), Cow::Borrowed(_)));
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
            ("iso\u{2066}late\u{2069}", "iso\\u{2066}late\\u{2069}"),
            ("bom\u{feff}", "bom\\u{feff}"),
            ("alm\u{61c}", "alm\\u{61c}"),
            ("tag\u{e0041}\u{e007f}", "tag\\u{e0041}\\u{e007f}"),
            ("shy\u{ad}", "shy\\u{ad}"),
        ];
        for (input, want) in cases {
            assert_eq!(shown(input, LIMIT), want, "{input:?}");
        }
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let long = "x".repeat(100_000);
        let out = shown(&long, LIMIT);
        assert_eq!(
            out,
            format!("{}…[{} more bytes]", "x".repeat(LIMIT), 100_000 - LIMIT)
        );
        // The limit counts printed characters: escapes are never split, never exceed it.
        let hostile = "\x1b".repeat(1_000_000);
        let out = shown(&hostile, LIMIT);
        assert_eq!(
            out,
            format!("{}…[{} more bytes]", "\\x1b".repeat(75), 1_000_000 - 75)
        );
        // Cut on a character boundary.
        let wide = "é".repeat(LIMIT + 5);
        assert_eq!(
            shown(&wide, LIMIT),
            format!("{}…[10 more bytes]", "é".repeat(LIMIT))
        );
        assert_eq!(shown("abc", 0), "…[3 more bytes]");
        assert_eq!(shown("", 0), "");
    }

    #[test]
    fn the_marker_fits_its_bound() {
        assert_eq!(
            format!("…[{} more bytes]", usize::MAX).chars().count(),
            MARKER_MAX
        );
    }
}
