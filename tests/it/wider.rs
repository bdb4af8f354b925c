//! The wider pattern over real sockets (spec §4, §4a, §8, §10): a real hyper server on
//! `127.0.0.1:0` and a real hyper-util client under the layer (and reqwest, which follows
//! redirects itself).

use http::Method;

use crate::support::{
    self, body_bytes, fast_layer, get, lro_client, post, send, MockServer, Reply,
};
use tower_lro::{Dialect, LroMetadata, LroOptions, Rule};

fn meta(resp: &support::LroResponse) -> LroMetadata {
    resp.extensions()
        .get::<LroMetadata>()
        .expect("metadata")
        .clone()
}

/// §4a: the status monitor answers `In progress`, then `303` to the result, whose URL carries a
/// token of the server's; the result is the final response.
#[tokio::test]
async fn a_status_monitor_that_redirects_to_the_result() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("location", "/status/1"),
    );
    server.sequence(
        Method::GET,
        "/status/1",
        vec![
            Reply::new(200).json(r#"{"status":"In progress"}"#),
            Reply::new(303).header("location", "/results/1?sig=abc"),
        ],
    );
    server.always(
        Method::GET,
        "/results/1",
        Reply::new(200).body("the result"),
    );
    let client = lro_client(fast_layer());
    let resp = send(&client, post(&server.url("/jobs"), "{}"))
        .await
        .unwrap();
    let m = meta(&resp);
    assert_eq!(
        m.resource_url(),
        Some(server.url("/results/1?sig=abc").as_str())
    );
    assert_eq!(body_bytes(resp.into_body()).await, "the result");
    assert_eq!(
        server.requests_to("/results/1")[0].query("sig").as_deref(),
        Some("abc")
    );
}

/// §4a: a `308` moves the monitor; it is polled at its new address from then on.
#[tokio::test]
async fn a_monitor_that_moved() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &server.url("/old/1")),
    );
    server.always(
        Method::GET,
        "/old/1",
        Reply::new(308).header("location", "/new/1"),
    );
    server.sequence(
        Method::GET,
        "/new/1",
        vec![
            Reply::new(200).json(r#"{"status":"Running"}"#),
            Reply::new(200).json(r#"{"status":"Succeeded"}"#),
        ],
    );
    let client = lro_client(fast_layer());
    let resp = send(&client, post(&server.url("/jobs"), "{}"))
        .await
        .unwrap();
    let m = meta(&resp);
    assert_eq!(
        (m.polls(), m.operation_url()),
        (3, server.url("/new/1").as_str())
    );
    assert_eq!(server.hits(&Method::GET, "/old/1"), 1);
    assert_eq!(server.hits(&Method::GET, "/new/1"), 2);
}

/// §1, §8: an HL7 FHIR bulk export: a `GET` with `Prefer: respond-async` forced to resolve; the
/// kick-off answers `202` + `Content-Location`; the status answers `202`, then the manifest.
#[tokio::test]
async fn fhir_bulk_export_through_content_location() {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/fhir/$export",
        Reply::new(202).header("content-location", "/fhir/bulkstatus/1"),
    );
    server.sequence(
        Method::GET,
        "/fhir/bulkstatus/1",
        vec![
            Reply::new(202).header("x-progress", "50%").header("retry-after", "1"),
            Reply::new(200).json(r#"{"transactionTime":"2026-12-01T00:00:00Z","output":[{"type":"Patient","url":"x"}],"error":[]}"#),
        ],
    );
    let client = lro_client(fast_layer());
    let mut req = get(&server.url("/fhir/$export"));
    req.headers_mut()
        .insert("prefer", "respond-async".parse().unwrap());
    // Without forcing, the 202 comes back as it is.
    let resp = send(&client, req.clone()).await.unwrap();
    assert_eq!(resp.status(), 202);
    req.extensions_mut().insert(LroOptions::new().force());
    let resp = send(&client, req).await.unwrap();
    assert_eq!(
        (resp.status(), meta(&resp).rule()),
        (http::StatusCode::OK, Rule::ContentLocation)
    );
    for poll in server.requests_to("/fhir/bulkstatus/1") {
        assert!(poll.header("prefer").is_none(), "polls never carry Prefer");
    }
}

/// §10: a Google `Operation` API: polled at `/v1/{name}`; the final body is the `response`.
#[tokio::test]
async fn a_google_operation() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/v1/projects/p/datasets",
        Reply::new(200).json(r#"{"name":"projects/p/operations/7","done":false}"#),
    );
    server.sequence(
        Method::GET,
        "/v1/projects/p/operations/7",
        vec![
            Reply::new(200).json(r#"{"name":"projects/p/operations/7","metadata":{"progressPercent":50},"done":false}"#),
            Reply::new(200).json(r#"{"name":"projects/p/operations/7","done":true,"response":{"name":"projects/p/datasets/9"}}"#),
        ],
    );
    let client = lro_client(fast_layer().dialect(Dialect::google()));
    let resp = send(&client, post(&server.url("/v1/projects/p/datasets"), "{}"))
        .await
        .unwrap();
    let m = meta(&resp);
    assert_eq!(
        (m.rule(), m.dialect(), m.polls()),
        (Rule::GoogleOperation, "google", 2)
    );
    assert_eq!(
        body_bytes(resp.into_body()).await,
        r#"{"name":"projects/p/datasets/9"}"#
    );
    // The same layer leaves a plain answer alone when it is not an operation.
    server.always(
        Method::GET,
        "/v1/projects/p/datasets/9",
        Reply::new(200).json(r#"{"name":"projects/p/datasets/9"}"#),
    );
    let resp = send(&client, get(&server.url("/v1/projects/p/datasets/9")))
        .await
        .unwrap();
    assert!(resp.extensions().get::<LroMetadata>().is_none());
}

/// §10: a declared dialect (the HAL task-resource fixture), chosen per request.
#[tokio::test]
async fn a_declared_dialect_per_request() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/orders",
        Reply::new(202).json(r#"{"status":"processing","_links":{"self":{"href":"/tasks/1"}}}"#),
    );
    server.sequence(
        Method::GET,
        "/tasks/1",
        vec![
            Reply::new(200)
                .json(r#"{"status":"processing","_links":{"self":{"href":"/tasks/1"}}}"#),
            Reply::new(303).header("location", "/orders/5"),
        ],
    );
    server.always(
        Method::GET,
        "/orders/5",
        Reply::new(200).json(r#"{"id":5}"#),
    );
    let hal =
        Dialect::from_json(include_str!("../fixtures/dialects/hal-task-resource.json")).unwrap();
    let client = lro_client(fast_layer());
    let mut req = post(&server.url("/orders"), "{}");
    req.extensions_mut().insert(LroOptions::new().dialect(hal));
    let resp = send(&client, req).await.unwrap();
    let m = meta(&resp);
    assert_eq!(m.rule(), Rule::Declared);
    assert_eq!(m.resource_url(), Some(server.url("/orders/5").as_str()));
    assert_eq!(body_bytes(resp.into_body()).await, r#"{"id":5}"#);
}

/// §4a: reqwest follows the `303` itself; the layer still sees that the answer is the result,
/// and a `308` it followed still moves the monitor.
#[cfg(feature = "reqwest-middleware")]
#[tokio::test]
async fn reqwest_following_redirects_keeps_their_meaning() {
    use reqwest_middleware::ClientBuilder;
    use tower_lro::middleware::LroMiddleware;

    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &server.url("/status/1")),
    );
    server.sequence(
        Method::GET,
        "/status/1",
        vec![
            Reply::new(200).json(r#"{"status":"Running"}"#),
            Reply::new(303).header("location", "/results/1"),
        ],
    );
    server.always(
        Method::GET,
        "/results/1",
        Reply::new(200).body("the result"),
    );
    let client = ClientBuilder::new(reqwest::Client::builder().no_proxy().build().unwrap())
        .with(LroMiddleware::from(fast_layer()))
        .build();
    let resp = client.post(server.url("/jobs")).send().await.unwrap();
    let m = resp.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(m.resource_url(), Some(server.url("/results/1").as_str()));
    assert_eq!(resp.text().await.unwrap(), "the result");

    server.always(
        Method::POST,
        "/jobs2",
        Reply::new(202).header("operation-location", &server.url("/old/2")),
    );
    server.always(
        Method::GET,
        "/old/2",
        Reply::new(308).header("location", "/new/2"),
    );
    server.sequence(
        Method::GET,
        "/new/2",
        vec![
            Reply::new(200).json(r#"{"status":"Running"}"#),
            Reply::new(200).json(r#"{"status":"Succeeded"}"#),
        ],
    );
    let resp = client.post(server.url("/jobs2")).send().await.unwrap();
    let m = resp.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(m.operation_url(), server.url("/new/2"));
    assert_eq!(
        server.hits(&Method::GET, "/old/2"),
        1,
        "polled at the new address after"
    );
}

/// §4a: tower-http's `FollowRedirect` inside the layer follows the `303` itself; with the
/// `tower-http` feature the layer still knows the answer is the result.
#[cfg(feature = "tower-http")]
#[tokio::test]
async fn follow_redirect_inside_the_layer_keeps_the_meaning() {
    use tower::ServiceBuilder;
    use tower_http::follow_redirect::FollowRedirectLayer;

    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &server.url("/status/1")),
    );
    server.sequence(
        Method::GET,
        "/status/1",
        vec![
            Reply::new(200).json(r#"{"status":"Running"}"#),
            Reply::new(303).header("location", "/results/1"),
        ],
    );
    server.always(
        Method::GET,
        "/results/1",
        Reply::new(200).body("the result"),
    );
    let client = ServiceBuilder::new()
        .layer(fast_layer())
        .layer(FollowRedirectLayer::new())
        .service(support::http_client());
    let resp = send(&client, post(&server.url("/jobs"), "{}"))
        .await
        .unwrap();
    let m = resp.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(m.resource_url(), Some(server.url("/results/1").as_str()));
    assert_eq!(body_bytes(resp.into_body()).await, "the result");
}

/// Issue 15 item 5: an AWS JSON-protocol job (Amazon Transcribe's fixture) checked with
/// `POST /`, `X-Amz-Target` and a JSON body, over real sockets. The layer makes the body with
/// the builder it was given (`LroLayer::poll_body`); without one, the operation ends with a
/// typed error naming the body type, before any check is sent.
#[tokio::test]
async fn a_post_checked_job_over_the_aws_json_protocol() {
    let server = MockServer::start().await;
    let job = |status: &str, extra: &str| {
        Reply::new(200).json(format!(
            r#"{{"TranscriptionJob":{{"TranscriptionJobName":"my-job","TranscriptionJobStatus":"{status}"{extra}}}}}"#
        ))
    };
    let transcript = format!(
        r#","Transcript":{{"TranscriptFileUri":"{}"}}"#,
        server.url("/out/my-job.json")
    );
    server.sequence(
        Method::POST,
        "/",
        vec![
            job("IN_PROGRESS", ""),
            job("QUEUED", ""),
            job("COMPLETED", &transcript),
            job("IN_PROGRESS", ""),
        ],
    );
    server.always(
        Method::GET,
        "/out/my-job.json",
        Reply::new(200).json(r#"{"results":{"transcripts":[{"transcript":"hello"}]}}"#),
    );
    let transcribe =
        Dialect::from_json(include_str!("../fixtures/dialects/aws-transcribe-job.json")).unwrap();
    let start = || {
        let mut req = post(&server.url("/"), r#"{"TranscriptionJobName":"my-job"}"#);
        let h = req.headers_mut();
        h.insert(
            "x-amz-target",
            "Transcribe.StartTranscriptionJob".parse().unwrap(),
        );
        h.insert(
            "content-type",
            "application/x-amz-json-1.1".parse().unwrap(),
        );
        req.extensions_mut()
            .insert(LroOptions::new().dialect(transcribe.clone()));
        req
    };
    let client = lro_client(fast_layer().poll_body(http_body_util::Full::new));
    let resp = send(&client, start()).await.unwrap();
    assert_eq!(
        meta(&resp).resource_url(),
        Some(server.url("/out/my-job.json").as_str())
    );
    assert!(body_bytes(resp.into_body())
        .await
        .starts_with(b"{\"results\""));
    let checks: Vec<_> = server.requests_to("/").into_iter().skip(1).collect();
    assert_eq!(checks.len(), 2);
    for check in &checks {
        assert_eq!(check.method, Method::POST);
        assert_eq!(
            check.header("x-amz-target"),
            Some("Transcribe.GetTranscriptionJob")
        );
        assert_eq!(
            check.header("content-type"),
            Some("application/x-amz-json-1.1")
        );
        assert_eq!(&check.body[..], br#"{"TranscriptionJobName":"my-job"}"#);
    }

    // No body builder: a typed error, and no check sent.
    let client = lro_client(fast_layer());
    let e = send(&client, start()).await.unwrap_err();
    let e = e.downcast_ref::<tower_lro::Error>().expect("an lro error");
    assert_eq!(e.kind(), tower_lro::ErrorKind::Protocol);
    assert!(
        matches!(e.reason(), tower_lro::__private::Reason::NoPollBody { body_type }
            if body_type.contains("Full")),
        "{e}"
    );
    assert_eq!(server.requests_to("/").len(), 4);
}
