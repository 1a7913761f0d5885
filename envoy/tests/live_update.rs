//! Live updates through file-based ECDS (docs/envoy.md, "Live updates"): new bundles renamed into
//! the watched directory reach a running Envoy without a restart, with the guarantees the docs
//! list — tested here under load, with a corrupt bundle, across 1,000 updates and across a new
//! filter build.
//!
//! Bundles A and B (`tests/data/live-a.yaml`, `live-b.yaml`) differ only in one application:
//! A registers `leaving` (key `k-leaving`), B revokes it and registers `arriving` (`k-arriving`).
//! Both hold `steady-app` (3/hour, exhausted before the updates) and four `load-N` applications.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acepack_compiler::envoy_filter::PluginConfiguration;
use acepack_envoy::artifacts::{self, Artifacts};
use acepack_envoy::expect::denied;
use acepack_envoy::live::{typed_config, LiveEnvoy};
use acepack_envoy::scenario::echoed;
use acepack_envoy::{EchoUpstream, Request, WorkDir};

struct Setup {
    a: Vec<u8>,
    b: Vec<u8>,
    live: LiveEnvoy,
    _upstream: EchoUpstream,
    _dir: WorkDir,
}

fn setup(name: &str) -> Setup {
    setup_with(name, &Artifacts::locate().wasm)
}

fn setup_with(name: &str, wasm: &std::path::Path) -> Setup {
    let dir = WorkDir::new(name);
    let data = artifacts::test_data();
    let a = artifacts::compile_catalog(&data.join("live-a.yaml"), &dir.join("a.acepack"));
    let b = artifacts::compile_catalog(&data.join("live-b.yaml"), &dir.join("b.acepack"));
    let routes = std::fs::read_to_string(data.join("routes.yaml")).unwrap();
    let upstream = EchoUpstream::start();
    let live = LiveEnvoy::start(&dir, wasm, &a, &routes, &upstream);
    Setup {
        a,
        b,
        live,
        _upstream: upstream,
        _dir: dir,
    }
}

fn get(key: &str) -> Request {
    Request::get("/v1/flights").header("apikey", key)
}

/// Uses up steady-app's 3/hour.
fn exhaust_steady(live: &LiveEnvoy) {
    for _ in 0..3 {
        let r = live.envoy.send(&get("k-steady"));
        assert_eq!(r.status, 200, "{}", r.summary());
    }
    denied(&live.envoy.send(&get("k-steady")), 429, "rate_limited");
}

fn median_max(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() - 1])
}

#[test]
fn fifty_updates_under_load_keep_buckets_and_enforce_from_the_first_request() {
    let s = setup("live-load");
    let live = &s.live;
    exhaust_steady(live);
    let addr = live.envoy.addr();

    // Four clients, one key each, ≈ 75 requests/s each, for as long as the updates run. Every
    // response must be a decision: both bundles admit these keys, so every one is a 200.
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (1..=4)
        .map(|n| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut sent, mut failures) = (0u64, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match get(&format!("k-load-{n}")).send(addr) {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => failures.push(r.summary()),
                        Err(e) => failures.push(format!("I/O error: {e}")),
                    }
                    sent += 1;
                    std::thread::sleep(Duration::from_millis(13));
                }
                (sent, failures)
            })
        })
        .collect();

    let started = Instant::now();
    let mut to_enforcement = Vec::new();
    let mut rewrites = 0;
    for i in 0..50 {
        // Even updates publish B (revoke k-leaving, admit k-arriving), odd ones A (the reverse).
        let (bundle, gone, arrived) = if i % 2 == 0 {
            (&s.b, "k-leaving", "k-arriving")
        } else {
            (&s.a, "k-arriving", "k-leaving")
        };
        let renamed = Instant::now();
        let published = std::thread::scope(|scope| {
            let publisher = scope.spawn(|| live.publish(bundle));
            // From the rename on, probe until a worker decides with the new bundle.
            loop {
                let r = live.envoy.send(&get(arrived));
                if r.status == 200 {
                    to_enforcement.push(renamed.elapsed());
                    break;
                }
                assert!(
                    renamed.elapsed() < Duration::from_secs(20),
                    "update {i} never took effect"
                );
            }
            publisher.join().unwrap()
        });
        let p = published.unwrap_or_else(|e| panic!("update {i}: {e}"));
        rewrites += p.writes - 1;
        // Applied: from the first request on, on every worker (several connections), the new
        // bundle decides.
        for _ in 0..4 {
            denied(&live.envoy.send(&get(gone)), 401, "invalid_credential");
            let r = live.envoy.send(&get(arrived));
            assert_eq!(r.status, 200, "update {i}: {}", r.summary());
            assert_eq!(echoed(&r).header("x-ace-application"), Some(&arrived["k-".len()..]));
        }
        // The exhausted bucket, present in both bundles, stays exhausted.
        denied(&live.envoy.send(&get("k-steady")), 429, "rate_limited");
        // Updates a little apart, so that the load runs between them too.
        std::thread::sleep(Duration::from_millis(40));
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for c in clients {
        let (sent, failures) = c.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} failed requests, first: {}",
            failures.len(),
            failures[0]
        );
        // Not a speed check: each client kept sending through the updates.
        assert!(sent >= 50, "a client sent only {sent} requests");
        total += sent;
    }
    let (median, max) = median_max(to_enforcement);
    println!(
        "50 updates in {elapsed:?} under {total} requests ({:.0}/s): rename → first request decided by the new bundle: median {median:?}, max {max:?}; {rewrites} update(s) renamed in again",
        total as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(live.counter("config_rejected"), 0);
}

#[test]
fn a_corrupt_bundle_is_rejected_and_the_previous_one_keeps_serving() {
    let s = setup("live-reject");
    let live = &s.live;
    exhaust_steady(live);

    // The JSON form ({"bundle": "<base64>"}, as Istio and Envoy Gateway pass it) is accepted too.
    let json = typed_config(&s.b, PluginConfiguration::Json, &live.wasm);
    live.publish_typed(&json).unwrap_or_else(|e| panic!("{e}"));
    let r = live.envoy.send(&get("k-arriving"));
    assert_eq!(r.status, 200, "bundle B from JSON: {}", r.summary());
    denied(&live.envoy.send(&get("k-leaving")), 401, "invalid_credential");
    denied(&live.envoy.send(&get("k-steady")), 429, "rate_limited");

    let before = live.counter("config_rejected");
    let mut corrupt = s.a.clone();
    let n = corrupt.len();
    corrupt[n / 2] ^= 0x5a;
    let bad_json = serde_json::json!({ "bundle": "not base64!" }).to_string();
    // A client keeps sending while the bad versions are tried: B decides every request.
    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let (stop, addr) = (stop.clone(), live.envoy.addr());
        std::thread::spawn(move || {
            let mut failures = Vec::new();
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) {
                match get("k-arriving").send(addr) {
                    Ok(r) if r.status == 200 => {}
                    Ok(r) => failures.push(r.summary()),
                    Err(e) => failures.push(format!("I/O error: {e}")),
                }
                sent += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            (sent, failures)
        })
    };
    for (what, typed) in [
        (
            "corrupt bytes",
            typed_config(&corrupt, PluginConfiguration::Bytes, &live.wasm),
        ),
        (
            "truncated",
            typed_config(&s.a[..n / 3], PluginConfiguration::Bytes, &live.wasm),
        ),
        ("bad JSON form", {
            let mut t = typed_config(&s.a, PluginConfiguration::Json, &live.wasm);
            t["config"]["configuration"]["value"] = bad_json.clone().into();
            t
        }),
    ] {
        let e = live.publish_typed(&typed).expect_err(what);
        assert!(e.to_string().contains("rejected"), "{what}: {e}");
        // The previous resource file is back and B keeps serving.
        let r = live.envoy.send(&get("k-arriving"));
        assert_eq!(r.status, 200, "{what}: {}", r.summary());
        denied(&live.envoy.send(&get("k-steady")), 429, "rate_limited");
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, failures) = client.join().unwrap();
    assert!(
        sent > 0 && failures.is_empty(),
        "{} of {sent} failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(live.counter("config_rejected"), before + 3);
    let log = live.envoy.log();
    assert!(
        log.contains("acepack: configuration rejected, invalid bundle"),
        "{}",
        log
    );
    assert!(log.contains("JSON plugin configuration"), "{}", log);
    assert!(!log.to_ascii_lowercase().contains("panicked"));
    let restored = std::fs::read_to_string(live.dir.join("e2e-plugin.json")).unwrap();
    assert!(restored.contains("StringValue"), "the JSON-form resource was restored");
}

#[test]
fn shared_data_stays_bounded_across_1000_updates() {
    let s = setup("live-1000");
    let live = &s.live;
    exhaust_steady(live);
    // Every update alternates A and B and then sends one request per key of both bundles: the
    // keys of revoked credentials must not come back, stable keys must not be re-created.
    let keys = ["k-steady", "k-load-1", "k-leaving", "k-arriving"];
    let mut after_first_round = None;
    let started = Instant::now();
    let mut memory = Vec::new();
    for i in 0..1000 {
        let bundle = if i % 2 == 0 { &s.b } else { &s.a };
        live.publish(bundle).unwrap_or_else(|e| panic!("update {i}: {e}"));
        for k in keys {
            let r = live.envoy.send(&get(k));
            assert!(matches!(r.status, 200 | 401 | 429), "update {i}, {k}: {}", r.summary());
        }
        if i == 1 {
            after_first_round = Some((
                live.counter("shared_data_keys_created"),
                live.counter("shared_data_bytes_created"),
            ));
        }
        if i == 99 || i == 999 {
            let m = live.envoy.admin("/memory").json();
            memory.push(m["allocated"].as_str().unwrap_or("0").parse::<u64>().unwrap_or(0));
        }
    }
    let (keys_2, bytes_2) = after_first_round.unwrap();
    let (keys_end, bytes_end) = (
        live.counter("shared_data_keys_created"),
        live.counter("shared_data_bytes_created"),
    );
    println!(
        "1000 updates in {:?}: shared-data bucket keys {keys_end} ({bytes_end} bytes of keys and values), Envoy heap allocated {} MiB after 100 updates, {} MiB after 1000",
        started.elapsed(),
        memory[0] >> 20,
        memory[1] >> 20
    );
    // One bucket per credential that was used while registered: steady, load-1, leaving, arriving.
    assert_eq!(keys_2, 4, "one key per used (credential, bucket)");
    assert_eq!(
        (keys_end, bytes_end),
        (keys_2, bytes_2),
        "no key created by the later 998 updates"
    );
    denied(&live.envoy.send(&get("k-steady")), 429, "rate_limited");
}

/// `wasm` with a custom section appended: different code (another module hash, so Envoy builds a
/// new VM) that behaves the same.
fn rebuilt(wasm: &[u8]) -> Vec<u8> {
    let name = b"acepack-upgrade-test";
    let payload = b"a different build";
    let size = 1 + name.len() + payload.len();
    assert!(size < 128);
    let mut out = wasm.to_vec();
    out.extend_from_slice(&[0, size as u8, name.len() as u8]);
    out.extend_from_slice(name);
    out.extend_from_slice(payload);
    out
}

/// The old build is this build, or the one `ACEPACK_OLD_FILTER_WASM` names — for example a build
/// from before the bucket value's version byte, to see the encoding upgrade in Envoy (the
/// encoding itself is tested in the filter's limiter tests). The new build is this one with a
/// custom section appended, so the code always differs.
#[test]
fn a_new_filter_build_with_the_same_vm_id_keeps_the_buckets() {
    let a = Artifacts::locate();
    let dir = WorkDir::new("live-upgrade-code");
    let old = dir.join("old.wasm");
    let old_build = std::env::var_os("ACEPACK_OLD_FILTER_WASM").map_or(a.wasm.clone(), Into::into);
    std::fs::copy(&old_build, &old).unwrap_or_else(|e| panic!("{}: {e}", old_build.display()));
    let s = setup_with("live-upgrade", &old);
    let live = &s.live;
    exhaust_steady(live);
    let vms_before = live.envoy.stat("wasm.envoy.wasm.runtime.v8.created").unwrap_or(0);

    let new = dir.join("new.wasm");
    std::fs::write(&new, rebuilt(&std::fs::read(&a.wasm).unwrap())).unwrap();
    live.publish_typed(&typed_config(&s.b, PluginConfiguration::Bytes, &new))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        live.envoy.stat("wasm.envoy.wasm.runtime.v8.created").unwrap_or(0) > vms_before,
        "the new code runs in new VMs"
    );
    let r = live.envoy.send(&get("k-arriving"));
    assert_eq!(r.status, 200, "{}", r.summary());
    // Shared data belongs to the vm_id, not to the code: the exhausted bucket stays exhausted.
    denied(&live.envoy.send(&get("k-steady")), 429, "rate_limited");
}
