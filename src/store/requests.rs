//! The requests a keyed call sends: the submission again, a continuation from a handle, and a
//! fetch of a recorded result.

use http::{HeaderMap, Method, Request};

use crate::config::Config;
use crate::ResumeHandle;

type BoxError = tower::BoxError;

/// The submission, rebuilt from the call's head (its extensions: the options).
pub(super) fn submission<B>(parts: &http::request::Parts, body: B) -> Request<B> {
    let mut req = Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    req
}

/// A request that continues the operation from `handle`, with the call's headers.
pub(super) fn resuming<B: Default>(
    parts: &http::request::Parts,
    handle: ResumeHandle,
) -> Request<B> {
    let mut req = submission(parts, B::default());
    req.extensions_mut().insert(handle);
    req
}

/// A `GET` of a recorded result; the call's headers go along only to the call's own origin,
/// and so do the credential query parameters the layer carries from the call's URL (a record
/// holds none of them, see [`recordable`]) — and neither goes when the run that recorded it
/// had `withheld` them (a request of it went to a foreign origin: the result URL may be one
/// that origin chose). It carries an [`LroRequest`](crate::LroRequest) when `tag` (the layer
/// tags its requests, or has a hook), saying whether it goes without them.
pub(super) fn refetch(
    parts: &http::request::Parts,
    url: &str,
    cfg: &Config,
    withheld: bool,
    tag: bool,
) -> Result<Request<()>, BoxError> {
    let mut uri: http::Uri = url.parse()?;
    let carried_here =
        !withheld && uri.scheme() == parts.uri.scheme() && uri.authority() == parts.uri.authority();
    let mut req = Request::new(());
    *req.method_mut() = Method::GET;
    if carried_here {
        *req.headers_mut() = carried(&parts.headers);
        let own = parts.uri.query().unwrap_or("").split('&');
        let own: Vec<&str> = own.filter(|p| carried_credential(cfg, p)).collect();
        if !own.is_empty() {
            let joined = own.join("&");
            let url = match uri.query() {
                Some(q) if !q.is_empty() => format!("{url}&{joined}"),
                _ => format!("{}?{joined}", url.trim_end_matches('?')),
            };
            uri = url.parse()?;
        }
    }
    *req.uri_mut() = uri;
    if tag {
        let info = crate::LroRequest::new(crate::PollKind::Resource, 1, !carried_here);
        req.extensions_mut().insert(info);
    }
    Ok(req)
}

/// Whether the query `pair` is a credential the layer carries from the call's URL (a
/// `subscription-key`): the caller's own, which a later call supplies again.
fn carried_credential(cfg: &Config, pair: &str) -> bool {
    let raw = pair.split('=').next().unwrap_or("");
    let name = url::form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_default();
    cfg.carry_query.contains(&name) && cfg.is_credential_query(&name)
}

/// `url` as a record may hold it: without the credential query parameters carried from the
/// call's URL, which [`refetch`] takes from the call that asks again. The other pairs are kept
/// as written (a signature the server put in its URL is the server's, and stays).
pub(super) fn recordable(url: &str, cfg: &Config) -> String {
    let (head, fragment) = url
        .split_once('#')
        .map_or((url, None), |(h, f)| (h, Some(f)));
    let Some((base, query)) = head.split_once('?') else {
        return url.to_owned();
    };
    if !query.split('&').any(|p| carried_credential(cfg, p)) {
        return url.to_owned();
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !carried_credential(cfg, p))
        .collect();
    let mut out = base.to_owned();
    if kept.iter().any(|p| !p.is_empty()) {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The call's headers without those that belong to a submission.
fn carried(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    let drop: Vec<_> = out
        .keys()
        .filter(|n| {
            let n = n.as_str();
            n.starts_with("content-")
                || n.starts_with("if-")
                || n.starts_with("repeatability-")
                || matches!(
                    n,
                    "idempotency-key" | "host" | "prefer" | "expect" | "transfer-encoding"
                )
        })
        .cloned()
        .collect();
    for name in drop {
        out.remove(name);
    }
    out
}
