//! The validated model: what a catalog and its OpenAPI documents mean once every reference is
//! resolved. It is the one input of the bundle writer, `check`'s report and `explain`; nothing
//! downstream parses the catalog again. Indices point into the vectors of [`Model`].

use std::collections::BTreeMap;

use crate::diag::Diagnostic;

// The enforcement settings are defined once, here: the catalog reads them (Deserialize), the
// model and `check`'s report carry them (Serialize), and `bundle` maps them to the wire format.

/// `enforcement.match_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchPolicy {
    /// A request that matches no operation is rejected with 404.
    Required,
    /// A request that matches no operation passes through untouched.
    #[default]
    IfPresent,
}

/// `enforcement.rate_limit_headers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitHeaders {
    /// IETF httpapi RateLimit / RateLimit-Policy fields (draft 11).
    #[default]
    Ietf,
    /// RateLimit-Limit / -Remaining / -Reset (draft 03).
    Draft03,
    /// No rate-limit headers.
    None,
}

/// `enforcement.cors_preflight`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorsPreflight {
    /// CORS preflights to a known path pass without credential checks.
    #[default]
    Pass,
    /// CORS preflights are enforced like any request.
    Enforce,
}

/// `enforcement.rate_limits`: where buckets are counted (docs/global-rate-limits.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum RateLimitMode {
    /// In each Envoy's shared data, exactly.
    #[default]
    #[serde(rename = "local")]
    Local,
    /// By the rate limit service only.
    #[serde(rename = "global")]
    Global,
    /// The exact local bucket first, then the rate limit service.
    #[serde(rename = "local+global")]
    LocalGlobal,
}

/// `enforcement.global.failure_mode`: what a request gets when the service does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// 503 `limiter_unavailable`.
    #[default]
    Deny,
    /// Admitted.
    Allow,
}

/// Default `enforcement.global.domain`.
pub const DEFAULT_GLOBAL_DOMAIN: &str = "acepack";
/// Default `enforcement.global.timeout_ms`.
pub const DEFAULT_GLOBAL_TIMEOUT_MS: u32 = 25;

fn default_domain() -> String {
    DEFAULT_GLOBAL_DOMAIN.to_owned()
}

fn default_timeout_ms() -> u32 {
    DEFAULT_GLOBAL_TIMEOUT_MS
}

/// `enforcement.global`: the rate limit service of the global modes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalService {
    /// The Envoy cluster serving `envoy.service.ratelimit.v3.RateLimitService` (HTTP/2).
    pub cluster: String,
    /// The descriptors' domain (default `acepack`).
    #[serde(default = "default_domain")]
    pub domain: String,
    /// How long a request waits for the answer, in milliseconds (default 25).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// No answer in time: `deny` (503, the default) or `allow`.
    #[serde(default)]
    pub failure_mode: FailureMode,
}

/// The `enforcement` section, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Enforcement {
    /// What to do with requests that match no operation.
    pub match_policy: MatchPolicy,
    /// Index into [`Model::applications`] of the anonymous application.
    pub anonymous: Option<usize>,
    /// Which rate-limit header style to emit.
    pub rate_limit_headers: RateLimitHeaders,
    /// Strip the API key (header or query parameter) before forwarding.
    pub hide_credentials: bool,
    /// How CORS preflights are handled.
    pub cors_preflight: CorsPreflight,
    /// Where rate limits are counted.
    pub rate_limits: RateLimitMode,
    /// The rate limit service (set exactly when `rate_limits` is not `local`).
    pub global: Option<GlobalService>,
}

/// One entry of `auth_strategies`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthStrategy {
    /// API keys in headers (case-insensitive) or query parameters.
    KeyAuth {
        /// The strategy's name.
        name: String,
        /// Key names, in lookup order, as written (header lookup lower-cases them).
        key_names: Vec<String>,
    },
    /// An identity asserted by an earlier filter in a request header.
    Header {
        /// The strategy's name.
        name: String,
        /// The header name, lower-cased.
        header: String,
    },
    /// An OAuth client id from a token Envoy's `jwt_authn` verified (docs/oidc.md).
    OpenidConnect {
        /// The strategy's name; also the `jwt_authn` provider name and `payload_in_metadata` key.
        name: String,
        /// The tokens' issuer (`iss`).
        issuer: String,
        /// Accepted audiences (checked by `jwt_authn`); empty: any.
        audiences: Vec<String>,
        /// Where `jwt_authn` fetches the keys; `None`: a local JWKS given to `acepack envoy`.
        jwks_uri: Option<String>,
        /// The claim that names the application (`client_id`, `azp`, ...).
        claim: String,
        /// Scopes every token must carry (`scope` string or `scp` list).
        scopes: Vec<String>,
    },
}

impl AuthStrategy {
    /// The strategy's name.
    pub fn name(&self) -> &str {
        match self {
            AuthStrategy::KeyAuth { name, .. }
            | AuthStrategy::Header { name, .. }
            | AuthStrategy::OpenidConnect { name, .. } => name,
        }
    }
}

/// An API and the range of its operations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Api {
    /// `apis[].name`.
    pub name: String,
    /// `apis[].version`.
    pub version: String,
    /// Host patterns, lower-cased, without port or trailing dot (`*.example.com` allowed).
    /// Empty: any host.
    pub hosts: Vec<String>,
    /// The effective base path (`""` for none, else starts with `/` and has no trailing slash).
    pub base_path: String,
    /// The spec file as named in the catalog, if operations came from a spec.
    pub spec: Option<String>,
    /// `operations[start..end]` of the model are this API's.
    pub operations: std::ops::Range<usize>,
    /// Names of the portals that publish this API directly (docs/catalog.md#breaking-changes).
    pub portals: Vec<String>,
}

/// An operation: (API, method, normalized path template, the API's hosts).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Operation {
    /// Index into [`Model::apis`].
    pub api: usize,
    /// Stable id: the spec's operationId, else `METHOD /path` (path as written, without base path).
    pub id: String,
    /// Upper-case method: GET PUT POST DELETE OPTIONS HEAD PATCH TRACE QUERY.
    pub method: String,
    /// The full normalized template the gateway sees: base path + path, parameters written `{}`,
    /// no trailing slash (root stays `/`), no query. Example: `/v1/Accounts/{}.json`.
    pub path: String,
    /// The spec's path key as written (first one seen), without base path, e.g. `/Accounts/{Sid}.json`.
    pub spec_path: String,
    /// Other operationIds / path keys merged into this operation (docs/catalog.md#operations), in document order.
    pub aliases: Vec<String>,
}

/// A rate-limit window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// 1 s.
    Second,
    /// 60 s.
    Minute,
    /// 3600 s.
    Hour,
    /// 86400 s.
    Day,
}

impl Window {
    /// The window's length in seconds.
    pub fn seconds(self) -> u32 {
        match self {
            Window::Second => 1,
            Window::Minute => 60,
            Window::Hour => 3600,
            Window::Day => 86_400,
        }
    }
}

/// `N/unit`: N requests per window, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limit {
    /// Bucket capacity and refill per window; ≥ 1.
    pub count: u64,
    /// The window.
    pub window: Window,
}

/// One `packages[].operations[]` entry, expanded (an entry without `op` becomes one per operation).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackageOperation {
    /// Index into [`Model::operations`].
    pub operation: usize,
    /// Per-operation override; replaces the package limits for this operation.
    pub limits: Option<Vec<Limit>>,
}

/// An API package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    /// `packages[].id`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `packages[].version`.
    pub version: String,
    /// Package limits, sorted by window, shared by all operations without an override. Empty: unlimited.
    pub limits: Vec<Limit>,
    /// The package's operations, each once, in catalog order.
    pub operations: Vec<PackageOperation>,
    /// Names of the portals that publish this package (docs/catalog.md#breaking-changes uses this).
    pub portals: Vec<String>,
}

/// What an application holds an active grant to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "kind", content = "index", rename_all = "lowercase")]
pub enum Grant {
    /// Index into [`Model::apis`]: every operation of the API, no ACE limit.
    Api(usize),
    /// Index into [`Model::packages`].
    Package(usize),
}

/// A credential, hashed: SHA-256 of the API key (key_auth) or of the identity (header strategy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CredentialDigest(pub [u8; 32]);

impl serde::Serialize for CredentialDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }
}

/// A registered application.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Application {
    /// `applications[].name`.
    pub name: String,
    /// Index into [`Model::auth_strategies`].
    pub auth_strategy: usize,
    /// The application's credentials, hashed.
    pub credentials: Vec<CredentialDigest>,
    /// Active grants only (approved registration, approved owner, portal rules met), in catalog order.
    pub grants: Vec<Grant>,
    /// Registrations that exist but grant nothing, with why (for reports and `explain`).
    pub inactive: Vec<String>,
    /// The same registrations as (target, why), so the filter can say why it refuses
    /// (docs/enforcement.md: `registration_pending`, `registration_revoked`).
    pub held: Vec<(Grant, Hold)>,
}

/// Why a registration grants nothing yet or any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The registration, or its owner, waits for approval.
    Pending,
    /// The registration, or its owner, was revoked or rejected.
    Revoked,
}

/// How one operation maps onto the gateway's routes (docs/catalog.md#gateway-route-mapping).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteMatch {
    /// Index into [`Model::operations`].
    pub operation: usize,
    /// The route that serves it (e.g. `listener/vhost/route[2]` or a Kong route name); `None`: unmatched.
    pub route: Option<String>,
    /// The Envoy cluster or Kong service behind the route.
    pub target: Option<String>,
}

/// The result of mapping operations onto a gateway config.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Mapping {
    /// The gateway file as named in the catalog.
    pub file: String,
    /// One entry per operation, in operation order.
    pub operations: Vec<RouteMatch>,
    /// Routes that no operation covers (reported when `match_policy: required`).
    pub uncovered_routes: Vec<String>,
    /// Routes operations cover only in part, with what is left over: (route, what) (reported
    /// when `match_policy: required`; docs/catalog.md#gateway-route-mapping).
    pub partly_covered: Vec<(String, String)>,
}

/// A catalog with its specs, validated.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Model {
    /// The catalog file as named by the user.
    pub catalog: String,
    /// Enforcement settings.
    pub enforcement: Enforcement,
    /// Auth strategies in catalog order (the order the filter tries them).
    pub auth_strategies: Vec<AuthStrategy>,
    /// APIs in catalog order.
    pub apis: Vec<Api>,
    /// All operations, grouped by API in API order.
    pub operations: Vec<Operation>,
    /// Packages in catalog order.
    pub packages: Vec<Package>,
    /// Applications in catalog order.
    pub applications: Vec<Application>,
    /// Route mapping, when the catalog names a gateway.
    pub mapping: Option<Mapping>,
    /// Operations another API shares (method, path, hosts) with that the Envoy gateway routes to
    /// their own cluster: (index into [`Model::operations`], cluster), ascending.
    pub route_bound: Vec<(usize, String)>,
    /// Warnings found while building the model (merged operations, unmatched operations, ...).
    pub warnings: Vec<Diagnostic>,
    /// Free-form counts for reports (developers, teams, portals, ...).
    pub counts: BTreeMap<String, usize>,
    /// Every file read to build the model (catalog, specs, `$ref` targets, gateway file), so
    /// that an output can refuse to overwrite one of them.
    #[serde(skip)]
    pub inputs: Vec<std::path::PathBuf>,
}
