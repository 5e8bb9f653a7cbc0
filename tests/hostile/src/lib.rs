//! Strategy modules for the sandbox and registry tests. One that misbehaves on purpose: its
//! `reconcile` spins forever (`spin`), allocates until memory runs out (`hog`), panics into a
//! trap (`trap`), answers a status that is not JSON (`garbage`), or tries to read a Secret and
//! write outside its scope (`snoop`, reporting the host's answers as Events). One that is slow
//! but honest (`busy`: a bounded loop of `busyIterations` rounds, a number in its input, then a
//! valid outcome), for the CPU-time deadline tests. And one that
//! behaves (`calm`, `calm2`): a valid empty outcome, `info` reporting version calm-1 or calm-2,
//! for the live-swap tests. Every pure function refuses politely. Built once per behaviour by
//! `cargo xtask guest` into `target/wasm/hostile-<behaviour>.wasm`.

#[cfg(all(target_arch = "wasm32", feature = "component"))]
mod component;
