//! The real `acepack_filter.wasm` in the host: configuration faults and
//! hostile requests must never trap (docs/enforcement.md#faults), plus an end-to-end check
//! that the host and the filter agree on the ABI.
//!
//! These tests FAIL (never skip) when the `.wasm` is missing or stale:
//! `cargo build --release -p acepack-filter --target wasm32-wasip1`
//! (or point `ACEPACK_FILTER_WASM` at a build).

use std::sync::OnceLock;

use acepack_filter::fixture::{self, keys};
use acepack_host_tests::{
    cache_dir, filter_host, filter_wasm_path, Host, HostError, HostOptions, LogLevel, Outcome, Request, SharedData, Vm,
    VmOptions,
};
use proptest::prelude::*;

fn bundle() -> Vec<u8> {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    BUNDLE
        .get_or_init(|| fixture::bundle().encode().expect("the fixture bundle encodes"))
        .clone()
}

/// The filter with fuel metering, for work-bound checks (compiled once).
fn metered_host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let path = filter_wasm_path().unwrap_or_else(|e| panic!("{e}"));
        Host::load_with(
            path,
            HostOptions {
                fuel: Some(u64::MAX / 4),
                cache_dir: Some(cache_dir()),
                ..HostOptions::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn vm() -> Vm {
    filter_host()
        .configured_vm(VmOptions::with_config(bundle()))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts a VM with `config` and returns whether it accepted it; a trap fails
/// the test.
fn configures(config: &[u8]) -> bool {
    match filter_host().vm(VmOptions::with_config(config.to_vec())) {
        Ok(vm) => {
            if !vm.configured() {
                assert!(
                    vm.logs()
                        .iter()
                        .any(|l| l.level >= LogLevel::Error && l.message.contains("acepack")),
                    "a rejected configuration explains itself in the log: {:?}",
                    vm.logs()
                );
            }
            vm.configured()
        }
        Err(e) => panic!("configuration of {} bytes trapped: {e}", config.len()),
    }
}

fn api(path: impl AsRef<[u8]>) -> Request {
    Request::get(path).authority("api.example.com")
}

fn run(vm: &mut Vm, request: &Request) -> Outcome {
    vm.request(request)
        .unwrap_or_else(|e| panic!("the filter trapped on {request:?}: {e}"))
}

#[test]
fn the_wasm_is_found_or_the_test_fails_with_a_build_hint() {
    // Not a skip: without the build this panics with the hint.
    let path = filter_wasm_path().unwrap_or_else(|e| panic!("{e}"));
    assert!(path.is_file());
    let imports = filter_host().imports();
    assert!(imports.iter().any(|(m, n)| m == "env" && n == "proxy_get_shared_data"));
}

#[test]
fn end_to_end_allow_and_deny() {
    let shared = SharedData::new();
    let mut vm = filter_host()
        .configured_vm(VmOptions {
            plugin_config: bundle(),
            shared: shared.clone(),
            ..VmOptions::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(vm.logs().iter().any(|l| l.message.contains("loaded bundle")));

    let allowed = run(
        &mut vm,
        &api("/v1/flights")
            .header("apikey", keys::ACME)
            .header("x-ace-application", "spoofed"),
    );
    assert!(allowed.forwarded, "{allowed:#?}");
    assert_eq!(allowed.status(), Some(200));
    assert_eq!(allowed.request_header_str("x-ace-application"), Some("acme"));
    assert_eq!(allowed.request_header_str("x-ace-operation-id"), Some("getFlights"));
    assert!(allowed.response_header("ratelimit").is_some());
    assert!(!shared.is_empty("acepack"), "a bucket was created");

    let denied = run(&mut vm, &api("/v1/flights"));
    assert!(!denied.forwarded);
    let local = denied.local_response.as_ref().expect("a local response");
    assert_eq!(local.status, 401);
    assert!(local.body_str().contains("unauthenticated"));
    assert_eq!(denied.status(), Some(401));

    assert_eq!(vm.metrics().counter("acepack.requests_allowed"), 1);
    assert_eq!(vm.metrics().counter("acepack.requests_denied.unauthenticated"), 1);
}

#[test]
fn valid_bundle_configures_and_faulty_ones_do_not() {
    let good = bundle();
    assert!(configures(&good));
    assert!(!configures(&[]), "empty configuration");
    assert!(!configures(b"not a bundle at all"));
    assert!(!configures(b"{\"version\": 1}"));
    // Every truncation is rejected.
    let step = (good.len() / 300).max(1);
    for len in (0..good.len()).step_by(step).chain([good.len() - 1]) {
        assert!(!configures(&good[..len]), "truncated to {len} of {} bytes", good.len());
    }
    // Appended bytes: the header's length no longer matches.
    let mut longer = good.clone();
    longer.extend_from_slice(b"trailing");
    assert!(!configures(&longer), "a bundle with trailing bytes is refused");
    // Every flipped byte is refused — the body by its checksum, the header field by field —
    // except in the minor version, which a reader accepts by design (newer minors only add
    // sections it may skip).
    const MINOR_VERSION: std::ops::Range<usize> = 10..12;
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x5a;
        assert_eq!(
            configures(&bad),
            MINOR_VERSION.contains(&at),
            "byte {at} of {} flipped",
            good.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_configuration_bytes_never_trap(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(!configures(&bytes));
    }

    #[test]
    fn bundle_prefix_with_arbitrary_tail_never_traps(
        keep in 0usize..2048,
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let good = bundle();
        let mut bytes = good[..keep.min(good.len())].to_vec();
        bytes.extend_from_slice(&tail);
        configures(&bytes);
    }

    #[test]
    fn arbitrary_requests_never_trap(
        method in prop_oneof![Just(b"GET".to_vec()), Just(b"POST".to_vec()), proptest::collection::vec(any::<u8>(), 0..8)],
        path in proptest::collection::vec(any::<u8>(), 0..300),
        authority in proptest::collection::vec(any::<u8>(), 0..40),
        headers in proptest::collection::vec(
            ("[a-z0-9:-]{0,12}", proptest::collection::vec(any::<u8>(), 0..40)), 0..20),
        key in prop_oneof![Just(keys::ACME.as_bytes().to_vec()), proptest::collection::vec(any::<u8>(), 0..40)],
    ) {
        let mut vm = vm();
        let mut request = Request::new("GET", path).set_header(":method", method).set_header(":authority", authority);
        for (name, value) in headers {
            request = request.header(&name, value);
        }
        request = request.header("apikey", key);
        let out = run(&mut vm, &request);
        if let Some(local) = &out.local_response {
            prop_assert!([400, 401, 403, 404, 429, 503].contains(&local.status), "{out:?}");
        }
    }
}

#[test]
fn ten_thousand_headers_never_trap() {
    let mut vm = vm();
    let mut request = api("/v1/flights");
    for i in 0..10_000 {
        request = request.header(&format!("x-filler-{i}"), format!("value-{i}"));
    }
    let out = run(&mut vm, &request.clone());
    assert_eq!(out.status(), Some(401));
    // And with the credential last, and many x-ace-* spoofs to strip.
    let mut spoofed = request.header("apikey", keys::ACME);
    for i in 0..1_000 {
        spoofed = spoofed.header("x-ace-application", format!("spoof-{i}"));
    }
    let out = run(&mut vm, &spoofed);
    assert!(out.forwarded, "{:?}", out.local_response);
    assert_eq!(
        out.request_headers
            .iter()
            .filter(|(n, _)| n == "x-ace-application")
            .map(|(_, v)| v.as_slice())
            .collect::<Vec<_>>(),
        vec![&b"acme"[..]]
    );
}

/// Host buffers (header maps, bucket values) land in a per-VM scratch area when they fit and on
/// the heap when they do not; requests of both kinds, interleaved, must each see their own headers.
/// (`idle` is registered but has no grant: 403 shows its key was read, 401 that no key was.)
#[test]
fn header_maps_larger_and_smaller_than_the_scratch_area_interleave() {
    let mut vm = vm();
    for round in 0..20 {
        let small = run(&mut vm, &api("/v1/flights").header("apikey", keys::IDLE));
        assert_eq!(small.status(), Some(403), "round {round}");
        let mut big = api("/v1/flights").header("x-filler", "f".repeat(40 * 1024));
        if round % 2 == 0 {
            big = big.header("apikey", keys::IDLE);
        }
        let want = if round % 2 == 0 { 403 } else { 401 };
        assert_eq!(run(&mut vm, &big).status(), Some(want), "round {round}");
        assert_eq!(run(&mut vm, &api("/v1/flights")).status(), Some(401), "round {round}");
    }
}

#[test]
fn huge_paths_never_trap() {
    let mut vm = vm();
    let long_segment = format!("/v1/flights/{}", "a".repeat(64 * 1024));
    let out = run(&mut vm, &api(long_segment).header("apikey", keys::ACME));
    assert!(out.status().is_some());
    let many_segments = "/x".repeat(32 * 1024);
    run(&mut vm, &api(many_segments).header("apikey", keys::ACME));
    let dots = "/..".repeat(20 * 1024);
    run(&mut vm, &api(dots).header("apikey", keys::ACME));
    let escapes = "/%2e%2F%zz%".repeat(6 * 1024);
    run(&mut vm, &api(escapes).header("apikey", keys::ACME));
    let query = format!("/v1/flights?{}", "apikey=x&".repeat(7 * 1024));
    run(&mut vm, &api(query));
}

#[test]
fn invalid_utf8_never_traps() {
    let mut vm = vm();
    let bad = vec![0xff, 0xfe, 0x00, 0xc3, 0x28, b'a'];
    let requests = [
        api("/v1/flights").header("apikey", bad.clone()),
        api("/v1/flights").header("x-client-id", bad.clone()),
        api(&bad[..]).header("apikey", keys::ACME),
        api([b"/v1/flights/".as_slice(), &bad].concat()).header("apikey", keys::ACME),
        api("/v1/flights")
            .set_header(":authority", bad.clone())
            .header("apikey", keys::ACME),
        api("/v1/flights")
            .set_header(":method", bad.clone())
            .header("apikey", keys::ACME),
        api("/v1/flights")
            .header("apikey", keys::ACME)
            .header("x-ace-package", bad.clone()),
        Request::get("/v1/flights")
            .set_header(":authority", "")
            .header("apikey", keys::ACME),
        api("/v1/flights").header("apikey", keys::ACME).source("not an address"),
    ];
    for request in &requests {
        let out = run(&mut vm, request);
        assert!(out.status().is_some(), "{out:?}");
    }
}

#[test]
fn unknown_credentials_create_no_shared_keys() {
    let shared = SharedData::new();
    let mut vm = filter_host()
        .configured_vm(VmOptions {
            plugin_config: bundle(),
            shared: shared.clone(),
            ..VmOptions::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..500 {
        let out = run(&mut vm, &api("/v1/flights").header("apikey", format!("unknown-{i}")));
        assert_eq!(out.status(), Some(401));
    }
    assert_eq!(shared.len("acepack"), 0, "{:?}", shared.keys("acepack"));
}

#[test]
fn work_grows_linearly_with_headers_and_path_length() {
    let fuel = |request: Request| {
        let mut vm = metered_host()
            .configured_vm(VmOptions::with_config(bundle()))
            .unwrap_or_else(|e| panic!("{e}"));
        let out = vm.request(&request).unwrap_or_else(|e| panic!("{e}"));
        out.fuel_consumed.unwrap_or_default()
    };
    let with_headers = |n: usize| {
        let mut r = api("/v1/flights").header("apikey", keys::ACME);
        for i in 0..n {
            r = r.header(&format!("x-h{i}"), "v");
        }
        fuel(r)
    };
    let (h1, h2) = (with_headers(2_000), with_headers(8_000));
    assert!(
        h2 < h1 * 6,
        "4× the headers cost {:.1}× the work",
        h2 as f64 / h1 as f64
    );
    let with_path = |n: usize| fuel(api(format!("/v1/flights/{}", "a".repeat(n))).header("apikey", keys::ACME));
    let (p1, p2) = (with_path(8_000), with_path(32_000));
    assert!(p2 < p1 * 6, "4× the path cost {:.1}× the work", p2 as f64 / p1 as f64);
}

/// Guard for the helpers above, which fail a test on any `Err`: a trap is reported as one, and a
/// VM that trapped refuses every later call. The trap is forced by giving each callback barely
/// more fuel than loading the bundle takes and sending a request that needs far more.
#[test]
fn a_trap_would_be_reported_not_hidden() {
    let configure_cost = metered_host()
        .configured_vm(VmOptions::with_config(bundle()))
        .unwrap_or_else(|e| panic!("{e}"))
        .fuel_consumed()
        .expect("metered");
    let path = filter_wasm_path().unwrap_or_else(|e| panic!("{e}"));
    let starved = Host::load_with(
        path,
        HostOptions {
            fuel: Some(configure_cost * 2),
            cache_dir: Some(cache_dir()),
            ..HostOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut vm = starved
        .configured_vm(VmOptions::with_config(bundle()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!vm.failed());
    assert_eq!(vm.request(&api("/v1/flights")).unwrap().status(), Some(401));
    let expensive = api(format!("/v1/flights/{}", "%2e%2F".repeat(200_000))).header("apikey", keys::ACME);
    assert!(
        matches!(vm.request(&expensive), Err(HostError::Trap { .. })),
        "running out of fuel is a trap"
    );
    assert!(vm.failed());
    assert!(matches!(vm.request(&api("/v1/flights")), Err(HostError::VmFailed)));
}

/// The buckets refill by the host's clock: when it fails, requests are denied with 503
/// `host_unavailable` (never decided at a made-up time), and decided again once it is back.
#[test]
fn a_failing_clock_denies() {
    let clock = acepack_host_tests::Clock::new();
    let metrics = acepack_host_tests::Metrics::new();
    let mut vm = filter_host()
        .configured_vm(VmOptions {
            plugin_config: bundle(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            ..VmOptions::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let request = api("/v1/flights").header("apikey", keys::ACME);
    clock.set_failing(true);
    let out = run(&mut vm, &request);
    assert!(!out.forwarded);
    let local = out.local_response.as_ref().expect("a local response");
    assert_eq!(local.status, 503);
    assert!(
        local.body_str().contains("\"reason\":\"host_unavailable\""),
        "{}",
        local.body_str()
    );
    assert_eq!(metrics.counter("acepack.requests_denied.host_unavailable"), 1);
    clock.set_failing(false);
    assert!(run(&mut vm, &request).forwarded);
}

#[test]
fn the_first_insert_race_can_be_forced_and_admits_exactly_the_limit() {
    // `solo` has 2 requests/minute on `partners`. VM A creates the bucket; VM B
    // is made to see it missing and takes the creation path too. A filter that
    // inserted with CAS 0 would replace A's bucket and admit 3.
    let shared = SharedData::new();
    let opts = VmOptions {
        plugin_config: bundle(),
        shared: shared.clone(),
        ..VmOptions::default()
    };
    let mut a = filter_host()
        .configured_vm(opts.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut b = filter_host().configured_vm(opts).unwrap_or_else(|e| panic!("{e}"));
    let request = api("/v1/flights").header("x-api-key", keys::SOLO);
    let mut admitted = usize::from(run(&mut a, &request).forwarded);
    shared.stale_reads(1);
    admitted += usize::from(run(&mut b, &request).forwarded);
    assert_eq!(shared.pending_stale_reads(), 0, "B's read of A's bucket was stale");
    admitted += usize::from(run(&mut a, &request).forwarded);
    admitted += usize::from(run(&mut b, &request).forwarded);
    admitted += usize::from(run(&mut a, &request).forwarded);
    assert_eq!(admitted, 2);
}
