//! Pass-through cost, in memory: what wrapping a service costs a request whose response is not
//! a long-running operation.
//!
//! Four services answer `200` at once with a small JSON body to a `GET` carrying ten realistic
//! headers: the bare `service_fn`, the same wrapped in `LroService`, in a `StoreService` (an
//! `LroLayer` with an operation store; the request carries no idempotency key), and in
//! `tower_http::follow_redirect::FollowRedirect` (the structural peer: it too keeps a copy of the
//! request head to send follow-up requests through a clone of the inner service).
//!
//! Each call is driven synchronously (`poll_ready`, `call`, one `poll` with a no-op waker): the
//! inner future is ready at once and a pass-through response needs no runtime, so the numbers are
//! the middleware's own cost with no executor noise. Building the request is set-up (not timed);
//! the call and dropping the response are timed.
//!
//! `cargo bench --bench passthrough`. Also prints the size of each response future type, and
//! the heap allocations per call of each service (a counting global allocator: one relaxed
//! atomic add per allocation, paid alike by every row).
//!
//! Profiling: `LRO_PROFILE=bare|lro|store|follow LRO_PROFILE_ITERS=200000 target/.../passthrough` runs
//! that variant in a plain loop and exits (for `valgrind --tool=callgrind` or `perf record`);
//! `LRO_PROFILE_REQUEST=plain` sends the `GET` with no header (as the perf bed's), `auth` with
//! only an `Authorization` made at run time, `ten` (the default) with the ten headers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use criterion::{criterion_group, BatchSize, Criterion};
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use tower::{service_fn, Layer, Service};
use tower_http::follow_redirect::FollowRedirect;
use tower_lro::store::MemoryStore;
use tower_lro::LroLayer;

mod common;

use common::Body;

/// Counts allocations (and reallocations); forwards everything to the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The bare service in an `LroLayer` with an operation store.
fn store_layer(
) -> impl Service<Request<Body>, Response = Response<tower_lro::LroBody<Body>>, Error = tower::BoxError>
{
    LroLayer::new()
        .store(Arc::new(MemoryStore::new()))
        .layer(service_fn(answer))
}

/// Heap allocations per call (requests built beforehand; the call and dropping the response
/// counted).
fn allocations_per_call<S>(svc: &mut S, request: fn() -> Request<Body>) -> f64
where
    S: Service<Request<Body>>,
    S::Error: std::fmt::Debug,
{
    const N: u64 = 1000;
    let requests: Vec<_> = (0..N).map(|_| request()).collect();
    let before = ALLOCS.load(Ordering::Relaxed);
    for req in requests {
        drop(black_box(call_now(svc, req)));
    }
    (ALLOCS.load(Ordering::Relaxed) - before) as f64 / N as f64
}

fn print_allocations() {
    println!("heap allocations per pass-through call (ten headers):");
    println!(
        "  bare service_fn                 {:>5.2}",
        allocations_per_call(&mut service_fn(answer), request)
    );
    println!(
        "  LroService<service_fn>          {:>5.2}",
        allocations_per_call(&mut LroLayer::new().layer(service_fn(answer)), request)
    );
    println!(
        "  StoreService<service_fn>        {:>5.2}",
        allocations_per_call(&mut store_layer(), request)
    );
    println!(
        "  FollowRedirect<service_fn>      {:>5.2}",
        allocations_per_call(&mut FollowRedirect::new(service_fn(answer)), request)
    );
    for (kind, request) in [
        ("no header", plain_request as fn() -> Request<Body>),
        ("Authorization only", auth_request),
    ] {
        println!("heap allocations per pass-through call ({kind}):");
        println!(
            "  bare service_fn                 {:>5.2}",
            allocations_per_call(&mut service_fn(answer), request)
        );
        println!(
            "  LroService<service_fn>          {:>5.2}",
            allocations_per_call(&mut LroLayer::new().layer(service_fn(answer)), request)
        );
    }
}

fn request() -> Request<Body> {
    common::ping("https://contoso.example.com")
}

/// The same `GET` with no header (as the perf bed's `GET /plain`).
fn plain_request() -> Request<Body> {
    let mut req = request();
    req.headers_mut().clear();
    req
}

/// The same `GET` with only an `Authorization` header, its value made at run time from a token
/// (as a client makes it: not a `'static` value).
fn auth_request() -> Request<Body> {
    let mut req = plain_request();
    let token = format!("Bearer {}", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln");
    let value = HeaderValue::from_str(&token).expect("a token is a header value");
    req.headers_mut().insert(header::AUTHORIZATION, value);
    req
}

fn answer(_req: Request<Body>) -> Ready<Result<Response<Body>, Infallible>> {
    let mut res = Response::new(Body::new(Bytes::from_static(common::PING_BODY)));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("45"));
    h.insert(
        "x-ms-request-id",
        HeaderValue::from_static("6d4c1a2e-9f8b-4e3d-a1c2-0b9e8f7d6c5b"),
    );
    ready(Ok(res))
}

/// `poll_ready`, `call`, and one poll: every service here answers at once.
fn call_now<S>(svc: &mut S, req: Request<Body>) -> S::Response
where
    S: Service<Request<Body>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
    match svc.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        other => panic!("service not ready: {:?}", other.map(|r| r.err())),
    }
    let mut fut = pin!(svc.call(req));
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(res)) => res,
        Poll::Ready(Err(e)) => panic!("service failed: {e:?}"),
        Poll::Pending => panic!("a pass-through call did not finish at once"),
    }
}

fn future_size<S>(svc: &mut S) -> usize
where
    S: Service<Request<Body>>,
{
    let fut = svc.call(request());
    std::mem::size_of_val(&fut)
}

fn print_sizes() {
    let bare = service_fn(answer);
    let mut lro = LroLayer::new().layer(bare);
    let mut store = store_layer();
    let mut follow = FollowRedirect::new(bare);
    let mut bare = bare;
    println!("response future sizes (bytes):");
    println!(
        "  bare service_fn                 {:>5}",
        future_size(&mut bare)
    );
    println!(
        "  LroService<service_fn>          {:>5}",
        future_size(&mut lro)
    );
    println!(
        "  StoreService<service_fn>        {:>5}",
        future_size(&mut store)
    );
    println!(
        "  FollowRedirect<service_fn>      {:>5}",
        future_size(&mut follow)
    );
    println!(
        "  (LroService<S> itself: {} bytes; FollowRedirect<S>: {} bytes)",
        std::mem::size_of_val(&lro),
        std::mem::size_of_val(&follow)
    );
}

fn bench_passthrough(c: &mut Criterion) {
    let mut group = c.benchmark_group("passthrough_in_memory");
    let mut bare = service_fn(answer);
    let mut lro = LroLayer::new().layer(service_fn(answer));
    let mut store = store_layer();
    let mut follow = FollowRedirect::new(service_fn(answer));

    // The layer must hand the response back untouched.
    let res = call_now(&mut lro, request());
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.body().is_buffered());

    group.bench_function("bare", |b| {
        b.iter_batched(
            request,
            |req| black_box(call_now(&mut bare, req).status()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("lro_layer", |b| {
        b.iter_batched(
            request,
            |req| black_box(call_now(&mut lro, req).status()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("store_layer", |b| {
        b.iter_batched(
            request,
            |req| black_box(call_now(&mut store, req).status()),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("follow_redirect", |b| {
        b.iter_batched(
            request,
            |req| black_box(call_now(&mut follow, req).status()),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A plain loop over one variant, for a profiler.
fn profile(variant: &str) {
    let iters: u64 = common::env_or("LRO_PROFILE_ITERS", 200_000);
    let request = match std::env::var("LRO_PROFILE_REQUEST").as_deref() {
        Ok("plain") => plain_request,
        Ok("auth") => auth_request,
        Ok("ten") | Err(_) => request,
        Ok(other) => panic!("LRO_PROFILE_REQUEST={other}: expected plain, auth or ten"),
    };
    let mut sum = 0u64;
    match variant {
        "bare" => {
            let mut svc = service_fn(answer);
            for _ in 0..iters {
                sum += u64::from(call_now(&mut svc, request()).status().as_u16());
            }
        }
        "lro" => {
            let mut svc = LroLayer::new().layer(service_fn(answer));
            for _ in 0..iters {
                sum += u64::from(call_now(&mut svc, request()).status().as_u16());
            }
        }
        "store" => {
            let mut svc = store_layer();
            for _ in 0..iters {
                sum += u64::from(call_now(&mut svc, request()).status().as_u16());
            }
        }
        "follow" => {
            let mut svc = FollowRedirect::new(service_fn(answer));
            for _ in 0..iters {
                sum += u64::from(call_now(&mut svc, request()).status().as_u16());
            }
        }
        other => panic!("LRO_PROFILE={other}: expected bare, lro, store or follow"),
    }
    println!("{variant}: {iters} calls (checksum {sum})");
}

criterion_group!(benches, bench_passthrough);

fn main() {
    if let Ok(variant) = std::env::var("LRO_PROFILE") {
        profile(&variant);
        return;
    }
    print_sizes();
    print_allocations();
    if std::env::var_os("LRO_ALLOCS_ONLY").is_some() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
