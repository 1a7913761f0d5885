//! The decoded bundle and what it holds: enforcement settings, strategies, APIs, operations,
//! packages, applications and credentials, and the accessors that read names out of it.

use super::format::DIGEST_LEN;

/// `enforcement.match_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchPolicy {
    /// Unmatched requests get 404.
    Required,
    /// Unmatched requests pass untouched.
    IfPresent,
}

/// `enforcement.rate_limit_headers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitHeaders {
    /// IETF draft 11 `RateLimit` / `RateLimit-Policy`.
    Ietf,
    /// draft 03 `RateLimit-Limit` / `-Remaining` / `-Reset`.
    Draft03,
    /// None.
    None,
}

/// The enforcement settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enforcement {
    /// Unmatched requests: 404 or pass.
    pub match_policy: MatchPolicy,
    /// Header style.
    pub rate_limit_headers: RateLimitHeaders,
    /// Strip the API key before forwarding.
    pub hide_credentials: bool,
    /// `true`: CORS preflights to known paths pass without credentials.
    pub cors_preflight_pass: bool,
    /// The anonymous application, if any.
    pub anonymous: Option<u32>,
}

/// How a strategy finds the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrategyKind {
    /// API key in a header (case-insensitive) or query parameter; the names in lookup order.
    KeyAuth(Vec<String>),
    /// Identity in the named (lower-case) header.
    Header(String),
    /// An OAuth client id from a token Envoy's `jwt_authn` verified (docs/oidc.md).
    OpenidConnect(Oidc),
}

/// An `openid_connect` strategy: where its verified claims are and what they must say. The
/// strategy's name is the `jwt_authn` provider and its `payload_in_metadata` key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Oidc {
    /// The claim naming the application (`client_id`, `azp`, ...).
    pub claim: String,
    /// The tokens' `iss` (also checked by the filter when several providers share Envoy).
    pub issuer: String,
    /// The JWKS URL for `acepack envoy`; `""`: a local JWKS.
    pub jwks_uri: String,
    /// Accepted audiences (checked by `jwt_authn`).
    pub audiences: Vec<String>,
    /// Scopes every token must carry.
    pub scopes: Vec<String>,
}

/// An auth strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strategy {
    /// The strategy's name.
    pub name: String,
    /// Where the credential is.
    pub kind: StrategyKind,
}

/// An API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Base path (`""` or `/x`).
    pub base_path: String,
    /// Host patterns (lower-case; `*.x.com` wildcards); empty = any host.
    pub hosts: Vec<String>,
}

/// Methods are matched case-sensitively, as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Method {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE
    Trace,
    /// QUERY (OpenAPI 3.2)
    Query,
}

impl Method {
    /// Every method an operation may have (docs/catalog.md#operations; QUERY is OpenAPI 3.2's), as sent, in the order
    /// of the variants.
    pub const NAMES: [&'static str; 9] = [
        "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "QUERY",
    ];

    /// Parses an upper-case method; anything else (including `get`) is not a method we route.
    pub fn parse(s: &str) -> Option<Method> {
        Method::parse_bytes(s.as_bytes())
    }

    /// [`Method::parse`] on bytes.
    pub fn parse_bytes(s: &[u8]) -> Option<Method> {
        Some(match s {
            b"GET" => Method::Get,
            b"PUT" => Method::Put,
            b"POST" => Method::Post,
            b"DELETE" => Method::Delete,
            b"OPTIONS" => Method::Options,
            b"HEAD" => Method::Head,
            b"PATCH" => Method::Patch,
            b"TRACE" => Method::Trace,
            b"QUERY" => Method::Query,
            _ => return None,
        })
    }

    /// The method as sent (upper case).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Query => "QUERY",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// An operation. Its path and id are in [`Bundle::names`] (read them with [`Bundle::name`]):
/// 10,000 operations load without 20,000 string allocations (P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// Index of its API.
    pub api: u32,
    /// Method.
    pub method: Method,
    /// Normalized path template (parameters `{}`).
    pub path: NameRef,
    /// Stable operation id.
    pub id: NameRef,
}

/// A rate-limit window in seconds: 1, 60, 3600 or 86400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Limit {
    /// Requests per window (bucket capacity), ≥ 1.
    pub count: u64,
    /// Window length in seconds.
    pub window_seconds: u32,
}

/// An operation inside a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOperation {
    /// Operation index.
    pub operation: u32,
    /// Per-operation limits replacing the package's.
    pub limits: Option<Vec<Limit>>,
}

/// A package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Published on at least one portal (breaking-change rule).
    pub published: bool,
    /// Shared package limits; empty = unlimited.
    pub limits: Vec<Limit>,
    /// Its operations.
    pub operations: Vec<PackageOperation>,
}

/// A grant held by an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Whole API, no ACE limit.
    Api(u32),
    /// A package.
    Package(u32),
}

/// Where a string lives in [`Bundle::names`]: the names of 100,000 applications and the paths and
/// ids of 10,000 operations load as one buffer instead of 120,000 allocations (P4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NameRef {
    start: u32,
    len: u32,
}

impl NameRef {
    /// Appends `name` to `names` (a bundle's [`Bundle::names`] being built) and returns where it is.
    pub fn push(names: &mut String, name: &str) -> NameRef {
        let at = NameRef::at(names.len(), name.len());
        names.push_str(name);
        at
    }

    /// [`NameRef::push`] for the decoder, which checks UTF-8 once for the whole buffer.
    pub(super) fn push_bytes(names: &mut Vec<u8>, name: &[u8]) -> NameRef {
        let at = NameRef::at(names.len(), name.len());
        names.extend_from_slice(name);
        at
    }

    /// A bundle is far smaller than 4 GiB (the reader's counts are bounded by its length), so
    /// the saturation never happens; [`Bundle::name`] would give `""` if it did.
    fn at(start: usize, len: usize) -> NameRef {
        NameRef {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(len).unwrap_or(0),
        }
    }
}

/// An application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Name, in [`Bundle::names`] (read it with [`Bundle::name`]).
    pub name: NameRef,
    /// Its auth strategy.
    pub strategy: u32,
    /// Active grants in catalog order (inline up to two: most applications have one or two, and a
    /// heap allocation per application is a large part of loading 100,000 of them).
    pub grants: smallvec::SmallVec<[Grant; 2]>,
}

/// A credential: digest prefix and owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credential {
    /// First 16 bytes of SHA-256 of the key / identity.
    pub digest: [u8; DIGEST_LEN],
    /// The owning application.
    pub application: u32,
}

/// Where rate limits are counted (docs/global-rate-limits.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RateLimitMode {
    /// In this Envoy's shared data, exactly (the default).
    #[default]
    Local,
    /// By the rate limit service only.
    Global,
    /// The exact local bucket first, then the rate limit service.
    LocalGlobal,
}

/// The rate limit service of the global modes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalLimits {
    /// `Global` or `LocalGlobal`.
    pub mode: RateLimitMode,
    /// The Envoy cluster serving `envoy.service.ratelimit.v3.RateLimitService`.
    pub cluster: String,
    /// The descriptors' domain.
    pub domain: String,
    /// How long a request waits for the answer, in milliseconds (≥ 1).
    pub timeout_ms: u32,
    /// No answer in time: admit (`true`) or deny with 503 `limiter_unavailable` (`false`).
    pub failure_allow: bool,
}

/// A decoded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// `(major, minor)` of the bytes it was read from (or will be written as).
    pub version: (u16, u16),
    /// The compiler that wrote it.
    pub compiler: String,
    /// The catalog it was compiled from (as named on the command line).
    pub catalog: String,
    /// Enforcement settings.
    pub enforcement: Enforcement,
    /// Auth strategies in lookup order.
    pub strategies: Vec<Strategy>,
    /// APIs.
    pub apis: Vec<Api>,
    /// Operations.
    pub operations: Vec<Operation>,
    /// Packages.
    pub packages: Vec<Package>,
    /// Applications.
    pub applications: Vec<Application>,
    /// Credentials sorted by digest.
    pub credentials: Vec<Credential>,
    /// Operation paths and ids, and application names, back to back ([`Operation::path`],
    /// [`Operation::id`] and [`Application::name`] point into it).
    pub names: String,
    /// Publications and registrations that grant nothing (format 3.1 sections; empty in 3.0).
    pub access: Access,
    /// The rate limit service, in a global mode (`None`: local mode).
    pub global: Option<GlobalLimits>,
}

/// What the bundle keeps about access beyond active grants: which APIs are published directly
/// (for the breaking-change guard) and which registrations wait or were withdrawn (so a denial
/// can say so).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Access {
    /// APIs published directly on a portal, ascending.
    pub published_apis: Vec<u32>,
    /// Registrations that grant nothing, ascending by application.
    pub held: Vec<Held>,
    /// Operations that share method, path and hosts with another API's and that the gateway
    /// tells apart by the route a request takes: (operation, the route's cluster), strictly
    /// ascending by operation (docs/catalog.md#gateway-route-mapping).
    pub route_bound: Vec<(u32, String)>,
}

/// A registration that grants nothing, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The application.
    pub application: u32,
    /// What it registered for.
    pub grant: Grant,
    /// Why it grants nothing.
    pub hold: Hold,
}

/// Why a registration grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The registration, or the application's owner, waits for approval.
    Pending,
    /// The registration, or the application's owner, was revoked or rejected.
    Revoked,
}

impl Bundle {
    /// Appends an operation, its path and id going into [`Bundle::names`]; returns its index.
    pub fn push_operation(&mut self, api: u32, method: Method, path: &str, id: &str) -> u32 {
        let path = NameRef::push(&mut self.names, path);
        let id = NameRef::push(&mut self.names, id);
        self.operations.push(Operation { api, method, path, id });
        u32::try_from(self.operations.len() - 1).unwrap_or(u32::MAX)
    }

    /// An operation's id (`""` for an index out of range).
    pub fn operation_id(&self, operation: u32) -> &str {
        self.operations.get(operation as usize).map_or("", |o| self.name(o.id))
    }

    /// The text of a name in [`Bundle::names`] (`""` for a reference that is not in it).
    pub fn name(&self, name: NameRef) -> &str {
        let start = name.start as usize;
        self.names
            .get(start..start.saturating_add(name.len as usize))
            .unwrap_or("")
    }

    /// An application's name (`""` for an index out of range).
    pub fn application_name(&self, application: u32) -> &str {
        self.applications
            .get(application as usize)
            .map_or("", |a| self.name(a.name))
    }

    /// The application that owns `digest`, if any (binary search).
    pub fn credential(&self, digest: &[u8; DIGEST_LEN]) -> Option<u32> {
        self.credentials
            .binary_search_by(|c| c.digest.cmp(digest))
            .ok()
            .and_then(|i| self.credentials.get(i))
            .map(|c| c.application)
    }
}
