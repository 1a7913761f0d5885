//! One credential of an application: which of `key`, `key_sha256`, `id` or `client_id` it is, whether it
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
    // (the strategy type a credential of this kind needs, what to write instead)
    let wanted = strategy.map(|s| match s {
        AuthStrategy::KeyAuth { .. } => ("key_auth", "use `key:` or `key_sha256:` for an API key"),
        AuthStrategy::Header { .. } => ("header", "use `id:` for an identity asserted in a header"),
        AuthStrategy::OpenidConnect { .. } => ("openid_connect", "use `client_id:` for an OAuth client"),
    });
    let name = strategy.map(|s| s.name()).unwrap_or("");
    let fits = |ctx: &mut Ctx<'_>, key: &str, needs: &str| -> bool {
        match wanted {
            Some((kind, hint)) if kind != needs => {
                let a = |w: &str| if w.starts_with(['i', 'o']) { "an" } else { "a" };
                ctx.error(
                    format!("{place}.{key}"),
                    format!(
                        "{} `{key}` needs {} {needs} strategy, and \"{name}\" is {} {kind} strategy",
                        a(key),
                        a(needs),
                        a(kind)
                    ),
                    Some(hint.into()),
                );
                false
            }
            _ => true,
        }
    };
    match (&c.key, &c.key_sha256, &c.id, &c.client_id) {
        (Some(key), None, None, None) => {
            if !fits(ctx, "key", "key_auth") {
                return None;
            }
            if key.is_empty() {
                ctx.error(format!("{place}.key"), "an API key cannot be empty", None);
                return None;
            }
            Some(Sha256::digest(key.as_bytes()).into())
        }
        (None, Some(hex), None, None) => {
            if !fits(ctx, "key_sha256", "key_auth") {
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
        (None, None, Some(id), None) => {
            if !fits(ctx, "id", "header") {
                return None;
            }
            if id.is_empty() {
                ctx.error(format!("{place}.id"), "an identity cannot be empty", None);
                return None;
            }
            Some(Sha256::digest(id.as_bytes()).into())
        }
        (None, None, None, Some(client)) => {
            if !fits(ctx, "client_id", "openid_connect") {
                return None;
            }
            if client.is_empty() {
                ctx.error(format!("{place}.client_id"), "a client id cannot be empty", None);
                return None;
            }
            // The same digest as a header identity: the filter hashes the claim's value.
            Some(Sha256::digest(client.as_bytes()).into())
        }
        _ => {
            ctx.error(
                place,
                "give exactly one of `key`, `key_sha256`, `id` or `client_id`",
                None,
            );
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
