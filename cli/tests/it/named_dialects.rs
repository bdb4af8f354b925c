//! The named dialects of the open standards over real sockets through `lro --dialect NAME`:
//! every case of `tests/fixtures/dialects/{fhir,ogc-processes}-named-cases.json` (each citing
//! the part of its standard it follows) replayed by a mock on `127.0.0.1:0`, answer by answer,
//! with the requests, the `Prefer` the submission carried, the exit code, the final body and
//! the progress `lro -v` printed checked. The core drives the same cases
//! (`src/proto/tests/named_dialects_tests.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::support::{lro, resp, Mock};
use serde_json::Value;

fn cases(name: &str) -> Vec<Value> {
    let path = format!(
        "{}/../tests/fixtures/dialects/{name}-named-cases.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(doc["dialect"], name);
    let cases = doc["cases"].as_array().unwrap().clone();
    assert!(!cases.is_empty(), "{name}: no cases to replay");
    cases
}

fn body(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A mock answering the case's answers in order (with `Retry-After: 0` unless the answer has
/// one: the waits are the core's to test).
async fn replay(case: &Value) -> Mock {
    let answers = case["answers"].as_array().unwrap().clone();
    let next = Arc::new(AtomicUsize::new(0));
    Mock::start(move |_, _| {
        let Some(answer) = answers.get(next.fetch_add(1, Ordering::SeqCst)) else {
            return resp(599, &[], "the script ran out");
        };
        let mut headers: Vec<(&str, String)> = answer["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap().to_owned()))
            .collect();
        if !headers.iter().any(|(k, _)| *k == "retry-after") {
            headers.push(("retry-after", "0".to_owned()));
        }
        let status = answer["status"].as_u64().unwrap() as u16;
        resp(status, &headers, &body(&answer["body"]))
    })
    .await
}

/// Replays the cases of the standard `dialect` with `lro --dialect ARG` (its name, or `@FILE`).
async fn check(dialect: &str, arg: &str) {
    for case in cases(dialect) {
        let name = case["name"].as_str().unwrap();
        let mock = replay(&case).await;
        let request = &case["request"];
        let url = format!("{}{}", mock.base, request["path"].as_str().unwrap());
        let mut args = vec![
            "-v".to_owned(),
            "--dialect".to_owned(),
            arg.to_owned(),
            "-X".to_owned(),
            request["method"].as_str().unwrap().to_owned(),
        ];
        for (k, v) in request["headers"].as_object().into_iter().flatten() {
            args.extend(["-H".to_owned(), format!("{k}: {}", v.as_str().unwrap())]);
        }
        if !request["body"].is_null() {
            args.extend(["-d".to_owned(), body(&request["body"])]);
        }
        args.push(url);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = lro(&args).await;

        // Every answer was asked for, by the request the case says.
        let seen = mock.requests();
        let answers = case["answers"].as_array().unwrap();
        let asked: Vec<String> = seen
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect();
        let scripted: Vec<&str> = answers.iter().map(|a| a["to"].as_str().unwrap()).collect();
        assert_eq!(asked, scripted, "{name}: {run:?}");
        let expect = &case["expect"];
        let prefer = seen[0].headers.get("prefer").map(|v| v.to_str().unwrap());
        if let Some(want) = expect["prefer"].as_str() {
            assert_eq!(prefer, Some(want), "{name}");
        }
        // Polls never carry `Prefer`.
        assert!(
            seen[1..].iter().all(|r| !r.headers.contains_key("prefer")),
            "{name}"
        );

        let code = match expect["outcome"].as_str().unwrap() {
            "succeeded" => 0,
            "failed" => 3,
            "canceled" => 8,
            // An unexpected status breaks the protocol.
            "unexpected-status" => 5,
            other => panic!("{name}: outcome {other}"),
        };
        assert_eq!(run.code, code, "{name}: {run:?}");
        if code == 0 {
            let last = answers.last().unwrap();
            assert_eq!(run.stdout, body(&last["body"]), "{name}");
        }
        if let Some(message) = expect["message"].as_str() {
            assert!(run.stderr.contains(message), "{name}: {}", run.stderr);
        }
        for text in expect["progress_text"].as_array().into_iter().flatten() {
            let shown = format!("\"{}\"", text.as_str().unwrap());
            assert!(
                run.stderr.contains(&shown),
                "{name}: {shown} in {}",
                run.stderr
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fhir_named_cases_over_sockets() {
    check("fhir", "fhir").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ogc_processes_named_cases_over_sockets() {
    check("ogc-processes", "ogc-processes").await;
}

/// A user's copy of a standard's description, given as `@FILE`, is a declared dialect that
/// behaves as the named one: every case again, `Prefer: respond-async` included (its
/// `prefer_async` says where to ask).
#[tokio::test(flavor = "multi_thread")]
async fn a_copy_of_each_standard_as_a_file_replays_its_cases() {
    let dir = crate::support::temp_dir("standard-copies");
    for name in ["fhir", "ogc-processes"] {
        let source = format!(
            "{}/../src/proto/dialect/standards/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let copy = dir.join(format!("my-{name}.json"));
        std::fs::copy(source, &copy).unwrap();
        check(name, &format!("@{}", copy.display())).await;
    }
}

/// `X-Progress` is the server's text: `lro -v` escapes it (a header holds no ESC, but a tab)
/// and cuts it.
#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_progress_text_is_escaped_and_bounded() {
    let polls = Arc::new(AtomicUsize::new(0));
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/$export" => resp(202, &[("content-location", format!("{base}/s/1"))], ""),
        "/s/1" if polls.fetch_add(1, Ordering::SeqCst) == 0 => resp(
            202,
            &[
                ("retry-after", "0".into()),
                ("x-progress", format!("step\t1 {}", "x".repeat(5000))),
            ],
            "",
        ),
        "/s/1" => resp(200, &[], r#"{"output":[]}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let url = format!("{}/$export", mock.base);
    let run = lro(&["-v", "--dialect", "fhir", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stderr.contains('\t'), "{}", run.stderr);
    assert!(run.stderr.contains("\"step\\t1 xxx"), "{}", run.stderr);
    assert!(!run.stderr.contains(&"x".repeat(1000)), "{}", run.stderr);
}

/// `--no-wait` then `--resume`: the handle names the standard (`"dialect": "ogc-processes"`)
/// and the resumed run reads the job in it, to its results.
#[tokio::test(flavor = "multi_thread")]
async fn a_handle_names_the_standard_and_resumes_in_it() {
    let mock = Mock::start(|req, _| match req.target.as_str() {
        "/processes/p/execution" => resp(201, &[("location", "/jobs/7".into())], ""),
        "/jobs/7" => resp(200, &[], r#"{"jobID":"7","status":"successful"}"#),
        "/jobs/7/results" => resp(200, &[], r#"{"out":7}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let url = format!("{}/processes/p/execution", mock.base);
    let run = lro(&[
        "-X",
        "POST",
        "--no-wait",
        "--dialect",
        "ogc-processes",
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["dialect"], "ogc-processes");
    let dir = crate::support::temp_dir("named-resume");
    let file = dir.join("handle.json");
    std::fs::write(&file, &run.stdout).unwrap();
    let resumed = lro(&["--resume", file.to_str().unwrap()]).await;
    assert_eq!(resumed.code, 0, "{resumed:?}");
    assert_eq!(resumed.stdout, r#"{"out":7}"#);
    assert_eq!(mock.count("/processes/p/execution"), 1);
}

/// `--dialect ogc-processes` is named where the CLI reports: `--metadata` says `"dialect":
/// "ogc-processes"` for a failed job (whose error carries no handle) as for a delivered one,
/// and the line on stderr says which dialect read the job, not only that one was declared.
#[tokio::test(flavor = "multi_thread")]
async fn the_named_dialect_is_named_in_metadata_and_on_stderr() {
    let mock = Mock::start(|req, _| {
        let now = [("retry-after", "0".to_owned())];
        match req.target.as_str() {
            "/processes/ok/execution" => resp(201, &[("location", "/jobs/1".into())], ""),
            "/processes/bad/execution" => resp(201, &[("location", "/jobs/2".into())], ""),
            "/jobs/1" => resp(200, &now, r#"{"jobID":"1","status":"successful"}"#),
            "/jobs/1/results" => resp(200, &[], r#"{"out":1}"#),
            "/jobs/2" => resp(200, &now, r#"{"jobID":"2","status":"failed"}"#),
            _ => resp(404, &[], ""),
        }
    })
    .await;
    let dir = crate::support::temp_dir("named-metadata");
    for (process, code) in [("ok", 0), ("bad", 3)] {
        let meta = dir.join(format!("{process}.json"));
        let url = format!("{}/processes/{process}/execution", mock.base);
        let run = lro(&[
            "-X",
            "POST",
            "--dialect",
            "ogc-processes",
            "--metadata",
            meta.to_str().unwrap(),
            &url,
        ])
        .await;
        assert_eq!(run.code, code, "{run:?}");
        let m: Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
        assert_eq!(m["dialect"], "ogc-processes", "{process}: {m}");
        if code == 0 {
            assert!(
                run.stderr
                    .contains("lro: successful via the ogc-processes dialect after 1 poll"),
                "{}",
                run.stderr
            );
        } else {
            assert_eq!(m["error"]["kind"], "OperationFailed", "{m}");
        }
    }
}

/// `-v` shows the submission as it is sent: with the `Prefer: respond-async` the dialect adds
/// (FHIR's `$export`), and with the caller's own `Prefer` alone when it gives one.
#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_the_prefer_the_dialect_adds() {
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/$export" => resp(202, &[("content-location", format!("{base}/s/1"))], ""),
        "/s/1" => resp(200, &[], r#"{"output":[]}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let url = format!("{}/$export", mock.base);
    let run = lro(&["-v", "--dialect", "fhir", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(mock.requests()[0].headers["prefer"], "respond-async");
    let shown: Vec<&str> = run.stderr.lines().filter(|l| l.starts_with("> ")).collect();
    assert!(shown.contains(&"> prefer: respond-async"), "{}", run.stderr);
    // The caller's own `Prefer` wins, and is the only one shown.
    let run = lro(&["-v", "--dialect", "fhir", "-H", "Prefer: wait=5", &url]).await;
    assert_eq!(run.code, 0, "{run:?}");
    let prefers: Vec<&str> = (run.stderr.lines())
        .filter(|l| l.starts_with("> prefer:"))
        .collect();
    assert_eq!(prefers, ["> prefer: wait=5"], "{}", run.stderr);
}
