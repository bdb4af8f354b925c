//! How the proxy maps requests to the upstream and outcomes to answers: the library's
//! [`tower_lro::gateway`] rules, the same as `examples/gateway.rs`, in the proxy's body type.

use bytes::Bytes;
use http::{Response, StatusCode, Uri};
use http_body_util::Full;
use serde_json::Value;
use tower::BoxError;

pub use tower_lro::gateway::{forwardable_headers, upstream_uri};

/// The answer for an error of the client stack, for a request forwarded to `target`.
pub fn error_response(target: &Uri, err: &BoxError) -> Response<Full<Bytes>> {
    tower_lro::gateway::error_response(target, &**err).map(Full::new)
}

/// A JSON answer.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    tower_lro::gateway::json_response(status, body).map(Full::new)
}
