//! A cluster for the controller tests: the API emulator with the example manifests in it, the
//! real `albatross controller` binary running against it (a child process, stopped with
//! SIGTERM when dropped), the stand-in for the ReplicaSet controller and kubelet
//! ([`crate::kubelet`], re-exported here), and polling with generous deadlines (never timing
//! assertions).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use albatross::backend::manifests::read_manifests;
use serde_json::{Value, json};

use crate::apiserver::ApiServer;
use crate::moto::free_port;

pub use crate::kubelet::Kubelet;

/// The `albatross` binary the controller tests run: `$ALBATROSS_BINARY` when set (to measure
/// a release build with the tests in debug), else this build's profile: `target/debug`
/// (`cargo xtask test` builds it first), or `target/release` when the tests themselves are
/// built with `--release`.
pub fn albatross_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ALBATROSS_BINARY") {
        return PathBuf::from(path);
    }
    let (profile, flag) = if cfg!(debug_assertions) {
        ("debug", "")
    } else {
        ("release", " --release")
    };
    let path = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join(profile)
        .join("albatross");
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build{flag} -p albatross` (cargo xtask test does)",
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

/// The guestbook's action annotation key (its root Service `root-svc`).
pub const ACTION: &str = "alb.ingress.kubernetes.io/actions.root-svc";

/// The annotations of the guestbook's Ingress `web` in `shop`.
pub fn annotations(server: &ApiServer) -> Value {
    server
        .object("networking.k8s.io/v1", "ingresses", "shop", "web")
        .map(|i| i["metadata"]["annotations"].clone())
        .unwrap_or(Value::Null)
}

/// Waits until the guestbook Rollout in `shop` is Healthy.
pub fn wait_healthy(server: &ApiServer) {
    wait_for(90, "the Rollout to become Healthy", || {
        let r = server
            .object("argoproj.io/v1alpha1", "rollouts", "shop", "guestbook")
            .unwrap_or(Value::Null);
        match r["status"]["phase"].as_str() {
            Some("Healthy") => Ok(()),
            _ => Err(r["status"].to_string()),
        }
    });
}

/// Waits until the guestbook's action contains `fragment`; `what` says what is awaited.
pub fn wait_action(server: &ApiServer, what: &str, fragment: &str) {
    wait_for(90, what, || {
        let a = annotations(server);
        if a[ACTION].as_str().unwrap_or_default().contains(fragment) {
            Ok(())
        } else {
            Err(a.to_string())
        }
    });
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
