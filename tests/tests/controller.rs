//! The real `albatross controller` binary against the Kubernetes API emulator: which Rollouts
//! it takes, what it writes, and what it leaves alone.

use std::sync::Arc;

use albatross_tests::apiserver::{ApiServer, Fault, FaultAnswer};
use albatross_tests::cluster::{
    ACTION, ControllerProcess, Kubelet, annotations, http_get, load_example, set_image,
    wait_action, wait_for, wait_healthy,
};
use albatross_tests::scratch_dir;
use serde_json::{Value, json};

fn rollout(server: &ApiServer, ns: &str) -> Value {
    server
        .object("argoproj.io/v1alpha1", "rollouts", ns, "guestbook")
        .unwrap_or(Value::Null)
}

fn versions(server: &ApiServer, ns: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (api, plural) in [
        ("argoproj.io/v1alpha1", "rollouts"),
        ("v1", "services"),
        ("networking.k8s.io/v1", "ingresses"),
        ("apps/v1", "replicasets"),
    ] {
        for o in server.objects(api, plural, ns) {
            out.push((
                format!(
                    "{plural}/{}",
                    o["metadata"]["name"].as_str().unwrap_or_default()
                ),
                o["metadata"]["resourceVersion"].clone(),
            ));
        }
    }
    out
}

#[test]
fn a_labelled_rollout_is_reconciled_and_an_unlabelled_one_is_never_touched() {
    let server = Arc::new(ApiServer::start());
    load_example(&server, "guestbook.yaml", "shop", Some("albatross"));
    load_example(&server, "guestbook.yaml", "other", None);
    let untouched = versions(&server, "other");
    let _kubelet = Kubelet::start(server.clone(), "shop");
    let dir = scratch_dir("controller-labelled");
    let mut controller = ControllerProcess::start(
        &server,
        &dir,
        &["--leader-elect=false", "--aws-verify-target-group=false"],
    );

    // Picked up: the finalizer, a status, the first ReplicaSet owned by the Rollout (with
    // its uid, as a real API server requires), and the action on the Ingress.
    let first = wait_for(60, "the Rollout to become Healthy", || {
        let r = rollout(&server, "shop");
        match r["status"]["phase"].as_str() {
            Some("Healthy") => Ok(r),
            _ => Err(r["status"].to_string()),
        }
    });
    assert_eq!(
        first["metadata"]["finalizers"],
        json!(["albatross.io/traffic"])
    );
    let sets = server.objects("apps/v1", "replicasets", "shop");
    assert_eq!(sets.len(), 1, "{sets:#?}");
    let owner = &sets[0]["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Rollout");
    assert_eq!(owner["uid"], first["metadata"]["uid"]);
    let ingress = server
        .object("networking.k8s.io/v1", "ingresses", "shop", "web")
        .unwrap_or(Value::Null);
    let action = ingress["metadata"]["annotations"][ACTION]
        .as_str()
        .unwrap_or_default();
    assert!(action.contains(r#""Weight":100"#), "{ingress:#}");

    // A new image is a new revision: a second ReplicaSet, and the first step's weight.
    set_image(&server, "argoproj/rollouts-demo:green");
    wait_for(60, "the canary at 20% on the Ingress", || {
        let sets = server.objects("apps/v1", "replicasets", "shop");
        let ingress = server
            .object("networking.k8s.io/v1", "ingresses", "shop", "web")
            .unwrap_or(Value::Null);
        let action = ingress["metadata"]["annotations"][ACTION]
            .as_str()
            .unwrap_or_default();
        if sets.len() == 2 && action.contains(r#""Weight":20"#) {
            Ok(())
        } else {
            Err(format!("{} ReplicaSets, action {action}", sets.len()))
        }
    });

    // Metrics are served, and count the passes.
    let metrics = http_get(&format!("{}/metrics", controller.metrics_url)).unwrap_or_default();
    assert!(
        metrics.contains("albatross_reconciles_total{result=\"ok\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("albatross_rollout_info{"), "{metrics}");

    // Nothing of the unlabelled Rollout's namespace was written.
    assert_eq!(versions(&server, "other"), untouched);
    assert!(
        server
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .all(|r| !r.path.contains("/namespaces/other/")),
        "a write reached the unlabelled Rollout's namespace"
    );
    let status = controller.terminate();
    assert!(status.success(), "the controller exited with {status}");
}

/// Runs the stand-in for Argo's Ingress rule every 50 ms until dropped; counts its syncs.
struct ArgoIngressController {
    stop: Arc<std::sync::atomic::AtomicBool>,
    syncs: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ArgoIngressController {
    fn start(server: Arc<ApiServer>, ns: &'static str) -> Self {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let syncs = Arc::new(AtomicU64::new(0));
        let (flag, count) = (stop.clone(), syncs.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                albatross_tests::argo::sync_ingresses(&server, ns);
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
        ArgoIngressController {
            stop,
            syncs,
            thread: Some(thread),
        }
    }

    fn syncs(&self) -> u64 {
        self.syncs.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for ArgoIngressController {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn beside_argo_an_ingress_shared_with_an_argo_rollout_keeps_both_weights() {
    const ARGO_KEY: &str = "rollouts.argoproj.io/managed-alb-annotations";
    const OURS: &str = "albatross.io/managed-alb-annotations";
    const CHECKOUT: &str = "alb.ingress.kubernetes.io/actions.checkout-root";
    let server = Arc::new(ApiServer::start());
    load_example(&server, "guestbook.yaml", "shop", Some("albatross"));
    // An Argo-managed Rollout on the same Ingress, mid-rollout at 30%; and guestbook still
    // listed in Argo's bookkeeping from before it moved to Albatross.
    let mut checkout = rollout(&server, "shop");
    checkout["metadata"] = json!({"name": "checkout", "namespace": "shop"});
    checkout["spec"]["strategy"]["canary"]["trafficRouting"]["alb"]["rootService"] =
        json!("checkout-root");
    server
        .put("rollouts", &checkout)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let checkout_action = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"checkout-canary","ServicePort":"80","Weight":30},{"ServiceName":"checkout-stable","ServicePort":"80","Weight":70}]}}"#;
    server
        .merge(
            "networking.k8s.io/v1",
            "ingresses",
            "shop",
            "web",
            &json!({"metadata": {"annotations": {
                CHECKOUT: checkout_action,
                ARGO_KEY: format!(r#"{{"checkout":["{CHECKOUT}"],"guestbook":["{ACTION}"]}}"#),
            }}}),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    let _kubelet = Kubelet::start(server.clone(), "shop");
    let argo = ArgoIngressController::start(server.clone(), "shop");
    let dir = scratch_dir("controller-beside-argo");
    let _controller = ControllerProcess::start(
        &server,
        &dir,
        &[
            "--leader-elect=false",
            "--aws-verify-target-group=false",
            "--namespace",
            "shop",
        ],
    );
    wait_healthy(&server);
    set_image(&server, "argoproj/rollouts-demo:green");
    wait_action(&server, "guestbook at 20% on the Ingress", r#""Weight":20"#);
    // Many syncs of Argo's rule later, both Rollouts keep their weights.
    let from = argo.syncs();
    wait_for(60, "40 more syncs of Argo's Ingress rule", || {
        if argo.syncs() >= from + 40 {
            Ok(())
        } else {
            Err(format!("{} syncs", argo.syncs() - from))
        }
    });
    let a = annotations(&server);
    assert!(
        a[ACTION]
            .as_str()
            .unwrap_or_default()
            .contains(r#""Weight":20"#),
        "{a:#}"
    );
    assert_eq!(a[CHECKOUT], json!(checkout_action), "{a:#}");
    assert_eq!(
        a[ARGO_KEY],
        json!(format!(r#"{{"checkout":["{CHECKOUT}"]}}"#)),
        "{a:#}"
    );
    assert_eq!(
        a[OURS],
        json!(format!(r#"{{"guestbook":["{ACTION}"]}}"#)),
        "{a:#}"
    );
}

/// The emulator with the guestbook labelled for Albatross in `shop` (and whatever `before`
/// adds), the kubelet stand-in, and one controller (no leader election, verification off),
/// once the Rollout is Healthy.
fn healthy(
    test: &str,
    before: impl FnOnce(&ApiServer),
) -> (Arc<ApiServer>, Kubelet, ControllerProcess) {
    let server = Arc::new(ApiServer::start());
    load_example(&server, "guestbook.yaml", "shop", Some("albatross"));
    before(&server);
    let kubelet = Kubelet::start(server.clone(), "shop");
    let controller = ControllerProcess::start(
        &server,
        &scratch_dir(test),
        &["--leader-elect=false", "--aws-verify-target-group=false"],
    );
    wait_healthy(&server);
    // Ready once its caches synced (what the Deployment's readiness probe asks).
    wait_for(30, "/readyz to answer ready", || {
        http_get(&format!("{}/readyz", controller.metrics_url))
    });
    (server, kubelet, controller)
}

#[test]
fn a_deleted_rollout_leaves_its_ingress_at_stable_100_without_its_entry() {
    let (server, _kubelet, _controller) = healthy("controller-deletion", |_| {});
    set_image(&server, "argoproj/rollouts-demo:green");
    wait_action(&server, "the canary at 20%", r#""Weight":20"#);
    server
        .remove("argoproj.io/v1alpha1", "rollouts", "shop", "guestbook")
        .unwrap_or_else(|e| panic!("{e:?}"));
    wait_for(60, "the Rollout to be gone", || {
        match server.object("argoproj.io/v1alpha1", "rollouts", "shop", "guestbook") {
            None => Ok(()),
            Some(r) => Err(r["metadata"].to_string()),
        }
    });
    let a = annotations(&server);
    let action = a[ACTION].as_str().unwrap_or_default();
    assert!(
        action.ends_with(r#"{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#),
        "{a:#}"
    );
    assert_eq!(
        a["albatross.io/managed-alb-annotations"],
        json!("{}"),
        "{a:#}"
    );
}

#[test]
fn a_conflict_storm_converges_with_no_lost_or_duplicated_write() {
    // Every other write to each object of the namespace is answered 409 Conflict.
    let (server, _kubelet, _controller) = healthy("controller-conflicts", |server| {
        server.inject(Fault::writes(
            "/namespaces/shop/",
            2,
            FaultAnswer::Status(409),
        ));
    });
    set_image(&server, "argoproj/rollouts-demo:green");
    wait_action(
        &server,
        "the canary at 20% through the conflicts",
        r#""Weight":20"#,
    );
    let sets = server.objects("apps/v1", "replicasets", "shop");
    assert_eq!(sets.len(), 2, "{sets:#?}");
    // The status follows (its own write may meet a 409 and be retried).
    let r = wait_for(60, "the status to record 20%", || {
        let r = rollout(&server, "shop");
        if r["status"]["canary"]["weights"]["canary"]["weight"] == 20 {
            Ok(r)
        } else {
            Err(r["status"].to_string())
        }
    });
    assert_eq!(r["metadata"]["finalizers"], json!(["albatross.io/traffic"]));
    let conflicts = server
        .requests()
        .iter()
        .filter(|q| q.is_write() && q.path.contains("/namespaces/shop/"))
        .count();
    assert!(conflicts >= 4, "the storm never hit: {conflicts} writes");
}

/// `albatross_reconciles_total{result="ok"}` as the controller serves it.
fn ok_passes(controller: &ControllerProcess) -> u64 {
    http_get(&format!("{}/metrics", controller.metrics_url))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("albatross_reconciles_total{result=\"ok\"}"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The sum of the controller's series starting with `prefix` whose labels contain `label`.
fn metric_sum(controller: &ControllerProcess, prefix: &str, label: &str) -> u64 {
    http_get(&format!("{}/metrics", controller.metrics_url))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(prefix) && l.contains(label))
        .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_pass_over_a_settled_rollout_writes_nothing() {
    let (server, _kubelet, controller) = healthy("controller-noop", |_| {});
    // Let the last passes of the first deploy finish, then wake the Rollout five times with
    // an edit that changes nothing it reads.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let before = server.requests().len();
    let passes = ok_passes(&controller);
    for i in 0..5 {
        server
            .merge(
                "argoproj.io/v1alpha1",
                "rollouts",
                "shop",
                "guestbook",
                &json!({"metadata": {"annotations": {"touched": i.to_string()}}}),
                None,
            )
            .unwrap_or_else(|e| panic!("{e:?}"));
        std::thread::sleep(std::time::Duration::from_millis(400));
    }
    let done = wait_for(30, "five more passes", || {
        let n = ok_passes(&controller);
        if n >= passes + 5 {
            Ok(n - passes)
        } else {
            Err(format!("{} passes", n - passes))
        }
    });
    let during: Vec<_> = server.requests().into_iter().skip(before).collect();
    let writes: Vec<_> = during.iter().filter(|r| r.is_write()).collect();
    let reads = during
        .iter()
        .filter(|r| !r.is_write() && !r.is_watch())
        .count();
    let hits = metric_sum(
        &controller,
        "albatross_kube_cache_reads_total{",
        "result=\"hit\"",
    );
    println!(
        "settled Rollout: {done} passes, {} writes, {reads} reads from the API server ({:.1} a pass), {hits} reads from the caches so far",
        writes.len(),
        reads as f64 / done as f64
    );
    assert!(
        writes.is_empty(),
        "a pass over a settled Rollout wrote: {writes:#?}"
    );
    // Every read of a settled Rollout's objects may come from the caches (seven a pass went
    // to the API server before they did); a lagging watch may still send one there.
    assert!(hits > 0, "no read was answered from the caches");
    assert!(
        (reads as u64) < done,
        "{reads} reads from the API server in {done} passes"
    );
}

#[test]
fn a_rollout_given_back_to_argo_loses_the_finalizer() {
    let (server, _kubelet, _controller) = healthy("controller-given-back", |_| {});
    assert_eq!(
        rollout(&server, "shop")["metadata"]["finalizers"],
        json!(["albatross.io/traffic"])
    );
    server
        .merge(
            "argoproj.io/v1alpha1",
            "rollouts",
            "shop",
            "guestbook",
            &json!({"metadata": {"labels": {"argo-rollouts.argoproj.io/controller-instance-id": null}}}),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    wait_for(60, "the finalizer to be removed", || {
        let r = rollout(&server, "shop");
        match r["metadata"].get("finalizers") {
            None => Ok(()),
            Some(f) if f.as_array().is_some_and(Vec::is_empty) => Ok(()),
            Some(f) => Err(f.to_string()),
        }
    });
}
