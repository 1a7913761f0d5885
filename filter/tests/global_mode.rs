//! The global rate-limit modes in the engine and the bundle (docs/global-rate-limits.md): the
//! settings round-trip through the format and bad ones are refused; in `global` mode the engine
//! admits charged requests without counting locally and names the bucket for the service; in
//! `local+global` the local bucket still decides first.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use acepack_filter::bundle::{Bundle, GlobalLimits, RateLimitMode};
use acepack_filter::engine::{credential_digest, Decision, Engine, Request};
use acepack_filter::fixture::{self, keys};
use acepack_filter::limiter::MemoryStore;

const NOW: u64 = 1_800_000_000_000_000;

fn with_global(mode: RateLimitMode) -> Bundle {
    let mut b = fixture::bundle();
    b.global = Some(GlobalLimits {
        mode,
        cluster: "rls".into(),
        domain: "acepack".into(),
        timeout_ms: 25,
        failure_allow: false,
    });
    b
}

fn decide(e: &Engine, store: &mut MemoryStore) -> Decision {
    let headers: &[(&str, &str)] = &[("apikey", keys::ACME)];
    let req = Request {
        method: "GET",
        path: "/v1/flights",
        authority: "api.example.com",
        headers,
        client_ip: None,
    };
    e.decide(&req, store, NOW)
}

#[test]
fn global_settings_round_trip_and_bad_ones_are_refused() {
    for mode in [RateLimitMode::Global, RateLimitMode::LocalGlobal] {
        let b = with_global(mode);
        let decoded = Bundle::decode(&b.encode().unwrap()).unwrap();
        assert_eq!(decoded.global, b.global);
    }
    let local = fixture::bundle();
    assert_eq!(Bundle::decode(&local.encode().unwrap()).unwrap().global, None);

    let mut bad = with_global(RateLimitMode::Global);
    bad.global.as_mut().unwrap().timeout_ms = 0;
    assert!(Bundle::decode(&bad.encode().unwrap()).is_err(), "timeout 0");
    let mut bad = with_global(RateLimitMode::Global);
    bad.global.as_mut().unwrap().cluster.clear();
    assert!(Bundle::decode(&bad.encode().unwrap()).is_err(), "empty cluster");
    let bad = with_global(RateLimitMode::Local);
    assert!(
        Bundle::decode(&bad.encode().unwrap()).is_err(),
        "mode 0 in a GLOBAL section"
    );
}

#[test]
fn global_mode_admits_without_counting_and_names_the_bucket() {
    let e = Engine::load(&with_global(RateLimitMode::Global).encode().unwrap()).unwrap();
    let mut store = MemoryStore::new();
    // `partners` allows 2/minute locally; in global mode the service decides every request.
    for _ in 0..5 {
        let Decision::Allow(a) = decide(&e, &mut store) else {
            panic!("global mode denied locally")
        };
        let charge = a.charge.expect("charged to a bucket");
        assert!(charge.outcome.windows.is_empty());
        let (credential, bucket) = e.global_descriptor(&charge);
        assert_eq!(bucket, "partners");
        let digest = credential_digest(keys::ACME.as_bytes());
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(credential, hex);
        assert!(!credential.contains(keys::ACME));
        assert_eq!(e.scope_limits(charge.scope).len(), 1);
    }
    assert!(store.is_empty(), "nothing counted in shared data");
}

#[test]
fn local_plus_global_checks_the_local_bucket_first() {
    let e = Engine::load(&with_global(RateLimitMode::LocalGlobal).encode().unwrap()).unwrap();
    let mut store = MemoryStore::new();
    let statuses: Vec<u16> = (0..7)
        .map(|_| match decide(&e, &mut store) {
            Decision::Allow(_) => 200,
            Decision::Deny(d) => d.status,
            Decision::Pass => 0,
        })
        .collect();
    // partners 2/minute, then org 3/second (the fixture's second package) — locally, as in local mode.
    let local = Engine::load(&fixture::bundle().encode().unwrap()).unwrap();
    let mut local_store = MemoryStore::new();
    let expected: Vec<u16> = (0..7)
        .map(|_| match decide(&local, &mut local_store) {
            Decision::Allow(_) => 200,
            Decision::Deny(d) => d.status,
            Decision::Pass => 0,
        })
        .collect();
    assert_eq!(statuses, expected);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2, "{statuses:?}");
    assert!(!store.is_empty());
}
