//! The `cluster` import over kube-rs, for one reconcile of one Rollout on a real cluster: get,
//! list by label selector, create, patch (merge, JSON and strategic; the object or its
//! `status` / `scale` subresource), delete, and Events on the Rollout (events.k8s.io/v1,
//! through kube's recorder). API errors reach the module typed: 404 `not-found`, 409
//! `conflict`, 403 `forbidden`, 400 / 422 `invalid`, 429 `throttled`, 5xx and broken
//! connections `transient`. Every request is counted by verb and kind in [`KubeCounters`].
//! Reads of the kinds the controller caches are answered from its reflector stores when they
//! are fresh enough ([`ReadCache`]); every object read from or written to the API server is
//! noted there, so no later read sees an older version. The capability checks sit in front
//! of this, as in front of every backend.

use std::sync::Arc;

use albatross_policy::HostError;
use albatross_policy::host::{Event, EventType, Level, ObjectKind, PatchType};
use async_trait::async_trait;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType, Recorder};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::Value;

use crate::backend::read_cache::{CacheLabels, Lookup, ReadCache};
use crate::backend::{Cluster, log_to_tracing, system_millis};

/// The plural of each kind the contract lets a module touch.
const PLURALS: [(&str, &str); 9] = [
    ("Rollout", "rollouts"),
    ("ReplicaSet", "replicasets"),
    ("Service", "services"),
    ("Ingress", "ingresses"),
    ("Pod", "pods"),
    ("Endpoints", "endpoints"),
    ("EndpointSlice", "endpointslices"),
    ("TargetGroupBinding", "targetgroupbindings"),
    ("Event", "events"),
];

/// The API resource of a kind, or `invalid` for a kind outside the contract.
pub fn api_resource(kind: &ObjectKind) -> Result<ApiResource, HostError> {
    let plural = PLURALS
        .iter()
        .find(|(k, _)| *k == kind.kind)
        .map(|(_, p)| *p)
        .ok_or_else(|| {
            HostError::Invalid(format!("{} is not a kind this host serves", kind.kind))
        })?;
    Ok(resource(&kind.api_version, &kind.kind, plural))
}

/// The API resource of `group/version` (or `v1`) `kind` with `plural`.
pub fn resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// The labels of a counted request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// get, list, create, patch, delete, event.
    pub verb: String,
    /// The kind.
    pub kind: String,
}

/// Kubernetes API requests made for modules, by verb and kind, and their reads by whether
/// the controller's caches answered them.
#[derive(Debug, Clone, Default)]
pub struct KubeCounters {
    /// `albatross_kube_requests_total{verb,kind}`.
    pub requests: Family<RequestLabels, Counter>,
    /// `albatross_kube_cache_reads_total{kind,result}`.
    pub cache_reads: Family<CacheLabels, Counter>,
}

impl KubeCounters {
    /// Registers the counters in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "albatross_kube_requests",
            "Kubernetes API requests made for strategy modules, by verb and kind",
            self.requests.clone(),
        );
        registry.register(
            "albatross_kube_cache_reads",
            "Reads strategy modules made, by kind and whether the controller's caches answered (hit, miss, uncached)",
            self.cache_reads.clone(),
        );
    }

    fn count_one(&self, verb: &str, kind: &ObjectKind) {
        self.requests
            .get_or_create(&RequestLabels {
                verb: verb.to_string(),
                kind: kind.kind.clone(),
            })
            .inc();
    }
}

/// The typed error of a failed request.
pub fn host_error(op: &str, e: kube::Error) -> HostError {
    match e {
        kube::Error::Api(s) => {
            let text = format!("{op}: {} ({})", s.message, s.reason);
            match s.code {
                404 => HostError::NotFound(text),
                409 => HostError::Conflict(text),
                401 | 403 => HostError::Forbidden(text),
                400 | 422 => HostError::Invalid(text),
                429 => HostError::Throttled(text),
                _ => HostError::Transient(text),
            }
        }
        other => HostError::Transient(format!("{op}: {other}")),
    }
}

/// A strategy's Event as kube's recorder takes it (its reason doubles as the action).
pub fn kube_event(event: &Event) -> KubeEvent {
    KubeEvent {
        type_: match event.event_type {
            EventType::Normal => KubeEventType::Normal,
            EventType::Warning => KubeEventType::Warning,
        },
        reason: event.reason.clone(),
        note: Some(event.message.clone()),
        action: event.reason.clone(),
        secondary: None,
    }
}

/// The cluster half of a backend for one reconcile of the Rollout `rollout`.
pub struct KubeCluster {
    client: Client,
    rollout: ObjectReference,
    recorder: Recorder,
    counters: Arc<KubeCounters>,
    cache: Arc<ReadCache>,
}

impl KubeCluster {
    /// The cluster as `client` sees it (reads answered from `cache` where they may be),
    /// Events attached to `rollout`.
    pub fn new(
        client: Client,
        recorder: Recorder,
        rollout: ObjectReference,
        counters: Arc<KubeCounters>,
        cache: Arc<ReadCache>,
    ) -> Self {
        KubeCluster {
            client,
            rollout,
            recorder,
            counters,
            cache,
        }
    }

    fn api(
        &self,
        kind: &ObjectKind,
        ns: &str,
    ) -> Result<(Api<DynamicObject>, ApiResource), HostError> {
        let ar = api_resource(kind)?;
        Ok((Api::namespaced_with(self.client.clone(), ns, &ar), ar))
    }
}

fn to_json(op: &str, o: &DynamicObject, ar: &ApiResource) -> Result<String, HostError> {
    let mut v = serde_json::to_value(o)
        .map_err(|e| HostError::Transient(format!("{op}: encoding the object: {e}")))?;
    if v.get("apiVersion").is_none() {
        v["apiVersion"] = Value::String(ar.api_version.clone());
        v["kind"] = Value::String(ar.kind.clone());
    }
    Ok(v.to_string())
}

fn parse<T: serde::de::DeserializeOwned>(op: &str, json: &str) -> Result<T, HostError> {
    serde_json::from_str(json).map_err(|e| HostError::Invalid(format!("{op}: not valid JSON: {e}")))
}

#[async_trait]
impl Cluster for KubeCluster {
    async fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        let op = format!("get {} {ns}/{name}", kind.kind);
        let (api, ar) = self.api(kind, ns)?;
        if let Lookup::Hit(cached) = self.cache.get(kind, ns, name) {
            let object: Arc<DynamicObject> = cached?;
            return to_json(&op, &object, &ar);
        }
        self.counters.count_one("get", kind);
        let o = api.get(name).await.map_err(|e| host_error(&op, e))?;
        self.cache.note(kind, &o);
        to_json(&op, &o, &ar)
    }

    async fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        label_selector: &str,
    ) -> Result<Vec<String>, HostError> {
        let op = format!("list {} in {ns}", kind.kind);
        let (api, ar) = self.api(kind, ns)?;
        if let Lookup::Hit(cached) = self.cache.list(kind, ns, label_selector) {
            return cached.iter().map(|o| to_json(&op, o, &ar)).collect();
        }
        self.counters.count_one("list", kind);
        let list = api
            .list(&ListParams::default().labels(label_selector))
            .await
            .map_err(|e| host_error(&op, e))?;
        for o in &list.items {
            self.cache.note(kind, o);
        }
        list.items.iter().map(|o| to_json(&op, o, &ar)).collect()
    }

    async fn create(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        object_json: &str,
    ) -> Result<String, HostError> {
        let op = format!("create {} in {ns}", kind.kind);
        let (api, ar) = self.api(kind, ns)?;
        let object: DynamicObject = parse(&op, object_json)?;
        self.counters.count_one("create", kind);
        let o = api
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| host_error(&op, e))?;
        self.cache.note(kind, &o);
        to_json(&op, &o, &ar)
    }

    async fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError> {
        let op = format!(
            "patch {} {ns}/{name}{}",
            kind.kind,
            subresource.map(|s| format!("/{s}")).unwrap_or_default()
        );
        let (api, ar) = self.api(kind, ns)?;
        let body: Value = parse(&op, patch_json)?;
        let patch = match patch_type {
            PatchType::Merge => Patch::Merge(body),
            PatchType::StrategicMerge => Patch::Strategic(body),
            PatchType::Json => Patch::Json(
                serde_json::from_value(body)
                    .map_err(|e| HostError::Invalid(format!("{op}: not a JSON patch: {e}")))?,
            ),
        };
        let pp = PatchParams::default();
        self.counters.count_one("patch", kind);
        let o = match subresource {
            None => api.patch(name, &pp, &patch).await,
            Some("status") => api.patch_status(name, &pp, &patch).await,
            Some(sub) => api.patch_subresource(sub, name, &pp, &patch).await,
        }
        .map_err(|e| host_error(&op, e))?;
        self.cache.note(kind, &o);
        to_json(&op, &o, &ar)
    }

    async fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        let op = format!("delete {} {ns}/{name}", kind.kind);
        let (api, _) = self.api(kind, ns)?;
        self.counters.count_one("delete", kind);
        let gone = api
            .delete(name, &DeleteParams::background())
            .await
            .map_err(|e| host_error(&op, e))?;
        self.cache
            .note_deleted(kind, ns, name, gone.as_ref().left());
        Ok(())
    }

    async fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        let op = format!("record event {}", event.reason);
        self.counters
            .count_one("event", &ObjectKind::new("events.k8s.io/v1", "Event"));
        self.recorder
            .publish(&kube_event(event), &self.rollout)
            .await
            .map_err(|e| host_error(&op, e))
    }

    fn now_millis(&mut self) -> u64 {
        system_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        log_to_tracing(level, message, fields);
    }
}
