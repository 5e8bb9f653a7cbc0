//! Manifest files: [`read_manifests`] reads them (YAML or JSON, several documents a file), and
//! [`ManifestHost`] is a read-only cluster made of them, for `albatross verify`: `get` and `list` answer
//! from the objects given (Rollout, Ingresses with their status hostname, Services, Endpoints,
//! TargetGroupBindings), label selectors of `key=value` terms filter lists, and every write is
//! refused with `forbidden` (verification writes nothing). The ELBv2 half comes from elsewhere;
//! here those calls are refused like the offline host's. The clock is the system clock and
//! module logs go to tracing.

use std::path::Path;

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use albatross_sim::pods::endpoint_ports;
use albatross_sim::store::Store;
use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::backend::offline::OfflineHost;

/// Reads Kubernetes manifests: YAML files with one or more documents (`---`), or JSON.
pub fn read_manifests(path: &Path) -> Result<Vec<Value>> {
    let text = crate::input::read_file(path, "manifest file")?;
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(&text) {
        let v = Value::deserialize(doc)
            .with_context(|| format!("{} is not valid YAML", path.display()))?;
        match v {
            Value::Null => {}
            Value::Array(items) => out.extend(items),
            Value::Object(ref o) if o.get("kind").and_then(Value::as_str) == Some("List") => {
                out.extend(
                    o.get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The objects of some manifests, read-only.
#[derive(Debug, Clone, Default)]
pub struct ManifestHost {
    store: Store,
}

fn refuse<T>(what: &str) -> Result<T, HostError> {
    Err(HostError::Forbidden(format!(
        "{what}: this host is read-only (albatross verify writes nothing)"
    )))
}

impl ManifestHost {
    /// A cluster holding `objects`; an object without kind or name is an error that says which.
    pub fn new(objects: &[Value]) -> Result<Self, HostError> {
        let mut store = Store::default();
        for (i, object) in objects.iter().enumerate() {
            let kind = object["kind"].as_str().ok_or_else(|| {
                HostError::Invalid(format!("manifest object {} has no kind", i + 1))
            })?;
            store.put(kind, object.clone())?;
        }
        Ok(ManifestHost { store })
    }

    /// Adds an Endpoints object for `service` in `namespace` with `ips` as ready addresses
    /// (replacing one from the manifests). Its ports are the Service's numeric `targetPort`s
    /// (a port without one targets itself); a named `targetPort` needs an Endpoints manifest,
    /// which alone says what number the name has.
    pub fn set_endpoints(
        &mut self,
        namespace: &str,
        service: &str,
        ips: &[String],
    ) -> Result<(), HostError> {
        let addresses: Vec<Value> = ips.iter().map(|ip| json!({ "ip": ip })).collect();
        let ports: Vec<Value> = self
            .store
            .get_json("Service", namespace, service)
            .and_then(|json| serde_json::from_str::<Value>(json).ok())
            .map(|svc| endpoint_ports(&svc, None))
            .unwrap_or_default();
        self.store.put(
            "Endpoints",
            json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": { "name": service, "namespace": namespace },
                "subsets": [{ "addresses": addresses, "ports": ports }],
            }),
        )
    }
}

impl Host for ManifestHost {
    fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.store
            .get_json(&kind.kind, ns, name)
            .map(str::to_string)
            .ok_or_else(|| {
                HostError::NotFound(format!(
                    "{} {ns}/{name} is not in the manifests given",
                    kind.kind
                ))
            })
    }

    fn list(&mut self, kind: &ObjectKind, ns: &str, sel: &str) -> Result<Vec<String>, HostError> {
        self.store.list_json(&kind.kind, ns, sel)
    }

    fn create(&mut self, kind: &ObjectKind, ns: &str, _json: &str) -> Result<String, HostError> {
        refuse(&format!("create {} in {ns}", kind.kind))
    }

    fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        _patch_type: PatchType,
        _patch_json: &str,
        _subresource: Option<&str>,
    ) -> Result<String, HostError> {
        refuse(&format!("patch {} {ns}/{name}", kind.kind))
    }

    fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        refuse(&format!("delete {} {ns}/{name}", kind.kind))
    }

    fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        refuse(&format!("record event {}", event.reason))
    }

    fn describe_load_balancers(
        &mut self,
        n: &[String],
        a: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        OfflineHost.describe_load_balancers(n, a)
    }

    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        OfflineHost.describe_listeners(lb)
    }

    fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        OfflineHost.describe_rules(listener)
    }

    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        a: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        OfflineHost.describe_target_groups(lb, a)
    }

    fn describe_tags(&mut self, a: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        OfflineHost.describe_tags(a)
    }

    fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        OfflineHost.describe_target_health(tg)
    }

    fn now_millis(&mut self) -> u64 {
        OfflineHost.now_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        OfflineHost.log(level, message, fields);
    }
}
