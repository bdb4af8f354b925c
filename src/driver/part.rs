//! The final body when it is a part of the answer read (or a document made of it), and the
//! headers that no longer describe it.

use bytes::Bytes;
use http::response::Parts;

use crate::proto::Delivery;

/// The part of a read body the core delivers (a Google `response`, an embedded result), or the
/// body it made (a decoded result): the whole body unless the delivery says otherwise. A cut or
/// made body loses the headers that described the whole (see [`describe_part`]).
pub(super) fn cut(parts: &mut Parts, bytes: Bytes, delivery: &Delivery) -> Bytes {
    if let Some(made) = &delivery.decoded {
        describe_part(&mut parts.headers);
        return made.clone();
    }
    match delivery.body.clone() {
        Some(range) if range.end <= bytes.len() && range.start <= range.end => {
            describe_part(&mut parts.headers);
            bytes.slice(range)
        }
        _ => bytes,
    }
}

/// Drops what an answer's headers said of its whole body, now that a part of it (or a document
/// made of it) is delivered: its length, its entity tag (a validator of the whole, which a
/// cache would pair with the part), its digests (RFC 9530 `Content-Digest`/`Repr-Digest`,
/// RFC 3230 `Digest`, `Content-MD5`), which the part would fail, and `Accept-Ranges` (a range
/// asked of the URL is a range of the whole). `Last-Modified` stays: the part changes only
/// when the whole does.
fn describe_part(headers: &mut http::HeaderMap) {
    for name in [
        "content-length",
        "etag",
        "content-digest",
        "repr-digest",
        "digest",
        "content-md5",
        "accept-ranges",
    ] {
        headers.remove(name);
    }
}
