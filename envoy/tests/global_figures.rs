//! The trade-off of the global mode, measured in one run beside local mode (docs/global-rate-limits.md):
//! per-request latency seen by a client (p50/p99, sequential requests) and requests per second of
//! one Envoy (4 client threads), on an effectively unlimited bucket so every request is charged and
//! admitted. The figures are printed; only correctness is asserted (no timing assertions: these
//! machines are shared and the numbers move).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use acepack_envoy::artifacts::{self, run_cli, test_data};
use acepack_envoy::config::{clusters_in_routes, WasmFilter};
use acepack_envoy::rls::{RateLimitService, Redis};
use acepack_envoy::{Bootstrap, EchoUpstream, Envoy, Request, WorkDir};

const SEQUENTIAL: usize = 400;
const PARALLEL: usize = 2000;
const THREADS: usize = 4;

fn catalog(dir: &WorkDir, mode: &str) -> std::path::PathBuf {
    let data = test_data();
    let text = std::fs::read_to_string(data.join("global.yaml"))
        .unwrap()
        .replace("rate_limits: global", &format!("rate_limits: {mode}"))
        .replace(
            "envoy: routes.yaml",
            &format!("envoy: {}", data.join("routes.yaml").display()),
        )
        .replace("spec: specs/", &format!("spec: {}/", data.join("specs").display()));
    dir.write(&format!("catalog-{}.yaml", mode.replace('+', "-")), text)
}

fn envoy(name: &str, catalog: &std::path::Path, upstream: &EchoUpstream, rls: std::net::SocketAddr) -> Envoy {
    let dir = WorkDir::new(name);
    let bundle = artifacts::compile_catalog(catalog, &dir.join("bundle.acepack"));
    let filter = WasmFilter {
        plugin_name: "acepack".into(),
        vm_id: "acepack".into(),
        wasm: artifacts::filter_wasm(),
        configuration: bundle,
    };
    let routes = std::fs::read_to_string(test_data().join("routes.yaml")).unwrap();
    let mut b = Bootstrap::new().with_wasm(&filter).with_routes(&routes);
    for c in clusters_in_routes(&routes) {
        b = b.with_cluster(&c, upstream.addr());
    }
    Envoy::must_start(&dir, &b.with_grpc_cluster("rls", rls).to_yaml())
}

fn get(e: &Envoy, i: usize) -> u16 {
    Request::get(&format!("/v1/flights/P{i}"))
        .header("apikey", "k-bulk-1")
        .send(e.addr())
        .map_or(0, |r| r.status)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

/// (p50, p99, requests per second)
fn measure(e: &Envoy) -> (Duration, Duration, f64) {
    for i in 0..50 {
        assert_eq!(get(e, i), 200, "warm-up");
    }
    let mut lat: Vec<Duration> = (0..SEQUENTIAL)
        .map(|i| {
            let t = Instant::now();
            assert_eq!(get(e, i), 200);
            t.elapsed()
        })
        .collect();
    lat.sort();
    let next = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::SeqCst) < PARALLEL {
                    if get(e, 0) == 200 {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    let rps = PARALLEL as f64 / t.elapsed().as_secs_f64();
    assert_eq!(ok.into_inner(), PARALLEL);
    (percentile(&lat, 0.5), percentile(&lat, 0.99), rps)
}

#[test]
fn global_mode_latency_and_throughput_beside_local_mode() {
    let dir = WorkDir::new("global-figures");
    let global = catalog(&dir, "global");
    let out = run_cli([
        "limits".as_ref(),
        global.as_os_str(),
        "--for".as_ref(),
        "limitador".as_ref(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let limits = dir.write("limits.yaml", &out.stdout);
    let redis = Redis::start(&dir);
    let svc = RateLimitService::start(&dir, &redis.url(), &limits);
    let upstream = EchoUpstream::start();

    let mut rows = Vec::new();
    for (mode, cat) in [
        ("local", catalog(&dir, "local")),
        ("global", global.clone()),
        ("local+global", catalog(&dir, "local+global")),
    ] {
        let e = envoy(
            &format!("global-figures-{}", mode.replace('+', "-")),
            &cat,
            &upstream,
            svc.addr(),
        );
        let (p50, p99, rps) = measure(&e);
        rows.push(format!(
            "{mode:>13}: p50 {p50:>9.2?}  p99 {p99:>9.2?}  {rps:>7.0} req/s ({THREADS} clients)"
        ));
    }
    println!("one Envoy (2 workers), echo upstream, loopback:\n{}", rows.join("\n"));
}
