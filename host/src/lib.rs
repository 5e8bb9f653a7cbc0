//! The Albatross host: runs strategy components in wasmtime and gives them Kubernetes and AWS
//! I/O through the imports of the `albatross:strategy` contract. In wings:
//!
//! - [`runtime`]: the engine, bindings, contained calls, capability checks, module registry.
//! - [`backend`]: who answers a module's imports (in memory, offline, manifest files).
//! - [`aws`]: the `elbv2` import over the AWS SDK, with its shared cache and metrics.
//! - [`simulation`]: scenarios in the simulated world, with the strategy (and the world) as
//!   components.
//! - [`controller`]: the kube-rs controller, leader election, its HTTP endpoints.
//! - [`metrics`]: the one set of Prometheus series; [`telemetry`]: the logs.
//! - [`commands`]: the command line, one verb a file.

pub mod aws;
pub mod backend;
pub mod commands;
pub mod controller;
pub mod input;
pub mod metrics;
pub mod runtime;
pub mod simulation;
pub mod telemetry;
