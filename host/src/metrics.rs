//! The controller's Prometheus metrics: one [`Metrics`] with one registry, made once at start
//! and passed to whoever counts. It holds the controller's own series and registers the ELBv2
//! client's, the Kubernetes requests' and the capability refusals' beside them, so `/metrics`
//! shows them all.
//!
//! | series | what |
//! | --- | --- |
//! | `albatross_reconciles_total{result}` | passes, by `ok`, `requeued-conflict`, `host-error`, `module-failure`, `strategy-error`, `write-error` |
//! | `albatross_reconcile_duration_seconds` | one pass, start to the status written |
//! | `albatross_module_call_duration_seconds{module}` | the module's reconcile call alone |
//! | `albatross_verification_waits_total{reason}` | passes that ended waiting for verification (`weights`, `target-ips`) |
//! | `albatross_rollout_info{namespace,rollout,phase,module}` | 1 per Rollout, in the spirit of Argo's `rollout_info` |
//! | `albatross_rollout_step{namespace,rollout}` | `status.currentStepIndex` |
//! | `albatross_rollout_desired_weight{namespace,rollout}`, `albatross_rollout_verified_weight{...}` | the canary weight wanted, and the last one verified on the ALB |
//! | `albatross_elbv2_requests_total`, `albatross_elbv2_cache_total` | see `aws::metrics` |
//! | `albatross_kube_requests_total{verb,kind}`, `albatross_kube_cache_reads_total{kind,result}` | see `backend::kube`, `backend::read_cache` |
//! | `albatross_import_refusals_total{module,kind,verb}` | see `runtime::capabilities` |

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::Value;

use crate::aws::metrics::Elbv2Metrics;
use crate::backend::kube::KubeCounters;
use crate::runtime::capabilities;

/// A label set of one value.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// The outcome.
    pub result: String,
}

/// The module label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModuleLabel {
    /// The module's name.
    pub module: String,
}

/// The reason label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// Why.
    pub reason: String,
}

/// A Rollout.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RolloutLabels {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub rollout: String,
}

/// A Rollout, its phase and the module serving it.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RolloutInfoLabels {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub rollout: String,
    /// `status.phase`.
    pub phase: String,
    /// The module that served its last pass.
    pub module: String,
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// Every series the controller serves.
pub struct Metrics {
    registry: Mutex<Registry>,
    /// Passes by result.
    pub reconciles: Family<ResultLabel, Counter>,
    /// One pass.
    pub reconcile_seconds: Histogram,
    /// The module's call alone, by module.
    pub module_call_seconds: Family<ModuleLabel, Histogram, fn() -> Histogram>,
    /// Passes that ended waiting for verification.
    pub verification_waits: Family<ReasonLabel, Counter>,
    /// 1 per Rollout.
    pub rollout_info: Family<RolloutInfoLabels, Gauge>,
    /// The step of each Rollout.
    pub rollout_step: Family<RolloutLabels, Gauge>,
    /// The desired canary weight.
    pub desired_weight: Family<RolloutLabels, Gauge>,
    /// The last verified canary weight.
    pub verified_weight: Family<RolloutLabels, Gauge>,
    /// The ELBv2 client's.
    pub elbv2: Arc<Elbv2Metrics>,
    /// Kubernetes requests made for modules.
    pub kube: Arc<KubeCounters>,
    info_labels: Mutex<BTreeMap<(String, String), RolloutInfoLabels>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every series, registered.
    pub fn new() -> Self {
        let metrics = Metrics {
            registry: Mutex::new(Registry::default()),
            reconciles: Family::default(),
            reconcile_seconds: duration_histogram(),
            module_call_seconds: Family::new_with_constructor(duration_histogram),
            verification_waits: Family::default(),
            rollout_info: Family::default(),
            rollout_step: Family::default(),
            desired_weight: Family::default(),
            verified_weight: Family::default(),
            elbv2: Arc::new(Elbv2Metrics::new()),
            kube: Arc::new(KubeCounters::default()),
            info_labels: Mutex::new(BTreeMap::new()),
        };
        {
            let mut r = metrics
                .registry
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            r.register(
                "albatross_reconciles",
                "Reconcile passes, by result",
                metrics.reconciles.clone(),
            );
            r.register(
                "albatross_reconcile_duration_seconds",
                "One reconcile pass, from its start to its status written",
                metrics.reconcile_seconds.clone(),
            );
            r.register(
                "albatross_module_call_duration_seconds",
                "The strategy module's reconcile call, by module",
                metrics.module_call_seconds.clone(),
            );
            r.register(
                "albatross_verification_waits",
                "Passes that ended waiting for the load balancer to be verified, by what",
                metrics.verification_waits.clone(),
            );
            r.register(
                "albatross_rollout_info",
                "1 for each Rollout, with its phase and the module serving it",
                metrics.rollout_info.clone(),
            );
            r.register(
                "albatross_rollout_step",
                "status.currentStepIndex of each Rollout",
                metrics.rollout_step.clone(),
            );
            r.register(
                "albatross_rollout_desired_weight",
                "The canary weight each Rollout wants",
                metrics.desired_weight.clone(),
            );
            r.register(
                "albatross_rollout_verified_weight",
                "The canary weight last verified on the load balancer",
                metrics.verified_weight.clone(),
            );
            metrics.elbv2.register(&mut r);
            metrics.kube.register(&mut r);
            capabilities::register(&mut r);
        }
        metrics
    }

    /// The text exposition of every series.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }

    /// Sets the per-Rollout gauges from its status after a pass.
    pub fn observe_rollout(&self, namespace: &str, name: &str, module: &str, status: &Value) {
        let labels = RolloutLabels {
            namespace: namespace.to_string(),
            rollout: name.to_string(),
        };
        let info = RolloutInfoLabels {
            namespace: namespace.to_string(),
            rollout: name.to_string(),
            phase: status["phase"].as_str().unwrap_or("").to_string(),
            module: module.to_string(),
        };
        let mut known = self
            .info_labels
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = known.insert((namespace.into(), name.into()), info.clone())
            && old != info
        {
            self.rollout_info.remove(&old);
        }
        self.rollout_info.get_or_create(&info).set(1);
        let gauge = |family: &Family<RolloutLabels, Gauge>, v: Option<i64>| match v {
            Some(v) => {
                family.get_or_create(&labels).set(v);
            }
            None => {
                family.remove(&labels);
            }
        };
        gauge(&self.rollout_step, status["currentStepIndex"].as_i64());
        let weights = &status["canary"]["weights"];
        let desired = weights["canary"]["weight"].as_i64();
        gauge(&self.desired_weight, desired);
        if weights["verified"].as_bool() == Some(true) {
            gauge(&self.verified_weight, desired);
        }
        let message = status["message"].as_str().unwrap_or_default();
        if weights["verified"].as_bool() == Some(false) {
            self.wait("weights");
        } else if message.contains("IP") {
            self.wait("target-ips");
        }
    }

    /// Forgets a Rollout's gauges (it was deleted or left the controller).
    pub fn forget_rollout(&self, namespace: &str, name: &str) {
        let labels = RolloutLabels {
            namespace: namespace.to_string(),
            rollout: name.to_string(),
        };
        if let Some(old) = self
            .info_labels
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(namespace.into(), name.into()))
        {
            self.rollout_info.remove(&old);
        }
        for family in [
            &self.rollout_step,
            &self.desired_weight,
            &self.verified_weight,
        ] {
            family.remove(&labels);
        }
    }

    fn wait(&self, reason: &str) {
        self.verification_waits
            .get_or_create(&ReasonLabel {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Counts a pass by its result.
    pub fn count(&self, result: &str) {
        self.reconciles
            .get_or_create(&ResultLabel {
                result: result.to_string(),
            })
            .inc();
    }
}
