//! Memory per in-flight LRO: N operations at once (default 10 000; `LRO_MEM_N=100000`), each
//! kept `Running` for 3 s by an in-memory mock of the Creator V2 API (`Retry-After: 1`), through
//! the layer and through the hand-written loop. Each variant runs in its own child process (so
//! RSS figures do not mix) with a counting global allocator.
//!
//! Measured at t = 1.5 s, when every operation has submitted, polled once and waits for its next
//! poll: live heap bytes (allocator) and `VmRSS` above the baseline taken just before the
//! operations were spawned, divided by N. Also: peak heap, `VmHWM`, allocations per operation over
//! its whole life, and that all N completed.
//!
//! `LRO_MEM_RUNTIME=paused` (default): a current-thread runtime with paused time: deterministic,
//! no real waiting. `LRO_MEM_RUNTIME=multi`: a 2-worker multi-thread runtime in real time (each
//! run then takes about 4 s of wall time).
//!
//! `cargo bench --bench memory`, or `LRO_MEM_N=100000 cargo bench --bench memory`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tower::Layer;
use tower_lro::LroLayer;

mod common;

use common::{Behaviour, Mock};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const BASE: &str = "https://contoso.example.com";

fn child(variant: &str, n: usize, runtime: &str) {
    let rt = match runtime {
        "paused" => tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build(),
        "multi" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        other => panic!("LRO_MEM_RUNTIME={other}: expected paused or multi"),
    }
    .expect("runtime");
    let settle = if runtime == "paused" {
        Duration::from_millis(1500)
    } else {
        Duration::from_millis(2500)
    };
    let behaviour = Behaviour {
        running_polls: 0,
        hold: Duration::from_secs(3),
        retry_after: Some(1),
    };
    rt.block_on(async move {
        let hand = Mock::new(behaviour);
        let layered = LroLayer::new().layer(Mock::new(behaviour));
        let mut handles = Vec::with_capacity(n);
        let started = tokio::time::Instant::now();
        let (live0, rss0, allocs0) = (
            LIVE.load(Ordering::Relaxed),
            common::proc_kib("VmRSS"),
            ALLOCS.load(Ordering::Relaxed),
        );
        for _ in 0..n {
            let handle = match variant {
                "hand" => tokio::spawn(common::hand_lro(hand.clone(), BASE)),
                "layer" => tokio::spawn(common::layer_lro(layered.clone(), BASE)),
                other => panic!("variant {other}"),
            };
            handles.push(handle);
        }
        tokio::time::sleep(settle).await;
        let (live1, rss1) = (LIVE.load(Ordering::Relaxed), common::proc_kib("VmRSS"));
        let mut ok = 0usize;
        let mut first_error = None;
        for handle in handles {
            match handle.await.expect("task") {
                Ok(body) if &body[..] == common::RESOURCE_BODY => ok += 1,
                Ok(_) => first_error = Some("wrong final body".to_owned()),
                Err(e) => first_error = first_error.or(Some(e.to_string())),
            }
        }
        let elapsed = started.elapsed();
        let allocs = ALLOCS.load(Ordering::Relaxed) - allocs0;
        let peak = PEAK.load(Ordering::Relaxed);
        println!(
            "variant={variant} n={n} ok={ok} inflight_heap_per_op={} peak_heap_per_op={} \
             inflight_rss_kib={} hwm_kib={} rss0_kib={rss0} allocs_per_op={:.1} elapsed_ms={} error={}",
            (live1 - live0) / n,
            peak.saturating_sub(live0) / n,
            rss1.saturating_sub(rss0),
            common::proc_kib("VmHWM"),
            allocs as f64 / n as f64,
            elapsed.as_millis(),
            first_error.unwrap_or_else(|| "none".to_owned()).replace(' ', "_"),
        );
    });
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("?")
}

fn main() {
    let n: usize = common::env_or("LRO_MEM_N", 10_000);
    let runtime = std::env::var("LRO_MEM_RUNTIME").unwrap_or_else(|_| "paused".to_owned());
    if let Ok(variant) = std::env::var("LRO_MEM_CHILD") {
        child(&variant, n, &runtime);
        return;
    }
    // `cargo bench -- <filter>` passes a filter: run only when it names this bench or nothing.
    // Criterion-style options that take a value are skipped with their value.
    let filter = common::cli_filter().unwrap_or_default();
    if !filter.is_empty() && !"memory".contains(&filter) {
        return;
    }
    let exe = std::env::current_exe().expect("current exe");
    println!("memory per in-flight LRO: n={n}, runtime={runtime}");
    {
        let behaviour = Behaviour {
            running_polls: 0,
            hold: Duration::ZERO,
            retry_after: None,
        };
        let hand = common::hand_lro(Mock::new(behaviour), BASE);
        let layer = common::layer_lro(LroLayer::new().layer(Mock::new(behaviour)), BASE);
        println!(
            "  size of the spawned future (task body, before any heap it owns): hand-written {} B, layer {} B",
            std::mem::size_of_val(&hand),
            std::mem::size_of_val(&layer)
        );
        println!(
            "  sizes: proto::Machine {} B, proto::RequestHead {} B, proto::PollRequest {} B, \
             http::HeaderMap {} B, LroService<Mock> response future {} B",
            std::mem::size_of::<tower_lro::__private::proto::Machine>(),
            std::mem::size_of::<tower_lro::__private::proto::RequestHead>(),
            std::mem::size_of::<tower_lro::__private::proto::PollRequest>(),
            std::mem::size_of::<http::HeaderMap>(),
            std::mem::size_of::<tower_lro::future::ResponseFuture<Mock, common::Body, common::Body>>(
            ),
        );
    }
    let mut lines = Vec::new();
    for variant in ["hand", "layer"] {
        let out = Command::new(&exe)
            .env("LRO_MEM_CHILD", variant)
            .env("LRO_MEM_N", n.to_string())
            .env("LRO_MEM_RUNTIME", &runtime)
            .output()
            .expect("run child");
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            out.status.success(),
            "child {variant} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("  {stdout}");
        lines.push(stdout);
    }
    println!(
        "  {:<8} {:>10} {:>12} {:>12} {:>14} {:>10} {:>9} {:>11}",
        "variant",
        "completed",
        "heap B/op",
        "peak B/op",
        "RSS B/op",
        "VmHWM MiB",
        "allocs/op",
        "elapsed ms"
    );
    let mut per_op = Vec::new();
    for line in &lines {
        let rss_kib: f64 = field(line, "inflight_rss_kib").parse().unwrap_or(f64::NAN);
        let heap: f64 = field(line, "inflight_heap_per_op")
            .parse()
            .unwrap_or(f64::NAN);
        let hwm: f64 = field(line, "hwm_kib").parse().unwrap_or(f64::NAN);
        per_op.push((heap, rss_kib * 1024.0 / n as f64));
        println!(
            "  {:<8} {:>10} {:>12} {:>12} {:>14.0} {:>10.1} {:>9} {:>11}",
            field(line, "variant"),
            format!("{}/{n}", field(line, "ok")),
            field(line, "inflight_heap_per_op"),
            field(line, "peak_heap_per_op"),
            rss_kib * 1024.0 / n as f64,
            hwm / 1024.0,
            field(line, "allocs_per_op"),
            field(line, "elapsed_ms"),
        );
        assert_eq!(
            field(line, "ok"),
            n.to_string(),
            "every operation completes: {line}"
        );
    }
    println!(
        "  layer / hand-written: heap {:.3}x, RSS {:.3}x",
        per_op[1].0 / per_op[0].0,
        per_op[1].1 / per_op[0].1
    );
}
