//! Declared dialects ([dialects](crate::_protocol#dialects)): a plain-data description of a service's long-running
//! operations — where the status URL, the status word, the result and the error are — that a
//! config file or a command line can carry, so a service is resolved without code.
//!
//! The description deserializes from JSON (unknown fields are errors, so a typo in a config
//! file is reported, not ignored) and is checked by [`DeclaredDialect::from_json`]. Its methods
//! are pure: they read a response's headers and parsed body and say what they found.
//!
//! Pointers are JSON pointers with selectors (`pointer.rs`), and templates are split, once,
//! when the description is read. The status word may come from a header, and `status_codes`
//! give a poll answer's meaning by its HTTP status when it carries no word.
//!
//! Example descriptions for DigitalOcean actions, a HAL task resource, Speech batch
//! transcription, Durable Functions, Graph's Teams operations, Azure Blob copy, FHIR bulk
//! export, OGC API – Processes, Celery through Flower and AWS MediaConvert are in
//! `tests/fixtures/dialects/`.

use std::collections::BTreeMap;
use std::fmt;

use http::header::{HeaderMap, HeaderName};
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use super::pointer::Pointer;
pub(crate) use super::standards::ErrorAnswers;

#[path = "cancel_answer.rs"]
mod cancel_answer;
#[path = "error_places.rs"]
mod error_places;
#[path = "places.rs"]
mod places;
#[path = "results.rs"]
mod results;
pub(crate) use super::check::{CheckMethod, RequestSpec};
pub(crate) use super::template::{resolve, Sources, Template};
use crate::vocab::{normalize, Classified, Meaning, Vocabulary};
pub(crate) use cancel_answer::CancelAnswer;
pub(crate) use error_places::{ErrorPlaces, FoundError};
use places::{percent_of, percent_text};
pub(crate) use places::{CodeKey, CodeMeaning, Place, Words};
pub(crate) use results::{ResultSource, ResultTarget};

/// Where a URL is found.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum UrlSource {
    /// A response header: `{"header": "Location"}`.
    Header(String),
    /// A JSON pointer to a string in the body: `{"pointer": "/links/actions/0/href"}`.
    Pointer(Pointer),
    /// A URL with placeholders (`template.rs`: body pointers, headers, the submission's URL),
    /// each value from the body or a header escaped as one path segment:
    /// `{"template": "https://api.digitalocean.com/v2/actions/{/action/id}"}`.
    Template(Template),
    /// The submission's own URL (a copy, a resource that reports its own state): `"self"`.
    #[serde(rename = "self")]
    Own,
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
    /// Where the status word is: a JSON pointer (`/action/status`, `/runtimeStatus`), or
    /// `{"header": "x-ms-copy-status"}`, or `{"pointer": …}`; or a list of them, the first
    /// that finds a word wins (Databricks says `state.result_state` once a run is over,
    /// `state.life_cycle_state` before). May be left out when `status_codes` say what every
    /// answer means (FHIR bulk export).
    #[serde(
        default,
        deserialize_with = "places::word_places",
        serialize_with = "places::one_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) status_word: Vec<Place>,
    /// What a poll answer means by its HTTP status when it carries no status word: `"202"` or
    /// a class `"4xx"`, to `running`, `succeeded`, `failed` or `canceled`. A listed status
    /// outside `2xx` is a status answer (its body is read for the error), not a transient error.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) status_codes: BTreeMap<CodeKey, CodeMeaning>,
    /// Where the progress is: a pointer or a header holding a number (a percentage), `a/b`
    /// (`x-ms-copy-progress: 1024/4096` is 25 %) or `n%`. Default: a top-level
    /// `percentComplete` or `progress` number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) progress: Option<Place>,
    /// Where the operation's id is, as `status_word` says where the word is: a pointer (a
    /// string, or a number written out) or `{"header": …}`. Read from the submission's answer
    /// and from every status answer that carries one (the latest wins; one without keeps the
    /// id known), it is the id metadata and resume handles report and what `/operation_id` in
    /// a `cancel` template reads (Flower's `task-id`). Absent: the operation has no id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) operation_id: Option<Place>,
    /// Words of the service's own, added to the default vocabulary.
    #[serde(default, skip_serializing_if = "Words::is_empty")]
    pub(crate) words: Words,
    /// Where the result is once the operation succeeded (or ended with a `partial_result`
    /// word); the first source that finds one wins. None: the terminal status response is the
    /// final response of a success.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub(crate) result: Vec<ResultSource>,
    /// Words that end an operation without success (failed or canceled) but leave a result
    /// (OpenAI's `expired` and `cancelled` batches keep the output of the requests that were
    /// done): the `result` sources are read as on success, and what they find is delivered,
    /// the metadata keeping the word and its meaning; when none finds one, the operation ends
    /// as the word says.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) partial_result: Vec<String>,
    /// Where the error of a failed operation is: a JSON pointer to its details, or a list of
    /// them, the first that finds a value that is not `null` (OGC's `exception`, else its
    /// `message`); or `{"code": …, "message": …}`, each a place or a list of places, for a
    /// service that writes them apart (AWS Step Functions' `error` and `cause`).
    #[serde(default, skip_serializing_if = "ErrorPlaces::is_empty")]
    pub(crate) error: ErrorPlaces,
    /// The document the service's error answers (`4xx`, `5xx`) carry when the operation
    /// failed: `"operation-outcome"` (FHIR). Such an answer ends the operation as failed with
    /// its diagnostics; other error answers are judged as usual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_answers: Option<ErrorAnswers>,
    /// How an error at `error` that reports one ([the status-body rule](crate::_protocol#status-bodies)) is read. Left out: it makes a
    /// missing word a failure, and a success word stays a success (services whose `error`
    /// place also holds ordinary output, such as a task's `result`). `true`: it also makes a
    /// success word a failure. `false`: it never decides the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_marks_failure: Option<bool>,
    /// How the status is asked for, when not with a plain `GET`: `{"method": "HEAD"}` (the
    /// status is in the headers; on success the status URL is fetched with `GET`, as the
    /// resource itself, unless `result` says otherwise), or `{"method": "POST", "headers":
    /// {…}, "body": {…}}` (`check.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status_request: Option<RequestSpec>,
    /// How the result is fetched, when not with a plain `GET` (as `status_request`; its
    /// templates read the terminal status answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) result_request: Option<RequestSpec>,
    /// Base for root-relative URLs (`/teams('id')/operations('id')` under
    /// `https://graph.microsoft.com/v1.0`) and for every other relative form, network-path
    /// references (`//x`) included: with a base, a found URL never leaves it but by being
    /// absolute. Without one, relative URLs resolve against the response's own URL (the
    /// submission's for `status_url`, the status URL's for `result`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) base_url: Option<String>,
    /// How to cancel an operation: `{"method": "DELETE"|"POST"|"PATCH"|"PUT", "url":
    /// {"template": …}}` (`url` left out: the status URL), with `headers` and, but for
    /// `DELETE`, a JSON `body`; `answer` says where a `2xx` answer tells whether the server
    /// did anything (`cancel_answer.rs`). Absent: operations of this dialect are not cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cancel: Option<crate::proto::cancel::DeclaredCancel>,
    /// Which submissions without a `Prefer` of their own are sent with
    /// `Prefer: respond-async` (`prefer.rs`). Absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prefer_async: Option<super::prefer::PreferAsync>,
}

fn default_start_on() -> Vec<u16> {
    vec![202]
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

/// A status body read through a description.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StatusReading<'a> {
    /// The word as sent; `None` when the pointer finds no string.
    pub(crate) word: Option<&'a str>,
    /// The word's reading (running, unrecognised, when there is no word).
    pub(crate) classified: Classified,
    /// The meaning after the error rule (see [`DeclaredDialect::error_marks_failure`]).
    pub(crate) meaning: Meaning,
    /// The error the answer carries: the value at the error pointer, when there is one and
    /// it is not `null`, or the code and message found.
    pub(crate) error: Option<FoundError<'a>>,
}

fn check_header(field: &'static str, name: &str) -> Result<(), DialectError> {
    HeaderName::from_bytes(name.as_bytes())
        .map(drop)
        .map_err(|_| invalid(field, format!("`{name}` is not a header name")))
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
                UrlSource::Template(t) if t.reads_status_url() => {
                    return Err(invalid(
                        "status_url",
                        format!("template `{}` reads the status URL it is to find", t.text()),
                    ))
                }
                _ => {}
            }
        }
        self.check_requests()?;
        for source in &self.result {
            if let ResultSource::Header(h) = source {
                check_header("result", h)?;
            }
        }
        for place in &self.status_word {
            place.check("status_word")?;
        }
        if self.status_word.is_empty() && self.status_codes.is_empty() {
            return Err(invalid(
                "status_word",
                "missing: give a pointer, `{\"header\": …}`, or `status_codes`",
            ));
        }
        self.error.check()?;
        if let Some(place) = &self.progress {
            place.check("progress")?;
        }
        if let Some(place) = &self.operation_id {
            place.check("operation_id")?;
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
        if let Some(cancel) = &self.cancel {
            cancel.validate()?;
        }
        if let Some(prefer) = &self.prefer_async {
            prefer.validate()?;
        }
        self.check_words()?;
        let mut vocab = Vocabulary::new();
        self.extend(&mut vocab);
        self.check_partial(&vocab)
    }

    fn check_requests(&self) -> Result<(), DialectError> {
        if let Some(spec) = &self.status_request {
            spec.validate("status_request")?;
            let pointer = !self.body_optional();
            if spec.method == CheckMethod::Head && pointer {
                return Err(invalid(
                    "status_word",
                    "a `HEAD` answer has no body: read the word from a header, or give \
                     `status_codes`",
                ));
            }
        }
        if let Some(spec) = &self.result_request {
            spec.validate("result_request")?;
            if spec.method == CheckMethod::Head {
                return Err(invalid(
                    "result_request",
                    "a result is not fetched with `HEAD`",
                ));
            }
        }
        Ok(())
    }

    /// The method of status requests.
    pub(crate) fn status_method(&self) -> CheckMethod {
        self.status_request
            .as_ref()
            .map_or(CheckMethod::Get, |s| s.method)
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
        status.is_success()
            || self.status_body_on.contains(&status.as_u16())
            || self.code_meaning(status).is_some()
    }

    /// What `status_codes` say an answer with `status` means. A class (`5xx`) does not cover
    /// the statuses of a busy server or an intermediary (408, 429, 502, 503, 504): they stay
    /// transient, retried as usual, unless listed one by one.
    pub(crate) fn code_meaning(&self, status: StatusCode) -> Option<Meaning> {
        let s = status.as_u16();
        let codes = &self.status_codes;
        let class = || {
            if matches!(s, 408 | 429 | 502 | 503 | 504) {
                None
            } else {
                codes.get(&CodeKey::Class(s / 100))
            }
        };
        codes
            .get(&CodeKey::Exact(s))
            .or_else(class)
            .map(|&m| m.into())
    }

    /// Whether a status body can be read without being JSON: the status word is not in it (a
    /// header, or the HTTP status says), so a body that is not JSON reads as `null`.
    pub(crate) fn body_optional(&self) -> bool {
        !self
            .status_word
            .iter()
            .any(|p| matches!(p, Place::Pointer(_)))
    }

    /// Whether an answer carries a status word (a submission that does is read in place).
    pub(crate) fn carries_word(&self, headers: &HeaderMap, body: Option<&Value>) -> bool {
        let body = body.unwrap_or(&Value::Null);
        self.status_word
            .iter()
            .any(|place| word_at(place, headers, body).is_some())
    }

    /// The progress of a status answer, as a percentage (see [`DeclaredDialect::progress`]).
    pub(crate) fn percent(&self, headers: &HeaderMap, body: &Value) -> Option<f64> {
        match &self.progress {
            Some(Place::Pointer(p)) => p.find(body).and_then(percent_of),
            Some(place) => place.text(headers, body).and_then(|t| percent_text(&t)),
            None => body
                .get("percentComplete")
                .or_else(|| body.get("progress"))
                .and_then(Value::as_f64),
        }
    }

    /// The operation id an answer carries (see [`DeclaredDialect::operation_id`]).
    pub(crate) fn find_id<'a>(
        &self,
        headers: &'a HeaderMap,
        body: &'a Value,
    ) -> Option<std::borrow::Cow<'a, str>> {
        self.operation_id.as_ref()?.id(headers, body)
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
        let src = Sources {
            body: body.unwrap_or(&Value::Null),
            headers,
            status_url: None,
            submission_url: Some(response_url),
        };
        for source in &self.status_url {
            let found = match source {
                UrlSource::Header(h) => header_text(headers, h, "header"),
                UrlSource::Pointer(p) => body.and_then(|b| pointer_string(b, p)),
                UrlSource::Template(t) => t.expand(&src),
                UrlSource::Own => return Ok(Some(response_url.clone())),
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
    /// progress figure, the operation id — or an ancestor of one. A status body where such a member comes twice
    /// is malformed; duplicates elsewhere are left alone.
    pub(crate) fn consults(&self, dup: &str) -> bool {
        let reads = |p: &Pointer| p.touches(dup, false);
        let place = |p: &Option<Place>| matches!(p, Some(Place::Pointer(p)) if reads(p));
        self.status_word
            .iter()
            .any(|p| matches!(p, Place::Pointer(p) if reads(p)))
            || place(&self.operation_id)
            || self.error.consults(dup)
            || match &self.progress {
                None => matches!(dup, "/percentComplete" | "/progress"),
                some => place(some),
            }
            || self.status_url.iter().any(|s| match s {
                UrlSource::Header(_) | UrlSource::Own => false,
                UrlSource::Pointer(p) => reads(p),
                UrlSource::Template(t) => t.pointers().any(reads),
            })
            || [&self.status_request, &self.result_request]
                .into_iter()
                .flatten()
                .filter_map(|r| r.body.as_ref())
                .any(|b| b.templates().iter().any(|t| t.pointers().any(reads)))
            || self.result.iter().any(|s| match s {
                ResultSource::Header(_) => false,
                ResultSource::Pointer(p)
                | ResultSource::Embedded(p)
                | ResultSource::EmbeddedJson(p) => reads(p),
                ResultSource::Template(t) => t.pointers().any(reads),
            })
    }

    /// Reads the status word (or what the HTTP status means without one) and the error of a
    /// status answer with `vocab` (usually [`DeclaredDialect::vocabulary`]).
    pub(crate) fn read_status<'a>(
        &self,
        vocab: &Vocabulary,
        status: StatusCode,
        headers: &'a HeaderMap,
        body: &'a Value,
    ) -> StatusReading<'a> {
        let word = self
            .status_word
            .iter()
            .find_map(|place| word_at(place, headers, body));
        let classified = match (word, self.code_meaning(status)) {
            (Some(w), _) => vocab.classify(w),
            (None, Some(meaning)) => Classified {
                meaning,
                recognised: true,
            },
            (None, None) => Classified {
                meaning: Meaning::Running,
                recognised: false,
            },
        };
        let error = self.error.find(headers, body);
        let reports = self.error_marks_failure != Some(false)
            && error.as_ref().is_some_and(FoundError::reports_failure);
        let opted_in = self.error_marks_failure == Some(true);
        let meaning = match classified.meaning {
            Meaning::Succeeded if reports && (opted_in || word.is_none()) => Meaning::Failed,
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
}

/// The status word at `place`: a string in the body, or a header's value, that is not blank
/// (a blank one says nothing: the next place is asked, as for `null`).
fn word_at<'a>(place: &Place, headers: &'a HeaderMap, body: &'a Value) -> Option<&'a str> {
    match place {
        Place::Pointer(p) => p.find(body).and_then(Value::as_str),
        Place::Header { header } => headers
            .get(header.as_str())
            .and_then(|v| v.to_str().ok())
            .map(str::trim),
    }
    .filter(|w| !w.trim().is_empty())
}

fn header_text(headers: &HeaderMap, name: &str, what: &str) -> Option<(String, String)> {
    let value = headers.get(name)?;
    let text = String::from_utf8_lossy(value.as_bytes());
    let text = text.trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    // An empty value names nothing (resolved, it would be the answer's own URL): the next
    // source is asked, as for an empty string at a pointer.
    (!text.is_empty()).then(|| (format!("{what} `{name}`"), text.to_owned()))
}

fn pointer_string(body: &Value, pointer: &Pointer) -> Option<(String, String)> {
    let text = pointer.find(body)?.as_str()?.trim();
    (!text.is_empty()).then(|| (format!("pointer `{pointer}`"), text.to_owned()))
}

#[cfg(test)]
#[path = "declared_tests/mod.rs"]
mod tests;
