//! Exit codes, and how an outcome maps to one.

use std::fmt;

use tower::BoxError;
use tower_lro::ErrorKind;

/// The operation ended, or the answer came, and it is a success.
pub const SUCCESS: i32 = 0;
/// A local failure: the output, handle or metadata file could not be written, or the proxy
/// could not listen.
pub const LOCAL: i32 = 1;
/// Bad arguments, an input file (data, handle, certificate, dialect) that cannot be read, or a
/// dialect description the library refuses.
pub const USAGE: i32 = 2;
/// The operation ended `Failed`, or the final answer is an HTTP error (`4xx`/`5xx`).
pub const FAILED: i32 = 3;
/// The deadline (`--max-time`) or the poll limit was reached; the resume handle was saved.
pub const TIMEOUT: i32 = 4;
/// The server broke the protocol: a bad status document or monitor URL, a refused (insecure)
/// URL, an unexpected status on a poll.
pub const PROTOCOL: i32 = 5;
/// The server could not be reached (connection, TLS), or polls kept failing transiently.
pub const TRANSPORT: i32 = 6;
/// With `--no-wait`: the server answered at once, not with an operation, so there is no handle
/// (its answer was written in its place).
pub const NO_OPERATION: i32 = 7;
/// The operation ended canceled (`Canceled`, `Cancelled`, a dialect's word for it): someone
/// stopped it; it did not fail.
pub const CANCELED: i32 = 8;
/// `--cancel`: the server refused the cancel (`404`/`405`/`501`: not supported, or another
/// status), or the operation cannot be cancelled (nothing was sent).
pub const CANCEL_REFUSED: i32 = 9;
/// Interrupted by SIGINT (128 + 2); the resume handle was saved.
pub const SIGINT: i32 = 130;
/// Interrupted by SIGTERM (128 + 15); the resume handle was saved.
pub const SIGTERM: i32 = 143;

/// The exit-code table, shown by `--help` (the README has the same table).
pub const TABLE: &str = "\
Exit codes:
    0  success (with --no-wait: the resume handle was printed)
    1  local error: the output, handle or metadata file could not be written (-o is opened
       before anything is sent)
    2  usage error: bad arguments, an input file that cannot be read, or a refused --dialect
    3  the operation failed, or the final answer is not a success: an HTTP
       4xx/5xx, a redirect not followed (see -L), or 202 from the resource of an operation
       that ended; or a declared partial_result written after a failed word
    4  timed out (--max-time or the poll limit); the resume handle was saved if an operation
       had started
    5  protocol error: the server broke the LRO protocol or HTTP (e.g. too many headers),
       gave a refused URL, or answered a poll with an unexpected status
    6  transport error: the server could not be reached, or polls kept failing
    7  --no-wait, and the server answered at once, not with an operation: no resume handle
       (the answer was written in its place)
    8  the operation was canceled (its status means canceled: someone stopped it), a
       declared partial_result after a canceled word included
    9  --cancel: the server refused the cancel (404/405/501 or another status), or the
       operation cannot be cancelled (nothing was sent)
  130  interrupted (SIGINT) while waiting; the resume handle was saved
  143  terminated (SIGTERM) while waiting; the resume handle was saved";

/// A reason to stop with an exit code and a message for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn local(message: impl Into<String>) -> Self {
        Self {
            code: LOCAL,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The exit code for an error of the client stack: an answer that is not valid HTTP (a head
/// with too many headers, a bad status line) breaks the protocol, even when it ended a run of
/// retried polls.
pub fn code_for(err: &BoxError) -> i32 {
    if bad_http(&**err).is_some() {
        return PROTOCOL;
    }
    match err.downcast_ref::<tower_lro::Error>() {
        // The SSRF guard refused an address: nothing was connected to.
        None if tower_lro::connect::Refused::find(err.as_ref()).is_some() => PROTOCOL,
        None => TRANSPORT,
        Some(e) => match e.kind() {
            ErrorKind::OperationFailed if e.is_canceled() => CANCELED,
            ErrorKind::OperationFailed => FAILED,
            ErrorKind::Timeout | ErrorKind::PollLimit => TIMEOUT,
            ErrorKind::RetriesExhausted => TRANSPORT,
            // Protocol, Insecure, UnexpectedStatus, and kinds added later.
            _ => PROTOCOL,
        },
    }
}

/// An error and its causes on one line (`connection refused: ...`), bounded in length: the
/// library's rule, shared.
pub use tower_lro::__private::error_chain as chain;

/// An error of the client stack that is not the layer's, for stderr: a transport error, or an
/// answer that is not valid HTTP.
pub fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    match bad_http(err) {
        Some(hyper) if hyper.is_parse_too_large() => format!(
            "protocol error: the answer's head is too large (too many headers, or headers over \
             the size limit): {}",
            chain(err)
        ),
        Some(_) => format!(
            "protocol error: the answer is not valid HTTP: {}",
            chain(err)
        ),
        None => format!("transport error: {}", chain(err)),
    }
}

/// hyper's parse error, when one is in the chain of `err`.
fn bad_http<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a hyper::Error> {
    let mut next = Some(err);
    for _ in 0..16 {
        let e = next?;
        if let Some(hyper) = e.downcast_ref::<hyper::Error>().filter(|h| h.is_parse()) {
            return Some(hyper);
        }
        next = e.source();
    }
    None
}
