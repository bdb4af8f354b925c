//! Operations that outlive the process (issue 16): idempotency headers, and the operation store
//! in memory, in an embedded file (redb) and on a real Redis — nothing mocked at the store
//! boundary. Loopback upstreams that count their submissions.

use crate::support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::Full;
use tower::ServiceBuilder;
use tower_lro::__private::Reason;
use tower_lro::store::{
    MemoryStore, OperationState, OperationStore, Outcome, StoreLayer, StoreService,
};
use tower_lro::{ErrorKind, IdempotencyHeader, LroOptions};

use tokio::task::JoinHandle;
use tower_test::mock;

use support::mock::Seen;
use support::{answer_with, resp, Req, Res};
use support::{body_bytes, http_client, post, send, HttpClient, MockServer, Reply};

mod abandoned;
mod answered;
mod backends;
mod headers;
mod progress;
mod recorded;
#[cfg(feature = "store-redis")]
pub mod redis_server;
mod renewal;

/// An upstream whose operation runs until `done` is set, answering `Retry-After` of 20 ms.
pub struct Upstream {
    pub server: MockServer,
    pub done: Arc<AtomicBool>,
}

impl Upstream {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let done = Arc::new(AtomicBool::new(false));
        server.always(
            Method::POST,
            "/jobs",
            Reply::new(202)
                .header("operation-location", &server.url("/ops/1"))
                .header("retry-after-ms", "20"),
        );
        let resource = server.url("/things/1");
        let finished = done.clone();
        server.route(Method::GET, "/ops/1", move |_, _| {
            if finished.load(Ordering::SeqCst) {
                Reply::new(200)
                    .header("resource-location", &resource)
                    .json(r#"{"operationId":"op-1","status":"Succeeded"}"#)
            } else {
                Reply::new(200)
                    .header("retry-after-ms", "20")
                    .json(r#"{"operationId":"op-1","status":"Running","percentComplete":10}"#)
            }
        });
        server.always(
            Method::GET,
            "/things/1",
            Reply::new(200).json(r#"{"id":"thing-1"}"#),
        );
        Self { server, done }
    }

    pub fn submissions(&self) -> usize {
        self.server.hits(&Method::POST, "/jobs")
    }

    pub fn polls(&self) -> usize {
        self.server.hits(&Method::GET, "/ops/1")
    }

    pub fn finish(&self) {
        self.done.store(true, Ordering::SeqCst);
    }

    /// A keyed submission of `body`.
    pub fn keyed(&self, key: &str, body: &str) -> http::Request<Full<Bytes>> {
        let mut req = post(&self.server.url("/jobs"), body);
        req.extensions_mut().insert(
            LroOptions::new()
                .idempotency_key(key)
                .request_body(body.as_bytes()),
        );
        req
    }
}

/// The stack under test: a store layer over a real hyper-util client.
pub fn client(layer: StoreLayer) -> StoreService<HttpClient> {
    ServiceBuilder::new().layer(layer).service(http_client())
}

/// Origin A's submission URL in the mock-driven cross-origin tests.
pub const A_JOBS: &str = "https://a.example/jobs";
/// Origin B's status monitor, which A's `202` names.
pub const B_OPS: &str = "https://b.example/ops/1";

/// The cross-origin setup of [`support::two_origins`] on a `tower-test` mock (run with Tokio's
/// clock paused: the waits and the deadline are exact and nothing waits on a socket): `layer`
/// over a mock whose `POST` to [`A_JOBS`] is answered `202` naming [`B_OPS`]; `rest` answers
/// every other request. The task yields what the mock saw once every clone of the stack is
/// dropped.
pub fn two_mock_origins(
    layer: StoreLayer,
    mut rest: impl FnMut(&Seen) -> Res + Send + 'static,
) -> (StoreService<mock::Mock<Req, Res>>, JoinHandle<Vec<Seen>>) {
    let (inner, handle) = mock::pair::<Req, Res>();
    let seen = answer_with(handle, move |s, _| {
        Ok(if (&s.method, s.uri.as_str()) == (&Method::POST, A_JOBS) {
            resp(202, &[("operation-location", B_OPS.as_bytes())], "")
        } else {
            rest(s)
        })
    });
    (ServiceBuilder::new().layer(layer).service(inner), seen)
}

/// A fast layer (waits of at most 20 ms, lease waits at 20 ms) on `store`.
pub fn layer(store: Arc<dyn OperationStore>) -> StoreLayer {
    support::fast_layer()
        .poll_interval(Duration::from_millis(20))
        .idempotency_header(IdempotencyHeader::IdempotencyKey)
        .store(store)
}

/// Waits (in real time, bounded) until `cond` holds.
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen within 5 s");
}

/// Waits (bounded) until the store holds a `Polling` record under `key`.
pub async fn until_polling(store: &dyn OperationStore, key: &str) {
    for _ in 0..500 {
        let record = store.load(key).await.expect("the store reads");
        if matches!(
            record.map(|r| r.state),
            Some(OperationState::Polling { .. })
        ) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no Polling record under {key} within 5 s");
}

fn outcome<B>(r: &http::Response<B>) -> Outcome {
    *r.extensions()
        .get::<Outcome>()
        .expect("a keyed answer says how it came")
}

/// Two callers with one key at once: one submission, both get the final answer; a later
/// caller is answered from the store (the result fetched again), still without a submission.
#[tokio::test]
async fn callers_with_one_key_share_one_submission() {
    let up = Upstream::start().await;
    let svc = client(layer(Arc::new(MemoryStore::new())));
    let first = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("k-1", r#"{"n":1}"#));
        async move { send(&svc, req).await }
    });
    eventually("a poll", || up.polls() > 0).await;
    let polled = up.polls();
    let second = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("k-1", r#"{"n":1}"#));
        async move { send(&svc, req).await }
    });
    // The second caller arrives while the first still polls.
    eventually("more polls", || up.polls() > polled + 1).await;
    up.finish();
    let (a, b) = (
        first.await.unwrap().unwrap(),
        second.await.unwrap().unwrap(),
    );
    assert_eq!(
        (outcome(&a), outcome(&b)),
        (Outcome::Submitted, Outcome::Answered)
    );
    assert_eq!(body_bytes(a.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(body_bytes(b.into_body()).await, r#"{"id":"thing-1"}"#);

    let later = send(&svc, up.keyed("k-1", r#"{"n":1}"#)).await.unwrap();
    assert_eq!(outcome(&later), Outcome::Answered);
    assert_eq!(body_bytes(later.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(up.submissions(), 1);
    let submission = &up.server.requests_to("/jobs")[0];
    assert_eq!(submission.header("idempotency-key"), Some("\"k-1\""));
    assert_eq!(up.server.hits(&Method::GET, "/things/1"), 3);
    // Another key is another operation.
    let other = send(&svc, up.keyed("k-2", r#"{"n":1}"#)).await.unwrap();
    assert_eq!(outcome(&other), Outcome::Submitted);
    assert_eq!(up.submissions(), 2);
}

/// The same key with another body (or URL) is refused, not merged; nothing is sent.
#[tokio::test]
async fn a_different_request_under_a_key_is_a_conflict() {
    let up = Upstream::start().await;
    up.finish();
    let svc = client(layer(Arc::new(MemoryStore::new())));
    send(&svc, up.keyed("k", r#"{"n":1}"#)).await.unwrap();
    let err = send(&svc, up.keyed("k", r#"{"n":2}"#)).await.unwrap_err();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(matches!(err.reason(), Reason::IdempotencyMismatch { key } if key == "k"));
    // A gateway answers it as the IETF draft says: 422, problem details (RFC 9457).
    let target: http::Uri = up.server.url("/jobs").parse().unwrap();
    let answer = tower_lro::gateway::error_response(&target, &*err);
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        answer.headers()[http::header::CONTENT_TYPE],
        "application/problem+json"
    );
    let problem: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
    assert_eq!(problem["error"]["code"], "IdempotencyKeyReused");
    assert!(problem["type"].is_string() && problem["title"].is_string());
    let mut other_url = up.keyed("k", r#"{"n":1}"#);
    *other_url.uri_mut() = up.server.url("/jobs?x=1").parse().unwrap();
    let err = send(&svc, other_url).await.unwrap_err();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(up.submissions(), 1);
}

/// A failure is recorded with its code and message and answered from the store.
#[tokio::test]
async fn a_failed_operation_is_answered_as_failed() {
    let up = Upstream::start().await;
    up.server.always(
        Method::GET,
        "/ops/1",
        Reply::new(200)
            .json(r#"{"status":"Failed","error":{"code":"QuotaExceeded","message":"no room"}}"#),
    );
    let svc = client(layer(Arc::new(MemoryStore::new())));
    let first = send(&svc, up.keyed("f", "{}")).await.unwrap_err();
    let first = first.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(first.kind(), ErrorKind::OperationFailed);
    let again = send(&svc, up.keyed("f", "{}")).await.unwrap_err();
    let again = again.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(again.kind(), ErrorKind::OperationFailed);
    match again.reason() {
        Reason::StoredFailure {
            state,
            code,
            message,
        } => {
            assert_eq!(state, "Failed");
            assert_eq!(code.as_deref(), Some("QuotaExceeded"));
            assert_eq!(message.as_deref(), Some("no room"));
        }
        other => panic!("not a stored failure: {other:?}"),
    }
    assert_eq!(up.submissions(), 1);
}

/// A result without a URL of its own (the terminal status document) is recorded whole and
/// answered without any request; one over the embed limit is not recorded.
#[tokio::test]
async fn small_results_are_embedded_large_ones_are_not() {
    let up = Upstream::start().await;
    up.finish();
    let store = Arc::new(MemoryStore::new());
    let monitor_only = |req: &mut http::Request<Full<Bytes>>| {
        let options = req.extensions().get::<LroOptions>().unwrap().clone();
        req.extensions_mut()
            .insert(options.final_state(tower_lro::FinalState::StatusMonitor));
    };
    let svc = client(layer(store.clone()));
    let mut req = up.keyed("e", "{}");
    monitor_only(&mut req);
    let first = send(&svc, req).await.unwrap();
    let first = body_bytes(first.into_body()).await;
    let before = up.server.requests().len();
    let mut req = up.keyed("e", "{}");
    monitor_only(&mut req);
    let again = send(&svc, req).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Answered);
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(body_bytes(again.into_body()).await, first);
    assert_eq!(
        up.server.requests().len(),
        before,
        "answered from the store alone"
    );

    let svc = client(layer(store.clone()).embed_limit(8));
    let mut req = up.keyed("big", "{}");
    monitor_only(&mut req);
    send(&svc, req).await.unwrap();
    assert!(store.load("big").await.unwrap().is_none());
}

/// A lease another process holds past the deadline: a `Timeout` naming the key; nothing sent.
#[tokio::test]
async fn a_lease_held_past_the_deadline_is_a_timeout() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let held = store.acquire("busy", "elsewhere", Duration::from_secs(60));
    assert!(held.await.unwrap());
    let svc = client(layer(store));
    let mut req = up.keyed("busy", "{}");
    let options = req.extensions().get::<LroOptions>().unwrap().clone();
    req.extensions_mut()
        .insert(options.deadline(Duration::from_millis(100)));
    let err = send(&svc, req).await.unwrap_err();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.reason(), &Reason::LeaseHeld { key: "busy".into() });
    assert!(up.server.requests().is_empty());
}

/// A keyed request only started (`start_only`) records its handle: the next caller under the
/// key continues the operation instead of submitting.
#[tokio::test]
async fn a_started_operation_is_continued_by_the_next_caller() {
    let up = Upstream::start().await;
    let svc = client(layer(Arc::new(MemoryStore::new())));
    let mut req = up.keyed("s", "{}");
    let options = req.extensions().get::<LroOptions>().unwrap().clone();
    req.extensions_mut().insert(options.start_only());
    let started = send(&svc, req).await.unwrap();
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    up.finish();
    let done = send(&svc, up.keyed("s", "{}")).await.unwrap();
    assert_eq!(outcome(&done), Outcome::Resumed);
    assert_eq!(body_bytes(done.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(up.submissions(), 1);
}

/// A keyed call gives back the slot the service below it readied for it (a concurrency
/// limit's): its polls ready their own, so one slot is enough for a keyed operation.
#[tokio::test]
async fn a_keyed_call_holds_no_slot_below_it_while_it_runs() {
    let up = Upstream::start().await;
    up.finish();
    let svc = ServiceBuilder::new()
        .layer(layer(Arc::new(MemoryStore::new())))
        .concurrency_limit(1)
        .service(http_client());
    let answer = send(&svc, up.keyed("k", "{}")).await.unwrap();
    assert_eq!(outcome(&answer), Outcome::Submitted);
    assert_eq!(body_bytes(answer.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(up.submissions(), 1);
}

/// A finished record holds no credential the layer carried from the caller's URL (a
/// `subscription-key` on the resource URL): the caller who asks again supplies its own, and
/// the result is fetched again with it.
#[tokio::test]
async fn a_record_holds_no_carried_credential_and_a_retry_supplies_its_own() {
    let up = Upstream::start().await;
    up.finish();
    let store = Arc::new(MemoryStore::new());
    let layer = support::fast_layer()
        .poll_interval(Duration::from_millis(20))
        .carry_query_param("subscription-key")
        .idempotency_header(IdempotencyHeader::IdempotencyKey)
        .store(store.clone());
    let svc = client(layer);
    let keyed = || {
        let mut req = post(&up.server.url("/jobs?subscription-key=KEY-SECRET"), "{}");
        let options = LroOptions::new()
            .idempotency_key("k-sk")
            .request_body(b"{}");
        req.extensions_mut().insert(options);
        req
    };
    let first = send(&svc, keyed()).await.unwrap();
    assert_eq!(outcome(&first), Outcome::Submitted);
    assert_eq!(body_bytes(first.into_body()).await, r#"{"id":"thing-1"}"#);

    let record = store.load("k-sk").await.unwrap().expect("recorded");
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains("KEY-SECRET"), "{text}");
    match &record.state {
        OperationState::Succeeded {
            result: tower_lro::store::StoredResult::Url { url },
        } => assert_eq!(url, &up.server.url("/things/1")),
        other => panic!("{other:?}"),
    }

    let later = send(&svc, keyed()).await.unwrap();
    assert_eq!(outcome(&later), Outcome::Answered);
    assert_eq!(body_bytes(later.into_body()).await, r#"{"id":"thing-1"}"#);
    let fetches = up.server.requests_to("/things/1");
    assert_eq!(fetches.len(), 2);
    for fetch in &fetches {
        assert_eq!(
            fetch.query("subscription-key").as_deref(),
            Some("KEY-SECRET")
        );
    }
    assert_eq!(up.submissions(), 1);
}

/// A record's fingerprint holds no digest of a credential in the caller's query: it was
/// FNV-1a over the URL as sent, `?sig=hunter2` included, so whoever reads the store could test
/// guesses of a weak credential against it offline, at billions a second (the attack the
/// proxy's key scopes were keyed against). Credential values are masked before the hash, as
/// header credentials are not in it at all: a retry with a renewed credential is the same
/// request, answered from the store and fetched again with the new value.
#[tokio::test]
async fn a_fingerprint_holds_no_digest_of_a_query_credential() {
    let up = Upstream::start().await;
    up.finish();
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let keyed = |sig: &str| {
        let mut req = post(
            &up.server.url(&format!("/jobs?api-version=1&sig={sig}")),
            "{}",
        );
        let options = LroOptions::new()
            .idempotency_key("k-sig")
            .request_body(b"{}");
        req.extensions_mut().insert(options);
        req
    };
    let first = send(&svc, keyed("hunter2")).await.unwrap();
    assert_eq!(outcome(&first), Outcome::Submitted);
    let record = store.load("k-sig").await.unwrap().expect("recorded");
    let url = |q: &str| -> http::Uri { up.server.url(&format!("/jobs?{q}")).parse().unwrap() };
    for guess in ["sig=hunter2", "sig=letmein", "sig=***"] {
        let made = record.made_by(
            &Method::POST,
            &url(&format!("api-version=1&{guess}")),
            Some(b"{}"),
        );
        assert!(
            made,
            "{guess}: the fingerprint tells credential values apart"
        );
    }
    // What is not a credential is still the request's.
    assert!(!record.made_by(
        &Method::POST,
        &url("api-version=2&sig=hunter2"),
        Some(b"{}")
    ));

    let renewed = send(&svc, keyed("renewed")).await.unwrap();
    assert_eq!(outcome(&renewed), Outcome::Answered);
    assert_eq!(body_bytes(renewed.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(up.submissions(), 1);
}

/// A result fetched again from the store keeps the cumulative stripping of the run that
/// recorded it. The monitor was on another origin (B), whose status document named a result
/// URL on the caller's own origin (A): the live run fetched it without credentials (a URL chosen
/// by B gets none), but a retry under the key, answered from the store, sent the caller's
/// `Authorization` to that URL on A — the record did not say that credentials were withheld.
/// (A `tower-test` mock on Tokio's paused clock: no real waits.)
#[tokio::test(start_paused = true)]
async fn a_result_fetched_again_gets_no_credentials_the_run_withheld() {
    const CHOSEN_BY_B: &str = "https://a.example/chosen-by-b";
    let store = Arc::new(MemoryStore::new());
    // A hook that adds a token of its own unless its request says credentials are withheld
    // (the fetch from the record said nothing: it was not tagged).
    let hooked = support::fast_layer()
        .poll_interval(Duration::from_millis(20))
        .idempotency_header(IdempotencyHeader::IdempotencyKey)
        .on_poll_request(|req| {
            let info = req.extensions().get::<tower_lro::LroRequest>().copied();
            if !info.is_some_and(|i| i.credentials_withheld()) {
                req.headers_mut()
                    .insert("x-hook-token", http::HeaderValue::from_static("t"));
            }
        });
    let (svc, seen) = two_mock_origins(hooked.store(store.clone()), |s| match s.uri.as_str() {
        B_OPS => resp(
            200,
            &[("resource-location", CHOSEN_BY_B.as_bytes())],
            r#"{"status":"Succeeded"}"#,
        ),
        CHOSEN_BY_B => resp(200, &[("content-type", b"application/json")], "{}"),
        _ => resp(404, &[], ""),
    });
    let keyed = || {
        let mut req = post(A_JOBS, "{}");
        req.headers_mut().insert(
            "authorization",
            http::HeaderValue::from_static("Bearer secret"),
        );
        let options = LroOptions::new().idempotency_key("k-b").request_body(b"{}");
        req.extensions_mut().insert(options);
        req
    };
    let first = send(&svc, keyed()).await.unwrap();
    assert_eq!(outcome(&first), Outcome::Submitted);
    let again = send(&svc, keyed()).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Answered);
    drop(svc);
    let seen = seen.await.unwrap();
    let to = |uri: &str| seen.iter().filter(|s| s.uri == uri).collect::<Vec<_>>();
    assert_eq!(to(A_JOBS).len(), 1);
    let (fetches, polls) = (to(CHOSEN_BY_B), to(B_OPS));
    assert_eq!((fetches.len(), polls.len()), (2, 1));
    for request in fetches.iter().chain(&polls) {
        assert_eq!(
            request.headers.get("authorization"),
            None,
            "{}",
            request.uri
        );
        assert_eq!(request.headers.get("x-hook-token"), None, "{}", request.uri);
    }
}

/// A layer that hands its calls over (a process about to exit): the running call records its
/// handle, frees its lease long before it would expire, and ends `Timeout` (`HandedOver`)
/// with the handle; later calls end so at once; another layer continues without submitting.
#[tokio::test]
async fn a_handed_over_call_frees_its_lease_for_another_layer() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let leaving = layer(store.clone()).lease(Duration::from_secs(60));
    let svc = client(leaving.clone());
    let running = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("h", "{}"));
        async move { send(&svc, req).await }
    });
    until_polling(&*store, "h").await;
    leaving.hand_over();
    let err = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the call ends at once")
        .unwrap()
        .unwrap_err();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.reason(), &Reason::HandedOver { key: "h".into() });
    let handle = err.resume_handle().expect("the latest handle");
    assert_eq!(handle.operation_url(), up.server.url("/ops/1"));
    let free = store.acquire("h", "probe", Duration::from_secs(1)).await;
    assert!(free.unwrap(), "the lease is released, not left to expire");
    store.release("h", "probe").await.unwrap();

    let late = send(&svc, up.keyed("h", "{}")).await.unwrap_err();
    let late = late.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(late.reason(), &Reason::HandedOver { key: "h".into() });

    up.finish();
    let done = send(&client(layer(store)), up.keyed("h", "{}"))
        .await
        .unwrap();
    assert_eq!(outcome(&done), Outcome::Resumed);
    assert_eq!(body_bytes(done.into_body()).await, r#"{"id":"thing-1"}"#);
    assert_eq!(up.submissions(), 1);
}

/// A body given by its MAC under the caller's secret (`LroOptions::request_body_mac`) is in the
/// record by that MAC alone: the record holds no unkeyed digest of the body (no body given
/// whole made it), the same MAC is the same request, and another MAC under the key is a
/// conflict.
#[tokio::test]
async fn a_body_given_by_its_mac_is_fingerprinted_by_it_alone() {
    let up = Upstream::start().await;
    up.finish();
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let body = r#"{"pin":"4321"}"#;
    let keyed = |mac: &[u8]| {
        let mut req = post(&up.server.url("/jobs"), body);
        let options = LroOptions::new()
            .idempotency_key("k-mac")
            .request_body_mac(mac);
        req.extensions_mut().insert(options);
        req
    };
    let first = send(&svc, keyed(b"mac of the pin")).await.unwrap();
    assert_eq!(outcome(&first), Outcome::Submitted);
    let record = store.load("k-mac").await.unwrap().expect("recorded");
    let url: http::Uri = up.server.url("/jobs").parse().unwrap();
    assert!(record.made_by_mac(&Method::POST, &url, b"mac of the pin"));
    for guess in [body, r#"{"pin":"0000"}"#, ""] {
        assert!(!record.made_by(&Method::POST, &url, Some(guess.as_bytes())));
    }
    assert!(!record.made_by(&Method::POST, &url, None));

    let again = send(&svc, keyed(b"mac of the pin")).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Answered);
    let err = send(&svc, keyed(b"mac of another pin")).await.unwrap_err();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(up.submissions(), 1);
}
