//! What every host does with the result of one reconcile pass, written once for the
//! simulator's runner, the controller and the command line: the status to write, the Events
//! to record, and when to come back. A failed pass writes nothing of the strategy's: a passing
//! failure of the cluster or AWS (a conflict, throttling) is a `FailedReconcile` Warning and a
//! retry soon; a failure of the strategy itself (a trap, a limit, output that does not
//! validate, a spec it refuses) marks the Rollout `Degraded` with the reason, says so once in
//! a `StrategyFailed` Warning, and is retried later.

use serde_json::{Value, json};

use crate::error::StrategyError;
use crate::host::{Event, EventType};
use crate::reconcile::Outcome;

/// How soon a Rollout is reconciled again after a failed pass, in milliseconds.
pub const RETRY_AFTER_FAILURE_MS: u64 = 5_000;

/// How soon a Rollout whose pass asked for nothing is reconciled again (an informer's resync),
/// in milliseconds.
pub const RESYNC_MS: u64 = 30_000;

/// What a host does after one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The whole status to store in place of the current one; None writes nothing.
    pub status: Option<Value>,
    /// The Events to record on the Rollout.
    pub events: Vec<Event>,
    /// When to reconcile again, in milliseconds.
    pub requeue_after_ms: u64,
}

/// What to do with `result`, the pass over a Rollout whose stored status is `stored_status`.
pub fn apply_result(stored_status: &Value, result: Result<Outcome, StrategyError>) -> Applied {
    match result {
        Ok(out) => Applied {
            status: out
                .status_json
                .as_deref()
                .and_then(|s| serde_json::from_str::<Value>(s).ok()),
            events: out.events,
            requeue_after_ms: out.requeue_after_ms.unwrap_or(RESYNC_MS),
        },
        Err(StrategyError::Host(e)) => Applied {
            status: None,
            events: vec![warning("FailedReconcile", e.to_string())],
            requeue_after_ms: RETRY_AFTER_FAILURE_MS,
        },
        Err(e) => {
            let message = match e {
                // A host reports a module failure in its own words.
                StrategyError::Malformed(m) => m,
                other => other.to_string(),
            };
            let events = if stored_status["message"] == json!(message) {
                Vec::new()
            } else {
                vec![warning("StrategyFailed", message.clone())]
            };
            let mut status = match stored_status {
                Value::Object(_) => stored_status.clone(),
                _ => json!({}),
            };
            status["phase"] = json!("Degraded");
            status["message"] = json!(message);
            Applied {
                status: Some(status),
                events,
                requeue_after_ms: RETRY_AFTER_FAILURE_MS,
            }
        }
    }
}

fn warning(reason: &str, message: String) -> Event {
    Event {
        event_type: EventType::Warning,
        reason: reason.to_string(),
        message,
    }
}
