//! The patch types the emulated API server applies: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902, with the real server's leniency that a `test` for `null` passes on an absent
//! path), strategic merge patch only where it means the same as a merge patch (no lists in
//! the patch: lists are where the two differ, and those are refused as unsupported), and
//! server-side apply approximated as a merge patch with one ownership rule (see
//! [`super::store`]).

use serde_json::Value;

/// A patch's content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (the body is JSON).
    Apply,
}

impl PatchKind {
    /// The kind of a `Content-Type`; None for one the server does not take.
    pub fn from_content_type(ct: &str) -> Option<PatchKind> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" => Some(PatchKind::Apply),
            _ => None,
        }
    }
}

/// Why a patch could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The patch is not well formed, or a `test` failed (422 Invalid).
    Invalid(String),
    /// A strategic merge patch carrying a list (415).
    Unsupported(String),
}

fn has_array(v: &Value) -> bool {
    match v {
        Value::Array(_) => true,
        Value::Object(m) => m.values().any(has_array),
        _ => false,
    }
}

/// Applies `patch` of `kind` to `doc`, returning the result.
pub fn apply(doc: &Value, kind: PatchKind, patch: &Value) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    match kind {
        PatchKind::Merge | PatchKind::Apply => json_patch::merge(&mut out, patch),
        PatchKind::Strategic => {
            if has_array(patch) {
                return Err(PatchError::Unsupported(
                    "this API emulator applies strategic merge patches only when they carry no \
                     list (a list is where they differ from a merge patch); send a merge or JSON patch"
                        .into(),
                ));
            }
            json_patch::merge(&mut out, patch);
        }
        PatchKind::Json => {
            let ops = lenient_tests(&out, patch);
            let ops: json_patch::Patch = serde_json::from_value(ops)
                .map_err(|e| PatchError::Invalid(format!("not a JSON patch: {e}")))?;
            json_patch::patch(&mut out, &ops)
                .map_err(|e| PatchError::Invalid(format!("the JSON patch does not apply: {e}")))?;
        }
    }
    Ok(out)
}

/// Drops each `test` for `null` whose path is absent from `doc`: the real server lets those
/// pass, and kube's finalizer helper relies on it.
fn lenient_tests(doc: &Value, patch: &Value) -> Value {
    let Some(ops) = patch.as_array() else {
        return patch.clone();
    };
    Value::Array(
        ops.iter()
            .filter(|op| {
                let is_null_test = op["op"] == "test" && op.get("value") == Some(&Value::Null);
                let path = op["path"].as_str().unwrap_or_default();
                !(is_null_test && doc.pointer(path).is_none())
            })
            .cloned()
            .collect(),
    )
}
