//! A strategy module that misbehaves on purpose, for the sandbox tests: its `reconcile` spins
//! forever (`spin`), allocates until memory runs out (`hog`), panics into a trap (`trap`), or
//! answers a status that is not JSON (`garbage`). Every pure function refuses politely. Built
//! once per behaviour by `cargo xtask guest` into `target/wasm/hostile-<behaviour>.wasm`.

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;
