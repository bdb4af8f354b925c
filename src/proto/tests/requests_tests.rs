//! Declared dialects that say how a status or a result is asked for (issue 15 items 2, 3, 5):
//! `HEAD` and `POST` checks, templates that read headers and URLs, `base_url` on every
//! relative form. Driven through the core, as the service rows are.

use super::*;
use crate::vocab::Meaning;

fn declared(text: &str) -> LroOptions {
    LroOptions::new().dialect(Dialect::from_json(text).unwrap())
}

fn transcribe() -> LroOptions {
    declared(include_str!(
        "../../../tests/fixtures/dialects/aws-transcribe-job.json"
    ))
}

const TRANSCRIBE: &str = "https://transcribe.us-east-1.amazonaws.com/";
const START: R = r(
    200,
    &[("content-type", "application/x-amz-json-1.1")],
    r#"{"TranscriptionJob":{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"IN_PROGRESS","LanguageCode":"en-US"}}"#,
);
const START_HEADERS: &[(&str, &str)] = &[
    ("x-amz-target", "Transcribe.StartTranscriptionJob"),
    ("content-type", "application/x-amz-json-1.1"),
    (
        "authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/...",
    ),
];

/// Amazon Transcribe over the AWS JSON protocol: `StartTranscriptionJob` answers the job
/// (`IN_PROGRESS`); it is checked with `POST /`, `X-Amz-Target: Transcribe.GetTranscriptionJob`
/// and `{"TranscriptionJobName": …}` until `COMPLETED`, and the transcript is fetched from
/// `Transcript.TranscriptFileUri`.
/// https://docs.aws.amazon.com/transcribe/latest/APIReference/API_StartTranscriptionJob.html,
/// https://docs.aws.amazon.com/transcribe/latest/APIReference/API_GetTranscriptionJob.html,
/// https://docs.aws.amazon.com/transcribe/latest/APIReference/API_TranscriptionJob.html
#[test]
fn aws_transcribe_job_declared() {
    const TRANSCRIPT: &str = "https://s3.us-east-1.amazonaws.com/aws-transcribe-us-east-1-prod/my-job.json?X-Amz-Signature=abc";
    let run = drive_with(
        cfg(),
        transcribe(),
        "POST",
        TRANSCRIBE,
        START_HEADERS,
        START,
        &[
            r(
                200,
                &[],
                r#"{"TranscriptionJob":{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"QUEUED"}}"#,
            ),
            r(
                200,
                &[],
                r#"{"TranscriptionJob":{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"COMPLETED",
                  "Transcript":{"TranscriptFileUri":"https://s3.us-east-1.amazonaws.com/aws-transcribe-us-east-1-prod/my-job.json?X-Amz-Signature=abc"}}}"#,
            ),
            r(
                200,
                &[],
                r#"{"results":{"transcripts":[{"transcript":"hello"}]}}"#,
            ),
        ],
    );
    let (i, meta) = delivered(&run);
    assert_eq!(i, 2);
    assert_eq!(meta.status().meaning(), Meaning::Succeeded);
    assert_eq!(meta.resource_url(), Some(TRANSCRIPT));
    let [first, second, fetch] = &run.requests[..] else {
        panic!("{:?}", run.sent)
    };
    for poll in [first, second] {
        assert_eq!(poll.method(), Method::POST);
        assert_eq!(poll.uri(), TRANSCRIBE);
        assert_eq!(poll.kind(), PollKind::Status);
        let h = poll.headers();
        assert_eq!(h["x-amz-target"], "Transcribe.GetTranscriptionJob");
        assert_eq!(h["content-type"], "application/x-amz-json-1.1");
        // Same origin: the caller's credentials go with the check, as with a GET.
        assert!(h.contains_key("authorization"));
        let body: serde_json::Value = serde_json::from_slice(poll.body().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"TranscriptionJobName": "my-job"}));
    }
    // The polls share one filled body: nothing is built per poll.
    assert_eq!(
        first.body().unwrap().as_ptr(),
        second.body().unwrap().as_ptr()
    );
    // The transcript is a plain GET on another origin: no credential, no body.
    assert_eq!(fetch.method(), Method::GET);
    assert_eq!(fetch.kind(), PollKind::Resource);
    assert!(fetch.body().is_none());
    assert!(!fetch.headers().contains_key("authorization"));
    assert!(!fetch.headers().contains_key("content-type"));

    let run = drive_with(
        cfg(),
        transcribe(),
        "POST",
        TRANSCRIBE,
        START_HEADERS,
        START,
        &[r(
            200,
            &[],
            r#"{"TranscriptionJob":{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"FAILED",
              "FailureReason":"The media format is not supported."}}"#,
        )],
    );
    let e = failed(&run);
    assert!(matches!(e.reason(), Reason::OperationFailed { .. }), "{e}");
    assert_eq!(message(e), Some("The media format is not supported."));
    // A start whose answer lacks the job's name cannot fill the check's body: said at once.
    let run = drive_with(
        cfg(),
        transcribe(),
        "POST",
        TRANSCRIBE,
        START_HEADERS,
        r(
            200,
            &[],
            r#"{"TranscriptionJob":{"TranscriptionJobStatus":"QUEUED"}}"#,
        ),
        &[],
    );
    let e = failed(&run);
    assert!(
        matches!(e.reason(), Reason::DialectBody { problem, .. } if problem.contains("status_request")),
        "{e}"
    );
}

/// A handle of a `POST`-checked operation keeps the filled body: the resumed machine sends
/// the same check.
#[test]
fn a_resumed_post_check_sends_the_same_body() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(1);
    let start = r(
        200,
        &[("retry-after", "5")],
        r#"{"TranscriptionJob":{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"QUEUED"}}"#,
    );
    let run = drive_with(
        c,
        transcribe(),
        "POST",
        TRANSCRIBE,
        START_HEADERS,
        start,
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    let json = serde_json::to_string(&handle).unwrap();
    let handle: ResumeHandle = serde_json::from_str(&json).unwrap();
    let head = RequestHead::new(Method::POST, TRANSCRIBE.parse().unwrap(), HeaderMap::new());
    let (_, plan) = Machine::resume(
        Arc::new(cfg()),
        &handle,
        &head,
        &Params::new(&cfg()),
        Instant::now(),
    )
    .unwrap();
    let Plan::Send { request, .. } = plan else {
        panic!("no poll")
    };
    assert_eq!(request.method(), Method::POST);
    assert_eq!(
        request.headers()["x-amz-target"],
        "Transcribe.GetTranscriptionJob"
    );
    assert_eq!(
        request.body().map(|b| &b[..]),
        Some(&br#"{"TranscriptionJobName":"my-job"}"#[..])
    );
}

/// Templates read a header of the submission's answer (a job id in `x-amz-job-id`); a
/// relative status template resolves against the submission's URL, a relative result
/// template against the status URL, `{status_url}` reads it.
#[test]
fn templates_read_headers_and_resolve_against_the_status_url() {
    let options = declared(
        r#"{"status_url": {"template": "jobs/{header:x-amz-job-id}"},
            "status_word": "/status",
            "result": [{"template": "{status_url}/output"}]}"#,
    );
    let run = drive_with(
        cfg(),
        options,
        "POST",
        "https://svc.example/v1/submit",
        &[],
        r(202, &[("x-amz-job-id", "j/7")], ""),
        &[
            r(200, &[], r#"{"status": "Running"}"#),
            r(200, &[], r#"{"status": "Succeeded"}"#),
            r(200, &[], "out"),
        ],
    );
    let uris: Vec<_> = run.sent.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "https://svc.example/v1/jobs/j%2F7",
            "https://svc.example/v1/jobs/j%2F7",
            "https://svc.example/v1/jobs/j%2F7/output",
        ]
    );
    let options = declared(
        r#"{"status_url": {"template": "jobs/{header:x-amz-job-id}"},
            "status_word": "/status", "result": {"template": "../results/1"}}"#,
    );
    let run = drive_with(
        cfg(),
        options,
        "POST",
        "https://svc.example/v1/submit",
        &[],
        r(202, &[("x-amz-job-id", "7")], ""),
        &[
            r(200, &[], r#"{"status": "Succeeded"}"#),
            r(200, &[], "out"),
        ],
    );
    // `../` of `/v1/jobs/7`, not of the submission's `/v1/submit`.
    assert_eq!(run.sent[1].uri, "https://svc.example/v1/results/1");
}

/// `base_url` applies to network-path references too: a broken server's `//evil.example/x`
/// stays on the base's origin. Without a base it names its host, and the origin rules judge
/// it: credentials do not go there, and an internal host is refused before any request.
#[test]
fn network_path_references_and_the_base_url() {
    let with_base = declared(
        r#"{"status_url": {"pointer": "/self"}, "status_word": "/status",
            "base_url": "https://api.example/v2"}"#,
    );
    let submit = r(
        202,
        &[],
        r#"{"self": "//evil.example/x", "status": "Running"}"#,
    );
    let auth = &[("authorization", "Bearer t0k")];
    let done = r(200, &[], r#"{"status": "Succeeded"}"#);
    let run = drive_with(
        cfg(),
        with_base,
        "POST",
        "https://api.example/v2/jobs",
        auth,
        submit,
        &[done],
    );
    assert_eq!(run.sent[0].uri, "https://api.example/v2/evil.example/x");
    assert!(run.requests[0].headers().contains_key("authorization"));

    let plain = || declared(r#"{"status_url": {"pointer": "/self"}, "status_word": "/status"}"#);
    let run = drive_with(
        cfg(),
        plain(),
        "POST",
        "https://api.example/v2/jobs",
        auth,
        submit,
        &[done],
    );
    assert_eq!(run.sent[0].uri, "https://evil.example/x");
    assert!(!run.requests[0].headers().contains_key("authorization"));

    let metadata = r(
        202,
        &[],
        r#"{"self": "//169.254.169.254/latest/meta-data/"}"#,
    );
    let run = drive_with(
        cfg(),
        plain(),
        "POST",
        "https://api.example/v2/jobs",
        auth,
        metadata,
        &[],
    );
    assert!(run.sent.is_empty());
    let e = failed(&run);
    assert!(
        matches!(e.reason(), Reason::Refused(UrlProblem::Internal { .. })),
        "{e}"
    );
}

/// A `HEAD`-checked status whose HTTP status says what it means (no word): `202` running,
/// `200` done; the resource is then fetched with `GET`.
#[test]
fn head_checks_read_meaning_by_http_status() {
    let options = declared(
        r#"{"status_url": "self", "status_request": {"method": "HEAD"},
            "status_codes": {"202": "running", "200": "succeeded", "4xx": "failed"}}"#,
    );
    let run = drive_with(
        cfg(),
        options,
        "PUT",
        "https://svc.example/things/1",
        &[],
        r(202, &[], ""),
        &[r(202, &[], ""), r(200, &[], ""), r(200, &[], "thing")],
    );
    let methods: Vec<_> = run.requests.iter().map(|q| q.method().clone()).collect();
    assert_eq!(methods, [Method::HEAD, Method::HEAD, Method::GET]);
    assert_eq!(delivered(&run).0, 2);
}

/// `result_request`: the result is asked for as the status is (a `POST` with headers and a
/// body), its templates filled from the terminal status answer.
#[test]
fn result_requests_fill_from_the_terminal_answer() {
    let options = declared(
        r#"{"status_url": "self", "start_on": [200], "status_word": "/Job/Status",
            "status_request": {"method": "POST", "headers": {"X-Amz-Target": "Svc.GetJob"},
                               "body": {"JobId": "{/Job/Id}"}},
            "result": {"template": ""},
            "result_request": {"method": "POST", "headers": {"X-Amz-Target": "Svc.GetJobOutput"},
                               "body": {"JobId": "{/Job/Id}", "Part": "{/Job/OutputPart}"}}}"#,
    );
    let run = drive_with(
        cfg(),
        options,
        "POST",
        "https://svc.example/",
        &[("x-amz-target", "Svc.StartJob")],
        r(200, &[], r#"{"Job": {"Id": "j1", "Status": "Running"}}"#),
        &[
            r(
                200,
                &[],
                r#"{"Job": {"Id": "j1", "Status": "Succeeded", "OutputPart": "p9"}}"#,
            ),
            r(200, &[], r#"{"Output": "x"}"#),
        ],
    );
    assert_eq!(delivered(&run).0, 1);
    let fetch = &run.requests[1];
    assert_eq!(
        (fetch.kind(), fetch.method()),
        (PollKind::Resource, &Method::POST)
    );
    assert_eq!(fetch.headers()["x-amz-target"], "Svc.GetJobOutput");
    let body: serde_json::Value = serde_json::from_slice(fetch.body().unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({"JobId": "j1", "Part": "p9"}));
    assert_eq!(run.requests[0].headers()["x-amz-target"], "Svc.GetJob");
}

/// A declared request with a body (a `status_request`'s, a `result_request`'s) says what the
/// body is: `Content-Type: application/json` when the description names no type of its own
/// (the submission's type described the submission's body and is not carried), the
/// description's own type when it names one.
#[test]
fn declared_bodies_go_out_as_json_unless_the_description_names_a_type() {
    let options = declared(
        r#"{"status_url": "self", "start_on": [200], "status_word": "/Job/Status",
            "status_request": {"method": "POST", "body": {"JobId": "{/Job/Id}"}},
            "result": {"template": ""},
            "result_request": {"method": "POST",
                               "headers": {"Content-Type": "application/x-amz-json-1.1"},
                               "body": {"JobId": "{/Job/Id}"}}}"#,
    );
    let run = drive_with(
        cfg(),
        options,
        "POST",
        "https://svc.example/",
        &[("content-type", "text/csv")],
        r(200, &[], r#"{"Job": {"Id": "j1", "Status": "Running"}}"#),
        &[
            r(200, &[], r#"{"Job": {"Id": "j1", "Status": "Succeeded"}}"#),
            r(200, &[], r#"{"Output": "x"}"#),
        ],
    );
    assert_eq!(delivered(&run).0, 1);
    let types = |i: usize| -> Vec<String> {
        let headers = run.requests[i].headers();
        let all = headers.get_all(http::header::CONTENT_TYPE).iter();
        all.map(|v| v.to_str().unwrap().to_owned()).collect()
    };
    assert_eq!(types(0), ["application/json"]);
    assert_eq!(run.requests[1].kind(), PollKind::Resource);
    assert_eq!(types(1), ["application/x-amz-json-1.1"]);
}
