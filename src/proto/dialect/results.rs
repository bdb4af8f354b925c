//! Where a declared dialect finds the result of a finished operation (`result`), and which
//! words that end an operation without success still leave one (`partial_result`).

use std::ops::Range;

use bytes::Bytes;
use http::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::super::json::pointer_span;
use super::super::pointer::Pointer;
use super::{header_text, invalid, pointer_string, resolve, DeclaredDialect, DialectError};
use super::{LookupError, Sources, Template};
use crate::vocab::{normalize, Meaning, Vocabulary};

/// Where the result of a finished operation is.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum ResultSource {
    /// A header of the terminal status response holding the result's URL.
    Header(String),
    /// A JSON pointer to the result's URL in the terminal status body.
    Pointer(Pointer),
    /// A URL template, as [`UrlSource::Template`](super::UrlSource::Template).
    Template(Template),
    /// A JSON pointer to the result itself, returned as the final response body.
    Embedded(Pointer),
    /// A JSON pointer to the result as a JSON document written into a string (AWS Step
    /// Functions' `output`): the document the string holds is the final body. A value that is
    /// not a string is the result itself, as with `embedded`; a string that holds no JSON
    /// document is an error.
    EmbeddedJson(Pointer),
}

/// Where the result of a finished operation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResultTarget {
    /// `GET` this URL.
    Fetch(Url),
    /// These bytes of the terminal status body are the final response body.
    Embedded(Range<usize>),
    /// The final response body, decoded from a string of the terminal status body.
    Decoded(Bytes),
}

/// Characters of a string that holds no JSON document shown in the error.
const SHOWN: usize = 64;

impl DeclaredDialect {
    /// Where the result of a finished operation is, from its terminal status response:
    /// `body` is the raw body, `parsed` its JSON. `Ok(None)`: no source found anything, so the
    /// terminal status response is the final response (on success).
    pub(crate) fn result(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        parsed: Option<&Value>,
        urls: (&Url, Option<&Url>),
    ) -> Result<Option<ResultTarget>, LookupError> {
        let (response_url, submission_url) = urls;
        let base = self.base().ok().flatten();
        let src = Sources {
            body: parsed.unwrap_or(&Value::Null),
            headers,
            status_url: Some(response_url),
            submission_url,
        };
        let span = |p: &Pointer| {
            let found = parsed.filter(|v| p.find(v).is_some_and(|v| !v.is_null()));
            let plain = found.and_then(|v| p.concrete(v));
            plain.and_then(|plain| pointer_span(body, &plain))
        };
        for source in &self.result {
            let found = match source {
                ResultSource::Embedded(p) | ResultSource::EmbeddedJson(p) => {
                    // A string `embedded_json` names holds the document; any other value is
                    // the result itself, as `embedded`'s.
                    let text = match source {
                        ResultSource::EmbeddedJson(_) => parsed.and_then(|v| p.find(v)),
                        _ => None,
                    };
                    if let Some(text) = text.and_then(Value::as_str) {
                        return decoded(p, text).map(Some);
                    }
                    match span(p) {
                        Some(span) => return Ok(Some(ResultTarget::Embedded(span))),
                        None => None,
                    }
                }
                ResultSource::Header(h) => header_text(headers, h, "header"),
                ResultSource::Pointer(p) => parsed.and_then(|b| pointer_string(b, p)),
                ResultSource::Template(t) => t.expand(&src),
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

    /// Whether `word` ends an operation without success but leaves a result its `result`
    /// sources find (`partial_result`).
    pub(crate) fn leaves_result(&self, word: &str) -> bool {
        let key = normalize(word);
        self.partial_result
            .iter()
            .any(|w| normalize(w).as_str() == key.as_str())
    }

    /// Checks `partial_result`: every word is one `vocab` (the default vocabulary and the
    /// description's words) reads as failed or canceled, and a `result` says where to look.
    pub(super) fn check_partial(&self, vocab: &Vocabulary) -> Result<(), DialectError> {
        if self.partial_result.is_empty() {
            return Ok(());
        }
        if self.result.is_empty() {
            return Err(invalid(
                "partial_result",
                "no `result` says where the partial result is",
            ));
        }
        for word in &self.partial_result {
            let meaning = vocab.classify(word).meaning;
            if !matches!(meaning, Meaning::Failed | Meaning::Canceled) {
                return Err(invalid(
                    "partial_result",
                    format!("`{word}` means {meaning}, not failed or canceled"),
                ));
            }
        }
        Ok(())
    }
}

/// The JSON document the string `text` at `p` holds, as the final body. A byte order mark
/// before it is ignored, as before a status body, and not sent on (RFC 8259 §8.1).
fn decoded(p: &Pointer, text: &str) -> Result<ResultTarget, LookupError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => Ok(ResultTarget::Decoded(Bytes::copy_from_slice(
            text.as_bytes(),
        ))),
        Err(_) => Err(LookupError {
            source: format!("pointer `{p}`"),
            value: match text.char_indices().nth(SHOWN) {
                Some((end, _)) => format!("{}…", &text[..end]),
                None => text.to_owned(),
            },
            problem: "a string that holds no JSON document".to_owned(),
        }),
    }
}
