//! The headers the requests of one operation carry, kept compact: what a waiting operation
//! holds of its submission's headers.

use std::sync::Arc;

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// The longest head [`Carried::from_headers`] takes: each value's verdict is a bit of a `u64`.
pub(crate) const SHORT_HEAD: usize = 64;

/// Name/value pairs in one shared allocation (none when there are no pairs), in the order a
/// [`HeaderMap`] iterates them. A `HeaderMap` keeps an index and spare buckets beside its
/// entries (nearly twice the pairs' size with the `Arc` that shares it, in three allocations);
/// an operation waits far longer than it sends, so the map is built only when a request is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Carried(Option<Arc<[(HeaderName, HeaderValue)]>>);

impl Carried {
    /// The pairs of `headers`, each value with its name.
    pub(crate) fn from_map(headers: HeaderMap) -> Self {
        if headers.is_empty() {
            return Self::default();
        }
        let mut pairs = Vec::with_capacity(headers.len());
        let mut last: Option<HeaderName> = None;
        for (name, value) in headers {
            // `None`: another value of the name before.
            if let Some(name) = name {
                last = Some(name);
            }
            let name = last.clone().expect("a header map names its first value");
            pairs.push((name, value));
        }
        Self(Some(pairs.into()))
    }

    /// The values of `headers` whose name `keep`s, each with its name, in the map's order: one
    /// allocation, none when nothing is kept. Names and values are cloned as they are (a
    /// shared handle, no copy of their bytes). For a head of at most [`SHORT_HEAD`] values (the
    /// caller takes the general path for longer ones): each value's verdict is kept as a bit by
    /// its position, so a name is judged once a value.
    pub(crate) fn from_headers(headers: &HeaderMap, keep: impl Fn(&HeaderName) -> bool) -> Self {
        assert!(headers.len() <= SHORT_HEAD, "a short head");
        let mut kept = 0u64;
        for (i, (name, _)) in headers.iter().enumerate() {
            kept |= u64::from(keep(name)) << i;
        }
        if kept == 0 {
            return Self::default();
        }
        let mut pairs = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| kept & (1 << i) != 0);
        // A counted range: the slice is allocated once, at its size, and filled in place.
        let pairs = (0..kept.count_ones() as usize).map(|_| {
            let (_, (name, value)) = pairs.next().expect("counted above");
            (name.clone(), value.clone())
        });
        Self(Some(pairs.collect()))
    }

    /// Pairs kept as given (callers keep a name's values together).
    pub(crate) fn from_pairs(pairs: Vec<(HeaderName, HeaderValue)>) -> Self {
        Self((!pairs.is_empty()).then(|| pairs.into()))
    }

    /// The pairs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(HeaderName, HeaderValue)> {
        self.0.iter().flat_map(|pairs| pairs.iter())
    }

    /// How many values.
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |pairs| pairs.len())
    }

    /// Whether there are no pairs.
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The names, each once, in order.
    pub(crate) fn names(&self) -> impl Iterator<Item = &HeaderName> {
        let pairs = self.0.as_deref().unwrap_or_default();
        pairs
            .iter()
            .enumerate()
            .filter(|(i, (name, _))| !pairs[..*i].iter().any(|(n, _)| n == name))
            .map(|(_, (name, _))| name)
    }

    /// The map a request sends (no allocation when there are no pairs).
    pub(crate) fn to_map(&self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.len());
        for (name, value) in self.iter() {
            map.append(name.clone(), value.clone());
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_round_trips_with_every_value_in_order() {
        let mut map = HeaderMap::new();
        map.append("accept", HeaderValue::from_static("a"));
        map.append("x-one", HeaderValue::from_static("1"));
        map.append("accept", HeaderValue::from_static("b"));
        let carried = Carried::from_map(map.clone());
        assert_eq!(carried.len(), 3);
        assert_eq!(carried.to_map(), map);
        let names: Vec<&str> = carried.names().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "x-one"]);
        let values: Vec<&str> = map
            .get_all("accept")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        let back = carried.to_map();
        let again: Vec<&str> = back
            .get_all("accept")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(values, again);
        assert!(Carried::from_map(HeaderMap::new()).0.is_none());
        assert_eq!(Carried::default().to_map().capacity(), 0);
    }
}
