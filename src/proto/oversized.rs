//! A poll answer too large to read as a status document that is the operation's result.
//!
//! A `Location` (or `Content-Location`) monitor answers `200` with the result itself, and a
//! result may be any size; its body is read under the status body limit only to see whether it
//! is a status document saying the operation still runs. Over the limit it is not one: the
//! monitor's URL is fetched again as the result, whose body the driver streams unread (the
//! body already in hand was read in part and cannot be handed on). It failed the operation
//! `BodyTooLarge`, so that an export over 1 MiB behind `202` + `Location` never arrived.

use http::StatusCode;

use super::machine::{Machine, Phase};
use super::{Action, Now, Plan};

impl Machine {
    /// The plan that fetches the monitor again as the result, when an answer with `status`
    /// whose body ran over the limit is the result (the dialect says); `None` otherwise.
    pub(crate) fn oversized_result(&mut self, status: StatusCode, now: Now) -> Option<Plan> {
        let op = &self.op;
        let polling = matches!(self.phase, Phase::Polling);
        if !polling || !op.dialect.oversized_is_result(op.rule, status) {
            return None;
        }
        let url = op.monitor.clone();
        // A success other than `202` with no status document says the operation is done, as
        // the same answer under the limit does.
        self.op.mark_succeeded();
        Some(match self.fetch(url, now) {
            Action::Send { at, request } => Plan::Send { at, request },
            Action::Fail(error) | Action::Cancel { error, .. } => Plan::Fail(error),
            // A fetch sends its request or fails; it never delivers what is in hand.
            Action::Deliver(_) => return None,
        })
    }
}
