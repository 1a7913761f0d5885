//! Key derivation: the credential digest the bundle stores, and the shared-data key of a bucket.
//! Keys depend only on the credential, the package id and the operation id, so they are stable
//! across bundle reloads and recompiles (a reload never resets anyone's limits).

use sha2::{Digest, Sha256};

use crate::bundle::DIGEST_LEN;

/// Length of a bucket key: `ak`, 16 characters of credential, 11 of scope.
pub(crate) const BUCKET_KEY_LEN: usize = 29;

/// Length of a scope's part of a bucket key (8 bytes of SHA-256 in base64url).
pub(crate) const SCOPE_PART_LEN: usize = 11;

/// SHA-256 prefix of a credential: what the bundle stores and what bucket keys are made of.
/// Out of line: a repeat caller's decision never hashes (the key cache), and inlined here the
/// hash's code slowed that decision down.
#[inline(never)]
pub fn credential_digest(secret: &[u8]) -> [u8; DIGEST_LEN] {
    let full = Sha256::digest(secret);
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(full.get(..DIGEST_LEN).unwrap_or(&[0u8; DIGEST_LEN]));
    out
}

/// The digest the anonymous application's buckets are keyed by: one per client address.
pub(crate) fn anonymous_digest(client_ip: Option<&str>) -> [u8; DIGEST_LEN] {
    let mut h = Sha256::new();
    h.update(b"anonymous\0");
    h.update(client_ip.unwrap_or("").as_bytes());
    let full = h.finalize();
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(full.get(..DIGEST_LEN).unwrap_or(&[0u8; DIGEST_LEN]));
    out
}

/// A bucket scope's part of its keys: 8 bytes of SHA-256 over the package id and, for an
/// operation override, the operation id.
pub(crate) fn scope_key(package_id: &str, operation_id: Option<&str>) -> [u8; SCOPE_PART_LEN] {
    let mut h = Sha256::new();
    h.update(b"acepack-scope\0");
    h.update(package_id.as_bytes());
    h.update(b"\0");
    if let Some(op) = operation_id {
        h.update(op.as_bytes());
    }
    let full = h.finalize();
    // 8 bytes and a zero byte: 12 characters, of which the unpadded encoding of 8 bytes is 11.
    let mut group = [0u8; 9];
    group
        .get_mut(..8)
        .unwrap_or_default()
        .copy_from_slice(full.get(..8).unwrap_or(&[0u8; 8]));
    let mut out = [b'A'; SCOPE_PART_LEN];
    base64url(&group, &mut out);
    out
}

/// The shared-data key of a bucket: `ak` + 16 chars of credential digest (its first 12 bytes) +
/// the scope's 11 chars.
pub(crate) fn bucket_key(credential: &[u8; DIGEST_LEN], scope_part: &[u8; SCOPE_PART_LEN]) -> [u8; BUCKET_KEY_LEN] {
    let mut key = [b'A'; BUCKET_KEY_LEN];
    let (head, rest) = key.split_at_mut(2);
    head.copy_from_slice(b"ak");
    let (cred, tail) = rest.split_at_mut(16);
    base64url(credential.get(..12).unwrap_or_default(), cred);
    tail.copy_from_slice(scope_part);
    key
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url of `input`, three bytes to four characters, written to the start of `out` (stops
/// at whichever ends first; a trailing partial group of `input` is ignored).
///
/// The project's one base64 encoder. Not the `base64` crate: this runs on every charged request
/// for 12 fixed bytes; measured natively (50 million keys, three rounds, release), this loop took
/// about 14 ns a key and `base64`'s `encode_slice` about 19 ns. An unpadded encoding of a partial
/// group is the prefix of the encoding of that group padded with zero bytes, which is how
/// [`scope_key`] gets its 11 characters from 8 bytes.
fn base64url(input: &[u8], out: &mut [u8]) {
    for (out, chunk) in out.chunks_mut(4).zip(input.chunks_exact(3)) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b));
        for (i, o) in out.iter_mut().enumerate() {
            *o = ALPHABET
                .get(((n >> (18 - 6 * i)) & 63) as usize)
                .copied()
                .unwrap_or(b'A');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys are part of the shared data that survives reloads and upgrades: pinned values.
    #[test]
    fn bucket_keys_are_stable() {
        let cred = credential_digest(b"acme-live-7f3a9c");
        let pkg = bucket_key(&cred, &scope_key("partners", None));
        assert_eq!(std::str::from_utf8(&pkg).unwrap(), "akG2CsscT4L_dVYtfciUR-dEjChsY");
        let op = bucket_key(&cred, &scope_key("partners", Some("createInvoice")));
        assert_eq!(std::str::from_utf8(&op).unwrap(), "akG2CsscT4L_dVYtfcHspgpe-Z0Pc");
    }

    #[test]
    fn base64url_matches_the_rfc_alphabet() {
        let mut out = [b'.'; 8];
        base64url(b"\xfb\xff\xbf\x00\x00\x00", &mut out);
        assert_eq!(&out, b"-_-_AAAA");
        let mut short = [b'.'; 2];
        base64url(b"abc", &mut short);
        assert_eq!(&short, b"YW");
        let mut long = [b'.'; 6];
        base64url(b"abcd", &mut long);
        assert_eq!(&long, b"YWJj..");
    }

    #[test]
    fn anonymous_digest_is_the_digest_of_the_tagged_address() {
        assert_eq!(
            anonymous_digest(Some("10.0.0.1")),
            credential_digest(b"anonymous\x0010.0.0.1")
        );
        assert_eq!(anonymous_digest(None), credential_digest(b"anonymous\0"));
    }
}
