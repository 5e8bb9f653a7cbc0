//! How the simulated world behaves (pod start-up, controller lags, health checks, traffic) and
//! the faults a scenario puts on its timeline. All times are in simulated seconds.

use serde::{Deserialize, Serialize};

/// Timings and modes of the simulated world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorldConfig {
    /// Seconds from a pod's creation until its container runs.
    pub pod_start_seconds: u64,
    /// Seconds a deleted pod keeps serving (its preStop hook) after it leaves its endpoints;
    /// 0, the default, is the worst case: it stops at once.
    pub pre_stop_seconds: u64,
    /// Seconds the AWS Load Balancer Controller takes to apply an Ingress change to the ALB.
    pub lb_controller_lag_seconds: u64,
    /// Seconds from an endpoint change until the controller registers or deregisters targets.
    pub registration_lag_seconds: u64,
    /// Seconds of health checks before a registered target turns healthy.
    pub health_check_seconds: u64,
    /// Seconds a deregistered target drains before it leaves its target group.
    pub deregistration_delay_seconds: u64,
    /// `ip` (pods are targets) or `instance` (node ports are targets).
    pub target_type: String,
    /// Pod readiness gates: in IP mode a pod is Ready only once its target is healthy.
    pub readiness_gates: bool,
    /// Requests per second each Ingress receives, for traffic accounting.
    pub requests_per_second: u32,
    /// The annotation prefix the simulated AWS Load Balancer Controller reads.
    pub annotation_prefix: String,
}

impl Default for WorldConfig {
    fn default() -> Self {
        WorldConfig {
            pod_start_seconds: 5,
            pre_stop_seconds: 0,
            lb_controller_lag_seconds: 2,
            registration_lag_seconds: 3,
            health_check_seconds: 5,
            deregistration_delay_seconds: 10,
            target_type: "ip".to_string(),
            readiness_gates: true,
            requests_per_second: 100,
            annotation_prefix: albatross_policy::spec::DEFAULT_ANNOTATION_PREFIX.to_string(),
        }
    }
}

impl WorldConfig {
    /// Whether targets are pod IPs.
    pub fn ip_mode(&self) -> bool {
        self.target_type != "instance"
    }
}

/// A fault active from `from` (inclusive) to `to` (exclusive), in simulated seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "kind"
)]
pub enum Fault {
    /// The AWS Load Balancer Controller does nothing: Ingress changes and endpoint changes
    /// reach the ALB only after `to`.
    LbControllerDown {
        /// Start.
        from: u64,
        /// End.
        to: u64,
    },
    /// Target registration takes `extra_seconds` more than usual.
    RegistrationDelay {
        /// Start.
        from: u64,
        /// End.
        to: u64,
        /// Added to the registration lag.
        extra_seconds: u64,
    },
    /// Every ELBv2 call is throttled.
    ElbThrottling {
        /// Start.
        from: u64,
        /// End.
        to: u64,
    },
    /// The AWS Load Balancer Controller's own ELBv2 calls are throttled: its ModifyRule
    /// fails and is retried, so an Ingress change reaches the ALB only after `to`; target
    /// registration goes on.
    LbcThrottling {
        /// Start.
        from: u64,
        /// End.
        to: u64,
    },
    /// Every cluster write from the strategy fails with a conflict.
    ApiConflicts {
        /// Start.
        from: u64,
        /// End.
        to: u64,
    },
}

impl Fault {
    fn window(&self) -> (u64, u64) {
        match self {
            Fault::LbControllerDown { from, to }
            | Fault::RegistrationDelay { from, to, .. }
            | Fault::ElbThrottling { from, to }
            | Fault::LbcThrottling { from, to }
            | Fault::ApiConflicts { from, to } => (*from, *to),
        }
    }

    /// Whether the fault is active at simulated second `t`.
    pub fn active(&self, t: u64) -> bool {
        let (from, to) = self.window();
        (from..to).contains(&t)
    }
}

/// The faults of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults(pub Vec<Fault>);

impl Faults {
    /// The LB controller is down at `t`.
    pub fn lb_controller_down(&self, t: u64) -> bool {
        self.0
            .iter()
            .any(|f| matches!(f, Fault::LbControllerDown { .. }) && f.active(t))
    }

    /// Extra registration lag at `t`.
    pub fn registration_delay(&self, t: u64) -> u64 {
        self.0
            .iter()
            .filter(|f| f.active(t))
            .map(|f| match f {
                Fault::RegistrationDelay { extra_seconds, .. } => *extra_seconds,
                _ => 0,
            })
            .sum()
    }

    /// ELBv2 throttles at `t`.
    pub fn elb_throttled(&self, t: u64) -> bool {
        self.0
            .iter()
            .any(|f| matches!(f, Fault::ElbThrottling { .. }) && f.active(t))
    }

    /// The LB controller's ELBv2 calls are throttled at `t`.
    pub fn lbc_throttled(&self, t: u64) -> bool {
        self.0
            .iter()
            .any(|f| matches!(f, Fault::LbcThrottling { .. }) && f.active(t))
    }

    /// Cluster writes conflict at `t`.
    pub fn api_conflicts(&self, t: u64) -> bool {
        self.0
            .iter()
            .any(|f| matches!(f, Fault::ApiConflicts { .. }) && f.active(t))
    }
}
