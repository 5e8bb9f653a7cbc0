//! "Did you mean ...?": the known name nearest to a misspelt one, for the errors and lint
//! findings that name an unknown field or kind.

/// The name of `known` nearest to `name` by Damerau-Levenshtein distance, when it is close
/// enough to be a misspelling: at most a third of the name's length, and at least one edit
/// allowed. Case differences count as edits, since Kubernetes field names are case-sensitive.
pub fn nearest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    known
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// `" (did you mean X?)"` for the nearest known name, or "".
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    nearest(name, known).map_or(String::new(), |k| format!(" (did you mean {k}?)"))
}

/// A key of an input object that the type it was read into does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Where it is, e.g. `events[2].rollot`.
    pub path: String,
    /// The nearest key the type knows there, if one is close.
    pub nearest: Option<String>,
}

impl std::fmt::Display for UnknownKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown field {}", self.path)?;
        if let Some(n) = &self.nearest {
            write!(f, " (did you mean {n}?)")?;
        }
        Ok(())
    }
}

/// The keys of `input` that `known` lacks, at every depth: `known` is what the input reads
/// as, written back (a type that serializes every field it has, defaults included), so a key
/// it does not write is one it ignored. Each comes with the nearest key `known` has beside it.
pub fn unknown_keys(input: &serde_json::Value, known: &serde_json::Value) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    walk(input, known, "", &mut out);
    out
}

fn walk(input: &serde_json::Value, known: &serde_json::Value, at: &str, out: &mut Vec<UnknownKey>) {
    use serde_json::Value;
    match (input, known) {
        (Value::Object(i), Value::Object(k)) => {
            for (key, value) in i {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match k.get(key) {
                    Some(kv) => walk(value, kv, &path, out),
                    None => out.push(UnknownKey {
                        path,
                        nearest: nearest(key, k.keys().map(String::as_str)).map(str::to_string),
                    }),
                }
            }
        }
        (Value::Array(i), Value::Array(k)) => {
            for (n, (iv, kv)) in i.iter().zip(k).enumerate() {
                walk(iv, kv, &format!("{at}[{n}]"), out);
            }
        }
        _ => {}
    }
}
