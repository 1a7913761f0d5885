//! The docs/enforcement.md decision table through the engine, on the fixture bundle (after an encode/decode round
//! trip, so the bundle format is exercised too), plus sequences the table cannot express.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use acepack_filter::bundle::Bundle;
use acepack_filter::engine::{Decision, Engine, KeyCache, Request};
use acepack_filter::fixture::{self, keys, Case};
use acepack_filter::headers::{allow_response_headers, deny_headers};
use acepack_filter::limiter::MemoryStore;

const NOW: u64 = 1_800_000_000_000_000;

fn engine(bundle: &Bundle) -> Engine {
    let bytes = bundle.encode().expect("encodes");
    Engine::load(&bytes).expect("loads")
}

fn status(d: &Decision) -> u16 {
    match d {
        Decision::Allow(_) => 200,
        Decision::Deny(d) => d.status,
        Decision::Pass => 0,
    }
}

fn run(case: &Case, cache: &mut KeyCache) {
    let e = engine(&case.setup.bundle());
    let mut store = MemoryStore::new();
    let req = Request {
        method: case.method,
        path: case.path,
        authority: case.authority,
        headers: case.headers,
        client_ip: Some(case.client_ip),
    };
    for _ in 0..case.warmup {
        e.decide_cached(&req, &mut store, Some(cache), NOW);
    }
    let d = e.decide_cached(&req, &mut store, Some(cache), NOW);
    let b = e.bundle();
    let (reason, headers) = match &d {
        Decision::Pass => (None, Default::default()),
        Decision::Allow(a) => {
            let op = b.operation_id(a.operation);
            let app = b.application_name(a.application);
            let pkg = a.package.map(|p| b.packages[p as usize].id.as_str());
            assert_eq!(Some((op, app, pkg)), case.forwarded, "{}: forwarded headers", case.name);
            (None, allow_response_headers(&e, a))
        }
        Decision::Deny(x) => (Some(x.reason.as_str()), deny_headers(&e, x)),
    };
    assert_eq!(
        (status(&d), reason),
        (case.status, case.reason),
        "{}: {} {}",
        case.name,
        case.method,
        case.path
    );
    for (name, value) in case.response_headers {
        let got = headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(got, Some(*value), "{}: header {name} in {headers:?}", case.name);
    }
}

#[test]
fn decision_table() {
    let cases = fixture::cases();
    assert!(cases.len() >= 50, "the table lost cases: {}", cases.len());
    // One key cache across the table, as one VM keeps it across requests: cached and uncached
    // lookups must decide alike (every case runs twice).
    let mut cache = KeyCache::new();
    for case in cases.iter().chain(&cases) {
        run(case, &mut cache);
    }
    assert!(
        !cache.is_empty() && cache.len() <= 4,
        "only registered keys are cached: {}",
        cache.len()
    );
}

#[test]
fn anonymous_buckets_are_per_client_address() {
    let b = fixture::Setup {
        anonymous: true,
        ..Default::default()
    }
    .bundle();
    let e = engine(&b);
    let mut store = MemoryStore::new();
    let no_headers: &[(&str, &str)] = &[];
    let at = |ip: &'static str| Request {
        method: "GET",
        path: "/v1/flights",
        authority: "h",
        headers: no_headers,
        client_ip: Some(ip),
    };
    assert_eq!(status(&e.decide(&at("10.0.0.1"), &mut store, NOW)), 200);
    assert_eq!(status(&e.decide(&at("10.0.0.1"), &mut store, NOW)), 200);
    assert_eq!(status(&e.decide(&at("10.0.0.1"), &mut store, NOW)), 429);
    assert_eq!(
        status(&e.decide(&at("10.0.0.2"), &mut store, NOW)),
        200,
        "another address has its own bucket"
    );
}

#[test]
fn package_limit_is_shared_across_its_operations_but_not_overrides() {
    let e = engine(&fixture::bundle());
    let mut store = MemoryStore::new();
    let h: &[(&str, &str)] = &[("apikey", keys::SOLO)];
    let req = |method, path| Request {
        method,
        path,
        authority: "h",
        headers: h,
        client_ip: None,
    };
    // Override bucket first: it does not touch the package bucket.
    assert_eq!(
        status(&e.decide(&req("POST", "/billing/invoices"), &mut store, NOW)),
        200
    );
    assert_eq!(
        status(&e.decide(&req("POST", "/billing/invoices"), &mut store, NOW)),
        429
    );
    // Package bucket (2/min) shared cumulatively by different operations.
    assert_eq!(status(&e.decide(&req("GET", "/v1/flights"), &mut store, NOW)), 200);
    assert_eq!(status(&e.decide(&req("GET", "/billing"), &mut store, NOW)), 200);
    assert_eq!(status(&e.decide(&req("GET", "/v1/flights/1"), &mut store, NOW)), 429);
    // Refill: one token after 30 s.
    assert_eq!(
        status(&e.decide(&req("GET", "/billing"), &mut store, NOW + 30_000_000)),
        200
    );
}

#[test]
fn buckets_survive_a_reload_and_unknown_keys_create_none() {
    let b = fixture::bundle();
    let mut store = MemoryStore::new();
    let h: &[(&str, &str)] = &[("apikey", keys::SOLO)];
    let req = Request {
        method: "GET",
        path: "/v1/flights",
        authority: "h",
        headers: h,
        client_ip: None,
    };
    engine(&b).decide(&req, &mut store, NOW);
    engine(&b).decide(&req, &mut store, NOW);
    // A recompiled bundle with the packages in another order sees the same buckets.
    let mut reordered = b.clone();
    reordered.packages.swap(1, 2);
    for app in &mut reordered.applications {
        for g in &mut app.grants {
            if let acepack_filter::bundle::Grant::Package(p) = g {
                *p = match *p {
                    1 => 2,
                    2 => 1,
                    x => x,
                };
            }
        }
    }
    assert_eq!(status(&engine(&reordered).decide(&req, &mut store, NOW)), 429);
    let keys_before = store.len();
    let bad: &[(&str, &str)] = &[("apikey", "not-registered")];
    for i in 0..100 {
        let path = format!("/v1/flights/{i}");
        let r = Request {
            method: "GET",
            path: &path,
            authority: "h",
            headers: bad,
            client_ip: None,
        };
        engine(&b).decide(&r, &mut store, NOW);
    }
    assert_eq!(store.len(), keys_before, "unknown credentials never create keys");
    // P5: key + value bytes per bucket (the sequence key is shared by all buckets).
    let buckets: Vec<_> = store.keys().filter(|k| k.starts_with(b"ak")).collect();
    assert_eq!(buckets.len(), 1);
    assert!(store.bytes() <= 96 + "acepack:seq".len(), "{} bytes", store.bytes());
}

#[test]
fn hide_credentials_names_what_to_strip() {
    use acepack_filter::engine::Hide;
    let mut b = fixture::bundle();
    b.enforcement.hide_credentials = true;
    let e = engine(&b);
    let mut store = MemoryStore::new();
    let h: &[(&str, &str)] = &[("x-api-key", keys::ACME)];
    let r = Request {
        method: "GET",
        path: "/v1/flights",
        authority: "h",
        headers: h,
        client_ip: None,
    };
    let Decision::Allow(a) = e.decide(&r, &mut store, NOW) else {
        panic!("allowed")
    };
    assert_eq!(a.hide, Some(Hide::Header("x-api-key".into())));
    let none: &[(&str, &str)] = &[];
    let r = Request {
        method: "GET",
        path: "/v1/flights?a=1&apikey=acme-live-7f3a9c&b=2",
        authority: "h",
        headers: none,
        client_ip: None,
    };
    let Decision::Allow(a) = e.decide(&r, &mut store, NOW) else {
        panic!("allowed")
    };
    assert_eq!(a.hide, Some(Hide::Path("/v1/flights?a=1&b=2".into())));
}

#[test]
fn credential_index_finds_every_key_and_nothing_else() {
    use acepack_filter::bundle::Credential;
    use acepack_filter::engine::credential_digest;
    for n in [0usize, 1, 2, 3, 100, 5000] {
        let mut b = fixture::bundle();
        b.credentials.clear();
        for i in 0..n {
            b.credentials.push(Credential {
                digest: credential_digest(format!("key-{i}").as_bytes()),
                application: (i % 5) as u32,
            });
        }
        b.credentials.sort();
        let e = engine(&b);
        for i in 0..n {
            assert_eq!(
                e.credential(&credential_digest(format!("key-{i}").as_bytes())),
                Some((i % 5) as u32),
                "n={n} i={i}"
            );
        }
        for i in 0..200 {
            assert_eq!(e.credential(&credential_digest(format!("other-{i}").as_bytes())), None);
        }
        assert_eq!(e.credential(&[0u8; 16]), None);
        assert_eq!(e.credential(&[0xffu8; 16]), None);
    }
}
