//! The preflight linter: a good set of manifests lints clean, and each rule, broken on its own,
//! yields exactly its finding.

mod common;

use albatross_policy::lint::{Finding, Severity, lint};
use common::{canary, ingress, ping_pong, remove, set};
use serde_json::{Value, json};

use Severity::{Error, Warning};

const ROLLOUT: &str = "Rollout shop/guestbook";
const INGRESS: &str = "Ingress shop/web";
const ACTION_KEY: &str = "alb.ingress.kubernetes.io/actions.root-svc";
const MANAGED_KEY: &str = "rollouts.argoproj.io/managed-alb-annotations";

fn service(name: &str, port: i64) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"ports": [{"name": "http", "port": port, "targetPort": 8080}]}
    })
}

/// The Ingress "web" with one path to the action service through `use-annotation`.
fn web(annotations: Value) -> Value {
    set(
        ingress(annotations),
        "/spec/rules",
        json!([{"http": {"paths": [{
            "path": "/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "root-svc", "port": {"name": "use-annotation"}}}
        }]}}]),
    )
}

/// Everything the canary fixture needs: the Rollout, its Ingress and its three Services.
fn good() -> Vec<Value> {
    vec![
        canary(),
        web(json!({})),
        service("canary-svc", 80),
        service("stable-svc", 80),
        service("root-svc", 80),
    ]
}

/// `good()` with the object of `kind` named `name` replaced (or, with None, removed).
fn replace(kind: &str, name: &str, with: Option<Value>) -> Vec<Value> {
    let mut objects: Vec<Value> = good()
        .into_iter()
        .filter(|o| !(o["kind"] == kind && o["metadata"]["name"] == name))
        .collect();
    objects.extend(with);
    objects
}

fn classes() -> Vec<String> {
    vec!["alb".to_string()]
}

fn run(objects: &[Value]) -> Vec<Finding> {
    let findings = lint(objects, &classes());
    for f in &findings {
        assert!(!f.message.is_empty(), "finding without a message: {f:?}");
    }
    findings
}

/// The (severity, object, field) of every finding, in order.
fn found(objects: &[Value]) -> Vec<(Severity, String, String)> {
    run(objects)
        .into_iter()
        .map(|f| (f.severity, f.object, f.field))
        .collect()
}

fn one(severity: Severity, object: &str, field: &str) -> Vec<(Severity, String, String)> {
    vec![(severity, object.to_string(), field.to_string())]
}

#[test]
fn good_manifests_lint_clean() {
    assert_eq!(run(&good()), vec![]);
}

#[test]
fn rule1_invalid_rollout_is_an_error_and_skips_the_other_checks() {
    let bad = set(
        canary(),
        "/spec/strategy/canary/steps/0/setWeight",
        json!(101),
    );
    // The Ingress is missing too, but an invalid Rollout is not checked further.
    let objects = vec![bad, service("canary-svc", 80)];
    assert_eq!(
        found(&objects),
        one(Error, ROLLOUT, "spec.strategy.canary.steps[0].setWeight")
    );
}

#[test]
fn rule1_unparsable_rollout_names_the_field() {
    let bad = set(
        canary(),
        "/spec/strategy/canary/steps/0/setWeight",
        json!("ten"),
    );
    assert_eq!(
        found(&replace("Rollout", "guestbook", Some(bad))),
        one(Error, ROLLOUT, "spec.strategy.canary.steps[0].setWeight")
    );
}

#[test]
fn rule2_missing_ingress() {
    assert_eq!(
        found(&replace("Ingress", "web", None)),
        one(
            Error,
            ROLLOUT,
            "spec.strategy.canary.trafficRouting.alb.ingress"
        )
    );
}

#[test]
fn rule2_missing_ingress_of_several() {
    let r = remove(canary(), "/spec/strategy/canary/trafficRouting/alb/ingress");
    let r = set(
        r,
        "/spec/strategy/canary/trafficRouting/alb/ingresses",
        json!(["web", "api"]),
    );
    assert_eq!(
        found(&replace("Rollout", "guestbook", Some(r))),
        one(
            Error,
            ROLLOUT,
            "spec.strategy.canary.trafficRouting.alb.ingresses[1]"
        )
    );
}

#[test]
fn rule2_ingress_in_another_namespace_does_not_count() {
    let elsewhere = set(web(json!({})), "/metadata/namespace", json!("other"));
    assert_eq!(
        found(&replace("Ingress", "web", Some(elsewhere))),
        one(
            Error,
            ROLLOUT,
            "spec.strategy.canary.trafficRouting.alb.ingress"
        )
    );
}

#[test]
fn rule3_ingress_class_name_not_served() {
    let nginx = set(web(json!({})), "/spec/ingressClassName", json!("nginx"));
    assert_eq!(
        found(&replace("Ingress", "web", Some(nginx))),
        one(Error, INGRESS, "spec.ingressClassName")
    );
}

#[test]
fn rule3_ingress_class_annotation_not_served() {
    let nginx = remove(
        web(json!({"kubernetes.io/ingress.class": "nginx"})),
        "/spec/ingressClassName",
    );
    assert_eq!(
        found(&replace("Ingress", "web", Some(nginx))),
        one(
            Error,
            INGRESS,
            "metadata.annotations[kubernetes.io/ingress.class]"
        )
    );
    // The same Ingress is clean for a controller that serves nginx.
    let nginx = remove(
        web(json!({"kubernetes.io/ingress.class": "nginx"})),
        "/spec/ingressClassName",
    );
    let objects = replace("Ingress", "web", Some(nginx));
    assert_eq!(lint(&objects, &["nginx".to_string()]), vec![]);
}

#[test]
fn rule4_no_path_to_the_action_service() {
    let other = set(
        web(json!({})),
        "/spec/rules/0/http/paths/0/backend/service/name",
        json!("stable-svc"),
    );
    assert_eq!(
        found(&replace("Ingress", "web", Some(other))),
        one(Error, INGRESS, "spec.rules")
    );
    let no_rules = remove(web(json!({})), "/spec/rules");
    assert_eq!(
        found(&replace("Ingress", "web", Some(no_rules))),
        one(Error, INGRESS, "spec.rules")
    );
}

#[test]
fn rule4_action_service_by_port_number() {
    let by_number = set(
        web(json!({})),
        "/spec/rules/0/http/paths/0/backend/service/port",
        json!({"number": 80}),
    );
    assert_eq!(
        found(&replace("Ingress", "web", Some(by_number))),
        one(
            Error,
            INGRESS,
            "spec.rules[0].http.paths[0].backend.service.port"
        )
    );
}

#[test]
fn rule5_missing_services() {
    for (name, field) in [
        ("canary-svc", "spec.strategy.canary.canaryService"),
        ("stable-svc", "spec.strategy.canary.stableService"),
        (
            "root-svc",
            "spec.strategy.canary.trafficRouting.alb.rootService",
        ),
    ] {
        assert_eq!(
            found(&replace("Service", name, None)),
            one(Error, ROLLOUT, field),
            "without {name}"
        );
    }
}

#[test]
fn rule5_services_of_ping_pong() {
    let pp = || {
        vec![
            ping_pong(),
            web(json!({})),
            service("ping-svc", 80),
            service("pong-svc", 80),
            service("root-svc", 80),
        ]
    };
    assert_eq!(run(&pp()), vec![]);
    let without_pong: Vec<Value> = pp()
        .into_iter()
        .filter(|o| o["metadata"]["name"] != "pong-svc")
        .collect();
    assert_eq!(
        found(&without_pong),
        one(Error, ROLLOUT, "spec.strategy.canary.pingPong.pongService")
    );
}

#[test]
fn rule5_service_without_the_service_port() {
    assert_eq!(
        found(&replace(
            "Service",
            "stable-svc",
            Some(service("stable-svc", 8080))
        )),
        one(Error, "Service shop/stable-svc", "spec.ports")
    );
    let portless = remove(service("canary-svc", 80), "/spec/ports");
    assert_eq!(
        found(&replace("Service", "canary-svc", Some(portless))),
        one(Error, "Service shop/canary-svc", "spec.ports")
    );
}

#[test]
fn rule6_ping_pong_service_that_is_also_canary_or_stable() {
    let services = [
        web(json!({})),
        service("ping-svc", 80),
        service("pong-svc", 80),
        service("root-svc", 80),
    ];
    let with = |field: &str, value: &str| {
        let mut objects = vec![set(
            ping_pong(),
            &format!("/spec/strategy/canary/{field}"),
            json!(value),
        )];
        objects.extend(services.iter().cloned());
        objects
    };
    assert_eq!(
        found(&with("canaryService", "ping-svc")),
        one(Error, ROLLOUT, "spec.strategy.canary.pingPong.pingService")
    );
    assert_eq!(
        found(&with("stableService", "pong-svc")),
        one(Error, ROLLOUT, "spec.strategy.canary.pingPong.pongService")
    );
}

#[test]
fn rule7_action_managed_by_another_rollout() {
    let taken = web(json!({MANAGED_KEY: json!({"other": [ACTION_KEY]}).to_string()}));
    assert_eq!(
        found(&replace("Ingress", "web", Some(taken))),
        one(
            Error,
            INGRESS,
            &format!("metadata.annotations[{ACTION_KEY}]")
        )
    );
    // This Rollout's own entry, and another Rollout's other key, are fine.
    let shared = web(json!({MANAGED_KEY: json!({
        "guestbook": [ACTION_KEY],
        "other": ["alb.ingress.kubernetes.io/actions.api-svc"]
    })
    .to_string()}));
    assert_eq!(run(&replace("Ingress", "web", Some(shared))), vec![]);
}

#[test]
fn rule7_malformed_bookkeeping() {
    let garbled = web(json!({MANAGED_KEY: "not json"}));
    assert_eq!(
        found(&replace("Ingress", "web", Some(garbled))),
        one(
            Error,
            INGRESS,
            &format!("metadata.annotations[{MANAGED_KEY}]")
        )
    );
}

#[test]
fn rule8_unreadable_action_annotation_is_a_warning() {
    let garbled = web(json!({ACTION_KEY: "{\"Type\":\"redirect\"}"}));
    assert_eq!(
        found(&replace("Ingress", "web", Some(garbled))),
        one(
            Warning,
            INGRESS,
            &format!("metadata.annotations[{ACTION_KEY}]")
        )
    );
    let readable = web(json!({ACTION_KEY: concat!(
        r#"{"Type":"forward","ForwardConfig":{"TargetGroups":["#,
        r#"{"ServiceName":"canary-svc","ServicePort":"80","Weight":0},"#,
        r#"{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#
    )}));
    assert_eq!(run(&replace("Ingress", "web", Some(readable))), vec![]);
}

#[test]
fn rule9_blue_green_services() {
    let bg = set(
        remove(canary(), "/spec/strategy/canary"),
        "/spec/strategy/blueGreen",
        json!({"activeService": "active-svc", "previewService": "preview-svc"}),
    );
    let objects = |names: &[&str]| {
        let mut objects = vec![bg.clone()];
        objects.extend(names.iter().map(|n| service(n, 80)));
        objects
    };
    assert_eq!(run(&objects(&["active-svc", "preview-svc"])), vec![]);
    assert_eq!(
        found(&objects(&["preview-svc"])),
        one(Error, ROLLOUT, "spec.strategy.blueGreen.activeService")
    );
    assert_eq!(
        found(&objects(&["active-svc"])),
        one(Error, ROLLOUT, "spec.strategy.blueGreen.previewService")
    );
}

#[test]
fn rule10_canary_without_steps_is_a_warning() {
    let r = remove(canary(), "/spec/strategy/canary/steps");
    assert_eq!(
        found(&replace("Rollout", "guestbook", Some(r))),
        one(Warning, ROLLOUT, "spec.strategy.canary.steps")
    );
}

#[test]
fn unparsable_ingress_is_an_error_on_the_ingress() {
    let bad = set(web(json!({})), "/metadata/annotations", json!({"x": 1}));
    let findings = found(&replace("Ingress", "web", Some(bad)));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!((findings[0].0, findings[0].1.as_str()), (Error, INGRESS));
    assert!(findings[0].2.starts_with("metadata.annotations"));
}

#[test]
fn findings_are_sorted_errors_first_then_object_then_field() {
    let r = remove(canary(), "/spec/strategy/canary/steps");
    let mut objects = replace("Rollout", "guestbook", Some(r));
    objects.retain(|o| o["metadata"]["name"] != "stable-svc" && o["kind"] != "Ingress");
    objects.push(service("stable-svc", 8080));
    objects.push(set(
        web(json!({})),
        "/spec/ingressClassName",
        json!("nginx"),
    ));
    objects.retain(|o| o["metadata"]["name"] != "canary-svc");
    assert_eq!(
        found(&objects),
        vec![
            (
                Error,
                INGRESS.to_string(),
                "spec.ingressClassName".to_string()
            ),
            (
                Error,
                ROLLOUT.to_string(),
                "spec.strategy.canary.canaryService".to_string()
            ),
            (
                Error,
                "Service shop/stable-svc".to_string(),
                "spec.ports".to_string()
            ),
            (
                Warning,
                ROLLOUT.to_string(),
                "spec.strategy.canary.steps".to_string()
            ),
        ]
    );
}

#[test]
fn two_rollouts_on_one_ingress_each_get_their_findings() {
    let api = set(
        set(canary(), "/metadata/name", json!("api")),
        "/spec/strategy/canary/trafficRouting/alb/rootService",
        json!("api-svc"),
    );
    let mut objects = good();
    objects.push(api);
    assert_eq!(
        found(&objects),
        vec![
            (Error, INGRESS.to_string(), "spec.rules".to_string()),
            (
                Error,
                "Rollout shop/api".to_string(),
                "spec.strategy.canary.trafficRouting.alb.rootService".to_string()
            ),
        ]
    );
}

#[test]
fn an_annotation_prefix_the_v2_controller_never_reads_is_a_warning() {
    let custom = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/annotationPrefix",
        json!("custom.example.com"),
    );
    assert_eq!(
        found(&replace("Rollout", "guestbook", Some(custom))),
        one(
            Warning,
            ROLLOUT,
            "spec.strategy.canary.trafficRouting.alb.annotationPrefix"
        )
    );
    let default = set(
        canary(),
        "/spec/strategy/canary/trafficRouting/alb/annotationPrefix",
        json!("alb.ingress.kubernetes.io"),
    );
    assert_eq!(run(&replace("Rollout", "guestbook", Some(default))), vec![]);
}

#[test]
fn a_path_spelling_the_stable_port_by_name_is_a_warning() {
    let with_api = |port: Value| {
        set(
            web(json!({})),
            "/spec/rules/0/http/paths",
            json!([
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": "root-svc", "port": {"name": "use-annotation"}}}},
                {"path": "/api", "pathType": "Prefix",
                 "backend": {"service": {"name": "stable-svc", "port": port}}}
            ]),
        )
    };
    assert_eq!(
        found(&replace(
            "Ingress",
            "web",
            Some(with_api(json!({"name": "http"})))
        )),
        one(
            Warning,
            INGRESS,
            "spec.rules[0].http.paths[1].backend.service.port"
        )
    );
    assert_eq!(
        run(&replace(
            "Ingress",
            "web",
            Some(with_api(json!({"number": 80})))
        )),
        vec![]
    );
}

#[test]
fn a_multi_target_forward_naming_a_missing_service_is_a_warning() {
    let key = "alb.ingress.kubernetes.io/actions.other";
    let broken = json!({key: r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"stable-svc","ServicePort":"80","Weight":50},{"ServiceName":"gone-svc","ServicePort":"80","Weight":50}]}}"#});
    let read_by = |annotations: Value| {
        set(
            web(annotations),
            "/spec/rules/0/http/paths",
            json!([
                {"path": "/", "pathType": "Prefix",
                 "backend": {"service": {"name": "root-svc", "port": {"name": "use-annotation"}}}},
                {"path": "/other", "pathType": "Prefix",
                 "backend": {"service": {"name": "other", "port": {"name": "use-annotation"}}}}
            ]),
        )
    };
    let findings = run(&replace("Ingress", "web", Some(read_by(broken.clone()))));
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].severity, Warning);
    assert_eq!(findings[0].field, format!("metadata.annotations[{key}]"));
    assert!(findings[0].message.contains("gone-svc"));
    assert!(findings[0].message.contains("IngressGroup"));
    // An action no use-annotation path reads is never parsed by the controller.
    assert_eq!(run(&replace("Ingress", "web", Some(web(broken)))), vec![]);
    let single = json!({key: r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"gone-svc","ServicePort":"80"}]}}"#});
    assert_eq!(
        run(&replace("Ingress", "web", Some(read_by(single)))),
        vec![]
    );
}

#[test]
fn an_empty_class_annotation_is_a_warning() {
    assert_eq!(
        found(&replace(
            "Ingress",
            "web",
            Some(web(json!({"kubernetes.io/ingress.class": ""})))
        )),
        one(
            Warning,
            INGRESS,
            "metadata.annotations[kubernetes.io/ingress.class]"
        )
    );
}
