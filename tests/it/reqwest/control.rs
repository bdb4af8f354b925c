//! Pass-through and per-request control; the deadline and resumption.

use super::*;

#[tokio::test]
async fn plain_200_and_400_come_back_untouched() {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/plain",
        Reply::new(200).header("x-plain", "1").body("just a body"),
    );
    let bad = r#"{"error":{"code":"BadRequest","message":"Upload is not valid"}}"#;
    server.always(Method::POST, "/mapData", Reply::new(400).json(bad));
    let client = client(maps_layer());

    let ok = send(client.get(server.url("/plain"))).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-plain"], "1");
    assert_eq!(ok.url().path(), "/plain");
    assert!(ok.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body(ok).await, "just a body");

    let rejected = send(submit(&client, &server)).await.unwrap();
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    assert!(rejected.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body(rejected).await, bad);

    assert_eq!(server.requests().len(), 2, "nothing was polled");
}

#[tokio::test]
async fn respond_async_and_disabled_options_get_the_202_back() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let client = client(maps_layer());

    let prefer = send(submit(&client, &server).header("Prefer", "respond-async"))
        .await
        .unwrap();
    assert_eq!(prefer.status(), StatusCode::ACCEPTED);
    assert!(prefer.headers().contains_key("operation-location"));
    assert!(prefer.extensions().get::<LroMetadata>().is_none());

    let disabled = send(submit(&client, &server).with_extension(LroOptions::disabled()))
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::ACCEPTED);

    assert_eq!(server.requests().len(), 2, "nothing was polled");
}

#[tokio::test]
async fn per_request_final_state_returns_the_rebuilt_status_response() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let client = client(maps_layer());

    let response = send(
        submit(&client, &server)
            .with_extension(LroOptions::new().final_state(FinalState::StatusMonitor)),
    )
    .await
    .unwrap();

    // The terminal status response, read by the middleware and rebuilt: status, headers, body
    // and URL are those the server sent.
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("resource-location"));
    assert_eq!(response.url().path(), "/mapData/operations/1");
    assert_eq!(response.url().query_pairs().count(), 2);
    assert_eq!(metadata(&response).polls(), 2);
    assert_eq!(metadata(&response).resource_url(), None);
    assert_eq!(body(response).await, SEED_V2_SUCCEEDED);
    assert_eq!(server.hits(&Method::GET, "/tilesets/tileset-1"), 0);
}

#[tokio::test]
async fn oversized_status_body_is_a_protocol_error() {
    let server = MockServer::start().await;
    serve_accepted(&server);
    let big = format!(r#"{{"status":"Running","pad":"{}"}}"#, "x".repeat(4096));
    server.always(
        Method::GET,
        "/mapData/operations/1",
        Reply::new(200).json(big),
    );
    let client = client(maps_layer().status_body_limit(1024));

    let err = send(submit(&client, &server)).await.unwrap_err();

    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::Protocol, "{lro}");
    assert!(
        matches!(
            lro.reason(),
            Reason::BodyTooLarge { status, limit: 1024 } if *status == StatusCode::OK
        ),
        "{:?}",
        lro.reason()
    );
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 1);
}

// ---------------------------------------------------------------------------------------------
// Deadline and resumption
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deadline_times_out_a_hung_poll_and_the_handle_resumes_it() {
    let server = MockServer::start().await;
    serve_accepted(&server);
    server.route(Method::GET, "/mapData/operations/1", |_, n| {
        if n == 0 {
            // Hangs past the deadline.
            Reply::new(200)
                .json(SEED_V2_RUNNING)
                .delay(Duration::from_secs(2))
        } else {
            Reply::new(200).json(SEED_V2_SUCCEEDED)
        }
    });
    let client = client(maps_layer());

    let started = std::time::Instant::now();
    let err = send(
        submit(&client, &server)
            .with_extension(LroOptions::new().deadline(Duration::from_millis(200))),
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the deadline cut the poll short"
    );
    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::Timeout, "{lro}");
    let handle = lro
        .resume_handle()
        .expect("a timeout carries a resume handle")
        .clone();
    assert!(handle.operation_url().contains("/mapData/operations/1"));

    // Resume: the request is not sent; the operation is polled with its headers.
    let response = send(
        client
            .get(handle.request_url().to_owned())
            .header("x-fresh", "token")
            .with_extension(handle),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, SEED_V2_SUCCEEDED);
    assert_eq!(
        server.hits(&Method::POST, "/mapData"),
        1,
        "not re-submitted"
    );
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 2);
    let last = server.requests_to("/mapData/operations/1").pop().unwrap();
    assert_eq!(last.header("x-fresh"), Some("token"));
}
