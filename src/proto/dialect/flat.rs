//! The answers a status monitor gives on most polls, read in one short pass: a `2xx` whose
//! body is a flat status document (`{"operationId":"…","created":"…","status":"Running"}`)
//! whose word is not a failure, to an `Operation-Location` or `Azure-AsyncOperation` monitor,
//! with the default vocabulary.
//!
//! It decides nothing of its own: it reads such an answer exactly as
//! [`Dialect::read`](super::Dialect::read) does (the same reading, the same record), and
//! leaves every other answer (`None`, nothing recorded) to it — a failure word, any member
//! beyond `status`, `operationId`, `id` and ones the readers ignore, a value that is not a
//! string (or `true`, `false`, `null` under an ignored name), an escape, a member read twice,
//! a BOM, malformed text. `flat_tests.rs` proves the two agree.

use http::{HeaderMap, StatusCode};

use super::poll::{Misread, Reading};
use crate::config::Config;
use crate::metadata::Rule;
use crate::proto::machine::Operation;
use crate::status::{skip_ws, MemberKey, OperationStatus};

/// What a status answer of the common form means, recorded in `op` as the general readers
/// record it; `None`, with nothing recorded, for any other answer.
pub(crate) fn read(
    op: &mut Operation,
    cfg: &Config,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Result<Reading, Misread>> {
    let monitor = matches!(op.rule, Rule::OperationLocation | Rule::AzureAsyncOperation);
    if !(monitor && status.is_success() && cfg.vocabulary.is_default()) {
        return None;
    }
    let (word, id) = scan(body)?;
    let word = OperationStatus::parse(word);
    if word.is_failure() {
        return None;
    }
    // Else running, or (the one terminal meaning left) succeeded.
    let succeeded = word.is_terminal();
    // What `Operation::absorb` records of such a document.
    if let Some(id) = id {
        if op.operation_id.as_deref() != Some(id) {
            op.operation_id = Some(id.to_owned());
        }
    }
    op.percent_complete = None;
    if op.status != word {
        op.status = word;
    }
    Some(match succeeded {
        false => Ok(Reading::RUNNING),
        // The document names no `resourceLocation`: the final-state rules read the rest.
        true => super::default::finish(op, status, headers, None),
    })
}

/// The `status` and the operation id (`operationId`, else `id`) of a flat document that has
/// a string `status` and no member the short pass leaves to the general readers.
fn scan(body: &[u8]) -> Option<(&str, Option<&str>)> {
    let text = std::str::from_utf8(body).ok()?;
    let b = body;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let (mut status, mut operation_id, mut id) = (None, None, None);
    loop {
        let (name, next) = string(text, i)?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let (value, next) = match *b.get(i)? {
            b'"' => {
                let (s, next) = string(text, i)?;
                (Some(s), next)
            }
            b't' if b[i..].starts_with(b"true") => (None, i + 4),
            b'f' if b[i..].starts_with(b"false") => (None, i + 5),
            b'n' if b[i..].starts_with(b"null") => (None, i + 4),
            _ => return None,
        };
        // The members the status readers consult are the status readers' own list: the three
        // this pass reads, the rest left to the general readers.
        let slot = match MemberKey::named(name) {
            MemberKey::Status => Some(&mut status),
            MemberKey::OperationId => Some(&mut operation_id),
            MemberKey::Id => Some(&mut id),
            MemberKey::Other => None,
            _ => return None,
        };
        if let Some(slot) = slot {
            // Read twice, or not a string: the general readers decide.
            if slot.is_some() {
                return None;
            }
            *slot = Some(value?);
        }
        i = skip_ws(b, next);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    // Nothing but white space after the object.
    if skip_ws(b, i + 1) != b.len() {
        return None;
    }
    Some((status?, operation_id.or(id)))
}

/// The string whose opening quote is at `at`, and the index after its closing quote; `None`
/// when there is no string there, or it has an escape or a control character.
fn string(text: &str, at: usize) -> Option<(&str, usize)> {
    let b = text.as_bytes();
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let len = crate::status::string_end(b.get(start..)?)?;
    if b[start + len] != b'"' {
        return None;
    }
    // Both ends are next to ASCII quotes: character boundaries.
    Some((text.get(start..start + len)?, start + len + 1))
}

#[cfg(test)]
#[path = "flat_tests.rs"]
mod tests;
