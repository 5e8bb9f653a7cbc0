//! The pieces of an ELBv2 verification test: a moto_server with a network in one region, a
//! tokio runtime for the SDK, manifests of Rollouts behind an ALB, and one verification
//! through the built-in module's `verify` export with the real `elbv2` host (SDK, shared
//! cache, counters) against moto.

use std::sync::Arc;
use std::time::Duration;

use albatross::aws::cache::Elbv2Cache;
use albatross::aws::config::{AwsOptions, elbv2_client};
use albatross::aws::describe::Elbv2Api;
use albatross::aws::host::Elbv2Tasks;
use albatross::aws::metrics::Elbv2Metrics;
use albatross::backend::manifests::ManifestHost;
use albatross::backend::{Backend, Inline};
use albatross::runtime::call::{CallError, call_verify};
use albatross_policy::StrategyError;
use albatross_policy::reconcile::Settings;
use albatross_policy::verification::Verification;
use aws_sdk_elasticloadbalancingv2::Client;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::default_module;
use crate::moto::Moto;

/// The region every verification test uses (each test has its own moto_server).
pub const REGION: &str = "eu-west-1";

/// A moto_server with a VPC and two subnets, a runtime, and an admin client.
pub struct Env {
    /// The emulator.
    pub moto: Moto,
    /// The runtime the SDK runs on.
    pub runtime: Runtime,
    /// A client for building things.
    pub admin: Client,
    /// The VPC.
    pub vpc: String,
    /// Two subnets in two zones.
    pub subnets: Vec<String>,
}

impl Env {
    /// Starts moto and builds the network.
    pub fn start() -> Env {
        let moto = Moto::start();
        let runtime = Runtime::new().unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        let admin = runtime.block_on(crate::alb::client(&moto, REGION));
        let (vpc, subnets) = moto.network(REGION);
        Env {
            moto,
            runtime,
            admin,
            vpc,
            subnets,
        }
    }

    /// Runs an async setup step, panicking with its error.
    pub fn run<T>(&self, f: impl Future<Output = Result<T, String>>) -> T {
        self.runtime
            .block_on(f)
            .unwrap_or_else(|e| panic!("setup: {e}"))
    }

    /// The real `elbv2` host against this moto (or `endpoint`, e.g. a proxy in front of it):
    /// a client with `options`, the shared cache with `ttl`, fresh counters.
    pub fn elbv2(&self, endpoint: Option<&str>, options: AwsOptions, ttl: Duration) -> Elbv2Tasks {
        let options = AwsOptions {
            region: Some(REGION.to_string()),
            endpoint_url: Some(endpoint.unwrap_or(&self.moto.url).to_string()),
            ..options
        };
        let client = self.runtime.block_on(elbv2_client(&options));
        let api = Elbv2Api::new(client, options.page_size, Arc::new(Elbv2Metrics::new()));
        Elbv2Tasks::new(
            Arc::new(Elbv2Cache::new(api, ttl)),
            self.runtime.handle().clone(),
        )
    }
}

/// Quick, retry-free options for tests that do not test retries.
pub fn quick() -> AwsOptions {
    AwsOptions {
        max_attempts: 1,
        ..AwsOptions::default()
    }
}

/// A canary Rollout `name` in namespace `shop` with services `<name>-canary` and
/// `<name>-stable` behind the Ingresses `ingresses`, whose status says canary weight `weight`
/// is set.
pub fn rollout(name: &str, ingresses: &[&str], weight: u32) -> Value {
    let alb = if ingresses.len() == 1 {
        json!({ "ingress": ingresses[0], "servicePort": 80 })
    } else {
        json!({ "ingresses": ingresses, "servicePort": 80 })
    };
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": { "name": name, "namespace": "shop" },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "app": name } },
            "template": {
                "metadata": { "labels": { "app": name } },
                "spec": { "containers": [{ "name": "app", "image": "demo:2" }] }
            },
            "strategy": { "canary": {
                "canaryService": format!("{name}-canary"),
                "stableService": format!("{name}-stable"),
                "trafficRouting": { "alb": alb },
                "steps": [{ "setWeight": 10 }, { "pause": {} }]
            }}
        },
        "status": { "canary": { "weights": {
            "canary": { "weight": weight, "serviceName": format!("{name}-canary") },
            "stable": { "weight": 100 - weight, "serviceName": format!("{name}-stable") }
        }}}
    })
}

/// An Ingress of class alb in `shop` whose status names the load balancer `hostname`, with
/// a path to `service` through `use-annotation`.
pub fn ingress(name: &str, service: &str, hostname: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": { "name": name, "namespace": "shop" },
        "spec": {
            "ingressClassName": "alb",
            "rules": [{ "http": { "paths": [{
                "path": "/*", "pathType": "ImplementationSpecific",
                "backend": { "service": { "name": service, "port": { "name": "use-annotation" } } }
            }]}}]
        },
        "status": { "loadBalancer": { "ingress": [{ "hostname": hostname }] } }
    })
}

/// A Service in `shop` on port 80.
pub fn service(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": name, "namespace": "shop" },
        "spec": { "ports": [{ "name": "http", "port": 80, "targetPort": 8080 }] }
    })
}

/// Verifies Rollout `rollout` among `manifests`, with endpoint IPs per service, through the
/// built-in module and the given `elbv2` host.
pub fn verify(
    manifests: &[Value],
    endpoints: &[(&str, &[&str])],
    rollout: &Value,
    elbv2: &Elbv2Tasks,
    desired: Option<u32>,
) -> Result<Verification, StrategyError> {
    let mut cluster = ManifestHost::new(manifests).unwrap_or_else(|e| panic!("manifests: {e}"));
    for (service, ips) in endpoints {
        let ips: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
        cluster
            .set_endpoints("shop", service, &ips)
            .unwrap_or_else(|e| panic!("endpoints: {e}"));
    }
    let backend = Backend {
        cluster: Box::new(Inline(cluster)),
        elbv2: Box::new(elbv2.clone()),
    };
    call_verify(
        default_module(),
        backend,
        &rollout.to_string(),
        &Settings::default(),
        desired,
    )
    .map_err(|e| match e {
        CallError::Strategy(e) => e,
        failure => panic!("{failure}"),
    })
}
