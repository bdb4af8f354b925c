//! `status::StatusDocument`.

use super::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        ".{0,12}".prop_map(serde_json::Value::String),
        proptest::sample::select(harness::STATES).prop_map(|s| serde_json::json!(s)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        proptest::sample::select(vec![
                            "status",
                            "provisioningState",
                            "properties",
                            "error",
                            "details",
                            "innererror",
                            "code",
                            "message",
                            "operationId",
                            "id",
                            "resourceLocation",
                            "percentComplete",
                            "created",
                        ])
                        .prop_map(str::to_owned),
                        "[a-z]{1,6}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn status_document_parse_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let parsed = StatusDocument::parse(&body);
        if let Ok(doc) = StatusDocument::parse_status(&body) {
            prop_assert!(doc.status.is_some());
            prop_assert!(parsed.is_ok());
        }
    }

    #[test]
    fn status_document_reads_any_json(value in json_value(), bom in any::<bool>()) {
        let mut body = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        body.extend(serde_json::to_vec(&value).unwrap());
        let parsed = StatusDocument::parse(&body);
        prop_assert_eq!(parsed.is_ok(), value.is_object());
        let want_status = value.get("status").and_then(serde_json::Value::as_str);
        match StatusDocument::parse_status(&body) {
            Ok(doc) => {
                // Spec §3: the exact word the server sent is kept (`Cancelled` stays).
                prop_assert_eq!(
                    doc.status.as_ref().map(|s| s.as_str().to_ascii_lowercase()),
                    want_status.map(|s| s.trim().to_ascii_lowercase())
                );
            }
            Err(_) => prop_assert!(want_status.is_none()),
        }
        // Cut anywhere, it is never a panic.
        for cut in [body.len() / 2, body.len().saturating_sub(1)] {
            let _ = StatusDocument::parse(&body[..cut]);
        }
    }
}
