//! Scenarios decoded from fuzzer bytes (through `arbitrary`): knobs, submissions, answers,
//! events, and the dialect a scenario names.

use super::*;

pub(super) fn pick<'a, T>(u: &mut Unstructured<'_>, items: &'a [T]) -> AResult<&'a T> {
    u.choose(items)
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn decode_duration(u: &mut Unstructured<'_>, default: Duration) -> AResult<Duration> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => default,
        1 => Duration::ZERO,
        2 => ms(u.int_in_range(0..=10_000)?),
        3 => ms(u.int_in_range(0..=120_000)?),
        4 => Duration::from_secs(u64::from(u.arbitrary::<u32>()?)),
        5 => Duration::MAX,
        6 => Duration::from_nanos(u.arbitrary::<u64>()?),
        _ => ms(u.int_in_range(1..=50)?),
    })
}

pub(super) fn decode_final_state(u: &mut Unstructured<'_>) -> AResult<FinalState> {
    Ok(*pick(
        u,
        &[
            FinalState::Auto,
            FinalState::Location,
            FinalState::OriginalUri,
            FinalState::StatusMonitor,
        ],
    )?)
}

pub(super) fn decode_knobs(u: &mut Unstructured<'_>) -> AResult<Knobs> {
    let d = Config::default();
    Ok(Knobs {
        poll_interval: decode_duration(u, d.poll_interval())?,
        max_poll_interval: decode_duration(u, d.max_poll_interval())?,
        min_wait: if u.ratio(1u8, 4)? {
            decode_duration(u, d.min_wait())?
        } else {
            Duration::ZERO
        },
        max_wait: decode_duration(u, d.max_wait())?,
        deadline: decode_duration(u, d.deadline())?,
        max_polls: match u.int_in_range(0u8..=63)? {
            0 | 2 | 3 => 0,
            1 => 1000,
            _ => u32::from(u.int_in_range(1u8..=40)?),
        },
        transient_retries: u.int_in_range(0..=8)?,
        final_state: decode_final_state(u)?,
        failure_as_response: u.arbitrary()?,
        detect_provisioning_state: !u.ratio(1u8, 8)?,
        carry_key: u.arbitrary()?,
        allow_other: u.ratio(1u8, 4)?,
        option_deadline: if u.ratio(1u8, 8)? {
            Some(decode_duration(u, d.deadline())?)
        } else {
            None
        },
        option_final_state: if u.ratio(1u8, 8)? {
            Some(decode_final_state(u)?)
        } else {
            None
        },
    })
}

/// Picks from `first` followed by `then`, as if they were one list.
pub(super) fn pick2<'a, T>(
    u: &mut Unstructured<'_>,
    first: &'a [T],
    then: &'a [T],
) -> AResult<&'a T> {
    let i = u.choose_index(first.len() + then.len())?;
    Ok(first.get(i).unwrap_or_else(|| &then[i - first.len()]))
}

pub(super) fn decode_url(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    let top = 12;
    Ok(match u.int_in_range(0u8..=top)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => {
            let n = u.int_in_range(60_000usize..=70_000)?;
            format!("https://svc.example/{}", "a".repeat(n)).into_bytes()
        }
        2 => {
            let base = pick2(u, URL_VALUES, INTERNAL_URLS)?;
            let tail: &str = u.arbitrary()?;
            format!("{base}{tail}").into_bytes()
        }
        10 | 11 => pick(u, INTERNAL_URLS)?.as_bytes().to_vec(),
        12 => {
            let base = pick(u, INTERNAL_URLS)?;
            let token: &str = u.arbitrary()?;
            let sep = if base.contains('?') { '&' } else { '?' };
            let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            format!("{base}{sep}sig={token}").into_bytes()
        }
        _ => pick2(u, URL_VALUES, INTERNAL_URLS)?.as_bytes().to_vec(),
    })
}

pub(super) fn decode_retry_value(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => u.arbitrary::<&[u8]>()?.to_vec(),
        1 => {
            // An HTTP-date around "now" of the synthetic wall clock.
            // (Not before 1970: httpdate cannot format those.)
            let offset = i64::from(u.arbitrary::<i32>()?).max(-1_600_000_000);
            let at = if offset >= 0 {
                wall0() + Duration::from_secs(offset.unsigned_abs())
            } else {
                wall0() - Duration::from_secs(offset.unsigned_abs())
            };
            httpdate::fmt_http_date(at).into_bytes()
        }
        2 => u.arbitrary::<u64>()?.to_string().into_bytes(),
        3 => u.int_in_range(0u32..=20)?.to_string().into_bytes(),
        _ => pick(u, RETRY_VALUES)?.as_bytes().to_vec(),
    })
}

pub(super) fn decode_headers(u: &mut Unstructured<'_>) -> AResult<Vec<(String, Vec<u8>)>> {
    let n = u.int_in_range(0u8..=5)?;
    let mut out = Vec::new();
    for _ in 0..n {
        let name = *pick(u, RESPONSE_HEADERS)?;
        let value = match name {
            "operation-location"
            | "azure-asyncoperation"
            | "location"
            | "resource-location"
            | "content-location" => decode_url(u)?,
            "retry-after" | "retry-after-ms" | "x-ms-retry-after-ms" | "date" => {
                decode_retry_value(u)?
            }
            // A job id for `{header:x-amz-job-id}` templates: plain, escaped, hostile.
            "x-amz-job-id" if u.ratio(3u8, 4)? => {
                let values = ["j-1", "a/../b", "..", "//evil.example", "%2e%2e", " 7 "];
                pick(u, &values)?.as_bytes().to_vec()
            }
            "x-ms-copy-status" | "x-progress" if u.ratio(3u8, 4)? => {
                let values = [
                    "pending",
                    "success",
                    "failed",
                    "aborted",
                    "1024/4096",
                    "40%",
                    "1/0",
                    "Exporting Patient",
                    "",
                ];
                pick(u, &values)?.as_bytes().to_vec()
            }
            "asyncresult" if u.ratio(3u8, 4)? => {
                let codes = [
                    "200", "201", "204", "400", "404", "409", "500", "503", " 202 ",
                ];
                pick(u, &codes)?.as_bytes().to_vec()
            }
            _ => u.arbitrary::<&[u8]>()?.to_vec(),
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

pub(super) fn json_state(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => serde_json::Value::Null,
        1 => serde_json::json!(3),
        2 => serde_json::json!({"a": 1}),
        3 => serde_json::Value::String(u.arbitrary::<String>()?),
        _ => serde_json::Value::String((*pick(u, STATES)?).to_owned()),
    })
}

/// An `error` member: OData objects, Compute `errors[]`, `google.rpc.Status`, and nonsense.
pub(super) fn json_error(u: &mut Unstructured<'_>) -> AResult<serde_json::Value> {
    use serde_json::json;
    let top = 9;
    Ok(match u.int_in_range(0u8..=top)? {
        0 => json!({"code": "Bad", "message": "broken", "details": {"code": "D"}}),
        1 => json!({"code": 5, "details": [{"code": "A"}, 3, null]}),
        2 => json!("not an object"),
        3 => json!({"innererror": {"deep": [1, 2, 3]}}),
        4 => json!({"errors": [{"code": "QUOTA_EXCEEDED", "message": "quota"}]}),
        5 => json!({"errors": []}),
        6 => json!({"code": "0", "message": null}),
        7 => json!({"code": 1, "message": "cancelled"}),
        8 => json!({"code": u.arbitrary::<i64>()?, "message": u.arbitrary::<String>()?}),
        _ => json!({}),
    })
}

pub(super) fn decode_doc(u: &mut Unstructured<'_>) -> AResult<Vec<u8>> {
    let mut obj = serde_json::Map::new();
    if !u.ratio(1u8, 6)? {
        obj.insert("status".into(), json_state(u)?);
    }
    if u.ratio(1u8, 3)? {
        let mut props = serde_json::Map::new();
        props.insert("provisioningState".into(), json_state(u)?);
        if u.ratio(1u8, 4)? {
            props.insert("error".into(), serde_json::json!({"code": "Inner"}));
        }
        obj.insert("properties".into(), props.into());
    }
    if u.ratio(1u8, 6)? {
        obj.insert("provisioningState".into(), json_state(u)?);
    }
    if u.ratio(1u8, 3)? {
        obj.insert("operationId".into(), serde_json::json!("op-1"));
    }
    if u.ratio(1u8, 6)? {
        obj.insert("id".into(), serde_json::json!(7));
    }
    if u.ratio(1u8, 3)? {
        let v = String::from_utf8_lossy(&decode_url(u)?).into_owned();
        obj.insert("resourceLocation".into(), v.into());
    }
    if u.ratio(1u8, 4)? {
        obj.insert("error".into(), json_error(u)?);
    }
    if u.ratio(1u8, 6)? {
        obj.insert(
            "percentComplete".into(),
            serde_json::json!(u.arbitrary::<f32>()?),
        );
    }
    let text = serde_json::Value::Object(obj).to_string();
    Ok(text.into_bytes())
}

pub(super) fn decode_body(u: &mut Unstructured<'_>, d: &DialectSpec) -> AResult<Option<Vec<u8>>> {
    let top = 16;
    Ok(Some(match u.int_in_range(0u8..=top)? {
        0 => Vec::new(),
        1 => u.arbitrary::<&[u8]>()?.to_vec(),
        2 => pick(
            u,
            &["[1,2]", "\"Running\"", "null", "3", "{", "  \n", "<html>"],
        )?
        .as_bytes()
        .to_vec(),
        3 => {
            let mut d = decode_doc(u)?;
            let cut = u.int_in_range(0..=d.len())?;
            d.truncate(cut);
            d
        }
        4 => {
            let mut d = b"\xEF\xBB\xBF".to_vec();
            d.extend(decode_doc(u)?);
            d
        }
        5 => return Ok(None),
        12..=15 => dialect_body(u, d)?,
        16 => {
            let mut d = dialect_body(u, d)?;
            let cut = u.int_in_range(0..=d.len())?;
            d.truncate(cut);
            d
        }
        _ => decode_doc(u)?,
    }))
}

/// A body in the scenario's dialect (any dialect's, for the default one).
pub(super) fn dialect_body(u: &mut Unstructured<'_>, d: &DialectSpec) -> AResult<Vec<u8>> {
    let which = match d {
        DialectSpec::Google(_) => 0,
        DialectSpec::Compute => 1,
        DialectSpec::Declared(_) => 2,
        _ => u.int_in_range(0u8..=2)?,
    };
    let value = match which {
        0 => google_op(u)?,
        1 => compute_op(u)?,
        _ => declared_doc(u)?,
    };
    Ok(value.to_string().into_bytes())
}

pub(super) fn decode_status(u: &mut Unstructured<'_>) -> AResult<u16> {
    if u.ratio(1u8, 16)? {
        u.int_in_range(100..=999)
    } else {
        Ok(*pick2(u, STATUSES, REDIRECTS)?)
    }
}

pub(super) fn decode_answer(u: &mut Unstructured<'_>, d: &DialectSpec) -> AResult<Answer> {
    Ok(Answer {
        status: decode_status(u)?,
        headers: decode_headers(u)?,
        body: decode_body(u, d)?,
    })
}

/// A status monitor's redirect (spec §4a): a redirect status, usually a `Location`.
pub(super) fn decode_redirect(u: &mut Unstructured<'_>, d: &DialectSpec) -> AResult<Answer> {
    let mut answer = decode_answer(u, d)?;
    answer.status = *pick(u, REDIRECTS)?;
    if !u.ratio(1u8, 10)? {
        answer
            .headers
            .insert(0, ("location".to_owned(), decode_url(u)?));
    }
    Ok(answer)
}

pub(super) fn decode_event(u: &mut Unstructured<'_>, d: &DialectSpec) -> AResult<Event> {
    let latency_ms = match u.int_in_range(0u8..=3)? {
        0 => 0,
        1 => u.int_in_range(0..=100)?,
        2 => u.int_in_range(0..=600_000)?,
        _ => u.arbitrary()?,
    };
    let top = 19;
    Ok(match u.int_in_range(0u8..=top)? {
        0 => Event::Transport { latency_ms },
        1 => Event::TooLarge {
            answer: decode_answer(u, d)?,
            latency_ms,
        },
        2 => Event::BodyRead {
            answer: decode_answer(u, d)?,
            latency_ms,
        },
        16..=18 => Event::Response {
            answer: decode_redirect(u, d)?,
            latency_ms,
        },
        19 => {
            let mut answer = decode_answer(u, d)?;
            answer.status = *pick(u, &[200u16, 200, 201, 202])?;
            answer.body = Some(dialect_body(u, d)?);
            Event::Response { answer, latency_ms }
        }
        _ => Event::Response {
            answer: decode_answer(u, d)?,
            latency_ms,
        },
    })
}

/// A dialect for a wide scenario: mostly the default one; declared ones only when accepted.
pub(super) fn decode_dialect(u: &mut Unstructured<'_>) -> AResult<DialectSpec> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 | 1 => DialectSpec::Default,
        2 => DialectSpec::Google(None),
        3 => {
            let base = pick(
                u,
                &[
                    "https://svc.example/v1/",
                    "https://svc.example",
                    "http://10.0.0.1/v1",
                ],
            )?;
            DialectSpec::Google(Some((*base).to_owned()))
        }
        4 => DialectSpec::Compute,
        _ => {
            let json = declared_json(u)?;
            match Dialect::from_json(&json) {
                Ok(_) => DialectSpec::Declared(json),
                Err(_) => DialectSpec::Default,
            }
        }
    })
}

impl Scenario {
    /// Decodes a scenario from fuzzer bytes: a dialect, the knobs, the submission and its
    /// answer, then what happens to each request (redirects, dialect bodies,
    /// `Content-Location`, `AsyncResult` and the wider vocabulary, spec §3–§4a, §7, §10).
    pub fn decode(u: &mut Unstructured<'_>) -> AResult<Scenario> {
        let dialect = decode_dialect(u)?;
        Self::decode_with(u, dialect)
    }

    pub(super) fn decode_with(u: &mut Unstructured<'_>, dialect: DialectSpec) -> AResult<Scenario> {
        let d = &dialect;
        let knobs = decode_knobs(u)?;
        let methods = [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::GET,
        ];
        let method = pick(u, &methods)?.clone();
        let url = u.choose_index(SUBMISSIONS.len())?;
        let mut request_headers = Vec::new();
        for i in 0..REQUEST_HEADERS.len() {
            if u.ratio(2u8, 3)? {
                request_headers.push(i);
            }
        }
        let submission = decode_submission(u, d)?;
        let mut events = Vec::new();
        while !u.is_empty() && events.len() < 64 {
            events.push(decode_event(u, d)?);
        }
        let mut knobs = knobs;
        let long_value = submission.headers.iter().any(|(_, v)| v.len() > 4096);
        if long_value && knobs.max_polls > 40 {
            // 1000 polls of a 64 KiB URL take ~0.3 s (20 s under ASan): keep the fuzzer fast.
            knobs.max_polls = 40;
        }
        Ok(Scenario {
            knobs,
            method,
            url,
            request_headers,
            submission,
            events,
            dialect,
        })
    }
}

/// The submission's answer: usually something that starts an LRO (in the scenario's dialect).
pub(super) fn decode_submission(u: &mut Unstructured<'_>, d: &DialectSpec) -> AResult<Answer> {
    let mut submission = decode_answer(u, d)?;
    let dialect_start = *d != DialectSpec::Default;
    if dialect_start && u.ratio(3u8, 4)? {
        submission.status = *pick(u, &[200u16, 200, 201, 202])?;
        submission.body = Some(dialect_body(u, d)?);
        if u.ratio(1u8, 3)? {
            submission
                .headers
                .insert(0, ("location".to_owned(), decode_url(u)?));
        }
    } else if u.ratio(3u8, 4)? {
        submission.status = *pick(u, &[200u16, 201, 202, 202, 202])?;
        let names = ["operation-location", "azure-asyncoperation", "location"];
        let name = *pick2(u, &names, &["content-location"])?;
        submission
            .headers
            .insert(0, (name.to_owned(), decode_url(u)?));
    }
    Ok(submission)
}
