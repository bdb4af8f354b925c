//! `cargo run --example demo`
//!
//! Two Azure Maps Creator conversions resolved by `LroLayer` over a real hyper-util client.
//! Each is one `call` that returns one final response. The "Azure Maps Creator" here is a small
//! mock embedded at the bottom of this file, listening on 127.0.0.1 (random port):
//!
//! 1. API V2 (`202 Accepted` + `Operation-Location`). The conversion succeeds after a few polls
//!    and creates a tileset. The layer fetches the tileset, and the caller gets that response.
//! 2. API V1 (`202 Accepted` + `Location`). The conversion fails with the OData error of the
//!    Azure Maps docs. The caller gets an `Err` (a `tower_lro::Error`), not a `200` that could
//!    pass for a success.
//!
//! The mock asks for short waits (`retry-after-ms: 300`, `Retry-After: 1`), so the demo takes
//! a few seconds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_lro::{LroLayer, LroMetadata, Progress};
use tower_lro::{LroRequest, PollKind};

const SUBSCRIPTION_KEY: &str = "demo-subscription-key";

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let creator = creator::start().await?;
    let base = creator.base.clone();

    println!();
    println!("tower-lro demo: one call in, one final response out");
    println!("Mock Azure Maps Creator listening on {base}");

    // When the current submission was sent: the hooks print times relative to it.
    let t0 = Arc::new(Mutex::new(Instant::now()));
    // The first progress report of an operation comes right after its `202 Accepted`.
    let accepted = Arc::new(AtomicBool::new(false));

    let t0_polls = t0.clone();
    let t0_progress = t0.clone();
    let accepted_seen = accepted.clone();
    let layer = LroLayer::new()
        // Azure Maps wants `subscription-key` on the status URL too. (`api-version` is carried
        // by default.)
        .carry_query_param("subscription-key")
        .deadline(Duration::from_secs(60))
        // Called for every request the layer sends by itself: status polls and the resource GET.
        .on_poll_request(move |req| {
            let at = t0_polls.lock().unwrap().elapsed();
            let what = match req.extensions().get::<LroRequest>() {
                Some(r) if r.kind() == PollKind::Resource => {
                    // The layer fetches the resource only once the status said so.
                    println!(
                        "  {:>6}  ← {:<14} a resource was created",
                        secs(at),
                        "Succeeded"
                    );
                    "fetch resource".to_owned()
                }
                Some(r) => format!("poll #{}", r.attempt()),
                None => "request".to_owned(),
            };
            println!(
                "  {:>6}  → {what:<14} GET {}",
                secs(at),
                show_uri(&req.uri().to_string())
            );
        })
        // Called after each status poll, with the operation's status and the next wait.
        .on_progress(move |p: &Progress| {
            // `None`: the operation is over; the summary below says how it ended.
            let Some(wait) = p.next_poll_in() else { return };
            let at = secs(t0_progress.lock().unwrap().elapsed());
            if accepted_seen.swap(false, Ordering::Relaxed) {
                println!(
                    "  {at:>6}  ← {:<14} first poll in {}",
                    "202 Accepted",
                    millis(wait)
                );
                return;
            }
            let pct = p
                .percent_complete()
                .map(|v| format!(" {v:.0}%"))
                .unwrap_or_default();
            let what = format!("{}{pct}", p.status());
            println!(
                "  {at:>6}  ← {what:<14} {}  next poll in {}",
                bar(p.percent_complete()),
                millis(wait)
            );
        });

    let client = ServiceBuilder::new()
        .layer(layer)
        .service(Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>());

    // Prints the submission, restarts the clock the progress lines count from, and sends it.
    let submit = |url: &str| {
        println!(
            "  {:>6}  → {:<14} POST {}",
            secs(Duration::ZERO),
            "submit",
            show_uri(url)
        );
        *t0.lock().unwrap() = Instant::now();
        accepted.store(true, Ordering::Relaxed);
        let request = Request::post(url).body(Full::default());
        client.clone().oneshot(request.expect("a valid request"))
    };

    // ------------------------------------------------------------------------------------------
    heading("1 · Conversion, API V2: 202 Accepted + Operation-Location");
    let url = format!(
        "{base}/conversions?api-version=2.0&udid={}&outputOntology=facility-2.0\
         &subscription-key={SUBSCRIPTION_KEY}",
        creator::GOOD_UDID
    );
    let response = submit(&url).await?;

    let meta = response
        .extensions()
        .get::<LroMetadata>()
        .cloned()
        .expect("a resolved operation carries LroMetadata");
    let status = response.status();
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("?").to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await?.to_bytes();

    println!();
    println!(
        "  ✔ {} after {} polls in {} (status monitor from the {} header)",
        meta.status(),
        meta.polls(),
        secs(meta.elapsed()),
        meta.rule()
    );
    println!(
        "    operation  {}",
        meta.operation_id().unwrap_or("(no id)")
    );
    if let Some(resource) = meta.resource_url() {
        println!("    resource   {resource}");
    }
    println!("    response   {status} {content_type}");
    for line in String::from_utf8_lossy(&body).lines() {
        println!("      {line}");
    }

    // ------------------------------------------------------------------------------------------
    heading("2 · Conversion, API V1: 202 Accepted + Location");
    let url = format!(
        "{base}/conversions?api-version=1.0&udid={}&inputType=DWG\
         &subscription-key={SUBSCRIPTION_KEY}",
        creator::NO_GEOMETRY_UDID
    );
    let outcome = submit(&url).await;

    match outcome {
        Ok(response) => {
            println!("  ? unexpected success: {}", response.status());
            std::process::exit(1);
        }
        Err(err) => {
            let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
                return Err(err);
            };
            let status = e
                .operation_status()
                .map_or("Failed".to_owned(), ToString::to_string);
            let at = secs(t0.lock().unwrap().elapsed());
            let code = e.odata_error().and_then(|o| o.code()).unwrap_or("");
            println!("  {at:>6}  ← {status:<14} {code}");
            println!();
            println!("  ✘ {status} at {at}: the call returned Err(tower_lro::Error)");
            println!("    kind       {:?}", e.kind());
            println!("    operation  {}", e.operation_id().unwrap_or("(no id)"));
            if let Some(odata) = e.odata_error() {
                println!("    code       {}", odata.code().unwrap_or("-"));
                println!("    message    {}", odata.message().unwrap_or("-"));
                for d in odata.details() {
                    println!(
                        "    details    {}: {}",
                        d.code().unwrap_or("-"),
                        d.message().unwrap_or("-")
                    );
                }
            }
            if let Some(status) = e.status() {
                let bytes = e.body().map_or(0, Bytes::len);
                println!("    response   {status}, {bytes}-byte status document kept in the error");
            }
        }
    }

    println!();
    println!(
        "The mock served {} requests. The caller made 2 calls.",
        creator.requests()
    );
    println!();
    Ok(())
}

fn heading(title: &str) {
    println!();
    println!(
        "── {title} {}",
        "─".repeat(72usize.saturating_sub(title.chars().count()))
    );
}

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// A wait, to the nearest 10 ms (it is measured a moment after it was chosen).
fn millis(d: Duration) -> String {
    format!("{} ms", (d.as_millis() + 5) / 10 * 10)
}

/// Path and query of a URL, with the subscription key masked.
fn show_uri(uri: &str) -> String {
    let path_and_query = match uri.find("://") {
        Some(i) => uri[i + 3..].find('/').map_or("/", |j| &uri[i + 3 + j..]),
        None => uri,
    };
    path_and_query.replace(SUBSCRIPTION_KEY, "***")
}

/// A small mock of the Azure Maps Creator conversion API, in both long-running operation
/// shapes of the Azure Maps docs ("Creator Long-Running Operation API" V1 and V2).
mod creator {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http::{Method, Request, Response, StatusCode};
    use http_body_util::Full;
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use tokio::net::TcpListener;

    /// An upload that converts fine.
    pub const GOOD_UDID: &str = "25084fb7-307a-4720-8f91-7952a0b91012";
    /// An upload with a feature that has no geometry: its conversion fails.
    pub const NO_GEOMETRY_UDID: &str = "0e3d4c5b-6a79-4b8c-9d0e-1f2a3b4c5d6e";

    const TILESET_ID: &str = "f3c1b7a2-8d4e-4f60-9a1b-2c3d4e5f6a7b";

    #[derive(Clone, Copy)]
    enum Api {
        V1,
        V2,
    }

    struct Operation {
        api: Api,
        fails: bool,
        polls: u32,
    }

    #[derive(Default)]
    struct State {
        operations: Mutex<HashMap<String, Operation>>,
        next_id: AtomicUsize,
        requests: AtomicUsize,
    }

    pub struct Creator {
        pub base: String,
        state: Arc<State>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Creator {
        pub fn requests(&self) -> usize {
            self.state.requests.load(Ordering::Relaxed)
        }
    }

    impl Drop for Creator {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    pub async fn start() -> std::io::Result<Creator> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::default());
        let (shared, url) = (state.clone(), base.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, base) = (shared.clone(), url.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let reply = handle(&state, &base, &req);
                        async move { Ok::<_, std::convert::Infallible>(reply) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .title_case_headers(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Creator { base, state, task })
    }

    fn query<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
        req.uri().query()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == name).then_some(v)
        })
    }

    fn reply(
        status: StatusCode,
        headers: &[(&'static str, String)],
        body: String,
    ) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        for (name, value) in headers {
            response
                .headers_mut()
                .insert(*name, value.parse().expect("valid header value"));
        }
        response
    }

    fn handle(state: &State, base: &str, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        state.requests.fetch_add(1, Ordering::Relaxed);
        let path = req.uri().path();
        if query(req, "subscription-key").is_none() {
            let body =
                r#"{"error":{"code":"401 Unauthorized","message":"Missing subscription-key."}}"#;
            return reply(StatusCode::UNAUTHORIZED, &[], body.to_owned());
        }

        // Submit: POST /conversions?api-version=…&udid=…
        if req.method() == Method::POST && path == "/conversions" {
            let api = match query(req, "api-version") {
                Some("1.0") => Api::V1,
                _ => Api::V2,
            };
            let Some(udid) = query(req, "udid") else {
                let body = r#"{"error":{"code":"400 BadRequest","message":"The 'udid' query parameter is required."}}"#;
                return reply(StatusCode::BAD_REQUEST, &[], body.to_owned());
            };
            let n = state.next_id.fetch_add(1, Ordering::Relaxed);
            let id = format!("c587574e-add9-4ef7-9788-1635bed9a8{n:02x}");
            let fails = udid == NO_GEOMETRY_UDID;
            state.operations.lock().unwrap().insert(
                id.clone(),
                Operation {
                    api,
                    fails,
                    polls: 0,
                },
            );
            let monitor = format!("{base}/service/operations/{id}");
            return match api {
                Api::V2 => reply(
                    StatusCode::ACCEPTED,
                    &[
                        ("operation-location", monitor),
                        ("retry-after-ms", "300".into()),
                    ],
                    String::new(),
                ),
                Api::V1 => reply(
                    StatusCode::ACCEPTED,
                    &[("location", monitor), ("retry-after", "1".into())],
                    String::new(),
                ),
            };
        }

        // Status monitor: GET /service/operations/{id}
        if let Some(id) = path.strip_prefix("/service/operations/") {
            let mut operations = state.operations.lock().unwrap();
            let Some(op) = operations.get_mut(id) else {
                return reply(StatusCode::NOT_FOUND, &[], String::new());
            };
            op.polls += 1;
            let (created_field, wait) = match op.api {
                Api::V1 => ("createdDateTime", ("retry-after", "1".to_owned())),
                Api::V2 => ("created", ("retry-after-ms", "300".to_owned())),
            };
            let created = "2021-05-06T07:55:19.5256829+00:00";
            let finished = if op.fails { 2 } else { 4 };
            if op.polls < finished {
                let (status, pct) = match op.polls {
                    1 => ("NotStarted", 0),
                    2 => ("Running", 40),
                    _ => ("Running", 80),
                };
                let body = format!(
                    "{{\n    \"operationId\": \"{id}\",\n    \"{created_field}\": \"{created}\",\n    \
                     \"status\": \"{status}\",\n    \"percentComplete\": {pct}\n}}"
                );
                return reply(StatusCode::OK, &[wait], body);
            }
            if op.fails {
                // The failure response of the docs: 200 OK with an OData error.
                let body = format!(
                    r#"{{
    "operationId": "{id}",
    "{created_field}": "{created}",
    "status": "Failed",
    "error": {{
        "code": "InvalidFeature",
        "message": "The provided feature is invalid.",
        "details": {{
            "code": "NoGeometry",
            "message": "No geometry was provided with the feature."
        }}
    }}
}}"#
                );
                return reply(StatusCode::OK, &[], body);
            }
            let tileset = format!("{base}/tilesets/{TILESET_ID}");
            return match op.api {
                // V2: 200 OK with a (quoted) Resource-Location header.
                Api::V2 => reply(
                    StatusCode::OK,
                    &[("resource-location", format!("\"{tileset}\""))],
                    format!(
                        "{{\n    \"operationId\": \"{id}\",\n    \"created\": \"{created}\",\n    \
                         \"status\": \"Succeeded\"\n}}"
                    ),
                ),
                // V1: 201 Created with Location and a body resourceLocation.
                Api::V1 => reply(
                    StatusCode::CREATED,
                    &[("location", format!("\"{tileset}\""))],
                    format!(
                        "{{\n    \"operationId\": \"{id}\",\n    \"createdDateTime\": \"{created}\",\n    \
                         \"status\": \"Succeeded\",\n    \"resourceLocation\": \"{tileset}\"\n}}"
                    ),
                ),
            };
        }

        // The created resource: GET /tilesets/{id}
        if req.method() == Method::GET && path == format!("/tilesets/{TILESET_ID}") {
            let body = format!(
                "{{\n  \"tilesetId\": \"{TILESET_ID}\",\n  \"datasetId\": \"{GOOD_UDID}\",\n  \
                 \"description\": \"Contoso HQ, facility-2.0\",\n  \"minZoom\": 16,\n  \
                 \"maxZoom\": 18\n}}"
            );
            return reply(
                StatusCode::OK,
                &[("content-type", "application/json; charset=utf-8".into())],
                body,
            );
        }

        reply(StatusCode::NOT_FOUND, &[], String::new())
    }
}

/// A text progress bar for `percentComplete` (blank when the service gives none).
fn bar(percent: Option<f64>) -> String {
    const WIDTH: usize = 20;
    match percent {
        Some(p) => {
            let filled = ((p.clamp(0.0, 100.0) / 100.0) * WIDTH as f64).round() as usize;
            format!("[{}{}]", "█".repeat(filled), "░".repeat(WIDTH - filled))
        }
        None => " ".repeat(WIDTH + 2),
    }
}
