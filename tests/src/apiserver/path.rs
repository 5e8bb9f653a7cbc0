//! Request paths of the Kubernetes API: `/api/v1/...` for the core group,
//! `/apis/<group>/<version>/...` for the others, then `[namespaces/<ns>/]<plural>[/<name>[/<sub>]]`.

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// `v1` or `group/version`.
    pub api_version: String,
    /// The resource, plural and lower case (`rollouts`).
    pub plural: String,
    /// The namespace, when the path has one.
    pub namespace: Option<String>,
    /// The object, when the path names one.
    pub name: Option<String>,
    /// `status`, `scale`, when the path names a subresource.
    pub subresource: Option<String>,
}

impl ResourcePath {
    /// The collection's key: `api_version/plural`.
    pub fn collection(&self) -> String {
        format!("{}/{}", self.api_version, self.plural)
    }
}

/// Parses a path; None when it is not a resource path.
pub fn parse(path: &str) -> Option<ResourcePath> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (api_version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => (version.to_string(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, rest @ ..] => (Some(ns.to_string()), {
            let mut r = vec![*plural];
            r.extend_from_slice(rest);
            r
        }),
        other => (None, other.to_vec()),
    };
    let (plural, name, subresource) = match rest.as_slice() {
        [plural] => (plural, None, None),
        [plural, name] => (plural, Some(name.to_string()), None),
        [plural, name, sub] => (plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    Some(ResourcePath {
        api_version,
        plural: plural.to_string(),
        namespace,
        name,
        subresource,
    })
}
