//! The `escaping` target: server text is printed escaped and bounded.
//!
//! For any input: [`shown`] and [`Shown`] agree; their output holds no character that
//! [`needs_escape`] (control characters, bidi and zero-width format characters) and at most
//! `limit + MARKER_MAX` characters; text that needs nothing is returned as it is; text that was
//! not cut reads back to the input when the escapes are undone. An error of the core whose
//! status document carries the text (status word, OData code, message, target) renders with no
//! such character and within a bound, whatever the text.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tower_lro::__private::proto::{Action, Answer, Begin, Now, Params, RequestHead, Submission};
use tower_lro::__private::{needs_escape, shown, Shown, MARKER_MAX, SHOWN_LIMIT};
use tower_lro::LroLayer;

/// The longest error message an operation's failure may render, in characters: the URL and
/// four server strings, each bounded, and the fixed words around them.
pub const MESSAGE_BOUND: usize = 2 * SHOWN_LIMIT + 4 * (SHOWN_LIMIT + MARKER_MAX) + 400;

/// The target's entry point: the first byte picks a limit (0..=1020), the rest is the text.
pub fn fuzz_escaping(data: &[u8]) {
    let (limit, text) = match data.split_first() {
        Some((l, rest)) => (usize::from(*l) * 4, rest),
        None => (0, data),
    };
    let text = String::from_utf8_lossy(text);
    check_shown(&text, limit);
    check_shown(&text, SHOWN_LIMIT);
    check_error(&text, limit % 2 == 0);
}

/// Escaped, bounded, borrowed when nothing changes, and reversible when not cut.
pub fn check_shown(text: &str, limit: usize) {
    let out = shown(text, limit);
    assert_eq!(
        out,
        Shown::new(text, limit).to_string(),
        "shown and Shown agree"
    );
    assert_safe(&out, limit + MARKER_MAX);
    let needs = text.chars().any(needs_escape);
    if !needs && text.chars().count() <= limit {
        assert_eq!(out, text, "plain text that fits is kept");
    }
    // Uncut, the whole escaped text; cut, a prefix of it and the marker.
    let full = Shown::new(text, usize::MAX).to_string();
    assert_safe(&full, usize::MAX);
    if full.chars().count() <= limit {
        assert_eq!(out, full);
    } else {
        let (kept, marker) = out.rsplit_once('…').expect("a marker");
        assert!(
            full.starts_with(kept),
            "{kept:?} is not where {full:?} starts"
        );
        assert!(kept.chars().count() <= limit);
        if text.contains('\\') {
            assert!(marker.starts_with('[') && marker.ends_with(" more bytes]"));
        } else {
            let left = text.len() - unescape(kept).len();
            assert_eq!(marker, format!("[{left} more bytes]"));
        }
    }
    // Undoing the escapes gives the input back, when it had no backslash (a backslash is kept
    // as it is, so `\n` typed by the server reads as an escape).
    if !text.contains('\\') {
        assert_eq!(unescape(&full), text);
    }
}

/// No character that needs escaping; at most `bound` characters.
pub fn assert_safe(out: &str, bound: usize) {
    if let Some(c) = out.chars().find(|&c| needs_escape(c)) {
        panic!("raw {c:?} in {out:?}");
    }
    let len = out.chars().count();
    assert!(len <= bound, "{len} characters, bound {bound}");
}

/// `\n`, `\r`, `\t`, `\0`, `\xNN`, `\u{N}` back to their characters.
fn unescape(out: &str) -> String {
    let mut text = String::new();
    let mut rest = out;
    while let Some(at) = rest.find('\\') {
        text.push_str(&rest[..at]);
        let esc = &rest[at + 1..];
        let (c, used) = match esc.as_bytes().first() {
            Some(b'n') => ('\n', 1),
            Some(b'r') => ('\r', 1),
            Some(b't') => ('\t', 1),
            Some(b'0') => ('\0', 1),
            Some(b'x') => {
                let v = u32::from_str_radix(&esc[1..3], 16).expect("two hex digits");
                (char::from_u32(v).expect("a char"), 3)
            }
            Some(b'u') => {
                let end = esc.find('}').expect("a closing brace");
                let v = u32::from_str_radix(&esc[2..end], 16).expect("hex digits");
                (char::from_u32(v).expect("a char"), end + 1)
            }
            other => panic!("unknown escape {other:?} in {out:?}"),
        };
        text.push(c);
        rest = &esc[used..];
    }
    text.push_str(rest);
    text
}

/// A status document carrying `text` everywhere a server string goes; the core's error for it
/// renders safely. `failed`: the operation failed with an OData error; otherwise `text` is the
/// status word, polled up to the poll limit (1).
pub fn check_error(text: &str, failed: bool) {
    let cfg = Arc::new(tower_lro::__private::config(&LroLayer::new().max_polls(1)).clone());
    let head = RequestHead::new(
        Method::POST,
        "https://s.example/jobs".parse().expect("a URI"),
        HeaderMap::new(),
    );
    let now = Now::new(Instant::now(), SystemTime::now());
    let params = Params::new(&cfg);
    let mut headers = HeaderMap::new();
    headers.insert(
        "operation-location",
        HeaderValue::from_static("https://s.example/ops/1"),
    );
    headers.insert("retry-after", HeaderValue::from_static("0"));
    let begin = Submission::new(cfg, head, params, now).start(
        StatusCode::ACCEPTED,
        &headers,
        Some(&Bytes::new()),
    );
    let Ok(Begin::Lro(mut machine, _)) = begin else {
        panic!("the submission starts an operation: {begin:?}");
    };
    let doc = if failed {
        serde_json::json!({
            "status": "Failed",
            "error": { "code": text, "message": text, "target": text,
                       "details": [{ "code": text, "message": text }] },
        })
    } else {
        serde_json::json!({ "status": text })
    };
    let body = Bytes::from(doc.to_string());
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&body),
    };
    match machine.handle_answer(now, answer) {
        Action::Fail(e) => assert_safe(&e.to_string(), MESSAGE_BOUND),
        // A status word that ends the operation well, or one polled again: no message.
        other => assert!(!failed, "a failed operation ended with {other:?}"),
    }
}
