//! `albatross list rollouts`: the Rollouts of a namespace, a line each.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use kube::api::ListParams;

use crate::commands::target::{Place, block};
use crate::controller::INSTANCE_LABEL;

/// List objects.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(subcommand)]
    pub what: ListCommand,
}

/// What `list` shows.
#[derive(Subcommand, Debug)]
pub enum ListCommand {
    /// The Rollouts of a namespace: status, step, weights, and which controller has them.
    Rollouts {
        #[command(flatten)]
        place: Place,
    },
}

impl ListArgs {
    /// Prints the table.
    pub fn execute(self) -> Result<ExitCode> {
        let ListCommand::Rollouts { place } = self.what;
        block(async move {
            let (api, ns) = place.rollouts().await?;
            let list = api
                .list(&ListParams::default())
                .await
                .with_context(|| format!("listing the Rollouts of {ns}"))?;
            println!(
                "{:<28} {:<12} {:>5} {:>8} {:>9}  CONTROLLER",
                "NAME", "STATUS", "STEP", "WEIGHT", "VERIFIED"
            );
            for r in list.items {
                let name = r.metadata.name.clone().unwrap_or_default();
                let controller = r
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(INSTANCE_LABEL))
                    .cloned()
                    .unwrap_or_else(|| "argo-rollouts".into());
                let status = &r.data["status"];
                let weights = &status["canary"]["weights"];
                println!(
                    "{:<28} {:<12} {:>5} {:>8} {:>9}  {controller}",
                    name,
                    status["phase"].as_str().unwrap_or("-"),
                    status["currentStepIndex"]
                        .as_u64()
                        .map_or("-".into(), |i| i.to_string()),
                    weights["canary"]["weight"]
                        .as_u64()
                        .map_or("-".into(), |w| w.to_string()),
                    weights["verified"]
                        .as_bool()
                        .map_or("-".into(), |v| v.to_string()),
                );
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}
