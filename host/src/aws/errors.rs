//! SDK failures mapped onto the contract's typed host errors, after the SDK's own retries ran
//! out: throttling is `throttled`, network failures, timeouts and 5xx are `transient`, a
//! missing resource is `not-found`, a refused credential is `forbidden`, the rest `invalid`.
//! The message names the operation and carries AWS's code and message.

use albatross_policy::HostError;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// The error codes AWS uses for throttling.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
];

/// The error codes of a missing ELBv2 resource.
const NOT_FOUND: &[&str] = &[
    "LoadBalancerNotFound",
    "ListenerNotFound",
    "RuleNotFound",
    "TargetGroupNotFound",
];

/// The error codes of a refused credential or permission.
const FORBIDDEN: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
];

/// Maps a failed call of `operation` onto a host error.
pub fn host_error<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> HostError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = err.code().unwrap_or_default();
    let detail = match (err.code(), err.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => aws_sdk_elasticloadbalancingv2::error::DisplayErrorContext(err).to_string(),
    };
    let message = format!("ELBv2 {operation}: {detail}");
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            HostError::Transient(message)
        }
        SdkError::ConstructionFailure(_) => HostError::Invalid(message),
        _ if THROTTLING.contains(&code) => HostError::Throttled(message),
        _ if NOT_FOUND.contains(&code) => HostError::NotFound(message),
        _ if FORBIDDEN.contains(&code) => HostError::Forbidden(message),
        SdkError::ServiceError(se) if se.raw().status().is_server_error() => {
            HostError::Transient(message)
        }
        _ => HostError::Invalid(message),
    }
}
