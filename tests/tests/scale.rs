//! The controller at the scale users have: N labelled Rollouts (each with its Services and
//! Ingress, as in examples/manifests/guestbook.yaml) on the API emulator, the real binary
//! reconciling them. It checks that every one becomes Healthy and then measures (printed,
//! never asserted on time): seconds from start to all Healthy, reconciles per second, the
//! controller's peak RSS, API requests per Rollout, and the latency from a Rollout edit to the
//! Ingress patch. N is ALBATROSS_SCALE_ROLLOUTS (default 100, what CI runs; BENCHMARKS.md has
//! 1,000 and more).

use std::sync::Arc;
use std::time::Instant;

use albatross::backend::manifests::read_manifests;
use albatross_tests::apiserver::ApiServer;
use albatross_tests::cluster::{ControllerProcess, Kubelet, http_get, plural, wait_for};
use albatross_tests::scratch_dir;
use serde_json::{Value, json};

const NS: &str = "shop";

/// The guestbook objects renamed for Rollout `i`: `guestbook-i`, its Services `*-svc-i`, its
/// Ingress `web-i`, one pod.
fn load(server: &ApiServer, n: usize) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/manifests/guestbook.yaml");
    let objects = read_manifests(&path).unwrap_or_else(|e| panic!("{e:#}"));
    for i in 0..n {
        for o in &objects {
            let kind = o["kind"].as_str().unwrap_or_default().to_string();
            let text = o
                .to_string()
                .replace("\"guestbook\"", &format!("\"guestbook-{i}\""))
                .replace("-svc\"", &format!("-svc-{i}\""))
                .replace("actions.root-svc", &format!("actions.root-svc-{i}"))
                .replace("\"web\"", &format!("\"web-{i}\""));
            let mut v: Value = serde_json::from_str(&text).unwrap();
            v["metadata"]["namespace"] = json!(NS);
            if kind == "Rollout" {
                v["spec"]["replicas"] = json!(1);
                v["metadata"]["labels"]["argo-rollouts.argoproj.io/controller-instance-id"] =
                    json!("albatross");
            }
            server
                .put(&plural(&kind), &v)
                .unwrap_or_else(|e| panic!("loading {kind} {i}: {e:?}"));
        }
    }
}

fn healthy(server: &ApiServer) -> usize {
    server
        .map_objects("argoproj.io/v1alpha1", "rollouts", NS, |r| {
            r["status"]["phase"] == "Healthy"
        })
        .iter()
        .filter(|h| **h)
        .count()
}

/// The value of the first series of `metrics` whose line starts with `name`.
fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn every_rollout_becomes_healthy_and_the_figures_are_printed() {
    let n: usize = std::env::var("ALBATROSS_SCALE_ROLLOUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let server = Arc::new(ApiServer::start());
    load(&server, n);
    let _kubelet = Kubelet::start(server.clone(), NS);
    let started = Instant::now();
    let mut controller = ControllerProcess::start(
        &server,
        &scratch_dir("scale"),
        &["--leader-elect=false", "--aws-verify-target-group=false"],
    );
    let deadline = 120 + n as u64; // generous: a busy machine is slow, never wrong
    wait_for(deadline, "every Rollout Healthy", || {
        let h = healthy(&server);
        if h == n {
            Ok(())
        } else {
            Err(format!("{h} of {n} Healthy"))
        }
    });
    let to_healthy = started.elapsed().as_secs_f64();
    let metrics = http_get(&format!("{}/metrics", controller.metrics_url)).unwrap_or_default();
    let reconciles = metric(&metrics, "albatross_reconciles_total{");
    let requests = server.requests();
    let writes = requests.iter().filter(|r| r.is_write()).count();
    assert!(
        reconciles >= n as f64,
        "{reconciles} reconciles for {n} Rollouts"
    );

    // Latency from an edit to the Ingress patch: a new image on Rollout 0 until its action
    // carries the first step's weight.
    let edited = Instant::now();
    let containers = json!([{"name": "guestbook", "image": "argoproj/rollouts-demo:green",
        "ports": [{"containerPort": 8080}]}]);
    server
        .merge(
            "argoproj.io/v1alpha1",
            "rollouts",
            NS,
            "guestbook-0",
            &json!({"spec": {"template": {"spec": {"containers": containers}}}}),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    wait_for(120, "Rollout 0's canary at 20% on its Ingress", || {
        let ingress = server
            .object("networking.k8s.io/v1", "ingresses", NS, "web-0")
            .unwrap_or(Value::Null);
        let action =
            ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/actions.root-svc-0"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        if action.contains(r#""Weight":20"#) {
            Ok(())
        } else {
            Err(action)
        }
    });
    let latency = edited.elapsed().as_secs_f64();
    let rss_mib = controller.peak_rss_kib().unwrap_or(0) as f64 / 1024.0;
    println!(
        "scale {n} Rollouts: all Healthy in {to_healthy:.1} s, {reconciles} reconciles \
         ({:.1}/s), {} API requests ({:.1} a Rollout, {writes} writes), peak RSS {rss_mib:.1} MiB, \
         edit to Ingress patch {latency:.2} s",
        reconciles / to_healthy,
        requests.len(),
        requests.len() as f64 / n as f64,
    );
    let status = controller.terminate();
    assert!(status.success(), "the controller exited with {status}");
}
