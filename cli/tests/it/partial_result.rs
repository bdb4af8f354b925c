//! A declared `partial_result` through `lro proxy`: an OpenAI batch that expired, or was
//! cancelled, leaving the output of the requests that were done. The operation is recorded as
//! it ended, in every store (memory, a redb file, Redis): the façade's status document says
//! `Failed` or `Canceled` with the word, its partial result is still at `/result`, and the
//! metrics count it as failed or canceled, not as a success.
//! https://platform.openai.com/docs/guides/batch (batch expiration)

use http::StatusCode;
use serde_json::Value;

use crate::dialect_fixtures::fixture;
use crate::support::client::{accepted, json, send, until_terminal};
use crate::support::redis_server::RedisServer;
use crate::support::{proxy_on, resp, temp_dir, Mock};

/// The upstream: `/v{n}/batches` submits `batch_{n}`; 1 expires and 2 is cancelled, both
/// leaving `file-1`; 3 completes.
async fn openai() -> Mock {
    Mock::start(move |req, _| match (req.method.as_str(), req.target.as_str()) {
        ("POST", "/v1/batches") => resp(200, &[], r#"{"id":"batch_1","status":"validating"}"#),
        ("POST", "/v2/batches") => resp(200, &[], r#"{"id":"batch_2","status":"validating"}"#),
        ("POST", "/v3/batches") => resp(200, &[], r#"{"id":"batch_3","status":"validating"}"#),
        ("GET", "/v1/batches/batch_1") => resp(
            200,
            &[],
            r#"{"id":"batch_1","status":"expired","output_file_id":"file-1","error_file_id":null}"#,
        ),
        ("GET", "/v1/batches/batch_2") => resp(
            200,
            &[],
            r#"{"id":"batch_2","status":"cancelled","output_file_id":"file-1"}"#,
        ),
        ("GET", "/v1/batches/batch_3") => resp(
            200,
            &[],
            r#"{"id":"batch_3","status":"completed","output_file_id":"file-1"}"#,
        ),
        ("GET", "/v1/files/file-1/content") => resp(
            200,
            &[],
            r#"{"id":"batch_req_1","custom_id":"request-1","response":{"status_code":200}}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await
}

/// Submits `/v{n}/batches` through the façade; its status document once it ended (bounded:
/// 10 s), the headers of that answer, and the status URL.
async fn ended(base: &str, n: u8) -> (Value, http::HeaderMap, String) {
    let location = accepted(&format!("{base}/v{n}/batches"), &[]).await;
    let url = format!("{base}{location}");
    let (_, h, body) = until_terminal(&url).await;
    (json(&body), h, url)
}

/// The value of the series `line` starts with in a Prometheus text (0 when absent).
fn series(text: &str, line: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line)?.strip_prefix(' '))
        .map_or(0, |v| v.parse::<f64>().unwrap() as u64)
}

/// The header that marks a partial result.
const PARTIAL: &str = "lro-partial-result";

/// What the header says for a result left after `word` (none for a success).
fn partial_header(word: &str) -> Option<String> {
    let meaning = match word {
        "expired" => "failed",
        "cancelled" => "canceled",
        _ => return None,
    };
    Some(format!("{meaning}; status=\"{word}\""))
}

/// The three outcomes through a proxy with `store` (`--store …`, or nothing: in memory).
async fn partial_results_are_recorded_as_they_ended(store: &[&str]) {
    let mock = openai().await;
    let dialect = fixture("openai-batch");
    let mut args = vec!["--dialect", &dialect, "--poll-interval", "0.05"];
    args.extend_from_slice(store);
    let (_child, base, _log) = proxy_on("127.0.0.1:0", &mock.base, &args).await;
    let rows = [
        (1, "Failed", "expired"),
        (2, "Canceled", "cancelled"),
        (3, "Succeeded", ""),
    ];
    for (n, status, word) in rows {
        let (doc, h, url) = ended(&base, n).await;
        assert_eq!(doc["status"], status, "{store:?} batch {n}: {doc}");
        if !word.is_empty() {
            assert_eq!(doc["error"]["code"], word, "{store:?}: {doc}");
            assert!(doc.get("percentComplete").is_none(), "{doc}");
        } else {
            assert!(doc.get("error").is_none(), "{doc}");
        }
        // The result the operation left is still there, where the document says.
        let path = url.strip_prefix(&base).unwrap();
        assert_eq!(h["resource-location"], format!("{path}/result"), "{doc}");
        let (status, rh, result) = send("GET", &format!("{url}/result"), &[], "").await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&result)
        );
        assert_eq!(json(&result)["custom_id"], "request-1");
        // The answer says it is a partial result, not a success: the façade's result, a
        // waiting client's answer, and a repeated key's answer from the store alike.
        let said = partial_header(word);
        assert_eq!(
            rh.get(PARTIAL).map(|v| v.to_str().unwrap()),
            said.as_deref()
        );
        let key = format!("\"p-{}-{n}\"", store.len());
        let submit = format!("{base}/v{n}/batches");
        for _ in 0..2 {
            let (status, sh, body) =
                send("POST", &submit, &[("idempotency-key", &key)], "{}").await;
            assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
            assert_eq!(json(&body)["custom_id"], "request-1");
            assert_eq!(
                sh.get(PARTIAL).map(|v| v.to_str().unwrap()),
                said.as_deref(),
                "{store:?} batch {n}"
            );
        }
    }
    let (status, _, text) = send("GET", &format!("{base}/metrics"), &[], "").await;
    assert_eq!(status, StatusCode::OK);
    let text = String::from_utf8_lossy(&text);
    let finished = |outcome: &str| {
        let line = format!(r#"lro_operations_finished_total{{outcome="{outcome}"}}"#);
        series(&text, &line)
    };
    assert_eq!(
        (
            finished("succeeded"),
            finished("failed"),
            finished("canceled")
        ),
        // Each operation twice: through the façade, and once more under its key.
        (2, 2, 2),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_result_is_recorded_as_it_ended_in_memory() {
    partial_results_are_recorded_as_they_ended(&[]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_result_is_recorded_as_it_ended_in_a_file() {
    let dir = temp_dir("partial-result");
    let file = dir.join("ops.redb");
    partial_results_are_recorded_as_they_ended(&["--store", file.to_str().unwrap()]).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_result_is_recorded_as_it_ended_in_redis() {
    let redis = RedisServer::start();
    partial_results_are_recorded_as_they_ended(&["--store", &redis.url]).await;
}
