//! Each knob of `LroLayer`'s builder, through the builder: the waiting setters in any order, the
//! jitter, and the knobs no other test calls (`carry_query_params`, `status_classifier`,
//! `accepted_means_retry`, `ssrf_guard(false)`, `final_state`, `credential_header` with a name
//! the built-in list does not hold). Mocks run with Tokio's clock paused, so the times are exact
//! (to the timer's millisecond).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tower_lro::__private::config;

use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{BoxError, Layer, Service, ServiceExt};
use tower_lro::__private::{Reason, UrlProblem};
use tower_lro::{ErrorKind, FinalState, LroLayer, StatusMeaning};

use crate::support::mock::body_text;
use crate::support::{
    lro_error, resp, submission, MockServer, Op, Reply, RUNNING, SUCCEEDED, TEST_TIMEOUT,
};

const SECOND: Duration = Duration::from_secs(1);

/// The waits before each of `polls` status polls of one operation (the last answered
/// `Succeeded`), every answer carrying `headers`.
async fn waits(layer: LroLayer, polls: usize, headers: &[(&str, &[u8])]) -> Vec<Duration> {
    let mut op = Op::start(layer, submission(Method::POST, "https://s.example/jobs"));
    let mut first = vec![("operation-location", &b"/ops/1"[..])];
    first.extend_from_slice(headers);
    op.answer(resp(202, &first, "")).await;
    let mut seen = Vec::with_capacity(polls);
    let mut last = op.elapsed();
    for n in 1..=polls {
        let body = if n == polls { SUCCEEDED } else { RUNNING };
        op.answer(resp(200, headers, body)).await;
        seen.push(op.elapsed() - last);
        last = op.elapsed();
    }
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
    seen
}

fn secs(waits: &[Duration]) -> Vec<u64> {
    waits.iter().map(Duration::as_secs).collect()
}

#[tokio::test(start_paused = true)]
async fn backoff_setters_mean_the_same_in_any_order() {
    let (two, sixty) = (2 * SECOND, 60 * SECOND);
    let grown = [2, 2, 2, 2, 2, 4, 8, 16, 32, 60, 60];
    for (what, layer) in [
        (
            "max then interval",
            LroLayer::new().max_poll_interval(sixty).poll_interval(two),
        ),
        (
            "interval then max",
            LroLayer::new().poll_interval(two).max_poll_interval(sixty),
        ),
        ("poll_backoff", LroLayer::new().poll_backoff(two, sixty)),
    ] {
        assert_eq!(
            (
                config(&layer).poll_interval(),
                config(&layer).max_poll_interval()
            ),
            (two, sixty),
            "{what}"
        );
        assert_eq!(secs(&waits(layer, 11, &[]).await), grown, "{what}");
    }
    let fixed = LroLayer::new().poll_interval(two);
    assert_eq!(secs(&waits(fixed, 7, &[]).await), [2; 7], "interval alone");
    let capped = LroLayer::new().max_poll_interval(4 * SECOND);
    let want = [1, 1, 1, 1, 1, 2, 4, 4];
    assert_eq!(secs(&waits(capped, 8, &[]).await), want, "cap alone");
    let defaults = [1, 1, 1, 1, 1, 2, 4, 8, 16, 30, 30];
    assert_eq!(secs(&waits(LroLayer::new(), 11, &[]).await), defaults);
}

#[tokio::test(start_paused = true)]
async fn wait_bounds_hold_hinted_and_unhinted_waits() {
    let layer = LroLayer::new().wait_bounds(3 * SECOND, 5 * SECOND);
    assert_eq!(
        secs(&waits(layer.clone(), 8, &[]).await),
        [3, 3, 3, 3, 3, 3, 4, 5]
    );
    let hinted = waits(layer, 3, &[("retry-after", b"60")]).await;
    assert_eq!(secs(&hinted), [5, 5, 5]);
}

#[tokio::test(start_paused = true)]
async fn jitter_is_seeded_never_lengthens_and_leaves_a_hint_alone() {
    let layer = LroLayer::new()
        .poll_backoff(2 * SECOND, 60 * SECOND)
        .poll_jitter(1.0)
        .poll_jitter_seed(42);
    let plain = [2, 2, 2, 2, 2, 4, 8, 16, 32, 60u64];
    let a = waits(layer.clone(), plain.len(), &[]).await;
    let b = waits(layer.clone(), plain.len(), &[]).await;
    assert_eq!(a, b, "one seed, one schedule");
    for (got, full) in a.iter().zip(plain) {
        assert!(*got <= Duration::from_secs(full), "{a:?}");
    }
    let shortened = a
        .iter()
        .zip(plain)
        .filter(|(got, full)| **got + Duration::from_millis(2) < Duration::from_secs(*full))
        .count();
    assert!(shortened >= plain.len() / 2, "full jitter spreads: {a:?}");
    // Another seed, another schedule.
    let other = waits(layer.clone().poll_jitter_seed(43), plain.len(), &[]).await;
    assert_ne!(a, other);
    // A server's hint is kept as given.
    let hinted = waits(layer, 4, &[("retry-after", b"7")]).await;
    assert_eq!(hinted, [7 * SECOND; 4]);
    // Out-of-range fractions are clamped; none is the default.
    assert_eq!(config(&LroLayer::new().poll_jitter(3.0)).poll_jitter(), 1.0);
    assert_eq!(
        config(&LroLayer::new().poll_jitter(f64::NAN)).poll_jitter(),
        0.0
    );
    assert_eq!(config(&LroLayer::new()).poll_jitter(), 0.0);
}

#[tokio::test(start_paused = true)]
async fn carry_query_params_adds_to_the_list() {
    let layer = LroLayer::new()
        .carry_query_param("tenant")
        .carry_query_params(["region", "tenant"]);
    assert_eq!(
        config(&layer).carry_query(),
        ["api-version", "tenant", "region"]
    );
    let url = "https://s.example/jobs?api-version=1&tenant=t&region=eu&other=x";
    let mut op = Op::start(layer, submission(Method::POST, url));
    op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
        .await;
    let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(poll.uri().path(), "/ops/1");
    let mut query: Vec<&str> = poll.uri().query().unwrap_or("").split('&').collect();
    query.sort_unstable();
    assert_eq!(query, ["api-version=1", "region=eu", "tenant=t"]);
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn status_classifier_is_consulted_before_the_words() {
    let layer = LroLayer::new().status_classifier(|word| {
        if word.eq_ignore_ascii_case("baked") {
            Some(StatusMeaning::Succeeded)
        } else if word.eq_ignore_ascii_case("succeeded") {
            // Overrides the default word: this service says it while still running.
            Some(StatusMeaning::Running)
        } else {
            None
        }
    });
    let mut op = Op::start(layer, submission(Method::POST, "https://s.example/jobs"));
    op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
        .await;
    op.answer(resp(200, &[], SUCCEEDED)).await;
    op.answer(resp(200, &[], RUNNING)).await;
    op.answer(resp(200, &[], r#"{"status":"Baked"}"#)).await;
    let out = op.finish().await.unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    assert_eq!(op_polls(&out), Some(3));
}

fn op_polls<B>(res: &http::Response<B>) -> Option<u32> {
    res.extensions()
        .get::<tower_lro::LroMetadata>()
        .map(|m| m.polls())
}

#[tokio::test(start_paused = true)]
async fn accepted_means_retry_sends_a_get_again() {
    let get = |uri| Request::get(uri).body(Default::default()).unwrap();
    let uri = "https://s.example/repos/stats";
    let mut op = Op::start(LroLayer::new().accepted_means_retry(true), get(uri));
    op.answer(resp(202, &[], "")).await;
    let again = op.answer(resp(202, &[("retry-after", b"3")], "")).await;
    assert_eq!(
        (again.method(), again.uri()),
        (&Method::GET, &uri.parse().unwrap())
    );
    assert_eq!(op.elapsed(), SECOND, "the unhinted wait");
    op.answer(resp(200, &[], "[1,2]")).await;
    assert_eq!(op.elapsed(), 4 * SECOND, "the hinted wait");
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
    // Off (the default): the 202 is the answer.
    let mut op = Op::start(LroLayer::new(), get(uri));
    op.answer(resp(202, &[], "")).await;
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::ACCEPTED);
}

/// The guard's decision, on a mock (nothing connects): a private-range monitor after a public
/// submission is refused by default, and polled with the guard off.
#[tokio::test(start_paused = true)]
async fn ssrf_guard_off_lets_a_private_monitor_through() {
    let monitor = b"https://10.0.0.5/ops/1";
    let start = |layer| {
        let mut op = Op::start(layer, submission(Method::POST, "https://s.example/jobs"));
        async move {
            op.answer(resp(202, &[("operation-location", monitor)], ""))
                .await;
            op
        }
    };
    let op = start(LroLayer::new()).await;
    let err = lro_error(op.finish().await);
    assert_eq!(err.kind(), ErrorKind::Insecure);
    assert!(
        matches!(
            err.reason(),
            Reason::BadHeader { why: UrlProblem::Internal { class }, .. }
                if *class == "a private-network address"
        ),
        "{err:?}"
    );
    let mut op = start(LroLayer::new().ssrf_guard(false)).await;
    let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(poll.uri(), "https://10.0.0.5/ops/1");
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
}

/// A resolver of the test's own: every name is the loopback server.
#[derive(Clone)]
struct Loopback;

impl Service<Name> for Loopback {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Name) -> Self::Future {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
        Box::pin(async move { Ok(vec![addr].into_iter()) })
    }
}

/// Over real sockets (loopback only): a submission to a public-looking name that a resolver of
/// the test's maps to 127.0.0.1, whose monitor is `127.0.0.1` itself. The guard refuses the
/// internal monitor by default and lets it through when off.
#[tokio::test]
async fn ssrf_guard_off_over_a_real_client() {
    let server = MockServer::start().await;
    let port = server.addr().port();
    let monitor = format!("http://127.0.0.1:{port}/op");
    server.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &monitor),
    );
    server.always(Method::GET, "/op", Reply::new(200).json(SUCCEEDED));
    let client = Client::builder(TokioExecutor::new())
        .build::<_, http_body_util::Full<bytes::Bytes>>(HttpConnector::new_with_resolver(Loopback));
    for guard in [true, false] {
        let request = Request::post(format!("http://api.test:{port}/jobs"))
            .body(Default::default())
            .unwrap();
        let service = LroLayer::new().ssrf_guard(guard).layer(client.clone());
        let answer = tokio::time::timeout(TEST_TIMEOUT, service.oneshot(request))
            .await
            .expect("in time");
        if guard {
            let err = answer.unwrap_err().downcast::<tower_lro::Error>().unwrap();
            assert!(
                matches!(
                    err.reason(),
                    Reason::BadHeader { why: UrlProblem::Internal { class }, .. }
                        if *class == "a loopback address"
                ),
                "{err:?}"
            );
            assert_eq!(
                server.hits(&Method::GET, "/op"),
                0,
                "refused before connecting"
            );
        } else {
            assert_eq!(answer.unwrap().status(), StatusCode::OK);
            assert_eq!(server.hits(&Method::GET, "/op"), 1);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn failure_as_response_delivers_the_failed_status() {
    let failed = r#"{"status":"Failed","error":{"code":"Boom","message":"no"}}"#;
    for deliver in [false, true] {
        let layer = LroLayer::new().failure_as_response(deliver);
        let mut op = Op::start(layer, submission(Method::POST, "https://s.example/jobs"));
        op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
            .await;
        op.answer(resp(200, &[], failed)).await;
        let out = op.finish().await;
        if deliver {
            assert_eq!(out.unwrap().status(), StatusCode::OK);
        } else {
            assert_eq!(lro_error(out).kind(), ErrorKind::OperationFailed);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn detect_provisioning_state_off_leaves_a_put_answer_alone() {
    let creating = r#"{"properties":{"provisioningState":"Creating"}}"#;
    let done = r#"{"properties":{"provisioningState":"Succeeded"}}"#;
    let uri = "https://s.example/things/1";
    let mut op = Op::start(LroLayer::new(), submission(Method::PUT, uri));
    op.answer(resp(201, &[], creating)).await;
    let poll = op.answer(resp(200, &[], done)).await;
    assert_eq!(
        (poll.method(), poll.uri()),
        (&Method::GET, &uri.parse().unwrap())
    );
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
    let layer = LroLayer::new().detect_provisioning_state(false);
    let mut op = Op::start(layer, submission(Method::PUT, uri));
    op.answer(resp(201, &[], creating)).await;
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::CREATED);
}

/// `final_state`: one operation (a `POST` whose `202` names a `Location`, whose `Succeeded`
/// status names a `Resource-Location`) ends with another final request, or none, for each
/// choice; without the call it is `Auto`.
#[tokio::test(start_paused = true)]
async fn final_state_chooses_where_the_final_response_comes_from() {
    let url = "https://s.example/jobs";
    let resource = "https://s.example/things/1";
    for (state, fetched) in [
        (None, Some(resource)),
        (Some(FinalState::Auto), Some(resource)),
        (
            Some(FinalState::Location),
            Some("https://s.example/results/1"),
        ),
        (Some(FinalState::OriginalUri), Some(url)),
        (Some(FinalState::StatusMonitor), None),
    ] {
        let layer = match state {
            Some(state) => LroLayer::new().final_state(state),
            None => LroLayer::new(),
        };
        let mut op = Op::start(layer, submission(Method::POST, url));
        let accepted = [
            ("operation-location", &b"/ops/1"[..]),
            ("location", b"/results/1"),
        ];
        op.answer(resp(202, &accepted, "")).await;
        let done = resp(200, &[("resource-location", b"/things/1")], SUCCEEDED);
        let poll = op.answer(done).await;
        assert_eq!(poll.uri(), "https://s.example/ops/1", "{state:?}");
        let want = match fetched {
            Some(fetched) => {
                let fetch = op.answer(resp(200, &[], "the resource")).await;
                assert_eq!(
                    (fetch.method(), fetch.uri().to_string().as_str()),
                    (&Method::GET, fetched),
                    "{state:?}"
                );
                "the resource"
            }
            None => SUCCEEDED,
        };
        let out = op.finish().await.unwrap();
        assert_eq!(body_text(out).await, want, "{state:?}");
    }
}

/// `credential_header`: a header the library's list does not hold (`x-tenant`) goes with polls
/// to another origin until it is named; named, it and a carried query parameter of the same
/// name stay with the submission's origin, which still receives both. Mocks: nothing connects.
#[tokio::test(start_paused = true)]
async fn credential_header_keeps_a_named_header_to_its_origin() {
    assert!(!tower_lro::credentials::is_credential_header("x-tenant"));
    assert!(!tower_lro::credentials::is_credential_query("x-tenant"));
    let tenant = HeaderName::from_static("x-tenant");
    for (monitor, named, carried) in [
        ("https://status.example/ops/1", false, true),
        ("https://status.example/ops/1", true, false),
        ("https://s.example/ops/1", true, true),
    ] {
        let mut layer = LroLayer::new().carry_query_param("x-tenant");
        if named {
            layer = layer.credential_header(tenant.clone());
        }
        let mut req = submission(Method::POST, "https://s.example/jobs?x-tenant=t1");
        req.headers_mut()
            .insert(tenant.clone(), HeaderValue::from_static("t1"));
        let mut op = Op::start(layer, req);
        op.answer(resp(202, &[("operation-location", monitor.as_bytes())], ""))
            .await;
        let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
        assert_eq!(poll.uri().path(), "/ops/1");
        let query = poll.uri().query().unwrap_or("");
        let what = format!("{monitor}, named: {named}");
        assert_eq!(poll.headers().contains_key(&tenant), carried, "{what}");
        assert_eq!(query.contains("x-tenant=t1"), carried, "{what}: {query}");
        assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
    }
}
