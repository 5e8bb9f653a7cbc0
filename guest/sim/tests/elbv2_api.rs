//! The simulated ELBv2 API's limits on their own, as AWS sets them: pages of 400 for
//! DescribeLoadBalancers, DescribeTargetGroups and DescribeRules, at most 20 names or ARNs in
//! one request, a missing name failing the request; and the strategy's imports paging and
//! batching over them, each page or batch one counted call.

use albatross_policy::HostError;
use albatross_policy::host::Host;
use albatross_sim::elbv2_api::{MAX_IDS, PAGE_SIZE};
use albatross_sim::{World, WorldConfig};
use serde_json::{Value, json};

fn ingress(name: &str, paths: usize) -> Value {
    let paths: Vec<Value> = (0..paths)
        .map(|i| json!({"path": format!("/p{i}/*"), "backend": {"service": {"name": "svc", "port": {"number": 80}}}}))
        .collect();
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
           "metadata": {"name": name, "namespace": "shop"},
           "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": paths}}]}})
}

/// A world with `albs` ALBs (one Ingress each, one target group each) and one ALB whose
/// listener has `rules` path rules.
fn world(albs: usize, rules: usize) -> World {
    let config = WorldConfig {
        lb_controller_lag_seconds: 0,
        ..WorldConfig::default()
    };
    let mut w = World::new(config, Default::default());
    w.store
        .put("Service", json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "shop"},
                               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}))
        .unwrap();
    for i in 0..albs {
        w.store
            .put("Ingress", ingress(&format!("web{i:03}"), 1))
            .unwrap();
    }
    if rules > 0 {
        w.store
            .put("Ingress", ingress("many-paths", rules))
            .unwrap();
    }
    w.tick();
    w
}

fn calls(w: &World, api: &str) -> u64 {
    w.elb_calls.get(api).copied().unwrap_or(0)
}

fn lb_names(w: &World) -> Vec<String> {
    w.elb.albs.values().map(|a| a.lb.name.clone()).collect()
}

fn tg_arns(w: &World) -> Vec<String> {
    w.elb.target_groups.keys().cloned().collect()
}

#[test]
fn describe_load_balancers_comes_in_pages_of_400() {
    let mut w = world(PAGE_SIZE + 1, 0);
    let first = w.elb.describe_load_balancers_page(&[], &[], None).unwrap();
    assert_eq!(first.items.len(), PAGE_SIZE);
    let marker = first.next_marker.expect("a second page");
    let second = w
        .elb
        .describe_load_balancers_page(&[], &[], Some(&marker))
        .unwrap();
    assert_eq!(second.items.len(), 1);
    assert_eq!(second.next_marker, None);

    let all = w.describe_load_balancers(&[], &[]).unwrap();
    assert_eq!(all.len(), PAGE_SIZE + 1);
    assert_eq!(calls(&w, "DescribeLoadBalancers"), 2, "one call a page");
}

#[test]
fn describe_load_balancers_refuses_more_than_20_names_and_the_import_batches_them() {
    let mut w = world(MAX_IDS + 5, 0);
    let names = lb_names(&w);
    let refused = w.elb.describe_load_balancers_page(&names, &[], None);
    assert!(
        matches!(&refused, Err(HostError::Invalid(m)) if m.contains("ValidationError") && m.contains("names")),
        "{refused:?}"
    );
    let found = w.describe_load_balancers(&names, &[]).unwrap();
    assert_eq!(found.len(), MAX_IDS + 5);
    assert_eq!(calls(&w, "DescribeLoadBalancers"), 2, "20 names, then 5");
}

#[test]
fn a_missing_load_balancer_name_fails_the_request() {
    let mut w = world(2, 0);
    let mut names = lb_names(&w);
    names.push("k8s-shop-gone".into());
    let missing = w.describe_load_balancers(&names, &[]);
    assert!(
        matches!(&missing, Err(HostError::NotFound(m)) if m.contains("LoadBalancerNotFound") && m.contains("k8s-shop-gone")),
        "{missing:?}"
    );
}

#[test]
fn describe_tags_refuses_more_than_20_arns_and_the_import_batches_them() {
    let mut w = world(45, 0);
    let arns = tg_arns(&w);
    assert_eq!(arns.len(), 45);
    let refused = w.elb.describe_tags_request(&arns[..MAX_IDS + 1]);
    assert!(
        matches!(&refused, Err(HostError::Invalid(m)) if m.contains("resourceArns")),
        "{refused:?}"
    );
    assert_eq!(
        w.elb.describe_tags_request(&arns[..MAX_IDS]).unwrap().len(),
        MAX_IDS
    );
    let tags = w.describe_tags(&arns).unwrap();
    assert_eq!(tags.len(), 45);
    assert!(tags.iter().all(|t| !t.tags.is_empty()));
    assert_eq!(calls(&w, "DescribeTags"), 3, "20, 20, then 5");
}

#[test]
fn describe_target_groups_pages_and_batches() {
    let mut w = world(PAGE_SIZE + 1, 0);
    let all = w.describe_target_groups(None, &[]).unwrap();
    assert_eq!(all.len(), PAGE_SIZE + 1);
    assert_eq!(calls(&w, "DescribeTargetGroups"), 2, "one call a page");

    let arns = tg_arns(&w);
    let refused = w
        .elb
        .describe_target_groups_page(None, &arns[..MAX_IDS + 1], None);
    assert!(matches!(refused, Err(HostError::Invalid(_))), "{refused:?}");
    let some = w.describe_target_groups(None, &arns[..50]).unwrap();
    assert_eq!(some.len(), 50);
    assert_eq!(calls(&w, "DescribeTargetGroups"), 2 + 3, "20, 20, then 10");
}

#[test]
fn describe_rules_comes_in_pages_of_400() {
    let mut w = world(0, PAGE_SIZE + 10);
    let listener = w.elb.albs.values().next().unwrap().listener.arn.clone();
    let first = w.elb.describe_rules_page(&listener, None).unwrap();
    assert_eq!(first.items.len(), PAGE_SIZE);
    let rules = w.describe_rules(&listener).unwrap();
    assert_eq!(
        rules.len(),
        PAGE_SIZE + 11,
        "every path rule and the default"
    );
    assert_eq!(calls(&w, "DescribeRules"), 2);
}

#[test]
fn a_marker_from_nowhere_is_refused() {
    let w = world(1, 0);
    let bad = w
        .elb
        .describe_load_balancers_page(&[], &[], Some("not-a-marker"));
    assert!(matches!(bad, Err(HostError::Invalid(_))), "{bad:?}");
}

#[test]
fn every_page_can_be_throttled() {
    let faults = albatross_sim::Faults(vec![albatross_sim::Fault::ElbThrottling {
        from: 0,
        to: 10,
    }]);
    let mut w = world(PAGE_SIZE + 1, 0);
    w.faults = faults;
    let throttled = w.describe_load_balancers(&[], &[]);
    assert!(
        matches!(throttled, Err(HostError::Throttled(_))),
        "{throttled:?}"
    );
}
