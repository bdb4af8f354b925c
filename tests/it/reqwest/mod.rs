//! `LroMiddleware` in a real `reqwest` client (`reqwest-middleware`), against a loopback server.
//!
//! Real sockets: no paused time; the layer's waits are clamped to a few milliseconds instead.

use crate::support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Extensions, Method, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next, RequestBuilder};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{RetryError, RetryTransientMiddleware};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tower_lro::__private::Reason;
use tower_lro::middleware::{lro_error, redirect_policy, LroMiddleware};
use tower_lro::{ErrorKind, FinalState, LroLayer, LroMetadata, LroOptions, Progress, Rule};
use tower_lro::{LroRequest, PollKind};

use support::{
    assert_bodiless_get, fast_layer, maps_layer, MockServer, Reply, SEED_V1_RUNNING,
    SEED_V2_RUNNING, SEED_V2_SUCCEEDED, TEST_TIMEOUT,
};

const SUBSCRIPTION_KEY: &str = "sk-test";

const RESOURCE: &str = r#"{"tilesetId":"tileset-1","ontology":"facility-2.0"}"#;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A plain-HTTP reqwest client that ignores proxy environment variables.
fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("a plain-HTTP reqwest client builds")
}

/// `LroMiddleware` alone over a reqwest client.
fn client(layer: LroLayer) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::from(layer))
        .build()
}

/// A layer as Azure Maps wants it: `subscription-key` is carried onto polls too.
async fn send(request: RequestBuilder) -> reqwest_middleware::Result<Response> {
    tokio::time::timeout(TEST_TIMEOUT, request.send())
        .await
        .expect("the exchange finished within the test timeout")
}

async fn body(response: Response) -> String {
    let bytes = tokio::time::timeout(TEST_TIMEOUT, response.bytes())
        .await
        .expect("the body arrived within the test timeout")
        .expect("the body reads");
    String::from_utf8(bytes.to_vec()).expect("the body is text")
}

fn submit_url(server: &MockServer) -> String {
    server.url(&format!(
        "/mapData?api-version=2.0&subscription-key={SUBSCRIPTION_KEY}"
    ))
}

fn submit(client: &ClientWithMiddleware, server: &MockServer) -> RequestBuilder {
    client
        .post(submit_url(server))
        .header("content-type", "application/json")
        .bearer_auth("caller-token")
        .body(r#"{"upload":"..."}"#)
}

fn metadata(response: &Response) -> &LroMetadata {
    response
        .extensions()
        .get::<LroMetadata>()
        .expect("a resolved response carries LroMetadata")
}

fn the_lro_error(err: &reqwest_middleware::Error) -> &tower_lro::Error {
    lro_error(err).unwrap_or_else(|| panic!("expected a tower_lro::Error, got {err:?}"))
}

/// The submission's `202` + `Operation-Location`, the monitor `/mapData/operations/1`.
fn accepted(server: &MockServer) -> Reply {
    Reply::new(202).header("Operation-Location", &server.url("/mapData/operations/1"))
}

/// `POST /mapData` answers [`accepted`].
fn serve_accepted(server: &MockServer) {
    server.always(Method::POST, "/mapData", accepted(server));
}

/// A seed's `Running` status document (`SEED_V1_RUNNING`, `SEED_V2_RUNNING`), as the seed
/// answers it: with `Retry-After: 30`.
fn running(seed: &'static str) -> Reply {
    Reply::new(200).header("Retry-After", "30").json(seed)
}

/// Seed V2: `202` + `Operation-Location`, `Running` then `Succeeded` with `Resource-Location`.
fn serve_v2_success(server: &MockServer) {
    serve_accepted(server);
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![
            running(SEED_V2_RUNNING),
            Reply::new(200)
                .header(
                    "Resource-Location",
                    &format!("\"{}\"", server.url("/tilesets/tileset-1")),
                )
                .json(SEED_V2_SUCCEEDED),
        ],
    );
    server.always(
        Method::GET,
        "/tilesets/tileset-1",
        Reply::new(200).header("x-resource", "yes").json(RESOURCE),
    );
}

mod chunked;
mod compose;
mod control;
mod seeds;
mod smoke;
