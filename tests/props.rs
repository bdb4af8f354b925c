//! Property tests of the parsers and the sans-IO core (issue 3, hardening).
//!
//! The machine properties share their driver with the `machine` fuzz target
//! (`fuzz/src/harness/`, included below): the same invariants are checked on scenarios made
//! by proptest strategies here and by libFuzzer there, and inputs the fuzzer found are replayed
//! in `props/regressions.rs`, written as the `Scenario` values they decoded to.
//!
//! This file holds the shared strategies; the properties are in `props/`, one module a part:
//! the header parsers (`headers`), status documents (`status`), the machine and the wider
//! pattern (`machine`), regressions and the fuzzers' findings (`regressions`), escaping
//! (`escaping`).

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use tower_lro::__private::StatusDocument;
use tower_lro::__private::{parse_url_str, parse_url_value, retry_after, unquote};
use tower_lro::HintSource;
use tower_lro::{ErrorKind, FinalState};

// (Not every item of the harness is used here: the fuzz targets use the rest.)
#[allow(dead_code, unused_imports)]
#[path = "../fuzz/src/harness/mod.rs"]
mod harness;

use harness::{Answer, DialectSpec, End, Event, Knobs, Scenario};

/// 256 cases per property (`PROPTEST_CASES=N` for a longer run).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn hint(name: &'static str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(name, HeaderValue::from_str(value).unwrap());
    h
}

fn wait_of(h: &HeaderMap) -> Option<Duration> {
    retry_after(h, harness::wall0()).map(|(d, _)| d)
}

/// The index of a submission URL in `harness::SUBMISSIONS`.
fn submission_index(url: &str) -> usize {
    harness::SUBMISSIONS
        .iter()
        .position(|s| *s == url)
        .expect("a listed submission URL")
}

fn base_url(i: usize) -> url::Url {
    harness::base_url(harness::SUBMISSIONS[i])
}

// ----------------------------------------------------------------------------------------------
// Strategies

fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::sample::select(harness::RETRY_VALUES).prop_map(|s| s.as_bytes().to_vec()),
        proptest::sample::select(harness::URL_VALUES).prop_map(|s| s.as_bytes().to_vec()),
        "[ -~]{0,30}".prop_map(String::into_bytes),
        any::<u64>().prop_map(|n| n.to_string().into_bytes()),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        (0u64..10_000).prop_map(Duration::from_millis),
        (0u64..3_600).prop_map(Duration::from_secs),
        any::<u32>().prop_map(|s| Duration::from_secs(u64::from(s))),
        Just(Duration::MAX),
    ]
}

fn final_state() -> impl Strategy<Value = FinalState> {
    proptest::sample::select(vec![
        FinalState::Auto,
        FinalState::Location,
        FinalState::OriginalUri,
        FinalState::StatusMonitor,
    ])
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        (duration(), duration(), duration(), duration(), duration()),
        (
            0u32..40,
            0u32..8,
            final_state(),
            any::<bool>(),
            any::<bool>(),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(duration()),
            proptest::option::of(final_state()),
        ),
    )
        .prop_map(
            |(
                (poll_interval, max_poll_interval, min_wait, max_wait, deadline),
                (max_polls, transient_retries, final_state, failure_as_response, detect),
                (carry_key, allow_other, option_deadline, option_final_state),
            )| Knobs {
                poll_interval,
                max_poll_interval,
                // A large min_wait makes every scenario a timeout: keep it mostly small.
                min_wait: min_wait.min(Duration::from_secs(2)),
                max_wait,
                deadline,
                max_polls,
                transient_retries,
                final_state,
                failure_as_response,
                detect_provisioning_state: detect,
                carry_key,
                allow_other,
                option_deadline,
                option_final_state,
            },
        )
}

fn state_json() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        4 => proptest::sample::select(harness::STATES).prop_map(|s| serde_json::json!(s)),
        1 => Just(serde_json::Value::Null),
        1 => any::<i32>().prop_map(|n| serde_json::json!(n)),
        1 => "[a-zA-Z]{0,10}".prop_map(|s| serde_json::json!(s)),
    ]
}

fn status_doc() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::option::of(state_json()),
        proptest::option::of(state_json()),
        proptest::option::of(proptest::sample::select(harness::URL_VALUES)),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(status, ps, rl, id, error)| {
            let mut obj = serde_json::Map::new();
            if let Some(s) = status {
                obj.insert("status".into(), s);
            }
            if let Some(p) = ps {
                obj.insert(
                    "properties".into(),
                    serde_json::json!({ "provisioningState": p }),
                );
            }
            if let Some(r) = rl {
                obj.insert("resourceLocation".into(), serde_json::json!(r));
            }
            if id {
                obj.insert("operationId".into(), serde_json::json!("op-1"));
            }
            if error {
                obj.insert(
                    "error".into(),
                    serde_json::json!({"code": "E", "message": "m", "details": [{"code": "D"}]}),
                );
            }
            serde_json::Value::Object(obj).to_string().into_bytes()
        })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        6 => status_doc().prop_map(Some),
        1 => Just(Some(Vec::new())),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        1 => status_doc().prop_flat_map(|d| {
            let n = d.len();
            (Just(d), 0..=n).prop_map(|(mut d, cut)| {
                d.truncate(cut);
                Some(d)
            })
        }),
        1 => Just(None),
    ]
}

fn response_headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    proptest::collection::vec(
        (
            proptest::sample::select(harness::RESPONSE_HEADERS),
            header_bytes(),
        )
            .prop_map(|(n, v)| (n.to_owned(), v)),
        0..4,
    )
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => proptest::sample::select(harness::STATUSES),
        1 => 100u16..1000,
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    (status(), response_headers(), body()).prop_map(|(status, headers, body)| Answer {
        status,
        headers,
        body,
    })
}

fn event() -> impl Strategy<Value = Event> {
    let latency = prop_oneof![Just(0u32), 0u32..100, 0u32..1_000_000];
    prop_oneof![
        12 => (answer(), latency.clone()).prop_map(|(answer, latency_ms)| Event::Response { answer, latency_ms }),
        1 => latency.clone().prop_map(|latency_ms| Event::Transport { latency_ms }),
        1 => (answer(), latency.clone()).prop_map(|(answer, latency_ms)| Event::TooLarge { answer, latency_ms }),
        1 => (answer(), latency).prop_map(|(answer, latency_ms)| Event::BodyRead { answer, latency_ms }),
    ]
}

fn submission() -> impl Strategy<Value = Answer> {
    (
        answer(),
        proptest::option::of((
            proptest::sample::select(vec![200u16, 201, 202, 202]),
            proptest::sample::select(vec![
                "operation-location",
                "azure-asyncoperation",
                "location",
            ]),
            header_bytes(),
        )),
    )
        .prop_map(|(mut a, lro)| {
            if let Some((status, name, value)) = lro {
                a.status = status;
                a.headers.insert(0, (name.to_owned(), value));
            }
            a
        })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        knobs(),
        proptest::sample::select(vec![
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ]),
        0..harness::SUBMISSIONS.len(),
        proptest::sample::subsequence(
            (0..harness::REQUEST_HEADERS.len()).collect::<Vec<_>>(),
            0..=harness::REQUEST_HEADERS.len(),
        ),
        submission(),
        proptest::collection::vec(event(), 0..24),
    )
        .prop_map(
            |(knobs, method, url, request_headers, submission, events)| Scenario {
                knobs,
                method,
                url,
                request_headers,
                submission,
                events,
                dialect: DialectSpec::Default,
            },
        )
}

#[path = "props/escaping.rs"]
mod escaping;
/// Drives a fixed scenario: a `202` + `Operation-Location`, then the given events.
fn simple(events: Vec<Event>) -> Scenario {
    let layer = tower_lro::LroLayer::new();
    let d = tower_lro::__private::config(&layer);
    Scenario {
        knobs: Knobs {
            poll_interval: d.poll_interval(),
            max_poll_interval: d.max_poll_interval(),
            min_wait: d.min_wait(),
            max_wait: d.max_wait(),
            deadline: d.deadline(),
            max_polls: d.max_polls(),
            transient_retries: d.transient_retries(),
            final_state: d.final_state(),
            failure_as_response: false,
            detect_provisioning_state: true,
            carry_key: false,
            allow_other: false,
            option_deadline: None,
            option_final_state: None,
        },
        method: Method::POST,
        url: 0,
        request_headers: vec![0],
        submission: Answer {
            status: 202,
            headers: vec![("operation-location".into(), b"/operations/1".to_vec())],
            body: None,
        },
        events,
        dialect: DialectSpec::Default,
    }
}

#[path = "props/headers.rs"]
mod headers;
#[path = "props/machine.rs"]
mod machine;
#[path = "props/regressions.rs"]
mod regressions;
#[path = "props/status.rs"]
mod status;
