//! The emulated API server's state and the semantics of each verb on it: objects by
//! collection with a global resourceVersion, generation and uid; create, replace, patch
//! (merge, JSON, list-free strategic, apply) and delete with finalizers; the `status` and
//! `scale` subresources (a status write leaves the rest alone and the reverse); optimistic
//! concurrency (409 on a stale resourceVersion); a write that changes nothing is not a write
//! (no new resourceVersion, no watch event), as on a real server; and the change log watches
//! replay from, compacted on demand (a watch from before the compaction gets 410 Gone).
//!
//! Not emulated: garbage collection of dependents, admission, defaulting, validation beyond
//! well-formed JSON, field ownership beyond one rule (an apply that changes a `spec` field
//! another manager set, without `force`, is a 409 Conflict: what leader election needs).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use albatross_policy::status::rfc3339;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use super::error::ApiError;
use super::kinds::{has_status, kind_of_plural};
use super::patch::{self, PatchKind};
use super::path::ResourcePath;
use super::selector::Selector;

/// How many changes the log keeps before it compacts its oldest.
const LOG_CAPACITY: usize = 200_000;

/// One committed change, as watches see it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resourceVersion it was committed at.
    pub rv: u64,
    /// `api_version/plural`.
    pub collection: String,
    /// The object's namespace ("" for cluster-scoped).
    pub namespace: String,
    /// The object before, when it existed.
    pub old: Option<Value>,
    /// The object after; for a deletion, the last state with the deletion's resourceVersion.
    pub object: Value,
    /// Whether the object is gone.
    pub deleted: bool,
}

impl Change {
    /// The watch event this change is for a watch of `namespace` (None: all) and `selector`:
    /// ADDED when the object starts matching, DELETED when it stops, as a real watch cache
    /// does; None when the watch does not see it.
    pub fn event_for(&self, namespace: Option<&str>, selector: &Selector) -> Option<Value> {
        if namespace.is_some_and(|ns| ns != self.namespace) {
            return None;
        }
        let was = self.old.as_ref().is_some_and(|o| selector.matches(o));
        let is = !self.deleted && selector.matches(&self.object);
        let kind = match (was, is) {
            (false, true) => "ADDED",
            (true, true) => "MODIFIED",
            (true, false) => "DELETED",
            (false, false) => return None,
        };
        Some(json!({"type": kind, "object": self.object}))
    }
}

/// An object's place in its collection: (namespace, name).
type Key = (String, String);

/// The objects of one resource.
#[derive(Debug, Default)]
struct Collection {
    objects: BTreeMap<Key, Value>,
    /// Which field manager set each top-level `spec` field, by object.
    owners: BTreeMap<Key, BTreeMap<String, String>>,
}

/// The whole state.
#[derive(Debug)]
pub struct State {
    rv: u64,
    uid: u64,
    collections: BTreeMap<String, Collection>,
    log: VecDeque<Arc<Change>>,
    compacted: u64,
    changes: broadcast::Sender<Arc<Change>>,
}

impl Default for State {
    fn default() -> Self {
        State {
            rv: 0,
            uid: 0,
            collections: BTreeMap::new(),
            log: VecDeque::new(),
            compacted: 0,
            changes: broadcast::channel(65_536).0,
        }
    }
}

fn now() -> String {
    rfc3339(albatross::backend::system_millis())
}

/// Everything but `metadata` and `status`: what a generation counts.
fn spec_part(o: &Value) -> Value {
    let mut v = o.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    v
}

fn key_of(path: &ResourcePath, name: &str) -> Key {
    (path.namespace.clone().unwrap_or_default(), name.to_string())
}

fn name_of(path: &ResourcePath) -> Result<&str, ApiError> {
    path.name
        .as_deref()
        .ok_or_else(|| ApiError::MethodNotAllowed("this verb needs an object name".into()))
}

impl State {
    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A receiver of every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Drops the change log: a watch from an older resourceVersion gets 410 Gone.
    pub fn compact(&mut self) {
        self.log.clear();
        self.compacted = self.rv;
    }

    /// The changes after `rv`, or Expired when the log no longer reaches back that far.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Arc<Change>>, ApiError> {
        if rv < self.compacted {
            return Err(ApiError::Expired(format!(
                "too old resource version: {rv} ({})",
                self.compacted
            )));
        }
        Ok(self.log.iter().filter(|c| c.rv > rv).cloned().collect())
    }

    /// One object, as stored.
    pub fn object(&self, collection: &str, namespace: &str, name: &str) -> Option<Value> {
        self.collections
            .get(collection)?
            .objects
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// `f` of every object of a collection in `namespace`, without copying the objects.
    pub fn map_objects<T>(
        &self,
        collection: &str,
        namespace: &str,
        f: impl FnMut(&Value) -> T,
    ) -> Vec<T> {
        self.stored(collection, Some(namespace)).map(f).collect()
    }

    /// Every object of a collection in `namespace` (None: all) that `selector` selects.
    pub fn objects(
        &self,
        collection: &str,
        namespace: Option<&str>,
        selector: &Selector,
    ) -> Vec<Value> {
        self.stored(collection, namespace)
            .filter(|o| selector.matches(o))
            .cloned()
            .collect()
    }

    /// The stored objects of a collection in `namespace` (None: all), by reference.
    fn stored<'a>(
        &'a self,
        collection: &str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.collections
            .get(collection)
            .into_iter()
            .flat_map(|c| c.objects.iter())
            .filter(move |((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, o)| o)
    }

    fn commit(&mut self, path: &ResourcePath, key: Key, old: Option<Value>, new: Option<Value>) {
        self.rv += 1;
        let collection = self.collections.entry(path.collection()).or_default();
        let (object, deleted) = match new {
            Some(mut o) => {
                o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
                collection.objects.insert(key.clone(), o.clone());
                (o, false)
            }
            None => {
                collection.objects.remove(&key);
                collection.owners.remove(&key);
                let mut last = old.clone().unwrap_or(Value::Null);
                last["metadata"]["resourceVersion"] = json!(self.rv.to_string());
                (last, true)
            }
        };
        let change = Arc::new(Change {
            rv: self.rv,
            collection: path.collection(),
            namespace: key.0,
            old,
            object,
            deleted,
        });
        if self.log.len() >= LOG_CAPACITY
            && let Some(dropped) = self.log.pop_front()
        {
            self.compacted = dropped.rv;
        }
        self.log.push_back(change.clone());
        let _ = self.changes.send(change);
    }

    /// GET of an object (or its `scale`).
    pub fn get(&self, path: &ResourcePath) -> Result<Value, ApiError> {
        let name = name_of(path)?;
        let ns = path.namespace.clone().unwrap_or_default();
        let object = self
            .object(&path.collection(), &ns, name)
            .ok_or_else(|| ApiError::NotFound(format!("{} {name:?} not found", path.plural)))?;
        match path.subresource.as_deref() {
            Some("scale") => Ok(scale_of(&object)),
            _ => Ok(object),
        }
    }

    /// LIST, paged by `limit` with a `continue` token naming the last key returned.
    pub fn list(
        &self,
        path: &ResourcePath,
        selector: &Selector,
        limit: Option<usize>,
        cont: Option<&str>,
    ) -> Value {
        let mut items = self.objects(&path.collection(), path.namespace.as_deref(), selector);
        if let Some(after) = cont {
            let after = after.to_string();
            items.retain(|o| {
                let k = format!(
                    "{}/{}",
                    o["metadata"]["namespace"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                );
                k > after
            });
        }
        let mut metadata = json!({"resourceVersion": self.rv.to_string()});
        if let Some(limit) = limit.filter(|l| *l > 0 && items.len() > *l) {
            items.truncate(limit);
            if let Some(last) = items.last() {
                metadata["continue"] = json!(format!(
                    "{}/{}",
                    last["metadata"]["namespace"].as_str().unwrap_or_default(),
                    last["metadata"]["name"].as_str().unwrap_or_default()
                ));
            }
        }
        let kind = kind_of_plural(&path.plural);
        json!({"apiVersion": path.api_version, "kind": format!("{kind}List"),
               "metadata": metadata, "items": items})
    }

    /// POST: a new object, named by `metadata.name` or `generateName`.
    pub fn create(&mut self, path: &ResourcePath, mut body: Value) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::BadRequest("the body is not a JSON object".into()));
        }
        let name = match body["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => match body["metadata"]["generateName"].as_str() {
                Some(prefix) => format!("{prefix}{:05x}", self.uid + 1),
                None => return Err(ApiError::Invalid("metadata.name: Required value".into())),
            },
        };
        check_owner_references(&body)?;
        let key = key_of(path, &name);
        if self.object(&path.collection(), &key.0, &name).is_some() {
            return Err(ApiError::AlreadyExists(format!(
                "{} {name:?} already exists",
                path.plural
            )));
        }
        self.uid += 1;
        let meta = &mut body["metadata"];
        meta["name"] = json!(name);
        if let Some(ns) = &path.namespace {
            meta["namespace"] = json!(ns);
        }
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", self.uid));
        meta["creationTimestamp"] = json!(now());
        meta["generation"] = json!(1);
        if body.get("apiVersion").is_none() {
            body["apiVersion"] = json!(path.api_version);
        }
        if body.get("kind").is_none() {
            body["kind"] = json!(kind_of_plural(&path.plural));
        }
        self.commit(path, key, None, Some(body));
        self.get(&ResourcePath {
            subresource: None,
            name: Some(name),
            ..path.clone()
        })
    }

    /// PUT of an object or its status: a full replacement, checked against the
    /// resourceVersion it carries.
    pub fn replace(&mut self, path: &ResourcePath, body: Value) -> Result<Value, ApiError> {
        let old = self.get(&ResourcePath {
            subresource: None,
            ..path.clone()
        })?;
        self.write(path, old, body)
    }

    /// PATCH of an object or a subresource.
    pub fn patch(
        &mut self,
        path: &ResourcePath,
        kind: PatchKind,
        body: &Value,
        field_manager: Option<&str>,
        force: bool,
    ) -> Result<Value, ApiError> {
        let main = ResourcePath {
            subresource: None,
            ..path.clone()
        };
        let old = match self.get(&main) {
            Ok(o) => o,
            Err(ApiError::NotFound(_))
                if kind == PatchKind::Apply && path.subresource.is_none() =>
            {
                let created = self.create(path, body.clone())?;
                self.take_ownership(path, body, field_manager);
                return Ok(created);
            }
            Err(e) => return Err(e),
        };
        if kind == PatchKind::Apply && !force {
            self.check_ownership(path, &old, body, field_manager)?;
        }
        let new = if path.subresource.as_deref() == Some("scale") {
            let scale = patch::apply(&scale_of(&old), kind, body)?;
            let mut new = old.clone();
            new["spec"]["replicas"] = scale["spec"]["replicas"].clone();
            new
        } else {
            patch::apply(&old, kind, body)?
        };
        let out = self.write(path, old, new)?;
        self.take_ownership(path, body, field_manager);
        Ok(out)
    }

    /// An apply that changes a `spec` field another manager set is a conflict.
    fn check_ownership(
        &self,
        path: &ResourcePath,
        old: &Value,
        body: &Value,
        manager: Option<&str>,
    ) -> Result<(), ApiError> {
        let key = key_of(path, name_of(path)?);
        let owners = self
            .collections
            .get(&path.collection())
            .and_then(|c| c.owners.get(&key));
        let Some(fields) = body["spec"].as_object() else {
            return Ok(());
        };
        for (field, value) in fields {
            let current = &old["spec"][field];
            let owner = owners.and_then(|o| o.get(field));
            if !current.is_null()
                && current != value
                && owner.is_some_and(|o| Some(o.as_str()) != manager)
            {
                return Err(ApiError::Conflict(format!(
                    "Apply failed with 1 conflict: conflict with {:?}: .spec.{field}",
                    owner.cloned().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    fn take_ownership(&mut self, path: &ResourcePath, body: &Value, manager: Option<&str>) {
        let (Some(manager), Some(fields), Some(name)) =
            (manager, body["spec"].as_object(), path.name.as_deref())
        else {
            return;
        };
        let key = key_of(path, name);
        let owners = self
            .collections
            .entry(path.collection())
            .or_default()
            .owners
            .entry(key)
            .or_default();
        for (field, value) in fields {
            if value.is_null() {
                owners.remove(field);
            } else {
                owners.insert(field.clone(), manager.to_string());
            }
        }
    }

    /// Commits `new` in place of `old` under the rules of the subresource written.
    fn write(
        &mut self,
        path: &ResourcePath,
        old: Value,
        mut new: Value,
    ) -> Result<Value, ApiError> {
        let name = name_of(path)?.to_string();
        // As on a real server: the resourceVersion the written object carries (set by the
        // body of a replace, or by the patch) must be the current one.
        let wanted_rv = new["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_string);
        let current_rv = old["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        if let Some(rv) = wanted_rv.filter(|rv| !rv.is_empty())
            && rv != current_rv
        {
            return Err(ApiError::Conflict(format!(
                "Operation cannot be fulfilled on {} {name:?}: the object has been modified; \
                 please apply your changes to the latest version and try again",
                path.plural
            )));
        }
        match path.subresource.as_deref() {
            Some("status") => {
                let status = new["status"].clone();
                new = old.clone();
                new["status"] = status;
            }
            Some("scale") | None => {
                if has_status(&path.plural) {
                    new["status"] = old["status"].clone();
                    if old.get("status").is_none()
                        && let Some(m) = new.as_object_mut()
                    {
                        m.remove("status");
                    }
                }
            }
            Some(other) => {
                return Err(ApiError::NotFound(format!("no subresource {other:?}")));
            }
        }
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
        ] {
            match old["metadata"].get(field) {
                Some(v) => new["metadata"][field] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
            }
        }
        check_owner_references(&new)?;
        let generation = old["metadata"]["generation"].as_u64().unwrap_or(1);
        let bumped = generation + u64::from(spec_part(&old) != spec_part(&new));
        new["metadata"]["generation"] = json!(bumped);
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        let key = key_of(path, &name);
        let finalized = new["metadata"].get("deletionTimestamp").is_some()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        if finalized {
            self.commit(path, key, Some(old), None);
            return Ok(new);
        }
        if new != old {
            self.commit(path, key, Some(old), Some(new));
        }
        self.get(path)
    }

    /// DELETE: gone at once without finalizers; with them, marked with a deletionTimestamp
    /// until the last one is removed.
    pub fn delete(&mut self, path: &ResourcePath) -> Result<Value, ApiError> {
        let old = self.get(path)?;
        let name = name_of(path)?.to_string();
        let key = key_of(path, &name);
        let has_finalizers = old["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        if has_finalizers {
            if old["metadata"].get("deletionTimestamp").is_none() {
                let mut new = old.clone();
                new["metadata"]["deletionTimestamp"] = json!(now());
                new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                self.commit(path, key, Some(old), Some(new));
            }
            return self.get(path);
        }
        self.commit(path, key, Some(old.clone()), None);
        Ok(old)
    }
}

/// An owner reference needs the owner's uid, as a real API server's validation says.
fn check_owner_references(object: &Value) -> Result<(), ApiError> {
    let refs = object["metadata"]["ownerReferences"].as_array();
    for (i, r) in refs.into_iter().flatten().enumerate() {
        if r["uid"].as_str().is_none_or(str::is_empty) {
            return Err(ApiError::Invalid(format!(
                "metadata.ownerReferences[{i}].uid: Invalid value: \"\": uid must not be empty"
            )));
        }
    }
    Ok(())
}

/// The `autoscaling/v1` Scale of an object with `spec.replicas`.
fn scale_of(object: &Value) -> Value {
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "resourceVersion": object["metadata"]["resourceVersion"],
        },
        "spec": {"replicas": object["spec"]["replicas"].as_u64().unwrap_or(0)},
        "status": {"replicas": object["status"]["replicas"].as_u64().unwrap_or(0)},
    })
}
