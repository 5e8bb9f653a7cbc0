//! Every example scenario, run in the simulated world through the wasm component, with
//! assertions on its timeline; the same trace natively and through wasm, and twice alike; no
//! request lost with verification on, and requests lost without it where the seeds warn.

use albatross::backend::manifests::read_manifests;
use albatross::commands::lint::lint_manifests;
use albatross_sim::runner::Trace;
use albatross_tests::{Way, events_at as at, scenario, simulate};
use serde_json::json;

fn wasm(name: &str) -> Trace {
    simulate(&scenario(name), Way::Wasm, true)
}

/// The canary weights the Rollout had verified on the ALB, in order, without repeats.
fn verified_weights(trace: &Trace) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for row in trace.timeline.iter().filter(|r| r.verified) {
        if let Some(w) = row.desired_canary
            && out.last() != Some(&w)
        {
            out.push(w);
        }
    }
    out
}

fn action(trace: &Trace, ingress: &str, key: &str) -> String {
    trace.final_annotations[ingress][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

const ARGO_AT_REST: &str = r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":0},{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#;

#[test]
fn every_scenario_loses_nothing_with_verification_and_is_deterministic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 14, "{names:?}");
    for name in &names {
        let s = scenario(name);
        let (findings, errors) = lint_manifests(&s.manifests, &["alb".to_string()]);
        assert!(!errors, "{name}: lint: {findings:?}");
        let wasm = simulate(&s, Way::Wasm, true);
        assert_eq!(
            wasm.requests_lost, 0.0,
            "{name}: lost {} requests with verification on",
            wasm.requests_lost
        );
        assert!(wasm.requests > 0.0, "{name}: no traffic");
        assert!(
            at(&wasm, "FailedReconcile").is_empty(),
            "{name}: {:?}",
            wasm.events
        );
        let native = simulate(&s, Way::Native, true);
        assert_eq!(
            serde_json::to_string(&native).unwrap(),
            serde_json::to_string(&wasm).unwrap(),
            "{name}: native and wasm traces differ"
        );
        let again = simulate(&s, Way::Native, true);
        assert_eq!(native, again, "{name}: not deterministic");
    }
}

#[test]
fn without_verification_the_outage_and_slow_registration_lose_requests() {
    for name in ["lb-controller-outage", "slow-registration"] {
        let off = simulate(&scenario(name), Way::Wasm, false);
        assert!(
            off.requests_lost > 0.0,
            "{name}: the gate made no difference"
        );
        let on = simulate(&scenario(name), Way::Wasm, true);
        assert_eq!(on.requests_lost, 0.0, "{name}");
    }
}

#[test]
fn basic_canary_steps_pauses_and_promotion() {
    let t = wasm("basic-canary");
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
    assert_eq!(at(&t, "NewRevision"), [60]);
    assert_eq!(at(&t, "WeightVerified").len(), 2);
    let resumed = at(&t, "Resumed");
    assert_eq!(resumed.len(), 2);
    assert_eq!(
        resumed[1], 200,
        "the indefinite pause held until the promotion at t=200"
    );
    let promoted = at(&t, "Promoted")[0];
    let scaled = at(&t, "ScaledDown")[0];
    assert!(
        scaled >= promoted + 30,
        "scale-down {scaled} before promotion {promoted} + scaleDownDelaySeconds"
    );
    assert_eq!(
        action(&t, "shop/web", "alb.ingress.kubernetes.io/actions.root-svc")
            .replace("root-svc", ""),
        ARGO_AT_REST
    );
    let waited = t
        .timeline
        .iter()
        .any(|r| r.message.contains("new pod IPs to be registered"));
    assert!(waited, "promotion did not wait for IP verification");
}

#[test]
fn root_service_names_the_action() {
    let t = wasm("root-service");
    assert_eq!(
        action(&t, "shop/web", "alb.ingress.kubernetes.io/actions.root-svc"),
        ARGO_AT_REST
    );
    assert!(
        t.final_annotations["shop/web"]
            .get("alb.ingress.kubernetes.io/actions.stable-svc")
            .is_none()
    );
}

#[test]
fn stickiness_is_in_every_action() {
    let t = wasm("stickiness");
    let v = action(
        &t,
        "shop/web",
        "alb.ingress.kubernetes.io/actions.stable-svc",
    );
    assert!(v.ends_with(r#""Weight":100}],"TargetGroupStickinessConfig":{"Enabled":true,"DurationSeconds":3600}}}"#), "{v}");
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
}

#[test]
fn multiple_ingresses_carry_the_same_action() {
    let t = wasm("multiple-ingresses");
    let key = "alb.ingress.kubernetes.io/actions.stable-svc";
    assert_eq!(action(&t, "shop/web", key), ARGO_AT_REST);
    assert_eq!(action(&t, "shop/web-internal", key), ARGO_AT_REST);
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
}

#[test]
fn ping_pong_swaps_after_each_rollout() {
    let t = wasm("ping-pong");
    assert_eq!(at(&t, "PingPongSwapped").len(), 2);
    let swaps: Vec<&str> = t
        .events
        .iter()
        .filter(|e| e.reason == "PingPongSwapped")
        .map(|e| e.message.as_str())
        .collect();
    assert!(
        swaps[0].contains("ping-svc becomes stable")
            && swaps[1].contains("pong-svc becomes stable"),
        "{swaps:?}"
    );
    assert_eq!(
        action(&t, "shop/web", "alb.ingress.kubernetes.io/actions.root-svc"),
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"ping-svc","ServicePort":"80","Weight":0},{"ServiceName":"pong-svc","ServicePort":"80","Weight":100}]}}"#
    );
}

#[test]
fn blue_green_promotes_after_ip_verification() {
    let t = wasm("blue-green");
    let promoted = at(&t, "Promoted")[0];
    assert!(
        promoted >= 150,
        "promoted at {promoted} before the person did"
    );
    assert!(t.timeline.iter().any(|r| {
        r.message
            .contains("until every new pod is healthy in its target groups")
    }));
    let scaled = at(&t, "ScaledDown")[0];
    assert!(scaled >= promoted + 30, "{scaled} < {promoted} + 30");
}

#[test]
fn lb_controller_outage_holds_the_rollout() {
    let t = wasm("lb-controller-outage");
    let promoted = at(&t, "Promoted")[0];
    assert!(promoted >= 300, "promoted at {promoted}, during the outage");
    let early_100 = t
        .timeline
        .iter()
        .any(|r| r.t < 300 && r.verified && r.desired_canary == Some(100));
    assert!(
        !early_100,
        "canary 100 counted as verified while the controller was down"
    );
    let held = t.timeline.iter().rev().find(|r| r.t < 300).unwrap();
    assert_eq!(held.phase, "Progressing");
    assert!(
        held.message.contains("before canary weight 100"),
        "{}",
        held.message
    );
}

#[test]
fn slow_registration_waits_for_the_new_ips() {
    let t = wasm("slow-registration");
    let waiting: Vec<u64> = t
        .timeline
        .iter()
        .filter(|r| r.message.contains("new pod IPs to be registered"))
        .map(|r| r.t)
        .collect();
    let promoted = at(&t, "Promoted")[0];
    assert!(
        !waiting.is_empty() && promoted > waiting[0] + 60,
        "waited {waiting:?}, promoted {promoted}"
    );
}

#[test]
fn abort_returns_traffic_then_scales_the_canary_down() {
    let t = wasm("abort");
    let aborted = at(&t, "RolloutAborted")[0];
    assert!(aborted >= 130);
    assert_eq!(*verified_weights(&t).last().unwrap(), 0);
    let scaled = at(&t, "ScaledDown")[0];
    assert!(
        scaled >= aborted + 20,
        "canary scaled down at {scaled}, before abortScaleDownDelaySeconds"
    );
    assert!(at(&t, "Promoted").is_empty());
}

#[test]
fn a_restarted_controller_carries_on_from_status() {
    let t = wasm("controller-restart");
    assert!(t.timeline.iter().all(|r| !(91..135).contains(&r.t)
        || r.phase.is_empty()
        || r.message == t.timeline.iter().rev().find(|x| x.t < 91).unwrap().message));
    let resumed = at(&t, "Resumed");
    assert_eq!(
        resumed[0], 135,
        "the 30 s pause from t=81 ends when the controller is back"
    );
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
    assert_eq!(at(&t, "Promoted").len(), 1);
}

#[test]
fn throttling_and_conflicts_only_delay() {
    let t = wasm("elb-throttling");
    assert!(
        at(&t, "WeightVerified")
            .iter()
            .all(|s| !(65..140).contains(s))
    );
    assert!(
        t.timeline
            .iter()
            .any(|r| r.message.contains("Rate exceeded"))
    );
    assert_eq!(at(&t, "Promoted").len(), 1);
    assert_eq!(
        t.final_annotations["shop/web"]["alb.ingress.kubernetes.io/actions.stable-svc"],
        json!(ARGO_AT_REST)
    );
}

#[test]
fn the_example_manifests_read_as_five_objects_and_lint_clean() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/manifests/guestbook.yaml");
    let objects = read_manifests(&path).unwrap();
    let kinds: Vec<&str> = objects
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["Rollout", "Service", "Service", "Service", "Ingress"]
    );
    let (findings, _) = lint_manifests(&objects, &["alb".to_string()]);
    assert!(findings.is_empty(), "{findings:?}");
    let (findings, errors) = lint_manifests(&objects, &["internal-alb".to_string()]);
    assert!(errors);
    assert_eq!(findings[0].field, "spec.ingressClassName");
}

#[test]
fn a_new_revision_mid_rollout_restarts_the_steps_and_retry_and_promote_full_work() {
    let t = wasm("new-revision");
    assert_eq!(at(&t, "NewRevision"), [60, 90]);
    // The first canary never reaches 50%: the second revision starts over from step 0.
    let before_green: Vec<u64> = t
        .timeline
        .iter()
        .filter(|r| r.t < 90 && r.verified)
        .filter_map(|r| r.desired_canary)
        .collect();
    assert!(before_green.iter().all(|w| *w <= 20), "{before_green:?}");
    // Three revisions, and the two that lost are scaled down; the winner is promoted.
    let last = t.timeline.last().unwrap();
    assert_eq!(last.replicas.len(), 3, "{:?}", last.replicas);
    assert_eq!(
        last.replicas
            .values()
            .filter(|(_, want)| *want == 5)
            .count(),
        1,
        "{:?}",
        last.replicas
    );
    assert!(at(&t, "RolloutAborted")[0] >= 150);
    let promoted = at(&t, "Promoted");
    assert_eq!(promoted.len(), 1);
    assert!(
        promoted[0] > 215,
        "promoted at {} before promoteFull",
        promoted[0]
    );
    assert_eq!(last.phase, "Healthy");
}

#[test]
fn instance_mode_verifies_weights_the_same_way() {
    let t = wasm("instance-mode");
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
    assert_eq!(at(&t, "Promoted").len(), 1);
    assert_eq!(t.requests_lost, 0.0);
}

#[test]
fn a_header_route_comes_and_goes_with_its_steps() {
    let s = scenario("header-route");
    let t = wasm("header-route");
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
    // Gone at the end: no path, no action, no conditions, and the bookkeeping lists only the
    // weighted action.
    let annotations = &t.final_annotations["shop/web"];
    assert!(
        annotations
            .get("alb.ingress.kubernetes.io/actions.beta")
            .is_none(),
        "{annotations}"
    );
    assert!(
        annotations
            .get("alb.ingress.kubernetes.io/conditions.beta")
            .is_none()
    );
    assert_eq!(
        annotations["albatross.io/managed-alb-annotations"],
        json!(r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-svc"]}"#)
    );
    // While it is live, the Ingress carries the route and the ALB a header rule to the canary.
    let world = albatross_tests::partial(&s, Way::Wasm, 95);
    let ingress = world.store.get("Ingress", "shop", "web").unwrap();
    let first = &ingress["spec"]["rules"][0]["http"]["paths"][0];
    assert_eq!(
        first["backend"]["service"],
        json!({"name": "beta", "port": {"name": "use-annotation"}})
    );
    assert_eq!(
        ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/conditions.beta"],
        json!(
            r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Canary","values":["yes"]}}]"#
        )
    );
    let alb = world.elb.albs.values().next().unwrap();
    let header_rule = alb
        .rules
        .iter()
        .find(|r| r.conditions.iter().any(|c| c.field == "http-header"))
        .unwrap();
    assert_eq!(
        header_rule.conditions[1].http_header_name.as_deref(),
        Some("X-Canary")
    );
    assert_eq!(
        header_rule.actions[0]
            .forward
            .as_ref()
            .unwrap()
            .target_groups[0]
            .weight,
        Some(100)
    );
}

#[test]
fn a_rollout_argo_left_healthy_is_adopted_not_deployed_again() {
    let t = wasm("takeover-from-argo");
    let before: Vec<&albatross_sim::runner::TimelineRow> =
        t.timeline.iter().filter(|r| r.t < 120).collect();
    assert!(
        before.iter().all(|r| r.replicas.keys().eq(["687d76d795"])),
        "a ReplicaSet was created before any template change: {:?}",
        before.iter().map(|r| &r.replicas).collect::<Vec<_>>()
    );
    assert!(before.iter().all(|r| r.desired_canary.unwrap_or(0) == 0));
    assert_eq!(at(&t, "NewRevision"), [120], "{:?}", t.events);
    assert_eq!(verified_weights(&t), [0, 20, 100, 0]);
    let last = t.timeline.last().unwrap();
    assert_eq!(last.phase, "Healthy");
    assert_eq!(last.replicas.len(), 2);
    assert_eq!(
        last.replicas["687d76d795"],
        (0, 0),
        "Argo's ReplicaSet scaled down once replaced"
    );
}

#[test]
fn a_manual_pause_holds_everything_until_unpaused() {
    let t = wasm("manual-pause");
    // The timeline has a row at each change: one when the pause lands, none until unpaused.
    let held: Vec<&albatross_sim::runner::TimelineRow> = t
        .timeline
        .iter()
        .filter(|r| (90..170).contains(&r.t))
        .collect();
    assert_eq!(held.len(), 1, "something moved while paused: {held:?}");
    let row = held[0];
    assert_eq!((row.t, row.phase.as_str()), (90, "Paused"));
    assert_eq!(row.message, "manually paused");
    assert_eq!((row.desired_canary, row.verified), (Some(20), true));
    let paused: Vec<u64> = t
        .events
        .iter()
        .filter(|e| e.reason == "RolloutPaused" && e.message.contains("spec.paused"))
        .map(|e| e.t)
        .collect();
    assert_eq!(paused, [90]);
    assert_eq!(
        at(&t, "Resumed")[0],
        170,
        "the timed pause ended while paused: it goes on at unpause"
    );
    assert_eq!(verified_weights(&t), [0, 20, 50, 100, 0]);
    assert_eq!(t.timeline.last().unwrap().phase, "Healthy");
}
