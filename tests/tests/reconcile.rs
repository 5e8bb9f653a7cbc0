//! Reconcile passes over a scripted world, run natively and through the wasm component: the
//! same outcomes and the same writes both ways, nothing written when nothing changed, no step
//! advanced before the load balancer carries the weight, and cleanup on deletion.

use albatross_policy::HostError;
use albatross_tests::{ScriptedHost, Way, reconcile_once};
use serde_json::{Value, json};

const KEY: &str = "alb.ingress.kubernetes.io/actions.root-service";
const MANAGED: &str = "rollouts.argoproj.io/managed-alb-annotations";
const DNS: &str = "k8s-shop-web-0123456789-1234567890.us-west-2.elb.amazonaws.com";

fn world() -> ScriptedHost {
    let host = ScriptedHost::default();
    {
        let mut w = host.world();
        w.now = 1_700_000_000_000;
        let rollout: Value =
            serde_json::from_str(include_str!("../../examples/policy/rollout-basic.json")).unwrap();
        w.put("Rollout", rollout);
        w.put("Ingress", json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "ingress", "namespace": "shop", "annotations": {"kubernetes.io/ingress.class": "alb"}},
            "spec": {"rules": [{"http": {"paths": [{"path": "/*", "pathType": "ImplementationSpecific", "backend": {"service": {"name": "root-service", "port": {"name": "use-annotation"}}}}]}}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": DNS}]}}
        }));
        w.build_alb(
            "shop",
            "ingress",
            ["canary-service", "stable-service"],
            80,
            DNS,
        );
    }
    host
}

fn annotation(host: &ScriptedHost, key: &str) -> Option<String> {
    host.world()
        .object("Ingress", "shop", "ingress")
        .and_then(|i| {
            i["metadata"]["annotations"][key]
                .as_str()
                .map(str::to_string)
        })
}

fn step(host: &ScriptedHost) -> i64 {
    host.world().object("Rollout", "shop", "guestbook").unwrap()["status"]["currentStepIndex"]
        .as_i64()
        .unwrap()
}

/// Drives the basic rollout through its steps and returns every outcome and write, in order.
fn drive(way: Way) -> (Vec<Value>, Vec<String>) {
    let host = world();
    let mut outcomes = Vec::new();
    let mut pass = |host: &ScriptedHost| {
        let out = reconcile_once(host, way, "shop", "guestbook");
        assert!(out.get("Ok").is_some(), "{way:?}: {out}");
        outcomes.push(out.clone());
        out
    };

    // Pass 1: the annotation goes on at 10, but the ALB still has nothing: wait.
    let out = pass(&host);
    assert_eq!(
        annotation(&host, KEY).unwrap(),
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-service","ServicePort":"80","Weight":10},{"ServiceName":"stable-service","ServicePort":"80","Weight":90}]}}"#
    );
    assert_eq!(
        annotation(&host, MANAGED).unwrap(),
        r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-service"]}"#
    );
    assert_eq!(out["Ok"]["requeue_after_ms"], json!(5000));
    assert_eq!(step(&host), 0);
    let writes = host.world().writes.len();

    // Pass 2: nothing changed anywhere: nothing is written and the status stays.
    let out = pass(&host);
    assert_eq!(host.world().writes.len(), writes, "a no-op pass wrote");
    assert_eq!(out["Ok"]["status_json"], Value::Null);

    // The controller catches up: verified, on to the 30 s pause.
    host.world().sync_alb("shop", "ingress", KEY);
    let out = pass(&host);
    assert_eq!(step(&host), 1);
    assert_eq!(out["Ok"]["requeue_after_ms"], json!(60_000));
    let rollout = host
        .world()
        .object("Rollout", "shop", "guestbook")
        .unwrap()
        .clone();
    assert_eq!(
        rollout["status"]["canary"]["weights"]["verified"],
        json!(true)
    );
    assert_eq!(
        rollout["status"]["alb"]["loadBalancer"]["name"],
        json!("k8s-shop-web-0123456789")
    );
    assert_eq!(
        rollout["status"]["pauseConditions"][0]["reason"],
        json!("CanaryPauseStep")
    );

    // Pause not over: stays. Over: on to 50, written, not yet verified.
    host.world().now += 59_000;
    pass(&host);
    assert_eq!(step(&host), 1);
    host.world().now += 1_000;
    let out = pass(&host);
    assert_eq!(step(&host), 2);
    assert_eq!(out["Ok"]["requeue_after_ms"], json!(0));
    pass(&host);
    assert!(annotation(&host, KEY).unwrap().contains(r#""Weight":50"#));
    assert_eq!(step(&host), 2, "advanced before the ALB carried 50");

    // ELBv2 failing: the rollout waits, it never advances on an unverified weight.
    host.world().sync_alb("shop", "ingress", KEY);
    host.world().elb_failure = Some(HostError::Throttled("Rate exceeded".into()));
    pass(&host);
    assert_eq!(step(&host), 2);
    host.world().elb_failure = None;

    // Verified at 50: on to the indefinite pause, which holds until promoted.
    pass(&host);
    assert_eq!(step(&host), 3);
    host.world().now += 3_600_000;
    pass(&host);
    assert_eq!(step(&host), 3);
    // Promote: clear the pause conditions (as `kubectl argo rollouts promote` does).
    if let Some(r) =
        host.world()
            .objects
            .get_mut(&("Rollout".into(), "shop".into(), "guestbook".into()))
    {
        r["status"]
            .as_object_mut()
            .unwrap()
            .remove("pauseConditions");
    }
    pass(&host);
    assert_eq!(step(&host), 4);
    pass(&host);
    assert!(annotation(&host, KEY).unwrap().contains(
        r#""Weight":100},{"ServiceName":"stable-service","ServicePort":"80","Weight":0}"#
    ));
    host.world().sync_alb("shop", "ingress", KEY);
    pass(&host);
    let rollout = host
        .world()
        .object("Rollout", "shop", "guestbook")
        .unwrap()
        .clone();
    assert_eq!(rollout["status"]["phase"], json!("Healthy"));

    // Deletion: back to stable 100, and the bookkeeping entry is gone.
    if let Some(r) =
        host.world()
            .objects
            .get_mut(&("Rollout".into(), "shop".into(), "guestbook".into()))
    {
        r["metadata"]["deletionTimestamp"] = json!("2026-11-23T10:00:00Z");
    }
    pass(&host);
    assert!(annotation(&host, KEY).unwrap().contains(
        r#""Weight":0},{"ServiceName":"stable-service","ServicePort":"80","Weight":100}"#
    ));
    assert_eq!(annotation(&host, MANAGED).unwrap(), "{}");
    let writes = host.world().writes.clone();
    (outcomes, writes)
}

#[test]
fn native_and_wasm_reconcile_alike() {
    let native = drive(Way::Native);
    let wasm = drive(Way::Wasm);
    assert_eq!(native.0, wasm.0, "outcomes differ");
    assert_eq!(native.1, wasm.1, "writes differ");
}

#[test]
fn another_rollouts_action_is_not_taken() {
    for way in [Way::Native, Way::Wasm] {
        let host = world();
        if let Some(i) =
            host.world()
                .objects
                .get_mut(&("Ingress".into(), "shop".into(), "ingress".into()))
        {
            i["metadata"]["annotations"][MANAGED] = json!(format!(r#"{{"checkout":["{KEY}"]}}"#));
        }
        let out = reconcile_once(&host, way, "shop", "guestbook");
        let err = &out["Err"]["InvalidSpec"];
        assert_eq!(
            err["object"],
            json!("Ingress shop/ingress"),
            "{way:?}: {out}"
        );
        assert!(
            err["message"].as_str().unwrap().contains("checkout"),
            "{out}"
        );
        assert!(
            host.world().writes.is_empty(),
            "{way:?} wrote despite the conflict"
        );
    }
}

#[test]
fn an_invalid_rollout_is_degraded_not_acted_on() {
    for way in [Way::Native, Way::Wasm] {
        let host = world();
        if let Some(r) =
            host.world()
                .objects
                .get_mut(&("Rollout".into(), "shop".into(), "guestbook".into()))
        {
            r["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = json!(140);
        }
        let out = reconcile_once(&host, way, "shop", "guestbook");
        assert_eq!(
            out["Ok"]["events"][0]["reason"],
            json!("InvalidSpec"),
            "{out}"
        );
        let rollout = host
            .world()
            .object("Rollout", "shop", "guestbook")
            .unwrap()
            .clone();
        assert_eq!(rollout["status"]["phase"], json!("Degraded"));
        assert!(
            rollout["status"]["message"]
                .as_str()
                .unwrap()
                .contains("steps[0].setWeight")
        );
        assert!(host.world().writes.is_empty());
    }
}
