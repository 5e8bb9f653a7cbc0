//! The managed-annotation bookkeeping on an Ingress: which Rollout manages which annotation
//! keys, so several Rollouts can share one Ingress and an Ingress that Argo Rollouts touched can
//! be taken over.
//!
//! Albatross keeps its own entries under a key of its own, [`ALBATROSS_MANAGED`] (the same JSON
//! format as Argo's). Argo Rollouts' Ingress controller drops every entry of *its* key whose
//! Rollout it does not see (and Albatross's Rollouts are exactly the ones it does not see) and
//! resets that entry's actions to stable 100, so an Albatross Rollout listed there would have
//! its weights reset on every Ingress event. Reads all three (ours, Argo's JSON map, Argo's
//! older `rollout:action` list); writes ours, and, in the same patch, takes the Rollout out of
//! Argo's two wherever they still list it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::Annotation;
use crate::error::{Result, StrategyError};
use crate::ingress::Ingress;

/// Albatross's bookkeeping annotation: a JSON map of Rollout name to annotation keys.
pub const ALBATROSS_MANAGED: &str = "albatross.io/managed-alb-annotations";
/// Argo Rollouts' bookkeeping annotation, in the same format.
pub const MANAGED_ANNOTATIONS: &str = "rollouts.argoproj.io/managed-alb-annotations";
/// The older bookkeeping annotation: `rollout:actionKey` pairs joined by commas.
pub const LEGACY_MANAGED_ACTIONS: &str = "rollouts.argoproj.io/managed-alb-actions";

/// One Rollout's entry (the WIT `managed-entry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedEntry {
    /// The Rollout's name.
    pub rollout: String,
    /// The annotation keys it manages.
    pub keys: Vec<String>,
}

fn json_map(ingress: &Ingress, key: &str) -> Result<BTreeMap<String, Vec<String>>> {
    match ingress.metadata.annotations.get(key) {
        None => Ok(BTreeMap::new()),
        Some(v) if v.trim().is_empty() => Ok(BTreeMap::new()),
        Some(v) => serde_json::from_str(v).map_err(|e| {
            StrategyError::field(
                &ingress.display_name(),
                format!("metadata.annotations[{key}]"),
                format!("must be a JSON map of Rollout name to annotation keys: {e}"),
            )
        }),
    }
}

fn legacy_map(ingress: &Ingress) -> Result<BTreeMap<String, Vec<String>>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(v) = ingress.metadata.annotations.get(LEGACY_MANAGED_ACTIONS) else {
        return Ok(map);
    };
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match pair.split_once(':') {
            Some((rollout, key))
                if !rollout.is_empty() && !key.is_empty() && !key.contains(':') =>
            {
                map.entry(rollout.to_string())
                    .or_default()
                    .push(key.to_string());
            }
            _ => {
                return Err(StrategyError::field(
                    &ingress.display_name(),
                    format!("metadata.annotations[{LEGACY_MANAGED_ACTIONS}]"),
                    format!("entry {pair:?} is not of the form rollout:actionKey"),
                ));
            }
        }
    }
    Ok(map)
}

fn merged(ingress: &Ingress) -> Result<BTreeMap<String, Vec<String>>> {
    let mut map = json_map(ingress, ALBATROSS_MANAGED)?;
    let argo = json_map(ingress, MANAGED_ANNOTATIONS)?;
    for (rollout, keys) in argo.into_iter().chain(legacy_map(ingress)?) {
        let entry = map.entry(rollout).or_default();
        for k in keys {
            if !entry.contains(&k) {
                entry.push(k);
            }
        }
    }
    Ok(map)
}

/// Every Rollout's entry, from all three annotations, by Rollout name.
pub fn read_managed(ingress: &Ingress) -> Result<Vec<ManagedEntry>> {
    Ok(merged(ingress)?
        .into_iter()
        .map(|(rollout, keys)| ManagedEntry { rollout, keys })
        .collect())
}

/// The annotations to write so that `rollout` manages exactly `keys` (none drops its entry):
/// Albatross's map with this Rollout's entry set, every other entry kept (compact JSON, Rollout
/// names sorted, as Go writes a map); and, where Argo's map or its older list still names this
/// Rollout, that annotation without it, so Argo never sees an Albatross Rollout as its own.
pub fn update_managed(
    ingress: &Ingress,
    rollout: &str,
    keys: &[String],
) -> Result<Vec<Annotation>> {
    let mut ours = json_map(ingress, ALBATROSS_MANAGED)?;
    if keys.is_empty() {
        ours.remove(rollout);
    } else {
        ours.insert(rollout.to_string(), keys.to_vec());
    }
    let mut out = vec![Annotation {
        key: ALBATROSS_MANAGED.to_string(),
        value: serde_json::to_string(&ours).unwrap_or_default(),
    }];
    let mut argo = json_map(ingress, MANAGED_ANNOTATIONS)?;
    if argo.remove(rollout).is_some() {
        out.push(Annotation {
            key: MANAGED_ANNOTATIONS.to_string(),
            value: serde_json::to_string(&argo).unwrap_or_default(),
        });
    }
    let legacy = legacy_map(ingress)?;
    if legacy.contains_key(rollout) {
        let rest: String = legacy
            .iter()
            .filter(|(r, _)| r.as_str() != rollout)
            .flat_map(|(r, ks)| ks.iter().map(move |k| format!("{r}:{k},")))
            .collect();
        out.push(Annotation {
            key: LEGACY_MANAGED_ACTIONS.to_string(),
            value: rest,
        });
    }
    Ok(out)
}
