//! The decision engine: docs/enforcement.md's decision order over a loaded bundle, a request and
//! a bucket store. No proxy-wasm types: the filter, `acepack explain`, the benches and the tests
//! all run this code.
//!
//! One module per step, in the order a request takes them — [`matching`] (1. match),
//! [`identify`] (2. credential), [`authorize`] (3. grants), [`charge`] (4. limit, 5. allow) — and
//! one per concern they share: [`request`] (what the engine reads), [`decision`] (what it
//! answers), [`keys`] (credential digests and bucket keys), [`scope`] (bucket scopes), [`cache`]
//! (the per-VM key memo). [`Engine::decide_cached`] states the order; each step is a function of
//! the tables it reads (never of the engine), returning the value the next step needs or the
//! decision that ends the request. Dependencies run one way: this module → steps → concerns.

// Each step returns `Result<_, Decision>` so the order reads as a chain of `?`. The decision is
// large, but boxing it would allocate on every denial, and the steps are inlined into one function.
#![allow(clippy::result_large_err)]

mod authorize;
mod cache;
mod charge;
mod decision;
mod identify;
mod keys;
mod matching;
mod oidc;
mod request;
mod scope;

pub use cache::{KeyCache, KEY_CACHE_CAPACITY};
pub use decision::{Allow, Charge, Decision, Deny, Hide, Reason};
pub use keys::credential_digest;
pub use request::{Headers, Request};

use crate::bundle::{Bundle, BundleError, StrategyKind, DIGEST_LEN};
use crate::canonical::canonicalize;
use crate::claims::{Claims, NoClaims};
use crate::limiter::Store;
use crate::matcher::{MatchConflict, OperationTable};

use authorize::{Authorized, Memberships};
use identify::CredentialIndex;
use scope::Scope;

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

/// A loaded bundle, ready to decide.
pub struct Engine {
    bundle: Bundle,
    table: OperationTable,
    memberships: Memberships,
    scopes: Vec<Scope>,
    credentials: CredentialIndex,
    /// Any key_auth strategy present (then a missing credential gets `WWW-Authenticate: Key`).
    has_key_auth: bool,
    /// Any openid_connect strategy present (then `WWW-Authenticate: Bearer`).
    has_oidc: bool,
}

impl Engine {
    /// Decodes a bundle and builds the lookup structures.
    pub fn load(bytes: &[u8]) -> Result<Engine, LoadError> {
        let bundle = Bundle::decode(bytes).map_err(LoadError::Bundle)?;
        Engine::new(bundle)
    }

    /// Builds an engine over an already decoded bundle. Never panics: what the router cannot
    /// hold is a [`LoadError::Routes`].
    pub fn new(bundle: Bundle) -> Result<Engine, LoadError> {
        let table = OperationTable::build(&bundle).map_err(LoadError::Routes)?;
        let (memberships, scopes) = Memberships::build(&bundle);
        let has_key_auth = bundle
            .strategies
            .iter()
            .any(|s| matches!(s.kind, StrategyKind::KeyAuth(_)));
        let has_oidc = bundle
            .strategies
            .iter()
            .any(|s| matches!(s.kind, StrategyKind::OpenidConnect(_)));
        let credentials = CredentialIndex::build(&bundle);
        Ok(Engine {
            bundle,
            table,
            memberships,
            scopes,
            credentials,
            has_key_auth,
            has_oidc,
        })
    }

    /// The application owning a credential digest.
    pub fn credential(&self, digest: &[u8; DIGEST_LEN]) -> Option<u32> {
        self.credentials.find(&self.bundle, digest)
    }

    /// The loaded bundle.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// Whether the bundle has a key_auth strategy (`WWW-Authenticate: Key realm="acepack"`).
    pub fn has_key_auth(&self) -> bool {
        self.has_key_auth
    }

    /// Whether the bundle has an openid_connect strategy (`WWW-Authenticate: Bearer realm="acepack"`).
    pub fn has_oidc(&self) -> bool {
        self.has_oidc
    }

    /// The `RateLimit-Policy` value of a bucket scope (see [`Charge::scope`]).
    pub fn policy(&self, scope: u32) -> &str {
        self.scopes.get(scope as usize).map_or("", Scope::policy)
    }

    /// The name rate-limit headers give a bucket scope: the package id, or `<package
    /// id>/<operation id>` for an operation override.
    pub fn scope_name(&self, scope: u32) -> &str {
        self.scopes.get(scope as usize).map_or("", Scope::name)
    }

    /// A bucket scope's limits (empty for an unknown scope).
    pub fn scope_limits(&self, scope: u32) -> &[crate::bundle::Limit] {
        self.scopes.get(scope as usize).map_or(&[], |s| s.limits())
    }

    /// The descriptor values that identify a charged bucket to a rate limit service: the
    /// credential's hash (hex of the first 12 bytes of its digest, never the key) and the bucket
    /// name (the package id, or `package:operation` for an operation override).
    pub fn global_descriptor(&self, charge: &Charge) -> (String, String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut credential = String::with_capacity(24);
        for b in charge.credential.iter().take(12) {
            for nibble in [b >> 4, b & 15] {
                credential.push(char::from(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0')));
            }
        }
        let bucket = self
            .scopes
            .get(charge.scope as usize)
            .map(|s| s.bucket_name(&self.bundle))
            .unwrap_or_default();
        (credential, bucket)
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
        cache: Option<&mut KeyCache>,
        now_us: u64,
    ) -> Decision {
        self.decide_with_claims(req, &NoClaims, store, cache, now_us)
    }

    /// [`Engine::decide_cached`] for a request that may carry claims `jwt_authn` verified
    /// (read only by `openid_connect` strategies, docs/oidc.md).
    pub fn decide_with_claims<H: Headers + ?Sized, C: Claims + ?Sized, S: Store + ?Sized>(
        &self,
        req: &Request<'_, H>,
        claims: &C,
        store: &mut S,
        cache: Option<&mut KeyCache>,
        now_us: u64,
    ) -> Decision {
        self.steps(req, claims, store, cache, now_us)
    }

    /// The decision order. Each step before the last either hands the next its result or is the
    /// decision (a denial, or a pass); the last step writes its decision straight into the return
    /// value (no move of a `Result<Decision, Decision>` on the allowed path).
    fn steps<H: Headers + ?Sized, C: Claims + ?Sized, S: Store + ?Sized>(
        &self,
        req: &Request<'_, H>,
        claims: &C,
        store: &mut S,
        cache: Option<&mut KeyCache>,
        now_us: u64,
    ) -> Decision {
        /// The value of a step, or its decision returned at once.
        macro_rules! step {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(decision) => return decision,
                }
            };
        }
        let bundle = &self.bundle;
        let canon = canonicalize(req.path);
        let operation = step!(matching::match_operation(
            &self.table,
            &bundle.enforcement,
            &bundle.access.route_bound,
            req,
            claims,
            &canon,
        ));
        let identity = step!(identify::identify(
            bundle,
            &self.credentials,
            // A 401 for a missing credential challenges for every scheme the bundle accepts.
            self.has_key_auth || self.has_oidc,
            req,
            claims,
            canon.query,
            operation,
            cache,
        ));
        match step!(authorize::authorize(
            bundle,
            &self.memberships,
            identity.application,
            operation
        )) {
            Authorized::Api => Decision::Allow(Allow {
                operation,
                application: identity.application,
                package: None,
                charge: None,
                hide: identity.hide,
            }),
            Authorized::Packages(grants) => {
                charge::charge(bundle, &self.scopes, grants, identity, operation, store, now_us)
            }
        }
    }
}
