//! The named dialects of the open standards through the layer over real sockets: the
//! `Prefer: respond-async` the layer adds to a kick-off, the one a caller sent, and the
//! progress text an `on_progress` hook sees (spec §8, §10).

use std::sync::{Arc, Mutex};

use http::Method;

use crate::support::{body_bytes, fast_layer, get, lro_client, post, send, MockServer, Reply};
use tower_lro::{Dialect, LroMetadata, LroOptions};

/// FHIR Bulk Data: a kick-off without `Prefer` is sent with `Prefer: respond-async`
/// (https://hl7.org/fhir/uv/bulkdata/export.html#headers); a read is not; the `X-Progress`
/// text reaches the progress hook as it was sent.
#[tokio::test]
async fn fhir_kick_off_asks_for_async_and_reports_its_progress_text() {
    fhir_kick_off(Dialect::fhir()).await;
}

/// A user's copy of the `fhir` description (`Dialect::from_json`) is read as a declared
/// dialect, and asks for `Prefer: respond-async` where the built-in does: its
/// `prefer_async` says so, not its identity.
#[tokio::test]
async fn a_copy_of_the_fhir_description_asks_for_async_as_the_built_in() {
    fhir_kick_off(Dialect::from_json(FHIR_JSON).unwrap()).await;
}

/// A user's copy of the `ogc-processes` description, likewise.
#[tokio::test]
async fn a_copy_of_the_ogc_description_asks_for_async_as_the_built_in() {
    ogc_execution(Dialect::from_json(OGC_JSON).unwrap()).await;
}

const FHIR_JSON: &str = include_str!("../../src/proto/dialect/standards/fhir.json");
const OGC_JSON: &str = include_str!("../../src/proto/dialect/standards/ogc-processes.json");

async fn fhir_kick_off(dialect: Dialect) {
    let server = MockServer::start().await;
    server.always(
        Method::GET,
        "/fhir/$export",
        Reply::new(202).header("content-location", "/fhir/status/1"),
    );
    server.sequence(
        Method::GET,
        "/fhir/status/1",
        vec![
            Reply::new(202)
                .header("x-progress", "Exporting Patient (1 of 3)")
                .header("retry-after", "0"),
            Reply::new(200).json(r#"{"output":[]}"#),
        ],
    );
    server.always(Method::GET, "/fhir/Patient/1", Reply::new(200).json("{}"));
    let texts = Arc::new(Mutex::new(Vec::new()));
    let seen = texts.clone();
    let layer = fast_layer().dialect(dialect).on_progress(move |p| {
        seen.lock()
            .unwrap()
            .extend(p.progress_text().map(str::to_owned));
    });
    let client = lro_client(layer);
    let resp = send(&client, get(&server.url("/fhir/$export")))
        .await
        .unwrap();
    let meta = resp.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!(meta.dialect(), "fhir");
    assert_eq!(body_bytes(resp.into_body()).await, r#"{"output":[]}"#);
    let kick_off = &server.requests_to("/fhir/$export")[0];
    assert_eq!(kick_off.header("prefer"), Some("respond-async"));
    assert!(server
        .requests_to("/fhir/status/1")
        .iter()
        .all(|r| r.header("prefer").is_none()));
    assert_eq!(*texts.lock().unwrap(), ["Exporting Patient (1 of 3)"]);
    send(&client, get(&server.url("/fhir/Patient/1")))
        .await
        .unwrap();
    assert_eq!(
        server.requests_to("/fhir/Patient/1")[0].header("prefer"),
        None
    );
}

/// OGC API – Processes: an execution without `Prefer` is sent with `Prefer: respond-async`
/// (https://docs.ogc.org/is/18-062r2/18-062r2.html#sc_execution_mode); a caller's own
/// `Prefer` wins, and with it the caller's request options decide whether to resolve.
#[tokio::test]
async fn ogc_execution_asks_for_async_unless_the_caller_said() {
    ogc_execution(Dialect::ogc_processes()).await;
}

async fn ogc_execution(dialect: Dialect) {
    let server = MockServer::start().await;
    server.always(
        Method::POST,
        "/processes/buffer/execution",
        Reply::new(201)
            .header("location", "/jobs/1")
            .json(r#"{"jobID":"1","status":"accepted"}"#),
    );
    server.always(
        Method::GET,
        "/jobs/1",
        Reply::new(200).json(r#"{"jobID":"1","status":"successful"}"#),
    );
    server.always(
        Method::GET,
        "/jobs/1/results",
        Reply::new(200).json(r#"{"r":1}"#),
    );
    let client = lro_client(fast_layer().dialect(dialect));
    let url = server.url("/processes/buffer/execution");
    let resp = send(&client, post(&url, "{}")).await.unwrap();
    assert_eq!(body_bytes(resp.into_body()).await, r#"{"r":1}"#);
    let mut own = post(&url, "{}");
    own.headers_mut()
        .insert("prefer", "respond-async;wait=5".parse().unwrap());
    own.extensions_mut().insert(LroOptions::new().force());
    let resp = send(&client, own).await.unwrap();
    assert_eq!(body_bytes(resp.into_body()).await, r#"{"r":1}"#);
    let sent = server.requests_to("/processes/buffer/execution");
    let prefer: Vec<_> = sent.iter().map(|r| r.header("prefer")).collect();
    assert_eq!(
        prefer,
        [Some("respond-async"), Some("respond-async;wait=5")]
    );
}
