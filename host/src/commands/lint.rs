//! `albatross lint`: Rollout, Ingress and Service manifests checked offline, or (`--live`) the
//! objects of a namespace in the cluster put through the same checks; each finding names the
//! object and the field.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross_policy::lint::{Finding, Severity, lint};
use albatross_policy::lint_kinds::lint_coverage;
use anyhow::{Context as _, Result};
use clap::Args;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::backend::manifests::read_manifests;
use crate::commands::options::ClassArgs;
use crate::commands::target::{Place, block};
use crate::controller::resource;

/// Check Rollout, Ingress and Service manifests offline, before they reach a cluster.
///
/// Reads YAML (several documents per file allowed) or JSON. Each finding names the object
/// and the field: the Rollout spec is invalid, an Ingress or Service it names is missing,
/// the Ingress class is not served, no Ingress path sends the root (or stable) service to
/// `use-annotation`, a Service lacks the servicePort, ping-pong services double as
/// canary/stable, another Rollout already manages the action. What could not be checked is a
/// finding too: an empty file, an object of a kind nobody serves (`kind: Rolout`), and no
/// Rollout at all (an error: nothing was checked). Exit code 1 on any error.
///
/// With --live, the Rollouts, Services and Ingresses of a namespace are read from the cluster
/// (KUBECONFIG, or the in-cluster service account) instead of files, and checked the same way:
///   albatross lint --live -n shop
///   albatross lint --live --all-namespaces
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LintArgs {
    /// The manifest files.
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub files: Vec<PathBuf>,
    /// Check the objects in the cluster instead of files.
    #[arg(long)]
    pub live: bool,
    /// With --live: every namespace (the default is --namespace, or the context's).
    #[arg(long, short = 'A', requires = "live", conflicts_with = "namespace")]
    pub all_namespaces: bool,
    #[command(flatten)]
    pub place: Place,
    #[command(flatten)]
    pub classes: ClassArgs,
}

impl LintArgs {
    /// Lints the files and prints the findings.
    pub fn execute(self) -> Result<ExitCode> {
        let mut findings = Vec::new();
        let (manifests, source) = if self.live {
            let (place, all) = (self.place.clone(), self.all_namespaces);
            let source = match (&self.place.namespace, all) {
                (_, true) => "every namespace".to_string(),
                (Some(ns), false) => format!("namespace {ns}"),
                (None, false) => "the context's namespace".to_string(),
            };
            (
                block(async move { live_objects(&place, all).await })?,
                source,
            )
        } else {
            let mut manifests = Vec::new();
            for f in &self.files {
                let objects = read_manifests(f)?;
                if objects.is_empty() {
                    findings.push(Finding {
                        severity: Severity::Warning,
                        object: f.display().to_string(),
                        field: String::new(),
                        message: "holds no objects".into(),
                    });
                }
                manifests.extend(objects);
            }
            (manifests, "the files".to_string())
        };
        findings.extend(lint_coverage(&manifests, &source));
        let (checked, _) = lint_manifests(&manifests, &self.classes.ingress_classes);
        findings.extend(checked);
        let errors = findings.iter().any(|f| f.severity == Severity::Error);
        print!("{}", format_findings(&findings));
        if findings.is_empty() {
            let rollouts = manifests.iter().filter(|m| m["kind"] == "Rollout").count();
            let plural = if rollouts == 1 { "" } else { "s" };
            println!(
                "{} objects checked ({rollouts} Rollout{plural}): no findings",
                manifests.len()
            );
        }
        Ok(if errors {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
}

/// The kinds `--live` reads: what the checks look at.
const LIVE_KINDS: [(&str, &str, &str); 3] = [
    ("argoproj.io/v1alpha1", "Rollout", "rollouts"),
    ("v1", "Service", "services"),
    ("networking.k8s.io/v1", "Ingress", "ingresses"),
];

/// The Rollouts, Services and Ingresses of the place's namespace (or of every namespace), as
/// manifests with their apiVersion and kind.
async fn live_objects(place: &Place, all_namespaces: bool) -> Result<Vec<Value>> {
    let client = place.kube.client().await?;
    let ns = place
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let mut out = Vec::new();
    for (api_version, kind, plural) in LIVE_KINDS {
        let ar = resource(api_version, kind, plural);
        let api: Api<DynamicObject> = if all_namespaces {
            Api::all_with(client.clone(), &ar)
        } else {
            Api::namespaced_with(client.clone(), &ns, &ar)
        };
        let where_ = if all_namespaces {
            "every namespace".to_string()
        } else {
            format!("namespace {ns}")
        };
        let list = api
            .list(&ListParams::default())
            .await
            .with_context(|| format!("listing the {kind}s of {where_}"))?;
        for o in list.items {
            let mut v = serde_json::to_value(o).with_context(|| format!("encoding a {kind}"))?;
            v["apiVersion"] = Value::from(api_version);
            v["kind"] = Value::from(kind);
            out.push(v);
        }
    }
    Ok(out)
}

/// The findings, one a line: `error: Ingress shop/web: spec.rules: ...`.
pub fn format_findings(findings: &[Finding]) -> String {
    let mut s = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(s, "{level}: {}: {}: {}", f.object, f.field, f.message);
    }
    s
}

/// Lints the manifests; the findings, and whether any is an error.
pub fn lint_manifests(manifests: &[Value], classes: &[String]) -> (Vec<Finding>, bool) {
    let findings = lint(manifests, classes);
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    (findings, errors)
}
