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
/// The operation ended `Failed`/`Canceled`, or the final answer is an HTTP error (`4xx`/`5xx`).
pub const FAILED: i32 = 3;
/// The deadline (`--max-time`) or the poll limit was reached; the resume handle was saved.
pub const TIMEOUT: i32 = 4;
/// The server broke the protocol: a bad status document or monitor URL, a refused (insecure)
/// URL, an unexpected status on a poll.
pub const PROTOCOL: i32 = 5;
/// The server could not be reached (connection, TLS), or polls kept failing transiently.
pub const TRANSPORT: i32 = 6;
/// Interrupted by SIGINT (128 + 2); the resume handle was saved.
pub const SIGINT: i32 = 130;
/// Interrupted by SIGTERM (128 + 15); the resume handle was saved.
pub const SIGTERM: i32 = 143;

/// The exit-code table, shown by `--help` (the README has the same table).
pub const TABLE: &str = "\
Exit codes:
    0  success (with --no-wait: the resume handle was printed)
    1  local error: the output, handle or metadata file could not be written
    2  usage error: bad arguments, an input file that cannot be read, or a refused --dialect
    3  the operation failed or was canceled, or the final answer is an HTTP 4xx/5xx
    4  timed out (--max-time or the poll limit); the resume handle was saved if an operation
       had started
    5  protocol error: the server broke the LRO protocol or gave a refused URL
    6  transport error: the server could not be reached, or polls kept failing
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

/// The exit code for an error of the client stack.
pub fn code_for(err: &BoxError) -> i32 {
    match err.downcast_ref::<tower_lro::Error>() {
        // The SSRF guard refused an address: nothing was connected to.
        None if tower_lro::connect::Refused::find(err.as_ref()).is_some() => PROTOCOL,
        None => TRANSPORT,
        Some(e) => match e.kind() {
            ErrorKind::OperationFailed => FAILED,
            ErrorKind::Timeout | ErrorKind::PollLimit => TIMEOUT,
            ErrorKind::RetriesExhausted => TRANSPORT,
            // Protocol, Insecure, UnexpectedStatus, and kinds added later.
            _ => PROTOCOL,
        },
    }
}

/// An error and its causes on one line (`connection refused: ...`), bounded in length.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    tower_lro::gateway::error_chain(err)
}
