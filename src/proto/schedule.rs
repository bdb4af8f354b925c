//! When the next request goes out ([waiting](crate::_protocol#waiting-between-polls)): server hints, the unhinted backoff, the
//! transient backoff, the clamp, the poll and retry budgets and the one deadline.

use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};

use super::request::PollKind;
use super::FOREVER;
use crate::config::Config;
use crate::metadata::WaitReason;
use crate::parse::retry_after_at;

/// Number of unhinted waits that stay at `poll_interval` before growth starts.
pub(crate) const FLAT_POLLS: u32 = 5;

/// The wait for the `n`-th poll that had no hint (0-based), before clamping.
pub(crate) fn unhinted_wait(cfg: &Config, n: u32) -> Duration {
    let (first, cap) = cfg.backoff();
    let doublings = n.saturating_sub(FLAT_POLLS - 1).min(32);
    first
        .checked_mul(1u32 << doublings.min(31))
        .unwrap_or(cap)
        .min(cap)
}

/// The wait after the `k`-th transient failure in a row (1-based), before clamping.
pub(crate) fn transient_wait(cfg: &Config, k: u32) -> Duration {
    let (first, cap) = cfg.backoff();
    let doublings = k.saturating_sub(1).min(31);
    first.checked_mul(1u32 << doublings).unwrap_or(cap).min(cap)
}

/// Clamps a wait to `[min_wait, max_wait]` (tolerating a misconfigured `min > max`).
pub(crate) fn clamp_wait(cfg: &Config, wait: Duration) -> Duration {
    wait.max(cfg.min_wait).min(cfg.max_wait.max(cfg.min_wait))
}

/// Poll answers that are retried rather than read ([the final response](crate::_protocol#final-response)).
pub(crate) fn is_transient(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// When an operation whose submission was answered at `answered` must be resolved: `deadline`
/// from then, saturating at [`FOREVER`].
pub(crate) fn resolution_deadline(deadline: Duration, answered: Instant) -> Instant {
    answered
        .checked_add(deadline)
        .or_else(|| answered.checked_add(FOREVER))
        .unwrap_or(answered)
}

/// The clock and the budgets of one operation, and the bookkeeping of its progress reports.
///
/// Its fields are private: a request is planned only through [`Schedule::plan`], which counts
/// it and notes a status poll's instant for progress reports.
#[derive(Debug)]
pub(crate) struct Schedule {
    started: Instant,
    deadline: Instant,
    /// Requests to the status monitor so far (retries included).
    polls: u32,
    /// Requests for the resource so far.
    fetches: u32,
    unhinted: u32,
    /// Transient failures in a row.
    transient: u32,
    wait_reason: Option<WaitReason>,
    /// When the next status poll is due, if one is planned: "next poll in".
    next_status_at: Option<Instant>,
    /// A status answer (or the submission) was read and not yet reported.
    report_due: bool,
    /// Moves of the monitor (`301`/`307`/`308`) in a row.
    moves: u32,
    /// The jitter's generator state, seeded at the first jittered wait (0: not yet; a plain
    /// `u64` keeps the schedule 8 bytes smaller than an `Option`).
    rng: u64,
    /// How the caller asked the operation to end (kept here, in the schedule's padding: the
    /// machine stays 512 bytes).
    pub(crate) ends: Ends,
}

/// How the caller asked one operation to end: the driver's per-call choices.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ends {
    /// Only start the operation: hand back the submission's answer with a resume handle.
    pub(crate) start_only: bool,
    /// The delivered final body, when it streams, is cut at the deadline.
    pub(crate) bound_body: bool,
    /// Giving up (deadline, poll limit) while polling cancels the operation first.
    pub(crate) cancel_on_give_up: bool,
}

impl Schedule {
    pub(crate) fn new(started: Instant, deadline: Duration) -> Self {
        Self {
            started,
            deadline: resolution_deadline(deadline, started),
            polls: 0,
            fetches: 0,
            unhinted: 0,
            transient: 0,
            wait_reason: None,
            next_status_at: None,
            report_due: false,
            moves: 0,
            rng: 0,
            ends: Ends::default(),
        }
    }

    /// A resumed operation: the polls its handle counted, from zero again when they reach
    /// `max_polls` (the new resolution gets a budget of its own).
    pub(crate) fn resume_from(&mut self, polls: u32, max_polls: u32) {
        self.polls = if polls >= max_polls { 0 } else { polls };
    }

    /// When the resolution must be over.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// How long the resolution was given.
    pub(crate) fn allowed(&self) -> Duration {
        self.deadline.saturating_duration_since(self.started)
    }

    /// Status requests planned so far (retries included).
    pub(crate) fn polls(&self) -> u32 {
        self.polls
    }

    /// Whether the poll budget is spent.
    pub(crate) fn polls_spent(&self, cfg: &Config) -> bool {
        self.polls >= cfg.max_polls
    }

    /// The number the next request of `kind` will have (1-based).
    pub(crate) fn next_attempt(&self, kind: PollKind) -> u32 {
        match kind {
            PollKind::Resource => self.fetches + 1,
            PollKind::Status => self.polls + 1,
            // Sent once, never planned.
            PollKind::Cancel => 1,
        }
    }

    /// The one way a request is planned: it is counted, and a status poll's instant is what
    /// progress reports call "next poll".
    pub(crate) fn plan(&mut self, kind: PollKind, at: Instant) {
        match kind {
            PollKind::Resource => self.fetches += 1,
            PollKind::Cancel => {}
            PollKind::Status => {
                self.polls += 1;
                self.next_status_at = Some(at);
            }
        }
    }

    /// The planned status poll is not sent after all (the caller asked only to start): it
    /// does not count.
    pub(crate) fn unplan(&mut self) {
        if self.next_status_at.take().is_some() {
            self.polls = self.polls.saturating_sub(1);
        }
    }

    /// What every input resets: a status answer (or its failure) is worth a progress report
    /// when `reportable`; nothing is planned yet.
    pub(crate) fn begin_input(&mut self, reportable: bool) {
        self.report_due = reportable;
        self.next_status_at = None;
    }

    /// The submission's answer was read: it is reported like a status answer.
    pub(crate) fn report_submission(&mut self) {
        self.report_due = true;
    }

    /// What a progress report needs, once per reportable input: the polls sent (a planned
    /// one is already counted, and not reported), when the next status poll is due and why.
    pub(crate) fn take_report(&mut self) -> Option<(u32, Option<Instant>, Option<WaitReason>)> {
        if !std::mem::take(&mut self.report_due) {
            return None;
        }
        let next_at = self.next_status_at;
        let polls = self.polls - u32::from(next_at.is_some() && self.polls > 0);
        Some((polls, next_at, next_at.and(self.wait_reason.clone())))
    }

    /// An answer that is not transient ends a run of transient failures.
    pub(crate) fn answered(&mut self) {
        self.transient = 0;
    }

    /// Transient failures in a row.
    pub(crate) fn transient(&self) -> u32 {
        self.transient
    }

    /// The monitor moved (`301`/`307`/`308`): how many times in a row now.
    pub(crate) fn moved(&mut self) -> u32 {
        self.moves += 1;
        self.moves
    }

    /// An answer that is not a move ends a run of moves.
    pub(crate) fn settled(&mut self) {
        self.moves = 0;
    }

    /// The wait before the next request, and why: the hint of `hint_from` if it has one, else
    /// the transient backoff after a failure, else the unhinted interval; then clamped.
    pub(crate) fn next_wait(
        &mut self,
        cfg: &Config,
        hint_from: Option<&HeaderMap>,
        transient: bool,
        now: super::Now,
    ) -> Duration {
        let (wait, reason) = match hint_from.and_then(|h| retry_after_at(h, || now.wall())) {
            Some((d, source)) => (d, WaitReason::Hint(source)),
            None if transient => (
                self.jittered(cfg, transient_wait(cfg, self.transient)),
                WaitReason::TransientBackoff,
            ),
            None => {
                let w = self.jittered(cfg, unhinted_wait(cfg, self.unhinted));
                self.unhinted = self.unhinted.saturating_add(1);
                (w, WaitReason::Interval)
            }
        };
        let clamped = clamp_wait(cfg, wait);
        self.wait_reason = Some(if clamped == wait {
            reason
        } else {
            WaitReason::Clamped(Box::new(reason))
        });
        clamped
    }

    /// A wait the layer chose, less a random share of at most `cfg.jitter` of it (never more
    /// than the wait: a cap or the deadline still holds). No jitter, no work.
    fn jittered(&mut self, cfg: &Config, wait: Duration) -> Duration {
        if cfg.jitter <= 0.0 {
            return wait;
        }
        if self.rng == 0 {
            self.rng = cfg.jitter_seed.unwrap_or_else(fresh_seed);
        }
        let unit = (splitmix64(&mut self.rng) >> 11) as f64 / (1u64 << 53) as f64;
        let cut = Duration::try_from_secs_f64(wait.as_secs_f64() * cfg.jitter.min(1.0) * unit)
            .unwrap_or(Duration::ZERO);
        wait.saturating_sub(cut)
    }

    /// The instant `wait` after `now`, if it is not past the deadline.
    pub(crate) fn fits(&self, now: Instant, wait: Duration) -> Option<Instant> {
        now.checked_add(wait).filter(|at| *at <= self.deadline)
    }

    /// Counts a transient failure; `false` once the budget is spent.
    pub(crate) fn transient_failure(&mut self, cfg: &Config) -> bool {
        self.transient += 1;
        self.transient <= cfg.transient_retries
    }

    pub(crate) fn elapsed(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }
}

/// SplitMix64: one step of a small, fast generator (jitter needs spread, not secrecy).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed no other operation shares: the standard library's per-process random keys over a
/// counter (no allocation, no dependency).
fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> super::super::Now {
        super::super::Now::new(Instant::now(), std::time::SystemTime::now())
    }

    #[test]
    fn unhinted_backoff_is_flat_then_doubles_to_cap() {
        let c = Config::default();
        let got: Vec<u64> = (0..12).map(|n| unhinted_wait(&c, n).as_secs()).collect();
        assert_eq!(got, [1, 1, 1, 1, 1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(unhinted_wait(&c, u32::MAX), Duration::from_secs(30));
        let t: Vec<u64> = (1..8).map(|k| transient_wait(&c, k).as_secs()).collect();
        assert_eq!(t, [1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn jitter_only_shortens_a_chosen_wait_and_a_seed_repeats_it() {
        let cfg = Config {
            jitter: 1.0,
            jitter_seed: Some(7),
            ..Config::default()
        };
        let run = || {
            let mut s = Schedule::new(Instant::now(), Duration::from_secs(600));
            (0..12)
                .map(|_| s.next_wait(&cfg, None, false, now()))
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b, "one seed, one sequence");
        for (n, w) in (0u32..).zip(&a) {
            assert!(*w <= unhinted_wait(&cfg, n), "wait {n}: {w:?}");
        }
        assert!(a.iter().any(|w| *w < Duration::from_secs(1)), "{a:?}");
        let mut s = Schedule::new(Instant::now(), Duration::from_secs(600));
        let mut hint = HeaderMap::new();
        hint.insert("retry-after", http::HeaderValue::from_static("7"));
        for _ in 0..8 {
            let w = s.next_wait(&cfg, Some(&hint), false, now());
            assert_eq!(w, Duration::from_secs(7), "a server's wait is never cut");
        }
        let huge = Config {
            poll_interval: Some(Duration::MAX),
            ..cfg.clone()
        };
        let mut s = Schedule::new(Instant::now(), Duration::MAX);
        assert!(s.next_wait(&huge, None, true, now()) <= huge.max_wait);
    }

    #[test]
    fn clamp_handles_absurd_values() {
        let c = Config::default();
        assert_eq!(
            clamp_wait(&c, Duration::from_secs(99_999_999_999)),
            c.max_wait
        );
        assert_eq!(clamp_wait(&c, Duration::MAX), c.max_wait);
        let odd = Config {
            min_wait: Duration::from_secs(10),
            max_wait: Duration::from_secs(1),
            ..Config::default()
        };
        assert_eq!(clamp_wait(&odd, Duration::ZERO), Duration::from_secs(10));
    }

    #[test]
    fn an_endless_deadline_saturates() {
        let now = Instant::now();
        assert_eq!(resolution_deadline(Duration::MAX, now), now + FOREVER);
        assert_eq!(
            resolution_deadline(Duration::from_secs(5), now),
            now + Duration::from_secs(5)
        );
    }
}
