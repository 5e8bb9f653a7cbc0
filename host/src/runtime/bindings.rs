//! The host side of the WIT contract: wasmtime's generated bindings for the `strategy` world,
//! and the import traits implemented over any [`Backend`] (the offline host, the simulated
//! world, a real cluster and AWS). Records convert to and from the native policy types, which
//! have the same serde shape field for field.
//!
//! The `cluster` and `elbv2` imports are generated `async`: the module's call is suspended
//! while the host waits on Kubernetes or AWS, and the `reconcile` and `verify` exports, the
//! only ones that do I/O, are called with `call_async`. The pure exports stay synchronous.

use std::future::Future;

use albatross_policy::host as native;
use serde::{Serialize, de::DeserializeOwned};

use crate::backend::{Backend, Cluster};
use crate::runtime::call_clock::CallClock;
use crate::runtime::engine::MemoryCap;

wasmtime::component::bindgen!({
    world: "strategy",
    path: "../wit",
    additional_derives: [serde::Serialize, serde::Deserialize],
    imports: {
        "albatross:strategy/cluster": async,
        "albatross:strategy/elbv2": async,
    },
    exports: {
        "albatross:strategy/reconciler.reconcile": async,
        "albatross:strategy/reconciler.verify": async,
    },
});

pub use self::albatross::strategy::elbv2 as wit_elbv2;
pub use self::albatross::strategy::types as wit_types;
pub use exports::albatross::strategy::policy as wit_policy;
pub use exports::albatross::strategy::reconciler as wit_reconciler;

/// The WIT settings equal to the default strategy's defaults (verification on, class `alb`,
/// tag `ingress.k8s.aws/resource`).
pub fn default_settings() -> wit_reconciler::Settings {
    settings(&albatross_policy::reconcile::Settings::default())
}

/// The WIT form of reconcile settings.
pub fn settings(s: &albatross_policy::reconcile::Settings) -> wit_reconciler::Settings {
    wit_reconciler::Settings {
        verify: s.verify,
        ingress_classes: s.ingress_classes.clone(),
        resource_tag_key: s.resource_tag_key.clone(),
        cluster_tag_key: s.cluster_tag_key.clone(),
        cluster_name: s.cluster_name.clone(),
        target_group_binding_api_version: s.target_group_binding_api_version.clone(),
    }
}

/// What every store carries: the backend that answers the module's imports, the module's
/// name for logs, its memory cap, and the clock of its deadline.
pub struct HostState {
    /// Answers cluster, elbv2, clock and log calls.
    pub backend: Backend,
    /// The module's name, put on every log line it writes.
    pub module: String,
    /// The memory cap of this instance.
    pub memory: MemoryCap,
    /// The module's running time, which its deadline is charged for.
    pub clock: CallClock,
}

impl HostState {
    /// Whether the instance tried to grow its memory past the cap.
    pub fn memory_cap_hit(&self) -> bool {
        self.memory.hit()
    }

    /// Runs one synchronous import on the backend, charging its time to the host.
    fn timed<T>(&mut self, f: impl FnOnce(&mut dyn Cluster) -> T) -> T {
        self.clock.suspend();
        let out = f(self.backend.cluster.as_mut());
        self.clock.resume();
        out
    }
}

/// Awaits one asynchronous import, charging the time it takes to the host.
async fn charged<T>(clock: &mut CallClock, call: impl Future<Output = T>) -> T {
    clock.suspend();
    let out = call.await;
    clock.resume();
    out
}

/// Converts between two types with the same serde shape (a WIT record generated here and its
/// native twin in albatross-policy).
pub fn convert<A: Serialize, B: DeserializeOwned>(a: &A) -> Result<B, serde_json::Error> {
    serde_json::from_value(serde_json::to_value(a)?)
}

fn host_error(e: albatross_policy::HostError) -> wit_types::HostError {
    use albatross_policy::HostError as H;
    match e {
        H::NotFound(m) => wit_types::HostError::NotFound(m),
        H::Conflict(m) => wit_types::HostError::Conflict(m),
        H::Forbidden(m) => wit_types::HostError::Forbidden(m),
        H::Invalid(m) => wit_types::HostError::Invalid(m),
        H::Throttled(m) => wit_types::HostError::Throttled(m),
        H::Transient(m) => wit_types::HostError::Transient(m),
    }
}

fn native_kind(k: &wit_types::ObjectKind) -> native::ObjectKind {
    native::ObjectKind::new(&k.api_version, &k.kind)
}

/// Converts a backend's answer into the WIT shape; a shape mismatch is a host bug and is
/// reported to the module as `invalid` rather than trapping.
fn wit_list<A: Serialize, B: DeserializeOwned>(
    r: Result<Vec<A>, albatross_policy::HostError>,
) -> Result<Vec<B>, wit_types::HostError> {
    let items = r.map_err(host_error)?;
    items
        .iter()
        .map(|i| convert(i).map_err(|e| wit_types::HostError::Invalid(format!("host record: {e}"))))
        .collect()
}

impl wit_types::Host for HostState {}

impl self::albatross::strategy::cluster::Host for HostState {
    async fn get(
        &mut self,
        kind: wit_types::ObjectKind,
        namespace: String,
        name: String,
    ) -> Result<String, wit_types::HostError> {
        let kind = native_kind(&kind);
        let call = self.backend.cluster.get(&kind, &namespace, &name);
        charged(&mut self.clock, call).await.map_err(host_error)
    }

    async fn list(
        &mut self,
        kind: wit_types::ObjectKind,
        namespace: String,
        label_selector: String,
    ) -> Result<Vec<String>, wit_types::HostError> {
        let kind = native_kind(&kind);
        let call = self
            .backend
            .cluster
            .list(&kind, &namespace, &label_selector);
        charged(&mut self.clock, call).await.map_err(host_error)
    }

    async fn create(
        &mut self,
        kind: wit_types::ObjectKind,
        namespace: String,
        object_json: String,
    ) -> Result<String, wit_types::HostError> {
        let kind = native_kind(&kind);
        let call = self.backend.cluster.create(&kind, &namespace, &object_json);
        charged(&mut self.clock, call).await.map_err(host_error)
    }

    async fn patch(
        &mut self,
        kind: wit_types::ObjectKind,
        namespace: String,
        name: String,
        patch_type: wit_types::PatchType,
        patch_json: String,
        subresource: Option<String>,
    ) -> Result<String, wit_types::HostError> {
        let pt = match patch_type {
            wit_types::PatchType::Merge => native::PatchType::Merge,
            wit_types::PatchType::Json => native::PatchType::Json,
            wit_types::PatchType::StrategicMerge => native::PatchType::StrategicMerge,
        };
        let kind = native_kind(&kind);
        let call = self.backend.cluster.patch(
            &kind,
            &namespace,
            &name,
            pt,
            &patch_json,
            subresource.as_deref(),
        );
        charged(&mut self.clock, call).await.map_err(host_error)
    }

    async fn delete(
        &mut self,
        kind: wit_types::ObjectKind,
        namespace: String,
        name: String,
    ) -> Result<(), wit_types::HostError> {
        let kind = native_kind(&kind);
        let call = self.backend.cluster.delete(&kind, &namespace, &name);
        charged(&mut self.clock, call).await.map_err(host_error)
    }

    async fn record_event(&mut self, event: wit_types::Event) -> Result<(), wit_types::HostError> {
        let event: native::Event =
            convert(&event).map_err(|e| wit_types::HostError::Invalid(format!("event: {e}")))?;
        let call = self.backend.cluster.record_event(&event);
        charged(&mut self.clock, call).await.map_err(host_error)
    }
}

impl wit_elbv2::Host for HostState {
    async fn describe_load_balancers(
        &mut self,
        names: Vec<String>,
        arns: Vec<String>,
    ) -> Result<Vec<wit_elbv2::LoadBalancer>, wit_types::HostError> {
        let call = self.backend.elbv2.describe_load_balancers(&names, &arns);
        wit_list(charged(&mut self.clock, call).await)
    }

    async fn describe_listeners(
        &mut self,
        load_balancer_arn: String,
    ) -> Result<Vec<wit_elbv2::Listener>, wit_types::HostError> {
        let call = self.backend.elbv2.describe_listeners(&load_balancer_arn);
        wit_list(charged(&mut self.clock, call).await)
    }

    async fn describe_rules(
        &mut self,
        listener_arn: String,
    ) -> Result<Vec<wit_elbv2::Rule>, wit_types::HostError> {
        let call = self.backend.elbv2.describe_rules(&listener_arn);
        wit_list(charged(&mut self.clock, call).await)
    }

    async fn describe_target_groups(
        &mut self,
        load_balancer_arn: Option<String>,
        arns: Vec<String>,
    ) -> Result<Vec<wit_elbv2::TargetGroup>, wit_types::HostError> {
        let call = self
            .backend
            .elbv2
            .describe_target_groups(load_balancer_arn.as_deref(), &arns);
        wit_list(charged(&mut self.clock, call).await)
    }

    async fn describe_tags(
        &mut self,
        resource_arns: Vec<String>,
    ) -> Result<Vec<wit_elbv2::ResourceTags>, wit_types::HostError> {
        let call = self.backend.elbv2.describe_tags(&resource_arns);
        wit_list(charged(&mut self.clock, call).await)
    }

    async fn describe_target_health(
        &mut self,
        target_group_arn: String,
    ) -> Result<Vec<wit_elbv2::TargetHealth>, wit_types::HostError> {
        let call = self.backend.elbv2.describe_target_health(&target_group_arn);
        wit_list(charged(&mut self.clock, call).await)
    }
}

impl self::albatross::strategy::clock::Host for HostState {
    fn now(&mut self) -> u64 {
        self.timed(|b| b.now_millis())
    }
}

impl self::albatross::strategy::log::Host for HostState {
    fn write(
        &mut self,
        level: self::albatross::strategy::log::Level,
        message: String,
        fields: Vec<(String, String)>,
    ) {
        use self::albatross::strategy::log::Level as L;
        let level = match level {
            L::Trace => native::Level::Trace,
            L::Debug => native::Level::Debug,
            L::Info => native::Level::Info,
            L::Warn => native::Level::Warn,
            L::Error => native::Level::Error,
        };
        let module = self.module.clone();
        let fields: Vec<(&str, &str)> = std::iter::once(("module", module.as_str()))
            .chain(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .collect();
        self.timed(|b| b.log(level, &message, &fields));
    }
}
