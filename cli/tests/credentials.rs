//! Credentials never reach lro's own stderr (error messages, notes, the resume hint, `-v`), and
//! `--no-wait --metadata` writes the metadata file.

mod support;

use support::{lro, now, resp, temp_dir, Mock};

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
