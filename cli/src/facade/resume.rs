//! `POST /_lro/resume`: continues the operation of a resume handle the proxy gave out (the
//! `resume` member of a `504`'s body, or the handle alone), with the request's headers.
//!
//! Answered like a forwarded request (the final answer), or `202` and the façade with
//! `Prefer: respond-async`. A handle any of whose URLs (the submission's, the status
//! monitor's, a dialect's base, its origin) is not on the upstream's origin is refused `400`:
//! the proxy polls its upstream only, never where a client points it. So is one whose
//! submission URL, monitor or submission `Location` is not under the upstream's path: a
//! forwarded request's path never leaves it, and neither does a resumed one's.

use std::sync::Arc;

use http::{Request, Response, StatusCode, Uri};
use http_body_util::Either;
use hyper::body::Incoming;
use serde_json::Value;
use tower::ServiceExt;
use tower_lro::{Dialect, LroOptions, ResumeHandle};

use super::{carried, fresh_id, json_error, read_body, run, upstream_body, Facade};
use crate::proxy::{Bounded, ProxyBody};
use crate::proxy_map::{error_response, forwardable_headers};

/// The largest handle accepted, in bytes.
const HANDLE_LIMIT: usize = 64 * 1024;

/// `POST /_lro/resume`.
pub async fn resume(
    facade: &Arc<Facade>,
    req: Request<Incoming>,
    deadline: Option<tokio::time::Instant>,
) -> Response<ProxyBody> {
    let (parts, body) = req.into_parts();
    let bytes = match read_body(facade, body, HANDLE_LIMIT).await {
        Ok(held) => held.bytes,
        Err(answer) => return answer,
    };
    let handle = match handle_of(&bytes, &facade.upstream, &facade.dialect) {
        Ok(handle) => handle,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, "BadRequest", &message),
    };
    let target: Uri = handle
        .request_url()
        .parse()
        .unwrap_or_else(|_| facade.upstream.clone());
    let mut req: Request<_> = handle.into_request();
    *req.body_mut() = upstream_body(bytes::Bytes::new());
    *req.headers_mut() = carried(&parts.headers);
    if tower_lro::__private::prefers_respond_async(&parts.headers) {
        let id = match fresh_id() {
            Ok(id) => id,
            Err(e) => {
                let message = format!("no operation id could be drawn: {e}");
                return json_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &message);
            }
        };
        let options = LroOptions::new().idempotency_key(id.clone());
        return run::launch(facade, id, true, req, options, target, deadline).await;
    }
    match facade.service.clone().oneshot(req).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            parts.headers = forwardable_headers(&parts.headers, false);
            crate::proxy_map::mark_partial(&mut parts);
            let body = Bounded::new(Either::Left(body), deadline);
            Response::from_parts(parts, Either::Left(body))
        }
        Err(err) => error_response(&target, &err).map(Either::Right),
    }
}

/// The handle in `body` (`{"resume": handle, …}` or the handle), when every URL in it is on
/// `upstream`'s origin.
fn handle_of(body: &[u8], upstream: &Uri, dialect: &Dialect) -> Result<ResumeHandle, String> {
    let value: Value = serde_json::from_slice(body).map_err(|_| "the body is not JSON")?;
    let value = match value.get("resume") {
        Some(handle) => handle.clone(),
        None => value,
    };
    if value.is_null() {
        return Err("the body holds no resume handle".to_owned());
    }
    if !on_origin(&value, upstream) {
        return Err("the handle's URLs are not all on the upstream's origin: refused".to_owned());
    }
    let handle: ResumeHandle = serde_json::from_value(value)
        .map_err(|_| "the body holds no valid resume handle".to_owned())?;
    if !under_base(&handle, upstream) {
        return Err("the handle's URLs are not all under the upstream's path: refused".to_owned());
    }
    // The proxy reads every operation in its one dialect: a handle naming another was written
    // elsewhere, and its dialect would choose the requests sent.
    if !handle.is_read_in(dialect) {
        return Err(format!(
            "the handle's dialect is not the proxy's ({}): refused",
            dialect.name()
        ));
    }
    Ok(handle)
}

/// Whether the URLs the layer requests for `handle` (its `request_url`, resolved against
/// `upstream`; its monitor and submission `Location`, resolved against that, as the layer reads
/// them) are under `upstream`'s path, as every forwarded request's path is
/// (`proxy_map::upstream_uri`). A WHATWG parser resolves them: dot segments, `%2e` spelled
/// ones included, are gone before the path is compared; what is left under the prefix must be
/// a path forwarding would send (`proxy_map::forwardable_path`: no `..;`, `%2f`, `%5c`,
/// doubly encoded dot or encoded NUL).
fn under_base(handle: &ResumeHandle, upstream: &Uri) -> bool {
    let prefix = upstream.path().trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    // Under the prefix as the parser reads it, and spelled as forwarding would send it: a
    // `..;`, `%2f` or `%252e` segment, which the parser keeps, an upstream may read as a step up.
    let within = |url: &whatwg_url::Url| {
        let path = url.path();
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|r| r.starts_with('/') && crate::proxy_map::forwardable_path(r))
    };
    let Ok(request) =
        whatwg_url::Url::parse(&upstream.to_string()).and_then(|b| b.join(handle.request_url()))
    else {
        return false;
    };
    let others = [Some(handle.operation_url()), handle.submission_location()];
    within(&request)
        && others
            .into_iter()
            .flatten()
            .all(|url| request.join(url).is_ok_and(|url| within(&url)))
}

/// Whether every string in `value` that a WHATWG parser (the library's) would read as an
/// `http`/`https` URL, resolved against `upstream`, is on `upstream`'s origin (scheme, host and
/// port). Resolving, not looking for `//`: `http:\\host\path`, `http:/\host` and
/// `https:host` name another host too. Strings that resolve to no URL, or to one of another
/// scheme, cannot be requested and pass.
fn on_origin(value: &Value, upstream: &Uri) -> bool {
    let Ok(base) = whatwg_url::Url::parse(&upstream.to_string()) else {
        return false;
    };
    strings_on_origin(value, &base)
}

fn strings_on_origin(value: &Value, base: &whatwg_url::Url) -> bool {
    match value {
        Value::String(s) => match base.join(s) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url.origin() == base.origin(),
            Ok(_) => true,
            // What does not parse against the base is no URL the layer could follow; but a
            // string that names a scheme and an authority is refused all the same.
            Err(_) => !s.contains("//") && !s.contains('\\'),
        },
        Value::Array(items) => items.iter().all(|v| strings_on_origin(v, base)),
        Value::Object(map) => map.values().all(|v| strings_on_origin(v, base)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_off_the_upstream_origin_are_refused() {
        let up: Uri = "http://127.0.0.1:8000/v1".parse().unwrap();
        let handle = |op: &str| {
            format!(
                r#"{{"resume":{{"version":1,"rule":"operation-location","method":"POST",
                "request_url":"http://127.0.0.1:8000/v1/jobs","operation_url":"{op}",
                "final_state":"auto","origin":"http://127.0.0.1:8000","polls":1}}}}"#
            )
        };
        for op in [
            "http://127.0.0.1:8000/v1/ops/1",
            "/v1/ops/1",
            "ops/1",
            "HTTP://127.0.0.1:8000/v1/x",
        ] {
            assert!(
                handle_of(handle(op).as_bytes(), &up, &Dialect::default()).is_ok(),
                "{op}"
            );
        }
        // On the origin, outside the upstream's path.
        for op in [
            "HTTP://127.0.0.1:8000/x",
            "/ops/1",
            "../ops/1",
            "/v1/%2e%2e/admin",
            "/v10/ops",
            // Under the path as a URL parser reads it, not as an upstream may: spellings that
            // forwarding refuses (`proxy_map::upstream_uri`) are refused here too.
            "/v1/..;/admin",
            "/v1/..%2Fadmin",
            "/v1/x/%2e%2e%3bx/admin",
            "/v1/%252e%252e/admin",
            "/v1/%5C..%5Cadmin",
            "/v1/a/..%00/admin",
        ] {
            assert!(
                handle_of(handle(op).as_bytes(), &up, &Dialect::default()).is_err(),
                "{op}"
            );
        }
        for op in [
            "http://127.0.0.1:8001/ops/1",
            "http://169.254.169.254/latest",
            "https://127.0.0.1:8000/ops/1",
            "//elsewhere.example/ops",
            "http://user@elsewhere.example/ops",
            r"http:\\\\elsewhere.example\\ops",
            r"http:/\\elsewhere.example/ops",
            "https:elsewhere.example/ops",
            "HTTP://elsewhere.example/ops",
        ] {
            assert!(
                handle_of(handle(op).as_bytes(), &up, &Dialect::default()).is_err(),
                "{op}"
            );
        }
        assert!(handle_of(b"{}", &up, &Dialect::default()).is_err());
        assert!(handle_of(b"not json", &up, &Dialect::default()).is_err());
    }
}
