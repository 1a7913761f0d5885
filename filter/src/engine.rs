//! The decision engine: docs/enforcement.md#decision-order's order — match, credential, authorize, limit, allow — over
//! a loaded bundle, a request and a bucket store. No proxy-wasm types: the filter, `acepack
//! explain`, the benches and the tests all run this code.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};
use sha2::{Digest, Sha256};
use smallvec::SmallVec;

use crate::bundle::{Bundle, BundleError, Grant, Limit, MatchPolicy, StrategyKind, DIGEST_LEN};
use crate::canonical::canonicalize;
use crate::limiter::{self, LimitError, Outcome, Store};
use crate::matcher::{normalize_host, Match, MatchConflict, OperationTable};

/// Request headers, looked up by lower-case name (HTTP/2 and Envoy give lower-case names; other
/// hosts are matched case-insensitively).
pub trait Headers {
    /// The first value of the header `lower_name`.
    fn get(&self, lower_name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn get(&self, lower_name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(lower_name))
            .map(|(_, v)| v.as_ref())
    }
}

/// One request as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a, H: Headers + ?Sized> {
    /// `:method`, as sent.
    pub method: &'a str,
    /// `:path`, raw, with query.
    pub path: &'a str,
    /// `:authority` (or `host`).
    pub authority: &'a str,
    /// All request headers.
    pub headers: &'a H,
    /// The client's IP address (no port); used only for the anonymous application's buckets.
    pub client_ip: Option<&'a str>,
}

/// Why a request was denied (the `reason` of the JSON body, and the metric suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// 404: no operation matches and the policy is `required`.
    NoMatch,
    /// 400: an operation matches the canonical form but the raw path is not canonical.
    NonCanonical,
    /// 401: no credential and no anonymous application.
    Unauthenticated,
    /// 401 (key) / 403 (header identity): the credential is not registered.
    InvalidCredential,
    /// 403: no active grant to the operation.
    Forbidden,
    /// 429: every package bucket that could serve the request is empty.
    RateLimited,
    /// 503: the bucket store failed.
    LimiterUnavailable,
}

impl Reason {
    /// All reasons, for metric registration.
    pub const ALL: [Reason; 7] = [
        Reason::NoMatch,
        Reason::NonCanonical,
        Reason::Unauthenticated,
        Reason::InvalidCredential,
        Reason::Forbidden,
        Reason::RateLimited,
        Reason::LimiterUnavailable,
    ];

    /// The reason code of docs/enforcement.md#decision-order.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoMatch => "no_match",
            Reason::NonCanonical => "non_canonical",
            Reason::Unauthenticated => "unauthenticated",
            Reason::InvalidCredential => "invalid_credential",
            Reason::Forbidden => "forbidden",
            Reason::RateLimited => "rate_limited",
            Reason::LimiterUnavailable => "limiter_unavailable",
        }
    }

    /// The JSON body of the local response (a constant: no allocation on denial).
    pub fn body(self) -> &'static str {
        match self {
            Reason::NoMatch => r#"{"message":"no API operation matches this request","reason":"no_match"}"#,
            Reason::NonCanonical => {
                r#"{"message":"the request path is not in canonical form","reason":"non_canonical"}"#
            }
            Reason::Unauthenticated => r#"{"message":"no credential was presented","reason":"unauthenticated"}"#,
            Reason::InvalidCredential => {
                r#"{"message":"the credential is not registered","reason":"invalid_credential"}"#
            }
            Reason::Forbidden => {
                r#"{"message":"the application has no access to this operation","reason":"forbidden"}"#
            }
            Reason::RateLimited => r#"{"message":"rate limit exceeded","reason":"rate_limited"}"#,
            Reason::LimiterUnavailable => {
                r#"{"message":"the rate limiter is unavailable","reason":"limiter_unavailable"}"#
            }
        }
    }
}

/// A bucket that was charged (or found empty): which package, and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The package the bucket belongs to.
    pub package: u32,
    /// The bucket's scope (see [`Engine::policy`]).
    pub scope: u32,
    /// The operation override, if the bucket is per operation.
    pub operation_override: bool,
    /// The bucket's state after the decision.
    pub outcome: Outcome,
}

/// Where the credential was found, for `hide_credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hide {
    /// Remove this request header (lower-case name).
    Header(String),
    /// Replace `:path` with this (the key parameter removed from the query).
    Path(String),
}

/// An allowed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The matched operation.
    pub operation: u32,
    /// The calling application.
    pub application: u32,
    /// The package charged, if any (an API grant charges none).
    pub package: Option<u32>,
    /// The charged bucket, when the package has limits.
    pub charge: Option<Charge>,
    /// What to strip before forwarding, when `hide_credentials` is on.
    pub hide: Option<Hide>,
}

/// A denied request: a local response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// HTTP status.
    pub status: u16,
    /// Why.
    pub reason: Reason,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
    /// Add `WWW-Authenticate: Key realm="acepack"`.
    pub www_authenticate: bool,
    /// The matched operation, if matching got that far.
    pub operation: Option<u32>,
    /// The identified application, if any.
    pub application: Option<u32>,
    /// The bucket that refused (429).
    pub charge: Option<Charge>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward untouched (no operation under `if_present`, or a CORS preflight).
    Pass,
    /// Forward with `x-ace-*` headers.
    Allow(Allow),
    /// Reply locally.
    Deny(Deny),
}

/// Why a bundle cannot be loaded into an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The bytes are not a valid bundle.
    Bundle(BundleError),
    /// The operations cannot be routed unambiguously.
    Routes(MatchConflict),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Bundle(e) => e.fmt(f),
            LoadError::Routes(e) => write!(f, "bundle routes are ambiguous: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A package that contains an operation, as seen from the operation.
#[derive(Debug, Clone, Copy)]
struct Membership {
    package: u32,
    /// Index into `Engine::scopes` of the bucket this (package, operation) charges, and whether it is
    /// an operation override.
    scope: u32,
    is_override: bool,
}

/// A bucket scope: stable id part of the key, its limits, and its `RateLimit-Policy` value
/// (rendered once at load so responses need no formatting of constants).
#[derive(Debug, Clone)]
struct Scope {
    /// The package, and the operation of an override: what the key part is derived from.
    package: u32,
    operation: Option<u32>,
    /// Derived on first use (a SHA-256 each: thousands of scopes would cost P4 a few ms).
    key_part: std::sync::OnceLock<[u8; 11]>,
    limits: SmallVec<[Limit; 2]>,
    policy: String,
}

impl Scope {
    fn new(package: u32, package_id: &str, operation: Option<u32>, limits: &[Limit]) -> Scope {
        let mut policy = String::new();
        for (i, l) in limits.iter().enumerate() {
            if i > 0 {
                policy.push_str(", ");
            }
            policy.push('"');
            policy.push_str(package_id);
            policy.push_str("\";q=");
            crate::headers::push_u64(&mut policy, l.count);
            policy.push_str(";w=");
            crate::headers::push_u64(&mut policy, u64::from(l.window_seconds));
        }
        Scope {
            package,
            operation,
            key_part: std::sync::OnceLock::new(),
            limits: limits.iter().copied().collect(),
            policy,
        }
    }

    /// The scope's part of bucket keys.
    fn key_part(&self, bundle: &Bundle) -> [u8; 11] {
        *self.key_part.get_or_init(|| {
            let package_id = bundle.packages.get(self.package as usize).map_or("", |p| p.id.as_str());
            let operation_id = self.operation.map(|o| bundle.operation_id(o));
            scope_key(package_id, operation_id)
        })
    }
}

/// Most credentials a [`KeyCache`] remembers before it starts over.
pub const KEY_CACHE_CAPACITY: usize = 4096;

/// A per-VM memo of registered credentials: raw secret → (application, digest), so repeat callers
/// skip SHA-256. Only credentials found in the bundle are remembered (unknown keys cannot grow
/// it), and it is bounded: when full it starts over. It holds raw keys in the VM's memory, which
/// already sees every request's key.
///
/// Keys are compared eight bytes at a time: a hash map's own comparison calls `memcmp`, which
/// the wasm libc does byte by byte (about 14 wasm instructions a byte, 400 for a typical key).
#[derive(Default)]
pub struct KeyCache {
    table: HashTable<CachedKey>,
    hasher: DefaultHashBuilder,
}

struct CachedKey {
    secret: Box<[u8]>,
    application: u32,
    digest: [u8; DIGEST_LEN],
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        f.debug_struct("KeyCache").field("len", &self.len()).finish()
    }
}

impl KeyCache {
    /// An empty cache (allocates on first insert).
    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// Number of remembered credentials.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The application and digest of a remembered secret.
    fn get(&self, secret: &[u8]) -> Option<(u32, [u8; DIGEST_LEN])> {
        self.table
            .find(self.hasher.hash_one(secret), |k| same_bytes(&k.secret, secret))
            .map(|k| (k.application, k.digest))
    }

    /// Remembers a registered secret (starting over when full).
    fn insert(&mut self, secret: &[u8], application: u32, digest: [u8; DIGEST_LEN]) {
        if self.table.len() >= KEY_CACHE_CAPACITY {
            self.table.clear();
        }
        let hasher = &self.hasher;
        let entry = CachedKey {
            secret: Box::from(secret),
            application,
            digest,
        };
        self.table
            .insert_unique(hasher.hash_one(secret), entry, |k| hasher.hash_one(&*k.secret));
    }
}

/// Byte-slice equality eight bytes at a time (see [`KeyCache`] for why not `==`).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| c.first_chunk::<8>().map(|w| u64::from_ne_bytes(*w));
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    if (&mut x).zip(&mut y).any(|(p, q)| word(p) != word(q)) {
        return false;
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

/// A loaded bundle, ready to decide.
pub struct Engine {
    bundle: Bundle,
    table: OperationTable,
    /// Per operation: the packages containing it, ascending by package index — operation `o`'s are
    /// `memberships[membership_index[o]..membership_index[o + 1]]` (one allocation, not one per
    /// operation).
    memberships: Vec<Membership>,
    membership_index: Vec<u32>,
    scopes: Vec<Scope>,
    /// Credentials by the top `index_bits` bits of their digest: `credentials[index[p]..index[p + 1]]`
    /// are those with prefix `p` (the table is sorted), so a lookup is one or two probes.
    cred_index: Vec<u32>,
    index_bits: u32,
    /// Any key_auth strategy present (then a missing credential gets `WWW-Authenticate`).
    has_key_auth: bool,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded base64url of `input` appended to `out`.
fn b64(input: &[u8], out: &mut String) {
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = ((n >> (18 - 6 * i)) & 63) as usize;
            out.push(char::from(B64.get(idx).copied().unwrap_or(b'A')));
        }
    }
}

/// SHA-256 prefix of a credential: what the bundle stores and what bucket keys are made of.
pub fn credential_digest(secret: &[u8]) -> [u8; DIGEST_LEN] {
    let full = Sha256::digest(secret);
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(full.get(..DIGEST_LEN).unwrap_or(&[0u8; DIGEST_LEN]));
    out
}

fn scope_key(package_id: &str, operation_id: Option<&str>) -> [u8; 11] {
    let mut h = Sha256::new();
    h.update(b"acepack-scope\0");
    h.update(package_id.as_bytes());
    h.update(b"\0");
    if let Some(op) = operation_id {
        h.update(op.as_bytes());
    }
    let full = h.finalize();
    let mut s = String::with_capacity(11);
    b64(full.get(..8).unwrap_or_default(), &mut s);
    let mut out = [b'A'; 11];
    for (o, c) in out.iter_mut().zip(s.bytes()) {
        *o = c;
    }
    out
}

/// The shared-data key of a bucket: `ak` + 16 chars of credential digest + 11 chars of scope.
/// Stable across reloads (derived from the credential, package id and operation id only).
fn bucket_key(credential: &[u8; DIGEST_LEN], scope_part: &[u8; 11]) -> [u8; BUCKET_KEY_LEN] {
    let mut key = [b'A'; BUCKET_KEY_LEN];
    let (head, rest) = key.split_at_mut(2);
    head.copy_from_slice(b"ak");
    let (cred, tail) = rest.split_at_mut(16);
    // 12 bytes → 16 base64url characters, 3 bytes → 4 characters at a time.
    for (out, chunk) in cred.chunks_exact_mut(4).zip(credential.chunks_exact(3)) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b));
        for (i, o) in out.iter_mut().enumerate() {
            *o = B64.get(((n >> (18 - 6 * i)) & 63) as usize).copied().unwrap_or(b'A');
        }
    }
    tail.copy_from_slice(scope_part);
    key
}

/// Length of a bucket key: `ak`, 16 characters of credential, 11 of scope.
const BUCKET_KEY_LEN: usize = 29;

impl Engine {
    /// Decodes a bundle and builds the lookup structures.
    pub fn load(bytes: &[u8]) -> Result<Engine, LoadError> {
        let bundle = Bundle::decode(bytes).map_err(LoadError::Bundle)?;
        Engine::new(bundle)
    }

    /// Builds an engine over an already decoded bundle.
    pub fn new(bundle: Bundle) -> Result<Engine, LoadError> {
        let table = OperationTable::build(&bundle).map_err(LoadError::Routes)?;
        // Count per operation, then fill in package order (so each operation's slice is ascending).
        let ops = bundle.operations.len();
        let mut membership_index = vec![0u32; ops + 1];
        for po in bundle.packages.iter().flat_map(|p| &p.operations) {
            if let Some(n) = membership_index.get_mut(po.operation as usize + 1) {
                *n += 1;
            }
        }
        for i in 1..membership_index.len() {
            let before = membership_index.get(i - 1).copied().unwrap_or(0);
            if let Some(n) = membership_index.get_mut(i) {
                *n += before;
            }
        }
        let mut next: Vec<u32> = membership_index.clone();
        let placeholder = Membership {
            package: 0,
            scope: 0,
            is_override: false,
        };
        let mut memberships = vec![placeholder; membership_index.last().copied().unwrap_or(0) as usize];
        let mut scopes = Vec::new();
        for (p, package) in bundle.packages.iter().enumerate() {
            let package_scope = scopes.len() as u32;
            scopes.push(Scope::new(p as u32, &package.id, None, &package.limits));
            for po in &package.operations {
                if po.operation as usize >= ops {
                    continue;
                }
                let (scope, is_override) = match &po.limits {
                    Some(limits) => {
                        scopes.push(Scope::new(p as u32, &package.id, Some(po.operation), limits));
                        (scopes.len() as u32 - 1, true)
                    }
                    None => (package_scope, false),
                };
                let slot = next.get_mut(po.operation as usize);
                if let Some(at) = slot {
                    if let Some(m) = memberships.get_mut(*at as usize) {
                        *m = Membership {
                            package: p as u32,
                            scope,
                            is_override,
                        };
                    }
                    *at += 1;
                }
            }
        }
        let has_key_auth = bundle
            .strategies
            .iter()
            .any(|s| matches!(s.kind, StrategyKind::KeyAuth(_)));
        let (cred_index, index_bits) = credential_index(&bundle);
        Ok(Engine {
            bundle,
            table,
            memberships,
            membership_index,
            scopes,
            cred_index,
            index_bits,
            has_key_auth,
        })
    }

    /// The application owning a credential digest.
    pub fn credential(&self, digest: &[u8; DIGEST_LEN]) -> Option<u32> {
        let p = prefix(digest, self.index_bits);
        let start = self.cred_index.get(p).copied().unwrap_or(0) as usize;
        let end = self.cred_index.get(p + 1).copied().unwrap_or(0) as usize;
        let slice = self.bundle.credentials.get(start..end)?;
        slice.iter().find(|c| c.digest == *digest).map(|c| c.application)
    }

    /// The loaded bundle.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The packages containing `operation`, ascending by package index.
    fn memberships(&self, operation: u32) -> &[Membership] {
        let o = operation as usize;
        let (start, end) = (self.membership_index.get(o), self.membership_index.get(o + 1));
        match (start, end) {
            (Some(&s), Some(&e)) => self.memberships.get(s as usize..e as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The `RateLimit-Policy` value of a bucket scope (see [`Charge::scope`]).
    pub fn policy(&self, scope: u32) -> &str {
        self.scopes.get(scope as usize).map_or("", |s| s.policy.as_str())
    }

    /// Decides one request. `now_us` is the host's wall clock in microseconds.
    pub fn decide<H: Headers + ?Sized, S: Store + ?Sized>(
        &self,
        req: &Request<'_, H>,
        store: &mut S,
        now_us: u64,
    ) -> Decision {
        self.decide_cached(req, store, None, now_us)
    }

    /// [`Engine::decide`] with a per-VM [`KeyCache`] that spares repeat callers the key's SHA-256.
    pub fn decide_cached<H: Headers + ?Sized, S: Store + ?Sized>(
        &self,
        req: &Request<'_, H>,
        store: &mut S,
        mut cache: Option<&mut KeyCache>,
        now_us: u64,
    ) -> Decision {
        let enforcement = &self.bundle.enforcement;
        let canon = canonicalize(req.path);
        let host = normalize_host(req.authority);
        let found = self.table.find(&host, req.method, &canon.path);
        let preflight = enforcement.cors_preflight_pass
            && req.method == "OPTIONS"
            && req.headers.get("origin").is_some()
            && req.headers.get("access-control-request-method").is_some();

        // 1. Match.
        let operation = match found {
            Match::Operation(op) if !canon.canonical => return deny(400, Reason::NonCanonical, Some(op), None),
            Match::PathOnly if preflight && !canon.canonical => return deny(400, Reason::NonCanonical, None, None),
            _ if preflight && found != Match::None => return Decision::Pass,
            Match::Operation(op) => op,
            _ => {
                return match enforcement.match_policy {
                    MatchPolicy::Required => deny(404, Reason::NoMatch, None, None),
                    MatchPolicy::IfPresent => Decision::Pass,
                }
            }
        };

        // 2. Credential.
        let mut hide = None;
        let mut identity: Option<(u32, [u8; DIGEST_LEN])> = None;
        for (index, strategy) in self.bundle.strategies.iter().enumerate() {
            let (secret, status, found_at) = match &strategy.kind {
                StrategyKind::KeyAuth(names) => match find_key(names, req.headers, canon.query) {
                    Some((secret, at)) => (secret, 401, Some(at)),
                    None => continue,
                },
                StrategyKind::Header(name) => match req.headers.get(name) {
                    Some(v) => (std::borrow::Cow::Borrowed(v), 403, None),
                    None => continue,
                },
            };
            let known = cache.as_deref().and_then(|c| c.get(secret.as_bytes()));
            let (found, digest) = match known {
                Some((app, digest)) => (Some(app), digest),
                None => {
                    let digest = credential_digest(secret.as_bytes());
                    let found = self.credential(&digest);
                    if let (Some(app), Some(c)) = (found, cache.as_deref_mut()) {
                        c.insert(secret.as_bytes(), app, digest);
                    }
                    (found, digest)
                }
            };
            let app = found.filter(|app| {
                self.bundle
                    .applications
                    .get(*app as usize)
                    .is_some_and(|a| a.strategy as usize == index)
            });
            let Some(app) = app else {
                return Decision::Deny(Deny {
                    status,
                    reason: Reason::InvalidCredential,
                    retry_after: None,
                    www_authenticate: status == 401,
                    operation: Some(operation),
                    application: None,
                    charge: None,
                });
            };
            if enforcement.hide_credentials {
                hide = found_at.map(|at| match at {
                    KeyAt::Header(name) => Hide::Header(name.to_owned()),
                    KeyAt::Query(name) => Hide::Path(strip_query_param(req.path, name)),
                });
            }
            identity = Some((app, digest));
            break;
        }
        let (application, digest) = match identity {
            Some(found) => found,
            None => match enforcement.anonymous {
                Some(anon) => (
                    anon,
                    credential_digest(format!("anonymous\0{}", req.client_ip.unwrap_or("")).as_bytes()),
                ),
                None => {
                    return Decision::Deny(Deny {
                        status: 401,
                        reason: Reason::Unauthenticated,
                        retry_after: None,
                        www_authenticate: self.has_key_auth,
                        operation: Some(operation),
                        application: None,
                        charge: None,
                    })
                }
            },
        };

        // 3. Authorize, 4. limit: API grant first (no ACE limit), else packages in catalog order.
        let Some(app) = self.bundle.applications.get(application as usize) else {
            return deny(403, Reason::Forbidden, Some(operation), Some(application));
        };
        let api = self.bundle.operations.get(operation as usize).map(|o| o.api);
        if app.grants.iter().any(|g| Some(*g) == api.map(Grant::Api)) {
            return Decision::Allow(Allow {
                operation,
                application,
                package: None,
                charge: None,
                hide,
            });
        }
        let memberships = self.memberships(operation);
        let mut best_denial: Option<Charge> = None;
        let mut granted = false;
        for grant in &app.grants {
            let Grant::Package(p) = *grant else { continue };
            let Some(m) = memberships.iter().find(|m| m.package == p) else {
                continue;
            };
            granted = true;
            let Some(scope) = self.scopes.get(m.scope as usize) else {
                continue;
            };
            if scope.limits.is_empty() {
                return Decision::Allow(Allow {
                    operation,
                    application,
                    package: Some(p),
                    charge: None,
                    hide,
                });
            }
            let key = bucket_key(&digest, &scope.key_part(&self.bundle));
            match limiter::take(store, &key, &scope.limits, now_us) {
                Ok(outcome) if outcome.admitted => {
                    let charge = Charge {
                        package: p,
                        scope: m.scope,
                        operation_override: m.is_override,
                        outcome,
                    };
                    return Decision::Allow(Allow {
                        operation,
                        application,
                        package: Some(p),
                        charge: Some(charge),
                        hide,
                    });
                }
                Ok(outcome) => {
                    if best_denial
                        .as_ref()
                        .is_none_or(|b| outcome.retry_after < b.outcome.retry_after)
                    {
                        best_denial = Some(Charge {
                            package: p,
                            scope: m.scope,
                            operation_override: m.is_override,
                            outcome,
                        });
                    }
                }
                Err(LimitError::Store | LimitError::Contention) => {
                    return deny(503, Reason::LimiterUnavailable, Some(operation), Some(application));
                }
            }
        }
        if !granted {
            return deny(403, Reason::Forbidden, Some(operation), Some(application));
        }
        let retry_after = best_denial.as_ref().map(|c| c.outcome.retry_after);
        Decision::Deny(Deny {
            status: 429,
            reason: Reason::RateLimited,
            retry_after,
            www_authenticate: false,
            operation: Some(operation),
            application: Some(application),
            charge: best_denial,
        })
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

/// Builds the prefix index: about one credential per slot, at most 2^16 slots.
fn credential_index(bundle: &Bundle) -> (Vec<u32>, u32) {
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
    (index, bits)
}

fn deny(status: u16, reason: Reason, operation: Option<u32>, application: Option<u32>) -> Decision {
    Decision::Deny(Deny {
        status,
        reason,
        retry_after: None,
        www_authenticate: false,
        operation,
        application,
        charge: None,
    })
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
) -> Option<(std::borrow::Cow<'a, str>, KeyAt<'n>)> {
    for name in names {
        if let Some(v) = headers.get(name) {
            return Some((std::borrow::Cow::Borrowed(v), KeyAt::Header(name)));
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
fn percent_decode(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('%') {
        return std::borrow::Cow::Borrowed(s);
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
    std::borrow::Cow::Owned(String::from_utf8_lossy(&out).into_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_slice_equality() {
        let base: Vec<u8> = (0..40u8).collect();
        for len in 0..=base.len() {
            let a = &base[..len];
            assert!(same_bytes(a, a));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "len {len}, differs at {at}");
            }
            if len > 0 {
                assert!(!same_bytes(a, &base[..len - 1]));
            }
        }
    }

    #[test]
    fn key_cache_remembers_and_starts_over_when_full() {
        let mut c = KeyCache::new();
        c.insert(b"secret-1", 7, [1; DIGEST_LEN]);
        assert_eq!(c.get(b"secret-1"), Some((7, [1; DIGEST_LEN])));
        assert_eq!(c.get(b"secret-2"), None);
        assert_eq!(c.get(b"secret-"), None);
        for i in 0..KEY_CACHE_CAPACITY {
            c.insert(format!("k{i}").as_bytes(), i as u32, [0; DIGEST_LEN]);
        }
        // Full after the first key: started over once, so the oldest are gone, the newest kept.
        assert!(c.len() <= KEY_CACHE_CAPACITY);
        assert_eq!(c.get(b"secret-1"), None);
        let last = KEY_CACHE_CAPACITY - 1;
        assert_eq!(
            c.get(format!("k{last}").as_bytes()),
            Some((last as u32, [0; DIGEST_LEN]))
        );
        assert!(!format!("{c:?}").contains("k1"), "Debug never shows keys: {c:?}");
    }
}
