//! Waiting: every form of hint and the backoff, the deadline and poll limit, transient failures
//! retried within their budget, and the size of what a waiting operation holds.

use super::*;

#[test]
fn waits_follow_every_hint_form_and_the_backoff() {
    let cases: &[(&'static [(&'static str, &'static str)], u128)] = &[
        (&[("retry-after", "7")], 7000),
        (&[("retry-after-ms", "250")], 250),
        (&[("x-ms-retry-after-ms", "125"), ("retry-after", "9")], 125),
        (&[("retry-after", "Sun, 22 Nov 2026 10:00:12 GMT")], 12_000),
        (&[("retry-after", "Sun, 22 Nov 2026 09:00:00 GMT")], 1000),
        (&[("retry-after", "-3")], 1000),
        (&[("retry-after", "soon")], 1000),
        (&[], 1000),
    ];
    for (extra, want_ms) in cases {
        let mut h: Vec<(&str, &str)> = vec![("operation-location", "https://s.example/o")];
        h.extend_from_slice(extra);
        let h: &'static [(&str, &str)] = Box::leak(h.into_boxed_slice());
        let run = drive(
            cfg(),
            "POST",
            "https://s.example/j",
            &[],
            r(202, h, ""),
            &[r(200, &[], r#"{"status":"Succeeded"}"#)],
        );
        assert_eq!(run.sent[0].at_ms, *want_ms, "{extra:?}");
    }
    // No hints at all: 1 s five times, then doubling to the 30 s cap.
    const RUN: R = r(200, &[], r#"{"status":"Running"}"#);
    let mut script = vec![RUN; 11];
    script.push(r(200, &[], r#"{"status":"Succeeded"}"#));
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        r(202, &[("operation-location", "/o")], ""),
        &script,
    );
    let gaps: Vec<u128> = run
        .sent
        .windows(2)
        .map(|w| (w[1].at_ms - w[0].at_ms) / 1000)
        .collect();
    assert_eq!(run.sent[0].at_ms, 1000);
    assert_eq!(gaps, [1, 1, 1, 1, 2, 4, 8, 16, 30, 30, 30]);
}

#[test]
fn clamps_deadline_and_poll_limit() {
    const HUGE: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "99999999999"),
        ],
        "",
    );
    // Clamped to max_wait (5 min), which is within the 10 min deadline: the poll is at 300 s.
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        HUGE,
        &[r(200, &[], r#"{"status":"Succeeded"}"#)],
    );
    assert_eq!(run.sent[0].at_ms, 300_000);
    // With a shorter deadline, the same wait fails at once, with a handle to resume.
    let mut c = cfg();
    c.deadline = Duration::from_secs(100);
    let run = drive(
        c,
        "POST",
        "https://s.example/j",
        &[("authorization", "Bearer x")],
        HUGE,
        &[],
    );
    let e = failed(&run);
    assert_eq!(e.kind(), ErrorKind::Timeout);
    let handle = e.resume_handle().unwrap();
    assert_eq!(handle.operation_url(), "https://s.example/o");
    assert_eq!(handle.header_names(), ["authorization"]);
    assert!(!serde_json::to_string(handle).unwrap().contains("Bearer"));

    // Running forever: polls until the deadline would be passed.
    const SUBMIT: R = r(
        202,
        &[
            ("operation-location", "https://s.example/o"),
            ("retry-after", "30"),
        ],
        "",
    );
    const RUN: R = r(200, &[("retry-after", "30")], r#"{"status":"Running"}"#);
    let mut c = cfg();
    c.deadline = Duration::from_secs(100);
    let run = drive(
        c,
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[RUN, RUN, RUN],
    );
    assert_eq!(
        run.sent.iter().map(|s| s.at_ms / 1000).collect::<Vec<_>>(),
        [30, 60, 90]
    );
    assert_eq!(failed(&run).kind(), ErrorKind::Timeout);
    assert!(matches!(
        failed(&run).reason(),
        Reason::Deadline { state, polls: 3, after } if after.as_secs() == 100 && state.as_str() == "Running"
    ));

    let mut c = cfg();
    c.max_polls = 2;
    let run = drive(c, "POST", "https://s.example/j", &[], SUBMIT, &[RUN, RUN]);
    assert_eq!(failed(&run).kind(), ErrorKind::PollLimit);
}

#[test]
fn transient_failures_are_retried_within_budget() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    const BUSY: R = r(503, &[("retry-after", "4")], "busy");
    const LIMIT: R = r(429, &[], "");
    const DONE: R = r(200, &[], r#"{"status":"Succeeded"}"#);
    let run = drive(
        cfg(),
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[BUSY, LIMIT, DONE],
    );
    // 1 s, then the 503's Retry-After (4 s), then transient backoff (2 s for the 2nd in a row).
    assert_eq!(
        run.sent.iter().map(|s| s.at_ms).collect::<Vec<_>>(),
        [1000, 5000, 7000]
    );
    assert_eq!(delivered(&run).1.polls(), 3);

    let mut c = cfg();
    c.transient_retries = 2;
    let run = drive(
        c,
        "POST",
        "https://s.example/j",
        &[],
        SUBMIT,
        &[BUSY, BUSY, BUSY],
    );
    let e = failed(&run);
    assert_eq!(
        (e.kind(), e.attempts(), e.status()),
        (
            ErrorKind::RetriesExhausted,
            Some(3),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        )
    );
    assert_eq!(
        e.reason(),
        &Reason::RetriesExhausted {
            attempts: 3,
            last: LastAttempt::Status(StatusCode::SERVICE_UNAVAILABLE)
        }
    );

    // A transport error is transient too; its source is kept.
    let now = Now::new(Instant::now(), SystemTime::UNIX_EPOCH);
    let Ok(Begin::Lro(mut m, _)) =
        start(cfg(), "https://s.example/j", &headers(SUBMIT.headers), now)
    else {
        panic!()
    };
    for _ in 0..5 {
        assert!(matches!(
            m.handle_failure(now, Failure::Transport("reset".into())),
            Plan::Send { .. }
        ));
    }
    let Plan::Fail(e) = m.handle_failure(now, Failure::Transport("reset".into())) else {
        panic!()
    };
    assert_eq!(e.kind(), ErrorKind::RetriesExhausted);
    assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "reset");
}

#[test]
fn resource_fetch_retries_transient_and_delivers_anything_else() {
    let run = drive(
        cfg(),
        "POST",
        SUBMIT_URL,
        &[],
        V2_SUBMIT,
        &[V2_SUCCEEDED_RES, r(503, &[], ""), r(404, &[], "nope")],
    );
    assert_eq!(
        schedule(&run)[1..],
        [(1.0, TILESET, Resource), (2.0, TILESET, Resource)][..]
    );
    let (i, meta) = delivered(&run);
    assert_eq!((i, meta.polls()), (2, 1));
}

/// What a waiting operation holds stays its size: the machine (boxed once per operation) and
/// the poll request a waiting driver keeps. Only declared dialects pay for their extras, in
/// their own box; the carried headers are a slice (a wide pointer: 16 bytes in the machine
/// and 8 in the request buy back about 550 heap bytes and two allocations per operation).
/// 64-bit targets; the figures BENCHMARKS.md cites.
#[test]
#[cfg(target_pointer_width = "64")]
fn waiting_state_does_not_grow() {
    assert!(std::mem::size_of::<Machine>() <= 528, "Machine grew");
    assert!(
        std::mem::size_of::<PollRequest>() <= 120,
        "PollRequest grew"
    );
}

/// A status answer read in the short pass ends a run of transient failures and a run of moves
/// as one read by the general path does: the same polls at the same times. (Both take it
/// through the machine's one step for settled answers; without it a third `503` would spend
/// the budget of two, and the second move would wait the usual pace instead of going at once.)
#[test]
fn a_short_pass_answer_ends_the_runs_of_failures_and_moves_as_the_general_path() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    const BUSY: R = r(503, &[], "");
    const MOVED: R = r(307, &[("location", "https://s.example/o2")], "");
    const MOVED_AGAIN: R = r(307, &[("location", "https://s.example/o3")], "");
    const SHORT: &str = r#"{"status":"Running"}"#;
    const GENERAL: &str = r#"{"status":"Running","percentComplete":5}"#;
    const DONE: R = r(200, &[], r#"{"status":"Succeeded"}"#);
    assert!(crate::status::flat_status(SHORT.as_bytes()).is_some());
    assert!(crate::status::flat_status(GENERAL.as_bytes()).is_none());
    let mut c = cfg();
    c.transient_retries = 2;
    let runs = [SHORT, GENERAL].map(|running| {
        let running = r(200, &[], running);
        let polls = [
            BUSY,
            BUSY,
            running,
            BUSY,
            BUSY,
            MOVED,
            running,
            MOVED_AGAIN,
            DONE,
        ];
        let run = drive(
            c.clone(),
            "POST",
            "https://s.example/j",
            &[],
            SUBMIT,
            &polls,
        );
        assert_eq!(delivered(&run).0, polls.len() - 1);
        run.sent
    });
    assert_eq!(runs[0], runs[1]);
    // The move after the running answer is followed at once, as the first one was.
    let at: Vec<u128> = runs[0].iter().map(|s| s.at_ms).collect();
    assert_eq!(at[6], at[5], "{at:?}");
    assert_eq!(at[8], at[7], "{at:?}");
    // A redirect ends a run of transient failures too (though not one of moves).
    let polls = [BUSY, BUSY, MOVED, BUSY, BUSY, DONE];
    let run = drive(c, "POST", "https://s.example/j", &[], SUBMIT, &polls);
    assert_eq!(delivered(&run).0, polls.len() - 1);
}

/// Polls that fail transiently give no word: the deadline's error says the operation is still
/// without a status, not a `NotStarted` no server sent; a server's own `NotStarted` is its word.
#[test]
fn a_deadline_before_any_word_says_there_was_none() {
    const SUBMIT: R = r(202, &[("operation-location", "https://s.example/o")], "");
    const BUSY: R = r(503, &[("retry-after", "4")], "busy");
    const WAITING: R = r(200, &[("retry-after", "4")], r#"{"status":"NotStarted"}"#);
    for (script, assumed) in [([BUSY, BUSY], true), ([WAITING, WAITING], false)] {
        let mut c = cfg();
        c.deadline = Duration::from_secs(6);
        let run = drive(c, "POST", "https://s.example/j", &[], SUBMIT, &script);
        let e = failed(&run);
        assert_eq!(e.kind(), ErrorKind::Timeout);
        let Reason::Deadline { state, .. } = e.reason() else {
            panic!("{e}");
        };
        assert_eq!(
            (state.as_str(), state.is_assumed()),
            ("NotStarted", assumed)
        );
        let said = e.reason().to_string();
        assert_eq!(
            said.starts_with("still without a status after"),
            assumed,
            "{said}"
        );
    }
}
