//! What scenarios are made of: submission URLs, header values, status words and codes,
//! header names, good and hostile (spec §3, §4, §4a, §7, §10).

/// Submission URLs (absolute and origin-form). Credentials in the query are always `secret`.
pub const SUBMISSIONS: &[&str] = &[
    "https://svc.example/jobs?api-version=2024-01-01&subscription-key=secret",
    "http://svc.example:8080/a/b/jobs?api-version=1",
    "https://svc.example/",
    "/jobs?subscription-key=secret&api-version=3",
    "/",
    "http://127.0.0.1:1/x?Subscription-Key=secret",
    "https://[::1]:8443/ops?x=1&api-version=2",
    "http://svc.example/jobs/%7Bid%7D?api-version=1",
    // Service roots with a version segment (Google), an internal host (the SSRF guard then
    // lets internal targets through).
    "https://svc.example/v1/projects/p/locations/l/things:create?subscription-key=secret",
    "http://10.1.2.3:8080/v2beta1/jobs?api-version=1",
    "/v1/projects/p:run?subscription-key=secret",
    "https://svc.example/compute/v1/projects/p/zones/z/instances",
];

/// URL-ish header and `resourceLocation` values, good and hostile.
pub const URL_VALUES: &[&str] = &[
    "https://svc.example/operations/1",
    "http://svc.example/operations/1",
    "https://other.example/operations/1",
    "https://svc.example:444/op",
    "http://svc.example:8080/a/op?api-version=9",
    "/operations/2",
    "operations/3",
    "../up",
    "//other.example/op",
    "\"https://svc.example/quoted\"",
    "  https://svc.example/ws  ",
    "?q=1",
    "#frag",
    "",
    "\"\"",
    "\"",
    "ftp://svc.example/op",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "data:text/plain,hi",
    "http://",
    "https://:80/",
    "http://[::1",
    "https://svc.example/op?subscription-key=leak",
    "https://user:pass@svc.example/op",
    "https://svc.example/{id}/x",
    "https://svc.example/%zz",
    "mailto:x@y",
    "https://svc.example/op#frag",
    "http://origin-form.invalid/x",
    "https://other.example/op?api-version=1",
    "http://127.0.0.1:1/next",
    "https://[::1]:8443/other",
    "HTTPS://SVC.EXAMPLE/Upper",
    "https://svc.example/a b",
    "https://svc.example/\"q\"",
    "https://svc.example/op?x=|^`",
];

/// Wait-hint values.
pub const RETRY_VALUES: &[&str] = &[
    "0",
    "1",
    "5",
    "30",
    "99999999999",
    "18446744073709551615",
    "99999999999999999999999",
    "-1",
    "-5",
    "1.5",
    "abc",
    "",
    " 7 ",
    "+3",
    "0x10",
    "1e3",
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Thu, 01 Jan 1970 00:00:00 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "/bar",
];

/// `status` / `provisioningState` spellings.
pub const STATES: &[&str] = &[
    "NotStarted",
    "Running",
    "Succeeded",
    "Failed",
    "Canceled",
    "Cancelled",
    "succeeded",
    "FAILED",
    "InProgress",
    "Accepted",
    "Creating",
    "Weird",
    "",
    // The wider vocabulary (spec §3), spelled as services spell it.
    "Completed",
    "completed",
    "Complete",
    "DONE",
    "done",
    "Success",
    "Successful",
    "PartiallySucceeded",
    "partiallyCompleted",
    "Failure",
    "Error",
    "errored",
    "ValidationFailed",
    "deleteFailed",
    "TestFailed",
    "In progress",
    "IN_PROGRESS",
    "in-progress",
    "Cancelling",
    "PENDING",
    "RUNNING",
    "Partially Succeeded",
    "succeeded ",
    "Terminated",
];

/// Response status codes worth a try.
pub const STATUSES: &[u16] = &[
    200, 201, 202, 204, 203, 206, 301, 302, 303, 304, 307, 400, 401, 403, 404, 405, 409, 410, 408,
    429, 500, 501, 502, 503, 504, 100, 599, 999,
];

/// Response header names the machine reads (and some it must not care about).
pub const RESPONSE_HEADERS: &[&str] = &[
    "operation-location",
    "azure-asyncoperation",
    "location",
    "resource-location",
    "retry-after",
    "retry-after-ms",
    "x-ms-retry-after-ms",
    "date",
    "content-type",
    "content-length",
    "connection",
    "x-other",
    // Headers the core reads since spec §4a, §7, §10.
    "content-location",
    "asyncresult",
    "location",
    "x-ms-copy-status",
    "x-progress",
    "x-amz-job-id",
];

/// Request headers a submission may carry: `(name, value)`.
pub const REQUEST_HEADERS: &[(&str, &str)] = &[
    ("authorization", "Bearer secret"),
    ("cookie", "session=secret"),
    ("proxy-authorization", "Basic secret"),
    ("ocp-apim-subscription-key", "secret"),
    ("subscription-key", "secret"),
    ("x-api-key", "secret"),
    ("host", "svc.example"),
    ("content-type", "application/json"),
    ("content-length", "42"),
    ("transfer-encoding", "chunked"),
    ("expect", "100-continue"),
    ("if-match", "\"etag\""),
    ("if-none-match", "*"),
    ("connection", "x-conn-only"),
    ("x-conn-only", "1"),
    ("prefer", "return=minimal"),
    ("accept", "application/json"),
    ("x-ms-client-request-id", "9C4D50EE"),
    ("idempotency-key", "k"),
];

/// Headers that must never be copied onto a poll.
pub const NEVER_COPIED: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "transfer-encoding",
    "expect",
    "if-match",
    "if-none-match",
    "connection",
    "prefer",
    "idempotency-key",
];

// ----------------------------------------------------------------------------------------------
/// More URL values (spec §4, §4a): internal and metadata hosts in their many spellings, and redirect targets
/// carrying a token of the server's own in their query.
pub const INTERNAL_URLS: &[&str] = &[
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./x",
    "http://169.254.170.2/v2/credentials",
    "http://[fe80::1]/op",
    "http://0.0.0.0/op",
    "http://[::]/op",
    "http://0/op",
    "http://10.0.0.1/op",
    "http://192.168.1.10:8080/op",
    "http://172.16.0.1/op",
    "http://localhost/op",
    "http://app.localhost/op",
    "http://127.0.0.1/op",
    "http://0x7f.1/op",
    "http://2130706433/op",
    "http://0177.0.0.1/op",
    "http://127.1/op",
    "http://[::ffff:127.0.0.1]/op",
    "http://[::ffff:a9fe:a9fe]/op",
    "http://[fd00::1]/op",
    "http://100.64.0.1/op",
    "http://10.1.2.3:8080/v2beta1/operations/5",
    "https://blob.other.example/result/1?sig=tok&se=2030",
    "https://other.example/moved?tempauth=tok",
    "https://svc.example/result/1?sig=tok",
    "https://svc.example/operations/9?subscription-key=servertoken",
    "https://svc.example/v1/operations/moved?sig=tok",
    "/result/1?sig=tok",
    "/operations/moved",
];

/// Google operation names, good and hostile.
pub const GOOGLE_NAMES: &[&str] = &[
    "operations/1",
    "projects/p/locations/l/operations/op-1",
    "operations/a%2Fb",
    "",
    "../escape",
    "a//b",
    "./x",
    "operations/1?x=1",
    "/operations/1",
    "https://svc.example/v1/operations/2",
    "https://other.example/v1/operations/3?sig=tok",
    "http://169.254.169.254/computeMetadata/v1/",
    "http://10.0.0.1/v1/operations/4",
    "ftp://svc.example/x",
];

/// Redirect statuses (spec §4a).
pub const REDIRECTS: &[u16] = &[301, 302, 303, 307, 308];
