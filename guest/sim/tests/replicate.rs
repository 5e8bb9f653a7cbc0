//! `replicate:`: N renamed copies of a scenario's manifests and events, each copy wired to its
//! own Services, Ingress and pods, and checked like any scenario.

use albatross_policy::reconcile::Settings;
use albatross_sim::replicate::{COPY_LABEL, expand};
use albatross_sim::runner::{NativeReconciler, Scenario, run};
use albatross_sim::scenario_check::check_scenario;
use serde_json::Value;

fn scenario(name: &str) -> (Value, Scenario) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scenarios")
        .join(format!("{name}.yaml"));
    let text = std::fs::read_to_string(path).unwrap();
    let raw: Value = serde_yaml_ng::from_str(&text).unwrap();
    let parsed = serde_json::from_value(raw.clone()).unwrap();
    (raw, parsed)
}

fn with_copies(copies: u32) -> Scenario {
    let (mut raw, _) = scenario("basic-canary");
    raw["replicate"] = serde_json::json!({"copies": copies});
    serde_json::from_value(raw).unwrap()
}

fn named<'a>(s: &'a Scenario, kind: &str, name: &str) -> &'a Value {
    s.manifests
        .iter()
        .find(|m| m["kind"] == kind && m["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

#[test]
fn each_copy_is_renamed_with_every_reference_to_it() {
    let s = expand(&with_copies(3));
    assert!(s.replicate.is_none());
    assert_eq!(s.manifests.len(), 3 * 5);
    let r = named(&s, "Rollout", "guestbook-2");
    let canary = &r["spec"]["strategy"]["canary"];
    assert_eq!(canary["canaryService"], "canary-svc-2");
    assert_eq!(canary["stableService"], "stable-svc-2");
    assert_eq!(canary["trafficRouting"]["alb"]["ingress"], "web-2");
    assert_eq!(canary["trafficRouting"]["alb"]["rootService"], "root-svc-2");
    assert_eq!(r["spec"]["selector"]["matchLabels"][COPY_LABEL], "2");
    assert_eq!(r["spec"]["template"]["metadata"]["labels"][COPY_LABEL], "2");
    let svc = named(&s, "Service", "canary-svc-2");
    assert_eq!(svc["spec"]["selector"][COPY_LABEL], "2");
    let ing = named(&s, "Ingress", "web-2");
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "root-svc-2"
    );
    // Events happen to every copy, in time order.
    let at60: Vec<_> = s.events.iter().filter(|e| e.at == 60).collect();
    assert_eq!(at60.len(), 3);
    assert!(s.events.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn action_annotations_are_renamed_by_key_and_inside() {
    let (mut raw, _) = scenario("basic-canary");
    raw["manifests"][4]["metadata"]["annotations"]["alb.ingress.kubernetes.io/actions.root-svc"] =
        Value::String(
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"stable-svc","servicePort":"80","weight":100}]}}"#
                .into(),
        );
    raw["replicate"] = serde_json::json!({"copies": 2, "namePattern": "{name}-copy{i}"});
    let s = expand(&serde_json::from_value(raw).unwrap());
    let ing = named(&s, "Ingress", "web-copy1");
    let annotations = ing["metadata"]["annotations"].as_object().unwrap();
    let action = annotations["alb.ingress.kubernetes.io/actions.root-svc-copy1"]
        .as_str()
        .unwrap();
    assert!(
        action.contains(r#""serviceName":"stable-svc-copy1""#),
        "{action}"
    );
    assert!(!annotations.contains_key("alb.ingress.kubernetes.io/actions.root-svc"));
}

#[test]
fn copies_run_apart_and_each_meets_the_scenarios_expectations() {
    let s = with_copies(4);
    let trace = run(&s, &mut NativeReconciler, &Settings::default());
    assert_eq!(trace.requests_lost, 0.0);
    for i in 0..4 {
        let rollout = format!("shop/guestbook-{i}");
        let last = trace
            .timeline
            .iter()
            .rev()
            .find(|r| r.rollout == rollout)
            .unwrap_or_else(|| panic!("no row of {rollout}"));
        assert_eq!(last.phase, "Healthy", "{rollout}");
        // Each copy's ReplicaSets hold its own 5 pods, not its neighbours'.
        assert!(
            last.replicas.values().all(|(_, want)| *want <= 5),
            "{last:?}"
        );
    }
    let verdicts = albatross_sim::expect::check(&s, &trace);
    assert_eq!(verdicts.len(), 1 + 3 * 4, "{verdicts:?}");
    assert!(verdicts.iter().all(|v| v.failure.is_none()), "{verdicts:?}");
}

#[test]
fn a_block_of_no_copies_or_a_pattern_without_i_is_refused() {
    let (mut raw, _) = scenario("basic-canary");
    raw["replicate"] = serde_json::json!({"copies": 0});
    let s: Scenario = serde_json::from_value(raw.clone()).unwrap();
    let problems = check_scenario(&raw, &s);
    assert!(
        problems.contains(&"replicate.copies: must be 1 or more".to_string()),
        "{problems:?}"
    );
    raw["replicate"] = serde_json::json!({"copies": 2, "namePattern": "{name}-x"});
    let s: Scenario = serde_json::from_value(raw.clone()).unwrap();
    let problems = check_scenario(&raw, &s);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("replicate.namePattern: ")),
        "{problems:?}"
    );
    raw["replicate"] = serde_json::json!({"copies": 2, "namePatern": "{name}-{i}"});
    assert!(serde_json::from_value::<Scenario>(raw).is_err());
}

#[test]
fn the_fleet_scenario_checks_clean() {
    let (raw, s) = scenario("fleet-outage");
    assert_eq!(check_scenario(&raw, &s), Vec::<String>::new());
    assert_eq!(s.replicate.as_ref().map(|r| r.copies), Some(200));
}
