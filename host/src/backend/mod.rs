//! What answers a strategy module's imports, seen from the host: two async traits, the
//! counterparts of the policy crate's [`Host`] split along the contract's interfaces.
//! [`Cluster`] answers `cluster` (and the clock and the log); [`Elbv2`] answers `elbv2`. A
//! [`Backend`] holds one of each, so each half can be answered, wrapped and checked on its
//! own: the capability checks wrap the cluster half, the AWS SDK answers the ELBv2 half.
//!
//! The I/O calls are `async`, so a slow Kubernetes or AWS request suspends the module's call
//! (wasmtime runs it on a fiber) and frees the tokio worker thread instead of blocking it; the
//! clock and the log answer at once.
//!
//! Who answers, one file each: [`inline`] (any in-memory [`Host`]: the simulated world, the
//! offline host, manifest files), [`offline`] (no cluster, no AWS), [`manifests`] (a read-only
//! cluster of manifest files), [`kube`] (a real cluster, with [`read_cache`], the reads the
//! controller's reflector stores answer). [`block_on`] drives one call to its end from synchronous code:
//! the simulator's loop, the command line, the tests.

use std::future::Future;

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use async_trait::async_trait;

pub mod inline;
pub mod kube;
pub mod manifests;
pub mod offline;
pub mod read_cache;

pub use inline::Inline;

/// The `cluster`, `clock` and `log` imports, with the cluster calls asynchronous. Each method
/// means what the same method of [`Host`] means.
#[async_trait]
pub trait Cluster: Send {
    /// Reads one object as JSON.
    async fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError>;
    /// Lists objects matching a label selector.
    async fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        label_selector: &str,
    ) -> Result<Vec<String>, HostError>;
    /// Creates an object.
    async fn create(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        object_json: &str,
    ) -> Result<String, HostError>;
    /// Patches an object or one of its subresources.
    async fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError>;
    /// Deletes an object.
    async fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError>;
    /// Records an Event on the Rollout being reconciled.
    async fn record_event(&mut self, event: &Event) -> Result<(), HostError>;
    /// Milliseconds since the Unix epoch.
    fn now_millis(&mut self) -> u64;
    /// Writes a log line.
    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]);
}

/// The `elbv2` import, asynchronous. Each method means what the same method of [`Host`]
/// means.
#[async_trait]
pub trait Elbv2: Send {
    /// DescribeLoadBalancers by names and/or ARNs (all when both are empty).
    async fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError>;
    /// DescribeListeners of a load balancer.
    async fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError>;
    /// DescribeRules of a listener.
    async fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError>;
    /// DescribeTargetGroups of a load balancer and/or by ARN.
    async fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError>;
    /// DescribeTags of resources.
    async fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError>;
    /// DescribeTargetHealth of a target group.
    async fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError>;
}

/// Everything that answers one module call's imports.
pub struct Backend {
    /// Answers the cluster, clock and log imports.
    pub cluster: Box<dyn Cluster>,
    /// Answers the elbv2 imports.
    pub elbv2: Box<dyn Elbv2>,
}

impl Backend {
    /// Both halves answered by one in-memory [`Host`] (two handles on it: `host` must be a
    /// cheap clone sharing its state, as the simulated world and the offline host are).
    pub fn inline<H: Host + Clone + Send + 'static>(host: H) -> Self {
        Backend {
            cluster: Box::new(Inline(host.clone())),
            elbv2: Box::new(Inline(host)),
        }
    }
}

/// The system clock, in milliseconds since the Unix epoch.
pub fn system_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Writes a module's log line to tracing, under the target `albatross::module`.
pub fn log_to_tracing(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields = fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    match level {
        Level::Trace => tracing::trace!(target: "albatross::module", %fields, "{message}"),
        Level::Debug => tracing::debug!(target: "albatross::module", %fields, "{message}"),
        Level::Info => tracing::info!(target: "albatross::module", %fields, "{message}"),
        Level::Warn => tracing::warn!(target: "albatross::module", %fields, "{message}"),
        Level::Error => tracing::error!(target: "albatross::module", %fields, "{message}"),
    }
}

/// Runs `future` to its end on the calling thread, parking it while the future waits. For
/// synchronous callers only: inside a tokio task, `.await` the future instead. A backend that
/// does network I/O must not depend on the calling thread to drive it ([`crate::aws::host`]
/// runs its requests as tasks on its runtime), so this is safe with any backend.
pub fn block_on<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}
