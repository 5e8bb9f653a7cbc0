//! The status edits a person makes to a Rollout, as JSON merge patches of the Rollout (its
//! `status`), the same edits Argo Rollouts' kubectl plugin makes, so either tool works on
//! either controller's Rollouts. The simulator's scenario events and the command line both
//! use these.

use serde_json::{Value, json};

/// Resume a paused Rollout: its pause conditions cleared.
pub fn promote() -> Value {
    json!({"status": {"pauseConditions": null}})
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
