//! The client side: thousands of operations through one client, each outcome classified.

use super::*;

/// How one operation ended.
async fn classify(
    i: usize,
    result: Result<Response<tower_lro::LroBody<Incoming>>, tower::BoxError>,
) -> String {
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            if let Some(err) = e.downcast_ref::<tower_lro::Error>() {
                if err.kind() == ErrorKind::Protocol {
                    // Only injected garbage breaks the protocol.
                    let body = err.body().map(|b| b.to_vec()).unwrap_or_default();
                    if body != b"<html>garbage</html>" {
                        return format!("WRONG: protocol error not from garbage: {err}");
                    }
                }
                return format!("error: {:?}", err.kind());
            }
            if e.downcast_ref::<hyper_util::client::legacy::Error>()
                .is_some()
            {
                return "submission: transport error passed back".to_owned();
            }
            if e.downcast_ref::<hyper::Error>().is_some() {
                // The submission's body broke while the layer read it for
                // `provisioningState`: the read error comes back as it was.
                return "submission: body error passed back".to_owned();
            }
            return format!("WRONG: untyped error {e}");
        }
    };
    let status = response.status();
    let meta = response.extensions().get::<LroMetadata>().cloned();
    let body = response.into_body().collect().await;
    let Some(meta) = meta else {
        return if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            format!("submission: {} passed back", status.as_u16())
        } else {
            format!("WRONG: pass-through {status}")
        };
    };
    let want_rule = match shape(i) {
        0 => Rule::OperationLocation,
        1 => Rule::AzureAsyncOperation,
        2 => Rule::Location,
        _ => Rule::ProvisioningState,
    };
    if meta.rule() != want_rule {
        return format!("WRONG: rule {:?}", meta.rule());
    }
    match body {
        Err(_) => "resource body broke while streaming".to_owned(),
        Ok(b) => {
            let b = b.to_bytes();
            let want = format!("\"name\":\"op-{i}\"");
            if status == StatusCode::OK && std::str::from_utf8(&b).is_ok_and(|s| s.contains(&want))
            {
                "ok: final resource".to_owned()
            } else {
                format!("WRONG: {status} {:?}", String::from_utf8_lossy(&b))
            }
        }
    }
}

async fn chaos(ops: usize, seed: u64, max_in_flight: usize, overall: Duration) {
    let started = std::time::Instant::now();
    let server = Server::start(ops, seed).await;
    let addr = server.state.addr;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let service = ServiceBuilder::new()
        .layer(
            LroLayer::new()
                .poll_interval(Duration::from_millis(2))
                .max_poll_interval(Duration::from_millis(10))
                .wait_bounds(Duration::ZERO, Duration::from_millis(20))
                .deadline(Duration::from_secs(30)),
        )
        .layer(ConcurrencyLimitLayer::new(max_in_flight))
        .service(client);

    let mut tasks = JoinSet::new();
    for i in 0..ops {
        let svc = service.clone();
        tasks.spawn(async move {
            let method = if matches!(shape(i), 1 | 3) {
                Method::PUT
            } else {
                Method::POST
            };
            let req = Request::builder()
                .method(method)
                .uri(format!("http://{addr}/ops/{i}?api-version=1"))
                .header("authorization", "Bearer chaos")
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from_static(b"{\"input\":1}")))
                .unwrap();
            let result = svc.oneshot(req).await;
            (i, classify(i, result).await)
        });
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = vec![false; ops];
    let mut lost_in_transport = vec![false; ops];
    let all = async {
        while let Some(joined) = tasks.join_next().await {
            let (i, outcome) = joined.expect("no task panics");
            seen[i] = true;
            lost_in_transport[i] = outcome == "submission: transport error passed back";
            *outcomes.entry(outcome).or_default() += 1;
        }
    };
    if tokio::time::timeout(overall, all).await.is_err() {
        let pending = seen.iter().filter(|s| !**s).count();
        panic!("{pending} operations still running after {overall:?}: {outcomes:#?}");
    }
    let elapsed = started.elapsed();

    let state = &server.state;
    let faults = state.faults.lock().unwrap().clone();
    let fault_total: u64 = faults.values().sum();
    let requests = state.total.load(Ordering::Relaxed);
    println!(
        "chaos: {ops} operations, seed {seed:#x}, {requests} requests, {fault_total} faults injected ({:.1} %), {:.2} s",
        100.0 * fault_total as f64 / requests as f64,
        elapsed.as_secs_f64()
    );
    let redirects = state.redirects.lock().unwrap().clone();
    println!("faults: {faults:#?}");
    println!("redirects answered: {redirects:?}");
    println!("outcomes: {outcomes:#?}");
    let violations = state.violations.lock().unwrap().clone();
    assert!(violations.is_empty(), "the server saw: {violations:#?}");

    let wrong: Vec<_> = outcomes.keys().filter(|k| k.starts_with("WRONG")).collect();
    assert!(wrong.is_empty(), "wrong outcomes: {outcomes:#?}");
    assert_eq!(outcomes.values().sum::<usize>(), ops);
    // Never re-sent: at most once each. Exactly once, unless the client's connection failed
    // before the server read the request (a kept-alive connection the server had just reset, a
    // connect refused on a loaded machine): that submission comes back as a transport error.
    for (i, count) in state.submissions.iter().enumerate() {
        let count = count.load(Ordering::SeqCst);
        let want = if lost_in_transport[i] { 0..=1 } else { 1..=1 };
        assert!(
            want.contains(&count),
            "submission {i} seen {count} times ({})",
            if lost_in_transport[i] {
                "lost in transport"
            } else {
                "answered"
            }
        );
    }
    let ok = outcomes.get("ok: final resource").copied().unwrap_or(0);
    assert!(
        ok * 100 >= ops * 85,
        "only {ok} of {ops} succeeded: {outcomes:#?}"
    );
    assert!(fault_total > 0);
    for code in [301, 302, 303, 307, 308] {
        assert!(
            redirects.get(&code).is_some_and(|n| *n > 0),
            "no {code}: {redirects:?}"
        );
    }
}

/// 2000 concurrent operations, about 5 % of answers faulted, all done within 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_operations_under_faults() {
    chaos(2_000, 0x5EED_CAFE, usize::MAX >> 4, Duration::from_secs(60)).await;
}

/// The same with 20000 operations: `cargo test --release --test chaos -- --ignored
/// --nocapture` (about 4 s in release on 2 cores; 69536 requests, 3364 faults with this seed
/// before redirecting monitors were added: not re-measured since).
/// In-flight requests are capped at 2000 (a `ConcurrencyLimit` under the layer) so that client
/// and server sockets stay within a 20000 file-descriptor limit; all 20000 operations are still
/// concurrent tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "big: 20000 operations; run with --release"]
async fn twenty_thousand_concurrent_operations_under_faults() {
    chaos(20_000, 0xC4A0_5EED, 2_000, Duration::from_secs(300)).await;
}
