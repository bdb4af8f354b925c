//! Declared dialects (spec §10): a plain-data description of a service's long-running
//! operations — where the status URL, the status word, the result and the error are — that a
//! config file or a command line can carry, so a service is resolved without code.
//!
//! The description deserializes from JSON (unknown fields are errors, so a typo in a config
//! file is reported, not ignored) and is checked by [`DeclaredDialect::from_json`]. Its methods
//! are pure: they read a response's headers and parsed body and say what they found.
//!
//! Example descriptions for DigitalOcean actions, a HAL task resource, Speech batch
//! transcription, Durable Functions and Graph's Teams operations are in
//! `tests/fixtures/dialects/`.

use std::fmt;
use std::ops::Range;

use http::header::{HeaderMap, HeaderName};
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use super::json::{at_or_under, is_pointer, lookup_text, pointer_span};
use crate::vocab::{error_value_reports_failure, normalize, Classified, Meaning, Vocabulary};

/// Where a URL is found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum UrlSource {
    /// A response header: `{"header": "Location"}`.
    Header(String),
    /// A JSON pointer to a string in the body: `{"pointer": "/links/actions/0/href"}`.
    Pointer(String),
    /// A URL with `{pointer}` placeholders filled from the body, each value escaped as one path
    /// segment: `{"template": "https://api.digitalocean.com/v2/actions/{/action/id}"}`.
    Template(String),
}

/// Where the result of a finished operation is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ResultSource {
    /// A header of the terminal status response holding the result's URL.
    Header(String),
    /// A JSON pointer to the result's URL in the terminal status body.
    Pointer(String),
    /// A URL template, as [`UrlSource::Template`].
    Template(String),
    /// A JSON pointer to the result itself, returned as the final response body.
    Embedded(String),
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
    fn is_empty(&self) -> bool {
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

/// A declared dialect: how to find a service's status URL, status word, result and error.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeclaredDialect {
    /// A name for messages and metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    /// Where the service documents this (a URL), for people reading the description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) doc: Option<String>,
    /// Where the status URL is, in the submission response; the first source that finds one
    /// wins. One source or a list. (A monitor that moves says so with a `301`/`307`/`308`.)
    #[serde(deserialize_with = "one_or_many")]
    pub(crate) status_url: Vec<UrlSource>,
    /// Which submission statuses start polling. Default `[202]`.
    #[serde(default = "default_start_on")]
    pub(crate) start_on: Vec<u16>,
    /// Poll statuses outside `2xx` whose body is still a status body (Durable Functions answers
    /// `400` for a failed or terminated instance). Default none: such a poll is an error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) status_body_on: Vec<u16>,
    /// A JSON pointer to the status word: `/action/status`, `/runtimeStatus`.
    pub(crate) status_word: String,
    /// Words of the service's own, added to the default vocabulary.
    #[serde(default, skip_serializing_if = "Words::is_empty")]
    pub(crate) words: Words,
    /// Where the result is once the operation succeeded; the first source that finds one
    /// wins. None: the terminal status response is the final response.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) result: Vec<ResultSource>,
    /// A JSON pointer to the error details of a failed operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
    /// Whether an error at `error` that reports one (§3's rule) makes a success word, or a
    /// missing word, a failure. Default `true`; `false` for services whose `error` pointer also
    /// holds ordinary output.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub(crate) error_marks_failure: bool,
    /// Base for root-relative URLs (`/teams('id')/operations('id')` under
    /// `https://graph.microsoft.com/v1.0`); other relative URLs resolve against the response's
    /// own URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base_url: Option<String>,
}

fn default_start_on() -> Vec<u16> {
    vec![202]
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// One item or a list of them.
fn one_or_many<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    let value = Value::deserialize(d)?;
    let items = match value {
        Value::Array(_) => serde_json::from_value(value),
        one => serde_json::from_value(one).map(|item| vec![item]),
    };
    items.map_err(serde::de::Error::custom)
}

/// A description that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DialectError {
    /// Not valid JSON for a description (serde's message, with line and column).
    Parse(String),
    /// A field whose value cannot work.
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl fmt::Display for DialectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "dialect description: {e}"),
            Self::Invalid { field, problem } => {
                write!(f, "dialect description, `{field}`: {problem}")
            }
        }
    }
}

impl std::error::Error for DialectError {}

fn invalid(field: &'static str, problem: impl Into<String>) -> DialectError {
    DialectError::Invalid {
        field,
        problem: problem.into(),
    }
}

/// A URL a description pointed at that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LookupError {
    /// Where it was found: "header `Location`", "pointer `/self`", "template `...`".
    pub(crate) source: String,
    /// What was found there.
    pub(crate) value: String,
    /// Why it cannot be used.
    pub(crate) problem: String,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} holds `{}`, {}",
            self.source, self.value, self.problem
        )
    }
}

impl std::error::Error for LookupError {}

/// Where the result of a finished operation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResultTarget {
    /// `GET` this URL.
    Fetch(Url),
    /// These bytes of the terminal status body are the final response body.
    Embedded(Range<usize>),
}

/// A status body read through a description.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StatusReading<'a> {
    /// The word as sent; `None` when the pointer finds no string.
    pub(crate) word: Option<&'a str>,
    /// The word's reading (running, unrecognised, when there is no word).
    pub(crate) classified: Classified,
    /// The meaning after the error rule (see [`DeclaredDialect::error_marks_failure`]).
    pub(crate) meaning: Meaning,
    /// The value at the error pointer, when there is one and it is not `null`.
    pub(crate) error: Option<&'a Value>,
}

fn check_pointer(field: &'static str, pointer: &str) -> Result<(), DialectError> {
    if is_pointer(pointer) {
        Ok(())
    } else {
        Err(invalid(field, format!("`{pointer}` is not a JSON pointer (it starts with `/`; `~` is written `~0`, `/` in a key `~1`)")))
    }
}

fn check_header(field: &'static str, name: &str) -> Result<(), DialectError> {
    HeaderName::from_bytes(name.as_bytes())
        .map(drop)
        .map_err(|_| invalid(field, format!("`{name}` is not a header name")))
}

fn check_template(field: &'static str, template: &str) -> Result<(), DialectError> {
    for piece in placeholders(template).map_err(|p| invalid(field, p))? {
        if let Piece::Pointer(p) = piece {
            check_pointer(field, p)?;
        }
    }
    Ok(())
}

impl DeclaredDialect {
    /// Reads and checks a description.
    pub(crate) fn from_json(text: &str) -> Result<Self, DialectError> {
        let dialect: Self =
            serde_json::from_str(text).map_err(|e| DialectError::Parse(e.to_string()))?;
        dialect.validate()?;
        Ok(dialect)
    }

    /// Checks what serde cannot: pointers, header names, templates, statuses, the base URL,
    /// and that no word has two meanings.
    pub(crate) fn validate(&self) -> Result<(), DialectError> {
        if self.status_url.is_empty() {
            return Err(invalid("status_url", "no source given"));
        }
        for source in &self.status_url {
            match source {
                UrlSource::Header(h) => check_header("status_url", h)?,
                UrlSource::Pointer(p) => check_pointer("status_url", p)?,
                UrlSource::Template(t) => check_template("status_url", t)?,
            }
        }
        for source in &self.result {
            match source {
                ResultSource::Header(h) => check_header("result", h)?,
                ResultSource::Pointer(p) | ResultSource::Embedded(p) => check_pointer("result", p)?,
                ResultSource::Template(t) => check_template("result", t)?,
            }
        }
        check_pointer("status_word", &self.status_word)?;
        if let Some(p) = &self.error {
            check_pointer("error", p)?;
        }
        if self.start_on.is_empty() {
            return Err(invalid("start_on", "no status given"));
        }
        if let Some(s) = self.start_on.iter().find(|s| !(200..300).contains(*s)) {
            return Err(invalid("start_on", format!("{s} is not a 2xx status")));
        }
        if let Some(s) = self
            .status_body_on
            .iter()
            .find(|s| !(400..600).contains(*s))
        {
            return Err(invalid(
                "status_body_on",
                format!("{s} is not a 4xx or 5xx status"),
            ));
        }
        self.base()?;
        self.check_words()
    }

    fn check_words(&self) -> Result<(), DialectError> {
        let mut seen: Vec<(String, Meaning)> = Vec::new();
        for (meaning, word) in self.words.all() {
            let key = normalize(word).as_str().to_owned();
            if key.is_empty() {
                return Err(invalid(
                    "words",
                    format!("`{word}` is empty once spaces, `-` and `_` are ignored"),
                ));
            }
            if let Some((_, other)) = seen.iter().find(|(k, m)| *k == key && *m != meaning) {
                return Err(invalid(
                    "words",
                    format!("`{word}` is listed as both {other} and {meaning}"),
                ));
            }
            seen.push((key, meaning));
        }
        Ok(())
    }

    /// The base URL, parsed; it must be an absolute http(s) URL.
    pub(crate) fn base(&self) -> Result<Option<Url>, DialectError> {
        let Some(raw) = &self.base_url else {
            return Ok(None);
        };
        match Url::parse(raw) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(Some(url)),
            _ => Err(invalid(
                "base_url",
                format!("`{raw}` is not an absolute http(s) URL"),
            )),
        }
    }

    /// Whether a submission answered with `status` starts polling.
    pub(crate) fn starts_polling(&self, status: StatusCode) -> bool {
        self.start_on.contains(&status.as_u16())
    }

    /// Whether a poll answered with `status` carries a status body.
    pub(crate) fn is_status_body(&self, status: StatusCode) -> bool {
        status.is_success() || self.status_body_on.contains(&status.as_u16())
    }

    /// The default vocabulary with this description's words added.
    #[cfg(test)]
    pub(crate) fn vocabulary(&self) -> Vocabulary {
        let mut vocab = Vocabulary::new();
        self.extend(&mut vocab);
        vocab
    }

    /// Adds this description's words to `vocab` (a layer's own vocabulary, say).
    pub(crate) fn extend(&self, vocab: &mut Vocabulary) {
        for (meaning, word) in self.words.all() {
            vocab.add(meaning, word);
        }
    }

    /// The status URL of a response, from the first source that finds one. `Ok(None)`: no
    /// source found anything. A value that is found but is not a usable URL is an error.
    pub(crate) fn status_url(
        &self,
        headers: &HeaderMap,
        body: Option<&Value>,
        response_url: &Url,
    ) -> Result<Option<Url>, LookupError> {
        let base = self.base().ok().flatten();
        for source in &self.status_url {
            let found = match source {
                UrlSource::Header(h) => header_text(headers, h, "header"),
                UrlSource::Pointer(p) => body.and_then(|b| pointer_string(b, p)),
                UrlSource::Template(t) => body.and_then(|b| expand_template(b, t)),
            };
            if let Some((what, raw)) = found {
                return resolve(&raw, response_url, base.as_ref())
                    .map(Some)
                    .map_err(|problem| LookupError {
                        source: what,
                        value: raw,
                        problem,
                    });
            }
        }
        Ok(None)
    }

    /// Whether a member at `dup` (a JSON pointer) is one the description reads: the status
    /// word, the error (or inside it), a URL or result pointer, a template's placeholder, the
    /// progress figure — or an ancestor of one. A status body where such a member comes twice
    /// is malformed; duplicates elsewhere are left alone.
    pub(crate) fn consults(&self, dup: &str) -> bool {
        let reads = |pointer: &str| at_or_under(pointer, dup);
        let template = |t: &str| {
            placeholders(t)
                .map(|pieces| {
                    pieces
                        .iter()
                        .any(|p| matches!(p, Piece::Pointer(q) if reads(q)))
                })
                .unwrap_or(false)
        };
        reads(&self.status_word)
            || self
                .error
                .as_deref()
                .is_some_and(|e| reads(e) || at_or_under(dup, e))
            || matches!(dup, "/percentComplete" | "/progress")
            || self.status_url.iter().any(|s| match s {
                UrlSource::Header(_) => false,
                UrlSource::Pointer(p) => reads(p),
                UrlSource::Template(t) => template(t),
            })
            || self.result.iter().any(|s| match s {
                ResultSource::Header(_) => false,
                ResultSource::Pointer(p) | ResultSource::Embedded(p) => reads(p),
                ResultSource::Template(t) => template(t),
            })
    }

    /// Reads the status word and the error of a status body with `vocab` (usually
    /// [`DeclaredDialect::vocabulary`]).
    pub(crate) fn read_status<'a>(&self, vocab: &Vocabulary, body: &'a Value) -> StatusReading<'a> {
        let word = body.pointer(&self.status_word).and_then(Value::as_str);
        let classified = match word {
            Some(w) => vocab.classify(w),
            None => Classified {
                meaning: Meaning::Running,
                recognised: false,
            },
        };
        let error = self
            .error
            .as_deref()
            .and_then(|p| body.pointer(p))
            .filter(|e| !e.is_null());
        let reports = self.error_marks_failure && error.is_some_and(error_value_reports_failure);
        let meaning = match classified.meaning {
            Meaning::Succeeded if reports => Meaning::Failed,
            Meaning::Running if reports && word.is_none() => Meaning::Failed,
            m => m,
        };
        StatusReading {
            word,
            classified,
            meaning,
            error,
        }
    }

    /// Where the result of a succeeded operation is, from its terminal status response:
    /// `body` is the raw body, `parsed` its JSON. `Ok(None)`: no source found anything, so the
    /// terminal status response is the final response.
    pub(crate) fn result(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        parsed: Option<&Value>,
        response_url: &Url,
    ) -> Result<Option<ResultTarget>, LookupError> {
        let base = self.base().ok().flatten();
        for source in &self.result {
            let found = match source {
                ResultSource::Embedded(p) => match pointer_span(body, p) {
                    Some(span)
                        if parsed
                            .and_then(|v| v.pointer(p))
                            .is_some_and(|v| !v.is_null()) =>
                    {
                        return Ok(Some(ResultTarget::Embedded(span)))
                    }
                    _ => None,
                },
                ResultSource::Header(h) => header_text(headers, h, "header"),
                ResultSource::Pointer(p) => parsed.and_then(|b| pointer_string(b, p)),
                ResultSource::Template(t) => parsed.and_then(|b| expand_template(b, t)),
            };
            if let Some((what, raw)) = found {
                return resolve(&raw, response_url, base.as_ref())
                    .map(|u| Some(ResultTarget::Fetch(u)))
                    .map_err(|problem| LookupError {
                        source: what,
                        value: raw,
                        problem,
                    });
            }
        }
        Ok(None)
    }
}

fn header_text(headers: &HeaderMap, name: &str, what: &str) -> Option<(String, String)> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    Some((format!("{what} `{name}`"), text.to_owned()))
}

fn pointer_string(body: &Value, pointer: &str) -> Option<(String, String)> {
    let text = body.pointer(pointer)?.as_str()?.trim();
    (!text.is_empty()).then(|| (format!("pointer `{pointer}`"), text.to_owned()))
}

/// A piece of a URL template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Literal(&'a str),
    Pointer(&'a str),
}

/// Splits a template into literals and `{pointer}` placeholders.
fn placeholders(template: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes().get(open) == Some(&b'}') {
            return Err(format!("`{template}` has a `}}` without a `{{`"));
        }
        let after = rest.get(open + 1..).unwrap_or("");
        let close = after
            .find(['{', '}'])
            .filter(|&i| after.as_bytes().get(i) == Some(&b'}'))
            .ok_or_else(|| format!("`{template}` has a `{{` without a `}}`"))?;
        pieces.push(Piece::Literal(&rest[..open]));
        pieces.push(Piece::Pointer(&after[..close]));
        rest = &after[close + 1..];
    }
    pieces.push(Piece::Literal(rest));
    Ok(pieces)
}

/// Fills a template's placeholders from `body`; `None` when one finds nothing.
fn expand_template(body: &Value, template: &str) -> Option<(String, String)> {
    let mut out = String::new();
    for piece in placeholders(template).ok()? {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Pointer(p) => escape_segment(&lookup_text(body, p)?, &mut out),
        }
    }
    Some((format!("template `{template}`"), out))
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn escape_segment(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Resolves a URL a description found: absolute as it is; root-relative (`/x`) appended to the
/// base URL's path when a base is configured; other relative references against the base
/// (with a trailing `/`) or, without one, against the response's own URL (RFC 3986). The
/// result must be http(s).
pub(crate) fn resolve(raw: &str, response_url: &Url, base: Option<&Url>) -> Result<Url, String> {
    let joined = match base {
        Some(base) if raw.starts_with('/') && !raw.starts_with("//") => {
            let mut url = base.clone();
            let (before_fragment, _) = raw.split_once('#').unwrap_or((raw, ""));
            let (path, query) = match before_fragment.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (before_fragment, None),
            };
            let joined_path = format!("{}{path}", base.path().trim_end_matches('/'));
            url.set_path(&joined_path);
            url.set_query(query);
            url.set_fragment(None);
            Ok(url)
        }
        Some(base) => {
            let mut dir = base.clone();
            if !dir.path().ends_with('/') {
                let path = format!("{}/", dir.path());
                dir.set_path(&path);
            }
            dir.join(raw)
        }
        None => response_url.join(raw),
    };
    match joined {
        Ok(mut url) if matches!(url.scheme(), "http" | "https") => {
            url.set_fragment(None);
            Ok(url)
        }
        Ok(url) => Err(format!("which is not an http(s) URL (`{url}`)")),
        Err(e) => Err(format!("which is not a URL ({e})")),
    }
}

#[cfg(test)]
#[path = "declared_tests.rs"]
mod tests;
