//! What `-v` and the proxy's log may print: credentials replaced by `***`.

use http::HeaderName;

/// Header names whose values are never printed (the library's credential list).
const SECRET_HEADERS: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "subscription-key",
    "ocp-apim-subscription-key",
];

/// Query parameters whose values are never printed: Azure Maps' `subscription-key` (carried onto
/// polls), SAS signatures and common token parameters.
const SECRET_QUERY: [&str; 6] = [
    "subscription-key",
    "sig",
    "access_token",
    "api-key",
    "apikey",
    "token",
];

const MASK: &str = "***";

/// A header value as it may be printed.
pub fn header_value<'a>(name: &HeaderName, value: &'a http::HeaderValue) -> &'a str {
    if SECRET_HEADERS.contains(&name.as_str()) {
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
    }

    #[test]
    fn masks_credential_headers() {
        let v = http::HeaderValue::from_static("Bearer t");
        assert_eq!(header_value(&http::header::AUTHORIZATION, &v), "***");
        let key = HeaderName::from_static("ocp-apim-subscription-key");
        assert_eq!(header_value(&key, &v), "***");
        assert_eq!(header_value(&http::header::ACCEPT, &v), "Bearer t");
    }
}
