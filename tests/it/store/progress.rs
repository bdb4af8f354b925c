//! Per-request progress (issue 16): a hook in the request's options, and the same as values
//! through a watch receiver (tower-test mock, paused clock).

use std::sync::{Arc, Mutex};

use http::Method;
use tower_lro::{LroLayer, LroOptions};

use crate::support::{resp, submission, Op};

#[tokio::test(start_paused = true)]
async fn a_request_hears_its_own_progress_after_the_layer() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let (layer_log, request_log) = (heard.clone(), heard.clone());
    let layer = LroLayer::new().on_progress(move |p| {
        layer_log
            .lock()
            .unwrap()
            .push(format!("layer {}", p.polls()));
    });
    let (options, mut watched) = LroOptions::new()
        .on_progress(move |p| {
            request_log
                .lock()
                .unwrap()
                .push(format!("request {}", p.polls()));
        })
        .watch_progress();
    let mut req = submission(Method::POST, "https://svc.example/jobs");
    req.extensions_mut().insert(options);
    let mut op = Op::start(layer, req);
    op.answer(resp(
        202,
        &[("operation-location", b"https://svc.example/ops/1")],
        "",
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Running","percentComplete":40}"#,
    ))
    .await;
    op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    op.finish().await.expect("the operation succeeds");

    // Only the last of the values is kept; the hook set last (the watch) replaced the first.
    let last = watched.borrow_and_update().clone().expect("a report");
    assert_eq!((last.polls(), last.status().as_str()), (2, "Succeeded"));
    assert!(
        watched.changed().await.is_err(),
        "the watch ends with the operation"
    );
    let heard = heard.lock().unwrap().clone();
    assert_eq!(heard, ["layer 0", "layer 1", "layer 2"]);
}

#[tokio::test(start_paused = true)]
async fn a_request_hook_hears_every_report() {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    let mut req = submission(Method::POST, "https://svc.example/jobs");
    req.extensions_mut()
        .insert(LroOptions::new().on_progress(move |p| {
            let pct = p.percent_complete();
            log.lock().unwrap().push((p.polls(), pct));
        }));
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(resp(
        202,
        &[("operation-location", b"https://svc.example/ops/1")],
        "",
    ))
    .await;
    op.answer(resp(
        200,
        &[],
        r#"{"status":"Running","percentComplete":40}"#,
    ))
    .await;
    op.answer(resp(200, &[], r#"{"status":"Succeeded"}"#)).await;
    op.finish().await.expect("the operation succeeds");
    assert_eq!(
        *heard.lock().unwrap(),
        [(0, None), (1, Some(40.0)), (2, None)]
    );
}
