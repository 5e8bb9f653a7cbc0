//! `albatross crd`: the Rollout CustomResourceDefinition it prints is Argo's kind, with the
//! subresources, printer columns and short name a user of `kubectl argo rollouts` expects,
//! and it is the file the install manifests ship.

use std::process::Command;

use albatross_tests::cluster::albatross_binary;
use serde_json::Value;

fn crd(args: &[&str]) -> String {
    let out = Command::new(albatross_binary())
        .arg("crd")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running albatross crd: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_crd_serves_argos_rollout_kind() {
    let v: Value = serde_yaml_ng::from_str(&crd(&[])).unwrap();
    assert_eq!(v["kind"], "CustomResourceDefinition");
    assert_eq!(v["metadata"]["name"], "rollouts.argoproj.io");
    let spec = &v["spec"];
    assert_eq!(spec["group"], "argoproj.io");
    assert_eq!(spec["scope"], "Namespaced");
    assert_eq!(spec["names"]["kind"], "Rollout");
    assert_eq!(spec["names"]["plural"], "rollouts");
    assert_eq!(spec["names"]["shortNames"][0], "ro");
    let version = &spec["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    assert_eq!(version["served"], true);
    assert_eq!(version["storage"], true);
    assert!(version["subresources"]["status"].is_object());
    let scale = &version["subresources"]["scale"];
    assert_eq!(scale["specReplicasPath"], ".spec.replicas");
    assert_eq!(scale["statusReplicasPath"], ".status.HPAReplicas");
    assert_eq!(scale["labelSelectorPath"], ".status.selector");
    let columns: Vec<&str> = version["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        columns,
        [
            "Desired",
            "Current",
            "Up-to-date",
            "Available",
            "Phase",
            "Age"
        ]
    );
    let props = &version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for field in ["template", "strategy", "selector"] {
        assert_eq!(
            props[field]["x-kubernetes-preserve-unknown-fields"], true,
            "spec.{field} must keep every field"
        );
    }
    assert_eq!(props["replicas"]["type"], "integer");
    assert_eq!(props["paused"]["type"], "boolean");
    let status = &version["schema"]["openAPIV3Schema"]["properties"]["status"];
    assert_eq!(status["x-kubernetes-preserve-unknown-fields"], true);
}

#[test]
fn the_install_manifests_ship_what_the_verb_prints() {
    let shipped = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/deploy/crd/rollout-crd.yaml"),
    )
    .unwrap();
    let body: String = shipped
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        body,
        crd(&[]),
        "regenerate: albatross crd > examples/deploy/crd/rollout-crd.yaml (keep the header)"
    );
    let json: Value = serde_json::from_str(&crd(&["--json"])).unwrap();
    let yaml: Value = serde_yaml_ng::from_str(&body).unwrap();
    assert_eq!(json, yaml);
}
