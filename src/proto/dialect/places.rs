//! The parts of a declared dialect's description that are parsed once when it is read: where
//! a text is (a pointer or a header), the service's own words, what an HTTP status means, and
//! how a progress figure reads as a percentage.

use std::borrow::Cow;

use http::header::HeaderMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::super::json::text_of;
use super::super::pointer::Pointer;
use super::{check_header, DialectError};
use crate::vocab::Meaning;

/// `status_word`: one place or a list of them; `null`, as when it was one place at most, is
/// none.
pub(super) fn word_places<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Place>, D::Error> {
    let places = match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        list @ Value::Array(_) => serde_json::from_value(list),
        one => serde_json::from_value(one).map(|place| vec![place]),
    };
    places.map_err(serde::de::Error::custom)
}

/// A list of one place written as its one item, as [`word_places`] reads it.
pub(super) fn one_or_list<S: serde::Serializer>(items: &[Place], s: S) -> Result<S::Ok, S::Error> {
    match items {
        [one] => one.serialize(s),
        all => all.serialize(s),
    }
}

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

    /// The operation id at this place: a string or a number at the pointer (a boolean is no
    /// id), or the header's value; trimmed, and none when empty.
    pub(super) fn id<'a>(&self, headers: &'a HeaderMap, body: &'a Value) -> Option<Cow<'a, str>> {
        let text = match self {
            Place::Pointer(p) => p.find(body).filter(|v| !v.is_boolean()).and_then(text_of),
            Place::Header { .. } => self.text(headers, body),
        }?;
        match text {
            Cow::Borrowed(t) => Some(Cow::Borrowed(t.trim())),
            Cow::Owned(t) => Some(Cow::Owned(t.trim().to_owned())),
        }
        .filter(|t| !t.is_empty())
    }

    pub(super) fn check(&self, field: &'static str) -> Result<(), DialectError> {
        match self {
            Place::Pointer(_) => Ok(()),
            Place::Header { header } => check_header(field, header),
        }
    }
}

/// Extra status words per meaning, added to the default vocabulary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Words {
    /// Words that mean the operation succeeded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) succeeded: Vec<String>,
    /// Words that mean the operation failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) failed: Vec<String>,
    /// Words that mean the operation was canceled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) canceled: Vec<String>,
    /// Words that mean the operation is still running.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) running: Vec<String>,
}

impl Words {
    pub(super) fn is_empty(&self) -> bool {
        self.all().next().is_none()
    }

    /// Every word with its meaning.
    pub(crate) fn all(&self) -> impl Iterator<Item = (Meaning, &str)> {
        fn tag(m: Meaning, v: &[String]) -> impl Iterator<Item = (Meaning, &str)> {
            v.iter().map(move |w| (m, w.as_str()))
        }
        tag(Meaning::Succeeded, &self.succeeded)
            .chain(tag(Meaning::Failed, &self.failed))
            .chain(tag(Meaning::Canceled, &self.canceled))
            .chain(tag(Meaning::Running, &self.running))
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
