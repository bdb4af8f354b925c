//! The `tracing` feature: one span per operation, one event per poll with the wait and its reason.

use std::sync::{Arc, Mutex};

use http::Request;
use http_body_util::Full;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::support::{resp, Op};

/// Records every event's fields as `name=value` text, and every span's name.
#[derive(Clone, Default)]
struct Capture {
    events: Arc<Mutex<Vec<String>>>,
    spans: Arc<Mutex<Vec<String>>>,
    /// Fields recorded into a span after it was created (`operation_url`, …).
    records: Arc<Mutex<Vec<String>>>,
}

struct Text(String);
impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = Text(format!("{} ", span.metadata().name()));
        span.record(&mut text);
        let mut spans = self.spans.lock().unwrap();
        spans.push(text.0);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut text = Text(String::new());
        values.record(&mut text);
        self.records.lock().unwrap().push(text.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        self.events.lock().unwrap().push(text.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test(start_paused = true)]
async fn a_span_per_operation_and_an_event_per_poll() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    // Other tests of this binary hit the layer's callsites on other threads, with no subscriber.
    // With one registered dispatcher, tracing-core works out a callsite's interest from the
    // default of whichever thread registers it first, and caches "never"; with two, from all of
    // them, so the capture above keeps seeing the layer's spans and events.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let req = Request::post("https://s.example/jobs")
        .body(Full::default())
        .unwrap();
    // The call runs in a task on this thread (a current-thread runtime): it sees the subscriber.
    let mut op = Op::start(tower_lro::LroLayer::new(), req);
    op.answer(resp(
        202,
        &[
            ("operation-location", b"/ops/1"),
            ("retry-after-ms", b"1500"),
        ],
        "",
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"operationId":"o1","status":"Running","percentComplete":50}"#,
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"operationId":"o1","status":"Succeeded"}"#,
    ))
    .await;
    op.finish().await.unwrap();
    let spans = capture.spans.lock().unwrap().clone();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert!(
        spans[0].starts_with("lro ") && spans[0].contains("https://s.example/jobs"),
        "{spans:?}"
    );
    let events = capture.events.lock().unwrap().clone();
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(
        events[0].contains("wait_ms=1500")
            && events[0].contains("polls=0")
            && events[0].contains("retry-after-ms"),
        "{}",
        events[0]
    );
    assert!(
        events[1].contains("percent_complete=50.0") && events[1].contains("polls=1"),
        "{}",
        events[1]
    );
    assert!(
        events[1].contains("wait_ms=1000") && events[1].contains("poll interval"),
        "{}",
        events[1]
    );
    // The last status answer is reported, then the operation finishes: in that order.
    assert!(
        events[2].contains("lro poll")
            && events[2].contains("status=Succeeded")
            && events[2].contains("polls=2"),
        "{}",
        events[2]
    );
    assert!(
        events[3].contains("lro finished") && events[3].contains("polls=2"),
        "{}",
        events[3]
    );
}

/// Spans and events name URLs with their credential values masked (the caller's
/// `subscription-key` and `user:password@`, a server's `sig=`), and quote a server's status word
/// escaped: a log line gets no secret and no terminal escape from them.
#[tokio::test(start_paused = true)]
async fn spans_and_events_mask_credentials_and_escape_server_text() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());
    let req = Request::post("https://u:PW-SECRET@s.example/jobs?subscription-key=KEY-SECRET")
        .body(Full::default())
        .unwrap();
    let layer = tower_lro::LroLayer::new().carry_query_param("subscription-key");
    let mut op = Op::start(layer, req);
    op.answer(resp(
        202,
        &[("operation-location", b"/ops/1?sig=SIG-SECRET")],
        "",
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        "{\"status\":\"Run\\u001b[2Jning\\nforged\"}",
    ))
    .await;
    op.answer(resp(
        200,
        &[("resource-location", b"/things/1?sig=RES-SECRET")],
        r#"{"status":"Succeeded"}"#,
    ))
    .await;
    op.answer(resp(200, &[], "{}")).await;
    op.finish().await.unwrap();
    let mut all = capture.spans.lock().unwrap().clone();
    all.extend(capture.records.lock().unwrap().iter().cloned());
    all.extend(capture.events.lock().unwrap().iter().cloned());
    let text = all.join("\n");
    assert!(text.contains("sig=***"), "{text}");
    assert!(text.contains("subscription-key=***"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("Run\\x1b[2Jning\\nforged"), "{text}");
}
