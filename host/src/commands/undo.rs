//! `albatross undo NAME [--to-revision N]`: the pod template of an earlier revision put back
//! into the Rollout, as Argo's plugin does it.

use std::process::ExitCode;

use albatross_policy::adopt::same_template;
use albatross_policy::workload::{HASH_LABEL, revision_of, selector_string};
use anyhow::{Context as _, Result, bail};
use clap::Args;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::commands::target::{Place, block, read};
use crate::controller::resource;

/// Roll a Rollout back to an earlier revision: the pod template of that revision's ReplicaSet
/// (its `rollout.argoproj.io/revision` annotation) replaces spec.template, and the controller
/// rolls it out as a new revision, through the steps, reusing the old ReplicaSet.
///
/// Example:
///   albatross undo guestbook -n shop                  # the revision before the newest
///   albatross undo guestbook -n shop --to-revision 3
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct UndoArgs {
    /// The Rollout.
    pub name: String,
    /// The revision to go back to (default: the one before the newest).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub to_revision: u64,
    #[command(flatten)]
    pub place: Place,
}

impl UndoArgs {
    /// Writes the template of the chosen revision.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let client: Client = self.place.kube.client().await?;
            let ns = self
                .place
                .namespace
                .clone()
                .unwrap_or_else(|| client.default_namespace().to_string());
            let rollouts: Api<DynamicObject> = Api::namespaced_with(
                client.clone(),
                &ns,
                &resource("argoproj.io/v1alpha1", "Rollout", "rollouts"),
            );
            let rollout = read(&rollouts, &ns, &self.name).await?;
            let sets: Api<DynamicObject> = Api::namespaced_with(
                client,
                &ns,
                &resource("apps/v1", "ReplicaSet", "replicasets"),
            );
            let list = sets
                .list(
                    &ListParams::default()
                        .labels(&selector_string(&rollout["spec"]["selector"]).unwrap_or_default()),
                )
                .await
                .with_context(|| {
                    format!("listing the ReplicaSets of Rollout {ns}/{}", self.name)
                })?;
            let mut owned: Vec<(u64, Value)> = Vec::new();
            for rs in list.items {
                let rs = serde_json::to_value(rs).context("encoding a ReplicaSet")?;
                if controlled_by(&rs, &rollout) {
                    owned.push((revision_of(&rs), rs));
                }
            }
            owned.sort_by_key(|(r, _)| std::cmp::Reverse(*r));
            let chosen = if self.to_revision == 0 {
                owned.get(1)
            } else {
                owned.iter().find(|(r, _)| *r == self.to_revision)
            };
            let Some((number, rs)) = chosen else {
                if self.to_revision == 0 {
                    bail!(
                        "no revision before the newest found for Rollout {ns}/{}",
                        self.name
                    );
                }
                bail!(
                    "Rollout {ns}/{} has no revision {} (its ReplicaSets have {:?})",
                    self.name,
                    self.to_revision,
                    owned.iter().map(|(r, _)| *r).collect::<Vec<_>>()
                );
            };
            let mut template = rs["spec"]["template"].clone();
            if let Some(labels) = template
                .pointer_mut("/metadata/labels")
                .and_then(Value::as_object_mut)
            {
                labels.remove(HASH_LABEL);
            }
            if same_template(&rollout["spec"]["template"], &template) {
                println!("skipped rollback (current template already matches revision {number})");
                return Ok(ExitCode::SUCCESS);
            }
            let patch: Patch<()> = Patch::Json(
                serde_json::from_value(
                    json!([{"op": "replace", "path": "/spec/template", "value": template}]),
                )
                .context("building the JSON patch")?,
            );
            rollouts
                .patch(&self.name, &PatchParams::default(), &patch)
                .await
                .with_context(|| {
                    format!("restoring revision {number} of Rollout {ns}/{}", self.name)
                })?;
            println!("rollout '{}' undo (to revision {number})", self.name);
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// Whether the Rollout is the ReplicaSet's controller (by uid where the Rollout has one).
fn controlled_by(rs: &Value, rollout: &Value) -> bool {
    rs["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| {
            refs.iter().any(|r| {
                r["kind"] == "Rollout"
                    && r["controller"] == true
                    && match rollout["metadata"]["uid"].as_str() {
                        Some(uid) => r["uid"] == uid,
                        None => r["name"] == rollout["metadata"]["name"],
                    }
            })
        })
}
