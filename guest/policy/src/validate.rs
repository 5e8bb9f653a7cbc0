//! Spec validation: every rule a Rollout must meet before the strategy acts on it. Each
//! refusal names the Rollout and the field, as `kubectl` users expect.

use crate::duration::duration_millis;
use crate::error::{Result, StrategyError};
use crate::spec::{
    AlbTrafficRouting, BlueGreenStrategy, CanaryStep, CanaryStrategy, IntOrString, Rollout,
};

/// The longest target group stickiness the ALB accepts: 7 days.
pub const MAX_STICKINESS_SECONDS: i64 = 604_800;

/// Checks a parsed Rollout; the error names the first offending field.
pub fn validate(rollout: &Rollout) -> Result<()> {
    let v = Validator {
        object: rollout.display_name(),
    };
    if rollout.metadata.name.is_empty() {
        return Err(v.err("metadata.name", "a Rollout needs a name"));
    }
    if let Some(field) = unimplemented(rollout).first() {
        return Err(v.err(
            field.clone(),
            "is an Argo Rollouts feature Albatross does not implement: remove it, or leave this \
             Rollout to Argo Rollouts (without the argo-rollouts.argoproj.io/controller-instance-id label)",
        ));
    }
    if let Some(r) = rollout.spec.replicas
        && r < 0
    {
        return Err(v.err("spec.replicas", format!("must be 0 or more, got {r}")));
    }
    match (
        &rollout.spec.strategy.canary,
        &rollout.spec.strategy.blue_green,
    ) {
        (Some(_), Some(_)) => {
            Err(v.err("spec.strategy", "set either canary or blueGreen, not both"))
        }
        (None, None) => Err(v.err("spec.strategy", "set canary or blueGreen")),
        (Some(canary), None) => v.canary(canary),
        (None, Some(bg)) => v.blue_green(bg),
    }
}

/// The fields of `rollout` that use an Argo Rollouts feature Albatross does not implement
/// (analysis, experiments, mirror routes, step plugins, anti-affinity, injected pod metadata,
/// other traffic routers, a workloadRef), by path.
pub fn unimplemented(rollout: &Rollout) -> Vec<String> {
    let spec = &rollout.spec;
    let mut found = Vec::new();
    // The path is formatted only for a field that is set: a reconcile walks every step.
    let mut check = |v: &Option<serde_json::Value>, path: &dyn Fn() -> String| {
        if v.is_some() {
            found.push(path());
        }
    };
    check(&spec.workload_ref, &|| "spec.workloadRef".into());
    if let Some(c) = &spec.strategy.canary {
        for (f, v) in [
            ("analysis", &c.analysis),
            ("antiAffinity", &c.anti_affinity),
            ("canaryMetadata", &c.canary_metadata),
            ("stableMetadata", &c.stable_metadata),
        ] {
            check(v, &|| format!("{CANARY}.{f}"));
        }
        for (i, step) in c.steps.iter().enumerate() {
            for (f, v) in [
                ("analysis", &step.analysis),
                ("experiment", &step.experiment),
                ("setMirrorRoute", &step.set_mirror_route),
                ("plugin", &step.plugin),
            ] {
                check(v, &|| format!("{CANARY}.steps[{i}].{f}"));
            }
        }
        if let Some(t) = &c.traffic_routing {
            for (f, v) in [
                ("nginx", &t.nginx),
                ("istio", &t.istio),
                ("smi", &t.smi),
                ("ambassador", &t.ambassador),
                ("appMesh", &t.app_mesh),
                ("traefik", &t.traefik),
                ("apisix", &t.apisix),
                ("plugins", &t.plugins),
            ] {
                check(v, &|| format!("{CANARY}.trafficRouting.{f}"));
            }
        }
    }
    if let Some(bg) = &spec.strategy.blue_green {
        for (f, v) in [
            ("prePromotionAnalysis", &bg.pre_promotion_analysis),
            ("postPromotionAnalysis", &bg.post_promotion_analysis),
            ("antiAffinity", &bg.anti_affinity),
            ("activeMetadata", &bg.active_metadata),
            ("previewMetadata", &bg.preview_metadata),
        ] {
            check(v, &|| format!("spec.strategy.blueGreen.{f}"));
        }
    }
    found
}

struct Validator {
    object: String,
}

const CANARY: &str = "spec.strategy.canary";
const ALB: &str = "spec.strategy.canary.trafficRouting.alb";

impl Validator {
    fn err(&self, field: impl Into<String>, message: impl Into<String>) -> StrategyError {
        StrategyError::field(&self.object, field, message)
    }

    fn canary(&self, c: &CanaryStrategy) -> Result<()> {
        let alb = c
            .traffic_routing
            .as_ref()
            .and_then(|t| t.alb.as_ref())
            .ok_or_else(|| {
                self.err(
                    format!("{CANARY}.trafficRouting.alb"),
                    "Albatross shifts canary traffic through an ALB: set trafficRouting.alb",
                )
            })?;
        self.services(c, alb)?;
        self.alb(alb)?;
        if let Some(w) = c
            .traffic_routing
            .as_ref()
            .and_then(|t| t.max_traffic_weight)
        {
            return Err(self.err(
                format!("{CANARY}.trafficRouting.maxTrafficWeight"),
                format!(
                    "is not supported with ALB traffic routing (Argo Rollouts allows it only \
                     with nginx and plugins): ALB weights here are percentages of 100, got {w}"
                ),
            ));
        }
        let managed: Vec<&str> = c
            .traffic_routing
            .iter()
            .flat_map(|t| t.managed_routes.iter().map(|r| r.name.as_str()))
            .collect();
        for (i, step) in c.steps.iter().enumerate() {
            self.step(i, step, &managed)?;
        }
        for (field, value) in [
            ("scaleDownDelaySeconds", c.scale_down_delay_seconds),
            (
                "abortScaleDownDelaySeconds",
                c.abort_scale_down_delay_seconds,
            ),
        ] {
            if let Some(s) = value
                && s < 0
            {
                return Err(self.err(
                    format!("{CANARY}.{field}"),
                    format!("must be 0 or more, got {s}"),
                ));
            }
        }
        let surge = self.int_or_percent("maxSurge", c.max_surge.as_ref())?;
        let unavailable = self.int_or_percent("maxUnavailable", c.max_unavailable.as_ref())?;
        if surge == Some(0) && unavailable == Some(0) {
            return Err(self.err(
                format!("{CANARY}.maxUnavailable"),
                "maxSurge and maxUnavailable cannot both be 0",
            ));
        }
        Ok(())
    }

    fn services(&self, c: &CanaryStrategy, alb: &AlbTrafficRouting) -> Result<()> {
        if let Some(pp) = &c.ping_pong {
            if pp.ping_service.is_empty() {
                return Err(self.err(
                    format!("{CANARY}.pingPong.pingService"),
                    "ping-pong needs both pingService and pongService",
                ));
            }
            if pp.pong_service.is_empty() {
                return Err(self.err(
                    format!("{CANARY}.pingPong.pongService"),
                    "ping-pong needs both pingService and pongService",
                ));
            }
            if pp.ping_service == pp.pong_service {
                return Err(self.err(
                    format!("{CANARY}.pingPong.pongService"),
                    format!(
                        "must differ from pingService (both are {:?})",
                        pp.ping_service
                    ),
                ));
            }
            if alb.root_service.as_deref().unwrap_or("").is_empty() {
                return Err(self.err(
                    format!("{ALB}.rootService"),
                    "ALB with ping-pong needs rootService: the action annotation is named after it",
                ));
            }
            return Ok(());
        }
        let canary = c.canary_service.as_deref().unwrap_or("");
        let stable = c.stable_service.as_deref().unwrap_or("");
        if canary.is_empty() {
            return Err(self.err(
                format!("{CANARY}.canaryService"),
                "ALB traffic routing needs canaryService and stableService (or pingPong)",
            ));
        }
        if stable.is_empty() {
            return Err(self.err(
                format!("{CANARY}.stableService"),
                "ALB traffic routing needs canaryService and stableService (or pingPong)",
            ));
        }
        if canary == stable {
            return Err(self.err(
                format!("{CANARY}.stableService"),
                format!("must differ from canaryService (both are {canary:?})"),
            ));
        }
        Ok(())
    }

    fn alb(&self, alb: &AlbTrafficRouting) -> Result<()> {
        match (&alb.ingress, alb.ingresses.is_empty()) {
            (Some(_), false) => {
                return Err(self.err(
                    format!("{ALB}.ingresses"),
                    "set either ingress or ingresses, not both",
                ));
            }
            (None, true) => {
                return Err(self.err(
                    format!("{ALB}.ingress"),
                    "name the Ingress (ingress) or Ingresses (ingresses) to route through",
                ));
            }
            (Some(name), true) if name.is_empty() => {
                return Err(self.err(format!("{ALB}.ingress"), "must not be empty"));
            }
            _ => {}
        }
        if let Some(i) = alb.ingresses.iter().position(String::is_empty) {
            return Err(self.err(format!("{ALB}.ingresses[{i}]"), "must not be empty"));
        }
        if !(1..=65535).contains(&alb.service_port) {
            return Err(self.err(
                format!("{ALB}.servicePort"),
                format!("must be a port 1..65535, got {}", alb.service_port),
            ));
        }
        if let Some(prefix) = &alb.annotation_prefix
            && (prefix.contains('/') || prefix.contains(char::is_whitespace))
        {
            return Err(self.err(
                format!("{ALB}.annotationPrefix"),
                format!("must be a DNS prefix without '/' or spaces, got {prefix:?}"),
            ));
        }
        if let Some(s) = &alb.stickiness_config
            && s.enabled
            && !(1..=MAX_STICKINESS_SECONDS).contains(&s.duration_seconds)
        {
            return Err(self.err(
                format!("{ALB}.stickinessConfig.durationSeconds"),
                format!(
                    "must be 1..{MAX_STICKINESS_SECONDS} seconds when stickiness is enabled, got {}",
                    s.duration_seconds
                ),
            ));
        }
        Ok(())
    }

    fn step(&self, i: usize, step: &CanaryStep, managed: &[&str]) -> Result<()> {
        // Formatted only on a refusal: a reconcile validates every step.
        let at = StepPath(i);
        let set = [
            step.set_weight.is_some(),
            step.pause.is_some(),
            step.set_canary_scale.is_some(),
            step.set_header_route.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(self.err(
                at.to_string(),
                format!(
                    "a step sets exactly one of setWeight, pause, setCanaryScale, setHeaderRoute ({set} set)"
                ),
            ));
        }
        if let Some(w) = step.set_weight
            && !(0..=100).contains(&w)
        {
            return Err(self.err(
                format!("{at}.setWeight"),
                format!("must be 0..100, got {w}"),
            ));
        }
        if let Some(pause) = &step.pause
            && let Some(d) = &pause.duration
            && duration_millis(d).is_none()
        {
            return Err(self.err(
                format!("{at}.pause.duration"),
                format!(
                    "must be seconds (30) or a duration (30s, 5m, 1h), got {}",
                    show(d)
                ),
            ));
        }
        if let Some(scale) = &step.set_canary_scale {
            let chosen = [
                scale.weight.is_some(),
                scale.replicas.is_some(),
                scale.match_traffic_weight,
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if chosen != 1 {
                return Err(self.err(
                    format!("{at}.setCanaryScale"),
                    "set exactly one of weight, replicas, matchTrafficWeight",
                ));
            }
            if let Some(w) = scale.weight
                && !(0..=100).contains(&w)
            {
                return Err(self.err(
                    format!("{at}.setCanaryScale.weight"),
                    format!("must be 0..100, got {w}"),
                ));
            }
            if let Some(r) = scale.replicas
                && r < 0
            {
                return Err(self.err(
                    format!("{at}.setCanaryScale.replicas"),
                    format!("must be 0 or more, got {r}"),
                ));
            }
        }
        if let Some(route) = &step.set_header_route {
            if !managed.contains(&route.name.as_str()) {
                return Err(self.err(
                    format!("{at}.setHeaderRoute.name"),
                    format!(
                        "route {:?} is not listed in trafficRouting.managedRoutes",
                        route.name
                    ),
                ));
            }
            for (j, m) in route.matches.iter().enumerate() {
                let mat = format!("{at}.setHeaderRoute.match[{j}]");
                if m.header_name.is_empty() {
                    return Err(self.err(format!("{mat}.headerName"), "must not be empty"));
                }
                let v = &m.header_value;
                if v.regex.is_some() {
                    return Err(self.err(
                        format!("{mat}.headerValue.regex"),
                        "an ALB cannot match headers by regex: use exact or prefix",
                    ));
                }
                if v.exact.is_some() == v.prefix.is_some() {
                    return Err(self.err(
                        format!("{mat}.headerValue"),
                        "set exactly one of exact or prefix",
                    ));
                }
            }
        }
        Ok(())
    }

    fn int_or_percent(&self, field: &str, value: Option<&IntOrString>) -> Result<Option<i64>> {
        let Some(value) = value else {
            return Ok(None);
        };
        let bad = || {
            self.err(
                format!("{CANARY}.{field}"),
                format!(
                    "must be a count (1) or a percentage (\"25%\"), got {}",
                    show(value)
                ),
            )
        };
        let n = match value {
            IntOrString::Int(n) => *n,
            IntOrString::String(s) => s
                .strip_suffix('%')
                .and_then(|p| p.parse::<i64>().ok())
                .ok_or_else(bad)?,
        };
        if n < 0 {
            return Err(bad());
        }
        Ok(Some(n))
    }

    fn blue_green(&self, bg: &BlueGreenStrategy) -> Result<()> {
        const BG: &str = "spec.strategy.blueGreen";
        if bg.active_service.is_empty() {
            return Err(self.err(
                format!("{BG}.activeService"),
                "blue-green needs activeService",
            ));
        }
        if bg.preview_service.as_deref() == Some(bg.active_service.as_str()) {
            return Err(self.err(
                format!("{BG}.previewService"),
                format!(
                    "must differ from activeService (both are {:?})",
                    bg.active_service
                ),
            ));
        }
        for (field, value) in [
            ("autoPromotionSeconds", bg.auto_promotion_seconds),
            ("scaleDownDelaySeconds", bg.scale_down_delay_seconds),
            ("previewReplicaCount", bg.preview_replica_count),
        ] {
            if let Some(n) = value
                && n < 0
            {
                return Err(self.err(
                    format!("{BG}.{field}"),
                    format!("must be 0 or more, got {n}"),
                ));
            }
        }
        Ok(())
    }
}

/// `spec.strategy.canary.steps[i]`, formatted only when a refusal names it.
struct StepPath(usize);

impl std::fmt::Display for StepPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{CANARY}.steps[{}]", self.0)
    }
}

fn show(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => format!("{s:?}"),
    }
}
