//! The offline preflight linter: checks a set of Rollout, Ingress and Service manifests against
//! each other before they reach a cluster, the way the controller would find them at its first
//! reconcile. It owns the cross-object rules only (the Ingress and Services a Rollout names
//! exist, the Ingress has the right class and a `use-annotation` path to the action service,
//! the Services expose the servicePort, no other Rollout already manages the action); a single
//! Rollout's own rules stay in [`crate::validate`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::{action_key, action_service, parse_action};
use crate::error::{Result, StrategyError};
use crate::ingress::{Ingress, class_matches};
use crate::lint_lbc;
use crate::managed::read_managed;
use crate::pingpong::service_roles;
use crate::rollout_fields::check_fields;
use crate::spec::{
    AlbTrafficRouting, BlueGreenStrategy, CanaryStrategy, DEFAULT_ANNOTATION_PREFIX, Rollout,
    namespace_of,
};
use crate::validate::validate;

/// The port name that makes the AWS Load Balancer Controller read the action annotation.
const USE_ANNOTATION: &str = "use-annotation";

const CANARY: &str = "spec.strategy.canary";
const ALB: &str = "spec.strategy.canary.trafficRouting.alb";
const BLUE_GREEN: &str = "spec.strategy.blueGreen";

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// The manifests work, but probably not as intended.
    Warning,
    /// The controller would refuse the Rollout or fail to shift its traffic.
    Error,
}

/// One finding: names the object and the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The object the field belongs to, as `Kind namespace/name` (e.g. `Ingress shop/web`).
    pub object: String,
    /// The JSON path of the field, e.g. `spec.rules[0].http.paths[0].backend.service.port`;
    /// empty when the whole object is unreadable.
    pub field: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// Lints a set of Kubernetes objects (each a `serde_json::Value` with apiVersion, kind, metadata
/// and spec) for the Rollouts among them: every Rollout is validated, then checked against the
/// Ingresses and Services in the set. An Ingress counts as this controller's when its class is
/// one of `ingress_classes`, as [`class_matches`] reads it (pass
/// [`crate::ingress::DEFAULT_INGRESS_CLASSES`] for the controller's default). Objects without a
/// namespace are in `default`. Findings come errors first, then by object and field.
pub fn lint(objects: &[serde_json::Value], ingress_classes: &[String]) -> Vec<Finding> {
    let set = ObjectSet::new(objects);
    let mut findings = Vec::new();
    for value in objects.iter().filter(|v| kind_of(v) == "Rollout") {
        set.lint_rollout(value, ingress_classes, &mut findings);
    }
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.object.cmp(&b.object))
            .then_with(|| a.field.cmp(&b.field))
            .then_with(|| a.message.cmp(&b.message))
    });
    findings.dedup();
    findings
}

/// Namespace and name of an object.
type Key = (String, String);

fn object_key(namespace: &str, name: &str) -> Key {
    (namespace.to_string(), name.to_string())
}

/// The Ingresses (parsed, or why not) and Services of the input, by namespace and name.
struct ObjectSet<'a> {
    ingresses: BTreeMap<Key, (String, Result<Ingress>)>,
    services: BTreeMap<Key, (String, &'a Value)>,
}

impl<'a> ObjectSet<'a> {
    /// Indexes the Ingresses and Services of `objects`; the first of a name wins.
    fn new(objects: &'a [Value]) -> Self {
        let mut ingresses = BTreeMap::new();
        let mut services = BTreeMap::new();
        for value in objects {
            let at = object_key(namespace_of(value), name_of(value));
            match kind_of(value) {
                "Ingress" => {
                    ingresses.entry(at).or_insert_with(|| {
                        (
                            display_name("Ingress", value),
                            Ingress::from_json(&value.to_string()),
                        )
                    });
                }
                "Service" => {
                    services
                        .entry(at)
                        .or_insert_with(|| (display_name("Service", value), value));
                }
                _ => {}
            }
        }
        ObjectSet {
            ingresses,
            services,
        }
    }

    /// Rule 1, then the strategy's own checks, for one Rollout object.
    fn lint_rollout(&self, value: &Value, classes: &[String], out: &mut Vec<Finding>) {
        let rollout = match Rollout::from_json(&value.to_string()) {
            Ok(r) => r,
            Err(e) => {
                out.push(error_finding(&display_name("Rollout", value), e));
                return;
            }
        };
        let object = rollout.display_name();
        for note in check_fields(value) {
            out.push(finding(
                Severity::Warning,
                &object,
                note.path(),
                note.message(),
            ));
        }
        if let Err(e) = validate(&rollout) {
            out.push(error_finding(&object, e));
            return;
        }
        let check = Check {
            rollout: &rollout,
            object: &object,
            namespace: namespace_of(value),
            set: self,
        };
        if let Some(canary) = &rollout.spec.strategy.canary {
            if let Err(e) = check.canary(canary, classes, out) {
                out.push(error_finding(&object, e));
            }
        } else if let Some(bg) = &rollout.spec.strategy.blue_green {
            check.blue_green(bg, out);
        }
    }
}

/// The checks of one valid Rollout against the object set.
struct Check<'r, 's> {
    rollout: &'r Rollout,
    object: &'r str,
    namespace: &'r str,
    set: &'s ObjectSet<'s>,
}

impl Check<'_, '_> {
    /// An Error finding at `field` of the Rollout.
    fn error(&self, field: impl Into<String>, message: impl Into<String>) -> Finding {
        finding(Severity::Error, self.object, field, message)
    }

    /// Rules 2 to 8 and 10 for a canary Rollout; an error is one the strategy's own helpers
    /// return for the Rollout.
    fn canary(
        &self,
        canary: &CanaryStrategy,
        classes: &[String],
        out: &mut Vec<Finding>,
    ) -> Result<()> {
        if canary.steps.is_empty() {
            out.push(finding(
                Severity::Warning,
                self.object,
                format!("{CANARY}.steps"),
                "no steps: the update goes straight to 100%; add setWeight and pause steps to \
                 shift traffic gradually",
            ));
        }
        let alb = self.rollout.alb()?;
        if let Some(prefix) = alb
            .annotation_prefix
            .as_deref()
            .filter(|p| *p != DEFAULT_ANNOTATION_PREFIX)
        {
            out.push(finding(
                Severity::Warning,
                self.object,
                format!("{ALB}.annotationPrefix"),
                format!(
                    "the AWS Load Balancer Controller v2 and later reads only \
                     {DEFAULT_ANNOTATION_PREFIX}/ annotations (it has no prefix flag), so an \
                     action under {prefix}/ is never read; remove annotationPrefix unless the \
                     controller is the v1 alb-ingress-controller started with that prefix"
                ),
            ));
        }
        self.canary_services(canary, alb, out);
        let service = action_service(self.rollout)?;
        let key = action_key(self.rollout)?;
        for (i, name) in alb.ingress_names().into_iter().enumerate() {
            let field = match alb.ingress {
                Some(_) => format!("{ALB}.ingress"),
                None => format!("{ALB}.ingresses[{i}]"),
            };
            match self.set.ingresses.get(&object_key(self.namespace, name)) {
                None => out.push(self.error(
                    field,
                    format!(
                        "Ingress {}/{name} is not among the manifests; add it or name an \
                         existing Ingress",
                        self.namespace
                    ),
                )),
                Some((display, Err(e))) => out.push(error_finding(display, e.clone())),
                Some((_, Ok(ingress))) => {
                    self.ingress(ingress, classes, &service, &key, out);
                }
            }
        }
        Ok(())
    }

    /// Rules 5 and 6 for a canary: the services exist, expose servicePort, and the ping-pong
    /// pair is distinct from canaryService/stableService.
    fn canary_services(
        &self,
        canary: &CanaryStrategy,
        alb: &AlbTrafficRouting,
        out: &mut Vec<Finding>,
    ) {
        let mut named: Vec<(String, &str)> = Vec::new();
        if let Some(pp) = &canary.ping_pong {
            for (field, service) in [
                ("pingService", pp.ping_service.as_str()),
                ("pongService", pp.pong_service.as_str()),
            ] {
                let field = format!("{CANARY}.pingPong.{field}");
                for (role, other) in [
                    ("canaryService", canary.canary_service.as_deref()),
                    ("stableService", canary.stable_service.as_deref()),
                ] {
                    if other == Some(service) {
                        out.push(self.error(
                            field.clone(),
                            format!(
                                "{service:?} is also the {role}; ping-pong swaps the roles of \
                                 its own two services, so name a service that is neither \
                                 canaryService nor stableService"
                            ),
                        ));
                    }
                }
                named.push((field, service));
            }
        } else {
            for (field, service) in [
                ("canaryService", canary.canary_service.as_deref()),
                ("stableService", canary.stable_service.as_deref()),
            ] {
                if let Some(service) = service {
                    named.push((format!("{CANARY}.{field}"), service));
                }
            }
        }
        if let Some(root) = alb.root_service.as_deref().filter(|r| !r.is_empty()) {
            named.push((format!("{ALB}.rootService"), root));
        }
        for (field, service) in named {
            if let Some((display, value)) = self.service(field, service, out) {
                service_port(display, value, alb.service_port, out);
            }
        }
    }

    /// Rule 9: the blue-green services exist.
    fn blue_green(&self, bg: &BlueGreenStrategy, out: &mut Vec<Finding>) {
        self.service(
            format!("{BLUE_GREEN}.activeService"),
            &bg.active_service,
            out,
        );
        if let Some(preview) = bg.preview_service.as_deref().filter(|p| !p.is_empty()) {
            self.service(format!("{BLUE_GREEN}.previewService"), preview, out);
        }
    }

    /// The Service `name` in the Rollout's namespace (its display name and manifest), or an
    /// Error at `field` of the Rollout.
    fn service(&self, field: String, name: &str, out: &mut Vec<Finding>) -> Option<(&str, &Value)> {
        let found = self.set.services.get(&object_key(self.namespace, name));
        if found.is_none() {
            out.push(self.error(
                field,
                format!(
                    "Service {}/{name} is not among the manifests; add it or name an existing \
                     Service",
                    self.namespace
                ),
            ));
        }
        found.map(|(display, value)| (display.as_str(), *value))
    }

    /// Rules 3, 4, 7 and 8 for one Ingress the Rollout routes through.
    fn ingress(
        &self,
        ingress: &Ingress,
        classes: &[String],
        service: &str,
        key: &str,
        out: &mut Vec<Finding>,
    ) {
        let display = ingress.display_name();
        let on_ingress =
            |severity, field: String, message: String| finding(severity, &display, field, message);
        if !class_matches(ingress, classes) {
            let (class, field) = ingress.class();
            out.push(on_ingress(
                Severity::Error,
                field.to_string(),
                format!(
                    "class {class:?} is not one this controller serves ({}); set the class to \
                     one of them or configure the controller for {class:?}",
                    classes.join(", ")
                ),
            ));
        }
        out.extend(
            backend_findings(ingress, service)
                .into_iter()
                .map(|(field, message)| on_ingress(Severity::Error, field, message)),
        );
        match read_managed(ingress) {
            Err(e) => out.push(error_finding(&display, e)),
            Ok(entries) => {
                let me = self.rollout.metadata.name.as_str();
                for entry in entries
                    .iter()
                    .filter(|e| e.rollout != me && e.keys.iter().any(|k| k == key))
                {
                    out.push(on_ingress(
                        Severity::Error,
                        format!("metadata.annotations[{key}]"),
                        format!(
                            "already managed by Rollout {:?}; two Rollouts cannot share one \
                             action: give this Rollout another rootService or remove the \
                             other Rollout's entry",
                            entry.rollout
                        ),
                    ));
                }
            }
        }
        if let (Ok(alb), Ok(roles)) = (self.rollout.alb(), service_roles(self.rollout)) {
            let services = [roles.canary_service.as_str(), roles.stable_service.as_str()];
            let exists = |s: &str| {
                self.set
                    .services
                    .contains_key(&object_key(self.namespace, s))
            };
            out.extend(
                lint_lbc::port_spelling(ingress, &services, alb.service_port)
                    .into_iter()
                    .chain(lint_lbc::empty_class_annotation(ingress))
                    .chain(lint_lbc::missing_forward_services(
                        ingress,
                        alb.prefix(),
                        exists,
                    ))
                    .map(|(field, message)| on_ingress(Severity::Warning, field, message)),
            );
        }
        if let Some(current) = ingress.metadata.annotations.get(key)
            && let Err(e) = parse_action(current)
        {
            out.push(on_ingress(
                Severity::Warning,
                format!("metadata.annotations[{key}]"),
                format!(
                    "the current value is not a readable forward action ({e}); it will be \
                     overwritten at the first reconcile"
                ),
            ));
        }
    }
}

/// Rule 5's port half: the Service exposes `port` in `spec.ports[].port`.
fn service_port(display: &str, value: &Value, port: i64, out: &mut Vec<Finding>) {
    let exposes = value
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .is_some_and(|ports| {
            ports
                .iter()
                .any(|p| p.get("port").and_then(Value::as_i64) == Some(port))
        });
    if !exposes {
        out.push(finding(
            Severity::Error,
            display,
            "spec.ports",
            format!(
                "exposes no port {port}, the Rollout's trafficRouting.alb.servicePort; add a \
                 port {port} or change servicePort"
            ),
        ));
    }
}

/// Rule 4: at least one `spec.rules[i].http.paths[j]` sends the action service to
/// `use-annotation`; a path that names the action service with another port is an error of its
/// own. Returns (field, message) pairs on the Ingress.
fn backend_findings(ingress: &Ingress, service: &str) -> Vec<(String, String)> {
    let mut findings = Vec::new();
    let mut names_service = false;
    for (i, j, backend) in ingress.service_backends() {
        if backend.get("name").and_then(Value::as_str) != Some(service) {
            continue;
        }
        names_service = true;
        let port = backend.get("port");
        if port.and_then(|p| p.get("name")).and_then(Value::as_str) != Some(USE_ANNOTATION) {
            let shown = port.map_or_else(|| "no port".to_string(), Value::to_string);
            findings.push((
                format!("spec.rules[{i}].http.paths[{j}].backend.service.port"),
                format!(
                    "sends the action service {service:?} to {shown}, so the ALB ignores \
                     the action annotation; set port.name: {USE_ANNOTATION}"
                ),
            ));
        }
    }
    if !names_service {
        findings.push((
            "spec.rules".to_string(),
            format!(
                "no path sends traffic to the action service {service:?}; add a path whose \
                 backend is service {service:?} with port.name: {USE_ANNOTATION}"
            ),
        ));
    }
    findings
}

/// A finding of `severity` at `field` of `object`.
fn finding(
    severity: Severity,
    object: &str,
    field: impl Into<String>,
    message: impl Into<String>,
) -> Finding {
    Finding {
        severity,
        object: object.to_string(),
        field: field.into(),
        message: message.into(),
    }
}

/// An Error finding on `object` from a strategy error: an invalid-spec error keeps its field and
/// message; any other error has no field.
fn error_finding(object: &str, err: StrategyError) -> Finding {
    match err {
        StrategyError::InvalidSpec(f) => finding(Severity::Error, object, f.field, f.message),
        other => finding(Severity::Error, object, "", other.to_string()),
    }
}

/// The object's `kind`, "" when it has none.
fn kind_of(value: &Value) -> &str {
    value.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// The object's `metadata.name`, "" when it has none.
fn name_of(value: &Value) -> &str {
    value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// `Kind namespace/name`, or `Kind name` without a namespace, as the parsed models write it.
fn display_name(kind: &str, value: &Value) -> String {
    match value.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => format!("{kind} {ns}/{}", name_of(value)),
        _ => format!("{kind} {}", name_of(value)),
    }
}
