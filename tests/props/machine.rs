//! `proto::Machine`, and the wider pattern (spec §3, §4, §4a, §7, §10): dialects, redirects,
//! the SSRF guard.

use super::*;

proptest! {
    #![proptest_config(config())]

    /// Arbitrary exchanges: never past the deadline, never beyond max_wait, bounded sends,
    /// credentials never leave the origin, and the run ends (the harness bounds the steps).
    #[test]
    fn machine_invariants_hold_on_arbitrary_exchanges(s in scenario()) {
        let summary = harness::run(&s);
        if let End::Delivered | End::Failed(_) = summary.end {
            let cfg = harness::config(&s.knobs);
            prop_assert!(summary.status_sends <= cfg.max_polls());
            prop_assert!(summary.resource_sends <= cfg.transient_retries() + 1);
        }
    }

    /// An operation that runs forever ends in a timeout or the poll limit, inside the deadline,
    /// whatever the server says about waiting.
    #[test]
    fn running_forever_ends_by_the_deadline(
        k in knobs(),
        hints in proptest::collection::vec(proptest::option::of(header_bytes()), 1..8),
        url in 0..harness::SUBMISSIONS.len(),
    ) {
        let mut k = k;
        k.option_deadline = None;
        // A finite deadline, so the end is a Timeout or PollLimit for sure.
        k.deadline = k.deadline.min(Duration::from_secs(3_600 * 24));
        let events = (0..64)
            .map(|i| {
                let mut headers = Vec::new();
                if let Some(Some(v)) = hints.get(i % hints.len()) {
                    headers.push(("retry-after".to_owned(), v.clone()));
                }
                Event::Response {
                    answer: Answer { status: 200, headers, body: Some(br#"{"status":"Running"}"#.to_vec()) },
                    latency_ms: 3,
                }
            })
            .collect();
        let s = Scenario {
            knobs: k.clone(),
            method: Method::POST,
            url,
            request_headers: vec![0, 1],
            submission: Answer {
                status: 202,
                headers: vec![("operation-location".into(), b"/operations/1".to_vec())],
                body: None,
            },
            events,
            dialect: DialectSpec::Default,
        };
        let summary = harness::run(&s);
        match summary.end {
            End::Failed(ErrorKind::Timeout) | End::Failed(ErrorKind::PollLimit) | End::Deadline => {}
            other => prop_assert!(false, "ended with {:?}", other),
        }
        // On End::Deadline the clock stands at the late answer's arrival (3 ms of latency).
        prop_assert!(summary.elapsed <= k.deadline.saturating_add(Duration::from_millis(3)));
        if summary.end != End::Deadline {
            prop_assert!(summary.elapsed <= k.deadline);
        }
        prop_assert!(summary.status_sends <= k.max_polls);
    }
}

// ----------------------------------------------------------------------------------------------
// The wider pattern (spec §3, §4, §4a, §7, §10): dialects, redirects, the SSRF guard

fn redirect_status() -> impl Strategy<Value = u16> {
    proptest::sample::select(harness::REDIRECTS)
}

fn wide_url() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::sample::select(harness::INTERNAL_URLS).prop_map(|s| s.as_bytes().to_vec()),
        1 => proptest::sample::select(harness::URL_VALUES).prop_map(|s| s.as_bytes().to_vec()),
        1 => (proptest::sample::select(harness::INTERNAL_URLS), "[a-zA-Z0-9%=&]{0,12}")
            .prop_map(|(u, t)| format!("{u}{}sig={t}", if u.contains('?') { '&' } else { '?' }).into_bytes()),
    ]
}

/// A submission (default dialect) whose monitor answers with a redirect, then succeeds.
fn redirect_scenario() -> impl Strategy<Value = Scenario> {
    (
        knobs(),
        0..harness::SUBMISSIONS.len(),
        proptest::sample::select(vec!["operation-location", "location", "content-location"]),
        proptest::collection::vec((redirect_status(), proptest::option::of(wide_url())), 1..4),
        proptest::option::of(header_bytes()),
    )
        .prop_map(|(mut knobs, url, monitor, hops, hint)| {
            // A moved monitor is polled below `min_wait` (a reported bug, the ignored
            // `a_moved_monitor_is_polled_within_the_wait_bounds`): hold the rest here.
            knobs.min_wait = Duration::ZERO;
            let mut events: Vec<Event> = hops
                .into_iter()
                .map(|(status, location)| {
                    let mut headers: Vec<(String, Vec<u8>)> = location
                        .map(|l| ("location".into(), l))
                        .into_iter()
                        .collect();
                    if let Some(h) = &hint {
                        headers.push(("retry-after".into(), h.clone()));
                    }
                    Event::Response {
                        answer: Answer {
                            status,
                            headers,
                            body: Some(Vec::new()),
                        },
                        latency_ms: 2,
                    }
                })
                .collect();
            events.push(Event::Response {
                answer: Answer {
                    status: 200,
                    headers: vec![],
                    body: Some(br#"{"status":"Completed"}"#.to_vec()),
                },
                latency_ms: 2,
            });
            Scenario {
                knobs,
                method: Method::POST,
                url,
                request_headers: vec![0, 1, 3, 4, 16],
                submission: Answer {
                    status: 202,
                    headers: vec![(monitor.into(), b"/operations/1".to_vec())],
                    body: None,
                },
                events,
                dialect: DialectSpec::Default,
            }
        })
}

fn google_error() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        (any::<i32>(), ".{0,12}").prop_map(|(c, m)| serde_json::json!({"code": c, "message": m})),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"code": 1})),
        Just(serde_json::json!({"code": "9", "details": [{"@type": "x"}]})),
    ]
}

/// A Google operation that runs for a few polls, then is done with an error.
fn google_failure_scenario() -> impl Strategy<Value = Scenario> {
    (
        knobs(),
        google_error(),
        0usize..3,
        any::<bool>(),
        proptest::sample::select(harness::GOOGLE_NAMES),
    )
        .prop_map(|(mut knobs, error, running, at_submission, name)| {
            knobs.max_polls = knobs.max_polls.max(4);
            let op = |done: bool| {
                let mut v = serde_json::json!({"name": name, "done": done});
                if done {
                    v["error"] = error.clone();
                }
                Answer {
                    status: 200,
                    headers: vec![],
                    body: Some(v.to_string().into_bytes()),
                }
            };
            let mut events: Vec<Event> = (0..running)
                .map(|_| Event::Response {
                    answer: op(false),
                    latency_ms: 1,
                })
                .collect();
            events.push(Event::Response {
                answer: op(true),
                latency_ms: 1,
            });
            Scenario {
                knobs,
                method: Method::POST,
                url: submission_index("https://svc.example/v1/projects/p/locations/l/things:create?subscription-key=secret"),
                request_headers: vec![0],
                submission: op(at_submission),
                events,
                dialect: DialectSpec::Google(None),
            }
        })
}

/// A Compute Engine operation that ends `DONE` with `error.errors[]`.
fn compute_failure_scenario() -> impl Strategy<Value = Scenario> {
    (knobs(), 0usize..3, proptest::sample::select(vec!["insert", "delete"]), wide_url())
        .prop_map(|(mut knobs, running, kind, link)| {
            knobs.max_polls = knobs.max_polls.max(4);
            // Delivered under `failure_as_response`, the failure reads as a success (a
            // reported bug, the ignored `compute_done_with_errors_is_not_reported_as_a_success`).
            knobs.failure_as_response = false;
            let link = String::from_utf8_lossy(&link).into_owned();
            let op = |status: &str| {
                let mut v = serde_json::json!({
                    "kind": "compute#operation", "status": status, "operationType": kind,
                    "selfLink": "https://svc.example/compute/v1/projects/p/zones/z/operations/op-1",
                    "targetLink": link,
                });
                if status == "DONE" {
                    v["error"] = serde_json::json!({"errors": [{"code": "QUOTA_EXCEEDED", "message": "no"}]});
                }
                Answer { status: 200, headers: vec![], body: Some(v.to_string().into_bytes()) }
            };
            let mut events: Vec<Event> = (0..running)
                .map(|_| Event::Response { answer: op("RUNNING"), latency_ms: 1 })
                .collect();
            events.push(Event::Response { answer: op("DONE"), latency_ms: 1 });
            Scenario {
                knobs,
                method: Method::POST,
                url: submission_index("https://svc.example/compute/v1/projects/p/zones/z/instances"),
                request_headers: vec![0],
                submission: op("PENDING"),
                events,
                dialect: DialectSpec::Compute,
            }
        })
}

proptest! {
    #![proptest_config(config())]

    /// The `machine` fuzz target's wide decoder: dialects, redirects, dialect bodies,
    /// `Content-Location`, `AsyncResult`, the wider vocabulary; every invariant.
    #[test]
    fn machine_invariants_hold_on_wide_fuzz_bytes(data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        // The bugs already reported are ignored regressions below; the rest is held here.
        harness::fuzz_machine(&data);
    }

    /// The `credentials` fuzz target: no credential value (the caller's, an origin-bound
    /// header's, a server's token) reaches another origin, a resume handle or a masked URL.
    #[test]
    fn credentials_hold_on_fuzz_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        harness::fuzz_credentials(&data);
    }

    /// The `dialects` fuzz target.
    #[test]
    fn dialects_hold_on_fuzz_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        harness::fuzz_dialects(&data);
    }

    /// Redirecting monitors: no internal or metadata host unless the submission went to one,
    /// no credential to a foreign origin, the redirect's own token kept, and it ends.
    #[test]
    fn redirecting_monitors_keep_every_invariant(s in redirect_scenario()) {
        let summary = harness::run(&s);
        prop_assert!(!matches!(summary.end, End::StartError(_) | End::NotLro), "{:?}", summary.end);
    }

    /// A Google operation `done` with an `error` is never delivered as a success.
    #[test]
    fn google_done_with_error_is_never_a_success(s in google_failure_scenario()) {
        let summary = harness::run(&s);
        prop_assert_eq!(summary.resource_sends, 0);
    }

    /// A Compute Engine `DONE` with `error.errors[]` is never a success, its target never
    /// fetched.
    #[test]
    fn compute_done_with_errors_is_never_a_success(s in compute_failure_scenario()) {
        let summary = harness::run(&s);
        prop_assert_eq!(summary.resource_sends, 0);
    }
}

/// The declared dialects of the fixtures read, and round-trip through a resume handle.
#[test]
fn fixture_dialects_round_trip_through_resume_handles() {
    for text in harness::DIALECT_FIXTURES {
        assert!(harness::check_declared_text(text), "{text}");
    }
}

/// The harness's own SSRF oracle reads hosts as the URL standard does.
#[test]
fn harness_host_kinds() {
    use harness::HostKind::*;
    for (u, want) in [
        ("http://169.254.169.254/x", Forbidden),
        ("http://metadata.google.internal./x", Forbidden),
        ("http://0/x", Forbidden),
        ("http://[fe80::1]/x", Forbidden),
        ("http://[::ffff:a9fe:a9fe]/x", Forbidden),
        ("http://0x7f.1/x", Internal),
        ("http://2130706433/x", Internal),
        ("http://app.localhost/x", Internal),
        ("http://[fd00::1]/x", Internal),
        ("http://10.1.2.3:8080/x", Internal),
        ("https://svc.example/x", Public),
        ("http://origin-form.invalid/x", Public),
    ] {
        assert_eq!(
            harness::host_kind(&url::Url::parse(u).unwrap()),
            want,
            "{u}"
        );
    }
}

/// Each redirect status on a status poll, to a same-origin URL with a token: 303/302 fetch
/// it as the result, 301/307/308 poll it; the token stays.
#[test]
fn redirects_on_a_status_poll() {
    for status in harness::REDIRECTS.iter().copied() {
        let s = simple(vec![
            Event::Response {
                answer: Answer {
                    status,
                    headers: vec![(
                        "location".into(),
                        b"https://svc.example/result/1?sig=tok".to_vec(),
                    )],
                    body: Some(Vec::new()),
                },
                latency_ms: 1,
            },
            Event::Response {
                answer: Answer {
                    status: 200,
                    headers: vec![],
                    body: Some(br#"{"status":"Succeeded"}"#.to_vec()),
                },
                latency_ms: 1,
            },
        ]);
        let summary = harness::run(&s);
        assert_eq!(summary.end, End::Delivered, "{status}");
        let want = if matches!(status, 302 | 303) {
            (1, 1)
        } else {
            (2, 0)
        };
        assert_eq!(
            (summary.status_sends, summary.resource_sends),
            want,
            "{status}"
        );
    }
}
