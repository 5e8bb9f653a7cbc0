//! Opt-in end to end on a real cluster: set `ALBATROSS_E2E_KUBECONFIG` to a kubeconfig (kind,
//! k3d, or EKS) whose cluster has the Rollout CRD installed; the test then applies the
//! guestbook example into a fresh namespace labelled for Albatross, runs the `albatross
//! controller` binary against it with verification off, waits until the Rollout is Healthy,
//! and deletes the namespace. Without the variable it says it is skipped and checks nothing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use albatross::backend::manifests::read_manifests;
use albatross_tests::cluster::{albatross_binary, plural, wait_for};
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;

#[test]
fn guestbook_becomes_healthy_on_a_real_cluster() {
    let Ok(kubeconfig) = std::env::var("ALBATROSS_E2E_KUBECONFIG") else {
        eprintln!("skipped: set ALBATROSS_E2E_KUBECONFIG to run the end-to-end test on a cluster");
        return;
    };
    let ns = format!("albatross-e2e-{}", std::process::id());
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let client = runtime.block_on(async {
        let file = Kubeconfig::read_from(&kubeconfig).unwrap_or_else(|e| panic!("{e}"));
        let config = kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        kube::Client::try_from(config).unwrap_or_else(|e| panic!("{e}"))
    });
    let resource = |o: &serde_json::Value| {
        let (api_version, kind) = (
            o["apiVersion"].as_str().unwrap_or("v1"),
            o["kind"].as_str().unwrap_or(""),
        );
        albatross::controller::resource(api_version, kind, &plural(kind))
    };
    runtime.block_on(async {
        let namespaces: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &albatross::controller::resource("v1", "Namespace", "namespaces"),
        );
        let body: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        namespaces
            .create(&PostParams::default(), &body)
            .await
            .unwrap_or_else(|e| panic!("creating {ns}: {e}"));
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/manifests/guestbook.yaml");
        for mut o in read_manifests(&path).unwrap_or_else(|e| panic!("{e:#}")) {
            o["metadata"]["namespace"] = json!(ns);
            if o["kind"] == "Rollout" {
                o["metadata"]["labels"]["argo-rollouts.argoproj.io/controller-instance-id"] =
                    json!("albatross-e2e");
            }
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource(&o));
            let obj: DynamicObject = serde_json::from_value(o).unwrap_or_else(|e| panic!("{e}"));
            api.create(&PostParams::default(), &obj)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    });
    let mut controller = Command::new(albatross_binary())
        .args([
            "controller",
            "--kubeconfig",
            &kubeconfig,
            "--namespace",
            &ns,
        ])
        .args([
            "--instance-id",
            "albatross-e2e",
            "--leader-elect=false",
            "--aws-verify-target-group=false",
        ])
        .args([
            "--metrics-addr",
            "127.0.0.1:0",
            "--health-addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the controller: {e}"));
    let rollouts: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &albatross::controller::resource("argoproj.io/v1alpha1", "Rollout", "rollouts"),
    );
    wait_for(300, "guestbook to become Healthy on the cluster", || {
        let r = runtime
            .block_on(rollouts.get("guestbook"))
            .map_err(|e| e.to_string())?;
        match r.data["status"]["phase"].as_str() {
            Some("Healthy") => Ok(()),
            _ => Err(r.data["status"].to_string()),
        }
    });
    // Delete the Rollout while the controller runs, so it gives the traffic back and lets the
    // Rollout go; then the namespace.
    let _ = runtime.block_on(rollouts.delete("guestbook", &DeleteParams::default()));
    wait_for(120, "the deleted Rollout to be released", || match runtime
        .block_on(rollouts.get_opt("guestbook"))
    {
        Ok(None) => Ok(()),
        Ok(Some(r)) => Err(format!("{:?}", r.metadata.finalizers)),
        Err(e) => Err(e.to_string()),
    });
    let _ = controller.kill();
    let _ = controller.wait();
    let namespaces: Api<DynamicObject> = Api::all_with(
        client,
        &albatross::controller::resource("v1", "Namespace", "namespaces"),
    );
    let _ = runtime.block_on(namespaces.delete(&ns, &DeleteParams::default()));
}
