//! The two seed documents (Azure Maps Creator long-running operations, V1 and V2), replayed byte
//! for byte by a loopback server and resolved through `LroLayer` over a real hyper-util client.
//!
//! The exchanges below are copied from the project's seed documents (`shared/seeds/` beside
//! the repository) as printed (status line, headers, body, white space and quotes included).
//! [`replay`] turns one into a scripted response after three rewrites:
//! `https://atlas.microsoft.com` becomes the loopback server, and the `{operationId}` /
//! `{tileset-id}` placeholders become concrete ids.
//!
//! The seeds say `Retry-After: 30`; the layer's waits are clamped to 5 ms so the tests are fast
//! (real sockets, so no paused clock).

use crate::support;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, StatusCode};
use support::{
    assert_bodiless_get, body_bytes, fast_layer, lro_client, maps_layer, post, send, MockServer,
    Recorded, Reply,
};
use tower_lro::__private::Reason;
use tower_lro::{ErrorKind, LroLayer, LroMetadata, OperationStatus, Progress, Rule};

/// The `operationId` every seed body carries.
const OPERATION_ID: &str = "c587574e-add9-4ef7-9788-1635bed9a87e";
/// Stands for the seeds' `{tileset-id}`.
const TILESET_ID: &str = "9a1b2c3d-0000-4e5f-8a9b-7c6d5e4f3a2b";
/// The status monitor path of both seeds (`/service/operations/{operationId}`).
const MONITOR_PATH: &str = "/service/operations/c587574e-add9-4ef7-9788-1635bed9a87e";
/// The created resource path (`/tileset/{tileset-id}`).
const TILESET_PATH: &str = "/tileset/9a1b2c3d-0000-4e5f-8a9b-7c6d5e4f3a2b";
const SUBMIT_PATH: &str = "/conversions";
const SUBSCRIPTION_KEY: &str = "seed-test-key";
const UDID: &str = "25084fb7-307a-4720-8f91-7952a0b91012";
/// What the submission sends (polls must not repeat it).
const SUBMIT_BODY: &str = r#"{"description":"seed replay"}"#;
/// A header of the submission that polls carry (spec §7).
const CLIENT_ID: &str = "seed-replay-client";

/// Seed V2, `000_68dfebeab40eecd3.txt`: `202` + `Operation-Location`, success via
/// `Resource-Location`. The trailing space after `{operationId}` is in the seed.
mod v2 {
    pub const ACCEPTED: &str = "Status: 202 Accepted
Operation-Location: https://atlas.microsoft.com/service/operations/{operationId} 
";

    pub const RUNNING: &str = r#"Status: 200 OK
Retry-After: 30
{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "3/11/2020 8:45:13 PM +00:00",
    "status": "Running"
}"#;

    pub const SUCCEEDED: &str = r#"Status: 200 OK
Resource-Location: "https://atlas.microsoft.com/tileset/{tileset-id}"
 {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "2021-05-06T07:55:19.5256829+00:00",
    "status": "Succeeded"
}"#;

    /// The seed's success response without its `Resource-Location` ("when a new resource has
    /// been created, the response also contains …": here none was).
    pub const SUCCEEDED_NO_RESOURCE: &str = r#"Status: 200 OK
 {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "2021-05-06T07:55:19.5256829+00:00",
    "status": "Succeeded"
}"#;

    pub const FAILED: &str = r#"Status: 200 OK

{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "3/11/2020 8:45:13 PM +00:00",
    "status": "Failed",
    "error": {
        "code": "InvalidFeature",
        "message": "The provided feature is invalid.",
        "details": {
            "code": "NoGeometry",
            "message": "No geometry was provided with the feature."
        }
    }
}"#;
}

/// Seed V1, `001_b8b7ec5dc6318bc0.txt`: `202` + `Location`, success with a new resource is
/// `201 Created` with a quoted `Location` and a body `resourceLocation`.
mod v1 {
    pub const ACCEPTED: &str = "Status: 202 Accepted
Location: https://atlas.microsoft.com/service/operations/{operationId}
";

    pub const RUNNING: &str = r#"Status: 200 OK
Retry-After: 30
{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Running"
}"#;

    pub const CREATED: &str = r#"Status: 201 Created
Location: "https://atlas.microsoft.com/tileset/{tileset-id}"
 {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Succeeded",
    "resourceLocation": "https://atlas.microsoft.com/tileset/{tileset-id}"
}"#;

    /// "When no new resource has been created, the success response returns an HTTP 200 OK
    /// status code" (the seed prints no example: this is `CREATED` without the resource).
    pub const SUCCEEDED_NO_RESOURCE: &str = r#"Status: 200 OK
 {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Succeeded"
}"#;

    pub const FAILED: &str = r#"Status: 200 OK

{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Failed",
    "error": {
        "code": "InvalidFeature",
        "message": "The provided feature is invalid.",
        "details": {
            "code": "NoGeometry",
            "message": "No geometry was provided with the feature."
        }
    }
}"#;
}

/// "If the call doesn't pass validation, the API returns an HTTP `400` response … The response
/// body provides the client more information" (both seeds; the body is ours).
const BAD_REQUEST: &str = r#"Status: 400 Bad Request
Content-Type: application/json; charset=utf-8

{
    "error": {
        "code": "400 BadRequest",
        "message": "The 'udid' query parameter is required."
    }
}"#;

/// The tileset metadata a `GET` of the created resource answers (not printed by the seeds).
const TILESET: &str = r#"Status: 200 OK
Content-Type: application/json; charset=utf-8

{
    "tilesetId": "9a1b2c3d-0000-4e5f-8a9b-7c6d5e4f3a2b",
    "datasetId": "25084fb7-307a-4720-8f91-7952a0b91012",
    "description": "seed replay tileset",
    "minZoom": 16,
    "maxZoom": 18
}"#;

// ---------------------------------------------------------------------------------------------
// Replaying the seed text
// ---------------------------------------------------------------------------------------------

/// A seed exchange with the host and placeholders rewritten for `server`.
fn rewrite(exchange: &str, server: &MockServer) -> String {
    exchange
        .replace("https://atlas.microsoft.com", &server.base())
        .replace("{operationId}", OPERATION_ID)
        .replace("{tileset-id}", TILESET_ID)
}

/// Turns a printed exchange (`Status: 202 Accepted`, `Name: value` lines, an optional blank
/// line, the body) into a scripted response, byte for byte.
fn replay(exchange: &str, server: &MockServer) -> Reply {
    let text = rewrite(exchange, server);
    let (status_line, mut rest) = text.split_once('\n').unwrap_or((&text, ""));
    let status_line = status_line
        .strip_prefix("Status: ")
        .expect("an exchange starts with `Status: `");
    let (code, reason) = status_line.split_once(' ').expect("`Status: NNN Reason`");
    let mut reply = Reply::new(code.parse().expect("numeric status"));
    // The server sends the canonical reason phrase, so the status line is the seed's.
    assert_eq!(reply.status().canonical_reason(), Some(reason));
    loop {
        let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
        let header = line
            .split_once(": ")
            .filter(|(name, _)| !name.is_empty() && name.bytes().all(is_token_byte));
        match header {
            Some((name, value)) => {
                reply = reply.header(name, value);
                rest = tail;
            }
            None => {
                if line.is_empty() {
                    rest = tail; // the blank line between head and body
                }
                break;
            }
        }
    }
    reply.body(rest.to_owned())
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The body of a printed exchange, as [`replay`] sends it.
fn body_of(exchange: &str, server: &MockServer) -> Bytes {
    replay(exchange, server).body_bytes().clone()
}

// ---------------------------------------------------------------------------------------------
// Scenario plumbing
// ---------------------------------------------------------------------------------------------

/// Serves one conversion: the submission answers `submission`, the n-th poll answers
/// `polls[n]` (the last repeats), the created tileset answers [`TILESET`].
async fn serve(submission: &str, polls: &[&str]) -> MockServer {
    let server = MockServer::start().await;
    server.always(Method::POST, SUBMIT_PATH, replay(submission, &server));
    let polls: Vec<Reply> = polls.iter().map(|p| replay(p, &server)).collect();
    server.sequence(Method::GET, MONITOR_PATH, polls);
    server.always(Method::GET, TILESET_PATH, replay(TILESET, &server));
    server
}

/// The submission's path and query.
fn submit_target(api_version: &str) -> String {
    format!(
        "{SUBMIT_PATH}?api-version={api_version}&udid={UDID}&outputOntology=facility-2.0\
         &subscription-key={SUBSCRIPTION_KEY}"
    )
}

/// Submits a conversion through `layer` over a real hyper-util client.
async fn submit(
    server: &MockServer,
    layer: LroLayer,
    api_version: &str,
) -> Result<support::LroResponse, tower::BoxError> {
    let client = lro_client(layer);
    let mut req = post(&server.url(&submit_target(api_version)), SUBMIT_BODY);
    req.headers_mut()
        .insert("x-ms-client-id", CLIENT_ID.parse().unwrap());
    send(&client, req).await
}

/// The Azure Maps layer: waits clamped for the test, `subscription-key` carried like
/// `api-version`.
fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Asserts the server saw exactly: the submission, `polls` status polls, then (when
/// `resource`) one `GET` of the tileset — every `GET` bodiless, with `query` as its query and
/// the submission's `x-ms-client-id`.
fn assert_exchange(
    seen: &[Recorded],
    api_version: &str,
    polls: usize,
    resource: bool,
    query: &[(&str, &str)],
) {
    let shown: Vec<String> = seen
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect();
    assert_eq!(
        seen.len(),
        1 + polls + usize::from(resource),
        "requests seen: {shown:#?}"
    );

    let submission = &seen[0];
    assert_eq!(submission.method, Method::POST);
    assert_eq!(submission.uri, submit_target(api_version).as_str());
    assert_eq!(submission.body, SUBMIT_BODY);
    assert_eq!(submission.header("content-type"), Some("application/json"));

    let gets = &seen[1..];
    for (i, r) in gets.iter().enumerate() {
        let path = if resource && i == polls {
            TILESET_PATH
        } else {
            MONITOR_PATH
        };
        assert_eq!(r.path(), path, "request {} of {shown:#?}", i + 1);
        assert_bodiless_get(r);
        assert_eq!(r.query_pairs(), pairs(query), "query of {}", r.uri);
        assert_eq!(r.header("x-ms-client-id"), Some(CLIENT_ID), "{}", r.uri);
    }
}

/// The query a poll of the Azure Maps layer carries.
fn carried(api_version: &str) -> [(&str, &str); 2] {
    [
        ("api-version", api_version),
        ("subscription-key", SUBSCRIPTION_KEY),
    ]
}

fn metadata(resp: &support::LroResponse) -> &LroMetadata {
    resp.extensions()
        .get::<LroMetadata>()
        .expect("a resolved response carries LroMetadata")
}

fn lro_error(err: &tower::BoxError) -> &tower_lro::Error {
    err.downcast_ref::<tower_lro::Error>()
        .unwrap_or_else(|| panic!("not a tower_lro::Error: {err:?}"))
}

// ---------------------------------------------------------------------------------------------
// Shared assertions
// ---------------------------------------------------------------------------------------------

fn assert_operation_failed(
    err: &tower::BoxError,
    server: &MockServer,
    failed: &str,
    rule: Rule,
    polls: usize,
) {
    let e = lro_error(err);
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    assert!(e.is_operation_failed());
    assert!(!e.is_timeout() && !e.is_protocol());
    assert_eq!(e.rule(), Some(rule));
    assert_eq!(e.operation_id(), Some(OPERATION_ID));
    assert_eq!(e.operation_url(), Some(server.url(MONITOR_PATH).as_str()));
    assert_eq!(e.url(), Some(server.url(MONITOR_PATH).as_str()));
    assert_eq!(
        e.operation_status(),
        Some(&OperationStatus::parse("Failed"))
    );

    let odata = e.odata_error().expect("the OData error");
    assert_eq!(odata.code(), Some("InvalidFeature"));
    assert_eq!(odata.message(), Some("The provided feature is invalid."));
    assert_eq!(odata.details().len(), 1, "{odata:?}");
    assert_eq!(odata.details()[0].code(), Some("NoGeometry"));
    assert_eq!(
        odata.details()[0].message(),
        Some("No geometry was provided with the feature.")
    );

    // The terminal response is still reachable, byte for byte.
    assert_eq!(e.status(), Some(StatusCode::OK));
    assert_eq!(e.body(), Some(&body_of(failed, server)));
    let response = e.to_response().expect("the terminal response");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), &body_of(failed, server));

    assert!(
        matches!(
            e.reason(),
            Reason::OperationFailed { status, state, error: Some(odata) }
                if *status == StatusCode::OK
                    && state.as_str() == "Failed"
                    && odata.code() == Some("InvalidFeature")
        ),
        "{:?}",
        e.reason()
    );

    assert_eq!(server.hits(&Method::GET, MONITOR_PATH), polls);
    assert_eq!(server.hits(&Method::GET, TILESET_PATH), 0);
}

/// A success that created the tileset: the resource's `GET` answered, streaming, and the
/// metadata says where the monitor and the resource were (three polls, under `rule`).
async fn assert_created_resource(resp: support::LroResponse, server: &MockServer, rule: Rule) {
    assert_eq!(resp.status(), StatusCode::OK, "the resource GET's status");
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let meta = metadata(&resp).clone();
    assert_eq!(meta.rule(), rule);
    assert_eq!(meta.status(), &OperationStatus::parse("Succeeded"));
    assert_eq!(meta.polls(), 3);
    assert_eq!(meta.operation_id(), Some(OPERATION_ID));
    assert_eq!(meta.operation_url(), server.url(MONITOR_PATH));
    assert_eq!(meta.resource_url(), Some(server.url(TILESET_PATH).as_str()));
    assert!(!resp.body().is_buffered(), "the resource streams");
    assert_eq!(body_bytes(resp.into_body()).await, body_of(TILESET, server));
}

/// A success without a resource: the terminal status document `succeeded` is the answer, byte
/// for byte, after `polls` polls under `rule`.
async fn assert_status_document(
    resp: support::LroResponse,
    server: &MockServer,
    rule: Rule,
    polls: u32,
    succeeded: &str,
) {
    assert_eq!(resp.status(), StatusCode::OK);
    let meta = metadata(&resp).clone();
    assert_eq!(meta.rule(), rule);
    assert_eq!(meta.status(), &OperationStatus::parse("Succeeded"));
    assert_eq!(meta.polls(), polls);
    assert_eq!(meta.operation_id(), Some(OPERATION_ID));
    assert_eq!(meta.resource_url(), None);
    assert_eq!(
        body_bytes(resp.into_body()).await,
        body_of(succeeded, server),
        "the terminal status document, byte for byte"
    );
}

async fn assert_bad_request(resp: support::LroResponse, server: &MockServer) {
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    assert!(resp.extensions().get::<LroMetadata>().is_none());
    assert!(!resp.body().is_buffered(), "passed through, streaming");
    assert_eq!(
        body_bytes(resp.into_body()).await,
        body_of(BAD_REQUEST, server)
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "only the submission: {seen:?}");
    assert_eq!(seen[0].method, Method::POST);
    assert_eq!(server.hits(&Method::GET, MONITOR_PATH), 0);
}

mod location;
mod operation_location;
mod wire;
