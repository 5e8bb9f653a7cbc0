//! `albatross get rollout NAME [--watch]`: a Rollout as a tree a person reads: its phase and
//! message, step, the canary weight wanted and whether the load balancer is verified to
//! carry it, the strategy module serving it, and each revision's ReplicaSet with its ready /
//! desired pods.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::commands::target::{Place, block, read};
use crate::controller::resource;
use crate::runtime::registry::STRATEGY_ANNOTATION;

/// Show objects.
#[derive(Args, Debug)]
pub struct GetArgs {
    #[command(subcommand)]
    pub what: GetCommand,
}

/// What `get` shows.
#[derive(Subcommand, Debug)]
pub enum GetCommand {
    /// A Rollout, its revisions and weights, as a tree.
    ///
    /// Example:
    ///   albatross get rollout guestbook -n shop --watch
    #[command(verbatim_doc_comment)]
    Rollout {
        /// The Rollout.
        name: String,
        /// Print it again each time it changes, until interrupted.
        #[arg(long, short)]
        watch: bool,
        #[command(flatten)]
        place: Place,
    },
}

/// The ReplicaSets a Rollout owns, newest revision first.
fn owned<'a>(sets: &'a [Value], name: &str) -> Vec<&'a Value> {
    let mut out: Vec<&Value> = sets
        .iter()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| {
                    o.iter()
                        .any(|r| r["kind"] == "Rollout" && r["name"] == name)
                })
        })
        .collect();
    out.sort_by(|a, b| {
        b["metadata"]["creationTimestamp"]
            .as_str()
            .cmp(&a["metadata"]["creationTimestamp"].as_str())
    });
    out
}

/// The tree of a Rollout and the ReplicaSets of its namespace.
pub fn format_rollout(r: &Value, sets: &[Value]) -> String {
    let mut s = String::new();
    let name = r["metadata"]["name"].as_str().unwrap_or_default();
    let status = &r["status"];
    let text = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let _ = writeln!(s, "Name:       {name}");
    let _ = writeln!(s, "Namespace:  {}", text(&r["metadata"]["namespace"]));
    let _ = writeln!(s, "Status:     {}", text(&status["phase"]));
    if let Some(m) = status["message"].as_str().filter(|m| !m.is_empty()) {
        let _ = writeln!(s, "Message:    {m}");
    }
    let strategy = if r["spec"]["strategy"]["blueGreen"].is_object() {
        "BlueGreen"
    } else {
        "Canary"
    };
    let _ = writeln!(s, "Strategy:   {strategy}");
    if let Some(steps) = r["spec"]["strategy"]["canary"]["steps"].as_array() {
        let _ = writeln!(
            s,
            "  Step:     {}/{}",
            status["currentStepIndex"].as_u64().unwrap_or(0),
            steps.len()
        );
    }
    let weights = &status["canary"]["weights"];
    if let Some(w) = weights["canary"]["weight"].as_u64() {
        let verified = match weights["verified"].as_bool() {
            Some(true) => "verified on the ALB",
            Some(false) => "NOT yet verified on the ALB",
            None => "verification off",
        };
        let _ = writeln!(
            s,
            "  Weight:   canary {w} / stable {} ({verified})",
            100 - w.min(100)
        );
    }
    if let Some(alb) = status["alb"]["loadBalancer"]["name"].as_str() {
        let _ = writeln!(s, "  ALB:      {alb}");
    }
    let module = r["metadata"]["annotations"][STRATEGY_ANNOTATION]
        .as_str()
        .unwrap_or("the namespace or cluster default");
    let _ = writeln!(s, "Module:     {module}");
    let images: Vec<String> = r["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| cs.iter().map(|c| text(&c["image"])).collect())
        .unwrap_or_default();
    let _ = writeln!(s, "Images:     {}", images.join(", "));
    let _ = writeln!(s, "\nREPLICASET{:30}ROLE     READY", "");
    let stable = status["stableRS"].as_str();
    let current = status["currentPodHash"].as_str();
    for rs in owned(sets, name) {
        let hash = rs["metadata"]["labels"]["rollouts-pod-template-hash"].as_str();
        let role = match (hash == stable, hash == current) {
            (true, _) => "stable",
            (false, true) => "canary",
            _ => "old",
        };
        let _ = writeln!(
            s,
            "{:<40}{role:<9}{}/{}",
            text(&rs["metadata"]["name"]),
            rs["status"]["readyReplicas"].as_u64().unwrap_or(0),
            rs["spec"]["replicas"].as_u64().unwrap_or(0)
        );
    }
    s
}

impl GetArgs {
    /// Prints the tree (again on each change with --watch).
    pub fn execute(self) -> Result<ExitCode> {
        let GetCommand::Rollout { name, watch, place } = self.what;
        block(async move {
            let (api, ns) = place.rollouts().await?;
            let client = place.kube.client().await?;
            let rs_api: Api<DynamicObject> = Api::namespaced_with(
                client,
                &ns,
                &resource("apps/v1", "ReplicaSet", "replicasets"),
            );
            let mut last = String::new();
            loop {
                let r = read(&api, &ns, &name).await?;
                let sets: Vec<Value> = rs_api
                    .list(&ListParams::default())
                    .await
                    .with_context(|| format!("listing the ReplicaSets of {ns}"))?
                    .items
                    .into_iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect();
                let tree = format_rollout(&r, &sets);
                if tree != last {
                    if !last.is_empty() {
                        println!();
                    }
                    print!("{tree}");
                    last = tree;
                }
                if !watch {
                    return Ok(ExitCode::SUCCESS);
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        })
    }
}
