//! The raw catalog, format version 1 (docs/catalog.md): serde types that mirror the file one to one,
//! and [`parse`], which turns a document tree into them with every structural error located.
//! Nothing here resolves references; that is [`crate::validate`]'s job.
//!
//! # Choices users can rely on
//!
//! Made here and in [`crate::validate`] where the catalog format leaves room:
//!
//! - `version` is required and must be `1` (or `"1"`); it is checked before anything else, so a
//!   catalog of another version gets that message rather than a list of unknown keys.
//! - A list key left empty (`hosts:`) is the empty list. `version` of an API or package may be a
//!   number (`1.0`) and is kept as written. A package's `name` defaults to its `id`.
//! - `developers[].status` and `registrations[].status` default to `approved`: the catalog is
//!   written by the platform team, and the documented example registers an API without a
//!   status. `visibility` defaults to `public`; `teams` on a public publication only warn.
//! - A per-operation `rate_limit` is only allowed on an entry with an `op`: on a whole API it would
//!   give every operation its own bucket, which reads like one limit shared by the API.
//! - An operation listed twice in one package is an error, also when one entry is a whole API.
//! - Methods are case-sensitive (docs/enforcement.md#canonical-request): `get /x` in a reference is an error with a hint.
//! - A manual operation that repeats one from the spec (or another manual one) merges into it like
//!   spec duplicates do (docs/catalog.md#operations): the first id is kept, the other becomes an alias, with a warning.
//! - A spec operation without operationId gets the id `METHOD /path` with any query string dropped.
//! - `*.example.com` matches one or more labels before `.example.com` (as Envoy does), not
//!   `example.com` itself. Emails compare case-insensitively.
//! - Limits: `count × window seconds × 10⁶` must fit in a `u64`, since the filter keeps bucket
//!   levels in microsecond tokens — at most 18,446,744,073,709/second … 213,503,982/day.
//! - An application without credentials is a warning unless it is the `anonymous` one.
//! - A missing spec or gateway file stops validation at once (exit 2), whatever else is wrong.
//! - Inputs must be regular files of at most 64 MiB (see [`crate::source`]); duplicate keys are
//!   errors in JSON as in YAML.
//! - What the filter and request headers carry is bounded, each with a located error: path
//!   templates at most [`crate::template::MAX_TEMPLATE_BYTES`] bytes and
//!   [`crate::template::MAX_PARAMETERS`] parameters, names, ids, emails, versions and key names at
//!   most [`crate::diag::MAX_NAME_BYTES`] bytes, operation ids at most
//!   [`crate::diag::MAX_OPERATION_ID_BYTES`], hosts 253, and at most
//!   4,000,000 package operation entries in total. Control characters are refused in all of them.
//! - Credential values (`key`, `key_sha256`, `id`) never appear in a message, not even when
//!   malformed or mistyped.
//! - A spec's server variable without a value is ignored with a warning when it sits in the scheme
//!   or host (hosts are not used for matching) and is an error in the path (see
//!   `openapi::servers`). An unquoted `openapi: 3.1`, a numeric or an empty operationId are read
//!   with a warning.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

mod read;

pub use read::parse;

/// The only catalog format version this compiler reads.
pub const VERSION: u64 = 1;

/// The top-level keys of a catalog, in the order the contract lists them.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "version",
    "gateway",
    "enforcement",
    "auth_strategies",
    "apis",
    "packages",
    "developers",
    "teams",
    "portals",
    "applications",
];

/// A whole catalog, structurally valid (references not yet checked).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    /// `version`; always [`VERSION`] once parsed.
    pub version: u64,
    /// `gateway`: the routes operations are mapped onto.
    pub gateway: Option<Gateway>,
    /// `enforcement`, with defaults for what is left out.
    pub enforcement: Enforcement,
    /// `auth_strategies`, in catalog order.
    pub auth_strategies: Vec<AuthStrategy>,
    /// `apis`.
    pub apis: Vec<Api>,
    /// `packages`.
    pub packages: Vec<Package>,
    /// `developers`.
    pub developers: Vec<Developer>,
    /// `teams`.
    pub teams: Vec<Team>,
    /// `portals`.
    pub portals: Vec<Portal>,
    /// `applications`.
    pub applications: Vec<Application>,
}

/// `gateway`: exactly one of `envoy` or `kong` (checked by [`parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// An Envoy bootstrap, Listener or RouteConfiguration, relative to the catalog's folder.
    #[serde(default)]
    pub envoy: Option<String>,
    /// A Kong declarative (decK) file, relative to the catalog's folder.
    #[serde(default)]
    pub kong: Option<String>,
}

pub use crate::model::{CorsPreflight, GlobalService, MatchPolicy, RateLimitHeaders, RateLimitMode};

/// `enforcement`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enforcement {
    /// `match_policy` (default `if_present`).
    #[serde(default)]
    pub match_policy: MatchPolicy,
    /// `anonymous`: the application used for requests without a credential.
    #[serde(default)]
    pub anonymous: Option<String>,
    /// `rate_limit_headers` (default `ietf`).
    #[serde(default)]
    pub rate_limit_headers: RateLimitHeaders,
    /// `hide_credentials` (default false).
    #[serde(default)]
    pub hide_credentials: bool,
    /// `cors_preflight` (default `pass`).
    #[serde(default)]
    pub cors_preflight: CorsPreflight,
    /// `rate_limits`: `local` (default), `global` or `local+global`.
    #[serde(default)]
    pub rate_limits: RateLimitMode,
    /// `global`: the rate limit service, required in the global modes.
    #[serde(default)]
    pub global: Option<GlobalService>,
}

/// `auth_strategies[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StrategyType {
    /// API keys in headers or query parameters.
    KeyAuth,
    /// An identity asserted by an earlier filter in a header.
    Header,
    /// An OAuth client id from a token verified by Envoy's `jwt_authn` (docs/oidc.md).
    OpenidConnect,
}

/// One `auth_strategies` entry. Kept flat (rather than an enum tagged by `type`) so that errors
/// name the exact key; which keys go with which type is checked by validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthStrategy {
    /// `name`.
    pub name: String,
    /// `type`.
    #[serde(rename = "type")]
    pub kind: StrategyType,
    /// `key_names` (key_auth only).
    #[serde(default)]
    pub key_names: Option<Vec<String>>,
    /// `header` (header only).
    #[serde(default)]
    pub header: Option<String>,
    /// `issuer` (openid_connect only): the tokens' `iss`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// `audiences` (openid_connect only): accepted `aud` values, checked by `jwt_authn`.
    #[serde(default)]
    pub audiences: Option<Vec<String>>,
    /// `jwks_uri` (openid_connect only): where `jwt_authn` fetches the issuer's keys.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `claim` (openid_connect only; default `client_id`): the claim naming the application.
    #[serde(default)]
    pub claim: Option<String>,
    /// `scopes` (openid_connect only): scopes every token must carry.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// One `apis` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// `name`.
    pub name: String,
    /// `version` (a number is taken as written).
    #[serde(default, deserialize_with = "string_or_number")]
    pub version: String,
    /// `spec`, relative to the catalog's folder.
    #[serde(default)]
    pub spec: Option<String>,
    /// `hosts` as written.
    #[serde(default, deserialize_with = "null_as_default")]
    pub hosts: Vec<String>,
    /// `base_path` as written.
    #[serde(default)]
    pub base_path: Option<String>,
    /// `exclude`: `METHOD /path` or operationIds.
    #[serde(default, deserialize_with = "null_as_default")]
    pub exclude: Vec<String>,
    /// `operations`: manual operations.
    #[serde(default, deserialize_with = "null_as_default")]
    pub operations: Vec<ManualOperation>,
}

/// A manual operation: `GET /billing` or `{ id: createInvoice, op: POST /billing }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualOperation {
    /// The operation id, if given.
    pub id: Option<String>,
    /// `METHOD /path`.
    pub op: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualOperationMap {
    #[serde(default)]
    id: Option<String>,
    op: String,
}

impl<'de> Deserialize<'de> for ManualOperation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(StringOrMap::<ManualOperationMap>::new("\"METHOD /path\" or {id, op}"))? {
            Either::String(op) => Ok(ManualOperation { id: None, op }),
            Either::Map(m) => Ok(ManualOperation { id: m.id, op: m.op }),
        }
    }
}

/// A rate limit as written: `5/second` or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateLimit {
    /// One window.
    One(String),
    /// Several windows.
    Many(Vec<String>),
}

impl RateLimit {
    /// The limits as written, each with its place suffix (`""` for a single one, `[i]` in a list).
    pub fn entries(&self) -> Vec<(String, &str)> {
        match self {
            RateLimit::One(s) => vec![(String::new(), s.as_str())],
            RateLimit::Many(v) => v
                .iter()
                .enumerate()
                .map(|(i, s)| (format!("[{i}]"), s.as_str()))
                .collect(),
        }
    }
}

impl<'de> Deserialize<'de> for RateLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RateLimit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate limit like \"5/second\" or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateLimit, E> {
                Ok(RateLimit::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RateLimit, A::Error> {
                Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RateLimit::Many)
            }
        }
        d.deserialize_any(V)
    }
}

/// One `packages` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// `name`: display name (defaults to the id).
    #[serde(default)]
    pub name: Option<String>,
    /// `id`.
    pub id: String,
    /// `version` (a number is taken as written).
    #[serde(default, deserialize_with = "string_or_number")]
    pub version: String,
    /// `rate_limit`.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// `operations`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub operations: Vec<PackageOperation>,
}

/// One `packages[].operations` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageOperation {
    /// `api`: the API's name.
    pub api: String,
    /// `op`: `METHOD /path` or an operationId; none means every operation of the API.
    #[serde(default)]
    pub op: Option<String>,
    /// `rate_limit`: per-operation override.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

/// A developer's or a registration's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Approved: grants access.
    #[default]
    Approved,
    /// Waiting for approval.
    Pending,
    /// Access withdrawn.
    Revoked,
    /// Never approved.
    Rejected,
}

impl Status {
    /// The status as written in a catalog.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Approved => "approved",
            Status::Pending => "pending",
            Status::Revoked => "revoked",
            Status::Rejected => "rejected",
        }
    }
}

/// One `developers` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Developer {
    /// `email`.
    pub email: String,
    /// `status` (default `approved`: listing a developer in the catalog is the approval).
    #[serde(default)]
    pub status: Status,
}

/// One `teams` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Team {
    /// `name`.
    pub name: String,
    /// `members`: developer emails.
    #[serde(default, deserialize_with = "null_as_default")]
    pub members: Vec<String>,
}

/// A publication's visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Any application on the portal may register (the default).
    #[default]
    Public,
    /// Only applications of the listed teams (or their members) may register.
    Private,
}

/// One `portals` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portal {
    /// `name`.
    pub name: String,
    /// `auth_strategies`: names of the strategies applications of this portal may use.
    #[serde(default, deserialize_with = "null_as_default")]
    pub auth_strategies: Vec<String>,
    /// `publications`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub publications: Vec<Publication>,
}

/// One `portals[].publications` entry: exactly one of `package` or `api` (checked by validation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    /// `package`: a package id.
    #[serde(default)]
    pub package: Option<String>,
    /// `api`: an API name.
    #[serde(default)]
    pub api: Option<String>,
    /// `visibility` (default `public`).
    #[serde(default)]
    pub visibility: Visibility,
    /// `teams`: who may register to a private publication.
    #[serde(default, deserialize_with = "null_as_default")]
    pub teams: Vec<String>,
}

/// One `applications` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// `name`.
    pub name: String,
    /// `portal`: when set, docs/catalog.md#registrations-portals-and-teams's publication rules apply.
    #[serde(default)]
    pub portal: Option<String>,
    /// `owner`.
    pub owner: Owner,
    /// `auth_strategy`: a strategy name.
    pub auth_strategy: String,
    /// `credentials`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub credentials: Vec<Credential>,
    /// `registrations`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub registrations: Vec<Registration>,
}

/// `applications[].owner`: exactly one of `team` or `developer` (checked by validation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    /// A team name.
    #[serde(default)]
    pub team: Option<String>,
    /// A developer email.
    #[serde(default)]
    pub developer: Option<String>,
}

/// One `applications[].credentials` entry: exactly one of the three (checked by validation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// A plain API key (hashed at compile time).
    #[serde(default)]
    pub key: Option<String>,
    /// The key's SHA-256, 64 hex digits.
    #[serde(default)]
    pub key_sha256: Option<String>,
    /// An identity for a `header` strategy.
    #[serde(default)]
    pub id: Option<String>,
    /// An OAuth client id for an `openid_connect` strategy.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// One `applications[].registrations` entry: exactly one of `package` or `api`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// A package id.
    #[serde(default)]
    pub package: Option<String>,
    /// An API name.
    #[serde(default)]
    pub api: Option<String>,
    /// `status` (default `approved`: the catalog is written by the platform team, and an entry
    /// without a status is how the contract's own example registers an API).
    #[serde(default)]
    pub status: Status,
}

/// A YAML list key left empty (`hosts:`) reads as null; treat it as the empty list.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `version: 1.0` in YAML is a number; versions are labels, so take numbers as written.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a version string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_unit<E: de::Error>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }
    d.deserialize_any(V)
}

enum Either<M> {
    String(String),
    Map(M),
}

/// Accepts a string or a mapping deserialized as `M` (errors inside the mapping keep their place).
struct StringOrMap<M> {
    expecting: &'static str,
    marker: PhantomData<M>,
}

impl<M> StringOrMap<M> {
    fn new(expecting: &'static str) -> Self {
        StringOrMap {
            expecting,
            marker: PhantomData,
        }
    }
}

impl<'de, M: Deserialize<'de>> Visitor<'de> for StringOrMap<M> {
    type Value = Either<M>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Either<M>, E> {
        Ok(Either::String(v.to_string()))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Either<M>, A::Error> {
        M::deserialize(de::value::MapAccessDeserializer::new(map)).map(Either::Map)
    }
}

#[cfg(test)]
mod tests;
