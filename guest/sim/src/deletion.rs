//! Deleting a Rollout as a real cluster deletes it. The world stands in for Albatross's
//! controller around the strategy: it puts the `albatross.io/traffic` finalizer on each Rollout
//! when it first sees it and takes it off on the strategy's `TrafficReleased` Event, so the
//! API server (the store) keeps a deleted Rollout, with its `deletionTimestamp`, until its
//! traffic is given back. Then the garbage collector deletes the ReplicaSets it owned and their
//! pods, unless the deletion orphaned them (`kubectl delete --cascade=orphan`).

use albatross_policy::reconcile::FINALIZER;
use serde_json::{Value, json};

use crate::world::World;

/// The names of the owners in an object's `metadata.ownerReferences`, with their kinds.
fn owners(object: &Value) -> Vec<(String, String)> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| {
            Some((
                o["kind"].as_str()?.to_string(),
                o["name"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// A list for a merge patch: `null` (the field removed) when it is empty.
fn list_or_null<T: serde::Serialize>(items: &[T]) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        json!(items)
    }
}

fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect()
}

impl World {
    /// Puts Albatross's finalizer on a Rollout manifest, as the controller does on first sight
    /// (a manifest without a `metadata` object is left as it is, for the store to refuse).
    pub fn with_finalizer(mut rollout: Value) -> Value {
        let mut list = finalizers(&rollout);
        if !list.iter().any(|f| f == FINALIZER) {
            list.push(FINALIZER.to_string());
            if let Some(meta) = rollout.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("finalizers".into(), json!(list));
            }
        }
        rollout
    }

    /// Takes Albatross's finalizer off a Rollout; the API server removes a Rollout being
    /// deleted once no finalizer is left, and its dependents are collected next second.
    pub fn release_finalizer(&mut self, ns: &str, name: &str) {
        let Some(rollout) = self.store.get("Rollout", ns, name) else {
            return;
        };
        let rest: Vec<String> = finalizers(&rollout)
            .into_iter()
            .filter(|f| f != FINALIZER)
            .collect();
        let _ = self.store.patch(
            "Rollout",
            ns,
            name,
            &json!({"metadata": {"finalizers": list_or_null(&rest)}}),
        );
        self.garbage = true;
    }

    /// `kubectl delete rollout`: the API server marks the Rollout deleted (it goes once its
    /// finalizers are off). With `orphan` its ReplicaSets lose their owner reference first and
    /// stay, with their pods, after it.
    pub fn delete_rollout(&mut self, ns: &str, name: &str, orphan: bool) {
        if orphan {
            let owned: Vec<Value> = self
                .store
                .list("ReplicaSet", ns)
                .filter(|rs| owners(rs).contains(&("Rollout".to_string(), name.to_string())))
                .collect();
            for rs in owned {
                let rest: Vec<&Value> = rs["metadata"]["ownerReferences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|o| !(o["kind"] == json!("Rollout") && o["name"] == json!(name)))
                    .collect();
                let rs_name = rs["metadata"]["name"].as_str().unwrap_or_default();
                let _ = self.store.patch(
                    "ReplicaSet",
                    ns,
                    rs_name,
                    &json!({"metadata": {"ownerReferences": list_or_null(&rest)}}),
                );
            }
        }
        let _ = self.store.delete("Rollout", ns, name);
        self.garbage = true;
    }

    /// The garbage collector, after a deletion: a ReplicaSet or a pod every one of whose owners
    /// is gone is deleted (a pod serves on through its preStop hook, as any deleted pod).
    pub(crate) fn collect_garbage(&mut self) {
        if !std::mem::take(&mut self.garbage) {
            return;
        }
        for kind in ["ReplicaSet", "Pod"] {
            let orphaned: Vec<(String, String)> = self
                .store
                .list(kind, "")
                .filter_map(|o| {
                    let ns = albatross_policy::spec::namespace_of(&o).to_string();
                    let refs = owners(&o);
                    let gone = !refs.is_empty()
                        && refs
                            .iter()
                            .all(|(k, n)| self.store.get_json(k, &ns, n).is_none());
                    gone.then(|| Some((ns, o["metadata"]["name"].as_str()?.to_string())))?
                })
                .collect();
            for (ns, name) in orphaned {
                if kind == "Pod" {
                    self.delete_pod(&ns, &name);
                } else {
                    let _ = self.store.delete(kind, &ns, &name);
                }
            }
        }
    }
}
