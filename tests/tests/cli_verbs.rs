//! The Rollout verbs of the `albatross` binary against the Kubernetes API emulator: each
//! changes exactly the fields it should, and says what it did.

use std::process::{Command, Output};

use albatross_tests::apiserver::ApiServer;
use albatross_tests::cluster::{albatross_binary, load_example};
use albatross_tests::scratch_dir;
use serde_json::{Value, json};

const ROLLOUTS: (&str, &str) = ("argoproj.io/v1alpha1", "rollouts");

fn run(server: &ApiServer, test: &str, args: &[&str]) -> Output {
    let dir = scratch_dir(test);
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    Command::new(albatross_binary())
        .args(args)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["-n", "shop"])
        .output()
        .unwrap_or_else(|e| panic!("running albatross: {e}"))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn rollout(server: &ApiServer) -> Value {
    server
        .object(ROLLOUTS.0, ROLLOUTS.1, "shop", "guestbook")
        .unwrap_or(Value::Null)
}

/// The leaf paths where `a` and `b` differ, metadata's bookkeeping left out.
fn changed(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    let skip = ["/metadata/resourceVersion", "/metadata/generation"];
    if skip.contains(&path) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let (va, vb) = (x.get(k), y.get(k));
                let (va, vb) = (va.unwrap_or(&Value::Null), vb.unwrap_or(&Value::Null));
                changed(va, vb, &format!("{path}/{k}"), out);
            }
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

fn diff(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    changed(before, after, "", &mut out);
    out
}

fn with_status(server: &ApiServer, status: Value) {
    server
        .merge(
            ROLLOUTS.0,
            ROLLOUTS.1,
            "shop",
            "guestbook",
            &json!({"status": status}),
            Some("status"),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
}

fn cluster() -> ApiServer {
    let server = ApiServer::start();
    load_example(&server, "guestbook.yaml", "shop", Some("albatross"));
    server
}

#[test]
fn promote_clears_the_pause_and_full_skips_the_steps() {
    let server = cluster();
    with_status(
        &server,
        json!({"currentStepIndex": 1, "phase": "Paused", "currentPodHash": "b",
        "stableRS": "a", "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-12-01T00:00:00Z"}]}),
    );
    let before = rollout(&server);
    let out = run(&server, "verbs-promote", &["promote", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "rollout 'guestbook' promoted\n");
    let after = rollout(&server);
    assert_eq!(diff(&before, &after), ["/status/pauseConditions"]);
    // Not paused: the next step.
    let out = run(&server, "verbs-promote", &["promote", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    let next = rollout(&server);
    assert_eq!(diff(&after, &next), ["/status/currentStepIndex"]);
    assert_eq!(next["status"]["currentStepIndex"], 2);
    let out = run(
        &server,
        "verbs-promote",
        &["promote", "guestbook", "--full"],
    );
    assert!(out.status.success(), "{out:?}");
    let full = rollout(&server);
    assert_eq!(diff(&next, &full), ["/status/promoteFull"]);
    assert_eq!(full["status"]["promoteFull"], true);
}

#[test]
fn abort_then_retry() {
    let server = cluster();
    with_status(
        &server,
        json!({"currentStepIndex": 2, "phase": "Progressing"}),
    );
    let before = rollout(&server);
    let out = run(&server, "verbs-abort", &["abort", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    let aborted = rollout(&server);
    assert_eq!(diff(&before, &aborted), ["/status/abort"]);
    let out = run(&server, "verbs-abort", &["retry", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    let retried = rollout(&server);
    assert_eq!(
        diff(&aborted, &retried),
        ["/status/abort", "/status/currentStepIndex"]
    );
    assert_eq!(retried["status"]["currentStepIndex"], 0);
}

#[test]
fn set_image_changes_the_template_only() {
    let server = cluster();
    let before = rollout(&server);
    let out = run(
        &server,
        "verbs-set-image",
        &["set", "image", "guestbook", "guestbook=demo:green"],
    );
    assert!(out.status.success(), "{out:?}");
    let after = rollout(&server);
    assert_eq!(diff(&before, &after), ["/spec/template/spec/containers"]);
    assert_eq!(
        after["spec"]["template"]["spec"]["containers"][0]["image"],
        "demo:green"
    );
    let bad = run(
        &server,
        "verbs-set-image",
        &["set", "image", "guestbook", "nosuch=demo:x"],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("spec.template.spec.containers has no container \"nosuch\""),
        "{err}"
    );
}

#[test]
fn status_exits_for_pipelines() {
    let server = cluster();
    with_status(
        &server,
        json!({"phase": "Progressing", "message": "waiting for canary pods",
            "observedGeneration": "1"}),
    );
    let out = run(
        &server,
        "verbs-status",
        &["status", "guestbook", "--timeout", "2s"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stdout(&out).contains("Progressing - waiting for canary pods"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not become Healthy within"));
    // A Healthy made from an older spec is not the end yet.
    with_status(
        &server,
        json!({"phase": "Healthy", "message": null, "observedGeneration": "0"}),
    );
    let out = run(
        &server,
        "verbs-status",
        &["status", "guestbook", "--timeout", "2s"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).contains("waiting for the controller to see generation 1"),
        "{out:?}"
    );
    with_status(
        &server,
        json!({"phase": "Healthy", "message": null, "observedGeneration": "1"}),
    );
    let out = run(&server, "verbs-status", &["status", "guestbook"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    with_status(
        &server,
        json!({"phase": "Degraded", "message": "invalid spec", "observedGeneration": "1"}),
    );
    let out = run(
        &server,
        "verbs-status",
        &["status", "guestbook", "--watch=false"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn get_and_list_show_the_rollout() {
    let server = cluster();
    with_status(
        &server,
        json!({"phase": "Paused", "currentStepIndex": 1, "message": "step 1: paused",
        "canary": {"weights": {"canary": {"weight": 20}, "stable": {"weight": 80}, "verified": true}}}),
    );
    let out = run(&server, "verbs-get", &["get", "rollout", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("Status:     Paused"), "{text}");
    assert!(
        text.contains("Weight:   canary 20 / stable 80 (verified on the ALB)"),
        "{text}"
    );
    let out = run(&server, "verbs-list", &["list", "rollouts"]);
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("guestbook") && l.ends_with("albatross")),
        "{text}"
    );
    assert_eq!(
        server.requests().iter().filter(|r| r.is_write()).count(),
        0,
        "get/list wrote"
    );
}
