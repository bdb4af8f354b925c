//! The direct scan of a flat status document — an object whose members are strings, `true`,
//! `false` or `null`, without escapes — as every poll of a typical monitor answers
//! (`{"operationId":"…","created":"…","status":"Running"}`). It reads exactly what the serde
//! reader ([`fast`](super::fast)) reads from such a body, without the visitor machinery, and
//! gives up (`None`) on anything else: numbers, nested values, escapes, an `error` or
//! `properties` member, malformed or non-UTF-8 text. The serde reader then decides, so a body
//! is read the same whichever reader took it.

use std::borrow::Cow;

use super::fast::{Field, Key, Raw};

/// A member's value in a flat document: a string (borrowed from the body), `true`, `false` or
/// `null`.
#[derive(Clone, Copy)]
enum Value<'a> {
    Str(&'a str),
    Bool(bool),
    Null,
}

/// The fields of `body` if it is a flat document as above, else `None`.
pub(super) fn scan(body: &[u8]) -> Option<Raw<'_>> {
    let mut raw = Raw::default();
    let mut seen = 0u16;
    members(body, |name, value| {
        let key = Key::named(name);
        raw.note(key, false, &mut seen);
        if let Key::Error | Key::Properties = key {
            return None;
        }
        if let Some(field) = raw.field(key, false) {
            *field = match value {
                Value::Str(s) => Field::Str(Cow::Borrowed(s)),
                Value::Bool(b) => Field::Bool(b),
                Value::Null => Field::Null,
            };
        }
        Some(())
    })?;
    Some(raw)
}

/// What `scan(body)?.common()` gives, in one pass that records nothing else: the `status` and
/// the operation id (`operationId`, else `id`) of a flat document whose `status` is a string,
/// whose ids are strings or absent, with none of the three twice and no other member the
/// readers consult (`provisioningState`, `properties`, `error`, progress,
/// `resourceLocation`, whatever their value). The status poll's short pass reads every
/// answer of a typical monitor with it.
pub(super) fn flat_status(body: &[u8]) -> Option<(&str, Option<&str>)> {
    let (mut status, mut operation_id, mut id) = (None, None, None);
    members(body, |name, value| {
        let slot = match name {
            "status" => &mut status,
            "operationId" => &mut operation_id,
            "id" => &mut id,
            "provisioningState" | "properties" | "error" | "percentComplete"
            | "percentageComplete" | "resourceLocation" => return None,
            _ => return Some(()),
        };
        match (&slot, value) {
            (None, Value::Str(s)) => *slot = Some(s),
            // Read twice, or not a string.
            _ => return None,
        }
        Some(())
    })?;
    Some((status?, operation_id.or(id)))
}

/// Hands each member of `body` to `each`, in order, if `body` is a flat document (see the
/// module docs); `None` when it is not one, or when `each` gives up (`None`).
#[inline(always)]
fn members<'a>(
    body: &'a [u8],
    mut each: impl FnMut(&'a str, Value<'a>) -> Option<()>,
) -> Option<()> {
    // Strings are borrowed from the body: it must be UTF-8 as a whole.
    let text = std::str::from_utf8(body).ok()?;
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (name, next) = string(text, i + 1)?;
            i = skip_ws(b, next);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let (value, next) = match *b.get(i)? {
                b'"' => {
                    let (s, next) = string(text, i + 1)?;
                    (Value::Str(s), next)
                }
                b't' if b[i..].starts_with(b"true") => (Value::Bool(true), i + 4),
                b'f' if b[i..].starts_with(b"false") => (Value::Bool(false), i + 5),
                b'n' if b[i..].starts_with(b"null") => (Value::Null, i + 4),
                _ => return None,
            };
            each(name, value)?;
            i = skip_ws(b, next);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    // Nothing but white space after the object.
    (skip_ws(b, i) == b.len()).then_some(())
}

/// The index of the first byte at or after `i` that is not JSON white space.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// The string that starts at `start` (after its opening quote) and the index after its closing
/// quote; `None` at an escape, a control character or the end of the text.
#[inline(always)]
fn string(text: &str, start: usize) -> Option<(&str, usize)> {
    let rest = text.as_bytes().get(start..)?;
    let len = stop(rest)?;
    if rest[len] != b'"' {
        return None;
    }
    // `start` and `start + len` are next to ASCII quotes: both are character boundaries.
    Some((text.get(start..start + len)?, start + len + 1))
}

/// Where the first `"`, `\\` or control character of `b` is: eight bytes at a time, then the
/// last few one by one.
#[inline(always)]
pub(crate) fn stop(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut at = 0;
    while let Some(chunk) = b.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // The high bit of each byte that is zero after the xor, or below 0x20. A borrow can
        // only set bits above a byte that really is one: the lowest bit set is exact.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let hit = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if hit != 0 {
            return Some(at + (hit.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    b[at..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| at + i)
}
