//! Target registration by the simulated AWS Load Balancer Controller: which targets each target
//! group should hold (in IP mode the Service's endpoint IPs, ready or not, at the target port
//! its TargetGroupBinding's Service port resolves to; in instance mode the nodes at the node
//! port), registered and deregistered after the registration lag, keyed by `id:port` as ELBv2
//! keys them (a changed target port registers the new `IP:port` and drains the old), healthy
//! after the health checks while the pod runs, unhealthy when it stops, drained after the
//! deregistration delay, and `unused` while no rule forwards to the group.

use std::borrow::Cow;
use std::collections::BTreeSet;

use albatross_policy::elb::TargetHealthState;
use albatross_policy::target_port::{ServicePortRef, resolve_target_port};

use crate::lbc::{NODE_PORT, NODES, TargetKey, TargetSim, TgSim};
use crate::world::World;

impl World {
    /// The ids of the targets healthy in some target group, on any port.
    pub fn healthy_target_ids(&self) -> BTreeSet<String> {
        self.elb
            .target_groups
            .values()
            .flat_map(|t| t.targets.iter())
            .filter(|(_, x)| x.state == TargetHealthState::Healthy)
            .map(|((id, _), _)| id.clone())
            .collect()
    }

    /// The port `tg`'s pods are registered on: its Service port resolved through the
    /// Service's `targetPort` (none while the Service or the port is missing, when the real
    /// controller registers nothing new either).
    fn target_port(&self, tg: &TgSim) -> Option<u32> {
        let key = (tg.namespace.clone(), tg.service.clone());
        let service = self.views.services.get(&key)?;
        let endpoints = self.views.endpoints.get(&key);
        resolve_target_port(
            &service.object,
            endpoints.map(|e| &e.object),
            &ServicePortRef::Number(tg.service_port),
            ("TargetGroupBinding", "spec.serviceRef.port"),
        )
        .ok()
    }

    /// The targets `tg` should hold now, and the ids whose pods serve (`running`: the IPs of
    /// the running pods).
    fn desired_targets<'a>(
        &self,
        tg: &TgSim,
        running: &'a BTreeSet<String>,
    ) -> Option<(Vec<TargetKey>, Cow<'a, BTreeSet<String>>)> {
        let (ready, not_ready) = self.endpoint_ips(&tg.namespace, &tg.service);
        if self.config.ip_mode() {
            let port = self.target_port(tg)?;
            let desired = ready
                .into_iter()
                .chain(not_ready)
                .map(|ip| (ip, port))
                .collect();
            return Some((desired, Cow::Borrowed(running)));
        }
        let nodes: Vec<TargetKey> = NODES.iter().map(|n| (n.to_string(), NODE_PORT)).collect();
        let serving = if ready.is_empty() {
            BTreeSet::new()
        } else {
            NODES.iter().map(|n| n.to_string()).collect()
        };
        Some((nodes, Cow::Owned(serving)))
    }

    /// One second of target registration and health checks in every target group.
    pub(crate) fn reconcile_targets(&mut self) {
        let now = self.now_s;
        let lag = self.config.registration_lag_seconds + self.faults.registration_delay(now);
        let hc = self.config.health_check_seconds;
        let drain = self.config.deregistration_delay_seconds;
        let arns: Vec<String> = self.elb.target_groups.keys().cloned().collect();
        self.views.sync(&self.store);
        let running = self.running_ips();
        for arn in arns {
            let referenced = self.elb.referenced(&arn);
            let Some(tg) = self.elb.target_groups.get(&arn) else {
                continue;
            };
            let Some((desired, serving_ids)) = self.desired_targets(tg, &running) else {
                continue;
            };
            let Some(tg) = self.elb.target_groups.get_mut(&arn) else {
                continue;
            };
            queue_changes(tg, &desired, now);
            apply_due(tg, &desired, now, lag);
            tg.targets
                .retain(|_, t| !(t.state.is_leaving() && now >= t.since + drain));
            for ((id, _), t) in tg.targets.iter_mut() {
                if !t.state.is_leaving() {
                    check_health(t, referenced, serving_ids.contains(id), now, hc);
                }
            }
        }
    }
}

/// Queues the registration of each desired target not registered, and the deregistration of
/// each registered target no longer desired (keeping the second each was first queued).
fn queue_changes(tg: &mut TgSim, desired: &[TargetKey], now: u64) {
    for key in desired {
        let registered = tg.targets.get(key).is_some_and(|t| !t.state.is_leaving());
        if !registered {
            let since = match tg.pending.get(key) {
                Some((true, s)) => *s,
                _ => now,
            };
            tg.pending.insert(key.clone(), (true, since));
        }
    }
    let gone: Vec<TargetKey> = tg
        .targets
        .iter()
        .filter(|(key, t)| !desired.contains(key) && !t.state.is_leaving())
        .map(|(key, _)| key.clone())
        .collect();
    for key in gone {
        let since = match tg.pending.get(&key) {
            Some((false, s)) => *s,
            _ => now,
        };
        tg.pending.insert(key, (false, since));
    }
}

/// Applies the queued changes whose lag has passed: a registration starts `initial`, a
/// deregistration `draining`. A change no longer wanted is dropped.
fn apply_due(tg: &mut TgSim, desired: &[TargetKey], now: u64, lag: u64) {
    let due: Vec<(TargetKey, bool)> = tg
        .pending
        .iter()
        .filter(|(key, (add, since))| now >= since + lag && (*add == desired.contains(key)))
        .map(|(key, (add, _))| (key.clone(), *add))
        .collect();
    tg.pending
        .retain(|key, (add, _)| *add == desired.contains(key));
    for (key, add) in due {
        tg.pending.remove(&key);
        let state = if add {
            TargetHealthState::Initial
        } else {
            TargetHealthState::Draining
        };
        tg.targets.insert(key, entered(state, now, None));
    }
}

/// A target that entered `state` at `now`.
fn entered(state: TargetHealthState, now: u64, failing_since: Option<u64>) -> TargetSim {
    TargetSim {
        state,
        since: now,
        failing_since,
    }
}

/// One second of health checks on a registered target: `unused` while no rule forwards to its
/// group; healthy `hc` seconds after it starts serving; unhealthy `hc` seconds after it stops.
fn check_health(t: &mut TargetSim, referenced: bool, serving: bool, now: u64, hc: u64) {
    if !referenced {
        if t.state != TargetHealthState::Unused {
            *t = entered(TargetHealthState::Unused, now, None);
        }
        return;
    }
    if t.state == TargetHealthState::Unused {
        *t = entered(TargetHealthState::Initial, now, None);
    }
    if serving {
        t.failing_since = None;
        if t.state != TargetHealthState::Healthy && now >= t.since + hc {
            *t = entered(TargetHealthState::Healthy, now, None);
        }
    } else {
        let failing = *t.failing_since.get_or_insert(now);
        if t.state != TargetHealthState::Unhealthy && now >= failing + hc {
            *t = entered(TargetHealthState::Unhealthy, now, Some(failing));
        }
    }
}
