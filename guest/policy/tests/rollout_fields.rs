//! Rollout fields Argo Rollouts does not have (typos, with the nearest name) and Argo fields
//! Albatross accepts without effect, found by walking the spec against Argo's field table;
//! and the generic read-back comparison that finds the unknown keys of any input.

mod common;

use albatross_policy::lint::{Severity, lint};
use albatross_policy::rollout_fields::{FieldNote, check_fields};
use albatross_policy::suggest::{nearest, unknown_keys};
use serde_json::json;

#[test]
fn a_misspelt_field_is_named_with_the_nearest_known_one() {
    let mut r = common::canary();
    r["spec"]["strategy"]["canary"]["scaleDownDelaySecond"] = json!(30);
    r["spec"]["strategy"]["canary"]["dynamicStableScal"] = json!(true);
    r["spec"]["strategy"]["canary"]["steps"][1]["pause"]["durration"] = json!("10s");
    r["spec"]["strategy"]["canary"]["trafficRouting"]["alb"]["servicePrt"] = json!(80);
    let notes = check_fields(&r);
    let unknown = |path: &str, near: &str| FieldNote::Unknown {
        path: path.into(),
        nearest: Some(near.into()),
    };
    for n in [
        unknown(
            "spec.strategy.canary.scaleDownDelaySecond",
            "scaleDownDelaySeconds",
        ),
        unknown(
            "spec.strategy.canary.dynamicStableScal",
            "dynamicStableScale",
        ),
        unknown("spec.strategy.canary.steps[1].pause.durration", "duration"),
        unknown(
            "spec.strategy.canary.trafficRouting.alb.servicePrt",
            "servicePort",
        ),
    ] {
        assert!(notes.contains(&n), "{n:?} not in {notes:?}");
    }
    assert_eq!(notes.len(), 4, "{notes:?}");
    let note = notes
        .iter()
        .find(|n| n.path() == "spec.strategy.canary.scaleDownDelaySecond")
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert_eq!(
        note.message(),
        "Argo Rollouts has no such field, so it is ignored (did you mean scaleDownDelaySeconds?)"
    );
}

#[test]
fn an_argo_field_without_effect_is_named_and_a_far_name_gets_no_guess() {
    let mut r = common::canary();
    r["spec"]["revisionHistoryLimit"] = json!(3);
    r["spec"]["progressDeadlineSeconds"] = json!(600);
    r["spec"]["flavour"] = json!("vanilla");
    let notes = check_fields(&r);
    assert!(notes.contains(&FieldNote::Ignored {
        path: "spec.revisionHistoryLimit".into()
    }));
    assert!(notes.contains(&FieldNote::Ignored {
        path: "spec.progressDeadlineSeconds".into()
    }));
    assert!(notes.contains(&FieldNote::Unknown {
        path: "spec.flavour".into(),
        nearest: None
    }));
    assert!(check_fields(&common::canary()).is_empty());
}

#[test]
fn lint_warns_of_both_and_a_typo_does_not_fail_it() {
    let mut r = common::canary();
    r["spec"]["strategy"]["canary"]["scaleDownDelaySecond"] = json!(30);
    let findings = lint(&[r], &["alb".to_string()]);
    let f = findings
        .iter()
        .find(|f| f.field == "spec.strategy.canary.scaleDownDelaySecond")
        .unwrap_or_else(|| panic!("no finding: {findings:?}"));
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(f.object, "Rollout shop/guestbook");
    assert!(f.message.contains("did you mean scaleDownDelaySeconds?"));
}

#[test]
fn mirror_and_plugin_steps_are_refused_by_name() {
    for step in ["setMirrorRoute", "plugin"] {
        let mut r = common::canary();
        r["spec"]["strategy"]["canary"]["steps"][0] = json!({step: {"name": "x"}});
        let err = albatross_policy::api::validate(&r.to_string())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("spec.strategy.canary.steps[0].{step}"))
                && err.contains("does not implement"),
            "{err}"
        );
    }
}

#[test]
fn unknown_keys_are_what_the_read_back_lacks() {
    let input = json!({"name": "x", "durationSecond": 5, "world": {"requestsPerSecnd": 9, "lag": 1},
                       "events": [{"at": 1}, {"at": 2, "rollot": "a"}]});
    let known = json!({"name": "x", "durationSeconds": 600, "world": {"requestsPerSecond": 100, "lag": 1},
                       "events": [{"at": 1, "rollout": "a"}, {"at": 2, "rollout": "a"}]});
    let mut found: Vec<String> = unknown_keys(&input, &known)
        .iter()
        .map(ToString::to_string)
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "unknown field durationSecond (did you mean durationSeconds?)",
            "unknown field events[1].rollot (did you mean rollout?)",
            "unknown field world.requestsPerSecnd (did you mean requestsPerSecond?)",
        ]
    );
    assert_eq!(nearest("Rolout", ["Rollout", "Ingress"]), Some("Rollout"));
    assert_eq!(nearest("Pod", ["Rollout", "Ingress"]), None);
}
