//! `-L`: a final answer that is a redirect (`301`, `302`, `303`, `307`, `308` with a
//! `Location`) is followed, as curl -L follows it. Status monitors are not concerned: the
//! layer follows their redirects itself, under its own origin and address rules.
//!
//! Curl's rules: `303` (and `301`/`302` after a `POST`) is followed with a `GET` and no body;
//! `307`/`308` repeat the method and the body. At most [`MAX_REDIRECTS`]. A redirect to
//! another origin (scheme, host, port) does not carry the credentials: headers `-v` masks
//! (`Authorization`, hence `-u`, cookies, API keys, tokens) and the headers meant for the asked
//! host only (`Metadata`, `Metadata-Flavor`). An `https` → `http` redirect is not followed.
//!
//! The redirect is read where it came from: after an operation, that is the last URL the layer
//! sent to (the resource, or the status monitor), not the submission's. When the layer sent any
//! request to another origin, or the redirect came from one, the URL it names was chosen there:
//! no credential is sent on (cumulative, as the layer's own rule).

use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderName, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use tower::BoxError;
use tower_lro::{LroMetadata, LroOptions};

use crate::redact;
use crate::report::Reporter;

/// Redirects followed at most, curl's default `--max-redirs`.
pub const MAX_REDIRECTS: usize = 30;

/// Why a redirect that is the final answer was not followed (in its response's extensions).
#[derive(Debug, Clone)]
pub struct NotFollowed(pub &'static str);

/// A redirect status that `-L` follows.
pub fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Where the layer sent its own requests (polls, the resource `GET`) for the request in
/// flight: the last URL, and whether any was on another origin than that request's. Fed by
/// the layer's `on_poll_request` hook ([`Trail::saw`]).
#[derive(Clone, Default)]
pub struct Trail(Arc<Mutex<TrailState>>);

#[derive(Default)]
struct TrailState {
    origin: Option<Uri>,
    last: Option<Uri>,
    foreign: bool,
}

impl Trail {
    /// The layer sends a request to `uri` (the hook).
    pub fn saw(&self, uri: &Uri) {
        let Ok(mut t) = self.0.lock() else { return };
        if t.origin.as_ref().is_some_and(|o| !same_origin(o, uri)) {
            t.foreign = true;
        }
        t.last = Some(uri.clone());
    }

    /// A request to `uri` is about to be sent.
    fn start(&self, uri: &Uri) {
        if let Ok(mut t) = self.0.lock() {
            *t = TrailState {
                origin: Some(uri.clone()),
                ..TrailState::default()
            };
        }
    }

    /// Where the answer to the request sent to `uri` came from, and whether the layer went to
    /// another origin on the way.
    fn answered(&self, uri: &Uri) -> (Uri, bool) {
        match self.0.lock() {
            Ok(t) => (t.last.clone().unwrap_or_else(|| uri.clone()), t.foreign),
            Err(_) => (uri.clone(), true),
        }
    }
}

/// What a followed request is built from: the first request as it was sent.
pub struct Resend {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Full<Bytes>,
    options: Option<LroOptions>,
}

impl Resend {
    pub fn of(request: &Request<Full<Bytes>>) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
            headers: request.headers().clone(),
            body: request.body().clone(),
            options: request.extensions().get::<LroOptions>().cloned(),
        }
    }
}

/// Sends `request` through `send`; with `follow`, then follows the redirects that come back as
/// the final answer. The first answer's `LroMetadata` (what the operation did) stays on the
/// last answer when that has none.
pub async fn send<B, F, Fut>(
    mut send: F,
    request: Request<Full<Bytes>>,
    follow: bool,
    trail: &Trail,
    reporter: &Reporter,
) -> Result<Response<B>, BoxError>
where
    F: FnMut(Request<Full<Bytes>>) -> Fut,
    Fut: Future<Output = Result<Response<B>, BoxError>>,
{
    let mut from = Resend::of(&request);
    trail.start(request.uri());
    let mut response = send(request).await?;
    let meta = response.extensions().get::<LroMetadata>().cloned();
    // The operation withheld the credentials (a request of it, perhaps before a resume, went
    // to another origin): its answer's redirect gets none either.
    let withheld = meta.as_ref().is_some_and(LroMetadata::credentials_withheld);
    let mut hops = 0;
    while follow && is_redirect(response.status()) {
        let (at, elsewhere) = trail.answered(&from.uri);
        let answered = (at, elsewhere || withheld);
        let next = match next_request(&mut from, &response, hops, answered) {
            Ok(next) => next,
            Err(why) => {
                response.extensions_mut().insert(NotFollowed(why));
                break;
            }
        };
        hops += 1;
        reporter.note(&format!(
            "lro: following {} to {}",
            response.status(),
            crate::term::shown(&redact::url(&next.uri().to_string()))
        ));
        trail.start(next.uri());
        response = send(next).await?;
    }
    if let (Some(meta), None) = (meta, response.extensions().get::<LroMetadata>()) {
        response.extensions_mut().insert(meta);
    }
    Ok(response)
}

/// The request that follows `response`, a redirect that came from `answered.0` (the layer
/// having gone to another origin on the way when `answered.1`); `from` becomes it.
fn next_request<B>(
    from: &mut Resend,
    response: &Response<B>,
    hops: usize,
    (answered_from, went_elsewhere): (Uri, bool),
) -> Result<Request<Full<Bytes>>, &'static str> {
    if hops >= MAX_REDIRECTS {
        return Err("more than 30 redirects");
    }
    let location = response
        .headers()
        .get(LOCATION)
        .ok_or("the redirect has no Location")?;
    let base = whatwg_url::Url::parse(&answered_from.to_string())
        .map_err(|_| "the URL is not absolute")?;
    let target = tower_lro::__private::parse_url_value(location, &base)
        .map_err(|_| "its Location is not a usable http(s) URL")?;
    let uri: Uri = target
        .as_str()
        .parse()
        .map_err(|_| "its Location is not a usable http(s) URL")?;
    let https = |u: &Uri| u.scheme_str() == Some("https");
    if (https(&from.uri) || https(&answered_from)) && !https(&uri) {
        return Err("it goes from https to http");
    }
    // Another origin asked, or named where to go: the credentials stay behind.
    if went_elsewhere || !same_origin(&from.uri, &answered_from) || !same_origin(&from.uri, &uri) {
        let names: Vec<HeaderName> = from
            .headers
            .iter()
            .filter(|(name, _)| only_for_origin(name))
            .map(|(name, _)| name.clone())
            .collect();
        for name in names {
            from.headers.remove(name);
        }
    }
    let status = response.status().as_u16();
    if status == 303 && from.method != Method::HEAD
        || matches!(status, 301 | 302) && from.method == Method::POST
    {
        from.method = Method::GET;
        from.body = Full::new(Bytes::new());
        from.headers.remove(CONTENT_TYPE);
        from.headers.remove(CONTENT_LENGTH);
    }
    from.uri = uri;
    let mut request = Request::new(from.body.clone());
    *request.method_mut() = from.method.clone();
    *request.uri_mut() = from.uri.clone();
    *request.headers_mut() = from.headers.clone();
    if let Some(options) = &from.options {
        request.extensions_mut().insert(options.clone());
    }
    Ok(request)
}

/// The origin of `uri` as the library reads origins (`tower_lro::Origin`: scheme, host in lower
/// case, port with the scheme's default filled in); `None` without an http(s) scheme and host.
pub fn origin(uri: &Uri) -> Option<tower_lro::Origin> {
    tower_lro::Origin::parse(&uri.to_string()).ok()
}

/// Scheme, host and port (the default port spelled or not).
fn same_origin(a: &Uri, b: &Uri) -> bool {
    let a = origin(a);
    a.is_some() && a == origin(b)
}

/// A header that goes to the origin that was asked only: a credential (whatever `-v` masks),
/// or a header a metadata service requires.
fn only_for_origin(name: &HeaderName) -> bool {
    // The library's one list: what it never carries to another origin, and what -v masks.
    tower_lro::credentials::is_credential_header(name.as_str())
        || tower_lro::credentials::is_origin_bound_header(name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(method: &str, uri: &str) -> Resend {
        let mut req = Request::new(Full::new(Bytes::from_static(b"body")));
        *req.method_mut() = method.parse().unwrap();
        *req.uri_mut() = uri.parse().unwrap();
        for (name, value) in [
            ("authorization", "Basic x"),
            ("x-api-key", "k"),
            ("metadata", "true"),
            ("accept", "application/json"),
            ("content-type", "text/plain"),
        ] {
            req.headers_mut().insert(name, value.parse().unwrap());
        }
        req.extensions_mut().insert(LroOptions::new().force());
        Resend::of(&req)
    }

    /// Answered by the request's own URL, the layer never elsewhere.
    fn here(uri: &str) -> (Uri, bool) {
        (uri.parse().unwrap(), false)
    }

    #[test]
    fn a_redirect_read_where_it_came_from() {
        // The resource of an operation answered on another origin: a relative Location is
        // read there, and a URL back on the submission's origin gets no credential.
        let elsewhere = |u: &str| (u.parse::<Uri>().unwrap(), true);
        let mut f = from("POST", "https://a.example/jobs");
        let next = next_request(
            &mut f,
            &redirect(302, Some("https://a.example/admin")),
            0,
            elsewhere("https://b.example/res"),
        )
        .unwrap();
        assert!(next.headers().get("authorization").is_none());
        assert!(next.headers().get("x-api-key").is_none());
        let mut f = from("GET", "https://a.example/jobs");
        let next = next_request(
            &mut f,
            &redirect(307, Some("/r")),
            0,
            elsewhere("https://b.example/res"),
        )
        .unwrap();
        assert_eq!(next.uri(), "https://b.example/r");
        // The layer went elsewhere on the way, the resource is back home: still none.
        let mut f = from("GET", "https://a.example/jobs");
        let next = next_request(
            &mut f,
            &redirect(302, Some("/r")),
            0,
            elsewhere("https://a.example/res"),
        )
        .unwrap();
        assert!(next.headers().get("authorization").is_none());
    }

    fn redirect(status: u16, location: Option<&str>) -> Response<()> {
        let mut resp = Response::new(());
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        if let Some(l) = location {
            resp.headers_mut().insert(LOCATION, l.parse().unwrap());
        }
        resp
    }

    #[test]
    fn curls_rules() {
        // 303 (and 301/302 after a POST): GET, no body; same origin keeps every header.
        for status in [301, 302, 303] {
            let mut f = from("POST", "https://a.example/jobs");
            let next = next_request(
                &mut f,
                &redirect(status, Some("/r?x=1")),
                0,
                here("https://a.example/jobs"),
            )
            .unwrap();
            assert_eq!(next.method(), Method::GET);
            assert_eq!(next.uri(), "https://a.example/r?x=1");
            assert!(next.headers().get(CONTENT_TYPE).is_none());
            assert_eq!(next.headers()["authorization"], "Basic x");
            assert!(next.extensions().get::<LroOptions>().is_some());
        }
        // 307/308 repeat the method and the body; another origin gets no credential.
        for status in [307, 308] {
            let mut f = from("PUT", "https://a.example/jobs");
            let next = next_request(
                &mut f,
                &redirect(status, Some("https://b.example/x")),
                0,
                here("https://a.example/jobs"),
            );
            let next = next.unwrap();
            assert_eq!(next.method(), Method::PUT);
            assert_eq!(next.headers()["content-type"], "text/plain");
            for name in ["authorization", "x-api-key", "metadata"] {
                assert!(next.headers().get(name).is_none(), "{name}");
            }
            assert_eq!(next.headers()["accept"], "application/json");
        }
        // 301/302 after a PUT keep it.
        let mut f = from("PUT", "http://a.example/jobs");
        let next = next_request(
            &mut f,
            &redirect(302, Some("/y")),
            0,
            here("http://a.example/jobs"),
        )
        .unwrap();
        assert_eq!(next.method(), Method::PUT);
        // Refused: a downgrade, no Location, another scheme, too many hops.
        let https = || from("GET", "https://a.example/x");
        let cases = [
            (redirect(302, Some("http://a.example/x")), 0),
            (redirect(302, None), 0),
            (redirect(302, Some("ftp://a.example/x")), 0),
            (redirect(302, Some("/ok")), MAX_REDIRECTS),
        ];
        for (resp, hops) in cases {
            assert!(
                next_request(&mut https(), &resp, hops, here("https://a.example/x")).is_err(),
                "{resp:?}"
            );
        }
    }

    #[test]
    fn origins() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        assert!(same_origin(&u("http://H:80/a"), &u("http://h/b")));
        assert!(!same_origin(&u("http://h/a"), &u("https://h/a")));
        assert!(!same_origin(&u("http://h:81/a"), &u("http://h/a")));
        assert!(same_origin(&u("https://h:443/a"), &u("https://H/b")));
        // A URL without an http(s) origin is no one's origin, not even its own.
        assert!(!same_origin(&u("/a"), &u("/a")));
        assert!(origin(&u("ftp://h/a")).is_none());
    }
}
