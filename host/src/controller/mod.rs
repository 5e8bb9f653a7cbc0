//! `albatross controller`: Rollouts reconciled on a real cluster.
//!
//! A `kube::runtime::Controller` over the Rollouts (`argoproj.io/v1alpha1`) labelled
//! `argo-rollouts.argoproj.io/controller-instance-id: <instance-id>`, in one namespace or all.
//! It owns their ReplicaSets and watches Services, Ingresses, EndpointSlices and
//! TargetGroupBindings, each mapped back to the Rollouts that reference it ([`mapping`]). Each
//! pass ([`reconcile`]) runs the Rollout's module in the sandbox, its reads of Rollouts,
//! ReplicaSets, Services, Ingresses and TargetGroupBindings answered from the reflector
//! stores of those watches where they are fresh enough
//! ([`crate::backend::read_cache`]). Only the holder of the Lease
//! `albatross-controller-<instance-id>` reconciles ([`leader`]); a standby takes over when
//! the lease lapses. SIGTERM stops taking new passes and lets running ones finish. A Rollout
//! given back to Argo Rollouts (its label removed) loses Albatross's finalizer
//! ([`release`]), so its deletion does not hang.
//! `/metrics`, `/healthz` and `/readyz` are served on their own addresses ([`serve`]).

pub mod leader;
pub mod mapping;
pub mod reconcile;
pub mod release;
pub mod serve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use albatross_policy::reconcile::Settings;
use anyhow::Result;
use futures_util::StreamExt;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{Store, reflector};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::watch;

use crate::aws::host::Elbv2Tasks;
pub use crate::backend::kube::resource;
use crate::backend::read_cache::{ReadCache, until_ready};
use crate::controller::reconcile::{Context, error_policy};
use crate::controller::serve::Health;
use crate::metrics::Metrics;
use crate::runtime::registry::Registry;

/// The label that gives a Rollout to a controller instance (Argo Rollouts' own).
pub const INSTANCE_LABEL: &str = "argo-rollouts.argoproj.io/controller-instance-id";

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Which Rollouts: those labelled with this instance id.
    pub instance_id: String,
    /// One namespace, or all.
    pub namespace: Option<String>,
    /// Passes running at once.
    pub concurrency: u16,
    /// The settings every module call gets.
    pub settings: Settings,
    /// Where `/metrics` is served.
    pub metrics_addr: SocketAddr,
    /// Where `/healthz` and `/readyz` are served.
    pub health_addr: SocketAddr,
    /// Leader election, or None to run alone.
    pub lease: Option<leader::LeaseOptions>,
    /// The name Events carry as their reporting controller.
    pub reporter: String,
}

/// The watched kinds whose full objects are kept, so module reads of them are answered from
/// the cache. EndpointSlices only wake passes (modules read Endpoints, and Pods, from the API
/// server).
const CACHED: [&str; 3] = ["Service", "Ingress", "TargetGroupBinding"];

/// A reflector over `api`: its store, and the stream of objects touched that wakes passes.
/// Managed fields are dropped before they are stored; no module reads them.
fn reflected(
    api: Api<DynamicObject>,
    ar: &ApiResource,
) -> (
    Store<DynamicObject>,
    impl futures_util::Stream<Item = Result<DynamicObject, watcher::Error>> + Send + 'static,
) {
    let writer = Writer::new(ar.clone());
    let store = writer.as_reader();
    let events = reflector(
        writer,
        watcher(api, watcher::Config::default())
            .modify(|o: &mut DynamicObject| o.metadata.managed_fields = None),
    )
    .touched_objects();
    (store, events)
}

fn api(client: &Client, namespace: Option<&str>, ar: &ApiResource) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    }
}

/// Runs the controller until `stop` turns true (SIGTERM): leads when it holds the lease,
/// waits as a standby otherwise.
pub async fn run(
    client: Client,
    registry: Arc<Registry>,
    elbv2: Elbv2Tasks,
    metrics: Arc<Metrics>,
    options: Options,
    stop: watch::Receiver<bool>,
) -> Result<()> {
    let health = Arc::new(Health::default());
    health.registry_loaded.store(true, Ordering::SeqCst);
    let (m, h) = serve::serve(
        options.metrics_addr,
        options.health_addr,
        (metrics.clone(), health.clone()),
    )
    .await?;
    tracing::info!(metrics = %m, health = %h, instance_id = %options.instance_id, "albatross controller starting");
    let rollouts = resource("argoproj.io/v1alpha1", "Rollout", "rollouts");
    let ctx = Arc::new(Context {
        client: client.clone(),
        registry,
        elbv2,
        settings: options.settings.clone(),
        metrics,
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: options.reporter.clone(),
                instance: options.lease.as_ref().map(|l| l.identity.clone()),
            },
        ),
        rollouts,
        failures: Default::default(),
        cache: Default::default(),
        references: Default::default(),
    });
    match &options.lease {
        None => {
            health.leading.store(true, Ordering::SeqCst);
            lead(&ctx, &options, &health, stop).await;
            Ok(())
        }
        Some(lease) => {
            leader::run_when_leading(client, lease, stop, |until| {
                let (ctx, options, health) = (ctx.clone(), options.clone(), health.clone());
                async move {
                    health.leading.store(true, Ordering::SeqCst);
                    lead(&ctx, &options, &health, until).await;
                    health.leading.store(false, Ordering::SeqCst);
                    health.synced.store(false, Ordering::SeqCst);
                }
            })
            .await
        }
    }
}

/// Reconciles until `until` turns true, then lets the running passes finish.
async fn lead(
    ctx: &Arc<Context>,
    options: &Options,
    health: &Arc<Health>,
    mut until: watch::Receiver<bool>,
) {
    let client = &ctx.client;
    let ns = options.namespace.as_deref();
    let selector = format!("{INSTANCE_LABEL}={}", options.instance_id);
    let rollouts = api(client, ns, &ctx.rollouts);
    let replicasets = resource("apps/v1", "ReplicaSet", "replicasets");
    let watched = [
        ("Service", resource("v1", "Service", "services")),
        (
            "Ingress",
            resource("networking.k8s.io/v1", "Ingress", "ingresses"),
        ),
        (
            "EndpointSlice",
            resource("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
        ),
        (
            "TargetGroupBinding",
            resource(
                &ctx.settings.target_group_binding_api_version,
                "TargetGroupBinding",
                "targetgroupbindings",
            ),
        ),
    ];
    let mut controller = Controller::new_with(
        rollouts,
        watcher::Config::default().labels(&selector),
        ctx.rollouts.clone(),
    );
    let mut cache = ReadCache::new(ctx.metrics.kube.cache_reads.clone());
    cache.add(ctx.rollouts.clone(), controller.store());
    let (replicaset_store, replicaset_events) =
        reflected(api(client, ns, &replicasets), &replicasets);
    cache.add(replicasets.clone(), replicaset_store);
    controller = controller.owns_stream_with(replicaset_events, replicasets);
    for (kind, ar) in watched {
        let (ctx, rollout_ar) = (ctx.clone(), ctx.rollouts.clone());
        let mapper = move |object| ctx.references.rollouts_for(&rollout_ar, kind, &object);
        if CACHED.contains(&kind) {
            let (kind_store, events) = reflected(api(client, ns, &ar), &ar);
            cache.add(ar.clone(), kind_store);
            controller = controller.watches_stream_with(events, mapper, ar);
        } else {
            controller = controller.watches_with(
                api(client, ns, &ar),
                ar,
                watcher::Config::default(),
                mapper,
            );
        }
    }
    ctx.use_cache(cache);
    let given_back = tokio::spawn(release::release_given_back(
        client.clone(),
        api(client, ns, &ctx.rollouts),
    ));
    let store = controller.store();
    let synced = {
        let (store, health) = (store.clone(), health.clone());
        tokio::spawn(async move {
            if until_ready(&store).await {
                health.synced.store(true, Ordering::SeqCst);
                tracing::info!(rollouts = store.len(), "caches synced");
            }
        })
    };
    let stopped = async move {
        while !*until.borrow_and_update() {
            if until.changed().await.is_err() {
                break;
            }
        }
    };
    controller
        .with_config(controller::Config::default().concurrency(options.concurrency))
        .graceful_shutdown_on(stopped)
        .run(reconcile::reconcile, error_policy, ctx.clone())
        .for_each(|result| async move {
            match result {
                // A failed pass is reported by the error policy.
                Ok(_) | Err(controller::Error::ReconcilerFailed(..)) => {}
                // An event mapped to a Rollout that has since left the selection (deleted, or
                // given back to Argo Rollouts): nothing to do.
                Err(controller::Error::ObjectNotFound(r)) => {
                    tracing::debug!(rollout = %r, "woken for a Rollout no longer selected");
                }
                Err(e) => tracing::warn!(error = %e, "watching the cluster"),
            }
        })
        .await;
    synced.abort();
    given_back.abort();
    tracing::info!("stopped reconciling");
}

/// A watch channel that turns true on SIGTERM or SIGINT.
pub fn stop_on_signal() -> Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing the running passes"),
            _ = int.recv() => tracing::info!("SIGINT: finishing the running passes"),
        }
        let _ = tx.send(true);
    });
    Ok(rx)
}
