//! Percent-decoding (RFC 3986 §2.1) with one rule for the whole CLI, the `percent-encoding`
//! crate's (and so the URL parser's): `%XX` with two hex digits, in either case, is the byte
//! `XX`; a `%` not followed by two hex digits is kept as it is, not refused.

use percent_encoding::percent_decode;

/// `text` decoded; `None` when the bytes it decodes to are not UTF-8.
pub fn decode(text: &str) -> Option<String> {
    percent_decode(text.as_bytes())
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// The byte a `%XX` at the start of `bytes` encodes; `None` when `bytes` does not start with
/// one (a `%` not followed by two hex digits is no escape).
pub fn escape_at(bytes: &[u8]) -> Option<u8> {
    let three = bytes.get(..3).filter(|t| t[0] == b'%')?;
    let mut decoded = percent_decode(three);
    let byte = decoded.next();
    // An escape decodes to one byte; a lone `%` leaves all three.
    byte.filter(|_| decoded.next().is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_a_malformed_percent_is_kept() {
        assert_eq!(decode("u%40x%3aw").as_deref(), Some("u@x:w"));
        assert_eq!(decode("%zz%4").as_deref(), Some("%zz%4"));
        assert_eq!(decode("100%").as_deref(), Some("100%"));
        assert_eq!(decode("%C3%A9").as_deref(), Some("é"));
        assert_eq!(decode("%FF"), None);
        assert_eq!(escape_at(b"%2e.."), Some(b'.'));
        assert_eq!(escape_at(b"%2E"), Some(b'.'));
        assert_eq!(escape_at(b"%00"), Some(0));
        assert_eq!(escape_at(b"%2"), None);
        assert_eq!(escape_at(b"%g0"), None);
        assert_eq!(escape_at(b"x%2e"), None);
    }
}
