//! The parts of a declared dialect's description that are parsed once when it is read: where
//! a text is (a pointer or a header), what an HTTP status means, and how a
//! progress figure reads as a percentage.

use std::borrow::Cow;

use http::header::HeaderMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::super::json::text_of;
use super::super::pointer::Pointer;
use super::{check_header, DialectError};
use crate::vocab::Meaning;

/// Where a text is: a JSON pointer into the body, or a response header. Written as a pointer
/// string, `{"pointer": "/status"}` or `{"header": "x-ms-copy-status"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum Place {
    /// A JSON pointer into the body (serialized as the bare string).
    Pointer(Pointer),
    /// A response header.
    Header {
        /// The header's name.
        header: String,
    },
}

impl<'de> Deserialize<'de> for Place {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        enum Tagged {
            Pointer(Pointer),
            Header(String),
        }
        let place = match Value::deserialize(d)? {
            Value::String(text) => Pointer::parse(&text)
                .map(Place::Pointer)
                .map_err(|e| e.to_string()),
            other => serde_json::from_value(other)
                .map(|t| match t {
                    Tagged::Pointer(p) => Place::Pointer(p),
                    Tagged::Header(header) => Place::Header { header },
                })
                .map_err(|e| {
                    format!("{e} (a pointer, `{{\"pointer\": …}}` or `{{\"header\": …}}`)")
                }),
        };
        place.map_err(serde::de::Error::custom)
    }
}

impl Place {
    /// The text at this place: a string (or a number or boolean written out) at the pointer,
    /// or the header's value, trimmed.
    pub(super) fn text<'a>(&self, headers: &'a HeaderMap, body: &'a Value) -> Option<Cow<'a, str>> {
        match self {
            Place::Pointer(p) => p.find(body).and_then(text_of),
            Place::Header { header } => headers
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .map(|v| Cow::Borrowed(v.trim())),
        }
    }

    /// The progress as text, when this place holds text (a header, a string): FHIR's free
    /// `X-Progress`. `None` when it is empty or not a string.
    pub(crate) fn progress_text<'a>(
        &self,
        headers: &'a HeaderMap,
        body: &'a Value,
    ) -> Option<Cow<'a, str>> {
        let text = match self {
            Place::Pointer(p) => p.find(body).and_then(Value::as_str).map(Cow::Borrowed),
            Place::Header { .. } => self.text(headers, body),
        };
        text.filter(|t| !t.trim().is_empty())
    }

    pub(super) fn check(&self, field: &'static str) -> Result<(), DialectError> {
        match self {
            Place::Pointer(_) => Ok(()),
            Place::Header { header } => check_header(field, header),
        }
    }
}

/// A key of `status_codes`: one status (`"202"`) or a class (`"4xx"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) enum CodeKey {
    /// One status.
    Exact(u16),
    /// Every status of a class: `4` for `4xx`.
    Class(u16),
}

impl TryFrom<String> for CodeKey {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        let key = match text.as_bytes() {
            [c, x, y] if x.eq_ignore_ascii_case(&b'x') && y.eq_ignore_ascii_case(&b'x') => {
                Some(CodeKey::Class(u16::from(c.wrapping_sub(b'0'))))
            }
            _ => text.parse().ok().map(CodeKey::Exact),
        };
        let class = match key {
            Some(CodeKey::Exact(s)) if (200..600).contains(&s) => s / 100,
            Some(CodeKey::Class(c)) => c,
            _ => 0,
        };
        match (key, class) {
            (Some(key), 2 | 4 | 5) => Ok(key),
            (Some(_), 3) => Err(format!("`{text}` in `status_codes`: a 3xx is followed as a redirect")),
            _ => Err(format!("`{text}` in `status_codes` is not a status (`202`) or a class (`4xx`) of 2xx, 4xx or 5xx")),
        }
    }
}

impl From<CodeKey> for String {
    fn from(k: CodeKey) -> String {
        match k {
            CodeKey::Exact(s) => s.to_string(),
            CodeKey::Class(c) => format!("{c}xx"),
        }
    }
}

/// What an HTTP status means in `status_codes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CodeMeaning {
    /// Still running.
    Running,
    /// Done, succeeded.
    Succeeded,
    /// Done, failed (the body is read for `error`).
    Failed,
    /// Done, canceled.
    Canceled,
}

impl From<CodeMeaning> for Meaning {
    fn from(m: CodeMeaning) -> Meaning {
        match m {
            CodeMeaning::Running => Meaning::Running,
            CodeMeaning::Succeeded => Meaning::Succeeded,
            CodeMeaning::Failed => Meaning::Failed,
            CodeMeaning::Canceled => Meaning::Canceled,
        }
    }
}

/// A progress value as a percentage: a number as it is; a text by [`percent_text`].
pub(super) fn percent_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => percent_text(s),
        _ => None,
    }
}

/// `42`, `42%` or `a/b` (bytes copied of a total: Azure's `x-ms-copy-progress`) as a
/// percentage; any other text (FHIR's free `X-Progress`) is none.
pub(super) fn percent_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|n| n.is_finite());
    let pct = match text.split_once('/') {
        Some((done, total)) => {
            let (done, total) = (number(done)?, number(total)?);
            (total > 0.0).then(|| done / total * 100.0)?
        }
        None => number(text.strip_suffix('%').unwrap_or(text))?,
    };
    (0.0..=100.0).contains(&pct).then_some(pct)
}
