//! One credential of an application: which of `key`, `key_sha256` or `id` it is, whether it
//! fits the application's strategy, and its SHA-256. Values are secrets: no message repeats them.

use sha2::{Digest, Sha256};

use super::super::Ctx;
use crate::catalog;
use crate::model::AuthStrategy;

/// Hashes one credential, checking it fits the application's strategy.
pub(super) fn credential(
    ctx: &mut Ctx<'_>,
    place: &str,
    c: &catalog::Credential,
    strategy: Option<&AuthStrategy>,
) -> Option<[u8; 32]> {
    let is_key_auth = strategy.map(|s| matches!(s, AuthStrategy::KeyAuth { .. }));
    let name = strategy.map(|s| s.name()).unwrap_or("");
    match (&c.key, &c.key_sha256, &c.id) {
        (Some(key), None, None) => {
            if is_key_auth == Some(false) {
                ctx.error(
                    format!("{place}.key"),
                    format!("a `key` needs a key_auth strategy, and \"{name}\" is a header strategy"),
                    Some("use `id:` for an identity asserted in a header".into()),
                );
                return None;
            }
            if key.is_empty() {
                ctx.error(format!("{place}.key"), "an API key cannot be empty", None);
                return None;
            }
            Some(Sha256::digest(key.as_bytes()).into())
        }
        (None, Some(hex), None) => {
            if is_key_auth == Some(false) {
                ctx.error(
                    format!("{place}.key_sha256"),
                    format!("a `key_sha256` needs a key_auth strategy, and \"{name}\" is a header strategy"),
                    Some("use `id:` for an identity asserted in a header".into()),
                );
                return None;
            }
            match decode_sha256(hex) {
                Some(d) => Some(d),
                None => {
                    ctx.error(
                        format!("{place}.key_sha256"),
                        // Never echo the value: it is often the plain key written in the wrong field.
                        format!(
                            "key_sha256 must be 64 hex digits (a SHA-256); the value given ({} characters, not shown) is not",
                            hex.chars().count()
                        ),
                        Some("compute it with `printf %s KEY | sha256sum`, or write a plain key as `key:`".into()),
                    );
                    None
                }
            }
        }
        (None, None, Some(id)) => {
            if is_key_auth == Some(true) {
                ctx.error(
                    format!("{place}.id"),
                    format!("an `id` needs a header strategy, and \"{name}\" is a key_auth strategy"),
                    Some("use `key:` or `key_sha256:` for an API key".into()),
                );
                return None;
            }
            if id.is_empty() {
                ctx.error(format!("{place}.id"), "an identity cannot be empty", None);
                return None;
            }
            Some(Sha256::digest(id.as_bytes()).into())
        }
        _ => {
            ctx.error(place, "give exactly one of `key`, `key_sha256` or `id`", None);
            None
        }
    }
}

fn decode_sha256(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_in_either_case() {
        let lower = "a".repeat(64);
        assert_eq!(decode_sha256(&lower), Some([0xaa; 32]));
        assert_eq!(decode_sha256(&"A".repeat(64)), Some([0xaa; 32]));
        assert_eq!(decode_sha256(&"a".repeat(63)), None);
        assert_eq!(decode_sha256(&format!("{}g", "a".repeat(63))), None);
    }
}
