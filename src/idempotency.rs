//! Idempotency keys on submissions: the header styles a layer may stamp.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

/// Which header a layer stamps on a submission whose [`LroOptions`](crate::LroOptions) carry an
/// [idempotency key](crate::LroOptions::idempotency_key), so that a retry layer below it (or
/// the client's own retry) may resend a `POST` safely: the server recognises the repeat.
///
/// Polls and resource `GET`s never carry these headers.
///
/// ```
/// use tower_lro::{IdempotencyHeader, LroLayer, LroOptions};
/// let layer = LroLayer::new().idempotency_header(IdempotencyHeader::IdempotencyKey);
/// let mut req = http::Request::post("https://jobs.example/v1/jobs").body(String::new()).unwrap();
/// req.extensions_mut().insert(LroOptions::new().idempotency_key("order-1234"));
/// # let _ = layer;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdempotencyHeader {
    /// `Idempotency-Key: "<key>"`, a structured-field string as in the IETF httpapi
    /// `Idempotency-Key` draft.
    IdempotencyKey,
    /// OASIS repeatable requests, as Azure services accept them: `Repeatability-Request-ID:
    /// <key>` and `Repeatability-First-Sent: <IMF-fixdate>` (when the request was first sent).
    Repeatability,
}

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REQUEST_ID: HeaderName = HeaderName::from_static("repeatability-request-id");
const FIRST_SENT: HeaderName = HeaderName::from_static("repeatability-first-sent");

/// Whether `key` can be sent as a header value in every style: visible ASCII, not empty.
pub(crate) fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

/// Stamps `headers` with `key` in `style`; `first_sent` is the time the request was first sent
/// (now, or the time a store recorded). A key that is no valid header value is not stamped.
pub(crate) fn stamp(
    headers: &mut HeaderMap,
    style: IdempotencyHeader,
    key: &str,
    first_sent: std::time::SystemTime,
) {
    let present = match style {
        IdempotencyHeader::IdempotencyKey => headers.contains_key(IDEMPOTENCY_KEY),
        IdempotencyHeader::Repeatability => headers.contains_key(REQUEST_ID),
    };
    if present || !valid_key(key) {
        return;
    }
    match style {
        IdempotencyHeader::IdempotencyKey => {
            let mut quoted = String::with_capacity(key.len() + 2);
            quoted.push('"');
            for c in key.chars() {
                if c == '"' || c == '\\' {
                    quoted.push('\\');
                }
                quoted.push(c);
            }
            quoted.push('"');
            if let Ok(v) = HeaderValue::from_str(&quoted) {
                headers.insert(IDEMPOTENCY_KEY, v);
            }
        }
        IdempotencyHeader::Repeatability => {
            let (Ok(id), Ok(date)) = (
                HeaderValue::from_str(key),
                HeaderValue::from_str(&httpdate::fmt_http_date(first_sent)),
            ) else {
                return;
            };
            headers.insert(REQUEST_ID, id);
            headers.insert(FIRST_SENT, date);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_each_style() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        let mut h = HeaderMap::new();
        stamp(&mut h, IdempotencyHeader::IdempotencyKey, r#"a"b"#, at);
        assert_eq!(h[IDEMPOTENCY_KEY], r#""a\"b""#);
        let mut h = HeaderMap::new();
        stamp(&mut h, IdempotencyHeader::Repeatability, "k-1", at);
        assert_eq!(h[REQUEST_ID], "k-1");
        assert_eq!(h[FIRST_SENT], "Sun, 06 Nov 1994 08:49:37 GMT");
        let mut h = HeaderMap::new();
        stamp(&mut h, IdempotencyHeader::Repeatability, "bad\nkey", at);
        assert!(h.is_empty());
    }
}
