//! Answers that point elsewhere ([location monitors](crate::_protocol#location-monitors), [redirects](crate::_protocol#redirects)): a status monitor's redirects.

use http::header::{HeaderMap, LOCATION};
use http::StatusCode;

use super::link::Link;
use crate::error::{Reason, UrlProblem};

/// What a redirect on a status poll means.
pub(crate) enum Redirect {
    /// `303`/`302`: done; the result is at this URL.
    Done(Link),
    /// `301`/`307`/`308`: the monitor moved here.
    Moved(Link),
}

/// Reads a status poll's answer as a redirect, its `Location` resolved against the monitor;
/// `None` for an answer that is not one.
#[inline]
pub(crate) fn read(
    status: StatusCode,
    headers: &HeaderMap,
    monitor: &Link,
) -> Option<Result<Redirect, Reason>> {
    let done = match status.as_u16() {
        302 | 303 => true,
        301 | 307 | 308 => false,
        _ => return None,
    };
    let Some(value) = headers.get(LOCATION) else {
        return Some(Err(Reason::RedirectWithoutLocation { status }));
    };
    Some(match monitor.join_value(value) {
        Ok(next) if done => Ok(Redirect::Done(next)),
        Ok(next) => Ok(Redirect::Moved(next)),
        Err(e) => Err(Reason::BadHeader {
            status,
            name: LOCATION,
            value: value.clone(),
            why: UrlProblem::Unreadable(e),
        }),
    })
}
