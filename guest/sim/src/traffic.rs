//! Traffic accounting: every simulated second, each ALB's requests are split by its rules'
//! weights among target groups and spread over their targets the way an ALB does (healthy
//! targets only; all registered ones only when every one is unhealthy, the ALB's fail-open; a
//! group with only `initial` or `draining` targets answers 503). A request that lands on a
//! target whose pod is not serving, or on a target group with no target to route to, is lost:
//! the 502s and 503s of a premature scale-down or of a shift onto targets still in health
//! checks.

use std::collections::BTreeMap;

use albatross_policy::elb::TargetHealthState;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::lbc::{NODES, TgSim};
use crate::world::World;

/// One second of a Rollout's traffic (see [`World::rollout_traffic`]).
#[derive(Debug, Clone, Copy)]
pub struct RolloutTraffic<'a> {
    /// The sample of its first ALB, this second.
    pub sample: Option<&'a TrafficSample>,
    /// Requests lost on its ALBs this second, once they had served.
    pub lost: f64,
    /// Requests lost on its ALBs this second before they first served (not counted).
    pub lost_before_serving: f64,
}

/// One second of traffic on one ALB.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficSample {
    /// The simulated second.
    pub t: u64,
    /// The Ingress, `namespace/name`.
    pub ingress: String,
    /// Percent of requests sent to each Service's target group.
    pub share: BTreeMap<String, f64>,
    /// Requests this second.
    pub requests: f64,
    /// Requests that reached no serving pod.
    pub lost: f64,
}

impl TrafficSample {
    /// The shares rounded to a tenth of a percent, as the trace shows them.
    pub fn rounded_share(&self) -> BTreeMap<String, f64> {
        self.share
            .iter()
            .map(|(k, v)| (k.clone(), (v * 10.0).round() / 10.0))
            .collect()
    }
}

/// The targets an ALB sends a target group's requests to: its `healthy` ones; when none is
/// healthy and every registered one is `unhealthy`, all of them (the ALB fails open); else
/// none, and the requests get a 503 (a group with only `initial` or `draining` targets).
pub fn routable(tg: &TgSim) -> Vec<&String> {
    let with = |state: TargetHealthState| -> Vec<&String> {
        tg.targets
            .iter()
            .filter(|(_, t)| t.state == state)
            .map(|((id, _), _)| id)
            .collect()
    };
    let healthy = with(TargetHealthState::Healthy);
    if !healthy.is_empty() {
        return healthy;
    }
    let registered = tg
        .targets
        .values()
        .filter(|t| !t.state.is_leaving() && t.state != TargetHealthState::Unused)
        .count();
    let unhealthy = with(TargetHealthState::Unhealthy);
    if registered > 0 && unhealthy.len() == registered {
        return unhealthy;
    }
    Vec::new()
}

impl World {
    fn serving(&self, namespace: &str, service: &str, id: &str) -> bool {
        if self.config.ip_mode() {
            self.pod_running(id)
        } else {
            NODES.contains(&id) && !self.endpoint_ips(namespace, service).0.is_empty()
        }
    }

    /// Accounts this second's requests on every ALB.
    pub(crate) fn account_traffic(&mut self) {
        let rps = f64::from(self.config.requests_per_second);
        let mut samples = Vec::new();
        for ((ns, ingress), alb) in &self.elb.albs {
            let routed: Vec<_> = alb
                .rules
                .iter()
                .filter(|r| !r.is_default && r.conditions.iter().all(|c| c.field != "http-header"))
                .collect();
            let mut sample = TrafficSample {
                t: self.now_s,
                ingress: format!("{ns}/{ingress}"),
                share: BTreeMap::new(),
                requests: if routed.is_empty() { 0.0 } else { rps },
                lost: 0.0,
            };
            for rule in &routed {
                let per_rule = rps / routed.len() as f64;
                for action in &rule.actions {
                    let groups: Vec<(String, f64)> =
                        match (&action.forward, &action.target_group_arn) {
                            (Some(f), _) => f
                                .target_groups
                                .iter()
                                .map(|g| {
                                    (g.target_group_arn.clone(), f64::from(g.weight.unwrap_or(1)))
                                })
                                .collect(),
                            (None, Some(arn)) => vec![(arn.clone(), 1.0)],
                            (None, None) => continue,
                        };
                    let total: f64 = groups.iter().map(|(_, w)| w).sum();
                    if total <= 0.0 {
                        sample.lost += per_rule;
                        continue;
                    }
                    for (arn, w) in groups {
                        let requests = per_rule * w / total;
                        let Some(tg) = self.elb.target_groups.get(&arn) else {
                            sample.lost += requests;
                            continue;
                        };
                        *sample.share.entry(tg.service.clone()).or_default() +=
                            100.0 * requests / rps;
                        if requests == 0.0 {
                            continue;
                        }
                        let eligible = routable(tg);
                        if eligible.is_empty() {
                            sample.lost += requests;
                            continue;
                        }
                        let each = requests / eligible.len() as f64;
                        for id in eligible {
                            if !self.serving(&tg.namespace, &tg.service, id) {
                                sample.lost += each;
                            }
                        }
                    }
                }
            }
            samples.push(sample);
        }
        for s in &samples {
            if s.requests > 0.0 && s.lost < s.requests {
                self.first_served.entry(s.ingress.clone()).or_insert(s.t);
            }
        }
        self.traffic.extend(samples);
    }

    /// The first second `ingress` (`namespace/name`) served a request: traffic came and not
    /// all of it was lost. Before it, nothing was deployed that could lose a request.
    pub fn first_served(&self, ingress: &str) -> Option<u64> {
        self.first_served.get(ingress).copied()
    }

    /// This second's traffic on the ALBs of a Rollout (its `trafficRouting.alb` Ingresses;
    /// every Ingress of its namespace when it names none, as a blue-green Rollout does): the
    /// first one's sample (its split), the requests lost on them since they first served,
    /// and those lost before (not counted).
    pub fn rollout_traffic(&self, ns: &str, rollout: &Value) -> RolloutTraffic<'_> {
        let alb = &rollout["spec"]["strategy"]["canary"]["trafficRouting"]["alb"];
        let mine: Vec<String> = alb["ingress"]
            .as_str()
            .into_iter()
            .chain(
                alb["ingresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            )
            .map(|i| format!("{ns}/{i}"))
            .collect();
        let prefix = format!("{ns}/");
        let now: Vec<&TrafficSample> = self
            .traffic
            .iter()
            .rev()
            .take_while(|s| s.t == self.now_s)
            .filter(|s| {
                if mine.is_empty() {
                    s.ingress.starts_with(&prefix)
                } else {
                    mine.contains(&s.ingress)
                }
            })
            .collect();
        let mut out = RolloutTraffic {
            sample: now.last().copied(),
            lost: 0.0,
            lost_before_serving: 0.0,
        };
        for s in now {
            if self.first_served(&s.ingress).is_some_and(|t| t <= s.t) {
                out.lost += s.lost;
            } else {
                out.lost_before_serving += s.lost;
            }
        }
        out
    }

    /// Requests lost over the run, counted per Ingress from the first second in which it
    /// served a request (before the first deployment is up nothing is there to lose).
    pub fn requests_lost(&self) -> f64 {
        let mut up: std::collections::BTreeSet<&str> = Default::default();
        let mut lost = 0.0;
        for s in &self.traffic {
            if up.contains(s.ingress.as_str()) {
                lost += s.lost;
            } else if s.requests > 0.0 && s.lost < s.requests {
                up.insert(&s.ingress);
                lost += s.lost;
            }
        }
        lost
    }
}
