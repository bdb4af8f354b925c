//! A declared cancel's headers and body: the rows of the services that cancel so (AWS Step
//! Functions' `StopExecution`, Databricks' `runs/cancel` with a numeric `run_id`, Apache
//! Airflow's `PATCH` of a DAG run to `failed`; Durable Functions' `terminate`, a URL made of the
//! status URL's path and query), every header and the body sent, and the same request made
//! again from a resume handle.

use std::sync::Arc;
use std::time::Instant;

use http::Method;

use super::super::{Params, RequestHead};
use super::from_handle;
use super::tests::{check_rows, declared, fixture, headers, started, Row};
use crate::cancel::NotCancellable;
use crate::config::Config;

#[test]
fn declared_cancels_send_their_headers_and_body() {
    let location =
        |url: &'static str| -> Vec<(&'static str, &'static str)> { vec![("location", url)] };
    let rows: Vec<Row> = vec![
        (
            "AWS Step Functions: StopExecution, POST / with X-Amz-Target and {executionArn}",
            fixture("step-functions"),
            ("POST", "https://states.us-east-1.amazonaws.com/"),
            (
                200,
                vec![("content-type", "application/x-amz-json-1.0")],
                r#"{"executionArn": "arn:aws:states:us-east-1:123456789012:execution:hello:run-1", "startDate": 1.7E9}"#,
            ),
            Ok((
                Method::POST,
                "https://states.us-east-1.amazonaws.com/",
                &[
                    ("content-type", "application/x-amz-json-1.0"),
                    ("x-amz-target", "AWSStepFunctions.StopExecution"),
                ],
                Some(
                    r#"{"executionArn":"arn:aws:states:us-east-1:123456789012:execution:hello:run-1"}"#,
                ),
            )),
        ),
        (
            "Databricks: POST /api/2.1/jobs/runs/cancel with {run_id}, a number (Jobs API, cancel a run)",
            fixture("databricks"),
            (
                "POST",
                "https://dbc-a1b2.cloud.databricks.com/api/2.1/jobs/runs/submit",
            ),
            (200, vec![], r#"{"run_id": 455644833}"#),
            Ok((
                Method::POST,
                "https://dbc-a1b2.cloud.databricks.com/api/2.1/jobs/runs/cancel",
                &[("content-type", "application/json")],
                Some(r#"{"run_id":455644833}"#),
            )),
        ),
        (
            "Apache Airflow: PATCH the DAG run (the status URL) with {\"state\": \"failed\"} (REST API v2, modify a DAG run)",
            fixture("airflow"),
            (
                "POST",
                "https://airflow.example/api/v2/dags/long/dagRuns",
            ),
            (
                200,
                vec![("content-type", "application/json")],
                r#"{"dag_run_id": "manual__2026-12-07T19:58:02.5+00:00", "dag_id": "long", "state": "queued"}"#,
            ),
            Ok((
                Method::PATCH,
                "https://airflow.example/api/v2/dags/long/dagRuns/manual__2026-12-07T19%3A58%3A02.5%2B00%3A00",
                &[("content-type", "application/json")],
                Some(r#"{"state":"failed"}"#),
            )),
        ),
        (
            "Durable Functions: POST the status URL's path + /terminate, its taskHub, connection and code kept (HTTP API, terminate instance)",
            fixture("durable"),
            ("POST", "https://app.azurewebsites.net/api/orchestrators/Hello"),
            (
                202,
                vec![("content-type", "application/json")],
                r#"{"id": "abc123", "statusQueryGetUri": "https://app.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123?taskHub=TestHub&connection=Storage&code=XYZ", "terminatePostUri": "https://app.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123/terminate?reason={text}&taskHub=TestHub&connection=Storage&code=XYZ"}"#,
            ),
            Ok((
                Method::POST,
                "https://app.azurewebsites.net/runtime/webhooks/durabletask/instances/abc123/terminate?reason=canceled&taskHub=TestHub&connection=Storage&code=XYZ",
                &[],
                None,
            )),
        ),
        (
            "declared PUT with a body on a template: the method as declared",
            declared(
                r#", "operation_id": {"header": "x-job-id"},
                "cancel": {"method": "PUT", "url": {"template": "/jobs/{/operation_id}/state"},
                           "body": {"state": "cancelled"}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            (202, vec![("location", "/ops/1"), ("x-job-id", "j-7")], ""),
            Ok((
                Method::PUT,
                "https://svc.example/jobs/j-7/state",
                &[("content-type", "application/json")],
                Some(r#"{"state":"cancelled"}"#),
            )),
        ),
        (
            "declared DELETE with a header and no url: the status URL, the header added",
            declared(r#", "cancel": {"method": "DELETE", "headers": {"X-Reason": "user"}}"#),
            ("POST", "https://svc.example/jobs"),
            (202, location("/jobs/1"), ""),
            Ok((
                Method::DELETE,
                "https://svc.example/jobs/1",
                &[("x-reason", "user")],
                None,
            )),
        ),
        (
            "declared POST body reading the status URL and the id, beside literals",
            declared(
                r#", "operation_id": {"header": "x-job-id"},
                "cancel": {"method": "POST", "url": {"template": "/cancel"},
                           "body": {"job": "{/operation_id}", "at": "{status_url}", "hard": true}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            (202, vec![("location", "/ops/1"), ("x-job-id", "j-7")], ""),
            Ok((
                Method::POST,
                "https://svc.example/cancel",
                // No type named: the JSON body says it is JSON.
                &[("content-type", "application/json")],
                Some(r#"{"at":"https://svc.example/ops/1","hard":true,"job":"j-7"}"#),
            )),
        ),
        (
            "declared POST body whose id is unknown: nothing is sent",
            declared(r#", "cancel": {"method": "POST", "body": {"job": "{/operation_id}"}}"#),
            ("POST", "https://svc.example/jobs"),
            (202, location("/jobs/1"), ""),
            Err(NotCancellable::Body {
                problem: "`{/operation_id}` finds nothing".into(),
            }),
        ),
    ];
    check_rows(rows);
}

#[test]
fn a_handle_cancels_with_the_declared_headers_and_body() {
    let (m, _) = started(
        fixture("step-functions"),
        |p| p,
        ("POST", "https://states.us-east-1.amazonaws.com/"),
        &[("x-amz-target", "AWSStepFunctions.StartExecution")],
        (
            200,
            &[],
            r#"{"executionArn": "arn:aws:states:::execution:m:r"}"#,
        ),
    );
    let json = serde_json::to_string(&m.resume_handle()).unwrap();
    let handle: crate::ResumeHandle = serde_json::from_str(&json).unwrap();
    let cfg = Arc::new(Config::default());
    // The resuming request carries the submission's target: the description's replaces it.
    let head = RequestHead::new(
        Method::GET,
        "https://states.us-east-1.amazonaws.com/".parse().unwrap(),
        headers(&[("x-amz-target", "AWSStepFunctions.StartExecution")]),
    );
    let params = Params::new(&cfg);
    let req = from_handle(cfg, &handle, &head, &params, Instant::now()).unwrap();
    assert_eq!(req.method(), Method::POST);
    assert_eq!(
        req.headers()["x-amz-target"],
        "AWSStepFunctions.StopExecution"
    );
    assert_eq!(req.headers().get_all("x-amz-target").iter().count(), 1);
    assert_eq!(
        req.body().map(|b| &b[..]),
        Some(&br#"{"executionArn":"arn:aws:states:::execution:m:r"}"#[..])
    );
}
