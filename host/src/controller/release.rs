//! Rollouts given back: a Rollout whose controller-instance-id label no longer names this
//! instance (moved back to Argo Rollouts, or to another instance) is not reconciled any more,
//! but it may still carry Albatross's finalizer from when it was. Left there, its deletion
//! would hang; so the leader watches those Rollouts and takes the finalizer off.

use std::sync::Arc;

use futures_util::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::controller::INSTANCE_LABEL;
use crate::controller::reconcile::FINALIZER;

/// Watches the Rollouts not labelled for `instance_id` until the stream ends, releasing each
/// that carries the finalizer.
pub async fn release_given_back(client: Client, api: Api<DynamicObject>, instance_id: String) {
    let selector = format!("{INSTANCE_LABEL}!={instance_id}");
    let stream = watcher(api, watcher::Config::default().labels(&selector))
        .default_backoff()
        .applied_objects();
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let rollout = match item {
            Ok(r) => Arc::new(r),
            Err(e) => {
                tracing::debug!(error = %e, "watching given-back Rollouts");
                continue;
            }
        };
        let Some(i) = rollout.finalizers().iter().position(|f| f == FINALIZER) else {
            continue;
        };
        let ns = rollout.namespace().unwrap_or_else(|| "default".into());
        let name = rollout.name_any();
        let patch = serde_json::from_value(json!([
            {"op": "test", "path": format!("/metadata/finalizers/{i}"), "value": FINALIZER},
            {"op": "remove", "path": format!("/metadata/finalizers/{i}")},
        ]));
        let Ok(patch) = patch else { continue };
        let ar = crate::controller::resource("argoproj.io/v1alpha1", "Rollout", "rollouts");
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        match api
            .patch(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
            .await
        {
            Ok(_) => {
                tracing::info!(rollout = %format!("{ns}/{name}"), "given back: finalizer removed")
            }
            Err(e) => {
                tracing::warn!(rollout = %format!("{ns}/{name}"), error = %e, "could not remove the finalizer of a given-back Rollout")
            }
        }
    }
}
