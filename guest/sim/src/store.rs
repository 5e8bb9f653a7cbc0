//! The in-memory cluster store: objects keyed by kind, namespace and name, each with a
//! resourceVersion from one counter. A write that names a stale resourceVersion is a conflict,
//! as on a real API server.
//!
//! Objects are kept as JSON text, the form the `cluster` imports answer in, with their labels
//! beside them for list selectors. So a `get` or `list` from a strategy is a copy of the text,
//! and a stored object costs about its size in bytes: a `serde_json::Value` tree of the same
//! object takes several times that (each JSON object is a B-tree with nodes allocated whole).
//! The world's own controllers read objects parsed ([`Store::get`], [`Store::list`]).
//!
//! Deletion goes through finalizers as on a real API server: deleting an object that has some
//! only sets its `metadata.deletionTimestamp`; the write that takes its last finalizer off
//! removes it.
//!
//! Every write is in a change log, as a watch would show it: [`Store::changed_since`] gives the
//! keys written (or removed) after a version, so the world's controllers re-read only what
//! changed, the way informers do.

use std::collections::BTreeMap;

use albatross_policy::HostError;
use albatross_policy::spec::namespace_of;
use albatross_policy::status::rfc3339;
use serde_json::Value;

use crate::labels::{label_map, parse_selector};

/// The key of a stored object.
pub type ObjectKey = (String, String, String);

/// One stored object: its JSON text, its labels sorted by key, and the version it was
/// written at.
#[derive(Debug, Clone)]
struct Stored {
    json: String,
    labels: Vec<(String, String)>,
    version: u64,
}

impl Stored {
    fn new(object: &Value, version: u64) -> Self {
        Stored {
            json: object.to_string(),
            labels: label_map(&object["metadata"]["labels"])
                .into_iter()
                .collect(),
            version,
        }
    }

    /// The object parsed. The text was written by [`Stored::new`] from a `Value`, so it always
    /// parses; were it ever not to, the object reads as `null`, as a missing one would.
    fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    fn has_labels(&self, selector: &BTreeMap<String, String>) -> bool {
        selector.iter().all(|(k, v)| {
            self.labels
                .binary_search_by(|(lk, _)| lk.as_str().cmp(k))
                .is_ok_and(|i| self.labels[i].1 == *v)
        })
    }
}

/// Objects, the resourceVersion counter, and the change log.
#[derive(Debug, Clone, Default)]
pub struct Store {
    objects: BTreeMap<ObjectKey, Stored>,
    version: u64,
    now: String,
    /// The last write of each key, by version: a stored object's, or its removal's.
    log: BTreeMap<u64, ObjectKey>,
    /// The version of the removal of each key that is gone, to keep the log one entry a key.
    removed: BTreeMap<ObjectKey, u64>,
}

/// An object's `metadata.deletionTimestamp`, when it is being deleted.
fn deletion_of(object: &Value) -> Option<&Value> {
    object
        .pointer("/metadata/deletionTimestamp")
        .filter(|t| !t.is_null())
}

/// Whether an object is being deleted and nothing holds it any more.
fn released(object: &Value) -> bool {
    deletion_of(object).is_some()
        && object
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
}

/// The key of `kind` `namespace/name`.
pub fn key(kind: &str, namespace: &str, name: &str) -> ObjectKey {
    (kind.to_string(), namespace.to_string(), name.to_string())
}

fn name_of(object: &Value) -> Option<(String, String)> {
    let meta = object.get("metadata")?;
    let name = meta.get("name")?.as_str()?.to_string();
    Some((namespace_of(object).to_string(), name))
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Default::default());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

impl Store {
    /// Sets the clock deletion timestamps are taken from (the simulated second `t`, on the
    /// strategy's clock: seconds since the Unix epoch).
    pub fn set_time(&mut self, t: u64) {
        self.now = rfc3339(t * 1000);
    }

    /// Gives `object` the next resourceVersion and stores it under `k` (or, when it is being
    /// deleted and has no finalizer left, removes it); its text.
    fn store(&mut self, k: ObjectKey, mut object: Value) -> String {
        // Once set, a deletionTimestamp stays: no write takes an object out of deletion.
        if let Some(t) = self
            .objects
            .get(&k)
            .filter(|s| s.json.contains("\"deletionTimestamp\""))
            .map(Stored::value)
            .and_then(|before| deletion_of(&before).cloned())
        {
            object["metadata"]["deletionTimestamp"] = t;
        }
        self.version += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.version.to_string());
        let stored = Stored::new(&object, self.version);
        let json = stored.json.clone();
        let before = match self.objects.get(&k) {
            Some(s) => Some(s.version),
            None => self.removed.remove(&k),
        };
        if let Some(v) = before {
            self.log.remove(&v);
        }
        self.log.insert(self.version, k.clone());
        if released(&object) {
            self.objects.remove(&k);
            self.removed.insert(k, self.version);
        } else {
            self.objects.insert(k, stored);
        }
        json
    }

    /// The version of the last write.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The keys written or removed after version `since`, oldest first, each once (with its
    /// last write): what a watch from `since` would deliver.
    pub fn changed_since(&self, since: u64) -> impl Iterator<Item = &ObjectKey> {
        self.log.range(since.saturating_add(1)..).map(|(_, k)| k)
    }

    /// Entries of a kind in a namespace (every namespace when `namespace` is empty): a range of
    /// the ordered keys, so a list costs what it returns, not the size of the store.
    fn range<'a>(&'a self, kind: &'a str, namespace: &'a str) -> impl Iterator<Item = &'a Stored> {
        self.objects
            .range(key(kind, namespace, "")..)
            .take_while(move |((k, ns, _), _)| {
                k == kind && (namespace.is_empty() || ns == namespace)
            })
            .map(|(_, v)| v)
    }

    /// One object, parsed.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        self.objects
            .get(&key(kind, namespace, name))
            .map(Stored::value)
    }

    /// One object's JSON text.
    pub fn get_json(&self, kind: &str, namespace: &str, name: &str) -> Option<&str> {
        self.objects
            .get(&key(kind, namespace, name))
            .map(|s| s.json.as_str())
    }

    /// Objects of a kind in a namespace (every namespace when `namespace` is empty), parsed.
    pub fn list<'a>(&'a self, kind: &'a str, namespace: &'a str) -> impl Iterator<Item = Value> {
        self.range(kind, namespace).map(Stored::value)
    }

    /// The JSON text of the objects of a kind in a namespace (every namespace when `namespace`
    /// is empty) whose labels match `selector`, in the `a=b,c==d` form of the `cluster.list`
    /// import (empty selects everything).
    pub fn list_json(
        &self,
        kind: &str,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<String>, HostError> {
        let selector = parse_selector(selector)?;
        Ok(self
            .range(kind, namespace)
            .filter(|s| s.has_labels(&selector))
            .map(|s| s.json.clone())
            .collect())
    }

    /// Creates an object; one that exists already is a conflict. Returns the stored text.
    pub fn create(&mut self, kind: &str, mut object: Value) -> Result<String, HostError> {
        let (ns, name) = name_of(&object)
            .ok_or_else(|| HostError::Invalid(format!("{kind} without metadata.name")))?;
        let k = key(kind, &ns, &name);
        if self.objects.contains_key(&k) {
            return Err(HostError::Conflict(format!(
                "{kind} {ns}/{name} already exists"
            )));
        }
        object["metadata"]["namespace"] = Value::String(ns);
        Ok(self.store(k, object))
    }

    /// Stores an object as given (the world's own controllers and scenario setup).
    pub fn put(&mut self, kind: &str, mut object: Value) -> Result<(), HostError> {
        let (ns, name) = name_of(&object)
            .ok_or_else(|| HostError::Invalid(format!("{kind} without metadata.name")))?;
        object["metadata"]["namespace"] = Value::String(ns.clone());
        self.store(key(kind, &ns, &name), object);
        Ok(())
    }

    /// Applies a merge patch; a patch naming a resourceVersion other than the stored one is a
    /// conflict. Returns the stored text.
    pub fn patch(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<String, HostError> {
        let k = key(kind, namespace, name);
        let stored = self
            .objects
            .get(&k)
            .ok_or_else(|| HostError::NotFound(format!("{kind} {namespace}/{name}")))?;
        let before = stored.value();
        if let Some(wanted) = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && before
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                != Some(wanted)
        {
            return Err(HostError::Conflict(format!(
                "{kind} {namespace}/{name} changed since resourceVersion {wanted}"
            )));
        }
        let mut object = before.clone();
        merge_patch(&mut object, patch);
        if object == before {
            return Ok(stored.json.clone());
        }
        Ok(self.store(k, object))
    }

    /// Deletes an object: at once when it has no finalizers, else by setting its
    /// `metadata.deletionTimestamp` (once) and leaving it to whoever holds a finalizer.
    pub fn delete(&mut self, kind: &str, namespace: &str, name: &str) -> Result<(), HostError> {
        let k = key(kind, namespace, name);
        let mut object = self
            .objects
            .get(&k)
            .map(Stored::value)
            .ok_or_else(|| HostError::NotFound(format!("{kind} {namespace}/{name}")))?;
        if deletion_of(&object).is_some() {
            return Ok(());
        }
        let now = if self.now.is_empty() {
            rfc3339(0)
        } else {
            self.now.clone()
        };
        object["metadata"]["deletionTimestamp"] = Value::String(now);
        self.store(k, object);
        Ok(())
    }
}
