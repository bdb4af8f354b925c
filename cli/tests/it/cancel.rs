//! `lro --cancel HANDLE` and `--cancel-on-interrupt`, through the built binary: which request
//! goes out per dialect (a declared one's by the operation id it read: Flower's revoke), with
//! which credentials, and the exit codes (a refused cancel is not a success).

use std::time::Duration;

use crate::dialect_fixtures::fixture;
use crate::support::{lro, lro_interrupted_while_waiting, lro_with_stdin, resp, temp_dir, Mock};

/// A server whose operation `/ops/9` runs forever; `DELETE /ops/9` answers `cancel_status`,
/// and `POST /v1/operations/op-9:cancel` 200.
async fn server(cancel_status: u16) -> Mock {
    Mock::start(move |req, base| {
        match (req.method.as_str(), req.target.split('?').next().unwrap()) {
            ("POST", "/jobs") => resp(202, &[("operation-location", format!("{base}/ops/9"))], ""),
            ("GET", "/ops/9") => resp(
                200,
                &[("retry-after", "30".to_owned())],
                r#"{"id":"9","status":"Running"}"#,
            ),
            ("DELETE", "/ops/9") => resp(cancel_status, &[], "no\u{1b}[2J"),
            ("POST", "/v1/operations/op-9:cancel") => resp(200, &[], "{}"),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

fn handle(base: &str, rule: &str, operation: &str, dialect: &str) -> String {
    format!(
        r#"{{"version":1,"rule":"{rule}","method":"POST","request_url":"{base}/jobs",
        "operation_url":"{base}{operation}","final_state":"auto","operation_id":null,
        "origin":"{base}","header_names":["authorization"],"polls":1{dialect}}}"#
    )
}

fn write(name: &str, text: &str) -> String {
    let path = temp_dir(name).join("handle.json");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_sends_delete_on_the_monitor_with_the_credentials_given() {
    let mock = server(202).await;
    let file = write(
        "cancel-default",
        &handle(&mock.base, "operation-location", "/ops/9", ""),
    );
    let run = lro(&["--cancel", &file, "-H", "Authorization: Bearer fresh"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("accepted"), "{run:?}");
    assert!(
        !run.stderr.contains("fresh"),
        "credentials are never printed: {run:?}"
    );
    let seen = mock.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("DELETE", "/ops/9")
    );
    assert_eq!(seen[0].headers["authorization"], "Bearer fresh");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancel_the_server_refuses_is_not_a_success() {
    for status in [405, 404, 501, 409, 500] {
        let mock = server(status).await;
        let text = handle(&mock.base, "operation-location", "/ops/9", "");
        let run = lro_with_stdin(&["--cancel", "-"], &text).await;
        let stderr = &run.stderr;
        assert_eq!(run.code, 9, "{status}: {stderr}");
        assert!(
            [": ", "answered "]
                .iter()
                .any(|before| stderr.contains(&format!("{before}{status} "))),
            "{status}: {stderr}"
        );
        assert!(!stderr.contains('\u{1b}'), "{stderr}");
        // A refusal shows what the server said, escaped.
        let said = stderr.contains("the server said: no\\x1b[2J");
        assert_eq!(said, matches!(status, 409 | 500), "{status}: {stderr}");
        assert_eq!(mock.count("/ops/9"), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_follows_the_dialect_of_the_handle() {
    let mock = server(202).await;
    let google = handle(
        &mock.base,
        "google-operation",
        "/v1/operations/op-9",
        r#","dialect":{"google":{"base":null}}"#,
    );
    let run = lro(&["--cancel", &write("cancel-google", &google)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let seen = mock.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].target.as_str()),
        ("POST", "/v1/operations/op-9:cancel")
    );
    // Compute Engine operations cannot be cancelled: nothing is sent.
    let compute = handle(
        &mock.base,
        "compute-operation",
        "/ops/9",
        r#","dialect":"compute""#,
    );
    let run = lro(&["--cancel", &write("cancel-compute", &compute)]).await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(run.stderr.contains("cannot be cancelled"), "{run:?}");
    assert_eq!(mock.requests().len(), 1);
    // A handle that is not one is a usage error.
    let run = lro(&["--cancel", &write("cancel-bad", "{}")]).await;
    assert_eq!(run.code, 2, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_cancels_only_when_asked() {
    for asked in [true, false] {
        let mock = server(202).await;
        let file = temp_dir(&format!("cancel-interrupt-{asked}")).join("h.json");
        let url = format!("{}/jobs", mock.base);
        let mut args = vec!["-X", "POST", "--save-handle", file.to_str().unwrap(), &url];
        if asked {
            args.push("--cancel-on-interrupt");
        }
        let (mut child, mut lines) = lro_interrupted_while_waiting(&args).await;
        let rest = tokio::time::timeout(Duration::from_secs(20), async {
            let mut rest = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                rest.push(line);
            }
            rest
        })
        .await
        .unwrap();
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(130), "{rest:?}");
        let deletes = mock
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE" && r.target.starts_with("/ops/9"))
            .count();
        assert_eq!(deletes, usize::from(asked), "{rest:?}");
        let reported = rest
            .iter()
            .any(|l| l.contains("cancel DELETE") && l.contains("accepted"));
        assert_eq!(reported, asked, "{rest:?}");
        // The handle is saved either way.
        assert!(file.exists());
    }
}

/// A loopback Flower: `POST /api/task/async-apply/tasks.add` answers a task id (`PENDING`), the
/// task stays `PENDING` (a long `Retry-After`), and `POST /api/task/revoke/<id>` is Flower's
/// revoke (https://flower.readthedocs.io/en/latest/api.html, `POST /api/task/revoke/(.+)`).
async fn flower() -> Mock {
    const ID: &str = "3d28bb7c-a454-439a-b17a-79e4fd337e7a";
    Mock::start(
        move |req, _| match (req.method.as_str(), req.target.as_str()) {
            ("POST", "/api/task/async-apply/tasks.add") => resp(
                200,
                &[],
                &format!(r#"{{"task-id": "{ID}", "state": "PENDING"}}"#),
            ),
            ("GET", t) if t == format!("/api/task/result/{ID}") => resp(
                200,
                &[("retry-after", "30".to_owned())],
                &format!(r#"{{"task-id": "{ID}", "state": "PENDING"}}"#),
            ),
            ("POST", t) if t == format!("/api/task/revoke/{ID}") => {
                resp(200, &[], &format!(r#"{{"message": "Revoked '{ID}'"}}"#))
            }
            _ => resp(404, &[], ""),
        },
    )
    .await
}

/// The requests a mock saw, as `METHOD target`.
fn lines(mock: &Mock) -> Vec<String> {
    let seen = mock.requests();
    seen.iter()
        .map(|r| format!("{} {}", r.method, r.target))
        .collect()
}

/// Celery through Flower: the dialect reads the task id (`operation_id`: `/task-id`), so a
/// handle carries it and `--cancel` sends Flower's revoke for it, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_dialect_cancels_by_the_operation_id_it_read() {
    const REVOKE: &str = "POST /api/task/revoke/3d28bb7c-a454-439a-b17a-79e4fd337e7a";
    let mock = flower().await;
    let url = format!("{}/api/task/async-apply/tasks.add", mock.base);
    let dialect = fixture("celery-flower-task");
    let args = ["--dialect", &dialect, "--json", r#"{"args":[1,1]}"#];
    let started = lro(&[&args[..], &["--no-wait", &url]].concat()).await;
    assert_eq!(started.code, 0, "{started:?}");
    let handle = started.json();
    assert_eq!(
        handle["operation_id"],
        "3d28bb7c-a454-439a-b17a-79e4fd337e7a"
    );
    let run = lro_with_stdin(&["--cancel", "-"], &started.stdout).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("accepted"), "{run:?}");
    assert_eq!(
        lines(&mock),
        ["POST /api/task/async-apply/tasks.add", REVOKE]
    );
    // Interrupted while waiting, `--cancel-on-interrupt` sends the same revoke.
    let mock = flower().await;
    let url = format!("{}/api/task/async-apply/tasks.add", mock.base);
    let file = temp_dir("cancel-flower").join("h.json");
    let waiting = [
        "--save-handle",
        file.to_str().unwrap(),
        "--cancel-on-interrupt",
        &url,
    ];
    let (mut child, mut rest) =
        lro_interrupted_while_waiting(&[&args[..], &waiting].concat()).await;
    let code = tokio::time::timeout(Duration::from_secs(20), async {
        while let Ok(Some(_)) = rest.next_line().await {}
        child.wait().await.unwrap().code()
    })
    .await
    .unwrap();
    assert_eq!(code, Some(130));
    let seen = lines(&mock);
    assert_eq!(seen.iter().filter(|l| *l == REVOKE).count(), 1, "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some(REVOKE), "{seen:?}");
}

/// A loopback AWS Step Functions (AWS JSON protocol: every action is a `POST /` named by
/// `X-Amz-Target`): StartExecution answers an execution ARN, DescribeExecution says `RUNNING`,
/// StopExecution (API_StopExecution) answers a stop date.
async fn step_functions() -> Mock {
    Mock::start(move |req, _| {
        let target = req
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok());
        match (req.method.as_str(), req.target.as_str(), target) {
            ("POST", "/", Some("AWSStepFunctions.StartExecution")) => resp(
                200,
                &[],
                &format!(r#"{{"executionArn": "{ARN}", "startDate": 1.7E9}}"#),
            ),
            ("POST", "/", Some("AWSStepFunctions.DescribeExecution")) => resp(
                200,
                &[("retry-after", "30".to_owned())],
                &format!(r#"{{"executionArn": "{ARN}", "status": "RUNNING"}}"#),
            ),
            ("POST", "/", Some("AWSStepFunctions.StopExecution")) => {
                resp(200, &[], r#"{"stopDate": 1.7E9}"#)
            }
            _ => resp(400, &[], ""),
        }
    })
    .await
}

const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:hello:run-1";

/// Step Functions' cancel is a `POST /` with a target header and a JSON body: `--cancel` sends
/// the declared headers (replacing the target the caller gave) and the body with the ARN the
/// submission's answer named.
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_cancel_sends_its_headers_and_body() {
    let mock = step_functions().await;
    let dialect = fixture("aws-step-functions-execution");
    let start = "X-Amz-Target: AWSStepFunctions.StartExecution";
    let url = format!("{}/", mock.base);
    let started = lro(&[
        "--dialect",
        &dialect,
        "-H",
        start,
        "-H",
        "Content-Type: application/x-amz-json-1.0",
        "--data",
        r#"{"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:hello"}"#,
        "--no-wait",
        &url,
    ])
    .await;
    assert_eq!(started.code, 0, "{started:?}");
    assert_eq!(started.json()["operation_id"], ARN);
    let run = lro_with_stdin(&["--cancel", "-", "-H", start], &started.stdout).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("accepted"), "{run:?}");
    let seen = mock.requests();
    let cancel = seen.last().unwrap();
    assert_eq!(
        (cancel.method.as_str(), cancel.target.as_str()),
        ("POST", "/")
    );
    let targets: Vec<_> = cancel.headers.get_all("x-amz-target").iter().collect();
    assert_eq!(targets, ["AWSStepFunctions.StopExecution"], "{seen:?}");
    assert_eq!(cancel.headers["content-type"], "application/x-amz-json-1.0");
    let body: serde_json::Value = serde_json::from_slice(&cancel.body).unwrap();
    assert_eq!(body, serde_json::json!({ "executionArn": ARN }));
}

/// Databricks' cancel names the run by number (`run_id` is an int64): the handle keeps the id
/// as text, and the body sent is `{"run_id": 455644833}`, a JSON number.
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_cancel_body_sends_a_number_as_a_number() {
    let mock = Mock::start(move |req, _| {
        match (req.method.as_str(), req.target.split('?').next().unwrap()) {
            ("POST", "/api/2.1/jobs/runs/submit") => resp(200, &[], r#"{"run_id": 455644833}"#),
            ("POST", "/api/2.1/jobs/runs/cancel") => resp(200, &[], "{}"),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let dialect = fixture("databricks-job-run");
    let url = format!("{}/api/2.1/jobs/runs/submit", mock.base);
    let args = ["--dialect", &dialect, "--json", r#"{"run_name":"r"}"#];
    let started = lro(&[&args[..], &["--no-wait", &url]].concat()).await;
    assert_eq!(started.code, 0, "{started:?}");
    assert_eq!(started.json()["operation_id"], "455644833");
    let run = lro_with_stdin(&["--cancel", "-"], &started.stdout).await;
    assert_eq!(run.code, 0, "{run:?}");
    let seen = mock.requests();
    let cancel = seen.last().unwrap();
    assert_eq!(
        (cancel.method.as_str(), cancel.target.as_str()),
        ("POST", "/api/2.1/jobs/runs/cancel")
    );
    assert_eq!(cancel.headers["content-type"], "application/json");
    assert_eq!(&cancel.body[..], br#"{"run_id":455644833}"#);
}

/// Apache Airflow stops a DAG run by writing its state: `PATCH` of the run's own URL (the status
/// URL) with `{"state": "failed"}` (REST API v2, Modify a DAG Run). The run id holds `:` and
/// `+`, each escaped in its one segment.
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_cancel_patches_the_run() {
    const RUN: &str = "/api/v2/dags/long/dagRuns/manual__2026-12-07T19%3A58%3A02.5%2B00%3A00";
    let mock = Mock::start(move |req, _| {
        let queued = r#"{"dag_run_id": "manual__2026-12-07T19:58:02.5+00:00", "dag_id": "long", "state": "queued"}"#;
        match (req.method.as_str(), req.target.as_str()) {
            ("POST", "/api/v2/dags/long/dagRuns") => resp(200, &[], queued),
            ("PATCH", RUN) => resp(
                200,
                &[],
                r#"{"dag_run_id": "manual__2026-12-07T19:58:02.5+00:00", "state": "failed"}"#,
            ),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let dialect = fixture("apache-airflow-dag-run");
    let url = format!("{}/api/v2/dags/long/dagRuns", mock.base);
    let args = ["--dialect", &dialect, "--json", r#"{"logical_date":null}"#];
    let started = lro(&[&args[..], &["--no-wait", &url]].concat()).await;
    assert_eq!(started.code, 0, "{started:?}");
    let run = lro_with_stdin(&["--cancel", "-"], &started.stdout).await;
    assert_eq!(run.code, 0, "{run:?}");
    let seen = mock.requests();
    let cancel = seen.last().unwrap();
    assert_eq!(
        (cancel.method.as_str(), cancel.target.as_str()),
        ("PATCH", RUN)
    );
    assert_eq!(cancel.headers["content-type"], "application/json");
    assert_eq!(&cancel.body[..], br#"{"state":"failed"}"#);
}
