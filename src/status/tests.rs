use super::*;

#[test]
fn status_spellings() {
    use Meaning::*;
    #[rustfmt::skip]
    let rows: &[(&str, Meaning, bool)] = &[
        ("NotStarted", Running, true),
        ("notstarted", Running, true),
        ("RUNNING", Running, true),
        ("succeeded", Succeeded, true),
        ("FAILED", Failed, true),
        ("Cancelled", Canceled, true),
        ("InProgress", Running, true),
        ("in_progress", Running, true),
        ("Creating", Running, true),
        ("completed", Succeeded, true),
        ("DONE", Succeeded, true),
        ("deleteFailed", Failed, true),
        ("Frobnicating", Running, false),
        ("", Running, false),
        (" Running ", Running, true),
        ("\u{a0}Failed\u{2003}", Failed, true),
        ("\x0bDone\t", Succeeded, true),
        ("\u{a0}", Running, false),
        ("é", Running, false),
    ];
    for (raw, meaning, recognised) in rows {
        let got = OperationStatus::parse(raw);
        assert_eq!(got.as_str(), raw.trim(), "the exact word is kept");
        assert_eq!(
            (got.meaning(), got.is_recognised()),
            (*meaning, *recognised),
            "{raw}"
        );
    }
}

#[test]
fn static_words_mean_what_the_default_vocabulary_says() {
    for (word, meaning) in STATIC_WORDS {
        let c = crate::vocab::classify_default(word);
        assert_eq!((c.meaning, c.recognised), (*meaning, true), "{word}");
    }
}

#[test]
fn seed_documents_parse() {
    let v2 = br#"{
"operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
"created": "3/11/2020 8:45:13 PM +00:00",
"status": "Running"
}"#;
    let d = StatusDocument::parse_status(v2).unwrap();
    assert_eq!(d.status, Some(OperationStatus::parse("Running")));
    assert_eq!(
        d.operation_id.as_deref(),
        Some("c587574e-add9-4ef7-9788-1635bed9a87e")
    );

    let v1_ok = br#" {
"operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
"createdDateTime": "3/11/2020 8:45:13 PM +00:00",
"status": "Succeeded",
"resourceLocation": "https://atlas.microsoft.com/tileset/{tileset-id}"
}"#;
    let d = StatusDocument::parse_status(v1_ok).unwrap();
    assert_eq!(d.status, Some(OperationStatus::parse("Succeeded")));
    assert_eq!(
        d.resource_location.as_deref(),
        Some("https://atlas.microsoft.com/tileset/{tileset-id}")
    );

    // The failure document both seed documents print.
    let failed = include_bytes!("../../tests/fixtures/seeds/failed.json");
    let d = StatusDocument::parse_status(failed).unwrap();
    let e = d.error.unwrap();
    assert_eq!(e.code.as_deref(), Some("InvalidFeature"));
    assert_eq!(
        e.message.as_deref(),
        Some("The provided feature is invalid.")
    );
    assert_eq!(e.details.len(), 1);
    assert_eq!(e.details[0].code.as_deref(), Some("NoGeometry"));
}

#[test]
fn bad_bodies() {
    #[rustfmt::skip]
    let rows: &[(&[u8], StatusBodyError)] = &[
        (b"", StatusBodyError::Empty),
        (b"  \n", StatusBodyError::Empty),
        (b"[1,2]", StatusBodyError::NotObject),
        (b"\"Running\"", StatusBodyError::NotObject),
        (b"{}", StatusBodyError::MissingStatus),
        (b"{\"state\":\"Running\"}", StatusBodyError::MissingStatus),
        (b"{\"status\":null}", StatusBodyError::MissingStatus),
        (b"{\"status\":3}", StatusBodyError::StatusNotString),
        (b"{\"status\":{\"a\":1}}", StatusBodyError::StatusNotString),
    ];
    for (body, want) in rows {
        assert_eq!(
            StatusDocument::parse_status(body).unwrap_err(),
            *want,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    for body in [
        &b"<html>"[..],
        b"{\"status\":\"Runn",
        b"\xff\xfe",
        b"{\"status\":\"x\"} trailing",
    ] {
        assert!(matches!(
            StatusDocument::parse_status(body),
            Err(StatusBodyError::NotJson(_))
        ));
    }
}

#[test]
fn the_fast_path_reads_what_the_general_path_reads() {
    let docs: &[&str] = &[
        r#"{"status":"Running","operationId":"a","created":"x","percentComplete":42.5}"#,
        r#"{"status":"Succeeded","resourceLocation":"https://x/y","id":7}"#,
        r#"{"status":"Running","status":"Succeeded"}"#,
        r#"{"status":3}"#,
        r#"{"status":null,"id":true,"createdDateTime":12}"#,
        r#"{"status":{"a":[1,2,{"b":null}]},"operationId":[1]}"#,
        r#"{"properties":{"provisioningState":"Updating","status":"x"},"provisioningState":"Succeeded"}"#,
        r#"{"properties":{"provisioningState":5},"provisioningState":"Succeeded"}"#,
        r#"{"properties":{"provisioningState":null},"provisioningState":"Creating"}"#,
        r#"{"properties":"text","provisioningState":"Creating"}"#,
        r#"{"properties":[1],"provisioningState":"Deleting"}"#,
        r#"{"properties":{"provisioningState":"A"},"properties":{"provisioningState":"B"}}"#,
        r#"{"status":"Runn\u0069ng","operationId":"esc\"aped"}"#,
        r#"{"percentComplete":"50","resourceLocation":5}"#,
        r#"{"percentComplete":1e3,"id":18446744073709551615,"operationId":-3}"#,
        r#"{}"#,
        "{\"status\":\"Succeeded\", \"unknown\": {\"deep\": [[[[]]]]}}",
    ];
    for doc in docs {
        let fast = serde_json::from_slice::<fast::Raw<'_>>(doc.as_bytes()).unwrap();
        assert!(!fast.has_error);
        let fast = fast.into_document();
        let general = StatusDocument::parse_general(doc.as_bytes()).unwrap();
        assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{doc}");
    }
    // Failure documents take the general path for their OData error.
    for doc in [
        r#"{"status":"Failed","error":{"code":"X"}}"#,
        r#"{"properties":{"error":{"code":"Y"}}}"#,
    ] {
        assert!(
            serde_json::from_slice::<fast::Raw<'_>>(doc.as_bytes())
                .unwrap()
                .has_error
        );
        assert!(
            StatusDocument::parse(doc.as_bytes())
                .unwrap()
                .error
                .is_some(),
            "{doc}"
        );
    }
}

#[test]
fn provisioning_state_and_bom() {
    let d =
        StatusDocument::parse(b"\xEF\xBB\xBF{\"properties\":{\"provisioningState\":\"Updating\"}}")
            .unwrap();
    assert_eq!(
        d.provisioning_state,
        Some(OperationStatus::parse("Updating"))
    );
    let d = StatusDocument::parse(b"{\"provisioningState\":\"succeeded\",\"id\":7}").unwrap();
    assert_eq!(
        d.provisioning_state,
        Some(OperationStatus::parse("succeeded"))
    );
    assert_eq!(d.operation_id.as_deref(), Some("7"));
    let e = ODataError::from_json(
        &serde_json::json!({"code":"A","details":[{"code":"B"},{"message":"m"}]}),
    )
    .unwrap();
    assert_eq!(e.details.len(), 2);
    assert_eq!(e.to_string(), "A");
}

#[test]
fn the_direct_scan_reads_what_the_serde_reader_reads() {
    // (body, whether the scan reads it itself)
    #[rustfmt::skip]
    let rows: &[(&[u8], bool)] = &[
        (br#"{"operationId":"c58","created":"1700000000","status":"Running"}"#, true),
        (b" \r\n\t{ \"status\" : \"Succeeded\" ,\"x\":null,\"y\":true,\"z\":false } \n", true),
        (br#"{}"#, true),
        (br#"{ }"#, true),
        (br#"{"status":"Running","status":"Succeeded"}"#, true),
        (br#"{"id":"7","id":"8","operationId":null}"#, true),
        (br#"{"status":null,"id":true,"resourceLocation":"https://x/y"}"#, true),
        (br#"{"provisioningState":"Updating","percentComplete":"50"}"#, true),
        ("{\"percentageComplete\":false,\"status\":\"Läuft ✓\"}".as_bytes(), true),
        (br#"{"status":""}"#, true),
        (br#"{"status":"Running","percentComplete":42}"#, false),
        (br#"{"status":"Runn\u0069ng"}"#, false),
        (br#"{"st\"atus":"Running"}"#, false),
        (br#"{"status":"Running","error":{"code":"X"}}"#, false),
        (br#"{"status":"Running","error":"x"}"#, false),
        (br#"{"properties":{"provisioningState":"A"}}"#, false),
        (br#"{"status":"Running","tags":{}}"#, false),
        (br#"{"status":"Running","list":[]}"#, false),
        (br#"{"status":"Running",}"#, false),
        (br#"{"status":"Running""#, false),
        (br#"{"status" "Running"}"#, false),
        (br#"{"status":"Running"} x"#, false),
        (br#"{"status":"Running"}{}"#, false),
        (br#"{"status":truex}"#, false),
        (br#"{"status":tru}"#, false),
        (br#"{"status":nul"#, false),
        (br#"{,}"#, false),
        (br#"{"a":"b",,"c":"d"}"#, false),
        (b"{\"status\":\"Run\tning\"}", false),
        (b"{\"status\":\"Run\x01\"}", false),
        (b"{\"status\":\"Running\",\"x\":\"\xff\"}", false),
        (b"{\"status\":\"Running\"}\x00", false),
        (b"[\"status\"]", false),
        (b"{\"status\":\"Running\"\x0b}", false),
    ];
    for (body, scanned) in rows {
        let shown = String::from_utf8_lossy(body);
        let direct = scan::scan(body);
        assert_eq!(direct.is_some(), *scanned, "{shown}");
        let common = scan::scan(body).and_then(fast::Raw::common);
        assert_eq!(scan::flat_status(body), common, "{shown}");
        let Some(direct) = direct else { continue };
        let serde = serde_json::from_slice::<fast::Raw<'_>>(body).expect("serde reads it too");
        assert_eq!(
            (direct.duplicate, direct.has_error),
            (serde.duplicate, serde.has_error),
            "{shown}"
        );
        assert_eq!(
            format!("{:?}", direct.into_document()),
            format!("{:?}", serde.into_document()),
            "{shown}"
        );
    }
    // A body the scan leaves is read as before, by serde or the general path.
    let d = StatusDocument::parse_status(br#"{"status":"Running","percentComplete":42}"#).unwrap();
    assert_eq!(d.percent_complete, Some(42.0));
    assert!(matches!(
        StatusDocument::parse_status(br#"{"status":"Running",}"#),
        Err(StatusBodyError::NotJson(_))
    ));
    assert_eq!(
        StatusDocument::parse_status(br#"{"status":"Running","status":"Failed"}"#).unwrap_err(),
        StatusBodyError::DuplicateMember(Cow::Borrowed("status"))
    );
}

#[test]
fn the_direct_scan_stops_at_every_quote_escape_and_control_character() {
    // Every length up to three words, every stop byte at every place, among plain, high and
    // near-miss bytes: the word-at-a-time search finds what a byte loop finds.
    for filler in [b'a', 0xc3, 0x7f, b' ', b'!', b'#', b'[', b']'] {
        for len in 0..24 {
            for at in 0..=len {
                for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut value = vec![filler; len];
                    if at < len {
                        value[at] = stop;
                    }
                    let naive = value
                        .iter()
                        .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
                    assert_eq!(scan::stop(&value), naive, "{value:?}");
                    assert_eq!(naive, (at < len).then_some(at));
                }
            }
        }
    }
    for len in 0..20 {
        let body = format!("{{\"k\":\"{}\"}}", "a".repeat(len));
        assert!(scan::scan(body.as_bytes()).is_some(), "{body}");
    }
}

/// Keys, values and separators of flat documents, with the things the direct scan must leave
/// to serde among them.
const KEYS: &[&[u8]] = &[
    b"\"status\"",
    b"\"operationId\"",
    b"\"id\"",
    b"\"resourceLocation\"",
    b"\"created\"",
    b"\"provisioningState\"",
    b"\"percentComplete\"",
    b"\"percentageComplete\"",
    b"\"error\"",
    b"\"properties\"",
    b"\"\xc3\xa9\"",
    b"\"\xff\"",
    b"\"st\\u0061tus\"",
    b"status",
    b"\"\"",
    b"\"\\ud800\"",
    b"\"sta\x00tus\"",
];
const VALUES: &[&[u8]] = &[
    b"\"Running\"",
    b"\"Succeeded\"",
    b"\"\"",
    b"\"x y\"",
    b"\"\xc3\xa9\"",
    b"true",
    b"false",
    b"null",
    b"\"\xff\"",
    b"\"a\\\"b\"",
    b"\"a\x01\"",
    b"\"Runn",
    b"tru",
    b"1",
    b"-2.5",
    b"[]",
    b"{}",
    b"{\"a\":1}",
    b"x",
    b"-0",
    b"nul",
    b"fals",
    b"\"\xed\xa0\x80\"",
    b"\"\\udc00\"",
    b"\"\x7f\xc2\xa0\"",
];
const GAPS: &[&[u8]] = &[
    b"",
    b"",
    b"",
    b" ",
    b"\n\t\r ",
    b"\x0b",
    b",",
    b":",
    b"\x0c",
    b"\xEF\xBB\xBF",
];

/// A gap around the object: mostly white space.
fn gap() -> impl proptest::strategy::Strategy<Value = usize> {
    proptest::prop_oneof![3 => 0..5usize, 1 => 0..GAPS.len()]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        failure_persistence: None,
        ..Default::default()
    })]

    /// Whatever the direct scan reads, serde reads the same; whatever it leaves, serde decides.
    /// With a few mutations (cut, bytes changed, dropped, put in, members or spans repeated) the
    /// layer decides what serde alone decides.
    #[test]
    fn the_direct_scan_agrees_with_serde(
        members in proptest::collection::vec(
            (
                // Mostly the keys and values it reads (the first of each list).
                proptest::prop_oneof![4 => 0..8usize, 1 => 0..KEYS.len()],
                0..GAPS.len(),
                proptest::prop_oneof![4 => 0..8usize, 1 => 0..VALUES.len()],
                proptest::prop_oneof![4 => 0..4usize, 1 => 0..GAPS.len()],
            ),
            0..6,
        ),
        // Mostly well formed: the separators are right unless a gap says otherwise.
        (open, close, tail) in (gap(), gap(), gap()),
        odd in 0..8u8,
        mutations in proptest::collection::vec(super::scan_tests::mutation(), 0..3),
    ) {
        let mut body = GAPS[open].to_vec();
        body.push(b'{');
        for (n, (k, g1, v, g2)) in members.iter().copied().enumerate() {
            if n > 0 {
                body.push(b',');
            }
            body.extend_from_slice(KEYS[k]);
            body.extend_from_slice(GAPS[g1 % 4]);
            body.push(b':');
            body.extend_from_slice(GAPS[g2]);
            body.extend_from_slice(VALUES[v]);
        }
        body.extend_from_slice(GAPS[close]);
        match odd {
            0 => {}
            1 => body.push(b','),
            _ => body.push(b'}'),
        }
        body.extend_from_slice(GAPS[tail]);
        for m in mutations {
            super::scan_tests::mutate(&mut body, m);
        }
        // The whole reading: the layer decides as serde alone.
        if let Err(e) = super::scan_tests::decides_as_serde(&body) {
            proptest::prop_assert!(false, "{}", e);
        }
        // The short pass's one-pass reading is the scan's, as `common` reads it.
        proptest::prop_assert_eq!(
            scan::flat_status(&body),
            scan::scan(&body).and_then(fast::Raw::common)
        );
        if let Some(direct) = scan::scan(&body) {
            let serde = serde_json::from_slice::<fast::Raw<'_>>(&body);
            proptest::prop_assert!(serde.is_ok(), "{}", String::from_utf8_lossy(&body));
            let serde = serde.unwrap();
            proptest::prop_assert_eq!(
                (direct.duplicate, direct.has_error),
                (serde.duplicate, serde.has_error)
            );
            proptest::prop_assert_eq!(
                format!("{:?}", direct.into_document()),
                format!("{:?}", serde.into_document())
            );
        }
    }
}

/// The short pass's reading, row by row: what it reads and each thing it leaves to the general
/// path, and always what the scan's fields say (`Raw::common`).
#[test]
fn flat_status_reads_only_the_common_form() {
    type Read = Option<(&'static str, Option<&'static str>)>;
    let rows: &[(&str, Read)] = &[
        (r#"{"status":"Running"}"#, Some(("Running", None))),
        (
            r#"{"id":"a","status":"Running"}"#,
            Some(("Running", Some("a"))),
        ),
        (
            r#"{"operationId":"o","id":"a","status":"Done"}"#,
            Some(("Done", Some("o"))),
        ),
        (
            r#"{"created":"x","status":"Running","done":true,"x":null}"#,
            Some(("Running", None)),
        ),
        (r#"{"status":"Running","resourceLocation":"/r"}"#, None),
        (r#"{"status":"Running","resourceLocation":null}"#, None),
        (
            r#"{"status":"Running","provisioningState":"Running"}"#,
            None,
        ),
        (r#"{"status":"Running","percentComplete":null}"#, None),
        (r#"{"status":"Running","percentageComplete":"5"}"#, None),
        (r#"{"status":"Running","error":null}"#, None),
        (r#"{"status":"Running","properties":null}"#, None),
        (r#"{"status":"Running","status":"Running"}"#, None),
        (r#"{"id":"a","status":"Running","id":"a"}"#, None),
        (
            r#"{"operationId":"a","operationId":"a","status":"Running"}"#,
            None,
        ),
        (r#"{"status":null}"#, None),
        (r#"{"status":true}"#, None),
        (r#"{"status":"Running","id":null}"#, None),
        (r#"{"status":"Running","operationId":false}"#, None),
        (r#"{"operationId":"a"}"#, None),
        (r#"{}"#, None),
    ];
    for (body, read) in rows {
        let b = body.as_bytes();
        assert_eq!(scan::flat_status(b), *read, "{body}");
        assert_eq!(scan::scan(b).and_then(fast::Raw::common), *read, "{body}");
    }
}
