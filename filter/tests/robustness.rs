//! R2 and docs/enforcement.md#faults: the decoder never panics on arbitrary or mutated bundles, and the engine never
//! panics on arbitrary requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use acepack_filter::bundle::{tag, Bundle, BundleError, Method, HEADER_LEN, MAJOR};
use acepack_filter::engine::{Engine, LoadError, Request};
use acepack_filter::fixture;
use acepack_filter::limiter::MemoryStore;
use acepack_filter::matcher::{MatchConflict, MAX_PARAMS};
use common::{frame, frame_body, reseal, sections, CURRENT_MINOR};
use proptest::prelude::*;

fn valid() -> Vec<u8> {
    fixture::bundle().encode().unwrap()
}

#[test]
fn named_faults() {
    let good = valid();
    assert_eq!(Bundle::decode(&good).unwrap(), fixture::bundle());
    assert_eq!(Bundle::decode(&[]), Err(BundleError::NotABundle));
    assert_eq!(Bundle::decode(b"{\"version\": 1}"), Err(BundleError::NotABundle));
    let mut wrong_major = good.clone();
    wrong_major[8] = (acepack_filter::bundle::MAJOR + 1) as u8;
    assert!(matches!(
        Bundle::decode(&wrong_major),
        Err(BundleError::UnsupportedVersion { major, .. }) if major == acepack_filter::bundle::MAJOR + 1
    ));
    assert!(matches!(
        Bundle::decode(&good[..good.len() - 1]),
        Err(BundleError::Truncated { .. })
    ));
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x40;
    assert_eq!(Bundle::decode(&flipped), Err(BundleError::Checksum));
}

/// The upgrade promise: a newer minor version may add sections; a reader skips the tags it does
/// not know, wherever they sit, and reads the rest exactly.
#[test]
fn unknown_sections_are_skipped() {
    let mut parts = sections(&valid());
    // Before the first known tag is impossible (tags start at 1 and ascend); between two known
    // tags and after the last, with content that is not valid anything.
    parts.insert(5, (tag::PACKAGES * 100, b"\xff\xff junk".to_vec()));
    parts.sort_by_key(|(t, _)| *t);
    parts.push((u32::MAX, vec![0xff; 40]));
    let b = frame(CURRENT_MINOR + 7, &parts);
    let decoded = Bundle::decode(&b).expect("a newer minor with unknown sections loads");
    assert_eq!(decoded.version, (MAJOR, CURRENT_MINOR + 7));
    let mut expected = fixture::bundle();
    expected.version = decoded.version;
    assert_eq!(decoded, expected);
    // Unknown sections must still be framed correctly: tags ascend, lengths fit.
    let mut unsorted = sections(&valid());
    unsorted.push((3, vec![]));
    assert!(matches!(
        Bundle::decode(&frame(CURRENT_MINOR, &unsorted)),
        Err(BundleError::Malformed { section: "body", .. })
    ));
    // A known section missing is an error that names it.
    let mut missing = sections(&valid());
    missing.retain(|(t, _)| *t != tag::CREDENTIALS);
    assert_eq!(
        Bundle::decode(&frame(CURRENT_MINOR, &missing)),
        Err(BundleError::MissingSection("CREDENTIALS"))
    );
}

/// The router names parameters `a` to `z` and panics past its limit: a bundle with a longer
/// template is refused by the decoder, and an engine built from such a bundle in memory gets an
/// error, never a panic (the filter, `explain`, `diff` and `compile` all build engines).
#[test]
fn templates_the_router_cannot_hold_are_refused_not_a_panic() {
    let max = usize::from(MAX_PARAMS);
    for (path, routable) in [
        ("/{}".repeat(max), true),
        ("/{}".repeat(max + 1), false),
        ("/{}".repeat(26), false),
        ("/{}".repeat(400), false),
        ("/a/{x}".to_string(), false),
        ("/a/{*rest}".to_string(), false),
        ("/a/}{".to_string(), false),
        ("/a/{{}}".to_string(), false),
        (format!("{}/{{b}}", "/{}".repeat(max)), false),
    ] {
        let mut b = fixture::bundle();
        let op = b.push_operation(0, Method::Get, &path, "many");
        let built = std::panic::catch_unwind(|| Engine::new(b.clone()).map(|_| ()));
        let built = built.unwrap_or_else(|_| panic!("Engine::new panicked on {path}"));
        let decoded = Bundle::decode(&b.encode().unwrap());
        if routable {
            assert_eq!(built, Ok(()), "{path}");
            assert!(decoded.is_ok(), "{path}");
        } else {
            assert_eq!(
                built,
                Err(LoadError::Routes(MatchConflict::BadTemplate { operation: op })),
                "{path}"
            );
            assert!(
                matches!(
                    decoded,
                    Err(BundleError::Malformed {
                        section: "OPERATIONS",
                        what: "operation path",
                        ..
                    })
                ),
                "{path}: {decoded:?}"
            );
        }
    }
}

/// Two operations with the same method and template: an error, at decode-then-build and in memory.
#[test]
fn duplicate_routes_are_an_error() {
    let mut b = fixture::bundle();
    b.push_operation(0, Method::Get, "/v1/flights", "again");
    assert!(matches!(
        Engine::load(&b.encode().unwrap()),
        Err(LoadError::Routes(MatchConflict::Duplicate { first: 0, .. }))
    ));
}

/// Counts larger than the input can hold are refused before anything is allocated for them.
#[test]
fn huge_counts_are_refused() {
    for (t, name) in [
        (tag::STRATEGIES, "STRATEGIES"),
        (tag::APIS, "APIS"),
        (tag::OPERATIONS, "OPERATIONS"),
        (tag::PACKAGES, "PACKAGES"),
        (tag::APPLICATIONS, "APPLICATIONS"),
        (tag::CREDENTIALS, "CREDENTIALS"),
    ] {
        let mut parts = sections(&valid());
        let section = parts.iter_mut().find(|(tag, _)| *tag == t).unwrap();
        // The largest 32-bit count, then nothing.
        section.1 = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(
            matches!(Bundle::decode(&frame(CURRENT_MINOR, &parts)), Err(BundleError::Malformed { section, .. }) if section == name),
            "{name}"
        );
    }
}

/// The one place `needle` occurs in `hay`.
fn find_once(hay: &[u8], needle: &[u8]) -> usize {
    let at: Vec<usize> = hay
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{needle:?} occurs {} times", at.len());
    at[0]
}

#[test]
fn every_application_name_is_utf8_on_its_own() {
    // Application names are checked as one buffer at load; names that are UTF-8 only together
    // ("acm\xC3" + "\xA9olo" = "acmé" + "olo") must still be refused, as must a stray byte.
    let good = valid();
    let acme = find_once(&good, b"\x04acme") + 1;
    let solo = find_once(&good, b"\x04solo") + 1;
    let mut split = good.clone();
    split[acme + 3] = 0xc3;
    split[solo] = 0xa9;
    reseal(&mut split);
    assert!(
        matches!(
            Bundle::decode(&split),
            Err(BundleError::Malformed {
                section: "APPLICATIONS",
                ..
            })
        ),
        "{:?}",
        Bundle::decode(&split)
    );
    let mut stray = good.clone();
    stray[solo + 1] = 0xff;
    reseal(&mut stray);
    assert!(matches!(
        Bundle::decode(&stray),
        Err(BundleError::Malformed {
            section: "APPLICATIONS",
            ..
        })
    ));
    // A name that is UTF-8 by itself loads, whatever its bytes.
    let mut fine = good.clone();
    fine[acme + 2] = 0xc3;
    fine[acme + 3] = 0xa9;
    reseal(&mut fine);
    let b = Bundle::decode(&fine).unwrap();
    assert_eq!(b.application_name(0), "acé");
    assert_eq!(b.application_name(1), "solo");
}

/// Every truncation is an error; every single-bit flip of the body, resealed so it passes the
/// checksum, is either refused or decodes to a bundle that encodes back to exactly those bytes
/// (nothing the decoder accepts is ambiguous) and builds an engine without panicking.
#[test]
fn every_truncation_and_every_resealed_bit_flip_is_refused_or_exact() {
    let good = valid();
    for n in 0..good.len() {
        assert!(Bundle::decode(&good[..n]).is_err(), "truncated to {n}");
    }
    let (mut refused, mut accepted) = (0, 0);
    for i in HEADER_LEN..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            reseal(&mut b);
            match Bundle::decode(&b) {
                Err(_) => refused += 1,
                Ok(bundle) => {
                    accepted += 1;
                    assert_eq!(
                        bundle.encode().unwrap(),
                        b,
                        "byte {i} bit {bit} decodes to another encoding"
                    );
                    let _ = Engine::new(bundle);
                }
            }
        }
    }
    // Both kinds occur: structure bytes are refused, bytes inside names and limits are accepted.
    assert!(refused > 0 && accepted > 0, "refused {refused}, accepted {accepted}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bytes, bare and behind a valid header of the current version (so they reach the
    /// section framing and decoders): an error or a bundle, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), count in 0u32..12) {
        let _ = Engine::load(&bytes);
        let framed = frame_body(CURRENT_MINOR, count, &bytes);
        if let Ok(b) = Bundle::decode(&framed) {
            let _ = Engine::new(b);
        }
    }

    /// A valid bundle with bytes overwritten and the body cut, resealed (length and checksum):
    /// refused, or exact (re-encodes to the same bytes) and buildable without a panic.
    #[test]
    fn mutated_bundles_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut b = valid();
        for (at, v) in edits {
            let i = HEADER_LEN + at % (b.len() - HEADER_LEN);
            b[i] = v;
        }
        b.truncate(HEADER_LEN + cut % (b.len() - HEADER_LEN + 1));
        reseal(&mut b);
        if let Ok(bundle) = Bundle::decode(&b) {
            prop_assert_eq!(bundle.encode().unwrap(), b);
            let _ = Engine::new(bundle);
        }
    }

    #[test]
    fn arbitrary_requests_never_panic(
        method in "[A-Za-z]{0,8}",
        path in "\\PC{0,64}",
        authority in "\\PC{0,24}",
        headers in proptest::collection::vec(("[a-zA-Z-]{1,12}", "\\PC{0,24}"), 0..12),
        anonymous in any::<bool>(),
    ) {
        let b = fixture::Setup { anonymous, ..Default::default() }.bundle();
        let e = Engine::new(b).unwrap();
        let mut store = MemoryStore::new();
        let mut hs: Vec<(String, String)> = headers;
        hs.push(("apikey".into(), fixture::keys::ACME.into()));
        let r = Request { method: &method, path: &path, authority: &authority, headers: hs.as_slice(), client_ip: None };
        let _ = e.decide(&r, &mut store, 1);
        let r = Request { method: "GET", path: &format!("/v1/flights/{path}"), authority: &authority, headers: &hs[..hs.len() - 1], client_ip: Some(&path) };
        let _ = e.decide(&r, &mut store, 1);
    }
}
