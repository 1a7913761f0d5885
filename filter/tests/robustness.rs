//! R2 and docs/enforcement.md#faults: the decoder never panics on arbitrary or mutated bundles, and the engine never
//! panics on arbitrary requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use acepack_filter::bundle::{Bundle, BundleError, HEADER_LEN};
use acepack_filter::engine::{Engine, Request};
use acepack_filter::fixture;
use acepack_filter::limiter::MemoryStore;
use proptest::prelude::*;

fn valid() -> Vec<u8> {
    fixture::bundle().encode().unwrap()
}

/// Rewrites the header's CRC so a mutation reaches the section parsers instead of the checksum.
fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= HEADER_LEN {
        let crc = acepack_filter::bundle::body_checksum(&bytes[HEADER_LEN..]);
        bytes[16..20].copy_from_slice(&crc.to_le_bytes());
    }
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
    // A newer minor version with an extra section is still readable.
    let mut newer = good.clone();
    newer[10] = 9;
    assert!(Bundle::decode(&newer).is_ok());
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

#[test]
fn every_truncation_and_every_resealed_byte_flip_is_an_error_not_a_panic() {
    let good = valid();
    for n in 0..good.len() {
        assert!(Bundle::decode(&good[..n]).is_err());
    }
    for i in HEADER_LEN..good.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = good.clone();
            b[i] ^= bit;
            reseal(&mut b);
            let _ = Engine::load(&b);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Engine::load(&bytes);
        let mut with_magic = b"ACEPACK\0\x02\x00\x00\x00".to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = Bundle::decode(&with_magic);
    }

    #[test]
    fn mutated_bundles_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut b = valid();
        for (at, v) in edits {
            let i = HEADER_LEN + at % (b.len() - HEADER_LEN);
            b[i] = v;
        }
        b.truncate(HEADER_LEN + cut % (b.len() - HEADER_LEN + 1));
        let len = (b.len() - HEADER_LEN) as u32;
        b[12..16].copy_from_slice(&len.to_le_bytes());
        reseal(&mut b);
        let _ = Engine::load(&b);
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
