//! A slow API server for tests: a [`Cluster`] that answers every read (`get`, `list`)
//! after an asynchronous delay (`tokio::time::sleep`, so it needs a tokio runtime with time),
//! and notes, for each read, a counter's value before and after the wait. With a ticker task
//! bumping the counter on the same thread, the notes show whether the thread was free to run
//! other work while the module's call waited.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use albatross::backend::{Backend, Cluster, Inline};
use albatross_policy::HostError;
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use async_trait::async_trait;

/// `(before, after)` counter values for each delayed read, in order, shared.
pub type Waits = Arc<Mutex<Vec<(u64, u64)>>>;

/// `inner`, its cluster reads answered `delay` late.
pub struct Delayed<B> {
    /// The backend that answers.
    pub inner: B,
    /// How late each read is.
    pub delay: Duration,
    /// The counter read before and after each wait.
    pub ticks: Arc<AtomicU64>,
    /// `(before, after)` for each read, in order.
    pub waits: Waits,
}

/// A backend on `host` (a cheap clone sharing its state) whose cluster reads answer `delay`
/// late, its notes kept against `ticks`, and those notes.
pub fn slow_backend<H: Host + Clone + Send + Sync + 'static>(
    host: H,
    delay: Duration,
    ticks: Arc<AtomicU64>,
) -> (Backend, Waits) {
    let cluster = Delayed::new(Inline(host.clone()), delay, ticks);
    let waits = cluster.waits.clone();
    let backend = Backend {
        cluster: Box::new(cluster),
        elbv2: Box::new(Inline(host)),
    };
    (backend, waits)
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
impl<B: Cluster + Sync> Cluster for Delayed<B> {
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

    fn now_millis(&mut self) -> u64 {
        self.inner.now_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.inner.log(level, message, fields);
    }
}
