//! Pointers with selectors: the grammar's rows, agreement with `serde_json` on plain RFC 6901
//! pointers, and selectors built from arbitrary members and values.

use super::*;
use proptest::prelude::*;
use serde_json::json;

fn links() -> Value {
    json!({
        "jobID": "81574318",
        "links": [
            {"rel": "self", "href": "https://p.example/jobs/81574318"},
            {"rel": "http://www.opengis.net/def/rel/ogc/1.0/results", "href": "https://p.example/jobs/81574318/results"},
            {"rel": "alternate", "type": "text/html", "href": "https://p.example/jobs/81574318?f=html"},
            {"rel": "alternate", "href": "https://p.example/second"},
            {"rel": "a]b=c", "href": "odd"},
            {"id": 7, "ok": true, "href": "seven"},
            "not an object"
        ],
        "a[b": {"c": 1},
        "issue": [{"severity": "error", "diagnostics": "Export failed"}]
    })
}

#[test]
fn selectors_choose_the_first_element_whose_member_reads_as_the_value() {
    let doc = links();
    let rows: &[(&str, Option<Value>)] = &[
        (
            "/links[rel=self]/href",
            Some(json!("https://p.example/jobs/81574318")),
        ),
        (
            "/links[rel=http://www.opengis.net/def/rel/ogc/1.0/results]/href",
            Some(json!("https://p.example/jobs/81574318/results")),
        ),
        (
            "/links[rel=http:~1~1www.opengis.net~1def~1rel~1ogc~11.0~1results]/href",
            Some(json!("https://p.example/jobs/81574318/results")),
        ),
        (
            "/links/[rel=self]/href",
            Some(json!("https://p.example/jobs/81574318")),
        ),
        // Several match: the first.
        (
            "/links[rel=alternate]/href",
            Some(json!("https://p.example/jobs/81574318?f=html")),
        ),
        // Selectors one after the other all apply to one element.
        (
            "/links[rel=alternate][type=text/html]/href",
            Some(json!("https://p.example/jobs/81574318?f=html")),
        ),
        (
            "/links[type=text/html][rel=alternate]/href",
            Some(json!("https://p.example/jobs/81574318?f=html")),
        ),
        ("/links[rel=self][type=text/html]", None),
        ("/links[rel=alternate][rel=self]", None),
        (
            "/links/[rel=alternate][type=text/html]/href",
            Some(json!("https://p.example/jobs/81574318?f=html")),
        ),
        // A selector in the next token applies to the chosen element, not an array.
        ("/links[rel=alternate]/[type=text/html]", None),
        ("/links[rel=a~3b=c]/href", Some(json!("odd"))),
        ("/links[rel=a~3b~4c]/href", Some(json!("odd"))),
        ("/links[id=7]/href", Some(json!("seven"))),
        ("/links[ok=true]/href", Some(json!("seven"))),
        ("/links[id=7.0]/href", None),
        ("/links[rel=nothing]/href", None),
        ("/links[rel=]/href", None),
        ("/jobID[rel=self]", None),
        ("/a~2b/c", Some(json!(1))),
        (
            "/issue[severity=error]/diagnostics",
            Some(json!("Export failed")),
        ),
        ("/links/0/rel", Some(json!("self"))),
        ("/links/01/rel", None),
        ("", Some(doc.clone())),
    ];
    for (text, want) in rows {
        let p = Pointer::parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.find(&doc), want.as_ref(), "{text}");
        assert_eq!(p.as_str(), *text);
        // The concrete pointer finds the same value with serde_json's own reader.
        let concrete = p.concrete(&doc);
        assert_eq!(
            concrete.as_deref().and_then(|c| doc.pointer(c)),
            want.as_ref(),
            "{text}"
        );
    }
    let p = Pointer::parse("/links[rel=alternate]/href").unwrap();
    assert_eq!(p.concrete(&doc).as_deref(), Some("/links/2/href"));
}

#[test]
fn texts_that_are_not_pointers_say_what_to_write() {
    let rows = [
        ("links", "a pointer starts with `/`"),
        ("/a~", "`~` is written `~0`"),
        ("/a~5", "`~` is written `~0`"),
        ("/a[b", "a `[` in a name is written `~2`"),
        ("/a[b=c", "not closed"),
        ("/a[b]", "without `=`"),
        ("/a[=b]", "names no member"),
        ("/a[b=c]d", "ends its token"),
        ("/a[b=[c]]", "written `~2`"),
    ];
    for (text, fragment) in rows {
        let err = Pointer::parse(text).unwrap_err().to_string();
        assert!(err.contains(fragment), "{text}: {err}");
        assert!(err.contains(text), "{text}: {err}");
    }
}

#[test]
fn duplicates_touch_what_a_pointer_reads() {
    let p = Pointer::parse("/links[rel=results]/href").unwrap();
    for (dup, under, want) in [
        ("/links", false, true),
        ("/links/3/href", false, true),
        ("/links/3/rel", false, true),
        ("/links/3/type", false, false),
        ("/links/3/href/x", false, false),
        ("/links/3/href/x", true, true),
        ("/links/x/href", false, false),
        ("/other", false, false),
    ] {
        assert_eq!(p.touches(dup, under), want, "{dup}");
    }
    // Every member a chain of selectors reads is touched.
    let both = Pointer::parse("/links[rel=results][type=application/json]/href").unwrap();
    for (dup, want) in [
        ("/links/1/rel", true),
        ("/links/1/type", true),
        ("/links/1/title", false),
    ] {
        assert_eq!(both.touches(dup, false), want, "{dup}");
    }
    let plain = Pointer::parse("/e~1f/~0g").unwrap();
    assert!(plain.touches("/e~1f", false));
    assert!(!plain.touches("/e", false));
}

/// A JSON value of limited depth with short keys, some of them holding `~`, `/`, `[`.
fn doc() -> impl Strategy<Value = Value> {
    let key = "[a-c~/\\[\\]=]{0,3}";
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0u32..20).prop_map(|n| json!(n)),
        key.prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Writes a name as a pointer token.
fn escape(name: &str, in_selector: bool) -> String {
    let mut out = String::new();
    for c in name.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' if !in_selector => out.push_str("~1"),
            '[' => out.push_str("~2"),
            ']' => out.push_str("~3"),
            '=' if in_selector => out.push_str("~4"),
            c => out.push(c),
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Never a panic, and what parses keeps its text.
    #[test]
    fn parsing_never_panics(text in "[/a~0-5\\[\\]=]{0,12}") {
        if let Ok(p) = Pointer::parse(&text) {
            prop_assert_eq!(p.as_str(), text.as_str());
        }
    }

    /// A plain pointer whose names hold no `[` finds what serde_json finds.
    #[test]
    fn plain_pointers_agree_with_serde_json(doc in doc(), path in prop::collection::vec("[a-c0-2~/]{0,2}", 0..4)) {
        let text: String = path.iter().map(|t| format!("/{}", escape(t, false))).collect();
        let p = Pointer::parse(&text).unwrap();
        prop_assert_eq!(p.find(&doc), doc.pointer(&text));
    }

    /// A selector with any member and value, escaped as the grammar says, chooses the first
    /// element whose member is that string.
    #[test]
    fn selectors_round_trip_their_escapes(
        member in "[a-c~/\\[\\]=]{1,3}",
        value in "[a-c~/\\[\\]=]{0,3}",
        others in prop::collection::vec("[a-c~/\\[\\]=]{0,3}", 0..4),
        slot in 0usize..4,
    ) {
        let mut items: Vec<Value> = others.iter().map(|o| json!({ member.clone(): o, "n": 0 })).collect();
        let at = slot.min(items.len());
        items.insert(at, json!({ member.clone(): value.clone(), "n": 1 }));
        let doc = json!({ "list": items });
        let text = format!("/list[{}={}]/n", escape(&member, true), escape(&value, true));
        let p = Pointer::parse(&text).unwrap();
        let first = others.iter().position(|o| *o == value).filter(|&i| i < at).unwrap_or(at);
        prop_assert_eq!(p.find(&doc), doc["list"][first].get("n"));
        prop_assert_eq!(p.concrete(&doc), Some(format!("/list/{first}/n")));
    }

    /// Selectors one after the other choose the first element that every one of them accepts.
    #[test]
    fn chained_selectors_choose_the_first_element_all_accept(
        items in prop::collection::vec(("[xy]", "[xy]"), 0..6),
        a in "[xy]",
        b in "[xy]",
    ) {
        let list: Vec<Value> = items
            .iter()
            .enumerate()
            .map(|(n, (ia, ib))| json!({ "a": ia, "b": ib, "n": n }))
            .collect();
        let doc = json!({ "list": list });
        let p = Pointer::parse(&format!("/list[a={a}][b={b}]/n")).unwrap();
        let first = items.iter().position(|(ia, ib)| *ia == a && *ib == b);
        prop_assert_eq!(p.find(&doc), first.map(|i| &doc["list"][i]["n"]));
        prop_assert_eq!(p.concrete(&doc), first.map(|i| format!("/list/{i}/n")));
    }
}
