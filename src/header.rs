//! The header names the layer speaks, beyond those `http::header` already names.

use http::header::HeaderName;

/// `Operation-Location`: the status monitor of Azure's REST guidelines and of Azure Maps Creator V2.
pub const OPERATION_LOCATION: HeaderName = HeaderName::from_static("operation-location");
/// `Azure-AsyncOperation`: the status monitor of Azure Resource Manager.
pub const AZURE_ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");
/// `Resource-Location`: where Azure Maps Creator V2 says the created resource is.
pub const RESOURCE_LOCATION: HeaderName = HeaderName::from_static("resource-location");
/// `retry-after-ms`: Azure's millisecond wait hint.
pub const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
/// `x-ms-retry-after-ms`: the older spelling of `retry-after-ms`.
pub const X_MS_RETRY_AFTER_MS: HeaderName = HeaderName::from_static("x-ms-retry-after-ms");
/// `Prefer`: `respond-async` asks for the `202` itself (RFC 7240).
pub const PREFER: HeaderName = HeaderName::from_static("prefer");

/// Heads with at most this many fields are scanned rather than looked up: a typical head has a
/// handful, and comparing names (a standard name differs from a custom one at once) costs less
/// than hashing the names asked for. Asked of every request and answer, pass-through included.
pub(crate) const SCANNED_HEAD: usize = 16;

/// Whether the head has any of `names`.
pub(crate) fn has_any(headers: &http::HeaderMap, names: &[HeaderName]) -> bool {
    if headers.len() > SCANNED_HEAD {
        return names.iter().any(|name| headers.contains_key(name));
    }
    headers.keys().any(|key| names.contains(key))
}

/// Every value of `name`, in order.
pub(crate) fn values<'a>(
    headers: &'a http::HeaderMap,
    name: &'a HeaderName,
) -> impl Iterator<Item = &'a http::HeaderValue> {
    let scan = headers.len() <= SCANNED_HEAD;
    let scanned = scan.then(|| headers.iter().filter(move |(n, _)| *n == name));
    let looked_up = (!scan).then(|| headers.get_all(name).iter());
    let scanned = scanned.into_iter().flatten().map(|(_, value)| value);
    scanned.chain(looked_up.into_iter().flatten())
}
