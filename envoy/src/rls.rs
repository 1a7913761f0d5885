//! The parts of a global rate-limit setup (docs/global-rate-limits.md) that tests start and stop:
//! a Redis (Debian's `redis-server`, no persistence) and the workspace's rate limit service
//! (`acepack-ratelimit-service`, limitador on that Redis), both on loopback ports, killed on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::artifacts::target_dir;
use crate::workdir::WorkDir;

/// How long a started process may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A free loopback port (bound and released: good enough for a test's own processes).
///
/// # Panics
/// When no port can be bound.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free loopback port")
}

/// `redis-server` from `PATH` (Debian's package, installed by scripts/setup).
///
/// # Panics
/// When it is not installed.
pub fn redis_server_bin() -> PathBuf {
    for dir in std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
    {
        let candidate = dir.join("redis-server");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("redis-server not found.\n  Install it first: scripts/setup (apt-get install redis-server)")
}

/// `target/release/acepack-ratelimit-service`.
///
/// # Panics
/// When it is missing, with the command that builds it.
pub fn service_bin() -> PathBuf {
    let p = target_dir().join("release").join("acepack-ratelimit-service");
    if !p.is_file() {
        panic!(
            "the rate limit service not found at {}.\n  Build it first: cargo build --release -p acepack-ratelimit-service",
            p.display()
        );
    }
    p
}

/// A Redis on a loopback port, without persistence.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// Starts Redis on a free port; logs in `dir/redis.log`.
    ///
    /// # Panics
    /// When Redis does not start.
    pub fn start(dir: &WorkDir) -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir: dir.path().to_path_buf(),
        };
        r.restart();
        r
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills Redis (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts Redis again on the same port (stopping it first if it runs).
    ///
    /// # Panics
    /// When Redis does not answer `PING` in time.
    pub fn restart(&mut self) {
        self.stop();
        let log = self.dir.join("redis.log");
        let child = Command::new(redis_server_bin())
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", &self.dir.display().to_string()])
            .args(["--logfile", &log.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while !self.ping() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING; see {}",
                self.port,
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The workspace's rate limit service, serving `envoy.service.ratelimit.v3` on a loopback port.
pub struct RateLimitService {
    child: Option<Child>,
    addr: SocketAddr,
}

impl RateLimitService {
    /// Starts the service with `limits` (limitador YAML) on `redis_url`, on a free port; its stderr
    /// goes to `dir/ratelimit-service.log`.
    ///
    /// # Panics
    /// When the binary is missing or the service does not start.
    pub fn start(dir: &WorkDir, redis_url: &str, limits: &Path) -> RateLimitService {
        let log = dir.join("ratelimit-service.log");
        let stderr = std::fs::File::create(&log).expect("create ratelimit-service.log");
        let mut child = Command::new(service_bin())
            .args(["--listen", "127.0.0.1:0", "--redis", redis_url, "--limits"])
            .arg(limits)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the rate limit service: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let addr = line.trim().strip_prefix("listening on ").and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the rate limit service did not start (stdout {line:?}); log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        RateLimitService {
            child: Some(child),
            addr,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Kills the service.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RateLimitService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP listener that accepts connections and never answers: a rate limit service that is
/// "slower than any timeout". Dropped, it stops accepting.
pub struct BlackHole {
    addr: SocketAddr,
    _thread: std::thread::JoinHandle<()>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl BlackHole {
    /// Listens on a free loopback port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind black hole");
        let addr = listener.local_addr().expect("black hole address");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => held.push(s),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        BlackHole {
            addr,
            _thread: thread,
            stop,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
