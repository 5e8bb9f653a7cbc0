//! Leader election through a `coordination.k8s.io/v1` Lease (kube-lease-manager): one
//! replica reconciles, the others stand by and take over once the holder stops renewing
//! (within the lease duration). On shutdown the lease is released, so a standby takes over
//! at once.
//!
//! The lease manager keeps saying "leader" while its renewals fail (it logs the error and
//! retries), yet a standby takes the lease once it lapses. So this replica also reads the
//! Lease itself and leads only while the Lease names it with a renewal that has not lapsed:
//! it steps down half the grace period before the last renewal it saw expires, whether or not
//! the manager noticed, and leads again only once it sees a fresh renewal.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, Result};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::{Api, Client};
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

/// Which Lease, who holds it, for how long.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// The Lease's name (`albatross-controller-<instance-id>`).
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// Seconds a lease lasts without renewal.
    pub duration_seconds: u64,
    /// Seconds before expiry the holder renews.
    pub grace_seconds: u64,
}

/// This replica's own reading of the Lease.
struct Tenure {
    api: Api<Lease>,
    lease: LeaseOptions,
    /// Until when (Unix milliseconds) the last renewal seen lets this replica lead.
    valid_until_ms: i64,
}

impl Tenure {
    fn new(client: Client, lease: &LeaseOptions) -> Tenure {
        Tenure {
            api: Api::namespaced(client, &lease.namespace),
            lease: lease.clone(),
            valid_until_ms: 0,
        }
    }

    /// How long before the renewal seen lapses this replica stops: half the grace period,
    /// so a renewal on time (a grace period before expiry) is seen before it matters.
    fn margin_ms(&self) -> i64 {
        (self.lease.grace_seconds * 1000 / 2) as i64
    }

    /// How often the Lease is read: a quarter of the grace period, at least every 250 ms.
    fn poll(&self) -> Duration {
        Duration::from_millis((self.lease.grace_seconds * 1000 / 4).max(250))
    }

    /// Reads the Lease and keeps the renewal it shows when it names this replica; a failed
    /// read keeps what was seen before (the renewal may well have failed too).
    async fn read(&mut self) {
        match self.api.get_opt(&self.lease.name).await {
            Ok(Some(lease)) => {
                let spec = lease.spec.unwrap_or_default();
                let ours = spec.holder_identity.as_deref() == Some(&self.lease.identity);
                let renewed = spec.renew_time.or(spec.acquire_time);
                let seconds = spec
                    .lease_duration_seconds
                    .map_or(self.lease.duration_seconds as i64, i64::from);
                self.valid_until_ms = match (ours, renewed) {
                    (true, Some(t)) => t.0.as_millisecond() + seconds * 1000 - self.margin_ms(),
                    _ => 0,
                };
            }
            Ok(None) => self.valid_until_ms = 0,
            Err(e) => {
                tracing::warn!(lease = %self.lease.name, error = %e, "reading the lease");
            }
        }
    }

    fn valid(&self) -> bool {
        Timestamp::now().as_millisecond() < self.valid_until_ms
    }

    /// Returns once the Lease shows a renewal by this replica that has not lapsed.
    async fn until_fresh(&mut self) {
        loop {
            self.read().await;
            if self.valid() {
                return;
            }
            tokio::time::sleep(self.poll()).await;
        }
    }

    /// Returns once the last renewal seen has lapsed (less the margin).
    async fn until_lapsed(&mut self) {
        loop {
            self.read().await;
            if !self.valid() {
                return;
            }
            let left = self.valid_until_ms - Timestamp::now().as_millisecond();
            let wait = Duration::from_millis(left.max(0) as u64).min(self.poll());
            tokio::time::sleep(wait).await;
        }
    }
}

/// Calls `lead` each time this replica becomes the leader, with a channel that turns true
/// when it must stop (the lease lost or lapsing unrenewed, or `stop`); returns once `stop`
/// turns true.
pub async fn run_when_leading<F, Fut>(
    client: Client,
    lease: &LeaseOptions,
    mut stop: watch::Receiver<bool>,
    mut lead: F,
) -> Result<()>
where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()>,
{
    let manager = LeaseManagerBuilder::new(client.clone(), &lease.name)
        .with_namespace(&lease.namespace)
        .with_identity(&lease.identity)
        .with_duration(lease.duration_seconds)
        .with_grace(lease.grace_seconds)
        .build()
        .await
        .with_context(|| format!("setting up the Lease {}/{}", lease.namespace, lease.name))?;
    let (mut leading, task) = manager.watch().await;
    tracing::info!(lease = %lease.name, identity = %lease.identity, "standing by for the lease");
    loop {
        let mut tenure = Tenure::new(client.clone(), lease);
        tokio::select! {
            r = leading.wait_for(|l| *l) => if r.is_err() { break },
            _ = stop.wait_for(|s| *s) => break,
        }
        tokio::select! {
            _ = tenure.until_fresh() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        tracing::info!(lease = %lease.name, identity = %lease.identity, "leading");
        let (until_tx, until) = watch::channel(false);
        let (mut lost, mut stopping) = (leading.clone(), stop.clone());
        let name = lease.name.clone();
        let guard = tokio::spawn(async move {
            tokio::select! {
                _ = lost.wait_for(|l| !*l) => {}
                _ = tenure.until_lapsed() => {
                    tracing::warn!(lease = %name, "the lease was not renewed in time; stepping down");
                }
                _ = stopping.wait_for(|s| *s) => {}
            }
            let _ = until_tx.send(true);
        });
        lead(until).await;
        guard.abort();
        if *stop.borrow() {
            break;
        }
        tracing::warn!(lease = %lease.name, identity = %lease.identity, "lost the lease; standing by");
    }
    drop(leading);
    match task.await {
        Ok(Ok(_)) => tracing::info!(lease = %lease.name, "lease released"),
        Ok(Err(e)) => tracing::warn!(lease = %lease.name, error = %e, "releasing the lease"),
        Err(e) => tracing::warn!(lease = %lease.name, error = %e, "the lease task ended"),
    }
    Ok(())
}
