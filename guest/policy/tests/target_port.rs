//! The target port a target group's pods are registered on, resolved from a Service port
//! reference through the Service's `targetPort` (and the Endpoints for a named one), and the
//! errors that name the object and field when it cannot be.

use albatross_policy::target_port::{ServicePortRef, resolve_target_port};
use serde_json::{Value, json};

fn service(ports: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "web", "namespace": "shop"}, "spec": {"ports": ports}})
}

fn endpoints(ports: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Endpoints",
           "metadata": {"name": "web", "namespace": "shop"},
           "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": ports}]})
}

const TGB: (&str, &str) = ("TargetGroupBinding shop/k8s-web", "spec.serviceRef.port");

#[test]
fn a_port_reference_is_a_number_or_a_name() {
    assert_eq!(
        ServicePortRef::from_json(&json!(80)),
        Some(ServicePortRef::Number(80))
    );
    assert_eq!(
        ServicePortRef::from_json(&json!("http")),
        Some(ServicePortRef::Name("http".into()))
    );
    assert_eq!(ServicePortRef::from_json(&json!("")), None);
    assert_eq!(ServicePortRef::from_json(&json!(-1)), None);
    assert_eq!(ServicePortRef::from_json(&Value::Null), None);
}

#[test]
fn a_numeric_target_port_is_the_port_by_number_or_by_name() {
    let svc = service(json!([
        {"name": "http", "port": 80, "targetPort": 8080},
        {"name": "admin", "port": 9000, "targetPort": 9090}
    ]));
    let by_number = resolve_target_port(&svc, None, &ServicePortRef::Number(9000), TGB);
    assert_eq!(by_number, Ok(9090));
    let by_name = resolve_target_port(&svc, None, &ServicePortRef::Name("http".into()), TGB);
    assert_eq!(by_name, Ok(8080));
}

#[test]
fn a_port_without_target_port_targets_itself() {
    let svc = service(json!([{"port": 80}]));
    assert_eq!(
        resolve_target_port(&svc, None, &ServicePortRef::Number(80), TGB),
        Ok(80)
    );
}

#[test]
fn a_named_target_port_is_resolved_by_the_endpoints() {
    let svc = service(json!([{"name": "web", "port": 80, "targetPort": "http"}]));
    // The endpoints controller names each port after the Service port.
    let eps = endpoints(json!([{"name": "web", "port": 8081}]));
    assert_eq!(
        resolve_target_port(&svc, Some(&eps), &ServicePortRef::Number(80), TGB),
        Ok(8081)
    );
    // Argo Rollouts' lookup, by the targetPort's name, when no port carries the Service's.
    let eps = endpoints(json!([{"name": "http", "port": 8082}]));
    assert_eq!(
        resolve_target_port(&svc, Some(&eps), &ServicePortRef::Number(80), TGB),
        Ok(8082)
    );
    let unnamed = service(json!([{"port": 80, "targetPort": "http"}]));
    let eps = endpoints(json!([{"port": 8083}]));
    assert_eq!(
        resolve_target_port(&unnamed, Some(&eps), &ServicePortRef::Number(80), TGB),
        Ok(8083)
    );
}

#[test]
fn an_unresolvable_port_names_the_object_and_field() {
    let svc = service(json!([{"name": "http", "port": 80, "targetPort": "http"}]));
    let err = resolve_target_port(&svc, None, &ServicePortRef::Number(81), TGB).unwrap_err();
    assert_eq!(err.object, "TargetGroupBinding shop/k8s-web");
    assert_eq!(err.field, "spec.serviceRef.port");
    assert_eq!(err.message, "81 matches no port of Service shop/web");
    let err =
        resolve_target_port(&svc, None, &ServicePortRef::Name("grpc".into()), TGB).unwrap_err();
    assert_eq!(err.message, "\"grpc\" matches no port of Service shop/web");
    let eps = endpoints(json!([{"name": "metrics", "port": 9100}]));
    let err = resolve_target_port(&svc, Some(&eps), &ServicePortRef::Number(80), TGB).unwrap_err();
    assert_eq!(err.object, "Service shop/web");
    assert_eq!(err.field, "spec.ports[0].targetPort");
    assert!(err.message.contains("\"http\""), "{}", err.message);
}
