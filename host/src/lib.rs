//! The Albatross host: runs strategy components in wasmtime and gives them Kubernetes and AWS
//! I/O through the imports of the `albatross:strategy` contract.
//!
//! - [`aws`]: the `elbv2` import over the AWS SDK, with its shared cache and metrics.
//! - [`backend`]: what answers a module's imports, with the I/O calls asynchronous.
//! - [`bindings`]: the generated WIT bindings and the import traits over a backend.
//! - [`capabilities`]: what a module may touch, checked on every cluster import call.
//! - [`engine`]: the wasmtime engine, loading and instantiating strategy modules.
//! - [`module_cmd`]: `albatross module inspect | list | compile`.
//! - [`manifest_host`]: a read-only cluster made of manifest files.
//! - [`registry`]: strategy modules by name and digest, the compiled-code cache, live swap,
//!   and which module serves a Rollout.
//! - [`offline`]: the backend that refuses all I/O, for the pure functions.
//! - [`calls`]: calling exported functions by name with JSON input, through wasm or natively.
//! - [`simulate`]: scenarios and manifests from YAML, lint, and simulation runs through wasm.
//! - [`sim_component`]: the simulated world as a component, driven from the host.
//! - [`verify_report`]: `albatross verify`, one verification and its report.

pub mod aws;
pub mod backend;
pub mod bindings;
pub mod calls;
pub mod capabilities;
pub mod engine;
pub mod manifest_host;
pub mod module_cmd;
pub mod offline;
pub mod registry;
pub mod sim_component;
pub mod simulate;
pub mod verify_report;
