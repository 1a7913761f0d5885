//! The wire format's constants, the header and section framing, and the body checksum (the
//! layout is documented in the parent module).

use crate::bytes::{ReadError, Reader};

use super::error::BundleError;
use super::types::Limit;

/// The magic bytes at offset 0.
pub const MAGIC: [u8; 8] = *b"ACEPACK\0";
/// The format's major version written by this build.
pub const MAJOR: u16 = 3;
/// The format's minor version written by this build.
pub const MINOR: u16 = 1;
/// Header size in bytes.
pub const HEADER_LEN: usize = 24;
/// Longest rate limit service timeout a bundle may carry, in milliseconds.
pub const MAX_GLOBAL_TIMEOUT_MS: u32 = 60_000;
/// Sentinel for "no anonymous application".
pub const NO_APPLICATION: u32 = u32::MAX;
/// Bytes of one CREDENTIALS record: digest, then the application as a `u32`.
pub(crate) const CREDENTIAL_RECORD: usize = DIGEST_LEN + 4;
/// Bytes of a credential digest kept in the bundle (a prefix of SHA-256).
pub const DIGEST_LEN: usize = 16;
/// Largest `count × window_seconds` a limit may have: bucket levels are kept as
/// `count × window_in_microseconds` in a `u64`.
pub const MAX_LIMIT_UNITS: u64 = u64::MAX / 1_000_000;

/// The most parameters (`{}`) one operation's path template may have: the route table's limit
/// (its router names parameters `a`, `b`, … and cannot go past `z`, which it checks only after
/// naming a 26th). The compiler refuses longer templates; the decoder refuses them too.
pub const MAX_TEMPLATE_PARAMS: u8 = 25;

/// Whether `path` is an operation path template the format allows: it starts with `/`, has at
/// most [`MAX_TEMPLATE_PARAMS`] parameters written `{}`, and no other `{` or `}` (the route
/// table would read a stray one as a parameter or an escape).
pub fn template_is_valid(path: &[u8]) -> bool {
    if path.first() != Some(&b'/') {
        return false;
    }
    let mut params = 0u8;
    let mut rest = path;
    while let Some(at) = rest.iter().position(|&b| b == b'{' || b == b'}') {
        match rest.get(at..at + 2) {
            Some(b"{}") if params < MAX_TEMPLATE_PARAMS => params += 1,
            _ => return false,
        }
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    true
}

/// Section tags.
#[allow(missing_docs)]
pub mod tag {
    pub const META: u32 = 1;
    pub const ENFORCEMENT: u32 = 2;
    pub const STRATEGIES: u32 = 3;
    pub const APIS: u32 = 4;
    pub const OPERATIONS: u32 = 5;
    pub const PACKAGES: u32 = 6;
    pub const APPLICATIONS: u32 = 7;
    pub const CREDENTIALS: u32 = 8;
    pub const PUBLISHED: u32 = 9;
    pub const HELD: u32 = 10;
    pub const ROUTE_BOUND: u32 = 11;
    /// Optional (minor 1): the global rate-limit settings.
    pub const GLOBAL: u32 = 12;
}

/// The header's check of a body: the low 32 bits of its XXH3-64 (seed 0).
pub fn body_checksum(body: &[u8]) -> u32 {
    xxhash_rust::xxh3::xxh3_64(body) as u32
}

/// Whether `count` per `window_seconds` is a limit the filter can enforce exactly.
pub fn limit_is_valid(limit: &Limit) -> bool {
    matches!(limit.window_seconds, 1 | 60 | 3600 | 86_400)
        && limit.count >= 1
        && limit
            .count
            .checked_mul(u64::from(limit.window_seconds))
            .is_some_and(|u| u <= MAX_LIMIT_UNITS)
}

/// The body's sections as (tag, bytes).
pub(super) type Sections<'a> = Vec<(u32, &'a [u8])>;

/// Checks the header and checksum and returns the version and the body's sections.
pub(super) fn sections(data: &[u8]) -> Result<((u16, u16), Sections<'_>), BundleError> {
    let mut r = Reader::new(data);
    let magic: [u8; 8] = r.array("magic").map_err(|_| BundleError::NotABundle)?;
    if magic != MAGIC {
        return Err(BundleError::NotABundle);
    }
    let header = |e: ReadError| BundleError::Malformed {
        section: "header",
        what: e.what,
        offset: e.offset,
    };
    let major = r.u16("major").map_err(header)?;
    let minor = r.u16("minor").map_err(header)?;
    if major != MAJOR {
        return Err(BundleError::UnsupportedVersion { major, minor });
    }
    let body_len = r.u32("body length").map_err(header)? as usize;
    let check = r.u32("checksum").map_err(header)?;
    let count = r.u32("section count").map_err(header)? as usize;
    if r.remaining() != body_len {
        return Err(BundleError::Truncated {
            expected: body_len,
            actual: r.remaining(),
        });
    }
    let body = r.bytes(body_len, "body").map_err(header)?;
    if body_checksum(body) != check {
        return Err(BundleError::Checksum);
    }
    let mut r = Reader::new(body);
    let body_err = |e: ReadError| BundleError::Malformed {
        section: "body",
        what: e.what,
        offset: e.offset,
    };
    if count.checked_mul(8).is_none_or(|n| n > body_len) {
        return Err(BundleError::Malformed {
            section: "body",
            what: "section count",
            offset: 0,
        });
    }
    let mut out = Vec::with_capacity(count);
    let mut last = 0u32;
    for _ in 0..count {
        let tag = r.u32("section tag").map_err(body_err)?;
        if tag <= last {
            return Err(BundleError::Malformed {
                section: "body",
                what: "section tags not ascending",
                offset: r.offset(),
            });
        }
        last = tag;
        let len = r.u32("section length").map_err(body_err)? as usize;
        out.push((tag, r.bytes(len, "section bytes").map_err(body_err)?));
    }
    if r.remaining() != 0 {
        return Err(BundleError::Malformed {
            section: "body",
            what: "bytes after the last section",
            offset: r.offset(),
        });
    }
    Ok(((major, minor), out))
}
