//! SSRF through names (issue 14 §4): `lro` and `lro proxy` check the addresses a name resolves
//! to before connecting. `--resolve` plays DNS; a refused address is never connected to (the
//! guard refuses it first), and the only server is a loopback mock.

use std::time::Duration;

use crate::support::{lro, now, resp, Mock};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A service on loopback: `POST /jobs` answers `202` naming `http://{monitor_host}:PORT/op`
/// (this mock's port) as the monitor; `/op` succeeds.
async fn service(monitor_host: &'static str) -> (Mock, u16) {
    let mock = Mock::start(move |req, base| {
        let port = base.rsplit(':').next().unwrap().to_owned();
        match req.target.as_str() {
            "/jobs" => resp(
                202,
                &[
                    (
                        "operation-location",
                        format!("http://{monitor_host}:{port}/op"),
                    ),
                    now(),
                ],
                "",
            ),
            "/op" => resp(200, &[], r#"{"status":"Succeeded","done":"yes"}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let port = mock.base.rsplit(':').next().unwrap().parse().unwrap();
    (mock, port)
}

/// Every refused address: exit 5, the message names the host, address and class, and the
/// mock saw the submission only (the monitor, with its `Metadata-Flavor`, was never sent).
#[tokio::test]
async fn lro_refuses_a_name_that_resolves_to_an_internal_address() {
    let (mock, port) = service("evil.test").await;
    let rows = [
        ("169.254.169.254", "a cloud metadata endpoint"),
        ("[::ffff:169.254.169.254]", "a cloud metadata endpoint"),
        ("[64:ff9b::a9fe:a9fe]", "a cloud metadata endpoint"),
        ("192.0.0.192", "a cloud metadata endpoint"),
        ("169.254.1.1", "a link-local address"),
        ("[fe80::1]", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
    ];
    for (address, class) in rows {
        let before = mock.requests().len();
        let resolve = format!("evil.test:{port}:{address}");
        let url = format!("{}/jobs", mock.base);
        let run = lro(&[
            "-X",
            "POST",
            "-H",
            "Metadata-Flavor: Google",
            "--resolve",
            &resolve,
            &url,
        ])
        .await;
        assert_eq!(run.code, 5, "{address}: {run:?}");
        let shown = address.trim_matches(['[', ']']);
        assert!(
            run.stderr.contains("\"evil.test\"")
                && run.stderr.contains(shown)
                && run.stderr.contains(class),
            "{address}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("not connected to"), "{}", run.stderr);
        assert_eq!(
            mock.requests().len(),
            before + 1,
            "{address}: only the submission"
        );
        assert_eq!(mock.count("/op"), 0, "{address}");
    }
}

#[tokio::test]
async fn lro_allows_internal_names_when_the_url_itself_is_internal() {
    let (mock, port) = service("other.test").await;
    // The URL names 127.0.0.1: a name resolving to loopback is allowed.
    let resolve = format!("other.test:{port}:127.0.0.1");
    let url = format!("{}/jobs", mock.base);
    let run = lro(&["-X", "POST", "--resolve", &resolve, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mock.count("/op"), 1);
    // So is a URL whose name resolves to loopback, by --resolve: its host is the caller's.
    let sub = format!("api.test:{port}:127.0.0.1");
    let url = format!("http://api.test:{port}/jobs");
    let run = lro(&["-X", "POST", "--resolve", &sub, "--resolve", &resolve, &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mock.count("/op"), 2);
}

#[tokio::test]
async fn lro_refuses_the_metadata_address_even_after_an_internal_url() {
    let (mock, port) = service("evil.test").await;
    let sub = format!("api.test:{port}:127.0.0.1");
    let evil = format!("evil.test:{port}:10.0.0.1,169.254.169.254");
    let url = format!("http://api.test:{port}/jobs");
    let run = lro(&["-X", "POST", "--resolve", &sub, "--resolve", &evil, &url]).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("169.254.169.254"), "{}", run.stderr);
    assert_eq!(mock.count("/op"), 0);
}

#[tokio::test]
async fn a_bad_resolve_entry_is_a_usage_error() {
    for bad in [
        "evil.test",
        "evil.test:80",
        "evil.test:http:1.2.3.4",
        "evil.test:80:nope",
    ] {
        let run = lro(&["--resolve", bad, "http://127.0.0.1:9/"]).await;
        assert_eq!(run.code, 2, "{bad}: {run:?}");
        assert!(run.stderr.contains("--resolve"), "{}", run.stderr);
    }
}

/// `lro proxy --upstream URL ARGS` on a free loopback port; the child and its base URL.
async fn proxy(upstream: &str, extra: &[&str]) -> (tokio::process::Child, String) {
    let (child, addr, _log) = crate::support::proxy_on("127.0.0.1:0", upstream, extra).await;
    (child, addr)
}

async fn post(url: String) -> (StatusCode, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let req = Request::post(url)
        .header("metadata-flavor", "Google")
        .body(Full::from("payload"))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .unwrap()
        .unwrap();
    let status = response.status();
    (
        status,
        response.into_body().collect().await.unwrap().to_bytes(),
    )
}

#[tokio::test]
async fn the_proxy_refuses_a_monitor_name_that_resolves_to_metadata() {
    let (mock, port) = service("evil.test").await;
    let evil = format!("evil.test:{port}:169.254.169.254");
    let (_child, base) = proxy(&mock.base, &["--resolve", &evil]).await;
    let (status, body) = post(format!("{base}/jobs")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body:?}");
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("169.254.169.254"), "{text}");
    assert_eq!(
        mock.requests().len(),
        1,
        "the upstream saw the submission only"
    );
    assert_eq!(mock.count("/op"), 0);
}

#[tokio::test]
async fn the_proxy_allows_loopback_names_when_its_upstream_is_loopback() {
    let (mock, port) = service("other.test").await;
    let other = format!("other.test:{port}:127.0.0.1");
    let (_child, base) = proxy(&mock.base, &["--resolve", &other]).await;
    let (status, body) = post(format!("{base}/jobs")).await;
    assert_eq!(status, StatusCode::OK, "{body:?}");
    assert_eq!(mock.count("/op"), 1);
}
