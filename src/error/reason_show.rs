//! How a [`Reason`](super::Reason)'s message shows what it quotes: a status, a header value,
//! a status word, an OData error, a body's complaint, a count of polls — what a server sent
//! escaped, bounded and masked.

use std::fmt;

use http::StatusCode;

use super::super::shown::{Shown, LIMIT};
use crate::status::{ODataError, OperationStatus, StatusBodyError};

/// `202 Accepted`, or the bare code for statuses without a reason phrase.
pub(super) struct ShowStatus(pub(super) StatusCode);

impl fmt::Display for ShowStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.canonical_reason() {
            Some(r) => write!(f, "{} {r}", self.0.as_u16()),
            None => write!(f, "{}", self.0.as_u16()),
        }
    }
}

/// A header value for a message: lossy, its credential values masked (a monitor URL's `sig=`,
/// a `user:password@`, relative URLs included: the value could not be read as a URL, so no
/// later masking of URLs in the message finds it), quoted, and cut short (servers may be
/// hostile). The URL masked is the one the layer reads: within white space and one pair of
/// double quotes (`"https://…"`), which are shown as sent.
pub(super) struct ShowValue<'a>(pub(super) &'a [u8]);

impl fmt::Display for ShowValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = masked_value(&String::from_utf8_lossy(self.0));
        let mut out: String = s.chars().take(200).collect();
        if s.chars().count() > 200 {
            out.push('…');
        }
        write!(f, "{out:?}")
    }
}

/// A header value (read lossily) with the credentials of the URL the layer reads in it masked:
/// within white space and one pair of double quotes, which are kept as sent.
fn masked_value(lossy: &str) -> String {
    let url = crate::parse::unquoted(lossy);
    let (before, after) = (&lossy[..url.start], &lossy[url.end..]);
    format!(
        "{before}{}{after}",
        crate::credentials::mask_url(&lossy[url])
    )
}

/// A status word the server sent, escaped and bounded.
pub(super) struct ShowWord<'a>(pub(super) &'a OperationStatus);

impl fmt::Display for ShowWord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.is_assumed() {
            // No answer gave a word: "still without a status after 2 polls".
            true => f.write_str("without a status"),
            false => Shown::new(self.0.as_str(), LIMIT).fmt(f),
        }
    }
}

/// An OData error's code and message (as `ODataError`'s own `Display` joins them), each
/// escaped and bounded.
pub(super) struct ShowOData<'a>(pub(super) &'a ODataError);

impl fmt::Display for ShowOData<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.code(), self.0.message()) {
            (Some(c), Some(m)) => write!(f, "{}: {}", Shown::new(c, LIMIT), Shown::new(m, LIMIT)),
            (Some(t), None) | (None, Some(t)) => Shown::new(t, LIMIT).fmt(f),
            (None, None) => self.0.fmt(f),
        }
    }
}

/// Why a body is not a status document: a JSON parser's complaint may quote the body, so
/// it is escaped and bounded.
pub(super) struct ShowBodyError<'a>(pub(super) &'a StatusBodyError);

impl fmt::Display for ShowBodyError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            StatusBodyError::NotJson(_) => Shown::new(&self.0.to_string(), 2 * LIMIT).fmt(f),
            other => other.fmt(f),
        }
    }
}

/// `1 poll`, `3 polls`.
pub(super) struct Polls(pub(super) u32);

impl fmt::Display for Polls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 poll"),
            n => write!(f, "{n} polls"),
        }
    }
}
