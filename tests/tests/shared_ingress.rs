//! Two Rollouts sharing one Ingress: each pass rewrites the bookkeeping annotation whole, so
//! a pass whose Ingress changed between its read and its patch must not write over the other
//! Rollout's entry. The patch carries the resourceVersion it read; the API server (here the
//! simulated world's store, which checks it the same way) answers 409 and the pass retries.

use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use albatross_policy::reconcile::{Settings, reconcile};
use albatross_policy::{HostError, StrategyError};
use albatross_sim::World;
use albatross_tests::scenario;
use serde_json::{Value, json};

const MANAGED: &str = "albatross.io/managed-alb-annotations";

/// The simulated world, with another controller pass writing the Ingress right after this
/// pass first reads it.
struct Racing {
    world: World,
    raced: bool,
}

impl Racing {
    /// The other pass: registers Rollout `other` in the bookkeeping annotation.
    fn other_pass_writes(&mut self, ns: &str, name: &str) {
        let Some(mut ingress) = self.world.store.get("Ingress", ns, name) else {
            return;
        };
        let mut managed: Value = ingress["metadata"]["annotations"][MANAGED]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_else(|| json!({}));
        managed["other"] = json!(["alb.ingress.kubernetes.io/actions.other-svc"]);
        ingress["metadata"]["annotations"][MANAGED] = json!(managed.to_string());
        self.world
            .store
            .put("Ingress", ingress)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Host for Racing {
    fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        let got = self.world.get(kind, ns, name);
        if kind.kind == "Ingress" && !self.raced {
            self.raced = true;
            self.other_pass_writes(ns, name);
        }
        got
    }
    fn list(&mut self, kind: &ObjectKind, ns: &str, sel: &str) -> Result<Vec<String>, HostError> {
        self.world.list(kind, ns, sel)
    }
    fn create(&mut self, kind: &ObjectKind, ns: &str, json: &str) -> Result<String, HostError> {
        self.world.create(kind, ns, json)
    }
    fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        patch_type: PatchType,
        patch_json: &str,
        subresource: Option<&str>,
    ) -> Result<String, HostError> {
        self.world
            .patch(kind, ns, name, patch_type, patch_json, subresource)
    }
    fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        self.world.delete(kind, ns, name)
    }
    fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        self.world.record_event(event)
    }
    fn describe_load_balancers(
        &mut self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        self.world.describe_load_balancers(names, arns)
    }
    fn describe_listeners(&mut self, lb: &str) -> Result<Vec<Listener>, HostError> {
        self.world.describe_listeners(lb)
    }
    fn describe_rules(&mut self, listener: &str) -> Result<Vec<Rule>, HostError> {
        self.world.describe_rules(listener)
    }
    fn describe_target_groups(
        &mut self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        self.world.describe_target_groups(lb, arns)
    }
    fn describe_tags(&mut self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        self.world.describe_tags(arns)
    }
    fn describe_target_health(&mut self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        self.world.describe_target_health(tg)
    }
    fn now_millis(&mut self) -> u64 {
        self.world.now_millis()
    }
    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.world.log(level, message, fields)
    }
}

/// The bookkeeping annotation of Ingress shop/web, parsed.
fn bookkeeping(world: &World) -> Value {
    world
        .store
        .get("Ingress", "shop", "web")
        .and_then(|i| {
            i["metadata"]["annotations"][MANAGED]
                .as_str()
                .and_then(|s| serde_json::from_str(s).ok())
        })
        .unwrap_or_default()
}

#[test]
fn a_pass_whose_shared_ingress_changed_since_it_read_it_keeps_the_other_rollouts_entry() {
    let s = scenario("basic-canary");
    let mut world = World::new(s.world.clone(), Default::default());
    for m in &s.manifests {
        let kind = m["kind"].as_str().unwrap_or_default().to_string();
        world
            .store
            .put(&kind, m.clone())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut host = Racing {
        world,
        raced: false,
    };
    let rollout = host
        .world
        .store
        .get_json("Rollout", "shop", "guestbook")
        .unwrap_or("null")
        .to_string();
    let settings = Settings {
        verify: false,
        ..Settings::default()
    };
    let result = reconcile(&mut host, &rollout, &settings);
    assert!(host.raced, "the pass never read its Ingress");
    assert!(
        matches!(result, Err(StrategyError::Host(HostError::Conflict(_)))),
        "the pass wrote over an Ingress that changed since it read it: {result:?}"
    );
    let managed = bookkeeping(&host.world);
    assert!(
        managed.get("other").is_some(),
        "the other Rollout's entry was lost: {managed}"
    );
    // The retry reads the Ingress as it is now and keeps both entries.
    reconcile(&mut host, &rollout, &settings).unwrap_or_else(|e| panic!("{e}"));
    let managed = bookkeeping(&host.world);
    assert!(
        managed.get("other").is_some() && managed.get("guestbook").is_some(),
        "{managed}"
    );
}
