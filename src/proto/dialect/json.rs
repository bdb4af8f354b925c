//! Small pure helpers on JSON bodies: JSON pointers (RFC 6901) over parsed values and over raw
//! bytes, so an embedded result can be handed on as the bytes the server sent.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};

/// A JSON document read as `serde_json::from_slice::<Value>` reads it (the last of duplicate
/// members wins), with the JSON pointer of every member that came twice, so that a reader can
/// refuse a document whose duplicates touch a member it consults. Finding them costs nothing on
/// a document without any: the object being built already looks each key up.
pub(crate) struct Parsed {
    pub(crate) value: Value,
    /// Pointers (RFC 6901) of the members that came more than once; empty on most documents.
    pub(crate) duplicates: Vec<String>,
}

impl Parsed {
    /// The first duplicate for which `consulted` says yes.
    pub(crate) fn duplicate(&self, consulted: impl Fn(&str) -> bool) -> Option<&str> {
        self.duplicates
            .iter()
            .map(String::as_str)
            .find(|p| consulted(p))
    }
}

/// Parses `body` as one JSON value, recording duplicate members.
pub(crate) fn parse_recording(body: &[u8]) -> Result<Parsed, serde_json::Error> {
    let found = RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Recording(&found).deserialize(&mut de)?;
    de.end()?;
    let duplicates = found
        .into_inner()
        .into_iter()
        .map(|segments: Vec<String>| {
            segments.iter().rev().fold(String::new(), |mut p, s| {
                p.push('/');
                p.push_str(&s.replace('~', "~0").replace('/', "~1"));
                p
            })
        })
        .collect();
    Ok(Parsed { value, duplicates })
}

/// Builds a `Value`; each duplicate is a list of path segments, innermost first (a parent adds
/// its own key to the duplicates found below it).
#[derive(Clone, Copy)]
struct Recording<'c>(&'c RefCell<Vec<Vec<String>>>);

impl Recording<'_> {
    /// Adds `segment` to the duplicates recorded since there were `before`.
    fn prefix(&self, before: usize, segment: impl Fn() -> String) {
        let mut found = self.0.borrow_mut();
        if found.len() > before {
            for path in &mut found[before..] {
                path.push(segment());
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Recording<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Recording<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let before = self.0.borrow().len();
            let Some(item) = seq.next_element_seed(self)? else {
                break;
            };
            let index = items.len();
            self.prefix(before, || index.to_string());
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let before = self.0.borrow().len();
            let value = map.next_value_seed(self)?;
            self.prefix(before, || key.clone());
            match obj.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(mut slot) => {
                    self.0.borrow_mut().push(vec![slot.key().clone()]);
                    slot.insert(value);
                }
            }
        }
        Ok(Value::Object(obj))
    }
}

/// `pointer` is `member`, or inside it.
pub(crate) fn at_or_under(pointer: &str, member: &str) -> bool {
    pointer
        .strip_prefix(member)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A value as text: a string as it is, a number or a boolean written out. `None` for objects,
/// arrays and `null`.
pub(crate) fn text_of(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// The byte range of the value at `pointer` in the raw JSON document `body`, so the value can
/// be handed on exactly as sent (`Bytes::slice`). Duplicate keys resolve to the last one, as
/// `serde_json` does. `None` when the pointer finds nothing or `body` is not well-formed where
/// the walk goes; never a panic, and nesting depth costs no stack.
pub(crate) fn pointer_span(body: &[u8], pointer: &str) -> Option<Range<usize>> {
    let start = skip_ws(body, 0);
    let mut span = start..skip_value(body, start)?;
    if pointer.is_empty() {
        return Some(span);
    }
    for token in pointer.strip_prefix('/')?.split('/') {
        let token = unescape(token);
        span = match body.get(span.start)? {
            b'{' => member(body, span.start, &token)?,
            b'[' => element(body, span.start, index(&token)?)?,
            _ => return None,
        };
    }
    Some(span)
}

fn unescape(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

/// An array index as RFC 6901 and `serde_json` read it: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while matches!(body.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// `i` at an opening quote: the index after the closing one.
fn skip_string(body: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        match *body.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// `i` at the first byte of a value: the index after its last byte.
fn skip_value(body: &[u8], i: usize) -> Option<usize> {
    match *body.get(i)? {
        b'"' => skip_string(body, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *body.get(j)? {
                    b'"' => {
                        j = skip_string(body, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while !matches!(
                body.get(j),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// `obj` at `{`: the span of the last member named `key`.
fn member(body: &[u8], obj: usize, key: &str) -> Option<Range<usize>> {
    let mut found = None;
    let mut i = skip_ws(body, obj + 1);
    if body.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        if body.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(body, i)?;
        let raw_key = body.get(i..key_end)?;
        i = skip_ws(body, key_end);
        if body.get(i) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(body, i + 1);
        let value_end = skip_value(body, value_start)?;
        if key_matches(raw_key, key) {
            found = Some(value_start..value_end);
        }
        i = skip_ws(body, value_end);
        match body.get(i)? {
            b',' => i = skip_ws(body, i + 1),
            b'}' => return found,
            _ => return None,
        }
    }
}

/// `raw` is a JSON string literal, quotes included.
fn key_matches(raw: &[u8], key: &str) -> bool {
    if raw.contains(&b'\\') {
        serde_json::from_slice::<String>(raw).is_ok_and(|k| k == key)
    } else {
        raw.get(1..raw.len().saturating_sub(1)) == Some(key.as_bytes())
    }
}

/// `arr` at `[`: the span of element `n`.
fn element(body: &[u8], arr: usize, n: usize) -> Option<Range<usize>> {
    let mut i = skip_ws(body, arr + 1);
    if body.get(i) == Some(&b']') {
        return None;
    }
    let mut k = 0;
    loop {
        let end = skip_value(body, i)?;
        if k == n {
            return Some(i..end);
        }
        i = skip_ws(body, end);
        match body.get(i)? {
            b',' => i = skip_ws(body, i + 1),
            _ => return None,
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spans_agree_with_serde_json_pointers() {
        let body = br#" {"a": {"b": [10, {"c": "x\"}]"}, [1,2], true, null]},
            "d\u0065": -1.5e3, "e/f": {"~g": "h"}, "a2": "{[", "dup": 1, "dup": {"k": [ ]}} "#;
        let value: Value = serde_json::from_slice(body).unwrap();
        let pointers = [
            "",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1",
            "/a/b/1/c",
            "/a/b/2",
            "/a/b/2/1",
            "/a/b/3",
            "/a/b/4",
            "/de",
            "/e~1f",
            "/e~1f/~0g",
            "/a2",
            "/dup",
            "/dup/k",
            "/a/b/5",
            "/missing",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/-",
            "/de/x",
            "/dup/k/0",
        ];
        for p in pointers {
            let want = value.pointer(p);
            let got =
                pointer_span(body, p).map(|r| serde_json::from_slice::<Value>(&body[r]).unwrap());
            assert_eq!(got.as_ref(), want, "{p}");
        }
        assert_eq!(&body[pointer_span(body, "/de").unwrap()], b"-1.5e3");
    }

    #[test]
    fn spans_never_panic_on_broken_input() {
        for body in [
            &b""[..],
            b"{",
            b"[",
            b"\"",
            b"{\"a\"",
            b"{\"a\":",
            b"{\"a\":1,",
            b"[1,",
            b"}",
            b"]]",
            b"{\"a\" 1}",
            b"{1:2}",
            b"\"\\",
            b"[\"\\\"]",
        ] {
            for p in ["", "/a", "/0", "/a/0"] {
                let _ = pointer_span(body, p);
            }
        }
        assert_eq!(pointer_span(b"{}", "/a"), None);
        assert_eq!(pointer_span(b"[]", "/0"), None);
        assert_eq!(pointer_span(b"{\"a\":1}", "a"), None); // not a pointer
    }

    #[test]
    fn text_lookups() {
        let v = json!({"s": "x", "n": 7, "f": 1.5, "b": true, "o": {}, "z": null});
        let text = |p: &str| v.pointer(p).and_then(text_of);
        assert_eq!(text("/s").as_deref(), Some("x"));
        assert_eq!(text("/n").as_deref(), Some("7"));
        assert_eq!(text("/f").as_deref(), Some("1.5"));
        assert_eq!(text("/b").as_deref(), Some("true"));
        assert_eq!(text("/o"), None);
        assert_eq!(text("/z"), None);
    }
}
