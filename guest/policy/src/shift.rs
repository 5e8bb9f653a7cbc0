//! Weight shifts of a canary Rollout: writing a canary weight, only once the side whose share
//! grows has the healthy targets for it (`health`), verifying that the load balancer carries
//! it, and the weight to hold on the way back down while the stable has too few pods.

use crate::error::Result;
use crate::health::{Growing, Side};
use crate::host::Host;
use crate::pingpong::service_roles;
use crate::reconcile::{Pass, VERIFY_RETRY_MS};
use crate::spec::{CanaryStrategy, Rollout};
use crate::traffic::{header_routes_at, verify_all, write_traffic, written_canary_weights};
use crate::workload::namespace;

/// The canary weight to hold on the way down from `current` to `target` (abort, or a step
/// with less weight): the setWeight steps up to `idx` walked back from the last, the first
/// below `current` and above `target` that the stable can serve (`fits`); `current` when none
/// can.
pub(crate) fn walk_back(
    canary: &CanaryStrategy,
    idx: usize,
    current: u32,
    target: u32,
    fits: impl Fn(u32) -> bool,
) -> u32 {
    let upto = idx.saturating_add(1).min(canary.steps.len());
    canary.steps[..upto]
        .iter()
        .rev()
        .filter_map(|s| s.set_weight)
        .map(|w| u32::try_from(w.clamp(0, 100)).unwrap_or(0))
        .filter(|&w| w < current && w > target)
        .find(|&w| fits(w))
        .unwrap_or(current)
}

impl Pass {
    /// Writes the weight, verifies it (unless verification is off) and records both. Returns
    /// whether the load balancer carries it. A new weight is written only once the side whose
    /// share grows has the healthy targets for it (`health`); `sides` are the canary's and
    /// the stable's sides.
    pub(crate) fn shift<H: Host>(
        &mut self,
        host: &mut H,
        view: &Rollout,
        weight: u32,
        idx: usize,
        sides: (Side<'_>, Side<'_>),
    ) -> Result<bool> {
        if let Some((why, hold)) = self.shift_unsafe(host, view, weight, idx, sides)? {
            // The weight every Ingress asks for now is written back in full, so a target group
            // an edited action left out gets its health checks again while the shift waits.
            if let Some(hold) = hold {
                write_traffic(
                    host,
                    view,
                    hold,
                    &header_routes_at(view, idx),
                    &self.settings,
                )?;
            }
            self.waiting(
                format!("before canary weight {weight}: {why}"),
                VERIFY_RETRY_MS,
            );
            return Ok(false);
        }
        write_traffic(
            host,
            view,
            weight,
            &header_routes_at(view, idx),
            &self.settings,
        )?;
        if !self.settings.verify {
            self.record_weights(view, weight, true)?;
            return Ok(true);
        }
        let verdicts = match verify_all(host, view, weight, &self.settings) {
            Ok(v) => v,
            Err(e) => {
                self.record_weights(view, weight, false)?;
                self.waiting(
                    format!("waiting to verify canary weight {weight}: ELBv2 did not answer ({e})"),
                    VERIFY_RETRY_MS,
                );
                return Ok(false);
            }
        };
        let verified = verdicts.iter().all(|v| v.verified);
        self.record_weights(view, weight, verified)?;
        self.record_alb(&verdicts);
        if !verified {
            let why: Vec<&str> = verdicts
                .iter()
                .flat_map(|v| v.differences.iter().map(String::as_str))
                .collect();
            self.waiting(
                format!(
                    "waiting for the load balancer to carry canary weight {weight}: {}",
                    why.join("; ")
                ),
                VERIFY_RETRY_MS,
            );
        }
        Ok(verified)
    }

    /// Why writing canary `weight` now would send traffic where no healthy target waits for
    /// it, if it would (see `health`), and the canary weight to write back meanwhile, if that
    /// moves nothing. The shift is measured from what each Ingress's action asks for now (the
    /// status's weight where an action is unreadable or names other target groups): an action
    /// put back by hand or by a GitOps sync is a shift too. The weight is written back only
    /// when every Ingress reads as asking for that same weight of the canary and stable alone,
    /// and no header route is in force (rewriting one would send its requests to the canary
    /// the gate just found unready). None when every Ingress already asks for `weight`, before
    /// any weight was written, or with verification off.
    fn shift_unsafe<H: Host>(
        &self,
        host: &mut H,
        view: &Rollout,
        weight: u32,
        idx: usize,
        (canary, stable): (Side<'_>, Side<'_>),
    ) -> Result<Option<(String, Option<u32>)>> {
        let Some(recorded) = self.status.canary.weights.as_ref().map(|w| w.canary.weight) else {
            return Ok(None);
        };
        if !self.settings.verify {
            return Ok(None);
        }
        let read = written_canary_weights(host, view)?;
        let readable = read.iter().all(Option::is_some) && header_routes_at(view, idx).is_empty();
        let written: Vec<u32> = read.into_iter().map(|w| w.unwrap_or(recorded)).collect();
        let hold = |from: u32| (readable && written.iter().all(|w| *w == from)).then_some(from);
        let roles = service_roles(view)?;
        let alb = self.status.alb.as_ref();
        let replicas = view.spec.replicas_or_default();
        let ns = namespace(view);
        if let Some(from) = written.iter().copied().filter(|w| *w < weight).min() {
            let growing = Growing {
                service: &roles.canary_service,
                share: weight,
                side: canary,
                verified_group: alb
                    .and_then(|a| a.canary_target_group.as_ref())
                    .map(|g| g.arn.clone()),
            };
            if let Some(why) = self.unhealthy_for(host, ns, replicas, growing)? {
                return Ok(Some((why, hold(from))));
            }
        }
        if let Some(from) = written.iter().copied().filter(|w| *w > weight).max() {
            let growing = Growing {
                service: &roles.stable_service,
                share: 100 - weight,
                side: stable,
                verified_group: alb
                    .and_then(|a| a.stable_target_group.as_ref())
                    .map(|g| g.arn.clone()),
            };
            if let Some(why) = self.unhealthy_for(host, ns, replicas, growing)? {
                return Ok(Some((why, hold(from))));
            }
        }
        Ok(None)
    }
}
