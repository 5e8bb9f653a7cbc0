//! Expectations checked against a run: each met or failed with why, and what a run without
//! them still says.

use albatross_policy::reconcile::Settings;
use albatross_sim::expect::{Expectations, Reached, check, warnings};
use albatross_sim::runner::{NativeReconciler, Scenario, run};

fn abort() -> Scenario {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/scenarios/abort.yaml"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn each_expectation_is_met_or_says_why_not() {
    let mut scenario = abort();
    scenario.expect = Some(Expectations {
        requests_lost_at_most: Some(0.0),
        final_phase: Some("Healthy".into()),
        final_canary_weight: Some(20),
        rollout: None,
        reached: vec![
            Reached {
                phase: "Paused".into(),
                by: 1,
                rollout: None,
            },
            Reached {
                phase: "Degraded".into(),
                by: 10_000,
                rollout: Some("guestbook".into()),
            },
        ],
    });
    let trace = run(&scenario, &mut NativeReconciler, &Settings::default());
    let verdicts = check(&scenario, &trace);
    let failures: Vec<(String, Option<String>)> = verdicts
        .into_iter()
        .map(|v| (v.expectation, v.failure))
        .collect();
    assert_eq!(failures[0], ("expect.requestsLostAtMost: 0".into(), None));
    assert_eq!(
        failures[1],
        (
            "expect.finalPhase: Healthy (Rollout shop/guestbook)".into(),
            Some("it ended Degraded".into())
        )
    );
    assert_eq!(
        failures[2],
        (
            "expect.finalCanaryWeight: 20 (Rollout shop/guestbook)".into(),
            Some("it ended at canary 0".into())
        )
    );
    assert!(
        failures[3]
            .1
            .as_deref()
            .is_some_and(|f| f.starts_with("first reached at ")),
        "{failures:?}"
    );
    assert_eq!(failures[4].1, None, "{failures:?}");
    let said = warnings(&scenario, &trace);
    assert!(
        said.iter()
            .any(|w| w.starts_with("Rollout shop/guestbook ended Degraded")),
        "{said:?}"
    );
}
