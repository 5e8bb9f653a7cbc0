//! Points the host at the built components it embeds (the default strategy and the simulated
//! world). They are built by `cargo xtask guest`; without them the build stops and says so.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let wasm_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        })
        .join("wasm");
    for (var, file) in [
        ("ALBATROSS_DEFAULT_COMPONENT", "albatross-default.wasm"),
        ("ALBATROSS_SIM_COMPONENT", "albatross-sim.wasm"),
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        let path = std::env::var(var)
            .map(PathBuf::from)
            .unwrap_or_else(|_| wasm_dir.join(file));
        println!("cargo:rerun-if-changed={}", path.display());
        if !path.is_file() {
            panic!(
                "the component {} is not built yet: run `cargo xtask guest` first \
                 (or use `cargo xtask run ...` / `cargo xtask test`, which build it)",
                path.display()
            );
        }
        println!("cargo:rustc-env={var}={}", path.display());
    }
}
