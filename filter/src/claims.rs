//! Verified token claims for `openid_connect` strategies (docs/oidc.md).
//!
//! acepack never verifies a token: Envoy's `jwt_authn` does (signature, issuer, audiences, expiry)
//! and writes the verified payload into the request's dynamic metadata, under
//! `envoy.filters.http.jwt_authn` and the provider's `payload_in_metadata` key. The host glue reads
//! one claim at a time through the proxy-wasm property
//! `metadata.filter_metadata["envoy.filters.http.jwt_authn"][key][claim]`; Envoy hands a string
//! claim over as its bytes and a list claim as proxy-wasm pairs (Envoy 1.40, measured; older
//! Envoys used a serialized `google.protobuf.ListValue`, also understood). This
//! module owns what those bytes mean: the client id, and the scopes (`scope`, a space-separated
//! string, or `scp`, a list or a string).

/// The dynamic-metadata namespace `jwt_authn` writes verified payloads to.
pub const JWT_AUTHN_NAMESPACE: &str = "envoy.filters.http.jwt_authn";

/// Read access to the claims `jwt_authn` verified for this request.
pub trait Claims {
    /// The raw bytes of claim `name` of the payload stored under `metadata_key`, as the host
    /// serializes it; `None` when there is no such payload or claim.
    fn claim(&self, metadata_key: &str, name: &str) -> Option<Vec<u8>>;

    /// The cluster of the route Envoy selected for the request (`xds.cluster_name`): asked only
    /// when operations of several APIs share a method and path and the gateway tells them apart
    /// by route (docs/catalog.md#gateway-route-mapping). `None`: unknown.
    fn route_cluster(&self) -> Option<String> {
        None
    }
}

/// No verified claims (a host without `jwt_authn`, and every request of a bundle without an
/// `openid_connect` strategy).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoClaims;

impl Claims for NoClaims {
    fn claim(&self, _metadata_key: &str, _name: &str) -> Option<Vec<u8>> {
        None
    }
}

/// Claims given as `(metadata key, claim, raw bytes)` triples: tests and the decision fixtures.
impl<K: AsRef<str>, C: AsRef<str>, V: AsRef<[u8]>> Claims for [(K, C, V)] {
    fn claim(&self, metadata_key: &str, name: &str) -> Option<Vec<u8>> {
        self.iter()
            .find(|(k, c, _)| k.as_ref() == metadata_key && c.as_ref() == name)
            .map(|(_, _, v)| v.as_ref().to_vec())
    }
}

/// Whether the token behind `claims` carries every scope of `required`: in `scope` (a
/// space-separated string, RFC 8693) or in `scp` (a list, or a string, as some issuers write it).
pub fn has_scopes<C: Claims + ?Sized>(claims: &C, metadata_key: &str, required: &[String]) -> bool {
    if required.is_empty() {
        return true;
    }
    let mut granted: Vec<String> = Vec::new();
    if let Some(raw) = claims.claim(metadata_key, "scope") {
        granted.extend(split_scopes(&raw));
    }
    if let Some(raw) = claims.claim(metadata_key, "scp") {
        match pair_keys(&raw).or_else(|| list_strings(&raw)) {
            Some(items) => granted.extend(items),
            None => granted.extend(split_scopes(&raw)),
        }
    }
    required.iter().all(|r| granted.iter().any(|g| g == r))
}

fn split_scopes(raw: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(raw)
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The items of a list claim as Envoy 1.40 serializes it: proxy-wasm pairs (`u32` count, then
/// `u32` key and value lengths per pair, then each key and value followed by a NUL), the item
/// being the key and the value empty. `None` unless the bytes are exactly that.
pub fn pair_keys(raw: &[u8]) -> Option<Vec<String>> {
    let u32_at = |at: usize| -> Option<usize> {
        let b: [u8; 4] = raw.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(u32::from_le_bytes(b) as usize)
    };
    let n = u32_at(0)?;
    // Each pair needs 8 bytes of sizes and 2 NULs: bounds the count by the input.
    if n.checked_mul(10)? > raw.len() {
        return None;
    }
    let mut at = 4 + 8 * n;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (k, v) = (u32_at(4 + 8 * i)?, u32_at(8 + 8 * i)?);
        let key = raw.get(at..at.checked_add(k)?)?;
        at += k;
        if raw.get(at) != Some(&0) {
            return None;
        }
        at = at.checked_add(v)?.checked_add(2)?;
        if raw.get(at - 1) != Some(&0) {
            return None;
        }
        out.push(String::from_utf8(key.to_vec()).ok()?);
    }
    (at == raw.len()).then_some(out)
}

/// The string items of a serialized `google.protobuf.ListValue` (older Envoys) (`repeated Value values = 1`,
/// `Value.string_value = 3`); other item kinds are skipped. `None` when the bytes are not a
/// well-formed ListValue made of length-delimited fields only (then they are a plain string).
pub fn list_strings(raw: &[u8]) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut r = raw;
    while !r.is_empty() {
        let (field, wire, value, rest) = next_field(r)?;
        r = rest;
        if field != 1 || wire != LEN {
            return None;
        }
        let mut v = value?;
        while !v.is_empty() {
            let (field, wire, inner, rest) = next_field(v)?;
            v = rest;
            if field == 3 && wire == LEN {
                out.push(String::from_utf8(inner?.to_vec()).ok()?);
            }
        }
    }
    Some(out)
}

/// Protobuf wire type of length-delimited fields.
const LEN: u8 = 2;

/// One field: (number, wire type, payload of a LEN field, the rest). Varint and fixed fields are
/// skipped (their payload is `None`); groups and unknown wire types are malformed.
#[allow(clippy::type_complexity)]
fn next_field(r: &[u8]) -> Option<(u64, u8, Option<&[u8]>, &[u8])> {
    let (key, r) = varint(r)?;
    let (number, wire) = (key >> 3, (key & 7) as u8);
    match wire {
        0 => varint(r).map(|(_, rest)| (number, wire, None, rest)),
        1 => r.get(8..).map(|rest| (number, wire, None, rest)),
        5 => r.get(4..).map(|rest| (number, wire, None, rest)),
        LEN => {
            let (len, r) = varint(r)?;
            let len = usize::try_from(len).ok()?;
            let value = r.get(..len)?;
            let rest = r.get(len..)?;
            Some((number, wire, Some(value), rest))
        }
        _ => None,
    }
}

fn varint(r: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, b) in r.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, r.get(i + 1..)?));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ListValue of string Values, encoded by hand as Envoy's protobuf would.
    fn list(items: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for s in items {
            let mut value = vec![3 << 3 | 2, s.len() as u8];
            value.extend_from_slice(s.as_bytes());
            out.push(1 << 3 | 2);
            out.push(value.len() as u8);
            out.extend_from_slice(&value);
        }
        out
    }

    #[test]
    fn decodes_a_list_of_strings_and_skips_other_kinds() {
        assert_eq!(
            list_strings(&list(&["read", "write"])),
            Some(vec!["read".into(), "write".into()])
        );
        // A number Value (number_value = 2, fixed64) among strings.
        let mut raw = list(&["a"]);
        raw.extend_from_slice(&[1 << 3 | 2, 9, 2 << 3 | 1, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
        assert_eq!(list_strings(&raw), Some(vec!["a".into()]));
        assert_eq!(list_strings(b""), Some(vec![]));
    }

    /// A list as Envoy 1.40 hands it over: measured bytes of `["flights:read", "x"]`.
    const ENVOY_PAIRS: &[u8] = b"\x02\0\0\0\x0c\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0flights:read\0\0x\0\0";

    #[test]
    fn decodes_envoy_pairs() {
        assert_eq!(pair_keys(ENVOY_PAIRS), Some(vec!["flights:read".into(), "x".into()]));
        assert_eq!(pair_keys(b"\0\0\0\0"), Some(vec![]));
        // Truncated, a trailing byte, a huge count: not pairs.
        assert_eq!(pair_keys(&ENVOY_PAIRS[..ENVOY_PAIRS.len() - 1]), None);
        assert_eq!(pair_keys(&[ENVOY_PAIRS, b"!"].concat()), None);
        assert_eq!(pair_keys(b"\xff\xff\xff\xffabcd"), None);
        assert_eq!(pair_keys(b"read"), None);
        let scp = [("p", "scp", ENVOY_PAIRS.to_vec())];
        assert!(has_scopes(
            &scp[..],
            "p",
            &["x".to_string(), "flights:read".to_string()]
        ));
    }

    #[test]
    fn a_plain_string_is_not_a_list() {
        assert_eq!(list_strings(b"read write"), None);
        // Truncated length, overlong varint.
        assert_eq!(list_strings(&[1 << 3 | 2, 5, 1]), None);
        assert_eq!(list_strings(&[0x80; 12]), None);
    }

    #[test]
    fn scopes_from_scope_or_scp() {
        let need = vec!["flights:read".to_string(), "billing".to_string()];
        let by_scope = [("p", "scope", b"openid flights:read billing".to_vec())];
        assert!(has_scopes(&by_scope[..], "p", &need));
        let by_scp = [("p", "scp", list(&["billing", "flights:read"]))];
        assert!(has_scopes(&by_scp[..], "p", &need));
        let scp_string = [("p", "scp", b"billing flights:read".to_vec())];
        assert!(has_scopes(&scp_string[..], "p", &need));
        let missing = [("p", "scope", b"flights:read".to_vec())];
        assert!(!has_scopes(&missing[..], "p", &need));
        // Another provider's payload does not count; no scopes required is always met.
        assert!(!has_scopes(&by_scope[..], "q", &need));
        assert!(has_scopes(&NoClaims, "p", &[]));
        // A scope is a whole word, not a substring.
        let partial = [("p", "scope", b"flights:readonly billing".to_vec())];
        assert!(!has_scopes(&partial[..], "p", &need));
    }
}
