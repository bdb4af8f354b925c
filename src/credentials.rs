//! What a credential is: the one list that decides which headers and query parameters never
//! leave the submission's origin, which a [`ResumeHandle`](crate::ResumeHandle) never holds, and
//! which `lro` masks when it prints.
//!
//! A **header** is a credential when its name is one of [`HEADERS`] or contains one of
//! [`PATTERNS`]; a **query parameter** when its name is one of [`QUERY`] or contains one of
//! [`PATTERNS`]. Names are compared without regard to ASCII case. The patterns are substrings on
//! purpose: `X-Auth-Token`, `X-Goog-Api-Key`, `X-Client-Secret`, `X-Hub-Signature`,
//! `X-Session-Id`, `client_secret`, `refresh_token` are all credentials without being listed. A
//! few harmless names match too (`keyword`, `x-authenticated-userid`): to a foreign origin they
//! are dropped as credentials are, which is the safe side.
//!
//! A header is **bound to its origin** ([`is_origin_bound_header`]) when it only means
//! something to the host it was meant for: the request headers cloud metadata and identity
//! endpoints require (`Metadata: true`, `Metadata-Flavor: Google`, `X-aws-ec2-metadata-token`,
//! ...). Such headers are not secrets, but carried to another host they would let a server aim
//! the layer's polls at a metadata service with exactly the proof of intent it asks for.
//!
//! What the layer does with the list ([poll requests](crate::_protocol#poll-requests)):
//!
//! - Polls and resource fetches to another origin carry no credential header and no carried
//!   query parameter named like a credential, and once one request went to such an origin, no
//!   later request carries them either (cumulative, as `tower-http`'s `FilterCredentials`).
//! - Origins allowed with [`LroLayer::allow_origin`](crate::LroLayer::allow_origin), and the
//!   hosts of one service (`*.googleapis.com` over https), receive credentials as the
//!   submission's origin does. Origin-bound headers go to the submission's exact origin only,
//!   allowed origins included: nothing allows them elsewhere.
//! - [`LroLayer::credential_header`](crate::LroLayer::credential_header) adds names (headers,
//!   and query parameters of the same names) to this list; it cannot remove any.
//! - Query parameters the server wrote into a URL it hands out are the server's to give and are
//!   sent where it said; they are left out of resume handles (see
//!   [`ResumeHandle`](crate::ResumeHandle)).
//!
//! ```
//! use tower_lro::credentials::{is_credential_header, is_credential_query, is_origin_bound_header};
//! assert!(is_credential_header("Authorization"));
//! assert!(is_credential_header("X-Goog-Api-Key"));
//! assert!(is_credential_header("x-my-service-token"));
//! assert!(!is_credential_header("accept"));
//! assert!(is_credential_query("sig"));
//! assert!(is_credential_query("X-Amz-Credential"));
//! assert!(!is_credential_query("api-version"));
//! assert!(is_origin_bound_header("Metadata-Flavor"));
//! ```

use std::borrow::Cow;

/// Header names that are credentials (lower case; compared without regard to case).
pub const HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "cookie2",
    "set-cookie",
    "subscription-key",
    "ocp-apim-subscription-key",
    "api-key",
    "apikey",
    "x-api-key",
    "x-functions-key",
    "x-goog-api-key",
    "x-amz-security-token",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
    "private-token",
    "dpop",
    "x-goog-iap-jwt-assertion",
];

/// Query parameter names that are credentials (lower case; compared without regard to case).
pub const QUERY: &[&str] = &[
    "sig",
    "code",
    "auth",
    "key",
    "apikey",
    "api-key",
    "api_key",
    "subscription-key",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "client_assertion",
    "assertion",
    "password",
    "passwd",
    "pass",
    "pwd",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
];

/// A header or query parameter whose name contains one of these is a credential too (lower
/// case; compared without regard to case).
pub const PATTERNS: &[&str] = &[
    "auth",
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "signature",
    "session",
    "credential",
    "cookie",
    "jwt",
    "bearer",
];

/// Request headers that only mean something to the origin they were sent to (cloud metadata
/// and identity endpoints), never carried to another one.
pub const ORIGIN_BOUND_HEADERS: &[&str] = &[
    "metadata",
    "metadata-flavor",
    "x-google-metadata-request",
    "x-aws-ec2-metadata-token",
    "x-aws-ec2-metadata-token-ttl-seconds",
    "x-aliyun-ecs-metadata-token",
    "x-aliyun-ecs-metadata-token-ttl-seconds",
    "x-identity-header",
];

/// Whether a header of this name is a credential (see the [module docs](self)).
pub fn is_credential_header(name: &str) -> bool {
    listed(HEADERS, name) || matches_pattern(name)
}

/// Whether a query parameter of this (decoded) name is a credential (see the
/// [module docs](self)).
pub fn is_credential_query(name: &str) -> bool {
    listed(QUERY, name) || matches_pattern(name)
}

/// Whether a header of this name is never carried to an origin other than the submission's,
/// allowed ones included: one of [`ORIGIN_BOUND_HEADERS`], or any name that contains
/// `metadata-token`. (Credentials are [`is_credential_header`].)
pub fn is_origin_bound_header(name: &str) -> bool {
    listed(ORIGIN_BOUND_HEADERS, name) || contains_ignore_case(name, "metadata-token")
}

fn listed(list: &[&str], name: &str) -> bool {
    list.iter().any(|n| n.eq_ignore_ascii_case(name))
}

fn matches_pattern(name: &str) -> bool {
    let bytes = name.as_bytes();
    (0..bytes.len()).any(|i| {
        let rest = &bytes[i..];
        let first = rest[0].to_ascii_lowercase();
        // Most bytes start no pattern: one table look-up each.
        PATTERN_STARTS[usize::from(first)]
            && PATTERNS.iter().any(|p| {
                let p = p.as_bytes();
                p[0] == first && rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p)
            })
    })
}

/// Whether a (lower-case) byte is the first of a pattern.
const PATTERN_STARTS: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < PATTERNS.len() {
        table[PATTERNS[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    table
};

/// `needle` (lower case) in `hay`, without regard to ASCII case, without allocating.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
    hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The mask written in place of a credential's value.
pub const MASK: &str = "***";

/// A URL (absolute, or a path with a query) with its user information and the values of its
/// credential query parameters replaced by [`MASK`]: what may be printed or recorded. Borrowed
/// when there is nothing to mask.
///
/// ```
/// use tower_lro::credentials::mask_url;
/// assert_eq!(
///     mask_url("https://u:p@h.example/a?api-version=2&Sig=x&X-Amz-Credential=c#f"),
///     "https://***@h.example/a?api-version=2&Sig=***&X-Amz-Credential=***#f"
/// );
/// assert_eq!(mask_url("/ops/1?x=1"), "/ops/1?x=1");
/// ```
pub fn mask_url(url: &str) -> Cow<'_, str> {
    mask_url_with(url, is_credential_query)
}

/// [`mask_url`] with the query names `is_credential` says (given the decoded name): a layer's
/// configuration adds names of its own
/// ([`credential_header`](crate::LroLayer::credential_header)).
pub(crate) fn mask_url_with(url: &str, is_credential: impl Fn(&str) -> bool) -> Cow<'_, str> {
    let is_credential_pair = |pair: &str| {
        pair.split_once('=')
            .is_some_and(|(name, _)| query_name_is(name, &is_credential))
    };
    let (before_fragment, fragment) = match url.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (url, None),
    };
    let (base, query) = match before_fragment.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (before_fragment, None),
    };
    let userinfo = userinfo_end(base);
    let secret_query = query.is_some_and(|q| q.split('&').any(&is_credential_pair));
    if userinfo.is_none() && !secret_query {
        return Cow::Borrowed(url);
    }
    let mut out = String::with_capacity(url.len());
    match userinfo {
        // `scheme://` .. `@`: everything between is masked.
        Some((start, at)) => {
            out.push_str(&base[..start]);
            out.push_str(MASK);
            out.push_str(&base[at..]);
        }
        None => out.push_str(base),
    }
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) if is_credential_pair(pair) => {
                    out.push_str(name);
                    out.push('=');
                    out.push_str(MASK);
                }
                _ => out.push_str(pair),
            }
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    Cow::Owned(out)
}

/// Where the user information of `scheme://userinfo@host/...` starts, and where its `@` is:
/// after `scheme:` and the slashes that follow it (URL parsers read `\\` as `/`, and
/// `http:u:p@h` as `http://u:p@h`), or after a scheme-relative `//`, up to the authority's end.
fn userinfo_end(base: &str) -> Option<(usize, usize)> {
    let slashes = |s: &str| s.len() - s.trim_start_matches(['/', '\\']).len();
    let start = match base.find(':').filter(|&i| is_scheme(&base[..i])) {
        Some(colon) => colon + 1 + slashes(&base[colon + 1..]),
        None if slashes(base) >= 2 => slashes(base),
        None => return None,
    };
    let authority_end = base[start..]
        .find(['/', '\\'])
        .map_or(base.len(), |i| start + i);
    let at = base[start..authority_end].rfind('@')?;
    Some((start, start + at))
}

/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Whether a `name=value` pair (form-encoded) of a query names a credential and has a value.
/// Whether a form-encoded query name, decoded, is one `is_credential` names.
fn query_name_is(name: &str, is_credential: impl Fn(&str) -> bool) -> bool {
    if name.contains(['%', '+']) {
        let decoded: Cow<'_, str> = url::form_urlencoded::parse(name.as_bytes())
            .next()
            .map_or(Cow::Borrowed(""), |(k, _)| k);
        is_credential(&decoded)
    } else {
        is_credential(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_and_pattern_headers_are_credentials() {
        for name in HEADERS {
            assert!(is_credential_header(name), "{name}");
            assert!(is_credential_header(&name.to_ascii_uppercase()), "{name}");
        }
        for name in [
            "Authorization",
            "X-Auth-Token",
            "X-Client-Secret",
            "X-DB-Password",
            "X-Goog-Api-Key",
            "X-Hub-Signature-256",
            "X-Session-Id",
            "X-Vault-Token",
            "X-Upstream-Credentials",
            "X-My-Passwd",
            "X-Forwarded-Jwt",
            "X-Bearer",
            "X-Upstream-Bearer-Token",
            "Cookie",
            "X-Amz-Security-Token",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in [
            "accept",
            "user-agent",
            "x-ms-client-request-id",
            "traceparent",
            "accept-language",
            "x-request-id",
            "metadata",
            "metadata-flavor",
        ] {
            assert!(!is_credential_header(name), "{name}");
        }
    }

    #[test]
    fn listed_and_pattern_query_names_are_credentials() {
        for name in QUERY {
            assert!(is_credential_query(name), "{name}");
            assert!(is_credential_query(&name.to_ascii_uppercase()), "{name}");
        }
        for name in [
            "X-Amz-Signature",
            "X-Amz-Credential",
            "X-Goog-Signature",
            "client_secret",
            "refresh_token",
            "id_token",
            "tempauth",
            "sessionid",
            "Subscription-Key",
            "myToken",
            "pass",
            "Pass",
            "bearer",
        ] {
            assert!(is_credential_query(name), "{name}");
        }
        for name in ["api-version", "se", "sp", "sv", "x", "page", "$filter", "t"] {
            assert!(!is_credential_query(name), "{name}");
        }
    }

    #[test]
    fn metadata_headers_are_bound_to_their_origin() {
        for name in ORIGIN_BOUND_HEADERS {
            assert!(is_origin_bound_header(name), "{name}");
            assert!(is_origin_bound_header(&name.to_ascii_uppercase()), "{name}");
        }
        assert!(is_origin_bound_header("X-aws-ec2-metadata-token"));
        assert!(is_origin_bound_header("x-other-cloud-metadata-token"));
        assert!(!is_origin_bound_header("accept"));
        assert!(!is_origin_bound_header("x-metadata-version"));
    }

    #[test]
    fn masks_userinfo_and_credential_values() {
        assert_eq!(
            mask_url("https://u:p@h.example/a?api-version=2&subscription-key=s3cret&Sig=x#f"),
            "https://***@h.example/a?api-version=2&subscription-key=***&Sig=***#f"
        );
        assert_eq!(
            mask_url("https://h/a?key=k&code=c&Password=p&keep=1&access%5Ftoken=t&bare"),
            "https://h/a?key=***&code=***&Password=***&keep=1&access%5Ftoken=***&bare"
        );
        assert!(matches!(
            mask_url("https://h/a?api-version=1"),
            Cow::Borrowed(_)
        ));
        assert_eq!(mask_url("https://h@x/p?q@r=1"), "https://***@x/p?q@r=1");
        assert_eq!(mask_url("/p?sig=1"), "/p?sig=***");
        // Spellings URL parsers read as user information: scheme-relative, backslashes, no
        // slashes at all after a special scheme.
        for (url, masked) in [
            ("//u:p@h/a", "//***@h/a"),
            ("\\\\u:p@h/a", "\\\\***@h/a"),
            ("http:\\\\u:p@h/a", "http:\\\\***@h/a"),
            ("http:/\\u:p@h", "http:/\\***@h"),
            ("https:u:p@h/a@b", "https:***@h/a@b"),
        ] {
            assert_eq!(mask_url(url), masked, "{url}");
        }
        for kept in ["/a@b", "/a/b@c?x=1", "a@b", "/ops/1@2"] {
            assert!(matches!(mask_url(kept), Cow::Borrowed(_)), "{kept}");
        }
    }
}
