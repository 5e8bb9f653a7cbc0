//! `replicate:`: a scenario's manifests and events as N copies, so a large world is a few lines
//! of YAML. Copy `i` renames every manifest by the name pattern (`{name}` and `{i}`, default
//! `{name}-{i}`) and every reference to one: a Rollout's Services and Ingresses, an Ingress's
//! backends and its `actions.<service>` / `conditions.<service>` annotations (keys and the
//! service names inside them), a TargetGroupBinding's Service. Each copy's pods are its own:
//! the label `albatross.sim/copy: "<i>"` joins the Rollout's selector and pod template and
//! every Service's selector. Events on a Rollout or an Ingress happen to every copy; a
//! controller restart happens once.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::runner::{Action, Scenario, ScenarioEvent};

/// The label that keeps each copy's pods apart.
pub const COPY_LABEL: &str = "albatross.sim/copy";

/// The annotation prefixes whose key names a Service.
const SERVICE_KEYED: [&str; 2] = [
    "alb.ingress.kubernetes.io/actions.",
    "alb.ingress.kubernetes.io/conditions.",
];

/// How many copies, and how each is named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Replicate {
    /// The number of copies (1 or more).
    pub copies: u32,
    /// The name of copy `{i}` (0-based) of an object named `{name}`.
    #[serde(default = "default_pattern")]
    pub name_pattern: String,
}

fn default_pattern() -> String {
    "{name}-{i}".to_string()
}

impl Replicate {
    /// Copy `i`'s name for `name`.
    pub fn name(&self, name: &str, i: u32) -> String {
        self.name_pattern
            .replace("{name}", name)
            .replace("{i}", &i.to_string())
    }

    /// What is wrong with the block, if anything: no copies, or a pattern that gives every
    /// copy the same name.
    pub fn problem(&self) -> Option<String> {
        if self.copies == 0 {
            return Some("replicate.copies: must be 1 or more".into());
        }
        if !self.name_pattern.contains("{i}") {
            return Some(format!(
                "replicate.namePattern: {:?} must contain {{i}}, or every copy has the same name",
                self.name_pattern
            ));
        }
        None
    }
}

/// The scenario with its `replicate:` block applied (unchanged without one).
pub fn expand(scenario: &Scenario) -> Scenario {
    let Some(rep) = &scenario.replicate else {
        return scenario.clone();
    };
    let names: BTreeSet<String> = scenario
        .manifests
        .iter()
        .filter_map(|m| m["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let names = &names;
    let mut out = scenario.clone();
    out.replicate = None;
    out.manifests = (0..rep.copies)
        .flat_map(|i| {
            scenario
                .manifests
                .iter()
                .map(move |m| copy_manifest(m, rep, i, names))
        })
        .collect();
    out.events = Vec::new();
    for e in &scenario.events {
        if let Action::RestartController { .. } = e.action {
            out.events.push(e.clone());
            continue;
        }
        for i in 0..rep.copies {
            out.events.push(ScenarioEvent {
                at: e.at,
                action: copy_action(&e.action, rep, i),
            });
        }
    }
    out.events.sort_by_key(|e| e.at);
    out
}

fn copy_action(action: &Action, rep: &Replicate, i: u32) -> Action {
    let mut a = action.clone();
    match &mut a {
        Action::SetImage { rollout, .. }
        | Action::Promote { rollout }
        | Action::Pause { rollout }
        | Action::Unpause { rollout }
        | Action::PromoteFull { rollout }
        | Action::Abort { rollout }
        | Action::Retry { rollout }
        | Action::DeleteRollout { rollout, .. } => *rollout = rep.name(rollout, i),
        Action::PatchIngress { ingress, .. } => *ingress = rep.name(ingress, i),
        Action::RestartController { .. } => {}
    }
    a
}

/// Renames the string at `pointer` when it names a manifest.
fn rename_at(v: &mut Value, pointer: &str, rep: &Replicate, i: u32, names: &BTreeSet<String>) {
    if let Some(slot) = v.pointer_mut(pointer)
        && let Some(name) = slot.as_str()
        && names.contains(name)
    {
        *slot = Value::String(rep.name(name, i));
    }
}

/// Adds the copy label to the object at `pointer`, when it is one.
fn label_at(v: &mut Value, pointer: &str, i: u32) {
    if let Some(Value::Object(labels)) = v.pointer_mut(pointer) {
        labels.insert(COPY_LABEL.into(), Value::String(i.to_string()));
    }
}

/// Every string value named `serviceName` in `v`, renamed (an action annotation's forward
/// target groups).
fn rename_service_names(v: &mut Value, rep: &Replicate, i: u32, names: &BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "serviceName"
                    && let Some(name) = x.as_str()
                    && names.contains(name)
                {
                    *x = Value::String(rep.name(name, i));
                } else {
                    rename_service_names(x, rep, i, names);
                }
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .for_each(|x| rename_service_names(x, rep, i, names)),
        _ => {}
    }
}

fn copy_manifest(m: &Value, rep: &Replicate, i: u32, names: &BTreeSet<String>) -> Value {
    let mut c = m.clone();
    rename_at(&mut c, "/metadata/name", rep, i, names);
    match m["kind"].as_str().unwrap_or_default() {
        "Rollout" => {
            label_at(&mut c, "/spec/selector/matchLabels", i);
            label_at(&mut c, "/spec/template/metadata/labels", i);
            for p in [
                "/spec/strategy/canary/canaryService",
                "/spec/strategy/canary/stableService",
                "/spec/strategy/canary/pingPong/pingService",
                "/spec/strategy/canary/pingPong/pongService",
                "/spec/strategy/canary/trafficRouting/alb/ingress",
                "/spec/strategy/canary/trafficRouting/alb/rootService",
                "/spec/strategy/blueGreen/activeService",
                "/spec/strategy/blueGreen/previewService",
            ] {
                rename_at(&mut c, p, rep, i, names);
            }
            let count = c
                .pointer("/spec/strategy/canary/trafficRouting/alb/ingresses")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            for j in 0..count {
                let p = format!("/spec/strategy/canary/trafficRouting/alb/ingresses/{j}");
                rename_at(&mut c, &p, rep, i, names);
            }
        }
        "Service" => label_at(&mut c, "/spec/selector", i),
        "Ingress" => copy_ingress(&mut c, rep, i, names),
        "TargetGroupBinding" => rename_at(&mut c, "/spec/serviceRef/name", rep, i, names),
        _ => {}
    }
    c
}

fn copy_ingress(c: &mut Value, rep: &Replicate, i: u32, names: &BTreeSet<String>) {
    rename_at(c, "/spec/defaultBackend/service/name", rep, i, names);
    let rules = c["spec"]["rules"].as_array().map_or(0, Vec::len);
    for r in 0..rules {
        let paths = c["spec"]["rules"][r]["http"]["paths"]
            .as_array()
            .map_or(0, Vec::len);
        for p in 0..paths {
            let at = format!("/spec/rules/{r}/http/paths/{p}/backend/service/name");
            rename_at(c, &at, rep, i, names);
        }
    }
    let Some(Value::Object(annotations)) = c.pointer_mut("/metadata/annotations") else {
        return;
    };
    let entries = std::mem::take(annotations);
    for (key, value) in entries {
        let renamed = SERVICE_KEYED.iter().find_map(|prefix| {
            let service = key.strip_prefix(prefix)?;
            names
                .contains(service)
                .then(|| format!("{prefix}{}", rep.name(service, i)))
        });
        let value = match (&renamed, value.as_str()) {
            (Some(_), Some(text)) => match serde_json::from_str::<Value>(text) {
                Ok(mut parsed) => {
                    rename_service_names(&mut parsed, rep, i, names);
                    Value::String(parsed.to_string())
                }
                Err(_) => value,
            },
            _ => value,
        };
        annotations.insert(renamed.unwrap_or(key), value);
    }
}
