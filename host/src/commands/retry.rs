//! `albatross retry NAME`: an aborted Rollout starts again from its first step.

use std::process::ExitCode;

use albatross_policy::edits;
use anyhow::Result;
use clap::Args;

use crate::commands::target::{Place, block, patch_status};

/// Retry an aborted Rollout from its first step.
///
/// Example:
///   albatross retry guestbook -n shop
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RetryArgs {
    /// The Rollout.
    pub name: String,
    #[command(flatten)]
    pub place: Place,
}

impl RetryArgs {
    /// Writes the edit.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let (api, ns) = self.place.rollouts().await?;
            patch_status(&api, &ns, &self.name, &edits::retry(), None).await?;
            println!("rollout '{}' retried", self.name);
            Ok(ExitCode::SUCCESS)
        })
    }
}
