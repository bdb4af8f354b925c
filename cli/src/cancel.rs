//! `lro --cancel HANDLE`: cancel the operation of a resume handle; and `--cancel-on-interrupt`:
//! cancel the operation being waited for when SIGINT or SIGTERM comes.
//!
//! The request is the library's (`LroService::cancel`): the dialect says which (`DELETE` on the
//! status monitor by default, Google's `POST …:cancel`, a declared `cancel`, with the headers
//! and body it declares), sent once under
//! the rules of polls. Only a `2xx` is a success, and not one whose body a declared `answer`
//! reads as refusing (Ray's `{"stopped": false}`); a server that answers `404`/`405`/`501`
//! (not supported) or anything else has refused it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower::{BoxError, Layer, Service};
use tower_lro::{CancelOutcome, Cancellation, ErrorKind, LroService, ResumeHandle};

use crate::args::FetchArgs;
use crate::exit::{self, Failure};
use crate::report::Reporter;
use crate::{fetch, setup};

/// How long a cancel may take without `--max-time` (and, on an interrupt, at most).
const BOUND: Duration = Duration::from_secs(30);

/// `lro --cancel HANDLE`: the exit code.
pub async fn run(args: &FetchArgs, source: &str) -> Result<i32, Failure> {
    let reporter = Arc::new(Reporter::new(args.silent, args.verbose));
    let on_request = reporter.clone();
    let (layer, _) = setup::layer(&args.lro)?;
    // A declared cancel may carry a body (`"cancel": {"method": "POST", "body": …}`).
    let layer = layer
        .poll_body(Full::<Bytes>::new)
        .on_poll_request(move |r| on_request.request(r));
    let mut request = fetch::handle_request(args, crate::handle::load_for("--cancel", source)?)?;
    let client = fetch::client(args, &mut request, &reporter)?;
    let service = layer.layer(client);
    let bound = args.lro.max_time.filter(|d| !d.is_zero()).unwrap_or(BOUND);
    let code = send(&service, request, bound, &reporter).await;
    reporter.finish();
    Ok(code)
}

/// `--cancel-on-interrupt`: the operation being waited for (its latest handle) is cancelled,
/// and what came of it reported; the exit code stays the interrupt's.
pub async fn on_interrupt<S, ResB>(
    service: &LroService<S>,
    args: &FetchArgs,
    reporter: &Reporter,
) -> Result<(), Failure>
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    let Some(handle) = reporter.latest_handle() else {
        reporter.note("lro: interrupted before an operation started; nothing to cancel");
        return Ok(());
    };
    let request = fetch::handle_request(args, handle)?;
    // An interrupted user waits a short while, not a whole --max-time.
    send(service, request, Duration::from_secs(10), reporter).await;
    Ok(())
}

/// Sends the cancel, bounded by `bound`, and reports it: the exit code it means.
async fn send<S, ResB>(
    service: &LroService<S>,
    request: Request<Full<Bytes>>,
    bound: Duration,
    reporter: &Reporter,
) -> i32
where
    S: Service<Request<Full<Bytes>>, Response = Response<ResB>> + Clone,
    S::Error: Into<BoxError>,
    ResB: Body,
    ResB::Error: Into<BoxError>,
{
    let Some(handle) = request.extensions().get::<ResumeHandle>() else {
        return exit::USAGE;
    };
    let monitor = crate::redact::url(handle.operation_url());
    reporter.verbose(&format!("lro: cancelling the operation at {monitor}"));
    match tokio::time::timeout(bound, service.cancel(request)).await {
        Ok(Ok(done)) => report(&done, reporter),
        Ok(Err(error)) => {
            // The library's message: URLs in it masked, server text escaped.
            let line = crate::redact::text(&error.to_string());
            eprintln!(
                "lro: {}",
                crate::term::shown_within(&line, crate::term::LINE_LIMIT)
            );
            // What the server said of its refusal: its text, escaped and bounded.
            if let Some(body) = error.body().filter(|b| !b.is_empty()) {
                let text = String::from_utf8_lossy(body);
                eprintln!("lro: the server said: {}", crate::term::shown(&text));
            }
            match error.kind() {
                ErrorKind::NotCancellable | ErrorKind::UnexpectedStatus => exit::CANCEL_REFUSED,
                _ => exit::code_for(&BoxError::from(error)),
            }
        }
        Err(_) => {
            eprintln!(
                "lro: the cancel of {monitor} got no answer within {}",
                crate::report::secs(bound)
            );
            exit::TRANSPORT
        }
    }
}

/// The line for a cancel the server answered, and its exit code.
fn report(done: &Cancellation, reporter: &Reporter) -> i32 {
    let status = done.status().map_or(String::new(), |s| format!(" {s}"));
    let line = format!(
        "lro: cancel {} {}:{status}: {}",
        done.method(),
        done.url(),
        done.outcome()
    );
    match done.outcome() {
        CancelOutcome::Accepted => {
            reporter.note(&line);
            exit::SUCCESS
        }
        _ => {
            // A refusal is printed even with -s, as errors are.
            eprintln!(
                "{}",
                crate::term::shown_within(&crate::redact::text(&line), crate::term::LINE_LIMIT)
            );
            exit::CANCEL_REFUSED
        }
    }
}
