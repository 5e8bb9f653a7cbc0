//! The module registry: which strategy modules exist, by name and sha256 digest, and which one
//! serves a Rollout.
//!
//! - **Sources**: the built-in default (`albatross-default`, compiled into the binary) and every
//!   `*.wasm` file of a module directory, named by its file stem. A file named
//!   `albatross-default.wasm` replaces the built-in.
//! - **Pinning**: a config can pin a name to a digest; bytes that do not match are refused with
//!   both digests in the error, and whatever served that name before keeps serving.
//! - **Compiled-code cache**: compiled code is kept on disk (`Component::serialize`) under
//!   `<digest>-<engine hash>.cwasm`, so a restart (or another process on the same engine
//!   build and settings) loads it instead of compiling.
//! - **Live swap**: [`Registry::rescan`] (or the [`Registry::watch`] thread) notices a changed
//!   file by its digest, compiles and links the new version off the hot path, and swaps it in
//!   atomically. A call holds an `Arc` of the module it started with, so reconciles already
//!   running finish on the old version and the next ones get the new. A version that does not
//!   compile or link is refused and the old one keeps serving.
//! - **Selection**: the Rollout's `albatross.io/strategy` annotation names a module; else the
//!   namespace's default; else the cluster default (the built-in unless configured).

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use albatross_policy::spec::namespace_of;
use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::runtime::engine::{
    DEFAULT_COMPONENT, DEFAULT_MODULE_NAME, StrategyModule, WasmtimeContext, compile,
};

/// The Rollout annotation that names the module serving it.
pub const STRATEGY_ANNOTATION: &str = "albatross.io/strategy";

/// Where modules come from and which serves what (YAML or JSON, camelCase keys).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryConfig {
    /// A directory of `*.wasm` strategy modules, watched for changes.
    #[serde(default)]
    pub module_dir: Option<PathBuf>,
    /// Where compiled code is kept between starts; none compiles on every start.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// The module serving Rollouts that name none and whose namespace has no default
    /// (default: the built-in).
    #[serde(default)]
    pub cluster_default: Option<String>,
    /// The module serving a namespace's Rollouts that name none.
    #[serde(default)]
    pub namespace_defaults: BTreeMap<String, String>,
    /// Module name → the sha256 digest its bytes must have (`sha256:<hex>` or `<hex>`).
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
}

impl RegistryConfig {
    /// Reads a config file (YAML or JSON).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = crate::input::read_file(path, "the registry config")?;
        serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not a valid registry config", path.display()))
    }
}

/// One module the registry serves.
pub struct Loaded {
    /// The linked module, ready to instantiate.
    pub module: Arc<StrategyModule>,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Where it came from: a file path, or `built-in`.
    pub source: String,
    /// Whether its compiled code came from the on-disk cache.
    pub from_cache: bool,
    /// How long compiling (or loading from the cache) and linking took.
    pub load_time: Duration,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A short, stable name for the engine's compatibility (its version, target and settings):
/// compiled code is reusable only by an engine with the same hash.
pub fn engine_hash(engine: &Engine) -> String {
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The strategy modules of one process.
pub struct Registry {
    engine: Engine,
    config: RegistryConfig,
    modules: RwLock<BTreeMap<String, Arc<Loaded>>>,
    /// The module files of the directory refused at their last load, with the reason.
    refused: RwLock<BTreeMap<PathBuf, String>>,
}

/// The module name a file stands for: its stem.
pub fn module_name(path: &Path) -> Result<String> {
    path.file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("{} has no usable file name", path.display()))
}

impl Registry {
    /// A registry with the built-in default and every module of the configured directory. A
    /// module file that fails to load is logged, listed by [`Registry::refused`] and skipped.
    /// A failing built-in, a module directory that cannot be read, and a `clusterDefault` or
    /// namespace default naming no loaded module are errors.
    pub fn new(engine: &Engine, config: RegistryConfig) -> Result<Self> {
        if let Some(dir) = &config.module_dir
            && !dir.is_dir()
        {
            bail!(
                "the module directory {} does not exist or is not a directory",
                dir.display()
            );
        }
        let registry = Registry::bare(engine, config);
        let builtin = registry.load_bytes(DEFAULT_MODULE_NAME, "built-in", DEFAULT_COMPONENT)?;
        registry.put(DEFAULT_MODULE_NAME, builtin);
        for (path, result) in registry.rescan() {
            if let Err(e) = result {
                tracing::error!(path = %path.display(), error = %format!("{e:#}"), "strategy module refused");
            }
        }
        let defaults = registry
            .config
            .cluster_default
            .iter()
            .map(|n| (n, "clusterDefault".to_string()))
            .chain(
                registry
                    .config
                    .namespace_defaults
                    .iter()
                    .map(|(ns, n)| (n, format!("namespaceDefaults.{ns}"))),
            );
        for (name, field) in defaults {
            if registry.get(name).is_none() {
                bail!(
                    "{field} names the strategy module {name:?}, which is neither built in nor a loaded file of the module directory{}",
                    registry
                        .refused()
                        .iter()
                        .find(|(p, _)| module_name(p).is_ok_and(|n| &n == name))
                        .map_or(String::new(), |(_, why)| format!(
                            " (it was refused: {why})"
                        ))
                );
            }
        }
        Ok(registry)
    }

    /// A registry with nothing loaded: for loading one module by hand (`albatross module
    /// compile`), where the built-in default is not wanted in the cache.
    pub fn bare(engine: &Engine, config: RegistryConfig) -> Self {
        Registry {
            engine: engine.clone(),
            config,
            modules: RwLock::new(BTreeMap::new()),
            refused: RwLock::new(BTreeMap::new()),
        }
    }

    /// The module files refused at their last load, each with why.
    pub fn refused(&self) -> Vec<(PathBuf, String)> {
        self.refused
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(p, r)| (p.clone(), r.clone()))
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    fn put(&self, name: &str, loaded: Loaded) {
        self.modules
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), Arc::new(loaded));
    }

    /// Where the compiled code of the module with `digest` is cached (none without a cache
    /// directory).
    pub fn cache_path(&self, digest: &str) -> Option<PathBuf> {
        let dir = self.config.cache_dir.as_ref()?;
        let hex = digest.trim_start_matches("sha256:");
        Some(dir.join(format!("{hex}-{}.cwasm", engine_hash(&self.engine))))
    }

    /// The compiled component for `bytes`: from the cache when it holds a usable one, else
    /// compiled. Returns whether the cache served it.
    fn component(&self, name: &str, digest: &str, bytes: &[u8]) -> Result<(Component, bool)> {
        let cached = self.cache_path(digest);
        if let Some(path) = cached.as_ref().filter(|p| p.is_file()) {
            // SAFETY: the file was written by `Component::serialize` of an engine with the
            // same compatibility hash (it is in the name), into the operator's cache
            // directory, under the digest of the source bytes it was compiled from.
            match unsafe { Component::deserialize_file(&self.engine, path) } {
                Ok(c) => return Ok((c, true)),
                Err(e) => tracing::warn!(
                    module = name,
                    path = %path.display(),
                    error = %format!("{e:#}"),
                    "compiled-code cache entry unusable; compiling again"
                ),
            }
        }
        Ok((compile(&self.engine, name, bytes)?, false))
    }

    /// Writes a freshly compiled component into the cache (when there is one); a failure is
    /// logged, the module serves anyway.
    fn cache(&self, name: &str, digest: &str, component: &Component) {
        if let Some(path) = self.cache_path(digest)
            && let Err(e) = write_cache(component, &path)
        {
            tracing::warn!(
                module = name,
                path = %path.display(),
                error = %format!("{e:#}"),
                "could not write the compiled-code cache"
            );
        }
    }

    /// Checks a module's bytes against its pin, compiles (or loads from the cache) and links
    /// them; only a module that links is written to the cache. Does not install the result.
    pub fn load_bytes(&self, name: &str, source: &str, bytes: &[u8]) -> Result<Loaded> {
        let started = Instant::now();
        let digest = digest(bytes);
        if let Some(pin) = self.config.pins.get(name) {
            let pin = if pin.starts_with("sha256:") {
                pin.clone()
            } else {
                format!("sha256:{pin}")
            };
            if !pin.eq_ignore_ascii_case(&digest) {
                bail!(
                    "strategy module {name:?} ({source}) is refused: its digest {digest} does not match the pinned {pin}"
                );
            }
        }
        let (component, from_cache) = self.component(name, &digest, bytes)?;
        let module = StrategyModule::link(&self.engine, name, component.clone())?;
        if !from_cache {
            self.cache(name, &digest, &component);
        }
        Ok(Loaded {
            module: Arc::new(module),
            digest,
            source: source.to_string(),
            from_cache,
            load_time: started.elapsed(),
        })
    }

    /// Loads a module file and, if it loads, swaps it in under its name. On any error the
    /// module that served the name before keeps serving.
    pub fn install(&self, path: &Path) -> Result<Arc<Loaded>> {
        let name = module_name(path)?;
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading strategy module {}", path.display()))?;
        let loaded = self.load_bytes(&name, &path.display().to_string(), &bytes)?;
        tracing::info!(
            module = %name,
            digest = %loaded.digest,
            from_cache = loaded.from_cache,
            load_ms = loaded.load_time.as_secs_f64() * 1000.0,
            "strategy module loaded"
        );
        self.put(&name, loaded);
        self.get(&name)
            .ok_or_else(|| anyhow!("strategy module {name:?} vanished while it was installed"))
    }

    /// Loads every module file of the directory whose bytes differ from what serves its name.
    /// Returns what it tried, each with its result.
    pub fn rescan(&self) -> Vec<(PathBuf, Result<Arc<Loaded>>)> {
        let Some(dir) = &self.config.module_dir else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect(),
            Err(e) => {
                return vec![(
                    dir.clone(),
                    Err(anyhow!(
                        "reading the module directory {}: {e}",
                        dir.display()
                    )),
                )];
            }
        };
        paths.sort();
        self.refused
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p, _| paths.contains(p));
        let mut tried = Vec::new();
        for path in paths {
            let unchanged = match (module_name(&path), std::fs::read(&path)) {
                (Ok(name), Ok(bytes)) => {
                    self.get(&name).is_some_and(|m| m.digest == digest(&bytes))
                }
                _ => false,
            };
            if !unchanged {
                let result = self.install(&path);
                let mut refused = self.refused.write().unwrap_or_else(PoisonError::into_inner);
                match &result {
                    Ok(_) => refused.remove(&path),
                    Err(e) => refused.insert(path.clone(), format!("{e:#}")),
                };
                drop(refused);
                tried.push((path, result));
            }
        }
        tried
    }

    /// Rescans the module directory every `every` on a thread of its own, until the registry
    /// is dropped. Refused modules are logged.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Result<std::thread::JoinHandle<()>> {
        let weak: Weak<Registry> = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("albatross-modules".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(every);
                    let Some(registry) = weak.upgrade() else {
                        return;
                    };
                    for (path, result) in registry.rescan() {
                        if let Err(e) = result {
                            tracing::error!(path = %path.display(), error = %format!("{e:#}"), "strategy module refused; the previous version keeps serving");
                        }
                    }
                }
            })
            .context("starting the module watcher")
    }

    /// The module serving `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Loaded>> {
        self.modules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Every module, by name.
    pub fn list(&self) -> Vec<(String, Arc<Loaded>)> {
        self.modules
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(n, m)| (n.clone(), m.clone()))
            .collect()
    }

    /// The module serving a Rollout: its `albatross.io/strategy` annotation, else its
    /// namespace's default, else the cluster default. A name with no module is an error naming
    /// the Rollout and where the name came from.
    pub fn select(&self, rollout: &Value) -> Result<Arc<Loaded>> {
        let ns = namespace_of(rollout);
        let rollout_name = rollout["metadata"]["name"].as_str().unwrap_or_default();
        let (name, from) =
            if let Some(n) = rollout["metadata"]["annotations"][STRATEGY_ANNOTATION].as_str() {
                (
                    n.to_string(),
                    format!("its annotation {STRATEGY_ANNOTATION}"),
                )
            } else if let Some(n) = self.config.namespace_defaults.get(ns) {
                (n.clone(), format!("the default of namespace {ns}"))
            } else {
                let n = self
                    .config
                    .cluster_default
                    .clone()
                    .unwrap_or_else(|| DEFAULT_MODULE_NAME.to_string());
                (n, "the cluster default".to_string())
            };
        self.get(&name).ok_or_else(|| {
            anyhow!(
                "Rollout {ns}/{rollout_name}: no strategy module named {name:?} (named by {from}); loaded: {}",
                self.list()
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

/// Writes a component's compiled code to `path` atomically (a temporary file, then a rename).
fn write_cache(component: &Component, path: &Path) -> Result<()> {
    let bytes = component
        .serialize()
        .wasm_context(|| "serializing compiled code")?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))
}
