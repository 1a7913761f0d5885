//! The bundle: the compact binary form of a compiled catalog, its reader and its writer.
//!
//! # Layout (format 3.1)
//!
//! Fixed-width integers are little-endian. `var` is an unsigned LEB128 integer of at most 32 bits
//! (1–5 bytes, no overlong forms); every count, length and index inside sections is a `var`. `str`
//! is a `var` byte length followed by UTF-8 bytes; `list<T>` is a `var` count followed by the items.
//!
//! ```text
//! header (24 bytes)
//!   0  magic        8 bytes  "ACEPACK\0"
//!   8  major        u16      readers refuse a major they do not know
//!   10 minor        u16      additions that old readers may ignore (new section tags)
//!   12 body_len     u32      bytes after the header; must equal the rest of the input
//!   16 body_check   u32      the low 32 bits of XXH3-64 (seed 0) of the body ([`body_checksum`];
//!                            format 1 had a CRC-32 here, four times slower to check at load)
//!   20 sections     u32      number of sections in the body
//! body: `sections` times { tag u32, len u32, bytes[len] }, tags strictly ascending.
//!   Unknown tags are skipped (minor additions); every tag of 3.0 (1–8) is required, the
//!   3.1 tags (9–11) are optional (absent: empty).
//!
//! 1 META          str compiler, str catalog
//! 2 ENFORCEMENT   u8 match_policy (0 required, 1 if_present)
//!                 u8 rate_limit_headers (0 ietf, 1 draft03, 2 none)
//!                 u8 hide_credentials (0/1), u8 cors_preflight (0 pass, 1 enforce)
//!                 u32 anonymous application index (fixed width), 0xFFFF_FFFF for none
//! 3 STRATEGIES    list{ u8 kind (0 key_auth, 1 header, 2 openid_connect), str name, list<str> names,
//!                       [openid_connect: list<str> audiences, list<str> scopes] }
//!                 key_auth: the key names; header: exactly one (lower-case) header name;
//!                 openid_connect: exactly [claim, issuer, jwks_uri ("" for a local JWKS)]
//! 4 APIS          list{ str name, str version, str base_path, list<str> hosts }
//! 5 OPERATIONS    list{ var api, str method, str path, str id }
//!                 path: normalized template, parameters written "{}", e.g. "/v1/a/{}.json"
//! 6 PACKAGES      list{ str id, str name, str version, u8 published, limits,
//!                       list{ var operation, u8 has_override, [limits if has_override] } }
//!                 limits = list{ u64 count, u32 window_seconds (1, 60, 3600 or 86400) },
//!                 windows strictly ascending
//! 7 APPLICATIONS  list{ str name, var strategy, list{ u8 kind (0 api, 1 package), var index } }
//!                 grants: active grants only, in catalog order
//! 8 CREDENTIALS   var count, then count fixed 20-byte records { [u8; 16] digest, u32 application },
//!                 strictly ascending by digest; digest = the first 16 bytes of SHA-256(key) or
//!                 SHA-256(header identity). Fixed width (format 3; 2 had a var application) so
//!                 200,000 of them load in one tight loop.
//! 9 PUBLISHED     list<var api>: APIs published directly on a portal, strictly ascending (3.1)
//! 10 HELD         list{ var application, u8 kind (0 api, 1 package), var index,
//!                       u8 hold (0 pending, 1 revoked) }, ascending by application (3.1):
//!                 registrations that grant nothing, so a denial can say why
//! 11 ROUTE_BOUND  list{ var operation, str cluster }, strictly ascending by operation (3.1):
//!                 operations another API shares (method, path, hosts) with, told apart by the
//!                 cluster of the route the request took
//! 12 GLOBAL       optional (3.1; absent: local mode): u8 mode (1 global, 2 local+global),
//!                 str cluster, str domain (both non-empty), u32 timeout_ms (1..=60000),
//!                 u8 failure_mode (0 deny, 1 allow). Readers of minor 0 skip it and count
//!                 locally: upgrade the filter before deploying a bundle in a global mode.
//! ```
//!
//! Decoding checks every length, count, index, enum value and limit; it never panics and never
//! allocates more than the input can describe.
//!
//! Split by concern: [`format`] (the constants above, the header and section framing, the
//! checksum), [`types`] (the decoded [`Bundle`] and what it holds), `decode` (the validating
//! reader, [`Bundle::decode`]), `encode` (the writer, [`Bundle::encode`]) and [`error`]. All byte
//! access goes through [`crate::bytes`].

mod decode;
mod encode;
pub mod error;
pub mod format;
pub mod types;

pub use error::{BundleError, EncodeError};
pub use format::{
    body_checksum, limit_is_valid, tag, template_is_valid, DIGEST_LEN, HEADER_LEN, MAGIC, MAJOR, MAX_GLOBAL_TIMEOUT_MS,
    MAX_LIMIT_UNITS, MAX_TEMPLATE_PARAMS, MINOR, NO_APPLICATION,
};
pub use types::{
    Access, Api, Application, Bundle, Credential, Enforcement, GlobalLimits, Grant, Held, Hold, Limit, MatchPolicy,
    Method, NameRef, Oidc, Operation, Package, PackageOperation, RateLimitHeaders, RateLimitMode, Strategy,
    StrategyKind,
};
