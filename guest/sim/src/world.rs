//! The simulated world: the cluster store, the pods behind it, the ALBs, the clock, the faults,
//! and what happened (Events, traffic). One [`World::tick`] is one simulated second of every
//! controller; the strategy reaches the world through the [`Host`] implementation in
//! `host.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Faults, WorldConfig};
use crate::lbc::Elb;
use crate::pods::PodSim;
use crate::store::Store;
use crate::traffic::TrafficSample;
use crate::views::{Name, Views};

/// An Event recorded in the world, by the strategy or by a simulated controller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorldEvent {
    /// The simulated second.
    pub t: u64,
    /// `Kind namespace/name` of the object it is about.
    pub object: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    /// The reason.
    pub reason: String,
    /// The message.
    pub message: String,
}

/// Everything in the simulation.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// The simulated second.
    pub now_s: u64,
    /// How the world behaves.
    pub config: WorldConfig,
    /// The faults on the timeline.
    pub faults: Faults,
    /// The cluster's objects.
    pub store: Store,
    /// Pods by (namespace, name).
    pub pods: BTreeMap<(String, String), PodSim>,
    /// The pod of each pod IP.
    pub pod_ips: BTreeMap<String, Name>,
    /// The controllers' typed views of the store.
    pub views: Views,
    /// The first second each Ingress (`namespace/name`) served a request.
    pub first_served: BTreeMap<String, u64>,
    /// Deleted pods still serving through their preStop hook: IP → the second they stop.
    pub stopping: BTreeMap<String, u64>,
    /// The last pod IP handed out.
    pub next_ip: u32,
    /// The ELBv2 account.
    pub elb: Elb,
    /// Events, in order.
    pub events: Vec<WorldEvent>,
    /// Log lines the strategy wrote.
    pub logs: Vec<String>,
    /// Traffic, per second per ALB.
    pub traffic: Vec<TrafficSample>,
    /// ELBv2 calls the strategy made, by API.
    pub elb_calls: BTreeMap<String, u64>,
    /// Cluster writes the strategy made.
    pub writes: u64,
    /// The object the strategy is reconciling (Events it records are about it).
    pub reconciling: String,
    /// Something was deleted: the garbage collector looks for orphans this second.
    pub garbage: bool,
}

impl World {
    /// An empty world.
    pub fn new(config: WorldConfig, faults: Faults) -> Self {
        World {
            config,
            faults,
            ..World::default()
        }
    }

    /// Moves the clock to simulated second `t` (deletion timestamps follow it).
    pub fn set_now(&mut self, t: u64) {
        self.now_s = t;
        self.store.set_time(t);
    }

    /// Records an Event.
    pub fn record_world_event(&mut self, object: &str, reason: &str, message: &str) {
        let event_type = if reason.starts_with("Failed") {
            "Warning"
        } else {
            "Normal"
        };
        self.events.push(WorldEvent {
            t: self.now_s,
            object: object.to_string(),
            event_type: event_type.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
        });
    }

    /// Runs every simulated controller for the current second and accounts its traffic.
    pub fn tick(&mut self) {
        self.collect_garbage();
        self.reconcile_replicasets();
        self.reconcile_endpoints();
        self.reconcile_load_balancers();
        self.reconcile_endpoints();
        self.account_traffic();
    }
}
