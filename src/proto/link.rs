//! Absolute http(s) URLs as the layer requests them: the submission, the status monitor, the
//! resource.
//!
//! Almost every URL a service hands out is a plain absolute URL (`https://host/path?query`) that
//! the WHATWG URL parser would write back exactly as it came. Those are read with `http::Uri`
//! alone, which is several times cheaper than a full URL parse (no IDNA, no re-serialisation).
//! Anything else — relative references, dot segments, upper-case, international or numeric
//! shorthand hosts, default ports, fragments, characters the parser escapes — goes through the
//! `url` crate, so resolution and origin checks follow the URL standard; the server's own
//! spelling is still what goes on the wire whenever it is a valid request URI.

use std::borrow::Cow;

use http::header::HeaderValue;
use http::Uri;
use url::Url;

use crate::parse::{parse_url_str, unquote, UrlHeaderError};

/// Host used to resolve references against an origin-form request URI (`/jobs`); links on it
/// go on the wire, and are shown, in origin-form.
const ORIGIN_FORM_BASE: &str = "http://origin-form.invalid/";
const ORIGIN_FORM_HOST: &str = "origin-form.invalid";

/// One absolute http(s) URL.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    /// The request target (without any carried query): absolute-form, or origin-form for a
    /// link on the origin-form placeholder.
    wire: Uri,
    /// The URL parser's reading, kept when its spelling differs from `wire` or the link came
    /// from a relative reference. `None`: `wire` is already the canonical spelling.
    parsed: Option<Box<Url>>,
}

impl PartialEq for Link {
    fn eq(&self, other: &Self) -> bool {
        match (&self.parsed, &other.parsed) {
            (None, None) => self.wire == other.wire,
            (Some(a), Some(b)) => a.as_str() == b.as_str(),
            (Some(a), None) => a.as_str() == write_uri(&other.wire, 0),
            (None, Some(b)) => write_uri(&self.wire, 0) == b.as_str(),
        }
    }
}

impl Link {
    /// The submission's URL; an origin-form one (`/jobs`) is resolved against a placeholder
    /// origin (see [`Link::is_placeholder`]).
    pub(crate) fn from_request(uri: &Uri) -> Result<Link, String> {
        if let (Some(scheme), Some(authority), Some(pq)) =
            (uri.scheme_str(), uri.authority(), uri.path_and_query())
        {
            if is_canonical(scheme, authority.as_str(), pq.as_str()) {
                return Ok(Link {
                    wire: uri.clone(),
                    parsed: None,
                });
            }
        }
        if uri.scheme().is_some() && uri.authority().is_some() {
            let mut url = Url::parse(&uri.to_string()).map_err(|e| e.to_string())?;
            url.set_fragment(None);
            return Ok(Link {
                wire: uri.clone(),
                parsed: Some(Box::new(url)),
            });
        }
        let pq = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let base = Url::parse(ORIGIN_FORM_BASE).expect("static URL parses");
        let url = base.join(pq).map_err(|e| e.to_string())?;
        Link::from_url(url, None).map_err(|e| e.to_string())
    }

    /// Reads a URL-carrying header value and resolves it against `self` (RFC 3986 §5).
    pub(crate) fn join_value(&self, value: &HeaderValue) -> Result<Link, UrlHeaderError> {
        let text = value.to_str().map_err(|_| UrlHeaderError::NotAscii)?;
        self.join(text)
    }

    /// [`Link::join_value`] for a URL that came from a body (`resourceLocation`), or from a
    /// resume handle.
    pub(crate) fn join(&self, raw: &str) -> Result<Link, UrlHeaderError> {
        let text = unquote(raw);
        if text.is_empty() {
            return Err(UrlHeaderError::Empty);
        }
        // The common case first: a plain absolute URL (which has no white space either).
        if let Some((scheme, authority, pq)) = split_absolute(text) {
            if self.canonical_here(scheme, authority, pq) {
                if let Ok(wire) = Uri::try_from(text) {
                    return Ok(Link { wire, parsed: None });
                }
            }
        }
        let base = self.url()?;
        let url = parse_url_str(raw, &base)?;
        Link::from_url(url, Some(text))
    }

    /// A link from the URL parser's reading; `written` is the spelling it came in, sent as is
    /// when it is an absolute request URI.
    fn from_url(mut url: Url, written: Option<&str>) -> Result<Link, UrlHeaderError> {
        url.set_fragment(None);
        let absolute = |text: &str| {
            Uri::try_from(text)
                .ok()
                .filter(|u| u.scheme().is_some() && u.authority().is_some())
        };
        let wire = if is_placeholder(&url) {
            let origin_form = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_owned(),
            };
            Uri::try_from(origin_form).ok()
        } else {
            written
                .and_then(|w| absolute(w.split('#').next().unwrap_or(w)))
                .or_else(|| absolute(url.as_str()))
        };
        let wire = wire.ok_or_else(|| {
            // Quoted in error messages: its credential values masked.
            let shown = crate::credentials::mask_url(url.as_str());
            UrlHeaderError::Invalid(format!("{shown:?} is not a valid request URI"))
        })?;
        Ok(Link {
            wire,
            parsed: Some(Box::new(url)),
        })
    }

    /// Whether `scheme://authority` + `pq` is canonical: on this link's own canonical origin,
    /// spelt the same, only the path and query are left to check (one host check a target).
    fn canonical_here(&self, scheme: &str, authority: &str, pq: &str) -> bool {
        let mine = self.wire.authority().map(|a| a.as_str());
        if self.is_plain() && self.wire.scheme_str() == Some(scheme) && mine == Some(authority) {
            return canonical_path_and_query(pq.as_bytes());
        }
        is_canonical(scheme, authority, pq)
    }

    /// The URL parser's reading (parsed here when the link did not need it before).
    /// (The property test shows canonical URLs always parse; an error is still an error here,
    /// not a panic.)
    fn url(&self) -> Result<Cow<'_, Url>, UrlHeaderError> {
        match &self.parsed {
            Some(url) => Ok(Cow::Borrowed(url)),
            None => Url::parse(&write_uri(&self.wire, 0))
                .map(Cow::Owned)
                .map_err(|e| UrlHeaderError::Invalid(format!("base URL: {e}"))),
        }
    }

    /// Whether this link stands for an origin-form URL (only its path and query are known).
    /// The URL parser's reading of this link (the dialects' readers work on `url::Url`).
    pub(crate) fn to_url(&self) -> Option<Url> {
        match &self.parsed {
            Some(url) => Some(Url::clone(url)),
            None => Url::parse(&write_uri(&self.wire, 0)).ok(),
        }
    }

    /// Whether `wire` is already the canonical spelling (the fast path read it): its host is
    /// a lower-case domain without IDNA labels, or a dotted-quad IPv4 address.
    pub(crate) fn is_plain(&self) -> bool {
        self.parsed.is_none()
    }

    /// Same scheme and authority, byte for byte (both read by the fast path).
    pub(crate) fn same_authority(&self, other: &Link) -> bool {
        self.is_plain()
            && other.is_plain()
            && self.wire.scheme() == other.wire.scheme()
            && self.wire.authority().map(|a| a.as_str())
                == other.wire.authority().map(|a| a.as_str())
    }

    pub(crate) fn is_placeholder(&self) -> bool {
        self.parsed.as_deref().is_some_and(is_placeholder)
    }

    /// What a request to this link carries as its target (before any carried query).
    pub(crate) fn wire(&self) -> &Uri {
        &self.wire
    }

    /// The URL as users see it (in errors, metadata, resume handles): the canonical spelling,
    /// or origin-form for a link on the origin-form placeholder.
    pub(crate) fn display(&self) -> String {
        match &self.parsed {
            Some(url) if !is_placeholder(url) => url.as_str().to_owned(),
            _ => write_uri(&self.wire, 0),
        }
    }

    pub(crate) fn scheme(&self) -> &str {
        match &self.parsed {
            Some(url) => url.scheme(),
            None => self.wire.scheme_str().unwrap_or(""),
        }
    }

    pub(crate) fn host(&self) -> &str {
        match &self.parsed {
            Some(url) => url.host_str().unwrap_or(""),
            None => self.wire.host().unwrap_or(""),
        }
    }

    fn port(&self) -> Option<u16> {
        match &self.parsed {
            Some(url) => url.port_or_known_default(),
            None => self.wire.port_u16().or(default_port(self.scheme())),
        }
    }

    /// The query as it goes on the wire.
    pub(crate) fn query(&self) -> Option<&str> {
        self.wire.query()
    }

    /// Whether the query has a parameter named `name` (form-decoded, as servers read it).
    pub(crate) fn has_query_param(&self, name: &str) -> bool {
        let Some(query) = self.query() else {
            return false;
        };
        let bytes = query.as_bytes();
        if !bytes.iter().any(|&b| b == b'%' || b == b'+') {
            // Nothing to decode: compare the names as written.
            return bytes.split(|&b| b == b'&').any(|pair| {
                let end = pair.iter().position(|&b| b == b'=').unwrap_or(pair.len());
                &pair[..end] == name.as_bytes()
            });
        }
        url::form_urlencoded::parse(query.as_bytes()).any(|(n, _)| n == name)
    }

    /// Same scheme, host and port (RFC 6454).
    pub(crate) fn same_origin(&self, other: &Link) -> bool {
        if self.parsed.is_none() && other.parsed.is_none() {
            // Canonical authorities: lower-case host, port only when not the default.
            return self.wire.scheme() == other.wire.scheme()
                && self.wire.authority() == other.wire.authority();
        }
        self.scheme() == other.scheme()
            && self.host().eq_ignore_ascii_case(other.host())
            && self.port() == other.port()
    }

    /// The origin as `scheme://host[:port]` (the port only when not the default), as
    /// `url::Origin::ascii_serialization` writes it.
    pub(crate) fn origin_text(&self) -> String {
        match self.port() {
            Some(p) if Some(p) != default_port(self.scheme()) => {
                format!("{}://{}:{p}", self.scheme(), self.host())
            }
            _ => format!("{}://{}", self.scheme(), self.host()),
        }
    }

    /// Whether this link's origin is one of `origins`.
    pub(crate) fn origin_in(&self, origins: &[crate::config::Origin]) -> bool {
        if origins.is_empty() {
            return false;
        }
        let mine = self.origin_text();
        origins.iter().any(|o| o.0.ascii_serialization() == mine)
    }
}

/// `scheme://authority` + path and query, for text that starts `http://` or `https://`.
fn split_absolute(text: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = if let Some(rest) = text.strip_prefix("https://") {
        ("https", rest)
    } else {
        ("http", text.strip_prefix("http://")?)
    };
    let end = rest
        .bytes()
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, pq) = rest.split_at(end);
    Some((scheme, authority, pq))
}

/// `uri` as text, without the formatting machinery (this runs on every resolved operation).
/// `spare` bytes more are reserved for what the caller appends.
pub(crate) fn write_uri(uri: &Uri, spare: usize) -> String {
    let (scheme, authority) = (uri.scheme_str(), uri.authority().map(|a| a.as_str()));
    let pq = uri.path_and_query().map_or("", |p| p.as_str());
    let mut out = String::with_capacity(
        scheme.map_or(0, |s| s.len() + 3) + authority.map_or(0, str::len) + pq.len() + spare,
    );
    if let (Some(scheme), Some(authority)) = (scheme, authority) {
        out.push_str(scheme);
        out.push_str("://");
        out.push_str(authority);
    }
    out.push_str(pq);
    out
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

fn is_placeholder(url: &Url) -> bool {
    url.host_str() == Some(ORIGIN_FORM_HOST) && url.scheme() == "http"
}

/// Whether `scheme://authority` + `pq` is an absolute http(s) URL that the URL parser would
/// write back exactly as it is, and that `http::Uri` reads the same way.
///
/// Conservative: `false` only means "ask the URL parser". One pass over the bytes.
fn is_canonical(scheme: &str, authority: &str, pq: &str) -> bool {
    let default_port: &[u8] = match scheme {
        "https" => b"443",
        "http" => b"80",
        _ => return false,
    };
    let bytes = authority.as_bytes();
    let colon = bytes.iter().rposition(|&b| b == b':');
    let (host, port) = match colon {
        Some(i) => (&bytes[..i], Some(&bytes[i + 1..])),
        None => (bytes, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || p[0] == b'0' || p == default_port {
            return false;
        }
        let value = p.iter().try_fold(0u32, |v, &b| {
            b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0'))
        });
        if value.is_none_or(|v| v > 65535) {
            return false;
        }
    }
    canonical_host(host) && canonical_path_and_query(pq.as_bytes())
}

/// A lower-case ASCII domain without IDNA labels, or a dotted-quad IPv4 address as the URL
/// parser writes it.
fn canonical_host(host: &[u8]) -> bool {
    if host.is_empty() || host.len() > 253 || !host.iter().all(|&b| KEEP[b as usize] & HOST != 0) {
        return false;
    }
    // Lower-case letters, digits, `-` and `.` from here; the last label decides the reading.
    let labels = || host.split(|&b| b == b'.');
    let last = host.rsplit(|&b| b == b'.').next().unwrap_or(host);
    if last.iter().all(u8::is_ascii_digit) {
        // Only the four-part decimal form (each part 0–255, no leading zero) is written back
        // unchanged; any other host ending in a number is read as an IPv4 address too.
        let mut parts = 0;
        return labels().all(|label| {
            parts += 1;
            parts <= 4 && quad_part(label)
        }) && parts == 4;
    }
    // A hex-looking last label is read as a number too; empty labels and IDNA labels are left
    // to the URL parser.
    !last.starts_with(b"0x") && labels().all(|l| !l.is_empty() && !l.starts_with(b"xn--"))
}

/// A part of a dotted-quad IPv4 address as the URL parser writes it.
fn quad_part(l: &[u8]) -> bool {
    (1..=3).contains(&l.len())
        && l.iter().all(u8::is_ascii_digit)
        && (l.len() == 1 || l[0] != b'0')
        && l.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0')) <= 255
}

/// Bytes the URL parser keeps as they are in a path (`P`) and in a query (`Q`), and that
/// `http::Uri` accepts.
const P: u8 = 1;
const Q: u8 = 2;
/// ... and in a host the fast path accepts.
const HOST: u8 = 4;
/// `P` without `/` and `%`, `Q` without `%`: the bytes that need no further look.
const PLAIN_P: u8 = 8;
const PLAIN_Q: u8 = 16;
const KEEP: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() {
            t[c] = P | Q;
        }
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' {
            t[c] |= HOST;
        }
        c += 1;
    }
    let both = b"-._~!$&()*+,;=:@/%";
    let mut i = 0;
    while i < both.len() {
        t[both[i] as usize] |= P | Q;
        i += 1;
    }
    t[b'\'' as usize] = P; // the URL parser escapes it in a query
    t[b'?' as usize] = Q;
    let mut c = 0;
    while c < 256 {
        let special = c == b'%' as usize;
        if t[c] & P != 0 && !special && c != b'/' as usize {
            t[c] |= PLAIN_P;
        }
        if t[c] & Q != 0 && !special {
            t[c] |= PLAIN_Q;
        }
        c += 1;
    }
    t
};

/// Path and query in characters the URL parser keeps as they are, valid percent-escapes, and
/// no dot segments (which it would remove).
fn canonical_path_and_query(pq: &[u8]) -> bool {
    if pq.first() != Some(&b'/') {
        return false;
    }
    // One pass: the path's bytes, escapes and segments up to `?`, then the query's. Most bytes
    // are plain: one table lookup each.
    let mut segment = 0;
    let mut i = 0;
    while let Some(&b) = pq.get(i) {
        if KEEP[b as usize] & PLAIN_P == 0 {
            match b {
                b'/' | b'?' if is_dot_segment(&pq[segment..i]) => return false,
                b'/' => segment = i + 1,
                b'?' => return canonical_query(&pq[i + 1..]),
                // `%2e` is a dot to the URL parser: left to it.
                b'%' if !escape(pq, i) || (pq[i + 1] == b'2' && pq[i + 2] | 0x20 == b'e') => {
                    return false
                }
                b'%' => {}
                _ => return false,
            }
        }
        i += 1;
    }
    !is_dot_segment(&pq[segment..])
}

/// A query in characters the URL parser keeps as they are, with valid percent-escapes.
fn canonical_query(query: &[u8]) -> bool {
    query
        .iter()
        .enumerate()
        .all(|(j, &b)| KEEP[b as usize] & PLAIN_Q != 0 || (b == b'%' && escape(query, j)))
}

/// Whether two hex digits follow the `%` at `at`.
fn escape(bytes: &[u8], at: usize) -> bool {
    let hex = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
    hex(at + 1) && hex(at + 2)
}

fn is_dot_segment(segment: &[u8]) -> bool {
    segment == b"." || segment == b".."
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Link {
        Link::from_request(
            &"https://atlas.microsoft.com/mapData?api-version=2.0"
                .parse()
                .unwrap(),
        )
        .unwrap()
    }

    /// Every URL the fast path accepts is one the URL parser writes back unchanged.
    #[test]
    fn canonical_means_the_url_parser_agrees() {
        let rows = [
            (
                "https://atlas.microsoft.com/mapData/operations/1?api-version=2.0",
                true,
            ),
            ("http://127.0.0.1:8080/ops/1", true),
            (
                "https://a.example/p;x=1/q:@!$&'()*+,=~_-.?a=b&c=%20d/?",
                true,
            ),
            ("https://a.example:8443/", true),
            ("https://host-1.example.com./x", false), // empty label
            ("HTTPS://a.example/x", false),
            ("https://A.example/x", false),
            ("https://a.example:443/x", false),
            ("http://a.example:80/x", false),
            ("https://a.example:0443/x", false),
            ("https://a.example:99999/x", false),
            ("https://a.example:99999999999999/x", false),
            ("https://a.example:65535/x", true),
            ("https://a.example:/x", false),
            ("https://1.2.3.4:8080/x", true),
            ("https://0.0.0.0/x", true),
            ("https://255.255.255.255/x", true),
            ("https://1.2.3/x", false),
            ("https://99999999999999.1.2.3/x", false),
            ("https://a-1.b2.example/x", true),
            ("https://example.1-2/x", true),
            ("https://a.example", false),
            ("https://a.example?x", false),
            ("https://a.example/a/../b", false),
            ("https://a.example/a/./b", false),
            ("https://a.example/a/%2e%2E/b", false),
            ("https://a.example/{operationId}", false),
            ("https://a.example/a%zz", false),
            ("https://a.example/a?b='c'", false),
            ("https://a.example/a#frag", false),
            ("https://xn--nxasmq6b.example/", false),
            ("https://127.1/", false),
            ("https://1.2.3.04/", false),
            ("https://a.0x7f/", false),
            ("https://a.123/", false),
            ("https://256.1.1.1/", false),
            ("https://user@a.example/", false),
            ("https://[::1]/", false),
            ("https://a.example/a b", false),
            ("https://a.example/a\\b", false),
            ("ftp://a.example/", false),
        ];
        // On a canonical link's own origin only the path and query are checked: the same verdict.
        let own = Link::from_request(&Uri::from_static("https://a.example/")).unwrap();
        for (text, want) in rows {
            if text.starts_with("https://a.example/") {
                assert_eq!(own.join(text).is_ok_and(|l| l.is_plain()), want, "{text}");
            }
            let (scheme, rest) = text.split_once("://").unwrap();
            let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, pq) = rest.split_at(split);
            let got = is_canonical(scheme, authority, pq);
            assert_eq!(got, want, "{text}");
            if got {
                assert_eq!(Url::parse(text).unwrap().as_str(), text);
                assert_eq!(Uri::try_from(text).unwrap().to_string(), text);
            }
        }
    }

    #[test]
    fn joins_like_the_url_parser() {
        let base = base();
        let rows = [
            (
                "https://atlas.microsoft.com/ops/1?api-version=2.0",
                "https://atlas.microsoft.com/ops/1?api-version=2.0",
            ),
            ("/ops/2", "https://atlas.microsoft.com/ops/2"),
            ("ops/3", "https://atlas.microsoft.com/ops/3"),
            (
                "\"https://ATLAS.microsoft.com:443/a/../b#x\"",
                "https://atlas.microsoft.com/b",
            ),
            (
                "https://atlas.microsoft.com/{id}",
                "https://atlas.microsoft.com/%7Bid%7D",
            ),
        ];
        for (text, shown) in rows {
            let link = base.join(text).unwrap();
            assert_eq!(link.display(), shown, "{text}");
            let url = Url::parse("https://atlas.microsoft.com/mapData?api-version=2.0")
                .unwrap()
                .join(unquote(text))
                .unwrap();
            assert_eq!(
                link.origin_text(),
                url.origin().ascii_serialization(),
                "{text}"
            );
            assert!(link.same_origin(&base), "{text}");
        }
        // The server's spelling goes on the wire.
        let link = base.join("https://atlas.microsoft.com/{id}").unwrap();
        assert_eq!(link.wire().to_string(), "https://atlas.microsoft.com/{id}");
        assert!(matches!(
            base.join("ftp://x/"),
            Err(UrlHeaderError::Scheme(_))
        ));
        assert_eq!(base.join(" \"\" "), Err(UrlHeaderError::Empty));
    }

    #[test]
    fn origins_and_equality() {
        let base = base();
        let a = base.join("https://atlas.microsoft.com/x").unwrap();
        let b = base.join("https://ATLAS.microsoft.com/x").unwrap();
        assert_eq!(a, b);
        assert!(a.same_origin(&b));
        let c = base.join("https://atlas.microsoft.com:8443/x").unwrap();
        assert!(!a.same_origin(&c));
        assert_eq!(c.origin_text(), "https://atlas.microsoft.com:8443");
        let d = base.join("http://atlas.microsoft.com/x").unwrap();
        assert!(!a.same_origin(&d));
        let q = base
            .join("https://a.example/x?a=1&api-version=2&b")
            .unwrap();
        assert!(q.has_query_param("api-version") && q.has_query_param("b"));
        assert!(!q.has_query_param("api") && !q.has_query_param("1"));
        let q = base
            .join("https://a.example/x?api%2Dversion=2&c+d=1")
            .unwrap();
        assert!(q.has_query_param("api-version") && q.has_query_param("c d"));
        let allowed = [crate::config::Origin::parse("https://atlas.microsoft.com:8443/").unwrap()];
        assert!(c.origin_in(&allowed));
        assert!(!a.origin_in(&allowed));
    }

    #[test]
    fn origin_form_requests() {
        let link = Link::from_request(&"/jobs?x=1".parse().unwrap()).unwrap();
        assert!(link.is_placeholder());
        assert!(!base().is_placeholder());
        assert_eq!(link.display(), "/jobs?x=1");
        assert_eq!(link.wire().to_string(), "/jobs?x=1");
        let next = link.join("ops/1").unwrap();
        assert_eq!(next.display(), "/ops/1");
        assert!(next.same_origin(&link));
        let abs = link.join("https://a.example/ops/1").unwrap();
        assert!(!abs.same_origin(&link));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    static HITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The fast path never accepts a URL the URL parser would write differently, or one
        /// `http::Uri` reads differently (run by the test below).
        fn fast_path_agrees_with_the_url_parser(
            scheme in prop::sample::select(vec!["http", "https", "HTTP", "ftp"]),
            host in prop_oneof![
                3 => "[a-z][a-z0-9\\-]{0,6}(\\.[a-z0-9][a-z0-9\\-]{0,6}){0,2}",
                1 => "[a-z0-9.\\-]{1,12}",
                1 => "[a-zA-Z0-9.\\-]{1,12}",
                1 => "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,4}",
            ],
            port in prop::option::weighted(0.3, "[0-9]{1,6}"),
            path in prop_oneof![
                3 => "(/[a-zA-Z0-9._~\\-]{0,6}){0,4}",
                1 => "(/[a-zA-Z0-9.%~!$&'()*+,;=:@{}|^\\[\\]\\-_ ]{0,6}){0,4}",
            ],
            query in prop::option::of(prop_oneof![
                3 => "[a-zA-Z0-9=&.\\-_]{0,10}",
                1 => "[a-zA-Z0-9=&%./?'\\-_{}]{0,10}",
            ]),
        ) {
            let authority = match &port {
                Some(p) => format!("{host}:{p}"),
                None => host.clone(),
            };
            let pq = match &query {
                Some(q) => format!("{path}?{q}"),
                None => path.clone(),
            };
            let text = format!("{scheme}://{authority}{pq}");
            if is_canonical(scheme, &authority, &pq) {
                HITS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let url = Url::parse(&text);
                prop_assert!(url.is_ok(), "{text}: {url:?}");
                let written = url.unwrap().as_str().to_owned();
                prop_assert_eq!(written, text.clone());
                let uri = Uri::try_from(text.as_str());
                prop_assert!(uri.is_ok(), "{text}");
                prop_assert_eq!(uri.unwrap().to_string(), text.clone());
            }
        }
    }

    #[test]
    fn the_property_exercises_the_fast_path() {
        fast_path_agrees_with_the_url_parser();
        // Not vacuous: a good share of the generated URLs take the fast path.
        let hits = HITS.load(std::sync::atomic::Ordering::Relaxed);

        assert!(
            hits > 300,
            "only {hits} of the generated URLs took the fast path"
        );
    }
}
