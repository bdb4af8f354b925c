//! JSON pointers (RFC 6901) with selectors: a declared dialect's way to name a place in a body,
//! parsed once when the description is read.
//!
//! A selector chooses an element of an array by the value of one of its members, so a link can
//! be named by its relation: `/links[rel=results]/href` is the `href` of the first element of
//! `links` whose `rel` is `results` (OGC API – Processes, HAL, Siren and JSON:API list links
//! this way).
//!
//! # Grammar
//!
//! ```text
//! pointer  = *( "/" token )                 ; "" is the whole document
//! token    = name *selector                 ; an empty name before a selector names nothing:
//!                                           ; "/links/[rel=x]" is "/links[rel=x]"
//! name     = *( escaped / any character but "/", "~", "[" )
//! selector = "[" member "=" value "]"
//! member   = 1*( escaped / any character but "=", "]", "[", "~" )
//! value    = *( escaped / any character but "]", "[", "~" )
//! escaped  = "~0" / "~1" / "~2" / "~3" / "~4"     ; "~" "/" "[" "]" "="
//! ```
//!
//! Outside a selector this is RFC 6901 with two more escapes: a `[` in a member's name is
//! written `~2` (a raw `[` opens a selector). Inside a selector `/` may be written as it is
//! (`[rel=http://www.opengis.net/def/rel/ogc/1.0/results]`) or as `~1`, a `]` is written `~3`,
//! a `=` in the member `~4` (the member ends at the first raw `=`; later ones belong to the
//! value).
//!
//! # Reading
//!
//! A token is a member of an object, or an element of an array when it is an index (digits, no
//! sign, no leading zero), as in RFC 6901. A selector applies to an array only: it takes the
//! **first** element that is an object whose `member` is a string equal to `value`, or a number
//! or boolean that reads as `value` when written out (`[id=7]`). No such element, or not an
//! array: the pointer finds nothing, as a missing member does. Selectors written one after the
//! other in a token all apply to the same element: `/links[rel=results][type=application/json]`
//! is the first link whose `rel` is `results` **and** whose `type` is `application/json` (a
//! server may list one relation in several formats, as pygeoapi lists a job's results as HTML
//! first).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A parsed pointer; it keeps its text (so a description round-trips as written).
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pointer {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object's member, or an array's element when the token is an index.
    Token { key: String, index: Option<usize> },
    /// The first element of an array each of whose `(member, value)` reads as the value: one
    /// step for the selectors written one after the other in a token.
    Select(Vec<(String, String)>),
}

/// Why a text is not a pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerError {
    text: String,
    problem: &'static str,
}

impl fmt::Display for PointerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a JSON pointer: {}", self.text, self.problem)
    }
}

impl std::error::Error for PointerError {}

impl fmt::Debug for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pointer({:?})", self.text)
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for Pointer {
    type Error = PointerError;
    fn try_from(text: String) -> Result<Self, PointerError> {
        Self::parse(&text)
    }
}

impl From<Pointer> for String {
    fn from(p: Pointer) -> String {
        p.text
    }
}

/// An array index as RFC 6901 and `serde_json` read it: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

impl Pointer {
    /// Parses a pointer (see the module docs for the grammar).
    pub fn parse(text: &str) -> Result<Self, PointerError> {
        let fail = |problem| PointerError {
            text: text.to_owned(),
            problem,
        };
        let mut steps = Vec::new();
        if text.is_empty() {
            return Ok(Self {
                text: String::new(),
                steps,
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(fail("a pointer starts with `/`"));
        };
        let mut chars = rest.chars().peekable();
        loop {
            let mut name = String::new();
            while let Some(c) = chars.next_if(|c| !matches!(c, '/' | '[')) {
                name.push(if c == '~' {
                    unescape(&mut chars).map_err(fail)?
                } else {
                    c
                });
            }
            let mut selects = Vec::new();
            while chars.next_if_eq(&'[').is_some() {
                let member = selector_part(&mut chars, '=').map_err(fail)?;
                if member.is_empty() {
                    return Err(fail("a selector names no member (`[member=value]`)"));
                }
                let value = selector_part(&mut chars, ']').map_err(fail)?;
                selects.push((member, value));
                if !matches!(chars.peek(), None | Some('/' | '[')) {
                    return Err(fail(
                        "text after a selector's `]`: a selector ends its token",
                    ));
                }
            }
            // An empty name before a selector names nothing.
            if !name.is_empty() || selects.is_empty() {
                let index = index(&name);
                steps.push(Step::Token { key: name, index });
            }
            if !selects.is_empty() {
                steps.push(Step::Select(selects));
            }
            if chars.next().is_none() {
                break;
            }
        }
        Ok(Self {
            text: text.to_owned(),
            steps,
        })
    }

    /// The pointer as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the pointer finds in `doc`.
    pub fn find<'v>(&self, doc: &'v Value) -> Option<&'v Value> {
        let mut at = doc;
        for step in &self.steps {
            at = match step {
                Step::Token { key, index } => match at {
                    Value::Object(map) => map.get(key)?,
                    Value::Array(items) => items.get((*index)?)?,
                    _ => return None,
                },
                Step::Select(pairs) => {
                    let (_, item) = select(at, pairs)?;
                    item
                }
            };
        }
        Some(at)
    }

    /// The plain RFC 6901 pointer to what this one finds in `doc`, its selectors replaced by the
    /// indexes they chose (to find the same value in the raw bytes).
    pub fn concrete(&self, doc: &Value) -> Option<String> {
        let mut out = String::new();
        let mut at = doc;
        for step in &self.steps {
            out.push('/');
            at = match step {
                Step::Token { key, index } => {
                    out.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    match at {
                        Value::Object(map) => map.get(key)?,
                        Value::Array(items) => items.get((*index)?)?,
                        _ => return None,
                    }
                }
                Step::Select(pairs) => {
                    let (i, item) = select(at, pairs)?;
                    out.push_str(&i.to_string());
                    item
                }
            };
        }
        Some(out)
    }

    /// Whether a member at `plain` (an RFC 6901 pointer, as a duplicate is reported) is one this
    /// pointer reads: an ancestor of what it finds or the place itself, a selector's member in
    /// any element it may choose, or (with `under`) anything inside what it finds.
    pub fn touches(&self, plain: &str, under: bool) -> bool {
        let mut tokens = plain.split('/').skip(1);
        let mut steps = self.steps.iter();
        loop {
            let Some(token) = tokens.next() else {
                return true;
            };
            let Some(step) = steps.next() else {
                return under;
            };
            match step {
                Step::Token { key, .. } => {
                    if !token_is(token, key) {
                        return false;
                    }
                }
                Step::Select(pairs) => {
                    if index(token).is_none() {
                        return false;
                    }
                    let mut ahead = tokens.clone();
                    if ahead
                        .next()
                        .is_some_and(|t| pairs.iter().any(|(member, _)| token_is(t, member)))
                    {
                        return true;
                    }
                }
            }
        }
    }
}

/// `token` (RFC 6901, escaped) names `key`.
fn token_is(token: &str, key: &str) -> bool {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~") == key
    } else {
        token == key
    }
}

/// The first element of the array `at` each of whose `member` reads as its `value`, with its
/// index.
fn select<'v>(at: &'v Value, pairs: &[(String, String)]) -> Option<(usize, &'v Value)> {
    let Value::Array(items) = at else {
        return None;
    };
    items.iter().enumerate().find(|(_, item)| {
        pairs
            .iter()
            .all(|(member, value)| item.get(member).is_some_and(|m| reads_as(m, value)))
    })
}

/// A string equal to `text`, or a number or boolean that reads as `text` written out.
fn reads_as(v: &Value, text: &str) -> bool {
    match v {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => {
            let mut cmp = Compare {
                rest: text,
                equal: true,
            };
            let _ = fmt::write(&mut cmp, format_args!("{n}"));
            cmp.equal && cmp.rest.is_empty()
        }
        _ => false,
    }
}

/// Compares what is written to a text without allocating.
struct Compare<'t> {
    rest: &'t str,
    equal: bool,
}

impl fmt::Write for Compare<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.rest.strip_prefix(s) {
            Some(rest) if self.equal => self.rest = rest,
            _ => self.equal = false,
        }
        Ok(())
    }
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After a `~`: the character it stands for.
fn unescape(chars: &mut Chars<'_>) -> Result<char, &'static str> {
    match chars.next() {
        Some('0') => Ok('~'),
        Some('1') => Ok('/'),
        Some('2') => Ok('['),
        Some('3') => Ok(']'),
        Some('4') => Ok('='),
        _ => Err("`~` is written `~0`, `/` in a name `~1`, `[` `~2`, `]` `~3`, `=` `~4`"),
    }
}

/// A selector's member (up to `=`) or value (up to `]`), the end consumed.
fn selector_part(chars: &mut Chars<'_>, end: char) -> Result<String, &'static str> {
    let mut out = String::new();
    loop {
        match chars.next() {
            Some(c) if c == end => return Ok(out),
            Some('~') => out.push(unescape(chars)?),
            Some('[') => return Err("a `[` inside a selector is written `~2`"),
            Some(']') => return Err("a selector without `=` (`[member=value]`)"),
            Some(c) => out.push(c),
            None => {
                return Err("a `[` opens a selector `[member=value]` that is not closed; a `[` in a name is written `~2`")
            }
        }
    }
}

#[cfg(test)]
#[path = "pointer_tests.rs"]
mod tests;
