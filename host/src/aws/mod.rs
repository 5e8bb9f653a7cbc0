//! The `elbv2` import over the real ELBv2 API (aws-sdk-elasticloadbalancingv2):
//!
//! - [`config`]: building the SDK client: the default credential chain (env, profile, IRSA web
//!   identity, instance metadata), region and endpoint overrides, adaptive retry, and rustls
//!   with the ring provider installed explicitly.
//! - [`describe`]: the six describe calls, paged and batched, converted to the contract's
//!   records.
//! - [`errors`]: SDK failures mapped onto the contract's typed host errors.
//! - [`cache`]: a shared, short-lived, single-flight cache in front of the describe calls, so
//!   many Rollouts behind one ALB cost one round of calls per interval.
//! - [`metrics`]: call and cache counters, in Prometheus form.
//! - [`host`]: the cache as the asynchronous `elbv2` half of a strategy backend, each call a
//!   task on the SDK's runtime.

pub mod cache;
pub mod config;
pub mod describe;
pub mod errors;
pub mod host;
pub mod metrics;
