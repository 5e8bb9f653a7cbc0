//! Scaling down old ReplicaSets safely, for every strategy: a ReplicaSet is scaled to zero only
//! when no managed Service selects it, after its delay (marked on the ReplicaSet, so a
//! restarted controller keeps it), and — with verification on — once none of its pods' IPs is
//! still registered (and not draining) in the Rollout's target groups, so the load balancer
//! can no longer send it a request.

use crate::error::Result;
use crate::host::{EventType, Host};
use crate::reconcile::{Pass, VERIFY_RETRY_MS};
use crate::spec::Rollout;
use crate::targets::still_registered;
use crate::workload::{ReplicaSet, mark_scale_down, namespace, scale_to_zero, selected_hash};

impl Pass {
    /// Scales down each ReplicaSet not in `keep` that none of `services` selects, once its
    /// delay (`delay_seconds(rs)`) is over and its IPs have left `target_groups`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scale_down_unselected<H: Host>(
        &mut self,
        host: &mut H,
        rollout: &Rollout,
        sets: &[ReplicaSet],
        keep: &[&str],
        services: &[String],
        target_groups: &[String],
        delay_seconds: impl Fn(&ReplicaSet) -> i64,
    ) -> Result<()> {
        let ns = namespace(rollout).to_string();
        let now = host.now_millis();
        let mut selected = Vec::new();
        for svc in services {
            selected.extend(selected_hash(host, &ns, svc)?);
        }
        for rs in sets
            .iter()
            .filter(|r| r.replicas > 0 && !keep.contains(&r.hash.as_str()))
        {
            if selected.contains(&rs.hash) {
                continue;
            }
            let Some(at) = rs.scale_down_at else {
                let delay_ms = u64::try_from(delay_seconds(rs).max(0)).unwrap_or(0) * 1000;
                mark_scale_down(host, &ns, rs, now + delay_ms)?;
                self.wait(delay_ms.max(1));
                continue;
            };
            if now < at {
                self.wait(at - now);
                continue;
            }
            if self.settings.verify && still_registered(host, &ns, &rs.hash, target_groups)? {
                self.wait(VERIFY_RETRY_MS);
                continue;
            }
            scale_to_zero(host, &ns, rs)?;
            self.event(
                EventType::Normal,
                "ScaledDown",
                format!("{} scaled down to 0", rs.name),
            );
        }
        Ok(())
    }
}
