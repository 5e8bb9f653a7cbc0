//! `albatross abort NAME`: traffic back to the stable version.

use std::process::ExitCode;

use albatross_policy::edits;
use anyhow::Result;
use clap::Args;

use crate::commands::target::{Place, block, patch_status};

/// Abort a Rollout: the canary weight goes back to 0, and once the load balancer is verified
/// to carry that, the canary is scaled down. `albatross retry` starts it again.
///
/// Example:
///   albatross abort guestbook -n shop
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct AbortArgs {
    /// The Rollout.
    pub name: String,
    #[command(flatten)]
    pub place: Place,
}

impl AbortArgs {
    /// Writes the edit.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let (api, ns) = self.place.rollouts().await?;
            patch_status(&api, &ns, &self.name, &edits::abort(), None).await?;
            println!("rollout '{}' aborted", self.name);
            Ok(ExitCode::SUCCESS)
        })
    }
}
