//! A result larger than the status body limit (1 MiB) behind `202` + `Location`: the monitor's
//! `200` is the result itself. It failed the operation (exit 5, `502` through the proxy,
//! "answered 200 OK with a body over the 1048576-byte limit"); it is now fetched again and
//! streamed unread, to `-o`, to stdout and through the proxy.

use crate::support::client::send;
use crate::support::{lro, proxy_on, resp, temp_dir, Mock};

/// 3 MiB of CSV, each line numbered (a cut or a mix-up shows).
fn export() -> String {
    (0..100_000)
        .map(|n| format!("{n:09},row{n:010}\n"))
        .collect()
}

/// `POST /exports` answers `202` with `Location: /exports/1`, which answers `200` with the
/// export at once.
async fn upstream() -> Mock {
    let body = export();
    Mock::start(
        move |req, base| match (req.method.as_str(), req.target.as_str()) {
            ("POST", "/exports") => resp(
                202,
                &[
                    ("location", format!("{base}/exports/1")),
                    ("retry-after", "0".to_owned()),
                ],
                "",
            ),
            ("GET", "/exports/1") => resp(200, &[("content-type", "text/csv".to_owned())], &body),
            _ => resp(404, &[], ""),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_over_the_status_limit_reaches_the_output_file_and_stdout() {
    let mock = upstream().await;
    let url = format!("{}/exports", mock.base);
    let out = temp_dir("large-result").join("export.csv");
    let out_arg = out.to_str().unwrap();
    let meta = temp_dir("large-result-meta").join("meta.json");
    let meta_arg = meta.to_str().unwrap();
    let run = lro(&[
        "-s",
        "-X",
        "POST",
        "-o",
        out_arg,
        "--metadata",
        meta_arg,
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), export());
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(meta["rule"], "Location", "{meta}");

    let run = lro(&["-s", "-X", "POST", &url]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout == export(), "stdout: {} bytes", run.stdout.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_over_the_status_limit_passes_through_the_proxy() {
    let mock = upstream().await;
    let (_proxy, base, _log) = proxy_on("127.0.0.1:0", &mock.base, &[]).await;
    let (status, _, body) = send("POST", &format!("{base}/exports"), &[], "").await;
    assert_eq!(
        status,
        http::StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&body[..200.min(body.len())])
    );
    assert!(body == export().as_bytes(), "{} bytes", body.len());
}
