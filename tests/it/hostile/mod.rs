//! Hostile servers (issue 3): every bad input a status monitor can send, and the security
//! rules of spec §7.
//!
//! Most tests drive the service through `tower-test` mocks with Tokio's clock paused, so poll
//! times are exact. The credential tests use two real loopback listeners (two origins: same
//! host, different ports) and a real hyper-util client, and so run on the real clock with the
//! waits shrunk to a few milliseconds.
//!
//! One module a concern: wait hints (`hints`), monitor headers (`monitors`), status bodies
//! (`bodies`), timeouts, transient failures and the resource fetch (`ends`), what requests carry
//! and to which origin (`origins`), bodies without a length (`streamed`), what errors print
//! (`masking`).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body as _;
use http_body_util::Full;
use tokio::time::Instant;
use tower::{Layer, ServiceExt};
use tower_lro::__private::{Reason, UrlProblem};
use tower_lro::{ErrorKind, LroLayer, LroMetadata, LroOptions, OperationStatus, StatusMeaning};
use tower_test::mock;

use crate::support::mock::{body_text, ol, submit, MONITOR, SUB};
use crate::support::{self, lro_error, resp, submission, Op, Req, RUNNING, SUCCEEDED};

mod bodies;
mod ends;
mod hints;
mod masking;
mod monitors;
mod origins;
mod streamed;
