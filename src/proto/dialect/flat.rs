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
use crate::status::OperationStatus;

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
    let (word, id) = crate::status::flat_status(body)?;
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
    if op.status != word || op.status.is_assumed() {
        op.status = word;
    }
    Some(match succeeded {
        false => Ok(Reading::RUNNING),
        // The document names no `resourceLocation`: the final-state rules read the rest.
        true => super::default::finish(op, status, headers, None),
    })
}

#[cfg(test)]
#[path = "flat_tests.rs"]
mod tests;
