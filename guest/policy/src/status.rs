//! The Rollout `status` the strategy reads and writes, with Argo Rollouts' field names:
//! currentStepIndex, stableRS, currentPodHash, pauseConditions, controllerPause, canary weights
//! and stablePingPong, the ALB's load balancer and target groups, phase and message, the pod
//! counts (`kubectl get rollouts` columns, the scale subresource). Fields it
//! does not know are kept as they were.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `status` of a Rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The step the canary is at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step_index: Option<i64>,
    /// Canary-specific status.
    #[serde(default, skip_serializing_if = "CanaryStatus::is_empty")]
    pub canary: CanaryStatus,
    /// Set when the rollout was aborted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub abort: bool,
    /// Set when the user asked to skip the remaining steps.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promote_full: bool,
    /// The pod-template hash of the stable ReplicaSet.
    #[serde(default, rename = "stableRS", skip_serializing_if = "Option::is_none")]
    pub stable_rs: Option<String>,
    /// The pod-template hash of the current spec.template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_pod_hash: Option<String>,
    /// Why the Rollout is paused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pause_conditions: Vec<PauseCondition>,
    /// Set by the controller when it paused the Rollout; a paused Rollout whose
    /// pauseConditions were cleared while this stays set has been promoted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub controller_pause: bool,
    /// `Progressing`, `Paused`, `Healthy`, `Degraded`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// What the Rollout is doing or waiting for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The load balancer and target groups found for the Rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alb: Option<AlbStatus>,
    /// Pods of every revision (spec.replicas of each ReplicaSet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Pods of the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_replicas: Option<u32>,
    /// Available pods of every revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_replicas: Option<u32>,
    /// What a HorizontalPodAutoscaler reads through the scale subresource (= replicas).
    #[serde(
        default,
        rename = "HPAReplicas",
        skip_serializing_if = "Option::is_none"
    )]
    pub hpa_replicas: Option<u32>,
    /// The pod selector as a label-selector string (`app=guestbook`), for the scale
    /// subresource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Every other status field, kept as it was.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// `status.canary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// `ping` or `pong`: which ping-pong service is stable. Empty counts as not `ping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_ping_pong: Option<String>,
    /// The weights last set, and whether the load balancer was verified to carry them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<TrafficWeights>,
    /// The stable weight the load balancer was last verified to carry (Albatross's own
    /// field): with dynamicStableScale the stable is sized by it, never by a weight that is
    /// written but not yet verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_stable_weight: Option<u32>,
    /// Every other field, kept as it was.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl CanaryStatus {
    fn is_empty(&self) -> bool {
        self.stable_ping_pong.is_none()
            && self.weights.is_none()
            && self.verified_stable_weight.is_none()
            && self.other.is_empty()
    }
}

/// `status.pauseConditions[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PauseCondition {
    /// `CanaryPauseStep`, `BlueGreenPause`, ...
    pub reason: String,
    /// RFC 3339 time the pause began.
    pub start_time: String,
}

/// `status.canary.weights`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficWeights {
    /// The canary destination.
    pub canary: WeightDestination,
    /// The stable destination.
    pub stable: WeightDestination,
    /// Whether the load balancer was verified to carry these weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// One destination of `status.canary.weights`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDestination {
    /// The weight, 0..100.
    pub weight: u32,
    /// The service.
    pub service_name: String,
}

/// `status.alb`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbStatus {
    /// The load balancer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<AwsResourceRef>,
    /// The canary target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_target_group: Option<AwsResourceRef>,
    /// The stable target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_target_group: Option<AwsResourceRef>,
}

/// A named AWS resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsResourceRef {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
}

/// RFC 3339 UTC time (`2026-11-23T08:00:00Z`) for milliseconds since the Unix epoch.
pub fn rfc3339(millis: u64) -> String {
    let secs = millis / 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds since the Unix epoch for an RFC 3339 UTC time as [`rfc3339`] writes it
/// (fractions and offsets other than `Z` are not read).
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs).ok()?.checked_mul(1000)
}
