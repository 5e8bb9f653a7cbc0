//! `albatross verify`: one verification of a Rollout, read from manifest files, through a
//! strategy module's `verify` export against the real ELBv2 API, and the report a person reads when a rollout is stuck: per Ingress, the desired
//! weights against what each listener rule carries; per target group, the Service's endpoint
//! IPs against the targets registered at the target port, and their health.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use albatross_policy::reconcile::Settings;
use albatross_policy::spec::namespace_of;
use albatross_policy::verification::Verification;
use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;

use crate::aws::host::Elbv2Tasks;
use crate::aws::metrics::Elbv2Metrics;
use crate::backend::manifests::{ManifestHost, read_manifests};
use crate::backend::{Backend, Inline};
use crate::commands::options::{AwsArgs, ModuleChoice, TagArgs};
use crate::runtime::call::{CallError, call_verify};
use crate::runtime::engine::{StrategyModule, new_engine};

/// Verify a Rollout against the real ELBv2 API once, and print everything compared.
///
/// Reads the Rollout, its Ingresses (with `status.loadBalancer.ingress[].hostname`, as the
/// AWS Load Balancer Controller writes it), Services, and optionally Endpoints and
/// TargetGroupBindings from manifest files (YAML or JSON, several documents per file).
/// Endpoint IPs can also be given with --endpoints. The strategy module's `verify` export
/// then finds the load balancer the hostname names, its listener rules and the target groups
/// tagged for the canary and stable Services, and compares: the desired weights (from the
/// Rollout's status, or --weight) against every rule, and the endpoint IPs against the
/// targets registered at the target port (the TargetGroupBinding's serviceRef.port through the
/// Service's targetPort), with their health. Nothing is written anywhere.
///
/// Credentials and region come from the AWS default chain (environment, profile, IRSA, instance
/// metadata). Exit code 0 when verified, 1 when not (also when a Service has no endpoint IPs
/// to compare: the IP check was not done), 2 when it could not look (an ELBv2 failure, an
/// Ingress without its status hostname).
///
/// Examples:
///   albatross verify rollout.yaml ingress.yaml services.yaml --endpoints guestbook-canary=10.0.1.7,10.0.1.8
///   albatross verify manifests.yaml --weight 10 --aws-endpoint-url http://127.0.0.1:5000 --region us-east-1
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct VerifyArgs {
    /// Manifest files holding the Rollout, its Ingresses, Services, Endpoints, TargetGroupBindings.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The Rollout to verify, when the files hold several.
    #[arg(long, value_name = "NAME")]
    pub rollout: Option<String>,
    /// A Service's ready endpoint IPs, as SERVICE=IP,IP,... (repeat per Service); replaces
    /// an Endpoints object from the files. Their ports are the Service's numeric targetPorts:
    /// for a named targetPort give the Endpoints object in the files instead.
    #[arg(long, value_name = "SERVICE=IPS")]
    pub endpoints: Vec<String>,
    /// The canary weight to verify instead of the one in the Rollout's status (0 to 100).
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
    pub weight: Option<u32>,
    #[command(flatten)]
    pub module: ModuleChoice,
    /// Print the whole verification as JSON instead of the report.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub tags: TagArgs,
}

impl VerifyArgs {
    /// Verifies once and prints the report; exit 0 verified, 1 not, 2 could not look.
    pub fn execute(self) -> Result<ExitCode> {
        let mut manifests = Vec::new();
        for f in &self.files {
            manifests.extend(read_manifests(f)?);
        }
        let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
        let elbv2 = runtime.block_on(
            self.aws
                .elbv2(Arc::new(Elbv2Metrics::new()), runtime.handle().clone()),
        );
        let engine = new_engine()?;
        let module = self.module.load(&engine)?;
        let request = VerifyRequest {
            manifests: &manifests,
            rollout: self.rollout.as_deref(),
            endpoints: &self.endpoints,
            weight: self.weight,
            settings: self.tags.settings(),
        };
        let v = match verify_manifests(&module, elbv2, &request)? {
            Ok(v) => v,
            Err(CallError::Strategy(e)) => {
                eprintln!("error: verification could not complete: {e}");
                return Ok(ExitCode::from(2));
            }
            Err(e) => return Err(e.into()),
        };
        if self.json {
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print!("{}", format_report(&v));
        }
        if let Some(i) = v.ingresses.iter().find(|i| i.hostname.is_none()) {
            eprintln!(
                "error: Ingress {} has no status.loadBalancer.ingress[].hostname, so no load \
                 balancer could be looked at: take the Ingress from the cluster (kubectl get \
                 ingress {} -o yaml) once the AWS Load Balancer Controller has built its ALB",
                i.ingress, i.ingress
            );
            return Ok(ExitCode::from(2));
        }
        Ok(if v.verified {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
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
) -> Result<Result<Verification, CallError>> {
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
    Ok(call_verify(
        module,
        Backend {
            cluster: Box::new(Inline(cluster)),
            elbv2: Box::new(elbv2),
        },
        &rollout.to_string(),
        &request.settings,
        request.weight,
    ))
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
        let port = t
            .verdict
            .as_ref()
            .map_or(String::new(), |v| format!(", target port {}", v.port));
        let _ = writeln!(
            out,
            "  {} service {} → {} ({} targets{port})",
            t.role, t.service, t.target_group_arn, t.target_type
        );
        if let Some(why) = &t.not_checked {
            let _ = writeln!(out, "    ! not checked: {why}");
        }
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
                    let elsewhere = if ip.other_ports.is_empty() {
                        String::new()
                    } else {
                        let ports: Vec<String> =
                            ip.other_ports.iter().map(u32::to_string).collect();
                        format!(
                            " (registered on port {} instead, which serves nothing of this Service's)",
                            ports.join(", ")
                        )
                    };
                    let _ = writeln!(
                        out,
                        "    {} {}:{} {state}{elsewhere}",
                        mark(ip.registered),
                        ip.ip,
                        verdict.port
                    );
                }
                for target in t.targets.iter().filter(|x| !t.endpoint_ips.contains(&x.id)) {
                    let _ = writeln!(
                        out,
                        "    · {}{} {} (registered, not an endpoint)",
                        target.id,
                        target.port.map_or(String::new(), |p| format!(":{p}")),
                        format!("{:?}", target.state).to_lowercase()
                    );
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{}",
        if v.verified {
            "VERIFIED: the load balancer carries the desired weights and every endpoint IP is registered at its target port"
        } else {
            "NOT VERIFIED: see the ✗ and ! lines above"
        }
    );
    out
}
