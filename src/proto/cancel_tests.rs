//! How each dialect cancels: one row per dialect and shape (which method, which URL, or why
//! none), the declared `cancel` member's checks, credentials on a foreign cancel URL, and the
//! opt-in cancel when the machine gives up. A declared cancel's headers and body:
//! `cancel_body_tests.rs`.

#![allow(clippy::type_complexity)] // the table is clearer spelled out

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use super::super::dialect::Dialect;
use super::super::{Action, Answer, Begin, Failure, Machine, Now, Params, Plan, RequestHead};
use super::*;
use crate::cancel::{CancelOutcome, NotCancellable};
use crate::config::Config;
use crate::error::{ErrorKind, Reason};
use crate::metadata::Rule;

pub(super) fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    h
}

/// A machine started by a submission's answer, in `dialect`.
pub(super) fn started(
    dialect: Dialect,
    params: impl FnOnce(Params) -> Params,
    (method, url): (&str, &str),
    request_headers: &[(&str, &str)],
    (status, answer, body): (u16, &[(&str, &str)], &str),
) -> (Box<Machine>, Plan) {
    let cfg = Config::default();
    let head = RequestHead::new(
        method.parse().unwrap(),
        url.parse().unwrap(),
        headers(request_headers),
    );
    let params = params(Params::new(&cfg).dialect(dialect));
    let now = Now::new(Instant::now(), SystemTime::now());
    let body = Bytes::from(body.to_owned());
    let begin = super::super::Submission::new(Arc::new(cfg), head, params, now)
        .start(
            StatusCode::from_u16(status).unwrap(),
            &headers(answer),
            Some(&body),
        )
        .unwrap();
    match begin {
        Begin::Lro(m, plan) => (m, plan),
        other => panic!("not an operation: {other:?}"),
    }
}

pub(super) fn declared(cancel: &str) -> Dialect {
    Dialect::from_json(&format!(
        r#"{{"name": "jobs", "status_url": {{"header": "Location"}}, "status_word": "/status"{cancel}}}"#
    ))
    .unwrap()
}

/// A fixture of `tests/fixtures/dialects/` by its short name (the core tables' one loader).
pub(super) use crate::proto::tests::dialect as fixture;

/// The expected cancel of a row: its method, URL, every header and body, or why there is
/// none.
pub(super) type Expected = Result<
    (
        Method,
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    ),
    NotCancellable,
>;

/// No header sent (the rows' submissions carry none).
pub(super) const NONE: &[(&str, &str)] = &[];

#[test]
fn each_dialect_says_how_it_is_cancelled() {
    let location =
        |url: &'static str| -> Vec<(&'static str, &'static str)> { vec![("location", url)] };
    let rows: Vec<Row> = vec![
        (
            "default, Operation-Location: DELETE on the monitor, carried query",
            Dialect::default(),
            ("POST", "https://svc.example/jobs?api-version=2"),
            (
                202,
                vec![("operation-location", "https://svc.example/ops/1")],
                "",
            ),
            Ok((
                Method::DELETE,
                "https://svc.example/ops/1?api-version=2",
                NONE,
                None,
            )),
        ),
        (
            "default, 202 + Location (OData, FHIR): DELETE on the monitor",
            Dialect::default(),
            ("POST", "https://svc.example/$export"),
            (202, location("https://svc.example/status/9"), ""),
            Ok((Method::DELETE, "https://svc.example/status/9", NONE, None)),
        ),
        (
            "default, provisioningState: the monitor is the resource",
            Dialect::default(),
            ("PUT", "https://svc.example/vms/1"),
            (
                201,
                vec![("content-type", "application/json")],
                r#"{"properties":{"provisioningState":"Creating"}}"#,
            ),
            Err(NotCancellable::Shape {
                rule: Rule::ProvisioningState,
            }),
        ),
        (
            "google: POST {name}:cancel under the service root",
            Dialect::google(),
            ("POST", "https://svc.example/v1/projects/p/instances"),
            (
                200,
                vec![("content-type", "application/json")],
                r#"{"name":"projects/p/operations/op-1","done":false}"#,
            ),
            Ok((
                Method::POST,
                "https://svc.example/v1/projects/p/operations/op-1:cancel",
                NONE,
                None,
            )),
        ),
        (
            "compute: not cancellable",
            Dialect::compute(),
            (
                "POST",
                "https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances",
            ),
            (
                200,
                vec![("content-type", "application/json")],
                r#"{"kind":"compute#operation","name":"op-1","status":"RUNNING","selfLink":"https://compute.googleapis.com/compute/v1/projects/p/zones/z/operations/op-1"}"#,
            ),
            Err(NotCancellable::Dialect { dialect: "compute" }),
        ),
        (
            "declared DELETE without url: the status URL",
            declared(r#", "cancel": {"method": "DELETE"}"#),
            ("POST", "https://svc.example/jobs"),
            (202, location("/jobs/1"), ""),
            Ok((Method::DELETE, "https://svc.example/jobs/1", NONE, None)),
        ),
        (
            "declared POST with a relative template: against the status URL",
            declared(r#", "cancel": {"method": "POST", "url": {"template": "1/dismiss"}}"#),
            ("POST", "https://svc.example/jobs"),
            (202, location("/jobs/"), ""),
            Ok((
                Method::POST,
                "https://svc.example/jobs/1/dismiss",
                NONE,
                None,
            )),
        ),
        (
            "fhir: DELETE on the Content-Location status URL (Bulk Data IG, delete a request)",
            Dialect::fhir(),
            ("GET", "https://fhir.example/r4/$export"),
            (
                202,
                vec![("content-location", "https://fhir.example/status/7")],
                "",
            ),
            Ok((Method::DELETE, "https://fhir.example/status/7", NONE, None)),
        ),
        (
            "ogc-processes: dismiss is DELETE on the job (OGC 18-062r2, dismiss)",
            Dialect::ogc_processes(),
            ("POST", "https://ogc.example/processes/echo/execution"),
            (201, location("https://ogc.example/jobs/j1"), ""),
            Ok((Method::DELETE, "https://ogc.example/jobs/j1", NONE, None)),
        ),
        (
            "declared without cancel",
            declared(""),
            ("POST", "https://svc.example/jobs"),
            (202, location("/jobs/1"), ""),
            Err(NotCancellable::NotDeclared {
                dialect: "jobs".into(),
            }),
        ),
        (
            "declared operation_id read with the first status (Flower: POST revoke/{task-id})",
            fixture("flower"),
            (
                "POST",
                "http://flower.example:5555/api/task/async-apply/tasks.add",
            ),
            (200, vec![], r#"{"task-id": "af2d-91", "state": "PENDING"}"#),
            Ok((
                Method::POST,
                "http://flower.example:5555/api/task/revoke/af2d-91",
                NONE,
                None,
            )),
        ),
        (
            "OpenAI batch: POST /v1/batches/{batch_id}/cancel (API reference, cancel batch)",
            fixture("openai-batch"),
            ("POST", "https://api.openai.com/v1/batches"),
            (
                200,
                vec![],
                r#"{"id": "batch_abc123", "object": "batch", "status": "validating"}"#,
            ),
            Ok((
                Method::POST,
                "https://api.openai.com/v1/batches/batch_abc123/cancel",
                NONE,
                None,
            )),
        ),
        (
            "Replicate: POST /v1/predictions/{id}/cancel (HTTP API, predictions.cancel)",
            fixture("replicate"),
            ("POST", "https://api.replicate.com/v1/predictions"),
            (
                201,
                vec![],
                r#"{"id": "gm3qorzdhgbfurvjtvhg6dckhu", "status": "starting", "urls": {"get": "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu"}}"#,
            ),
            Ok((
                Method::POST,
                "https://api.replicate.com/v1/predictions/gm3qorzdhgbfurvjtvhg6dckhu/cancel",
                NONE,
                None,
            )),
        ),
        (
            "Runpod: POST /v2/{endpoint}/cancel/{id}, beside status/ (job operations)",
            fixture("runpod"),
            ("POST", "https://api.runpod.ai/v2/32vgrms732dkwi/run"),
            (
                200,
                vec![],
                r#"{"id": "eaebd6e7-6a92", "status": "IN_QUEUE"}"#,
            ),
            Ok((
                Method::POST,
                "https://api.runpod.ai/v2/32vgrms732dkwi/cancel/eaebd6e7-6a92",
                NONE,
                None,
            )),
        ),
        (
            "Bedrock batch inference: POST /model-invocation-job/{jobIdentifier}/stop, the ARN one segment",
            fixture("bedrock-batch"),
            ("POST", "https://bedrock.us-east-1.amazonaws.com/model-invocation-job"),
            (
                200,
                vec![],
                r#"{"jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdef123456"}"#,
            ),
            Ok((
                Method::POST,
                "https://bedrock.us-east-1.amazonaws.com/model-invocation-job/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Amodel-invocation-job%2Fabcdef123456/stop",
                NONE,
                None,
            )),
        ),
        (
            "Vertex AI batch prediction: POST {name}:cancel under the regional /v1/",
            fixture("vertex-batch"),
            ("POST", "https://us-central1-aiplatform.googleapis.com/v1/projects/123/locations/us-central1/batchPredictionJobs"),
            (
                200,
                vec![],
                r#"{"name": "projects/123/locations/us-central1/batchPredictionJobs/456", "state": "JOB_STATE_PENDING"}"#,
            ),
            Ok((
                Method::POST,
                "https://us-central1-aiplatform.googleapis.com/v1/projects/123/locations/us-central1/batchPredictionJobs/456:cancel",
                NONE,
                None,
            )),
        ),
        (
            "declared operation_id of a submission that carries no word, a number",
            fixture("flower"),
            (
                "POST",
                "http://flower.example:5555/api/task/async-apply/tasks.add",
            ),
            (200, vec![], r#"{"task-id": 91}"#),
            Ok((
                Method::POST,
                "http://flower.example:5555/api/task/revoke/91",
                NONE,
                None,
            )),
        ),
        (
            "declared operation_id from a header, escaped as one segment",
            declared(
                r#", "operation_id": {"header": "x-job-id"},
                "cancel": {"method": "POST", "url": {"template": "/jobs/{/operation_id}/cancel"}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            (202, vec![("location", "/ops/1"), ("x-job-id", " j/7 ")], ""),
            Ok((
                Method::POST,
                "https://svc.example/jobs/j%2F7/cancel",
                NONE,
                None,
            )),
        ),
        (
            "declared operation_id that is a dot segment: no segment, not a step up",
            declared(
                r#", "operation_id": {"header": "x-job-id"},
                "cancel": {"method": "POST", "url": {"template": "/jobs/{/operation_id}/cancel"}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            (202, vec![("location", "/ops/1"), ("x-job-id", "..")], ""),
            Err(NotCancellable::Url {
                problem: "its template found nothing to fill in".into(),
            }),
        ),
        (
            "declared template whose placeholder finds nothing",
            declared(
                r#", "cancel": {"method": "POST", "url": {"template": "/revoke/{/operation_id}"}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            (202, location("/jobs/1"), ""),
            Err(NotCancellable::Url {
                problem: "its template found nothing to fill in".into(),
            }),
        ),
    ];
    check_rows(rows);
}

/// A row of a cancel table: its name, the dialect, the submission (method, URL), the answer
/// to it (status, headers, body) and the cancel expected.
pub(super) type Row = (
    &'static str,
    Dialect,
    (&'static str, &'static str),
    (u16, Vec<(&'static str, &'static str)>, &'static str),
    Expected,
);

/// Starts each row's operation and checks the cancel it asks for: method, URL, every header
/// and the body, or why there is none.
pub(super) fn check_rows(rows: Vec<Row>) {
    for (name, dialect, request, (status, answer, body), expected) in rows {
        let (mut m, _) = started(dialect, |p| p, request, &[], (status, &answer, body));
        let got = m.cancel_request();
        match (got, expected) {
            (Ok(req), Ok((method, url, want_headers, want_body))) => {
                assert_eq!(
                    (req.method(), req.uri().to_string().as_str()),
                    (&method, url),
                    "{name}"
                );
                let sent_headers = req.headers();
                let mut got: Vec<(&str, &str)> = sent_headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
                    .collect();
                got.sort_unstable();
                assert_eq!(got, want_headers, "{name}");
                let body = req.body().map(|b| std::str::from_utf8(b).unwrap());
                assert_eq!(body, want_body, "{name}");
                let sent: http::Request<()> = req.into_request();
                let info = sent.extensions().get::<crate::LroRequest>().unwrap();
                assert_eq!(info.kind(), PollKind::Cancel, "{name}");
                assert_eq!(sent.method(), method, "{name}");
            }
            (Err(e), Err(why)) => {
                assert_eq!(e.kind(), ErrorKind::NotCancellable, "{name}");
                assert_eq!(e.reason(), &Reason::NotCancellable(why), "{name}");
            }
            (got, expected) => panic!("{name}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn a_handle_cancels_with_what_it_recorded() {
    let dialect = declared(
        r#", "cancel": {"method": "POST", "url": {"template": "/api/task/revoke/{/operation_id}"}}"#,
    );
    let (m, _) = started(
        dialect,
        |p| p,
        ("POST", "https://svc.example/api/task/async-apply/add"),
        &[],
        (202, &[("location", "/api/task/info/t 1")], ""),
    );
    let mut handle = m.resume_handle();
    handle.operation_id = Some("t 1".to_owned());
    let json = serde_json::to_string(&handle).unwrap();
    let handle: crate::ResumeHandle = serde_json::from_str(&json).unwrap();
    let cfg = Arc::new(Config::default());
    let head = RequestHead::new(
        Method::GET,
        "https://svc.example/".parse().unwrap(),
        HeaderMap::new(),
    );
    let params = Params::new(&cfg);
    let req = from_handle(cfg, &handle, &head, &params, Instant::now()).unwrap();
    assert_eq!(req.method(), Method::POST);
    assert_eq!(
        req.uri().to_string(),
        "https://svc.example/api/task/revoke/t%201"
    );
}

#[test]
fn a_foreign_cancel_url_gets_no_credentials_and_an_internal_one_is_refused() {
    let auth = [("authorization", "Bearer secret"), ("x-ms-version", "1")];
    let go = |template: &str| {
        let cancel =
            format!(r#", "cancel": {{"method": "POST", "url": {{"template": "{template}"}}}}"#);
        let (mut m, _) = started(
            declared(&cancel),
            |p| p,
            ("POST", "https://svc.example/jobs"),
            &auth,
            (202, &[("location", "/jobs/1")], ""),
        );
        m.cancel_request()
    };
    let same = go("/jobs/1/cancel").unwrap();
    assert_eq!(same.headers()["authorization"], "Bearer secret");
    let foreign = go("https://other.example/jobs/1/cancel").unwrap();
    assert!(foreign.headers().get("authorization").is_none());
    assert_eq!(foreign.headers()["x-ms-version"], "1");
    let internal = go("http://169.254.169.254/latest/meta-data").unwrap_err();
    assert_eq!(internal.kind(), ErrorKind::Insecure);
    assert!(matches!(internal.reason(), Reason::Refused(_)));
}

#[test]
fn the_declared_cancel_is_checked_at_load() {
    let base = r#""status_url": {"header": "Location"}, "status_word": "/status""#;
    for (cancel, field) in [
        (
            r#"{"method": "DELETE", "url": {"header": "Location"}}"#,
            "cancel",
        ),
        (
            r#"{"method": "DELETE", "url": {"pointer": "/cancel"}}"#,
            "cancel",
        ),
        (r#"{"method": "GET"}"#, "`GET`"),
        (r#"{"method": "patch"}"#, "`patch`"),
        (r#"{"method": "DELETE", "body": "{}"}"#, "`body`"),
        (
            r#"{"method": "DELETE", "body": {"state": "x"}}"#,
            "not `DELETE`",
        ),
        (r#"{"url": {"template": "/x"}}"#, "`method`"),
        (
            r#"{"method": "POST", "url": {"template": "/x/{nope"}}"#,
            "without a `}`",
        ),
        (
            r#"{"method": "POST", "headers": {"Authorization": "Bearer x"}}"#,
            "may not be set",
        ),
        (
            r#"{"method": "POST", "headers": {"Content-Length": "2"}}"#,
            "may not be set",
        ),
        (
            r#"{"method": "POST", "headers": {"bad name": "1"}}"#,
            "not a header name",
        ),
        (
            r#"{"method": "POST", "body": {"id": "{/run_id}"}}"#,
            "does not know",
        ),
        (
            r#"{"method": "POST", "body": {"id": "{header:x-id}"}}"#,
            "does not know",
        ),
        (
            r#"{"method": "POST", "url": {"template": "{submission_url}/cancel"}}"#,
            "does not know",
        ),
        (
            r#"{"method": "POST", "url": {"template": "/c/{header:x-id}"}}"#,
            "does not know",
        ),
        (
            r#"{"method": "POST", "body": {"id": "{/operation_id"}}"#,
            "without a `}`",
        ),
    ] {
        let text = format!(r#"{{{base}, "cancel": {cancel}}}"#);
        let err = Dialect::from_json(&text).unwrap_err().to_string();
        assert!(err.contains(field), "{cancel}: {err}");
    }
    let ok = format!(
        r#"{{{base}, "cancel": {{"method": "POST", "url": {{"template": "/x/{{/operation_id}}"}}}}}}"#
    );
    let dialect = Dialect::from_json(&ok).unwrap();
    // It survives a resume handle.
    let back = Dialect::from_handle(&dialect.to_handle().unwrap()).unwrap();
    assert_eq!(back, dialect);
    // A body goes with `POST`, `PATCH` and `PUT`; each survives a handle too.
    for method in ["POST", "PATCH", "PUT"] {
        let ok = format!(
            r#"{{{base}, "cancel": {{"method": "{method}", "body": {{"state": "failed"}}}}}}"#
        );
        let dialect = Dialect::from_json(&ok).unwrap_or_else(|e| panic!("{method}: {e}"));
        let back = Dialect::from_handle(&dialect.to_handle().unwrap()).unwrap();
        assert_eq!(back, dialect, "{method}");
    }
}

#[test]
fn answers_to_a_cancel_are_judged() {
    for (status, outcome) in [
        (200, CancelOutcome::Accepted),
        (202, CancelOutcome::Accepted),
        (204, CancelOutcome::Accepted),
        (404, CancelOutcome::NotSupported),
        (405, CancelOutcome::NotSupported),
        (501, CancelOutcome::NotSupported),
        (400, CancelOutcome::Refused),
        (403, CancelOutcome::Refused),
        (409, CancelOutcome::Refused),
        (500, CancelOutcome::Refused),
        (302, CancelOutcome::Refused),
    ] {
        assert_eq!(
            judge(StatusCode::from_u16(status).unwrap()),
            outcome,
            "{status}"
        );
    }
}

const RUNNING: &str = r#"{"status":"Running"}"#;

fn polling(opt_in: bool) -> (Box<Machine>, Instant) {
    let (m, plan) = started(
        Dialect::default(),
        |p| p.deadline(Duration::from_secs(5)).cancel_on_give_up(opt_in),
        ("POST", "https://svc.example/jobs"),
        &[],
        (
            202,
            &[("operation-location", "https://svc.example/ops/1")],
            "",
        ),
    );
    let Plan::Send { at, .. } = plan else {
        panic!("{plan:?}")
    };
    (m, at)
}

#[test]
fn giving_up_cancels_only_when_asked() {
    for opt_in in [true, false] {
        // The server asks for a wait past the deadline: the machine gives up.
        let (mut m, at) = polling(opt_in);
        let h = headers(&[("retry-after", "60")]);
        let body = Bytes::from_static(RUNNING.as_bytes());
        let answer = Answer {
            status: StatusCode::OK,
            headers: &h,
            body: Some(&body),
        };
        let action = m.handle_answer(Now::new(at, SystemTime::now()), answer);
        match (opt_in, action) {
            (true, Action::Cancel { request, error }) => {
                assert_eq!(request.method(), Method::DELETE);
                assert_eq!(request.uri().to_string(), "https://svc.example/ops/1");
                assert_eq!(error.kind(), ErrorKind::Timeout);
                let noted = noted(error, &request, Some(StatusCode::ACCEPTED));
                assert_eq!(
                    noted.kind(),
                    ErrorKind::Timeout,
                    "the cancel never masks it"
                );
                assert!(noted.resume_handle().is_some());
                let c = noted.cancellation().unwrap();
                assert_eq!(
                    (c.outcome(), c.status()),
                    (CancelOutcome::Accepted, Some(StatusCode::ACCEPTED))
                );
            }
            (false, Action::Fail(error)) => {
                assert_eq!(error.kind(), ErrorKind::Timeout);
                assert!(error.cancellation().is_none());
            }
            (_, other) => panic!("opt-in {opt_in}: {other:?}"),
        }
        // The deadline passing with a poll in flight: the same.
        let (mut m, at) = polling(opt_in);
        let plan = m.handle_failure(Now::new(at, SystemTime::now()), Failure::DeadlinePassed);
        assert_eq!(matches!(plan, Plan::Cancel { .. }), opt_in, "{plan:?}");
        // A failure that is not giving up never cancels.
        let (mut m, at) = polling(opt_in);
        let body = Bytes::from_static(br#"{"status":"Failed"}"#);
        let answer = Answer {
            status: StatusCode::OK,
            headers: &HeaderMap::new(),
            body: Some(&body),
        };
        let action = m.handle_answer(Now::new(at, SystemTime::now()), answer);
        assert!(
            matches!(action, Action::Fail(ref e) if e.is_operation_failed()),
            "{action:?}"
        );
    }
}

#[test]
fn giving_up_on_a_dialect_that_cannot_cancel_just_fails() {
    let (mut m, plan) = started(
        Dialect::compute(),
        |p| p.deadline(Duration::from_secs(5)).cancel_on_give_up(true),
        (
            "POST",
            "https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances",
        ),
        &[],
        (
            200,
            &[("content-type", "application/json")],
            r#"{"kind":"compute#operation","name":"op-1","status":"RUNNING","selfLink":"https://compute.googleapis.com/compute/v1/projects/p/zones/z/operations/op-1"}"#,
        ),
    );
    let Plan::Send { at, .. } = plan else {
        panic!("{plan:?}")
    };
    let plan = m.handle_failure(Now::new(at, SystemTime::now()), Failure::DeadlinePassed);
    assert!(
        matches!(plan, Plan::Fail(ref e) if e.kind() == ErrorKind::Timeout),
        "{plan:?}"
    );
}
