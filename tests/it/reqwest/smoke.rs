//! Smoke: the adapter runs the Tower driver, so one scenario through both clients must agree;
//! what a transport failure and a redirected monitor carry.

use super::*;

/// A progress report without its timing.
#[derive(Debug, PartialEq)]
struct Report {
    operation_url: String,
    status: String,
    polls: u32,
    percent_complete: Option<f64>,
    next_poll_planned: bool,
    wait_reason: Option<String>,
}

impl Report {
    fn of(p: &Progress) -> Self {
        Self {
            operation_url: p.operation_url().to_owned(),
            status: p.status().to_string(),
            polls: p.polls(),
            percent_complete: p.percent_complete(),
            next_poll_planned: p.next_poll_in().is_some(),
            wait_reason: p.wait_reason().map(ToString::to_string),
        }
    }
}

/// How a resolution ended, without timings.
type End = (
    StatusCode,
    String,
    (String, Option<String>, Rule, String, u32, Option<String>),
);

fn end(status: StatusCode, body: String, meta: &LroMetadata) -> End {
    (
        status,
        body,
        (
            meta.operation_url().to_owned(),
            meta.operation_id().map(str::to_owned),
            meta.rule(),
            meta.status().to_string(),
            meta.polls(),
            meta.resource_url().map(str::to_owned),
        ),
    )
}

/// A request as the server saw it, reduced to what both clients must agree on.
type Wire = (
    Method,
    String,
    Vec<(String, String)>,
    Option<String>,
    Option<String>,
);

fn wire(server: &MockServer) -> Vec<Wire> {
    server
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.path().to_owned(),
                r.query_pairs(),
                r.header("authorization").map(str::to_owned),
                r.header("x-poll").map(str::to_owned),
            )
        })
        .collect()
}

fn recording_layer(reports: &Arc<Mutex<Vec<Report>>>) -> LroLayer {
    let reports = reports.clone();
    maps_layer()
        .on_poll_request(|req| {
            let kind = req.extensions().get::<LroRequest>().map(|r| r.kind());
            let value = if kind == Some(PollKind::Resource) {
                "resource"
            } else {
                "status"
            };
            req.headers_mut()
                .insert("x-poll", http::HeaderValue::from_static(value));
        })
        .on_progress(move |p| reports.lock().unwrap().push(Report::of(p)))
}

/// Seed V2 through `LroService` (hyper-util) and through `LroMiddleware` (reqwest), against one
/// server: the same requests, the same outcome and the same progress reports.
#[tokio::test]
async fn smoke_both_clients_resolve_seed_v2_alike() {
    let server = MockServer::start().await;

    // Tower: LroService over hyper-util.
    serve_v2_success(&server);
    let tower_reports = Arc::new(Mutex::new(Vec::new()));
    let svc = support::lro_client(recording_layer(&tower_reports));
    let mut req = support::post(&submit_url(&server), r#"{"upload":"..."}"#);
    req.headers_mut().insert(
        "authorization",
        http::HeaderValue::from_static("Bearer caller-token"),
    );
    let response = support::send(&svc, req).await.expect("tower resolves");
    let status = response.status();
    let meta = response.extensions().get::<LroMetadata>().cloned().unwrap();
    let bytes = support::body_bytes(response.into_body()).await;
    let tower_end = end(status, String::from_utf8(bytes.to_vec()).unwrap(), &meta);
    let tower_wire = wire(&server);

    // reqwest: LroMiddleware over reqwest. Routing again resets the scripts' hit counts.
    server.clear_requests();
    serve_v2_success(&server);
    let mw_reports = Arc::new(Mutex::new(Vec::new()));
    let client = client(recording_layer(&mw_reports));
    let response = send(submit(&client, &server))
        .await
        .expect("reqwest resolves");
    let status = response.status();
    let meta = metadata(&response).clone();
    let mw_end = end(status, body(response).await, &meta);
    let mw_wire = wire(&server);

    assert_eq!(tower_wire.len(), 4, "submission, two polls, the resource");
    assert_eq!(mw_wire, tower_wire, "the same requests reach the server");
    assert_eq!(mw_end, tower_end, "the same outcome");
    let (mw_reports, tower_reports) = (mw_reports.lock().unwrap(), tower_reports.lock().unwrap());
    assert!(!tower_reports.is_empty());
    assert_eq!(*mw_reports, *tower_reports, "the same progress reports");
}

/// A poll that cannot connect: reqwest's error names the URL it was sending to (the carried
/// `subscription-key`, the server's `sig=`). The error's message and `Debug` mask them; the
/// typed kind is `RetriesExhausted`.
#[tokio::test]
async fn a_transport_failure_is_reported_with_its_url_masked() {
    let server = MockServer::start().await;
    // A loopback port with no listener: every poll's connection is refused.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let monitor = format!("http://127.0.0.1:{port}/ops/1?sig=SIG-SECRET");
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &monitor),
    );
    let client = client(maps_layer().transient_retries(1));

    let err = send(submit(&client, &server)).await.unwrap_err();

    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::RetriesExhausted, "{lro}");
    for text in [lro.to_string(), format!("{lro:?}")] {
        assert!(!text.contains("SIG-SECRET"), "{text}");
        assert!(!text.contains(SUBSCRIPTION_KEY), "{text}");
    }
}

/// reqwest follows redirects in the client, before the layer sees them, to any origin, with
/// every header but `Authorization` and cookies. With [`redirect_policy`], a status monitor's
/// `307` to another origin comes back to the layer, which polls there without the
/// credentials (`x-api-key`, `Ocp-Apim-Subscription-Key`) and origin-bound headers
/// (`Metadata`) the submission carried; reqwest's own policy delivered all three.
#[tokio::test]
async fn with_the_redirect_policy_a_monitor_redirected_elsewhere_gets_no_credential() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Operation-Location", &server.url("/ops/1")),
    );
    server.always(
        Method::GET,
        "/ops/1",
        Reply::new(307).header("Location", &other.url("/ops/1")),
    );
    other.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).json(r#"{"status":"Succeeded"}"#),
    );
    let reqwest = reqwest::Client::builder()
        .no_proxy()
        .redirect(redirect_policy())
        .build()
        .unwrap();
    let client = ClientBuilder::new(reqwest)
        .with(LroMiddleware::from(fast_layer()))
        .build();
    let secrets = [
        ("x-api-key", "KEY-SECRET"),
        ("ocp-apim-subscription-key", "SUB-SECRET"),
        ("metadata", "true"),
    ];
    let mut request = client.post(server.url("/mapData")).body("{}");
    for (name, value) in secrets {
        request = request.header(name, value);
    }

    let response = send(request).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(metadata(&response).status().as_str(), "Succeeded");
    let polls = server.requests_to("/ops/1");
    assert_eq!(polls.len(), 1);
    let elsewhere = other.requests_to("/ops/1");
    assert_eq!(elsewhere.len(), 1, "the layer followed the 307 itself");
    for (name, value) in secrets {
        assert_eq!(
            polls[0].header(name),
            Some(value),
            "{name} on its own origin"
        );
        assert_eq!(
            elsewhere[0].header(name),
            None,
            "{name} went to another origin"
        );
    }
}
