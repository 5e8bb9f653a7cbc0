//! The imports a strategy calls, as a Rust trait. The wasm component implements it over the
//! WIT imports; native tests and the simulated world implement it in memory. Reconcile code is
//! written once against this trait.

use serde::{Deserialize, Serialize};

use crate::elb::{Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth};
use crate::error::HostError;

/// The API version and kind of an object (the WIT `object-kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectKind {
    /// `group/version`, or `v1`.
    pub api_version: String,
    /// The kind.
    pub kind: String,
}

impl ObjectKind {
    /// A kind from its API version and name.
    pub fn new(api_version: &str, kind: &str) -> Self {
        ObjectKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// `networking.k8s.io/v1` Ingress.
    pub fn ingress() -> Self {
        Self::new("networking.k8s.io/v1", "Ingress")
    }

    /// `argoproj.io/v1alpha1` Rollout.
    pub fn rollout() -> Self {
        Self::new("argoproj.io/v1alpha1", "Rollout")
    }
}

/// The Kubernetes patch content types (the WIT `patch-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PatchType {
    /// JSON merge patch.
    Merge,
    /// JSON patch.
    Json,
    /// Strategic merge patch.
    StrategicMerge,
}

/// Normal or Warning (the WIT `event-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// Progress.
    Normal,
    /// A problem.
    Warning,
}

/// An Event on the Rollout (the WIT `event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Normal or Warning.
    pub event_type: EventType,
    /// CamelCase reason.
    pub reason: String,
    /// The sentence.
    pub message: String,
}

/// Log levels (the WIT `log.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// Tracing.
    Trace,
    /// Debugging.
    Debug,
    /// Progress.
    Info,
    /// Handled surprises.
    Warn,
    /// Failures.
    Error,
}

/// Everything a strategy may ask of its host.
pub trait Host {
    /// Reads one object as JSON.
    fn get(&mut self, kind: &ObjectKind, namespace: &str, name: &str) -> Result<String, HostError>;
    /// Lists objects matching a label selector.
    fn list(
        &mut self,
        kind: &ObjectKind,
        namespace: &str,
        label_selector: &str,
    ) -> Result<Vec<String>, HostError>;
    /// Creates an object.
    fn create(
        &mut self,
        kind: &ObjectKind,
        namespace: &str,
        object_json: &str,
    ) -> Result<String, HostError>;
    /// Patches an object or one of its subresources.
    fn patch(
        &mut self,
        kind: &ObjectKind,
        namespace: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError>;
    /// Deletes an object.
    fn delete(&mut self, kind: &ObjectKind, namespace: &str, name: &str) -> Result<(), HostError>;
    /// Records an Event on the Rollout being reconciled.
    fn record_event(&mut self, event: &Event) -> Result<(), HostError>;
    /// DescribeLoadBalancers by names and/or ARNs (all when both are empty).
    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError>;
    /// DescribeListeners of a load balancer.
    fn describe_listeners(&mut self, load_balancer_arn: &str) -> Result<Vec<Listener>, HostError>;
    /// DescribeRules of a listener.
    fn describe_rules(&mut self, listener_arn: &str) -> Result<Vec<Rule>, HostError>;
    /// DescribeTargetGroups of a load balancer and/or by ARN.
    fn describe_target_groups(
        &mut self,
        load_balancer_arn: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError>;
    /// DescribeTags of resources.
    fn describe_tags(&mut self, resource_arns: &[String]) -> Result<Vec<ResourceTags>, HostError>;
    /// DescribeTargetHealth of a target group.
    fn describe_target_health(
        &mut self,
        target_group_arn: &str,
    ) -> Result<Vec<TargetHealth>, HostError>;
    /// Milliseconds since the Unix epoch.
    fn now_millis(&mut self) -> u64;
    /// Writes a log line.
    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]);
}
