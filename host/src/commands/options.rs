//! The option groups several verbs share, defined once: which strategy module runs, how ELBv2
//! is reached, how target groups are recognised, which Ingress classes are served.

use std::path::PathBuf;

use albatross_policy::reconcile::Settings;
use anyhow::Result;
use clap::Args;
use wasmtime::Engine;

use crate::aws::config::AwsOptions;
use crate::runtime::engine::StrategyModule;

/// Which strategy module a verb runs.
#[derive(Args, Debug, Clone, Default)]
pub struct ModuleChoice {
    /// A strategy component to run instead of the built-in default.
    #[arg(long, value_name = "PATH")]
    pub module: Option<PathBuf>,
}

impl ModuleChoice {
    /// Loads the module named, or the built-in default.
    pub fn load(&self, engine: &Engine) -> Result<StrategyModule> {
        match &self.module {
            Some(path) => StrategyModule::from_file(engine, path),
            None => StrategyModule::builtin(engine),
        }
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
    #[arg(long, default_value = albatross_policy::targets::DEFAULT_TARGET_GROUP_BINDING_API, value_name = "API")]
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
