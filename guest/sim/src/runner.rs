//! Running a scenario: the manifests go into a fresh world, then second by second the events on
//! the timeline are applied, every simulated controller runs, and each Rollout is reconciled by
//! the strategy when it asked to be (or when its spec changed, or every 30 s otherwise). The
//! result is a trace: a timeline row for every second in which something visible changed, the
//! Events, and the requests lost.

use std::collections::BTreeMap;

use albatross_policy::StrategyError;
use albatross_policy::apply::apply_result;
use albatross_policy::edits;
use albatross_policy::reconcile::{Outcome, Settings, TRAFFIC_RELEASED};
use albatross_policy::spec::namespace_of;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alb_trace::{AlbRow, append_changed};
use crate::config::{Fault, Faults, WorldConfig};
use crate::expect::Expectations;
use crate::host::SharedWorld;
use crate::replicate::{Replicate, expand};
use crate::world::{World, WorldEvent};

/// A scenario file: manifests, world behaviour, events and faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// A short name.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Kubernetes objects: Rollouts, Services, Ingresses.
    pub manifests: Vec<Value>,
    /// How the world behaves.
    #[serde(default)]
    pub world: WorldConfig,
    /// Faults on the timeline.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// What happens when.
    #[serde(default)]
    pub events: Vec<ScenarioEvent>,
    /// How long to run, in simulated seconds.
    #[serde(default = "default_duration")]
    pub duration_seconds: u64,
    /// What must hold at the end (checked by `albatross simulate`, which exits 1 otherwise).
    #[serde(default)]
    pub expect: Option<Expectations>,
    /// Run the manifests and events as this many renamed copies (see [`crate::replicate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicate: Option<Replicate>,
}

fn default_duration() -> u64 {
    600
}

/// Something that happens at a given second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioEvent {
    /// The simulated second.
    pub at: u64,
    /// What happens.
    #[serde(flatten)]
    pub action: Action,
}

/// The user and operator actions a scenario can take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    tag = "action"
)]
pub enum Action {
    /// A new image in the first container of the Rollout's pod template: a new revision.
    SetImage {
        /// The Rollout.
        rollout: String,
        /// The image.
        image: String,
    },
    /// Resume a paused Rollout (clears its pause conditions).
    Promote {
        /// The Rollout.
        rollout: String,
    },
    /// Pause by hand (`spec.paused: true`).
    Pause {
        /// The Rollout.
        rollout: String,
    },
    /// Undo a manual pause (`spec.paused: false`).
    Unpause {
        /// The Rollout.
        rollout: String,
    },
    /// Skip the remaining steps.
    PromoteFull {
        /// The Rollout.
        rollout: String,
    },
    /// Abort: traffic back to the stable.
    Abort {
        /// The Rollout.
        rollout: String,
    },
    /// Retry an aborted Rollout from its first step.
    Retry {
        /// The Rollout.
        rollout: String,
    },
    /// `kubectl delete rollout`: the Rollout gets its deletionTimestamp and goes once the
    /// strategy gave its traffic back (Albatross's finalizer); the garbage collector then
    /// deletes its ReplicaSets and their pods, unless `orphan` (`--cascade=orphan`) keeps them.
    DeleteRollout {
        /// The Rollout.
        rollout: String,
        /// Keep the ReplicaSets and pods (the default deletes them after the Rollout).
        #[serde(default)]
        orphan: bool,
    },
    /// A merge patch on an Ingress, as `kubectl patch --type=merge` or a GitOps sync makes
    /// one; the Rollouts of its namespace are reconciled at once, as the controller's watch on
    /// Ingresses makes them.
    PatchIngress {
        /// The Ingress.
        ingress: String,
        /// The merge patch (RFC 7386).
        patch: Value,
    },
    /// The controller restarts: no reconciles for `down_seconds`, then it starts again with
    /// nothing but what the cluster stores.
    RestartController {
        /// How long it is gone.
        #[serde(default)]
        down_seconds: u64,
    },
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineRow {
    /// The simulated second.
    pub t: u64,
    /// The Rollout.
    pub rollout: String,
    /// status.currentStepIndex.
    pub step: Option<i64>,
    /// status.phase.
    pub phase: String,
    /// The canary weight the strategy wants (status.canary.weights.canary.weight).
    pub desired_canary: Option<u64>,
    /// Whether that weight is verified on the load balancer.
    pub verified: bool,
    /// The percent of requests the ALB sends to each Service this second.
    pub alb_share: BTreeMap<String, f64>,
    /// Ready / desired pods of each ReplicaSet, by pod-template hash.
    pub replicas: BTreeMap<String, (u64, u64)>,
    /// What the Rollout is waiting for (status.message).
    pub message: String,
    /// Requests lost this second on the Rollout's ALBs, once they had served.
    pub lost: f64,
    /// Requests lost this second on its ALBs before they first served: nothing was deployed
    /// yet, so they are not counted in the run's total.
    pub lost_before_serving: f64,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trace {
    /// The scenario's name.
    pub scenario: String,
    /// Whether verification gates were on.
    pub verify: bool,
    /// The timeline, a row when something changed.
    pub timeline: Vec<TimelineRow>,
    /// Events, by the strategy and the simulated controllers.
    pub events: Vec<WorldEvent>,
    /// Requests lost over the run.
    pub requests_lost: f64,
    /// Requests lost before the ALBs first served, not counted in `requests_lost`.
    pub requests_lost_before_serving: f64,
    /// Requests served over the run.
    pub requests: f64,
    /// The annotations of every Ingress at the end, by `namespace/name`.
    pub final_annotations: BTreeMap<String, Value>,
    /// ELBv2 calls the strategy made, by API.
    pub elb_calls: BTreeMap<String, u64>,
    /// Each ALB, a row when what it does changed: shares, requests lost, targets' health.
    pub albs: Vec<AlbRow>,
}

/// Whoever runs the strategy: natively, or a wasm component in a host.
pub trait Reconciler {
    /// One reconcile pass over the Rollout given as JSON, with its imports on `world`.
    fn reconcile(
        &mut self,
        world: &SharedWorld,
        rollout_json: &str,
        settings: &Settings,
    ) -> Result<Outcome, StrategyError>;
}

/// The native build of the default strategy.
pub struct NativeReconciler;

impl Reconciler for NativeReconciler {
    fn reconcile(
        &mut self,
        world: &SharedWorld,
        rollout_json: &str,
        settings: &Settings,
    ) -> Result<Outcome, StrategyError> {
        let mut host = world.clone();
        albatross_policy::reconcile::reconcile(&mut host, rollout_json, settings)
    }
}

fn kind_of(m: &Value) -> String {
    m["kind"].as_str().unwrap_or_default().to_string()
}

fn apply(world: &mut World, action: &Action, ns: &str) {
    let patch = |world: &mut World, name: &str, body: Value| {
        let _ = world.store.patch("Rollout", ns, name, &body);
    };
    match action {
        Action::SetImage { rollout, image } => {
            if let Some(r) = world.store.get("Rollout", ns, rollout) {
                let mut containers = r["spec"]["template"]["spec"]["containers"].clone();
                containers[0]["image"] = json!(image);
                patch(
                    world,
                    rollout,
                    json!({"spec": {"template": {"spec": {"containers": containers}}}}),
                );
            }
        }
        Action::Promote { rollout } => patch(world, rollout, edits::promote()),
        Action::PromoteFull { rollout } => patch(world, rollout, edits::promote_full()),
        Action::Pause { rollout } => patch(world, rollout, edits::pause()),
        Action::Unpause { rollout } => patch(world, rollout, edits::unpause()),
        Action::Abort { rollout } => patch(world, rollout, edits::abort()),
        Action::Retry { rollout } => patch(world, rollout, edits::retry()),
        Action::DeleteRollout { rollout, orphan } => world.delete_rollout(ns, rollout, *orphan),
        Action::PatchIngress { ingress, patch } => {
            let _ = world.store.patch("Ingress", ns, ingress, patch);
        }
        Action::RestartController { .. } => {}
    }
}

/// A scenario in progress, advanced a second at a time by whoever runs the strategy: the
/// native [`run`], or a host driving the simulation component and a strategy component.
pub struct Simulation {
    world: SharedWorld,
    scenario: Scenario,
    settings: Settings,
    rollouts: Vec<(String, String)>,
    next: BTreeMap<(String, String), u64>,
    seen: BTreeMap<(String, String), Value>,
    down_until: u64,
    timeline: Vec<TimelineRow>,
    /// The index in `timeline` of each Rollout's last row.
    last_row: BTreeMap<String, usize>,
    albs: Vec<AlbRow>,
    t: Option<u64>,
}

/// A Rollout to reconcile this second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueRollout {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The Rollout as JSON.
    pub rollout_json: String,
}

/// What the strategy's inputs look like to the change detector: a reconcile is due when any
/// of these changed since the last one.
fn watched(r: &Value) -> Value {
    json!([
        r["spec"],
        r["metadata"]["deletionTimestamp"],
        r["status"]["pauseConditions"],
        r["status"]["abort"],
        r["status"]["promoteFull"]
    ])
}

impl Simulation {
    /// Puts the scenario's manifests into a fresh world.
    pub fn new(scenario: &Scenario, settings: &Settings) -> Self {
        let scenario = &expand(scenario);
        let world = SharedWorld::new(World::new(
            scenario.world.clone(),
            Faults(scenario.faults.clone()),
        ));
        let mut rollouts = Vec::new();
        {
            let mut w = world.lock();
            for m in &scenario.manifests {
                let kind = kind_of(m);
                if kind == "Rollout" {
                    let ns = namespace_of(m).to_string();
                    let name = m["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    rollouts.push((ns, name));
                    let _ = w.store.put(&kind, World::with_finalizer(m.clone()));
                    continue;
                }
                let _ = w.store.put(&kind, m.clone());
            }
        }
        Simulation {
            world,
            next: rollouts.iter().map(|r| (r.clone(), 0)).collect(),
            rollouts,
            scenario: scenario.clone(),
            settings: settings.clone(),
            seen: BTreeMap::new(),
            down_until: 0,
            timeline: Vec::new(),
            last_row: BTreeMap::new(),
            albs: Vec::new(),
            t: None,
        }
    }

    /// The world, for the strategy's imports.
    pub fn world(&self) -> &SharedWorld {
        &self.world
    }

    /// The settings the strategy is to be called with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Moves to the next second: applies its events, runs every controller, and returns the
    /// Rollouts to reconcile now; None once the scenario's duration is over.
    pub fn begin_second(&mut self) -> Option<Vec<DueRollout>> {
        let t = self.t.map_or(0, |t| t + 1);
        if t > self.scenario.duration_seconds {
            return None;
        }
        self.t = Some(t);
        let mut w = self.world.lock();
        w.set_now(t);
        let ns = self
            .rollouts
            .first()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        for e in self.scenario.events.iter().filter(|e| e.at == t) {
            if let Action::RestartController { down_seconds } = e.action {
                self.down_until = t + down_seconds;
                let until = self.down_until;
                self.next.values_mut().for_each(|n| *n = until);
            }
            if let Action::PatchIngress { .. } = e.action {
                for ((rns, _), n) in self.next.iter_mut() {
                    if *rns == ns {
                        *n = (*n).min(t);
                    }
                }
            }
            apply(&mut w, &e.action, &ns);
        }
        w.tick();
        let w = &mut *w;
        w.views.sync(&w.store);
        let mut due = Vec::new();
        for key in &self.rollouts {
            let (ns, name) = key;
            let Some(rollout) = w.views.rollouts.get(key) else {
                continue;
            };
            let changed = self.seen.get(key) != Some(&watched(rollout));
            if t < self.down_until || (t < self.next[key] && !changed) {
                continue;
            }
            due.push(DueRollout {
                namespace: ns.clone(),
                name: name.clone(),
                rollout_json: rollout.to_string(),
            });
        }
        if let Some(first) = due.first() {
            w.reconciling = format!("Rollout {}/{}", first.namespace, first.name);
        }
        Some(due)
    }

    /// Applies what one reconcile pass of Rollout `ns/name` returned, as a controller would:
    /// the status written, the Events recorded, the next pass scheduled.
    pub fn record(&mut self, ns: &str, name: &str, result: Result<Outcome, StrategyError>) {
        let t = self.t.unwrap_or(0);
        let key = (ns.to_string(), name.to_string());
        let object = format!("Rollout {ns}/{name}");
        let mut w = self.world.lock();
        let stored = w.store.get("Rollout", ns, name);
        let stored_status = stored.as_ref().map_or(Value::Null, |r| r["status"].clone());
        let applied = apply_result(&stored_status, result);
        let deleting = stored
            .as_ref()
            .is_some_and(|r| r["metadata"]["deletionTimestamp"].is_string());
        if let (Some(mut stored), Some(status)) = (stored, applied.status) {
            stored["status"] = status;
            let _ = w.store.put("Rollout", stored);
        }
        for e in applied.events {
            w.events.push(WorldEvent {
                t,
                object: object.clone(),
                event_type: format!("{:?}", e.event_type),
                reason: e.reason,
                message: e.message,
            });
        }
        if deleting
            && w.events
                .iter()
                .rev()
                .take_while(|e| e.t == t)
                .any(|e| e.object == object && e.reason == TRAFFIC_RELEASED)
        {
            w.release_finalizer(ns, name);
        }
        let after = applied.requeue_after_ms.div_ceil(1000).max(1);
        self.next.insert(key.clone(), t + after);
        if let Some(r) = w.store.get("Rollout", ns, name) {
            self.seen.insert(key, watched(&r));
        }
    }

    /// Ends the second: a timeline row for each Rollout whose view changed.
    pub fn end_second(&mut self) {
        let mut w = self.world.lock();
        let w = &mut *w;
        w.views.sync(&w.store);
        append_changed(&mut self.albs, w.alb_rows());
        for (ns, name) in &self.rollouts {
            let row = timeline_row(w, ns, name);
            let same = self
                .last_row
                .get(&row.rollout)
                .and_then(|i| self.timeline.get(*i))
                .is_some_and(|last| {
                    let mut a = last.clone();
                    a.t = row.t;
                    a == row
                });
            if !same {
                self.last_row
                    .insert(row.rollout.clone(), self.timeline.len());
                self.timeline.push(row);
            }
        }
    }

    /// What the run produced so far.
    pub fn trace(&self) -> Trace {
        let w = self.world.lock();
        Trace {
            scenario: self.scenario.name.clone(),
            verify: self.settings.verify,
            timeline: self.timeline.clone(),
            events: w.events.clone(),
            requests_lost: w.requests_lost(),
            requests_lost_before_serving: w.traffic.iter().map(|s| s.lost).sum::<f64>()
                - w.requests_lost(),
            requests: w.traffic.iter().map(|s| s.requests).sum(),
            final_annotations: w
                .store
                .list("Ingress", "")
                .map(|i| {
                    (
                        format!(
                            "{}/{}",
                            i["metadata"]["namespace"].as_str().unwrap_or(""),
                            i["metadata"]["name"].as_str().unwrap_or("")
                        ),
                        i["metadata"]["annotations"].clone(),
                    )
                })
                .collect(),
            elb_calls: w.elb_calls.clone(),
            albs: self.albs.clone(),
        }
    }
}

/// Runs a scenario with a strategy. `settings.verify` off runs it without verification gates.
pub fn run(scenario: &Scenario, reconciler: &mut dyn Reconciler, settings: &Settings) -> Trace {
    run_with_progress(scenario, reconciler, settings, &mut |_| {})
}

/// [`run`], calling `progress` with each simulated second as it begins.
pub fn run_with_progress(
    scenario: &Scenario,
    reconciler: &mut dyn Reconciler,
    settings: &Settings,
    progress: &mut dyn FnMut(u64),
) -> Trace {
    let mut sim = Simulation::new(scenario, settings);
    while let Some(due) = sim.begin_second() {
        progress(sim.world().lock().now_s);
        for d in due {
            sim.world().lock().reconciling = format!("Rollout {}/{}", d.namespace, d.name);
            let result = reconciler.reconcile(sim.world(), &d.rollout_json, settings);
            sim.record(&d.namespace, &d.name, result);
        }
        sim.end_second();
    }
    sim.trace()
}

/// The timeline row of Rollout `ns/name` now, from the world's views (synced by the caller).
fn timeline_row(w: &World, ns: &str, name: &str) -> TimelineRow {
    let stored = w.views.rollouts.get(&(ns.to_string(), name.to_string()));
    let gone = stored.is_none();
    let r = stored.unwrap_or(&Value::Null);
    let status = &r["status"];
    let mut replicas = BTreeMap::new();
    for rs in w.views.replicasets_owned_by(ns, name) {
        let rs = &rs.object;
        let hash = rs["metadata"]["labels"]["rollouts-pod-template-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        replicas.insert(
            hash,
            (
                rs["status"]["readyReplicas"].as_u64().unwrap_or(0),
                rs["spec"]["replicas"].as_u64().unwrap_or(0),
            ),
        );
    }
    let traffic = w.rollout_traffic(ns, r);
    TimelineRow {
        t: w.now_s,
        rollout: format!("{ns}/{name}"),
        step: status["currentStepIndex"].as_i64(),
        phase: status["phase"].as_str().unwrap_or("").to_string(),
        desired_canary: status["canary"]["weights"]["canary"]["weight"].as_u64(),
        verified: status["canary"]["weights"]["verified"]
            .as_bool()
            .unwrap_or(false),
        alb_share: traffic
            .sample
            .map(|s| s.rounded_share())
            .unwrap_or_default(),
        replicas,
        message: if gone {
            "deleted: gone from the API server".to_string()
        } else {
            status["message"].as_str().unwrap_or("").to_string()
        },
        lost: traffic.lost,
        lost_before_serving: traffic.lost_before_serving,
    }
}
