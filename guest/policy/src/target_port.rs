//! The port a target group's pods are registered on, resolved as the AWS Load Balancer
//! Controller and Argo Rollouts resolve it: the TargetGroupBinding's `spec.serviceRef.port` (a
//! number is a Service `port`, a string a port `name`) picks one port of the Service; its
//! `targetPort` is the target port when it is a number (absent, the port itself, as the API
//! server defaults it); a named one is resolved by the Service's Endpoints, whose ports carry
//! the Service port's name with the number it targets (Argo Rollouts looks for an Endpoints
//! port named like the `targetPort`, which is taken when the first finds none). Target
//! IP verification counts a target only when its `Id:Port` is a ready endpoint IP at this
//! port: a pod registered on another port is not serving.

use serde_json::Value;

use crate::bindings::bindings;
use crate::error::{HostError, Result, StrategyError};
use crate::host::{Host, ObjectKind};
use crate::spec::Rollout;

/// A reference to one port of a Service: by number or by name (a Kubernetes IntOrString).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServicePortRef {
    /// The Service port with this `port`.
    Number(u32),
    /// The Service port with this `name`.
    Name(String),
}

impl ServicePortRef {
    /// Reads an IntOrString: a JSON number is a port number, a JSON string a port name.
    pub fn from_json(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(ServicePortRef::Number),
            Value::String(s) if !s.is_empty() => Some(ServicePortRef::Name(s.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Display for ServicePortRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServicePortRef::Number(n) => write!(f, "{n}"),
            ServicePortRef::Name(s) => write!(f, "{s:?}"),
        }
    }
}

/// Why a target port could not be resolved: the object and field to fix, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The object, as `Kind namespace/name`.
    pub object: String,
    /// The field, e.g. `spec.serviceRef.port`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl From<Unresolved> for StrategyError {
    fn from(u: Unresolved) -> Self {
        StrategyError::field(&u.object, u.field, u.message)
    }
}

/// The target port `port` of `service` resolves to, with the Service's Endpoints (if any) for
/// a named `targetPort`. `referrer` names the object and field that hold `port`, for the error.
pub fn resolve_target_port(
    service: &Value,
    endpoints: Option<&Value>,
    port: &ServicePortRef,
    referrer: (&str, &str),
) -> std::result::Result<u32, Unresolved> {
    let name = object_name("Service", service);
    let ports = service["spec"]["ports"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let Some((i, found)) = ports.iter().enumerate().find(|(_, p)| match port {
        ServicePortRef::Number(n) => p["port"].as_u64() == Some(u64::from(*n)),
        ServicePortRef::Name(s) => p["name"].as_str() == Some(s.as_str()),
    }) else {
        return Err(Unresolved {
            object: referrer.0.to_string(),
            field: referrer.1.to_string(),
            message: format!("{port} matches no port of {name}"),
        });
    };
    let target = if found["targetPort"].is_null() {
        &found["port"]
    } else {
        &found["targetPort"]
    };
    match ServicePortRef::from_json(target) {
        Some(ServicePortRef::Number(n)) if n > 0 => Ok(n),
        Some(ServicePortRef::Name(target_name)) => endpoints
            .and_then(|e| {
                endpoint_port(e, found["name"].as_str().unwrap_or_default())
                    .or_else(|| endpoint_port(e, &target_name))
            })
            .ok_or_else(|| Unresolved {
                object: name.clone(),
                field: format!("spec.ports[{i}].targetPort"),
                message: format!(
                    "names port {target_name:?}, which the Service's Endpoints do not list"
                ),
            }),
        _ => Err(Unresolved {
            object: name.clone(),
            field: format!("spec.ports[{i}].targetPort"),
            message: format!("{target} is not a port number or name"),
        }),
    }
}

/// The port named `name` in an Endpoints object's subsets (an unnamed port is named `""`).
fn endpoint_port(endpoints: &Value, name: &str) -> Option<u32> {
    endpoints["subsets"]
        .as_array()?
        .iter()
        .flat_map(|s| s["ports"].as_array().into_iter().flatten())
        .find(|p| p["name"].as_str().unwrap_or_default() == name)
        .and_then(|p| p["port"].as_u64())
        .and_then(|p| u32::try_from(p).ok())
}

/// `Kind namespace/name` of an object.
fn object_name(kind: &str, object: &Value) -> String {
    format!(
        "{kind} {}/{}",
        object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default"),
        object["metadata"]["name"].as_str().unwrap_or_default()
    )
}

/// How a target group's target port is found through the host: the TargetGroupBindings of
/// `api_version` in `namespace`, and the Service port to use for a target group no
/// TargetGroupBinding binds (the Rollout's `trafficRouting.alb.servicePort`, which the action
/// forwards to), if there is one.
#[derive(Debug, Clone)]
pub struct PortLookup<'a> {
    /// The TargetGroupBinding apiVersion.
    pub api_version: &'a str,
    /// The namespace of the Service and its TargetGroupBindings.
    pub namespace: &'a str,
    /// The Service whose pods the target group holds.
    pub service: &'a str,
    /// The Service port for a target group without a TargetGroupBinding, and the object and
    /// field it comes from.
    pub fallback: Option<(ServicePortRef, String, String)>,
}

/// The fallback Service port of a canary Rollout with ALB traffic routing: its
/// `trafficRouting.alb.servicePort`, the port its action forwards to (none for a Rollout
/// without one).
pub fn service_port_fallback(rollout: &Rollout) -> Option<(ServicePortRef, String, String)> {
    let alb = rollout.alb().ok()?;
    let port = u32::try_from(alb.service_port).ok().filter(|p| *p > 0)?;
    Some((
        ServicePortRef::Number(port),
        rollout.display_name(),
        "spec.strategy.canary.trafficRouting.alb.servicePort".into(),
    ))
}

/// The target port of target group `arn`: through the TargetGroupBinding that binds it (its
/// `serviceRef.port`), else through the lookup's fallback Service port. `Ok(Err(_))` says
/// which object and field leave it unresolved; `Err` is a host failure.
pub fn target_port<H: Host>(
    host: &mut H,
    lookup: &PortLookup<'_>,
    arn: &str,
) -> Result<std::result::Result<u32, Unresolved>> {
    let ns = lookup.namespace;
    let binding = match bindings(host, lookup.api_version, ns) {
        Ok(all) => all
            .into_iter()
            .find(|b| b["spec"]["targetGroupARN"].as_str() == Some(arn)),
        Err(StrategyError::Host(HostError::NotFound(_))) => None,
        Err(e) => return Err(e),
    };
    let (port, referrer) = match &binding {
        Some(b) => {
            let object = object_name("TargetGroupBinding", b);
            match ServicePortRef::from_json(&b["spec"]["serviceRef"]["port"]) {
                Some(p) => (p, (object, "spec.serviceRef.port".to_string())),
                None => {
                    return Ok(Err(Unresolved {
                        object,
                        field: "spec.serviceRef.port".into(),
                        message: "is not a port number or name".into(),
                    }));
                }
            }
        }
        None => match &lookup.fallback {
            Some((p, object, field)) => (p.clone(), (object.clone(), field.clone())),
            None => {
                return Ok(Err(Unresolved {
                    object: format!("target group {arn}"),
                    field: "spec.targetGroupARN".into(),
                    message: format!(
                        "no TargetGroupBinding in namespace {ns} names it, so the port its targets use is unknown"
                    ),
                }));
            }
        },
    };
    let service = get_object(host, "Service", ns, lookup.service)?;
    let Some(service) = service else {
        return Ok(Err(Unresolved {
            object: referrer.0,
            field: referrer.1,
            message: format!(
                "names Service {ns}/{}, which does not exist",
                lookup.service
            ),
        }));
    };
    let endpoints = get_object(host, "Endpoints", ns, lookup.service)?;
    Ok(resolve_target_port(
        &service,
        endpoints.as_ref(),
        &port,
        (&referrer.0, &referrer.1),
    ))
}

/// A `v1` object as JSON, or none when it does not exist.
fn get_object<H: Host>(host: &mut H, kind: &str, ns: &str, name: &str) -> Result<Option<Value>> {
    match host.get(&ObjectKind::new("v1", kind), ns, name) {
        Ok(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
            HostError::Invalid(format!("{kind} {ns}/{name} from the host is not JSON: {e}")).into()
        }),
        Err(HostError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
