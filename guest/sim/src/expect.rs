//! What a scenario says must hold (`expect:`), checked against the trace of its run, so a
//! scenario can gate CI: requests lost at most N, each Rollout's final phase and final canary
//! weight (verified on the ALB), a phase reached by a given second. Without expectations, the
//! run is still judged: a Rollout that ends Degraded, or lost requests, is said so.

use albatross_policy::spec::namespace_of;
use serde::{Deserialize, Serialize};

use crate::runner::{Scenario, TimelineRow, Trace};

/// The expectations of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expectations {
    /// The most requests the run may lose (counted from the first second traffic is served).
    #[serde(default)]
    pub requests_lost_at_most: Option<f64>,
    /// The phase every Rollout (or the one named by `rollout`) ends in.
    #[serde(default)]
    pub final_phase: Option<String>,
    /// The canary weight every Rollout (or the one named) ends with, verified on the ALB.
    #[serde(default)]
    pub final_canary_weight: Option<u64>,
    /// The Rollout `finalPhase` and `finalCanaryWeight` are about; every one when absent.
    #[serde(default)]
    pub rollout: Option<String>,
    /// Phases that must be reached by a given second.
    #[serde(default)]
    pub reached: Vec<Reached>,
}

/// A phase a Rollout must be in at some second up to `by`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reached {
    /// The phase, e.g. `Paused`.
    pub phase: String,
    /// The latest second it may first be reached at.
    pub by: u64,
    /// The Rollout; every one when absent.
    #[serde(default)]
    pub rollout: Option<String>,
}

/// One expectation and whether the run met it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The expectation, e.g. `expect.finalPhase: Healthy (guestbook)`.
    pub expectation: String,
    /// Why it was not met; none when it was.
    pub failure: Option<String>,
}

/// The scenario's Rollouts, as `namespace/name` (the timeline's spelling); with
/// `replicate:`, every copy's.
fn rollouts(scenario: &Scenario) -> Vec<String> {
    crate::replicate::expand(scenario)
        .manifests
        .iter()
        .filter(|m| m["kind"] == "Rollout")
        .filter_map(|m| {
            let name = m["metadata"]["name"].as_str()?;
            Some(format!("{}/{name}", namespace_of(m)))
        })
        .collect()
}

/// Whether a timeline row is of `rollout`, given as `namespace/name` or as its name alone.
fn is_of(row: &TimelineRow, rollout: &str) -> bool {
    row.rollout == rollout || row.rollout.rsplit('/').next() == Some(rollout)
}

/// The last timeline row of `rollout`.
fn last_row<'a>(trace: &'a Trace, rollout: &str) -> Option<&'a TimelineRow> {
    trace.timeline.iter().rev().find(|r| is_of(r, rollout))
}

/// Checks every expectation of `scenario` against `trace`, one verdict each.
pub fn check(scenario: &Scenario, trace: &Trace) -> Vec<Verdict> {
    let Some(expect) = &scenario.expect else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(most) = expect.requests_lost_at_most {
        out.push(Verdict {
            expectation: format!("expect.requestsLostAtMost: {most}"),
            failure: (trace.requests_lost > most)
                .then(|| format!("{} requests were lost", trace.requests_lost.round())),
        });
    }
    let named: Vec<String> = match &expect.rollout {
        Some(r) => vec![r.clone()],
        None => rollouts(scenario),
    };
    for rollout in &named {
        let last = last_row(trace, rollout);
        if let Some(phase) = &expect.final_phase {
            let ended = last.map_or("nothing (it never ran)", |r| r.phase.as_str());
            out.push(Verdict {
                expectation: format!("expect.finalPhase: {phase} (Rollout {rollout})"),
                failure: (ended != phase).then(|| format!("it ended {ended}")),
            });
        }
        if let Some(weight) = expect.final_canary_weight {
            let failure = match last {
                Some(r) if r.desired_canary.unwrap_or(0) == weight && r.verified => None,
                Some(r) => Some(format!(
                    "it ended at canary {}{}",
                    r.desired_canary.unwrap_or(0),
                    if r.verified {
                        ""
                    } else {
                        ", not verified on the ALB"
                    }
                )),
                None => Some("it never ran".to_string()),
            };
            out.push(Verdict {
                expectation: format!("expect.finalCanaryWeight: {weight} (Rollout {rollout})"),
                failure,
            });
        }
    }
    for (i, reached) in expect.reached.iter().enumerate() {
        let who: Vec<String> = match &reached.rollout {
            Some(r) => vec![r.clone()],
            None => rollouts(scenario),
        };
        for rollout in who {
            let first = trace
                .timeline
                .iter()
                .find(|r| is_of(r, &rollout) && r.phase == reached.phase)
                .map(|r| r.t);
            out.push(Verdict {
                expectation: format!(
                    "expect.reached[{i}]: {} by {} s (Rollout {rollout})",
                    reached.phase, reached.by
                ),
                failure: match first {
                    Some(t) if t <= reached.by => None,
                    Some(t) => Some(format!("first reached at {t} s")),
                    None => Some("never reached".to_string()),
                },
            });
        }
    }
    out
}

/// What a run without expectations should still say in its last line: the Rollouts that end
/// Degraded, and the requests lost; none when neither.
pub fn warnings(scenario: &Scenario, trace: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    for rollout in rollouts(scenario) {
        if let Some(r) = last_row(trace, &rollout)
            && r.phase == "Degraded"
        {
            out.push(format!("Rollout {rollout} ended Degraded: {}", r.message));
        }
    }
    if trace.requests_lost > 0.0 {
        out.push(format!(
            "{} requests were lost",
            trace.requests_lost.round()
        ));
    }
    out
}
