//! Single reconcile passes over the simulated world, natively and through the wasm component:
//! a pass that finds the world as wanted writes nothing, another Rollout's action is never
//! taken, an invalid spec is marked Degraded without a write, an Ingress of a class not served
//! is refused naming the field, and deletion puts the action back to stable 100.

use albatross_sim::{SharedWorld, World};
use albatross_tests::{Way, reconcile_once, scenario};
use serde_json::{Value, json};

const KEY: &str = "alb.ingress.kubernetes.io/actions.root-svc";
const MANAGED: &str = "albatross.io/managed-alb-annotations";

/// The basic-canary manifests, run `seconds` simulated seconds with a pass every second.
fn settled(way: Way, seconds: u64, edit: impl Fn(&mut World)) -> SharedWorld {
    let s = scenario("basic-canary");
    let world = SharedWorld::new(World::new(s.world.clone(), Default::default()));
    {
        let mut w = world.lock();
        for m in &s.manifests {
            let kind = m["kind"].as_str().unwrap().to_string();
            let m = if kind == "Rollout" {
                World::with_finalizer(m.clone())
            } else {
                m.clone()
            };
            w.store.put(&kind, m).unwrap();
        }
        edit(&mut w);
    }
    for t in 0..seconds {
        world.lock().now_s = t;
        world.lock().tick();
        reconcile_once(&world, way, "shop", "guestbook");
    }
    world
}

fn annotation(world: &SharedWorld, key: &str) -> Option<String> {
    world
        .lock()
        .store
        .get("Ingress", "shop", "web")
        .and_then(|i| {
            i["metadata"]["annotations"][key]
                .as_str()
                .map(str::to_string)
        })
}

#[test]
fn a_pass_over_a_settled_world_writes_nothing() {
    for way in [Way::Native, Way::Wasm] {
        let world = settled(way, 30, |_| {});
        let rollout = world
            .lock()
            .store
            .get("Rollout", "shop", "guestbook")
            .unwrap();
        assert_eq!(rollout["status"]["phase"], json!("Healthy"), "{way:?}");
        assert_eq!(
            annotation(&world, KEY).unwrap(),
            r#"{"Type":"forward","ForwardConfig":{"TargetGroups":[{"ServiceName":"canary-svc","ServicePort":"80","Weight":0},{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#
        );
        assert_eq!(
            annotation(&world, MANAGED).unwrap(),
            format!(r#"{{"guestbook":["{KEY}"]}}"#)
        );
        let writes = world.lock().writes;
        let out = reconcile_once(&world, way, "shop", "guestbook");
        assert_eq!(world.lock().writes, writes, "{way:?}: a no-op pass wrote");
        assert_eq!(out["Ok"]["status_json"], Value::Null, "{way:?}: {out}");
    }
}

#[test]
fn another_rollouts_action_is_not_taken() {
    for way in [Way::Native, Way::Wasm] {
        let world = settled(way, 1, |w| {
            w.store
                .patch("Ingress", "shop", "web", &json!({"metadata": {"annotations": {MANAGED: format!(r#"{{"checkout":["{KEY}"]}}"#)}}}))
                .unwrap();
        });
        let out = reconcile_once(&world, way, "shop", "guestbook");
        let err = &out["Err"]["InvalidSpec"];
        assert_eq!(err["object"], json!("Ingress shop/web"), "{way:?}: {out}");
        assert_eq!(err["field"], json!(format!("metadata.annotations[{KEY}]")));
        assert!(
            err["message"].as_str().unwrap().contains("checkout"),
            "{out}"
        );
        assert_eq!(
            annotation(&world, KEY),
            None,
            "{way:?} wrote the other Rollout's action"
        );
    }
}

#[test]
fn an_invalid_rollout_is_degraded_and_nothing_is_written() {
    for way in [Way::Native, Way::Wasm] {
        let world = settled(way, 1, |w| {
            w.store
                .patch(
                    "Rollout",
                    "shop",
                    "guestbook",
                    &json!({"spec": {"strategy": {"canary": {"steps": [{"setWeight": 140}]}}}}),
                )
                .unwrap();
        });
        let rollout = world
            .lock()
            .store
            .get("Rollout", "shop", "guestbook")
            .unwrap();
        assert_eq!(rollout["status"]["phase"], json!("Degraded"), "{way:?}");
        assert!(
            rollout["status"]["message"]
                .as_str()
                .unwrap()
                .contains("spec.strategy.canary.steps[0].setWeight")
        );
        assert_eq!(world.lock().store.list("ReplicaSet", "shop").count(), 0);
        assert_eq!(annotation(&world, KEY), None);
    }
}

#[test]
fn an_ingress_of_another_class_is_refused() {
    for way in [Way::Native, Way::Wasm] {
        let world = settled(way, 1, |w| {
            w.store
                .patch(
                    "Ingress",
                    "shop",
                    "web",
                    &json!({"spec": {"ingressClassName": "nginx"}}),
                )
                .unwrap();
        });
        let out = reconcile_once(&world, way, "shop", "guestbook");
        assert_eq!(
            out["Err"]["InvalidSpec"]["field"],
            json!("spec.ingressClassName"),
            "{way:?}: {out}"
        );
        assert_eq!(annotation(&world, KEY), None);
    }
}

#[test]
fn deletion_resets_the_action_and_drops_the_entry() {
    for way in [Way::Native, Way::Wasm] {
        let world = settled(way, 30, |_| {});
        // Deleted: the finalizer keeps it, marked, for the pass.
        world
            .lock()
            .store
            .delete("Rollout", "shop", "guestbook")
            .unwrap();
        let out = reconcile_once(&world, way, "shop", "guestbook");
        assert_eq!(
            out["Ok"]["events"][0]["reason"],
            json!("TrafficReleased"),
            "{out}"
        );
        assert!(
            annotation(&world, KEY)
                .unwrap()
                .ends_with(r#"{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#)
        );
        assert_eq!(annotation(&world, MANAGED).unwrap(), "{}");
    }
}

#[test]
fn deletion_releases_the_traffic_even_when_the_spec_became_invalid() {
    for way in [Way::Native, Way::Wasm] {
        let world = settled(way, 30, |_| {});
        // An Argo feature Albatross refuses, added before the Rollout is deleted: the
        // traffic still goes back (before, validation answered first and nothing was released).
        world
            .lock()
            .store
            .patch(
                "Rollout",
                "shop",
                "guestbook",
                &json!({"spec": {"strategy": {"canary": {"analysis": {"templates": []}}}}}),
            )
            .unwrap();
        world
            .lock()
            .store
            .delete("Rollout", "shop", "guestbook")
            .unwrap();
        let out = reconcile_once(&world, way, "shop", "guestbook");
        assert_eq!(
            out["Ok"]["events"][0]["reason"],
            json!("TrafficReleased"),
            "{way:?}: {out}"
        );
        assert!(
            annotation(&world, KEY)
                .unwrap()
                .ends_with(r#"{"ServiceName":"stable-svc","ServicePort":"80","Weight":100}]}}"#)
        );
    }
}
