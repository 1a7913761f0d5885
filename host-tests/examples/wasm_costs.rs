//! P4 and the per-request cost of the real `.wasm` in the wasmtime host, measured (not asserted):
//!
//! ```text
//! cargo run --release -p acepack-host-tests --example wasm_costs -- [BUNDLE] [APIKEY PATH] [--fuel-only]
//! ```
//!
//! BUNDLE defaults to `target/scale/scale.bundle` (written by `cargo bench -p acepack-benches` or
//! `scripts/gen-scale-catalog --compile`). Prints the median time of the first `on_configure` of
//! fresh VMs (P4), of reconfiguring a running VM, and of one allowed request through the filter.
//! Without APIKEY/PATH, the request part uses the fixture bundle. First it prints the guest work of
//! a first `on_configure` in wasm instructions (fuel); `--fuel-only` stops there. At the end it
//! prints the guest work of one warm request between consecutive host calls (`--trace-only`: just
//! that, for the request given or the fixture's).

use std::time::{Duration, Instant};

use acepack_filter::fixture::{self, keys};
use acepack_host_tests::{filter_host, filter_wasm_path, Host, HostOptions, Request, VmOptions};

/// `median M ms (min A, max B)` of samples.
fn ms_summary(samples: &[Duration]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.1} ms (min {:.1}, max {:.1})",
        ms(median(samples.to_vec())),
        ms(samples.iter().min().copied().unwrap_or_default()),
        ms(samples.iter().max().copied().unwrap_or_default()),
    )
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The filter in a host that meters fuel (≈ wasm instructions executed by the guest).
fn metered_host() -> Host {
    Host::load_with(
        filter_wasm_path().expect("the filter wasm"),
        HostOptions {
            fuel: Some(u64::MAX / 4),
            ..HostOptions::default()
        },
    )
    .expect("compiles")
}

/// The first `on_configure` of a fresh VM counted in wasm instructions: repeatable on a busy
/// machine, so two builds can be compared where milliseconds are too noisy.
fn p4_fuel(bundle: &[u8]) {
    let metered = metered_host();
    let mut vm = metered.vm(VmOptions::default()).expect("a VM starts");
    assert!(vm.reconfigure(bundle.to_vec()).expect("no trap"), "configures");
    println!(
        "P4 guest work of a first on_configure: {} wasm instructions (fuel)",
        vm.fuel_consumed().unwrap_or_default()
    );
}

fn main() {
    let (flags, args): (Vec<String>, Vec<String>) = std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let fuel_only = flags.iter().any(|f| f == "--fuel-only");
    let trace_only = flags.iter().any(|f| f == "--trace-only");
    let path = args
        .first()
        .cloned()
        .unwrap_or_else(|| "target/scale/scale.bundle".into());
    let host = filter_host();
    match std::fs::read(&path) {
        Ok(_) if trace_only => {}
        Ok(bundle) => {
            p4_fuel(&bundle);
            if fuel_only {
                return;
            }
            // P4 as Envoy pays it: the first `on_configure` of a fresh VM (each sample a new VM that
            // first refused an empty configuration, so instantiation is not timed).
            let first: Vec<Duration> = (0..9)
                .map(|_| {
                    let mut vm = host.vm(VmOptions::default()).expect("a VM starts");
                    let t = Instant::now();
                    assert!(vm.reconfigure(bundle.clone()).expect("no trap"), "configures");
                    t.elapsed()
                })
                .collect();
            println!(
                "P4 on_configure, {} ({} bytes), first of {} fresh VMs: {}",
                path,
                bundle.len(),
                first.len(),
                ms_summary(&first)
            );
            // A reload on a running VM also frees the previous engine.
            let mut vm = host
                .configured_vm(VmOptions::with_config(bundle.clone()))
                .expect("the bundle configures");
            println!(
                "   linear memory of a configured VM: {:.1} MiB",
                vm.memory_size() as f64 / (1024.0 * 1024.0)
            );
            let times: Vec<Duration> = (0..9)
                .map(|_| {
                    let t = Instant::now();
                    assert!(vm.reconfigure(bundle.clone()).expect("no trap"), "configures");
                    t.elapsed()
                })
                .collect();
            println!(
                "   reconfigure of a running VM (drops the previous engine too): {}",
                ms_summary(&times)
            );
        }
        Err(e) => println!("P4 skipped: {path}: {e} (generate it with scripts/gen-scale-catalog --compile)"),
    }
    let (config, key, req_path) = match (args.get(1), args.get(2)) {
        (Some(k), Some(p)) => (std::fs::read(&path).unwrap_or_default(), k.clone(), p.clone()),
        _ => {
            let mut b = fixture::bundle();
            b.packages[0].limits[0].count = 1_000_000_000;
            (
                b.encode().expect("encodes"),
                keys::SOLO.to_owned(),
                "/v1/flights/1".to_owned(),
            )
        }
    };
    let req = Request::get(req_path.as_bytes())
        .header("apikey", key.into_bytes())
        .header("user-agent", "bench");
    if trace_only {
        trace(&config, &req);
        return;
    }
    let mut vm = host
        .configured_vm(VmOptions::with_config(config.clone()))
        .expect("configures");
    let first = vm.request(&req).expect("no trap");
    assert_eq!(
        first.status(),
        Some(200),
        "the measured request must be allowed: {:?}",
        first.local_response
    );
    let mut samples = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        for _ in 0..500 {
            vm.request(&req).expect("no trap");
        }
        samples.push(t.elapsed() / 500);
    }
    println!(
        "allowed + charged request through the wasm in the wasmtime host: median {:.2} µs (host included; \
         a debug build of the host is dominated by the host itself)",
        median(samples).as_secs_f64() * 1e6
    );
    // Fuel ≈ wasm instructions executed by the guest: repeatable whatever the machine is doing.
    let metered = metered_host();
    let mut vm = metered
        .configured_vm(VmOptions::with_config(config.clone()))
        .expect("configures");
    let fuel: Vec<u64> = (0..5)
        .filter_map(|_| vm.request(&req).expect("no trap").fuel_consumed)
        .collect();
    println!(
        "guest work per allowed + charged request: {:?} wasm instructions (fuel), first = cold caches",
        fuel
    );
    trivial_fuel(&req);
    trace(&config, &req);
}

/// One warm request's guest work between consecutive events (callback entry, host call, return).
fn trace(config: &[u8], req: &Request) {
    let host = Host::load_with(
        filter_wasm_path().expect("the filter wasm"),
        HostOptions {
            fuel: Some(u64::MAX / 4),
            fuel_trace: true,
            ..HostOptions::default()
        },
    )
    .expect("compiles");
    let mut vm = host
        .configured_vm(VmOptions::with_config(config.to_vec()))
        .expect("configures");
    for _ in 0..3 {
        vm.request(req).expect("no trap");
    }
    println!("guest work of one warm request, between events (wasm instructions):");
    let marks = vm.fuel_trace();
    let mut total = 0;
    for pair in marks.windows(2) {
        let [(from, before), (to, after)] = pair else { continue };
        if *from == "(return)" {
            continue;
        }
        let used = before.saturating_sub(*after);
        total += used;
        println!("  {used:>6}  {from} → {to}");
    }
    println!("  {total:>6}  total");
}

/// The same request through P2's reference filter (three header reads), for scale: what acepack's
/// own guest work adds to proxy-wasm's fixed cost. Skipped, and said, when that wasm is not built.
fn trivial_fuel(req: &Request) {
    let Some(path) = filter_wasm_path()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("acepack_trivial_filter.wasm")))
        .filter(|p| p.exists())
    else {
        println!("trivial filter: not built (cargo build --release -p acepack-trivial-filter --target wasm32-wasip1)");
        return;
    };
    let host = Host::load_with(
        &path,
        HostOptions {
            fuel: Some(u64::MAX / 4),
            ..HostOptions::default()
        },
    )
    .expect("the trivial filter compiles");
    let mut vm = host.configured_vm(VmOptions::default()).expect("configures");
    let fuel: Vec<u64> = (0..5)
        .filter_map(|_| vm.request(req).expect("no trap").fuel_consumed)
        .collect();
    println!("guest work per request of the trivial filter: {fuel:?} wasm instructions (fuel)");
}
