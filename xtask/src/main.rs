//! Build tasks for the workspace, run as `cargo xtask <task>`:
//!
//! - `guest`: builds guest/policy, guest/sim and tests/hostile for wasm32-unknown-unknown and
//!   wraps each core module into a component with wit-component. No WASI is linked in, so the
//!   only imports are the contract's own; the results are `target/wasm/albatross-default.wasm`
//!   (the built-in strategy) and `target/wasm/albatross-sim.wasm` (the simulated world), which
//!   the host embeds, and `target/wasm/hostile-*.wasm` for the sandbox tests.
//! - `run ARGS...`: `guest`, a build of the workspace, then the `albatross` binary with ARGS.
//! - `test ARGS...`: `guest`, a build of the workspace (the controller tests run the binary),
//!   then `cargo test --workspace ARGS...`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

/// The guest crates, the features each build gets beside `component`, the core module it
/// builds, and the component file it becomes under `target/wasm/`: the default strategy, the
/// simulated world, and the misbehaving modules the sandbox tests run.
const GUESTS: [(&str, &str, &str, &str); 10] = [
    (
        "albatross-policy",
        "",
        "albatross_policy.wasm",
        "albatross-default.wasm",
    ),
    (
        "albatross-sim",
        "",
        "albatross_sim.wasm",
        "albatross-sim.wasm",
    ),
    (
        "albatross-hostile",
        "spin",
        "albatross_hostile.wasm",
        "hostile-spin.wasm",
    ),
    (
        "albatross-hostile",
        "hog",
        "albatross_hostile.wasm",
        "hostile-hog.wasm",
    ),
    (
        "albatross-hostile",
        "trap",
        "albatross_hostile.wasm",
        "hostile-trap.wasm",
    ),
    (
        "albatross-hostile",
        "busy",
        "albatross_hostile.wasm",
        "hostile-busy.wasm",
    ),
    (
        "albatross-hostile",
        "garbage",
        "albatross_hostile.wasm",
        "hostile-garbage.wasm",
    ),
    (
        "albatross-hostile",
        "snoop",
        "albatross_hostile.wasm",
        "hostile-snoop.wasm",
    ),
    (
        "albatross-hostile",
        "calm",
        "albatross_hostile.wasm",
        "calm-1.wasm",
    ),
    (
        "albatross-hostile",
        "calm2",
        "albatross_hostile.wasm",
        "calm-2.wasm",
    ),
];

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "guest" => {
            for path in build_guest(GUESTS.len())? {
                eprintln!("xtask: built {}", path.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        "run" => {
            // Only what the binary embeds (the default strategy and the simulated world) and
            // the binary itself: a newcomer's first command compiles no test or bench.
            build_guest(EMBEDDED_GUESTS)?;
            if cargo(
                &["build", "--quiet", "-p", "albatross", "--bin", "albatross"],
                &[],
            )? != ExitCode::SUCCESS
            {
                bail!("building the albatross binary failed");
            }
            let bin = target_dir()?.join("debug").join("albatross");
            let status = Command::new(&bin)
                .args(&rest)
                .status()
                .with_context(|| format!("running {}", bin.display()))?;
            Ok(exit_code(status))
        }
        "test" => {
            build_guest(GUESTS.len())?;
            // The controller tests run the `albatross` binary: build it (with the same feature
            // resolution as the tests) before they start.
            if cargo(&["build", "--quiet", "--workspace", "--all-targets"], &[])?
                != ExitCode::SUCCESS
            {
                bail!("building the workspace failed");
            }
            cargo(&["test", "--workspace"], &rest)
        }
        _ => bail!(
            "unknown task {task:?}; tasks: guest (build the strategy component), run ARGS (build it and run albatross ARGS), test ARGS (build it and run all tests)"
        ),
    }
}

fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn target_dir() -> Result<PathBuf> {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask lives inside the workspace")?;
    Ok(root.join("target"))
}

fn cargo(fixed: &[&str], rest: &[String]) -> Result<ExitCode> {
    let status = Command::new(cargo_bin())
        .args(fixed)
        .args(rest)
        .status()
        .with_context(|| format!("running cargo {}", fixed.join(" ")))?;
    Ok(exit_code(status))
}

fn exit_code(status: std::process::ExitStatus) -> ExitCode {
    if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1))
    }
}

/// Installs the wasm32-unknown-unknown standard library with rustup when it is missing.
fn ensure_wasm_target() -> Result<()> {
    let libdir = Command::new("rustc")
        .args([
            "--print",
            "target-libdir",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .output()
        .context("running rustc --print target-libdir")?;
    let path = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    if libdir.status.success() && Path::new(&path).is_dir() {
        return Ok(());
    }
    eprintln!("xtask: installing the wasm32-unknown-unknown target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-unknown-unknown"])
        .status()
        .context("running rustup target add wasm32-unknown-unknown")?;
    if !status.success() {
        bail!("rustup could not install wasm32-unknown-unknown");
    }
    Ok(())
}

/// How many of the first [`GUESTS`] the `albatross` binary embeds.
const EMBEDDED_GUESTS: usize = 2;

/// Builds the first `count` guests for wasm32-unknown-unknown (release) and encodes the
/// components.
fn build_guest(count: usize) -> Result<Vec<PathBuf>> {
    ensure_wasm_target()?;
    let target = target_dir()?;
    let out_dir = target.join("wasm");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut built = Vec::new();
    // One build per entry: one crate's features must not leak into another's (and each
    // hostile behaviour overwrites the same core module, so it is encoded right away).
    for (krate, feature, artifact, file) in GUESTS.into_iter().take(count) {
        let features = if feature.is_empty() {
            "component".to_string()
        } else {
            format!("component,{feature}")
        };
        let status = Command::new(cargo_bin())
            .args([
                "build",
                "--quiet",
                "--lib",
                "--target",
                "wasm32-unknown-unknown",
                "--release",
            ])
            .args(["--package", krate, "--features", &features])
            .status()
            .with_context(|| format!("running cargo build for {krate}"))?;
        if !status.success() {
            bail!("building {krate} ({features}) for wasm32-unknown-unknown failed");
        }
        let module_path = target
            .join("wasm32-unknown-unknown")
            .join("release")
            .join(artifact);
        let module = std::fs::read(&module_path)
            .with_context(|| format!("reading {}", module_path.display()))?;
        let component = wit_component::ComponentEncoder::default()
            .module(&module)
            .with_context(|| format!("reading the component-type section of {krate}"))?
            .validate(true)
            .encode()
            .with_context(|| format!("encoding {krate} as a component"))?;
        let out = out_dir.join(file);
        if std::fs::read(&out).ok().as_deref() != Some(component.as_slice()) {
            std::fs::write(&out, &component)
                .with_context(|| format!("writing {}", out.display()))?;
        }
        built.push(out);
    }
    Ok(built)
}
