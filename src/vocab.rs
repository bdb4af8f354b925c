//! Status words ([status bodies](crate::_protocol#status-bodies)): what a word a status monitor sends means, and whether the word was
//! one this crate knows.
//!
//! Words are compared after [`normalize`]: ASCII case, spaces, `-` and `_` are ignored, so
//! `In progress`, `inProgress`, `in-progress` and `IN_PROGRESS` are one word. The default
//! vocabulary is the table of [status bodies](crate::_protocol#status-bodies); a [`Vocabulary`] adds configured words per meaning, or a
//! classifier function consulted first.
//!
//! An unrecognised word means "running" (the deadline bounds it), but [`Classified::recognised`]
//! is `false` so progress reports and tracing can say why polling goes on.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// What a status word means (see [`OperationStatus::meaning`](crate::OperationStatus::meaning)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusMeaning {
    /// Not finished yet: poll again.
    Running,
    /// Finished, successfully.
    Succeeded,
    /// Finished, unsuccessfully.
    Failed,
    /// Finished because someone canceled it.
    Canceled,
}

// The crate's own short name for `StatusMeaning`.
pub(crate) use self::StatusMeaning as Meaning;

impl Meaning {
    /// `Succeeded`, `Failed` or `Canceled`.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Running)
    }

    /// `Failed` or `Canceled`.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Canceled)
    }

    /// The lower-case name used in configuration (`running`, `succeeded`, `failed`, `canceled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
}

impl fmt::Display for Meaning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The reading of one status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classified {
    /// What the word means.
    pub(crate) meaning: Meaning,
    /// `false` when no vocabulary knew the word and it is taken as running by default.
    pub(crate) recognised: bool,
}

impl Classified {
    const fn known(meaning: Meaning) -> Self {
        Self {
            meaning,
            recognised: true,
        }
    }

    const UNRECOGNISED: Self = Self {
        meaning: Meaning::Running,
        recognised: false,
    };
}

/// Words up to this many bytes are normalized on the stack.
const INLINE: usize = 40;

/// A word in its compact comparison form (see [`normalize`]).
#[derive(Clone)]
pub(crate) enum Normalized {
    /// Short words: no allocation.
    Inline {
        /// The bytes, valid UTF-8 up to `len`.
        buf: [u8; INLINE],
        /// How many bytes of `buf` are used.
        len: u8,
    },
    /// Longer words.
    Heap(String),
}

impl Normalized {
    /// The compact form.
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Only ASCII bytes are dropped or changed, so the bytes stay valid UTF-8.
            Self::Inline { buf, len } => {
                std::str::from_utf8(&buf[..usize::from(*len)]).unwrap_or("")
            }
            Self::Heap(s) => s,
        }
    }
}

impl fmt::Debug for Normalized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for Normalized {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Whether a byte is ignored when words are compared: ASCII whitespace, `-` and `_`.
fn ignored(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'-' || b == b'_'
}

/// The compact lower-case key of a status word: ASCII letters lower-cased; ASCII whitespace,
/// `-` and `_` removed; every other character kept as it is.
///
/// Words of up to 40 bytes (after removal) are built on the stack.
pub(crate) fn normalize(word: &str) -> Normalized {
    let mut buf = [0u8; INLINE];
    let mut len = 0usize;
    for &b in word.as_bytes() {
        if ignored(b) {
            continue;
        }
        match buf.get_mut(len) {
            Some(slot) => *slot = b.to_ascii_lowercase(),
            None => return Normalized::Heap(normalize_heap(word)),
        }
        len += 1;
    }
    Normalized::Inline {
        buf,
        len: len as u8, // len <= INLINE < 256
    }
}

fn normalize_heap(word: &str) -> String {
    word.chars()
        .filter(|c| !(c.is_ascii() && ignored(*c as u8)))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The [default vocabulary](crate::_protocol#status-bodies) for a normalized word: `None` for a word it does not know.
pub(crate) fn default_meaning(key: &str) -> Option<Meaning> {
    let meaning = match key {
        "succeeded" | "completed" | "complete" | "done" | "success" | "successful"
        | "partiallysucceeded" | "partiallycompleted" => Meaning::Succeeded,
        "failed" | "failure" | "error" | "errored" | "validationfailed" => Meaning::Failed,
        "canceled" | "cancelled" => Meaning::Canceled,
        k if k.ends_with("failed") => Meaning::Failed,
        k if is_known_running(k) => Meaning::Running,
        _ => return None,
    };
    Some(meaning)
}

/// Running words seen in the wild, so that they are reported as recognised. Every other
/// non-terminal word is running too, but unrecognised.
fn is_known_running(key: &str) -> bool {
    matches!(
        key,
        "notstarted"
            | "running"
            | "inprogress"
            | "accepted"
            | "cancelling"
            | "canceling"
            | "cancelrequested"
            | "updating"
            | "waiting"
            | "provisioning"
            | "pending"
            | "deletepending"
            | "queued"
            | "started"
            | "starting"
            | "processing"
            | "scheduled"
            | "creating"
            | "deleting"
            | "moving"
            | "migrating"
            | "executing"
            | "validating"
            | "preparing"
            | "finalizing"
            | "initializing"
            | "submitted"
            | "continuedasnew"
            | "suspended"
            | "paused"
    )
}

/// Classifies a word with the default vocabulary alone.
pub(crate) fn classify_default(word: &str) -> Classified {
    match default_meaning(normalize(word).as_str()) {
        Some(meaning) => Classified::known(meaning),
        None => Classified::UNRECOGNISED,
    }
}

/// A user-supplied classifier: given the word as the server sent it, its meaning, or `None` to
/// fall back to the configured and default words.
pub(crate) type Classifier = Arc<dyn Fn(&str) -> Option<Meaning> + Send + Sync>;

/// The words a layer understands: the [default vocabulary](crate::_protocol#status-bodies), extra words per meaning, and
/// an optional classifier.
///
/// Lookup order: the classifier, then the extra words (so configuration can re-assign a default
/// word), then the default vocabulary. A word none of them knows is running, unrecognised.
#[derive(Clone, Default)]
pub(crate) struct Vocabulary {
    /// Normalized extra words and their meaning; a later entry for the same word replaces it.
    extra: Vec<(Box<str>, Meaning)>,
    classifier: Option<Classifier>,
}

impl Vocabulary {
    /// The [default vocabulary](crate::_protocol#status-bodies), nothing added.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds `word` (normalized on insert) with `meaning`; an empty word is ignored.
    pub(crate) fn add(&mut self, meaning: Meaning, word: &str) {
        let key = normalize(word);
        let key = key.as_str();
        if key.is_empty() {
            return;
        }
        match self.extra.iter_mut().find(|(k, _)| &**k == key) {
            Some(entry) => entry.1 = meaning,
            None => self.extra.push((key.into(), meaning)),
        }
    }

    /// [`Vocabulary::add`], by value.
    #[cfg(test)] // the table tests read hosts and bodies through it
    pub(crate) fn with_word(mut self, meaning: Meaning, word: &str) -> Self {
        self.add(meaning, word);
        self
    }

    /// Sets the classifier consulted before any word list.
    pub(crate) fn with_classifier(
        mut self,
        classifier: impl Fn(&str) -> Option<Meaning> + Send + Sync + 'static,
    ) -> Self {
        self.classifier = Some(Arc::new(classifier));
        self
    }

    /// The extra words (normalized) and their meanings, in insertion order.
    #[cfg(test)] // the table tests read hosts and bodies through it
    pub(crate) fn extra_words(&self) -> impl Iterator<Item = (&str, Meaning)> + '_ {
        self.extra.iter().map(|(k, m)| (&**k, *m))
    }

    /// Whether a classifier is set.
    #[cfg(test)] // the table tests read hosts and bodies through it
    pub(crate) fn has_classifier(&self) -> bool {
        self.classifier.is_some()
    }

    /// Whether this is the default vocabulary, nothing added.
    pub(crate) fn is_default(&self) -> bool {
        self.extra.is_empty() && self.classifier.is_none()
    }

    /// What `word` (as the server sent it) means.
    pub(crate) fn classify(&self, word: &str) -> Classified {
        if let Some(meaning) = self.classifier.as_ref().and_then(|f| f(word)) {
            return Classified::known(meaning);
        }
        let key = normalize(word);
        let key = key.as_str();
        if let Some((_, meaning)) = self.extra.iter().find(|(k, _)| &**k == key) {
            return Classified::known(*meaning);
        }
        match default_meaning(key) {
            Some(meaning) => Classified::known(meaning),
            None => Classified::UNRECOGNISED,
        }
    }
}

impl fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vocabulary")
            .field("extra", &self.extra)
            .field("classifier", &self.classifier.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// The [error-object rule](crate::_protocol#status-bodies): whether an `error` value reports a failure.
///
/// An object reports one when it has a non-empty `message`, or a non-empty `errors` or `details`
/// list (a single non-empty `details` object counts too, as Azure Maps Creator's documents print it). An
/// object with neither — Cost Management's `{"code": "0", "message": null}` — does not. A
/// non-empty string reports one (a service that puts its error text there). `null`, numbers,
/// booleans and anything empty do not.
pub(crate) fn error_reports_failure(error: &Value) -> bool {
    // The error-object rule, as written: an `error` *object* with a non-empty `message`, or a non-empty
    // `errors` or `details` *list*. Anything else beside a success word is not read as a failure.
    let Value::Object(obj) = error else {
        return false;
    };
    let message = matches!(obj.get("message"), Some(Value::String(s)) if !s.trim().is_empty());
    let list = |key: &str| matches!(obj.get(key), Some(Value::Array(items)) if !items.is_empty());
    message || list("errors") || list("details")
}

/// What a declared dialect's `error` pointer finds reports a failure: the [status-body rule](crate::_protocol#status-bodies), or a
/// non-empty string (a description that points at an error text, such as a problem's `title`).
pub(crate) fn error_value_reports_failure(error: &Value) -> bool {
    matches!(error, Value::String(s) if !s.trim().is_empty()) || error_reports_failure(error)
}

#[cfg(test)]
#[path = "vocab_tests.rs"]
mod tests;
