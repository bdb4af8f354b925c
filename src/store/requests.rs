//! The requests a keyed call sends: the submission again, a continuation from a handle, and a
//! fetch of a recorded result.

use http::{HeaderMap, Method, Request};

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

/// A `GET` of a recorded result; the call's headers go along only to the call's own origin.
pub(super) fn refetch(parts: &http::request::Parts, url: &str) -> Result<Request<()>, BoxError> {
    let uri: http::Uri = url.parse()?;
    let same_origin =
        uri.scheme() == parts.uri.scheme() && uri.authority() == parts.uri.authority();
    let mut req = Request::new(());
    *req.method_mut() = Method::GET;
    *req.uri_mut() = uri;
    if same_origin {
        *req.headers_mut() = carried(&parts.headers);
    }
    Ok(req)
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
