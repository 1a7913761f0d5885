//! `scale-probe COMMAND`: a small driver over the cached scale bundle (see
//! `acepack_benches::prepare_budget_scale`) for profilers and one-off measurements.
//!
//! - `decide VARIANT N [cache]`: decides one probe N times (VARIANT: limited, api_grant,
//!   unknown_key, no_match, forbidden, rotating), the clock advancing one second per request, with
//!   a per-VM `KeyCache` when `cache` is given — run it under `valgrind --tool=callgrind` to see
//!   where a decision's time goes;
//! - `p5 [ROUNDS]`: shared-data bytes per used (credential, bucket) after every rotating probe
//!   was decided ROUNDS times (default 3);
//! - `route N`: the limited probe's route lookup alone (host, method, canonical path), N times;
//! - `cold N [MIB]`: the limited probe decided N times (key cache on) with the CPU caches and TLB
//!   flushed before each by a walk through MIB (default 64) MiB of other memory, as Envoy's own work
//!   between two requests does; the median time of the decision, and of its route lookup alone (and
//!   of that lookup's two parts, the path scan and the table lookup), cold and warm, and of the same
//!   lookup in the 7-operation fixture's table (the same code, almost no data) — how much of a
//!   decision's cost is its code and data footprint;
//! - `load N`: `Engine::load` of the scale bundle N times;
//! - `compile`: compile the scale catalog in process once (for a profiler);
//! - `check`: every probe (also the 4,096 rotating ones) decides as the generator expects.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

#[path = "../benches/common/mod.rs"]
mod common;

use acepack_benches::Probe;
use acepack_filter::engine::KeyCache;
use acepack_filter::limiter::MemoryStore;
use acepack_filter::Engine;
use common::{check_probe, compile, envoy_headers, prepare_budget_scale, request, section_sizes, store_usage};

const USAGE: &str =
    "usage: scale-probe decide VARIANT N [cache] | p5 [ROUNDS] | route N | cold N [MIB] | load N | compile | check";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = match prepare_budget_scale() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scale-probe: {e}");
            return ExitCode::from(1);
        }
    };
    let t = Instant::now();
    let engine = match Engine::load(&scale.bundle) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("scale-probe: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("scale-probe: loaded in {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let n = |i: usize, default: usize| args.get(i).and_then(|v| v.parse::<usize>().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("decide") => {
            let p = &scale.probes;
            let probes: Vec<Probe> = match args.get(1).map(String::as_str) {
                Some("limited") => vec![p.limited.clone()],
                Some("api_grant") => vec![p.api_grant.clone()],
                Some("unknown_key") => vec![p.unknown_key.clone()],
                Some("no_match") => vec![p.no_match.clone()],
                Some("forbidden") => vec![p.forbidden.clone()],
                Some("rotating") => p.rotating.clone(),
                _ => return usage(),
            };
            let count = n(2, 1_000_000);
            let headers: Vec<Vec<(String, String)>> = probes.iter().map(envoy_headers).collect();
            let mut store = MemoryStore::new();
            let mut cache = (args.get(3).map(String::as_str) == Some("cache")).then(KeyCache::new);
            let mut now = 1_000_000_000_000u64;
            let t = Instant::now();
            for i in 0..count {
                let k = i % probes.len();
                black_box(engine.decide_cached(&request(&probes[k], &headers[k]), &mut store, cache.as_mut(), now));
                now += 1_000_000;
            }
            let ns = t.elapsed().as_nanos() as f64 / count.max(1) as f64;
            println!("{count} decisions, {ns:.1} ns each (mean, including the loop)");
        }
        Some("p5") => {
            let rounds = n(1, 3);
            let u = store_usage(&engine, &scale.probes.rotating, rounds);
            println!(
                "P5: {} requests ({} charged) over {} (credential, bucket) pairs: {} keys, {} bytes of keys and values, {:.1} bytes per key",
                u.requests,
                u.charged,
                scale.probes.rotating.len(),
                u.keys,
                u.bytes,
                u.bytes_per_key()
            );
        }
        Some("route") => {
            let count = n(1, 1_000_000);
            let p = &scale.probes.limited;
            let table = match acepack_filter::matcher::OperationTable::build(engine.bundle()) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("scale-probe: {e}");
                    return ExitCode::from(1);
                }
            };
            let canon = acepack_filter::canonical::canonicalize(&p.path);
            let t = Instant::now();
            for _ in 0..count {
                black_box(table.find(black_box(&p.authority), black_box(&p.method), black_box(&canon.path)));
            }
            println!(
                "{count} routes, {:.1} ns each",
                t.elapsed().as_nanos() as f64 / count.max(1) as f64
            );
        }
        Some("cold") => {
            let count = n(1, 2_000);
            let mut flush = vec![0u64; n(2, 64) << 17];
            let p = &scale.probes.limited;
            let headers = envoy_headers(p);
            let table = match acepack_filter::matcher::OperationTable::build(engine.bundle()) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("scale-probe: {e}");
                    return ExitCode::from(1);
                }
            };
            let mut store = MemoryStore::new();
            let mut cache = KeyCache::new();
            let mut now = 1_000_000_000_000u64;
            let mut decide = || {
                now += 1_000_000;
                black_box(engine.decide_cached(&request(p, &headers), &mut store, Some(&mut cache), now));
            };
            let route = || {
                let canon = acepack_filter::canonical::canonicalize(black_box(&p.path));
                black_box(table.find(black_box(&p.authority), black_box(&p.method), &canon.path));
            };
            decide();
            let mut evict = |round: u64| {
                // A read-modify-write per cache line: the lines become dirty, so they are really evicted.
                for line in flush.chunks_mut(8) {
                    if let Some(w) = line.first_mut() {
                        *w = w.wrapping_add(round);
                    }
                }
                black_box(&flush);
            };
            let mut time = |cold: bool, f: &mut dyn FnMut()| {
                let mut ns: Vec<u128> = (0..count as u64)
                    .map(|round| {
                        if cold {
                            evict(round);
                        }
                        let t = Instant::now();
                        f();
                        t.elapsed().as_nanos()
                    })
                    .collect();
                ns.sort_unstable();
                ns.get(ns.len() / 2).copied().unwrap_or(0)
            };
            let warm_decide = time(false, &mut decide);
            let cold_decide = time(true, &mut decide);
            let warm_route = time(false, &mut { route });
            let cold_route = time(true, &mut { route });
            let canonical = acepack_filter::canonical::canonicalize(&p.path);
            let scan = || {
                black_box(acepack_filter::canonical::canonicalize(black_box(&p.path)));
            };
            let find = || {
                black_box(table.find(
                    black_box(&p.authority),
                    black_box(&p.method),
                    black_box(&canonical.path),
                ));
            };
            let (warm_scan, cold_scan) = (time(false, &mut { scan }), time(true, &mut { scan }));
            let (warm_find, cold_find) = (time(false, &mut { find }), time(true, &mut { find }));
            let fixture_table = match acepack_filter::matcher::OperationTable::build(&acepack_filter::fixture::bundle())
            {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("scale-probe: {e}");
                    return ExitCode::from(1);
                }
            };
            let fixture_route = || {
                let canon = acepack_filter::canonical::canonicalize(black_box("/v1/flights/KA0284"));
                black_box(fixture_table.find(black_box("api.example.com"), black_box("GET"), &canon.path));
            };
            let cold_fixture = time(true, &mut { fixture_route });
            let warm_fixture = time(false, &mut { fixture_route });
            let empty = time(true, &mut || {});
            println!("medians of {count}, ns (timer alone after a flush: {empty}):");
            println!("  decision (limited, key cache)  warm {warm_decide:>6}  cold {cold_decide:>6}");
            println!("  of which route lookup          warm {warm_route:>6}  cold {cold_route:>6}");
            println!("    path scan alone              warm {warm_scan:>6}  cold {cold_scan:>6}");
            println!("    table lookup alone           warm {warm_find:>6}  cold {cold_find:>6}");
            println!("  route lookup, fixture's table  warm {warm_fixture:>6}  cold {cold_fixture:>6}  (7 operations: the same code, almost no data)");
        }
        Some("load") => {
            let count = n(1, 10);
            let t = Instant::now();
            for _ in 0..count {
                black_box(Engine::load(black_box(&scale.bundle)).is_ok());
            }
            println!(
                "{count} loads, {:.2} ms each",
                t.elapsed().as_secs_f64() * 1e3 / count.max(1) as f64
            );
        }
        Some("compile") => match compile(&scale.catalog) {
            Ok((_, times)) => println!("{times}"),
            Err(e) => {
                eprintln!("scale-probe: {e}");
                return ExitCode::from(1);
            }
        },
        Some("check") => {
            let p = &scale.probes;
            let named = [
                ("limited", &p.limited),
                ("api_grant", &p.api_grant),
                ("unknown_key", &p.unknown_key),
                ("no_match", &p.no_match),
                ("forbidden", &p.forbidden),
            ];
            let mut failed = 0;
            for (name, probe) in named.into_iter().chain(p.rotating.iter().map(|r| ("rotating", r))) {
                if let Err(e) = check_probe(&engine, name, probe) {
                    eprintln!("scale-probe: {e}");
                    failed += 1;
                }
            }
            for (name, size) in section_sizes(&scale.bundle) {
                println!("  {name:<13} {size:>9} bytes");
            }
            println!(
                "bundle {} bytes; {} probes checked, {failed} failed",
                scale.bundle.len(),
                5 + p.rotating.len()
            );
            if failed > 0 {
                return ExitCode::from(1);
            }
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}
