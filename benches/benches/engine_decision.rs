//! P1 (docs/budgets.md): one engine decision, native, on the scale bundle, against a `MemoryStore`.
//!
//! `engine_decision/*` are whole decisions:
//! - `limited`: matched, authorized by a package grant, charged to a limited (multi-window) bucket —
//!   the P1 request. The clock advances one second per request so the bucket keeps admitting.
//! - `rotating_4096`: the same kind of request over 4,096 different credentials and operations
//!   (cold-ish caches, a store with 4,096 buckets). An upper bound: the 4,096 header lists are
//!   cold too, where a proxy has just parsed them.
//! - `limited_key_cache`, `rotating_4096_key_cache`: the same through `decide_cached` with a per-VM
//!   `KeyCache`, as the filter runs it (repeat callers skip SHA-256 and the credential lookup).
//! - `api_grant`: allowed by an API grant (no bucket).
//! - `unknown_key_401`, `no_match_404`, `forbidden_403`.
//!
//! `engine_parts/*` time the pieces of the `limited` decision on their own, to show where the time
//! goes (SHA-256 of the key, path canonicalization, route lookup, credential lookup — the engine's
//! prefix index and the bundle's binary search —, header lookup,
//! the token bucket and the store).
//!
//! Setup also reports P5: shared-data bytes per used (credential, bucket).

mod common;

use std::hint::black_box;
use std::time::Duration;

use acepack_benches::{Probe, Probes};
use acepack_filter::bundle::Limit;
use acepack_filter::canonical::canonicalize;
use acepack_filter::engine::{credential_digest, Decision, Engine, Headers, KeyCache};
use acepack_filter::limiter::{self, MemoryStore, Store};
use acepack_filter::matcher::{normalize_host, OperationTable};
use common::{check_probe, envoy_headers, prepare_budget_scale, request, status, store_usage};
use criterion::{criterion_group, criterion_main, Criterion};

/// A wall clock far from zero, in microseconds.
const T0: u64 = 1_700_000_000_000_000;

fn bench_whole(c: &mut Criterion, engine: &Engine, probes: &Probes) {
    let mut group = c.benchmark_group("engine_decision");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let single: [(&str, &Probe); 5] = [
        ("limited", &probes.limited),
        ("api_grant", &probes.api_grant),
        ("unknown_key_401", &probes.unknown_key),
        ("no_match_404", &probes.no_match),
        ("forbidden_403", &probes.forbidden),
    ];
    for (name, probe) in single {
        let headers = envoy_headers(probe);
        let req = request(probe, &headers);
        let mut store = MemoryStore::new();
        let mut now = T0;
        group.bench_function(name, |b| {
            b.iter(|| {
                now += 1_000_000;
                black_box(engine.decide(black_box(&req), &mut store, now))
            })
        });
        // Still the expected outcome after millions of requests (the bucket kept admitting).
        let d = engine.decide(&req, &mut store, now + 1_000_000);
        let charged = matches!(&d, Decision::Allow(a) if a.charge.is_some());
        assert_eq!(
            (status(&d), charged),
            (probe.status, probe.charged),
            "{name} after the run: {d:?}"
        );
    }

    let headers = envoy_headers(&probes.limited);
    let req = request(&probes.limited, &headers);
    let mut store = MemoryStore::new();
    let mut cache = KeyCache::new();
    let mut now = T0;
    group.bench_function("limited_key_cache", |b| {
        b.iter(|| {
            now += 1_000_000;
            black_box(engine.decide_cached(black_box(&req), &mut store, Some(&mut cache), now))
        })
    });

    let headers: Vec<Vec<(String, String)>> = probes.rotating.iter().map(envoy_headers).collect();
    let n = probes.rotating.len();
    for cached in [false, true] {
        let mut store = MemoryStore::new();
        let mut cache = KeyCache::new();
        let mut now = T0;
        let mut i = 0usize;
        let name = if cached {
            format!("rotating_{n}_key_cache")
        } else {
            format!("rotating_{n}")
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % n;
                now += 1_000;
                let req = request(&probes.rotating[i], &headers[i]);
                let cache = if cached { Some(&mut cache) } else { None };
                black_box(engine.decide_cached(black_box(&req), &mut store, cache, now))
            })
        });
    }
    group.finish();
}

fn bench_parts(c: &mut Criterion, engine: &Engine, probe: &Probe) {
    let mut group = c.benchmark_group("engine_parts");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let headers = envoy_headers(probe);
    let key = probe.key.clone().unwrap_or_default();
    let bundle = engine.bundle();

    group.bench_function("header_lookup_apikey", |b| {
        b.iter(|| black_box(Headers::get(headers.as_slice(), black_box("apikey"))))
    });
    group.bench_function("sha256_key", |b| {
        b.iter(|| black_box(credential_digest(black_box(key.as_bytes()))))
    });
    let digest = credential_digest(key.as_bytes());
    group.bench_function("credential_lookup_200k", |b| {
        b.iter(|| black_box(engine.credential(black_box(&digest))))
    });
    group.bench_function("credential_binary_search_200k", |b| {
        b.iter(|| black_box(bundle.credential(black_box(&digest))))
    });
    group.bench_function("canonicalize_path", |b| {
        b.iter(|| black_box(canonicalize(black_box(&probe.path)).canonical))
    });
    group.bench_function("normalize_host", |b| {
        b.iter(|| black_box(normalize_host(black_box(&probe.authority)).len()))
    });
    let table = OperationTable::build(bundle).expect("the scale bundle routes");
    let canon = canonicalize(&probe.path);
    let path = canon.path.to_string();
    group.bench_function("route_lookup_10k", |b| {
        b.iter(|| black_box(table.find(black_box(&probe.authority), black_box(&probe.method), black_box(&path))))
    });

    // The bucket: a two-window limit like the scale catalog's packages, a 29-byte key.
    let limits = [
        Limit {
            count: 50,
            window_seconds: 1,
        },
        Limit {
            count: 100_000,
            window_seconds: 86_400,
        },
    ];
    let bucket_key: &[u8] = b"akABCDEFGHIJKLMNOPabcdefghijk";
    let value = limiter::step(None, &limits, T0).1.expect("a fresh bucket admits");
    group.bench_function("bucket_step_pure", |b| {
        let mut now = T0;
        b.iter(|| {
            now += 1_000_000;
            black_box(limiter::step(Some(black_box(&value)), &limits, now))
        })
    });
    let mut store = MemoryStore::new();
    for i in 0..4096 {
        let _ = store.set(format!("ak{i:016}ABCDEFGHIJK").as_bytes(), &value, 0);
    }
    group.bench_function("memory_store_get_set", |b| {
        b.iter(|| {
            let (v, cas) = store.get(black_box(bucket_key)).ok().flatten().unwrap_or_default();
            black_box(store.set(bucket_key, &v, cas).ok())
        })
    });
    group.bench_function("bucket_take_memory_store", |b| {
        let mut now = T0;
        b.iter(|| {
            now += 1_000_000;
            black_box(limiter::take(&mut store, black_box(bucket_key), &limits, now).ok())
        })
    });

    group.finish();
}

fn benches(c: &mut Criterion) {
    let scale = prepare_budget_scale().expect("the scale catalog is generated and compiles");
    let engine = Engine::load(&scale.bundle).expect("the scale bundle loads");
    let p = &scale.probes;
    for (name, probe) in [
        ("limited", &p.limited),
        ("api_grant", &p.api_grant),
        ("unknown_key", &p.unknown_key),
        ("no_match", &p.no_match),
        ("forbidden", &p.forbidden),
    ] {
        check_probe(&engine, name, probe).expect("probe decides as generated");
        eprintln!(
            "acepack-benches: probe {name}: {} {} (host {}) -> {}",
            probe.method, probe.path, probe.authority, probe.status
        );
    }
    let usage = store_usage(&engine, &p.rotating, 3);
    eprintln!(
        "acepack-benches: P5: {} (credential, bucket) pairs used, {} requests ({} charged): {} keys, {} bytes of keys + values = {:.1} bytes per key (budget 96)",
        p.rotating.len(),
        usage.requests,
        usage.charged,
        usage.keys,
        usage.bytes,
        usage.bytes_per_key()
    );
    bench_whole(c, &engine, p);
    bench_parts(c, &engine, &p.limited);
}

criterion_group!(engine_decision, benches);
criterion_main!(engine_decision);
