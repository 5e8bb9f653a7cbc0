//! The reads a pass may take from the controller's reflector caches instead of the API server.
//!
//! The controller keeps a reflector store for each kind it watches with full objects
//! (Rollouts, ReplicaSets, Services, Ingresses, TargetGroupBindings); a module's `get` and
//! `list` of those kinds are answered from them. A cache lags the API server, and a pass must
//! never act on an older version of an object than one this controller already wrote or read:
//! a pass on a ReplicaSet from before its own scale, or on a Rollout from before its own
//! status write, would redo a step (and move traffic back). So every version this process
//! writes, or reads from the API server, is remembered, and a cached read is taken only when
//! the cache holds at least that version (resourceVersions compared as the integers etcd
//! gives; one that is not an integer sends the read to the API server). An object this process
//! deleted counts as seen until the cache drops it too. Everything else (a kind without a
//! store, a store still on its first list, a selector the cache cannot evaluate, an object the
//! cache does not hold) is a miss, read from the API server as before.
//!
//! `albatross_kube_cache_reads_total{kind,result="hit|miss|uncached"}` counts them.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use albatross_policy::HostError;
use albatross_policy::host::ObjectKind;
use kube::api::{ApiResource, DynamicObject};
use kube::core::{Expression, Selector, SelectorExt};
use kube::runtime::reflector::{ObjectRef, Store};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

/// The labels of a counted read.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// The kind read.
    pub kind: String,
    /// `hit` (answered from the cache), `miss` (a cached kind read from the API server),
    /// `uncached` (a kind the controller keeps no store of).
    pub result: String,
}

/// What the cache answered.
#[derive(Debug)]
pub enum Lookup<T> {
    /// The answer, as fresh as anything this process has seen of it.
    Hit(T),
    /// Ask the API server.
    Miss,
}

/// One object, by kind, namespace and name.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct ObjectKey {
    kind: String,
    namespace: String,
    name: String,
}

/// The newest this process has seen of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// It had this resourceVersion.
    Version(u64),
    /// This process deleted it when it had this resourceVersion (if known).
    Deleted(Option<u64>),
}

/// A reflector store of one kind, and whether its first list is in.
struct CachedKind {
    resource: ApiResource,
    store: Store<DynamicObject>,
    ready: Arc<AtomicBool>,
}

/// The controller's reflector stores, and the versions a cached read must not be older than.
pub struct ReadCache {
    kinds: HashMap<String, CachedKind>,
    seen: Mutex<HashMap<ObjectKey, Seen>>,
    reads: Family<CacheLabels, Counter>,
}

/// Waits until `store` has its first list; false if its writer went away first.
///
/// kube-runtime 5's `Store::wait_until_ready` wakes only the task that polled it last (one
/// oneshot receiver behind a lock), so of several tasks waiting on one store (the
/// Controller's own runner, the readiness probe, this cache) all but one would wait forever.
/// Polling it again every so often re-registers the waiter; once ready, it answers at once.
pub async fn until_ready(store: &Store<DynamicObject>) -> bool {
    loop {
        if let Ok(ready) = tokio::time::timeout(READY_POLL, store.wait_until_ready()).await {
            return ready.is_ok();
        }
    }
}

/// How often [`until_ready`] asks again.
const READY_POLL: std::time::Duration = std::time::Duration::from_millis(200);

fn version_of(o: &DynamicObject) -> Option<u64> {
    o.metadata.resource_version.as_deref()?.parse().ok()
}

/// A `cluster.list` selector (`a=b,c==d,e!=f,g,!h`) as kube's; None for one the cache does not
/// evaluate (the set-based `in` / `notin` forms), which is then asked of the API server.
pub fn parse_selector(s: &str) -> Option<Selector> {
    let mut exprs = Vec::new();
    for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let expr = if let Some((k, v)) = term.split_once("!=") {
            Expression::NotEqual(k.trim().into(), v.trim().into())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            Expression::Equal(k.trim().into(), v.trim().into())
        } else if let Some(k) = term.strip_prefix('!') {
            Expression::DoesNotExist(k.trim().into())
        } else if term.contains(char::is_whitespace) || term.contains('(') {
            return None;
        } else {
            Expression::Exists(term.into())
        };
        exprs.push(expr);
    }
    Some(exprs.into_iter().collect())
}

impl Default for ReadCache {
    /// A cache with no stores, its counter registered nowhere: every read is a miss.
    fn default() -> Self {
        ReadCache::new(Family::default())
    }
}

impl ReadCache {
    /// A cache with no stores yet, counting its answers in `reads`.
    pub fn new(reads: Family<CacheLabels, Counter>) -> Self {
        ReadCache {
            kinds: HashMap::new(),
            seen: Mutex::new(HashMap::new()),
            reads,
        }
    }

    /// Adds the store of `resource`'s kind; reads use it once its first list is in.
    pub fn add(&mut self, resource: ApiResource, store: Store<DynamicObject>) {
        let ready = Arc::new(AtomicBool::new(false));
        let (flag, waiting) = (ready.clone(), store.clone());
        tokio::spawn(async move {
            if until_ready(&waiting).await {
                flag.store(true, Ordering::SeqCst);
            }
        });
        self.kinds.insert(
            resource.kind.clone(),
            CachedKind {
                resource,
                store,
                ready,
            },
        );
    }

    fn seen(&self) -> MutexGuard<'_, HashMap<ObjectKey, Seen>> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, kind: &str, result: &str) {
        self.reads
            .get_or_create(&CacheLabels {
                kind: kind.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// The ready store of `kind`, counting the read as `uncached` when there is none.
    fn store_of(&self, kind: &ObjectKind) -> Option<&CachedKind> {
        match self.kinds.get(&kind.kind) {
            Some(c) if c.resource.api_version == kind.api_version => {
                if c.ready.load(Ordering::SeqCst) {
                    Some(c)
                } else {
                    self.count(&kind.kind, "miss");
                    None
                }
            }
            _ => {
                self.count(&kind.kind, "uncached");
                None
            }
        }
    }

    fn key(kind: &ObjectKind, ns: &str, name: &str) -> ObjectKey {
        ObjectKey {
            kind: kind.kind.clone(),
            namespace: ns.to_string(),
            name: name.to_string(),
        }
    }

    /// Whether `cached` (the store's version of `key`, if any) is at least as new as what this
    /// process saw; a seen version the cache has caught up with is forgotten.
    fn fresh(
        seen: &mut HashMap<ObjectKey, Seen>,
        key: &ObjectKey,
        cached: Option<&DynamicObject>,
    ) -> bool {
        let ok = match (seen.get(key), cached) {
            (None, _) => true,
            (Some(Seen::Deleted(_)), None) => true,
            (Some(Seen::Deleted(v)), Some(o)) => {
                matches!((v, version_of(o)), (Some(v), Some(r)) if r > *v)
            }
            (Some(Seen::Version(v)), Some(o)) => version_of(o).is_some_and(|r| r >= *v),
            (Some(Seen::Version(_)), None) => false,
        };
        if ok {
            seen.remove(key);
        }
        ok
    }

    /// Whether `object` (of `kind`, as the controller's store gave it) is at least as new as
    /// every version of it this process has written or read.
    pub fn is_fresh(&self, kind: &ObjectKind, object: &DynamicObject) -> bool {
        let key = Self::key(
            kind,
            object.metadata.namespace.as_deref().unwrap_or_default(),
            object.metadata.name.as_deref().unwrap_or_default(),
        );
        Self::fresh(&mut self.seen(), &key, Some(object))
    }

    /// One object from the cache: a hit when the cache holds it (or knows this process
    /// deleted it) at least as new as this process has seen it.
    pub fn get(
        &self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
    ) -> Lookup<Result<Arc<DynamicObject>, HostError>> {
        let Some(c) = self.store_of(kind) else {
            return Lookup::Miss;
        };
        let key = Self::key(kind, ns, name);
        let cached = c
            .store
            .get(&ObjectRef::new_with(name, c.resource.clone()).within(ns));
        let mut seen = self.seen();
        let deleted = matches!(seen.get(&key), Some(Seen::Deleted(_)));
        let answer = match (Self::fresh(&mut seen, &key, cached.as_deref()), cached) {
            (true, Some(o)) => Lookup::Hit(Ok(o)),
            (true, None) if deleted => Lookup::Hit(Err(HostError::NotFound(format!(
                "get {} {ns}/{name}: deleted",
                kind.kind
            )))),
            _ => Lookup::Miss,
        };
        drop(seen);
        self.count_answer(&kind.kind, &answer);
        answer
    }

    /// The objects of `kind` in `ns` matching `selector`, from the cache: a hit when every
    /// object of that kind and namespace this process has seen is in it at least as new.
    pub fn list(
        &self,
        kind: &ObjectKind,
        ns: &str,
        selector: &str,
    ) -> Lookup<Vec<Arc<DynamicObject>>> {
        let Some(c) = self.store_of(kind) else {
            return Lookup::Miss;
        };
        let answer = match parse_selector(selector) {
            Some(selector) if self.all_fresh(c, kind, ns) => {
                let empty = BTreeMap::new();
                Lookup::Hit(c.store.state_filter(|o| {
                    o.metadata.namespace.as_deref() == Some(ns)
                        && selector.matches(o.metadata.labels.as_ref().unwrap_or(&empty))
                }))
            }
            _ => Lookup::Miss,
        };
        self.count_answer(&kind.kind, &answer);
        answer
    }

    fn count_answer<T>(&self, kind: &str, answer: &Lookup<T>) {
        let result = match answer {
            Lookup::Hit(_) => "hit",
            Lookup::Miss => "miss",
        };
        self.count(kind, result);
    }

    fn all_fresh(&self, c: &CachedKind, kind: &ObjectKind, ns: &str) -> bool {
        let mut seen = self.seen();
        let keys: Vec<ObjectKey> = seen
            .keys()
            .filter(|k| k.kind == kind.kind && k.namespace == ns)
            .cloned()
            .collect();
        keys.iter().all(|key| {
            let cached = c
                .store
                .get(&ObjectRef::new_with(&key.name, c.resource.clone()).within(ns));
            Self::fresh(&mut seen, key, cached.as_deref())
        })
    }

    /// Remembers the version of an object this process just read from, or wrote to, the API
    /// server (only for kinds the cache serves).
    pub fn note(&self, kind: &ObjectKind, object: &DynamicObject) {
        if !self.kinds.contains_key(&kind.kind) {
            return;
        }
        let Some(v) = version_of(object) else {
            return;
        };
        let key = Self::key(
            kind,
            object.metadata.namespace.as_deref().unwrap_or_default(),
            object.metadata.name.as_deref().unwrap_or_default(),
        );
        let mut seen = self.seen();
        let newer = match seen.get(&key) {
            Some(Seen::Version(old)) => v > *old,
            Some(Seen::Deleted(_)) | None => true,
        };
        if newer {
            seen.insert(key, Seen::Version(v));
        }
    }

    /// Remembers that this process deleted an object (last seen at `object`'s version, when
    /// the API server returned it).
    pub fn note_deleted(
        &self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        object: Option<&DynamicObject>,
    ) {
        if self.kinds.contains_key(&kind.kind) {
            let version = object.and_then(version_of);
            self.seen()
                .insert(Self::key(kind, ns, name), Seen::Deleted(version));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::reflector::store::Writer;
    use kube::runtime::watcher::Event;

    fn rs_kind() -> ObjectKind {
        ObjectKind::new("apps/v1", "ReplicaSet")
    }

    fn resource() -> ApiResource {
        crate::backend::kube::resource("apps/v1", "ReplicaSet", "replicasets")
    }

    fn rs(name: &str, rv: u64, app: &str) -> DynamicObject {
        let mut o = DynamicObject::new(name, &resource()).within("shop");
        o.metadata.resource_version = Some(rv.to_string());
        o.metadata.labels = Some([("app".to_string(), app.to_string())].into());
        o
    }

    /// A cache over one ReplicaSet store, ready, holding `objects`.
    async fn cache_with(objects: Vec<DynamicObject>) -> (ReadCache, Writer<DynamicObject>) {
        let mut writer = Writer::new(resource());
        writer.apply_watcher_event(&Event::Init);
        for o in objects {
            writer.apply_watcher_event(&Event::InitApply(o));
        }
        writer.apply_watcher_event(&Event::InitDone);
        let mut cache = ReadCache::new(Family::default());
        cache.add(resource(), writer.as_reader());
        for _ in 0..100 {
            if cache.kinds["ReplicaSet"].ready.load(Ordering::SeqCst) {
                break;
            }
            tokio::task::yield_now().await;
        }
        (cache, writer)
    }

    fn hit<T>(l: Lookup<T>) -> T {
        match l {
            Lookup::Hit(t) => t,
            Lookup::Miss => panic!("a miss"),
        }
    }

    #[tokio::test]
    async fn a_cached_object_is_answered_until_this_process_has_seen_a_newer_one() {
        let (cache, mut writer) = cache_with(vec![rs("web-1", 5, "web")]).await;
        let got = hit(cache.get(&rs_kind(), "shop", "web-1")).map_err(|e| e.to_string());
        assert_eq!(got.map(|o| version_of(&o)), Ok(Some(5)));
        // This process scales it: the API answers version 7; the cache still has 5.
        cache.note(&rs_kind(), &rs("web-1", 7, "web"));
        assert!(matches!(
            cache.get(&rs_kind(), "shop", "web-1"),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.list(&rs_kind(), "shop", "app=web"),
            Lookup::Miss
        ));
        // The watch delivers 7: the cache answers again.
        writer.apply_watcher_event(&Event::Apply(rs("web-1", 7, "web")));
        assert_eq!(hit(cache.list(&rs_kind(), "shop", "app=web")).len(), 1);
        assert!(cache.seen().is_empty(), "a caught-up version is forgotten");
    }

    #[tokio::test]
    async fn an_object_created_here_and_not_yet_cached_sends_lists_to_the_api_server() {
        let (cache, mut writer) = cache_with(vec![rs("web-1", 5, "web")]).await;
        cache.note(&rs_kind(), &rs("web-2", 9, "web"));
        assert!(matches!(
            cache.list(&rs_kind(), "shop", "app=web"),
            Lookup::Miss
        ));
        assert!(matches!(
            cache.get(&rs_kind(), "shop", "web-2"),
            Lookup::Miss
        ));
        writer.apply_watcher_event(&Event::Apply(rs("web-2", 9, "web")));
        let names: Vec<String> = hit(cache.list(&rs_kind(), "shop", "app=web"))
            .iter()
            .filter_map(|o| o.metadata.name.clone())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(hit(cache.list(&rs_kind(), "shop", "app=other")).is_empty());
        assert!(hit(cache.list(&rs_kind(), "other", "app=web")).is_empty());
    }

    #[tokio::test]
    async fn an_object_deleted_here_is_gone_until_the_cache_drops_it_too() {
        let (cache, mut writer) = cache_with(vec![rs("web-1", 5, "web")]).await;
        cache.note_deleted(&rs_kind(), "shop", "web-1", Some(&rs("web-1", 6, "web")));
        assert!(matches!(cache.list(&rs_kind(), "shop", ""), Lookup::Miss));
        writer.apply_watcher_event(&Event::Delete(rs("web-1", 6, "web")));
        assert!(matches!(
            hit(cache.get(&rs_kind(), "shop", "web-1")),
            Err(HostError::NotFound(_))
        ));
        // Created again by someone else, newer than the deleted one: the cache answers.
        cache.note_deleted(&rs_kind(), "shop", "web-1", Some(&rs("web-1", 6, "web")));
        writer.apply_watcher_event(&Event::Apply(rs("web-1", 8, "web")));
        assert!(hit(cache.get(&rs_kind(), "shop", "web-1")).is_ok());
    }

    #[tokio::test]
    async fn kinds_without_a_store_and_set_based_selectors_go_to_the_api_server() {
        let (cache, _writer) = cache_with(vec![rs("web-1", 5, "web")]).await;
        let pods = ObjectKind::new("v1", "Pod");
        assert!(matches!(cache.get(&pods, "shop", "p"), Lookup::Miss));
        assert!(matches!(
            cache.list(&rs_kind(), "shop", "app in (web,api)"),
            Lookup::Miss
        ));
        let other_version = ObjectKind::new("apps/v1beta2", "ReplicaSet");
        assert!(matches!(
            cache.list(&other_version, "shop", ""),
            Lookup::Miss
        ));
    }

    #[test]
    fn selectors_parse_as_the_cluster_import_writes_them() {
        let s = parse_selector("app=web, tier==front,env!=prod,hash,!legacy");
        let labels: BTreeMap<String, String> = [
            ("app", "web"),
            ("tier", "front"),
            ("env", "dev"),
            ("hash", "abc"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .into();
        assert!(s.as_ref().is_some_and(|s| s.matches(&labels)));
        assert!(parse_selector("").is_some_and(|s| s.selects_all()));
        assert!(parse_selector("app in (a,b)").is_none());
    }
}
