//! Step 2, the credential: try the auth strategies in catalog order and find the calling
//! application (or the anonymous one), or deny with 401/403.

use std::borrow::Cow;

use crate::bundle::{Bundle, StrategyKind, DIGEST_LEN};

use super::cache::KeyCache;
use super::decision::{Decision, Deny, Hide, Reason};
use super::keys::{anonymous_digest, credential_digest};
use super::request::{Headers, Request};
use super::Engine;

/// Who is calling: the application, the digest its buckets are keyed by, and what to strip
/// before forwarding (`hide_credentials`).
pub(crate) struct Identity {
    pub(crate) application: u32,
    pub(crate) digest: [u8; DIGEST_LEN],
    pub(crate) hide: Option<Hide>,
}

/// Finds the caller of `req` (whose query is `query`), for a request that matched `operation`.
pub(crate) fn identify<H: Headers + ?Sized>(
    engine: &Engine,
    req: &Request<'_, H>,
    query: &str,
    operation: u32,
    mut cache: Option<&mut KeyCache>,
) -> Result<Identity, Decision> {
    let bundle = engine.bundle();
    for (index, strategy) in bundle.strategies.iter().enumerate() {
        let (secret, status, found_at) = match &strategy.kind {
            StrategyKind::KeyAuth(names) => match find_key(names, req.headers, query) {
                Some((secret, at)) => (secret, 401, Some(at)),
                None => continue,
            },
            StrategyKind::Header(name) => match req.headers.get(name) {
                Some(v) => (Cow::Borrowed(v), 403, None),
                None => continue,
            },
        };
        let known = cache.as_deref().and_then(|c| c.get(secret.as_bytes()));
        let (found, digest) = match known {
            Some((app, digest)) => (Some(app), digest),
            None => {
                let digest = credential_digest(secret.as_bytes());
                let found = engine.credential(&digest);
                if let (Some(app), Some(c)) = (found, cache.as_deref_mut()) {
                    c.insert(secret.as_bytes(), app, digest);
                }
                (found, digest)
            }
        };
        // A credential counts only for the strategy its application uses.
        let app = found.filter(|app| {
            bundle
                .applications
                .get(*app as usize)
                .is_some_and(|a| a.strategy as usize == index)
        });
        let Some(application) = app else {
            return Err(Decision::Deny(Deny {
                status,
                reason: Reason::InvalidCredential,
                retry_after: None,
                www_authenticate: status == 401,
                operation: Some(operation),
                application: None,
                charge: None,
            }));
        };
        let hide = match found_at {
            Some(at) if bundle.enforcement.hide_credentials => Some(match at {
                KeyAt::Header(name) => Hide::Header(name.to_owned()),
                KeyAt::Query(name) => Hide::Path(strip_query_param(req.path, name)),
            }),
            _ => None,
        };
        return Ok(Identity {
            application,
            digest,
            hide,
        });
    }
    match bundle.enforcement.anonymous {
        Some(application) => Ok(Identity {
            application,
            digest: anonymous_digest(req.client_ip),
            hide: None,
        }),
        None => Err(Decision::Deny(Deny {
            status: 401,
            reason: Reason::Unauthenticated,
            retry_after: None,
            www_authenticate: engine.has_key_auth(),
            operation: Some(operation),
            application: None,
            charge: None,
        })),
    }
}

/// Credentials by the top `bits` bits of their digest: `credentials[index[p]..index[p + 1]]` are
/// those with prefix `p` (the bundle's table is sorted), so a lookup is one or two probes.
pub(crate) struct CredentialIndex {
    index: Vec<u32>,
    bits: u32,
}

impl CredentialIndex {
    /// Builds the prefix index: about one credential per slot, at most 2^16 slots.
    pub(crate) fn build(bundle: &Bundle) -> CredentialIndex {
        let n = bundle.credentials.len();
        let bits = (usize::BITS - n.leading_zeros()).min(16);
        let slots = 1usize << bits;
        let mut index = vec![0u32; slots + 1];
        // Count per prefix, then prefix sums (credentials are sorted, so ranges are contiguous).
        for c in &bundle.credentials {
            if let Some(slot) = index.get_mut(prefix(&c.digest, bits) + 1) {
                *slot += 1;
            }
        }
        for i in 1..index.len() {
            let prev = index.get(i - 1).copied().unwrap_or(0);
            if let Some(slot) = index.get_mut(i) {
                *slot += prev;
            }
        }
        CredentialIndex { index, bits }
    }

    /// The application owning a credential digest.
    pub(crate) fn find(&self, bundle: &Bundle, digest: &[u8; DIGEST_LEN]) -> Option<u32> {
        let p = prefix(digest, self.bits);
        let start = self.index.get(p).copied().unwrap_or(0) as usize;
        let end = self.index.get(p + 1).copied().unwrap_or(0) as usize;
        let slice = bundle.credentials.get(start..end)?;
        slice.iter().find(|c| c.digest == *digest).map(|c| c.application)
    }
}

/// The top `bits` bits of a digest.
fn prefix(digest: &[u8; DIGEST_LEN], bits: u32) -> usize {
    let top = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    if bits == 0 {
        0
    } else {
        (top >> (32 - bits)) as usize
    }
}

/// Where a key was found.
enum KeyAt<'n> {
    Header(&'n str),
    Query(&'n str),
}

/// key_auth lookup: every key name as a header first, then every key name as a query parameter.
fn find_key<'a, 'n, H: Headers + ?Sized>(
    names: &'n [String],
    headers: &'a H,
    query: &'a str,
) -> Option<(Cow<'a, str>, KeyAt<'n>)> {
    for name in names {
        if let Some(v) = headers.get(name) {
            return Some((Cow::Borrowed(v), KeyAt::Header(name)));
        }
    }
    if query.is_empty() {
        return None;
    }
    for name in names {
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if percent_decode(k).as_ref() == name.as_str() {
                return Some((percent_decode(v), KeyAt::Query(name)));
            }
        }
    }
    None
}

/// Decodes `%XX` escapes (invalid ones are kept literally); `+` stays `+`.
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hi = b.get(i + 1).and_then(|c| (*c as char).to_digit(16));
            let lo = b.get(i + 2).and_then(|c| (*c as char).to_digit(16));
            if let (Some(h), Some(l)) = (hi, lo) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// `raw_path` with every `name=...` query parameter removed.
fn strip_query_param(raw_path: &str, name: &str) -> String {
    let (path, rest) = raw_path.split_once('?').unwrap_or((raw_path, ""));
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            !pair.is_empty() && percent_decode(pair.split_once('=').map_or(*pair, |(k, _)| k)).as_ref() != name
        })
        .collect();
    let mut out = String::with_capacity(raw_path.len());
    out.push_str(path);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}
