//! The ELBv2 cache as the [`Elbv2`] half of a strategy backend. Each describe call runs as a
//! task on the tokio runtime that owns the SDK client and the module's call awaits it, so
//! the call is suspended (not blocked) while AWS answers, and it makes no difference which
//! executor polls the module: a controller's tokio task or [`crate::backend::block_on`].

use std::future::Future;
use std::sync::Arc;

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use async_trait::async_trait;
use tokio::runtime::Handle;

use super::cache::Elbv2Cache;
use crate::backend::Elbv2;

/// The cached describe calls, run as tasks on a runtime.
#[derive(Clone)]
pub struct Elbv2Tasks {
    cache: Arc<Elbv2Cache>,
    runtime: Handle,
}

impl Elbv2Tasks {
    /// The calls of `cache`, run on `runtime`.
    pub fn new(cache: Arc<Elbv2Cache>, runtime: Handle) -> Self {
        Elbv2Tasks { cache, runtime }
    }

    /// The shared cache.
    pub fn cache(&self) -> &Arc<Elbv2Cache> {
        &self.cache
    }

    /// Runs `call` on the cache as a task of the runtime and waits for its answer. A task that
    /// panicked or was cancelled (the runtime shutting down) is a transient error.
    async fn run<T, F>(&self, call: impl FnOnce(Arc<Elbv2Cache>) -> F) -> Result<T, HostError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, HostError>> + Send + 'static,
    {
        self.runtime
            .spawn(call(self.cache.clone()))
            .await
            .unwrap_or_else(|e| Err(HostError::Transient(format!("the ELBv2 call's task: {e}"))))
    }
}

#[async_trait]
impl Elbv2 for Elbv2Tasks {
    async fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        let (names, arns) = (names.to_vec(), arns.to_vec());
        self.run(|c| async move { c.describe_load_balancers(&names, &arns).await })
            .await
    }

    async fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        let lb = lb.to_string();
        self.run(|c| async move { c.describe_listeners(&lb).await })
            .await
    }

    async fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        let listener = listener.to_string();
        self.run(|c| async move { c.describe_rules(&listener).await })
            .await
    }

    async fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        let (lb, arns) = (lb.map(str::to_string), arns.to_vec());
        self.run(|c| async move { c.describe_target_groups(lb.as_deref(), &arns).await })
            .await
    }

    async fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        let arns = arns.to_vec();
        self.run(|c| async move { c.describe_tags(&arns).await })
            .await
    }

    async fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        let tg = tg.to_string();
        self.run(|c| async move { c.describe_target_health(&tg).await })
            .await
    }
}
