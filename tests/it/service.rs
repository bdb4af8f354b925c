//! The Tower driver against `tower-test` mocks, with tokio's clock paused: readiness,
//! cancellation, the exact poll schedule, pass-through, per-request control and resumption.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};
use tower_lro::__private::Reason;
use tower_lro::{ErrorKind, LroLayer, LroMetadata, LroOptions, Progress, ResumeHandle, Rule};
use tower_test::mock;

use crate::support::{lro_error, resp, submission, Op, Req, Res, RUNNING, SUCCEEDED};

fn post(uri: &str) -> Req {
    submission(Method::POST, uri)
}

#[tokio::test(start_paused = true)]
async fn polls_exactly_when_retry_after_says() {
    // Retry-After 30 s everywhere, operation done at 95 s: polls at 30/60/90/120 s, none earlier.
    let mut op = Op::start(LroLayer::new(), post("https://s.example/jobs"));
    let req = op
        .answer(resp(
            202,
            &[
                ("operation-location", b"https://s.example/ops/1"),
                ("retry-after", b"30"),
            ],
            "",
        ))
        .await;
    assert_eq!(req.method(), "POST");

    for n in 1..=4u64 {
        let (req, send) = op.next().await;
        assert_eq!(op.elapsed(), Duration::from_secs(30 * n), "poll {n}");
        assert_eq!(req.method(), "GET");
        assert_eq!(req.uri(), "https://s.example/ops/1");
        assert_eq!(req.headers()["authorization"], "Bearer secret");
        assert!(req.headers().get("content-type").is_none());
        assert_eq!(req.body().size_hint().exact(), Some(0));
        let body = if op.elapsed() >= Duration::from_secs(95) {
            SUCCEEDED
        } else {
            RUNNING
        };
        send.send_response(resp(200, &[("retry-after", b"30")], body));
    }
    let response = op.finish().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let meta = response.extensions().get::<LroMetadata>().unwrap().clone();
    assert_eq!((meta.polls(), meta.rule()), (4, Rule::OperationLocation));
    assert_eq!(meta.elapsed(), Duration::from_secs(120));
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        SUCCEEDED
    );
}

#[tokio::test(start_paused = true)]
async fn every_poll_waits_for_poll_ready() {
    let mut op = Op::start(LroLayer::new(), post("https://s.example/jobs"));
    let (_, send) = op.next().await;
    op.handle.allow(0);
    send.send_response(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"1")],
        "",
    ));
    // The wait is over, but the inner service is not ready: no poll may be sent.
    op.assert_quiet(
        Duration::from_secs(60),
        "a poll was sent to a service that was not ready",
    )
    .await;
    op.handle.allow(1);
    let req = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(req.uri(), "https://s.example/ops/1");
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_stops_all_polling() {
    // A clone stays alive, so the mock would still take a request sent after the drop.
    let mut op = Op::start_kept(LroLayer::new(), post("https://s.example/jobs"));
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"5")],
        "",
    ))
    .await;
    op.answer(resp(200, &[("retry-after", b"5")], RUNNING))
        .await;
    tokio::task::yield_now().await;
    op.call.abort();
    assert!((&mut op.call).await.unwrap_err().is_cancelled());
    // An hour later (the next poll was due at 5 s), nothing more has been sent.
    op.assert_quiet(
        Duration::from_secs(3600),
        "a request was sent after the future was dropped",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_hanging_poll_ends_at_the_deadline() {
    let mut op = Op::start(
        LroLayer::new().deadline(Duration::from_secs(45)),
        post("https://s.example/jobs"),
    );
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"10")],
        "",
    ))
    .await;
    let (_poll, _never_answered) = op.next().await;
    let err = lro_error(op.outcome().await);
    assert_eq!(op.elapsed(), Duration::from_secs(45));
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(
        matches!(err.reason(), Reason::Deadline { after, .. } if *after == Duration::from_secs(45)),
        "{:?}",
        err.reason()
    );
    assert_eq!(
        err.resume_handle().unwrap().operation_url(),
        "https://s.example/ops/1"
    );
}

/// A body that never yields: proves a pass-through response is not read.
struct Endless;
impl Body for Endless {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Marker(u32);

#[tokio::test(start_paused = true)]
async fn non_lro_responses_pass_through_untouched() {
    for status in [200u16, 201, 202, 204, 301, 400, 404, 500] {
        let inner = tower::service_fn(move |_req: Req| async move {
            let mut r = Response::builder()
                .status(status)
                .header("x-custom", "1")
                .header("content-type", "text/plain")
                .body(Endless)
                .unwrap();
            r.extensions_mut().insert(Marker(status.into()));
            Ok::<_, std::convert::Infallible>(r)
        });
        let svc = LroLayer::new().layer(inner);
        let response = tokio::time::timeout(
            Duration::from_secs(5),
            svc.oneshot(post("https://s.example/x")),
        )
        .await
        .expect("a pass-through response must not wait for its body")
        .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["x-custom"], "1");
        assert_eq!(
            response.extensions().get::<Marker>(),
            Some(&Marker(status.into()))
        );
        assert!(response.extensions().get::<LroMetadata>().is_none());
        assert!(!response.body().is_buffered());
    }
}

#[tokio::test]
async fn submission_errors_come_back_as_they_were() {
    #[derive(Debug)]
    struct Refused;
    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connection refused")
        }
    }
    impl std::error::Error for Refused {}
    let inner = tower::service_fn(|_req: Req| async { Err::<Res, _>(Refused) });
    let err = LroLayer::new()
        .layer(inner)
        .oneshot(post("https://s.example/x"))
        .await
        .unwrap_err();
    assert!(err.downcast_ref::<Refused>().is_some());
}

#[tokio::test(start_paused = true)]
async fn prefer_respond_async_and_disabled_get_the_202() {
    for opt_out in [0, 1] {
        let mut req = post("https://s.example/jobs");
        if opt_out == 0 {
            req.headers_mut()
                .insert("prefer", "respond-async".parse().unwrap());
        } else {
            req.extensions_mut().insert(LroOptions::disabled());
        }
        // Keeps the mock open: a poll sent after the answer would be seen.
        let mut op = Op::start_kept(LroLayer::new(), req);
        op.answer(resp(202, &[("operation-location", b"/ops/1")], "queued"))
            .await;
        let response = op.outcome().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "queued"
        );
        op.assert_quiet(
            Duration::from_secs(3600),
            "the layer polled a request that opted out",
        )
        .await;
    }
}

#[tokio::test(start_paused = true)]
async fn per_request_deadline_and_final_state() {
    let mut req = post("https://s.example/jobs");
    req.extensions_mut().insert(
        LroOptions::new()
            .deadline(Duration::from_secs(5))
            .final_state(tower_lro::FinalState::StatusMonitor),
    );
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"2")],
        "",
    ))
    .await;
    op.answer(resp(200, &[("resource-location", b"/things/1")], SUCCEEDED))
        .await;
    // StatusMonitor: no resource GET; the status response is final.
    let response = op.finish().await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        SUCCEEDED
    );

    let mut req = post("https://s.example/jobs");
    req.extensions_mut()
        .insert(LroOptions::new().deadline(Duration::from_secs(5)));
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"10")],
        "",
    ))
    .await;
    let err = lro_error(op.finish().await);
    assert!(err.is_timeout());
}

/// What the requests of one operation carry as `LroRequest`: the submission, a status poll
/// and the resource fetch.
async fn tags_of(layer: LroLayer) -> Vec<Option<(tower_lro::PollKind, u32)>> {
    let tag = |req: &Req| {
        let info = req.extensions().get::<tower_lro::LroRequest>();
        info.map(|i| (i.kind(), i.attempt()))
    };
    let mut op = Op::start(layer, post("https://s.example/jobs"));
    let mut tags = Vec::new();
    let ol = resp(202, &[("operation-location", b"/ops/1")], "");
    tags.push(tag(&op.answer(ol).await));
    let done = resp(200, &[("resource-location", b"/r/1")], SUCCEEDED);
    tags.push(tag(&op.answer(done).await));
    tags.push(tag(&op.answer(resp(200, &[], "the resource")).await));
    op.finish().await.unwrap();
    tags
}

/// `tag_requests`: the requests the layer sends by itself carry an `LroRequest` when asked,
/// or when a hook is set (its docs promise it); none by default (three allocations a request).
#[tokio::test(start_paused = true)]
async fn requests_are_tagged_when_asked_or_hooked() {
    use tower_lro::PollKind::{Resource, Status};
    let tagged = [None, Some((Status, 1)), Some((Resource, 1))];
    assert_eq!(tags_of(LroLayer::new()).await, [None, None, None]);
    assert_eq!(tags_of(LroLayer::new().tag_requests(true)).await, tagged);
    let hooked = LroLayer::new().on_poll_request(|_| {});
    assert_eq!(tags_of(hooked).await, tagged);
    let off = LroLayer::new().tag_requests(true).tag_requests(false);
    assert_eq!(tags_of(off).await, [None, None, None], "the last call wins");
}

#[tokio::test(start_paused = true)]
async fn hooks_see_every_poll_and_progress() {
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let layer = LroLayer::new()
        .on_poll_request(|req| {
            let info = *req.extensions().get::<tower_lro::LroRequest>().unwrap();
            let v = format!("{:?}-{}", info.kind(), info.attempt());
            req.headers_mut().insert("x-poll", v.parse().unwrap());
        })
        .on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let mut op = Op::start(layer, post("https://s.example/jobs"));
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"3")],
        "",
    ))
    .await;
    let req = op
        .answer(resp(
            200,
            &[("retry-after", b"4")],
            r#"{"status":"Running","percentComplete":40}"#,
        ))
        .await;
    assert_eq!(req.headers()["x-poll"], "Status-1");
    let req = op
        .answer(resp(200, &[("resource-location", b"/r/1")], SUCCEEDED))
        .await;
    assert_eq!(req.headers()["x-poll"], "Status-2");
    let req = op.answer(resp(200, &[], "the resource")).await;
    assert_eq!(req.headers()["x-poll"], "Resource-1");
    assert_eq!(req.uri(), "https://s.example/r/1");
    let response = op.finish().await.unwrap();
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "the resource"
    );
    let seen = seen.lock().unwrap();
    let waits: Vec<Option<Duration>> = seen.iter().map(Progress::next_poll_in).collect();
    assert_eq!(
        waits,
        [
            Some(Duration::from_secs(3)),
            Some(Duration::from_secs(4)),
            None
        ]
    );
    assert_eq!(
        seen.iter().map(Progress::polls).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert_eq!(seen[1].percent_complete(), Some(40.0));
    assert_eq!(seen[2].status().as_str(), "Succeeded");
    // While the operation waits, each report carries a handle to resume it; none once it is over.
    let handle = seen[1].resume_handle().expect("a handle while waiting");
    assert_eq!(handle.operation_url(), "https://s.example/ops/1");
    assert!(seen[2].resume_handle().is_none());
}

#[tokio::test(start_paused = true)]
async fn resume_polls_without_resending_the_submission() {
    let handle_json = r#"{"version":1,"rule":"operation-location","method":"POST",
        "request_url":"https://s.example/jobs?api-version=3","operation_url":"https://s.example/ops/7",
        "final_state":"auto","submission_location":null,"operation_id":"7",
        "origin":"https://s.example","header_names":["authorization"],"polls":2}"#;
    let resume: ResumeHandle = serde_json::from_str(handle_json).unwrap();
    let mut req: Req = resume.into_request();
    req.headers_mut()
        .insert("authorization", "Bearer fresh".parse().unwrap());
    let mut op = Op::start(LroLayer::new(), req);
    let req = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(req.method(), "GET");
    assert_eq!(req.uri(), "https://s.example/ops/7?api-version=3");
    assert_eq!(req.headers()["authorization"], "Bearer fresh");
    let response = op.finish().await.unwrap();
    assert_eq!(
        response.extensions().get::<LroMetadata>().unwrap().polls(),
        3
    );
}

#[tokio::test(start_paused = true)]
async fn transient_poll_failures_then_success() {
    let mut op = Op::start(LroLayer::new(), post("https://s.example/jobs"));
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1"), ("retry-after", b"1")],
        "",
    ))
    .await;
    op.fail_transport().await;
    op.answer(resp(429, &[("retry-after", b"7")], "")).await;
    assert_eq!(op.elapsed(), Duration::from_secs(2));
    op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(op.elapsed(), Duration::from_secs(9));
    assert_eq!(
        op.finish()
            .await
            .unwrap()
            .extensions()
            .get::<LroMetadata>()
            .unwrap()
            .polls(),
        3
    );
}

#[test]
fn service_and_future_are_send_when_the_inner_ones_are() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    type Client = hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Full<Bytes>,
    >;
    send_sync::<tower_lro::LroService<Client>>();
    send::<<tower_lro::LroService<Client> as Service<Req>>::Future>();
    send::<<tower_lro::LroService<mock::Mock<Req, Res>> as Service<Req>>::Future>();
    send_sync::<LroLayer>();
    send_sync::<tower_lro::Error>();
}

#[tokio::test(start_paused = true)]
async fn progress_reports_the_terminal_failure() {
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = seen.clone();
    let layer = LroLayer::new().on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let mut op = Op::start(layer, post("https://s.example/jobs"));
    op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
        .await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Running","percentComplete":80}"#,
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Failed","error":{"code":"Boom"}}"#,
    ))
    .await;
    assert!(op.finish().await.is_err());
    let seen = seen.lock().unwrap();
    let last = seen.last().unwrap();
    assert_eq!(
        (last.status().as_str(), last.polls(), last.next_poll_in()),
        ("Failed", 2, None)
    );
    assert_eq!(
        last.percent_complete(),
        None,
        "the failed document had no percentage"
    );
}

#[tokio::test(start_paused = true)]
async fn an_explicit_poll_interval_is_every_unhinted_wait() {
    let mut op = Op::start(
        LroLayer::new().poll_interval(Duration::from_secs(10)),
        post("https://s.example/jobs"),
    );
    op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
        .await;
    for n in 1..=8u64 {
        op.answer(resp(200, &[], if n == 8 { SUCCEEDED } else { RUNNING }))
            .await;
        assert_eq!(op.elapsed(), Duration::from_secs(10 * n), "poll {n}");
    }
    assert_eq!(op.finish().await.unwrap().status(), StatusCode::OK);
}

/// A body that ends with `data` once `delay` has passed.
struct Delayed {
    delay: Pin<Box<tokio::time::Sleep>>,
    data: Option<Bytes>,
}
impl Body for Delayed {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        std::task::ready!(std::future::Future::poll(self.delay.as_mut(), cx));
        Poll::Ready(self.data.take().map(|d| Ok(Frame::data(d))))
    }
}

/// One deadline for the whole resolution, counted from the submission's answer: a submission
/// body that takes 50 s of a 60 s deadline leaves 10 s for polling, not another 60.
#[tokio::test(start_paused = true)]
async fn a_slow_submission_body_spends_the_same_deadline() {
    let t0 = Instant::now();
    let inner = tower::service_fn(|req: Req| async move {
        let (status, headers, delay, body): (u16, &[(&str, &str)], u64, &'static str) =
            if req.method() == "POST" {
                (
                    202,
                    &[("operation-location", "https://s.example/ops/1")],
                    50,
                    "",
                )
            } else {
                (200, &[("retry-after", "1")], 0, RUNNING)
            };
        let mut r = Response::builder().status(status);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let body = Delayed {
            delay: Box::pin(tokio::time::sleep(Duration::from_secs(delay))),
            data: Some(Bytes::from_static(body.as_bytes())),
        };
        Ok::<_, std::convert::Infallible>(r.body(body).unwrap())
    });
    let svc = LroLayer::new()
        .deadline(Duration::from_secs(60))
        .layer(inner);
    let err = svc
        .oneshot(post("https://s.example/jobs"))
        .await
        .unwrap_err()
        .downcast::<tower_lro::Error>()
        .unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    let elapsed = t0.elapsed();
    assert!(
        elapsed >= Duration::from_secs(50) && elapsed <= Duration::from_secs(60),
        "ended at {elapsed:?}"
    );
}

/// A poll rejected with `404` (the service forgot the job) ends with the error alone: no
/// progress report after it repeats a status that answer did not give. A resumed operation
/// whose first poll is rejected reports nothing at all — no answer ever said it was running.
#[tokio::test(start_paused = true)]
async fn a_rejected_poll_is_reported_by_the_error_alone() {
    let mut req = post("https://s.example/jobs");
    req.extensions_mut().insert(LroOptions::new().start_only());
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
        .await;
    let started = op.finish().await.unwrap();
    let handle = started
        .extensions()
        .get::<LroMetadata>()
        .and_then(LroMetadata::resume_handle)
        .expect("a handle")
        .clone();
    for resumed in [true, false] {
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let sink = seen.clone();
        let layer = LroLayer::new().on_progress(move |p| sink.lock().unwrap().push(p.clone()));
        let mut op = if resumed {
            let mut req = submission(Method::GET, "https://s.example/jobs");
            req.extensions_mut().insert(handle.clone());
            Op::start(layer, req)
        } else {
            let mut op = Op::start(layer, post("https://s.example/jobs"));
            op.answer(resp(202, &[("operation-location", b"/ops/1")], ""))
                .await;
            op.answer(resp(200, &[], RUNNING)).await;
            op
        };
        let rejected = op.answer(resp(404, &[], "")).await;
        assert_eq!(rejected.uri(), "https://s.example/ops/1");
        let err = lro_error(op.finish().await);
        assert!(
            matches!(err.reason(), Reason::Rejected { status } if *status == StatusCode::NOT_FOUND),
            "{err}"
        );
        let seen: Vec<_> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|p| (p.status().as_str().to_owned(), p.polls()))
            .collect();
        let want: &[(&str, u32)] = match resumed {
            true => &[],
            false => &[("NotStarted", 0), ("Running", 1)],
        };
        let want: Vec<_> = want.iter().map(|(s, n)| (s.to_string(), *n)).collect();
        assert_eq!(seen, want, "resumed: {resumed}");
    }
}

/// A status server that counts how often it is cloned and how often it is made ready: the
/// driver keeps the instance it was handed and sends every poll through it.
#[derive(Default)]
struct Counted {
    clones: Arc<Mutex<u32>>,
    readies: u32,
    calls: u32,
}

impl Clone for Counted {
    fn clone(&self) -> Self {
        *self.clones.lock().unwrap() += 1;
        Counted {
            clones: self.clones.clone(),
            ..Counted::default()
        }
    }
}

impl Service<Req> for Counted {
    type Response = Res;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Res, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.readies += 1;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Req) -> Self::Future {
        // Each instance's calls: one readiness per request, or the contract was broken.
        self.calls += 1;
        assert_eq!(self.readies, self.calls, "called without poll_ready");
        let answer = match self.calls {
            1 => resp(202, &[("operation-location", b"/ops/1")], ""),
            2 | 3 => resp(200, &[], RUNNING),
            _ => resp(200, &[], SUCCEEDED),
        };
        std::future::ready(Ok(answer))
    }
}

#[tokio::test(start_paused = true)]
async fn an_operation_clones_its_service_once() {
    let clones: Arc<Mutex<u32>> = Arc::default();
    let layer = LroLayer::new().poll_interval(Duration::from_secs(1));
    let mut svc = layer.layer(Counted {
        clones: clones.clone(),
        ..Counted::default()
    });
    let response = svc
        .ready()
        .await
        .unwrap()
        .call(post("https://s.example/jobs"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let meta = response.extensions().get::<LroMetadata>().unwrap();
    assert_eq!(meta.polls(), 3);
    // The submission and three polls went through the one instance the call kept.
    assert_eq!(*clones.lock().unwrap(), 1);
}
