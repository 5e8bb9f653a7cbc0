//! A slow API server for tests: a [`Backend`] that answers every cluster read (`get`, `list`)
//! after an asynchronous delay (`tokio::time::sleep`, so it needs a tokio runtime with time),
//! and notes, for each read, a counter's value before and after the wait. With a ticker task
//! bumping the counter on the same thread, the notes show whether the thread was free to run
//! other work while the module's call waited.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use albatross::backend::Backend;
use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Level, ObjectKind, PatchType};
use async_trait::async_trait;

/// `inner`, its cluster reads answered `delay` late.
pub struct Delayed<B> {
    /// The backend that answers.
    pub inner: B,
    /// How late each read is.
    pub delay: Duration,
    /// The counter read before and after each wait.
    pub ticks: Arc<AtomicU64>,
    /// `(before, after)` for each read, in order.
    pub waits: Arc<Mutex<Vec<(u64, u64)>>>,
}

impl<B> Delayed<B> {
    /// `inner` with reads `delay` late, its notes kept against `ticks`.
    pub fn new(inner: B, delay: Duration, ticks: Arc<AtomicU64>) -> Self {
        Delayed {
            inner,
            delay,
            ticks,
            waits: Arc::default(),
        }
    }

    async fn wait(&self) {
        let before = self.ticks.load(Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        let after = self.ticks.load(Ordering::SeqCst);
        self.waits
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((before, after));
    }
}

#[async_trait]
impl<B: Backend + Sync> Backend for Delayed<B> {
    async fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.wait().await;
        self.inner.get(kind, ns, name).await
    }

    async fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        sel: &str,
    ) -> Result<Vec<String>, HostError> {
        self.wait().await;
        self.inner.list(kind, ns, sel).await
    }

    async fn create(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        json: &str,
    ) -> Result<String, HostError> {
        self.inner.create(kind, ns, json).await
    }

    async fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError> {
        self.inner
            .patch(kind, ns, name, patch_type, patch_json, subresource)
            .await
    }

    async fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.inner.delete(kind, ns, name).await
    }

    async fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        self.inner.record_event(event).await
    }

    async fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        self.inner.describe_load_balancers(names, arns).await
    }

    async fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        self.inner.describe_listeners(lb).await
    }

    async fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        self.inner.describe_rules(listener).await
    }

    async fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        self.inner.describe_target_groups(lb, arns).await
    }

    async fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        self.inner.describe_tags(arns).await
    }

    async fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.inner.describe_target_health(tg).await
    }

    fn now_millis(&mut self) -> u64 {
        self.inner.now_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.inner.log(level, message, fields);
    }
}
