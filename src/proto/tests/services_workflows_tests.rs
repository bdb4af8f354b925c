//! Workflow orchestrators described as declared dialects (the fixtures in
//! `tests/fixtures/dialects/`): one row per documented outcome, each citing the public document
//! it follows; the bodies are trimmed to the fields the layer reads and a few beside them. How
//! Airflow is cancelled is a row of `cancel_body_tests`; WES, TES and Ray are cancelled through
//! the built `lro` in `cli/tests/it/realservers_ga4gh.rs`.

use super::*;

/// Apache Airflow DAG runs (REST API v2): Trigger DAG Run (`POST
/// /api/v2/dags/{dag_id}/dagRuns`) answers `200` with the DAGRun, its `dag_run_id` and state
/// `queued`; Get DAG Run (`GET /api/v2/dags/{dag_id}/dagRuns/{dag_run_id}`) says `queued`,
/// `running`, then `success` or `failed`. A run is stopped by Modify a DAG Run (`PATCH` of the
/// same URL with `{"state": "failed"}`), after which it reads `failed`: Airflow has no word of
/// its own for a stopped run. The run id (`manual__{timestamp}`) holds `:` and `+`, escaped in
/// its one segment as Airflow 3.3.2 was sent them (`tests/fixtures/realservers/`).
/// https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html
#[test]
fn apache_airflow_dag_run_declared() {
    const RUNS: &str = "https://airflow.example/api/v2/dags/sleeps/dagRuns";
    const RUN: &str =
        "https://airflow.example/api/v2/dags/sleeps/dagRuns/manual__2026-12-07T19%3A56%3A11.033131%2B00%3A00";
    let state = |word: &'static str| -> R {
        r(
            200,
            &[("content-type", "application/json")],
            match word {
                "queued" => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"queued","end_date":null}"#
                }
                "running" => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"running","end_date":null}"#
                }
                "success" => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"success","end_date":"2026-12-07T19:56:16.4Z"}"#
                }
                _ => {
                    r#"{"dag_run_id":"manual__2026-12-07T19:56:11.033131+00:00","dag_id":"sleeps","state":"failed","end_date":"2026-12-07T19:56:16.4Z"}"#
                }
            },
        )
    };
    let triggered = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("airflow")),
            "POST",
            RUNS,
            &[("authorization", "Bearer eyJ-t")],
            state("queued"),
            polls,
        )
    };

    let run = triggered(&[state("queued"), state("running"), state("success")]);
    let (i, meta) = delivered(&run);
    assert_eq!((i, word(meta)), (2, ("success", Meaning::Succeeded)));
    assert_eq!(
        meta.operation_id(),
        Some("manual__2026-12-07T19:56:11.033131+00:00")
    );
    assert_eq!(run.sent.len(), 3);
    for sent in &run.sent {
        assert_eq!((sent.uri.as_str(), sent.kind), (RUN, PollKind::Status));
    }

    let run = triggered(&[state("running"), state("failed")]);
    let err = failed(&run);
    assert_eq!(
        (
            err.kind(),
            err.is_canceled(),
            err.operation_status().map(|s| (s.as_str(), s.meaning()))
        ),
        (
            ErrorKind::OperationFailed,
            false,
            Some(("failed", Meaning::Failed))
        )
    );

    // A run that is over when the first poll comes.
    let run = triggered(&[state("success")]);
    assert_eq!(word(delivered(&run).1), ("success", Meaning::Succeeded));
}

/// GA4GH Workflow Execution Service 1.x: `POST /ga4gh/wes/v1/runs` (a multipart form) answers
/// `200` and a `RunId`; `GET …/runs/{run_id}/status` answers `{run_id, state}`, `QUEUED`,
/// `INITIALIZING`, `RUNNING`, … `COMPLETE`, `EXECUTOR_ERROR`, `SYSTEM_ERROR`, `CANCELED`;
/// the run log `GET …/runs/{run_id}` holds the outputs, and for a run that ended in an error
/// what went wrong (`run_log.stderr`, `exit_code`): the fixture fetches it in both cases.
/// Shapes as wes-service 5.0 answered them (`tests/fixtures/realservers/`).
/// https://ga4gh.github.io/workflow-execution-service-schemas/
#[test]
fn ga4gh_wes_run_declared() {
    const RUNS: &str = "https://wes.example/ga4gh/wes/v1/runs";
    const STATUS: &str = "https://wes.example/ga4gh/wes/v1/runs/a889afb1/status";
    const LOG: &str = "https://wes.example/ga4gh/wes/v1/runs/a889afb1";
    let state = |word: &'static str| -> R {
        r(
            200,
            &[("content-type", "application/json")],
            match word {
                "QUEUED" => r#"{"run_id":"a889afb1","state":"QUEUED"}"#,
                "RUNNING" => r#"{"run_id":"a889afb1","state":"RUNNING"}"#,
                "COMPLETE" => r#"{"run_id":"a889afb1","state":"COMPLETE"}"#,
                "EXECUTOR_ERROR" => r#"{"run_id":"a889afb1","state":"EXECUTOR_ERROR"}"#,
                "CANCELING" => r#"{"run_id":"a889afb1","state":"CANCELING"}"#,
                _ => r#"{"run_id":"a889afb1","state":"CANCELED"}"#,
            },
        )
    };
    const RUN_LOG: R = r(
        200,
        &[("content-type", "application/json")],
        r#"{"run_id":"a889afb1","state":"COMPLETE","run_log":{"exit_code":0},"outputs":{"out":{"class":"File"}}}"#,
    );
    let run = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("wes")),
            "POST",
            RUNS,
            &[("content-type", "multipart/form-data; boundary=b")],
            r(200, &[], r#"{"run_id":"a889afb1"}"#),
            polls,
        )
    };

    let done = run(&[
        state("QUEUED"),
        state("RUNNING"),
        state("COMPLETE"),
        RUN_LOG,
    ]);
    let (i, meta) = delivered(&done);
    assert_eq!((i, word(meta)), (3, ("COMPLETE", Meaning::Succeeded)));
    assert_eq!(meta.operation_id(), Some("a889afb1"));
    let sent: Vec<_> = schedule(&done).iter().map(|(_, u, k)| (*u, *k)).collect();
    assert_eq!(
        sent,
        [
            (STATUS, Status),
            (STATUS, Status),
            (STATUS, Status),
            (LOG, Resource)
        ]
    );

    // A failed run leaves its log: delivered, the word and its meaning kept.
    let broke = run(&[state("RUNNING"), state("EXECUTOR_ERROR"), RUN_LOG]);
    let (i, meta) = delivered(&broke);
    assert_eq!((i, word(meta)), (2, ("EXECUTOR_ERROR", Meaning::Failed)));
    assert_eq!(broke.sent[2].uri, LOG);

    // `CANCELING` is still under way; `CANCELED` ends it, canceled, with no log fetched.
    let stopped = run(&[state("CANCELING"), state("CANCELED")]);
    assert!(failed(&stopped).is_canceled());
    assert_eq!(stopped.sent.len(), 2);
}

/// GA4GH Task Execution Service 1.1: `POST /ga4gh/tes/v1/tasks` answers `200` and `{id}`;
/// `GET /tasks/{id}?view=MINIMAL` answers only `id` and `state`; the whole task (logs,
/// outputs) is `view=FULL`, fetched on `COMPLETE` and on the error states.
/// https://github.com/ga4gh/task-execution-schemas/blob/v1.1/openapi/task_execution_service.openapi.yaml
#[test]
fn ga4gh_tes_task_declared() {
    const MINIMAL: &str = "https://tes.example/ga4gh/tes/v1/tasks/job-0012345?view=MINIMAL";
    const FULL: &str = "https://tes.example/ga4gh/tes/v1/tasks/job-0012345?view=FULL";
    let state = |word: &'static str| -> R {
        r(
            200,
            &[],
            match word {
                "QUEUED" => r#"{"id":"job-0012345","state":"QUEUED"}"#,
                "INITIALIZING" => r#"{"id":"job-0012345","state":"INITIALIZING"}"#,
                "COMPLETE" => r#"{"id":"job-0012345","state":"COMPLETE"}"#,
                "SYSTEM_ERROR" => r#"{"id":"job-0012345","state":"SYSTEM_ERROR"}"#,
                _ => r#"{"id":"job-0012345","state":"CANCELED"}"#,
            },
        )
    };
    const TASK: R = r(
        200,
        &[],
        r#"{"id":"job-0012345","state":"COMPLETE","logs":[]}"#,
    );
    let task = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("tes")),
            "POST",
            "https://tes.example/ga4gh/tes/v1/tasks",
            &[],
            r(200, &[], r#"{"id":"job-0012345"}"#),
            polls,
        )
    };

    let done = task(&[
        state("QUEUED"),
        state("INITIALIZING"),
        state("COMPLETE"),
        TASK,
    ]);
    let (i, meta) = delivered(&done);
    assert_eq!((i, word(meta)), (3, ("COMPLETE", Meaning::Succeeded)));
    let sent: Vec<_> = schedule(&done).iter().map(|(_, u, k)| (*u, *k)).collect();
    assert_eq!(
        sent,
        [
            (MINIMAL, Status),
            (MINIMAL, Status),
            (MINIMAL, Status),
            (FULL, Resource)
        ]
    );

    let broke = task(&[state("SYSTEM_ERROR"), TASK]);
    let (_, meta) = delivered(&broke);
    assert_eq!(word(meta), ("SYSTEM_ERROR", Meaning::Failed));
    assert_eq!(broke.sent[1].uri, FULL);

    assert!(failed(&task(&[state("CANCELED")])).is_canceled());
}

/// Ray Jobs REST API: `POST /api/jobs/` answers `200` with `job_id` and `submission_id`;
/// `GET /api/jobs/{submission_id}` answers the job's details, `status` `PENDING`, `RUNNING`,
/// `SUCCEEDED`, `FAILED` (`message` says why) or `STOPPED` (after `POST …/stop`); the output
/// is the job's logs, `GET /api/jobs/{submission_id}/logs`. Shapes as Ray 2.60.0 answered
/// them (`tests/fixtures/realservers/`).
/// https://docs.ray.io/en/latest/cluster/running-applications/job-submission/rest.html
#[test]
fn ray_job_declared() {
    const JOB: &str = "https://ray.example:8265/api/jobs/raysubmit_viLEgb1sVhfUXDD2";
    let status = |word: &'static str| -> R {
        r(
            200,
            &[("content-type", "application/json; charset=utf-8")],
            match word {
                "PENDING" => {
                    r#"{"type":"SUBMISSION","job_id":null,"submission_id":"raysubmit_viLEgb1sVhfUXDD2","status":"PENDING","message":"Job has not started yet. It may be waiting for resources (CPUs, GPUs, memory, custom resources) to become available. It may be waiting for the runtime environment to be set up."}"#
                }
                "RUNNING" => {
                    r#"{"type":"SUBMISSION","job_id":"02000000","submission_id":"raysubmit_viLEgb1sVhfUXDD2","status":"RUNNING","message":"Job is currently running."}"#
                }
                "SUCCEEDED" => {
                    r#"{"type":"SUBMISSION","job_id":"02000000","submission_id":"raysubmit_viLEgb1sVhfUXDD2","status":"SUCCEEDED","message":"Job finished successfully."}"#
                }
                "FAILED" => {
                    r#"{"type":"SUBMISSION","job_id":"02000000","submission_id":"raysubmit_viLEgb1sVhfUXDD2","status":"FAILED","message":"Job entrypoint command failed with exit code 3","error_type":"JOB_ENTRYPOINT_COMMAND_ERROR"}"#
                }
                _ => {
                    r#"{"type":"SUBMISSION","job_id":"02000000","submission_id":"raysubmit_viLEgb1sVhfUXDD2","status":"STOPPED","message":"Job was intentionally stopped."}"#
                }
            },
        )
    };
    let job = |polls: &[R]| {
        drive_with(
            cfg(),
            with(dialect("ray")),
            "POST",
            "https://ray.example:8265/api/jobs/",
            &[],
            r(
                200,
                &[],
                r#"{"job_id": "02000000", "submission_id": "raysubmit_viLEgb1sVhfUXDD2"}"#,
            ),
            polls,
        )
    };

    let done = job(&[
        status("PENDING"),
        status("RUNNING"),
        status("SUCCEEDED"),
        r(200, &[], r#"{"logs": "42\n"}"#),
    ]);
    let (i, meta) = delivered(&done);
    // The running states' messages are no error: the word decides.
    assert_eq!((i, word(meta)), (3, ("SUCCEEDED", Meaning::Succeeded)));
    assert_eq!(meta.operation_id(), Some("raysubmit_viLEgb1sVhfUXDD2"));
    let sent: Vec<_> = schedule(&done).iter().map(|(_, u, k)| (*u, *k)).collect();
    let logs = format!("{JOB}/logs");
    assert_eq!(
        sent,
        [
            (JOB, Status),
            (JOB, Status),
            (JOB, Status),
            (logs.as_str(), Resource)
        ]
    );

    assert_failed_with(
        &job(&[status("RUNNING"), status("FAILED")]),
        "Job entrypoint command failed with exit code 3",
    );
    assert!(failed(&job(&[status("STOPPED")])).is_canceled());
}
