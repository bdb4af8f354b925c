//! What `-v` and the proxy's log may print: credentials replaced by `***`.

use http::HeaderName;

/// Header names whose values are never printed (the library's credential list, and common
/// API-key headers).
const SECRET_HEADERS: [&str; 8] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "subscription-key",
    "ocp-apim-subscription-key",
    "api-key",
    "x-api-key",
    "x-functions-key",
];

/// A header whose name contains one of these is never printed either (`X-Auth-Token`,
/// `X-Client-Secret`, `X-Goog-Api-Key`, ...).
const SECRET_HEADER_PARTS: [&str; 4] = ["token", "secret", "password", "key"];

/// Query parameters whose values are never printed: Azure Maps' `subscription-key` (carried onto
/// polls), SAS signatures, common token and key parameters, OAuth codes and passwords.
const SECRET_QUERY: [&str; 9] = [
    "subscription-key",
    "sig",
    "access_token",
    "api-key",
    "apikey",
    "token",
    "key",
    "code",
    "password",
];

const MASK: &str = "***";

/// A header value as it may be printed.
pub fn header_value<'a>(name: &HeaderName, value: &'a http::HeaderValue) -> &'a str {
    let name = name.as_str();
    if SECRET_HEADERS.contains(&name) || SECRET_HEADER_PARTS.iter().any(|p| name.contains(p)) {
        MASK
    } else {
        value.to_str().unwrap_or("<binary>")
    }
}

/// A URL (absolute, or a path with a query) as it may be printed: user information and secret
/// query values masked.
pub fn url(text: &str) -> String {
    let (before_fragment, fragment) = match text.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (text, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let mut out = mask_userinfo(base);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query.split('&').map(mask_pair).collect();
        out.push_str(&pairs.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A free-text message (an error of the library, a note) as it may be printed: every
/// `http://` or `https://` URL in it masked as [`url`] does.
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

/// Where the next `http://` or `https://` starts (case-insensitive).
fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .filter_map(|scheme| lower.find(scheme))
        .min()
}

fn mask_pair(pair: &str) -> String {
    match pair.split_once('=') {
        Some((name, _)) if is_secret_query(name) => format!("{name}={MASK}"),
        _ => pair.to_owned(),
    }
}

fn is_secret_query(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SECRET_QUERY.contains(&lower.as_str())
}

/// `https://user:pass@host/x` → `https://***@host/x`.
fn mask_userinfo(base: &str) -> String {
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_owned();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{MASK}@{host}{path}"),
        None => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
