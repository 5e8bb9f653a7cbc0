//! The Rollout verbs of the `albatross` binary against the Kubernetes API emulator: each
//! changes exactly the fields it should, and says what it did.

use std::process::{Command, Output};

use albatross_tests::apiserver::{ApiServer, Fault, FaultAnswer};
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

#[test]
fn lint_live_checks_the_objects_in_the_cluster() {
    let server = cluster();
    let out = run(&server, "verbs-lint-live", &["lint", "--live"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).ends_with("(1 Rollout): no findings\n"),
        "{}",
        stdout(&out)
    );
    // The Rollout's own bookkeeping entry is not "another Rollout".
    server
        .merge(
            "networking.k8s.io/v1",
            "ingresses",
            "shop",
            "web",
            &json!({"metadata": {"annotations": {
                "albatross.io/managed-alb-annotations": r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-svc"]}"#
            }}}),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    let out = run(&server, "verbs-lint-live", &["lint", "--live"]);
    assert!(out.status.success(), "{out:?}");
    server
        .remove("v1", "services", "shop", "canary-svc")
        .unwrap_or_else(|e| panic!("{e:?}"));
    let out = run(&server, "verbs-lint-live", &["lint", "--live"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).contains("error: Rollout shop/guestbook: spec.strategy.canary.canaryService"),
        "{}",
        stdout(&out)
    );
    let kubeconfig = scratch_dir("verbs-lint-live-all").join("kubeconfig");
    server.write_kubeconfig(&kubeconfig);
    let everywhere = Command::new(albatross_binary())
        .args(["lint", "--live", "-A", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(everywhere.status.code(), Some(1), "{everywhere:?}");
    assert_eq!(
        stdout(&everywhere),
        stdout(&out),
        "one namespace holds every object"
    );
}

#[test]
fn a_promote_that_meets_a_changed_rollout_reads_it_again_and_moves_one_step() {
    let server = cluster();
    with_status(
        &server,
        json!({"currentStepIndex": 1, "phase": "Progressing", "currentPodHash": "b", "stableRS": "a"}),
    );
    // The Rollout changes between the promote's read and its write (a controller pass): the
    // write, made over the version read, is answered 409.
    server.inject(Fault {
        times: Some(1),
        ..Fault::writes("/rollouts/guestbook/status", 1, FaultAnswer::Status(409))
    });
    let out = run(&server, "verbs-promote-conflict", &["promote", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "rollout 'guestbook' promoted\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("changed since it was read"),
        "{out:?}"
    );
    assert_eq!(rollout(&server)["status"]["currentStepIndex"], 2);
    let patches = server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/rollouts/guestbook/status"))
        .count();
    assert_eq!(
        patches, 2,
        "one refused write, one over the version read again"
    );
}

#[test]
fn a_promote_whose_answer_is_lost_reads_the_rollout_again_and_moves_one_step() {
    let server = cluster();
    with_status(
        &server,
        json!({"currentStepIndex": 1, "phase": "Progressing", "currentPodHash": "b", "stableRS": "a"}),
    );
    // The write is applied, then the connection closes before its answer.
    server.inject(Fault {
        times: Some(1),
        ..Fault::writes("/rollouts/guestbook/status", 1, FaultAnswer::DropAnswer)
    });
    let out = run(&server, "verbs-promote-lost", &["promote", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "rollout 'guestbook' promoted\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shows it applied"),
        "{out:?}"
    );
    assert_eq!(rollout(&server)["status"]["currentStepIndex"], 2);
    let patches = server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with("/rollouts/guestbook/status"))
        .count();
    assert_eq!(patches, 1, "the applied write is not written again");
}

#[test]
fn pause_sets_spec_paused_and_promote_clears_it() {
    let server = cluster();
    let before = rollout(&server);
    let out = run(&server, "verbs-pause", &["pause", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "rollout 'guestbook' paused\n");
    let paused = rollout(&server);
    assert_eq!(diff(&before, &paused), ["/spec/paused"]);
    assert_eq!(paused["spec"]["paused"], true);
    let out = run(&server, "verbs-pause", &["promote", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(rollout(&server)["spec"]["paused"], false);
    let missing = run(&server, "verbs-pause", &["pause", "nosuch"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("shop/nosuch"));
}

/// A ReplicaSet of the guestbook Rollout at `revision` running `image`.
fn replicaset(server: &ApiServer, hash: &str, revision: &str, image: &str) {
    let uid = rollout(server)["metadata"]["uid"].clone();
    let labels = json!({"app": "guestbook", "rollouts-pod-template-hash": hash});
    server
        .put(
            "replicasets",
            &json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {
                    "name": format!("guestbook-{hash}"), "namespace": "shop", "labels": labels,
                    "annotations": {"rollout.argoproj.io/revision": revision},
                    "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                        "name": "guestbook", "uid": uid, "controller": true}]
                },
                "spec": {"replicas": 0, "selector": {"matchLabels": labels}, "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "guestbook", "image": image,
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "terminationMessagePath": "/dev/termination-log"}],
                        "restartPolicy": "Always"}
                }}
            }),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
}

#[test]
fn undo_puts_back_the_template_of_an_earlier_revision() {
    let server = cluster();
    replicaset(&server, "aaaa", "1", "argoproj/rollouts-demo:red");
    replicaset(&server, "bbbb", "2", "argoproj/rollouts-demo:green");
    replicaset(&server, "cccc", "3", "argoproj/rollouts-demo:blue");
    // The newest revision (3) is the Rollout's template: nothing to do for it.
    let out = run(
        &server,
        "verbs-undo",
        &["undo", "guestbook", "--to-revision", "3"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        "skipped rollback (current template already matches revision 3)\n"
    );
    let before = rollout(&server);
    let out = run(&server, "verbs-undo", &["undo", "guestbook"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out), "rollout 'guestbook' undo (to revision 2)\n");
    let after = rollout(&server);
    assert_eq!(
        diff(&before, &after),
        [
            "/spec/template/spec/containers",
            "/spec/template/spec/restartPolicy"
        ]
    );
    let template = &after["spec"]["template"];
    assert_eq!(
        template["spec"]["containers"][0]["image"],
        "argoproj/rollouts-demo:green"
    );
    assert_eq!(
        template["metadata"]["labels"],
        json!({"app": "guestbook"}),
        "the hash label is left out"
    );
    let out = run(
        &server,
        "verbs-undo",
        &["undo", "guestbook", "--to-revision", "1"],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        rollout(&server)["spec"]["template"]["spec"]["containers"][0]["image"],
        "argoproj/rollouts-demo:red"
    );
    let out = run(
        &server,
        "verbs-undo",
        &["undo", "guestbook", "--to-revision", "9"],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Rollout shop/guestbook has no revision 9 (its ReplicaSets have [3, 2, 1])"),
        "{out:?}"
    );
}
