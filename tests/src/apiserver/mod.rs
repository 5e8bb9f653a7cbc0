//! A stateful Kubernetes API server emulator on 127.0.0.1, for running the real kube-rs
//! client, watcher and `Controller` (and the real `albatross` binary) in tests where no
//! kube-apiserver can be installed. [`store`] holds the semantics (resourceVersion,
//! generation, uid, subresources, optimistic concurrency, finalizers, patches, the change
//! log); [`http`] serves them as kube-rs calls them, watches included; faults are injected by
//! rule ([`Fault`]). Tests reach the state directly too ([`ApiServer::object`],
//! [`ApiServer::put`]) and count the requests made ([`ApiServer::requests`]).
//!
//! The server runs on a tokio runtime of its own, so a synchronous test, an async test and a
//! child process can all talk to it; dropping it stops it.

pub mod error;
pub mod http;
pub mod kinds;
pub mod patch;
pub mod path;
pub mod selector;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::http::Uri;
use serde_json::Value;

use self::path::ResourcePath;
use self::selector::Selector;
use self::store::{ApiError, State};

/// What an injected fault answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAnswer {
    /// An error `Status` with this HTTP code.
    Status(u16),
    /// The connection closes in the middle of the answer, the request not carried out.
    Drop,
    /// The request is carried out, then the connection closes before the answer: the client
    /// cannot tell whether its write was applied.
    DropAnswer,
}

/// A fault injected into the requests that match it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The HTTP methods it applies to; empty: all.
    pub methods: Vec<String>,
    /// A substring the request path must contain ("" matches every path).
    pub path_contains: String,
    /// Answer every `every`-th matching request to the same path (1: each one).
    pub every: u64,
    /// How many times at most; None: without end.
    pub times: Option<u64>,
    /// What it answers.
    pub answer: FaultAnswer,
}

impl Fault {
    /// Every write (POST, PUT, PATCH, DELETE) to paths containing `path_contains`, answered
    /// `answer` every `every`-th time for each path.
    pub fn writes(path_contains: &str, every: u64, answer: FaultAnswer) -> Fault {
        Fault {
            methods: ["POST", "PUT", "PATCH", "DELETE"]
                .map(String::from)
                .to_vec(),
            path_contains: path_contains.to_string(),
            every,
            times: None,
            answer,
        }
    }
}

/// A fault with its counts: matching requests seen per path, and times it fired.
type ArmedFault = (Fault, BTreeMap<String, u64>, u64);

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// GET, POST, ...
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string.
    pub query: String,
}

impl Request {
    /// Whether it changes something (any method but GET).
    pub fn is_write(&self) -> bool {
        self.method != "GET"
    }

    /// Whether it is a watch.
    pub fn is_watch(&self) -> bool {
        self.query.contains("watch=true") || self.query.contains("watch=1")
    }
}

/// What the HTTP handler and the test share.
#[derive(Debug, Default)]
pub struct Shared {
    state: Mutex<State>,
    faults: Mutex<Vec<ArmedFault>>,
    requests: Mutex<Vec<Request>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// The state, locked.
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn record(&self, method: &str, uri: &Uri) {
        lock(&self.requests).push(Request {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
        });
    }

    /// The answer of the first fault this request triggers, if any.
    fn fault_for(&self, method: &str, path: &str) -> Option<FaultAnswer> {
        let mut faults = lock(&self.faults);
        for (fault, seen, fired) in faults.iter_mut() {
            let applies = (fault.methods.is_empty() || fault.methods.iter().any(|m| m == method))
                && path.contains(&fault.path_contains);
            if !applies || fault.times.is_some_and(|t| *fired >= t) {
                continue;
            }
            let seen = seen.entry(path.to_string()).or_insert(0);
            *seen += 1;
            if *seen % fault.every.max(1) == 0 {
                *fired += 1;
                return Some(fault.answer);
            }
        }
        None
    }
}

/// A running emulated API server.
pub struct ApiServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for ApiServer {
    /// Stops the server without waiting, so it can be dropped inside an async test too.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl ApiServer {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> ApiServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("apiserver")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("the API server's runtime: {e}"));
        let shared = Arc::new(Shared::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .unwrap_or_else(|e| panic!("binding the API server: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("the API server's address: {e}"));
        let app = Router::new()
            .fallback(http::handle)
            .with_state(shared.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)
                .unwrap_or_else(|e| panic!("the API server's listener: {e}"));
            if let Err(e) = axum::serve(listener, app).await {
                panic!("the API server stopped: {e}");
            }
        });
        ApiServer {
            addr,
            shared,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig file pointing at this server (no auth), written to `path`.
    pub fn write_kubeconfig(&self, path: &std::path::Path) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster:\n    server: {}\n\
             contexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: nobody\n    namespace: default\n\
             users:\n- name: nobody\n  user: {{}}\ncurrent-context: emulator\n",
            self.url()
        );
        std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push((fault, BTreeMap::new(), 0));
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Drops the change log: watches from before now get 410 Gone.
    pub fn compact(&self) {
        self.shared.state().compact();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.requests).clone()
    }

    /// An object as stored, by apiVersion (`v1`, `group/version`), plural, namespace, name.
    pub fn object(&self, api_version: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        self.shared
            .state()
            .object(&format!("{api_version}/{plural}"), ns, name)
    }

    /// Every object of a resource in `ns` ("": all namespaces).
    pub fn objects(&self, api_version: &str, plural: &str, ns: &str) -> Vec<Value> {
        let ns = Some(ns).filter(|n| !n.is_empty());
        self.shared
            .state()
            .objects(&format!("{api_version}/{plural}"), ns, &Selector::default())
    }

    /// `f` of every object of a resource in `ns`, under the server's lock and without copying
    /// them: what a test reads of many objects at once.
    pub fn map_objects<T>(
        &self,
        api_version: &str,
        plural: &str,
        ns: &str,
        f: impl FnMut(&Value) -> T,
    ) -> Vec<T> {
        self.shared
            .state()
            .map_objects(&format!("{api_version}/{plural}"), ns, f)
    }

    /// Creates an object directly (as another client would), its apiVersion and kind from the
    /// object and the plural given.
    pub fn put(&self, plural: &str, object: &Value) -> Result<Value, ApiError> {
        let path = ResourcePath {
            api_version: object["apiVersion"].as_str().unwrap_or("v1").to_string(),
            plural: plural.to_string(),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_string),
            name: None,
            subresource: None,
        };
        self.shared.state().create(&path, object.clone())
    }

    /// Replaces an object directly with a full update (checked against the resourceVersion
    /// it carries), as a client's Update does.
    pub fn update(&self, plural: &str, object: &Value) -> Result<Value, ApiError> {
        let path = ResourcePath {
            api_version: object["apiVersion"].as_str().unwrap_or("v1").to_string(),
            plural: plural.to_string(),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_string),
            name: object["metadata"]["name"].as_str().map(str::to_string),
            subresource: None,
        };
        self.shared.state().replace(&path, object.clone())
    }

    /// Deletes an object directly (finalizers are honoured).
    pub fn remove(
        &self,
        api_version: &str,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let path = ResourcePath {
            api_version: api_version.to_string(),
            plural: plural.to_string(),
            namespace: Some(ns.to_string()),
            name: Some(name.to_string()),
            subresource: None,
        };
        self.shared.state().delete(&path)
    }

    /// Merge-patches an object directly (a person's edit), status included when `status`.
    pub fn merge(
        &self,
        api_version: &str,
        plural: &str,
        ns: &str,
        name: &str,
        patch: &Value,
        subresource: Option<&str>,
    ) -> Result<Value, ApiError> {
        let path = ResourcePath {
            api_version: api_version.to_string(),
            plural: plural.to_string(),
            namespace: Some(ns.to_string()),
            name: Some(name.to_string()),
            subresource: subresource.map(str::to_string),
        };
        self.shared
            .state()
            .patch(&path, patch::PatchKind::Merge, patch, None, false)
    }
}
