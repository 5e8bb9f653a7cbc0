//! The option groups several verbs share, defined once: which strategy module runs, how ELBv2
//! and the Kubernetes API are reached, how target groups are recognised, which Ingress
//! classes are served.

use std::path::PathBuf;
use std::sync::Arc;

use albatross_policy::reconcile::Settings;
use anyhow::{Context as _, Result};
use clap::Args;
use kube::config::{KubeConfigOptions, Kubeconfig};
use wasmtime::Engine;

use crate::aws::cache::{DEFAULT_TTL, Elbv2Cache};
use crate::aws::config::{AwsOptions, elbv2_client};
use crate::aws::describe::Elbv2Api;
use crate::aws::host::Elbv2Tasks;
use crate::aws::metrics::Elbv2Metrics;
use crate::runtime::engine::{DEFAULT_COMPONENT, DEFAULT_MODULE_NAME, StrategyModule};
use crate::runtime::registry::{Registry, RegistryConfig, module_name};

/// Which strategy module a verb runs, and where its compiled code is cached between runs.
#[derive(Args, Debug, Clone, Default)]
pub struct ModuleChoice {
    /// A strategy component to run instead of the built-in default.
    #[arg(long, value_name = "PATH")]
    pub module: Option<PathBuf>,
    /// Where compiled code is kept between runs, so a module is compiled once, not on every
    /// call (default: $XDG_CACHE_HOME/albatross, else ~/.cache/albatross).
    #[arg(long, env = "ALBATROSS_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile the module on this run and read or write no cache (wins over --cache-dir and
    /// ALBATROSS_CACHE_DIR).
    #[arg(long)]
    pub no_cache: bool,
}

/// The per-user cache directory: `$XDG_CACHE_HOME/albatross`, else `~/.cache/albatross`.
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .map(|d| d.join("albatross"))
}

impl ModuleChoice {
    /// The cache directory in force: none with --no-cache, else --cache-dir, else the
    /// per-user default.
    pub fn cache(&self) -> Option<PathBuf> {
        if self.no_cache {
            return None;
        }
        self.cache_dir.clone().or_else(default_cache_dir)
    }

    /// Loads the module named, or the built-in default, through the compiled-code cache.
    pub fn load(&self, engine: &Engine) -> Result<Arc<StrategyModule>> {
        let registry = Registry::bare(
            engine,
            RegistryConfig {
                cache_dir: self.cache(),
                ..RegistryConfig::default()
            },
        );
        let loaded = match &self.module {
            Some(path) => {
                let bytes = std::fs::read(path)
                    .with_context(|| format!("reading strategy module {}", path.display()))?;
                let name = module_name(path)?;
                registry.load_bytes(&name, &path.display().to_string(), &bytes)?
            }
            None => registry.load_bytes(DEFAULT_MODULE_NAME, "built-in", DEFAULT_COMPONENT)?,
        };
        tracing::debug!(
            module = %loaded.source,
            from_cache = loaded.from_cache,
            load_ms = loaded.load_time.as_secs_f64() * 1000.0,
            "strategy module loaded"
        );
        Ok(loaded.module)
    }
}

/// The Ingress classes served.
#[derive(Args, Debug, Clone)]
pub struct ClassArgs {
    /// Ingress classes served (repeat for several; "" means Ingresses with no class).
    #[arg(long = "ingress-class", value_name = "CLASS", default_values_t = [String::from("alb")])]
    pub ingress_classes: Vec<String>,
}

/// How to reach ELBv2.
#[derive(Args, Debug, Clone)]
pub struct AwsArgs {
    /// The AWS region (default: from AWS_REGION or the profile).
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,
    /// Another ELBv2 endpoint: an emulator, a VPC endpoint, another partition.
    #[arg(long, env = "ALBATROSS_AWS_ENDPOINT_URL", value_name = "URL")]
    pub aws_endpoint_url: Option<String>,
    /// Attempts per ELBv2 call (retry on throttling and 5xx) before it is given up.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub aws_max_attempts: u32,
    /// `adaptive` backs off and also slows the client down after throttling; `standard`
    /// only backs off.
    #[arg(long, default_value = "adaptive", value_parser = ["adaptive", "standard"], value_name = "MODE")]
    pub aws_retry_mode: String,
}

impl AwsArgs {
    /// The client options these flags give.
    pub fn options(&self) -> AwsOptions {
        AwsOptions {
            region: self.region.clone(),
            endpoint_url: self.aws_endpoint_url.clone(),
            max_attempts: self.aws_max_attempts,
            adaptive: self.aws_retry_mode == "adaptive",
            ..AwsOptions::default()
        }
    }
}

/// How target groups and their bindings are recognised (the AWS Load Balancer Controller's
/// defaults; EKS Auto Mode uses other keys and `eks.amazonaws.com/v1`).
#[derive(Args, Debug, Clone)]
pub struct TagArgs {
    /// The tag naming a target group's Ingress backend, `<namespace>/<ingress>-<service>:<port>`.
    #[arg(long, default_value = albatross_policy::verify::DEFAULT_RESOURCE_TAG, value_name = "KEY")]
    pub resource_tag_key: String,
    /// The tag naming a target group's cluster.
    #[arg(long, default_value = albatross_policy::verify::DEFAULT_CLUSTER_TAG, value_name = "KEY")]
    pub cluster_tag_key: String,
    /// Count only target groups tagged with this cluster name.
    #[arg(long, env = "ALBATROSS_CLUSTER_NAME", value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// The apiVersion of TargetGroupBinding objects.
    #[arg(long, default_value = albatross_policy::bindings::DEFAULT_TARGET_GROUP_BINDING_API, value_name = "API")]
    pub target_group_binding_api_version: String,
}

impl TagArgs {
    /// The settings these flags give, everything else at its default.
    pub fn settings(&self) -> Settings {
        Settings {
            resource_tag_key: self.resource_tag_key.clone(),
            cluster_tag_key: self.cluster_tag_key.clone(),
            cluster_name: self.cluster_name.clone(),
            target_group_binding_api_version: self.target_group_binding_api_version.clone(),
            ..Settings::default()
        }
    }
}

/// How to reach the Kubernetes API.
#[derive(Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// A kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service
    /// account).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

impl KubeArgs {
    /// A client for the cluster these flags name.
    pub async fn client(&self) -> Result<kube::Client> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                let file = Kubeconfig::read_from(path)
                    .with_context(|| format!("reading the kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(file, &options)
                    .await
                    .with_context(|| format!("using the kubeconfig {}", path.display()))?
            }
            None if self.context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .context("reading the kubeconfig")?,
            None => kube::Config::infer()
                .await
                .context("finding the cluster: no kubeconfig and not in a cluster")?,
        };
        kube::Client::try_from(config).context("building the Kubernetes client")
    }
}

impl AwsArgs {
    /// The ELBv2 half of a backend: the SDK client, its shared cache with `metrics`, and its
    /// requests run on `runtime`.
    pub async fn elbv2(
        &self,
        metrics: Arc<Elbv2Metrics>,
        runtime: tokio::runtime::Handle,
    ) -> Elbv2Tasks {
        let options = self.options();
        let client = elbv2_client(&options).await;
        let api = Elbv2Api::new(client, options.page_size, metrics);
        Elbv2Tasks::new(Arc::new(Elbv2Cache::new(api, DEFAULT_TTL)), runtime)
    }
}
