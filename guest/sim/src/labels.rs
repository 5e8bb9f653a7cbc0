//! Label selectors: a map of required labels, and the `a=b,c=d` string form the `cluster.list`
//! import takes (equality terms only; `a!=b` and set-based terms are refused).

use std::collections::BTreeMap;

use albatross_policy::HostError;
use serde_json::Value;

/// Whether `labels` carry every pair of `selector`.
pub fn selector_matches(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Parses `a=b,c==d` into its pairs; empty selects everything.
pub fn parse_selector(s: &str) -> Result<BTreeMap<String, String>, HostError> {
    s.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|term| {
            let (k, v) = term
                .split_once("==")
                .or_else(|| term.split_once('='))
                .filter(|(k, _)| !k.is_empty() && !k.ends_with('!'))
                .ok_or_else(|| {
                    HostError::Invalid(format!(
                        "label selector term {term:?}: the simulated API server takes key=value terms only"
                    ))
                })?;
            Ok((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

/// The string-valued entries of a JSON object (labels, a selector's matchLabels), as a map.
pub fn label_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}
