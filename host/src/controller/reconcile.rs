//! One reconcile of one Rollout on a cluster, as `kube::runtime::Controller` calls it: the
//! Rollout as the cache holds it (read from the API server only when the cache is older than
//! this process's own last write of it); the finalizer first (added on first sight; on
//! deletion, removed once the module says, with its `TrafficReleased` Event, that it gave the
//! traffic back), then the module the registry selects for the Rollout, called in the sandbox
//! with the cluster over kube-rs and the ELBv2 client; then what every host does with the
//! result ([`albatross_policy::apply`]): the status written (only when it changed, and only
//! over the version the module read: a 409 requeues with backoff), the Events recorded, the
//! next pass scheduled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use albatross_policy::StrategyError;
use albatross_policy::apply::apply_result;
use albatross_policy::host::ObjectKind;
pub use albatross_policy::reconcile::FINALIZER;
use albatross_policy::reconcile::{Settings, TRAFFIC_RELEASED};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::Recorder;
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};
use thiserror::Error;

use crate::aws::host::Elbv2Tasks;
use crate::backend::Backend;
use crate::backend::kube::{KubeCluster, kube_event};
use crate::backend::read_cache::ReadCache;
use crate::controller::mapping::ReferenceIndex;
use crate::metrics::Metrics;
use crate::runtime::call::{self, CallError};
use crate::runtime::registry::Registry;

/// When the pass after the one that added the finalizer runs at the latest.
const AFTER_FINALIZER: Duration = Duration::from_secs(2);

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The strategy modules.
    pub registry: Arc<Registry>,
    /// The ELBv2 half of every backend.
    pub elbv2: Elbv2Tasks,
    /// The settings every module call gets.
    pub settings: Settings,
    /// Every series.
    pub metrics: Arc<Metrics>,
    /// Writes Events.
    pub recorder: Recorder,
    /// The Rollout resource.
    pub rollouts: ApiResource,
    /// Consecutive failed passes, by `namespace/name`, for the backoff.
    pub failures: Mutex<HashMap<String, u32>>,
    /// The reflector stores of the current leadership term, for the reads passes make.
    pub cache: RwLock<Arc<ReadCache>>,
    /// What each Rollout references, for mapping watch events to Rollouts.
    pub references: ReferenceIndex,
}

/// Why a pass could not finish its own writes (the module's are reported in its outcome).
#[derive(Debug, Error)]
pub enum ReconcileError {
    /// The Rollout changed since the module read it: the status was not written.
    #[error("Rollout {0} changed while it was reconciled; retrying")]
    Conflict(String),
    /// A write of the controller's own failed.
    #[error("Rollout {rollout}: {what}: {source}")]
    Write {
        /// `namespace/name`.
        rollout: String,
        /// What was being written.
        what: &'static str,
        /// The API error.
        source: kube::Error,
    },
    /// The Rollout could not be encoded.
    #[error("Rollout {0}: {1}")]
    Encode(String, serde_json::Error),
}

impl Context {
    /// Answers the passes' reads from `cache` from now on (a new leadership term's stores).
    pub fn use_cache(&self, cache: ReadCache) {
        *self.cache.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(cache);
    }

    fn read_cache(&self) -> Arc<ReadCache> {
        self.cache
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn failed(&self, key: &str) -> u32 {
        let mut f = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let n = f.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

fn key_of(rollout: &DynamicObject) -> String {
    format!(
        "{}/{}",
        rollout.namespace().unwrap_or_default(),
        rollout.name_any()
    )
}

fn write_error(rollout: &str, what: &'static str, e: kube::Error) -> ReconcileError {
    match e {
        kube::Error::Api(s) if s.code == 409 => ReconcileError::Conflict(rollout.to_string()),
        source => ReconcileError::Write {
            rollout: rollout.to_string(),
            what,
            source,
        },
    }
}

/// A JSON patch that applies only over resourceVersion `rv` (a real API server answers 409
/// when the patched object's resourceVersion is not the current one).
fn over_version(rv: &str, ops: Vec<Value>) -> Result<Patch<()>, serde_json::Error> {
    let mut all = vec![json!({"op": "replace", "path": "/metadata/resourceVersion", "value": rv})];
    all.extend(ops);
    Ok(Patch::Json(serde_json::from_value(Value::Array(all))?))
}

/// One pass; the Controller's reconciler.
pub async fn reconcile(
    rollout: Arc<DynamicObject>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let key = key_of(&rollout);
    let ns = rollout.namespace().unwrap_or_else(|| "default".into());
    let name = rollout.name_any();
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ctx.rollouts);
    let cache = ctx.read_cache();
    let kind = ObjectKind::new(&ctx.rollouts.api_version, &ctx.rollouts.kind);
    // The watch may not have delivered this controller's own last write yet: a pass on an
    // older Rollout would redo the previous step (and move traffic back). Then it is read as
    // it is now.
    let rollout = if cache.is_fresh(&kind, &rollout) {
        rollout
    } else {
        match api.get(&name).await {
            Ok(fresh) => {
                cache.note(&kind, &fresh);
                Arc::new(fresh)
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                ctx.metrics.forget_rollout(&ns, &name);
                ctx.references.forget(&ns, &name);
                return Ok(Action::await_change());
            }
            Err(e) => return Err(write_error(&key, "reading the Rollout", e)),
        }
    };
    ctx.references.record(&ns, &name, &rollout.data);
    let rv = rollout.resource_version().unwrap_or_default();
    let finalizers = rollout.finalizers().to_vec();
    let deleting = rollout.meta().deletion_timestamp.is_some();
    let has_finalizer = finalizers.iter().any(|f| f == FINALIZER);
    if deleting && !has_finalizer {
        ctx.metrics.forget_rollout(&ns, &name);
        ctx.references.forget(&ns, &name);
        return Ok(Action::await_change());
    }
    if !has_finalizer {
        let patch = over_version(
            &rv,
            vec![json!({"op": "add", "path": "/metadata/finalizers", "value":
                finalizers.iter().cloned().chain([FINALIZER.to_string()]).collect::<Vec<_>>()})],
        )
        .map_err(|e| ReconcileError::Encode(key.clone(), e))?;
        let written = api
            .patch(&name, &PatchParams::default(), &patch)
            .await
            .map_err(|e| write_error(&key, "adding the finalizer", e))?;
        cache.note(&kind, &written);
        // The write's watch event wakes the next pass; should that wake be lost (seen for a
        // few of 1,000 Rollouts started at once), the pass comes anyway.
        return Ok(Action::requeue(AFTER_FINALIZER));
    }

    let rollout_json = serde_json::to_string(rollout.as_ref())
        .map_err(|e| ReconcileError::Encode(key.clone(), e))?;
    let value: Value =
        serde_json::from_str(&rollout_json).map_err(|e| ReconcileError::Encode(key.clone(), e))?;
    let stored_status = value["status"].clone();
    let (module_name, result) = match ctx.registry.select(&value) {
        Ok(loaded) => {
            let backend = Backend {
                cluster: Box::new(KubeCluster::new(
                    ctx.client.clone(),
                    ctx.recorder.clone(),
                    rollout.object_ref(&ctx.rollouts),
                    ctx.metrics.kube.clone(),
                    cache.clone(),
                )),
                elbv2: Box::new(ctx.elbv2.clone()),
            };
            let t = Instant::now();
            let result =
                call::reconcile(&loaded.module, backend, &rollout_json, &ctx.settings).await;
            ctx.metrics
                .module_call_seconds
                .get_or_create(&crate::metrics::ModuleLabel {
                    module: loaded.module.name().to_string(),
                })
                .observe(t.elapsed().as_secs_f64());
            (loaded.module.name().to_string(), result)
        }
        Err(e) => (
            String::new(),
            Err(CallError::Strategy(StrategyError::Malformed(format!(
                "{e:#}"
            )))),
        ),
    };
    let result_label = match &result {
        Ok(_) => "ok",
        Err(CallError::Strategy(StrategyError::Host(_))) => "host-error",
        Err(CallError::Strategy(_)) => "strategy-error",
        Err(_) => "module-failure",
    };
    if let Err(e) = &result {
        tracing::warn!(rollout = %key, module = %module_name, result = result_label, error = %e, "pass failed");
    }
    let released = deleting
        && result
            .as_ref()
            .is_ok_and(|o| o.events.iter().any(|e| e.reason == TRAFFIC_RELEASED));
    let applied = apply_result(&stored_status, result.map_err(StrategyError::from));
    // The Events first: the module's writes are done, and a status write that meets a 409
    // must not lose them.
    let reference = rollout.object_ref(&ctx.rollouts);
    for e in &applied.events {
        if let Err(err) = ctx.recorder.publish(&kube_event(e), &reference).await {
            tracing::warn!(rollout = %key, reason = %e.reason, error = %err, "could not record an Event");
        }
    }
    if let Some(status) = applied.status.as_ref().filter(|s| **s != stored_status) {
        let patch = over_version(
            &rv,
            vec![json!({"op": "add", "path": "/status", "value": status})],
        )
        .map_err(|e| ReconcileError::Encode(key.clone(), e))?;
        let written = api
            .patch_status(&name, &PatchParams::default(), &patch)
            .await
            .map_err(|e| write_error(&key, "writing the status", e))?;
        cache.note(&kind, &written);
    }
    if released {
        remove_finalizer(&api, &name, &key).await?;
        ctx.metrics.forget_rollout(&ns, &name);
        ctx.references.forget(&ns, &name);
    } else {
        let status = applied.status.as_ref().unwrap_or(&stored_status);
        ctx.metrics
            .observe_rollout(&ns, &name, &module_name, status);
    }
    ctx.metrics.count(result_label);
    ctx.metrics
        .reconcile_seconds
        .observe(started.elapsed().as_secs_f64());
    ctx.succeeded(&key);
    tracing::debug!(rollout = %key, result = result_label, requeue_ms = applied.requeue_after_ms, "reconciled");
    Ok(Action::requeue(Duration::from_millis(
        applied.requeue_after_ms,
    )))
}

/// Drops the finalizer from the Rollout as it is now (read fresh: a pass may have written it
/// since).
pub async fn remove_finalizer(
    api: &Api<DynamicObject>,
    name: &str,
    key: &str,
) -> Result<(), ReconcileError> {
    let current = api
        .get(name)
        .await
        .map_err(|e| write_error(key, "reading the Rollout to release it", e))?;
    let Some(i) = current.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let patch: Patch<()> = Patch::Json(
        serde_json::from_value(json!([
            {"op": "test", "path": format!("/metadata/finalizers/{i}"), "value": FINALIZER},
            {"op": "remove", "path": format!("/metadata/finalizers/{i}")},
        ]))
        .map_err(|e| ReconcileError::Encode(key.to_string(), e))?,
    );
    api.patch(name, &PatchParams::default(), &patch)
        .await
        .map_err(|e| write_error(key, "removing the finalizer", e))?;
    Ok(())
}

/// What the Controller does after a failed pass: try again, backing off per Rollout from half
/// a second to a minute.
pub fn error_policy(
    rollout: Arc<DynamicObject>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    let key = key_of(&rollout);
    let n = ctx.failed(&key);
    let result = match error {
        ReconcileError::Conflict(_) => "requeued-conflict",
        _ => "write-error",
    };
    ctx.metrics.count(result);
    let delay = Duration::from_millis(500u64.saturating_mul(1 << n.saturating_sub(1).min(7)))
        .min(Duration::from_secs(60));
    tracing::info!(rollout = %key, error = %error, retry_in_ms = delay.as_millis() as u64, "pass not finished");
    Action::requeue(delay)
}
