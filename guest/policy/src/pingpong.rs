//! Service roles and ping-pong: which service is stable and which canary (the ping-pong pair
//! wins over canaryService/stableService, as in Argo Rollouts), and when the hats are swapped.

use serde::{Deserialize, Serialize};

use crate::action::{Annotation, build_action};
use crate::error::{Result, StrategyError};
use crate::spec::Rollout;

/// `status.canary.stablePingPong` when the ping service is stable.
pub const PING: &str = "ping";
/// `status.canary.stablePingPong` when the pong service is stable.
pub const PONG: &str = "pong";

/// The canary and stable services of a Rollout, whatever configures them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRoles {
    /// The service that selects canary pods now.
    pub canary_service: String,
    /// The service that selects stable pods now.
    pub stable_service: String,
}

/// Which ping-pong service carries which role (the WIT `ping-pong-roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingPongRoles {
    /// The stable service now.
    pub stable_service: String,
    /// The canary service now.
    pub canary_service: String,
    /// `ping` or `pong`: which one is stable.
    pub stable_ping_pong: String,
}

/// The swap decision (the WIT `ping-pong-swap`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingPongSwap {
    /// True when the swap is due now.
    pub swap: bool,
    /// Why, or why not.
    pub reason: String,
    /// The roles after the decision.
    pub roles: PingPongRoles,
    /// The action annotations to write with the new roles, when swapping.
    pub annotations: Vec<Annotation>,
}

/// The ping-pong roles from `status.canary.stablePingPong`: `ping` makes ping stable; anything
/// else, empty included, makes pong stable (Argo's IsStablePing). None without ping-pong.
pub fn ping_pong_roles(rollout: &Rollout) -> Result<Option<PingPongRoles>> {
    let Some(pp) = rollout.canary()?.ping_pong.as_ref() else {
        return Ok(None);
    };
    let ping_stable = rollout.status.canary.stable_ping_pong.as_deref() == Some(PING);
    Ok(Some(if ping_stable {
        PingPongRoles {
            stable_service: pp.ping_service.clone(),
            canary_service: pp.pong_service.clone(),
            stable_ping_pong: PING.to_string(),
        }
    } else {
        PingPongRoles {
            stable_service: pp.pong_service.clone(),
            canary_service: pp.ping_service.clone(),
            stable_ping_pong: PONG.to_string(),
        }
    }))
}

/// The canary and stable services: the ping-pong pair when configured, else
/// canaryService/stableService.
pub fn service_roles(rollout: &Rollout) -> Result<ServiceRoles> {
    if let Some(pp) = ping_pong_roles(rollout)? {
        return Ok(ServiceRoles {
            canary_service: pp.canary_service,
            stable_service: pp.stable_service,
        });
    }
    let canary = rollout.canary()?;
    let named = |value: &Option<String>, field: &str| {
        value.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
            StrategyError::field(
                &rollout.display_name(),
                format!("spec.strategy.canary.{field}"),
                "ALB traffic routing needs canaryService and stableService (or pingPong)",
            )
        })
    };
    Ok(ServiceRoles {
        canary_service: named(&canary.canary_service, "canaryService")?,
        stable_service: named(&canary.stable_service, "stableService")?,
    })
}

/// Whether to swap the ping-pong hats now. The swap is due once every step is done (or the
/// Rollout was promoted fully), the Rollout is not aborted, the new pods are not yet the
/// stable ReplicaSet, and the load balancer is verified to carry all traffic on the canary.
/// It writes `status.canary.stablePingPong` = the canary's side and the action annotation with
/// the new roles at stable 100 — the same traffic the load balancer already carries.
pub fn decide_swap(rollout: &Rollout, verified_canary_weight: Option<u32>) -> Result<PingPongSwap> {
    let roles = ping_pong_roles(rollout)?.ok_or_else(|| {
        StrategyError::field(
            &rollout.display_name(),
            "spec.strategy.canary.pingPong",
            "this Rollout does not use ping-pong",
        )
    })?;
    let steps = rollout.canary()?.steps.len();
    let status = &rollout.status;
    let at_step = status
        .current_step_index
        .map(|i| usize::try_from(i.max(0)).unwrap_or(usize::MAX))
        .unwrap_or(0);
    let keep = |reason: &str| PingPongSwap {
        swap: false,
        reason: reason.to_string(),
        roles: roles.clone(),
        annotations: Vec::new(),
    };
    if status.abort {
        return Ok(keep("the rollout is aborted: the stable keeps its hat"));
    }
    if at_step < steps && !status.promote_full {
        return Ok(keep("steps remain: the swap comes after full promotion"));
    }
    if status.stable_rs.is_some() && status.stable_rs == status.current_pod_hash {
        return Ok(keep("the current pods are already stable: nothing to swap"));
    }
    if verified_canary_weight != Some(100) {
        return Ok(keep(
            "the canary is not yet verified at weight 100 on the load balancer",
        ));
    }
    let new_stable = if roles.stable_ping_pong == PING {
        PONG
    } else {
        PING
    };
    let mut swapped = rollout.clone();
    swapped.status.canary.stable_ping_pong = Some(new_stable.to_string());
    let new_roles = ping_pong_roles(&swapped)?.unwrap_or(roles);
    let annotation = build_action(&swapped, 0)?;
    Ok(PingPongSwap {
        swap: true,
        reason: format!(
            "fully promoted and verified: {} becomes stable",
            new_roles.stable_service
        ),
        roles: new_roles,
        annotations: vec![annotation],
    })
}
