//! The cost of a live update at the scale catalog (docs/envoy.md, "Live updates"; budget P4 of
//! docs/budgets.md applies to every update): runs Envoy with the ECDS filter entry, publishes 100
//! updates alternating two bundles, and prints the time each VM's `on_configure` took (from the
//! filter's own "loaded bundle … in N ms" log lines), the time from rename to confirmation, and
//! Envoy's memory after the first and the 100th update. A measurement, not a test:
//!
//! ```text
//! scripts/gen-scale-catalog target/scale-live-1 --seed 1 --compile
//! scripts/gen-scale-catalog target/scale-live-2 --seed 2 --compile
//! cargo run --release -p acepack-envoy --example update_cost -- \
//!     target/scale-live-1/scale.bundle target/scale-live-2/scale.bundle [UPDATES]
//! ```

use std::time::Duration;

use acepack_envoy::live::LiveEnvoy;
use acepack_envoy::{Artifacts, EchoUpstream, WorkDir};

const ROUTES: &str = "name: all\nvirtual_hosts:\n- name: all\n  domains: [\"*\"]\n  routes:\n  - match: { prefix: / }\n    route: { cluster: upstream }\n";

/// Resident memory of `pid` in KiB (`VmRSS`).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The "in N ms" of every "loaded bundle" line of the log, in order.
fn load_times(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("acepack: loaded bundle"))
        .filter_map(|l| l.rsplit_once(" in ")?.1.strip_suffix(" ms")?.trim().parse().ok())
        .collect()
}

fn median_max(mut v: Vec<u64>) -> (u64, u64) {
    v.sort_unstable();
    (v.get(v.len() / 2).copied().unwrap_or(0), v.last().copied().unwrap_or(0))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(one), Some(two)) = (args.first(), args.get(1)) else {
        eprintln!("usage: update_cost BUNDLE_1 BUNDLE_2 [UPDATES]");
        std::process::exit(2);
    };
    let updates: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100);
    let bundles = [
        std::fs::read(one).expect("bundle 1"),
        std::fs::read(two).expect("bundle 2"),
    ];
    let a = Artifacts::locate();
    let dir = WorkDir::new("update-cost");
    let upstream = EchoUpstream::start();
    let live = LiveEnvoy::start(&dir, &a.wasm, &bundles[0], ROUTES, &upstream);
    let pid = live.envoy.pid();
    // One on_configure per VM at start: the main thread's and each worker's.
    let at_start = acepack_envoy::envoy::CONCURRENCY as usize + 1;
    let mut rss = vec![(0, rss_kib(pid))];
    let mut confirm_ms = Vec::new();
    for i in 0..updates {
        let p = live
            .publish(&bundles[(i + 1) % 2])
            .unwrap_or_else(|e| panic!("update {i}: {e}"));
        confirm_ms.push(p.elapsed.as_millis() as u64);
        if [1, 10, 25, 50, 75].contains(&(i + 1)) {
            std::thread::sleep(Duration::from_millis(300));
            rss.push((i + 1, rss_kib(pid)));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    rss.push((updates, rss_kib(pid)));
    // Envoy flushes its log file every 10 s.
    std::thread::sleep(Duration::from_secs(11));
    let allocated: u64 = live.envoy.admin("/memory").json()["allocated"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let times = load_times(&live.envoy.log());
    let per_update: Vec<u64> = times.iter().skip(at_start).copied().collect();
    let (load_med, load_max) = median_max(per_update.clone());
    let (conf_med, conf_max) = median_max(confirm_ms);
    println!(
        "bundles: {} and {} bytes; {updates} updates; {} on_configure calls after start ({at_start} VMs: main thread + workers)",
        bundles[0].len(),
        bundles[1].len(),
        per_update.len(),
    );
    println!("on_configure per VM per update: median {load_med} ms, max {load_max} ms");
    println!("rename → confirmed by the admin interface: median {conf_med} ms, max {conf_max} ms");
    let shape: Vec<String> = rss.iter().map(|(n, kib)| format!("{n}: {} MiB", kib >> 10)).collect();
    println!(
        "Envoy RSS after N updates: {}; Envoy heap allocated {} MiB",
        shape.join(", "),
        allocated >> 20
    );
}
