//! The CPU cost of resolving one LRO, in memory: the Creator V2 flow (`POST` → `202` +
//! `Operation-Location`, a `Running` poll, a `Succeeded` poll with `Resource-Location`, `GET`
//! the resource), every request answered at once by an in-memory mock with `Retry-After: 0`, so
//! no timer ever fires and no socket is involved. What is left is the layer's own work
//! (classifying, reading and parsing status bodies, building poll requests, URL handling,
//! timers) against the hand-written loop's.
//!
//! `cargo bench --bench lro_cpu`.
//!
//! Profiling: `LRO_PROFILE=lro|hand LRO_PROFILE_ITERS=50000` runs that variant in a plain loop.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};
use tower::Layer;
use tower_lro::LroLayer;

mod common;

use common::{Behaviour, Mock};

const BASE: &str = "https://contoso.example.com";

fn mock() -> Mock {
    Mock::new(Behaviour {
        running_polls: 1,
        hold: Duration::ZERO,
        retry_after: Some(0),
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

fn bench_lro_cpu(c: &mut Criterion) {
    let rt = runtime();
    let hand = mock();
    let layered = LroLayer::new().layer(mock());

    let a = rt
        .block_on(common::hand_lro(hand.clone(), BASE))
        .expect("hand");
    let b = rt
        .block_on(common::layer_lro(layered.clone(), BASE))
        .expect("layer");
    assert_eq!(a, b);
    assert_eq!(&a[..], common::RESOURCE_BODY);

    let mut group = c.benchmark_group("lro_in_memory");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hand_written", |bench| {
        bench
            .to_async(&rt)
            .iter(|| common::hand_lro(hand.clone(), BASE))
    });
    group.bench_function("lro_layer", |bench| {
        bench
            .to_async(&rt)
            .iter(|| common::layer_lro(layered.clone(), BASE))
    });
    group.finish();
}

fn profile(variant: &str) {
    let iters: u64 = common::env_or("LRO_PROFILE_ITERS", 50_000);
    let rt = runtime();
    let hand = mock();
    let layered = LroLayer::new().layer(mock());
    let start = std::time::Instant::now();
    rt.block_on(async {
        for _ in 0..iters {
            let body = match variant {
                "hand" => common::hand_lro(hand.clone(), BASE).await,
                "lro" => common::layer_lro(layered.clone(), BASE).await,
                other => panic!("LRO_PROFILE={other}: expected lro or hand"),
            };
            black_box(body.expect("LRO"));
        }
    });
    println!("{variant}: {iters} LROs in {:?}", start.elapsed());
}

criterion_group!(benches, bench_lro_cpu);

fn main() {
    if let Ok(variant) = std::env::var("LRO_PROFILE") {
        profile(&variant);
        return;
    }
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
