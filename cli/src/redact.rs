//! What `-v`, messages, `--metadata` and the proxy's log may print: credentials replaced by
//! `***`. What a credential is, is the library's one list (`tower_lro::credentials`): the same
//! names the layer never carries to another origin, so masking and stripping cannot disagree.

use http::HeaderName;
use tower_lro::credentials::{self, MASK};

/// A header value as it may be printed.
pub fn header_value<'a>(name: &HeaderName, value: &'a http::HeaderValue) -> &'a str {
    if credentials::is_credential_header(name.as_str()) {
        MASK
    } else {
        value.to_str().unwrap_or("<binary>")
    }
}

/// A URL (absolute, or a path with a query) as it may be printed: user information and secret
/// query values masked.
pub fn url(text: &str) -> String {
    credentials::mask_url(text).into_owned()
}

/// A request target as the proxy's access log shows it: [`url`], and a façade operation id's
/// credential scope (`/_lro/operations/{32 hex}:{key}`, the colon as `:` or `%3A`) replaced by
/// `***`. The scope is a MAC of the caller's credentials under the proxy's secret
/// (`crate::scope`): it cannot be undone without the secret, but it names one caller across
/// requests, and whoever holds the secret (a reader of a Redis store that keeps it) could try
/// guesses against it — so logs do not carry it.
pub fn access_target(target: &str) -> String {
    const PREFIX: &str = "/_lro/operations/";
    let masked = url(target);
    let Some(at) = masked.find(PREFIX) else {
        return masked;
    };
    let id = &masked[at + PREFIX.len()..];
    let hex = id.bytes().take_while(u8::is_ascii_hexdigit).count();
    let colon = &id[hex..];
    if hex != 32
        || !(colon.starts_with(':')
            || colon
                .get(..3)
                .is_some_and(|c| c.eq_ignore_ascii_case("%3a")))
    {
        return masked;
    }
    format!("{}{PREFIX}***{colon}", &masked[..at])
}

/// A free-text message (an error of the library, a note) as it may be printed: every
/// `scheme://` URL in it (`http`, `https`, or a server's `ftp://user:password@…`) masked as
/// [`url`] does.
pub fn text(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = find_url(rest) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(tail.len());
        // Punctuation that ends a sentence is not part of the URL.
        let token = &tail[..end];
        let trimmed = token.trim_end_matches(['.', ',', ';', ':', ')', ']', '!']);
        out.push_str(&url(trimmed));
        out.push_str(&token[trimmed.len()..]);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A JSON record (`--metadata`) as it may be written: every string that holds a URL masked as
/// [`url`] masks it (an origin-form path with a query too).
pub fn json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if s.starts_with('/') => Value::String(url(s)),
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) => Value::Array(items.iter().map(json).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect())
        }
        other => other.clone(),
    }
}

/// Where the next URL (`scheme://`, any scheme, any case) starts.
fn find_url(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find("://") {
        let at = from + i;
        // The scheme before it (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`), any
        // scheme: a server's `ftp://user:password@…` is masked as an `http` one is.
        let chars = bytes[..at]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            .count();
        if let Some(start) = (at - chars..at).find(|&s| bytes[s].is_ascii_alphabetic()) {
            return Some(start);
        }
        from = at + 3;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_targets_hide_a_facade_ids_credential_scope() {
        let scope = "0123456789abcdef0123456789ABCDEF";
        assert_eq!(
            access_target(&format!("/_lro/operations/{scope}%3Ajob-1/result")),
            "/_lro/operations/***%3Ajob-1/result"
        );
        assert_eq!(
            access_target(&format!("/_lro/operations/{scope}:job-1?sig=s")),
            "/_lro/operations/***:job-1?sig=***"
        );
        // Not a scoped id: shown as it is (masked as a URL).
        for plain in [
            "/_lro/operations/5f0c9a", // a random id
            "/_lro/operations/0123456789abcdef0123456789abcdef0%3Ak",
            "/jobs/0123456789abcdef0123456789abcdef:k",
        ] {
            assert_eq!(access_target(plain), url(plain), "{plain}");
        }
    }

    #[test]
    fn masks_secret_query_values_and_userinfo() {
        assert_eq!(
            url("https://u:p@h.example/a?api-version=2&subscription-key=s3cret&Sig=x#f"),
            "https://***@h.example/a?api-version=2&subscription-key=***&Sig=***#f"
        );
        assert_eq!(url("/ops/1?x=1"), "/ops/1?x=1");
        assert_eq!(
            url("https://h/a?key=k&code=c&Password=p&keep=1"),
            "https://h/a?key=***&code=***&Password=***&keep=1"
        );
    }

    #[test]
    fn masks_urls_inside_messages() {
        assert_eq!(
            text("timed out polling https://h/ops/1?sig=abc&x=1 (after 3 polls); see https://a:b@h/x?token=t."),
            "timed out polling https://h/ops/1?sig=***&x=1 (after 3 polls); see https://***@h/x?token=***."
        );
        assert_eq!(
            text("bad URL \"HTTPS://h/?api-key=k\": refused"),
            "bad URL \"HTTPS://h/?api-key=***\": refused"
        );
        assert_eq!(text("no URL here"), "no URL here");
        assert_eq!(
            text("<sftp://u:p@h/x>; rel=next, 1ftp://a:b@c ://x:y@z"),
            "<sftp://***@h/x>; rel=next, 1ftp://***@c ://x:y@z"
        );
    }

    #[test]
    fn masks_credential_headers() {
        let v = http::HeaderValue::from_static("Bearer t");
        assert_eq!(header_value(&http::header::AUTHORIZATION, &v), "***");
        let key = HeaderName::from_static("ocp-apim-subscription-key");
        assert_eq!(header_value(&key, &v), "***");
        assert_eq!(header_value(&http::header::ACCEPT, &v), "Bearer t");
        for name in [
            "api-key",
            "x-api-key",
            "x-functions-key",
            "x-auth-token",
            "x-client-secret",
            "x-db-password",
            "x-goog-api-key",
        ] {
            let name = HeaderName::from_static(name);
            assert_eq!(header_value(&name, &v), "***", "{name}");
        }
    }

    #[test]
    fn masks_exactly_what_the_library_strips() {
        let v = http::HeaderValue::from_static("v");
        let patterns = tower_lro::credentials::PATTERNS.iter();
        let made: Vec<String> = patterns.map(|p| format!("x-{p}-1")).collect();
        let names = tower_lro::credentials::HEADERS.iter().copied();
        for name in names.chain(made.iter().map(String::as_str)) {
            let header = HeaderName::from_bytes(name.as_bytes()).unwrap();
            assert_eq!(header_value(&header, &v), "***", "{name}");
        }
        let query = tower_lro::credentials::QUERY.iter().copied();
        for name in query.chain(made.iter().map(String::as_str)) {
            assert_eq!(url(&format!("/p?{name}=v")), format!("/p?{name}=***"));
        }
        for name in [
            "accept",
            "metadata",
            "metadata-flavor",
            "x-ms-client-request-id",
        ] {
            let header = HeaderName::from_static(name);
            assert_eq!(header_value(&header, &v), "v", "{name}");
        }
    }

    #[test]
    fn metadata_records_are_masked() {
        let record = serde_json::json!({
            "operationUrl": "https://h/ops/1?sig=S&se=1",
            "resourceUrl": "/r?token=T",
            "error": {"message": "GET https://u:p@h/x?code=C failed", "polls": 3},
            "resume": {"header_names": ["authorization"], "operation_url": "https://h/ops/1?se=1"},
        });
        let masked = json(&record);
        assert_eq!(masked["operationUrl"], "https://h/ops/1?sig=***&se=1");
        assert_eq!(masked["resourceUrl"], "/r?token=***");
        assert_eq!(
            masked["error"]["message"],
            "GET https://***@h/x?code=*** failed"
        );
        assert_eq!(masked["error"]["polls"], 3);
        assert_eq!(masked["resume"], record["resume"]);
    }
}
