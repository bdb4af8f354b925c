//! A declared cancel's `answer`: one row per documented answer of a real service to its
//! cancel (the answer taken, the answer saying nothing was done, or a service whose answer
//! says nothing either way and is judged by its status), and the member's checks.

use http::StatusCode;

use super::tests::{declared, fixture, headers, started};
use crate::proto::dialect::Dialect;

/// The dialect, the submission and its answer's body (empty: a `202` naming its monitor in
/// `Location`), then the status, headers and body of the
/// answer to the cancel; what refuses it (place, word), `None` when nothing does.
type Row = (
    &'static str,
    Dialect,
    (&'static str, &'static str),
    &'static str,
    (u16, &'static [(&'static str, &'static str)], &'static str),
    Option<(&'static str, &'static str)>,
);

const RAY_JOB: (&str, &str) = ("POST", "http://ray.example:8265/api/jobs/");
const RAY_SUBMITTED: &str = r#"{"job_id": "raysubmit_1", "submission_id": "raysubmit_1"}"#;
const BATCH: (&str, &str) = ("POST", "https://api.openai.com/v1/batches");
const BATCH_SUBMITTED: &str =
    r#"{"id": "batch_abc123", "object": "batch", "status": "validating"}"#;

fn judged(row: Row) -> Option<(String, String)> {
    let (name, dialect, request, submitted, (status, answer, body)) =
        (row.0, row.1, row.2, row.3, row.4);
    // A description of its own starts on a `202` with `Location`; a service's on its `200`.
    let submission = match submitted {
        "" => (202, &[("location", "https://svc.example/ops/1")][..], ""),
        body => (200, &[][..], body),
    };
    let (mut m, _) = started(dialect, |p| p, request, &[], submission);
    let req = m.cancel_request().unwrap_or_else(|e| panic!("{name}: {e}"));
    let status = StatusCode::from_u16(status).unwrap();
    if !req.reads_answer(status) {
        return None;
    }
    req.refusal(&headers(answer), Some(body.as_bytes()))
}

#[test]
fn declared_answers_to_a_cancel_are_read() {
    let ray = || fixture("ray");
    let openai = || fixture("openai-batch");
    let rows: Vec<Row> = vec![
        // Ray Jobs REST API (docs.ray.io, "Ray Jobs REST API", Stop a Job; the OpenAPI
        // document's `JobStopResponse`): `POST /api/jobs/{id}/stop` answers `{"stopped": …}`,
        // `false` when the job had already ended (captured from Ray 2.60.0).
        (
            "Ray: a running job stopped",
            ray(),
            RAY_JOB,
            RAY_SUBMITTED,
            (200, &[], r#"{"stopped": true}"#),
            None,
        ),
        (
            "Ray: a finished job not stopped",
            ray(),
            RAY_JOB,
            RAY_SUBMITTED,
            (200, &[], r#"{"stopped": false}"#),
            Some(("/stopped", "false")),
        ),
        (
            "Ray: an answer naming `stopped` twice is no answer to trust",
            ray(),
            RAY_JOB,
            RAY_SUBMITTED,
            (200, &[], r#"{"stopped": true, "stopped": false}"#),
            Some(("/stopped", "`/stopped` more than once")),
        ),
        (
            "Ray: a 2xx that says nothing at the place is judged by its status",
            ray(),
            RAY_JOB,
            RAY_SUBMITTED,
            (200, &[], "stopping"),
            None,
        ),
        (
            "Ray: a status other than 2xx is not read (it refuses by itself)",
            ray(),
            RAY_JOB,
            RAY_SUBMITTED,
            (500, &[], r#"{"stopped": false}"#),
            None,
        ),
        // OpenAI Batch API (API reference, cancel batch): the answer is the batch, its status
        // `cancelling` for up to 10 minutes, then `cancelled`.
        (
            "OpenAI: the batch cancelling",
            openai(),
            BATCH,
            BATCH_SUBMITTED,
            (
                200,
                &[],
                r#"{"id": "batch_abc123", "object": "batch", "status": "cancelling", "cancelling_at": 1711074447}"#,
            ),
            None,
        ),
        (
            "OpenAI: a batch already cancelled",
            openai(),
            BATCH,
            BATCH_SUBMITTED,
            (200, &[], r#"{"id": "batch_abc123", "status": "cancelled"}"#),
            None,
        ),
        (
            "OpenAI: a batch that stays completed (a word not accepted refuses)",
            openai(),
            BATCH,
            BATCH_SUBMITTED,
            (200, &[], r#"{"id": "batch_abc123", "status": "completed"}"#),
            Some(("/status", "completed")),
        ),
        // Services whose answer says nothing either way: their descriptions have no `answer`,
        // and the status alone decides. GA4GH WES 1.x (`POST /runs/{run_id}/cancel` answers
        // `RunId`), GA4GH TES 1.1 (`POST /tasks/{id}:cancel` answers an empty
        // `tesCancelTaskResponse`), Databricks Jobs API 2.1 (`runs/cancel` answers `{}`).
        (
            "GA4GH WES: {run_id}",
            fixture("wes"),
            ("POST", "https://wes.example/ga4gh/wes/v1/runs"),
            r#"{"run_id": "r1"}"#,
            (200, &[], r#"{"run_id": "r1"}"#),
            None,
        ),
        (
            "GA4GH TES: {}",
            fixture("tes"),
            ("POST", "https://tes.example/ga4gh/tes/v1/tasks"),
            r#"{"id": "job-0012345"}"#,
            (200, &[], "{}"),
            None,
        ),
        (
            "Databricks: {}",
            fixture("databricks"),
            (
                "POST",
                "https://dbc-a1b2.cloud.databricks.com/api/2.1/jobs/runs/submit",
            ),
            r#"{"run_id": 455644833}"#,
            (200, &[], "{}"),
            None,
        ),
        // The rules, on a description of its own.
        (
            "refused words only: another word is the status's to judge",
            declared(
                r#", "cancel": {"method": "DELETE", "answer": {"word": "/done", "refused": ["no"]}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            "",
            (200, &[], r#"{"done": "maybe"}"#),
            None,
        ),
        (
            "words compare as status words do (case, - and _ aside)",
            declared(
                r#", "cancel": {"method": "DELETE", "answer": {"word": "/state", "refused": ["not_stopped"]}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            "",
            (202, &[], r#"{"state": "NOT-STOPPED"}"#),
            Some(("/state", "NOT-STOPPED")),
        ),
        (
            "a word in a header",
            declared(
                r#", "cancel": {"method": "DELETE", "answer": {"word": {"header": "X-Cancel"}, "accepted": ["yes"]}}"#,
            ),
            ("POST", "https://svc.example/jobs"),
            "",
            (204, &[("x-cancel", "no")], ""),
            Some(("header X-Cancel", "no")),
        ),
    ];
    for row in rows {
        let (name, want) = (row.0, row.5);
        let want = want.map(|(p, w)| (p.to_owned(), w.to_owned()));
        assert_eq!(judged(row), want, "{name}");
    }
}

fn location(dialect: Dialect) -> Result<(), String> {
    let (mut m, _) = started(
        dialect,
        |p| p,
        ("POST", "https://svc.example/jobs"),
        &[],
        (202, &[("location", "https://svc.example/ops/1")], ""),
    );
    m.cancel_request().map(|_| ()).map_err(|e| e.to_string())
}

#[test]
fn a_cancel_answer_is_checked_when_the_description_is_read() {
    let base = r#""name": "jobs", "status_url": {"header": "Location"}, "status_word": "/status""#;
    let with = |answer: &str| {
        Dialect::from_json(&format!(
            r#"{{{base}, "cancel": {{"method": "POST", "answer": {answer}}}}}"#
        ))
    };
    for bad in [
        r#"{"word": "/stopped"}"#,
        r#"{"word": "/stopped", "accepted": [], "refused": []}"#,
        r#"{"word": "/state", "accepted": ["Stopped"], "refused": ["stopped"]}"#,
        r#"{"word": "/stopped", "accepted": ["true"], "equals": true}"#,
        r#"{"word": {"header": "bad header"}, "accepted": ["yes"]}"#,
        r#"{"accepted": ["true"]}"#,
    ] {
        assert!(with(bad).is_err(), "{bad}");
    }
    let ok = with(r#"{"word": "/stopped", "accepted": ["true"]}"#).unwrap();
    // A resume handle keeps it: `lro --cancel` reads the answer from the handle's dialect.
    let back = Dialect::from_handle(&ok.to_handle().unwrap()).unwrap();
    assert_eq!(back, ok);
    assert_eq!(back.cancel_answer(), ok.cancel_answer());
    assert!(back.cancel_answer().is_some());
    location(back).unwrap();
}
