//! `albatross verify`: one verification of a Rollout through a strategy module's `verify`
//! export, and the report a person reads when a rollout is stuck: per Ingress, the desired
//! weights against what each listener rule carries; per target group, the Service's endpoint
//! IPs against the registered targets and their health.

use std::fmt::Write as _;

use albatross_policy::StrategyError;
use albatross_policy::reconcile::Settings;
use albatross_policy::spec::namespace_of;
use albatross_policy::verification::Verification;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::aws::host::Elbv2Tasks;
use crate::backend::{Backend, Inline, block_on};
use crate::capabilities::Scope;
use crate::manifest_host::ManifestHost;

use crate::bindings::{convert, settings as wit_settings};
use crate::engine::{StrategyModule, describe_failure};

/// [`verify`] from synchronous code, driven by [`block_on`].
pub fn call_verify(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
    desired_canary_weight: Option<u32>,
) -> Result<Result<Verification, StrategyError>> {
    block_on(verify(
        module,
        backend,
        rollout_json,
        settings,
        desired_canary_weight,
    ))
}

/// Calls `module`'s `verify` export for the Rollout `rollout_json`, its imports answered by
/// `backend`. A strategy error (an invalid spec, an ELBv2 call that failed) comes back as
/// `Ok(Err(..))`; a module that fails is an error naming it.
pub async fn verify(
    module: &StrategyModule,
    backend: Backend,
    rollout_json: &str,
    settings: &Settings,
    desired_canary_weight: Option<u32>,
) -> Result<Result<Verification, StrategyError>> {
    let backend = Scope::for_rollout(module.name(), rollout_json, settings).guard(backend);
    let (mut store, reconciler) = module.instantiate(backend).await?;
    let result = reconciler
        .call_verify(
            &mut store,
            rollout_json,
            &wit_settings(settings),
            desired_canary_weight,
        )
        .await
        .map_err(|e| {
            anyhow!(
                "strategy module {:?} {}",
                module.name(),
                describe_failure(&e, module.limits())
            )
        })?;
    Ok(match result {
        Ok(v) => Ok(convert(&v).context("reading the module's verification")?),
        Err(e) => Err(convert(&e).context("reading the module's error")?),
    })
}

/// What `albatross verify` is asked: manifests, which Rollout, endpoint IPs as
/// `SERVICE=IP,IP,...`, the weight to verify (default: the Rollout's status) and the settings.
pub struct VerifyRequest<'a> {
    /// The objects read from the manifest files.
    pub manifests: &'a [Value],
    /// The Rollout to verify, when the manifests hold several.
    pub rollout: Option<&'a str>,
    /// Endpoint IPs per Service, as `SERVICE=IP,IP,...`.
    pub endpoints: &'a [String],
    /// The canary weight to verify instead of the status's.
    pub weight: Option<u32>,
    /// Tag keys, cluster name, TargetGroupBinding apiVersion.
    pub settings: Settings,
}

/// Picks the Rollout to verify: the one named, or the only one.
pub fn pick_rollout<'a>(manifests: &'a [Value], name: Option<&str>) -> Result<&'a Value> {
    let rollouts: Vec<&Value> = manifests
        .iter()
        .filter(|m| m["kind"] == "Rollout")
        .collect();
    match name {
        Some(n) => rollouts
            .into_iter()
            .find(|r| r["metadata"]["name"] == n)
            .with_context(|| format!("no Rollout named {n:?} in the files")),
        None => match rollouts.as_slice() {
            [one] => Ok(one),
            [] => bail!("the files hold no Rollout"),
            _ => bail!("the files hold several Rollouts: name one with --rollout"),
        },
    }
}

/// Verifies the Rollout of `request` through `module`, the cluster read from the manifests
/// (plus the endpoint IPs given) and the ELBv2 calls of `elbv2`.
pub fn verify_manifests(
    module: &StrategyModule,
    elbv2: Elbv2Tasks,
    request: &VerifyRequest<'_>,
) -> Result<Result<Verification, StrategyError>> {
    let rollout = pick_rollout(request.manifests, request.rollout)?;
    let namespace = namespace_of(rollout).to_string();
    let mut cluster = ManifestHost::new(request.manifests).context("reading the manifests")?;
    for spec in request.endpoints {
        let (service, ips) = spec
            .split_once('=')
            .with_context(|| format!("--endpoints {spec:?}: expected SERVICE=IP,IP,..."))?;
        let ips: Vec<String> = ips
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        cluster
            .set_endpoints(&namespace, service, &ips)
            .with_context(|| format!("--endpoints {spec:?}"))?;
    }
    call_verify(
        module,
        Backend {
            cluster: Box::new(Inline(cluster)),
            elbv2: Box::new(elbv2),
        },
        &rollout.to_string(),
        &request.settings,
        request.weight,
    )
}

fn weight_text(w: Option<u32>) -> String {
    w.map_or("absent".to_string(), |w| w.to_string())
}

fn mark(ok: bool) -> &'static str {
    if ok { "✓" } else { "✗" }
}

/// The report of one verification, as text.
pub fn format_report(v: &Verification) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rollout {}: desired canary {} / stable {}",
        v.rollout,
        v.desired_canary_weight,
        100 - v.desired_canary_weight.min(100)
    );
    for i in &v.ingresses {
        let verdict = &i.verdict;
        let _ = writeln!(
            out,
            "\nIngress {} → {} ({})",
            i.ingress,
            i.hostname.as_deref().unwrap_or("no hostname in status"),
            if verdict.load_balancer_arn.is_empty() {
                "no load balancer found"
            } else {
                verdict.load_balancer_arn.as_str()
            }
        );
        let _ = writeln!(
            out,
            "  canary target group: {}",
            verdict
                .canary_target_group_arn
                .as_deref()
                .unwrap_or("not found")
        );
        let _ = writeln!(
            out,
            "  stable target group: {}",
            verdict
                .stable_target_group_arn
                .as_deref()
                .unwrap_or("not found")
        );
        for r in &verdict.rules {
            let _ = writeln!(
                out,
                "  {} rule {}: canary {} / stable {}",
                mark(r.matches),
                r.rule_arn,
                weight_text(r.observed_canary),
                weight_text(r.observed_stable)
            );
        }
        for d in &verdict.differences {
            let _ = writeln!(out, "  ! {d}");
        }
    }
    if !v.targets.is_empty() {
        let _ = writeln!(out, "\nTargets");
    }
    for t in &v.targets {
        let _ = writeln!(
            out,
            "  {} service {} → {} ({} targets)",
            t.role, t.service, t.target_group_arn, t.target_type
        );
        match &t.verdict {
            None => {
                for target in &t.targets {
                    let _ = writeln!(out, "    {} {:?} (not compared)", target.id, target.state);
                }
            }
            Some(verdict) => {
                for ip in &verdict.ips {
                    let state = ip.state.map_or("not registered".to_string(), |s| {
                        format!("{s:?}").to_lowercase()
                    });
                    let _ = writeln!(out, "    {} {} {state}", mark(ip.registered), ip.ip);
                }
                for target in t.targets.iter().filter(|x| !t.endpoint_ips.contains(&x.id)) {
                    let _ = writeln!(
                        out,
                        "    · {} {} (registered, not an endpoint)",
                        target.id,
                        format!("{:?}", target.state).to_lowercase()
                    );
                }
                if t.endpoint_ips.is_empty() {
                    let _ = writeln!(out, "    (the Service has no ready endpoints)");
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if v.verified {
            "VERIFIED: the load balancer carries the desired weights and every endpoint IP is registered"
        } else {
            "NOT VERIFIED: see the ✗ and ! lines above"
        }
    );
    out
}
