//! The header names the layer speaks, beyond those `http::header` already names.

use http::header::HeaderName;

/// `Operation-Location`: the status monitor of Azure's REST guidelines and of seed V2.
pub const OPERATION_LOCATION: HeaderName = HeaderName::from_static("operation-location");
/// `Azure-AsyncOperation`: the status monitor of Azure Resource Manager.
pub const AZURE_ASYNC_OPERATION: HeaderName = HeaderName::from_static("azure-asyncoperation");
/// `Resource-Location`: where seed V2 says the created resource is.
pub const RESOURCE_LOCATION: HeaderName = HeaderName::from_static("resource-location");
/// `retry-after-ms`: Azure's millisecond wait hint.
pub const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
/// `x-ms-retry-after-ms`: the older spelling of `retry-after-ms`.
pub const X_MS_RETRY_AFTER_MS: HeaderName = HeaderName::from_static("x-ms-retry-after-ms");
/// `Prefer`: `respond-async` asks for the `202` itself (RFC 7240).
pub const PREFER: HeaderName = HeaderName::from_static("prefer");
