//! Table-driven tests of the protocol core: one row per shape and rule of the spec, here; one
//! row per real service's documented shape in `services`, duplicate members in `duplicates`,
//! how declared dialects ask for a status or a result in `requests`.
#![allow(clippy::type_complexity)] // the tables are clearer spelled out

use super::dialect::Dialect;
use super::request::{query_pairs, LroRequest, PollKind};
use super::*;
use crate::error::ErrorKind;
use crate::error::{LastAttempt, Reason, UrlProblem};
use crate::header::OPERATION_LOCATION;
use crate::metadata::Rule;
use crate::options::LroOptions;
use crate::parse::UrlHeaderError;
use crate::resume::ResumeHandle;
use crate::status::{OperationStatus, StatusBodyError};
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request};
use std::sync::Arc;

/// A scripted response: status, headers, body.
#[derive(Clone, Copy)]
struct R {
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const fn r(status: u16, headers: &'static [(&'static str, &'static str)], body: &'static str) -> R {
    R {
        status,
        headers,
        body,
    }
}

/// A poll the machine asked for: when (seconds after the submission's response), what, which kind.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    at_ms: u128,
    uri: String,
    kind: PollKind,
}

#[derive(Debug)]
enum Outcome {
    NotLro,
    /// Finished in the submission's answer.
    Final(Delivery),
    /// The index of the scripted poll response that was delivered, and how.
    Delivered(usize, Delivery),
    Failed(Error),
    StartError(Error),
}

struct Run {
    sent: Vec<Sent>,
    requests: Vec<PollRequest>,
    outcome: Outcome,
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    h
}

const WALL: &str = "Sun, 22 Nov 2026 10:00:00 GMT";

fn drive(
    cfg: Config,
    method: &str,
    url: &str,
    req_headers: &[(&str, &str)],
    submit: R,
    polls: &[R],
) -> Run {
    drive_with(
        cfg,
        LroOptions::new(),
        method,
        url,
        req_headers,
        submit,
        polls,
    )
}

fn drive_with(
    cfg: Config,
    options: LroOptions,
    method: &str,
    url: &str,
    req_headers: &[(&str, &str)],
    submit: R,
    polls: &[R],
) -> Run {
    let t0 = Instant::now();
    let wall0 = httpdate::parse_http_date(WALL).unwrap();
    let head = RequestHead::new(
        method.parse().unwrap(),
        url.parse().unwrap(),
        headers(req_headers),
    );
    let body = Bytes::from_static(submit.body.as_bytes());
    let params = params_of(&cfg, &options);
    let begin = Submission::new(Arc::new(cfg), head, params, Now::new(t0, wall0)).start(
        StatusCode::from_u16(submit.status).unwrap(),
        &headers(submit.headers),
        Some(&body),
    );
    let mut sent = Vec::new();
    let mut requests = Vec::new();
    let (mut machine, mut action) = match begin {
        Err(e) => {
            return Run {
                sent,
                requests,
                outcome: Outcome::StartError(e),
            }
        }
        Ok(Begin::Final(meta)) => {
            return Run {
                sent,
                requests,
                outcome: Outcome::Final(meta),
            }
        }
        Ok(Begin::NotLro) => {
            return Run {
                sent,
                requests,
                outcome: Outcome::NotLro,
            }
        }
        Ok(Begin::Lro(m, a)) => (m, Action::from(a)),
    };
    let mut next = 0;
    loop {
        match action {
            Action::Send { at, request } => {
                assert!(
                    at >= t0 && at <= machine.deadline(),
                    "wait within the deadline"
                );
                sent.push(Sent {
                    at_ms: at.duration_since(t0).as_millis(),
                    uri: request.uri().to_string(),
                    kind: request.kind(),
                });
                requests.push(request);
                let resp = polls
                    .get(next)
                    .unwrap_or_else(|| panic!("script ran out after {sent:?}"));
                next += 1;
                let status = StatusCode::from_u16(resp.status).unwrap();
                let h = headers(resp.headers);
                let body = Bytes::from_static(resp.body.as_bytes());
                let elapsed = at.duration_since(t0);
                let wall = wall0 + elapsed;
                let body = machine.wants_body(status).then_some(&body);
                let answer = Answer {
                    status,
                    headers: &h,
                    body,
                };
                action = machine.handle_answer(Now::new(at, wall), answer);
            }
            Action::Deliver(meta) => {
                assert_eq!(next, polls.len(), "every scripted response was used");
                return Run {
                    sent,
                    requests,
                    outcome: Outcome::Delivered(next - 1, meta),
                };
            }
            Action::Fail(e) | Action::Cancel { error: e, .. } => {
                assert_eq!(next, polls.len(), "every scripted response was used");
                return Run {
                    sent,
                    requests,
                    outcome: Outcome::Failed(e),
                };
            }
        }
    }
}

fn cfg() -> Config {
    Config::default()
}

/// What the driver resolves from a request's options.
fn params_of(cfg: &Config, options: &LroOptions) -> Params {
    let mut params = Params::new(cfg);
    if let Some(d) = options.deadline {
        params = params.deadline(d);
    }
    if let Some(f) = options.final_state {
        params = params.final_state(f);
    }
    params = params.start_only(options.start_only);
    if let Some(d) = &options.dialect {
        params = params.dialect(d.clone());
    }
    params
}

/// Starts a machine on a bodiless submission answer.
fn start(cfg: Config, url: &str, answer: &HeaderMap, now: Now) -> Result<Begin, Error> {
    let head = RequestHead::new(Method::POST, url.parse().unwrap(), HeaderMap::new());
    let params = Params::new(&cfg);
    Submission::new(Arc::new(cfg), head, params, now).start(StatusCode::ACCEPTED, answer, None)
}

/// (at seconds, uri, kind) triples, for compact expectations.
fn schedule(run: &Run) -> Vec<(f64, &str, PollKind)> {
    run.sent
        .iter()
        .map(|s| (s.at_ms as f64 / 1000.0, s.uri.as_str(), s.kind))
        .collect()
}

use PollKind::{Resource, Status};

const V2_SUBMIT: R = r(
    202,
    &[(
        "Operation-Location",
        "https://atlas.microsoft.com/service/operations/c58",
    )],
    "",
);
const V2_RUNNING: R = r(
    200,
    &[("Retry-After", "30")],
    r#"{"operationId":"c58","created":"3/11/2020 8:45:13 PM +00:00","status":"Running"}"#,
);
const V2_SUCCEEDED_RES: R = r(
    200,
    &[(
        "Resource-Location",
        "\"https://atlas.microsoft.com/tileset/t1\"",
    )],
    r#" {"operationId":"c58","created":"2021-05-06T07:55:19.5256829+00:00","status":"Succeeded"}"#,
);
const V2_SUCCEEDED: R = r(
    200,
    &[],
    r#"{"operationId":"c58","created":"x","status":"Succeeded"}"#,
);
const FAILED: R = r(
    200,
    &[],
    r#"{"operationId":"c58","created":"x","status":"Failed","error":{"code":"InvalidFeature","message":"The provided feature is invalid.","details":{"code":"NoGeometry","message":"No geometry was provided with the feature."}}}"#,
);
const RESOURCE: R = r(
    200,
    &[("content-type", "application/json")],
    r#"{"tilesetId":"t1"}"#,
);
const V1_SUBMIT: R = r(
    202,
    &[(
        "Location",
        "https://atlas.microsoft.com/service/operations/c58",
    )],
    "",
);
const V1_RUNNING: R = r(
    200,
    &[("Retry-After", "30")],
    r#"{"operationId":"c58","createdDateTime":"3/11/2020 8:45:13 PM +00:00","status":"Running"}"#,
);
const V1_CREATED: R = r(
    201,
    &[("Location", "\"https://atlas.microsoft.com/tileset/t1\"")],
    r#"{"operationId":"c58","createdDateTime":"x","status":"Succeeded","resourceLocation":"https://atlas.microsoft.com/tileset/t1"}"#,
);
const V1_OK: R = r(
    200,
    &[],
    r#"{"operationId":"c58","createdDateTime":"x","status":"Succeeded"}"#,
);
const OPS: &str = "https://atlas.microsoft.com/service/operations/c58";
const TILESET: &str = "https://atlas.microsoft.com/tileset/t1";
const SUBMIT_URL: &str = "https://atlas.microsoft.com/tilesets?datasetId=d1";

fn delivered(run: &Run) -> (usize, &LroMetadata) {
    let (i, d) = delivery(run);
    (i, &d.metadata)
}

/// The delivered answer's index, and the instructions that came with it.
fn delivery(run: &Run) -> (usize, &Delivery) {
    match &run.outcome {
        Outcome::Delivered(i, d) => (*i, d),
        other => panic!("expected delivery, got {other:?}"),
    }
}

fn failed(run: &Run) -> &Error {
    match &run.outcome {
        Outcome::Failed(e) | Outcome::StartError(e) => e,
        other => panic!("expected failure, got {other:?}"),
    }
}

#[test]
fn seed_v2_success_with_resource() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_RUNNING, V2_RUNNING, V2_SUCCEEDED_RES, RESOURCE],
    );
    assert_eq!(
        schedule(&run),
        [
            (1.0, OPS, Status),
            (31.0, OPS, Status),
            (61.0, OPS, Status),
            (61.0, TILESET, Resource)
        ]
    );
    let (i, meta) = delivered(&run);
    assert_eq!(i, 3, "the resource GET's response is final");
    assert_eq!(meta.rule(), Rule::OperationLocation);
    assert_eq!(meta.status(), &OperationStatus::parse("Succeeded"));
    assert_eq!(meta.operation_id(), Some("c58"));
    assert_eq!(meta.polls(), 3);
    assert_eq!(meta.resource_url(), Some(TILESET));
    assert_eq!(meta.elapsed(), Duration::from_secs(61));
}

#[test]
fn seed_v2_success_without_resource_and_failure() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_RUNNING, V2_SUCCEEDED],
    );
    assert_eq!(
        delivered(&run).0,
        1,
        "the terminal status response is final"
    );

    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_RUNNING, FAILED],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::OperationFailed);
    assert_eq!(e.operation_id(), Some("c58"));
    assert_eq!(
        e.operation_status(),
        Some(&OperationStatus::parse("Failed"))
    );
    assert_eq!(e.status(), Some(StatusCode::OK));
    let odata = e.odata_error().unwrap();
    assert_eq!(odata.code(), Some("InvalidFeature"));
    assert_eq!(odata.details()[0].code(), Some("NoGeometry"));
    assert!(e.body().unwrap().starts_with(b"{\"operationId\""));
    assert_eq!(e.url(), Some(OPS));
    assert!(matches!(
        e.reason(),
        Reason::OperationFailed { state, error: Some(o), .. }
            if state.as_str() == "Failed" && o.message() == Some("The provided feature is invalid.")
    ));
}

#[test]
fn seed_v1_success_with_resource_without_and_failure() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V1_SUBMIT,
        &[V1_RUNNING, V1_CREATED, RESOURCE],
    );
    assert_eq!(
        schedule(&run),
        [
            (1.0, OPS, Status),
            (31.0, OPS, Status),
            (31.0, TILESET, Resource)
        ]
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.rule(), meta.polls()), (2, Rule::Location, 2));

    // V1's `200 {"status":"Running"}` on the Location poll keeps polling; a terminal 200 is final.
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V1_SUBMIT,
        &[V1_RUNNING, V1_RUNNING, V1_OK],
    );
    assert_eq!(delivered(&run).0, 2);
    assert_eq!(
        delivered(&run).1.status(),
        &OperationStatus::parse("Succeeded")
    );

    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V1_SUBMIT,
        &[V1_RUNNING, FAILED],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    assert_eq!(
        failed(&run).odata_error().unwrap().code(),
        Some("InvalidFeature")
    );
}

#[test]
fn classify_table() {
    let c = cfg();
    #[rustfmt::skip]
    let rows: &[(&str, u16, &[(&str, &str)], Classify)] = &[
        ("POST", 202, &[("operation-location", "x")], Classify::Inspect),
        ("POST", 202, &[("Azure-AsyncOperation", "x")], Classify::Inspect),
        ("POST", 202, &[("location", "x")], Classify::Inspect),
        ("POST", 202, &[], Classify::PassThrough),
        ("POST", 201, &[("operation-location", "x")], Classify::Inspect),
        ("PUT", 200, &[("azure-asyncoperation", "x")], Classify::Inspect),
        ("POST", 201, &[("location", "x")], Classify::PassThrough),
        ("POST", 400, &[("operation-location", "x")], Classify::PassThrough),
        ("GET", 200, &[("content-type", "application/json")], Classify::PassThrough),
        ("PUT", 200, &[("content-type", "application/json; charset=utf-8")], Classify::Inspect),
        ("PATCH", 201, &[], Classify::Inspect),
        ("PUT", 200, &[("content-type", "Application/Vnd.Api+JSON")], Classify::Inspect),
        ("PUT", 200, &[("content-type", "text/html")], Classify::PassThrough),
        ("PUT", 200, &[("content-type", "jso")], Classify::PassThrough),
        ("PUT", 200, &[("content-type", "application/json"), ("content-length", "99999999")], Classify::PassThrough),
        ("DELETE", 204, &[("location", "x")], Classify::PassThrough),
        ("GET", 303, &[("location", "x")], Classify::PassThrough),
    ];
    for (method, status, h, want) in rows {
        let got = classify(
            &c,
            &Dialect::default(),
            &method.parse().unwrap(),
            StatusCode::from_u16(*status).unwrap(),
            &headers(h),
        );
        assert_eq!(got, *want, "{method} {status} {h:?}");
    }
    let mut off = cfg();
    off.detect_provisioning_state = false;
    assert_eq!(
        classify(
            &off,
            &Dialect::default(),
            &Method::PUT,
            StatusCode::OK,
            &HeaderMap::new()
        ),
        Classify::PassThrough
    );
}

#[test]
fn arm_azure_async_operation_final_state_rules() {
    const AAO_RUNNING: R = r(200, &[], r#"{"status":"InProgress"}"#);
    const AAO_DONE: R = r(200, &[], r#"{"status":"succeeded"}"#);
    const ARM: &str = "https://management.azure.com/sub/rg/vm1?api-version=2024-01-01";
    const AAO: &str = "https://management.azure.com/ops/1?api-version=2024-01-01";
    const SUBMIT_PUT: R = r(
        201,
        &[
            ("Azure-AsyncOperation", "https://management.azure.com/ops/1"),
            ("Location", "somethingBadWhichShouldNotBeUsed"),
        ],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    // PUT: the request's own URL; api-version carried onto the monitor.
    let run = drive(
        cfg(),
        "PUT",
        ARM,
        &[],
        SUBMIT_PUT,
        &[AAO_RUNNING, AAO_DONE, RESOURCE],
    );
    assert_eq!(
        schedule(&run),
        [(1.0, AAO, Status), (2.0, AAO, Status), (2.0, ARM, Resource)]
    );
    assert_eq!(delivered(&run).1.rule(), Rule::AzureAsyncOperation);

    // POST with Location: the submission's Location.
    const SUBMIT_POST: R = r(
        202,
        &[
            ("azure-asyncoperation", "/ops/1"),
            ("location", "/results/1"),
            ("retry-after", "0"),
        ],
        "",
    );
    let run = drive(cfg(), "POST", ARM, &[], SUBMIT_POST, &[AAO_DONE, RESOURCE]);
    assert_eq!(
        schedule(&run),
        [
            (0.0, AAO, Status),
            (
                0.0,
                "https://management.azure.com/results/1?api-version=2024-01-01",
                Resource
            )
        ]
    );

    // ... unless final-state-via says the status monitor (Azure's `azure-async-operation`).
    let mut c = cfg();
    c.final_state = FinalState::StatusMonitor;
    let run = drive(c, "POST", ARM, &[], SUBMIT_POST, &[AAO_DONE]);
    assert_eq!(delivered(&run).0, 0);
    // ... or per request: original-uri.
    let opts = LroOptions::new().final_state(FinalState::OriginalUri);
    let run = drive_with(
        cfg(),
        opts,
        "POST",
        ARM,
        &[],
        SUBMIT_POST,
        &[AAO_DONE, RESOURCE],
    );
    assert_eq!(run.sent[1].uri, ARM);

    // DELETE: the terminal status response.
    let run = drive(
        cfg(),
        "DELETE",
        ARM,
        &[],
        SUBMIT_POST,
        &[AAO_RUNNING, AAO_DONE],
    );
    assert_eq!(delivered(&run).0, 1);

    // A terminal provisioningState on 200/201 is final whatever headers it carries.
    const INLINE: R = r(
        200,
        &[("azure-asyncoperation", "http://localhost/fakeurl_crash")],
        r#"{"properties":{"provisioningState":"Succeeded"}}"#,
    );
    assert!(matches!(
        drive(cfg(), "PATCH", ARM, &[], INLINE, &[]).outcome,
        Outcome::NotLro
    ));
    // ... but a 202 is never final (LROPatch202WithAsyncAndLocationHeader).
    const P202: R = r(
        202,
        &[("azure-asyncoperation", "/ops/1"), ("location", "/final")],
        r#"{"properties":{"provisioningState":"Succeeded"}}"#,
    );
    let run = drive(
        cfg(),
        "PATCH",
        ARM,
        &[],
        P202,
        &[AAO_RUNNING, AAO_DONE, RESOURCE],
    );
    assert_eq!(run.sent[2].uri, ARM);
}

#[test]
fn operation_location_put_fetches_original_and_resource_location_wins() {
    const SUBMIT: R = r(
        202,
        &[("operation-location", "https://svc.example/ops/9")],
        "",
    );
    const DONE_RL: R = r(
        200,
        &[("resource-location", "/things/9")],
        r#"{"status":"Succeeded"}"#,
    );
    const DONE_BODY_RL: R = r(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"things/7"}"#,
    );
    let run = drive(
        cfg(),
        "PUT",
        "https://svc.example/things/9",
        &[],
        SUBMIT,
        &[DONE_RL, RESOURCE],
    );
    assert_eq!(run.sent[1].uri, "https://svc.example/things/9");
    let run = drive(
        cfg(),
        "PUT",
        "https://svc.example/things/9",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"status":"Succeeded"}"#), RESOURCE],
    );
    assert_eq!(run.sent[1].uri, "https://svc.example/things/9");
    let run = drive(
        cfg(),
        "POST",
        "https://svc.example/jobs",
        &[],
        SUBMIT,
        &[DONE_BODY_RL, RESOURCE],
    );
    assert_eq!(
        run.sent[1].uri, "https://svc.example/ops/things/7",
        "relative to the monitor URL"
    );
}

#[test]
fn location_rules() {
    const SUBMIT: R = r(
        202,
        &[
            ("location", "https://svc.example/ops/1"),
            ("retry-after", "2"),
        ],
        "",
    );
    // 202 keeps polling and may move the monitor; 204 ends it.
    const MOVE: R = r(202, &[("location", "/ops/1b")], "");
    let run = drive(
        cfg(),
        "DELETE",
        "https://svc.example/things/1",
        &[],
        SUBMIT,
        &[MOVE, r(204, &[], "")],
    );
    assert_eq!(
        schedule(&run),
        [
            (2.0, "https://svc.example/ops/1", Status),
            (3.0, "https://svc.example/ops/1b", Status)
        ]
    );
    assert_eq!(delivered(&run).0, 1);
    assert_eq!(
        delivered(&run).1.operation_url(),
        "https://svc.example/ops/1b"
    );

    // A 200 that is not a status document is the final resource itself.
    let run = drive(
        cfg(),
        "PUT",
        "https://svc.example/things/1",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"id":"100","name":"foo"}"#)],
    );
    assert_eq!(delivered(&run).0, 0);
    // ... and so is one whose own `status` field is not an in-progress word.
    let run = drive(
        cfg(),
        "POST",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"id":"1","status":"Active"}"#)],
    );
    assert_eq!(delivered(&run).0, 0);
    // ARM Location polls: a provisioningState body.
    const DELETING: R = r(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Deleting"}}"#,
    );
    let run = drive(
        cfg(),
        "DELETE",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[
            DELETING,
            r(200, &[], r#"{"properties":{"provisioningState":"Failed"}}"#),
        ],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    assert_eq!(
        failed(&run).operation_status(),
        Some(&OperationStatus::parse("Failed"))
    );
    let run = drive(
        cfg(),
        "DELETE",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[r(200, &[], r#"{"status":"Cancelled"}"#)],
    );
    assert_eq!(
        failed(&run).operation_status(),
        Some(&OperationStatus::parse("Cancelled"))
    );
    // An empty 201 with Location: fetch it.
    let run = drive(
        cfg(),
        "POST",
        "https://svc.example/x",
        &[],
        SUBMIT,
        &[r(201, &[("location", "/made/1")], ""), RESOURCE],
    );
    assert_eq!(run.sent[1].uri, "https://svc.example/made/1");
    // A relative Location against an origin-form request stays origin-form.
    const REL: R = r(
        202,
        &[("location", "/lroParameterizedEndpoints/results/1")],
        "",
    );
    let run = drive(
        cfg(),
        "POST",
        "/lroParameterizedEndpoints",
        &[],
        REL,
        &[r(200, &[], "\"success\"")],
    );
    assert_eq!(run.sent[0].uri, "/lroParameterizedEndpoints/results/1");
    assert_eq!(
        delivered(&run).1.operation_url(),
        "/lroParameterizedEndpoints/results/1"
    );
}

#[test]
fn provisioning_state_rules() {
    const URL: &str = "https://management.azure.com/sub/rg/acct?api-version=1";
    const CREATING: R = r(
        201,
        &[],
        r#"{"properties":{"provisioningState":"Creating"}}"#,
    );
    const UPDATING: R = r(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Updating"}}"#,
    );
    const DONE: R = r(
        200,
        &[],
        r#"{"properties":{"provisioningState":"Succeeded"},"id":"a"}"#,
    );
    let run = drive(
        cfg(),
        "PUT",
        URL,
        &[],
        CREATING,
        &[UPDATING, r(202, &[], ""), DONE],
    );
    assert_eq!(
        schedule(&run),
        [(1.0, URL, Status), (2.0, URL, Status), (3.0, URL, Status)]
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.rule()), (2, Rule::ProvisioningState));
    let run = drive(
        cfg(),
        "PUT",
        URL,
        &[],
        CREATING,
        &[r(
            200,
            &[],
            r#"{"properties":{"provisioningState":"Canceled"}}"#,
        )],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::OperationFailed);
    let run = drive(cfg(), "PUT", URL, &[], CREATING, &[r(200, &[], "")]);
    assert_eq!(failed(&run).kind(), ErrorKind::Protocol);
    let run = drive(
        cfg(),
        "PUT",
        URL,
        &[],
        CREATING,
        &[r(200, &[], r#"{"id":"100"}"#)],
    );
    assert_eq!(
        delivered(&run).0,
        0,
        "no provisioningState on 200 means done"
    );
    // Not an LRO: POST, no provisioningState, or a terminal one.
    assert!(matches!(
        drive(cfg(), "POST", URL, &[], CREATING, &[]).outcome,
        Outcome::NotLro
    ));
    assert!(matches!(
        drive(cfg(), "PUT", URL, &[], r(201, &[], "{}"), &[]).outcome,
        Outcome::NotLro
    ));
    assert!(matches!(
        drive(cfg(), "PUT", URL, &[], r(201, &[], "not json"), &[]).outcome,
        Outcome::NotLro
    ));
}

#[test]
fn waits_follow_every_hint_form_and_the_backoff() {
    let cases: &[(&'static [(&'static str, &'static str)], u128)] = &[
        (&[("retry-after", "7")], 7000),
        (&[("retry-after-ms", "250")], 250),
        (&[("x-ms-retry-after-ms", "125"), ("retry-after", "9")], 125),
        (&[("retry-after", "Sun, 22 Nov 2026 10:00:12 GMT")], 12_000),
        (&[("retry-after", "Sun, 22 Nov 2026 09:00:00 GMT")], 1000),
        (&[("retry-after", "-3")], 1000),
        (&[("retry-after", "soon")], 1000),
        (&[], 1000),
    ];
    for (extra, want_ms) in cases {
        let mut h: Vec<(&str, &str)> = vec![("operation-location", "https://s.example/o")];
        h.extend_from_slice(extra);
        let h: &'static [(&str, &str)] = Box::leak(h.into_boxed_slice());
        let run = drive(
            cfg(),
            "POST",
            "https://s.example/j",
            &[],
            r(202, h, ""),
            &[r(200, &[], r#"{"status":"Succeeded"}"#)],
        );
        assert_eq!(run.sent[0].at_ms, *want_ms, "{extra:?}");
    }
    // No hints at all: 1 s five times, then doubling to the 30 s cap.
    const RUN: R = r(200, &[], r#"{"status":"Running"}"#);
    let mut script = vec![RUN; 11];
    script.push(r(200, &[], r#"{"status":"Succeeded"}"#));
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        r(202, &[("operation-location", "/o")], ""),
        &script,
    );
    let gaps: Vec<u128> = run
        .sent
        .windows(2)
        .map(|w| (w[1].at_ms - w[0].at_ms) / 1000)
        .collect();
    assert_eq!(run.sent[0].at_ms, 1000);
    assert_eq!(gaps, [1, 1, 1, 1, 2, 4, 8, 16, 30, 30, 30]);
}

#[test]
fn spec_example_schedule_retry_after_30_done_at_95s() {
    // Server: Retry-After 30 everywhere, done once 95 s have passed.
    const SUBMIT: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "30"),
        ],
        "",
    );
    const RUN: R = r(200, &[("retry-after", "30")], r#"{"status":"Running"}"#);
    const DONE: R = r(200, &[], r#"{"status":"Succeeded"}"#);
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[RUN, RUN, RUN, DONE],
    );
    let at: Vec<u128> = run.sent.iter().map(|s| s.at_ms / 1000).collect();
    assert_eq!(at, [30, 60, 90, 120]);
}

#[test]
fn clamps_deadline_and_poll_limit() {
    const HUGE: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "99999999999"),
        ],
        "",
    );
    // Clamped to max_wait (5 min), which is within the 10 min deadline: the poll is at 300 s.
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        HUGE,
        &[r(200, &[], r#"{"status":"Succeeded"}"#)],
    );
    assert_eq!(run.sent[0].at_ms, 300_000);
    // With a shorter deadline, the same wait fails at once, with a handle to resume.
    let mut c = cfg();
    c.deadline = Duration::from_secs(100);
    let run = drive(
        c,
        "POST",
        "https://s.example/j",
        &[("authorization", "Bearer x")],
        HUGE,
        &[],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let handle = e.resume_handle().unwrap();
    assert_eq!(handle.operation_url(), "https://s.example/o");
    assert_eq!(handle.header_names(), ["authorization"]);
    assert!(!serde_json::to_string(handle).unwrap().contains("Bearer"));

    // Running forever: polls until the deadline would be passed.
    const SUBMIT: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "30"),
        ],
        "",
    );
    const RUN: R = r(200, &[("retry-after", "30")], r#"{"status":"Running"}"#);
    let mut c = cfg();
    c.deadline = Duration::from_secs(100);
    let run = drive(
        c,
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[RUN, RUN, RUN],
    );
    assert_eq!(
        run.sent.iter().map(|s| s.at_ms / 1000).collect::<Vec<_>>(),
        [30, 60, 90]
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Timeout);
    assert!(matches!(
        failed(&run).reason(),
        Reason::Deadline { state, polls: 3, after } if after.as_secs() == 100 && state.as_str() == "Running"
    ));

    let mut c = cfg();
    c.max_polls = 2;
    let run = drive(c, "POST", "https://s.example/j", &[], SUBMIT, &[RUN, RUN]);
    assert_eq!(failed(&run).kind(), ErrorKind::PollLimit);
}

#[test]
fn transient_failures_are_retried_within_budget() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    const BUSY: R = r(503, &[("retry-after", "4")], "busy");
    const LIMIT: R = r(429, &[], "");
    const DONE: R = r(200, &[], r#"{"status":"Succeeded"}"#);
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[BUSY, LIMIT, DONE],
    );
    // 1 s, then the 503's Retry-After (4 s), then transient backoff (2 s for the 2nd in a row).
    assert_eq!(
        run.sent.iter().map(|s| s.at_ms).collect::<Vec<_>>(),
        [1000, 5000, 7000]
    );
    assert_eq!(delivered(&run).1.polls(), 3);

    let mut c = cfg();
    c.transient_retries = 2;
    let run = drive(
        c,
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[BUSY, BUSY, BUSY],
    );
    let e = failed(&run);
    assert_eq!(
        (e.kind(), e.attempts(), e.status()),
        (
            ErrorKind::RetriesExhausted,
            Some(3),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        )
    );
    assert_eq!(
        e.reason(),
        &Reason::RetriesExhausted {
            attempts: 3,
            last: LastAttempt::Status(StatusCode::SERVICE_UNAVAILABLE)
        }
    );

    // A transport error is transient too; its source is kept.
    let now = Now::new(Instant::now(), SystemTime::UNIX_EPOCH);
    let Ok(Begin::Lro(mut m, _)) =
        start(cfg(), "https://s.example/j", &headers(SUBMIT.headers), now)
    else {
        panic!()
    };
    for _ in 0..5 {
        assert!(matches!(
            m.handle_failure(now, Failure::Transport("reset".into())),
            Plan::Send { .. }
        ));
    }
    let Plan::Fail(e) = m.handle_failure(now, Failure::Transport("reset".into())) else {
        panic!()
    };
    assert_eq!(e.kind(), ErrorKind::RetriesExhausted);
    assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "reset");
}

#[test]
fn bad_answers_are_typed_errors() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    #[rustfmt::skip]
    let rows: &[(R, ErrorKind, fn(&Reason) -> bool)] = &[
        (r(404, &[], "gone"), ErrorKind::UnexpectedStatus, |r| matches!(r, Reason::Rejected { status } if status.as_u16() == 404)),
        (r(410, &[], ""), ErrorKind::UnexpectedStatus, |r| matches!(r, Reason::Rejected { status } if status.as_u16() == 410)),
        (r(401, &[], ""), ErrorKind::UnexpectedStatus, |r| matches!(r, Reason::Rejected { status } if status.as_u16() == 401)),
        (r(200, &[], "<html>"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::NotJson(_), .. })),
        (r(200, &[], "[]"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::NotObject, .. })),
        (r(200, &[], "{}"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::MissingStatus, .. })),
        (r(200, &[], "{\"status\":1}"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::StatusNotString, .. })),
        (r(200, &[], "{\"status\":\"Runn"), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::NotJson(_), .. })),
        (r(204, &[], ""), ErrorKind::Protocol, |r| matches!(r, Reason::StatusBody { error: StatusBodyError::Empty, .. })),
        (r(200, &[], "{\"status\":\"Failed\"}"), ErrorKind::OperationFailed, |r| matches!(r, Reason::OperationFailed { error: None, .. })),
    ];
    for (resp, kind, reason) in rows {
        let run = drive(cfg(), "POST", "https://s.example/j", &[], SUBMIT, &[*resp]);
        let e = failed(&run);
        assert_eq!(e.kind(), *kind, "{}", resp.body);
        assert!(reason(e.reason()), "{e:?}");
        assert_eq!(e.url(), Some("https://s.example/o"));
    }
}

/// The one place message text is checked: what `Display` renders for each reason.
#[test]
fn errors_render_their_reasons() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    #[rustfmt::skip]
    let rows: &[(R, &str)] = &[
        (r(404, &[], "gone"), "long-running operation poll rejected: https://s.example/o answered 404 Not Found"),
        (r(200, &[], "{}"), "long-running operation protocol error: https://s.example/o answered 200 OK with a JSON object without a `status` field"),
        (r(200, &[], "{\"status\":\"Failed\"}"), "long-running operation failed: https://s.example/o answered 200 OK: operation Failed (no error details)"),
        (FAILED, "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: InvalidFeature: The provided feature is invalid."),
        // What a server sent is escaped (ESC, OSC 52, CR, LF, NUL, bidi) and bounded.
        (r(200, &[], "{\"status\":\"Failed\",\"error\":{\"code\":\"\\u001b]52;c;ZXZpbA==\\u0007\",\"message\":\"ok\\r\\n\\u0000forged \\u202e\"}}"),
            "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: \\x1b]52;c;ZXZpbA==\\x07: ok\\r\\n\\0forged \\u{202e}"),
        (r(200, &[], "{\"status\":\"Failed\",\"error\":{\"message\":\"\\u001b[2J\"}}"),
            "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: \\x1b[2J"),
    ];
    for (resp, text) in rows {
        let run = drive(cfg(), "POST", "https://s.example/j", &[], SUBMIT, &[*resp]);
        assert_eq!(failed(&run).to_string(), *text);
    }
    // A long message is cut after `LIMIT` characters, with a marker.
    let long = format!(
        "{{\"status\":\"Failed\",\"error\":{{\"message\":\"{}\"}}}}",
        "m".repeat(100_000)
    );
    let long: &'static str = Box::leak(long.into_boxed_str());
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[r(200, &[], long)],
    );
    assert_eq!(
        failed(&run).to_string(),
        format!(
            "long-running operation failed: https://s.example/o answered 200 OK: operation Failed: {}…[{} more bytes]",
            "m".repeat(300),
            100_000 - 300
        )
    );
    // A status word as sent (unrecognised: polled until the limit), escaped; one poll, not "1 polls".
    const ODD: R = r(200, &[], "{\"status\":\"Run\\u001b[31mning\\n200 OK\"}");
    let mut c = cfg();
    c.max_polls = 1;
    let run = drive(c, "POST", "https://s.example/j", &[], SUBMIT, &[ODD]);
    assert_eq!(
        failed(&run).to_string(),
        "long-running operation exceeded the poll limit: https://s.example/o still Run\\x1b[31mning\\n200 OK after 1 poll (limit 1)"
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        r(202, &[("operation-location", "ftp://x.example/o")], ""),
        &[],
    );
    assert_eq!(
        failed(&run).to_string(),
        "long-running operation refused an insecure URL: https://s.example/j answered 202 Accepted with operation-location \"ftp://x.example/o\": scheme `ftp` is not http or https"
    );
}

#[test]
fn bad_monitor_headers_name_the_header_and_value() {
    #[rustfmt::skip]
    let rows: &[(&[(&str, &str)], ErrorKind, fn(&Reason) -> bool)] = &[
        (&[("operation-location", "")], ErrorKind::Protocol, |r| matches!(r, Reason::BadHeader { name, why: UrlProblem::Unreadable(UrlHeaderError::Empty), .. } if name == OPERATION_LOCATION)),
        (&[("operation-location", "ftp://x.example/o")], ErrorKind::Insecure, |r| matches!(r, Reason::BadHeader { why: UrlProblem::Unreadable(UrlHeaderError::Scheme(s)), .. } if s == "ftp")),
        (&[("azure-asyncoperation", "http://a b")], ErrorKind::Protocol, |r| matches!(r, Reason::BadHeader { name, value, why: UrlProblem::Unreadable(UrlHeaderError::Invalid(_)), .. } if name == "azure-asyncoperation" && value == "http://a b")),
        (&[("location", "\"\"")], ErrorKind::Protocol, |r| matches!(r, Reason::BadHeader { name, why: UrlProblem::Unreadable(UrlHeaderError::Empty), .. } if name == "location")),
        (&[("operation-location", "http://s.example/o")], ErrorKind::Insecure, |r| matches!(r, Reason::BadHeader { why: UrlProblem::Downgrade { .. }, .. })),
    ];
    for (h, kind, reason) in rows {
        let h: &'static [(&str, &str)] = Box::leak(h.to_vec().into_boxed_slice());
        let run = drive(
            cfg(),
            "POST",
            "https://s.example/j",
            &[],
            r(202, h, ""),
            &[],
        );
        let e = failed(&run);
        assert_eq!(e.kind(), *kind, "{h:?}");
        assert!(reason(e.reason()), "{e:?}");
        assert_eq!(e.url(), Some("https://s.example/j"));
    }
    // Not UTF-8.
    let mut h = HeaderMap::new();
    h.insert(
        OPERATION_LOCATION,
        HeaderValue::from_bytes(b"https://\xff.example/").unwrap(),
    );
    let now = Now::new(Instant::now(), SystemTime::now());
    let e = start(cfg(), "https://s.example/j", &h, now).unwrap_err();
    assert!(matches!(
        e.reason(),
        Reason::BadHeader {
            why: UrlProblem::Unreadable(UrlHeaderError::NotAscii),
            ..
        }
    ));
}

#[test]
fn polls_carry_the_right_headers_and_query() {
    const SUBMIT: R = r(
        202,
        &[("operation-location", "https://s.example/o?x=1")],
        "",
    );
    const DONE: R = r(
        200,
        &[("resource-location", "https://other.example/r")],
        r#"{"status":"Succeeded"}"#,
    );
    let req = [
        ("authorization", "Bearer t"),
        ("cookie", "a=b"),
        ("ocp-apim-subscription-key", "k"),
        ("accept", "application/json"),
        ("x-ms-client-request-id", "9C4D50EE"),
        ("content-type", "application/json"),
        ("content-length", "10"),
        ("transfer-encoding", "chunked"),
        ("expect", "100-continue"),
        ("host", "s.example"),
        ("if-match", "*"),
        ("connection", "keep-alive, x-hop"),
        ("x-hop", "1"),
        ("prefer", "return=minimal"),
        ("repeatability-request-id", "r1"),
    ];
    let url = "https://s.example/j?api-version=2.0&subscription-key=sk&other=1";
    let mut c = cfg();
    c.carry_query.push("subscription-key".into());
    let run = drive(c, "POST", url, &req, SUBMIT, &[DONE, RESOURCE]);
    let poll = &run.requests[0];
    assert_eq!(
        poll.uri().to_string(),
        "https://s.example/o?x=1&api-version=2.0&subscription-key=sk"
    );
    let sent = poll.headers();
    let names: Vec<&str> = sent.keys().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "authorization",
            "cookie",
            "ocp-apim-subscription-key",
            "accept",
            "x-ms-client-request-id"
        ]
    );
    // Another origin: no credentials, no credential query parameter.
    let fetch = &run.requests[1];
    assert_eq!(
        fetch.uri().to_string(),
        "https://other.example/r?api-version=2.0"
    );
    let sent = fetch.headers();
    let mut names: Vec<&str> = sent.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["accept", "x-ms-client-request-id"]);
    let req: Request<()> = fetch.clone().into_request();
    assert_eq!(req.method(), Method::GET);
    assert_eq!(
        req.extensions().get::<LroRequest>().map(LroRequest::kind),
        Some(PollKind::Resource)
    );
    assert_eq!(
        req.extensions()
            .get::<LroRequest>()
            .map(LroRequest::attempt),
        Some(1)
    );

    // An allowed origin receives them.
    let mut c = cfg();
    c.allowed_origins
        .push(crate::config::Origin::parse("https://other.example").unwrap());
    let run = drive(c, "POST", url, &req_pairs(), SUBMIT, &[DONE, RESOURCE]);
    assert!(run.requests[1].headers().contains_key("authorization"));

    // Cumulative: once a request went to a foreign origin, later ones carry none either.
    const FOREIGN: R = r(
        202,
        &[("operation-location", "https://status.example/o")],
        "",
    );
    const BACK: R = r(
        200,
        &[("resource-location", "https://s.example/r")],
        r#"{"status":"Succeeded"}"#,
    );
    let run = drive(cfg(), "POST", url, &req_pairs(), FOREIGN, &[BACK, RESOURCE]);
    assert!(!run.requests[0].headers().contains_key("authorization"));
    assert!(!run.requests[1].headers().contains_key("authorization"));
}

fn req_pairs() -> Vec<(&'static str, &'static str)> {
    vec![
        ("authorization", "Bearer t"),
        ("accept", "application/json"),
    ]
}

#[test]
fn resume_continues_from_a_handle() {
    const SUBMIT: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "99999"),
        ],
        "",
    );
    let mut c = cfg();
    c.deadline = Duration::from_secs(10);
    let run = drive(
        c,
        "POST",
        "https://s.example/j?api-version=1",
        &[("authorization", "a")],
        SUBMIT,
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    let json = serde_json::to_string(&handle).unwrap();
    let handle: ResumeHandle = serde_json::from_str(&json).unwrap();
    let head = RequestHead::new(
        Method::GET,
        "https://s.example/j".parse().unwrap(),
        headers(&[("authorization", "fresh")]),
    );
    let now = Instant::now();
    let (mut m, action) =
        Machine::resume(Arc::new(cfg()), &handle, &head, &Params::new(&cfg()), now).unwrap();
    let Plan::Send { at, request } = action else {
        panic!()
    };
    assert_eq!(at, now);
    assert_eq!(
        request.uri().to_string(),
        "https://s.example/o?api-version=1"
    );
    assert_eq!(request.headers()["authorization"], "fresh");
    let body = Bytes::from_static(br#"{"status":"Succeeded"}"#);
    assert!(matches!(
        m.handle_answer(
            Now::new(now, SystemTime::now()),
            Answer {
                status: StatusCode::OK,
                headers: &HeaderMap::new(),
                body: Some(&body)
            }
        ),
        Action::Deliver(_)
    ));

    let mut bad = handle.clone();
    bad.version = 99;
    let e = Machine::resume(Arc::new(cfg()), &bad, &head, &Params::new(&cfg()), now).unwrap_err();
    assert!(matches!(
        e.reason(),
        Reason::BadHandle {
            why: crate::error::HandleProblem::Version(99)
        }
    ));
}

#[test]
fn failure_as_response_delivers_the_terminal_status() {
    let mut c = cfg();
    c.failure_as_response = true;
    let run = drive(c, "POST", SUBMIT_URL, &[], V2_SUBMIT, &[FAILED]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.status()), (0, &OperationStatus::parse("Failed")));
}

#[test]
fn resource_fetch_retries_transient_and_delivers_anything_else() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_SUCCEEDED_RES, r(503, &[], ""), r(404, &[], "nope")],
    );
    assert_eq!(
        schedule(&run)[1..],
        [(1.0, TILESET, Resource), (2.0, TILESET, Resource)][..]
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.polls()), (2, 1));
}

#[test]
fn absolute_urls_go_out_as_the_server_wrote_them() {
    // The seed's own placeholder: a URL parser would percent-encode the braces.
    const SUBMIT: R = r(
        202,
        &[(
            "Operation-Location",
            "https://atlas.microsoft.com/service/operations/{operationId} ",
        )],
        "",
    );
    const DONE: R = r(
        200,
        &[(
            "Resource-Location",
            "\"https://atlas.microsoft.com/tileset/{tileset-id}\"",
        )],
        r#"{"status":"Succeeded"}"#,
    );
    let run = drive(
        cfg(),
        "POST",
        "https://atlas.microsoft.com/mapData?api-version=2.0",
        &[],
        SUBMIT,
        &[DONE, RESOURCE],
    );
    assert_eq!(
        run.sent[0].uri,
        "https://atlas.microsoft.com/service/operations/{operationId}?api-version=2.0"
    );
    assert_eq!(
        run.sent[1].uri,
        "https://atlas.microsoft.com/tileset/{tileset-id}?api-version=2.0"
    );
    // Already carrying the parameter, with a query of its own: untouched.
    const OWN: R = r(
        202,
        &[(
            "operation-location",
            "https://s.example/o?api-version=9&x=a%20b",
        )],
        "",
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j?api-version=1",
        &[],
        OWN,
        &[r(200, &[], r#"{"status":"Succeeded"}"#)],
    );
    assert_eq!(run.sent[0].uri, "https://s.example/o?api-version=9&x=a%20b");
    // Relative references are resolved (RFC 3986) and serialised.
    const REL: R = r(202, &[("operation-location", "../ops/{id}")], "");
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/a/b/j",
        &[],
        REL,
        &[r(200, &[], r#"{"status":"Succeeded"}"#)],
    );
    assert_eq!(run.sent[0].uri, "https://s.example/a/ops/%7Bid%7D");
}

#[test]
fn a_refused_scheme_is_insecure_wherever_it_comes_from() {
    const SUBMIT: R = r(202, &[("location", "https://s.example/ops/1")], "");
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[r(202, &[("location", "ftp://s.example/ops/2")], "")],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure, "{}", failed(&run));
    const OL: R = r(202, &[("operation-location", "https://s.example/o")], "");
    let body_rl = r(
        200,
        &[],
        r#"{"status":"Succeeded","resourceLocation":"file:///etc/passwd"}"#,
    );
    let run = drive(cfg(), "POST", "https://s.example/j", &[], OL, &[body_rl]);
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure, "{}", failed(&run));
}

/// Origins are compared as the URL standard does whether or not a URL took the fast path:
/// host case and an explicit default port do not make a foreign origin; another port does.
#[test]
fn origins_match_across_spellings() {
    const DONE: R = r(
        200,
        &[("resource-location", "https://S.example:443/r/1")],
        r#"{"status":"Succeeded"}"#,
    );
    const SUBMIT: R = r(
        202,
        &[("operation-location", "HTTPS://s.EXAMPLE/o/{id}?x=1")],
        "",
    );
    let req = [
        ("authorization", "Bearer t"),
        ("accept", "application/json"),
    ];
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &req,
        SUBMIT,
        &[DONE, RESOURCE],
    );
    // Sent as the server wrote it; same origin, so the credentials stay.
    let poll = &run.requests[0];
    assert_eq!(poll.uri().to_string(), "https://s.EXAMPLE/o/{id}?x=1");
    assert!(poll.headers().contains_key("authorization"));
    let fetch = &run.requests[1];
    assert!(fetch.headers().contains_key("authorization"));

    const ELSEWHERE: R = r(
        202,
        &[("operation-location", "https://s.example:8443/o/1")],
        "",
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &req,
        ELSEWHERE,
        &[DONE, RESOURCE],
    );
    assert!(!run.requests[0].headers().contains_key("authorization"));
    assert!(!run.requests[1].headers().contains_key("authorization"));
}

/// The query-pair reader's shortcut (nothing to decode) reads exactly what the form decoder does.
#[test]
fn query_pairs_read_like_the_form_decoder() {
    for q in [
        "api-version=2.0",
        "a=1&b=2&a=3",
        "&&a=&=x&b",
        "k==v&x=y=z",
        "sub%2Dkey=s%20k&c+d=1",
        "",
    ] {
        let want: Vec<(String, String)> = url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let got: Vec<(String, String)> = query_pairs(q)
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(got, want, "{q:?}");
    }
}

/// What a waiting operation holds stays its size: the machine (boxed once per operation) and
/// the poll request a waiting driver keeps. Only declared dialects pay for their extras, in
/// their own box; the carried headers are a slice (a wide pointer: 16 bytes in the machine
/// and 8 in the request buy back about 550 heap bytes and two allocations per operation).
/// 64-bit targets; the figures BENCHMARKS.md cites.
#[test]
#[cfg(target_pointer_width = "64")]
fn waiting_state_does_not_grow() {
    assert!(std::mem::size_of::<Machine>() <= 528, "Machine grew");
    assert!(
        std::mem::size_of::<PollRequest>() <= 120,
        "PollRequest grew"
    );
}

mod duplicates_tests;
mod requests_tests;
mod services_tests;
