//! The simulated world every host uses: an in-memory cluster (Rollouts, ReplicaSets, Pods,
//! Services, Endpoints, Ingresses) with resourceVersions and conflicts, ReplicaSet and
//! endpoints controllers, an AWS Load Balancer Controller with lag, the ELBv2 describe API over
//! its ALBs, faults on a timeline, and traffic accounting that counts the requests a rollout
//! would have lost.

pub mod alb_trace;
pub mod config;
pub mod deletion;
pub mod dispatch;
pub mod elbv2_api;
pub mod expect;
pub mod host;
pub mod labels;
pub mod lbc;
pub mod pods;
pub mod registration;
pub mod replicate;
pub mod runner;
pub mod scenario_check;
pub mod store;
pub mod traffic;
pub mod views;
pub mod world;

pub use config::{Fault, Faults, WorldConfig};
pub use host::SharedWorld;
pub use world::World;

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;
