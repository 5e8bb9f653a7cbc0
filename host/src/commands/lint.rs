//! `albatross lint`: Rollout, Ingress and Service manifests checked offline, each finding
//! naming the object and the field.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use albatross_policy::lint::{Finding, Severity, lint};
use anyhow::Result;
use clap::Args;
use serde_json::Value;

use crate::backend::manifests::read_manifests;
use crate::commands::options::ClassArgs;

/// Check Rollout, Ingress and Service manifests offline, before they reach a cluster.
///
/// Reads YAML (several documents per file allowed) or JSON. Each finding names the object
/// and the field: the Rollout spec is invalid, an Ingress or Service it names is missing,
/// the Ingress class is not served, no Ingress path sends the root (or stable) service to
/// `use-annotation`, a Service lacks the servicePort, ping-pong services double as
/// canary/stable, another Rollout already manages the action. Exit code 1 on any error.
#[derive(Args, Debug)]
pub struct LintArgs {
    /// The manifest files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub classes: ClassArgs,
}

impl LintArgs {
    /// Lints the files and prints the findings.
    pub fn execute(self) -> Result<ExitCode> {
        let mut manifests = Vec::new();
        for f in &self.files {
            manifests.extend(read_manifests(f)?);
        }
        let (findings, errors) = lint_manifests(&manifests, &self.classes.ingress_classes);
        print!("{}", format_findings(&findings));
        if findings.is_empty() {
            println!("{} objects: no findings", manifests.len());
        }
        Ok(if errors {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    }
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
