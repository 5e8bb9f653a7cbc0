//! The API errors of the emulated API server, each answered as a Kubernetes `Status` body with
//! the exact `reason` and `code` kube-rs matches on.

use serde_json::{Value, json};

use super::patch::PatchError;

/// An API error, answered as a `Status` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 404.
    NotFound(String),
    /// 409 on create.
    AlreadyExists(String),
    /// 409 on a stale resourceVersion or an apply conflict.
    Conflict(String),
    /// 422.
    Invalid(String),
    /// 400.
    BadRequest(String),
    /// 405.
    MethodNotAllowed(String),
    /// 415.
    Unsupported(String),
    /// 410 (in a watch stream).
    Expired(String),
    /// An injected failure with this HTTP status.
    Injected(u16),
}

impl ApiError {
    /// The HTTP status.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound(_) => 404,
            ApiError::AlreadyExists(_) | ApiError::Conflict(_) => 409,
            ApiError::Invalid(_) => 422,
            ApiError::BadRequest(_) => 400,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::Unsupported(_) => 415,
            ApiError::Expired(_) => 410,
            ApiError::Injected(code) => *code,
        }
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        let (reason, message) = match self {
            ApiError::NotFound(m) => ("NotFound", m.clone()),
            ApiError::AlreadyExists(m) => ("AlreadyExists", m.clone()),
            ApiError::Conflict(m) => ("Conflict", m.clone()),
            ApiError::Invalid(m) => ("Invalid", m.clone()),
            ApiError::BadRequest(m) => ("BadRequest", m.clone()),
            ApiError::MethodNotAllowed(m) => ("MethodNotAllowed", m.clone()),
            ApiError::Unsupported(m) => ("UnsupportedMediaType", m.clone()),
            ApiError::Expired(m) => ("Expired", m.clone()),
            ApiError::Injected(code) => (
                match code {
                    409 => "Conflict",
                    429 => "TooManyRequests",
                    503 => "ServiceUnavailable",
                    _ => "InternalError",
                },
                format!("injected failure {code}"),
            ),
        };
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": self.code()})
    }
}

impl From<PatchError> for ApiError {
    fn from(e: PatchError) -> Self {
        match e {
            PatchError::Invalid(m) => ApiError::Invalid(m),
            PatchError::Unsupported(m) => ApiError::Unsupported(m),
        }
    }
}
