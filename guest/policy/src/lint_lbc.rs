//! The lint checks a user of the v2/v3 AWS Load Balancer Controller needs on an Ingress the
//! Rollout routes through: a path that names the canary or stable Service with its port spelled
//! otherwise than the action's `ServicePort` (the controller keys a target group by the port
//! as written, so the group would be replaced, without draining), and an action of any Rollout
//! or of none that forwards to several target groups and names a Service that does not exist
//! (the controller then fails the whole IngressGroup, so one bad Ingress blocks all of them).
//! Also an empty `kubernetes.io/ingress.class` annotation: Albatross (as Argo Rollouts) then
//! reads `ingressClassName`, but the controller lets the annotation decide whenever it is
//! present, so it never builds the Ingress. Each finding is (field on the Ingress, message), a
//! warning.

use serde_json::Value;

use crate::action::parse_action;
use crate::ingress::{INGRESS_CLASS_FIELD, Ingress};

/// An empty class annotation, which the controller reads as a class of its own.
pub(crate) fn empty_class_annotation(ingress: &Ingress) -> Option<(String, String)> {
    (ingress.class_annotation() == Some("")).then(|| {
        (
            INGRESS_CLASS_FIELD.to_string(),
            "is empty: Albatross, like Argo Rollouts, then goes by spec.ingressClassName, but \
             the AWS Load Balancer Controller lets the annotation decide whenever it is present \
             and builds no Ingress of class \"\"; remove the annotation"
                .to_string(),
        )
    })
}

/// Paths whose backend names one of `services` with a port other than `service_port`, spelled
/// as the action spells it (the number).
pub(crate) fn port_spelling(
    ingress: &Ingress,
    services: &[&str],
    service_port: i64,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, j, backend) in ingress.service_backends() {
        let Some(name) = backend
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| services.contains(n))
        else {
            continue;
        };
        let port = &backend["port"];
        let spelled = match (port["name"].as_str(), port["number"].as_i64()) {
            (Some("use-annotation"), _) => continue,
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => continue,
        };
        if spelled == service_port.to_string() {
            continue;
        }
        out.push((
            format!("spec.rules[{i}].http.paths[{j}].backend.service.port"),
            format!(
                "names Service {name:?} with port {spelled:?} while the action names it with \
                 ServicePort \"{service_port}\": the AWS Load Balancer Controller keys a \
                 target group by the port as written, so these are two target groups, and \
                 moving traffic between the spellings replaces one with the other without \
                 draining; spell the port as the number {service_port}"
            ),
        ));
    }
    out
}

/// Action annotations (under `prefix`) that a `use-annotation` backend of the Ingress reads
/// (the controller parses no other), that forward to two or more target groups and name a
/// Service for which `exists` is false.
pub(crate) fn missing_forward_services(
    ingress: &Ingress,
    prefix: &str,
    exists: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let read: Vec<String> = ingress
        .service_backends()
        .into_iter()
        .filter(|(_, _, b)| b["port"]["name"].as_str() == Some("use-annotation"))
        .filter_map(|(_, _, b)| b["name"].as_str().map(|n| format!("{prefix}/actions.{n}")))
        .collect();
    let mut out = Vec::new();
    for (key, value) in &ingress.metadata.annotations {
        if !read.contains(key) {
            continue;
        }
        let Ok(action) = parse_action(value) else {
            continue;
        };
        if action.target_groups.len() < 2 {
            continue;
        }
        for service in action
            .target_groups
            .iter()
            .filter_map(|g| g.service_name.as_deref())
            .filter(|s| !exists(s))
        {
            out.push((
                format!("metadata.annotations[{key}]"),
                format!(
                    "forwards to Service {service:?}, which is not among the manifests: the AWS \
                     Load Balancer Controller fails to build the whole IngressGroup while one \
                     of its actions names a missing Service, so every Ingress of the group \
                     stops being reconciled; create the Service or remove it from the action"
                ),
            ));
        }
    }
    out
}
