//! How the proxy maps requests to the upstream and outcomes to answers.

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONNECTION, CONTENT_TYPE, HOST};
use http::{Response, StatusCode, Uri};
use http_body_util::Full;
use serde_json::{json, Value};
use tower::BoxError;
use tower_lro::ErrorKind;

use crate::exit;

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1): never forwarded.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How much of an upstream body a `502` answer quotes.
const QUOTED_BODY_LIMIT: usize = 1024;

/// `base` followed by the path and query of `request` (`http://up/v1` + `/jobs?a=1` →
/// `http://up/v1/jobs?a=1`).
pub fn upstream_uri(base: &Uri, request: &Uri) -> Result<Uri, String> {
    let (Some(scheme), Some(authority)) = (base.scheme(), base.authority()) else {
        return Err(format!("upstream {base} is not an absolute URL"));
    };
    let prefix = base.path().trim_end_matches('/');
    let path_and_query = request.path_and_query().map_or("/", |p| p.as_str());
    let path_and_query = if path_and_query.starts_with('/') {
        path_and_query.to_owned()
    } else {
        format!("/{path_and_query}")
    };
    Uri::builder()
        .scheme(scheme.clone())
        .authority(authority.clone())
        .path_and_query(format!("{prefix}{path_and_query}"))
        .build()
        .map_err(|e| format!("cannot forward {request}: {e}"))
}

/// `headers` without hop-by-hop headers, those the `Connection` header names, and (for a
/// request) `Host`, which the client sets for the upstream.
pub fn forwardable_headers(headers: &HeaderMap, request: bool) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out = HeaderMap::with_capacity(headers.keys_len());
    for (name, value) in headers {
        let n = name.as_str();
        let dropped =
            HOP_BY_HOP.contains(&n) || (request && *name == HOST) || named.iter().any(|t| t == n);
        if !dropped {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// The answer for an error of the client stack, for a request forwarded to `target`.
pub fn error_response(target: &Uri, err: &BoxError) -> Response<Full<Bytes>> {
    let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
        let body = json!({"error": {
            "code": "BadGateway",
            "message": format!("upstream {target} could not be reached: {}", exit::chain(&**err)),
            "upstreamUrl": target.to_string(),
        }});
        return json_response(StatusCode::BAD_GATEWAY, &body);
    };
    let resume = e.resume_handle().and_then(|h| serde_json::to_value(h).ok());
    match e.kind() {
        ErrorKind::OperationFailed => {
            // The upstream's own error status when it sent one, else 422.
            let status = e
                .status()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            json_response(status, &json!({ "error": odata_json(e) }))
        }
        ErrorKind::Timeout | ErrorKind::PollLimit => {
            let body = json!({
                "error": {"code": "GatewayTimeout", "message": e.to_string(), "upstreamUrl": e.url()},
                "resume": resume,
            });
            json_response(StatusCode::GATEWAY_TIMEOUT, &body)
        }
        _ => {
            let quoted = e.body().map(|b| {
                let end = b.len().min(QUOTED_BODY_LIMIT);
                String::from_utf8_lossy(&b[..end]).into_owned()
            });
            let body = json!({"error": {
                "code": "BadGateway",
                "message": e.to_string(),
                "upstreamUrl": e.url().map_or_else(|| target.to_string(), str::to_owned),
                "upstreamStatus": e.status().map(|s| s.as_u16()),
                "upstreamBody": quoted,
            }, "resume": resume});
            json_response(StatusCode::BAD_GATEWAY, &body)
        }
    }
}

/// The failed operation's `error` object as the upstream sent it, else rebuilt.
fn odata_json(e: &tower_lro::Error) -> Value {
    let sent = e
        .body()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|mut v| v.get_mut("error").map(Value::take))
        .filter(Value::is_object);
    if let Some(error) = sent {
        return error;
    }
    match e.odata_error() {
        Some(o) => json!({ "code": o.code(), "message": o.message() }),
        None => json!({ "code": Value::Null, "message": e.to_string() }),
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
