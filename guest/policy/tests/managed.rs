//! Managed-annotation bookkeeping and the ingress class filter.

mod common;

use albatross_policy::managed::{ALBATROSS_MANAGED, LEGACY_MANAGED_ACTIONS, MANAGED_ANNOTATIONS};
use albatross_policy::{StrategyError, api};
use common::ingress;
use serde_json::json;

fn keys(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn reads_current_and_legacy_forms() {
    let i = ingress(json!({
        MANAGED_ANNOTATIONS: r#"{"other":["alb.ingress.kubernetes.io/actions.other-root"]}"#,
        LEGACY_MANAGED_ACTIONS: "old:alb.ingress.kubernetes.io/actions.old-svc,guestbook:alb.ingress.kubernetes.io/actions.root-svc,"
    }));
    let entries = api::read_managed(&i.to_string()).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.rollout.as_str()).collect();
    assert_eq!(names, ["guestbook", "old", "other"]);
    assert_eq!(
        entries[0].keys,
        keys(&["alb.ingress.kubernetes.io/actions.root-svc"])
    );
}

#[test]
fn update_writes_albatross_key_and_leaves_argo_rollouts_in_argo_key() {
    let i = ingress(json!({
        MANAGED_ANNOTATIONS: r#"{"other":["alb.ingress.kubernetes.io/actions.other-root"]}"#,
        ALBATROSS_MANAGED: r#"{"mine":["alb.ingress.kubernetes.io/actions.mine-root"]}"#,
    }));
    let out = api::update_managed(
        &i.to_string(),
        "guestbook",
        &keys(&["alb.ingress.kubernetes.io/actions.root-svc"]),
    )
    .unwrap();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].key, ALBATROSS_MANAGED);
    assert_eq!(
        out[0].value,
        r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-svc"],"mine":["alb.ingress.kubernetes.io/actions.mine-root"]}"#
    );
    let dropped = api::update_managed(&i.to_string(), "mine", &[]).unwrap();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].value, "{}");
    // Every entry, whichever key holds it, counts when reading.
    let names: Vec<String> = api::read_managed(&i.to_string())
        .unwrap()
        .into_iter()
        .map(|e| e.rollout)
        .collect();
    assert_eq!(names, ["mine", "other"]);
}

#[test]
fn taking_over_moves_the_entry_out_of_argo_key_in_the_same_write() {
    let i = ingress(json!({
        MANAGED_ANNOTATIONS: r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-svc"],"other":["k2"]}"#,
    }));
    let out = api::update_managed(
        &i.to_string(),
        "guestbook",
        &keys(&["alb.ingress.kubernetes.io/actions.root-svc"]),
    )
    .unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(out[0].key, ALBATROSS_MANAGED);
    assert_eq!(
        out[0].value,
        r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-svc"]}"#
    );
    assert_eq!(out[1].key, MANAGED_ANNOTATIONS);
    assert_eq!(out[1].value, r#"{"other":["k2"]}"#);
}

#[test]
fn taking_over_from_argo_rewrites_the_legacy_entry() {
    let i = ingress(
        json!({LEGACY_MANAGED_ACTIONS: "guestbook:alb.ingress.kubernetes.io/actions.root-svc,keep:k1,"}),
    );
    let out = api::update_managed(
        &i.to_string(),
        "guestbook",
        &keys(&["alb.ingress.kubernetes.io/actions.root-svc"]),
    )
    .unwrap();
    assert_eq!(out[0].key, ALBATROSS_MANAGED);
    assert_eq!(
        out[0].value,
        r#"{"guestbook":["alb.ingress.kubernetes.io/actions.root-svc"]}"#
    );
    assert_eq!(out[1].key, LEGACY_MANAGED_ACTIONS);
    assert_eq!(out[1].value, "keep:k1,");
}

#[test]
fn malformed_bookkeeping_names_the_annotation() {
    for (k, v) in [
        (MANAGED_ANNOTATIONS, "not json"),
        (MANAGED_ANNOTATIONS, r#"{"a":"b"}"#),
        (LEGACY_MANAGED_ACTIONS, "nocolon"),
    ] {
        let i = ingress(json!({k: v}));
        match api::read_managed(&i.to_string()) {
            Err(StrategyError::InvalidSpec(f)) => {
                assert_eq!(f.object, "Ingress shop/web");
                assert!(f.field.contains(k), "{}", f.field);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn ingress_class_filter() {
    let classes = |v: &[&str]| keys(v);
    let by_spec = ingress(json!({}));
    assert!(api::ingress_class_matches(&by_spec.to_string(), &classes(&["alb"])).unwrap());
    assert!(!api::ingress_class_matches(&by_spec.to_string(), &classes(&["nginx"])).unwrap());
    let mut by_annotation = ingress(json!({"kubernetes.io/ingress.class": "internal-alb"}));
    by_annotation["spec"] = json!({});
    assert!(
        api::ingress_class_matches(
            &by_annotation.to_string(),
            &classes(&["alb", "internal-alb"])
        )
        .unwrap()
    );
    assert!(!api::ingress_class_matches(&by_annotation.to_string(), &classes(&["alb"])).unwrap());
    let mut none = ingress(json!({}));
    none["spec"] = json!({});
    assert!(!api::ingress_class_matches(&none.to_string(), &classes(&["alb"])).unwrap());
    assert!(api::ingress_class_matches(&none.to_string(), &classes(&["alb", ""])).unwrap());
}

#[test]
fn the_class_annotation_decides_alone_when_set() {
    let classes = |v: &[&str]| keys(v);
    // Annotated for nginx, with ingressClassName alb: an nginx Ingress, not ours.
    let nginx = ingress(json!({"kubernetes.io/ingress.class": "nginx"}));
    assert_eq!(nginx["spec"]["ingressClassName"], json!("alb"));
    assert!(!api::ingress_class_matches(&nginx.to_string(), &classes(&["alb"])).unwrap());
    assert!(api::ingress_class_matches(&nginx.to_string(), &classes(&["nginx"])).unwrap());
    // An empty annotation counts as absent: ingressClassName decides.
    let empty = ingress(json!({"kubernetes.io/ingress.class": ""}));
    assert!(api::ingress_class_matches(&empty.to_string(), &classes(&["alb"])).unwrap());
    assert!(!api::ingress_class_matches(&empty.to_string(), &classes(&[""])).unwrap());
}
