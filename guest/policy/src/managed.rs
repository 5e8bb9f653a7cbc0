//! The managed-annotation bookkeeping on an Ingress: which Rollout manages which annotation
//! keys, so several Rollouts can share one Ingress and an Ingress that Argo Rollouts touched can
//! be taken over. Reads the current JSON map and the older `rollout:action` list; writes the
//! current one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::action::Annotation;
use crate::error::{Result, StrategyError};
use crate::ingress::Ingress;

/// The current bookkeeping annotation: a JSON map of Rollout name to annotation keys.
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

fn current_map(ingress: &Ingress) -> Result<BTreeMap<String, Vec<String>>> {
    match ingress.metadata.annotations.get(MANAGED_ANNOTATIONS) {
        None => Ok(BTreeMap::new()),
        Some(v) if v.trim().is_empty() => Ok(BTreeMap::new()),
        Some(v) => serde_json::from_str(v).map_err(|e| {
            StrategyError::field(
                &ingress.display_name(),
                format!("metadata.annotations[{MANAGED_ANNOTATIONS}]"),
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
    let mut map = current_map(ingress)?;
    for (rollout, keys) in legacy_map(ingress)? {
        let entry = map.entry(rollout).or_default();
        for k in keys {
            if !entry.contains(&k) {
                entry.push(k);
            }
        }
    }
    Ok(map)
}

/// Every Rollout's entry, from both the current and the older annotation, by Rollout name.
pub fn read_managed(ingress: &Ingress) -> Result<Vec<ManagedEntry>> {
    Ok(merged(ingress)?
        .into_iter()
        .map(|(rollout, keys)| ManagedEntry { rollout, keys })
        .collect())
}

/// The annotations to write so that `rollout` manages exactly `keys` (none drops its entry),
/// keeping every other Rollout's entry: the current map, compact JSON with sorted Rollout
/// names (as Go writes a map); and, where the older annotation names this Rollout, that
/// annotation without it, so the entry does not come back on the next read.
pub fn update_managed(
    ingress: &Ingress,
    rollout: &str,
    keys: &[String],
) -> Result<Vec<Annotation>> {
    let mut map = merged(ingress)?;
    if keys.is_empty() {
        map.remove(rollout);
    } else {
        map.insert(rollout.to_string(), keys.to_vec());
    }
    let mut out = vec![Annotation {
        key: MANAGED_ANNOTATIONS.to_string(),
        value: serde_json::to_string(&map).unwrap_or_default(),
    }];
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
