//! The seeds (V1 and V2), a declared dialect and a failure, through the middleware.

use super::*;

#[tokio::test]
async fn v2_success_returns_the_resource_with_metadata() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let client = client(maps_layer());

    let response = send(submit(&client, &server)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-resource"], "yes");
    // The resource response streams as the client returned it: its own URL.
    assert_eq!(response.url().path(), "/tilesets/tileset-1");
    let meta = metadata(&response).clone();
    assert_eq!(meta.rule(), Rule::OperationLocation);
    assert_eq!(meta.polls(), 2);
    assert_eq!(
        meta.operation_id(),
        Some("c587574e-add9-4ef7-9788-1635bed9a87e")
    );
    assert!(meta.status().is_terminal(), "{}", meta.status());
    assert!(
        meta.resource_url()
            .is_some_and(|u| u.contains("/tilesets/tileset-1")),
        "{:?}",
        meta.resource_url()
    );
    assert_eq!(body(response).await, RESOURCE);

    let requests = server.requests();
    let order: Vec<(Method, &str)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.path()))
        .collect();
    assert_eq!(
        order,
        [
            (Method::POST, "/mapData"),
            (Method::GET, "/mapData/operations/1"),
            (Method::GET, "/mapData/operations/1"),
            (Method::GET, "/tilesets/tileset-1"),
        ]
    );
    for poll in &requests[1..] {
        assert_bodiless_get(poll);
        assert_eq!(poll.header("authorization"), Some("Bearer caller-token"));
        assert_eq!(poll.query("api-version").as_deref(), Some("2.0"));
        assert_eq!(
            poll.query("subscription-key").as_deref(),
            Some(SUBSCRIPTION_KEY)
        );
    }
}

/// What `LroService::call` does per request, the middleware does too: the idempotency key is
/// stamped on the submission (not on polls), and the request's own progress hook is called.
#[tokio::test]
async fn the_middleware_stamps_the_key_and_calls_the_request_progress_hook() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let layer = maps_layer().idempotency_header(tower_lro::IdempotencyHeader::IdempotencyKey);
    let client = client(layer);
    let reports = Arc::new(AtomicUsize::new(0));
    let seen = reports.clone();
    let options = LroOptions::new()
        .idempotency_key("order-42")
        .on_progress(move |_: &Progress| {
            seen.fetch_add(1, Ordering::SeqCst);
        });

    let response = send(submit(&client, &server).with_extension(options))
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let requests = server.requests();
    assert_eq!(requests[0].header("idempotency-key"), Some("\"order-42\""));
    assert!(requests[1..]
        .iter()
        .all(|r| r.header("idempotency-key").is_none()));
    assert!(
        reports.load(Ordering::SeqCst) >= 2,
        "the 202, then each poll"
    );
}

/// The middleware adds `Prefer: respond-async` where the dialect's `prefer_async` says, as the
/// layer does: a user's copy of the `fhir` description asks for it on a `$export` kick-off
/// without `Prefer`, leaves a caller's own `Prefer` alone, and polls carry none.
#[tokio::test]
async fn the_middleware_asks_for_async_where_a_declared_copy_of_fhir_says() {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/fhir/$export",
        Reply::new(202).header("content-location", &server.url("/fhir/status/1")),
    );
    server.always(
        Method::GET,
        "/fhir/status/1",
        Reply::new(200).json(r#"{"output":[]}"#),
    );
    let copy = include_str!("../../../src/proto/dialect/standards/fhir.json");
    let dialect = tower_lro::Dialect::from_json(copy).unwrap();
    let client = client(fast_layer().dialect(dialect));
    let url = server.url("/fhir/$export");

    let plain = send(client.get(&url)).await.unwrap();
    assert_eq!(body(plain).await, r#"{"output":[]}"#);
    let own = client
        .get(&url)
        .header("Prefer", "respond-async, handling=lenient");
    let own = send(own.with_extension(LroOptions::new().force()))
        .await
        .unwrap();
    assert_eq!(body(own).await, r#"{"output":[]}"#);

    let kick_offs = server.requests_to("/fhir/$export");
    let prefer: Vec<_> = kick_offs.iter().map(|r| r.header("prefer")).collect();
    assert_eq!(
        prefer,
        [
            Some("respond-async"),
            Some("respond-async, handling=lenient")
        ]
    );
    let polls = server.requests_to("/fhir/status/1");
    assert_eq!(polls.len(), 2);
    assert!(polls.iter().all(|r| r.header("prefer").is_none()));
}

#[tokio::test]
async fn v1_success_201_fetches_the_created_resource() {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/mapData",
        Reply::new(202).header("Location", &server.url("/mapData/operations/1")),
    );
    let created = format!(
        r#"{{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Succeeded",
    "resourceLocation": "{}"
}}"#,
        server.url("/tilesets/tileset-1")
    );
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![
            running(SEED_V1_RUNNING),
            Reply::new(201)
                .header(
                    "Location",
                    &format!("\"{}\"", server.url("/tilesets/tileset-1")),
                )
                .json(created),
        ],
    );
    server.always(
        Method::GET,
        "/tilesets/tileset-1",
        Reply::new(200).json(RESOURCE),
    );
    let client = client(maps_layer());

    let response = send(submit(&client, &server)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let meta = metadata(&response);
    assert_eq!(meta.rule(), Rule::Location);
    assert_eq!(meta.polls(), 2);
    assert_eq!(body(response).await, RESOURCE);
    assert_eq!(server.hits(&Method::POST, "/mapData"), 1);
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 2);
    assert_eq!(server.hits(&Method::GET, "/tilesets/tileset-1"), 1);
}

#[tokio::test]
async fn failure_is_an_operation_failed_error_with_the_odata_error() {
    let server = MockServer::start().await;
    serve_accepted(&server);
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![
            running(SEED_V2_RUNNING),
            Reply::new(200).json(support::SEED_FAILED),
        ],
    );
    let client = client(maps_layer());

    let err = send(submit(&client, &server)).await.unwrap_err();

    // Reachable through anyhow as well as through the helper.
    let reqwest_middleware::Error::Middleware(inner) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    assert!(inner.downcast_ref::<tower_lro::Error>().is_some());
    let lro = the_lro_error(&err);
    assert_eq!(lro.kind(), ErrorKind::OperationFailed);
    assert!(lro.is_operation_failed());
    let odata = lro.odata_error().expect("the OData error is kept");
    assert_eq!(odata.code(), Some("InvalidFeature"));
    assert_eq!(odata.message(), Some("The provided feature is invalid."));
    assert_eq!(
        lro.operation_id(),
        Some("c587574e-add9-4ef7-9788-1635bed9a87e")
    );
    assert_eq!(lro.status(), Some(StatusCode::OK));
    assert!(lro
        .url()
        .is_some_and(|u| u.contains("/mapData/operations/1")));
    assert!(
        matches!(
            lro.reason(),
            Reason::OperationFailed { state, error: Some(odata), .. }
                if state.as_str() == "Failed" && odata.code() == Some("InvalidFeature")
        ),
        "{:?}",
        lro.reason()
    );
    // No resource fetch after a failure.
    assert_eq!(server.requests().len(), 3);
}
