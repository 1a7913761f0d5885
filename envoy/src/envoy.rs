//! Running a real Envoy (`.venv/bin/envoy`, docs/development.md) on loopback.
//!
//! Envoy is started with `--concurrency 2 --disable-hot-restart`, its admin and listener on
//! `127.0.0.1` (port 0 in the bootstrap: the kernel picks free ports and the harness reads them
//! back from `--admin-address-path` and the admin `/listeners` endpoint, so concurrent tests never
//! race for a port). Readiness is the admin `/ready` endpoint answering 200. The process is killed
//! and reaped on drop.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::artifacts;
use crate::http::{Request, Response};
use crate::workdir::WorkDir;

/// How long Envoy may take to become ready (V8 compiles the filter for every worker).
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// Number of worker threads every test Envoy runs with.
pub const CONCURRENCY: u32 = 2;

/// A running Envoy; killed on drop.
#[derive(Debug)]
pub struct Envoy {
    child: Child,
    admin: SocketAddr,
    listener: SocketAddr,
    log: PathBuf,
    config: PathBuf,
}

/// Why Envoy did not become ready.
#[derive(Debug)]
pub struct StartFailure {
    /// The exit status, when Envoy exited (`None`: it did not become ready in time and was killed).
    pub status: Option<ExitStatus>,
    /// Envoy's log (`--log-path`) followed by its stderr.
    pub log: String,
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "Envoy exited ({s}) before it was ready")?,
            None => write!(f, "Envoy was not ready within {READY_TIMEOUT:?}")?,
        }
        write!(f, "; log tail:\n{}", tail(&self.log, 60))
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn spawn(dir: &WorkDir, config_yaml: &str) -> (Child, PathBuf, PathBuf, PathBuf) {
    let bin = artifacts::envoy_bin();
    let config = dir.write("envoy.yaml", config_yaml);
    let log = dir.join("envoy.log");
    let admin_path = dir.join("admin-address.txt");
    let _ = fs::remove_file(&admin_path);
    let stdout = fs::File::create(dir.join("envoy.stdout")).expect("create envoy.stdout");
    let stderr = fs::File::create(dir.join("envoy.stderr")).expect("create envoy.stderr");
    let child = Command::new(&bin)
        .arg("-c")
        .arg(&config)
        .arg("--concurrency")
        .arg(CONCURRENCY.to_string())
        .arg("--disable-hot-restart")
        .arg("--log-level")
        .arg("info")
        .arg("--log-path")
        .arg(&log)
        .arg("--admin-address-path")
        .arg(&admin_path)
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    (child, config, log, admin_path)
}

fn read_log(log: &Path) -> String {
    let mut s = fs::read_to_string(log).unwrap_or_default();
    if let Some(dir) = log.parent() {
        let err = fs::read_to_string(dir.join("envoy.stderr")).unwrap_or_default();
        if !err.trim().is_empty() {
            s.push_str("\n--- stderr ---\n");
            s.push_str(&err);
        }
    }
    s
}

impl Envoy {
    /// Starts Envoy with this bootstrap (written to `dir/envoy.yaml`) and waits until it is ready.
    ///
    /// # Errors
    /// When Envoy exits or is not ready within [`READY_TIMEOUT`]; the error carries the log.
    ///
    /// # Panics
    /// When `.venv/bin/envoy` is missing (with a hint to run `scripts/setup`).
    pub fn start(dir: &WorkDir, config_yaml: &str) -> Result<Envoy, StartFailure> {
        let (mut child, config, log, admin_path) = spawn(dir, config_yaml);
        let deadline = Instant::now() + READY_TIMEOUT;
        let fail = |child: &mut Child, status: Option<ExitStatus>| {
            if status.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
            StartFailure {
                status,
                log: read_log(&log),
            }
        };
        // 1. The admin address.
        let admin: SocketAddr = loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Err(fail(&mut child, Some(st)));
            }
            if let Some(a) = fs::read_to_string(&admin_path).ok().and_then(|s| s.trim().parse().ok()) {
                break a;
            }
            if Instant::now() > deadline {
                return Err(fail(&mut child, None));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        // 2. /ready answers 200 (LIVE).
        loop {
            if let Ok(Some(st)) = child.try_wait() {
                return Err(fail(&mut child, Some(st)));
            }
            if let Ok(r) = Request::get("/ready").send(admin) {
                if r.status == 200 {
                    break;
                }
            }
            if Instant::now() > deadline {
                return Err(fail(&mut child, None));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // 3. The listener's bound address.
        let listener = match Request::get("/listeners?format=json")
            .send(admin)
            .ok()
            .and_then(|r| listener_addr(&r))
        {
            Some(a) => a,
            None => return Err(fail(&mut child, None)),
        };
        Ok(Envoy {
            child,
            admin,
            listener,
            log,
            config,
        })
    }

    /// Like [`Envoy::start`], but panics with the log when Envoy does not become ready.
    ///
    /// # Panics
    /// When Envoy does not start.
    pub fn must_start(dir: &WorkDir, config_yaml: &str) -> Envoy {
        Envoy::start(dir, config_yaml).unwrap_or_else(|e| panic!("{e}\n(config: {})", dir.join("envoy.yaml").display()))
    }

    /// Runs Envoy with a config that it is expected to refuse; returns its exit status (`None` if it
    /// was still running after `timeout` and had to be killed) and its log.
    pub fn run_expecting_exit(dir: &WorkDir, config_yaml: &str, timeout: Duration) -> (Option<ExitStatus>, String) {
        let (mut child, _config, log, _admin) = spawn(dir, config_yaml);
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Ok(Some(st)) = child.try_wait() {
                break Some(st);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, read_log(&log))
    }

    /// Replaces the LDS file (see [`crate::config::Bootstrap::to_yaml_with_lds`]) atomically and
    /// waits until Envoy has applied it (`listener_manager.lds.update_success` grows and the
    /// listener is ready again), then re-reads the listener's address.
    ///
    /// # Panics
    /// When the update is rejected or not applied within [`READY_TIMEOUT`].
    pub fn update_lds(&mut self, lds_path: &Path, lds_yaml: &str) {
        let stat = |e: &Envoy, n: &str| e.stat(n).unwrap_or(0);
        let before = stat(self, "listener_manager.lds.update_success");
        let rejected_before = stat(self, "listener_manager.lds.update_rejected");
        let tmp = lds_path.with_extension("tmp");
        fs::write(&tmp, lds_yaml).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        fs::rename(&tmp, lds_path).unwrap_or_else(|e| panic!("rename to {}: {e}", lds_path.display()));
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if stat(self, "listener_manager.lds.update_rejected") > rejected_before {
                panic!("Envoy rejected the LDS update; log tail:\n{}", tail(&self.log(), 30));
            }
            if stat(self, "listener_manager.lds.update_success") > before
                && stat(self, "listener_manager.total_listeners_warming") == 0
                && stat(self, "listener_manager.total_listeners_draining") == 0
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "LDS update not applied; log tail:\n{}",
                tail(&self.log(), 30)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(a) = Request::get("/listeners?format=json")
            .send(self.admin)
            .ok()
            .and_then(|r| listener_addr(&r))
        {
            self.listener = a;
        }
    }

    /// The HTTP listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.listener
    }

    /// The admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The bootstrap file.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        read_log(&self.log)
    }

    /// Sends a request to the listener.
    ///
    /// # Panics
    /// On an I/O error (with the tail of Envoy's log).
    pub fn send(&self, req: &Request) -> Response {
        req.send(self.listener).unwrap_or_else(|e| {
            panic!(
                "request {} {} failed: {e}\nEnvoy log tail:\n{}",
                req.method,
                req.target,
                tail(&self.log(), 30)
            )
        })
    }

    /// GETs an admin endpoint.
    ///
    /// # Panics
    /// On an I/O error.
    pub fn admin(&self, path: &str) -> Response {
        Request::get(path)
            .send(self.admin)
            .unwrap_or_else(|e| panic!("admin {path} failed: {e}"))
    }

    /// All stats from `/stats` as (name, value) pairs (histograms included as text).
    pub fn stats(&self) -> Vec<(String, String)> {
        self.admin("/stats")
            .text()
            .lines()
            .filter_map(|l| l.split_once(": ").map(|(n, v)| (n.to_string(), v.to_string())))
            .collect()
    }

    /// Connections accepted by each worker of the listener (`listener.acepack_e2e.worker_N.downstream_cx_total`).
    pub fn connections_per_worker(&self) -> Vec<u64> {
        let stats = self.stats();
        (0..CONCURRENCY)
            .map(|w| {
                let name = format!("listener.acepack_e2e.worker_{w}.downstream_cx_total");
                stats
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .unwrap_or(0)
            })
            .collect()
    }

    /// A counter or gauge from `/stats` (`None` when absent).
    pub fn stat(&self, name: &str) -> Option<u64> {
        self.stats()
            .into_iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.trim().parse().ok())
    }
}

/// Reads the first listener's bound address from `/listeners?format=json`.
fn listener_addr(r: &Response) -> Option<SocketAddr> {
    if r.status != 200 {
        return None;
    }
    let v = r.json();
    let sa = v
        .get("listener_statuses")?
        .get(0)?
        .get("local_address")?
        .get("socket_address")?;
    let ip = sa.get("address")?.as_str()?;
    let port = sa.get("port_value")?.as_u64()?;
    format!("{ip}:{port}").parse().ok()
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
