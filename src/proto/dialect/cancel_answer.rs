//! A declared cancel's `answer`: where the answer to a cancel says whether the server did
//! anything, in the words the description gives for it. Ray's `POST /api/jobs/{id}/stop`
//! answers `200` with `{"stopped": false}` for a job that had already finished; OpenAI's
//! `POST /v1/batches/{id}/cancel` answers the batch, its `status` `cancelling`.
//!
//! The place is a `status_word`'s (a pointer, `{"pointer": …}` or `{"header": …}`; a boolean
//! or a number at the pointer reads as its text, `true`), and the words compare as status
//! words do (case, `-` and `_` aside). Only a `2xx` is read: any other status says what it says.

use std::borrow::Cow;

use http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::super::json::parse_recording;
use super::{DialectError, Place};
use crate::vocab::normalize;

/// `"answer": {"word": "/stopped", "accepted": ["true"]}`: how the answer to a cancel that
/// the server took (`2xx`) says whether it did anything.
///
/// - a word in `refused` refuses the cancel;
/// - with `accepted` given, any word found that is not in it refuses the cancel too;
/// - no word found (no body, not JSON, nothing at the place, a body over the status body
///   limit): the status decides, as without `answer`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelAnswer {
    /// Where the word is.
    pub(crate) word: Place,
    /// The words that say the cancel was taken (Ray's `true`, OpenAI's `cancelling`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) accepted: Vec<String>,
    /// The words that say it was not (Ray's `false`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) refused: Vec<String>,
}

impl CancelAnswer {
    /// At least one word, none in both lists, and a header a description may name.
    pub(crate) fn validate(&self) -> Result<(), DialectError> {
        let invalid = |problem: String| DialectError::Invalid {
            field: "cancel",
            problem,
        };
        self.word.check("cancel")?;
        if self.accepted.is_empty() && self.refused.is_empty() {
            return Err(invalid(
                "`answer` needs `accepted` or `refused` words (`{\"word\": \"/stopped\", \
                 \"accepted\": [\"true\"]}`)"
                    .to_owned(),
            ));
        }
        let both = self
            .refused
            .iter()
            .find(|r| self.accepted.iter().any(|a| normalize(a) == normalize(r)));
        match both {
            Some(w) => Err(invalid(format!(
                "`answer` lists `{w}` as both accepted and refused"
            ))),
            None => Ok(()),
        }
    }

    /// What refuses the cancel in its `2xx` answer: the word found (or, when the answer gives
    /// the member more than once, saying so); `None` when the answer takes it or says nothing
    /// at the place.
    pub(crate) fn refusal(&self, headers: &HeaderMap, body: Option<&[u8]>) -> Option<String> {
        let value = match (&self.word, body) {
            (Place::Header { .. }, _) | (_, None) => serde_json::Value::Null,
            (Place::Pointer(p), Some(body)) => match parse_recording(body) {
                Ok(parsed) => match parsed.duplicate(|d| p.touches(d, false)) {
                    Some(d) => return Some(format!("`{d}` more than once")),
                    None => parsed.value,
                },
                Err(_) => serde_json::Value::Null,
            },
        };
        let word = self.word.text(headers, &value)?;
        self.refuses(&word).then(|| match word {
            Cow::Borrowed(w) => w.to_owned(),
            Cow::Owned(w) => w,
        })
    }

    fn refuses(&self, word: &str) -> bool {
        let key = normalize(word);
        let listed = |words: &[String]| words.iter().any(|w| normalize(w) == key);
        listed(&self.refused) || (!self.accepted.is_empty() && !listed(&self.accepted))
    }

    /// Where the word is, as the description wrote it (for messages).
    pub(crate) fn place(&self) -> String {
        match &self.word {
            Place::Pointer(p) => p.as_str().to_owned(),
            Place::Header { header } => format!("header {header}"),
        }
    }
}
