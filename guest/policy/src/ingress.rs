//! The Ingress model the strategy reads (metadata, class, status hostname) and the
//! ingress-class filter: which Ingresses this controller may touch.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::spec::{ObjectMeta, parse_object};

/// The legacy annotation that names an Ingress's class.
pub const INGRESS_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

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

/// Whether an Ingress belongs to one of `classes`. The class is read from the
/// `kubernetes.io/ingress.class` annotation or `spec.ingressClassName` (either one matching is
/// enough); an Ingress with neither has the class "" — so listing "" selects class-less
/// Ingresses.
pub fn class_matches<S: AsRef<str>>(ingress: &Ingress, classes: &[S]) -> bool {
    let listed = |c: &str| classes.iter().any(|k| k.as_ref() == c);
    match (ingress.class_annotation(), ingress.class_name()) {
        (None, None) => listed(""),
        (a, n) => a.is_some_and(listed) || n.is_some_and(listed),
    }
}
