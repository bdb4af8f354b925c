//! Spec §7 over real sockets: every name of the library's credential list (headers and query
//! parameters, listed names and pattern examples) and every origin-bound header reaches the
//! submission's origin and never a second loopback origin, whether that origin is the status
//! monitor, a redirect's target (each of `301`, `302`, `303`, `307`, `308`) or the resource.

use http::{HeaderName, HeaderValue, Method};
use tower_lro::credentials::{self, ORIGIN_BOUND_HEADERS, PATTERNS};
use tower_lro::{LroLayer, Origin};

use crate::support::*;

/// Every credential header to send: the list, and a name made from each pattern.
fn credential_headers() -> Vec<String> {
    let mut names: Vec<String> = credentials::HEADERS.iter().map(|s| s.to_string()).collect();
    names.extend(PATTERNS.iter().map(|p| format!("x-my-{p}-1")));
    for name in &names {
        assert!(credentials::is_credential_header(name), "{name}");
    }
    names
}

/// Every credential query name to carry: the list, and a name made from each pattern.
fn credential_query() -> Vec<String> {
    let mut names: Vec<String> = credentials::QUERY.iter().map(|s| s.to_string()).collect();
    names.extend(PATTERNS.iter().map(|p| format!("my_{p}_1")));
    for name in &names {
        assert!(credentials::is_credential_query(name), "{name}");
    }
    names
}

/// The secret value sent for a name: every one is unique and contains `CRED-`.
fn secret(kind: char, i: usize) -> String {
    format!("CRED-{kind}{i}")
}

/// The layer carries every credential query name (and `api-version`) onto its polls.
fn layer() -> LroLayer {
    fast_layer().carry_query_params(
        credential_query()
            .into_iter()
            .chain(["api-version".to_owned()]),
    )
}

/// A `POST` to `url` carrying every credential (headers and query), the origin-bound headers
/// and two harmless ones that go everywhere (`x-plain`, `api-version`).
fn submission_to(url: &str) -> http::Request<http_body_util::Full<bytes::Bytes>> {
    let mut query = vec!["api-version=1".to_owned()];
    for (i, name) in credential_query().iter().enumerate() {
        query.push(format!("{name}={}", secret('Q', i)));
    }
    let mut req = post(&format!("{url}?{}", query.join("&")), "{}");
    let headers = req.headers_mut();
    for (i, name) in credential_headers().iter().enumerate() {
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(&secret('H', i)).unwrap(),
        );
    }
    for (i, name) in ORIGIN_BOUND_HEADERS.iter().enumerate() {
        headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_str(&secret('M', i)).unwrap(),
        );
    }
    headers.insert("x-plain", HeaderValue::from_static("plain"));
    req
}

/// A request the submission's origin received carries every credential and origin-bound header
/// and every carried credential query parameter, with its value.
fn assert_all_credentials(r: &Recorded) {
    for (i, name) in credential_headers().iter().enumerate() {
        assert_eq!(
            r.header(name),
            Some(&*secret('H', i)),
            "{name} on {}",
            r.uri
        );
    }
    for (i, name) in ORIGIN_BOUND_HEADERS.iter().enumerate() {
        assert_eq!(
            r.header(name),
            Some(&*secret('M', i)),
            "{name} on {}",
            r.uri
        );
    }
    for (i, name) in credential_query().iter().enumerate() {
        assert_eq!(r.query(name), Some(secret('Q', i)), "{name} on {}", r.uri);
    }
}

/// A request another origin received: no credential value anywhere (headers, target), no
/// origin-bound header; the harmless header and `api-version` still came.
fn assert_no_credentials(r: &Recorded, bound_only: bool) {
    for (name, value) in &r.headers {
        let value = value.to_str().unwrap_or("");
        let leaked = match bound_only {
            false => value.contains("CRED-"),
            true => value.contains("CRED-M"),
        };
        assert!(!leaked, "{name}: {value} reached {}", r.uri);
    }
    if !bound_only {
        assert!(!r.uri.to_string().contains("CRED-"), "{}", r.uri);
    }
    assert_eq!(r.header("x-plain"), Some("plain"), "{}", r.uri);
    assert_eq!(r.query("api-version").as_deref(), Some("1"), "{}", r.uri);
}

/// The monitor is on the second origin: it gets no credential; a monitor on the submission's
/// own origin gets them all.
#[tokio::test]
async fn status_monitor_on_another_origin_gets_no_credential() {
    let (a, b) = (MockServer::start().await, MockServer::start().await);
    let client = lro_client(layer());
    for (path, monitor) in [("/jobs-a", a.url("/ops/a")), ("/jobs-b", b.url("/ops/b"))] {
        a.always(
            Method::POST,
            path,
            Reply::new(202).header("operation-location", &monitor),
        );
    }
    for server in [&a, &b] {
        for path in ["/ops/a", "/ops/b"] {
            server.always(Method::GET, path, Reply::new(200).json(SUCCEEDED));
        }
    }
    for path in ["/jobs-a", "/jobs-b"] {
        let res = send(&client, submission_to(&a.url(path))).await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
    }
    let own = a.requests_to("/ops/a");
    assert_eq!(own.len(), 1);
    assert_all_credentials(&own[0]);
    let other = b.requests_to("/ops/b");
    assert_eq!(other.len(), 1);
    assert_no_credentials(&other[0], false);
}

/// A same-origin monitor answers each redirect status with a `Location` on the second origin:
/// the monitor got every credential, the redirect's target none.
#[tokio::test]
async fn redirects_to_another_origin_get_no_credential() {
    let (a, b) = (MockServer::start().await, MockServer::start().await);
    let client = lro_client(layer());
    for code in [301u16, 302, 303, 307, 308] {
        let (ops, moved) = (format!("/ops/{code}"), format!("/moved/{code}"));
        a.always(
            Method::POST,
            &format!("/jobs/{code}"),
            Reply::new(202).header("operation-location", &a.url(&ops)),
        );
        a.always(
            Method::GET,
            &ops,
            Reply::new(code).header("location", &b.url(&moved)),
        );
        // 301/307/308: the monitor moved (a status document); 302/303: the result.
        b.always(Method::GET, &moved, Reply::new(200).json(SUCCEEDED));
        let res = send(&client, submission_to(&a.url(&format!("/jobs/{code}"))))
            .await
            .unwrap();
        assert!(res.status().is_success(), "{code}: {}", res.status());
        let own = a.requests_to(&ops);
        assert_eq!(own.len(), 1, "{code}");
        assert_all_credentials(&own[0]);
        let other = b.requests_to(&moved);
        assert!(!other.is_empty(), "{code}: the target was not asked");
        for r in &other {
            assert_no_credentials(r, false);
        }
    }
}

/// The resource is on the second origin: the monitor (same origin) got every credential, the
/// resource fetch none.
#[tokio::test]
async fn resource_on_another_origin_gets_no_credential() {
    let (a, b) = (MockServer::start().await, MockServer::start().await);
    let client = lro_client(layer());
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &a.url("/ops/1")),
    );
    let doc = format!(
        r#"{{"status":"Succeeded","resourceLocation":"{}"}}"#,
        b.url("/things/1")
    );
    a.always(Method::GET, "/ops/1", Reply::new(200).json(doc));
    b.always(Method::GET, "/things/1", Reply::new(200).json("{}"));
    let res = send(&client, submission_to(&a.url("/jobs"))).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_all_credentials(&a.requests_to("/ops/1")[0]);
    let other = b.requests_to("/things/1");
    assert_eq!(other.len(), 1);
    assert_no_credentials(&other[0], false);
}

/// An allowed origin receives the credentials (the caller's choice), but never the
/// origin-bound headers (`Metadata`, `Metadata-Flavor`, ...).
#[tokio::test]
async fn an_allowed_origin_gets_credentials_but_no_origin_bound_header() {
    let (a, b) = (MockServer::start().await, MockServer::start().await);
    let client = lro_client(layer().allow_origin(Origin::parse(&b.base()).unwrap()));
    a.always(
        Method::POST,
        "/jobs",
        Reply::new(202).header("operation-location", &b.url("/ops/1")),
    );
    b.always(Method::GET, "/ops/1", Reply::new(200).json(SUCCEEDED));
    let res = send(&client, submission_to(&a.url("/jobs"))).await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let other = b.requests_to("/ops/1");
    assert_eq!(other.len(), 1);
    assert_no_credentials(&other[0], true);
    for (i, name) in credential_headers().iter().enumerate() {
        assert_eq!(other[0].header(name), Some(&*secret('H', i)), "{name}");
    }
    for name in ORIGIN_BOUND_HEADERS {
        assert_eq!(other[0].header(name), None, "{name}");
    }
}

/// An `on_poll_request` hook that adds a credential of its own asks `LroRequest` whether the
/// layer withholds the caller's: the monitor on the second origin, and the result on the
/// submission's origin that the second origin named (withholding is cumulative), get no token;
/// a monitor and result on the submission's origin get it.
#[tokio::test]
async fn a_hook_sees_which_requests_go_without_credentials() {
    let (a, b) = (MockServer::start().await, MockServer::start().await);
    let hook = |req: &mut http::Request<()>| {
        let info = req.extensions().get::<tower_lro::LroRequest>().copied();
        if info.is_some_and(|i| !i.credentials_withheld()) {
            req.headers_mut()
                .insert("x-hook-token", HeaderValue::from_static("t"));
        }
    };
    let client = lro_client(fast_layer().on_poll_request(hook));
    for (name, monitor) in [("own", a.url("/ops/own")), ("other", b.url("/ops/other"))] {
        a.always(
            Method::POST,
            &format!("/jobs/{name}"),
            Reply::new(202).header("operation-location", &monitor),
        );
        a.always(
            Method::GET,
            &format!("/res/{name}"),
            Reply::new(200).json("{}"),
        );
    }
    a.always(
        Method::GET,
        "/ops/own",
        Reply::new(200)
            .json(SUCCEEDED)
            .header("resource-location", &a.url("/res/own")),
    );
    b.always(
        Method::GET,
        "/ops/other",
        Reply::new(200)
            .json(SUCCEEDED)
            .header("resource-location", &a.url("/res/other")),
    );
    for name in ["own", "other"] {
        let res = send(&client, post(&a.url(&format!("/jobs/{name}")), "{}"))
            .await
            .unwrap();
        assert!(res.status().is_success(), "{name}: {}", res.status());
    }
    let token = |r: &Recorded| r.header("x-hook-token").is_some();
    let asked = |s: &MockServer, path: &str| {
        let got = s.requests_to(path);
        assert_eq!(got.len(), 1, "{path}");
        token(&got[0])
    };
    assert!(asked(&a, "/ops/own"));
    assert!(asked(&a, "/res/own"));
    assert!(!asked(&b, "/ops/other"));
    assert!(!asked(&a, "/res/other"));
}
