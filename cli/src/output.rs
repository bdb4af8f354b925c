//! The end of `lro URL`: the final body streamed to stdout (or `-o`), the metadata file, and
//! failures reported on stderr with their exit codes.

use std::path::Path;

use http::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tower::BoxError;
use tower_lro::{LroBody, LroMetadata, ResumeHandle};

use crate::args::FetchArgs;
use crate::exit::{self, Failure};
use crate::report::{secs, Reporter};
use crate::{handle, redact};

/// Writes the final response; the exit code (`3` for a `4xx`/`5xx` answer).
pub async fn response(
    args: &FetchArgs,
    reporter: &Reporter,
    response: Response<LroBody<hyper::body::Incoming>>,
) -> Result<i32, Failure> {
    let status = response.status();
    let meta = response.extensions().get::<LroMetadata>().cloned();
    if let Some(handle) = meta.as_ref().and_then(LroMetadata::resume_handle) {
        // --no-wait: the submission started an operation; its handle is the command's output.
        println!("{}", handle::to_json(handle));
        if let Some(path) = &args.save_handle {
            handle::save(handle, Some(path))?;
        }
        if let Some(path) = &args.metadata {
            write_json(path, &metadata_json(meta.as_ref(), status.as_u16()))?;
        }
        reporter.note(&format!(
            "lro: accepted; polling {}",
            handle.operation_url()
        ));
        return Ok(exit::SUCCESS);
    }
    match &meta {
        Some(m) => {
            reporter.note(&format!(
                "lro: {} via {} after {} polls in {} -> {status}",
                m.status().as_str(),
                m.rule(),
                m.polls(),
                secs(m.elapsed())
            ));
            reporter.verbose(&format!("lro: read in the {} dialect", m.dialect()));
        }
        None if args.no_wait => {
            reporter.note("lro: the server answered at once; there is no operation to wait for")
        }
        None => reporter.verbose(&format!("lro: not a long-running operation -> {status}")),
    }
    if let Some(path) = &args.metadata {
        let record = metadata_json(meta.as_ref(), status.as_u16());
        write_json(path, &record)?;
    }
    match &args.output {
        Some(path) => {
            let file = tokio::fs::File::create(path)
                .await
                .map_err(|e| Failure::local(format!("-o {}: {e}", path.display())))?;
            stream(file, args.include, response).await?;
        }
        None => stream(tokio::io::stdout(), args.include, response).await?,
    }
    if status.is_client_error() || status.is_server_error() {
        say(&format!("lro: the final answer is {status}"));
        return Ok(exit::FAILED);
    }
    Ok(exit::SUCCESS)
}

/// The head (with `-i`) and the body, frame by frame, as they arrive.
async fn stream<W: AsyncWrite + Unpin>(
    mut out: W,
    include: bool,
    response: Response<LroBody<hyper::body::Incoming>>,
) -> Result<(), Failure> {
    let io = |e: std::io::Error| Failure::local(format!("cannot write the output: {e}"));
    let (parts, mut body) = response.into_parts();
    if include {
        let mut head = format!("{:?} {}\r\n", parts.version, parts.status);
        for (name, value) in &parts.headers {
            head.push_str(&format!(
                "{name}: {}\r\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
        head.push_str("\r\n");
        out.write_all(head.as_bytes()).await.map_err(io)?;
    }
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure {
            code: exit::TRANSPORT,
            message: format!("the final body broke off: {}", exit::chain(&e)),
        })?;
        if let Ok(data) = frame.into_data() {
            out.write_all(&data).await.map_err(io)?;
        }
    }
    out.flush().await.map_err(io)
}

/// A failure of the client stack: message on stderr, handle saved, exit code.
pub fn error(args: &FetchArgs, err: &BoxError) -> Result<i32, Failure> {
    let code = exit::code_for(err);
    let lro = err.downcast_ref::<tower_lro::Error>();
    let handle = lro.and_then(tower_lro::Error::resume_handle);
    if let Some(path) = &args.metadata {
        write_json(path, &error_json(err))?;
    }
    match lro {
        Some(e) if e.is_operation_failed() => report_failure(e),
        Some(e) => say(&format!("lro: {e}")),
        None => say(&format!("lro: transport error: {}", exit::chain(&**err))),
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

/// `Failed`/`Canceled`: the OData (or other) code and message, and their details.
fn report_failure(e: &tower_lro::Error) {
    say(&format!("lro: {e}"));
    let Some(odata) = e.odata_error() else {
        return;
    };
    say(&format!("lro: error: {odata}"));
    if let Some(target) = odata.target() {
        say(&format!("lro:   target: {target}"));
    }
    for detail in odata.details().iter().take(20) {
        say(&format!("lro:   detail: {detail}"));
    }
}

/// A line on stderr (even with `-s`), its URLs masked as `-v` masks them.
fn say(line: &str) {
    eprintln!("{}", redact::text(line));
}

/// `--metadata` for a final response: what happened.
fn metadata_json(meta: Option<&LroMetadata>, http_status: u16) -> Value {
    let Some(m) = meta else {
        return json!({ "lro": false, "httpStatus": http_status });
    };
    let mut record = json!({
        "lro": true,
        "operationUrl": m.operation_url(),
        "operationId": m.operation_id(),
        "dialect": m.dialect(),
        "rule": m.rule().to_string(),
        "status": m.status().as_str(),
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

/// `--metadata` for a failure.
fn error_json(err: &BoxError) -> Value {
    let Some(e) = err.downcast_ref::<tower_lro::Error>() else {
        return json!({ "error": { "kind": "Transport", "message": exit::chain(&**err) } });
    };
    let odata = e.odata_error();
    json!({
        "lro": true,
        "error": {
            "kind": format!("{:?}", e.kind()),
            "message": e.to_string(),
            "url": e.url(),
            "httpStatus": e.status().map(|s| s.as_u16()),
            "code": odata.and_then(|o| o.code().map(str::to_owned)),
            "odataMessage": odata.and_then(|o| o.message().map(str::to_owned)),
        },
        "dialect": e.resume_handle().map(ResumeHandle::dialect),
        "resume": e.resume_handle(),
    })
}

fn write_json(path: &Path, value: &Value) -> Result<(), Failure> {
    // Credential values masked as `-v` masks them; created mode 0600.
    let text = serde_json::to_string_pretty(&redact::json(value)).unwrap_or_default() + "\n";
    handle::write_private(path, &text)
        .map_err(|e| Failure::local(format!("--metadata {}: {e}", path.display())))
}
