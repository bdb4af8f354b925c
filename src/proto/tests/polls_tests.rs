//! What polls carry and where they go: headers and query, resume handles, URLs as the server
//! wrote them, origins across spellings, and query pairs as the form decoder reads them.

use super::*;

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

/// Stripping is cumulative across a resume too: a `Location` monitor that hopped A → B → A
/// (the URL on A chosen by B) got no credentials in the run that wrote the handle, and the
/// resumed run (a fleet's takeover, `lro --resume`) sends it none either. The handle did not
/// say that a request had gone to a foreign origin, so the resumed machine started clean and
/// gave B's URL on A the caller's fresh credentials.
#[test]
fn a_resumed_operation_keeps_credentials_withheld() {
    const SUBMIT: R = r(202, &[("location", "https://status.example/op2")], "");
    const BACK: R = r(
        202,
        &[
            ("location", "https://s.example/op3"),
            ("retry-after", "99999"),
        ],
        "",
    );
    let mut c = cfg();
    c.deadline = Duration::from_secs(10);
    let url = "https://s.example/j";
    let run = drive(c, "POST", url, &req_pairs(), SUBMIT, &[BACK]);
    assert!(!run.requests[0].headers().contains_key("authorization"));
    let handle = failed(&run).resume_handle().unwrap().clone();
    assert_eq!(handle.operation_url(), "https://s.example/op3");
    assert!(handle.credentials_withheld());
    let json = serde_json::to_string(&handle).unwrap();
    let handle: ResumeHandle = serde_json::from_str(&json).unwrap();
    let head = RequestHead::new(
        Method::GET,
        url.parse().unwrap(),
        headers(&[("authorization", "fresh")]),
    );
    let now = Instant::now();
    let params = Params::new(&cfg());
    let (_, plan) = Machine::resume(Arc::new(cfg()), &handle, &head, &params, now).unwrap();
    let Plan::Send { request, .. } = plan else {
        panic!("{plan:?}")
    };
    assert_eq!(request.uri().to_string(), "https://s.example/op3");
    assert!(!request.headers().contains_key("authorization"));

    // A handle of an operation that never left its origin resumes with the credentials.
    const HOME: R = r(
        202,
        &[
            ("location", "https://s.example/op1"),
            ("retry-after", "99999"),
        ],
        "",
    );
    let mut c = cfg();
    c.deadline = Duration::from_secs(10);
    let run = drive(c, "POST", url, &req_pairs(), HOME, &[]);
    let handle = failed(&run).resume_handle().unwrap().clone();
    assert!(!handle.credentials_withheld());
    let (_, plan) = Machine::resume(Arc::new(cfg()), &handle, &head, &params, now).unwrap();
    let Plan::Send { request, .. } = plan else {
        panic!("{plan:?}")
    };
    assert_eq!(request.headers()["authorization"], "fresh");
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
