//! `albatross controller`: the flags (each with an environment variable) and the start of the
//! controller ([`crate::controller`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use albatross_policy::reconcile::Settings;
use anyhow::{Context, Result};
use clap::{ArgAction, Args};

use crate::commands::options::{AwsArgs, KubeArgs, TagArgs};
use crate::controller::leader::LeaseOptions;
use crate::controller::{self, Options};
use crate::metrics::Metrics;
use crate::runtime::engine::new_engine;
use crate::runtime::registry::{Registry, RegistryConfig};

/// Run the controller: reconcile the Rollouts labelled for this instance on the cluster.
///
/// Albatross reconciles Argo Rollouts' own kind, argoproj.io/v1alpha1 Rollout, but only the
/// Rollouts labelled `argo-rollouts.argoproj.io/controller-instance-id: <instance-id>`. An Argo
/// Rollouts controller started without --instance-id ignores exactly those, so the two run side
/// by side: label a Rollout to move it to Albatross, remove the label to give it back.
///
/// Each pass runs the Rollout's strategy module (the `albatross.io/strategy` annotation, the
/// namespace default, or the cluster default) in the sandbox, with the cluster over the
/// Kubernetes API and the load balancer over ELBv2, and writes the status and Events it returns.
/// Only the holder of the Lease `albatross-controller-<instance-id>` reconciles; run two
/// replicas for a standby. SIGTERM lets running passes finish, then releases the lease.
///
/// Examples:
///   albatross controller --namespace shop
///   albatross controller --module-dir /etc/albatross/modules --cluster-name prod --log-format json
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ControllerArgs {
    /// Reconcile only Rollouts with this controller-instance-id label.
    #[arg(
        long,
        env = "ALBATROSS_INSTANCE_ID",
        default_value = "albatross",
        value_name = "ID"
    )]
    pub instance_id: String,
    /// Watch one namespace (default: all).
    #[arg(long, env = "ALBATROSS_NAMESPACE", value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Ingress classes served, comma-separated ("" for Ingresses with no class).
    #[arg(
        long,
        env = "ALBATROSS_ALB_INGRESS_CLASSES",
        value_delimiter = ',',
        default_value = "alb",
        value_name = "CLASSES"
    )]
    pub alb_ingress_classes: Vec<String>,
    /// Gate every step on weight and target IP verification on the ELBv2 API.
    #[arg(long, env = "ALBATROSS_AWS_VERIFY_TARGET_GROUP", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub aws_verify_target_group: bool,
    /// Passes running at once.
    #[arg(
        long,
        env = "ALBATROSS_CONCURRENCY",
        default_value_t = 10,
        value_name = "N"
    )]
    pub concurrency: u16,
    /// A directory of strategy modules (*.wasm, named by file stem), watched for new versions.
    #[arg(long, env = "ALBATROSS_MODULE_DIR", value_name = "DIR")]
    pub module_dir: Option<PathBuf>,
    /// A registry config file (YAML: moduleDir, cacheDir, clusterDefault, namespaceDefaults,
    /// pins).
    #[arg(long, env = "ALBATROSS_REGISTRY_CONFIG", value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
    /// Where `/metrics` is served.
    #[arg(
        long,
        env = "ALBATROSS_METRICS_ADDR",
        default_value = "0.0.0.0:8090",
        value_name = "ADDR"
    )]
    pub metrics_addr: SocketAddr,
    /// Where `/healthz` and `/readyz` are served.
    #[arg(
        long,
        env = "ALBATROSS_HEALTH_ADDR",
        default_value = "0.0.0.0:8080",
        value_name = "ADDR"
    )]
    pub health_addr: SocketAddr,
    /// Elect a leader through a Lease; `--leader-elect=false` runs alone.
    #[arg(long, env = "ALBATROSS_LEADER_ELECT", default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub leader_elect: bool,
    /// The namespace of the Lease.
    #[arg(
        long,
        env = "POD_NAMESPACE",
        default_value = "default",
        value_name = "NAMESPACE"
    )]
    pub lease_namespace: String,
    /// This replica's identity in the Lease (default: the host name and process id).
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pub identity: Option<String>,
    /// Seconds a lease lasts without renewal: how soon a standby takes over.
    #[arg(
        long,
        env = "ALBATROSS_LEASE_DURATION_SECONDS",
        default_value_t = 15,
        value_name = "SECONDS"
    )]
    pub lease_duration_seconds: u64,
    /// Seconds before expiry the leader renews.
    #[arg(
        long,
        env = "ALBATROSS_LEASE_GRACE_SECONDS",
        default_value_t = 5,
        value_name = "SECONDS"
    )]
    pub lease_grace_seconds: u64,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub tags: TagArgs,
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "albatross".into())
}

impl ControllerArgs {
    /// Starts the controller and runs it until SIGTERM.
    pub fn execute(self) -> Result<ExitCode> {
        if self.lease_grace_seconds == 0 || self.lease_grace_seconds >= self.lease_duration_seconds
        {
            anyhow::bail!(
                "--lease-grace-seconds ({}) must be at least 1 and less than --lease-duration-seconds ({})",
                self.lease_grace_seconds,
                self.lease_duration_seconds
            );
        }
        crate::aws::config::install_crypto_provider();
        let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
        runtime.block_on(self.run(runtime.handle().clone()))?;
        Ok(ExitCode::SUCCESS)
    }

    async fn run(self, handle: tokio::runtime::Handle) -> Result<()> {
        let stop = controller::stop_on_signal().context("installing the signal handlers")?;
        let client = self.kube.client().await?;
        let metrics = Arc::new(Metrics::new());
        let elbv2 = self.aws.elbv2(metrics.elbv2.clone(), handle).await;
        let engine = new_engine()?;
        let mut config = match &self.registry_config {
            Some(path) => RegistryConfig::from_file(path)?,
            None => RegistryConfig::default(),
        };
        if self.module_dir.is_some() {
            config.module_dir = self.module_dir.clone();
        }
        let registry = Arc::new(Registry::new(&engine, config)?);
        if registry.config().module_dir.is_some() {
            registry.watch(std::time::Duration::from_secs(5))?;
        }
        let settings = Settings {
            verify: self.aws_verify_target_group,
            ingress_classes: self.alb_ingress_classes.clone(),
            ..self.tags.settings()
        };
        let identity = self
            .identity
            .clone()
            .unwrap_or_else(|| format!("{}-{}", hostname(), std::process::id()));
        let options = Options {
            lease: self.leader_elect.then(|| LeaseOptions {
                name: format!("albatross-controller-{}", self.instance_id),
                namespace: self.lease_namespace.clone(),
                identity,
                duration_seconds: self.lease_duration_seconds,
                grace_seconds: self.lease_grace_seconds,
            }),
            instance_id: self.instance_id,
            namespace: self.namespace,
            concurrency: self.concurrency,
            settings,
            metrics_addr: self.metrics_addr,
            health_addr: self.health_addr,
            reporter: "albatross".into(),
        };
        controller::run(client, registry, elbv2, metrics, options, stop).await
    }
}
