//! What the Rollout verbs (`promote`, `abort`, `retry`, `set image`, `status`, `get`,
//! `list`) share: which Rollout (`NAME`, `--namespace`, the cluster flags), and writing a
//! status edit the way Argo Rollouts' plugin does (a merge patch of the `status`
//! subresource, falling back to the object where the CRD has no status subresource).

use anyhow::{Context as _, Result};
use clap::Args;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use crate::commands::options::KubeArgs;
use crate::controller::resource;

/// The cluster and namespace a verb works in.
#[derive(Args, Debug, Clone)]
pub struct Place {
    /// The namespace (default: the kubeconfig context's).
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub kube: KubeArgs,
}

impl Place {
    /// The Rollouts API of this namespace, and the namespace.
    pub async fn rollouts(&self) -> Result<(Api<DynamicObject>, String)> {
        let client: Client = self.kube.client().await?;
        let ns = self
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_string());
        let ar = resource("argoproj.io/v1alpha1", "Rollout", "rollouts");
        Ok((Api::namespaced_with(client, &ns, &ar), ns))
    }
}

/// Reads a Rollout as JSON, naming it in the error.
pub async fn read(api: &Api<DynamicObject>, ns: &str, name: &str) -> Result<Value> {
    let o = api
        .get(name)
        .await
        .with_context(|| format!("reading Rollout {ns}/{name}"))?;
    serde_json::to_value(o).with_context(|| format!("encoding Rollout {ns}/{name}"))
}

/// A merge patch that applies only over resourceVersion `over`, when given (the API server
/// answers 409 when the Rollout changed since).
fn precondition(patch: &Value, over: Option<&str>) -> Value {
    let mut patch = patch.clone();
    if let Some(rv) = over {
        patch["metadata"]["resourceVersion"] = Value::String(rv.to_string());
    }
    patch
}

/// Merge-patches the Rollout's status subresource, or the object when the CRD has none; only
/// over resourceVersion `over`, when given. Returns the Rollout as written.
pub async fn patch_status(
    api: &Api<DynamicObject>,
    ns: &str,
    name: &str,
    patch: &Value,
    over: Option<&str>,
) -> Result<DynamicObject> {
    let pp = PatchParams::default();
    let patch = precondition(patch, over);
    match api.patch_status(name, &pp, &Patch::Merge(&patch)).await {
        Ok(o) => Ok(o),
        Err(kube::Error::Api(s)) if s.code == 404 => api
            .patch(name, &pp, &Patch::Merge(&patch))
            .await
            .with_context(|| format!("patching Rollout {ns}/{name}")),
        Err(e) => Err(e).with_context(|| format!("patching the status of Rollout {ns}/{name}")),
    }
}

/// Merge-patches the Rollout object; only over resourceVersion `over`, when given. Returns
/// the Rollout as written.
pub async fn patch_object(
    api: &Api<DynamicObject>,
    ns: &str,
    name: &str,
    patch: &Value,
    over: Option<&str>,
) -> Result<DynamicObject> {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(&precondition(patch, over)),
    )
    .await
    .with_context(|| format!("patching Rollout {ns}/{name}"))
}

/// Whether `e` is the API server's 409: the object changed since it was read.
pub fn is_conflict(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<kube::Error>(), Some(kube::Error::Api(s)) if s.code == 409)
}

/// Whether `e` says no answer came to a write (the connection failed before the reply): the
/// write may or may not have been applied.
pub fn answer_lost(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<kube::Error>(),
        Some(kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_))
    )
}

/// What a merge patch whose answer was lost did, as the Rollout read again tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LostWrite {
    /// The Rollout is still at the version written over: the patch was not applied.
    NotApplied,
    /// The Rollout holds every field the patch set; its resourceVersion now.
    Applied(Option<String>),
    /// The Rollout changed and does not hold the patch: whether it was applied (and then
    /// changed again) cannot be told.
    Unknown,
}

/// Reads the Rollout again after a patch (written over resourceVersion `over`) lost its
/// answer, and tells whether the patch was applied.
pub async fn after_lost_answer(
    api: &Api<DynamicObject>,
    ns: &str,
    name: &str,
    patch: &Value,
    over: Option<&str>,
) -> Result<LostWrite> {
    let now = read(api, ns, name).await?;
    let rv = now["metadata"]["resourceVersion"].as_str();
    Ok(if over.is_some() && rv == over {
        LostWrite::NotApplied
    } else if holds(&now, patch) {
        LostWrite::Applied(rv.map(str::to_string))
    } else {
        LostWrite::Unknown
    })
}

/// Whether `object` holds what merge patch `patch` sets (a null: the field absent), the
/// patch's resourceVersion precondition aside.
fn holds(object: &Value, patch: &Value) -> bool {
    match patch {
        Value::Object(fields) => fields.iter().all(|(k, v)| match (k.as_str(), v) {
            ("resourceVersion", _) => true,
            (_, Value::Null) => object.get(k).is_none_or(Value::is_null),
            (_, Value::Object(_)) => holds(object.get(k).unwrap_or(&Value::Null), v),
            _ => object.get(k) == Some(v),
        }),
        other => object == other,
    }
}

/// Runs `f` on a fresh tokio runtime.
pub fn block<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    crate::aws::config::install_crypto_provider();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?
        .block_on(f)
}
