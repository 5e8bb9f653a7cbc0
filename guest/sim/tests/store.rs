//! The cluster store on its own: resourceVersions and conflicts, merge patches, label-selected
//! lists of JSON text, and reads that give back what was written.

use albatross_policy::HostError;
use albatross_sim::store::Store;
use serde_json::{Value, json};

fn pod(name: &str, ns: &str, track: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": {"app": "web", "track": track}},
           "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}})
}

fn version(store: &Store, ns: &str, name: &str) -> String {
    store
        .get("Pod", ns, name)
        .and_then(|p| {
            p["metadata"]["resourceVersion"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default()
}

#[test]
fn reads_give_back_what_was_written_with_a_resource_version() {
    let mut store = Store::default();
    let text = store
        .create("Pod", pod("a", "shop", "stable"))
        .unwrap_or_else(|e| panic!("{e}"));
    let created: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created["metadata"]["resourceVersion"], json!("1"));
    assert_eq!(store.get("Pod", "shop", "a"), Some(created.clone()));
    assert_eq!(store.get_json("Pod", "shop", "a"), Some(text.as_str()));
    assert_eq!(store.get("Pod", "shop", "missing"), None);
    assert!(matches!(
        store.create("Pod", pod("a", "shop", "stable")),
        Err(HostError::Conflict(_))
    ));
    assert!(matches!(
        store.create("Pod", json!({"metadata": {}})),
        Err(HostError::Invalid(_))
    ));
}

#[test]
fn lists_select_by_namespace_and_labels() {
    let mut store = Store::default();
    for (name, ns, track) in [
        ("a", "shop", "stable"),
        ("b", "shop", "canary"),
        ("c", "shop", "canary"),
        ("d", "other", "canary"),
    ] {
        store
            .put("Pod", pod(name, ns, track))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let names = |texts: Vec<String>| -> Vec<String> {
        texts
            .iter()
            .map(|t| {
                let v: Value = serde_json::from_str(t).unwrap_or_else(|e| panic!("{e}"));
                v["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    let list = |ns: &str, sel: &str| {
        names(
            store
                .list_json("Pod", ns, sel)
                .unwrap_or_else(|e| panic!("{e}")),
        )
    };
    assert_eq!(list("shop", ""), ["a", "b", "c"]);
    assert_eq!(list("shop", "track=canary"), ["b", "c"]);
    assert_eq!(list("shop", "app==web, track=stable"), ["a"]);
    assert_eq!(list("shop", "track=canary,app=api"), Vec::<String>::new());
    assert_eq!(list("", "track=canary"), ["d", "b", "c"]);
    assert_eq!(store.list("Pod", "other").count(), 1);
    assert!(matches!(
        store.list_json("Pod", "shop", "track!=canary"),
        Err(HostError::Invalid(_))
    ));
}

#[test]
fn patches_merge_bump_the_version_only_on_change_and_refuse_a_stale_one() {
    let mut store = Store::default();
    store
        .put("Pod", pod("a", "shop", "stable"))
        .unwrap_or_else(|e| panic!("{e}"));
    let v1 = version(&store, "shop", "a");
    let patched = store
        .patch(
            "Pod",
            "shop",
            "a",
            &json!({"metadata": {"labels": {"track": "canary", "app": null}}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let patched: Value = serde_json::from_str(&patched).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(patched["metadata"]["labels"], json!({"track": "canary"}));
    let v2 = version(&store, "shop", "a");
    assert_ne!(v1, v2);
    // The new labels are what lists select on.
    assert_eq!(
        store
            .list_json("Pod", "shop", "track=canary")
            .map(|l| l.len())
            .ok(),
        Some(1)
    );
    // A patch that changes nothing leaves the version.
    store
        .patch(
            "Pod",
            "shop",
            "a",
            &json!({"metadata": {"labels": {"track": "canary"}}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version(&store, "shop", "a"), v2);
    // One that names the old version is a conflict, and nothing changes.
    let stale = json!({"metadata": {"resourceVersion": v1}, "spec": {"nodeName": "n1"}});
    assert!(matches!(
        store.patch("Pod", "shop", "a", &stale),
        Err(HostError::Conflict(_))
    ));
    assert_eq!(version(&store, "shop", "a"), v2);
    assert!(matches!(
        store.patch("Pod", "shop", "missing", &json!({})),
        Err(HostError::NotFound(_))
    ));
    store
        .delete("Pod", "shop", "a")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(store.get_json("Pod", "shop", "a"), None);
    assert!(matches!(
        store.delete("Pod", "shop", "a"),
        Err(HostError::NotFound(_))
    ));
}

#[test]
fn deletion_waits_for_the_finalizers_and_the_write_that_takes_the_last_off_removes() {
    let mut store = Store::default();
    store.set_time(90);
    store
        .put(
            "Rollout",
            json!({"kind": "Rollout", "metadata": {"name": "web", "namespace": "shop",
                   "finalizers": ["albatross.io/traffic", "example.com/other"]}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .delete("Rollout", "shop", "web")
        .unwrap_or_else(|e| panic!("{e}"));
    let marked = store
        .get("Rollout", "shop", "web")
        .expect("kept for its finalizers");
    assert_eq!(
        marked["metadata"]["deletionTimestamp"],
        json!("1970-01-01T00:01:30Z")
    );
    // Deleting again changes nothing; taking one finalizer off keeps it.
    store
        .delete("Rollout", "shop", "web")
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .patch(
            "Rollout",
            "shop",
            "web",
            &json!({"metadata": {"finalizers": ["example.com/other"]}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(store.get("Rollout", "shop", "web").is_some());
    store
        .patch(
            "Rollout",
            "shop",
            "web",
            &json!({"metadata": {"finalizers": null}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        store.get_json("Rollout", "shop", "web"),
        None,
        "the last finalizer went"
    );
}

#[test]
fn no_write_takes_an_object_out_of_deletion() {
    let mut store = Store::default();
    store
        .put(
            "Rollout",
            json!({"kind": "Rollout", "metadata": {"name": "web", "namespace": "shop",
                   "finalizers": ["albatross.io/traffic"]}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .delete("Rollout", "shop", "web")
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .patch(
            "Rollout",
            "shop",
            "web",
            &json!({"metadata": {"deletionTimestamp": null}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let still = store.get("Rollout", "shop", "web").expect("held");
    assert!(
        still["metadata"]["deletionTimestamp"].is_string(),
        "{still}"
    );
    // A null deletionTimestamp on a new object is no deletion.
    store
        .put(
            "Pod",
            json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "shop", "deletionTimestamp": null}}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(store.get("Pod", "shop", "p").is_some());
}
