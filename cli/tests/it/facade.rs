//! `lro proxy`'s asynchronous façade (issue 16): `Prefer: respond-async` answered `202` with
//! the proxy's own `/_lro/operations/{id}`, resolved by `lro` and by the library whatever the
//! upstream's dialect; failure and cancellation; server-sent events with `Last-Event-ID`;
//! `/_lro/resume`; unknown ids; an operation taken over after its proxy was killed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::client::{accepted, json, send, until_terminal};
use crate::support::upstream::Upstream;
use crate::support::{lro, now, proxy_on, resp, temp_dir, Mock, Run};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tower::ServiceExt;

/// Fast polls between the proxy and the upstream, and a fast `Retry-After` to clients.
const FAST: [&str; 2] = ["--poll-interval", "0.05"];

fn body_text(body: &Bytes) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// `POST {base}{path}` with `Prefer: respond-async`: the `202`'s status URL (relative).
async fn start_async(base: &str, path: &str, extra: &[(&str, &str)]) -> String {
    let mut headers = vec![("prefer", "respond-async")];
    headers.extend_from_slice(extra);
    let (status, h, body) = send("POST", &format!("{base}{path}"), &headers, "{}").await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(h["preference-applied"], "respond-async");
    assert!(h.contains_key("retry-after"));
    let location = h["operation-location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/_lro/operations/"), "{location}");
    let status = json(&body)["status"].as_str().unwrap().to_owned();
    assert!(
        matches!(status.as_str(), "NotStarted" | "Running"),
        "{status}"
    );
    location
}

#[tokio::test(flavor = "multi_thread")]
async fn the_facade_answers_202_and_lro_resolves_it() {
    let up = Upstream::start().await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    let location = start_async(&base, "/jobs/ok", &[]).await;
    let url = format!("{base}{location}");
    // Bounded wait for the first poll's report.
    let mut answer = send("GET", &url, &[], "").await;
    for _ in 0..100 {
        if json(&answer.2)["status"] == "Running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        answer = send("GET", &url, &[], "").await;
    }
    let (_, h, body) = answer;
    let doc = json(&body);
    assert_eq!(
        (doc["status"].as_str(), doc["percentComplete"].as_f64()),
        (Some("Running"), Some(40.0))
    );
    assert_eq!(doc["id"].as_str().unwrap().len(), 32, "a fresh random id");
    assert!(doc["createdDateTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(h["retry-after-ms"], "50");
    up.finish();
    let (_, h, body) = until_terminal(&url).await;
    assert_eq!(json(&body)["status"], "Succeeded");
    // A whole figure is written as an integer, as the seed documents (and the README) show it:
    // `100`, not `100.0`, which a client reading an integer refuses.
    assert!(
        body_text(&body).contains(r#""percentComplete":100,"#),
        "{body:?}"
    );
    assert_eq!(json(&body)["percentComplete"], 100);
    assert_eq!(h["resource-location"], format!("{location}/result"));
    let (status, _, result) = send("GET", &format!("{url}/result"), &[], "").await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    // `lro` itself: it asks for respond-async, polls the façade and prints the result.
    up.run_again();
    let polled = up.mock.count("/ops/ok");
    let task = tokio::spawn({
        let base = base.clone();
        async move { lro_async(&base, "/jobs/ok").await }
    });
    // Finish only once lro's operation runs (submitted, and polled upstream): bounded, 10 s.
    for _ in 0..1000 {
        if up.mock.count("/jobs/ok") == 2 && up.mock.count("/ops/ok") > polled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    up.finish();
    let run = task.await.unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["thing"], "ok");
    assert_eq!(
        up.mock.count("/jobs/ok"),
        2,
        "one submission per client request"
    );
}

/// Operations waiting in the background hold no `--max-concurrent` slot.
#[tokio::test(flavor = "multi_thread")]
async fn background_operations_hold_no_upstream_slot() {
    let up = Upstream::start().await;
    let args = ["--poll-interval", "0.05", "--max-concurrent", "1"];
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let locations = [
        start_async(&base, "/jobs/ok", &[]).await,
        start_async(&base, "/jobs/ok", &[]).await,
        start_async(&base, "/jobs/ok", &[]).await,
    ];
    up.finish();
    for location in locations {
        let (_, _, body) = until_terminal(&format!("{base}{location}")).await;
        assert_eq!(json(&body)["status"], "Succeeded");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_that_starts_no_operation_is_given_as_it_is() {
    let up = Upstream::start().await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    let (status, h, body) = send(
        "POST",
        &format!("{base}/bad"),
        &[("prefer", "respond-async")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!h.contains_key("preference-applied"));
    assert_eq!(json(&body)["error"]["code"], "Invalid");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_callers_with_the_same_key_get_two_operations() {
    let up = Upstream::start().await;
    up.finish();
    let (_child, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    let caller = |token| [("idempotency-key", "\"shared\""), ("authorization", token)];
    let a = accepted(&format!("{base}/jobs/ok"), &caller("Bearer a")).await;
    let b = accepted(&format!("{base}/jobs/ok"), &caller("Bearer b")).await;
    assert_ne!(a, b, "ids are scoped by the callers' credentials");
    assert_eq!(up.mock.count("/jobs/ok"), 2, "one submission each");
    // The same caller again: the same operation.
    let again = accepted(&format!("{base}/jobs/ok"), &caller("Bearer a")).await;
    assert_eq!(again, a);
    assert_eq!(up.mock.count("/jobs/ok"), 2);
    // The bare key names nobody's operation.
    let (status, _, _) = send("GET", &format!("{base}/_lro/operations/shared"), &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Another request under a used key: refused (IETF draft: 422), nothing sent.
    let mut headers = vec![("prefer", "respond-async")];
    headers.extend_from_slice(&caller("Bearer a"));
    let (status, h, _) = send("POST", &format!("{base}/jobs/ok"), &headers, "{\"n\":2}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h["content-type"], "application/problem+json");
    assert_eq!(up.mock.count("/jobs/ok"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_and_cancellation_are_mapped() {
    let up = Upstream::start().await;
    up.finish();
    let (_child, base, log) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    let key = [("idempotency-key", "\"fail/1\"")];
    let location = accepted(&format!("{base}/jobs/fail"), &key).await;
    // The client's key, in the scope of no credentials (a MAC under this proxy's secret), is
    // the id.
    let scope = location
        .strip_prefix("/_lro/operations/")
        .and_then(|id| id.strip_suffix("%3Afail%2F1"))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(scope.len() == 32 && scope.bytes().all(|b| b.is_ascii_hexdigit()));
    let url = format!("{base}{location}");
    let (_, h, body) = until_terminal(&url).await;
    let doc = json(&body);
    assert_eq!(doc["status"], "Failed");
    assert_eq!(doc["id"], format!("{scope}:fail/1"));
    assert_eq!(doc["error"]["code"], "QuotaExceeded");
    assert_eq!(doc["error"]["message"], "no \"room\"\nleft");
    assert!(!h.contains_key("retry-after") && !h.contains_key("resource-location"));
    let (status, _, body) = send("GET", &format!("{url}/result"), &[], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&body)["error"]["code"], "QuotaExceeded");
    // The same key again: the same façade, no second submission.
    let again = accepted(&format!("{base}/jobs/fail"), &key).await;
    assert_eq!(again, location);
    assert_eq!(up.mock.count("/jobs/fail"), 1);
    // Server text is never logged raw.
    assert!(log
        .lock()
        .unwrap()
        .iter()
        .all(|l| !l.contains("no \"room\"\nleft")));

    let location = accepted(&format!("{base}/jobs/cancel"), &[]).await;
    let (_, _, body) = until_terminal(&format!("{base}{location}")).await;
    assert_eq!(json(&body)["status"], "Canceled");
    // The error the direct answer gives, by the same rule: the word, "the operation ended …".
    let (status, _, direct) = send("POST", &format!("{base}/jobs/cancel"), &[], "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&body)["error"], json(&direct)["error"], "{direct:?}");
    assert_eq!(json(&direct)["error"]["code"], "Cancelled");

    // lro through the façade: the failure and the cancellation, as exit codes.
    let run = lro_async(&base, "/jobs/fail").await;
    assert_eq!(run.code, 3, "{run:?}");
    let run = lro_async(&base, "/jobs/cancel").await;
    assert_eq!(run.code, 8, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_ids_and_routes_are_404_json() {
    let up = Upstream::start().await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    for path in [
        "/_lro/operations/nope",
        "/_lro/operations/nope/result",
        "/_lro/other",
        "/_lro/operations/%0A",
    ] {
        let (status, h, body) = send("GET", &format!("{base}{path}"), &[], "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(h["content-type"], "application/json");
        assert_eq!(json(&body)["error"]["code"], "NotFound");
    }
    let (status, _, _) = send("DELETE", &format!("{base}/_lro/operations/nope"), &[], "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        up.mock.requests().is_empty(),
        "nothing of /_lro goes upstream"
    );
}

/// The events of an SSE answer, read until the stream ends (bounded: 10 s).
async fn events(url: &str, last: Option<&str>) -> (http::HeaderMap, Vec<(String, Value)>) {
    let mut headers = vec![("accept", "text/event-stream")];
    if let Some(id) = last {
        headers.push(("last-event-id", id));
    }
    let (status, h, body) = send("GET", url, &headers, "").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut out = Vec::new();
    for block in text.split("\n\n").filter(|b| b.contains("data: ")) {
        let field = |name: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in {block}"))
        };
        assert_eq!(field("event: "), "status");
        out.push((
            field("id: ").to_owned(),
            serde_json::from_str(field("data: ")).unwrap(),
        ));
    }
    (h, out)
}

#[tokio::test(flavor = "multi_thread")]
async fn events_stream_progress_and_resume_after_the_last_event_id() {
    let up = Upstream::start().await;
    let (_child, base, _) = proxy_on(
        "127.0.0.1:0",
        &up.mock.base,
        &["--poll-interval", "0.05", "--max-time", "1"],
    )
    .await;
    let location = start_async(&base, "/jobs/ok", &[]).await;
    let url = format!("{base}{location}");
    // Bounded by --max-time: the stream ends while the operation still runs.
    let (h, first) = events(&url, None).await;
    assert_eq!(h["content-type"], "text/event-stream");
    assert!(!first.is_empty());
    let ids: Vec<u64> = first.iter().map(|(id, _)| id.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert!(first
        .iter()
        .all(|(_, doc)| doc["status"] == "Running" || doc["status"] == "NotStarted"));
    assert_eq!(first.last().unwrap().1["percentComplete"], 40);
    let last = first.last().unwrap().0.clone();
    up.finish();
    // Resumed after the last id seen: nothing repeated, and the end.
    let (_, rest) = events(&url, Some(&last)).await;
    assert!(
        rest.iter()
            .all(|(id, _)| id.parse::<u64>().unwrap() > last.parse().unwrap()),
        "{rest:?}"
    );
    assert_eq!(rest.last().unwrap().1["status"], "Succeeded");
    // After the end, the same id: nothing will come, `204 No Content` (an EventSource stops
    // reconnecting), not an empty stream.
    let end = rest.last().unwrap().0.clone();
    let caught_up = [
        ("accept", "text/event-stream"),
        ("last-event-id", end.as_str()),
    ];
    let (status, _, body) = send("GET", &url, &caught_up, "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty(), "{body:?}");
    // An id the proxy never issued (past the record's revision, or junk): the current
    // document, not silence until the deadline while a client reconnects.
    for junk in ["18446744073709551615", "not-a-number"] {
        let (_, current) = events(&url, Some(junk)).await;
        let ids: Vec<&str> = current.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, [end.as_str()], "{junk}");
        assert_eq!(current[0].1["status"], "Succeeded");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_504_handle_resumes_through_the_proxy() {
    let up = Upstream::start().await;
    let (_child, base, _) = proxy_on(
        "127.0.0.1:0",
        &up.mock.base,
        &["--poll-interval", "0.05", "--max-time", "0.5"],
    )
    .await;
    let (status, _, body) = send("POST", &format!("{base}/jobs/ok"), &[], "").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let timeout = String::from_utf8(body.to_vec()).unwrap();
    let resume = format!("{base}/_lro/resume");
    // With respond-async: the façade, for the operation still running.
    let (status, h, _) = send("POST", &resume, &[("prefer", "respond-async")], &timeout).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(h["preference-applied"], "respond-async");
    up.finish();
    let location = h["operation-location"].to_str().unwrap();
    let (_, _, doc) = until_terminal(&format!("{base}{location}")).await;
    assert_eq!(json(&doc)["status"], "Succeeded");
    // Without: the final answer.
    let (status, _, result) = send("POST", &resume, &[], &timeout).await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    assert_eq!(up.mock.count("/jobs/ok"), 1, "never submitted again");
    // A handle pointing anywhere else is refused, and nothing is sent there.
    let other = Mock::start(|_, _| resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    let elsewhere = timeout.replace(&up.mock.base, &other.base);
    let (status, _, body) = send("POST", &resume, &[], &elsewhere).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(other.requests().is_empty());
    let (status, _, _) = send("POST", &resume, &[], "{\"resume\":null}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operation_of_a_killed_proxy_is_taken_over() {
    let up = Upstream::start().await;
    let dir = temp_dir("facade-takeover");
    let store = dir.join("ops.redb");
    let args = [
        "--poll-interval",
        "0.05",
        "--store",
        store.to_str().unwrap(),
        "--store-lease",
        "0.5",
    ];
    let (mut first, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let location = start_async(&base, "/jobs/ok", &[("idempotency-key", "\"takeover-1\"")]).await;
    let polled = up.mock.count("/ops/ok");
    // SIGKILL: no shutdown, the lease is left to expire.
    first.start_kill().unwrap();
    first.wait().await.unwrap();
    up.finish();
    let (_second, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (_, _, body) = until_terminal(&format!("{base}{location}")).await;
    assert_eq!(json(&body)["status"], "Succeeded");
    let (status, _, result) = send("GET", &format!("{base}{location}/result"), &[], "").await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    assert_eq!(
        up.mock.count("/jobs/ok"),
        1,
        "taken over, not submitted again"
    );
    assert!(up.mock.count("/ops/ok") > polled);
    let _ = std::fs::remove_dir_all(dir);
}

/// `lro` asking the façade at `base{path}` for an asynchronous answer, and following it.
async fn lro_async(base: &str, path: &str) -> Run {
    let url = format!("{base}{path}");
    lro(&["-s", "-X", "POST", "-H", "Prefer: respond-async", &url]).await
}

/// `LroLayer` over the façade: the library resolves the proxy's own operations.
async fn through_the_library(base: &str, path: &str) -> (StatusCode, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let svc = tower::ServiceBuilder::new()
        .layer(tower_lro::LroLayer::new().poll_interval(Duration::from_millis(50)))
        .service(client);
    let mut req = Request::post(format!("{base}{path}"))
        .header("prefer", "respond-async")
        .body(Full::from("{}"))
        .unwrap();
    req.extensions_mut()
        .insert(tower_lro::LroOptions::new().force());
    let response = tokio::time::timeout(Duration::from_secs(20), svc.oneshot(req))
        .await
        .unwrap()
        .unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_library_resolves_the_facade_over_every_dialect() {
    // Default.
    let up = Upstream::start().await;
    up.finish();
    let (_a, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    let (status, body) = through_the_library(&base, "/jobs/ok").await;
    assert_eq!(
        (status, json(&body)["thing"].as_str()),
        (StatusCode::OK, Some("ok"))
    );

    // Google `Operation`: the result is the operation's `response`, recorded whole.
    let polls = Arc::new(AtomicUsize::new(0));
    let google = Mock::start(move |req, _| match req.target.as_str() {
        "/v1/jobs" => resp(200, &[], r#"{"name":"operations/g1","done":false}"#),
        "/v1/operations/g1" if polls.fetch_add(1, Ordering::SeqCst) == 0 => resp(
            200,
            &[],
            r#"{"name":"operations/g1","done":false,"metadata":{"progressPercent":30}}"#,
        ),
        "/v1/operations/g1" => resp(
            200,
            &[],
            r#"{"name":"operations/g1","done":true,"response":{"thing":"g"}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let (_b, base, _) = proxy_on(
        "127.0.0.1:0",
        &google.base,
        &["--poll-interval", "0.05", "--dialect", "google"],
    )
    .await;
    let (status, body) = through_the_library(&base, "/v1/jobs").await;
    assert_eq!(
        (status, json(&body)["thing"].as_str()),
        (StatusCode::OK, Some("g"))
    );
    let run = lro_async(&base, "/v1/jobs").await;
    assert_eq!(
        (run.code, run.json()["thing"].as_str()),
        (0, Some("g")),
        "{run:?}"
    );

    // A declared dialect (a HAL task linked from the body, an odd word, then `303`).
    let hal = Mock::start(move |req, base| match req.target.as_str() {
        "/tasks" => resp(
            202,
            &[now()],
            &format!(r#"{{"status":"queued","_links":{{"self":{{"href":"{base}/tasks/7"}}}}}}"#),
        ),
        "/tasks/7" => resp(303, &[("location", format!("{base}/things/7"))], ""),
        "/things/7" => resp(200, &[], r#"{"thing":7}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let dialect = r#"{"name":"hal-tasks","status_url":[{"pointer":"/_links/self/href"}],"start_on":[202],"status_word":"/status"}"#;
    let (_c, base, _) = proxy_on(
        "127.0.0.1:0",
        &hal.base,
        &["--poll-interval", "0.05", "--dialect", dialect],
    )
    .await;
    let (status, body) = through_the_library(&base, "/tasks").await;
    assert_eq!(
        (status, json(&body)["thing"].as_u64()),
        (StatusCode::OK, Some(7))
    );
    let run = lro_async(&base, "/tasks").await;
    assert_eq!(
        (run.code, run.json()["thing"].as_u64()),
        (0, Some(7)),
        "{run:?}"
    );
}

/// `POST /_lro/resume` refuses a handle whose URL leaves the upstream's origin however it is
/// spelled: a WHATWG parser reads `http:\\host\path` and `https:host/path` as absolute URLs on
/// `host`, though neither holds `//`. The second loopback port is the other origin.
#[tokio::test(flavor = "multi_thread")]
async fn a_resume_handle_cannot_reach_another_origin_by_spelling() {
    let up = Upstream::start().await;
    let (_child, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &FAST).await;
    let other = Mock::start(|_, _| resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    let authority = other.base.strip_prefix("http://").unwrap();
    for monitor in [
        format!(r"http:\\{authority}\ops\1"),
        format!(r"http:/\{authority}/ops/1"),
        format!("https:{authority}/ops/1"),
    ] {
        let handle = serde_json::json!({"resume": {
            "version": 1, "rule": "operation-location", "method": "POST",
            "request_url": format!("{}/jobs/ok", up.mock.base), "operation_url": monitor,
            "final_state": "auto", "origin": up.mock.base, "polls": 1,
        }});
        let resume = format!("{base}/_lro/resume");
        let (status, _, body) = send("POST", &resume, &[], &handle.to_string()).await;
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{monitor}: {body}");
    }
    assert!(
        other.requests().is_empty(),
        "nothing sent to the other origin"
    );
    assert_eq!(up.mock.requests().len(), 0, "nor to the upstream");
}

/// A proxy for an upstream given as `{mock}/v1`, whose `/v1/ops/1` has succeeded and whose
/// every other path answers `TOPSECRET`: the mock, the upstream, the proxy and its base.
async fn proxy_under_v1() -> (Mock, String, tokio::process::Child, String) {
    let mock = Mock::start(|req, _| match req.target.as_str() {
        "/v1/ops/1" => resp(200, &[], r#"{"status":"Succeeded"}"#),
        _ => resp(200, &[], "TOPSECRET"),
    })
    .await;
    let upstream = format!("{}/v1", mock.base);
    let (child, base, _) = proxy_on("127.0.0.1:0", &upstream, &FAST).await;
    (mock, upstream, child, base)
}

/// `POST /_lro/resume` keeps to the upstream's base path, as forwarded requests do: a handle
/// naming a path outside it (the submission's URL, the monitor, the submission's `Location`)
/// is refused `400`, nothing sent. Before, a client read `/admin/secret` of an upstream given
/// as `…/v1` (which `GET /../admin/secret` is refused for): as the final `GET` of a handle's
/// `request_url`, or quoted in a `502` of its monitor.
#[tokio::test(flavor = "multi_thread")]
async fn a_resume_handle_cannot_leave_the_upstreams_base_path() {
    let (mock, upstream, _child, base) = proxy_under_v1().await;
    let inside = |path: &str| format!("{upstream}{path}");
    let outside = format!("{}/admin/secret", mock.base);
    let rows = [
        (outside.clone(), inside("/ops/1"), None, "original-uri"),
        (inside("/jobs"), outside.clone(), None, "auto"),
        (
            inside("/jobs"),
            inside("/ops/1"),
            Some(outside.clone()),
            "location",
        ),
        (
            inside("/../admin/secret"),
            inside("/ops/1"),
            None,
            "original-uri",
        ),
        (
            inside("/jobs"),
            inside("/%2e%2e/admin/secret"),
            None,
            "auto",
        ),
    ];
    for (request_url, operation_url, location, final_state) in rows {
        let mut handle = serde_json::json!({
            "version": 1, "rule": "operation-location", "method": "PUT",
            "request_url": request_url, "operation_url": operation_url,
            "final_state": final_state, "origin": mock.base, "polls": 1,
        });
        if let Some(location) = &location {
            handle["submission_location"] = Value::from(location.as_str());
        }
        let resume = format!("{base}/_lro/resume");
        let (status, _, body) = send("POST", &resume, &[], &handle.to_string()).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{request_url} {operation_url} {location:?}: {}",
            body_text(&body)
        );
        assert_eq!(json(&body)["error"]["code"], "BadRequest");
    }
    assert_eq!(mock.requests().len(), 0, "nothing sent upstream");
    // A handle within the base path still resumes.
    let handle = serde_json::json!({
        "version": 1, "rule": "operation-location", "method": "PUT",
        "request_url": inside("/things/1"), "operation_url": inside("/ops/1"),
        "final_state": "original-uri", "origin": mock.base, "polls": 1,
    });
    let (status, _, _) = send(
        "POST",
        &format!("{base}/_lro/resume"),
        &[],
        &handle.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// A resume handle is read in the proxy's own dialect: one that names another (here a
/// declared dialect the client wrote, whose `result` template names `/admin/…`, outside the
/// base path) is refused `400`, nothing sent. Before, the handle's dialect was taken as it was
/// (answered `200`): a dialect chooses the requests a resumed operation sends (methods, bodies,
/// URL templates), which the base-path check of the handle's own URLs does not see.
#[tokio::test(flavor = "multi_thread")]
async fn a_resume_handle_in_another_dialect_is_refused() {
    let (mock, upstream, _child, base) = proxy_under_v1().await;
    let declared = serde_json::json!({
        "name": "elsewhere",
        "status_url": {"template": "/v1/ops/1"},
        "status_word": "/status",
        "words": {"running": ["Running"], "succeeded": ["Succeeded"], "failed": ["Failed"]},
        "result": {"template": "/admin/{/status}"},
    });
    let handle = serde_json::json!({
        "version": 1, "rule": "operation-location", "method": "POST",
        "request_url": format!("{upstream}/jobs"), "operation_url": format!("{upstream}/ops/1"),
        "final_state": "auto", "origin": mock.base, "polls": 1,
        "dialect": {"declared": declared},
    });
    let (status, _, body) = send(
        "POST",
        &format!("{base}/_lro/resume"),
        &[],
        &handle.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body_text(&body));
    assert_eq!(json(&body)["error"]["code"], "BadRequest");
    assert_eq!(mock.requests().len(), 0, "nothing sent upstream");
}
