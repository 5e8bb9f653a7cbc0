//! `albatross module`: what a module file is (`inspect`), what a registry serves (`list`), and
//! compiling a module into the compiled-code cache with both load times (`compile`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use wasmtime::Engine;

use crate::commands::options::default_cache_dir;
use crate::runtime::engine::{CONTRACT_PREFIX, StrategyModule, compile, new_engine};
use crate::runtime::pure::{Call, call_wasm};
use crate::runtime::registry::{Registry, RegistryConfig, digest};

/// Strategy modules: inspect a file, list what a registry serves, precompile into the cache.
///
/// A module is a WebAssembly component implementing the albatross:strategy world. The
/// registry serves the built-in default and every *.wasm file of a module directory (named
/// by file stem), each identified by its sha256 digest; a config file can pin digests and
/// choose defaults (see docs/runtime.md, "The module registry").
///
/// Examples:
///   albatross module inspect target/wasm/albatross-default.wasm
///   albatross module list --modules /etc/albatross/modules
///   albatross module compile my-strategy.wasm --cache-dir /var/cache/albatross
#[derive(Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ModuleArgs {
    #[command(subcommand)]
    pub command: ModuleCommand,
}

/// `albatross module` subcommands.
#[derive(Subcommand, Debug)]
pub enum ModuleCommand {
    /// What a module file is: its digest, the world it implements (or why not), the name and
    /// version it reports, its imports and exports.
    Inspect {
        /// The component file.
        path: PathBuf,
    },
    /// The modules a registry serves: name, digest, version, source; and the module files it
    /// refused, with why (exit code 1 when there is one).
    List {
        /// A registry config file (YAML: moduleDir, cacheDir, clusterDefault,
        /// namespaceDefaults, pins).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The module directory (overrides the config's moduleDir).
        #[arg(long, value_name = "DIR")]
        modules: Option<PathBuf>,
    },
    /// Compile a module into the compiled-code cache, then load it back from there, and print
    /// both times.
    Compile {
        /// The component file.
        path: PathBuf,
        /// The cache directory (default: the one every verb uses, $XDG_CACHE_HOME/albatross,
        /// else ~/.cache/albatross).
        #[arg(long, env = "ALBATROSS_CACHE_DIR", value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
}

impl ModuleArgs {
    /// Runs the subcommand.
    pub fn execute(self) -> Result<ExitCode> {
        let engine = new_engine()?;
        match self.command {
            ModuleCommand::Inspect { path } => {
                let inspection = inspect(&engine, &path)?;
                print!("{}", format_inspection(&inspection));
                Ok(if inspection.reports.is_some() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            ModuleCommand::List { config, modules } => {
                let mut config = match config {
                    Some(path) => RegistryConfig::from_file(&path)?,
                    None => RegistryConfig::default(),
                };
                if modules.is_some() {
                    config.module_dir = modules;
                }
                let registry = Registry::new(&engine, config)?;
                print!("{}", format_list(&registry));
                Ok(if registry.refused().is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            ModuleCommand::Compile { path, cache_dir } => {
                let cache_dir = cache_dir.or_else(default_cache_dir).context(
                    "no cache directory: pass --cache-dir (neither XDG_CACHE_HOME nor HOME is set)",
                )?;
                let times = precompile(&engine, &path, &cache_dir)?;
                println!(
                    "{}: compiled in {:.1} ms; loaded from the cache ({}) in {:.3} ms",
                    path.display(),
                    times.compile.as_secs_f64() * 1000.0,
                    cache_dir.display(),
                    times.load_from_cache.as_secs_f64() * 1000.0
                );
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// The WIT world a strategy implements.
pub const STRATEGY_WORLD: &str = "albatross:strategy/strategy@0.2.0";

/// What `albatross module inspect` found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    /// The file.
    pub path: String,
    /// Its size in bytes.
    pub size: usize,
    /// `sha256:<hex>`.
    pub digest: String,
    /// The name and version it reports through `info`, when it implements the world.
    pub reports: Option<(String, String)>,
    /// Why it does not implement the world, when it does not.
    pub not_a_strategy: Option<String>,
    /// The interfaces it imports.
    pub imports: Vec<String>,
    /// The interfaces it exports.
    pub exports: Vec<String>,
}

/// Inspects a module file: a file that is not a component is an error; a component that does
/// not implement the strategy world is described, with the reason.
pub fn inspect(engine: &Engine, path: &Path) -> Result<Inspection> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display().to_string();
    let component = compile(engine, &name, &bytes)?;
    let ty = component.component_type();
    let imports = ty.imports(engine).map(|(n, _)| n.to_string()).collect();
    let exports = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
    let (reports, not_a_strategy) = match StrategyModule::link(engine, &name, component) {
        Ok(module) => {
            let info = call_wasm(&module, &Call::Info)?;
            let field = |k: &str| info["Ok"][k].as_str().unwrap_or_default().to_string();
            (Some((field("name"), field("version"))), None)
        }
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(Inspection {
        path: name,
        size: bytes.len(),
        digest: digest(&bytes),
        reports,
        not_a_strategy,
        imports,
        exports,
    })
}

/// The inspection as text.
pub fn format_inspection(i: &Inspection) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "file:     {} ({} bytes)", i.path, i.size);
    let _ = writeln!(out, "digest:   {}", i.digest);
    match (&i.reports, &i.not_a_strategy) {
        (Some((name, version)), _) => {
            let _ = writeln!(out, "world:    {STRATEGY_WORLD} (implemented)");
            let _ = writeln!(out, "reports:  {name} {version}");
        }
        (None, Some(why)) => {
            let _ = writeln!(out, "world:    does not implement {STRATEGY_WORLD}: {why}");
        }
        (None, None) => {}
    }
    let _ = writeln!(out, "imports:");
    for import in &i.imports {
        let note = if import.starts_with(CONTRACT_PREFIX) {
            ""
        } else {
            "  (outside the contract: a host refuses this module)"
        };
        let _ = writeln!(out, "  {import}{note}");
    }
    let _ = writeln!(out, "exports:");
    for export in &i.exports {
        let _ = writeln!(out, "  {export}");
    }
    out
}

/// The modules a registry serves, as a table.
pub fn format_list(registry: &Registry) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<18} {:<12} source",
        "NAME", "DIGEST", "VERSION"
    );
    for (name, loaded) in registry.list() {
        let version = call_wasm(&loaded.module, &Call::Info)
            .ok()
            .and_then(|v| v["Ok"]["version"].as_str().map(str::to_string))
            .unwrap_or_else(|| "?".into());
        let short: String = loaded.digest.chars().take(18).collect();
        let _ = writeln!(
            out,
            "{name:<24} {short:<18} {version:<12} {}",
            loaded.source
        );
    }
    for (path, why) in registry.refused() {
        let name = path
            .file_stem()
            .map_or(String::new(), |s| s.to_string_lossy().into_owned());
        let _ = writeln!(
            out,
            "{name:<24} {:<18} {:<12} {} (refused: {why})",
            "-",
            "-",
            path.display()
        );
    }
    out
}

/// Compile and cache-load times of one module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileTimes {
    /// Compiling (Cranelift), serializing into the cache, and linking.
    pub compile: Duration,
    /// Loading the compiled code from the cache, and linking.
    pub load_from_cache: Duration,
}

/// Compiles a module file into `cache_dir` (replacing an entry already there) and loads it back
/// from the cache, timing both.
pub fn precompile(engine: &Engine, path: &Path, cache_dir: &Path) -> Result<CompileTimes> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let registry = Registry::bare(
        engine,
        RegistryConfig {
            cache_dir: Some(cache_dir.to_path_buf()),
            ..RegistryConfig::default()
        },
    );
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("module")
        .to_string();
    let source = path.display().to_string();
    if let Some(cached) = registry.cache_path(&digest(&bytes))
        && cached.is_file()
    {
        std::fs::remove_file(&cached)
            .with_context(|| format!("removing the old cache entry {}", cached.display()))?;
    }
    let first = registry.load_bytes(&name, &source, &bytes)?;
    let second = registry.load_bytes(&name, &source, &bytes)?;
    if !second.from_cache {
        anyhow::bail!(
            "the compiled code of {source} was not found in {} after compiling it",
            cache_dir.display()
        );
    }
    Ok(CompileTimes {
        compile: first.load_time,
        load_from_cache: second.load_time,
    })
}
