//! `albatross crd`: the `argoproj.io/v1alpha1` Rollout CustomResourceDefinition, for clusters
//! without Argo Rollouts' own. Generated from the Rust types below with kube's `CustomResource`
//! derive and schemars: the fields Albatross reads are typed, the pod template, selector and
//! strategy keep every field (Albatross validates them itself and names the field it refuses),
//! with the status and scale subresources, Argo's printer columns and the short name `ro`.
//! Where Argo Rollouts' CRD is installed it is used as it is; the two are compatible.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Args;
use kube::{CustomResource, CustomResourceExt};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Print the Rollout CustomResourceDefinition (YAML) for a cluster without Argo Rollouts.
///
/// Example:
///   albatross crd | kubectl apply -f -
///
/// Where Argo Rollouts is installed its CRD is already there: keep it (do not apply this one
/// over it). The same file is examples/deploy/crd.yaml.
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct CrdArgs {
    /// Print JSON instead of YAML.
    #[arg(long)]
    pub json: bool,
}

impl CrdArgs {
    /// Prints the CRD.
    pub fn execute(self) -> Result<ExitCode> {
        print!("{}", render(self.json)?);
        Ok(ExitCode::SUCCESS)
    }
}

/// The CRD as YAML (or JSON).
pub fn render(json: bool) -> Result<String> {
    let crd = Rollout::crd();
    if json {
        let mut text = serde_json::to_string_pretty(&crd).context("the CRD as JSON")?;
        text.push('\n');
        Ok(text)
    } else {
        serde_yaml_ng::to_string(&crd).context("the CRD as YAML")
    }
}

/// An object whose fields are kept as written (the schema says object, nothing more).
fn any_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// `spec` of an `argoproj.io/v1alpha1` Rollout.
// Each printcolumn repeats `type_`; clippy counts those as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Rollout",
    namespaced,
    status = "RolloutStatus",
    shortname = "ro",
    doc = "A Rollout: a workload rolled out step by step behind an ALB (Argo Rollouts' kind).",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.HPAReplicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".spec.replicas",
        description = "Pods wanted (spec.replicas)"
    ),
    printcolumn(
        name = "Current",
        type_ = "integer",
        json_path = ".status.replicas",
        description = "Pods of every revision"
    ),
    printcolumn(
        name = "Up-to-date",
        type_ = "integer",
        json_path = ".status.updatedReplicas",
        description = "Pods of the current pod template"
    ),
    printcolumn(
        name = "Available",
        type_ = "integer",
        json_path = ".status.availableReplicas",
        description = "Pods available to serve, every revision"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Healthy, Progressing, Paused or Degraded"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp",
        description = "Since the Rollout was created"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Desired pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// The label selector of the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub selector: Option<Value>,
    /// The pod template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub template: Option<Value>,
    /// A Deployment whose template to use (Argo Rollouts; Albatross refuses it by name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub workload_ref: Option<Value>,
    /// `canary` or `blueGreen`, as Argo Rollouts spells them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub strategy: Option<Value>,
    /// Seconds a new pod is ready before it counts as available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Old ReplicaSets kept for undo (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Holds the Rollout where it is (`albatross pause`, `kubectl argo rollouts pause`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Seconds without progress before the Rollout counts as Degraded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
    /// Whether the Rollout aborts when its progress deadline passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_abort: Option<bool>,
    /// Pods created before this time are restarted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_at: Option<String>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `status` of a Rollout: the fields the printer columns and the scale subresource read
/// typed, every other field kept as written.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// `Healthy`, `Progressing`, `Paused` or `Degraded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Pods of every revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Pods of the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<i32>,
    /// Available pods of every revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<i32>,
    /// The pod count the HorizontalPodAutoscaler reads through the scale subresource.
    #[serde(
        default,
        rename = "HPAReplicas",
        skip_serializing_if = "Option::is_none"
    )]
    pub hpa_replicas: Option<i32>,
    /// The pod selector as a string, for the scale subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Every other field, kept as written.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}
