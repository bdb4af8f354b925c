//! `error` in parts: a code and a message at places of their own, as AWS Step Functions'
//! `DescribeExecution` writes a failed execution's `error` (a code) and `cause` (its message),
//! carried by the typed error as an OData or Google error's `code` and `message` are.

use super::*;

fn read<'a>(d: &DeclaredDialect, h: &'a HeaderMap, body: &'a Value) -> StatusReading<'a> {
    d.read_status(&d.vocabulary(), StatusCode::OK, h, body)
}

/// (code, message) of the error an answer carries, as the typed error has them.
fn parts(
    d: &DeclaredDialect,
    h: &HeaderMap,
    body: &str,
) -> Option<(Option<String>, Option<String>)> {
    let value = parse(body);
    let e = read(d, h, &value).error?.odata();
    Some((e.code().map(str::to_owned), e.message().map(str::to_owned)))
}

fn pair(code: Option<&str>, message: Option<&str>) -> Option<(Option<String>, Option<String>)> {
    Some((code.map(str::to_owned), message.map(str::to_owned)))
}

/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html:
/// `error` "the error string if the state machine execution failed", `cause` "the cause string
/// if the state machine execution failed"; either may be missing.
#[test]
fn step_functions_error_and_cause_are_the_code_and_the_message() {
    let d = fixture("aws-step-functions-execution");
    let none = HeaderMap::new();
    let failed = r#"{"status": "FAILED", "error": "Kaput", "cause": "the input said so"}"#;
    assert_eq!(
        parts(&d, &none, failed),
        pair(Some("Kaput"), Some("the input said so"))
    );
    let value = parse(failed);
    assert_eq!(read(&d, &none, &value).meaning, Meaning::Failed);
    let rows = [
        (
            r#"{"status": "TIMED_OUT", "error": "States.Timeout"}"#,
            pair(Some("States.Timeout"), None),
        ),
        (
            r#"{"status": "FAILED", "cause": "the input said so"}"#,
            pair(None, Some("the input said so")),
        ),
        // A blank text says nothing, as a blank status word.
        (
            r#"{"status": "FAILED", "error": " ", "cause": "c"}"#,
            pair(None, Some("c")),
        ),
        (r#"{"status": "FAILED", "error": null, "cause": ""}"#, None),
        (r#"{"status": "SUCCEEDED", "output": "{}"}"#, None),
    ];
    for (body, want) in rows {
        assert_eq!(parts(&d, &none, body), want, "{body}");
    }
}

/// MediaConvert's job has `errorCode` (an integer) and `errorMessage`: a number is written out.
/// https://docs.aws.amazon.com/mediaconvert/latest/apireference/jobs-id.html#jobs-id-http-methods
#[test]
fn mediaconvert_error_code_and_message() {
    let d = fixture("aws-mediaconvert-job");
    let body = r#"{"job": {"status": "ERROR", "errorCode": 1010, "errorMessage": "Unable to open input file"}}"#;
    assert_eq!(
        parts(&d, &HeaderMap::new(), body),
        pair(Some("1010"), Some("Unable to open input file"))
    );
}

#[test]
fn parts_read_lists_and_headers_and_decide_as_an_error_does() {
    let d = DeclaredDialect::from_json(
        r#"{"status_url": {"header": "Location"}, "status_word": "/s",
            "error": {"code": ["/code", {"header": "x-error-code"}], "message": "/m"}}"#,
    )
    .unwrap();
    let h = headers(&[("x-error-code", " E42 ")]);
    let none = HeaderMap::new();
    assert_eq!(
        parts(&d, &h, r#"{"m": "bad"}"#),
        pair(Some("E42"), Some("bad"))
    );
    assert_eq!(
        parts(&d, &h, r#"{"code": "E1", "m": "bad"}"#),
        pair(Some("E1"), Some("bad"))
    );
    assert_eq!(parts(&d, &none, r#"{"s": "Running"}"#), None);
    // As for an error read whole: it makes a missing word a failure, a success word stays.
    let meaning = |body: &str| read(&d, &none, &parse(body)).meaning;
    assert_eq!(meaning(r#"{"code": "E1"}"#), Meaning::Failed);
    assert_eq!(
        meaning(r#"{"s": "Succeeded", "m": "x"}"#),
        Meaning::Succeeded
    );
    // The members it reads are consulted for duplicates; others are not.
    assert!(d.consults("/code") && d.consults("/m"));
    assert!(!d.consults("/other"));
    // It round-trips.
    let again = serde_json::to_string(&d).unwrap();
    assert_eq!(DeclaredDialect::from_json(&again).unwrap(), d);
}

#[test]
fn parts_that_cannot_work_say_why() {
    let rows = [
        (r#"{}"#, "`error`: an object needs `code` or `message`"),
        (r#"{"cod": "/e"}"#, "unknown field `cod`"),
        (r#"{"code": "e"}"#, "`e` is not a JSON pointer"),
        (
            r#"{"code": {"header": "bad name"}}"#,
            "`bad name` is not a header name",
        ),
    ];
    for (error, want) in rows {
        let text = format!(
            r#"{{"status_url": {{"header": "Location"}}, "status_word": "/s", "error": {error}}}"#
        );
        let e = DeclaredDialect::from_json(&text).unwrap_err().to_string();
        assert!(e.contains(want), "{error}: {e}");
    }
}
