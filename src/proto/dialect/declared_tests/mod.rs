//! Declared dialects: the fixtures in `tests/fixtures/dialects/` read, and applied to the bodies
//! the services document, find the status URL, the word, the result and the error. This module
//! holds the fixtures and the readers the tables share; the tables are by topic: the services'
//! bodies (`bodies`), whole answers (`answers`), what descriptions and found URLs may be
//! (`checks`).

use super::places::percent_text;
use super::*;
use http::header::HeaderValue;
use serde_json::json;

const FIXTURES: &[(&str, &str)] = &[
    (
        "digitalocean-droplet-actions",
        include_str!("../../../../tests/fixtures/dialects/digitalocean-droplet-actions.json"),
    ),
    (
        "hal-task-resource",
        include_str!("../../../../tests/fixtures/dialects/hal-task-resource.json"),
    ),
    (
        "speech-batch-transcription",
        include_str!("../../../../tests/fixtures/dialects/speech-batch-transcription.json"),
    ),
    (
        "durable-functions",
        include_str!("../../../../tests/fixtures/dialects/durable-functions.json"),
    ),
    (
        "graph-teams-operations",
        include_str!("../../../../tests/fixtures/dialects/graph-teams-operations.json"),
    ),
    (
        "azure-blob-copy",
        include_str!("../../../../tests/fixtures/dialects/azure-blob-copy.json"),
    ),
    (
        "fhir-bulk-export",
        include_str!("../../../../tests/fixtures/dialects/fhir-bulk-export.json"),
    ),
    (
        "ogc-api-processes-job",
        include_str!("../../../../tests/fixtures/dialects/ogc-api-processes-job.json"),
    ),
    (
        "celery-flower-task",
        include_str!("../../../../tests/fixtures/dialects/celery-flower-task.json"),
    ),
    (
        "aws-mediaconvert-job",
        include_str!("../../../../tests/fixtures/dialects/aws-mediaconvert-job.json"),
    ),
    (
        "aws-transcribe-job",
        include_str!("../../../../tests/fixtures/dialects/aws-transcribe-job.json"),
    ),
    (
        "openai-batch",
        include_str!("../../../../tests/fixtures/dialects/openai-batch.json"),
    ),
    (
        "replicate-prediction",
        include_str!("../../../../tests/fixtures/dialects/replicate-prediction.json"),
    ),
    (
        "assemblyai-transcript",
        include_str!("../../../../tests/fixtures/dialects/assemblyai-transcript.json"),
    ),
    (
        "runpod-serverless-job",
        include_str!("../../../../tests/fixtures/dialects/runpod-serverless-job.json"),
    ),
    (
        "databricks-job-run",
        include_str!("../../../../tests/fixtures/dialects/databricks-job-run.json"),
    ),
    (
        "aws-step-functions-execution",
        include_str!("../../../../tests/fixtures/dialects/aws-step-functions-execution.json"),
    ),
    (
        "aws-bedrock-batch-inference",
        include_str!("../../../../tests/fixtures/dialects/aws-bedrock-batch-inference.json"),
    ),
    (
        "vertex-ai-batch-prediction",
        include_str!("../../../../tests/fixtures/dialects/vertex-ai-batch-prediction.json"),
    ),
    (
        "apache-airflow-dag-run",
        include_str!("../../../../tests/fixtures/dialects/apache-airflow-dag-run.json"),
    ),
];

fn fixture(name: &str) -> DeclaredDialect {
    let (_, text) = FIXTURES.iter().find(|(n, _)| *n == name).unwrap();
    DeclaredDialect::from_json(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
        .collect()
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// Reads a status body: (word, meaning, recognised, error as JSON text).
fn status(d: &DeclaredDialect, body: &str) -> (Option<String>, Meaning, bool, Option<String>) {
    let value = parse(body);
    let none = HeaderMap::new();
    let r = d.read_status(&d.vocabulary(), StatusCode::OK, &none, &value);
    (
        r.word.map(str::to_owned),
        r.meaning,
        r.classified.recognised,
        r.error.map(|e| match e {
            FoundError::Whole(v) => v.to_string(),
            parts => parts.odata().to_string(),
        }),
    )
}

/// Reads an answer: its status, headers and body (`""` for none) → (word, meaning, error, %).
fn answer(
    d: &DeclaredDialect,
    code: u16,
    pairs: &[(&'static str, &'static str)],
    body: &str,
) -> (Option<String>, Meaning, Option<String>, Option<f64>) {
    let value = serde_json::from_str(body).unwrap_or(Value::Null);
    let h = headers(pairs);
    let status = StatusCode::from_u16(code).unwrap();
    let r = d.read_status(&d.vocabulary(), status, &h, &value);
    (
        r.word.map(str::to_owned),
        r.meaning,
        r.error.map(|e| match e {
            FoundError::Whole(v) => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            parts => parts.odata().to_string(),
        }),
        d.percent(&h, &value),
    )
}

mod answers_tests;
mod bodies_tests;
mod checks_tests;
mod errors_tests;
