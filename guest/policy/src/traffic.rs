//! Traffic on the load balancer for one Rollout, through the imports: the action annotation
//! (and the header routes in force) written on every Ingress of the Rollout with the
//! bookkeeping, only where it differs; the annotation released on deletion; and weight
//! verification of every Ingress against what its ALB carries.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::action::{Annotation, action_key, build_action, parse_action};
use crate::conditions::build_header_route;
use crate::elb::Tag;
use crate::error::{HostError, Result, StrategyError};
use crate::host::{Host, Level, ObjectKind, PatchType};
use crate::ingress::{Ingress, class_matches};
use crate::lookup::observe_alb;
use crate::managed::{read_managed, update_managed};
use crate::pingpong::service_roles;
use crate::reconcile::Settings;
use crate::spec::Rollout;
use crate::verification::IngressVerification;
use crate::verify::{WeightCheck, WeightVerdict, verify_weights};
use crate::workload::namespace;

/// The name part of an ELBv2 ARN (`.../app/<name>/<id>` or `.../targetgroup/<name>/<id>`).
pub(crate) fn arn_name(arn: &str) -> String {
    let mut parts = arn.rsplit('/');
    let _id = parts.next();
    parts.next().unwrap_or(arn).to_string()
}

/// The names of the header routes in force at step `idx`: the last setHeaderRoute of each
/// name at or before it, unless that step removes the route (no matches).
pub(crate) fn header_routes_at(rollout: &Rollout, idx: usize) -> Vec<String> {
    let Ok(canary) = rollout.canary() else {
        return Vec::new();
    };
    if rollout.status.abort || idx >= canary.steps.len() {
        return Vec::new();
    }
    let mut live: BTreeMap<&str, bool> = BTreeMap::new();
    for step in &canary.steps[..=idx] {
        if let Some(route) = &step.set_header_route {
            live.insert(route.name.as_str(), !route.matches.is_empty());
        }
    }
    live.into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect()
}

fn get_ingress<H: Host>(host: &mut H, ns: &str, name: &str) -> Result<Ingress> {
    let json = host.get(&ObjectKind::ingress(), ns, name)?;
    Ingress::from_json(&json)
}

/// Writes the action annotation for `weight` and the header routes `routes` on every Ingress of
/// the Rollout, with the bookkeeping entry; writes nothing to an Ingress already as wanted.
/// An Ingress whose class this controller does not serve is refused, naming the field.
pub(crate) fn write_traffic<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    weight: u32,
    routes: &[String],
    settings: &Settings,
) -> Result<()> {
    let mut wanted = vec![build_action(rollout, weight)?];
    for route in routes {
        wanted.extend(build_header_route(rollout, route)?);
    }
    let ns = namespace(rollout);
    for name in rollout.alb()?.ingress_names() {
        let ingress = get_ingress(host, ns, name)?;
        if !class_matches(&ingress, &settings.ingress_classes) {
            let (class, field) = ingress.class();
            return Err(StrategyError::field(
                &ingress.display_name(),
                field,
                format!(
                    "class {class:?} is not served by this controller (it serves {:?})",
                    settings.ingress_classes
                ),
            ));
        }
        patch_annotations(host, rollout, &ingress, &wanted, routes)?;
    }
    Ok(())
}

/// The canary weight, percent, each Ingress of the Rollout asks its ALB for now: its action
/// annotation as it stands, whoever wrote it last (a GitOps sync may have put an older one
/// back). None for an Ingress whose action is missing, unreadable, or forwards to a target
/// group that is neither the canary's nor the stable's Service.
pub(crate) fn written_canary_weights<H: Host>(
    host: &mut H,
    rollout: &Rollout,
) -> Result<Vec<Option<u32>>> {
    let key = action_key(rollout)?;
    let roles = service_roles(rollout)?;
    let (canary, stable) = (roles.canary_service, roles.stable_service);
    let ns = namespace(rollout);
    let mut out = Vec::new();
    for name in rollout.alb()?.ingress_names() {
        let ingress = get_ingress(host, ns, name)?;
        let action = ingress
            .metadata
            .annotations
            .get(&key)
            .and_then(|v| parse_action(v).ok())
            .filter(|a| {
                a.target_groups.iter().all(|g| {
                    g.service_name
                        .as_deref()
                        .is_some_and(|s| s == canary || s == stable)
                })
            });
        out.push(action.map(|a| {
            let weight = |g: &crate::action::ActionTargetGroup| g.weight.unwrap_or(1);
            let total: u32 = a.target_groups.iter().map(weight).sum();
            let on_canary: u32 = a
                .target_groups
                .iter()
                .filter(|g| g.service_name.as_deref() == Some(canary.as_str()))
                .map(weight)
                .sum();
            (on_canary * 100).checked_div(total).unwrap_or(0)
        }));
    }
    Ok(out)
}

/// Patches `ingress` so that this Rollout's managed annotations are exactly `wanted`: changed
/// values written, keys it no longer manages removed, the bookkeeping updated. Refuses an
/// annotation another Rollout manages.
fn patch_annotations<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    ingress: &Ingress,
    wanted: &[Annotation],
    routes: &[String],
) -> Result<()> {
    let me = rollout.metadata.name.as_str();
    let entries = read_managed(ingress)?;
    let wanted_keys: BTreeSet<&str> = wanted.iter().map(|a| a.key.as_str()).collect();
    for entry in entries.iter().filter(|e| e.rollout != me) {
        if let Some(key) = entry.keys.iter().find(|k| wanted_keys.contains(k.as_str())) {
            return Err(StrategyError::field(
                &ingress.display_name(),
                format!("metadata.annotations[{key}]"),
                format!(
                    "already managed by Rollout {:?}; two Rollouts cannot share one action",
                    entry.rollout
                ),
            ));
        }
    }
    let mine_before: Vec<String> = entries
        .iter()
        .find(|e| e.rollout == me)
        .map(|e| e.keys.clone())
        .unwrap_or_default();
    let keys: Vec<String> = wanted.iter().map(|a| a.key.clone()).collect();
    let mut patch = Map::new();
    let current = &ingress.metadata.annotations;
    for a in wanted
        .iter()
        .cloned()
        .chain(update_managed(ingress, me, &keys)?)
    {
        if current.get(&a.key) != Some(&a.value) {
            patch.insert(a.key, Value::String(a.value));
        }
    }
    for stale in mine_before
        .iter()
        .filter(|k| !wanted_keys.contains(k.as_str()))
    {
        if current.contains_key(stale) {
            patch.insert(stale.clone(), Value::Null);
        }
    }
    let rules = route_paths(&ingress.spec, routes, &managed_route_names(rollout));
    if patch.is_empty() && rules.is_none() {
        return Ok(());
    }
    let changed: Vec<String> = patch.keys().cloned().collect();
    host.log(
        Level::Info,
        "patching Ingress annotations",
        &[
            ("ingress", &ingress.display_name()),
            ("keys", &changed.join(",")),
        ],
    );
    let mut body = over_version(ingress, patch);
    if let Some(rules) = rules {
        body["spec"] = json!({"rules": rules});
    }
    let body = body.to_string();
    let ns = ingress
        .metadata
        .namespace
        .as_deref()
        .unwrap_or_else(|| namespace(rollout));
    host.patch(
        &ObjectKind::ingress(),
        ns,
        &ingress.metadata.name,
        PatchType::Merge,
        &body,
        None,
    )?;
    Ok(())
}

/// A merge patch of `annotations` that applies only over the version of `ingress` read (the
/// API server answers 409 otherwise): Rollouts sharing an Ingress each rewrite its bookkeeping
/// annotation whole, and two passes at once must not drop each other's entry.
fn over_version(ingress: &Ingress, annotations: Map<String, Value>) -> Value {
    let mut metadata = json!({"annotations": annotations});
    if let Some(rv) = &ingress.metadata.resource_version {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({"metadata": metadata})
}

/// On deletion: every Ingress of the Rollout gets its action back to stable 100 and loses the
/// Rollout's bookkeeping entry (and its header routes). A missing Ingress is skipped.
pub(crate) fn release_ingresses<H: Host>(host: &mut H, rollout: &Rollout) -> Result<()> {
    let mut stable_only = rollout.clone();
    stable_only.status.abort = false;
    let action = build_action(&stable_only, 0)?;
    let key = action_key(rollout)?;
    let me = rollout.metadata.name.as_str();
    let ns = namespace(rollout);
    for name in rollout.alb()?.ingress_names() {
        let ingress = match get_ingress(host, ns, name) {
            Ok(i) => i,
            Err(StrategyError::Host(HostError::NotFound(_))) => continue,
            Err(e) => return Err(e),
        };
        let mine = read_managed(&ingress)?
            .into_iter()
            .find(|e| e.rollout == me)
            .map(|e| e.keys)
            .unwrap_or_default();
        let mut patch = Map::new();
        if ingress.metadata.annotations.get(&key) != Some(&action.value) {
            patch.insert(key.clone(), Value::String(action.value.clone()));
        }
        for k in mine.iter().filter(|k| **k != key) {
            if ingress.metadata.annotations.contains_key(k) {
                patch.insert(k.clone(), Value::Null);
            }
        }
        for a in update_managed(&ingress, me, &[])? {
            if ingress.metadata.annotations.get(&a.key) != Some(&a.value) {
                patch.insert(a.key, Value::String(a.value));
            }
        }
        let rules = route_paths(&ingress.spec, &[], &managed_route_names(rollout));
        if !patch.is_empty() || rules.is_some() {
            let mut body = over_version(&ingress, patch);
            if let Some(rules) = rules {
                body["spec"] = json!({"rules": rules});
            }
            let body = body.to_string();
            host.patch(
                &ObjectKind::ingress(),
                ns,
                name,
                PatchType::Merge,
                &body,
                None,
            )?;
        }
    }
    Ok(())
}

/// Weight verification on every Ingress of the Rollout.
pub(crate) fn verify_all<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    weight: u32,
    settings: &Settings,
) -> Result<Vec<WeightVerdict>, HostError> {
    Ok(verify_ingresses(host, rollout, weight, settings)?
        .into_iter()
        .map(|i| i.verdict)
        .collect())
}

/// The tags a target group must carry besides its resource tag: the cluster tag, when a
/// cluster name is configured.
fn required_tags(settings: &Settings) -> Vec<Tag> {
    settings
        .cluster_name
        .iter()
        .filter(|_| !settings.cluster_tag_key.is_empty())
        .map(|name| Tag {
            key: settings.cluster_tag_key.clone(),
            value: name.clone(),
        })
        .collect()
}

/// Weight verification on every Ingress of the Rollout, with the Ingress and the hostname
/// each verdict is about.
pub(crate) fn verify_ingresses<H: Host>(
    host: &mut H,
    rollout: &Rollout,
    weight: u32,
    settings: &Settings,
) -> Result<Vec<IngressVerification>, HostError> {
    let roles = service_roles(rollout).map_err(|e| HostError::Invalid(e.to_string()))?;
    let alb = rollout
        .alb()
        .map_err(|e| HostError::Invalid(e.to_string()))?;
    let ns = namespace(rollout);
    let port = u32::try_from(alb.service_port).unwrap_or(0);
    let mut checked = Vec::new();
    for name in alb.ingress_names() {
        let json = host.get(&ObjectKind::ingress(), ns, name)?;
        let ingress = Ingress::from_json(&json).map_err(|e| HostError::Invalid(e.to_string()))?;
        let hostname = ingress.hostnames().first().map(|h| h.to_string());
        let unverified = |why: String| WeightVerdict {
            verified: false,
            load_balancer_arn: String::new(),
            canary_target_group_arn: None,
            stable_target_group_arn: None,
            desired_canary_weight: weight,
            desired_stable_weight: 100 - weight,
            rules: Vec::new(),
            differences: vec![why],
        };
        let verdict = match &hostname {
            None => unverified(format!(
                "{} has no load balancer hostname in its status yet",
                ingress.display_name()
            )),
            Some(hostname) => match observe_alb(host, hostname)? {
                None => unverified(format!("no load balancer has the DNS name {hostname}")),
                Some(observed) => verify_weights(&WeightCheck {
                    ingress_namespace: ns.to_string(),
                    ingress_name: name.to_string(),
                    canary_service: roles.canary_service.clone(),
                    stable_service: roles.stable_service.clone(),
                    service_port: port,
                    desired_canary_weight: weight,
                    resource_tag_key: settings.resource_tag_key.clone(),
                    required_tags: required_tags(settings),
                    load_balancer: observed.load_balancer,
                    rules: observed.rules,
                    target_groups: observed.target_groups,
                    tags: observed.tags,
                }),
            },
        };
        checked.push(IngressVerification {
            ingress: name.to_string(),
            hostname,
            verdict,
        });
    }
    Ok(checked)
}

/// The names of `trafficRouting.managedRoutes`.
fn managed_route_names(rollout: &Rollout) -> Vec<String> {
    rollout
        .canary()
        .ok()
        .and_then(|c| c.traffic_routing.as_ref())
        .map(|t| t.managed_routes.iter().map(|r| r.name.clone()).collect())
        .unwrap_or_default()
}

/// The backend service name of an Ingress path.
fn path_backend(path: &Value) -> Option<&str> {
    path.pointer("/backend/service/name")
        .and_then(Value::as_str)
}

/// The Ingress `spec.rules` with a `use-annotation` path for each live header route (first,
/// in `managedRoutes` order, so the ALB evaluates them before the weighted rule) and without
/// the paths of managed routes no longer live; None when the rules are already so. The paths
/// go into the first rule, as Argo Rollouts puts them.
pub(crate) fn route_paths(spec: &Value, live: &[String], managed: &[String]) -> Option<Value> {
    let mut rules = spec
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if rules.is_empty() {
        if live.is_empty() {
            return None;
        }
        rules.push(json!({"http": {"paths": []}}));
    }
    let before = rules.clone();
    for rule in rules.iter_mut() {
        if let Some(paths) = rule
            .pointer_mut("/http/paths")
            .and_then(Value::as_array_mut)
        {
            paths.retain(|p| {
                path_backend(p)
                    .is_none_or(|b| !managed.iter().any(|m| m == b) || live.iter().any(|l| l == b))
            });
        }
    }
    let first = &mut rules[0];
    if first
        .pointer("/http/paths")
        .and_then(Value::as_array)
        .is_none()
    {
        first["http"] = json!({"paths": []});
    }
    if let Some(paths) = first
        .pointer_mut("/http/paths")
        .and_then(Value::as_array_mut)
    {
        let ordered: Vec<&String> = managed.iter().filter(|m| live.contains(m)).collect();
        for (i, route) in ordered.into_iter().enumerate() {
            if !paths
                .iter()
                .any(|p| path_backend(p) == Some(route.as_str()))
            {
                paths.insert(
                    i.min(paths.len()),
                    json!({"path": "/*", "pathType": "ImplementationSpecific",
                           "backend": {"service": {"name": route, "port": {"name": "use-annotation"}}}}),
                );
            }
        }
    }
    (rules != before).then_some(Value::Array(rules))
}
