//! What real open-source servers sent `lro`, replayed: the exchanges in
//! `tests/fixtures/realservers/*.json` were captured between the built `lro` and the real server
//! (a recording proxy on loopback in between), and a raw loopback mock answers them again, byte
//! for byte, in order: status line, header names and their case, header order, body. Only the
//! capturing proxy's `host:port` is written `{base}` in the files (the mock puts its own back and
//! counts `Content-Length` again), and machine paths in a Python traceback were shortened. The
//! real servers are not needed here; each file names the versions it was captured from.
//!
//! - pygeoapi (OGC API – Processes, `hello-world` and `echo` with a TinyDB job manager): a job to
//!   its results — pygeoapi lists the results link as HTML first, so the dialect takes the
//!   `application/json` one —, a failed job, and a job dismissed with `--cancel` (`DELETE`; the
//!   answer says `dismissed` with `Content-Type: text/html`, and the job is then gone: `404`).
//! - Celery 5 through Flower 2 (a real worker, a Redis broker): a task to its output, a task that
//!   raised, a revoked task; `celery-flower-task.json` reads them.
//! - moto's server mode emulating Amazon Transcribe (an emulator, not AWS): signed checks of a
//!   job to `COMPLETED`, and a `409` for a name in use.
//!
//! `realservers_jobs.rs` replays three more with this mock: moto's Step Functions, wraptile
//! and Apache Airflow.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::dialect_fixtures::fixture;
use crate::support::{lro, temp_dir, Run};

/// A request as the mock read it: its request line's method and target, its head's lines,
/// its body.
#[derive(Debug, Clone)]
pub(crate) struct Asked {
    pub(crate) line: String,
    head: String,
    pub(crate) body: String,
}

impl Asked {
    /// The value of header `name` (its first), if the request had it.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// A mock answering `exchanges` in order, whatever connection a request comes on; a request
/// that is not the next one scripted gets a `599` (and the test fails on what was asked).
pub(crate) struct Replay {
    pub(crate) base: String,
    asked: Arc<Mutex<Vec<Asked>>>,
}

impl Replay {
    pub(crate) async fn start(exchanges: Vec<(String, String)>) -> Replay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(exchanges.into_iter()));
        let (b, a) = (base.clone(), asked.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (script, asked, base) = (script.clone(), a.clone(), b.clone());
                tokio::spawn(async move { serve(stream, &script, &asked, &base).await });
            }
        });
        Replay { base, asked }
    }

    pub(crate) fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }
}

type Script = Mutex<std::vec::IntoIter<(String, String)>>;

/// One connection: requests read one after the other (bounded), each answered by the next
/// exchange; closed after an answer that says `Connection: close`, as the real server did.
async fn serve(mut stream: TcpStream, script: &Script, asked: &Mutex<Vec<Asked>>, base: &str) {
    let mut buf = Vec::new();
    for _ in 0..32 {
        let Some((head, body)) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let line = head.split("\r\n").next().unwrap_or("").to_owned();
        let line = line
            .rsplit_once(' ')
            .map_or(line.clone(), |(l, _)| l.to_owned());
        asked.lock().unwrap().push(Asked {
            line: line.clone(),
            head,
            body,
        });
        let next = script.lock().unwrap().next();
        let raw = match next {
            Some((want, raw)) if want == line => with_base(&raw, base),
            _ => "HTTP/1.1 599 Not Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_owned(),
        };
        if stream.write_all(raw.as_bytes()).await.is_err() {
            return;
        }
        let head_end = raw.find("\r\n\r\n").unwrap_or(raw.len());
        if raw[..head_end]
            .to_ascii_lowercase()
            .contains("\r\nconnection: close")
        {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Reads one request (head, and the body its `Content-Length` announces) from `stream`; `None`
/// at the end of the connection or past 64 KiB.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, String)> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length = head
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).into_owned();
            buf.drain(..end + 4 + length);
            return Some((head, body));
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The captured answer with the mock's base URL put back, its `Content-Length` counted again.
fn with_base(raw: &str, base: &str) -> String {
    let raw = raw.replace("{base}", base);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let head: Vec<String> = head
        .split("\r\n")
        .map(|l| match l.split_once(':') {
            Some((k, _)) if k.eq_ignore_ascii_case("content-length") => {
                format!("{k}: {}", body.len())
            }
            _ => l.to_owned(),
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n"))
}

/// The body of a captured answer, its base URL put back.
pub(crate) fn body_of(raw: &str, base: &str) -> String {
    raw.split_once("\r\n\r\n")
        .unwrap()
        .1
        .replace("{base}", base)
}

pub(crate) fn captures(name: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/realservers/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The exchanges of `scenario` in the capture file `file`, as (request line, raw answer).
pub(crate) fn exchanges(file: &Value, scenario: &str) -> Vec<(String, String)> {
    let s = file["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == scenario)
        .unwrap_or_else(|| panic!("no scenario {scenario}"));
    let out: Vec<(String, String)> = s["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let request = e["request"].as_str().unwrap().to_owned();
            (request, e["response"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(!out.is_empty(), "{scenario}: nothing captured");
    out
}

/// The request lines the mock saw, in order.
pub(crate) fn lines(asked: &[Asked]) -> Vec<String> {
    asked.iter().map(|a| a.line.clone()).collect()
}

pub(crate) fn scripted(ex: &[(String, String)]) -> Vec<String> {
    ex.iter().map(|(line, _)| line.clone()).collect()
}

/// Runs `lro --poll-interval 0` with `args` and the mock's base URL followed by `path` (the
/// last argument) against a replay of `ex`; the mock must have been asked the scripted
/// requests in order. Returns the run, the body of the last answer and the mock.
pub(crate) async fn replayed(
    ex: &[(String, String)],
    args: &[&str],
    path: &str,
) -> (Run, String, Replay) {
    let mock = Replay::start(ex.to_vec()).await;
    let url = format!("{}{path}", mock.base);
    let run = lro(&[&["--poll-interval", "0"], args, &[&url]].concat()).await;
    assert_eq!(lines(&mock.asked()), scripted(ex), "{run:?}");
    let last = body_of(&ex.last().unwrap().1, &mock.base);
    (run, last, mock)
}

/// The arguments of a `--no-wait` → `--cancel` → `--resume` sequence.
pub(crate) struct CancelThenResume<'a> {
    /// Given to all three runs (signing, headers), first.
    pub(crate) every: &'a [&'a str],
    /// The submission's own (dialect, body, URL); `--no-wait` is added.
    pub(crate) start: &'a [&'a str],
    /// More for the resume (`--metadata FILE`); `--poll-interval 0` is added.
    pub(crate) resume: &'a [&'a str],
}

/// Starts the operation with `--no-wait` against `mock` (replaying `ex`), writes its handle to
/// a file in the test directory `dir`, cancels it with `--cancel`, and resumes it with
/// `--resume`. The start and the cancel must exit 0, and the mock must have been asked the
/// scripted requests in order; returns the start's run (the handle) and the resume's.
pub(crate) async fn cancel_then_resume(
    mock: &Replay,
    ex: &[(String, String)],
    dir: &str,
    args: CancelThenResume<'_>,
) -> (Run, Run) {
    let dir = temp_dir(dir);
    let handle = dir.join("handle.json");
    let handle = handle.to_str().unwrap();
    let started = lro(&[args.every, &["--no-wait"], args.start].concat()).await;
    assert_eq!(started.code, 0, "{started:?}");
    std::fs::write(handle, &started.stdout).unwrap();
    let cancel = lro(&[args.every, &["--cancel", handle]].concat()).await;
    assert_eq!(cancel.code, 0, "{cancel:?}");
    let resume = [
        args.every,
        &["--poll-interval", "0"],
        args.resume,
        &["--resume", handle],
    ];
    let resumed = lro(&resume.concat()).await;
    assert_eq!(lines(&mock.asked()), scripted(ex), "{resumed:?}");
    (started, resumed)
}

const OGC: &str = "ogc-processes";

#[tokio::test(flavor = "multi_thread")]
async fn pygeoapi_job_to_its_json_results() {
    let ex = exchanges(&captures("pygeoapi-0.21.0"), "success");
    let body = r#"{"inputs":{"name":"x"}}"#;
    let args = ["--dialect", OGC, "--json", body];
    let (run, last, mock) = replayed(&ex, &args, "/processes/hello-world/execution").await;
    assert_eq!(run.code, 0, "{run:?}");
    // The JSON results (`?f=json`), not the HTML page listed first.
    assert!(ex.last().unwrap().0.ends_with("/results?f=json"));
    assert_eq!(run.stdout, last);
    assert_eq!(run.json()["value"], "Hello x!");
    // The submission asked for an asynchronous execution; no poll repeats it.
    let asked = mock.asked();
    assert_eq!(asked[0].header("prefer"), Some("respond-async"));
    assert!(asked[1..].iter().all(|a| a.header("prefer").is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn pygeoapi_job_that_still_runs_then_succeeds() {
    let ex = exchanges(&captures("pygeoapi-0.21.0"), "running");
    let body = r#"{"inputs":{"echoInput":"slow","pause":2.5}}"#;
    let args = ["--dialect", OGC, "--json", body];
    let (run, _, _) = replayed(&ex, &args, "/processes/echo/execution").await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["value"], "slow");
}

#[tokio::test(flavor = "multi_thread")]
async fn pygeoapi_failed_job() {
    let ex = exchanges(&captures("pygeoapi-0.21.0"), "failed");
    let body = r#"{"inputs":{"message":"no name"}}"#;
    let args = ["--dialect", OGC, "--json", body];
    // The status says `failed`: no results are asked for (the replay checks every request).
    let (run, _, _) = replayed(&ex, &args, "/processes/hello-world/execution").await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

/// `--no-wait`, `--cancel` (`DELETE` on the job: `200`, `dismissed`, served as `text/html`),
/// then `--resume`: pygeoapi has forgotten the job, and the poll is rejected (`404`).
#[tokio::test(flavor = "multi_thread")]
async fn pygeoapi_job_dismissed() {
    let file = captures("pygeoapi-0.21.0");
    let ex = exchanges(&file, "dismissed");
    let mock = Replay::start(ex.clone()).await;
    let url = format!("{}/processes/echo/execution", mock.base);
    let body = r#"{"inputs":{"echoInput":"slow","pause":5.0}}"#;
    let args = CancelThenResume {
        every: &[],
        start: &["--dialect", OGC, "--json", body, &url],
        resume: &[],
    };
    let (_, resumed) = cancel_then_resume(&mock, &ex, "realservers-dismiss", args).await;
    assert_eq!(resumed.code, 5, "{resumed:?}");
    // No progress line before the error: no answer of this run said the job was running.
    let progress: Vec<&str> = resumed
        .stderr
        .lines()
        .filter(|l| l.starts_with("lro: ") && l.contains("(poll "))
        .collect();
    assert!(progress.is_empty(), "{resumed:?}");
}

const FLOWER: &str = "flower-2.2.0-celery-5.7.0";

/// Runs `lro` on the Flower scenario (`POST /api/task/async-apply/<task>` with `args`).
/// Returns the run and the body of the last answer.
async fn flower(scenario: &str, task: &str, args: &str) -> (Run, String) {
    let ex = exchanges(&captures(FLOWER), scenario);
    let dialect = fixture("celery-flower-task");
    // `lro` gives up on its own after 30 s (support).
    let path = format!("/api/task/async-apply/{task}");
    let (run, last, _) = replayed(&ex, &["--dialect", &dialect, "--json", args], &path).await;
    (run, last)
}

#[tokio::test(flavor = "multi_thread")]
async fn flower_task_to_its_output() {
    let (run, last) = flower("success", "tasks.slow", r#"{"args":[1.5]}"#).await;
    assert_eq!(run.code, 0, "{run:?}");
    let status: Value = serde_json::from_str(&last).unwrap();
    // The output is the status document's `result`, as it is.
    assert_eq!(run.json(), status["result"]);
    assert_eq!(run.json()["slept"], 1.5);
}

#[tokio::test(flavor = "multi_thread")]
async fn flower_task_that_raised() {
    let (run, _) = flower("failure", "tasks.boom", r#"{"args":["kaput"]}"#).await;
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flower_task_revoked() {
    let (run, _) = flower("revoked", "tasks.add", r#"{"args":[1,1]}"#).await;
    assert_eq!(run.code, 8, "{run:?}");
}

/// moto 5.2.6 (`moto_server`) emulating Amazon Transcribe, with `aws-transcribe-job.json` less
/// its `result` (the transcript's URL names a public host: never fetched here): every check is
/// a signed `POST /` with `X-Amz-Target: Transcribe.GetTranscriptionJob`, the job goes `QUEUED`,
/// `IN_PROGRESS`, `COMPLETED`, and the terminal status document is the output. A second job of
/// the same name: moto answers `409` + `ConflictException`, which ends it (exit 3).
#[tokio::test(flavor = "multi_thread")]
async fn moto_transcribe_job_to_completed_and_a_conflict() {
    let file = captures("moto-5.2.6-transcribe");
    let path = format!(
        "{}/../tests/fixtures/dialects/aws-transcribe-job.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut dialect: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(dialect.as_object_mut().unwrap().remove("result").is_some());
    let dialect = dialect.to_string();
    let job = r#"{"TranscriptionJobName":"job-2","LanguageCode":"en-US","Media":{"MediaFileUri":"s3://bucket/audio.wav"},"MediaFormat":"wav"}"#;
    for (scenario, code) in [("completed", 0), ("conflict", 3)] {
        let ex = exchanges(&file, scenario);
        let mock = Replay::start(ex.clone()).await;
        let url = format!("{}/", mock.base);
        let run = lro(&[
            "--poll-interval",
            "0",
            "--aws-sigv4",
            "aws:amz:us-east-1:transcribe",
            "-u",
            "AKIDEXAMPLE:secret",
            "-H",
            "x-amz-target: Transcribe.StartTranscriptionJob",
            "-H",
            "content-type: application/x-amz-json-1.1",
            "-d",
            job,
            "--dialect",
            &dialect,
            &url,
        ])
        .await;
        let asked = mock.asked();
        assert_eq!(lines(&asked), scripted(&ex), "{scenario}: {run:?}");
        assert_eq!(run.code, code, "{scenario}: {run:?}");
        let scenario_doc = file["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == scenario)
            .unwrap();
        for (a, e) in asked
            .iter()
            .zip(scenario_doc["exchanges"].as_array().unwrap())
        {
            assert_eq!(a.header("x-amz-target"), e["x-amz-target"].as_str());
            let auth = a.header("authorization").unwrap_or("");
            assert!(
                auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
                "{auth}"
            );
        }
        if code == 0 {
            let done = run.json();
            let job = &done["TranscriptionJob"];
            assert_eq!(job["TranscriptionJobStatus"], "COMPLETED");
            assert!(job["Transcript"]["TranscriptFileUri"].is_string());
        }
    }
}
