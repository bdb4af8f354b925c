//! The end of `lro URL`: the final body streamed to stdout (or `-o`), the metadata file, and
//! failures reported on stderr with their exit codes.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use http::header::LOCATION;
use http::{Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tower::BoxError;
use tower_lro::{LroBody, LroMetadata, ODataError, OperationStatus, ResumeHandle};

use crate::args::FetchArgs;
use crate::exit::{self, Failure};
use crate::follow::{self, NotFollowed};
use crate::report::{polls, secs, Reporter};
use crate::term::{shown, shown_within, LINE_LIMIT};
use crate::{handle, redact};

/// Where the final body (or, with `--no-wait`, the handle) goes: stdout, or the `-o` file,
/// opened before anything is sent so that an unwritable path fails at once. An existing file is
/// truncated only when the output is written; a file this run created and never wrote is
/// removed when the run ends.
pub struct Out {
    file: Option<OutFile>,
}

struct OutFile {
    path: PathBuf,
    file: Option<File>,
    created: bool,
}

impl Out {
    /// Opens (or creates) `-o FILE`; stdout without `-o`, or with `-o -`.
    pub fn open(args: &FetchArgs) -> Result<Self, Failure> {
        let Some(path) = args.output.as_deref().filter(|p| *p != Path::new("-")) else {
            return Ok(Self { file: None });
        };
        let fail = |e: std::io::Error| Failure::local(format!("-o {}: {e}", path.display()));
        // With --no-wait the file holds a resume handle: private, as every handle file is.
        let mode = if args.no_wait { handle::PRIVATE } else { 0o666 };
        let created_new = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path);
        let (file, created) = match created_new {
            Ok(file) => (file, true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
                OpenOptions::new().write(true).open(path).map_err(fail)?,
                false,
            ),
            Err(e) => return Err(fail(e)),
        };
        Ok(Self {
            file: Some(OutFile {
                path: path.to_owned(),
                file: Some(file),
                created,
            }),
        })
    }

    /// Writes `head` (may be empty) and then the body of `response`, frame by frame.
    async fn write<B>(&mut self, head: &[u8], body: B) -> Result<(), Failure>
    where
        B: http_body::Body<Data = bytes::Bytes> + Unpin,
        B::Error: Into<tower::BoxError>,
    {
        match self.file.as_mut().and_then(|f| f.file.take()) {
            Some(file) => {
                let path = self.file.as_ref().map(|f| f.path.display().to_string());
                file.set_len(0)
                    .map_err(|e| Failure::local(format!("-o {}: {e}", path.unwrap_or_default())))?;
                stream(tokio::fs::File::from_std(file), head, body).await
            }
            None if self.file.is_some() => Err(Failure::local("the output was already written")),
            None => stream(tokio::io::stdout(), head, body).await,
        }
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if let Some(OutFile {
            path,
            file: Some(_),
            created: true,
        }) = &self.file
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Writes the final response; the exit code (see [`verdict`]).
pub async fn response(
    args: &FetchArgs,
    reporter: &Reporter,
    response: Response<LroBody<hyper::body::Incoming>>,
    out: &mut Out,
) -> Result<i32, Failure> {
    let status = response.status();
    let meta = response.extensions().get::<LroMetadata>().cloned();
    if let Some(handle) = meta.as_ref().and_then(LroMetadata::resume_handle) {
        return started(args, reporter, &response, handle, out).await;
    }
    match &meta {
        Some(m) => {
            reporter.note(&format!(
                "lro: {} via {} after {} in {} -> {status}",
                shown(m.status().as_str()),
                via(m),
                polls(m.polls()),
                secs(m.elapsed())
            ));
            reporter.verbose(&format!("lro: read in the {} dialect", shown(m.dialect())));
        }
        None => reporter.verbose(&format!("lro: not a long-running operation -> {status}")),
    }
    if let Some(path) = &args.metadata {
        let record = metadata_json(meta.as_ref(), status.as_u16());
        write_json(path, &record)?;
    }
    let (code, message) = verdict(args, &response, meta.as_ref());
    let (parts, body) = response.into_parts();
    let head = if args.include {
        head(parts.version, parts.status, &parts.headers)
    } else {
        String::new()
    };
    out.write(head.as_bytes(), body).await?;
    if let Some(message) = message {
        say(&message);
    }
    Ok(code)
}

/// `--no-wait`, and the submission started an operation: its handle is the command's output
/// (after the answer's head with `-i`), to stdout or `-o`.
async fn started<B>(
    args: &FetchArgs,
    reporter: &Reporter,
    response: &Response<B>,
    handle: &ResumeHandle,
    out: &mut Out,
) -> Result<i32, Failure> {
    let mut text = String::new();
    if args.include {
        text = head(response.version(), response.status(), response.headers());
    }
    text.push_str(&handle::to_json(handle));
    text.push('\n');
    out.write(&[], http_body_util::Full::new(bytes::Bytes::from(text)))
        .await?;
    if let Some(path) = &args.save_handle {
        handle::save(handle, Some(path))?;
    }
    if let Some(path) = &args.metadata {
        let meta = response.extensions().get::<LroMetadata>();
        write_json(path, &metadata_json(meta, response.status().as_u16()))?;
    }
    reporter.note(&format!(
        "lro: accepted; polling {}",
        shown(&redact::url(handle.operation_url()))
    ));
    Ok(exit::SUCCESS)
}

/// The exit code for a final answer, and what to say about it when it is not a success:
/// `3` for a `4xx`/`5xx`, for a redirect not followed (without `-L`, or `-L` refused it), for
/// a `202` from the fetched resource of an operation that ended and for a partial result of a failed
/// operation (`8` for a canceled one's); `7` with `--no-wait` when the answer is not an
/// operation (there is no handle).
fn verdict<B>(
    args: &FetchArgs,
    response: &Response<B>,
    meta: Option<&LroMetadata>,
) -> (i32, Option<String>) {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        return (
            exit::FAILED,
            Some(format!("lro: the final answer is {status}")),
        );
    }
    if follow::is_redirect(status) {
        let to = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        let to = shown(&redact::url(&to)).into_owned();
        let why = match response.extensions().get::<NotFollowed>() {
            Some(NotFollowed(why)) => format!("not followed: {why}"),
            None => "not followed (-L follows it)".to_owned(),
        };
        let message = format!("lro: the final answer is {status}, a redirect to {to}, {why}");
        return (exit::FAILED, Some(message));
    }
    // A fetched resource (or a redirect's target) that answers `202` has no body yet; a `202`
    // that is the terminal status document itself (Microsoft Graph's copy monitor answers
    // `202 {"status":"completed"}`) is the operation's answer, and a success.
    if status == StatusCode::ACCEPTED && meta.is_some_and(|m| m.resource_url().is_some()) {
        let message = "lro: the operation ended, but its resource answered 202 Accepted: \
                       there is no final body yet";
        return (exit::FAILED, Some(message.to_owned()));
    }
    // A result delivered after a word that did not succeed (a declared `partial_result`:
    // OpenAI's `expired` batch): written, but the exit says how the operation ended.
    if let Some(status) = meta.map(LroMetadata::status) {
        let code = match status.meaning() {
            tower_lro::StatusMeaning::Failed => exit::FAILED,
            tower_lro::StatusMeaning::Canceled => exit::CANCELED,
            _ => exit::SUCCESS,
        };
        if code != exit::SUCCESS {
            let word = shown(status.as_str()).into_owned();
            let message =
                format!("lro: the operation ended {word}; the partial result it left was written");
            return (code, Some(message));
        }
    }
    if args.no_wait && meta.is_none() {
        let message = format!(
            "lro: --no-wait: the server answered {status} at once, not with an operation; \
             its answer was written instead of a resume handle"
        );
        return (exit::NO_OPERATION, Some(message));
    }
    (exit::SUCCESS, None)
}

/// `-i`: the status line and the headers, as data (like curl's `-i`: not escaped; a value that
/// is not visible ASCII is written as its bytes).
fn head(version: http::Version, status: StatusCode, headers: &http::HeaderMap) -> String {
    let mut head = format!("{version:?} {status}\r\n");
    for (name, value) in headers {
        head.push_str(&format!(
            "{name}: {}\r\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    head.push_str("\r\n");
    head
}

/// The head, then the body frame by frame as it arrives, each flushed at once.
async fn stream<W, B>(mut out: W, head: &[u8], mut body: B) -> Result<(), Failure>
where
    W: AsyncWrite + Unpin,
    B: http_body::Body<Data = bytes::Bytes> + Unpin,
    B::Error: Into<tower::BoxError>,
{
    let io = |e: std::io::Error| Failure::local(format!("cannot write the output: {e}"));
    if !head.is_empty() {
        out.write_all(head).await.map_err(io)?;
        out.flush().await.map_err(io)?;
    }
    while let Some(frame) = body.frame().await {
        // The layer cuts a stalled final body at the deadline: a timeout (exit 4).
        let frame = frame.map_err(|e| {
            let e: tower::BoxError = e.into();
            Failure {
                code: exit::code_for(&e),
                message: format!("the final body broke off: {}", exit::chain(&*e)),
            }
        })?;
        if let Ok(data) = frame.into_data() {
            out.write_all(&data).await.map_err(io)?;
            out.flush().await.map_err(io)?;
        }
    }
    out.flush().await.map_err(io)
}

/// A failure of the client stack: message on stderr, handle saved, exit code. `dialect` names
/// the dialect the operation was read in (`--dialect`, or the resumed handle's), for
/// `--metadata` when the error carries no handle that says it.
pub fn error(args: &FetchArgs, err: &BoxError, dialect: &str) -> Result<i32, Failure> {
    let code = exit::code_for(err);
    let lro = err.downcast_ref::<tower_lro::Error>();
    let handle = lro.and_then(tower_lro::Error::resume_handle);
    if let Some(path) = &args.metadata {
        write_json(path, &error_json(err, dialect))?;
    }
    match lro {
        Some(e) if e.is_operation_failed() => report_failure(e),
        Some(e) => say(&format!("lro: {e}")),
        None => say(&format!("lro: {}", exit::describe(&**err))),
    }
    if let Some(handle) = handle {
        let path = handle::save(handle, args.save_handle.as_deref())?;
        eprintln!(
            "lro: resume with: lro --resume {} (add the same -H headers)",
            path.display()
        );
    }
    Ok(code)
}

/// `Failed`/`Canceled`: one line (`long-running operation failed: ...` or `... canceled: ...`)
/// with the code and message (the library's message, which
/// quotes them escaped and bounded), then the target and the details, each escaped and bounded.
fn report_failure(e: &tower_lro::Error) {
    say(&format!("lro: {e}"));
    let Some(odata) = e.odata_error() else {
        return;
    };
    if let Some(target) = odata.target() {
        say(&format!("lro:   target: {}", shown(target)));
    }
    for detail in odata.details().iter().take(20) {
        say(&format!("lro:   detail: {}", odata_text(detail)));
    }
}

/// `code: message`, each escaped and bounded.
fn odata_text(o: &ODataError) -> String {
    match (o.code(), o.message()) {
        (Some(c), Some(m)) => format!("{}: {}", shown(c), shown(m)),
        (Some(t), None) | (None, Some(t)) => shown(t).into_owned(),
        (None, None) => o.to_string(),
    }
}

/// A line on stderr (even with `-s`), its URLs masked as `-v` masks them; escaped and bounded
/// as a whole (each server string in it already is, where it was formatted).
fn say(line: &str) {
    eprintln!("{}", shown_within(&redact::text(line), LINE_LIMIT));
}

/// What read the operation, for the line on stderr: the rule (`Operation-Location`, `Google
/// Operation`), or for a declared dialect its name (`the ogc-processes dialect`; `the declared
/// dialect` when the description names none).
fn via(m: &LroMetadata) -> String {
    if m.rule() == tower_lro::Rule::Declared {
        format!("the {} dialect", shown(m.dialect()))
    } else {
        m.rule().to_string()
    }
}

/// `--metadata` for a final response: what happened.
fn metadata_json(meta: Option<&LroMetadata>, http_status: u16) -> Value {
    let Some(m) = meta else {
        // No operation: no word, so no meaning; `meaning` and `canceled` are in every file.
        return json!({ "lro": false, "httpStatus": http_status, "meaning": null, "canceled": false });
    };
    let mut record = json!({
        "lro": true,
        "operationUrl": m.operation_url(),
        "operationId": m.operation_id(),
        "dialect": m.dialect(),
        "rule": m.rule().to_string(),
        "status": m.status().as_str(),
        // What the word means, as for a failure: a partial result (a declared
        // `partial_result`) is delivered after a word that means failed or canceled.
        "meaning": m.status().meaning().as_str(),
        "canceled": m.status().meaning() == tower_lro::StatusMeaning::Canceled,
        "polls": m.polls(),
        "elapsedMs": u64::try_from(m.elapsed().as_millis()).unwrap_or(u64::MAX),
        "resourceUrl": m.resource_url(),
        "httpStatus": http_status,
    });
    // --no-wait: the operation goes on; its handle is part of what happened.
    if let Some(handle) = m.resume_handle() {
        record["resume"] = json!(handle);
    }
    record
}

/// `--metadata` for a failure (`dialect`: see [`error`]).
fn error_json(err: &BoxError, dialect: &str) -> Value {
    let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
        // The submission itself failed: no operation, no word (`meaning` and `canceled` are in
        // every file), and the dialect it would have been read in.
        return json!({
            "lro": false,
            "status": null,
            "meaning": null,
            "canceled": false,
            "error": { "kind": "Transport", "message": exit::chain(&**err) },
            "dialect": dialect,
        });
    };
    let odata = e.odata_error();
    let status = e.operation_status();
    json!({
        "lro": true,
        // The last status seen, as for a success: the server's word and what it means.
        "status": status.map(OperationStatus::as_str),
        "meaning": status.map(|s| s.meaning().as_str()),
        "canceled": e.is_canceled(),
        "error": {
            "kind": format!("{:?}", e.kind()),
            "message": e.to_string(),
            "url": e.url(),
            "httpStatus": e.status().map(|s| s.as_u16()),
            "code": odata.and_then(|o| o.code().map(str::to_owned)),
            "odataMessage": odata.and_then(|o| o.message().map(str::to_owned)),
        },
        "dialect": e.resume_handle().map_or(dialect, ResumeHandle::dialect),
        "resume": e.resume_handle(),
    })
}

fn write_json(path: &Path, value: &Value) -> Result<(), Failure> {
    // Credential values masked as `-v` masks them; created mode 0600.
    let text = serde_json::to_string_pretty(&redact::json(value)).unwrap_or_default() + "\n";
    handle::write_private(path, &text)
        .map_err(|e| Failure::local(format!("--metadata {}: {e}", path.display())))
}
