//! A scenario file's mistakes, each an error naming the field: unknown fields (with the
//! nearest known one) in the scenario and in its Rollouts, events on objects the manifests do
//! not hold or after the run ends, a run longer than a day. The shipped scenarios have none.

use albatross_sim::runner::Scenario;
use albatross_sim::scenario_check::check_scenario;
use serde_json::Value;

fn basic() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/scenarios/basic-canary.yaml"
    ))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn problems(yaml: &str) -> Vec<String> {
    let scenario: Scenario = serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let raw: Value = serde_yaml_ng::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    check_scenario(&raw, &scenario)
}

#[test]
fn every_shipped_scenario_is_clean() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/scenarios");
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(problems(&text), Vec::<String>::new(), "{}", path.display());
    }
}

#[test]
fn misspelt_fields_are_named_with_the_nearest() {
    let yaml =
        format!("{}\ndurationSecond: 30\n", basic()).replace("durationSeconds:", "durationSecnds:");
    let found = problems(&yaml);
    assert!(
        found.contains(&"unknown field durationSecond (did you mean durationSeconds?)".to_string()),
        "{found:?}"
    );
    assert!(
        found.contains(&"unknown field durationSecnds (did you mean durationSeconds?)".to_string()),
        "{found:?}"
    );
    let yaml = format!("{}\nworld:\n  requestsPerSecnd: 5\n", basic());
    let found = problems(&yaml);
    assert!(
        found
            .iter()
            .any(|p| p == "unknown field world.requestsPerSecnd (did you mean requestsPerSecond?)"),
        "{found:?}"
    );
}

#[test]
fn a_misspelt_rollout_field_is_an_error_in_a_scenario() {
    let yaml = basic().replacen("canaryService:", "canaryServce:", 1);
    let found = problems(&yaml);
    assert!(
        found.iter().any(|p| p.contains("(Rollout guestbook): spec.strategy.canary.canaryServce: Argo Rollouts has no such field, so it is ignored (did you mean canaryService?)")),
        "{found:?}"
    );
}

#[test]
fn events_on_missing_objects_or_after_the_end_and_long_runs_are_errors() {
    let yaml = basic()
        .replacen(
            "\nevents:\n",
            "\nevents:\n  - {at: 5, action: promote, rollout: guestbok}\n  - {at: 100000, action: abort, rollout: guestbook}\n  - {at: 6, action: patchIngress, ingress: wbe, patch: {}}\n",
            1,
        )
        .replace("durationSeconds: 360", "durationSeconds: 90000");
    let found = problems(&yaml);
    let has = |s: &str| found.iter().any(|p| p.contains(s));
    assert!(
        has("rollout: no Rollout \"guestbok\" among the manifests (did you mean guestbook?)"),
        "{found:?}"
    );
    assert!(
        has(".at: 100000 is not before the end of the run"),
        "{found:?}"
    );
    assert!(
        has(".ingress: no Ingress \"wbe\" among the manifests (did you mean web?)"),
        "{found:?}"
    );
    assert!(has("is more than a day (86400)"), "{found:?}");
}
