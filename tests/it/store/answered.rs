//! A later request answered from the store carries the same `LroMetadata` as the first answer
//! (but for its elapsed time's origin and the masked monitor URL), when the record kept it; a
//! record written before it was kept still answers, without one.

use std::sync::Arc;

use tower_lro::store::{MemoryStore, OperationRecord, OperationStore, Outcome};
use tower_lro::{LroMetadata, StatusMeaning};

use super::{client, layer, outcome, Upstream};
use crate::support::{body_bytes, send};

fn meta<B>(r: &http::Response<B>) -> LroMetadata {
    r.extensions()
        .get::<LroMetadata>()
        .expect("the answer carries LroMetadata")
        .clone()
}

#[tokio::test]
async fn an_answer_from_the_store_carries_the_first_answers_metadata() {
    let up = Upstream::start().await;
    up.finish();
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let first = send(&svc, up.keyed("m", "{}")).await.unwrap();
    assert_eq!(outcome(&first), Outcome::Submitted);
    let a = meta(&first);
    let again = send(&svc, up.keyed("m", "{}")).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Answered);
    let b = meta(&again);
    assert_eq!(b.status(), a.status());
    assert_eq!(b.status().meaning(), StatusMeaning::Succeeded);
    assert_eq!(
        (b.rule(), b.polls(), b.operation_id(), b.dialect()),
        (a.rule(), a.polls(), a.operation_id(), a.dialect())
    );
    assert_eq!(b.operation_url(), a.operation_url());
    assert_eq!(b.resource_url(), a.resource_url());
    assert_eq!(b.elapsed().as_millis(), a.elapsed().as_millis());
    assert_eq!(b.credentials_withheld(), a.credentials_withheld());
    assert!(b.resume_handle().is_none());
    assert_eq!(body_bytes(again.into_body()).await, r#"{"id":"thing-1"}"#);

    // A record written before the metadata was kept: answered as before, without it.
    let mut old = store.load("m").await.unwrap().unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&old.to_json()).unwrap();
    json.as_object_mut().unwrap().remove("metadata");
    old = OperationRecord::from_json(json.to_string().as_bytes()).unwrap();
    store.save("m", &old).await.unwrap();
    let older = send(&svc, up.keyed("m", "{}")).await.unwrap();
    assert_eq!(outcome(&older), Outcome::Answered);
    assert!(older.extensions().get::<LroMetadata>().is_none());
    assert_eq!(body_bytes(older.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(up.submissions(), 1);
}

/// A failure answered with the upstream's own `4xx` (here an OData `AsyncResult: 409`) is
/// answered from the store with that status again, not the one its code would give (`422`); a
/// record written before the status was kept still answers, with the code's.
#[tokio::test]
async fn a_recorded_failure_keeps_the_upstreams_status() {
    use http::{Method, StatusCode};
    let up = Upstream::start().await;
    // A `Location` monitor (OData's): its final answer's `AsyncResult` is the request's status.
    let monitor = up.server.url("/ops/1");
    let accepted = crate::support::Reply::new(202).header("location", &monitor);
    up.server.always(Method::POST, "/jobs", accepted);
    up.server.always(
        Method::GET,
        "/ops/1",
        crate::support::Reply::new(200)
            .header("asyncresult", "409")
            .json(r#"{"error":{"code":"Taken","message":"the name is taken"}}"#),
    );
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let target: http::Uri = up.server.url("/jobs").parse().unwrap();
    let status = |err: tower::BoxError| {
        let e = err.downcast::<tower_lro::Error>().expect("an LRO error");
        assert_eq!(e.kind(), tower_lro::ErrorKind::OperationFailed);
        tower_lro::gateway::error_response(&target, &*e).status()
    };
    let first = send(&svc, up.keyed("x", "{}")).await.unwrap_err();
    assert_eq!(status(first), StatusCode::CONFLICT);
    assert_eq!(
        store.load("x").await.unwrap().unwrap().failure_status,
        Some(409)
    );
    let again = send(&svc, up.keyed("x", "{}")).await.unwrap_err();
    assert_eq!(status(again), StatusCode::CONFLICT);

    // A record written before the status was kept: answered with its code's status.
    let old = store.load("x").await.unwrap().unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(&old.to_json()).unwrap();
    assert!(json
        .as_object_mut()
        .unwrap()
        .remove("failure_status")
        .is_some());
    let old = OperationRecord::from_json(json.to_string().as_bytes()).unwrap();
    store.save("x", &old).await.unwrap();
    let older = send(&svc, up.keyed("x", "{}")).await.unwrap_err();
    assert_eq!(status(older), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(up.submissions(), 1);
}

/// A query parameter the caller made a credential (`credential_header`: the header and the
/// query parameter of that name) in the monitor URL the upstream wrote is masked in the kept
/// metadata, as the library's own names are: a record holds none of its value.
#[tokio::test]
async fn the_kept_monitor_url_masks_the_callers_own_credential_names() {
    use crate::support::{post, MockServer, Reply};
    use http::Method;
    let server = MockServer::start().await;
    let monitor = server.url("/ops/1?x-tenant-pin=pin-4711&api-version=2");
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &monitor),
    );
    server.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).json(r#"{"id":"op-1","status":"Succeeded","result":{"n":1}}"#),
    );
    let store = Arc::new(MemoryStore::new());
    let layer = crate::support::fast_layer()
        .credential_header(http::HeaderName::from_static("x-tenant-pin"))
        .idempotency_header(tower_lro::IdempotencyHeader::IdempotencyKey)
        .store(store.clone());
    let svc = client(layer);
    let keyed = || {
        let mut req = post(&server.url("/jobs"), "{}");
        req.extensions_mut().insert(
            tower_lro::LroOptions::new()
                .idempotency_key("p")
                .request_body(b"{}"),
        );
        req
    };
    let first = send(&svc, keyed()).await.unwrap();
    assert_eq!(outcome(&first), Outcome::Submitted);
    let record = store.load("p").await.unwrap().expect("a record");
    let kept = record.metadata.as_ref().expect("the metadata is kept");
    assert!(
        !kept.operation_url.contains("pin-4711"),
        "{}",
        kept.operation_url
    );
    let json = String::from_utf8(record.to_json()).unwrap();
    assert!(!json.contains("pin-4711"), "{json}");
    let again = send(&svc, keyed()).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Answered);
    assert!(!meta(&again).operation_url().contains("pin-4711"));
}
