//! What a strategy module may touch, checked by the host on every cluster import call before any
//! I/O: only the kinds the contract allows, with the verbs each allows, only in the namespace
//! of the Rollout being reconciled, Ingress writes only to annotations under the Rollout's
//! annotation prefix and the managed-annotation bookkeeping (and `spec.rules`, where header
//! routes live), and never a Secret. A refused call returns the typed `forbidden` error to the
//! module, is logged with the module's name, and is counted in
//! `albatross_import_refusals_total{module,kind,verb}`.
//!
//! | kind | verbs |
//! | --- | --- |
//! | Rollout (argoproj.io/v1alpha1) | get, list, patch of the `status` subresource |
//! | ReplicaSet (apps/v1) | get, list, create, patch (also `scale`), delete |
//! | Service (v1) | get, list, patch |
//! | Ingress (networking.k8s.io/v1) | get, list, patch (annotations as above, `spec.rules`; `metadata.resourceVersion` as a precondition) |
//! | Pod (v1) | get, list, merge patch of the `albatross.io/rotation` label and the `controller.kubernetes.io/pod-deletion-cost` annotation only |
//! | Endpoints (v1), EndpointSlice (discovery.k8s.io/v1), TargetGroupBinding | get, list |
//! | Event | record-event, on the Rollout being reconciled |

use std::sync::LazyLock;

use albatross_policy::HostError;
use albatross_policy::host::{Event, Level, ObjectKind, PatchType};
use albatross_policy::managed::{ALBATROSS_MANAGED, LEGACY_MANAGED_ACTIONS, MANAGED_ANNOTATIONS};
use albatross_policy::reconcile::Settings;
use albatross_policy::rotation::{DELETION_COST, ROTATION_LABEL};
use albatross_policy::spec::{DEFAULT_ANNOTATION_PREFIX, namespace_of};
use async_trait::async_trait;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde_json::Value;

use crate::backend::{Backend, Cluster};

/// The labels of a refusal.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// The module that made the call.
    pub module: String,
    /// The kind it asked for.
    pub kind: String,
    /// The verb.
    pub verb: String,
}

/// Refused import calls, process-wide.
static REFUSALS: LazyLock<Family<RefusalLabels, Counter>> = LazyLock::new(Family::default);

/// Registers the refusal counter in `registry`.
pub fn register(registry: &mut Registry) {
    registry.register(
        "albatross_import_refusals",
        "Import calls a strategy module made outside what it may touch",
        REFUSALS.clone(),
    );
}

/// Refusals of `module`'s calls so far, over every kind and verb.
pub fn refusals(module: &str, kinds: &[&str], verbs: &[&str]) -> u64 {
    let mut n = 0;
    for kind in kinds {
        for verb in verbs {
            n += REFUSALS
                .get_or_create(&RefusalLabels {
                    module: module.to_string(),
                    kind: kind.to_string(),
                    verb: verb.to_string(),
                })
                .get();
        }
    }
    n
}

/// What the module reconciling one Rollout may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The module's name, for logs and the counter.
    pub module: String,
    /// The Rollout's namespace: the only one the module may touch.
    pub namespace: String,
    /// The annotation prefix its Ingress writes must stay under.
    pub annotation_prefix: String,
    /// The apiVersion of TargetGroupBinding objects.
    pub target_group_binding_api_version: String,
}

impl Scope {
    /// The scope of a call about the Rollout given as JSON: its namespace, and its annotation
    /// prefix (`spec.strategy.canary.trafficRouting.alb.annotationPrefix`, default
    /// `alb.ingress.kubernetes.io`). A Rollout that is not JSON gets the `default` namespace;
    /// the module will refuse it anyway.
    pub fn for_rollout(module: &str, rollout_json: &str, settings: &Settings) -> Scope {
        let rollout: Value = serde_json::from_str(rollout_json).unwrap_or(Value::Null);
        let prefix =
            rollout["spec"]["strategy"]["canary"]["trafficRouting"]["alb"]["annotationPrefix"]
                .as_str()
                .filter(|p| !p.is_empty())
                .unwrap_or(DEFAULT_ANNOTATION_PREFIX);
        Scope {
            module: module.to_string(),
            namespace: namespace_of(&rollout).to_string(),
            annotation_prefix: prefix.to_string(),
            target_group_binding_api_version: settings.target_group_binding_api_version.clone(),
        }
    }

    /// `backend` with its cluster half behind the checks of this scope (the ELBv2 half only
    /// reads, and is not checked).
    pub fn guard(self, backend: Backend) -> Backend {
        Backend {
            cluster: Box::new(Guarded {
                inner: backend.cluster,
                scope: self,
            }),
            elbv2: backend.elbv2,
        }
    }
}

/// The cluster half of a backend, behind the capability checks of one scope.
pub struct Guarded {
    /// The cluster backend that does the I/O.
    pub inner: Box<dyn Cluster>,
    /// What the module may touch.
    pub scope: Scope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    List,
    Create,
    Patch,
    Delete,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Create => "create",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
        }
    }
}

impl Guarded {
    /// Refuses with `forbidden`, logging and counting the refusal.
    fn refuse<T>(
        &self,
        kind: &ObjectKind,
        verb: Verb,
        ns: &str,
        why: String,
    ) -> Result<T, HostError> {
        REFUSALS
            .get_or_create(&RefusalLabels {
                module: self.scope.module.clone(),
                kind: kind.kind.clone(),
                verb: verb.name().to_string(),
            })
            .inc();
        tracing::warn!(
            module = %self.scope.module,
            kind = %kind.kind,
            api_version = %kind.api_version,
            verb = verb.name(),
            namespace = %ns,
            reason = %why,
            "import call refused"
        );
        Err(HostError::Forbidden(format!(
            "{} {} in namespace {ns:?}: {why}",
            verb.name(),
            kind.kind
        )))
    }

    /// Checks the kind, the verb and the namespace of a call.
    fn check(
        &self,
        kind: &ObjectKind,
        verb: Verb,
        ns: &str,
        subresource: Option<&str>,
    ) -> Result<(), HostError> {
        if kind.kind == "Secret" {
            return self.refuse(
                kind,
                verb,
                ns,
                "Secrets are never open to a strategy module".into(),
            );
        }
        let allowed: &[Verb] = match (kind.api_version.as_str(), kind.kind.as_str()) {
            ("argoproj.io/v1alpha1", "Rollout") => &[Verb::Get, Verb::List, Verb::Patch],
            ("apps/v1", "ReplicaSet") => &[
                Verb::Get,
                Verb::List,
                Verb::Create,
                Verb::Patch,
                Verb::Delete,
            ],
            ("v1", "Service") | ("networking.k8s.io/v1", "Ingress") => {
                &[Verb::Get, Verb::List, Verb::Patch]
            }
            ("v1", "Pod") => &[Verb::Get, Verb::List, Verb::Patch],
            ("v1", "Endpoints") | ("discovery.k8s.io/v1", "EndpointSlice") => {
                &[Verb::Get, Verb::List]
            }
            (api, "TargetGroupBinding") if api == self.scope.target_group_binding_api_version => {
                &[Verb::Get, Verb::List]
            }
            _ => {
                return self.refuse(
                    kind,
                    verb,
                    ns,
                    format!(
                        "{} is not a kind the contract opens to modules",
                        kind.api_version
                    ),
                );
            }
        };
        if !allowed.contains(&verb) {
            return self.refuse(
                kind,
                verb,
                ns,
                "the contract does not allow this verb on this kind".into(),
            );
        }
        let subresource_ok = match (kind.kind.as_str(), subresource) {
            (_, None) => kind.kind != "Rollout" || verb != Verb::Patch,
            ("Rollout", Some("status")) | ("ReplicaSet", Some("scale")) => true,
            _ => false,
        };
        if !subresource_ok {
            return self.refuse(
                kind,
                verb,
                ns,
                format!("subresource {subresource:?} is not open to modules"),
            );
        }
        if ns != self.scope.namespace {
            return self.refuse(
                kind,
                verb,
                ns,
                format!(
                    "a module may touch only the namespace of the Rollout it reconciles ({:?})",
                    self.scope.namespace
                ),
            );
        }
        Ok(())
    }

    /// Whether an annotation key is one a module may write on an Ingress.
    fn annotation_ok(&self, key: &str) -> bool {
        key == ALBATROSS_MANAGED
            || key == MANAGED_ANNOTATIONS
            || key == LEGACY_MANAGED_ACTIONS
            || key
                .strip_prefix(self.scope.annotation_prefix.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Checks what an Ingress patch writes: annotation keys as above, and `spec.rules`.
    fn check_ingress_patch(
        &self,
        kind: &ObjectKind,
        ns: &str,
        patch_type: PatchType,
        patch: &str,
    ) -> Result<(), HostError> {
        let body = patch_body(kind, patch)?;
        let mut bad = Vec::new();
        match patch_type {
            PatchType::Merge | PatchType::StrategicMerge => {
                for (key, value) in body.as_object().into_iter().flatten() {
                    match key.as_str() {
                        "metadata" => {
                            for (k, v) in value.as_object().into_iter().flatten() {
                                // A resourceVersion changes nothing: it makes the write apply
                                // only over the version the module read.
                                if k == "resourceVersion" && v.is_string() {
                                    continue;
                                }
                                if k != "annotations" {
                                    bad.push(format!("metadata.{k}"));
                                    continue;
                                }
                                for a in v.as_object().into_iter().flatten().map(|(a, _)| a) {
                                    if !self.annotation_ok(a) {
                                        bad.push(format!("metadata.annotations[{a}]"));
                                    }
                                }
                            }
                        }
                        "spec" => {
                            for k in value.as_object().into_iter().flatten().map(|(k, _)| k) {
                                if k != "rules" {
                                    bad.push(format!("spec.{k}"));
                                }
                            }
                        }
                        other => bad.push(other.to_string()),
                    }
                }
            }
            PatchType::Json => {
                for op in body.as_array().into_iter().flatten() {
                    let path = op["path"].as_str().unwrap_or_default();
                    let ok = if let Some(key) = path.strip_prefix("/metadata/annotations/") {
                        self.annotation_ok(&key.replace("~1", "/").replace("~0", "~"))
                    } else {
                        path == "/spec/rules" || path.starts_with("/spec/rules/")
                    };
                    if !ok {
                        bad.push(path.to_string());
                    }
                }
            }
        }
        let rule = format!(
            "a module may write only annotations under {}/, the managed-annotation bookkeeping and spec.rules",
            self.scope.annotation_prefix
        );
        self.refuse_writes(kind, ns, &bad, &rule)
    }

    /// Refuses a patch that writes the fields `bad` (none: lets it through), saying the rule.
    fn refuse_writes(
        &self,
        kind: &ObjectKind,
        ns: &str,
        bad: &[String],
        rule: &str,
    ) -> Result<(), HostError> {
        if bad.is_empty() {
            return Ok(());
        }
        self.refuse(
            kind,
            Verb::Patch,
            ns,
            format!("writes {} ({rule})", bad.join(", ")),
        )
    }

    /// Checks what a Pod patch writes: only the rotation label and the deletion cost, the two
    /// fields that take a pod out of rotation before a scale-down (a merge patch).
    fn check_pod_patch(
        &self,
        kind: &ObjectKind,
        ns: &str,
        patch_type: PatchType,
        patch: &str,
    ) -> Result<(), HostError> {
        let body = patch_body(kind, patch)?;
        let mut bad = Vec::new();
        if patch_type == PatchType::Json {
            bad.push("a JSON patch".to_string());
        }
        for (key, value) in body.as_object().into_iter().flatten() {
            if key != "metadata" {
                bad.push(key.clone());
                continue;
            }
            for (k, v) in value.as_object().into_iter().flatten() {
                let allowed = match k.as_str() {
                    "resourceVersion" => continue,
                    "labels" => ROTATION_LABEL,
                    "annotations" => DELETION_COST,
                    _ => {
                        bad.push(format!("metadata.{k}"));
                        continue;
                    }
                };
                for f in v.as_object().into_iter().flatten().map(|(f, _)| f) {
                    if f != allowed {
                        bad.push(format!("metadata.{k}[{f}]"));
                    }
                }
            }
        }
        let rule = format!(
            "a module may write only the {ROTATION_LABEL} label and the {DELETION_COST} annotation of a pod, in a merge patch"
        );
        self.refuse_writes(kind, ns, &bad, &rule)
    }
}

/// A patch's body as JSON, or the error that names the kind.
fn patch_body(kind: &ObjectKind, patch: &str) -> Result<Value, HostError> {
    serde_json::from_str(patch)
        .map_err(|e| HostError::Invalid(format!("{} patch is not JSON: {e}", kind.kind)))
}

#[async_trait]
impl Cluster for Guarded {
    async fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        self.check(kind, Verb::Get, ns, None)?;
        self.inner.get(kind, ns, name).await
    }

    async fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        sel: &str,
    ) -> Result<Vec<String>, HostError> {
        self.check(kind, Verb::List, ns, None)?;
        self.inner.list(kind, ns, sel).await
    }

    async fn create(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        json: &str,
    ) -> Result<String, HostError> {
        self.check(kind, Verb::Create, ns, None)?;
        self.inner.create(kind, ns, json).await
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
        self.check(kind, Verb::Patch, ns, subresource)?;
        if kind.kind == "Ingress" {
            self.check_ingress_patch(kind, ns, patch_type, patch_json)?;
        }
        if kind.kind == "Pod" {
            self.check_pod_patch(kind, ns, patch_type, patch_json)?;
        }
        self.inner
            .patch(kind, ns, name, patch_type, patch_json, subresource)
            .await
    }

    async fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.check(kind, Verb::Delete, ns, None)?;
        self.inner.delete(kind, ns, name).await
    }

    async fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        self.inner.record_event(event).await
    }

    fn now_millis(&mut self) -> u64 {
        self.inner.now_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.inner.log(level, message, fields);
    }
}
