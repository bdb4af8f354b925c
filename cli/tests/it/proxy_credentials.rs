//! `lro proxy` never carries a client's credentials to another origin: every name of the
//! library's credential list (headers and query names, listed and made from each pattern) and
//! every origin-bound header reach the upstream's own polls, and never a second loopback
//! origin named as the status monitor, as a redirect's target (each 3xx) or as the resource.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::process::Child;

use crate::support::creds;

/// `lro proxy` on a free loopback port in front of `upstream`; the child and its base URL.
async fn proxy(upstream: &str, extra: &[String]) -> (Child, String) {
    let mut args = vec!["--max-time", "20"];
    args.extend(extra.iter().map(String::as_str));
    let (child, addr, _log) = crate::support::proxy_on("127.0.0.1:0", upstream, &args).await;
    (child, addr)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_carries_no_credential_to_another_origin() {
    let (a, b) = creds::origins().await;
    let (_child, base) = proxy(&a.base, &creds::carry_args()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    for flow in creds::flows() {
        let url = format!("{base}{}?{}", flow.submit, creds::query());
        let mut req = Request::post(url).body(Full::from("{}")).unwrap();
        for line in creds::header_lines() {
            let (name, value) = line.split_once(": ").unwrap();
            req.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let response = tokio::time::timeout(Duration::from_secs(20), client.request(req))
            .await
            .unwrap()
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(status.is_success(), "{}: {status} {body:?}", flow.submit);
    }
    // The client's credentials for the proxy itself are the proxy's: never forwarded.
    creds::assert_flows(&a, &b, &["proxy-authorization"]);
}
