//! Rollouts given back to Argo Rollouts: a Rollout whose controller-instance-id label was
//! removed is not reconciled any more, but it may still carry Albatross's finalizer from when
//! it was. Left there, its deletion would hang; so the leader watches the Rollouts without the
//! label and takes the finalizer off (read fresh, retried with backoff by the watch's next
//! event). A Rollout relabelled for another Albatross instance keeps it: that instance honours
//! the same finalizer.

use futures_util::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};

use crate::backend::kube::resource;
use crate::controller::INSTANCE_LABEL;
use crate::controller::reconcile::{FINALIZER, remove_finalizer};

/// Watches the Rollouts without the instance label until the stream ends, releasing each that
/// carries the finalizer.
pub async fn release_given_back(client: Client, api: Api<DynamicObject>) {
    let selector = format!("!{INSTANCE_LABEL}");
    let stream = watcher(api, watcher::Config::default().labels(&selector))
        .default_backoff()
        .applied_objects();
    let mut stream = std::pin::pin!(stream);
    let ar = resource("argoproj.io/v1alpha1", "Rollout", "rollouts");
    while let Some(item) = stream.next().await {
        let rollout = match item {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "watching the Rollouts given back to Argo Rollouts");
                continue;
            }
        };
        if !rollout.finalizers().iter().any(|f| f == FINALIZER) {
            continue;
        }
        let ns = rollout.namespace().unwrap_or_else(|| "default".into());
        let name = rollout.name_any();
        let key = format!("{ns}/{name}");
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        match remove_finalizer(&api, &name, &key).await {
            Ok(()) => {
                tracing::info!(rollout = %key, "given back to Argo Rollouts: finalizer removed")
            }
            Err(e) => {
                tracing::warn!(rollout = %key, error = %e, "could not remove the finalizer of a Rollout given back")
            }
        }
    }
}
