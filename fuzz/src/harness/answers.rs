//! What servers answer in each dialect (Google and Compute Engine operations, declared
//! documents) and the declared dialects themselves (fixtures and structured descriptions).

use super::*;

pub(super) fn opt_insert(
    u: &mut Unstructured<'_>,
    obj: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    odds: u8,
    value: impl FnOnce(&mut Unstructured<'_>) -> AResult<serde_json::Value>,
) -> AResult<()> {
    if u.ratio(odds, 8)? {
        let v = value(u)?;
        obj.insert(key.to_owned(), v);
    }
    Ok(())
}

pub(super) fn url_json(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    Ok(String::from_utf8_lossy(&decode_url(u)?).into_owned().into())
}

/// A Google `Operation` (AIP-151): well-formed most of the time, wrong types sometimes.
pub(super) fn google_op(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "name", 7, |u| {
        Ok(match u.int_in_range(0u8..=5)? {
            0 => u.arbitrary::<String>()?.into(),
            1 => url_json(u)?,
            2 => json!(42),
            _ => (*pick(u, GOOGLE_NAMES)?).into(),
        })
    })?;
    opt_insert(u, &mut obj, "done", 6, |u| {
        Ok(match u.int_in_range(0u8..=7)? {
            0 => json!(null),
            1 => json!("true"),
            2 | 3 => json!(false),
            _ => json!(true),
        })
    })?;
    opt_insert(u, &mut obj, "error", 3, json_error)?;
    opt_insert(u, &mut obj, "response", 3, |u| {
        Ok(match u.int_in_range(0u8..=3)? {
            0 => json!({"@type": "type.googleapis.com/x.Thing", "name": "things/1"}),
            1 => json!(null),
            2 => json!([1, {"a": "b"}]),
            _ => u.arbitrary::<String>()?.into(),
        })
    })?;
    opt_insert(u, &mut obj, "metadata", 3, |u| {
        let key = *pick(
            u,
            &["progressPercent", "progress_percent", "percentComplete"],
        )?;
        Ok(match u.int_in_range(0u8..=2)? {
            0 => json!({ key: u.arbitrary::<f32>()? }),
            1 => json!({ key: u.arbitrary::<String>()? }),
            _ => json!({"progress": {"progressPercent": u.arbitrary::<i64>()?}}),
        })
    })?;
    Ok(obj.into())
}

/// A Compute Engine `Operation`.
pub(super) fn compute_op(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "kind", 7, |u| {
        Ok((*pick(
            u,
            &["compute#operation", "compute#operation", "compute#instance"],
        )?)
        .into())
    })?;
    opt_insert(u, &mut obj, "status", 7, |u| {
        Ok(match u.int_in_range(0u8..=9)? {
            0 => json_state(u)?,
            1 => json!(7),
            n => ([
                "PENDING", "RUNNING", "DONE", "DONE", "DONE", "done", "RUNNING", "DONE",
            ][usize::from(n - 2)])
            .into(),
        })
    })?;
    opt_insert(u, &mut obj, "name", 4, |_| Ok("operation-1".into()))?;
    opt_insert(u, &mut obj, "selfLink", 7, url_json)?;
    opt_insert(u, &mut obj, "targetLink", 6, url_json)?;
    opt_insert(u, &mut obj, "operationType", 4, |u| {
        Ok((*pick(u, &["insert", "delete", "DELETE", "setMetadata", ""])?).into())
    })?;
    opt_insert(u, &mut obj, "error", 3, json_error)?;
    opt_insert(u, &mut obj, "progress", 2, |u| {
        Ok(json!(u.arbitrary::<i32>()?))
    })?;
    opt_insert(u, &mut obj, "httpErrorStatusCode", 1, |u| {
        Ok(json!(u.arbitrary::<i32>()?))
    })?;
    Ok(obj.into())
}

/// A body for declared dialects: the members the fixtures and the structured descriptions
/// point at, each present or not.
pub(super) fn declared_doc(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "status", 6, json_state)?;
    opt_insert(u, &mut obj, "runtimeStatus", 2, json_state)?;
    opt_insert(u, &mut obj, "self", 3, url_json)?;
    opt_insert(u, &mut obj, "statusQueryGetUri", 2, url_json)?;
    opt_insert(u, &mut obj, "targetResourceLocation", 2, url_json)?;
    opt_insert(u, &mut obj, "action", 3, |u| {
        let id = if u.arbitrary()? {
            json!(u.arbitrary::<u32>()?)
        } else {
            json!("a/../b")
        };
        Ok(json!({"id": id, "status": json_state(u)?, "resource_id": 7}))
    })?;
    opt_insert(u, &mut obj, "_links", 2, |u| {
        Ok(json!({"self": {"href": url_json(u)?}}))
    })?;
    opt_insert(u, &mut obj, "links", 2, |u| {
        Ok(json!({"actions": [{"href": url_json(u)?}], "files": url_json(u)?}))
    })?;
    opt_insert(u, &mut obj, "error", 2, json_error)?;
    opt_insert(u, &mut obj, "output", 2, |u| {
        Ok(if u.arbitrary()? {
            json!({"result": [1, 2]})
        } else {
            json!("done: ok")
        })
    })?;
    opt_insert(u, &mut obj, "title", 1, |u| {
        Ok(u.arbitrary::<String>()?.into())
    })?;
    // Issue 15: links chosen by relation, a task's state beside its result, FHIR issues.
    opt_insert(u, &mut obj, "items", 2, |u| {
        let rels = [
            "self",
            "results",
            "http://www.opengis.net/def/rel/ogc/1.0/results",
            "a]b=c",
        ];
        let n = u.int_in_range(0u8..=3)?;
        let mut links = Vec::new();
        for _ in 0..n {
            links.push(json!({"rel": *pick(u, &rels)?, "href": url_json(u)?, "id": 7}));
        }
        Ok(links.into())
    })?;
    opt_insert(u, &mut obj, "state", 2, json_state)?;
    opt_insert(u, &mut obj, "issue", 2, |u| {
        Ok(json!([{"severity": "error", "diagnostics": u.arbitrary::<String>()?}]))
    })?;
    Ok(obj.into())
}

/// The declared dialects of `tests/fixtures/dialects/`.
pub const DIALECT_FIXTURES: &[&str] = &[
    include_str!("../../../tests/fixtures/dialects/digitalocean-droplet-actions.json"),
    include_str!("../../../tests/fixtures/dialects/durable-functions.json"),
    include_str!("../../../tests/fixtures/dialects/graph-teams-operations.json"),
    include_str!("../../../tests/fixtures/dialects/hal-task-resource.json"),
    include_str!("../../../tests/fixtures/dialects/speech-batch-transcription.json"),
    include_str!("../../../tests/fixtures/dialects/azure-blob-copy.json"),
    include_str!("../../../tests/fixtures/dialects/fhir-bulk-export.json"),
    include_str!("../../../tests/fixtures/dialects/ogc-api-processes-job.json"),
    include_str!("../../../tests/fixtures/dialects/celery-flower-task.json"),
    include_str!("../../../tests/fixtures/dialects/aws-mediaconvert-job.json"),
    include_str!("../../../tests/fixtures/dialects/aws-transcribe-job.json"),
    include_str!("../../../tests/fixtures/dialects/openai-batch.json"),
    include_str!("../../../tests/fixtures/dialects/replicate-prediction.json"),
    include_str!("../../../tests/fixtures/dialects/assemblyai-transcript.json"),
    include_str!("../../../tests/fixtures/dialects/runpod-serverless-job.json"),
    include_str!("../../../tests/fixtures/dialects/databricks-job-run.json"),
    include_str!("../../../tests/fixtures/dialects/aws-step-functions-execution.json"),
    include_str!("../../../tests/fixtures/dialects/aws-bedrock-batch-inference.json"),
    include_str!("../../../tests/fixtures/dialects/vertex-ai-batch-prediction.json"),
    include_str!("../../../tests/fixtures/dialects/apache-airflow-dag-run.json"),
];

pub(super) const POINTERS: &[&str] = &[
    "/status",
    "/self",
    "/action/status",
    "/action/id",
    "/runtimeStatus",
    "/statusQueryGetUri",
    "/links/actions/0/href",
    "/_links/self/href",
    "/links/files",
    "/targetResourceLocation",
    "/output",
    "/error",
    "/title",
    "",
    "/",
    "/a~1b/~0",
    "status",
    "/~2",
    // Selectors (issue 15): by a member's value, escaped, chained, unclosed, empty.
    "/items[rel=results]/href",
    "/items[rel=http://www.opengis.net/def/rel/ogc/1.0/results]/href",
    "/items/[rel=self]/href",
    "/items[rel=a~3b~4c]/href",
    "/items[rel=self][rel=self]",
    "/items[id=7]",
    "/issue[severity=error]/diagnostics",
    "/issue/0/diagnostics",
    "/state",
    "/items[rel=",
    "/items[=x]",
    "/items[rel=x]y",
    "/a~2b",
];

pub(super) const TEMPLATES: &[&str] = &[
    "https://svc.example/v2/actions/{/action/id}",
    "/ops/{/action/id}",
    "https://svc.example/{/self}",
    "http://169.254.169.254/{/action/id}",
    "{/self}",
    "https://svc.example/{",
    "https://svc.example/{}x",
    "https://svc.example/{/a}{/b}",
    // Issue 15: headers, the status URL, the submission's URL; network paths; malformed.
    "/jobs/{header:x-amz-job-id}",
    "jobs/{header:X-Amz-Job-Id}/{/action/id}",
    "{submission_url}/status/{/action/id}",
    "{status_url}/output",
    "{status_url}",
    "//evil.example/{/action/id}",
    "\\\\169.254.169.254/{header:x-amz-job-id}",
    "/x/{header:bad name}",
    "/x/{nope}",
    "/x/{header:}",
];

/// A `status_request` / `result_request`: a method (allowed or not), headers (some refused),
/// maybe a JSON body template.
pub(super) fn request_spec(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "method", 5, |u| {
        Ok((*pick(u, &["GET", "HEAD", "POST", "POST", "DELETE", "get"])?).into())
    })?;
    opt_insert(u, &mut obj, "headers", 3, |u| {
        let names = [
            "X-Amz-Target",
            "Content-Type",
            "Accept",
            "Authorization",
            "Content-Length",
            "Host",
            "bad name",
        ];
        let values = ["Svc.GetJob", "application/x-amz-json-1.1", "bad\nvalue", ""];
        let mut headers = serde_json::Map::new();
        for _ in 0..u.int_in_range(0u8..=3)? {
            headers.insert((*pick(u, &names)?).to_owned(), (*pick(u, &values)?).into());
        }
        Ok(headers.into())
    })?;
    opt_insert(u, &mut obj, "body", 4, |u| {
        let texts = [
            "{/action/id}",
            "{/self}",
            "{header:x-amz-job-id}",
            "{status_url}",
            "{submission_url}",
            "plain",
            "{nope}",
            "{/missing}",
        ];
        Ok(match u.int_in_range(0u8..=3)? {
            0 => json!({"JobName": *pick(u, &texts)?}),
            1 => json!({"Ids": [*pick(u, &texts)?, 3, null], "Nested": {"X": *pick(u, &texts)?}}),
            2 => json!(*pick(u, &texts)?),
            _ => json!(u.arbitrary::<u8>()?),
        })
    })?;
    opt_insert(u, &mut obj, "bogus", 1, |_| Ok(json!(1)))?;
    Ok(obj.into())
}

/// A `cancel`: a method (allowed or not), maybe a URL template, headers as a
/// `status_request`'s, and maybe a body whose templates read what a cancel knows (or not).
pub(super) fn cancel_spec(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let mut spec = request_spec(u)?;
    let obj = spec.as_object_mut().expect("request_spec makes an object");
    obj.insert(
        "method".to_owned(),
        (*pick(u, &["DELETE", "POST", "POST", "PATCH", "PUT", "GET"])?).into(),
    );
    obj.remove("body");
    let texts = [
        "{/operation_id}",
        "{/status_url}",
        "{status_url}",
        "id-{/operation_id}",
        "{number:/operation_id}",
        "{/action/id}",
        "{header:x-id}",
        "{submission_url}",
        "{nope",
    ];
    opt_insert(u, obj, "url", 3, |u| {
        Ok(json!({ "template": *pick(u, &texts)? }))
    })?;
    opt_insert(u, obj, "body", 3, |u| {
        Ok(match u.int_in_range(0u8..=2)? {
            0 => json!({"executionArn": *pick(u, &texts)?}),
            1 => json!({"run": {"id": *pick(u, &texts)?}, "hard": true}),
            _ => json!([*pick(u, &texts)?, 1]),
        })
    })?;
    Ok(spec)
}

/// A URL source (`status_url`) or result source of a description.
pub(super) fn url_source(u: &mut Unstructured<'_>, result: bool) -> AResult<serde_json::Value> {
    use serde_json::json;
    let free = |u: &mut Unstructured<'_>, list: &[&str]| -> AResult<String> {
        Ok(if u.ratio(1u8, 6)? {
            u.arbitrary::<String>()?
        } else {
            (*pick(u, list)?).to_owned()
        })
    };
    let headers = [
        "Location",
        "Operation-Location",
        "Content-Location",
        "x-status",
        "bad name",
    ];
    if !result && u.ratio(1u8, 6)? {
        return Ok(json!("self"));
    }
    Ok(match u.int_in_range(0u8..=if result { 3 } else { 2 })? {
        0 => json!({"header": free(u, &headers)?}),
        1 => json!({"pointer": free(u, POINTERS)?}),
        2 => json!({"template": free(u, TEMPLATES)?}),
        _ => json!({"embedded": free(u, POINTERS)?}),
    })
}

pub(super) fn sources(u: &mut Unstructured<'_>, result: bool) -> AResult<serde_json::Value> {
    let n = u.int_in_range(0u8..=3)?;
    if n == 1 {
        return url_source(u, result);
    }
    let items: AResult<Vec<_>> = (0..n).map(|_| url_source(u, result)).collect();
    Ok(items?.into())
}

pub(super) fn word_list(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    let n = u.int_in_range(0u8..=3)?;
    let mut words = Vec::new();
    for _ in 0..n {
        words.push(if u.ratio(1u8, 4)? {
            u.arbitrary::<String>()?
        } else {
            (*pick(u, STATES)?).to_owned()
        });
    }
    Ok(words.into())
}

/// Where a declared dialect reads a text: a pointer, `{"pointer": …}` or `{"header": …}`.
pub(super) fn place(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let headers = ["x-ms-copy-status", "x-progress", "X-Progress", "bad name"];
    Ok(match u.int_in_range(0u8..=2)? {
        0 => json!({"header": *pick(u, &headers)?}),
        1 => json!({"pointer": *pick(u, POINTERS)?}),
        _ => json!(*pick(u, POINTERS)?),
    })
}

/// A dialect description from structured but arbitrary fields (or a fixture), as JSON text.
pub fn declared_json(u: &mut Unstructured<'_>) -> AResult<String> {
    use serde_json::json;
    if u.ratio(1u8, 4)? {
        return Ok((*pick(u, DIALECT_FIXTURES)?).to_owned());
    }
    let mut obj = serde_json::Map::new();
    opt_insert(u, &mut obj, "name", 4, |u| {
        Ok(u.arbitrary::<String>()?.into())
    })?;
    opt_insert(u, &mut obj, "status_url", 7, |u| sources(u, false))?;
    let codes = |u: &mut Unstructured<'_>| -> AResult<serde_json::Value> {
        let n = u.int_in_range(0u8..=3)?;
        let all: AResult<Vec<u16>> = (0..n)
            .map(|_| {
                if u.ratio(1u8, 8)? {
                    u.arbitrary()
                } else {
                    Ok(*pick(u, &[200u16, 201, 202, 204, 303, 400, 500])?)
                }
            })
            .collect();
        Ok(json!(all?))
    };
    opt_insert(u, &mut obj, "start_on", 5, codes)?;
    opt_insert(u, &mut obj, "status_body_on", 2, codes)?;
    opt_insert(u, &mut obj, "status_word", 7, |u| {
        Ok(if u.ratio(1u8, 8)? {
            u.arbitrary::<String>()?.into()
        } else if u.ratio(1u8, 6)? {
            place(u)?
        } else {
            (*pick(u, POINTERS)?).into()
        })
    })?;
    opt_insert(u, &mut obj, "words", 3, |u| {
        let mut words = serde_json::Map::new();
        for meaning in ["succeeded", "failed", "canceled", "running"] {
            opt_insert(u, &mut words, meaning, 3, word_list)?;
        }
        Ok(words.into())
    })?;
    opt_insert(u, &mut obj, "result", 4, |u| sources(u, true))?;
    opt_insert(
        u,
        &mut obj,
        "error",
        3,
        |u| Ok((*pick(u, POINTERS)?).into()),
    )?;
    opt_insert(u, &mut obj, "error_marks_failure", 2, |u| {
        Ok(u.arbitrary::<bool>()?.into())
    })?;
    opt_insert(u, &mut obj, "base_url", 2, url_json)?;
    // Issue 15: meaning by HTTP status, progress from a pointer or a header.
    opt_insert(u, &mut obj, "status_codes", 3, |u| {
        let keys = [
            "200", "202", "404", "500", "503", "4xx", "5XX", "2xx", "302", "6xx", "x",
        ];
        let meanings = ["running", "succeeded", "failed", "canceled", "done"];
        let mut codes = serde_json::Map::new();
        for _ in 0..u.int_in_range(0u8..=3)? {
            codes.insert((*pick(u, &keys)?).to_owned(), (*pick(u, &meanings)?).into());
        }
        Ok(codes.into())
    })?;
    opt_insert(u, &mut obj, "progress", 2, place)?;
    // Issue 15: checks that are not a plain `GET`.
    opt_insert(u, &mut obj, "status_request", 3, request_spec)?;
    opt_insert(u, &mut obj, "result_request", 2, request_spec)?;
    opt_insert(u, &mut obj, "bogus", 1, |_| Ok(json!(1)))?;
    // Where the operation id is (last, so the descriptions drawn before it stay as they were).
    opt_insert(u, &mut obj, "operation_id", 2, place)?;
    // How it is cancelled (last too).
    opt_insert(u, &mut obj, "cancel", 2, cancel_spec)?;
    // A result in a string (`embedded_json`), words that leave a partial result (last too).
    if u.ratio(1u8, 3)? {
        to_embedded_json(obj.get_mut("result"));
    }
    opt_insert(u, &mut obj, "partial_result", 2, word_list)?;
    Ok(serde_json::Value::Object(obj).to_string())
}

/// Every `{"embedded": …}` result source made `{"embedded_json": …}`.
fn to_embedded_json(result: Option<&mut serde_json::Value>) {
    let mut one = |source: &mut serde_json::Value| {
        if let Some(map) = source.as_object_mut() {
            if let Some(p) = map.remove("embedded") {
                map.insert("embedded_json".to_owned(), p);
            }
        }
    };
    match result {
        Some(serde_json::Value::Array(items)) => items.iter_mut().for_each(&mut one),
        Some(other) => one(other),
        None => {}
    }
}
