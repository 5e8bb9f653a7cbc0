//! A cluster for the controller tests: the API emulator with the example manifests in it, the
//! real `albatross controller` binary running against it (a child process, stopped with
//! SIGTERM when dropped), a stand-in for the ReplicaSet controller and kubelet (every
//! ReplicaSet's pods are ready, with Pods and an EndpointSlice per Service), and polling with
//! generous deadlines (never timing assertions).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use albatross::backend::manifests::read_manifests;
use serde_json::{Value, json};

use crate::apiserver::ApiServer;
use crate::moto::free_port;

/// The `albatross` binary of this build (`cargo xtask test` builds it first).
pub fn albatross_binary() -> PathBuf {
    let path = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("debug/albatross");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build -p albatross` (cargo xtask test does)",
        path.display()
    );
    path
}

/// The plural of a manifest's kind.
pub fn plural(kind: &str) -> String {
    match kind {
        "Ingress" => "ingresses".into(),
        "Endpoints" => "endpoints".into(),
        other => format!("{}s", other.to_lowercase()),
    }
}

/// Puts every object of an example manifest file into the server in `namespace`, each
/// Rollout labelled for `instance` when given.
pub fn load_example(server: &ApiServer, file: &str, namespace: &str, instance: Option<&str>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/manifests")
        .join(file);
    let objects = read_manifests(&path).unwrap_or_else(|e| panic!("{e:#}"));
    for mut o in objects {
        let kind = o["kind"].as_str().unwrap_or_default().to_string();
        o["metadata"]["namespace"] = json!(namespace);
        if kind == "Rollout"
            && let Some(id) = instance
        {
            o["metadata"]["labels"]["argo-rollouts.argoproj.io/controller-instance-id"] = json!(id);
        }
        server
            .put(&plural(&kind), &o)
            .unwrap_or_else(|e| panic!("loading {kind}: {e:?}"));
    }
}

/// A new image in the first container of the guestbook Rollout in `shop` (a new revision),
/// as a merge patch of its template.
pub fn set_image(server: &ApiServer, image: &str) {
    let rollout = server
        .object("argoproj.io/v1alpha1", "rollouts", "shop", "guestbook")
        .unwrap_or(Value::Null);
    let mut containers = rollout["spec"]["template"]["spec"]["containers"].clone();
    containers[0]["image"] = json!(image);
    server
        .merge(
            "argoproj.io/v1alpha1",
            "rollouts",
            "shop",
            "guestbook",
            &json!({"spec": {"template": {"spec": {"containers": containers}}}}),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
}

/// Polls `check` every 100 ms until it gives Some, or panics after `secs` seconds saying what
/// was awaited and what was last seen.
pub fn wait_for<T>(secs: u64, what: &str, mut check: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => {
                panic!("waited {secs} s for {what}; last seen: {last}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A running `albatross controller`.
pub struct ControllerProcess {
    child: Child,
    /// Where its `/metrics` and health endpoints listen.
    pub metrics_url: String,
    /// Its log file.
    pub log: PathBuf,
}

impl ControllerProcess {
    /// Starts the binary against `server` with the flags given after the common ones
    /// (kubeconfig, metrics address, dummy AWS credentials).
    pub fn start(server: &ApiServer, dir: &std::path::Path, extra: &[&str]) -> ControllerProcess {
        let kubeconfig = dir.join("kubeconfig");
        server.write_kubeconfig(&kubeconfig);
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let log = dir.join(format!("controller-{port}.log"));
        let child = Command::new(albatross_binary())
            .arg("controller")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--metrics-addr", &addr, "--health-addr", &addr])
            .args(["--region", "us-east-1", "--log", "info,albatross=debug"])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(&log)
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("starting albatross controller: {e}"));
        ControllerProcess {
            child,
            metrics_url: format!("http://{addr}"),
            log,
        }
    }

    /// The process's peak resident memory so far (VmHWM), in KiB; None where /proc cannot
    /// say.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// Sends SIGTERM and waits for the process to end; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("albatross controller did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process at once (a crash: no lease released).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        if self.running() {
            self.terminate();
        }
    }
}

/// A plain HTTP GET on loopback; the body, or an error.
pub fn http_get(url: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").ok_or("not an http URL")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = String::new();
    stream.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let (head, body) = out.split_once("\r\n\r\n").ok_or("no HTTP response")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(head.lines().next().unwrap_or_default().to_string());
    }
    Ok(body.to_string())
}

/// Plays the ReplicaSet controller, the kubelet and the endpoints controller, every 200 ms
/// until dropped: each ReplicaSet in `namespace` gets its pods (named `<rs>-<i>`, IPs from
/// 10.0.<n>.<i>), all ready; each Service an EndpointSlice of the ready pods it selects.
pub struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn selects(selector: &Value, labels: &Value) -> bool {
    selector
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

impl Kubelet {
    /// Starts it on `server`'s objects in `namespace`.
    pub fn start(server: Arc<ApiServer>, namespace: &str) -> Kubelet {
        let stop = Arc::new(AtomicBool::new(false));
        let ns = namespace.to_string();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                Kubelet::tick(&server, &ns);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Kubelet {
            stop,
            thread: Some(thread),
        }
    }

    fn tick(server: &ApiServer, ns: &str) {
        let mut pods = Vec::new();
        for (n, rs) in server
            .objects("apps/v1", "replicasets", ns)
            .iter()
            .enumerate()
        {
            let name = rs["metadata"]["name"].as_str().unwrap_or_default();
            let want = rs["spec"]["replicas"].as_u64().unwrap_or(0);
            let status = json!({"status": {"replicas": want, "readyReplicas": want,
                "availableReplicas": want, "observedGeneration": rs["metadata"]["generation"]}});
            let _ = server.merge("apps/v1", "replicasets", ns, name, &status, Some("status"));
            let labels = &rs["spec"]["template"]["metadata"]["labels"];
            for i in 0..want {
                let pod = format!("{name}-{i}");
                let ip = format!("10.0.{}.{}", n + 1, i + 10);
                if server.object("v1", "pods", ns, &pod).is_none() {
                    let _ = server.put(
                        "pods",
                        &json!({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": pod, "namespace": ns, "labels": labels},
                        "status": {"phase": "Running", "podIP": ip,
                                   "conditions": [{"type": "Ready", "status": "True"}]}}),
                    );
                }
                pods.push((pod, ip, labels.clone()));
            }
        }
        for pod in server.objects("v1", "pods", ns) {
            let name = pod["metadata"]["name"].as_str().unwrap_or_default();
            if !pods.iter().any(|(p, _, _)| p == name) {
                let _ = server.remove("v1", "pods", ns, name);
            }
        }
        for svc in server.objects("v1", "services", ns) {
            let name = svc["metadata"]["name"].as_str().unwrap_or_default();
            let selected: Vec<&(String, String, Value)> = pods
                .iter()
                .filter(|(_, _, labels)| selects(&svc["spec"]["selector"], labels))
                .collect();
            let slice_endpoints: Vec<Value> = selected
                .iter()
                .map(|(pod, ip, _)| {
                    json!({"addresses": [ip], "conditions": {"ready": true},
                    "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}})
                })
                .collect();
            let addresses: Vec<Value> = selected
                .iter()
                .map(|(pod, ip, _)| {
                    json!({"ip": ip,
                    "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}})
                })
                .collect();
            let subsets = if addresses.is_empty() {
                json!([])
            } else {
                json!([{"addresses": addresses, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}])
            };
            Kubelet::upsert(
                server,
                "v1",
                "endpoints",
                ns,
                name,
                json!({"subsets": subsets}),
                json!({
                "apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns}, "subsets": subsets}),
            );
            let slice = format!("{name}-slice");
            Kubelet::upsert(
                server,
                "discovery.k8s.io/v1",
                "endpointslices",
                ns,
                &slice,
                json!({"endpoints": slice_endpoints}),
                json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": slice, "namespace": ns,
                                 "labels": {"kubernetes.io/service-name": name}},
                    "addressType": "IPv4", "endpoints": slice_endpoints,
                    "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
            );
        }
    }

    fn upsert(
        server: &ApiServer,
        api_version: &str,
        plural: &str,
        ns: &str,
        name: &str,
        patch: Value,
        whole: Value,
    ) {
        if server.object(api_version, plural, ns, name).is_none() {
            let _ = server.put(plural, &whole);
        } else {
            let _ = server.merge(api_version, plural, ns, name, &patch, None);
        }
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
