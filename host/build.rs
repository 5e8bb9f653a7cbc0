//! Points the host at the built default strategy component, which it embeds. The component is
//! built by `cargo xtask guest`; without it the build stops and says so.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=ALBATROSS_DEFAULT_COMPONENT");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let path = match std::env::var("ALBATROSS_DEFAULT_COMPONENT") {
        Ok(p) => PathBuf::from(p),
        Err(_) => {
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| {
                    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("..")
                        .join("target")
                });
            target.join("wasm").join("albatross-default.wasm")
        }
    };
    println!("cargo:rerun-if-changed={}", path.display());
    if !path.is_file() {
        panic!(
            "the default strategy component {} is not built yet: run `cargo xtask guest` first \
             (or use `cargo xtask run ...` / `cargo xtask test`, which build it)",
            path.display()
        );
    }
    println!(
        "cargo:rustc-env=ALBATROSS_DEFAULT_COMPONENT={}",
        path.display()
    );
}
