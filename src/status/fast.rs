//! A borrowing reader of the fields of a status document, lenient about their types like the
//! general path (a field of an unexpected type is as good as absent, unknown fields are skipped).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{FieldText, OperationStatus, StatusDocument};

/// One field's value, as far as we care.
#[derive(Default)]
pub(super) enum Field<'a> {
    #[default]
    Absent,
    Null,
    Str(Cow<'a, str>),
    Num(serde_json::Number),
    Bool(bool),
    Other,
}

impl Field<'_> {
    fn text(&self) -> Option<FieldText> {
        match self {
            Field::Str(s) => Some(FieldText::new(s)),
            Field::Num(n) => Some(FieldText::new(&n.to_string())),
            Field::Bool(b) => Some(FieldText::new(if *b { "true" } else { "false" })),
            _ => None,
        }
    }
    fn status(&self) -> Option<OperationStatus> {
        match self {
            Field::Str(s) => Some(OperationStatus::parse(s)),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Field<'de>, E> {
        Ok(Field::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Field<'de>, E> {
        Ok(Field::Num(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Field<'de>, E> {
        Ok(Field::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Field<'de>, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Field::Other, Field::Num))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Field<'de>, E> {
        Ok(Field::Bool(v))
    }
    fn visit_unit<E>(self) -> Result<Field<'de>, E> {
        Ok(Field::Null)
    }
    fn visit_none<E>(self) -> Result<Field<'de>, E> {
        Ok(Field::Null)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Field<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Field::Other)
    }
}

/// An object key, told apart without allocating (a `Cow<str>` key would always own).
#[derive(Clone, Copy)]
pub(super) enum Key {
    ProvisioningState,
    Error,
    Status,
    Properties,
    OperationId,
    Id,
    PercentComplete,
    PercentageComplete,
    ResourceLocation,
    Other,
}

impl Key {
    /// The key named `v` (unescaped).
    pub(super) fn named(v: &str) -> Key {
        match v {
            "provisioningState" => Key::ProvisioningState,
            "error" => Key::Error,
            "status" => Key::Status,
            "properties" => Key::Properties,
            "operationId" => Key::OperationId,
            "id" => Key::Id,
            "percentComplete" => Key::PercentComplete,
            "percentageComplete" => Key::PercentageComplete,
            "resourceLocation" => Key::ResourceLocation,
            _ => Key::Other,
        }
    }

    /// Where a member the readers consult is in the document, and its bit in a "seen" mask;
    /// `None` for a member nobody reads at that level (its duplicates are allowed).
    fn consulted(&self, nested: bool) -> Option<(&'static str, u16)> {
        let name = match (self, nested) {
            (Key::ProvisioningState, false) => "provisioningState",
            (Key::ProvisioningState, true) => "properties.provisioningState",
            (Key::Error, false) => "error",
            (Key::Error, true) => "properties.error",
            (_, true) => return None,
            (Key::Status, _) => "status",
            (Key::Properties, _) => "properties",
            (Key::OperationId, _) => "operationId",
            (Key::Id, _) => "id",
            (Key::PercentComplete, _) => "percentComplete",
            (Key::PercentageComplete, _) => "percentageComplete",
            (Key::ResourceLocation, _) => "resourceLocation",
            (Key::Other, _) => return None,
        };
        Some((name, 1 << (*self as u16)))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key::named(v))
    }
}

/// The top-level object (or `properties`): the fields we read. A member we read that comes
/// twice makes the document malformed (`duplicate`), whichever value is friendlier.
#[derive(Default)]
pub(super) struct Raw<'a> {
    status: Field<'a>,
    provisioning_state: Field<'a>,
    properties_state: Field<'a>,
    operation_id: Field<'a>,
    id: Field<'a>,
    percent_complete: Field<'a>,
    percentage_complete: Field<'a>,
    resource_location: Field<'a>,
    pub(super) has_error: bool,
    /// The first member read that came twice (`error.message`: inside the `error` object).
    pub(super) duplicate: Option<&'static str>,
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(RawVisitor { nested: false })
    }
}

/// `properties` of an ARM resource: lenient, anything but an object is as good as absent.
struct Properties<'a>(Raw<'a>);

impl<'de> Deserialize<'de> for Properties<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor { nested: true })
            .map(Properties)
    }
}

struct RawVisitor {
    nested: bool,
}

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        let mut seen = 0u16;
        while let Some(key) = map.next_key::<Key>()? {
            raw.note(key, self.nested, &mut seen);
            match (key, self.nested) {
                (Key::Error, nested) => {
                    let ErrorMembers(dup) = map.next_value()?;
                    raw.duplicate = raw.duplicate.or(dup.map(|d| d.path(nested)));
                    raw.has_error = true;
                }
                (Key::Properties, false) => {
                    let props: Properties<'de> = map.next_value()?;
                    raw.properties_state = props.0.provisioning_state;
                    raw.has_error |= props.0.has_error;
                    raw.duplicate = raw.duplicate.or(props.0.duplicate);
                }
                (key, nested) => match raw.field(key, nested) {
                    Some(field) => *field = map.next_value()?,
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        Ok(raw)
    }
    // Only reached for a nested `properties` that is not an object.
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_str<E>(self, _: &str) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_unit<E>(self) -> Result<Raw<'de>, E> {
        Ok(Raw::default())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Raw::default())
    }
}

impl<'a> Raw<'a> {
    /// The `status` and the operation id (`operationId`, else `id`) when they are all the
    /// document holds that the readers consult: `status` a string, the ids strings or absent,
    /// nothing read twice, no progress, state, error or result location; else `None`. The
    /// oracle of the short pass's [`flat_status`](super::scan::flat_status) in tests.
    #[cfg(test)]
    pub(super) fn common(self) -> Option<(&'a str, Option<&'a str>)> {
        let text = |f: Field<'a>| match f {
            Field::Str(Cow::Borrowed(s)) => Some(Some(s)),
            Field::Absent => Some(None),
            _ => None,
        };
        let quiet = self.duplicate.is_none()
            && !self.has_error
            && matches!(
                (
                    &self.provisioning_state,
                    &self.properties_state,
                    &self.percent_complete,
                    &self.percentage_complete,
                    &self.resource_location,
                ),
                (
                    Field::Absent,
                    Field::Absent,
                    Field::Absent,
                    Field::Absent,
                    Field::Absent
                )
            );
        if !quiet {
            return None;
        }
        let status = text(self.status)??;
        let id = text(self.operation_id)?.or(text(self.id)?);
        Some((status, id))
    }

    /// Where a plain member's value goes (`provisioningState` at either level, the others at
    /// the top only); `None` for a member read otherwise (`error`, `properties`) or not at all.
    /// The serde reader and the [scan](super::scan) both fill a document through it.
    #[inline]
    pub(super) fn field(&mut self, key: Key, nested: bool) -> Option<&mut Field<'a>> {
        match (key, nested) {
            (Key::ProvisioningState, _) => Some(&mut self.provisioning_state),
            (_, true) => None,
            (Key::Status, _) => Some(&mut self.status),
            (Key::OperationId, _) => Some(&mut self.operation_id),
            (Key::Id, _) => Some(&mut self.id),
            (Key::PercentComplete, _) => Some(&mut self.percent_complete),
            (Key::PercentageComplete, _) => Some(&mut self.percentage_complete),
            (Key::ResourceLocation, _) => Some(&mut self.resource_location),
            (Key::Error | Key::Properties | Key::Other, _) => None,
        }
    }

    /// Counts `key` as seen (at the top level, or in `properties` when `nested`): the first
    /// member read that comes twice is the document's `duplicate`.
    pub(super) fn note(&mut self, key: Key, nested: bool, seen: &mut u16) {
        if let Some((name, bit)) = key.consulted(nested) {
            if *seen & bit != 0 {
                self.duplicate = self.duplicate.or(Some(name));
            }
            *seen |= bit;
        }
    }

    #[inline]
    pub(super) fn into_document(self) -> StatusDocument {
        // As the general path: `properties.provisioningState` when present at all.
        let provisioning_state = match self.properties_state {
            Field::Absent => self.provisioning_state.status(),
            other => other.status(),
        };
        StatusDocument {
            status_wrong_type: matches!(self.status, Field::Num(_) | Field::Bool(_) | Field::Other),
            status: self.status.status(),
            provisioning_state,
            operation_id: self.operation_id.text().or_else(|| self.id.text()),
            // As the general path: `percentComplete` when present at all.
            percent_complete: match (&self.percent_complete, &self.percentage_complete) {
                (Field::Num(n), _) | (Field::Absent, Field::Num(n)) => n.as_f64(),
                _ => None,
            },
            error: None,
            error_reported: false,
            resource_location: match self.resource_location {
                Field::Str(s) => Some(s.into_owned()),
                _ => None,
            },
        }
    }
}

/// The members of an `error` object the readers consult (the [error rule](crate::_protocol#status-bodies) and the OData
/// error): which one came twice, if any. Anything but an object is skipped.
struct ErrorMembers(Option<ErrorKey>);

#[derive(Clone, Copy)]
enum ErrorKey {
    Code,
    Message,
    Target,
    Details,
    Errors,
    Innererror,
    Other,
}

impl ErrorKey {
    fn path(self, nested: bool) -> &'static str {
        match (self, nested) {
            (ErrorKey::Code, false) => "error.code",
            (ErrorKey::Message, false) => "error.message",
            (ErrorKey::Target, false) => "error.target",
            (ErrorKey::Details, false) => "error.details",
            (ErrorKey::Errors, false) => "error.errors",
            (ErrorKey::Innererror, false) => "error.innererror",
            (ErrorKey::Code, true) => "properties.error.code",
            (ErrorKey::Message, true) => "properties.error.message",
            (ErrorKey::Target, true) => "properties.error.target",
            (ErrorKey::Details, true) => "properties.error.details",
            (ErrorKey::Errors, true) => "properties.error.errors",
            (ErrorKey::Innererror, true) => "properties.error.innererror",
            (ErrorKey::Other, _) => "error",
        }
    }
}

impl<'de> Deserialize<'de> for ErrorKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(ErrorKeyVisitor)
    }
}

struct ErrorKeyVisitor;

impl Visitor<'_> for ErrorKeyVisitor {
    type Value = ErrorKey;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<ErrorKey, E> {
        Ok(match v {
            "code" => ErrorKey::Code,
            "message" => ErrorKey::Message,
            "target" => ErrorKey::Target,
            "details" => ErrorKey::Details,
            "errors" => ErrorKey::Errors,
            "innererror" => ErrorKey::Innererror,
            _ => ErrorKey::Other,
        })
    }
}

impl<'de> Deserialize<'de> for ErrorMembers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ErrorVisitor)
    }
}

struct ErrorVisitor;

impl<'de> Visitor<'de> for ErrorVisitor {
    type Value = ErrorMembers;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ErrorMembers, A::Error> {
        let (mut seen, mut dup) = (0u8, None);
        while let Some(key) = map.next_key::<ErrorKey>()? {
            map.next_value::<IgnoredAny>()?;
            if let ErrorKey::Other = key {
                continue;
            }
            let bit = 1 << (key as u8);
            if seen & bit != 0 {
                dup = dup.or(Some(key));
            }
            seen |= bit;
        }
        Ok(ErrorMembers(dup))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ErrorMembers, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ErrorMembers(None))
    }
    fn visit_borrowed_str<E>(self, _: &'de str) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
    fn visit_unit<E>(self) -> Result<ErrorMembers, E> {
        Ok(ErrorMembers(None))
    }
}
