//! The direct scan against the serde readers alone: on hostile bodies (malformed, truncated,
//! mutated, duplicated, non-UTF-8) `StatusDocument::parse` decides exactly what it decides
//! without the scan, and never panics.

use super::*;

/// What [`StatusDocument::parse`] decides without the scan.
fn serde_only(body: &[u8]) -> Result<StatusDocument, StatusBodyError> {
    let body = strip_bom(body);
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(StatusBodyError::Empty);
    }
    StatusDocument::parse_serde(body)
}

/// Whether the scan read `body` itself; the layer's decision must be the serde path's.
pub(super) fn decides_as_serde(body: &[u8]) -> Result<bool, String> {
    let layer = format!("{:?}", StatusDocument::parse(body));
    let alone = format!("{:?}", serde_only(body));
    if layer != alone {
        return Err(format!(
            "{:?}\n  layer: {layer}\n  serde: {alone}",
            String::from_utf8_lossy(body)
        ));
    }
    Ok(scan::scan(strip_bom(body)).is_some())
}

/// The status bodies of the crate's tests and fixtures (the core tables, the dialect services,
/// the seed documents), one JSON string a line.
pub(crate) fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        include_str!("../../tests/fixtures/status/bodies.jsonl")
            .lines()
            .map(|line| serde_json::from_str::<String>(line).unwrap().into_bytes())
            .collect()
    })
}

/// Bytes a mutation puts in: JSON's structure, white space and what is not, the starts of
/// literals, control, high and invalid bytes.
const BYTES: &[u8] = &[
    b'"', b'\\', b'{', b'}', b'[', b',', b':', b' ', b'\n', 0x00, 0x1f, 0x0b, 0x0c, 0x7f, 0x80,
    0xc3, 0xed, 0xff, b't', b'n', b'0', b'-', b'u',
];

#[test]
fn hostile_bodies_are_decided_as_serde_decides() {
    use StatusBodyError::*;
    let dup = |name: &'static str| Err(DuplicateMember(Cow::Borrowed(name)));
    let not_json = Err(NotJson(String::new()));
    let ok = Ok(());
    let deep = format!(
        "{{\"status\":\"Running\",\"a\":{}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let deeper = format!(
        "{{\"status\":{}{}}}",
        "[{\"a\":".repeat(50_000),
        "}]".repeat(50_000)
    );
    let array = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let long = format!(
        "{{\"status\":\"{}\",\"{}\":\"x\"}}",
        "R".repeat(1 << 20),
        "k".repeat(70_000)
    );
    let many = format!(
        "{{{}\"status\":\"Running\"}}",
        "\"k\":\"v\",".repeat(20_000)
    );
    // (body, whether the scan reads it itself, what the layer decides: a document, or the error)
    #[rustfmt::skip]
    let rows: Vec<(&[u8], bool, Result<(), StatusBodyError>)> = vec![
        // A BOM, white space that JSON has and that it has not.
        (b"\xEF\xBB\xBF{\"status\":\"Running\"}", true, ok.clone()),
        (b"\xEF\xBB\xBF\xEF\xBB\xBF{\"status\":\"Running\"}", false, not_json.clone()),
        (b" \xEF\xBB\xBF{\"status\":\"Running\"}", false, not_json.clone()),
        (b"{\"status\":\"Running\"}\xEF\xBB\xBF", false, not_json.clone()),
        (b"\xEF\xBB\xBF", false, Err(Empty)),
        (b" \t\r\n\x0c", false, Err(Empty)),
        (b"\x0c{\"status\":\"Running\"}", false, not_json.clone()),
        (b"{\"status\":\"Running\"}\x0c", false, not_json.clone()),
        (b"{\x0b\"status\":\"Running\"}", false, not_json.clone()),
        (b"{\"status\"\x0c:\"Running\"}", false, not_json.clone()),
        ("{\"status\":\"Running\"}\u{a0}".as_bytes(), false, not_json.clone()),
        ("\u{2028}{\"status\":\"Running\"}".as_bytes(), false, not_json.clone()),
        ("{\"status\":\"\u{a0}Running\u{2028}\"}".as_bytes(), true, ok.clone()),
        // Trailing content.
        (b"{} x", false, not_json.clone()),
        (b"{}{}", false, not_json.clone()),
        (b"{}}", false, not_json.clone()),
        (b"{}]", false, not_json.clone()),
        (b"{},", false, not_json.clone()),
        (b"{}\x00", false, not_json.clone()),
        (b"{}\"", false, not_json.clone()),
        (b"{\"status\":\"Running\"}\n\r\t ", true, ok.clone()),
        // Duplicates of every member a reader consults, whatever their values.
        (br#"{"status":null,"status":null}"#, true, dup("status")),
        (br#"{"status":"Running","x":1,"status":"Running"}"#, false, dup("status")),
        (br#"{"status":true,"status":3}"#, false, dup("status")),
        (br#"{"provisioningState":"A","provisioningState":false}"#, true, dup("provisioningState")),
        (br#"{"operationId":"a","operationId":"a"}"#, true, dup("operationId")),
        (br#"{"id":null,"id":"a"}"#, true, dup("id")),
        (br#"{"percentComplete":"1","percentComplete":null}"#, true, dup("percentComplete")),
        (br#"{"percentageComplete":true,"percentageComplete":true}"#, true, dup("percentageComplete")),
        (br#"{"resourceLocation":"a","resourceLocation":"b"}"#, true, dup("resourceLocation")),
        (br#"{"status":"A","id":"1","id":"2","status":"B"}"#, true, dup("id")),
        (br#"{"created":"a","created":"b","":"x","":"y","status":"Running"}"#, true, ok.clone()),
        (br#"{"error":"a","error":"b"}"#, false, dup("error")),
        (br#"{"properties":"a","properties":null}"#, false, dup("properties")),
        (br#"{"status":"A","status":"B"} x"#, false, not_json.clone()),
        (br#"{"status":"A","status":"B","#, false, not_json.clone()),
        (br#"{"status":"A","status":"B","x":tru}"#, false, not_json.clone()),
        // Escaped names: the same member, or another.
        (br#"{"st\u0061tus":"Running"}"#, false, ok.clone()),
        (br#"{"st\u0061tus":"Running","status":"Failed"}"#, false, dup("status")),
        (br#"{"status\u0000":"Running"}"#, false, ok.clone()),
        (br#"{"\u0000":"x","":"y"}"#, false, ok.clone()),
        (br#"{"":""}"#, true, ok.clone()),
        (br#"{"\ud800":"x","status":"Running"}"#, false, not_json.clone()),
        (br#"{"status":"\udc00"}"#, false, not_json.clone()),
        (br#"{"status":"\ud83d\ude00"}"#, false, ok.clone()),
        // `status` of every type.
        (br#"{"status":3}"#, false, ok.clone()),
        (br#"{"status":-0}"#, false, ok.clone()),
        (br#"{"status":[]}"#, false, ok.clone()),
        (br#"{"status":{}}"#, false, ok.clone()),
        (br#"{"status":null}"#, true, ok.clone()),
        (br#"{"status":false}"#, true, ok.clone()),
        // Numbers and literals, whole and cut.
        (br#"{"percentComplete":-0}"#, false, ok.clone()),
        (br#"{"percentComplete":1e400}"#, false, not_json.clone()),
        (br#"{"percentComplete":01}"#, false, not_json.clone()),
        (br#"{"status":tru}"#, false, not_json.clone()),
        (br#"{"status":nul}"#, false, not_json.clone()),
        (br#"{"status":fals}"#, false, not_json.clone()),
        (br#"{"status":True}"#, false, not_json.clone()),
        (br#"{"status":nullnull}"#, false, not_json.clone()),
        (br#"{"status":true false}"#, false, not_json.clone()),
        (br#"{"status":'Running'}"#, false, not_json.clone()),
        (br#"{status:"Running"}"#, false, not_json.clone()),
        // Invalid UTF-8 inside and outside strings; raw control characters inside them.
        // (serde skips an ignored member's string without checking its UTF-8)
        (b"{\"status\":\"Running\",\"x\":\"\xc3\"}", false, ok.clone()),
        (b"{\"status\":\"\xc3\"}", false, not_json.clone()),
        (b"{\"status\":\"Running\",\"\xc3\":\"x\"}", false, not_json.clone()),
        (b"{\"status\":\"\xc0\x80\"}", false, not_json.clone()),
        (b"{\"status\":\"\xed\xa0\x80\"}", false, not_json.clone()),
        (b"{\"status\":\"\xf4\x90\x80\x80\"}", false, not_json.clone()),
        (b"{\"status\":\"Running\"\xc3\xa9}", false, not_json.clone()),
        (b"{\"status\":\"Running\"}\xff", false, not_json.clone()),
        (b"{\"status\":\"Run\x00ning\"}", false, not_json.clone()),
        (b"{\"sta\x1ftus\":\"Running\"}", false, not_json.clone()),
        (b"{\"status\":\"Running\x7f\"}", true, ok.clone()),
        // Sizes: a long word and name, many members, deep nesting (serde skips a member's value
        // at any depth; the general reader stops at its limit).
        (long.as_bytes(), true, ok.clone()),
        (many.as_bytes(), true, ok.clone()),
        (deep.as_bytes(), false, ok.clone()),
        (deeper.as_bytes(), false, not_json.clone()),
        (array.as_bytes(), false, not_json.clone()),
    ];
    let mut wrong = Vec::new();
    for (body, scanned, want) in &rows {
        let shown = String::from_utf8_lossy(&body[..body.len().min(80)]);
        let got = StatusDocument::parse(body).map(drop).map_err(|e| match e {
            NotJson(_) => NotJson(String::new()),
            e => e,
        });
        let decided = decides_as_serde(body);
        if decided != Ok(*scanned) || &got != want {
            wrong.push(format!("{shown}: {decided:?} {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// `body` cut at every byte and the part after the cut; every byte dropped, doubled, and
/// replaced by each of `replace`. The exhaustive neighbours of a corpus body (here and in
/// `flat_tests`).
pub(crate) fn every_cut(body: &[u8], replace: &[u8], mut check: impl FnMut(&[u8])) {
    for at in 0..=body.len() {
        check(&body[..at]);
        check(&body[at..]);
        if at == body.len() {
            break;
        }
        let mut cut = body.to_vec();
        cut.remove(at);
        check(&cut);
        let mut twice = body.to_vec();
        twice.insert(at, body[at]);
        check(&twice);
        for &byte in replace {
            let mut changed = body.to_vec();
            changed[at] = byte;
            check(&changed);
        }
    }
}

#[test]
fn every_corpus_body_cut_and_mutated_is_decided_as_serde_decides() {
    let corpus = corpus();
    assert!(corpus.len() > 100, "{}", corpus.len());
    let (mut checked, mut scanned) = (0usize, 0usize);
    let mut check = |body: &[u8]| {
        scanned += usize::from(decides_as_serde(body).unwrap_or_else(|e| panic!("{e}")));
        checked += 1;
    };
    for body in corpus {
        every_cut(body, BYTES, &mut check);
    }
    // Most mutants are malformed, but the scan must have read many itself.
    assert!(scanned * 20 > checked, "{scanned} of {checked}");
}

/// Tokens a mutation splices in: members the readers consult (a duplicate at once), literals
/// whole and cut, separators, escapes, a BOM.
const TOKENS: &[&[u8]] = &[
    b"\"status\":\"Running\",",
    b",\"status\":null",
    b",\"id\":\"1\"",
    b"\"operationId\":true,",
    b",\"provisioningState\":\"Failed\"",
    b",\"percentComplete\":\"5\"",
    b",\"resourceLocation\":\"/x\"",
    b",\"error\":null",
    b",\"properties\":{}",
    b"true",
    b"fals",
    b"null",
    b"\\u0073",
    b"\\\"",
    b"\"\"",
    b"{}",
    b"[",
    b"-0",
    b"\xEF\xBB\xBF",
    b"\xc3\xa9",
    b"\xe2\x80\xa8",
    b" \t\r\n",
];

/// One mutation: where (a fraction of the length), what, and with which byte or token.
pub(crate) type Mutation = (f64, u8, usize);

pub(crate) fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    (0.0..=1.0f64, 0..6u8, 0..64usize)
}

/// A corpus body with one to four mutations: the input of the mutation properties here and of
/// the flat dialect's short pass (`flat_tests`). Shrinks through the pick and the mutations.
pub(crate) fn mutated_corpus_body() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::strategy::Strategy;
    (
        proptest::prelude::any::<proptest::sample::Index>(),
        proptest::collection::vec(mutation(), 1..5),
    )
        .prop_map(|(pick, mutations)| {
            let mut body = pick.get(corpus()).clone();
            for m in mutations {
                mutate(&mut body, m);
            }
            body
        })
}

pub(crate) fn mutate(body: &mut Vec<u8>, (at, kind, with): Mutation) {
    let at = ((body.len() as f64) * at) as usize;
    let at = at.min(body.len());
    match kind % 6 {
        0 => body.truncate(at),
        1 if at < body.len() => body[at] = BYTES[with % BYTES.len()],
        2 if at < body.len() => {
            body.remove(at);
        }
        3 => drop(body.splice(at..at, TOKENS[with % TOKENS.len()].iter().copied())),
        4 => {
            // A span of the body again, right after itself (members, strings, `}` doubled).
            let end = (at + 1 + with % 24).min(body.len());
            let span = body[at..end].to_vec();
            body.splice(end..end, span);
        }
        _ => body.insert(at.min(body.len()), BYTES[with % BYTES.len()]),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        failure_persistence: None,
        ..Default::default()
    })]

    /// A corpus body with a few mutations is decided as serde alone decides it.
    #[test]
    fn mutated_corpus_bodies_are_decided_as_serde_decides(body in mutated_corpus_body()) {
        if let Err(e) = decides_as_serde(&body) {
            proptest::prop_assert!(false, "{}", e);
        }
    }
}

/// Pieces of flat documents and of what the scan must leave, for the sequences below.
const PIECES: &[&[u8]] = &[
    b"{",
    b"}",
    b"\"status\":",
    b"\"id\":",
    b"\"Running\"",
    b"null",
    b",",
    b" ",
    b"\"st\\u0061tus\":",
    b"1",
    b"tru",
    b"\"",
    b":",
    b"[",
];

/// Every sequence of up to `len` pieces.
pub(crate) fn every_sequence(len: u32, mut check: impl FnMut(&[u8])) {
    let n = PIECES.len();
    let mut body = Vec::new();
    for len in 0..=len {
        for mut code in 0..n.pow(len) {
            body.clear();
            for _ in 0..len {
                body.extend_from_slice(PIECES[code % n]);
                code /= n;
            }
            check(&body);
        }
    }
}

#[test]
fn every_short_sequence_of_pieces_is_decided_as_serde_decides() {
    const LEN: u32 = 5;
    let (mut checked, mut scanned) = (0usize, 0usize);
    every_sequence(LEN, |body| {
        scanned += usize::from(decides_as_serde(body).unwrap_or_else(|e| panic!("{e}")));
        checked += 1;
    });
    assert_eq!(
        checked,
        (0..=LEN).map(|l| PIECES.len().pow(l)).sum::<usize>()
    );
    // `{}`, `{"status":"Running"}`, `{ "id":null }`, …
    assert!(scanned >= 40, "{scanned} of {checked}");
}
