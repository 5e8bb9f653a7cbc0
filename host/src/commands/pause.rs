//! `albatross pause NAME...`: Argo's manual pause (`spec.paused: true`).

use std::process::ExitCode;

use albatross_policy::edits;
use anyhow::Result;
use clap::Args;

use crate::commands::target::{Place, block, patch_object};

/// Pause Rollouts by hand: `spec.paused` is set, and until it is cleared nothing of the
/// Rollout moves (no ReplicaSet scaled, no weight written, no step advanced); an abort still
/// gives traffic back. `albatross promote` unpauses (as `kubectl argo rollouts promote` does).
///
/// Example:
///   albatross pause guestbook -n shop
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct PauseArgs {
    /// The Rollouts.
    #[arg(required = true)]
    pub names: Vec<String>,
    #[command(flatten)]
    pub place: Place,
}

impl PauseArgs {
    /// Writes the edit to each Rollout.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let (api, ns) = self.place.rollouts().await?;
            for name in &self.names {
                patch_object(&api, &ns, name, &edits::pause(), None).await?;
                println!("rollout '{name}' paused");
            }
            Ok(ExitCode::SUCCESS)
        })
    }
}
