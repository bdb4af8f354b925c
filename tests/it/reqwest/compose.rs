//! Composition: hooks, inner middlewares, `reqwest-retry` inside and outside.

use super::*;

/// A caller-side extension, to see it carried to the polls.
#[derive(Debug, Clone, PartialEq)]
struct Tag(&'static str);

/// An inner middleware that records what each request carries in its extensions.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// What [`Recorder`] saw of one request.
type Seen = (Method, Option<LroRequest>, Option<Tag>);

impl Middleware for Recorder {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        req: Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> Pin<Box<dyn Future<Output = reqwest_middleware::Result<Response>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        self.seen.lock().unwrap().push((
            req.method().clone(),
            extensions.get::<LroRequest>().copied(),
            extensions.get::<Tag>().cloned(),
        ));
        next.run(req, extensions)
    }
}

#[tokio::test]
async fn polls_go_through_inner_middlewares_with_the_hooks_applied() {
    let server = MockServer::start().await;
    serve_v2_success(&server);
    let recorder = Recorder::default();
    let progress = Arc::new(AtomicUsize::new(0));
    let counted = progress.clone();
    let layer = maps_layer()
        .on_poll_request(|req| {
            req.headers_mut()
                .insert("x-poll", http::HeaderValue::from_static("signed"));
        })
        .on_progress(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
    let client = ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::from(layer))
        .with(recorder.clone())
        .build();

    let response = send(submit(&client, &server).with_extension(Tag("caller")))
        .await
        .unwrap();
    assert_eq!(body(response).await, RESOURCE);

    let seen = recorder.seen.lock().unwrap().clone();
    let kinds: Vec<(Method, Option<(PollKind, u32)>)> = seen
        .iter()
        .map(|(m, r, _)| (m.clone(), r.map(|r| (r.kind(), r.attempt()))))
        .collect();
    assert_eq!(
        kinds,
        [
            (Method::POST, None),
            (Method::GET, Some((PollKind::Status, 1))),
            (Method::GET, Some((PollKind::Status, 2))),
            (Method::GET, Some((PollKind::Resource, 1))),
        ]
    );
    assert!(
        seen.iter().all(|(_, _, tag)| tag == &Some(Tag("caller"))),
        "{seen:?}"
    );
    let requests = server.requests();
    assert_eq!(
        requests[0].header("x-poll"),
        None,
        "the submission is not a poll"
    );
    assert!(requests[1..]
        .iter()
        .all(|r| r.header("x-poll") == Some("signed")));
    // Two planned polls and the delivery, as the Tower driver reports them.
    assert_eq!(progress.load(Ordering::SeqCst), 3);
}

fn fast_retry(max_retries: u32) -> RetryTransientMiddleware<ExponentialBackoff> {
    let policy = ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(max_retries);
    RetryTransientMiddleware::new_with_policy(policy)
}

/// `202` + `Operation-Location`; the first poll answers `503`, the second `Succeeded`.
fn serve_flaky_poll(server: &MockServer) {
    serve_accepted(server);
    server.sequence(
        Method::GET,
        "/mapData/operations/1",
        vec![Reply::new(503), Reply::new(200).json(SEED_V2_SUCCEEDED)],
    );
}

#[tokio::test]
async fn retry_inside_retries_the_poll_and_sends_the_submission_once() {
    let server = MockServer::start().await;
    serve_flaky_poll(&server);
    // The core's own transient retries are off: only reqwest-retry can get past the 503.
    let client = ClientBuilder::new(reqwest_client())
        .with(LroMiddleware::from(maps_layer().transient_retries(0)))
        .with(fast_retry(3))
        .build();

    let response = send(submit(&client, &server)).await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    // The core planned one poll; reqwest-retry sent it twice.
    assert_eq!(metadata(&response).polls(), 1);
    assert_eq!(body(response).await, SEED_V2_SUCCEEDED);
    assert_eq!(server.hits(&Method::POST, "/mapData"), 1);
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 2);
}

#[tokio::test]
async fn without_retry_the_same_503_exhausts_the_core_budget() {
    let server = MockServer::start().await;
    serve_flaky_poll(&server);
    let client = client(maps_layer().transient_retries(0));

    let err = send(submit(&client, &server)).await.unwrap_err();

    assert_eq!(the_lro_error(&err).kind(), ErrorKind::RetriesExhausted);
    assert_eq!(
        the_lro_error(&err).status(),
        Some(StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 1);
}

#[tokio::test]
async fn retry_outside_neither_retries_polls_nor_re_submits_after_a_resolution_error() {
    let server = MockServer::start().await;
    serve_flaky_poll(&server);
    let client = ClientBuilder::new(reqwest_client())
        .with(fast_retry(3))
        .with(LroMiddleware::from(maps_layer().transient_retries(0)))
        .build();

    let err = send(submit(&client, &server)).await.unwrap_err();

    // The 503 reached the core (whose budget is 0); the error is fatal to reqwest-retry, which
    // hands it back wrapped, transparently, in its own error type.
    let reqwest_middleware::Error::Middleware(outer) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    let Some(RetryError::Error(inner)) = outer.downcast_ref::<RetryError>() else {
        panic!("expected reqwest-retry's RetryError::Error, got {outer:?}");
    };
    assert_eq!(the_lro_error(inner).kind(), ErrorKind::RetriesExhausted);
    assert_eq!(server.hits(&Method::GET, "/mapData/operations/1"), 1);
    assert_eq!(
        server.hits(&Method::POST, "/mapData"),
        1,
        "not re-submitted"
    );
}

#[tokio::test]
async fn retry_outside_re_sends_a_submission_that_answered_503() {
    let server = MockServer::start().await;
    server.sequence(
        Method::POST,
        "/mapData",
        vec![Reply::new(503), accepted(&server)],
    );
    server.always(
        Method::GET,
        "/mapData/operations/1",
        Reply::new(200).json(support::SEED_FAILED),
    );
    let client = ClientBuilder::new(reqwest_client())
        .with(fast_retry(3))
        .with(LroMiddleware::from(maps_layer()))
        .build();

    let err = send(submit(&client, &server)).await.unwrap_err();

    assert_eq!(
        server.hits(&Method::POST, "/mapData"),
        2,
        "the submission was sent twice"
    );
    // After a retry reqwest-retry keeps the error as a source: `lro_error` finds it.
    let reqwest_middleware::Error::Middleware(outer) = &err else {
        panic!("expected a middleware error, got {err:?}");
    };
    assert!(matches!(
        outer.downcast_ref::<RetryError>(),
        Some(RetryError::WithRetries { retries: 1, .. })
    ));
    assert_eq!(the_lro_error(&err).kind(), ErrorKind::OperationFailed);
}
