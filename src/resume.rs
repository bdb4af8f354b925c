//! A serializable record of an unfinished operation, to resume it later without re-sending the
//! submission ([control](crate::_protocol#control)).

use serde::{Deserialize, Serialize};

use crate::config::FinalState;
use crate::rule::Rule;

/// Everything needed to continue polling an operation: never credential values — neither
/// headers (only their names are kept) nor query parameters named like credentials
/// ([`credentials`](crate::credentials): `subscription-key`, `sig`, `token`, `X-Amz-Signature`,
/// …), which are left out of its URLs, the caller's and those the server wrote into the URLs it
/// handed out alike. The resuming request supplies them again: headers, and query parameters
/// in its own URL (the carried ones are taken from there when it has a query). A monitor whose
/// URL is itself signed (a server's `sig=` the caller cannot give again) cannot be resumed from
/// a handle.
///
/// It serializes to plain, versioned JSON. To resume, send a request through the
/// [`LroService`](crate::LroService) that carries the handle in its extensions (see
/// [`ResumeHandle::into_request`]): the service does not send that request; it polls the
/// operation with the request's headers (so fresh credentials apply) and returns the final
/// response as usual.
///
/// A handle is as trusted as the URL of a submission: its `request_url` is the origin the
/// resuming request's credentials go to, and when that host is internal, the
/// [SSRF guard](crate::LroLayer::ssrf_guard) lets polls reach internal hosts as it would
/// after such a submission. A service that resumes handles its clients send must check them
/// first: every URL on the origin (and under the path) it serves, as `lro proxy`'s
/// `POST /_lro/resume` does.
///
/// ```
/// # use tower_lro::ResumeHandle;
/// let json = r#"{"version":1,"rule":"operation-location","method":"POST",
///   "request_url":"https://atlas.microsoft.com/mapData?api-version=2.0",
///   "operation_url":"https://atlas.microsoft.com/mapData/operations/1?api-version=2.0",
///   "final_state":"auto","submission_location":null,"operation_id":"1",
///   "origin":"https://atlas.microsoft.com","header_names":["accept"],"polls":3}"#;
/// let handle: ResumeHandle = serde_json::from_str(json).unwrap();
/// assert_eq!(handle.operation_url(), "https://atlas.microsoft.com/mapData/operations/1?api-version=2.0");
/// let req: http::Request<String> = handle.into_request();
/// assert_eq!(req.method(), http::Method::GET);
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResumeHandle {
    /// Format version; this crate writes and reads `1`.
    pub(crate) version: u32,
    /// The shape that was being polled.
    pub(crate) rule: Rule,
    /// The submission's method (final-state rules depend on it).
    pub(crate) method: String,
    /// The submission's URL.
    pub(crate) request_url: String,
    /// The status monitor to poll next, as the server gave it: query parameters the layer
    /// carries (`api-version`, …) are added again from `request_url` on the wire.
    pub(crate) operation_url: String,
    /// The final-state choice in force.
    pub(crate) final_state: FinalState,
    /// The submission response's `Location`, if any (a final-state target).
    #[serde(default)]
    pub(crate) submission_location: Option<String>,
    /// The operation's id when one was seen (see
    /// [`LroMetadata::operation_id`](crate::LroMetadata::operation_id)).
    #[serde(default)]
    pub(crate) operation_id: Option<String>,
    /// The submission's origin (`scheme://host[:port]`): credentials stay with it.
    pub(crate) origin: String,
    /// Names (never values) of the headers that were carried onto polls.
    #[serde(default)]
    pub(crate) header_names: Vec<String>,
    /// Polls sent so far. They count against `max_polls` of the resumed resolution, except that
    /// a handle from a poll-limit error resumes with a fresh budget (resuming is the caller's
    /// explicit choice to continue).
    pub(crate) polls: u32,
    /// The dialect of a Google, Compute Engine or declared operation (absent: the default one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dialect: Option<serde_json::Value>,
    /// The body of the operation's status requests, when its declared dialect sends them with
    /// one (`status_request`), as filled from the submission's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status_body: Option<String>,
    /// Whether a request of the operation went to an origin that gets no credentials: from
    /// then on none carries them (stripping is cumulative), the resumed run's included.
    /// Absent (`false`) in handles of operations that never left their origin.
    #[serde(default, skip_serializing_if = "is_false")]
    pub(crate) credentials_withheld: bool,
    /// Names (never values) of the credential query parameters the submission's URL had and
    /// the layer carried onto polls (`--carry-query code`): left out of the handle's URLs, the
    /// resuming request must supply them again. Absent when none, and in older handles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) query_names: Vec<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

// `Debug` masks credential values in the URLs (a server's `sig=` in its monitor URL); the
// serialized handle keeps them (it must, to be resumed).
impl std::fmt::Debug for ResumeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::credentials::mask_url;
        f.debug_struct("ResumeHandle")
            .field("version", &self.version)
            .field("rule", &self.rule)
            .field("method", &self.method)
            .field("request_url", &mask_url(&self.request_url))
            .field("operation_url", &mask_url(&self.operation_url))
            .field("final_state", &self.final_state)
            .field(
                "submission_location",
                &self.submission_location.as_deref().map(mask_url),
            )
            .field("operation_id", &self.operation_id)
            .field("origin", &self.origin)
            .field("header_names", &self.header_names)
            .field("polls", &self.polls)
            .field("dialect", &self.dialect)
            .field("status_body", &self.status_body)
            .field("credentials_withheld", &self.credentials_withheld)
            .field("query_names", &self.query_names)
            .finish()
    }
}

impl ResumeHandle {
    /// The format version this crate writes.
    pub const VERSION: u32 = 1;

    /// The format version of this handle.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The shape that was being polled.
    pub fn rule(&self) -> Rule {
        self.rule
    }
    /// The submission's method.
    pub fn method(&self) -> &str {
        &self.method
    }
    /// The submission's URL.
    pub fn request_url(&self) -> &str {
        &self.request_url
    }
    /// The status monitor that will be polled.
    pub fn operation_url(&self) -> &str {
        &self.operation_url
    }
    /// The final-state choice in force.
    pub fn final_state(&self) -> FinalState {
        self.final_state
    }
    /// The submission answer's `Location`, if any.
    pub fn submission_location(&self) -> Option<&str> {
        self.submission_location.as_deref()
    }
    /// `operationId` when one was seen.
    pub fn operation_id(&self) -> Option<&str> {
        self.operation_id.as_deref()
    }
    /// The submission's origin (`scheme://host[:port]`), empty for an origin-form request.
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// Names (never values) of the headers that were carried onto polls: the headers a resumed
    /// request should carry again.
    pub fn header_names(&self) -> &[String] {
        &self.header_names
    }
    /// Names (never values) of the credential query parameters the submission's URL had and
    /// the polls carried (a `code` or `subscription-key` the layer
    /// [carries](crate::LroLayer::carry_query_param)): the handle holds none of them, so the
    /// request that resumes it must have them in its URL, or its polls go without.
    pub fn query_names(&self) -> &[String] {
        &self.query_names
    }
    /// Status polls sent so far.
    pub fn polls(&self) -> u32 {
        self.polls
    }
    /// Whether a request of the operation went to an origin that gets no credentials, so that
    /// the resumed run sends none either (stripping is cumulative across a resume).
    pub fn credentials_withheld(&self) -> bool {
        self.credentials_withheld
    }
    /// The name of the dialect the operation is read in (`default` when the handle names
    /// none).
    pub fn dialect(&self) -> &str {
        match &self.dialect {
            None => "default",
            Some(serde_json::Value::String(s)) => s,
            Some(v) if v.get("google").is_some() => "google",
            Some(v) => v
                .pointer("/declared/name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("declared"),
        }
    }

    /// Whether the operation is read in `dialect`: the handle names it (or names none and it
    /// is the default one). A service that hands out handles and takes them back (a gateway's
    /// resume endpoint) checks it: a handle is its holder's to write, and a dialect it names
    /// chooses the requests a resumed operation sends.
    pub fn is_read_in(&self, dialect: &crate::Dialect) -> bool {
        dialect.to_handle() == self.dialect
    }

    /// A `GET` of the original URL that carries this handle; add the headers (credentials) the
    /// polls need, then send it through the [`LroService`](crate::LroService).
    pub fn into_request<B: Default>(self) -> http::Request<B> {
        let mut req = http::Request::new(B::default());
        if let Ok(uri) = self.request_url.parse() {
            *req.uri_mut() = uri;
        }
        req.extensions_mut().insert(self);
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Handles written by earlier builds (saved samples) still read, and write back the same.
    #[test]
    fn saved_handles_read() {
        for (json, rule, dialect) in [
            (
                include_str!("../tests/fixtures/handles/v1-af1df05.json"),
                Rule::OperationLocation,
                "default",
            ),
            (
                include_str!("../tests/fixtures/handles/v1-location-origin-form.json"),
                Rule::Location,
                "default",
            ),
        ] {
            let handle: ResumeHandle = serde_json::from_str(json).unwrap();
            assert_eq!(
                (handle.version(), handle.rule(), handle.dialect()),
                (1, rule, dialect)
            );
            let again: ResumeHandle =
                serde_json::from_str(&serde_json::to_string(&handle).unwrap()).unwrap();
            assert_eq!(again, handle);
        }
        // Optional fields may be absent altogether.
        let minimal = r#"{"version":1,"rule":"location","method":"POST","request_url":"https://s.example/j","operation_url":"https://s.example/o","final_state":"auto","origin":"https://s.example","polls":0}"#;
        let handle: ResumeHandle = serde_json::from_str(minimal).unwrap();
        assert_eq!(handle.operation_id(), None);
        assert!(handle.header_names().is_empty());
        // A dialect's handle names it; a default one writes no `dialect` field.
        let google = minimal.replace(
            "\"polls\":0",
            "\"polls\":0,\"dialect\":{\"google\":{\"base\":null}}",
        );
        let handle: ResumeHandle = serde_json::from_str(&google).unwrap();
        assert_eq!(handle.dialect(), "google");
        let plain: ResumeHandle = serde_json::from_str(minimal).unwrap();
        assert!(!serde_json::to_string(&plain).unwrap().contains("dialect"));
    }
}
