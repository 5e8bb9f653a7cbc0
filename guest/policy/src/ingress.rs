//! The Ingress model the strategy reads (metadata, class, status hostname) and the
//! ingress-class filter: which Ingresses this controller may touch.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::spec::{ObjectMeta, parse_object};

/// The legacy annotation that names an Ingress's class.
pub const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
/// The annotation as a field path, for errors and findings.
pub const INGRESS_CLASS_FIELD: &str = "metadata.annotations[kubernetes.io/ingress.class]";

/// The ingress classes served when none are configured.
pub const DEFAULT_INGRESS_CLASSES: &[&str] = &["alb"];

/// An Ingress, as far as the strategy reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    /// Name, namespace, annotations.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The rest of the spec is kept as JSON; only the class is read here.
    #[serde(default)]
    pub spec: Value,
    /// `status`, where the load balancer's hostname appears.
    #[serde(default)]
    pub status: Value,
}

impl Ingress {
    /// Parses an Ingress from JSON; a type error names the field.
    pub fn from_json(json: &str) -> Result<Self> {
        parse_object(json, "Ingress")
    }

    /// `Ingress namespace/name`, for messages.
    pub fn display_name(&self) -> String {
        match &self.metadata.namespace {
            Some(ns) if !ns.is_empty() => format!("Ingress {ns}/{}", self.metadata.name),
            _ => format!("Ingress {}", self.metadata.name),
        }
    }

    /// `spec.ingressClassName`, if set.
    pub fn class_name(&self) -> Option<&str> {
        self.spec.get("ingressClassName").and_then(Value::as_str)
    }

    /// The `kubernetes.io/ingress.class` annotation, if set.
    pub fn class_annotation(&self) -> Option<&str> {
        self.metadata
            .annotations
            .get(INGRESS_CLASS_ANNOTATION)
            .map(String::as_str)
    }

    /// The Ingress's class and the field it is read from, by Argo Rollouts' and the AWS Load
    /// Balancer Controller's rule: the `kubernetes.io/ingress.class` annotation, when set and
    /// not empty, decides alone; else `spec.ingressClassName`; with neither the class is `""`
    /// (reported against `spec.ingressClassName`).
    pub fn class(&self) -> (&str, &'static str) {
        match self.class_annotation().filter(|a| !a.is_empty()) {
            Some(a) => (a, INGRESS_CLASS_FIELD),
            None => (self.class_name().unwrap_or(""), "spec.ingressClassName"),
        }
    }

    /// Every `spec.rules[i].http.paths[j].backend.service`, with `i` and `j`.
    pub fn service_backends(&self) -> Vec<(usize, usize, &Value)> {
        let mut out = Vec::new();
        let rules = self.spec.get("rules").and_then(Value::as_array);
        for (i, rule) in rules.into_iter().flatten().enumerate() {
            let paths = rule.pointer("/http/paths").and_then(Value::as_array);
            for (j, path) in paths.into_iter().flatten().enumerate() {
                if let Some(backend) = path.pointer("/backend/service") {
                    out.push((i, j, backend));
                }
            }
        }
        out
    }

    /// The load balancer hostnames in `status.loadBalancer.ingress[].hostname`.
    pub fn hostnames(&self) -> Vec<&str> {
        self.status
            .pointer("/loadBalancer/ingress")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.get("hostname").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Whether an Ingress belongs to one of `classes`, its class read as [`Ingress::class`] reads
/// it: an Ingress annotated for another class is not taken whatever its `ingressClassName`, and
/// listing "" selects class-less Ingresses.
pub fn class_matches<S: AsRef<str>>(ingress: &Ingress, classes: &[S]) -> bool {
    let (class, _) = ingress.class();
    classes.iter().any(|k| k.as_ref() == class)
}
