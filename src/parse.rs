//! Pure parsers for the headers an LRO speaks: the status-monitor URLs and the wait hints.
//!
//! Nothing here performs I/O or reads a clock: callers pass the instants they mean, so every
//! function is deterministic and table-tested.

use std::time::{Duration, SystemTime};

use http::header::{HeaderMap, HeaderValue, DATE, RETRY_AFTER};
use url::Url;

use crate::header::{PREFER, RETRY_AFTER_MS, X_MS_RETRY_AFTER_MS};

/// Why a URL-carrying header could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlHeaderError {
    /// The value has bytes outside visible ASCII (RFC 9110 allows none in a URI).
    NotAscii,
    /// The value is empty (or only quotes and white space).
    Empty,
    /// The value is not a URI reference that resolves against the base.
    Invalid(String),
    /// The value resolves to a scheme other than `http` or `https`.
    Scheme(String),
}

impl std::fmt::Display for UrlHeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlHeaderError::NotAscii => f.write_str("the value is not visible ASCII"),
            UrlHeaderError::Empty => f.write_str("the value is empty"),
            UrlHeaderError::Invalid(e) => write!(f, "the value is not a URL ({e})"),
            UrlHeaderError::Scheme(s) => write!(f, "scheme `{s}` is not http or https"),
        }
    }
}

/// Strips white space and one pair of surrounding double quotes, as both Azure Maps Creator
/// documents print `Location: "https://…"`.
pub fn unquote(value: &str) -> &str {
    &value[unquoted(value)]
}

/// Where [`unquote`]'s answer lies in `value` (what it strips before and after stays there, for
/// a message that shows the value as sent).
pub(crate) fn unquoted(value: &str) -> std::ops::Range<usize> {
    // The usual value: no white space or quote at either end, nothing to do.
    let edge = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_graphic() && *b != b'"');
    if edge(value.as_bytes().first()) && edge(value.as_bytes().last()) {
        return 0..value.len();
    }
    // `text`'s trimmed part, as a range of `value` when `text` starts at `at`.
    let trimmed = |text: &str, at: usize| {
        let start = at + text.len() - text.trim_start().len();
        start..start + text.trim().len()
    };
    let outer = trimmed(value, 0);
    let v = &value[outer.clone()];
    match v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        true => trimmed(&v[1..v.len() - 1], outer.start + 1),
        false => outer,
    }
}

/// Reads a URL-carrying header value and resolves it against `base` (RFC 3986 §5).
///
/// ```
/// use tower_lro::__private::parse_url_value;
/// let base = url::Url::parse("https://atlas.microsoft.com/mapData?api-version=2.0").unwrap();
/// let v = http::HeaderValue::from_static("\"/service/operations/42\"");
/// let url = parse_url_value(&v, &base).unwrap();
/// assert_eq!(url.as_str(), "https://atlas.microsoft.com/service/operations/42");
/// ```
pub fn parse_url_value(value: &HeaderValue, base: &Url) -> Result<Url, UrlHeaderError> {
    let text = value.to_str().map_err(|_| UrlHeaderError::NotAscii)?;
    parse_url_str(text, base)
}

/// [`parse_url_value`] for a URL that came from a body (`resourceLocation`).
pub fn parse_url_str(text: &str, base: &Url) -> Result<Url, UrlHeaderError> {
    let text = unquote(text);
    if text.is_empty() {
        return Err(UrlHeaderError::Empty);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlHeaderError::Invalid(
            "white space or control characters".into(),
        ));
    }
    let url = base
        .join(text)
        .map_err(|e| UrlHeaderError::Invalid(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(UrlHeaderError::Scheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlHeaderError::Invalid("no host".into()));
    }
    Ok(url)
}

/// Which header supplied a wait hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HintSource {
    /// `retry-after-ms`.
    RetryAfterMs,
    /// `x-ms-retry-after-ms`.
    XMsRetryAfterMs,
    /// `Retry-After` as delta-seconds.
    RetryAfterSeconds,
    /// `Retry-After` as an HTTP-date.
    RetryAfterDate,
}

/// Reads how long a response asks the client to wait, per [waiting](crate::_protocol#waiting-between-polls): `retry-after-ms`, then
/// `x-ms-retry-after-ms`, then `Retry-After` (delta-seconds or HTTP-date). The first header that
/// parses wins; a malformed or negative value is skipped, never fatal.
///
/// An HTTP-date is measured against the response's own `Date` header when it has one (so the
/// server's clock, not ours, decides), else against `now`. A date in the past is ignored (a
/// negative delay, [waiting](crate::_protocol#waiting-between-polls)), so the caller's default wait applies.
/// Values too large for a `Duration` saturate; callers clamp.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use tower_lro::__private::retry_after;
/// let mut h = http::HeaderMap::new();
/// h.insert("retry-after", "30".parse().unwrap());
/// assert_eq!(retry_after(&h, SystemTime::now()).map(|(d, _)| d), Some(Duration::from_secs(30)));
/// h.insert("retry-after-ms", "250".parse().unwrap());
/// assert_eq!(retry_after(&h, SystemTime::now()).map(|(d, _)| d), Some(Duration::from_millis(250)));
/// ```
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<(Duration, HintSource)> {
    retry_after_at(headers, || now)
}

/// [`retry_after`], reading the wall clock (`now`) only when an HTTP-date must be measured
/// against it: most answers say seconds, or carry a `Date`.
pub(crate) fn retry_after_at(
    headers: &HeaderMap,
    now: impl FnOnce() -> SystemTime,
) -> Option<(Duration, HintSource)> {
    let (ms, x_ms, seconds_or_date) = if headers.len() <= crate::header::SCANNED_HEAD {
        // A typical answer has a handful of headers: one pass beats three hash lookups. The
        // first value of each name counts, as with `get`.
        let (mut ms, mut x_ms, mut ra) = (None, None, None);
        for (name, value) in headers {
            if *name == RETRY_AFTER {
                ra = ra.or(Some(value));
            } else if *name == RETRY_AFTER_MS {
                ms = ms.or(Some(value));
            } else if *name == X_MS_RETRY_AFTER_MS {
                x_ms = x_ms.or(Some(value));
            }
        }
        (ms, x_ms, ra)
    } else {
        (
            headers.get(RETRY_AFTER_MS),
            headers.get(X_MS_RETRY_AFTER_MS),
            headers.get(RETRY_AFTER),
        )
    };
    // Only Azure's services say milliseconds: read out of line.
    if ms.is_some() || x_ms.is_some() {
        if let Some(hint) = millis_hint(ms, x_ms) {
            return Some(hint);
        }
    }
    let value = seconds_or_date?;
    if let Some(secs) = parse_digits(value) {
        return Some((Duration::from_secs(secs), HintSource::RetryAfterSeconds));
    }
    retry_after_date(value, headers, now)
}

/// A `Retry-After` that is an HTTP-date: the wait until then, from the answer's `Date` (else
/// from `now`). Out of line: servers that poll say seconds.
#[cold]
#[inline(never)]
fn retry_after_date(
    value: &HeaderValue,
    headers: &HeaderMap,
    now: impl FnOnce() -> SystemTime,
) -> Option<(Duration, HintSource)> {
    // A header's text is visible ASCII, spaces and tabs: the ASCII trim is the whole trim.
    let text = value.to_str().ok()?.trim_ascii();
    let at = httpdate::parse_http_date(text).ok()?;
    let reference = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| httpdate::parse_http_date(d.trim_ascii()).ok())
        .unwrap_or_else(now);
    // A date already past is a negative delay: ignored, like any other malformed value.
    let wait = at.duration_since(reference).ok()?;
    Some((wait, HintSource::RetryAfterDate))
}

/// The wait `retry-after-ms`, else `x-ms-retry-after-ms`, says, when one parses.
#[cold]
#[inline(never)]
fn millis_hint(
    ms: Option<&HeaderValue>,
    x_ms: Option<&HeaderValue>,
) -> Option<(Duration, HintSource)> {
    let millis = |v: Option<&HeaderValue>| v.and_then(parse_digits).map(Duration::from_millis);
    match millis(ms) {
        Some(wait) => Some((wait, HintSource::RetryAfterMs)),
        None => millis(x_ms).map(|wait| (wait, HintSource::XMsRetryAfterMs)),
    }
}

/// Unsigned decimal digits only (no sign, no fraction), white space around them aside, read
/// from the value's bytes (no text conversion: a digit is ASCII). Overflow saturates: a server
/// that says `99999999999999999999999` means "a very long time", which the caller's clamp
/// handles. More than 64 digits is not read as a number.
fn parse_digits(value: &HeaderValue) -> Option<u64> {
    // A header value holds no line breaks: the ASCII trim is spaces and tabs.
    let digits = value.as_bytes().trim_ascii();
    if digits.is_empty() || digits.len() > 64 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let read = digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    Some(read.unwrap_or(u64::MAX))
}

/// `true` when a `Prefer` header asks for `respond-async` (RFC 7240 §4.1).
///
/// Asked of every request the layer sees: a short head is scanned, not hashed.
pub fn prefers_respond_async(headers: &HeaderMap) -> bool {
    crate::header::values(headers, &PREFER).any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',').any(|pref| {
                let token = pref.split(';').next().unwrap_or("").trim();
                token.eq_ignore_ascii_case("respond-async")
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn retry_after_table() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 10:00:00 GMT").unwrap();
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        #[rustfmt::skip]
        let rows: &[(&[(&str, &str)], Option<Duration>)] = &[
            (&[], None),
            (&[("retry-after", "30")], Some(s(30))),
            (&[("Retry-After", " 7 ")], Some(s(7))),
            (&[("retry-after", "0")], Some(s(0))),
            (&[("retry-after", "-5")], None),
            (&[("retry-after", "1.5")], None),
            (&[("retry-after", "soon")], None),
            (&[("retry-after", "")], None),
            (&[("retry-after", "99999999999")], Some(s(99_999_999_999))),
            (&[("retry-after", "1")], Some(s(1))),
            (&[("retry-after", "0000000000000000030")], Some(s(30))),
            (&[("retry-after", "9999999999999999999")], Some(s(9_999_999_999_999_999_999))),
            (&[("retry-after", "18446744073709551615")], Some(s(u64::MAX))),
            (&[("retry-after", "18446744073709551616")], Some(s(u64::MAX))),
            (&[("retry-after", "1 ")], Some(s(1))),
            (&[("retry-after", "1 2")], None),
            (&[("retry-after", "+1")], None),
            (&[("retry-after", "01")], Some(s(1))),
            (&[("retry-after", " 1")], Some(s(1))),
            (&[("retry-after", "\t1")], Some(s(1))),
            (&[("retry-after", "1_0")], None),
            (&[("retry-after", &"9".repeat(64))], Some(s(u64::MAX))),
            (&[("retry-after", &"9".repeat(65))], None),
            (&[("retry-after-ms", "0010")], Some(ms(10))),
            (&[("retry-after-ms", " 20 ")], Some(ms(20))),
            (&[("retry-after-ms", "18446744073709551616")], Some(ms(u64::MAX))),
            (&[("retry-after-ms", "+5"), ("retry-after", "3")], Some(s(3))),
            (&[("retry-after-ms", "1.5"), ("retry-after", "3")], Some(s(3))),
            (&[("retry-after", "999999999999999999999999999")], Some(s(u64::MAX))),
            (&[("retry-after", "Sun, 22 Nov 2026 10:00:45 GMT")], Some(s(45))),
            (&[("retry-after", "Sunday, 22-Nov-26 10:00:45 GMT")], Some(s(45))),
            (&[("retry-after", "Sun Nov 22 10:00:45 2026")], Some(s(45))),
            (&[("retry-after", "Sun, 22 Nov 2026 09:00:00 GMT")], None),
            (&[("retry-after", "Sun, 22 Nov 2026 10:00:00 GMT")], Some(s(0))),
            (&[("retry-after", "Sun, 22 Nov 2026 09:00:00 GMT"), ("retry-after-ms", "x")], None),
            // The server's Date header is the reference for an HTTP-date.
            (&[("retry-after", "Sun, 22 Nov 2026 12:00:10 GMT"), ("date", "Sun, 22 Nov 2026 12:00:00 GMT")], Some(s(10))),
            (&[("retry-after-ms", "250")], Some(ms(250))),
            (&[("x-ms-retry-after-ms", "125")], Some(ms(125))),
            (&[("retry-after-ms", "250"), ("x-ms-retry-after-ms", "125"), ("retry-after", "9")], Some(ms(250))),
            (&[("x-ms-retry-after-ms", "125"), ("retry-after", "9")], Some(ms(125))),
            // A malformed preferred header falls through to the next one.
            (&[("retry-after-ms", "-1"), ("retry-after", "9")], Some(s(9))),
            (&[("retry-after-ms", "abc"), ("x-ms-retry-after-ms", "x"), ("retry-after", "2")], Some(s(2))),
        ];
        for (i, (pairs, want)) in rows.iter().enumerate() {
            let got = retry_after(&headers(pairs), now).map(|(d, _)| d);
            assert_eq!(got, *want, "row {i}: {pairs:?}");
        }
    }

    #[test]
    fn non_utf8_retry_after_is_ignored() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_bytes(b"\xff3").unwrap());
        assert_eq!(retry_after(&h, SystemTime::now()), None);
    }

    #[test]
    fn url_value_table() {
        let base =
            Url::parse("https://atlas.microsoft.com/mapData/upload?api-version=2.0").unwrap();
        #[rustfmt::skip]
        let rows: &[(&str, Result<&str, UrlHeaderError>)] = &[
            ("https://atlas.microsoft.com/service/operations/1", Ok("https://atlas.microsoft.com/service/operations/1")),
            ("\"https://atlas.microsoft.com/tileset/7\"", Ok("https://atlas.microsoft.com/tileset/7")),
            (" \"https://x.example/a\" ", Ok("https://x.example/a")),
            ("/operations/2", Ok("https://atlas.microsoft.com/operations/2")),
            ("operations/3?x=1", Ok("https://atlas.microsoft.com/mapData/operations/3?x=1")),
            ("../ops/4", Ok("https://atlas.microsoft.com/ops/4")),
            ("//other.example/ops/5", Ok("https://other.example/ops/5")),
            ("http://plain.example/6", Ok("http://plain.example/6")),
            ("", Err(UrlHeaderError::Empty)),
            ("\"\"", Err(UrlHeaderError::Empty)),
            ("ftp://x.example/a", Err(UrlHeaderError::Scheme("ftp".into()))),
            ("javascript:alert(1)", Err(UrlHeaderError::Scheme("javascript".into()))),
            ("file:///etc/passwd", Err(UrlHeaderError::Scheme("file".into()))),
        ];
        for (i, (raw, want)) in rows.iter().enumerate() {
            let got = parse_url_value(&HeaderValue::from_str(raw).unwrap(), &base);
            let got = got.as_ref().map(Url::as_str).map_err(Clone::clone);
            assert_eq!(got, want.clone(), "row {i}: {raw:?}");
        }
        assert!(matches!(
            parse_url_value(&HeaderValue::from_static("http://a b/"), &base),
            Err(UrlHeaderError::Invalid(_))
        ));
        assert_eq!(
            parse_url_value(
                &HeaderValue::from_bytes(b"https://\xe9.example/").unwrap(),
                &base
            ),
            Err(UrlHeaderError::NotAscii)
        );
    }

    #[test]
    fn prefer_respond_async() {
        assert!(prefers_respond_async(&headers(&[(
            "prefer",
            "respond-async"
        )])));
        assert!(prefers_respond_async(&headers(&[(
            "Prefer",
            "return=minimal, Respond-Async; wait=10"
        )])));
        assert!(!prefers_respond_async(&headers(&[(
            "prefer",
            "return=representation"
        )])));
        assert!(!prefers_respond_async(&headers(&[])));
        // A long head is looked up, a short one scanned: the same answers, any value of the name.
        for extra in [0, 20] {
            let mut pairs: Vec<(String, &str)> =
                (0..extra).map(|i| (format!("x-extra-{i}"), "v")).collect();
            pairs.push(("prefer".into(), "return=minimal"));
            let names = |p: &[(String, &str)]| -> HeaderMap {
                let refs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), *v)).collect();
                headers(&refs)
            };
            assert!(!prefers_respond_async(&names(&pairs)), "{extra}");
            pairs.push(("prefer".into(), "respond-async"));
            assert!(prefers_respond_async(&names(&pairs)), "{extra}");
        }
    }

    /// The shortcut for a value with nothing at its edges strips exactly what the full path does.
    #[test]
    fn unquote_is_the_trim_and_one_pair_of_quotes() {
        let full = |v: &str| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            v.trim().to_owned()
        };
        let rows = [
            "https://a.example/x",
            " https://a.example/x",
            "https://a.example/x\t",
            "\"/ops/1\"",
            "\" /ops/1 \"",
            "\"/ops/1",
            "/ops/1\"",
            "\u{a0}/ops/1",
            "/ops/1\u{2003}",
            "é/x",
            "/x/é",
            "",
            " ",
            "\"\"",
            "\"",
            "a",
            "\u{85}a\u{85}",
        ];
        for v in rows {
            assert_eq!(unquote(v), full(v), "{v:?}");
            // Around the range lie what it strips: white space and at most one quote a side.
            let r = unquoted(v);
            let stripped = |s: &str| {
                s.chars().all(|c| c.is_whitespace() || c == '"') && s.matches('"').count() <= 1
            };
            assert!(stripped(&v[..r.start]) && stripped(&v[r.end..]), "{v:?}");
        }
    }
}
