//! Global rate limits with real parts (docs/global-rate-limits.md): Redis (Debian's
//! `redis-server`), the workspace's limitador-based rate limit service loaded with what
//! `acepack limits --for limitador` prints, and two Envoys with the filter in front of one echo
//! upstream. Everything runs on loopback ports and is stopped when a test ends.
//!
//! Shown here: the count is shared by both Envoys and stays within the service's documented bound;
//! the service down, or slower than the timeout, gives the configured failure mode without any
//! request hanging; a Redis restart fails requests closed and then recovers; `local+global` keeps
//! the exact local bucket in front of the service.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use acepack_envoy::artifacts::{self, run_cli, test_data};
use acepack_envoy::config::{clusters_in_routes, WasmFilter};
use acepack_envoy::rls::{free_port, BlackHole, RateLimitService, Redis};
use acepack_envoy::{expect, Bootstrap, EchoUpstream, Envoy, Request, WorkDir};

/// global.yaml: `fleet` is 40/minute (and 1000/day) per credential.
const N: usize = 40;

/// The catalog with its enforcement block replaced by `enforcement` (YAML lines under
/// `enforcement:`), written to `dir` with absolute paths to the spec and routes.
fn catalog(dir: &WorkDir, enforcement: &str) -> std::path::PathBuf {
    let data = test_data();
    let text = std::fs::read_to_string(data.join("global.yaml")).unwrap();
    let start = text.find("enforcement:\n").unwrap();
    let end = text.find("auth_strategies:").unwrap();
    let text = format!("{}enforcement:\n{enforcement}{}", &text[..start], &text[end..])
        .replace(
            "envoy: routes.yaml",
            &format!("envoy: {}", data.join("routes.yaml").display()),
        )
        .replace("spec: specs/", &format!("spec: {}/", data.join("specs").display()));
    dir.write("catalog.yaml", text)
}

fn global_block(mode: &str, timeout_ms: u32, failure: &str) -> String {
    format!(
        "  match_policy: required\n  rate_limits: {mode}\n  global:\n    cluster: rls\n    timeout_ms: {timeout_ms}\n    failure_mode: {failure}\n"
    )
}

/// Envoys (2 workers each) in front of one echo upstream, with the rate limit service's cluster
/// `rls` pointing at `rls`.
struct Fleet {
    envoys: Vec<Envoy>,
    _upstream: EchoUpstream,
}

impl Fleet {
    fn start(name: &str, catalog: &std::path::Path, rls: SocketAddr, count: usize) -> Fleet {
        let a = artifacts::Artifacts::locate();
        let dir = WorkDir::new(&format!("{name}-bundle"));
        let bundle = artifacts::compile_catalog(catalog, &dir.join("bundle.acepack"));
        let upstream = EchoUpstream::start();
        let routes = std::fs::read_to_string(test_data().join("routes.yaml")).unwrap();
        let envoys = (0..count)
            .map(|i| {
                let filter = WasmFilter {
                    plugin_name: "acepack".into(),
                    vm_id: "acepack".into(),
                    wasm: a.wasm.clone(),
                    configuration: bundle.clone(),
                };
                let mut b = Bootstrap::new().with_wasm(&filter).with_routes(&routes);
                for c in clusters_in_routes(&routes) {
                    b = b.with_cluster(&c, upstream.addr());
                }
                b = b.with_grpc_cluster("rls", rls);
                Envoy::must_start(&WorkDir::new(&format!("{name}-envoy{i}")), &b.to_yaml())
            })
            .collect();
        Fleet {
            envoys,
            _upstream: upstream,
        }
    }
}

/// Redis, and the service loaded with `acepack limits --for limitador` of `catalog`.
fn service(name: &str, catalog: &std::path::Path) -> (Redis, RateLimitService, WorkDir) {
    let dir = WorkDir::new(&format!("{name}-rls"));
    let out = run_cli([
        "limits".as_ref(),
        catalog.as_os_str(),
        "--for".as_ref(),
        "limitador".as_ref(),
    ]);
    assert_eq!(out.code, 0, "acepack limits failed: {}", out.stderr);
    let limits = dir.write("limits.yaml", &out.stdout);
    let redis = Redis::start(&dir);
    let svc = RateLimitService::start(&dir, &redis.url(), &limits);
    (redis, svc, dir)
}

fn get(envoy: &Envoy, key: &str, i: usize) -> acepack_envoy::Response {
    Request::get(&format!("/v1/flights/G{i}"))
        .header("apikey", key)
        .send(envoy.addr())
        .unwrap_or_else(|e| panic!("request {i}: {e}"))
}

/// `total` requests for `key`, spread over the Envoys, from `threads` client threads; returns
/// (admitted, limited, anything else).
fn burst(fleet: &Fleet, key: &str, total: usize, threads: usize) -> (usize, usize, Vec<String>) {
    let next = AtomicUsize::new(0);
    let (ok, limited) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let other = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    break;
                }
                let r = get(&fleet.envoys[i % fleet.envoys.len()], key, i);
                match r.status {
                    200 => ok.fetch_add(1, Ordering::SeqCst),
                    429 => limited.fetch_add(1, Ordering::SeqCst),
                    _ => {
                        other.lock().unwrap().push(r.summary());
                        0
                    }
                };
            });
        }
    });
    (ok.into_inner(), limited.into_inner(), other.into_inner().unwrap())
}

#[test]
fn both_envoys_share_one_count_set_by_the_emitted_limits() {
    let dir = WorkDir::new("global-shared");
    let cat = catalog(&dir, &global_block("global", 500, "deny"));
    let (_redis, svc, _d) = service("global-shared", &cat);
    let fleet = Fleet::start("global-shared", &cat, svc.addr(), 2);

    // One client, alternating Envoys: exactly the catalog's 40/minute, whatever Envoy is asked.
    let mut statuses = Vec::new();
    for i in 0..N + 5 {
        statuses.push(get(&fleet.envoys[i % 2], "k-fleet-1", i));
    }
    let admitted = statuses.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        admitted,
        N,
        "{:?}",
        statuses.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(statuses[..N].iter().all(|r| r.status == 200));
    // Headers come from the service's answer: remaining counts down across both Envoys.
    let (_, r, t) = expect::ietf_ratelimit(&statuses[N - 1]);
    assert_eq!(r, 0, "the 40th request leaves 0");
    assert!((1..=60).contains(&t), "reset {t}");
    let (_, r, _) = expect::ietf_ratelimit(&statuses[9]);
    assert_eq!(r, (N - 10) as i64);
    let denied = &statuses[N];
    expect::denied(denied, 429, "rate_limited");
    let retry = expect::retry_after(denied);
    assert!((1..=60).contains(&retry), "retry-after {retry}");

    // Another credential has its own count.
    assert_eq!(get(&fleet.envoys[1], "k-fleet-2", 0).status, 200);

    // A burst from 8 clients over both Envoys: within the service's documented bound (limitador
    // checks, then increments: each other call in flight may slip through once).
    let threads = 8;
    let (ok, limited, other) = burst(&fleet, "k-fleet-3", 10 * N, threads);
    println!(
        "burst of {} over 2 Envoys, {threads} clients: {ok} admitted, {limited} limited (limit {N})",
        10 * N
    );
    assert!(other.is_empty(), "{other:?}");
    assert!((N..=N + threads - 1).contains(&ok), "admitted {ok}");
}

#[test]
fn service_down_or_slow_gives_the_failure_mode_and_nothing_hangs() {
    let dir = WorkDir::new("global-failure");
    let closed: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let hole = BlackHole::start();
    for (failure, want) in [("deny", 503), ("allow", 200)] {
        for (what, addr) in [("down", closed), ("slow", hole.addr())] {
            let cat = catalog(&dir, &global_block("global", 50, failure));
            let fleet = Fleet::start(&format!("global-failure-{failure}-{what}"), &cat, addr, 1);
            for i in 0..5 {
                let started = Instant::now();
                let r = get(&fleet.envoys[0], "k-fleet-1", i);
                assert!(
                    started.elapsed() < Duration::from_secs(3),
                    "{failure}/{what}: request took {:?}",
                    started.elapsed()
                );
                assert_eq!(r.status, want, "{failure}/{what}: {}", r.summary());
                if want == 503 {
                    expect::denied(&r, 503, "limiter_unavailable");
                }
            }
        }
    }
}

/// A client that goes away while its request waits for the service: Envoy still ends the call
/// (at its timeout here) and tells the filter, which drops what it kept for it without resuming
/// anything: the gauge of calls in flight returns to 0 in every worker, and later requests are
/// decided as before. (Were a call of a reset stream cancelled silently, its entry would stay and
/// this test would fail.)
#[test]
fn clients_gone_while_the_service_decides_leave_no_calls_behind() {
    const GONE: u64 = 40;
    let dir = WorkDir::new("global-gone");
    let hole = BlackHole::start();
    let cat = catalog(&dir, &global_block("global", 2000, "allow"));
    let fleet = Fleet::start("global-gone", &cat, hole.addr(), 1);
    let envoy = &fleet.envoys[0];
    let in_flight = || envoy.stat("wasmcustom.acepack.global_calls_in_flight").unwrap_or(0);
    let held = Request::get("/v1/flights/GONE")
        .header("apikey", "k-fleet-1")
        .to_bytes();
    let open: Vec<TcpStream> = (0..GONE)
        .map(|i| {
            let mut c = TcpStream::connect(envoy.addr()).unwrap_or_else(|e| panic!("connection {i}: {e}"));
            c.write_all(&held).unwrap_or_else(|e| panic!("request {i}: {e}"));
            c
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while in_flight() < GONE {
        assert!(Instant::now() < deadline, "{} of {GONE} calls started", in_flight());
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(open); // the clients go away: Envoy resets the streams and cancels their calls
    let gone = Instant::now();
    let deadline = gone + Duration::from_secs(15);
    while in_flight() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} calls of reset streams still kept {:?} after the resets (timeout 2 s)",
            in_flight(),
            gone.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("calls of reset streams dropped {:?} after the resets", gone.elapsed());
    // Later requests: the service still does not answer, the failure mode admits.
    let r = get(envoy, "k-fleet-1", 0);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(in_flight(), 0);
}

#[test]
fn a_redis_restart_fails_closed_then_recovers() {
    let dir = WorkDir::new("global-redis-restart");
    let cat = catalog(&dir, &global_block("global", 500, "deny"));
    let (mut redis, svc, _d) = service("global-redis-restart", &cat);
    let fleet = Fleet::start("global-redis-restart", &cat, svc.addr(), 2);
    for i in 0..5 {
        assert_eq!(get(&fleet.envoys[i % 2], "k-fleet-1", i).status, 200);
    }
    redis.stop();
    for i in 0..4 {
        expect::denied(&get(&fleet.envoys[i % 2], "k-fleet-1", i), 503, "limiter_unavailable");
    }
    redis.restart();
    // limitador's Redis connection manager reconnects with exponential backoff: allow it 40 s.
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(40);
    let mut i = 0;
    loop {
        let r = get(&fleet.envoys[i % 2], "k-fleet-1", i);
        if r.status == 200 {
            break;
        }
        expect::denied(&r, 503, "limiter_unavailable");
        assert!(Instant::now() < deadline, "not recovered 40 s after Redis restarted");
        i += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("recovered {:?} after Redis restarted", restarted.elapsed());
    // Redis kept nothing (no persistence): the count started over.
    let (ok, _, other) = burst(&fleet, "k-fleet-1", N + 10, 1);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(ok, N - 1);
}

#[test]
fn local_plus_global_keeps_the_exact_local_bucket_in_front() {
    // The service unreachable and configured to allow: only the local bucket limits, exactly.
    let dir = WorkDir::new("global-local-plus");
    let closed: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cat = catalog(&dir, &global_block("local+global", 50, "allow"));
    let fleet = Fleet::start("global-local-plus", &cat, closed, 1);
    let (ok, limited, other) = burst(&fleet, "k-fleet-1", 3 * N, 4);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!((ok, limited), (N, 2 * N), "the local bucket admits exactly its limit");

    // With the service up, a credential the local bucket admits is counted by the service too:
    // two Envoys, each with its own local 40, share the service's 40.
    let (_redis, svc, _d) = service("global-local-plus", &cat);
    let fleet = Fleet::start("global-local-plus-svc", &cat, svc.addr(), 2);
    let (ok, _, other) = burst(&fleet, "k-fleet-2", 4 * N, 1);
    assert!(other.is_empty(), "{other:?}");
    assert_eq!(ok, N);
}
