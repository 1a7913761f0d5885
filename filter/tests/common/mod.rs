//! Helpers shared by the bundle robustness tests: taking a bundle apart into its sections and
//! framing sections back into a bundle with a valid header and checksum, so hostile bodies reach
//! the section decoders instead of stopping at the header.
#![allow(dead_code, clippy::unwrap_used, clippy::indexing_slicing)]

use acepack_filter::bundle::{body_checksum, HEADER_LEN, MAGIC, MAJOR, MINOR};

/// The sections of a well-formed bundle, as (tag, bytes).
pub fn sections(bundle: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let count = u32::from_le_bytes(bundle[20..24].try_into().unwrap()) as usize;
    let mut at = HEADER_LEN;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let tag = u32::from_le_bytes(bundle[at..at + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bundle[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push((tag, bundle[at + 8..at + 8 + len].to_vec()));
        at += 8 + len;
    }
    assert_eq!(at, bundle.len(), "a well-formed bundle ends after its last section");
    out
}

/// A bundle of the current major version and `minor` holding `sections` in the given order, with
/// a correct length, section count and checksum.
pub fn frame(minor: u16, sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (tag, bytes) in sections {
        body.extend_from_slice(&tag.to_le_bytes());
        body.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        body.extend_from_slice(bytes);
    }
    frame_body(minor, sections.len() as u32, &body)
}

/// A bundle whose body is `body` (any bytes) under a valid header claiming `count` sections.
pub fn frame_body(minor: u16, count: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&MAJOR.to_le_bytes());
    out.extend_from_slice(&minor.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body_checksum(body).to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Rewrites the header's length and checksum after the body was edited in place.
pub fn reseal(bytes: &mut [u8]) {
    let len = (bytes.len() - HEADER_LEN) as u32;
    bytes[12..16].copy_from_slice(&len.to_le_bytes());
    let check = body_checksum(&bytes[HEADER_LEN..]);
    bytes[16..20].copy_from_slice(&check.to_le_bytes());
}

/// The version this build writes.
pub const CURRENT_MINOR: u16 = MINOR;
