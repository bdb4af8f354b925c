//! A keyed call's driver run alongside its recorder, until it ends or the call is handed over.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use tokio::sync::watch;

use super::{Keyed, OperationState, Report};
use crate::error::{Error, Reason};

/// How a driver's run ended.
pub(super) enum Ended<T> {
    /// It ran to its end.
    Done(T),
    /// The layer handed its calls over first: the run was dropped.
    Stopped,
}

/// Polls `work` to its end, or until `stop` reads `true` (`work` is then dropped), and `side`
/// alongside it (never to its end) until it is not `busy`: a save under way is not cut.
pub(super) async fn until_done<F: Future>(
    work: F,
    side: impl Future<Output = ()>,
    busy: &AtomicBool,
    stop: &mut watch::Receiver<bool>,
) -> Ended<F::Output> {
    let mut work = std::pin::pin!(Some(work));
    let mut side = std::pin::pin!(side);
    let mut stopped = std::pin::pin!(async {
        // A sender that went away never stops anything.
        if stop.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    });
    let mut out = None;
    std::future::poll_fn(|cx| {
        if out.is_none() {
            if let Some(running) = work.as_mut().as_pin_mut() {
                if let Poll::Ready(done) = running.poll(cx) {
                    out = Some(Ended::Done(done));
                }
            }
        }
        if out.is_none() && stopped.as_mut().poll(cx).is_ready() {
            work.as_mut().set(None);
            out = Some(Ended::Stopped);
        }
        let _ = side.as_mut().poll(cx);
        match out.take() {
            Some(ended) if !busy.load(Ordering::Relaxed) => Poll::Ready(ended),
            other => {
                out = other;
                Poll::Pending
            }
        }
    })
    .await
}

impl<S, ReqB, ResB> Keyed<S, ReqB, ResB> {
    /// Records the latest handle, when one came, for whoever continues (the caller releases
    /// the lease): the layer handed its calls over.
    pub(super) async fn hand_over(
        &self,
        first_sent: u64,
        latest: &watch::Receiver<Option<Report>>,
    ) -> Error {
        let key = self.key.to_string();
        let error = Error::new(None, Reason::HandedOver { key });
        let report = latest.borrow().clone();
        let Some(Report {
            handle,
            status,
            percent,
        }) = report
        else {
            // Not started yet as far as this call knows: the record says `Submitted`.
            return error;
        };
        self.note(status, percent);
        let state = OperationState::Polling {
            handle: handle.clone(),
        };
        // Best effort: the recorder saved this handle already unless its save was cut.
        let _ = self
            .front
            .store
            .save(&self.key, &self.record(first_sent, state))
            .await;
        error.with_resume(handle)
    }
}
