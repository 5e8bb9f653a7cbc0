//! The store's change log and the views built from it: each write shows once, with its last
//! version; a removal shows too; the views follow creates, label changes and deletions, and
//! find pods by owner and by selector.

use std::collections::BTreeMap;

use albatross_sim::store::{Store, key};
use albatross_sim::views::Views;
use serde_json::json;

fn pod(name: &str, app: &str, owner: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": app},
                     "ownerReferences": [{"kind": "ReplicaSet", "name": owner}]},
        "status": {"phase": "Running", "podIP": "10.1.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}]}
    })
}

#[test]
fn each_key_shows_once_with_its_last_write_and_removals_show_too() {
    let mut store = Store::default();
    store.put("Pod", pod("a", "web", "rs1")).unwrap();
    store.put("Pod", pod("b", "web", "rs1")).unwrap();
    let mark = store.version();
    store.put("Pod", pod("a", "web", "rs1")).unwrap();
    store.put("Pod", pod("a", "web", "rs1")).unwrap();
    store.delete("Pod", "shop", "b").unwrap();
    let changed: Vec<_> = store.changed_since(mark).cloned().collect();
    assert_eq!(
        changed,
        vec![key("Pod", "shop", "a"), key("Pod", "shop", "b")]
    );
    assert_eq!(store.changed_since(store.version()).count(), 0);
    // Recreated: the key shows once again, at its new write.
    store.put("Pod", pod("b", "web", "rs1")).unwrap();
    assert_eq!(store.changed_since(0).count(), 2);
}

#[test]
fn views_follow_creates_relabels_and_deletions() {
    let mut store = Store::default();
    let mut views = Views::default();
    store.put("Pod", pod("a", "web", "rs1")).unwrap();
    store.put("Pod", pod("b", "api", "rs2")).unwrap();
    views.sync(&store);
    let web = BTreeMap::from([("app".to_string(), "web".to_string())]);
    assert_eq!(views.pods_selected("shop", &web), ["a"]);
    assert_eq!(views.pods_owned_by("shop", "rs2"), ["b"]);
    assert!(views.pods_selected("shop", &BTreeMap::new()).is_empty());
    assert!(views.pods_selected("other", &web).is_empty());

    store.put("Pod", pod("b", "web", "rs2")).unwrap();
    views.sync(&store);
    assert_eq!(views.pods_selected("shop", &web), ["a", "b"]);

    store.delete("Pod", "shop", "a").unwrap();
    views.sync(&store);
    assert_eq!(views.pods_selected("shop", &web), ["b"]);
    assert!(views.pods_owned_by("shop", "rs1").is_empty());
    assert!(!views.pods.contains_key(&("shop".into(), "a".into())));
}

#[test]
fn only_the_services_whose_pods_or_spec_changed_are_dirty() {
    let service = |name: &str, app: &str| {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": name, "namespace": "shop"},
               "spec": {"selector": {"app": app}, "ports": [{"port": 80}]}})
    };
    let mut store = Store::default();
    let mut views = Views::default();
    store.put("Service", service("web", "web")).unwrap();
    store.put("Service", service("api", "api")).unwrap();
    store.put("Pod", pod("a", "web", "rs1")).unwrap();
    views.sync(&store);
    let names = |v: Vec<(String, String)>| v.into_iter().map(|k| k.1).collect::<Vec<_>>();
    assert_eq!(names(views.take_dirty_services()), ["api", "web"]);
    assert!(views.take_dirty_services().is_empty());

    // A web pod changes: web only. It moves to api: both (before and after).
    store.put("Pod", pod("a", "web", "rs1")).unwrap();
    views.sync(&store);
    assert_eq!(names(views.take_dirty_services()), ["web"]);
    store.put("Pod", pod("a", "api", "rs1")).unwrap();
    views.sync(&store);
    assert_eq!(names(views.take_dirty_services()), ["api", "web"]);

    // A Service's own change, and its Endpoints written by someone else.
    store.put("Service", service("web", "other")).unwrap();
    views.sync(&store);
    assert_eq!(names(views.take_dirty_services()), ["web"]);
    store
        .put(
            "Endpoints",
            json!({"metadata": {"name": "api", "namespace": "shop"}, "subsets": []}),
        )
        .unwrap();
    views.sync(&store);
    assert_eq!(names(views.take_dirty_services()), ["api"]);
    // A deleted Service is not reported.
    store.delete("Service", "shop", "api").unwrap();
    views.sync(&store);
    assert!(views.take_dirty_services().is_empty());
}
