//! `error` of a declared dialect: where a failed operation's error is. Either one value read
//! whole (a pointer, or a list of them, the first not `null` wins: an OData or Google error
//! object, an RFC 9457 problem, a FHIR `OperationOutcome`, a text), or a code and a message at
//! places of their own, `{"code": …, "message": …}` (AWS Step Functions' `error` and `cause`,
//! MediaConvert's `errorCode` and `errorMessage`), which the typed error then carries as an
//! OData error's `code` and `message` do.

use std::borrow::Cow;

use http::header::HeaderMap;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::super::pointer::Pointer;
use super::places::{one_or_list, word_places, Place};
use super::{invalid, DialectError};
use crate::status::ODataError;
use crate::vocab::error_value_reports_failure;

/// Where the error is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum ErrorPlaces {
    /// Pointers to a value read whole; the first that finds one that is not `null` wins.
    Whole(Vec<Pointer>),
    /// A code and a message, each at a place or a list of them (the first that finds a text
    /// that is not blank wins).
    Parts {
        /// Where the code is (a string, or a number written out).
        #[serde(serialize_with = "one_or_list", skip_serializing_if = "Vec::is_empty")]
        code: Vec<Place>,
        /// Where the message is.
        #[serde(serialize_with = "one_or_list", skip_serializing_if = "Vec::is_empty")]
        message: Vec<Place>,
    },
}

impl Default for ErrorPlaces {
    fn default() -> Self {
        Self::Whole(Vec::new())
    }
}

impl<'de> Deserialize<'de> for ErrorPlaces {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Parts {
            #[serde(default, deserialize_with = "word_places")]
            code: Vec<Place>,
            #[serde(default, deserialize_with = "word_places")]
            message: Vec<Place>,
        }
        let places = match Value::deserialize(d)? {
            Value::Null => Ok(Self::default()),
            list @ Value::Array(_) => serde_json::from_value(list).map(Self::Whole),
            parts @ Value::Object(_) => {
                serde_json::from_value::<Parts>(parts).map(|p| Self::Parts {
                    code: p.code,
                    message: p.message,
                })
            }
            one => serde_json::from_value(one).map(|p| Self::Whole(vec![p])),
        };
        places.map_err(serde::de::Error::custom)
    }
}

/// The error a status answer carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FoundError<'a> {
    /// A value read whole.
    Whole(&'a Value),
    /// A code and a message (at least one of them).
    Parts {
        /// The code, trimmed.
        code: Option<Cow<'a, str>>,
        /// The message, trimmed.
        message: Option<Cow<'a, str>>,
    },
}

impl ErrorPlaces {
    /// Whether no place is given.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Whole(p) if p.is_empty())
    }

    /// Checks header names, and that an object names a code or a message.
    pub(crate) fn check(&self) -> Result<(), DialectError> {
        let Self::Parts { code, message } = self else {
            return Ok(());
        };
        if code.is_empty() && message.is_empty() {
            return Err(invalid("error", "an object needs `code` or `message`"));
        }
        code.iter()
            .chain(message)
            .try_for_each(|p| p.check("error"))
    }

    /// Whether a member at `dup` is one this reads (see `DeclaredDialect::consults`).
    pub(crate) fn consults(&self, dup: &str) -> bool {
        match self {
            Self::Whole(p) => p.iter().any(|e| e.touches(dup, true)),
            Self::Parts { code, message } => code
                .iter()
                .chain(message)
                .any(|p| matches!(p, Place::Pointer(p) if p.touches(dup, false))),
        }
    }

    /// The error an answer carries, if any.
    pub(crate) fn find<'a>(
        &self,
        headers: &'a HeaderMap,
        body: &'a Value,
    ) -> Option<FoundError<'a>> {
        match self {
            Self::Whole(p) => p
                .iter()
                .find_map(|p| p.find(body).filter(|e| !e.is_null()))
                .map(FoundError::Whole),
            Self::Parts { code, message } => {
                let text = |places: &[Place]| {
                    places.iter().find_map(|p| {
                        let t = p.text(headers, body)?;
                        let trimmed = match t {
                            Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
                            Cow::Owned(t) => Cow::Owned(t.trim().to_owned()),
                        };
                        (!trimmed.is_empty()).then_some(trimmed)
                    })
                };
                let (code, message) = (text(code), text(message));
                (code.is_some() || message.is_some()).then_some(FoundError::Parts { code, message })
            }
        }
    }
}

impl FoundError<'_> {
    /// Whether it reports an error ([the status-body rule](crate::_protocol#status-bodies)):
    /// a code or a message found in parts always does.
    pub(crate) fn reports_failure(&self) -> bool {
        match self {
            Self::Whole(v) => error_value_reports_failure(v),
            Self::Parts { .. } => true,
        }
    }

    /// As the typed error carries it.
    pub(crate) fn odata(&self) -> ODataError {
        match self {
            Self::Whole(v) => super::super::standards::error_of(v),
            Self::Parts { code, message } => ODataError {
                code: code.as_deref().map(str::to_owned),
                message: message.as_deref().map(str::to_owned),
                ..ODataError::default()
            },
        }
    }
}
