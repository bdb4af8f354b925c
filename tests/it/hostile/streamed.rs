//! Bodies without a length: streamed over the limit, or never ending.

use super::*;

/// A body of `chunks` 64 KiB chunks with no size hint; then it ends, or (`stall`) never does.
struct Trickle {
    chunks: usize,
    stall: bool,
    pulled: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

static CHUNK: [u8; 65_536] = [b' '; 65_536];

impl http_body::Body for Trickle {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.chunks == 0 {
            return if self.stall {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(None)
            };
        }
        self.chunks -= 1;
        self.pulled
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from_static(&CHUNK)))))
    }
}

fn trickle(status: u16, headers: &[(&str, &str)], body: Trickle) -> Response<Trickle> {
    let mut r = Response::new(body);
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    for (k, v) in headers {
        r.headers_mut().insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    r
}

/// One chunk, then nothing, ever.
fn stalling() -> Trickle {
    Trickle {
        chunks: 1,
        stall: true,
        pulled: Default::default(),
    }
}

type Handle = mock::Handle<Req, Response<Trickle>>;
type Call = tokio::task::JoinHandle<Result<Response<tower_lro::LroBody<Trickle>>, tower::BoxError>>;

/// A submission with `method` through `layer` over a mock, on its own task: the call and the
/// mock's handle.
fn spawn_call(layer: LroLayer, method: Method) -> (Call, Handle) {
    let (svc, handle) = mock::pair::<Req, Response<Trickle>>();
    (
        tokio::spawn(layer.layer(svc).oneshot(submission(method, SUB))),
        handle,
    )
}

/// Answers the submission `202` + `Operation-Location` with an empty body; the first poll's
/// responder.
async fn accept(handle: &mut Handle) -> mock::SendResponse<Response<Trickle>> {
    let (_, send) = handle.next_request().await.unwrap();
    let empty = Trickle {
        chunks: 0,
        stall: false,
        pulled: Default::default(),
    };
    send.send_response(trickle(202, &[("operation-location", MONITOR)], empty));
    let (_, send) = handle.next_request().await.unwrap();
    send
}

/// A 10 MiB status body sent in chunks, without a length: reading stops right after the
/// 1 MiB limit (17 of 160 chunks), with a `Protocol` error.
#[tokio::test(start_paused = true)]
async fn a_chunked_oversized_status_body_is_read_only_up_to_the_limit() {
    let (call, mut handle) = spawn_call(LroLayer::new(), Method::POST);
    let send = accept(&mut handle).await;
    let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    send.send_response(trickle(
        200,
        &[],
        Trickle {
            chunks: 160,
            stall: false,
            pulled: pulled.clone(),
        },
    ));
    let err = call.await.unwrap().unwrap_err();
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(
        matches!(
            err.reason(),
            Reason::BodyTooLarge { status, limit } if *status == StatusCode::OK && *limit == 1024 * 1024
        ),
        "{:?}",
        err.reason()
    );
    assert_eq!(pulled.load(std::sync::atomic::Ordering::SeqCst), 17);
}

/// A status body that starts and never ends (slow loris): the deadline ends it, on time, with
/// a resume handle.
#[tokio::test(start_paused = true)]
async fn a_status_body_that_never_ends_times_out_at_the_deadline() {
    let t0 = Instant::now();
    let layer = LroLayer::new().deadline(Duration::from_secs(120));
    let (call, mut handle) = spawn_call(layer, Method::POST);
    let send = accept(&mut handle).await;
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
    send.send_response(trickle(200, &[], stalling()));
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(120));
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.resume_handle().unwrap().operation_url(), MONITOR);
}

/// A submission whose body never ends (a `PUT` answered `201`, read for `provisioningState`):
/// the deadline ends it too.
#[tokio::test(start_paused = true)]
async fn a_submission_body_that_never_ends_times_out_at_the_deadline() {
    let t0 = Instant::now();
    let layer = LroLayer::new().deadline(Duration::from_secs(30));
    let (call, mut handle) = spawn_call(layer, Method::PUT);
    let (_, send) = handle.next_request().await.unwrap();
    let json = [("content-type", "application/json")];
    send.send_response(trickle(201, &json, stalling()));
    let err = call.await.unwrap().unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    let err = err.downcast::<tower_lro::Error>().unwrap();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

/// `start_only` returns the handle even when the submission's body runs over the limit (the
/// body comes back whole: what was read, then the rest).
#[tokio::test(start_paused = true)]
async fn start_only_keeps_its_handle_over_the_body_limit() {
    let mut req = submission(Method::POST, SUB);
    req.extensions_mut().insert(LroOptions::new().start_only());
    let mut op = Op::start(LroLayer::new().status_body_limit(8), req);
    let big = "x".repeat(100);
    op.answer(resp(
        202,
        &[("operation-location", MONITOR.as_bytes())],
        big.clone(),
    ))
    .await;
    let resp = op.finish().await.unwrap();
    let handle = resp
        .extensions()
        .get::<LroMetadata>()
        .and_then(LroMetadata::resume_handle)
        .cloned();
    assert_eq!(handle.unwrap().operation_url(), MONITOR);
    assert_eq!(body_text(resp).await, big);
}
