//! The fuzz target for the bundle decoder, the engine build and the decision (docs/budgets.md R2):
//! property tests on stable Rust (`cargo fuzz` needs nightly). Every generated bundle passes the
//! header — current major version, correct length and checksum — so the bytes reach the section
//! decoders, and whatever they accept is built into an engine that then decides requests.
//!
//! The properties: nothing panics; a decoded bundle encodes back to exactly the bytes it came from
//! (when it has no unknown sections); an engine either builds or gives an error; a decision is
//! one of the documented outcomes.
//!
//! Runs with the normal tests at a few hundred cases per property. A long run:
//!
//! ```text
//! PROPTEST_CASES=200000 cargo test -p acepack-filter --release --test fuzz_decoder
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use acepack_filter::bundle::{
    Api, Application, Bundle, Credential, Enforcement, Grant, Limit, MatchPolicy, Method, Package, PackageOperation,
    RateLimitHeaders, Strategy as AuthStrategy, StrategyKind, MAJOR, MINOR,
};
use acepack_filter::engine::{credential_digest, Decision, Engine, KeyCache, Request};
use acepack_filter::fixture;
use acepack_filter::limiter::MemoryStore;
use common::{frame, sections, CURRENT_MINOR};
use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES`, else 256.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        // Failures are reported as found; a long run should not spend its time shrinking.
        max_shrink_iters: 2048,
        ..ProptestConfig::default()
    }
}

const KEYS: [&str; 4] = ["k0", "k1", "k2", fixture::keys::ACME];

/// Pieces of path templates and request paths, chosen for what routers and canonicalization
/// care about.
fn path_piece() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("/"),
        Just("/{}"),
        Just("{}"),
        Just("a"),
        Just("b.json"),
        Just("{"),
        Just("}"),
        Just("*"),
        Just("{*x}"),
        Just(":id"),
        Just("%2F"),
        Just("%25"),
        Just("."),
        Just(".."),
        Just(";"),
        Just("é"),
        Just("\\"),
        Just("//"),
    ]
}

/// Mostly templates a compiler could write (so bundles get past the decoder), sometimes hostile.
fn template() -> impl Strategy<Value = String> {
    let clean = prop_oneof![
        Just("/"),
        Just("/{}"),
        Just("/a"),
        Just("/b.json"),
        Just("/{}.json"),
        Just("/é")
    ];
    prop_oneof![
        9 => proptest::collection::vec(clean, 0..6).prop_map(|p| if p.is_empty() { "/".to_string() } else { p.concat() }),
        1 => proptest::collection::vec(path_piece(), 0..8).prop_map(|p| format!("/{}", p.concat())),
    ]
}

fn limits() -> impl Strategy<Value = Vec<Limit>> {
    proptest::collection::vec(
        (
            prop_oneof![Just(0u64), 1u64..5, Just(u64::MAX / 86_400_000_000), any::<u64>()],
            prop_oneof![Just(1u32), Just(60), Just(3600), Just(86_400), Just(0), any::<u32>()],
        )
            .prop_map(|(count, window_seconds)| Limit { count, window_seconds }),
        0..3,
    )
}

/// A bundle of random shape whose indices may point anywhere: the decoder has to cope.
fn any_bundle() -> impl Strategy<Value = Bundle> {
    let apis = proptest::collection::vec(
        proptest::collection::vec(
            prop_oneof![Just("api.example.com"), Just("*.example.com"), Just("x")],
            0..2,
        ),
        0..4,
    );
    let ops = proptest::collection::vec((0u32..5, 0usize..10, template()), 0..16);
    let packages = proptest::collection::vec(
        (
            limits(),
            proptest::collection::vec((0u32..20, proptest::option::of(limits())), 0..6),
        ),
        0..4,
    );
    let apps = proptest::collection::vec(
        (0u32..3, proptest::collection::vec((any::<bool>(), 0u32..5), 0..4)),
        0..5,
    );
    let creds = proptest::collection::vec((0usize..KEYS.len(), 0u32..6), 0..5);
    let settings = (
        any::<bool>(),
        0u8..3,
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0u32..6),
    );
    // Most bundles have their indices folded into range and their limits made valid, so they get
    // past the decoder's checks; the rest keep whatever was drawn.
    let tidy = proptest::bool::weighted(0.85);
    (apis, ops, packages, apps, creds, settings, tidy).prop_map(|(apis, ops, packages, apps, creds, settings, tidy)| {
        let mut b = Bundle {
            version: (MAJOR, MINOR),
            compiler: "fuzz".into(),
            catalog: "fuzz.yaml".into(),
            enforcement: Enforcement {
                match_policy: if settings.0 {
                    MatchPolicy::Required
                } else {
                    MatchPolicy::IfPresent
                },
                rate_limit_headers: [
                    RateLimitHeaders::Ietf,
                    RateLimitHeaders::Draft03,
                    RateLimitHeaders::None,
                ][usize::from(settings.1)],
                hide_credentials: settings.2,
                cors_preflight_pass: settings.3,
                anonymous: settings.4,
            },
            strategies: vec![
                AuthStrategy {
                    name: "keys".into(),
                    kind: StrategyKind::KeyAuth(vec!["apikey".into(), "x-api-key".into()]),
                },
                AuthStrategy {
                    name: "id".into(),
                    kind: StrategyKind::Header("x-client-id".into()),
                },
            ],
            apis: apis
                .into_iter()
                .enumerate()
                .map(|(i, hosts)| Api {
                    name: format!("api{i}"),
                    version: "1".into(),
                    base_path: String::new(),
                    hosts: hosts.into_iter().map(String::from).collect(),
                })
                .collect(),
            operations: vec![],
            packages: packages
                .into_iter()
                .enumerate()
                .map(|(i, (limits, ops))| Package {
                    id: format!("p{i}"),
                    name: format!("P{i}"),
                    version: "1".into(),
                    published: i % 2 == 0,
                    limits,
                    operations: ops
                        .into_iter()
                        .map(|(operation, limits)| PackageOperation { operation, limits })
                        .collect(),
                })
                .collect(),
            applications: vec![],
            credentials: vec![],
            names: String::new(),
            access: Default::default(),
            global: None,
        };
        for (i, (api, method, path)) in ops.into_iter().enumerate() {
            let method = Method::parse(Method::NAMES[method % Method::NAMES.len()]).unwrap();
            b.push_operation(api, method, &path, &format!("op{i}"));
        }
        for (i, (strategy, grants)) in apps.into_iter().enumerate() {
            let name = acepack_filter::bundle::NameRef::push(&mut b.names, &format!("app{i}"));
            b.applications.push(Application {
                name,
                strategy,
                grants: grants
                    .into_iter()
                    .map(|(api, i)| if api { Grant::Api(i) } else { Grant::Package(i) })
                    .collect(),
            });
        }
        let mut credentials: Vec<Credential> = creds
            .into_iter()
            .map(|(k, application)| Credential {
                digest: credential_digest(KEYS[k].as_bytes()),
                application,
            })
            .collect();
        credentials.sort();
        credentials.dedup_by_key(|c| c.digest);
        b.credentials = credentials;
        if tidy {
            tidy_up(&mut b);
        }
        b
    })
}

/// Folds every index into range and keeps only valid, ascending limits.
fn tidy_up(b: &mut Bundle) {
    let fold = |i: u32, len: usize| if len == 0 { i } else { i % len as u32 };
    let (apis, ops, packages, apps, strategies) = (
        b.apis.len(),
        b.operations.len(),
        b.packages.len(),
        b.applications.len(),
        b.strategies.len(),
    );
    if apis == 0 {
        b.operations.clear();
    }
    for o in &mut b.operations {
        o.api = fold(o.api, apis);
    }
    let ops = if apis == 0 { 0 } else { ops };
    let valid = |l: &mut Vec<Limit>| {
        l.retain(acepack_filter::bundle::limit_is_valid);
        l.sort_by_key(|l| l.window_seconds);
        l.dedup_by_key(|l| l.window_seconds);
    };
    for p in &mut b.packages {
        valid(&mut p.limits);
        if ops == 0 {
            p.operations.clear();
        }
        for po in &mut p.operations {
            po.operation = fold(po.operation, ops);
            if let Some(l) = &mut po.limits {
                valid(l);
            }
        }
    }
    for a in &mut b.applications {
        a.strategy = fold(a.strategy, strategies);
        a.grants.retain(|g| match g {
            Grant::Api(_) => apis > 0,
            Grant::Package(_) => packages > 0,
        });
        for g in &mut a.grants {
            match g {
                Grant::Api(i) => *i = fold(*i, apis),
                Grant::Package(i) => *i = fold(*i, packages),
            }
        }
    }
    if apps == 0 {
        b.credentials.clear();
        b.enforcement.anonymous = None;
    }
    for c in &mut b.credentials {
        c.application = fold(c.application, apps);
    }
    b.enforcement.anonymous = b.enforcement.anonymous.map(|a| fold(a, apps));
}

/// A request: a method (sometimes in the wrong case), a path built from the same pieces, a host,
/// and a credential in a header or the query.
/// With `pick`, the request is aimed at operation `pick % n` of the bundle (its method, its
/// template with parameters filled, one of its hosts, then `suffix`), so engines get requests
/// that match; the drawn method, path and host are used otherwise.
type Req = (
    Option<(usize, &'static str)>,
    (String, String, String, Vec<(String, String)>),
);

fn any_request() -> impl Strategy<Value = Req> {
    let pick = proptest::option::weighted(
        0.7,
        (
            any::<usize>(),
            prop_oneof![8 => Just(""), 1 => Just("/"), 1 => Just("/..;"), 1 => Just(";x"), 1 => Just("/%2e"), 1 => Just("?apikey=k1")],
        ),
    );
    (pick, any_raw_request())
}

fn any_raw_request() -> impl Strategy<Value = (String, String, String, Vec<(String, String)>)> {
    let method = prop_oneof![
        (0usize..9).prop_map(|i| Method::NAMES[i].to_string()),
        Just("get".to_string()),
        "[A-Za-z]{0,7}",
    ];
    let path = prop_oneof![
        proptest::collection::vec(path_piece(), 0..10).prop_map(|p| format!("/{}", p.concat().replace("{}", "x"))),
        "\\PC{0,40}",
    ];
    let host = prop_oneof![
        Just("api.example.com".to_string()),
        Just("a.example.com:80".to_string()),
        "\\PC{0,12}"
    ];
    let headers = proptest::collection::vec(
        (
            prop_oneof![
                Just("apikey"),
                Just("x-api-key"),
                Just("x-client-id"),
                Just("origin"),
                Just("access-control-request-method")
            ],
            prop_oneof![(0usize..KEYS.len()).prop_map(|k| KEYS[k].to_string()), "\\PC{0,8}"],
        )
            .prop_map(|(n, v)| (n.to_string(), v)),
        0..4,
    );
    (method, path, host, headers)
}

/// How far one input got.
#[derive(Debug, Default, Clone, Copy)]
struct Reach {
    decoded: bool,
    built: bool,
    allowed: usize,
    denied: usize,
}

/// Decides `requests` on `engine` and checks each decision is a documented outcome.
fn decide_all(engine: &Engine, requests: &[Req], reach: &mut Reach) {
    let mut store = MemoryStore::new();
    let mut cache = KeyCache::new();
    let b = engine.bundle();
    for (i, (pick, (method, path, host, headers))) in requests.iter().enumerate() {
        let aimed = pick.and_then(|(n, suffix)| {
            let op = b.operations.get(n % b.operations.len().max(1))?;
            let api = b.apis.get(op.api as usize)?;
            let host = api
                .hosts
                .first()
                .map_or("any.example.com".to_string(), |h| h.replace('*', "a"));
            let path = format!("{}{suffix}", b.name(op.path).replace("{}", "x1"));
            Some((op.method.as_str().to_string(), path, host))
        });
        let (method, path, host) = match &aimed {
            Some((m, p, h)) => (m.as_str(), p.as_str(), h.as_str()),
            None => (method.as_str(), path.as_str(), host.as_str()),
        };
        let req = Request {
            method,
            path,
            authority: host,
            headers: headers.as_slice(),
            client_ip: Some("10.0.0.1"),
        };
        let now = 1_800_000_000_000_000 + i as u64 * 100_000;
        match engine.decide_cached(&req, &mut store, Some(&mut cache), now) {
            Decision::Pass => {}
            Decision::Allow(a) => {
                reach.allowed += 1;
                assert!((a.operation as usize) < b.operations.len());
                assert!((a.application as usize) < b.applications.len());
                assert!(a.package.is_none_or(|p| (p as usize) < b.packages.len()));
            }
            Decision::Deny(d) => {
                reach.denied += 1;
                assert!(matches!(d.status, 400 | 401 | 403 | 404 | 429 | 503), "{d:?}");
                assert_eq!(d.retry_after.is_some(), d.status == 429, "{d:?}");
                assert!(d.retry_after.is_none_or(|s| s >= 1), "{d:?}");
            }
        }
    }
}

/// Decodes, checks the round trip, builds, decides.
fn exercise(bytes: &[u8], exact: bool, requests: &[Req]) -> Reach {
    let mut reach = Reach::default();
    let Ok(bundle) = Bundle::decode(bytes) else {
        return reach;
    };
    reach.decoded = true;
    if exact {
        assert_eq!(
            bundle.encode().unwrap(),
            bytes,
            "an accepted bundle encodes back to its bytes"
        );
    }
    if let Ok(engine) = Engine::new(bundle) {
        reach.built = true;
        decide_all(&engine, requests, &mut reach);
    }
    reach
}

/// The generators reach past the decoder: a fair share of random bundles decode and build, and
/// their engines allow and deny requests (a fuzz target that stops at the decoder's first check
/// would test nothing behind it).
#[test]
fn the_generators_reach_the_engine() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = (any_bundle(), proptest::collection::vec(any_request(), 8..12));
    let mut total = Reach::default();
    let (mut decoded, mut built) = (0, 0);
    for _ in 0..300 {
        let (bundle, requests) = strategy.new_tree(&mut runner).unwrap().current();
        let Ok(bytes) = bundle.encode() else { continue };
        let r = exercise(&bytes, true, &requests);
        decoded += usize::from(r.decoded);
        built += usize::from(r.built);
        total.allowed += r.allowed;
        total.denied += r.denied;
    }
    eprintln!("of 300 random bundles: decoded {decoded}, built {built}; decisions {total:?}");
    assert!(decoded >= 100 && built >= 50, "decoded {decoded}, built {built} of 300");
    assert!(total.allowed > 0 && total.denied > 0, "{total:?}");
}

/// One edit of a section's bytes.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(a, v)| Edit::Set(a, v)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..6)).prop_map(|(a, v)| Edit::Insert(a, v)),
        (any::<usize>(), 1usize..8).prop_map(|(a, n)| Edit::Remove(a, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    let at = |a: usize, len: usize| if len == 0 { 0 } else { a % (len + 1) };
    match e {
        Edit::Set(a, v) if !bytes.is_empty() => {
            let i = a % bytes.len();
            bytes[i] = *v;
        }
        Edit::Set(..) => {}
        Edit::Insert(a, v) => {
            let i = at(*a, bytes.len());
            bytes.splice(i..i, v.iter().copied());
        }
        Edit::Remove(a, n) => {
            let i = at(*a, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Random bundles of any shape (hostile templates, limits, indices), encoded, decoded, built
    /// and asked to decide random requests.
    #[test]
    fn random_bundles_decode_build_and_decide(
        bundle in any_bundle(),
        requests in proptest::collection::vec(any_request(), 1..12),
    ) {
        if let Ok(bytes) = bundle.encode() {
            let _ = exercise(&bytes, true, &requests);
        }
    }

    /// The fixture bundle with each section edited (bytes set, inserted, removed), sections
    /// dropped or repeated and unknown sections added, under a valid header.
    #[test]
    fn edited_sections_decode_build_and_decide(
        edits in proptest::collection::vec((0usize..8, edit()), 0..10),
        drop in proptest::option::of(0usize..8),
        unknown in proptest::option::of((9u32..1000, proptest::collection::vec(any::<u8>(), 0..16))),
        minor in prop_oneof![Just(CURRENT_MINOR), any::<u16>()],
        requests in proptest::collection::vec(any_request(), 1..8),
    ) {
        let mut parts = sections(&fixture::bundle().encode().unwrap());
        for (section, e) in &edits {
            apply(&mut parts[*section % 8].1, e);
        }
        if let Some(d) = drop {
            parts.remove(d % 8);
        }
        let exact = unknown.is_none() && minor == CURRENT_MINOR;
        if let Some((tag, bytes)) = unknown {
            parts.push((tag, bytes));
        }
        let _ = exercise(&frame(minor, &parts), exact, &requests);
    }

    /// A whole body of random bytes under a valid header (any section count).
    #[test]
    fn random_bodies_decode_build_and_decide(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        count in 0u32..10,
        requests in proptest::collection::vec(any_request(), 1..4),
    ) {
        let _ = exercise(&common::frame_body(CURRENT_MINOR, count, &body), true, &requests);
    }
}
