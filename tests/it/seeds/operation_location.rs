//! V2: `202` + `Operation-Location`.

use super::*;

#[tokio::test]
async fn v2_success_returns_the_created_resource() {
    let server = serve(v2::ACCEPTED, &[v2::RUNNING, v2::RUNNING, v2::SUCCEEDED]).await;

    let resp = submit(&server, maps_layer(), "2.0").await.unwrap();

    assert_created_resource(resp, &server, Rule::OperationLocation).await;
    assert_exchange(&server.requests(), "2.0", 3, true, &carried("2.0"));
}

#[tokio::test]
async fn v2_success_without_resource_returns_the_status_response() {
    let server = serve(v2::ACCEPTED, &[v2::RUNNING, v2::SUCCEEDED_NO_RESOURCE]).await;

    let resp = submit(&server, maps_layer(), "2.0").await.unwrap();

    assert!(!resp.headers().contains_key("resource-location"));
    let done = v2::SUCCEEDED_NO_RESOURCE;
    assert_status_document(resp, &server, Rule::OperationLocation, 2, done).await;
    assert_exchange(&server.requests(), "2.0", 2, false, &carried("2.0"));
}

#[tokio::test]
async fn v2_failure_is_an_operation_failed_error() {
    let server = serve(v2::ACCEPTED, &[v2::RUNNING, v2::FAILED]).await;

    let err = submit(&server, maps_layer(), "2.0").await.unwrap_err();

    assert_operation_failed(&err, &server, v2::FAILED, Rule::OperationLocation, 2);
    assert_exchange(&server.requests(), "2.0", 2, false, &carried("2.0"));
}

#[tokio::test]
async fn v2_bad_request_on_submit_comes_back_untouched() {
    let server = serve(BAD_REQUEST, &[v2::RUNNING]).await;

    let resp = submit(&server, maps_layer(), "2.0").await.unwrap();

    assert_bad_request(resp, &server).await;
}

#[tokio::test]
async fn v2_relative_operation_location_resolves_against_the_submission() {
    // As Azure usually does, the status URL already has `api-version`: it is not doubled.
    let accepted =
        format!("Status: 202 Accepted\nOperation-Location: {MONITOR_PATH}?api-version=2.0\n");
    let server = serve(&accepted, &[v2::RUNNING, v2::SUCCEEDED]).await;

    let resp = submit(&server, maps_layer(), "2.0").await.unwrap();

    assert_eq!(resp.status(), StatusCode::OK);
    let meta = metadata(&resp).clone();
    assert_eq!(meta.rule(), Rule::OperationLocation);
    assert_eq!(meta.polls(), 2);
    assert_eq!(
        meta.operation_url(),
        server.url(&format!("{MONITOR_PATH}?api-version=2.0"))
    );
    assert_eq!(
        body_bytes(resp.into_body()).await,
        body_of(TILESET, &server)
    );

    let seen = server.requests();
    assert_exchange(&seen, "2.0", 2, true, &carried("2.0"));
    assert_eq!(
        seen[1].uri,
        format!("{MONITOR_PATH}?api-version=2.0&subscription-key={SUBSCRIPTION_KEY}").as_str()
    );
}

#[tokio::test]
async fn v2_relative_quoted_resource_location_resolves_against_the_monitor() {
    let succeeded = r#"Status: 200 OK
Resource-Location: "../../tileset/{tileset-id}"
 {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "2021-05-06T07:55:19.5256829+00:00",
    "status": "Succeeded"
}"#;
    let accepted = format!("Status: 202 Accepted\nOperation-Location: {MONITOR_PATH}\n");
    let server = serve(&accepted, &[v2::RUNNING, succeeded]).await;

    let resp = submit(&server, maps_layer(), "2.0").await.unwrap();

    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        metadata(&resp).resource_url(),
        Some(server.url(TILESET_PATH).as_str())
    );
    assert_eq!(
        body_bytes(resp.into_body()).await,
        body_of(TILESET, &server)
    );
    assert_exchange(&server.requests(), "2.0", 2, true, &carried("2.0"));
}

/// `Progress::polls()` is documented as "requests sent to the status monitor so far". Checked
/// against what the server had received when each snapshot was taken.
#[tokio::test]
async fn v2_progress_counts_the_polls_sent() {
    let server = serve(v2::ACCEPTED, &[v2::RUNNING, v2::RUNNING, v2::SUCCEEDED]).await;
    let seen: Arc<Mutex<Vec<(u32, OperationStatus, bool)>>> = Arc::default();
    let record = seen.clone();
    let layer = maps_layer().on_progress(move |p: &Progress| {
        record
            .lock()
            .unwrap()
            .push((p.polls(), p.status().clone(), p.next_poll_in().is_some()));
    });

    let resp = submit(&server, layer, "2.0").await.unwrap();
    assert_eq!(metadata(&resp).polls(), 3);

    let seen = seen.lock().unwrap().clone();
    let polls: Vec<u32> = seen.iter().map(|s| s.0).collect();
    // One snapshot after the submission (no poll sent yet), one after each non-terminal poll,
    // one when the final response is delivered.
    assert_eq!(polls, [0, 1, 2, 3], "{seen:?}");
    let statuses: Vec<&OperationStatus> = seen[1..].iter().map(|s| &s.1).collect();
    assert_eq!(
        statuses,
        [
            &OperationStatus::parse("Running"),
            &OperationStatus::parse("Running"),
            &OperationStatus::parse("Succeeded")
        ]
    );
    let planned: Vec<bool> = seen.iter().map(|s| s.2).collect();
    assert_eq!(planned, [true, true, true, false]);
}
