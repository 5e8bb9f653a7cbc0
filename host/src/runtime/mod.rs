//! The strategy runtime: everything between the host and a module's bytes.
//!
//! - [`engine`]: the sandboxed wasmtime engine, loading, linking and instantiating modules
//!   under a deadline and a memory cap.
//! - [`bindings`]: the generated WIT bindings, and the import traits over a
//!   [`crate::backend::Backend`].
//! - [`call_clock`]: the CPU-time clock a call's deadline is charged on.
//! - [`call`]: one contained `reconcile` or `verify` call, with its typed
//!   [`call::CallError`].
//! - [`pure`]: the pure exported functions by name with JSON input, through wasm or natively.
//! - [`capabilities`]: what a module may touch, checked on every cluster import call.
//! - [`registry`]: modules by name and digest, the compiled-code cache, live swap, and which
//!   module serves a Rollout.

pub mod bindings;
pub mod call;
pub mod call_clock;
pub mod capabilities;
pub mod engine;
pub mod pure;
pub mod registry;
