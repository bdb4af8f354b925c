//! The credential scope of an idempotency key (`lro proxy`): a MAC under a per-deployment
//! secret, not an unkeyed hash a dictionary undoes; the same for every proxy on one store (a
//! file store restarted, a Redis fleet started at once), so a retry on another proxy reattaches
//! to its operation; another secret, another scope; the secret kept private.
//!
//! The façade's operation id is the scoped key (`/_lro/operations/{scope}%3A{key}`): the
//! tests read the scope there, where a client (and whatever logs its URLs) sees it.

use std::time::Duration;

use crate::support::client::{accepted, json, send, until_terminal_with};
use crate::support::upstream::Upstream;
use crate::support::{proxy_on, scope_under, temp_dir, unkeyed_scope};
use http::StatusCode;

/// `user:hunter2`: a weak password, the case a dictionary reverses.
const BASIC: (&str, &str) = ("authorization", "Basic dXNlcjpodW50ZXIy");

/// `POST {base}/jobs/a` with `Prefer: respond-async`, key `k` and HTTP Basic credentials: the
/// operation id's scope (from the `202`'s `Operation-Location`) and the location.
async fn scope_of_basic(base: &str) -> (String, String) {
    let location = accepted(
        &format!("{base}/jobs/a"),
        &[("idempotency-key", "\"k\""), BASIC],
    )
    .await;
    let scope = location
        .strip_prefix("/_lro/operations/")
        .and_then(|id| id.strip_suffix("%3Ak"))
        .unwrap_or_else(|| panic!("not a scoped id: {location}"))
        .to_owned();
    assert!(scope.len() == 32 && scope.bytes().all(|b| b.is_ascii_hexdigit()));
    (scope, location)
}

/// The status document's word at `url`, asked with `headers` (the credential a takeover needs),
/// once it is terminal (bounded: 10 s).
async fn until_ended(url: &str, headers: &[(&str, &str)]) -> String {
    let (_, _, body) = until_terminal_with(url, headers).await;
    json(&body)["status"].as_str().unwrap().to_owned()
}

fn mode(path: &std::path::Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

/// The scope of a Basic credential is the MAC under `--scope-secret-file`'s secret, not the
/// SHA-256 of the credential (which anyone could recompute for each guessed password); another
/// secret gives another scope, and a secret too short to be one is refused at start-up.
#[tokio::test(flavor = "multi_thread")]
async fn a_basic_credentials_scope_is_a_mac_under_the_secret() {
    let up = Upstream::start().await;
    let dir = temp_dir("scope-mac");
    let (one, two, short) = (dir.join("one"), dir.join("two"), dir.join("short"));
    std::fs::write(&one, "the first secret, of 32 bytes or more\n").unwrap();
    std::fs::write(&two, "the second secret, 32 bytes or more\n").unwrap();
    std::fs::write(&short, "hunter2\n").unwrap();
    let with =
        |file: &std::path::Path| ["--scope-secret-file".to_owned(), file.display().to_string()];
    let args = with(&one);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_a, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (scope, _) = scope_of_basic(&base).await;
    assert_ne!(
        scope,
        unkeyed_scope(&[BASIC]),
        "an unkeyed SHA-256 of the credential"
    );
    assert_eq!(scope, scope_under(&std::fs::read(&one).unwrap(), &[BASIC]));

    let args = with(&two);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_b, other, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (scope_two, _) = scope_of_basic(&other).await;
    assert_ne!(scope_two, scope, "another secret, another scope");
    assert_eq!(
        scope_two,
        scope_under(&std::fs::read(&two).unwrap(), &[BASIC])
    );

    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &up.mock.base,
        ])
        .args(["--scope-secret-file", short.to_str().unwrap()])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the proxy stops at start-up")
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
}

/// A proxy on a file store makes the secret beside it (mode 0600), once; killed while its
/// operation runs, a proxy started on the same file reads it, computes the same scope and
/// reattaches to the operation: no second submission, and the operation ends there.
#[tokio::test(flavor = "multi_thread")]
async fn proxies_on_one_file_store_share_its_secret() {
    let up = Upstream::start().await;
    let dir = temp_dir("scope-file");
    let file = dir.join("ops.redb");
    let args = ["--store", file.to_str().unwrap(), "--store-lease", "1"];
    let (mut first, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (scope, location) = scope_of_basic(&base).await;
    let beside = dir.join("ops.redb.scope-secret");
    assert_eq!(mode(&beside), 0o600, "the secret is the owner's alone");
    assert_eq!(mode(&file), 0o600, "so are the records");
    let secret = std::fs::read(&beside).unwrap();
    assert_eq!(secret.len(), 65, "256 bits in hex and a newline");
    assert_eq!(scope, scope_under(&secret, &[BASIC]));
    assert_ne!(scope, unkeyed_scope(&[BASIC]));
    first.kill().await.unwrap();

    let (_second, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (again, again_at) = scope_of_basic(&base).await;
    assert_eq!((again, again_at.as_str()), (scope, location.as_str()));
    assert_eq!(
        up.mock.count("/jobs/a"),
        1,
        "reattached, not submitted again"
    );
    assert_eq!(std::fs::read(&beside).unwrap(), secret, "made once");
    up.finish();
    assert_eq!(
        until_ended(&format!("{base}{location}"), &[BASIC]).await,
        "Succeeded"
    );
    assert_eq!(up.mock.count("/jobs/a"), 1);
}

/// Two proxies that start at once on one Redis agree on the secret the first of them sets in
/// it: the second reattaches to the first's operation. A third with a secret of its own
/// scopes the same caller elsewhere, and submits anew.
#[tokio::test(flavor = "multi_thread")]
async fn proxies_on_one_redis_started_at_once_share_its_secret() {
    let redis = crate::support::redis_server::RedisServer::start();
    let up = Upstream::start().await;
    let args = ["--store", redis.url.as_str()];
    let ((_a, a, _la), (_b, b, _lb)) = tokio::join!(
        proxy_on("127.0.0.1:0", &up.mock.base, &args),
        proxy_on("127.0.0.1:0", &up.mock.base, &args),
    );
    let (scope, location) = scope_of_basic(&a).await;
    let (again, again_at) = scope_of_basic(&b).await;
    assert_eq!((&again, &again_at), (&scope, &location));
    assert_eq!(up.mock.count("/jobs/a"), 1, "the second proxy reattached");
    let store = tower_lro::store::RedisStore::connect(&redis.url)
        .await
        .unwrap();
    let secret = store.shared_value("scope-secret", b"").await.unwrap();
    assert_eq!(secret.len(), 65, "256 bits in hex and a newline");
    assert_eq!(scope, scope_under(&secret, &[BASIC]));
    assert_ne!(scope, unkeyed_scope(&[BASIC]));

    let dir = temp_dir("scope-redis");
    let own = dir.join("secret");
    std::fs::write(&own, "a secret of this proxy's own, 32 bytes\n").unwrap();
    let args = [
        "--store",
        redis.url.as_str(),
        "--scope-secret-file",
        own.to_str().unwrap(),
    ];
    let (_c, c, _lc) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let (elsewhere, _) = scope_of_basic(&c).await;
    assert_ne!(elsewhere, scope, "another secret, another scope");
    assert_eq!(up.mock.count("/jobs/a"), 2);
    up.finish();
    assert_eq!(
        until_ended(&format!("{b}{location}"), &[BASIC]).await,
        "Succeeded"
    );
}

/// Two callers who authenticate with a query parameter (Azure Functions' `?code=`), told apart
/// by nothing else, pick the same key: each gets an operation of its own. The scope was the
/// MAC of the credential *headers* only, so both keys were the same store key (the scope of
/// nobody): the second caller was refused `422` for the first one's request, through the
/// façade and synchronously alike, and learned that key was in use on that path.
#[tokio::test(flavor = "multi_thread")]
async fn callers_told_apart_by_a_query_credential_do_not_share_a_key() {
    let up = Upstream::start().await;
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &[]).await;
    let submit = |code: &'static str, prefer: bool| {
        let url = format!("{base}/jobs/a?api-version=1&code={code}");
        async move {
            let mut headers = vec![("idempotency-key", "\"k\"")];
            if prefer {
                headers.push(("prefer", "respond-async"));
            }
            send("POST", &url, &headers, "{}").await
        }
    };
    let (status, a, _) = submit("first-callers-code", true).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, b, body) = submit("second-callers-code", true).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (a, b) = (&a["operation-location"], &b["operation-location"]);
    assert_ne!(a, b, "two callers, two operations");
    assert_eq!(up.mock.count("/jobs/a"), 2);
    up.finish();
    for location in [a, b] {
        let url = format!("{base}{}", location.to_str().unwrap());
        assert_eq!(until_ended(&url, &[]).await, "Succeeded");
    }
    // Waiting for the answer: a third caller's own operation, not the first one's `422`.
    let (status, _, body) = submit("third-callers-code", false).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(up.mock.count("/jobs/a"), 3);
}

/// A keyed request's body is in its record's fingerprint by its MAC under the scope's secret,
/// not by an unkeyed hash: a body of known structure with a secret in it (`{"pin":"4321"}`)
/// cannot be tested guess by guess against the store by whoever reads it. The fingerprint was
/// FNV-1a over the method, the URL and the FNV-1a of the body, which anyone recomputes. Through
/// the façade and synchronously alike; the same request after a restart (the same secret) is
/// still the same request, and another body under the key is still refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_keyed_bodys_fingerprint_is_a_mac_under_the_secret() {
    let up = Upstream::start().await;
    up.finish();
    let dir = temp_dir("body-mac");
    let file = dir.join("ops.redb");
    let args = ["--store", file.to_str().unwrap()];
    let body = r#"{"pin":"4321"}"#;
    let (mut proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let facade = [("prefer", "respond-async"), ("idempotency-key", "\"f\"")];
    let (status, h, _) = send("POST", &format!("{base}/jobs/a"), &facade, body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let location = h["operation-location"].to_str().unwrap();
    assert_eq!(
        until_ended(&format!("{base}{location}"), &[]).await,
        "Succeeded"
    );
    let waiting = [("idempotency-key", "\"s\"")];
    let sync = send("POST", &format!("{base}/jobs/b"), &waiting, body).await;
    assert_eq!(sync.0, StatusCode::OK);
    proxy.kill().await.unwrap();
    proxy.wait().await.unwrap();

    let secret = std::fs::read(dir.join("ops.redb.scope-secret")).unwrap();
    let scope = scope_under(&secret, &[]);
    {
        let store = tower_lro::store::RedbStore::open(&file).unwrap();
        for (key, path) in [("f", "/jobs/a"), ("s", "/jobs/b")] {
            let record = tower_lro::store::OperationStore::load(&store, &format!("{scope}:{key}"))
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("no record under {key}"));
            let uri: http::Uri = format!("{}{path}", up.mock.base).parse().unwrap();
            assert!(
                !record.made_by(&http::Method::POST, &uri, Some(body.as_bytes())),
                "the record under {key} holds the unkeyed digest of the body"
            );
        }
    }

    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &up.mock.base, &args).await;
    let again = send("POST", &format!("{base}/jobs/b"), &waiting, body).await;
    assert_eq!((again.0, &again.2), (sync.0, &sync.2), "the same request");
    assert_eq!(up.mock.count("/jobs/b"), 1);
    let other = r#"{"pin":"0000"}"#;
    let (status, _, answer) = send("POST", &format!("{base}/jobs/b"), &waiting, other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(&answer)["error"]["code"], "IdempotencyKeyReused");
    assert_eq!(up.mock.count("/jobs/b"), 1);
}
