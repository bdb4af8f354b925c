//! A canceled operation is reported as canceled (message, `--metadata`, exit code 8), a failed
//! one as failed (exit code 3).

use crate::support::{lro, now, resp, temp_dir, Mock};
use serde_json::Value;

/// `/jobs/{word}`: an operation whose first poll answers `{"status": word}`.
async fn server() -> Mock {
    Mock::start(|req, base| {
        let path = req.target.split('?').next().unwrap();
        if let Some(word) = path.strip_prefix("/jobs/") {
            return resp(
                202,
                &[("operation-location", format!("{base}/ops/{word}")), now()],
                "",
            );
        }
        match path.strip_prefix("/ops/") {
            Some(word) => resp(200, &[], &format!(r#"{{"id":"1","status":"{word}"}}"#)),
            None => resp(404, &[], ""),
        }
    })
    .await
}

fn metadata(path: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_canceled_operation_exits_8_and_says_canceled() {
    let mock = server().await;
    let dir = temp_dir("canceled");
    for word in ["Canceled", "Cancelled", "CANCELLED"] {
        let meta = dir.join(format!("{word}.json"));
        let url = format!("{}/jobs/{word}", mock.base);
        let run = lro(&[
            "-s",
            "-X",
            "POST",
            "--metadata",
            meta.to_str().unwrap(),
            &url,
        ])
        .await;
        assert_eq!(run.code, 8, "{run:?}");
        assert!(
            run.stderr
                .starts_with("lro: long-running operation canceled: "),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("failed"), "{}", run.stderr);
        let m = metadata(&meta);
        assert_eq!(m["canceled"], true, "{m}");
        assert_eq!(m["meaning"], "canceled", "{m}");
        assert_eq!(m["status"], word, "{m}");
        assert_eq!(m["error"]["kind"], "OperationFailed", "{m}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_operation_still_exits_3_and_says_failed() {
    let mock = server().await;
    let dir = temp_dir("failed");
    let meta = dir.join("failed.json");
    let url = format!("{}/jobs/Failed", mock.base);
    let run = lro(&[
        "-s",
        "-X",
        "POST",
        "--metadata",
        meta.to_str().unwrap(),
        &url,
    ])
    .await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .starts_with("lro: long-running operation failed: "),
        "{}",
        run.stderr
    );
    let m = metadata(&meta);
    assert_eq!(m["canceled"], false, "{m}");
    assert_eq!(m["meaning"], "failed", "{m}");
    assert_eq!(m["status"], "Failed", "{m}");
}
