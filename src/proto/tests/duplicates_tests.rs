//! Duplicate JSON members (issue 14, §5): a status document in which a member a reader consults
//! comes twice is malformed — a protocol error naming the member — never the friendlier of the
//! two values. One row per reader; duplicates of members nobody reads stay allowed.

use super::*;

/// Which reader a row goes through.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// `Operation-Location`: the default fast reader on a status poll.
    StatusPoll,
    /// `202` + `Location`: a `200` on the monitor read as a status document when it is one.
    LocationPoll,
    /// `PUT` + `provisioningState`: the resource polled for its state.
    Provisioning,
    /// The submission's own answer (`PUT` `201` with `provisioningState`).
    Submission,
    Google,
    Compute,
    /// A declared dialect (Durable Functions' description: `/runtimeStatus`, error `/output`).
    Declared,
}

const OL: R = r(
    202,
    &[("operation-location", "https://s.example/ops/1")],
    "",
);

/// Runs `body` through `reader` as the answer that decides the operation.
fn run(reader: Reader, body: &'static str) -> Run {
    let url = "https://s.example/v1/things/1";
    let google_sub = r(200, &[], r#"{"name":"operations/1","done":false}"#);
    let compute_sub = r(
        200,
        &[],
        r#"{"kind":"compute#operation","name":"op-1","status":"RUNNING","selfLink":"https://s.example/compute/v1/operations/op-1"}"#,
    );
    let declared_sub = r(202, &[("location", "https://s.example/instances/1")], "{}");
    let with = |d: Dialect| LroOptions::new().dialect(d);
    let durable = || {
        Dialect::from_json(include_str!(
            "../../../tests/fixtures/dialects/durable-functions.json"
        ))
        .unwrap()
    };
    let ok = |b| r(200, &[], b);
    match reader {
        Reader::StatusPoll => drive(cfg(), "POST", url, &[], OL, &[ok(body)]),
        Reader::LocationPoll => {
            let sub = r(202, &[("location", "https://s.example/ops/1")], "");
            drive(cfg(), "POST", url, &[], sub, &[ok(body)])
        }
        Reader::Provisioning => {
            let sub = r(
                201,
                &[],
                r#"{"properties":{"provisioningState":"Creating"}}"#,
            );
            drive(cfg(), "PUT", url, &[], sub, &[ok(body)])
        }
        Reader::Submission => drive(cfg(), "PUT", url, &[], r(201, &[], body), &[]),
        Reader::Google => drive_with(
            cfg(),
            with(Dialect::google()),
            "POST",
            url,
            &[],
            google_sub,
            &[ok(body)],
        ),
        Reader::Compute => drive_with(
            cfg(),
            with(Dialect::compute()),
            "POST",
            url,
            &[],
            compute_sub,
            &[ok(body)],
        ),
        Reader::Declared => drive_with(
            cfg(),
            with(durable()),
            "POST",
            url,
            &[],
            declared_sub,
            &[ok(body)],
        ),
    }
}

/// The error of a run that failed, at the submission or on a poll.
fn error_of(run: &Run) -> Option<&Error> {
    match &run.outcome {
        Outcome::Failed(e) | Outcome::StartError(e) => Some(e),
        _ => None,
    }
}

#[test]
fn a_consulted_member_that_comes_twice_is_malformed() {
    use Reader::*;
    #[rustfmt::skip]
    let rows: &[(Reader, &str, &str)] = &[
        (StatusPoll, r#"{"status":"Failed","status":"Succeeded"}"#, "status"),
        (StatusPoll, r#"{"status":"Succeeded","error":{"code":"E","message":"boom"},"error":null}"#, "error"),
        (StatusPoll, r#"{"status":"Succeeded","error":{"message":"boom","message":""}}"#, "error.message"),
        (StatusPoll, r#"{"status":"Succeeded","resourceLocation":"https://s.example/a","resourceLocation":"https://s.example/b"}"#, "resourceLocation"),
        (StatusPoll, r#"{"status":"Succeeded","properties":{"error":{"message":"x"},"error":null}}"#, "properties.error"),
        (LocationPoll, r#"{"status":"Failed","status":"Succeeded"}"#, "status"),
        (Provisioning, r#"{"properties":{"provisioningState":"Failed","provisioningState":"Succeeded"}}"#, "properties.provisioningState"),
        (Provisioning, r#"{"provisioningState":"Failed","provisioningState":"Succeeded"}"#, "provisioningState"),
        (Submission, r#"{"provisioningState":"Creating","provisioningState":"Succeeded"}"#, "provisioningState"),
        (Google, r#"{"name":"operations/1","done":true,"error":{"code":3,"message":"bad"},"error":null}"#, "/error"),
        (Google, r#"{"name":"operations/1","done":false,"done":true}"#, "/done"),
        (Google, r#"{"name":"operations/1","done":true,"error":{"code":3,"code":1}}"#, "/error/code"),
        (Compute, r#"{"name":"op-1","status":"DONE","error":{"errors":[{"code":"X"}]},"error":{}}"#, "/error"),
        (Compute, r#"{"name":"op-1","status":"RUNNING","status":"DONE"}"#, "/status"),
        (Declared, r#"{"runtimeStatus":"Failed","runtimeStatus":"Completed","output":1}"#, "/runtimeStatus"),
        (Declared, r#"{"runtimeStatus":"Completed","output":{"a":1,"a":2}}"#, "/output/a"),
    ];
    for (reader, body, member) in rows {
        let run = run(*reader, body);
        let e = error_of(&run).unwrap_or_else(|| panic!("{reader:?} {body}: {:?}", run.outcome));
        assert_eq!(e.kind(), ErrorKind::Protocol, "{reader:?} {body}");
        let want = StatusBodyError::DuplicateMember((*member).into());
        match e.reason() {
            Reason::StatusBody { error, .. } | Reason::ResourceBody { error, .. } => {
                assert_eq!(error, &want, "{reader:?} {body}")
            }
            other => panic!("{reader:?} {body}: {other:?}"),
        }
    }
}

/// Duplicates of members no reader consults are allowed, in every reader.
#[test]
fn duplicates_of_unread_members_stay_allowed() {
    use Reader::*;
    #[rustfmt::skip]
    let rows: &[(Reader, &str)] = &[
        (StatusPoll, r#"{"status":"Succeeded","created":"a","created":"b","properties":{"status":1,"status":2}}"#),
        (StatusPoll, r#"{"status":"Succeeded","extra":{"x":1,"x":2}}"#),
        (LocationPoll, r#"{"name":"thing","name":"thing2"}"#),
        (Provisioning, r#"{"properties":{"provisioningState":"Succeeded","sku":1,"sku":2}}"#),
        (Submission, r#"{"properties":{"provisioningState":"Succeeded"},"tags":{},"tags":{}}"#),
        (Google, r#"{"name":"operations/1","done":true,"response":{"id":1,"id":2},"metadata":{"note":1,"note":2}}"#),
        (Compute, r#"{"name":"op-1","status":"DONE","zone":"a","zone":"b"}"#),
        (Declared, r#"{"runtimeStatus":"Completed","output":1,"instanceId":"a","instanceId":"b"}"#),
    ];
    for (reader, body) in rows {
        let run = run(*reader, body);
        assert!(
            matches!(
                run.outcome,
                Outcome::Delivered(..) | Outcome::NotLro | Outcome::Final(_)
            ),
            "{reader:?} {body}: {:?}",
            run.outcome
        );
    }
}

/// The default reader's fast path and its general path read the same document; both of the
/// progress spellings count, with `percentComplete` first.
#[test]
fn the_readers_agree_on_documents_without_duplicates() {
    let doc = crate::status::StatusDocument::parse(
        br#"{"status":"Running","percentageComplete":10,"percentComplete":20}"#,
    )
    .unwrap();
    assert_eq!(doc.percent_complete, Some(20.0));
    let doc =
        crate::status::StatusDocument::parse(br#"{"status":"Running","percentageComplete":10}"#)
            .unwrap();
    assert_eq!(doc.percent_complete, Some(10.0));
}
