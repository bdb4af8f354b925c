//! Rows found in review around the services: start-only answers and resume handles (what they
//! keep, what credentials they leave out), refused request URLs, a followed redirect to a result
//! with a status of its own, and the default dialect's review rows.

use super::*;
use crate::config::FinalState;

/// `LroOptions::start_only`: the submission's answer comes back with a handle; nothing is
/// polled, even when the server allows a poll at once.
#[test]
fn start_only_returns_the_answer_with_a_handle() {
    let run = drive_with(
        cfg(),
        LroOptions::new().start_only(),
        "POST",
        SUBMIT_URL,
        &[],
        r(
            202,
            &[("operation-location", OPS), ("retry-after", "0")],
            "",
        ),
        &[],
    );
    let Outcome::Final(meta) = &run.outcome else {
        panic!("{:?}", run.outcome)
    };
    assert!(run.sent.is_empty());
    assert_eq!(meta.metadata.resume_handle().unwrap().operation_url(), OPS);
}

/// A resumed operation keeps the final-state choice its handle records, unless the resuming
/// request makes one of its own ([control](crate::_protocol#control)).
#[test]
fn a_resume_keeps_the_handles_final_state() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(5);
    let run = drive_with(
        c,
        LroOptions::new().final_state(FinalState::StatusMonitor),
        "PUT",
        "https://s.example/things/1",
        &[],
        r(
            202,
            &[
                ("operation-location", "https://s.example/ops/1"),
                ("retry-after", "10"),
            ],
            "",
        ),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    assert_eq!(handle.final_state(), FinalState::StatusMonitor);
    let head = RequestHead::new(
        Method::GET,
        "https://s.example/things/1".parse().unwrap(),
        HeaderMap::new(),
    );
    let now = Instant::now();
    let body = Bytes::from_static(br#"{"status":"Succeeded"}"#);
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&body),
    };
    let (mut m, _) =
        Machine::resume(Arc::new(cfg()), &handle, &head, &Params::new(&cfg()), now).unwrap();
    assert!(
        matches!(
            m.handle_answer(Now::new(now, SystemTime::now()), answer),
            Action::Deliver(_)
        ),
        "no fetch of the PUT's URL"
    );
    // A choice made when resuming wins.
    let params = Params::new(&cfg()).final_state(FinalState::OriginalUri);
    let (mut m, _) = Machine::resume(Arc::new(cfg()), &handle, &head, &params, now).unwrap();
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&body),
    };
    assert!(matches!(
        m.handle_answer(Now::new(now, SystemTime::now()), answer),
        Action::Send { .. }
    ));
}

/// A submission to a host the SSRF guard always refuses, whose monitor is its own URL, is an
/// error naming the URL — never a panic.
#[test]
fn a_refused_request_url_as_monitor_is_an_error() {
    let run = drive(
        cfg(),
        "PUT",
        "http://169.254.169.254/metadata/x",
        &[],
        r(
            200,
            &[],
            r#"{"properties":{"provisioningState":"Creating"}}"#,
        ),
        &[],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::Insecure);
    assert!(matches!(
        e.reason(),
        Reason::Refused(UrlProblem::Internal { .. })
    ));
    let mut c = cfg();
    c.accepted_retry = true;
    let run = drive(
        c,
        "GET",
        "http://0.0.0.0:8080/stats",
        &[],
        r(202, &[], "{}"),
        &[],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure);
}

/// An inner client followed a `303` to a result that has a `status` (and an id) of its own:
/// the result is the final response, not a monitor to poll.
#[test]
fn a_followed_redirect_to_a_result_with_a_status_of_its_own() {
    let now = Instant::now();
    let h = headers(&[("operation-location", "https://s.example/ops/1")]);
    let Ok(Begin::Lro(mut m, _)) = start(
        cfg(),
        "https://s.example/jobs",
        &h,
        Now::new(now, SystemTime::now()),
    ) else {
        panic!()
    };
    let running = Bytes::from_static(br#"{"id":"op-1","status":"Running"}"#);
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&running),
    };
    assert!(matches!(
        m.handle_answer(Now::new(now, SystemTime::now()), answer),
        Action::Send { .. }
    ));
    m.answered_from(&"https://s.example/results/vm1".parse().unwrap());
    let vm = Bytes::from_static(br#"{"id":"vm1","status":"Running"}"#);
    let answer = Answer {
        status: StatusCode::OK,
        headers: &HeaderMap::new(),
        body: Some(&vm),
    };
    let Action::Deliver(meta) = m.handle_answer(Now::new(now, SystemTime::now()), answer) else {
        panic!("the result is final")
    };
    assert_eq!(
        meta.metadata.resource_url(),
        Some("https://s.example/results/vm1")
    );
}

/// Found in review: a server that names the layer's own placeholder host (in any spelling) is
/// refused; the §3 error rule reads objects only and keeps the word; a refused redirect names
/// the operation it ended.
#[test]
fn review_rows_for_the_default_dialect() {
    let run = drive(
        cfg(),
        "POST",
        "http://h.example/jobs",
        &[],
        r(
            202,
            &[("operation-location", "http://ORIGIN-FORM.invalid/admin")],
            "",
        ),
        &[],
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Insecure);

    let ol: R = r(
        202,
        &[("operation-location", "https://s.example/ops/1")],
        "",
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        ol,
        &[r(200, &[], r#"{"status":"Succeeded","error":"oops"}"#)],
    );
    assert_eq!(
        delivered(&run).0,
        0,
        "a string error beside a success word is no reported error"
    );
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        ol,
        &[r(
            200,
            &[],
            r#"{"status":"DONE","error":{"message":"quota"}}"#,
        )],
    );
    let st = failed(&run).operation_status().unwrap().clone();
    assert_eq!((st.as_str(), st.meaning()), ("DONE", Meaning::Failed));

    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        ol,
        &[r(303, &[("location", "https://169.254.169.254/")], "")],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::Insecure);
    assert_eq!(e.operation_url(), Some("https://s.example/ops/1"));
}

/// A resume handle holds no credential's value: query parameters named like credentials are
/// left out, and the resuming request's URL supplies them again.
#[test]
fn handles_hold_no_query_credentials() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(5);
    c.carry_query.push("subscription-key".into());
    let url = "https://us.atlas.microsoft.com/mapData?api-version=2.0&subscription-key=SECRET";
    let run = drive(
        c.clone(),
        "POST",
        url,
        &[],
        r(
            202,
            &[
                (
                    "operation-location",
                    "https://us.atlas.microsoft.com/mapData/operations/1?api-version=2.0",
                ),
                ("retry-after", "60"),
            ],
            "",
        ),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    let json = serde_json::to_string(&handle).unwrap();
    assert!(!json.contains("SECRET"), "{json}");
    assert_eq!(
        handle.request_url(),
        "https://us.atlas.microsoft.com/mapData?api-version=2.0"
    );
    // Resumed from a request whose URL carries the key again.
    let head = RequestHead::new(Method::GET, url.parse().unwrap(), HeaderMap::new());
    let (_, plan) = Machine::resume(
        Arc::new(c),
        &handle,
        &head,
        &Params::new(&cfg()),
        Instant::now(),
    )
    .unwrap();
    let Plan::Send { request, .. } = plan else {
        panic!()
    };
    assert_eq!(
        request.uri().to_string(),
        "https://us.atlas.microsoft.com/mapData/operations/1?api-version=2.0&subscription-key=SECRET"
    );
}

/// A server's own credentials in the URLs it hands out (a SAS `sig`, a presigned
/// `X-Amz-Signature`, a `token`) are left out of resume handles as the caller's are: every
/// name of the library's list, and the names its patterns match.
#[test]
fn handles_hold_no_server_credentials() {
    let mut c = cfg();
    c.deadline = Duration::from_secs(5);
    let names = crate::credentials::QUERY
        .iter()
        .map(|n| n.to_string())
        .chain(
            crate::credentials::PATTERNS
                .iter()
                .map(|p| format!("x{p}y")),
        );
    let query: Vec<String> = names
        .enumerate()
        .map(|(i, n)| format!("{n}=SRV{i}"))
        .collect();
    // The scripted answers are `'static`: leaked, once, in this test.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    // A password in the server's own monitor URL is a credential too.
    let monitor = leak(format!(
        "https://op:SRVpass@s.example/ops/1?se=2030&{}",
        query.join("&")
    ));
    let location = leak(format!("https://s.example/result?{}&sv=1", query.join("&")));
    let answer: &'static [(&str, &str)] = Box::leak(Box::new([
        ("operation-location", monitor),
        ("location", location),
        ("retry-after", "60"),
    ]));
    let run = drive(
        c,
        "POST",
        "https://me:SRVmine@s.example/jobs",
        &[],
        r(202, answer, ""),
        &[],
    );
    let handle = failed(&run).resume_handle().unwrap().clone();
    let json = serde_json::to_string(&handle).unwrap();
    assert!(!json.contains("SRV"), "{json}");
    assert_eq!(handle.request_url(), "https://s.example/jobs");
    assert_eq!(handle.operation_url(), "https://s.example/ops/1?se=2030");
    assert_eq!(
        handle.submission_location(),
        Some("https://s.example/result?sv=1")
    );
}
