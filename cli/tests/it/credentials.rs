//! Credentials never reach lro's own stderr (error messages, notes, the resume hint, `-v`), and
//! `--no-wait --metadata` writes the metadata file.

use crate::support::{creds, lro, now, resp, temp_dir, Mock};

/// `/jobs`: an operation whose monitor URL carries a SAS signature; `/ops/1` answers `404`
/// (an unexpected poll status, whose error names the URL); `/loop`: an operation that runs
/// until the deadline.
async fn server() -> Mock {
    Mock::start(|req, base| match req.target.split('?').next().unwrap() {
        "/jobs" => resp(
            202,
            &[
                (
                    "operation-location",
                    format!("{base}/ops/1?sig=SIG-OP&se=1"),
                ),
                now(),
            ],
            "",
        ),
        "/loop" => resp(
            202,
            &[
                (
                    "operation-location",
                    format!("{base}/ops/2?sig=SIG-OP&se=1"),
                ),
                now(),
            ],
            "",
        ),
        "/ops/2" => resp(
            200,
            &[("retry-after", "30".to_owned())],
            r#"{"status":"Running"}"#,
        ),
        _ => resp(404, &[], r#"{"error":{"code":"NotFound","message":"no"}}"#),
    })
    .await
}

const SECRETS: [&str; 6] = ["SIG-OP", "KEY-1", "CODE-2", "PASS-3", "USER-4", "HDR-"];

fn assert_clean(stderr: &str) {
    for secret in SECRETS {
        assert!(!stderr.contains(secret), "{secret} printed:\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_mask_the_credentials_of_urls() {
    let mock = server().await;
    let base = mock.base.replace("http://", "http://USER-4:PASS-3@");
    let dir = temp_dir("credentials");

    // A protocol error (the poll answered 404): the library's message names the URL.
    let url = format!("{base}/jobs?key=KEY-1&code=CODE-2&password=PASS-3");
    let run = lro(&["-v", "-X", "POST", "--carry-query", "key", &url]).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert!(run.stderr.contains("sig=***"), "{}", run.stderr);
    assert_clean(&run.stderr);

    // --no-wait's note names the monitor.
    let meta = dir.join("meta.json");
    let run = lro(&[
        "--no-wait",
        "-X",
        "POST",
        "--metadata",
        meta.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("accepted; polling"), "{}", run.stderr);
    assert_clean(&run.stderr);

    // The library's timeout and the resume hint.
    let handle = dir.join("handle.json");
    let url = format!("{base}/loop?key=KEY-1");
    let run = lro(&[
        "-X",
        "POST",
        "--max-time",
        "0.5",
        "--save-handle",
        handle.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    assert_clean(&run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_masks_key_token_secret_and_password_headers() {
    let mock = server().await;
    let url = format!("{}/jobs", mock.base);
    let mut args = vec!["-v", "-X", "POST"];
    let headers = [
        "api-key: HDR-1",
        "X-Api-Key: HDR-2",
        "x-functions-key: HDR-3",
        "X-Auth-Token: HDR-4",
        "X-Client-Secret: HDR-5",
        "X-Password: HDR-6",
        "X-Goog-Api-Key: HDR-7",
    ];
    for h in &headers {
        args.extend(["-H", h]);
    }
    args.push(&url);
    let run = lro(&args).await;
    assert!(run.stderr.contains("> x-api-key: ***"), "{}", run.stderr);
    assert_clean(&run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wait_writes_the_metadata_file() {
    let mock = server().await;
    let dir = temp_dir("no-wait-metadata");
    let meta = dir.join("meta.json");
    let url = format!("{}/jobs", mock.base);
    let run = lro(&[
        "--no-wait",
        "-X",
        "POST",
        "--metadata",
        meta.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(record["lro"], true, "{record}");
    assert_eq!(record["httpStatus"], 202, "{record}");
    assert_eq!(record["polls"], 0, "{record}");
    assert_eq!(
        record["resume"]["operation_url"],
        run.json()["operation_url"],
        "{record}"
    );
}

/// Every name of the library's credential list (headers and query names, listed and made from
/// each pattern) and every origin-bound header reach the submission's origin and never the
/// other one: monitor, each redirect and the resource on a second loopback origin.
#[tokio::test(flavor = "multi_thread")]
async fn no_credential_reaches_another_origin() {
    let (a, b) = creds::origins().await;
    let headers = creds::header_lines();
    let carry = creds::carry_args();
    for flow in creds::flows() {
        let url = format!("{}{}?{}", a.base, flow.submit, creds::query());
        let mut args: Vec<&str> = vec!["-X", "POST"];
        for h in &headers {
            args.extend(["-H", h]);
        }
        args.extend(carry.iter().map(String::as_str));
        args.push(&url);
        let run = lro(&args).await;
        assert_eq!(run.code, 0, "{}: {run:?}", flow.submit);
    }
    creds::assert_flows(&a, &b, &[]);
}

/// The mode of a file the command wrote.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Handles (`--save-handle`, the default file) and `--metadata` files hold no credential value
/// (the caller's, or a `sig` the server put in the monitor URL) and are created mode `0600`.
#[tokio::test(flavor = "multi_thread")]
async fn handles_and_metadata_hold_no_credential_and_are_private() {
    let mock = server().await;
    let dir = temp_dir("private-files");
    let url = format!("{}/loop?key=KEY-1&code=CODE-2&api-version=1", mock.base);
    let (handle, meta) = (dir.join("handle.json"), dir.join("meta.json"));
    let run = lro(&[
        "-X",
        "POST",
        "-H",
        "X-Auth-Token: HDR-1",
        "--carry-query",
        "key",
        "--max-time",
        "0.5",
        "--save-handle",
        handle.to_str().unwrap(),
        "--metadata",
        meta.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    for path in [&handle, &meta] {
        let text = std::fs::read_to_string(path).unwrap();
        assert_clean(&text);
        assert_eq!(mode(path), 0o600, "{}", path.display());
    }
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&handle).unwrap()).unwrap();
    assert_eq!(
        saved["operation_url"],
        format!("{}/ops/2?se=1", mock.base),
        "the server's sig is dropped"
    );
    // --no-wait --metadata: the monitor URL masked, the handle without it.
    let run = lro(&[
        "--no-wait",
        "-X",
        "POST",
        "--metadata",
        meta.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let text = std::fs::read_to_string(&meta).unwrap();
    assert_clean(&text);
    assert_clean(&run.stdout);
    let record: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        record["operationUrl"],
        format!("{}/ops/2?sig=***&se=1", mock.base),
        "{record}"
    );
    // The default handle file (no --save-handle), in the command's directory.
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lro"))
        .args(["-X", "POST", "--max-time", "0.5", &url])
        .current_dir(&cwd)
        .stdin(std::process::Stdio::null())
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let written: Vec<_> = std::fs::read_dir(&cwd)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(mode(&written[0]), 0o600);
    assert_clean(&std::fs::read_to_string(&written[0]).unwrap());
}

/// `--no-wait -o FILE` writes a resume handle: created mode `0600` like every handle file,
/// whatever the umask lets other files be.
#[tokio::test(flavor = "multi_thread")]
async fn no_wait_output_file_is_private() {
    let mock = server().await;
    let dir = temp_dir("no-wait-output");
    let out = dir.join("handle.json");
    let url = format!("{}/loop?key=KEY-1&api-version=1", mock.base);
    let run = lro(&["--no-wait", "-X", "POST", "-o", out.to_str().unwrap(), &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mode(&out), 0o600);
    assert_clean(&std::fs::read_to_string(&out).unwrap());
}

/// A URL's `user:password@` is Basic authentication, as curl's, and is taken out of the URL:
/// the resume handle (which holds the URL) has no password; the proxy refuses it in
/// `--upstream`, where clients' handles would hold it.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_the_url_is_sent_as_basic_and_never_kept() {
    let mock = server().await;
    let url = mock
        .base
        .replacen("http://", "http://us%40er:PW-IN-URL@", 1);
    let run = lro(&["--no-wait", "-X", "POST", &format!("{url}/loop")]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("PW-IN-URL"), "{}", run.stdout);
    assert!(!run.stdout.contains("us%40er"), "{}", run.stdout);
    let seen = mock.requests();
    // "us@er:PW-IN-URL", base64.
    assert_eq!(
        seen[0].headers["authorization"],
        "Basic dXNAZXI6UFctSU4tVVJM"
    );
    let proxy = lro(&["proxy", "--listen", "127.0.0.1:0", "--upstream", &url]).await;
    assert_eq!(proxy.code, 2, "{proxy:?}");
    assert!(!proxy.stderr.contains("PW-IN-URL"), "{}", proxy.stderr);
}

/// `-L` after an operation reads the redirect where it came from: the resource on another
/// origin answered `302` to a URL back on the submission's origin, which that other origin
/// chose, so no credential goes there; a relative `Location` is read against the resource's
/// URL, as curl reads it.
#[tokio::test(flavor = "multi_thread")]
async fn location_after_a_foreign_resource_carries_no_credential() {
    let a = Mock::start(|req, _| match req.target.as_str() {
        "/admin" => resp(200, &[], r#"{"admin":1}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let admin = format!("{}/admin", a.base);
    let b = Mock::start(
        move |req, base| match req.target.split('?').next().unwrap() {
            "/st" => resp(
                200,
                &[],
                &format!(r#"{{"status":"Succeeded","resourceLocation":"{base}/res"}}"#),
            ),
            "/st2" => resp(
                200,
                &[],
                &format!(r#"{{"status":"Succeeded","resourceLocation":"{base}/res2"}}"#),
            ),
            "/res" => resp(302, &[("location", admin.clone())], ""),
            "/res2" => resp(307, &[("location", "/here".to_owned())], ""),
            "/here" => resp(200, &[], r#"{"here":1}"#),
            _ => resp(404, &[], ""),
        },
    )
    .await;
    let sub = Mock::start({
        let b = b.base.clone();
        move |req, _| {
            let st = if req.target.starts_with("/jobs2") {
                "st2"
            } else {
                "st"
            };
            resp(
                202,
                &[("operation-location", format!("{b}/{st}")), now()],
                "",
            )
        }
    })
    .await;
    let (base, headers) = (sub.base.clone(), ["-H", "X-Api-Key: KEY-1", "-u", "u:PW-1"]);
    let run = lro(&[
        &["-L", "-X", "POST"][..],
        &headers,
        &[&format!("{base}/jobs")],
    ]
    .concat())
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["admin"], 1);
    let seen = a.requests();
    assert_eq!(seen.len(), 1);
    for name in ["authorization", "x-api-key"] {
        assert!(
            seen[0].headers.get(name).is_none(),
            "{name}: {:?}",
            seen[0].headers
        );
    }
    // A relative Location is read against the resource that answered it.
    let run = lro(&[&["-L"][..], &headers, &[&format!("{base}/jobs2")]].concat()).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["here"], 1);
    assert_eq!(b.count("/here"), 1);
}

/// `-v` shows the head of every answer: a relative monitor URL a server signed
/// (`Operation-Location: /ops/1?sig=…`, `Location: …`) is masked like an absolute one, and so
/// are URLs of other schemes, scheme-relative ones and backslashed ones, wherever they are in a
/// value.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_heads_mask_relative_urls_too() {
    let mock = Mock::start(|req, _| match req.target.split('?').next().unwrap() {
        "/jobs" => resp(
            202,
            &[
                ("operation-location", "/ops/1?se=1&sig=SIG-REL".to_owned()),
                ("location", "ops/1?code=CODE-REL".to_owned()),
                ("x-link", "<sftp://u:SFTP-PW@h/x>; rel=next".to_owned()),
                ("x-mirror", "see ftp://u:FTP-PW@h/r?sig=FTP-SIG".to_owned()),
                ("x-next", "//u:SLASH-PW@h/x".to_owned()),
                ("x-back", "http:\\\\u:BACK-PW@h\\x".to_owned()),
                now(),
            ],
            "",
        ),
        _ => resp(200, &[], r#"{"status":"Succeeded"}"#),
    })
    .await;
    let run = lro(&["-v", "-X", "POST", &format!("{}/jobs", mock.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("< operation-location: /ops/1?se=1&sig=***"),
        "{}",
        run.stderr
    );
    for secret in [
        "SIG-REL", "CODE-REL", "SFTP-PW", "FTP-PW", "FTP-SIG", "SLASH-PW", "BACK-PW",
    ] {
        assert!(
            !run.stderr.contains(secret),
            "{secret} printed:\n{}",
            run.stderr
        );
    }
}
