//! Hostile servers on loopback: what they send reaches stderr escaped and bounded (issue 14 §2).
//! `--metadata` keeps full values.

use crate::support::{lro, now, resp, temp_dir, Mock, Run};

/// ESC sequences (screen clear, OSC 52 clipboard write, window title), CR, NUL, a newline that
/// would forge a line, a C1 CSI, a bidi override, as JSON string escapes.
const HOSTILE: &str = r"\u001b[2J\u001b]52;c;ZXZpbA==\u0007\u001b]0;pwned\u0007\r\u0000\nlro: forged line\u009b31m\u202etxt.exe";

/// `lro -v -X POST` on an operation whose monitor answers `200` with `body` (a failure): its
/// run, exit 3 asserted.
async fn failed_with(body: String) -> Run {
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        ),
        "/ops/1" => resp(200, &[], &body),
        _ => resp(404, &[], ""),
    })
    .await;
    let run = lro(&["-v", "-X", "POST", &format!("{}/jobs", mock.base)]).await;
    assert_eq!(run.code, 3, "{run:?}");
    run
}

/// No raw control or bidi character on any line of `stderr`.
fn assert_terminal_safe(stderr: &str) {
    for line in stderr.split('\n') {
        let bad: Vec<char> = line
            .chars()
            .filter(|&c| tower_lro::__private::needs_escape(c))
            .collect();
        assert!(bad.is_empty(), "raw {bad:?} in {line:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_operations_error_is_escaped_on_stderr() {
    let body = format!(
        r#"{{"status":"Failed","error":{{"code":"{HOSTILE}","message":"{HOSTILE}","target":"{HOSTILE}",
        "details":[{{"code":"{HOSTILE}","message":"{HOSTILE}"}}]}}}}"#
    );
    let run = failed_with(body).await;
    assert_terminal_safe(&run.stderr);
    assert!(
        run.stderr.contains(r"\x1b]52;c;ZXZpbA==\x07"),
        "{}",
        run.stderr
    );
    assert!(run
        .stderr
        .contains(r"\r\0\nlro: forged line\u{9b}31m\u{202e}txt.exe"));
    assert!(!run
        .stderr
        .lines()
        .any(|l| l.starts_with("lro: forged line")));
    // The code and message, the target and the detail: each once.
    assert_eq!(run.stderr.matches("ZXZpbA==").count(), 5, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_100_kb_url_gives_a_bounded_error() {
    let long_path = format!("/ops/{}", "p".repeat(100_000));
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}{long_path}")), now()],
            "",
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    for verbose in [false, true] {
        let url = format!("{}/jobs", mock.base);
        let args = if verbose {
            vec!["-v", url.as_str()]
        } else {
            vec![url.as_str()]
        };
        let run = lro(&args).await;
        // Longer than a URI may be: a protocol error, whose message is bounded.
        assert_eq!(run.code, 5, "{}", &run.stderr[..run.stderr.len().min(4000)]);
        assert_terminal_safe(&run.stderr);
        assert!(run.stderr.len() < 6_000, "{} bytes", run.stderr.len());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_megabyte_status_word_and_a_60_kb_url_give_a_few_kilobytes_of_stderr() {
    // An unrecognised status word of 1 MB, hostile at both ends: polled until --max-time.
    let word = format!("{HOSTILE}{}{HOSTILE}", "W".repeat(1_000_000));
    let body = format!(r#"{{"status":"{word}"}}"#);
    let long_path = format!("/ops/{}", "p".repeat(60_000));
    let dir = temp_dir("hostile-long");
    let meta = dir.join("meta.json");
    let monitor = long_path.clone();
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[
                ("operation-location", format!("{base}{monitor}")),
                ("x-note", "v".repeat(50_000)),
                now(),
            ],
            "",
        ),
        t if t == monitor => resp(200, &[("retry-after", "0".into())], &body),
        _ => resp(404, &[], ""),
    })
    .await;
    let url = format!("{}/jobs", mock.base);
    // The handles go to the test's directory, not the working directory.
    let saved = dir.join("handle.json");
    let saved = saved.to_str().unwrap();
    let args = [
        "-v",
        "--max-time",
        "2",
        "--poll-interval",
        "0.2",
        "--save-handle",
        saved,
        "-X",
        "POST",
        &url,
    ];
    let run = lro(&args).await;
    assert_eq!(run.code, 4, "{}", &run.stderr[..run.stderr.len().min(4000)]);
    assert_terminal_safe(&run.stderr);
    let polls = mock.count(&long_path);
    assert!(polls >= 2, "{polls} polls");
    // Per poll: the request line, the answer's head, the progress line, each bounded.
    assert!(
        run.stderr.len() < 12_000 + polls * 6_000,
        "{} bytes of stderr for {polls} polls",
        run.stderr.len()
    );
    assert!(run.stderr.contains("more bytes]"));

    // Without -v, and ending at the poll limit's deadline: the same bounds.
    let args = [
        "--max-time",
        "1",
        "--poll-interval",
        "0.2",
        "--metadata",
        meta.to_str().unwrap(),
        "--save-handle",
        saved,
        "-X",
        "POST",
        &url,
    ];
    let run = lro(&args).await;
    assert_eq!(run.code, 4, "{}", &run.stderr[..run.stderr.len().min(4000)]);
    assert_terminal_safe(&run.stderr);
    assert!(run.stderr.len() < 30_000, "{} bytes", run.stderr.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_keeps_the_full_values() {
    let long_path = format!("/ops/{}", "p".repeat(60_000));
    let monitor = long_path.clone();
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}{monitor}")), now()],
            "",
        ),
        t if t == monitor => resp(
            200,
            &[("resource-location", format!("{base}/things/1"))],
            r#"{"status":"Succeeded"}"#,
        ),
        "/things/1" => resp(200, &[], r#"{"thing":1}"#),
        _ => resp(404, &[], ""),
    })
    .await;
    let dir = temp_dir("hostile-meta");
    let meta = dir.join("meta.json");
    let url = format!("{}/jobs", mock.base);
    let run = lro(&[
        "-v",
        "--metadata",
        meta.to_str().unwrap(),
        "-X",
        "POST",
        &url,
    ])
    .await;
    assert_eq!(run.code, 0, "{}", &run.stderr[..run.stderr.len().min(4000)]);
    assert!(run.stderr.len() < 20_000, "{} bytes", run.stderr.len());
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta).unwrap()).unwrap();
    assert_eq!(
        record["operationUrl"].as_str().unwrap(),
        format!("{}{long_path}", mock.base)
    );
}

/// A monitor header the layer cannot use (not visible ASCII, or a URL too long to send), with a
/// signature in its query or a password in it: the error quotes the value, masked, on `lro`'s
/// stderr (with `--metadata`'s `error.message` too) and in the proxy's `502` body.
#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_monitor_header_is_quoted_masked() {
    let mock = Mock::start(move |req, _| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[(
                "operation-location",
                "/ops/1?sig=LEAKED-SIG&code=LEAKED-CODE&x=\u{e9}".to_owned(),
            )],
            "",
        ),
        "/forms" => resp(
            202,
            &[(
                "operation-location",
                "//user:LEAKED-PW@host/ops/\u{e9}?api-version=1".to_owned(),
            )],
            "",
        ),
        // A URL the parser reads but that is too long for a request URI: refused, quoted.
        "/long" => resp(
            202,
            &[(
                "operation-location",
                format!(
                    "http://u:LEAKED-PW@127.0.0.1:1/{}?sig=LEAKED-SIG",
                    "p".repeat(70_000)
                ),
            )],
            "",
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let dir = temp_dir("hostile-header-masked");
    let meta = dir.join("meta.json");
    let (_proxy, base, _log) =
        crate::support::proxy_on("127.0.0.1:0", &mock.base, &["--max-time", "20"]).await;
    for path in ["/jobs", "/forms", "/long"] {
        let url = format!("{}{path}", mock.base);
        // Each run writes its own record (not one left by the run before).
        let _ = std::fs::remove_file(&meta);
        let run = lro(&[
            "-v",
            "--metadata",
            meta.to_str().unwrap(),
            "-X",
            "POST",
            &url,
        ])
        .await;
        assert_eq!(run.code, 5, "{}", run.stderr);
        assert_terminal_safe(&run.stderr);
        let written = std::fs::read_to_string(&meta).unwrap();
        let record: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(record["error"]["kind"], "Protocol", "{record}");
        let message = record["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("***"), "{record}");
        let proxied = crate::support::client::send("POST", &format!("{base}{path}"), &[], "").await;
        assert_eq!(proxied.0, 502);
        let body = String::from_utf8_lossy(&proxied.2).into_owned();
        for text in [&run.stderr, &written, &body] {
            assert!(!text.contains("LEAKED"), "{text}");
        }
        // Still quoted, with its credential values masked.
        assert!(run.stderr.contains("***"), "{}", run.stderr);
    }
}

/// The format characters that hide or reorder text beyond the bidi overrides and zero-width
/// marks: the Arabic letter mark (a bidi mark, as RLM), the deprecated format characters
/// after the isolates, the soft hyphen, the Mongolian vowel separator, the interlinear
/// annotation marks, a prepended concatenation mark, and tag characters (invisible: the
/// "ASCII smuggling" of text no one sees). Before, they reached the terminal raw.
#[tokio::test(flavor = "multi_thread")]
async fn every_format_character_is_escaped_on_stderr() {
    let hidden = [
        '\u{61c}',
        '\u{206a}',
        '\u{206f}',
        '\u{ad}',
        '\u{180e}',
        '\u{fff9}',
        '\u{fffb}',
        '\u{600}',
        '\u{e0001}',
        '\u{e0041}',
        '\u{e007f}',
        '\u{1d173}',
    ];
    let word: String = hidden.iter().flat_map(|&c| ['x', c]).collect();
    let body = serde_json::json!({"status": "Failed", "error": {"code": word, "message": word}})
        .to_string();
    let run = failed_with(body).await;
    let raw: Vec<char> = run.stderr.chars().filter(|c| hidden.contains(c)).collect();
    assert!(raw.is_empty(), "raw {raw:?} in {}", run.stderr);
    assert!(run.stderr.contains(r"x\u{61c}x\u{206a}"), "{}", run.stderr);
    assert!(run.stderr.contains(r"x\u{e0041}x"), "{}", run.stderr);
    assert_terminal_safe(&run.stderr);
}

/// A `percentComplete` far out of its range (`1e308`) is shown within 0–100 %, as the
/// progress bar already clamps it: before, a progress line printed its 309 digits.
#[tokio::test(flavor = "multi_thread")]
async fn a_percent_out_of_range_is_shown_within_its_range() {
    let mock = Mock::start(move |req, base| match req.target.as_str() {
        "/jobs" => resp(
            202,
            &[("operation-location", format!("{base}/ops/1")), now()],
            "",
        ),
        "/ops/1" => resp(
            200,
            &[("retry-after", "0".to_owned())],
            r#"{"status":"Running","percentComplete":1e308}"#,
        ),
        _ => resp(404, &[], ""),
    })
    .await;
    let handle = temp_dir("hostile-percent").join("handle.json");
    let run = lro(&[
        "--max-time",
        "1",
        "--save-handle",
        handle.to_str().unwrap(),
        "-X",
        "POST",
        &format!("{}/jobs", mock.base),
    ])
    .await;
    assert_eq!(run.code, 4, "{run:?}");
    let progress: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("lro: Running"))
        .collect();
    assert!(!progress.is_empty(), "{}", run.stderr);
    for line in progress {
        assert!(line.starts_with("lro: Running 100% (poll "), "{line}");
    }
}
