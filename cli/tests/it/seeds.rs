//! The seed shapes (Azure Maps Creator LRO API V1 and V2) through the `lro` binary.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::support::{lro, now, quoted, resp, temp_dir, Mock};
use serde_json::Value;

const FAILED: &str = r#"{"operationId":"op-1","createdDateTime":"3/11/2020 8:45:13 PM +00:00","status":"Failed",
  "error":{"code":"InvalidFeature","message":"The provided feature is invalid.",
  "details":{"code":"NoGeometry","message":"No geometry was provided with the feature."}}}"#;

/// V1: 202 + Location; `200 {"status":"Running"}`; then `201 Created` + Location, or `200`.
async fn v1(with_resource: bool) -> Mock {
    let polls = Arc::new(AtomicU32::new(0));
    Mock::start(move |req, base| match (req.method.as_str(), req.target.split('?').next().unwrap()) {
        ("POST", "/tilesets") => resp(202, &[("location", quoted(format!("{base}/operations/op-1"))), now()], ""),
        ("GET", "/operations/op-1") if polls.fetch_add(1, Ordering::SeqCst) == 0 => resp(
            200,
            &[now()],
            r#"{"operationId":"op-1","createdDateTime":"3/11/2020 8:45:13 PM +00:00","status":"Running"}"#,
        ),
        ("GET", "/operations/op-1") if with_resource => resp(
            201,
            &[("location", quoted(format!("{base}/tileset/t-1")))],
            &format!(r#"{{"operationId":"op-1","status":"Succeeded","resourceLocation":"{base}/tileset/t-1"}}"#),
        ),
        ("GET", "/operations/op-1") => resp(200, &[], r#"{"operationId":"op-1","status":"Succeeded"}"#),
        ("GET", "/tileset/t-1") => resp(200, &[], r#"{"tilesetId":"t-1"}"#),
        _ => resp(404, &[], ""),
    })
    .await
}

/// V2: 202 + Operation-Location; `{"status":"Succeeded"}` + Resource-Location, or Failed.
async fn v2(outcome: &'static str) -> Mock {
    let polls = Arc::new(AtomicU32::new(0));
    Mock::start(move |req, base| {
        match (req.method.as_str(), req.target.split('?').next().unwrap()) {
            ("POST", "/mapData") => resp(
                202,
                &[
                    (
                        "operation-location",
                        format!("{base}/mapData/operations/op-2"),
                    ),
                    now(),
                ],
                "",
            ),
            ("GET", "/mapData/operations/op-2") if polls.fetch_add(1, Ordering::SeqCst) == 0 => {
                resp(
                    200,
                    &[now()],
                    r#"{"operationId":"op-2","created":"2021-05-06T07:55:19Z","status":"Running"}"#,
                )
            }
            ("GET", "/mapData/operations/op-2") => match outcome {
                "resource" => resp(
                    200,
                    &[(
                        "resource-location",
                        quoted(format!("{base}/mapData/metadata/m-1")),
                    )],
                    r#"{"operationId":"op-2","status":"Succeeded"}"#,
                ),
                "failed" => resp(200, &[], FAILED),
                _ => resp(200, &[], r#"{"operationId":"op-2","status":"Succeeded"}"#),
            },
            ("GET", "/mapData/metadata/m-1") => resp(200, &[], r#"{"udid":"m-1"}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_success_fetches_the_created_resource() {
    let mock = v1(true).await;
    let dir = temp_dir("v1-resource");
    let meta = dir.join("meta.json");
    let url = format!("{}/tilesets?api-version=2.0", mock.base);
    let run = lro(&["-X", "POST", &url, "--metadata", meta.to_str().unwrap()]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["tilesetId"], "t-1");
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    assert_eq!(meta["lro"], true);
    assert_eq!(meta["status"], "Succeeded");
    assert_eq!(meta["rule"], "Location");
    assert_eq!(meta["polls"], 2);
    assert_eq!(meta["httpStatus"], 200);
    // api-version is carried onto every poll.
    let polls: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.target.starts_with("/operations"))
        .collect();
    assert!(
        polls.iter().all(|r| r.target.contains("api-version=2.0")),
        "{polls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_success_without_a_resource_prints_the_status_body() {
    let mock = v1(false).await;
    let run = lro(&["-X", "POST", &format!("{}/tilesets", mock.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "Succeeded");
    assert_eq!(mock.count("/tileset/t-1"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_success_fetches_the_resource_location() {
    let mock = v2("resource").await;
    let url = format!("{}/mapData?api-version=2.0&dataFormat=zip", mock.base);
    let run = lro(&["-d", "...a zipped package...", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["udid"], "m-1");
    let submission = &mock.requests()[0];
    assert_eq!(submission.method, "POST", "-d implies POST");
    assert_eq!(submission.body, "...a zipped package...");
}

#[tokio::test(flavor = "multi_thread")]
async fn v2_success_without_a_resource_prints_the_status_body() {
    let mock = v2("plain").await;
    let run = lro(&["-X", "POST", &format!("{}/mapData", mock.base)]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["status"], "Succeeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_operation_exits_3_with_the_odata_code_on_stderr() {
    let mock = v2("failed").await;
    let dir = temp_dir("v2-failed");
    let meta = dir.join("meta.json");
    let url = format!("{}/mapData", mock.base);
    let run = lro(&["-X", "POST", &url, "--metadata", meta.to_str().unwrap()]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("InvalidFeature"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(meta).unwrap()).unwrap();
    assert_eq!(meta["error"]["kind"], "OperationFailed");
    assert_eq!(meta["error"]["code"], "InvalidFeature");
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_failure_exits_3_too() {
    let mock = Mock::start(|req, base| match req.target.as_str() {
        "/tilesets" => resp(
            202,
            &[
                ("location", quoted(format!("{base}/operations/op-1"))),
                now(),
            ],
            "",
        ),
        _ => resp(200, &[], FAILED),
    })
    .await;
    let run = lro(&["-X", "POST", &format!("{}/tilesets", mock.base), "-s"]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("InvalidFeature"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_submission_is_printed_and_exits_3() {
    let mock = Mock::start(|_, _| {
        resp(
            400,
            &[],
            r#"{"error":{"code":"BadRequest","message":"no"}}"#,
        )
    })
    .await;
    let run = lro(&["-X", "POST", &format!("{}/mapData", mock.base)]).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert_eq!(run.json()["error"]["code"], "BadRequest");
}
