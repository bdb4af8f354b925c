//! Status documents the tests answer with: a plain running/succeeded pair, and the bodies of the
//! two seed documents (Azure Maps Creator, V1 and V2).

/// A running operation (Azure's `Operation-Location` shape, with an `operationId`).
pub const RUNNING: &str = r#"{"operationId":"op1","status":"Running"}"#;

/// The same operation, done.
pub const SUCCEEDED: &str = r#"{"operationId":"op1","status":"Succeeded"}"#;

/// The failure document both seed documents print (V2's `created` spelling), as written.
pub const SEED_FAILED: &str = include_str!("../../fixtures/seeds/failed.json");

/// Seed V2: the status monitor while the operation runs.
pub const SEED_V2_RUNNING: &str = r#"{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "3/11/2020 8:45:13 PM +00:00",
    "status": "Running"
}"#;

/// Seed V2: the status monitor once it succeeded (the leading space is in the seed).
pub const SEED_V2_SUCCEEDED: &str = r#" {
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "created": "2021-05-06T07:55:19.5256829+00:00",
    "status": "Succeeded"
}"#;

/// Seed V1: the status monitor while the operation runs (`createdDateTime`).
pub const SEED_V1_RUNNING: &str = r#"{
    "operationId": "c587574e-add9-4ef7-9788-1635bed9a87e",
    "createdDateTime": "3/11/2020 8:45:13 PM +00:00",
    "status": "Running"
}"#;
