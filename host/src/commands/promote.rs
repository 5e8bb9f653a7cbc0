//! `albatross promote NAME [--full]`: resume a paused Rollout or skip to its next step, or
//! with `--full` skip every remaining step; the edits Argo Rollouts' plugin makes.

use std::process::ExitCode;

use albatross_policy::edits;
use anyhow::Result;
use clap::Args;

use crate::commands::target::{Place, block, patch_object, patch_status, read};

/// Promote a Rollout: resume it from a pause, or move it to its next step.
///
/// Without --full: a paused spec is unpaused; pause conditions are cleared; a canary that is
/// not paused moves on to its next step. With --full: every remaining step is skipped and the
/// new version is promoted at once (nothing to do when it is already stable).
///
/// Examples:
///   albatross promote guestbook -n shop
///   albatross promote guestbook -n shop --full
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PromoteArgs {
    /// The Rollout.
    pub name: String,
    /// Skip every remaining step.
    #[arg(long)]
    pub full: bool,
    #[command(flatten)]
    pub place: Place,
}

impl PromoteArgs {
    /// Writes the edit.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let (api, ns) = self.place.rollouts().await?;
            let rollout = read(&api, &ns, &self.name).await?;
            let (spec, status) = if self.full {
                (None, edits::promote_full_for(&rollout))
            } else {
                edits::promote_for(&rollout)
            };
            if spec.is_none() && status.is_none() {
                println!("rollout '{}' has nothing to promote", self.name);
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(p) = &spec {
                patch_object(&api, &ns, &self.name, p).await?;
            }
            if let Some(p) = &status {
                patch_status(&api, &ns, &self.name, p).await?;
            }
            let what = if self.full {
                "fully promoted"
            } else {
                "promoted"
            };
            println!("rollout '{}' {what}", self.name);
            Ok(ExitCode::SUCCESS)
        })
    }
}
