//! `albatross status NAME`: wait for a Rollout to finish, for CI pipelines: exit 0 once it is
//! Healthy, 1 when it is Degraded or the timeout passes (Paused is not an end: it waits on).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{ArgAction, Args};

use crate::commands::target::{Place, block, read};

/// Wait for a Rollout to become Healthy (exit 0) or Degraded (exit 1).
///
/// Prints the phase and message each time they change. A status the controller made from an
/// older spec (`status.observedGeneration` behind `metadata.generation`) counts as Progressing. A Paused Rollout is still on its way:
/// the wait goes on (promote it, or let its timed pause end). With --watch=false, prints the
/// status once and exits 0 unless it is Degraded.
///
/// Examples:
///   albatross status guestbook -n shop --timeout 10m
///   albatross status guestbook -n shop --watch=false
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct StatusArgs {
    /// The Rollout.
    pub name: String,
    /// Keep watching until Healthy, Degraded or the timeout.
    #[arg(long, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub watch: bool,
    /// How long to wait (e.g. 90s, 10m); 0 waits without end.
    #[arg(long, default_value = "0s", value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Duration,
    #[command(flatten)]
    pub place: Place,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    albatross_policy::duration::parse_duration_string(s)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{s:?} is not a duration (e.g. 90s, 10m, 1h30m)"))
}

impl StatusArgs {
    /// Waits and reports.
    pub fn execute(self) -> Result<ExitCode> {
        block(async {
            let (api, ns) = self.place.rollouts().await?;
            let started = Instant::now();
            let mut last = String::new();
            loop {
                let r = read(&api, &ns, &self.name).await?;
                // A status made from an older spec (the controller has not seen the last edit
                // yet) says nothing about the current one.
                let generation = r["metadata"]["generation"].as_i64().map(|g| g.to_string());
                let observed = r["status"]["observedGeneration"]
                    .as_str()
                    .map(str::to_string);
                let (phase, message) = if generation.is_some() && observed != generation {
                    (
                        "Progressing".to_string(),
                        format!(
                            "waiting for the controller to see generation {}",
                            generation.unwrap_or_default()
                        ),
                    )
                } else {
                    (
                        r["status"]["phase"]
                            .as_str()
                            .unwrap_or("Progressing")
                            .to_string(),
                        r["status"]["message"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    )
                };
                let line = if message.is_empty() {
                    phase.clone()
                } else {
                    format!("{phase} - {message}")
                };
                if line != last {
                    println!("{line}");
                    last = line;
                }
                match phase.as_str() {
                    "Healthy" => return Ok(ExitCode::SUCCESS),
                    "Degraded" => return Ok(ExitCode::FAILURE),
                    _ if !self.watch => return Ok(ExitCode::SUCCESS),
                    _ => {}
                }
                if !self.timeout.is_zero() && started.elapsed() >= self.timeout {
                    eprintln!(
                        "error: Rollout {ns}/{} did not become Healthy within {:?}",
                        self.name, self.timeout
                    );
                    return Ok(ExitCode::FAILURE);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    }
}
