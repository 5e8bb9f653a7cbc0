//! The ELBv2 cache as the synchronous `elbv2` half of a strategy host. A strategy call runs on
//! a thread of its own (`spawn_blocking`, or a plain thread), and each describe call waits
//! there on the tokio runtime that owns the SDK client, so no runtime worker is blocked.
//! [`AwsHost`] joins it to any backend that answers the cluster, clock and log imports.

use std::sync::Arc;

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use tokio::runtime::Handle;

use super::cache::Elbv2Cache;

/// The cached describe calls, callable from a thread outside the runtime.
#[derive(Clone)]
pub struct BlockingElbv2 {
    cache: Arc<Elbv2Cache>,
    runtime: Handle,
}

impl BlockingElbv2 {
    /// The calls of `cache`, run on `runtime`.
    pub fn new(cache: Arc<Elbv2Cache>, runtime: Handle) -> Self {
        BlockingElbv2 { cache, runtime }
    }

    /// The shared cache.
    pub fn cache(&self) -> &Arc<Elbv2Cache> {
        &self.cache
    }
}

/// A strategy host whose cluster, clock and log come from `cluster` and whose ELBv2 calls go
/// to AWS.
pub struct AwsHost<C> {
    /// Answers the cluster, clock and log imports.
    pub cluster: C,
    /// Answers the elbv2 imports.
    pub elbv2: BlockingElbv2,
}

impl<C: Host> Host for AwsHost<C> {
    fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.cluster.get(kind, ns, name)
    }

    fn list(&mut self, kind: &ObjectKind, ns: &str, sel: &str) -> Result<Vec<String>, HostError> {
        self.cluster.list(kind, ns, sel)
    }

    fn create(&mut self, kind: &ObjectKind, ns: &str, json: &str) -> Result<String, HostError> {
        self.cluster.create(kind, ns, json)
    }

    fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError> {
        self.cluster
            .patch(kind, ns, name, patch_type, patch_json, subresource)
    }

    fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.cluster.delete(kind, ns, name)
    }

    fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        self.cluster.record_event(event)
    }

    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        let e = &self.elbv2;
        e.runtime
            .block_on(e.cache.describe_load_balancers(names, arns))
    }

    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        let e = &self.elbv2;
        e.runtime.block_on(e.cache.describe_listeners(lb))
    }

    fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        let e = &self.elbv2;
        e.runtime.block_on(e.cache.describe_rules(listener))
    }

    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        let e = &self.elbv2;
        e.runtime.block_on(e.cache.describe_target_groups(lb, arns))
    }

    fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        let e = &self.elbv2;
        e.runtime.block_on(e.cache.describe_tags(arns))
    }

    fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        let e = &self.elbv2;
        e.runtime.block_on(e.cache.describe_target_health(tg))
    }

    fn now_millis(&mut self) -> u64 {
        self.cluster.now_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.cluster.log(level, message, fields);
    }
}
