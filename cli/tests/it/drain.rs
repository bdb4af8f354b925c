//! `lro proxy` on SIGTERM (issue 16): a drain that lets in-flight requests end, and a
//! hand-over at its end that frees the operations still running for another proxy at once,
//! not after `--store-lease`.

use std::time::{Duration, Instant};

use crate::support::client::{accepted, json, send, until_terminal};
use crate::support::proxy_on;
use crate::support::upstream::Upstream;
use http::StatusCode;
use tokio::process::Child;

/// Polls 50 ms apart.
const POLLS: (&str, &str) = ("retry-after-ms", "50");

fn terminate(child: &Child) {
    let pid = child.id().unwrap() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
}

/// The child's exit code (bounded: 10 s).
async fn exit_code(child: &mut Child) -> Option<i32> {
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the proxy exits within 10 s")
        .unwrap();
    status.code()
}

/// SIGTERM while a keyed request waits: no new connections, and the operation, ending within
/// the drain, is answered; the proxy exits 0 as soon as nothing is left, not at the drain's end.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_waiting_request_finish_within_the_drain() {
    let up = Upstream::waiting(POLLS).await;
    let args = ["--poll-interval", "0.05", "--drain", "20"];
    let (mut child, base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let waiting = tokio::spawn({
        let url = format!("{base}/jobs/a");
        async move { send("POST", &url, &[("idempotency-key", "\"drain-a\"")], "{}").await }
    });
    up.mock.until_count("/ops/a", 2).await;
    terminate(&child);
    let signalled = Instant::now();
    // The listener closes: a new connection is refused (bounded wait for the signal to land).
    let addr = base.trim_start_matches("http://").to_owned();
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "new connections are refused while draining");
    assert!(
        !waiting.is_finished(),
        "the request still waits for its operation"
    );
    up.finish();
    let (status, _, body) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["thing"], "a");
    assert_eq!(exit_code(&mut child).await, Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "exits once drained, not after --drain 20: {:?}",
        signalled.elapsed()
    );
    assert_eq!(up.mock.count("/jobs/a"), 1);
}

/// Two proxies on one Redis, leases of 30 s: a façade operation running on the first, which
/// gets SIGTERM with a short drain. It hands the operation over, and the second proxy's status
/// URL takes it over at once: `Succeeded` long before the lease would have expired, with no
/// second submission.
#[tokio::test(flavor = "multi_thread")]
async fn a_drained_proxy_hands_its_operations_to_another_at_once() {
    let redis = crate::support::redis_server::RedisServer::start();
    let up = Upstream::waiting(POLLS).await;
    let args = [
        "--store",
        &redis.url,
        "--store-lease",
        "30",
        "--poll-interval",
        "0.05",
        "--drain",
        "0.3",
    ];
    let (mut first, first_base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (_second, second_base, _) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let key = [("idempotency-key", "\"drain-b\"")];
    let location = accepted(&format!("{first_base}/jobs/b"), &key).await;
    let waiting = tokio::spawn({
        let url = format!("{first_base}/jobs/c");
        async move { send("POST", &url, &[("idempotency-key", "\"drain-c\"")], "{}").await }
    });
    up.mock.until_count("/ops/b", 2).await;
    up.mock.until_count("/ops/c", 2).await;

    terminate(&first);
    let signalled = Instant::now();
    // The waiting request: 503 with its handle once its operation is handed over.
    let (status, _, body) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let resume = &json(&body)["resume"];
    assert_eq!(resume["operation_url"], format!("{}/ops/c", up.mock.base));
    assert_eq!(exit_code(&mut first).await, Some(0));
    let polled = up.mock.count("/ops/b");
    up.finish();
    let url = format!("{second_base}{location}");
    let (_, _, body) = until_terminal(&url).await;
    let last = json(&body);
    assert_eq!(last["status"], "Succeeded", "{last}");
    let took = signalled.elapsed();
    eprintln!("hand-over: Succeeded on the second proxy {took:?} after SIGTERM (--drain 0.3, --store-lease 30)");
    assert!(
        took < Duration::from_secs(10),
        "taken over in {took:?}: well before the 30 s lease would have expired"
    );
    assert!(
        up.mock.count("/ops/b") > polled,
        "the second proxy polled it"
    );
    assert_eq!(
        up.mock.count("/jobs/b"),
        1,
        "taken over, not submitted again"
    );
    let (status, _, result) = send("GET", &format!("{url}/result"), &[], "").await;
    assert_eq!(
        (status, json(&result)["thing"].as_str()),
        (StatusCode::OK, Some("b"))
    );
    // The waiting request's retry under its key on the second proxy continues its operation.
    let key = [("idempotency-key", "\"drain-c\"")];
    let (status, _, body) = send("POST", &format!("{second_base}/jobs/c"), &key, "{}").await;
    assert_eq!(
        (status, json(&body)["thing"].as_str()),
        (StatusCode::OK, Some("c"))
    );
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert_eq!(
        up.mock.count("/jobs/c"),
        1,
        "continued, not submitted again"
    );
}

/// A second signal while draining: the proxy exits at once, 143 (128 + SIGTERM).
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_exits_at_once() {
    let up = Upstream::waiting(POLLS).await;
    let args = ["--poll-interval", "0.05", "--drain", "60"];
    let (mut child, base, log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let waiting = tokio::spawn({
        let url = format!("{base}/jobs/d");
        async move { send("POST", &url, &[], "{}").await }
    });
    up.mock.until_count("/ops/d", 2).await;
    terminate(&child);
    let signalled = Instant::now();
    // Bounded wait until the proxy says it drains, before the second signal.
    for _ in 0..500 {
        if log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("SIGTERM: no new connections"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!waiting.is_finished(), "still draining");
    terminate(&child);
    assert_eq!(exit_code(&mut child).await, Some(143));
    assert!(signalled.elapsed() < Duration::from_secs(5));
}
