//! TargetGroupBinding objects, as the AWS Load Balancer Controller creates them for Ingress
//! backends and as users create them by hand: listing them, and the target groups they bind
//! to a Service.

use serde_json::Value;

use crate::error::{HostError, Result};
use crate::host::{Host, ObjectKind};

/// The apiVersion of the AWS Load Balancer Controller's TargetGroupBinding (EKS Auto Mode
/// serves its own, `eks.amazonaws.com/v1`).
pub const DEFAULT_TARGET_GROUP_BINDING_API: &str = "elbv2.k8s.aws/v1beta1";

/// The TargetGroupBinding kind at `api_version`.
pub fn target_group_binding_kind(api_version: &str) -> ObjectKind {
    ObjectKind::new(api_version, "TargetGroupBinding")
}

/// The TargetGroupBindings of `api_version` in a namespace, as JSON.
pub fn bindings<H: Host>(host: &mut H, api_version: &str, ns: &str) -> Result<Vec<Value>> {
    host.list(&target_group_binding_kind(api_version), ns, "")?
        .iter()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| {
                HostError::Invalid(format!("TargetGroupBinding from the host is not JSON: {e}"))
                    .into()
            })
        })
        .collect()
}

/// The target group ARNs bound to a Service in a namespace, by the TargetGroupBindings of
/// `api_version`.
pub fn bound_target_groups<H: Host>(
    host: &mut H,
    api_version: &str,
    ns: &str,
    service: &str,
) -> Result<Vec<String>> {
    Ok(bindings(host, api_version, ns)?
        .iter()
        .filter(|tgb| tgb["spec"]["serviceRef"]["name"].as_str() == Some(service))
        .filter_map(|tgb| tgb["spec"]["targetGroupARN"].as_str().map(str::to_string))
        .collect())
}
