//! V1: `202` + `Location`.

use super::*;

#[tokio::test]
async fn v1_success_201_returns_the_created_resource() {
    let server = serve(v1::ACCEPTED, &[v1::RUNNING, v1::RUNNING, v1::CREATED]).await;

    let resp = submit(&server, maps_layer(), "1.0").await.unwrap();

    assert_created_resource(resp, &server, Rule::Location).await;
    assert_exchange(&server.requests(), "1.0", 3, true, &carried("1.0"));
}

#[tokio::test]
async fn v1_success_200_returns_the_status_response() {
    let server = serve(v1::ACCEPTED, &[v1::RUNNING, v1::SUCCEEDED_NO_RESOURCE]).await;

    // The default layer carries `api-version` only: `subscription-key` stays off the polls.
    let resp = submit(&server, fast_layer(), "1.0").await.unwrap();

    let done = v1::SUCCEEDED_NO_RESOURCE;
    assert_status_document(resp, &server, Rule::Location, 2, done).await;
    assert_exchange(
        &server.requests(),
        "1.0",
        2,
        false,
        &[("api-version", "1.0")],
    );
}

#[tokio::test]
async fn v1_failure_is_an_operation_failed_error() {
    let server = serve(v1::ACCEPTED, &[v1::RUNNING, v1::RUNNING, v1::FAILED]).await;

    let err = submit(&server, maps_layer(), "1.0").await.unwrap_err();

    assert_operation_failed(&err, &server, v1::FAILED, Rule::Location, 3);
    assert_exchange(&server.requests(), "1.0", 3, false, &carried("1.0"));
}

#[tokio::test]
async fn v1_bad_request_on_submit_comes_back_untouched() {
    let server = serve(BAD_REQUEST, &[v1::RUNNING]).await;

    let resp = submit(&server, maps_layer(), "1.0").await.unwrap();

    assert_bad_request(resp, &server).await;
}
