//! Security: what polls carry, against mocks; credentials across two real loopback origins
//! (same host, different ports, a real hyper-util client, the real clock with the waits shrunk
//! to a few milliseconds).

use super::*;

/// An `https` submission is never polled (nor its resource fetched) over `http`.
#[tokio::test(start_paused = true)]
async fn an_https_submission_is_never_polled_over_http() {
    // The monitor itself.
    for header in ["operation-location", "azure-asyncoperation", "location"] {
        let op = submit(
            LroLayer::new(),
            resp(202, &[(header, b"http://svc.example/operations/1")], ""),
        )
        .await;
        let err = lro_error(op.finish().await);
        assert_eq!(err.kind(), ErrorKind::Insecure, "{header}: {err}");
        assert!(
            matches!(
                err.reason(),
                Reason::BadHeader { name, value, why: UrlProblem::Downgrade { .. }, .. }
                    if name.as_str() == header && value == "http://svc.example/operations/1"
            ),
            "{header}: {:?}",
            err.reason()
        );
    }
    // An http submission may be polled over https (an upgrade is fine).
    let mut op = Op::start(
        LroLayer::new(),
        submission(Method::POST, "http://svc.example/jobs"),
    );
    op.answer(ol("https://svc.example/operations/1")).await;
    let poll = op.answer(resp(200, &[], SUCCEEDED)).await;
    assert_eq!(poll.uri(), "https://svc.example/operations/1");
    op.finish().await.unwrap();
}

/// The poll and the resource fetch carry none of the submission's body, connection,
/// precondition or `Host` headers, and no body.
#[tokio::test(start_paused = true)]
async fn polls_copy_no_body_connection_precondition_or_host_headers() {
    let req = Request::post(SUB)
        .header("host", "svc.example")
        .header("authorization", "Bearer secret")
        .header("content-type", "application/json")
        .header("content-length", "11")
        .header("content-encoding", "gzip")
        .header("transfer-encoding", "chunked")
        .header("expect", "100-continue")
        .header("if-match", "\"v1\"")
        .header("if-none-match", "*")
        .header("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")
        .header("connection", "keep-alive, x-hop")
        .header("keep-alive", "timeout=5")
        .header("x-hop", "1")
        .header("te", "trailers")
        .header("upgrade", "h2c")
        .header("idempotency-key", "abc")
        .header("accept", "application/json")
        .header("x-ms-client-request-id", "9C4D50EE")
        .body(Full::new(Bytes::from_static(b"{\"input\":1}")))
        .unwrap();
    let mut op = Op::start(LroLayer::new(), req);
    op.answer(ol(MONITOR)).await;
    let poll = op
        .answer(resp(
            200,
            &[],
            r#"{"status":"Succeeded","resourceLocation":"/things/1"}"#,
        ))
        .await;
    let fetch = op.answer(resp(200, &[], "{\"name\":\"thing\"}")).await;
    for r in [&poll, &fetch] {
        assert_eq!(r.method(), Method::GET);
        // As a set: HTTP gives the order between different names no meaning.
        let mut names: Vec<&str> = r.headers().keys().map(|k| k.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["accept", "authorization", "x-ms-client-request-id"],
            "{}",
            r.uri()
        );
        assert_eq!(r.body().size_hint().exact(), Some(0));
    }
    assert_eq!(
        support::body_bytes(op.finish().await.unwrap().into_body()).await,
        "{\"name\":\"thing\"}"
    );
}

// ----------------------------------------------------------------------------------------------
// Security, two real origins

use crate::support::{lro_client, send, MockServer, Recorded, Reply};

const CREDENTIALS: [&str; 5] = [
    "authorization",
    "cookie",
    "proxy-authorization",
    "ocp-apim-subscription-key",
    "subscription-key",
];

fn secret_submission(url: &str) -> Req {
    Request::post(url)
        .header("host", "svc.example")
        .header("authorization", "Bearer secret")
        .header("cookie", "session=secret")
        .header("proxy-authorization", "Basic secret")
        .header("ocp-apim-subscription-key", "secret")
        .header("subscription-key", "secret")
        .header("x-custom", "kept")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap()
}

/// Sends [`secret_submission`] to `a`'s `/jobs`, its query `api-version=1&subscription-key=secret`,
/// through `layer` over a real client.
async fn send_secrets(layer: LroLayer, a: &MockServer) -> support::LroResponse {
    let client = lro_client(layer);
    let url = a.url("/jobs?api-version=1&subscription-key=secret");
    send(&client, secret_submission(&url)).await.unwrap()
}

/// A status document that says `Succeeded`, its resource at `url`.
fn succeeded_at(url: &str) -> Reply {
    Reply::new(200)
        .json(serde_json::json!({"status": "Succeeded", "resourceLocation": url}).to_string())
}

fn assert_no_credentials(r: &Recorded) {
    for name in CREDENTIALS {
        assert!(
            !r.headers.contains_key(name),
            "{name} sent to {} {}",
            r.method,
            r.uri
        );
    }
    assert_eq!(
        r.query("subscription-key"),
        None,
        "key in the query of {}",
        r.uri
    );
    assert_eq!(r.header("x-custom"), Some("kept"));
    assert_eq!(r.query("api-version").as_deref(), Some("1"), "{}", r.uri);
}

fn assert_credentials(r: &Recorded) {
    for name in CREDENTIALS {
        assert!(r.headers.contains_key(name), "{name} missing on {}", r.uri);
    }
    assert_eq!(r.query("subscription-key").as_deref(), Some("secret"));
    assert_eq!(r.query("api-version").as_deref(), Some("1"));
}

/// The host a request was sent with is the target's, never the submission's `Host`.
fn assert_host(r: &Recorded, server: &MockServer) {
    assert_eq!(
        r.header("host"),
        Some(server.addr().to_string().as_str()),
        "{}",
        r.uri
    );
}

/// Submission on A; monitor on B; resource back on A. B sees no credentials (headers nor
/// query), and neither does the later fetch on A: stripping is cumulative.
#[tokio::test]
async fn credentials_never_reach_another_origin_and_stripping_is_cumulative() {
    let (a, b) = support::two_origins().await;
    b.sequence(
        Method::GET,
        "/ops/1",
        vec![
            Reply::new(200).json(RUNNING),
            succeeded_at(&a.url("/things/1")),
        ],
    );
    a.always(
        Method::GET,
        "/things/1",
        Reply::new(200).json("{\"name\":\"thing\"}"),
    );
    let response = send_secrets(support::maps_layer(), &a).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        support::body_bytes(response.into_body()).await,
        "{\"name\":\"thing\"}"
    );

    let on_a = a.requests();
    assert_eq!(on_a.len(), 2);
    assert_eq!(on_a[0].method, Method::POST);
    assert_credentials(&on_a[0]);
    assert_eq!(on_a[0].header("host"), Some("svc.example"));
    let polls = b.requests();
    assert_eq!(polls.len(), 2);
    for r in &polls {
        assert_no_credentials(r);
        assert_host(r, &b);
    }
    assert_eq!(on_a[1].path(), "/things/1");
    assert_no_credentials(&on_a[1]);
    assert_host(&on_a[1], &a);
}

/// The positive control: on the submission's own origin, polls and the fetch carry the
/// credentials (and the carried `subscription-key` query parameter), but not its `Host`.
#[tokio::test]
async fn credentials_stay_on_same_origin_polls() {
    let a = MockServer::start().await;
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", "/ops/1"),
    );
    a.always(
        Method::GET,
        "/ops/1",
        Reply::new(200).json(r#"{"status":"Succeeded","resourceLocation":"/things/1"}"#),
    );
    a.always(Method::GET, "/things/1", Reply::new(200).json("{}"));
    send_secrets(support::maps_layer(), &a).await;
    let seen = a.requests();
    assert_eq!(seen.len(), 3);
    for r in &seen[1..] {
        assert_credentials(r);
        assert_host(r, &a);
        assert!(!r.headers.contains_key("content-type"));
    }
}

/// `allow_origin` lets B receive credentials; nothing is stripped afterwards either.
#[tokio::test]
async fn allow_origin_lets_credentials_through() {
    let (a, b) = support::two_origins().await;
    b.always(Method::GET, "/ops/1", succeeded_at(&a.url("/things/1")));
    a.always(Method::GET, "/things/1", Reply::new(200).json("{}"));
    let layer = support::maps_layer().allow_origin(b.base().parse().unwrap());
    send_secrets(layer, &a).await;
    assert_credentials(&b.requests()[0]);
    assert_host(&b.requests()[0], &b);
    assert_credentials(&a.requests()[1]);
}

/// `Location` polling that hops A → B → A: the hop back to A carries no credentials.
#[tokio::test]
async fn location_hops_strip_credentials_cumulatively() {
    let a = MockServer::start().await;
    let b = MockServer::start().await;
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("location", "/op1"),
    );
    a.always(
        Method::GET,
        "/op1",
        Reply::new(202).header("location", &b.url("/op2")),
    );
    b.always(
        Method::GET,
        "/op2",
        Reply::new(202).header("location", &a.url("/op3")),
    );
    a.always(
        Method::GET,
        "/op3",
        Reply::new(200).json("{\"name\":\"done\"}"),
    );
    let response = send_secrets(support::maps_layer(), &a).await;
    assert_eq!(
        support::body_bytes(response.into_body()).await,
        "{\"name\":\"done\"}"
    );
    let on_a = a.requests();
    let paths: Vec<&str> = on_a.iter().map(Recorded::path).collect();
    assert_eq!(paths, ["/jobs", "/op1", "/op3"]);
    assert_credentials(&on_a[1]);
    assert_no_credentials(&b.requests()[0]);
    assert_no_credentials(&on_a[2]);
    for r in &on_a[1..] {
        assert_host(r, &a);
    }
}

/// A custom credential header (`credential_header`) is stripped like the built-in ones, and a
/// hop to a different port of the same host counts as another origin.
#[tokio::test]
async fn custom_credential_headers_are_stripped_too() {
    let (a, b) = support::two_origins().await;
    b.always(Method::GET, "/ops/1", Reply::new(200).json(SUCCEEDED));
    let client = lro_client(
        support::maps_layer().credential_header(http::HeaderName::from_static("x-api-key")),
    );
    let mut req = secret_submission(&a.url("/jobs?api-version=1"));
    req.headers_mut()
        .insert("x-api-key", HeaderValue::from_static("secret"));
    send(&client, req).await.unwrap();
    let poll = &b.requests()[0];
    assert!(!poll.headers.contains_key("x-api-key"));
    assert_no_credentials(poll);
}
