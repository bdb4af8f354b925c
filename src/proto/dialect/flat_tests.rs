//! The short pass against the general reading: whatever the body, status, headers, shape,
//! vocabulary, final-state rule and what the operation already knew, an answer the short pass
//! takes is read the same by the general path, and both leave the operation the same; an
//! answer it leaves is left untouched.

use bytes::Bytes;
use http::header::{HeaderValue, LOCATION};
use http::{HeaderMap, Method, StatusCode};

use super::read;
use crate::config::{Config, FinalState};
use crate::header::RESOURCE_LOCATION;
use crate::metadata::Rule;
use crate::proto::dialect::Dialect;
use crate::proto::link::Link;
use crate::proto::machine::Operation;
use crate::status::scan_tests::{corpus, every_cut, every_sequence, mutated_corpus_body};
use crate::status::OperationStatus;
use crate::vocab::Meaning;

const RULES: [Rule; 5] = [
    Rule::OperationLocation,
    Rule::AzureAsyncOperation,
    Rule::Location,
    Rule::ProvisioningState,
    Rule::AcceptedRetry,
];

const STATUSES: [u16; 4] = [200, 201, 202, 500];

/// An operation of `rule` in one of three situations: it read nothing yet (a `POST`, the
/// automatic final-state rules); it read a running word and an id (a `PUT`); it read them and
/// has a submission `Location` to fetch at the end (a `POST`, `final-state-via: location`).
fn operation(rule: Rule, profile: u8) -> Operation {
    thread_local! {
        static URLS: (Link, Link) = {
            let jobs = Link::from_request(&"https://svc.example/jobs".parse().unwrap()).unwrap();
            let monitor = jobs.join("/operations/c58").unwrap();
            (jobs, monitor)
        };
    }
    let (request_url, monitor) = URLS.with(Clone::clone);
    let known = profile > 0;
    Operation {
        rule,
        method: if profile == 1 {
            Method::PUT
        } else {
            Method::POST
        },
        submission_location: (profile == 2).then(|| Box::new(monitor.join("/jobs/7").unwrap())),
        final_state: match profile {
            2 => FinalState::Location,
            _ => FinalState::Auto,
        },
        request_url,
        monitor,
        operation_id: known.then(|| "c58".to_owned()),
        percent_complete: known.then_some(40.0),
        status: match known {
            true => OperationStatus::running(),
            false => OperationStatus::not_started(),
        },
        dialect: Dialect::default(),
        declared: None,
    }
}

/// No header; the headers the final-state rules read (one of them unusable).
fn header_maps() -> [HeaderMap; 2] {
    let mut named = HeaderMap::new();
    named.insert(LOCATION, HeaderValue::from_static("/jobs/7/result"));
    named.insert(RESOURCE_LOCATION, HeaderValue::from_static("http://[bad"));
    [HeaderMap::new(), named]
}

/// Whether the short pass took `body` in any of the cases; panics where it decides otherwise
/// than the general path.
fn decides_as_read(body: &[u8]) -> bool {
    thread_local! {
        static CONFIGS: [Config; 2] = [
            Config::default(),
            Config {
                vocabulary: crate::vocab::Vocabulary::new().with_word(Meaning::Running, "Spinning"),
                ..Config::default()
            },
        ];
    }
    CONFIGS.with(|configs| decides_with(configs, body))
}

fn decides_with(configs: &[Config], body: &[u8]) -> bool {
    let bytes = Bytes::copy_from_slice(body);
    let maps = header_maps();
    let mut took = false;
    for rule in RULES {
        for profile in 0..3 {
            // Reused while the short pass leaves the answers (it must leave it untouched).
            let fresh = operation(rule, profile);
            let mut short = operation(rule, profile);
            for cfg in configs {
                for code in STATUSES {
                    let status = StatusCode::from_u16(code).unwrap();
                    for headers in &maps {
                        let case = (cfg, status, headers, profile);
                        if decides_one(&mut short, &fresh, case, &bytes) {
                            took = true;
                            short = operation(rule, profile);
                        }
                    }
                }
            }
        }
    }
    took
}

/// Whether the short pass took the answer; panics where it decides otherwise than the general
/// path.
fn decides_one(
    short: &mut Operation,
    fresh: &Operation,
    (cfg, status, headers, profile): (&Config, StatusCode, &HeaderMap, u8),
    body: &Bytes,
) -> bool {
    let rule = fresh.rule;
    let shown = || format!("{body:?} {rule:?} {status} {headers:?} {profile}");
    let Some(quick) = read(short, cfg, status, headers, body) else {
        // What the short pass would record, unchanged.
        let seen = |op: &Operation| {
            (
                op.operation_id.clone(),
                op.percent_complete,
                op.status.clone(),
            )
        };
        assert!(seen(short) == seen(fresh), "{}", shown());
        return false;
    };
    let mut general = operation(rule, profile);
    let reading = Dialect::read(&mut general, cfg, status, headers, body);
    assert_eq!(format!("{quick:?}"), format!("{reading:?}"), "{}", shown());
    assert_eq!(format!("{short:?}"), format!("{general:?}"), "{}", shown());
    true
}

#[test]
fn the_common_answers_take_the_short_pass_and_the_rest_do_not() {
    let taken: &[&str] = &[
        r#"{"operationId":"c58","created":"2026-01-01T00:00:00Z","status":"Running"}"#,
        r#"{"status":"Running"}"#,
        r#" { "status" : "InProgress" , "id" : "x" } "#,
        r#"{"id":"a","operationId":"b","status":"NotStarted"}"#,
        r#"{"status":"Queued","done":false,"note":null,"ok":true}"#,
        r#"{"status":" Running ","x":"y","x":"z"}"#,
        r#"{"status":"Spinning"}"#,
        r#"{"status":"Succeeded","operationId":"c58"}"#,
        r#"{"status":"succeeded"}"#,
        "{\"status\":\"Running\",\"operationId\":\"\u{e9}t\u{e9}\"}",
    ];
    for body in taken {
        assert!(decides_as_read(body.as_bytes()), "{body}");
    }
    let left: &[&str] = &[
        r#"{"status":"Failed"}"#,
        r#"{"status":"Canceled","id":"x"}"#,
        r#"{"status":"Running","percentComplete":40}"#,
        r#"{"status":"Running","percentComplete":"40"}"#,
        r#"{"status":"Running","error":null}"#,
        r#"{"status":"Running","properties":{}}"#,
        r#"{"status":"Running","provisioningState":"Running"}"#,
        r#"{"status":"Running","resourceLocation":"/r"}"#,
        r#"{"status":"Running","status":"Running"}"#,
        r#"{"status":"Running","id":"a","id":"a"}"#,
        r#"{"status":"Running","operationId":true}"#,
        r#"{"status":"Running","id":null}"#,
        r#"{"status":null}"#,
        r#"{"status":3}"#,
        r#"{"st\u0061tus":"Running"}"#,
        r#"{"status":"Run\"ning"}"#,
        r#"{"status":"Running","n":1}"#,
        r#"{"status":"Running","a":[]}"#,
        r#"{"status":"Running"}x"#,
        r#"{"status":"Running",}"#,
        r#"{"status":"Running""#,
        r#"{}"#,
        "",
        "\u{feff}{\"status\":\"Running\"}",
    ];
    for body in left {
        assert!(!decides_as_read(body.as_bytes()), "{body}");
    }
    assert!(!decides_as_read(b"{\"status\":\"Running\xff\"}"));
}

#[test]
fn every_corpus_body_cut_and_mutated_is_decided_as_read() {
    let (mut checked, mut taken) = (0usize, 0usize);
    let mut check = |body: &[u8]| {
        taken += usize::from(decides_as_read(body));
        checked += 1;
    };
    for body in corpus() {
        every_cut(body, &[], &mut check);
    }
    assert!(taken > 100, "{taken} of {checked}");
}

#[test]
fn every_short_sequence_of_pieces_is_decided_as_read() {
    let mut taken = 0usize;
    every_sequence(4, |body| taken += usize::from(decides_as_read(body)));
    // `{"status":"Running"}` alone (in four pieces).
    assert_eq!(taken, 1);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        failure_persistence: None,
        ..Default::default()
    })]

    /// A corpus body with a few mutations is decided as the general path decides it.
    #[test]
    fn mutated_corpus_bodies_are_decided_as_read(body in mutated_corpus_body()) {
        decides_as_read(&body);
    }
}
