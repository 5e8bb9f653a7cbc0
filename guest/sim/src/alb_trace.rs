//! The per-ALB view the trace carries, so the critical seconds of a run can be inspected: for
//! each ALB a row whenever what it does changed, with the share of requests each Service's
//! target group got that second, the requests and the requests lost, and every target of each
//! of its target groups with its health state.

use std::collections::BTreeMap;

use albatross_policy::elb::TargetHealthState;
use serde::{Deserialize, Serialize};

use crate::world::World;

/// One ALB in one second.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbRow {
    /// The simulated second.
    pub t: u64,
    /// The Ingress the ALB was built for, `namespace/name`.
    pub ingress: String,
    /// Percent of requests sent to each Service's target group.
    pub share: BTreeMap<String, f64>,
    /// Requests this second.
    pub requests: f64,
    /// Requests that reached no serving pod.
    pub lost: f64,
    /// Each target of each of the ALB's target groups (by Service) and its health state.
    pub targets: BTreeMap<String, BTreeMap<String, TargetHealthState>>,
}

impl AlbRow {
    /// Whether `other` shows the same ALB doing the same, whatever the second.
    fn same_as(&self, other: &AlbRow) -> bool {
        self.ingress == other.ingress
            && self.share == other.share
            && self.requests == other.requests
            && self.lost == other.lost
            && self.targets == other.targets
    }
}

impl World {
    /// A row for each ALB, this second.
    pub fn alb_rows(&self) -> Vec<AlbRow> {
        let mut by_lb: BTreeMap<&str, BTreeMap<String, BTreeMap<String, TargetHealthState>>> =
            BTreeMap::new();
        for tg in self.elb.target_groups.values() {
            for lb in &tg.tg.load_balancer_arns {
                by_lb
                    .entry(lb.as_str())
                    .or_default()
                    .entry(tg.service.clone())
                    .or_default()
                    .extend(tg.targets.iter().map(|((id, _), t)| (id.clone(), t.state)));
            }
        }
        let samples: BTreeMap<&str, _> = self
            .traffic
            .iter()
            .rev()
            .take_while(|s| s.t == self.now_s)
            .map(|s| (s.ingress.as_str(), s))
            .collect();
        self.elb
            .albs
            .iter()
            .map(|((ns, name), alb)| {
                let ingress = format!("{ns}/{name}");
                let sample = samples.get(ingress.as_str());
                AlbRow {
                    t: self.now_s,
                    share: sample.map(|s| s.rounded_share()).unwrap_or_default(),
                    requests: sample.map_or(0.0, |s| s.requests),
                    lost: sample.map_or(0.0, |s| s.lost),
                    targets: by_lb.remove(alb.lb.arn.as_str()).unwrap_or_default(),
                    ingress,
                }
            })
            .collect()
    }
}

/// Appends each of `now` whose ALB does something else than in its last row in `rows`.
pub fn append_changed(rows: &mut Vec<AlbRow>, now: Vec<AlbRow>) {
    for row in now {
        let same = rows
            .iter()
            .rev()
            .find(|r| r.ingress == row.ingress)
            .is_some_and(|last| last.same_as(&row));
        if !same {
            rows.push(row);
        }
    }
}
