//! The edits a person makes to a Rollout, as JSON merge patches of the Rollout (its `status`,
//! or `spec.paused`), the same edits Argo Rollouts' kubectl plugin makes, so either tool works on
//! either controller's Rollouts. The simulator's scenario events and the command line both
//! use these.

use serde_json::{Value, json};

/// Resume a paused Rollout: its pause conditions cleared.
pub fn promote() -> Value {
    json!({"status": {"pauseConditions": null}})
}

/// Pause by hand (`spec.paused`): nothing of the Rollout moves until it is unpaused.
pub fn pause() -> Value {
    json!({"spec": {"paused": true}})
}

/// Undo a manual pause.
pub fn unpause() -> Value {
    json!({"spec": {"paused": false}})
}

/// Skip the remaining steps and go to the new version at once.
pub fn promote_full() -> Value {
    json!({"status": {"promoteFull": true}})
}

/// Abort: traffic back to the stable version.
pub fn abort() -> Value {
    json!({"status": {"abort": true}})
}

/// Retry an aborted Rollout from its first step.
pub fn retry() -> Value {
    json!({"status": {"abort": null, "currentStepIndex": 0}})
}

/// What `promote` changes on `rollout` (its JSON), as Argo's plugin decides it: a paused spec
/// is unpaused (a patch of the object); pause conditions are cleared; with none, a canary
/// moves on to its next step. Each is None when it has nothing to change.
pub fn promote_for(rollout: &Value) -> (Option<Value>, Option<Value>) {
    let spec = (rollout["spec"]["paused"] == json!(true)).then(unpause);
    let status = &rollout["status"];
    let paused = status["pauseConditions"]
        .as_array()
        .is_some_and(|c| !c.is_empty());
    let steps = rollout["spec"]["strategy"]["canary"]["steps"]
        .as_array()
        .map_or(0, Vec::len);
    let index = status["currentStepIndex"].as_u64().unwrap_or(0);
    let status = if paused {
        Some(promote())
    } else if steps > 0 && (index as usize) < steps {
        Some(json!({"status": {"pauseConditions": null, "currentStepIndex": index + 1}}))
    } else {
        None
    };
    (spec, status)
}

/// What `promote --full` changes: None when the Rollout already runs its current version as
/// stable.
pub fn promote_full_for(rollout: &Value) -> Option<Value> {
    let status = &rollout["status"];
    (status["currentPodHash"] != status["stableRS"]).then(promote_full)
}
