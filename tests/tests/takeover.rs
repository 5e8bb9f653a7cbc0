//! Taking over a Rollout Argo Rollouts deployed: the real controller binary against the API
//! emulator, starting from the objects as Argo left them (its hash in the ReplicaSet's name,
//! label and status.stableRS, the template as the API server stores it, Argo's action and
//! bookkeeping on the Ingress), ends Healthy with no new ReplicaSet and no weight change.

use std::sync::Arc;

use albatross_tests::apiserver::ApiServer;
use albatross_tests::cluster::{ControllerProcess, Kubelet, plural, set_image, wait_for};
use albatross_tests::{scenario, scratch_dir};
use serde_json::Value;

const ACTION: &str = "alb.ingress.kubernetes.io/actions.stable-svc";
const ARGO_KEY: &str = "rollouts.argoproj.io/managed-alb-annotations";
const OUR_KEY: &str = "albatross.io/managed-alb-annotations";

/// The weights of the action, by service.
fn weights(ingress: &Value) -> Vec<(String, u64)> {
    let action: Value = serde_json::from_str(
        ingress["metadata"]["annotations"][ACTION]
            .as_str()
            .unwrap_or("{}"),
    )
    .unwrap_or(Value::Null);
    action["ForwardConfig"]["TargetGroups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            (
                g["ServiceName"].as_str().unwrap_or_default().to_string(),
                g["Weight"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn ingress(server: &ApiServer) -> Value {
    server
        .object("networking.k8s.io/v1", "ingresses", "shop", "web")
        .unwrap_or(Value::Null)
}

#[test]
fn a_rollout_argo_left_healthy_is_adopted_without_a_new_replicaset() {
    let server = Arc::new(ApiServer::start());
    let objects = scenario("takeover-from-argo").manifests;
    let mut uid = Value::Null;
    for mut o in objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        if kind == "ReplicaSet" {
            o["metadata"]["ownerReferences"][0]["uid"] = uid.clone();
        }
        let stored = server
            .put(&plural(&kind), &o)
            .unwrap_or_else(|e| panic!("loading {kind}: {e:?}"));
        if kind == "Rollout" {
            uid = stored["metadata"]["uid"].clone();
        }
    }
    let argo_weights = weights(&ingress(&server));
    assert_eq!(
        argo_weights,
        [
            ("canary-svc".to_string(), 0),
            ("stable-svc".to_string(), 100)
        ]
    );
    let _kubelet = Kubelet::start(server.clone(), "shop");
    let mut controller = ControllerProcess::start(
        &server,
        &scratch_dir("takeover"),
        &["--leader-elect=false", "--aws-verify-target-group=false"],
    );
    // Reconciled by Albatross (it writes the pod counts Argo's status here lacks) and Healthy.
    let taken = wait_for(
        90,
        "the Rollout reconciled by Albatross and Healthy",
        || {
            let r = server
                .object("argoproj.io/v1alpha1", "rollouts", "shop", "guestbook")
                .unwrap_or(Value::Null);
            let s = &r["status"];
            if s["phase"] == "Healthy" && s["availableReplicas"] == 5 {
                Ok(r)
            } else {
                Err(s.to_string())
            }
        },
    );
    assert_eq!(taken["status"]["stableRS"], "687d76d795");
    assert_eq!(taken["status"]["currentPodHash"], "687d76d795");
    let names: Vec<String> = server
        .objects("apps/v1", "replicasets", "shop")
        .iter()
        .filter_map(|rs| rs["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["guestbook-687d76d795"], "no second ReplicaSet");
    let web = ingress(&server);
    assert_eq!(weights(&web), argo_weights, "no weight change");
    let annotations = &web["metadata"]["annotations"];
    assert_eq!(
        annotations[OUR_KEY],
        r#"{"guestbook":["alb.ingress.kubernetes.io/actions.stable-svc"]}"#
    );
    assert!(
        annotations
            .get(ARGO_KEY)
            .is_none_or(|v| !v.as_str().unwrap_or_default().contains("guestbook")),
        "the Rollout is still in Argo's key: {annotations:#}"
    );

    // A real template change is a new revision, numbered after Argo's.
    set_image(&server, "argoproj/rollouts-demo:yellow");
    let new = wait_for(60, "the new revision's ReplicaSet", || {
        let sets = server.objects("apps/v1", "replicasets", "shop");
        sets.into_iter()
            .find(|rs| rs["metadata"]["name"] != "guestbook-687d76d795")
            .ok_or_else(|| "one ReplicaSet".to_string())
    });
    assert_eq!(
        new["metadata"]["annotations"]["rollout.argoproj.io/revision"],
        "2"
    );
    let status = controller.terminate();
    assert!(status.success(), "the controller exited with {status}");
}
