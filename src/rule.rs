//! [`Rule`]: which shape of the pattern an operation was polled in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which shape of [the submission](crate::_protocol#what-starts-an-operation) started the polling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rule {
    /// `Operation-Location` header, status body polling (Azure Maps Creator V2).
    OperationLocation,
    /// `Azure-AsyncOperation` header, status body polling (ARM).
    AzureAsyncOperation,
    /// `202` with `Location`, location rules (Azure Maps Creator V1).
    Location,
    /// `PUT`/`PATCH` whose body has a non-terminal `provisioningState` (ARM).
    ProvisioningState,
    /// `202` with `Content-Location` only (RFC 9110 §15.3.3, HL7 FHIR): location rules.
    ContentLocation,
    /// A Google `Operation` (AIP-151), polled by its `name`.
    GoogleOperation,
    /// A Compute Engine `Operation`, polled at its `selfLink`.
    ComputeOperation,
    /// A declared dialect.
    Declared,
    /// A `202` with nothing to poll, to a `GET`, re-sent until it is ready (opt-in).
    AcceptedRetry,
}

impl Rule {
    /// The header (or body field) that selected the rule.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::OperationLocation => "Operation-Location",
            Rule::AzureAsyncOperation => "Azure-AsyncOperation",
            Rule::Location => "Location",
            Rule::ProvisioningState => "provisioningState",
            Rule::ContentLocation => "Content-Location",
            Rule::GoogleOperation => "Google Operation",
            Rule::ComputeOperation => "Compute Engine Operation",
            Rule::Declared => "declared dialect",
            Rule::AcceptedRetry => "202 retry",
        }
    }

    /// Whether polls of this rule read a status document ([status bodies](crate::_protocol#status-bodies)).
    pub(crate) fn reads_status_body(self) -> bool {
        matches!(self, Rule::OperationLocation | Rule::AzureAsyncOperation)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}
