//! The default Albatross strategy: Argo-Rollouts-compatible progressive delivery behind an AWS
//! Application Load Balancer.
//!
//! A plain Rust library that builds natively (tests, benchmarks, the native baseline) and, for
//! `wasm32`, as the `albatross:strategy` component (see `component`). The pure pieces live in
//! their own modules; [`api`] exposes them with the exact shapes of the WIT `policy` interface,
//! and [`reconcile`] runs one reconcile pass over a [`host::Host`] that supplies the imports.

pub mod action;
pub mod adopt;
pub mod api;
pub mod apply;
pub mod bindings;
mod bluegreen;
mod canary;
pub mod conditions;
pub mod duration;
pub mod edits;
pub mod elb;
pub mod error;
pub mod gojson;
pub mod health;
pub mod host;
pub mod ingress;
pub mod lint;
pub mod lint_kinds;
mod lint_lbc;
pub mod lookup;
pub mod managed;
pub mod pingpong;
pub mod plan;
pub mod reconcile;
pub mod rollout_fields;
pub mod rotation;
mod scaledown;
mod shift;
pub mod spec;
pub mod status;
pub mod suggest;
pub mod target_port;
pub mod targets;
mod traffic;
pub mod validate;
pub mod verification;
pub mod verify;
pub mod workload;

pub use error::{FieldError, HostError, Result, StrategyError};

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;
