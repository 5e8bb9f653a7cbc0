//! A stand-in for the rule of Argo Rollouts' Ingress controller that fights any Rollout it
//! cannot see (argo-rollouts `ingress/alb.go`): on every sync of an ALB-class Ingress, each
//! entry of `rollouts.argoproj.io/managed-alb-annotations` whose Rollout is not among the
//! Rollouts it watches (those without a controller-instance-id label) that reference the
//! Ingress is dropped, each of its `/actions.` annotations reset to the service it is named
//! after at weight 100 (the port taken from the old action), the older
//! `rollouts.argoproj.io/managed-alb-actions` deleted, and the Ingress written back with a full
//! update. Facts of the rule, written here for the tests.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::apiserver::ApiServer;

const MANAGED: &str = "rollouts.argoproj.io/managed-alb-annotations";
const LEGACY: &str = "rollouts.argoproj.io/managed-alb-actions";
const INSTANCE: &str = "argo-rollouts.argoproj.io/controller-instance-id";

/// The action Argo resets an entry's `/actions.<service>` annotation to.
fn reset_action(key: &str, old: &str) -> Option<String> {
    let service = key.split("/actions.").nth(1)?;
    let old: Value = serde_json::from_str(old).ok()?;
    let port = old["ForwardConfig"]["TargetGroups"]
        .as_array()?
        .iter()
        .find(|tg| tg["ServiceName"] == service)
        .and_then(|tg| tg["ServicePort"].as_str().map(str::to_string))?;
    let mut action = json!({"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"ServiceName": service, "ServicePort": port, "Weight": 100}]}});
    if let Some(sticky) = old["ForwardConfig"].get("TargetGroupStickinessConfig") {
        action["ForwardConfig"]["TargetGroupStickinessConfig"] = sticky.clone();
    }
    Some(action.to_string())
}

/// One sync of every ALB-class Ingress in `namespace`; how many Ingresses it rewrote.
pub fn sync_ingresses(server: &ApiServer, namespace: &str) -> usize {
    let visible: Vec<Value> = server
        .objects("argoproj.io/v1alpha1", "rollouts", namespace)
        .into_iter()
        .filter(|r| r["metadata"]["labels"].get(INSTANCE).is_none())
        .collect();
    let mut rewritten = 0;
    for mut ingress in server.objects("networking.k8s.io/v1", "ingresses", namespace) {
        let name = ingress["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let annotations = ingress["metadata"]["annotations"].clone();
        let class = annotations["kubernetes.io/ingress.class"]
            .as_str()
            .or(ingress["spec"]["ingressClassName"].as_str())
            .unwrap_or_default();
        if class != "alb" {
            continue;
        }
        let Some(map) = annotations[MANAGED]
            .as_str()
            .and_then(|m| serde_json::from_str::<BTreeMap<String, Vec<String>>>(m).ok())
        else {
            continue;
        };
        let sees = |rollout: &str| {
            visible.iter().any(|r| {
                let alb = &r["spec"]["strategy"]["canary"]["trafficRouting"]["alb"];
                r["metadata"]["name"] == rollout
                    && (alb["ingress"] == name.as_str()
                        || alb["ingresses"]
                            .as_array()
                            .is_some_and(|l| l.iter().any(|i| i == name.as_str())))
            })
        };
        let mut kept = BTreeMap::new();
        let mut changed = false;
        for (rollout, keys) in map {
            if sees(&rollout) {
                kept.insert(rollout, keys);
                continue;
            }
            changed = true;
            for key in keys.iter().filter(|k| k.contains("/actions.")) {
                if let Some(reset) = annotations[key.as_str()]
                    .as_str()
                    .and_then(|old| reset_action(key, old))
                {
                    ingress["metadata"]["annotations"][key.as_str()] = json!(reset);
                }
            }
        }
        if !changed {
            continue;
        }
        let a = ingress["metadata"]["annotations"].as_object_mut().map(|a| {
            if kept.is_empty() {
                a.remove(MANAGED);
            } else {
                a.insert(
                    MANAGED.into(),
                    json!(serde_json::to_string(&kept).unwrap_or_default()),
                );
            }
            a.remove(LEGACY);
        });
        if a.is_some() && server.update("ingresses", &ingress).is_ok() {
            rewritten += 1;
        }
    }
    rewritten
}
