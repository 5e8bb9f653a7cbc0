//! `albatross promote NAME [--full]`: resume a paused Rollout or skip to its next step, or
//! with `--full` skip every remaining step; the edits Argo Rollouts' plugin makes.

use std::process::ExitCode;

use albatross_policy::edits;
use anyhow::{Result, bail};
use clap::Args;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use crate::commands::target::{
    LostWrite, Place, after_lost_answer, answer_lost, block, is_conflict, patch_object,
    patch_status, read,
};

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

/// How many times a promote is tried over a Rollout that keeps changing under it.
const ATTEMPTS: u32 = 3;

impl PromoteArgs {
    /// Writes the edit, over the version of the Rollout it was computed from: when the
    /// Rollout changed in between (a pass of the controller, another promote), it is read
    /// again and the edit computed anew, so a promote never moves a Rollout on from a step it
    /// has already left.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let (api, ns) = self.place.rollouts().await?;
            for attempt in 1..=ATTEMPTS {
                let rollout = read(&api, &ns, &self.name).await?;
                let rv = rollout["metadata"]["resourceVersion"]
                    .as_str()
                    .map(str::to_string);
                let (spec, status) = if self.full {
                    (None, edits::promote_full_for(&rollout))
                } else {
                    edits::promote_for(&rollout)
                };
                if spec.is_none() && status.is_none() {
                    println!("rollout '{}' has nothing to promote", self.name);
                    return Ok(ExitCode::SUCCESS);
                }
                let mut over = rv;
                if let Some(p) = &spec {
                    match patch_object(&api, &ns, &self.name, p, over.as_deref()).await {
                        Ok(written) => over = written.metadata.resource_version,
                        Err(e) if is_conflict(&e) && attempt < ATTEMPTS => {
                            eprintln!(
                                "rollout '{}' changed since it was read; reading it again",
                                self.name
                            );
                            continue;
                        }
                        Err(e) if answer_lost(&e) => {
                            match self.lost(&api, &ns, p, over.as_deref(), e).await? {
                                Some(rv) => over = rv,
                                None if attempt < ATTEMPTS => continue,
                                None => bail!("{}", self.gave_up(&ns)),
                            }
                        }
                        Err(e) => return Err(e),
                    }
                }
                if let Some(p) = &status {
                    match patch_status(&api, &ns, &self.name, p, over.as_deref()).await {
                        Ok(_) => {}
                        Err(e) if answer_lost(&e) => {
                            let lost = self.lost(&api, &ns, p, over.as_deref(), e).await?;
                            match lost {
                                Some(_) => {}
                                None if spec.is_some() => bail!("{}", self.half_done(&ns)),
                                None if attempt < ATTEMPTS => continue,
                                None => bail!("{}", self.gave_up(&ns)),
                            }
                        }
                        Err(e) if is_conflict(&e) && spec.is_none() && attempt < ATTEMPTS => {
                            eprintln!(
                                "rollout '{}' changed since it was read; reading it again",
                                self.name
                            );
                            continue;
                        }
                        Err(e) if spec.is_some() => return Err(e.context(self.half_done(&ns))),
                        Err(e) => return Err(e),
                    }
                }
                let what = if self.full {
                    "fully promoted"
                } else {
                    "promoted"
                };
                println!("rollout '{}' {what}", self.name);
                return Ok(ExitCode::SUCCESS);
            }
            bail!("{}", self.gave_up(&ns))
        })
    }

    /// After patch `p` (over resourceVersion `over`) lost its answer `e`: the Rollout's
    /// resourceVersion when it was applied, None when it was not (write it again); an error
    /// when that cannot be told, so a promote is never applied twice.
    async fn lost(
        &self,
        api: &Api<DynamicObject>,
        ns: &str,
        p: &Value,
        over: Option<&str>,
        e: anyhow::Error,
    ) -> Result<Option<Option<String>>> {
        let name = &self.name;
        match after_lost_answer(api, ns, name, p, over).await? {
            LostWrite::Applied(rv) => {
                eprintln!("the answer to a write to rollout '{name}' was lost; read again, the rollout shows it applied");
                Ok(Some(rv))
            }
            LostWrite::NotApplied => {
                eprintln!("the answer to a write to rollout '{name}' was lost; read again, the rollout shows it not applied: writing it again");
                Ok(None)
            }
            LostWrite::Unknown => Err(e.context(format!(
                "the answer to the promote of Rollout {ns}/{name} was lost and the Rollout has changed since: it may have been promoted; see `albatross get rollout {name}` before promoting again"
            ))),
        }
    }

    fn half_done(&self, ns: &str) -> String {
        format!(
            "spec.paused of Rollout {ns}/{} was cleared, but its status changed before the pause conditions were: see `albatross get rollout {}` before promoting again",
            self.name, self.name
        )
    }

    fn gave_up(&self, ns: &str) -> String {
        format!(
            "Rollout {ns}/{} changed under each of {ATTEMPTS} promotes; nothing was promoted, try again",
            self.name
        )
    }
}
