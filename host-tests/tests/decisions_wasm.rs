//! The engine's docs/enforcement.md decision table (acepack_filter::fixture), replayed through the real
//! `acepack_filter.wasm` in the wasmtime host: same statuses, reasons, forwarded `x-ace-*`
//! headers and response headers as the native engine — plus what only the glue does (spoofed
//! headers removed, hidden credentials, metrics, bucket exactness across VMs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::time::Duration;

use acepack_filter::fixture::{self, keys, Case};
use acepack_host_tests::{filter_host, Clock, Metrics, Outcome, Request, SharedData, Vm, VmOptions};

/// The fixture table's clock: 1.8e15 µs since the epoch.
const NOW_US: u64 = 1_800_000_000_000_000;

fn vm_for(bundle: &acepack_filter::bundle::Bundle, shared: &SharedData, clock: &Clock, metrics: &Metrics) -> Vm {
    let opts = VmOptions {
        plugin_config: bundle.encode().unwrap(),
        shared: shared.clone(),
        clock: clock.clone(),
        metrics: metrics.clone(),
        ..VmOptions::default()
    };
    filter_host()
        .configured_vm(opts)
        .expect("the fixture bundle configures")
}

fn request(case: &Case) -> Request {
    let mut r = Request::new(case.method, case.path)
        .authority(case.authority)
        .source(&format!("{}:41000", case.client_ip));
    for (k, v) in case.headers {
        r = r.header(&k.to_ascii_lowercase(), v.as_bytes().to_vec());
    }
    r
}

fn check(case: &Case, out: &Outcome, sent: &Request) {
    let name = case.name;
    match case.status {
        0 => {
            assert!(out.forwarded, "{name}: passes");
            // Forwarded with nothing changed but client-sent x-ace-* headers removed.
            let expected: Vec<_> = sent
                .headers
                .iter()
                .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("x-ace-"))
                .cloned()
                .collect();
            assert_eq!(
                out.request_headers, expected,
                "{name}: forwarded untouched but for x-ace-*"
            );
        }
        200 => {
            assert!(out.forwarded, "{name}: forwarded, got {:?}", out.local_response);
            let (op, app, pkg) = case.forwarded.expect("allowed cases name their x-ace headers");
            assert_eq!(out.request_header_str("x-ace-operation-id"), Some(op), "{name}");
            assert_eq!(out.request_header_str("x-ace-application"), Some(app), "{name}");
            assert_eq!(out.request_header_str("x-ace-package"), pkg, "{name}");
            let spoofed = out
                .request_headers
                .iter()
                .filter(|(k, _)| k.starts_with("x-ace-"))
                .count();
            assert_eq!(
                spoofed,
                2 + usize::from(pkg.is_some()),
                "{name}: only the filter's x-ace headers"
            );
        }
        status => {
            let local = out
                .local_response
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: expected a local {status}"));
            assert_eq!(u32::from(status), local.status, "{name}: {} {}", case.method, case.path);
            assert_eq!(local.header_str("content-type"), Some("application/json"), "{name}");
            let body: serde_json::Value = serde_json::from_str(&local.body_str()).expect("JSON body");
            assert_eq!(body["reason"].as_str(), case.reason, "{name}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{name}");
            assert!(!out.forwarded, "{name}");
        }
    }
    for (header, value) in case.response_headers {
        assert_eq!(
            out.response_header_str(header),
            Some(*value),
            "{name}: response header {header}"
        );
    }
}

#[test]
fn decision_table_through_the_wasm() {
    let cases = fixture::cases();
    assert!(cases.len() >= 50);
    // Every case twice: as written, and with client-sent x-ace-* headers (in any case) that must
    // change nothing but never reach the upstream, whatever the decision.
    for spoofed in [false, true] {
        for case in &cases {
            let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
            clock.set(Duration::from_micros(NOW_US));
            let mut vm = vm_for(&case.setup.bundle(), &shared, &clock, &metrics);
            let mut req = request(case);
            if spoofed {
                req = req
                    .header("x-ace-application", SPOOF)
                    .header("X-Ace-Package", SPOOF)
                    .header("x-ace-operation-id", SPOOF)
                    .header("x-ace-anything", SPOOF);
            }
            for _ in 0..case.warmup {
                vm.request(&req).unwrap();
            }
            let out = vm.request(&req).unwrap();
            check(case, &out, &req);
            assert!(
                !(out.forwarded && out.request_headers.iter().any(|(_, v)| v == SPOOF.as_bytes())),
                "{}: a client-sent x-ace header reached the upstream: {:?}",
                case.name,
                out.request_headers
            );
        }
    }
}

/// The value of client-sent `x-ace-*` headers in the table's second run.
const SPOOF: &str = "sent-by-the-client";

/// Identity spoofing on the paths where the filter forwards without deciding an identity: an
/// `if_present` pass-through and a CORS preflight. The upstream sees none of the client's
/// `x-ace-*` headers, and nothing else of the request changes.
#[test]
fn spoofed_identity_headers_never_reach_the_upstream() {
    let spoofs = |r: Request| {
        r.header("x-ace-application", "acme")
            .header("X-ACE-Package", "partners")
            .header("x-ace-operation-id", "getFlights")
    };
    let mut b = fixture::bundle();
    b.enforcement.match_policy = acepack_filter::bundle::MatchPolicy::IfPresent;
    let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
    let mut vm = vm_for(&b, &shared, &clock, &metrics);
    let requests = [
        // No operation: passed through under if_present.
        spoofs(Request::get("/not-an-api").header("accept", "*/*")),
        // A CORS preflight to a known path: passed through without credentials.
        spoofs(
            Request::new("OPTIONS", "/v1/flights")
                .header("origin", "https://app.example.com")
                .header("access-control-request-method", "GET"),
        ),
        // Allowed.
        spoofs(Request::get("/v1/flights").header("apikey", keys::SOLO)),
    ];
    for (i, req) in requests.iter().enumerate() {
        let out = vm.request(req).unwrap();
        assert!(out.forwarded, "request {i}: {:?}", out.local_response);
        let ace: Vec<_> = out
            .request_headers
            .iter()
            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-ace-"))
            .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        if i < 2 {
            assert!(ace.is_empty(), "request {i}: {ace:?}");
            let kept: Vec<_> = req
                .headers
                .iter()
                .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("x-ace-"))
                .cloned()
                .collect();
            assert_eq!(out.request_headers, kept, "request {i}: nothing else changes");
        } else {
            assert_eq!(
                ace,
                [
                    ("x-ace-operation-id".to_string(), "getFlights".to_string()),
                    ("x-ace-application".to_string(), "solo".to_string()),
                    ("x-ace-package".to_string(), "partners".to_string()),
                ],
                "only the filter's own"
            );
        }
    }
    assert_eq!(vm.metrics().counter("acepack.requests_passed"), 2);
}

#[test]
fn metrics_count_every_outcome() {
    let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
    clock.set(Duration::from_micros(NOW_US));
    let mut vm = vm_for(&fixture::bundle(), &shared, &clock, &metrics);
    let ok = Request::get("/v1/flights").header("apikey", keys::ACME);
    vm.request(&ok).unwrap();
    vm.request(&Request::get("/v1/flights")).unwrap();
    vm.request(&Request::get("/nope")).unwrap();
    vm.request(&Request::get("/v1//flights")).unwrap();
    let counter = |n: &str| vm.metrics().counter(n);
    assert_eq!(counter("acepack.requests_allowed"), 1);
    assert_eq!(counter("acepack.requests_denied.unauthenticated"), 1);
    assert_eq!(counter("acepack.requests_denied.no_match"), 1);
    assert_eq!(counter("acepack.requests_denied.non_canonical"), 1);
}

#[test]
fn hidden_credentials_do_not_reach_the_upstream() {
    let mut b = fixture::bundle();
    b.enforcement.hide_credentials = true;
    let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
    let mut vm = vm_for(&b, &shared, &clock, &metrics);
    let out = vm
        .request(
            &Request::get("/v1/flights")
                .header("x-api-key", keys::ACME)
                .header("accept", "*/*"),
        )
        .unwrap();
    assert!(out.forwarded);
    assert_eq!(out.request_header("x-api-key"), None);
    assert_eq!(out.request_header_str("accept"), Some("*/*"));
    let out = vm
        .request(&Request::get("/v1/flights?x=1&apikey=acme-live-7f3a9c"))
        .unwrap();
    assert!(out.forwarded);
    assert_eq!(out.request_header_str(":path"), Some("/v1/flights?x=1"));
}

#[test]
fn buckets_are_shared_by_vms_and_survive_a_reload() {
    let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
    clock.set(Duration::from_micros(NOW_US));
    let b = fixture::bundle();
    let mut a = vm_for(&b, &shared, &clock, &metrics);
    let mut c = vm_for(&b, &shared, &clock, &metrics);
    let req = Request::get("/v1/flights").header("apikey", keys::SOLO);
    assert!(a.request(&req).unwrap().forwarded);
    assert!(c.request(&req).unwrap().forwarded);
    assert_eq!(
        a.request(&req).unwrap().status(),
        Some(429),
        "partners is 2/minute across both VMs"
    );
    // A reconfigured VM (new bundle bytes, same ids) keeps counting in the same bucket.
    let mut renamed = b.clone();
    renamed.packages[0].name = "Partners, renamed".into();
    assert!(a.reconfigure(renamed.encode().unwrap()).unwrap());
    assert_eq!(a.request(&req).unwrap().status(), Some(429));
    clock.advance(Duration::from_secs(30));
    assert!(a.request(&req).unwrap().forwarded, "one token back after 30 s");
}
