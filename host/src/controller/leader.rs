//! Leader election through a `coordination.k8s.io/v1` Lease (kube-lease-manager): one
//! replica reconciles, the others stand by and take over once the holder stops renewing
//! (within the lease duration). On shutdown the lease is released, so a standby takes over
//! at once.

use std::future::Future;

use anyhow::{Context as _, Result};
use kube::Client;
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

/// Calls `lead` each time this replica becomes the leader, with a channel that turns true
/// when it must stop (the lease lost, or `stop`); returns once `stop` turns true.
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
    let manager = LeaseManagerBuilder::new(client, &lease.name)
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
        tokio::select! {
            r = leading.wait_for(|l| *l) => if r.is_err() { break },
            _ = stop.wait_for(|s| *s) => break,
        }
        tracing::info!(lease = %lease.name, identity = %lease.identity, "leading");
        let (until_tx, until) = watch::channel(false);
        let (mut lost, mut stopping) = (leading.clone(), stop.clone());
        let guard = tokio::spawn(async move {
            tokio::select! {
                _ = lost.wait_for(|l| !*l) => {}
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
