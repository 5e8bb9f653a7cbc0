//! The typed errors every part of the default strategy returns, shaped like the WIT
//! `strategy-error` and `host-error` variants so a native call and a wasm call report alike.

use serde::{Deserialize, Serialize};

/// One problem with one field of an input object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The object, as `Kind namespace/name` when known.
    pub object: String,
    /// The path of the field, e.g. `spec.strategy.canary.steps[2].setWeight`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.object.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "{}: {}: {}", self.object, self.field, self.message)
        }
    }
}

/// Why a host call failed (the WIT `host-error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum HostError {
    /// The object or AWS resource does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The write lost a race with another writer.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The host refused the call.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The request was malformed.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// AWS throttled the call.
    #[error("throttled: {0}")]
    Throttled(String),
    /// A passing failure.
    #[error("transient failure: {0}")]
    Transient(String),
}

/// Why a strategy function failed (the WIT `strategy-error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum StrategyError {
    /// An input object is not a valid spec.
    #[error("invalid spec: {0}")]
    InvalidSpec(FieldError),
    /// An input could not be read at all.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// A host call failed.
    #[error("host call failed: {0}")]
    Host(HostError),
}

impl From<HostError> for StrategyError {
    fn from(e: HostError) -> Self {
        StrategyError::Host(e)
    }
}

impl StrategyError {
    /// An `invalid-spec` error for `field` of `object`.
    pub fn field(object: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        StrategyError::InvalidSpec(FieldError {
            object: object.to_string(),
            field: field.into(),
            message: message.into(),
        })
    }
}

/// Shorthand for results of the default strategy.
pub type Result<T, E = StrategyError> = std::result::Result<T, E>;
