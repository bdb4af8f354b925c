//! Table-driven tests of the protocol core. This module is their support (the scripted driver
//! and the shared rows); the tables are in `tests/`, one file a topic: the seed's examples
//! (`seeds`), what starts and ends an operation (`shapes`), waiting (`waits`), errors
//! (`errors`), what polls carry (`polls`), duplicate members (`duplicates`), how declared
//! dialects ask for a status or a result (`requests`), the named dialects' cases
//! (`named_dialects`), and one row per real service's documented shape by family
//! (`services_*`, each row citing its public document; `services_jobs` holds job and
//! prediction APIs, `services_workflows` workflow orchestrators).
#![allow(clippy::type_complexity)] // the tables are clearer spelled out

use super::dialect::Dialect;
use super::request::{query_pairs, LroRequest, PollKind};
use super::*;
use crate::error::ErrorKind;
use crate::error::{LastAttempt, Reason, UrlProblem};
use crate::header::OPERATION_LOCATION;
use crate::metadata::Rule;
use crate::options::LroOptions;
use crate::parse::UrlHeaderError;
use crate::resume::ResumeHandle;
use crate::status::{OperationStatus, StatusBodyError};
use crate::vocab::Meaning;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request};
use std::sync::Arc;

/// A scripted response: status, headers, body.
#[derive(Clone, Copy)]
struct R {
    status: u16,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const fn r(status: u16, headers: &'static [(&'static str, &'static str)], body: &'static str) -> R {
    R {
        status,
        headers,
        body,
    }
}

/// A poll the machine asked for: when (seconds after the submission's response), what, which kind.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    at_ms: u128,
    uri: String,
    kind: PollKind,
}

#[derive(Debug)]
enum Outcome {
    NotLro,
    /// Finished in the submission's answer.
    Final(Delivery),
    /// The index of the scripted poll response that was delivered, and how.
    Delivered(usize, Delivery),
    Failed(Error),
    StartError(Error),
}

struct Run {
    sent: Vec<Sent>,
    requests: Vec<PollRequest>,
    outcome: Outcome,
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v.as_bytes()).unwrap(),
        );
    }
    h
}

const WALL: &str = "Sun, 22 Nov 2026 10:00:00 GMT";

fn drive(
    cfg: Config,
    method: &str,
    url: &str,
    req_headers: &[(&str, &str)],
    submit: R,
    polls: &[R],
) -> Run {
    drive_with(
        cfg,
        LroOptions::new(),
        method,
        url,
        req_headers,
        submit,
        polls,
    )
}

fn drive_with(
    cfg: Config,
    options: LroOptions,
    method: &str,
    url: &str,
    req_headers: &[(&str, &str)],
    submit: R,
    polls: &[R],
) -> Run {
    let t0 = Instant::now();
    let wall0 = httpdate::parse_http_date(WALL).unwrap();
    let head = RequestHead::new(
        method.parse().unwrap(),
        url.parse().unwrap(),
        headers(req_headers),
    );
    let body = Bytes::from_static(submit.body.as_bytes());
    let params = params_of(&cfg, &options);
    let begin = Submission::new(Arc::new(cfg), head, params, Now::new(t0, wall0)).start(
        StatusCode::from_u16(submit.status).unwrap(),
        &headers(submit.headers),
        Some(&body),
    );
    let mut sent = Vec::new();
    let mut requests = Vec::new();
    let (mut machine, mut action) = match begin {
        Err(e) => {
            return Run {
                sent,
                requests,
                outcome: Outcome::StartError(e),
            }
        }
        Ok(Begin::Final(meta)) => {
            return Run {
                sent,
                requests,
                outcome: Outcome::Final(meta),
            }
        }
        Ok(Begin::NotLro) => {
            return Run {
                sent,
                requests,
                outcome: Outcome::NotLro,
            }
        }
        Ok(Begin::Lro(m, a)) => (m, Action::from(a)),
    };
    let mut next = 0;
    loop {
        match action {
            Action::Send { at, request } => {
                assert!(
                    at >= t0 && at <= machine.deadline(),
                    "wait within the deadline"
                );
                sent.push(Sent {
                    at_ms: at.duration_since(t0).as_millis(),
                    uri: request.uri().to_string(),
                    kind: request.kind(),
                });
                requests.push(request);
                let resp = polls
                    .get(next)
                    .unwrap_or_else(|| panic!("script ran out after {sent:?}"));
                next += 1;
                let status = StatusCode::from_u16(resp.status).unwrap();
                let h = headers(resp.headers);
                let body = Bytes::from_static(resp.body.as_bytes());
                let elapsed = at.duration_since(t0);
                let wall = wall0 + elapsed;
                let body = machine.wants_body(status).then_some(&body);
                let answer = Answer {
                    status,
                    headers: &h,
                    body,
                };
                action = machine.handle_answer(Now::new(at, wall), answer);
            }
            Action::Deliver(meta) => {
                assert_eq!(next, polls.len(), "every scripted response was used");
                return Run {
                    sent,
                    requests,
                    outcome: Outcome::Delivered(next - 1, meta),
                };
            }
            Action::Fail(e) | Action::Cancel { error: e, .. } => {
                assert_eq!(next, polls.len(), "every scripted response was used");
                return Run {
                    sent,
                    requests,
                    outcome: Outcome::Failed(e),
                };
            }
        }
    }
}

fn cfg() -> Config {
    Config::default()
}

/// What the driver resolves from a request's options.
fn params_of(cfg: &Config, options: &LroOptions) -> Params {
    let mut params = Params::new(cfg);
    if let Some(d) = options.deadline {
        params = params.deadline(d);
    }
    if let Some(f) = options.final_state {
        params = params.final_state(f);
    }
    params = params.start_only(options.start_only);
    if let Some(d) = &options.dialect {
        params = params.dialect(d.clone());
    }
    params
}

/// Starts a machine on a bodiless submission answer.
fn start(cfg: Config, url: &str, answer: &HeaderMap, now: Now) -> Result<Begin, Error> {
    let head = RequestHead::new(Method::POST, url.parse().unwrap(), HeaderMap::new());
    let params = Params::new(&cfg);
    Submission::new(Arc::new(cfg), head, params, now).start(StatusCode::ACCEPTED, answer, None)
}

/// (at seconds, uri, kind) triples, for compact expectations.
fn schedule(run: &Run) -> Vec<(f64, &str, PollKind)> {
    run.sent
        .iter()
        .map(|s| (s.at_ms as f64 / 1000.0, s.uri.as_str(), s.kind))
        .collect()
}

use PollKind::{Resource, Status};

const V2_SUBMIT: R = r(
    202,
    &[(
        "Operation-Location",
        "https://atlas.microsoft.com/service/operations/c58",
    )],
    "",
);
const V2_RUNNING: R = r(
    200,
    &[("Retry-After", "30")],
    r#"{"operationId":"c58","created":"3/11/2020 8:45:13 PM +00:00","status":"Running"}"#,
);
const V2_SUCCEEDED_RES: R = r(
    200,
    &[(
        "Resource-Location",
        "\"https://atlas.microsoft.com/tileset/t1\"",
    )],
    r#" {"operationId":"c58","created":"2021-05-06T07:55:19.5256829+00:00","status":"Succeeded"}"#,
);
const V2_SUCCEEDED: R = r(
    200,
    &[],
    r#"{"operationId":"c58","created":"x","status":"Succeeded"}"#,
);
const FAILED: R = r(
    200,
    &[],
    r#"{"operationId":"c58","created":"x","status":"Failed","error":{"code":"InvalidFeature","message":"The provided feature is invalid.","details":{"code":"NoGeometry","message":"No geometry was provided with the feature."}}}"#,
);
const RESOURCE: R = r(
    200,
    &[("content-type", "application/json")],
    r#"{"tilesetId":"t1"}"#,
);
const V1_SUBMIT: R = r(
    202,
    &[(
        "Location",
        "https://atlas.microsoft.com/service/operations/c58",
    )],
    "",
);
const V1_RUNNING: R = r(
    200,
    &[("Retry-After", "30")],
    r#"{"operationId":"c58","createdDateTime":"3/11/2020 8:45:13 PM +00:00","status":"Running"}"#,
);
const V1_CREATED: R = r(
    201,
    &[("Location", "\"https://atlas.microsoft.com/tileset/t1\"")],
    r#"{"operationId":"c58","createdDateTime":"x","status":"Succeeded","resourceLocation":"https://atlas.microsoft.com/tileset/t1"}"#,
);
const V1_OK: R = r(
    200,
    &[],
    r#"{"operationId":"c58","createdDateTime":"x","status":"Succeeded"}"#,
);
const OPS: &str = "https://atlas.microsoft.com/service/operations/c58";
const TILESET: &str = "https://atlas.microsoft.com/tileset/t1";
const SUBMIT_URL: &str = "https://atlas.microsoft.com/tilesets?datasetId=d1";

fn delivered(run: &Run) -> (usize, &LroMetadata) {
    let (i, d) = delivery(run);
    (i, &d.metadata)
}

/// The delivered answer's index, and the instructions that came with it.
fn delivery(run: &Run) -> (usize, &Delivery) {
    match &run.outcome {
        Outcome::Delivered(i, d) => (*i, d),
        other => panic!("expected delivery, got {other:?}"),
    }
}

fn failed(run: &Run) -> &Error {
    match &run.outcome {
        Outcome::Failed(e) | Outcome::StartError(e) => e,
        other => panic!("expected failure, got {other:?}"),
    }
}

/// The message of the error's OData-shaped error object, if it has one.
fn message(err: &Error) -> Option<&str> {
    err.odata_error().and_then(|e| e.message.as_deref())
}

/// The run failed (not canceled), its error carrying `text` as its message: the documented
/// failure row of a job API (the jobs and batch tables).
#[track_caller]
fn assert_failed_with(run: &Run, text: &str) {
    let err = failed(run);
    assert_eq!(
        (err.kind(), err.is_canceled()),
        (ErrorKind::OperationFailed, false)
    );
    assert_eq!(message(err), Some(text));
}

/// A declared dialect of `tests/fixtures/dialects/`, by a short name (the service rows).
pub(crate) fn dialect(name: &str) -> Dialect {
    let text = match name {
        "digitalocean" => {
            include_str!("../../tests/fixtures/dialects/digitalocean-droplet-actions.json")
        }
        "hal" => include_str!("../../tests/fixtures/dialects/hal-task-resource.json"),
        "speech" => {
            include_str!("../../tests/fixtures/dialects/speech-batch-transcription.json")
        }
        "durable" => include_str!("../../tests/fixtures/dialects/durable-functions.json"),
        "teams" => include_str!("../../tests/fixtures/dialects/graph-teams-operations.json"),
        "blob-copy" => include_str!("../../tests/fixtures/dialects/azure-blob-copy.json"),
        "fhir" => include_str!("../../tests/fixtures/dialects/fhir-bulk-export.json"),
        "ogc" => include_str!("../../tests/fixtures/dialects/ogc-api-processes-job.json"),
        "flower" => include_str!("../../tests/fixtures/dialects/celery-flower-task.json"),
        "mediaconvert" => {
            include_str!("../../tests/fixtures/dialects/aws-mediaconvert-job.json")
        }
        "openai-batch" => include_str!("../../tests/fixtures/dialects/openai-batch.json"),
        "replicate" => include_str!("../../tests/fixtures/dialects/replicate-prediction.json"),
        "assemblyai" => {
            include_str!("../../tests/fixtures/dialects/assemblyai-transcript.json")
        }
        "runpod" => include_str!("../../tests/fixtures/dialects/runpod-serverless-job.json"),
        "databricks" => include_str!("../../tests/fixtures/dialects/databricks-job-run.json"),
        "step-functions" => {
            include_str!("../../tests/fixtures/dialects/aws-step-functions-execution.json")
        }
        "bedrock-batch" => {
            include_str!("../../tests/fixtures/dialects/aws-bedrock-batch-inference.json")
        }
        "vertex-batch" => {
            include_str!("../../tests/fixtures/dialects/vertex-ai-batch-prediction.json")
        }
        "airflow" => include_str!("../../tests/fixtures/dialects/apache-airflow-dag-run.json"),
        "wes" => include_str!("../../tests/fixtures/dialects/ga4gh-wes-run.json"),
        "tes" => include_str!("../../tests/fixtures/dialects/ga4gh-tes-task.json"),
        "ray" => include_str!("../../tests/fixtures/dialects/ray-job.json"),
        other => panic!("no fixture {other}"),
    };
    Dialect::from_json(text).unwrap()
}

fn with(dialect: Dialect) -> LroOptions {
    LroOptions::new().dialect(dialect)
}

fn word(meta: &LroMetadata) -> (&str, Meaning) {
    (meta.status().as_str(), meta.status().meaning())
}

mod duplicates_tests;
mod errors_tests;
mod named_dialects_tests;
mod polls_tests;
mod requests_tests;
mod seeds_tests;
mod services_batch_tests;
mod services_declared_tests;
mod services_google_tests;
mod services_jobs_tests;
mod services_microsoft_tests;
mod services_review_tests;
mod services_standards_tests;
mod services_workflows_tests;
mod shapes_tests;
mod waits_tests;
