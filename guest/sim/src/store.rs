//! The in-memory cluster store: objects as JSON keyed by kind, namespace and name, each with a
//! resourceVersion from one counter. A write that names a stale resourceVersion is a conflict,
//! as on a real API server.

use std::collections::BTreeMap;

use albatross_policy::HostError;
use albatross_policy::spec::namespace_of;
use serde_json::Value;

/// The key of a stored object.
pub type ObjectKey = (String, String, String);

/// Objects and the resourceVersion counter.
#[derive(Debug, Clone, Default)]
pub struct Store {
    objects: BTreeMap<ObjectKey, Value>,
    version: u64,
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
    fn bump(&mut self, object: &mut Value) {
        self.version += 1;
        object["metadata"]["resourceVersion"] = Value::String(self.version.to_string());
    }

    /// One object.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&key(kind, namespace, name))
    }

    /// Objects of a kind in a namespace (every namespace when `namespace` is empty). A range
    /// of the ordered keys, so a list costs what it returns, not the size of the store.
    pub fn list<'a>(
        &'a self,
        kind: &'a str,
        namespace: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .range(key(kind, namespace, "")..)
            .take_while(move |((k, ns, _), _)| {
                k == kind && (namespace.is_empty() || ns == namespace)
            })
            .map(|(_, v)| v)
    }

    /// Creates an object; one that exists already is a conflict.
    pub fn create(&mut self, kind: &str, mut object: Value) -> Result<Value, HostError> {
        let (ns, name) = name_of(&object)
            .ok_or_else(|| HostError::Invalid(format!("{kind} without metadata.name")))?;
        let k = key(kind, &ns, &name);
        if self.objects.contains_key(&k) {
            return Err(HostError::Conflict(format!(
                "{kind} {ns}/{name} already exists"
            )));
        }
        object["metadata"]["namespace"] = Value::String(ns);
        self.bump(&mut object);
        self.objects.insert(k, object.clone());
        Ok(object)
    }

    /// Stores an object as given (the world's own controllers and scenario setup).
    pub fn put(&mut self, kind: &str, mut object: Value) -> Result<(), HostError> {
        let (ns, name) = name_of(&object)
            .ok_or_else(|| HostError::Invalid(format!("{kind} without metadata.name")))?;
        object["metadata"]["namespace"] = Value::String(ns.clone());
        self.bump(&mut object);
        self.objects.insert(key(kind, &ns, &name), object);
        Ok(())
    }

    /// Applies a merge patch; a patch naming a resourceVersion other than the stored one is a
    /// conflict.
    pub fn patch(
        &mut self,
        kind: &str,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<Value, HostError> {
        let k = key(kind, namespace, name);
        let mut object = self
            .objects
            .get(&k)
            .cloned()
            .ok_or_else(|| HostError::NotFound(format!("{kind} {namespace}/{name}")))?;
        if let Some(wanted) = patch
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && object
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                != Some(wanted)
        {
            return Err(HostError::Conflict(format!(
                "{kind} {namespace}/{name} changed since resourceVersion {wanted}"
            )));
        }
        merge_patch(&mut object, patch);
        if object != self.objects[&k] {
            self.bump(&mut object);
            self.objects.insert(k, object.clone());
        }
        Ok(object)
    }

    /// Deletes an object.
    pub fn delete(&mut self, kind: &str, namespace: &str, name: &str) -> Result<Value, HostError> {
        self.objects
            .remove(&key(kind, namespace, name))
            .ok_or_else(|| HostError::NotFound(format!("{kind} {namespace}/{name}")))
    }
}
