//! What a host does with a pass's result (`apply`), and the status edits (`edits`).

use albatross_policy::apply::{RESYNC_MS, RETRY_AFTER_FAILURE_MS, apply_result};
use albatross_policy::edits;
use albatross_policy::host::{Event, EventType};
use albatross_policy::reconcile::Outcome;
use albatross_policy::{HostError, StrategyError};
use serde_json::json;

#[test]
fn an_outcome_is_written_recorded_and_requeued_as_asked() {
    let out = Outcome {
        status_json: Some(r#"{"phase":"Progressing"}"#.into()),
        requeue_after_ms: Some(1500),
        events: vec![Event {
            event_type: EventType::Normal,
            reason: "WeightSet".into(),
            message: "canary 10".into(),
        }],
    };
    let applied = apply_result(&json!({}), Ok(out));
    assert_eq!(applied.status, Some(json!({"phase": "Progressing"})));
    assert_eq!(applied.events.len(), 1);
    assert_eq!(applied.requeue_after_ms, 1500);
    let quiet = apply_result(&json!({}), Ok(Outcome::default()));
    assert_eq!(quiet.status, None);
    assert_eq!(quiet.requeue_after_ms, RESYNC_MS);
}

#[test]
fn a_passing_host_failure_writes_nothing_and_retries_soon() {
    let applied = apply_result(
        &json!({"phase": "Progressing"}),
        Err(StrategyError::Host(HostError::Conflict(
            "ReplicaSet web-1".into(),
        ))),
    );
    assert_eq!(applied.status, None);
    assert_eq!(applied.events[0].reason, "FailedReconcile");
    assert_eq!(applied.events[0].event_type, EventType::Warning);
    assert_eq!(applied.requeue_after_ms, RETRY_AFTER_FAILURE_MS);
}

#[test]
fn a_strategy_failure_degrades_once_and_keeps_the_rest_of_the_status() {
    let stored = json!({"phase": "Progressing", "currentStepIndex": 2});
    let failure = || {
        Err(StrategyError::Malformed(
            "strategy module \"x\" trapped: boom".into(),
        ))
    };
    let applied = apply_result(&stored, failure());
    let status = applied.status.unwrap();
    assert_eq!(status["phase"], "Degraded");
    assert_eq!(status["message"], "strategy module \"x\" trapped: boom");
    assert_eq!(status["currentStepIndex"], 2);
    assert_eq!(applied.events[0].reason, "StrategyFailed");
    // The same failure again says nothing new.
    let again = apply_result(&status, failure());
    assert!(again.events.is_empty());
}

#[test]
fn the_status_edits_are_the_merge_patches_argo_writes() {
    assert_eq!(
        edits::promote(),
        json!({"status": {"pauseConditions": null}})
    );
    assert_eq!(
        edits::promote_full(),
        json!({"status": {"promoteFull": true}})
    );
    assert_eq!(edits::abort(), json!({"status": {"abort": true}}));
    assert_eq!(
        edits::retry(),
        json!({"status": {"abort": null, "currentStepIndex": 0}})
    );
}

#[test]
fn promote_follows_argo_rule_for_paused_and_running_rollouts() {
    let steps = json!([{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}]);
    let paused = json!({"spec": {"strategy": {"canary": {"steps": steps}}},
        "status": {"currentStepIndex": 1, "pauseConditions": [{"reason": "CanaryPauseStep"}]}});
    assert_eq!(edits::promote_for(&paused), (None, Some(edits::promote())));
    let running = json!({"spec": {"strategy": {"canary": {"steps": steps}}},
        "status": {"currentStepIndex": 0}});
    assert_eq!(
        edits::promote_for(&running),
        (
            None,
            Some(json!({"status": {"pauseConditions": null, "currentStepIndex": 1}}))
        )
    );
    let done = json!({"spec": {"paused": true, "strategy": {"canary": {"steps": steps}}},
        "status": {"currentStepIndex": 3}});
    assert_eq!(
        edits::promote_for(&done),
        (Some(json!({"spec": {"paused": false}})), None)
    );
    let stable = json!({"status": {"currentPodHash": "a", "stableRS": "a"}});
    assert_eq!(edits::promote_full_for(&stable), None);
    let canary = json!({"status": {"currentPodHash": "b", "stableRS": "a"}});
    assert_eq!(
        edits::promote_full_for(&canary),
        Some(edits::promote_full())
    );
}
