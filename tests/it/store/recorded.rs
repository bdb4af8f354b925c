//! What a record tells a reader besides its state (the normalised status, the progress
//! figure, when it was written, its revision), and calls that only continue what a record says
//! (`LroOptions::continue_recorded`): what `lro proxy`'s asynchronous façade is built on.

use super::*;

use tower::ServiceExt;
use tower_lro::store::{OperationRecord, RecordedStatus};

/// A bare `GET` that may only continue the operation under `key`.
fn continuing(up: &Upstream, key: &str) -> http::Request<Full<Bytes>> {
    let mut req = http::Request::get(up.server.url("/"))
        .body(Full::default())
        .unwrap();
    req.extensions_mut()
        .insert(LroOptions::new().idempotency_key(key).continue_recorded());
    req
}

#[tokio::test]
async fn records_say_status_progress_and_revision() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let task = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("r", "{}"));
        async move { send(&svc, req).await }
    });
    until_polling(&*store, "r").await;
    // The first record may be the one written at the `202` (`NotStarted`, nothing polled yet);
    // the first poll's answer (`Running`, 10 %) follows.
    let mut polling = store.load("r").await.unwrap().unwrap();
    for _ in 0..500 {
        if polling.status != Some(RecordedStatus::NotStarted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        polling = store.load("r").await.unwrap().unwrap();
    }
    assert_eq!(polling.status, Some(RecordedStatus::Running));
    assert_eq!(polling.percent_complete, Some(10.0));
    assert!(polling.revision >= 2, "the submission, then a report");
    assert!(polling.updated_ms > 0);
    up.finish();
    task.await.unwrap().unwrap();
    let done = store.load("r").await.unwrap().unwrap();
    assert_eq!(done.status, Some(RecordedStatus::Succeeded));
    assert!(done.revision > polling.revision);
    assert!(done.updated_ms >= polling.updated_ms);
}

#[tokio::test]
async fn a_record_written_before_the_new_fields_still_reads() {
    let old = br#"{"fingerprint":"00","first_sent":7,"state":{"state":"submitted"}}"#;
    let record = OperationRecord::from_json(old).unwrap();
    assert_eq!(record.status, None);
    assert_eq!((record.revision, record.updated_ms), (0, 0));
    assert_eq!(record.percent_complete, None);
    // A finished record of a release before `partial_word`: a success, as it was written.
    let old = br#"{"fingerprint":"00","first_sent":7,"state":{"state":"succeeded","result":{"kind":"url","url":"http://h.example/r"}},"status":"Succeeded","updated_ms":9,"revision":3}"#;
    let record = OperationRecord::from_json(old).unwrap();
    assert_eq!(
        (record.partial_word.as_deref(), record.partial()),
        (None, None)
    );
    assert_eq!(record.status, Some(RecordedStatus::Succeeded));
    // A partial result's record: the word beside the result, and its status; it reads back.
    let mut partial = record.clone();
    partial.partial_word = Some("expired".into());
    partial.status = Some(RecordedStatus::Failed);
    let json = partial.to_json();
    let text = std::str::from_utf8(&json).unwrap();
    assert!(text.contains(r#""partial_word":"expired""#), "{text}");
    let back = OperationRecord::from_json(&json).unwrap();
    assert_eq!(back.partial(), Some(("expired", RecordedStatus::Failed)));
    assert!(back.is_finished());
}

#[tokio::test]
async fn a_call_that_continues_the_record_sends_no_submission() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let mut req = up.keyed("c", r#"{"n":1}"#);
    let options = req.extensions().get::<LroOptions>().unwrap().clone();
    req.extensions_mut().insert(options.start_only());
    send(&svc, req).await.unwrap();
    up.finish();
    // Another URL, no body: the record says what the operation is.
    let done = send(&svc, continuing(&up, "c")).await.unwrap();
    assert_eq!(outcome(&done), Outcome::Resumed);
    assert_eq!(body_bytes(done.into_body()).await, r#"{"id":"thing-1"}"#);
    let again = send(&svc, continuing(&up, "c")).await.unwrap();
    assert_eq!(outcome(&again), Outcome::Answered);
    assert_eq!(up.submissions(), 1);

    let err = send(&svc, continuing(&up, "none")).await.unwrap_err();
    let err = err.downcast::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        err.reason(),
        &Reason::NothingRecorded { key: "none".into() }
    );
    assert_eq!(up.submissions(), 1);
}

/// A keyed operation waiting between polls holds no slot of a concurrency limit below the
/// layer: with one slot, a second keyed operation starts while the first still runs.
#[tokio::test]
async fn a_waiting_keyed_operation_holds_no_concurrency_slot() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let svc = ServiceBuilder::new()
        .layer(layer(store.clone()))
        .concurrency_limit(1)
        .service(http_client());
    let first = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("slot-1", "{}"));
        async move { svc.oneshot(req).await }
    });
    until_polling(&*store, "slot-1").await;
    let second = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("slot-2", "{}"));
        async move { svc.oneshot(req).await }
    });
    until_polling(&*store, "slot-2").await;
    up.finish();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(up.submissions(), 2);
}

/// A report that says nothing new is not written (every write queues behind the others in the
/// store, and that queue is the crash window): five polls that each answer `Running`, 10 %,
/// leave the submission, the `202`'s handle, the first `Running` and the end.
#[tokio::test]
async fn reports_that_say_nothing_new_are_not_written() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let task = tokio::spawn({
        let (svc, req) = (svc.clone(), up.keyed("quiet", "{}"));
        async move { send(&svc, req).await }
    });
    for _ in 0..500 {
        if up.polls() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(up.polls() >= 5, "the upstream was polled: {}", up.polls());
    up.finish();
    task.await.unwrap().unwrap();
    let done = store.load("quiet").await.unwrap().unwrap();
    assert_eq!(done.status, Some(RecordedStatus::Succeeded));
    assert!(done.revision <= 4, "{} writes", done.revision);
}

/// A record of an operation still running says that its credentials were withheld when its
/// handle says so (a request went to another origin): the field was set on a record of a
/// result alone, so a `Polling` record said `false` beside a handle that said `true`.
/// (A `tower-test` mock on Tokio's paused clock: the 300 ms deadline is exact, no real wait.)
#[tokio::test(start_paused = true)]
async fn a_polling_record_says_what_its_handle_says_of_withheld_credentials() {
    let store = Arc::new(MemoryStore::new());
    let (svc, seen) = two_mock_origins(layer(store.clone()), |s| match s.uri.as_str() {
        B_OPS => resp(200, &[], r#"{"status":"Running"}"#),
        _ => resp(404, &[], ""),
    });
    let mut req = post(A_JOBS, "{}");
    let options = LroOptions::new()
        .idempotency_key("w")
        .request_body(b"{}")
        .deadline(Duration::from_millis(300));
    req.extensions_mut().insert(options);
    let t0 = tokio::time::Instant::now();
    let e = send(&svc, req).await.unwrap_err();
    let e = e.downcast_ref::<tower_lro::Error>().expect("an LRO error");
    assert_eq!(e.kind(), tower_lro::ErrorKind::Timeout);
    assert!(
        t0.elapsed() <= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    let record = store.load("w").await.unwrap().expect("a record");
    let OperationState::Polling { handle } = &record.state else {
        panic!("{:?}", record.state);
    };
    assert!(handle.credentials_withheld());
    assert!(record.credentials_withheld);
    drop(svc);
    let seen = seen.await.unwrap();
    assert!(seen.len() > 2, "B was polled: {seen:?}");
    assert!(seen[1..].iter().all(|s| s.uri == B_OPS), "{seen:?}");
}

/// A request body that says, through its token's count, whether it is still held.
#[derive(Default)]
struct Tracked {
    inner: Full<Bytes>,
    _token: Option<Arc<()>>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }
}

/// A keyed call that continues a recorded operation (its record holds a handle) never sends
/// its own body: the body is let go when the call resumes, not kept until the operation ends.
/// `lro proxy` counts a keyed body against `--max-held-bodies` until it is dropped, so a retry
/// that attached to a long operation held its bytes of that budget for the whole operation.
#[tokio::test]
async fn a_resumed_call_lets_its_unsent_body_go() {
    let up = Upstream::start().await;
    let store = Arc::new(MemoryStore::new());
    let svc = client(layer(store.clone()));
    let mut req = up.keyed("b", "{}");
    let options = req.extensions().get::<LroOptions>().unwrap().clone();
    req.extensions_mut().insert(options.start_only());
    send(&svc, req).await.unwrap();
    let token = Arc::new(());
    let tracked = ServiceBuilder::new().layer(layer(store.clone())).service(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<Tracked>(),
    );
    let (parts, _) = up.keyed("b", "{}").into_parts();
    let body = Tracked {
        inner: Full::new(Bytes::from_static(b"{}")),
        _token: Some(token.clone()),
    };
    let call = tokio::spawn(tracked.oneshot(http::Request::from_parts(parts, body)));
    let polled = up.polls();
    eventually("the call polls", || up.polls() > polled + 1).await;
    assert_eq!(
        Arc::strong_count(&token),
        1,
        "the body is let go while the operation runs"
    );
    up.finish();
    let done = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .expect("within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(outcome(&done), Outcome::Resumed);
    assert_eq!(up.submissions(), 1);
}
