//! The scale catalog of docs/budgets.md: 50 APIs described by OpenAPI 3.0/3.1 JSON documents with
//! 10,000 operations, 1,000 packages, 100,000 applications with 200,000 credentials, their owners
//! (developers and teams) and two portals — generated deterministically from a seed.
//!
//! The shapes are modelled on public API descriptions rather than on what is easy to match:
//!
//! - REST resources nested up to four levels (`/customers/{customerId}/orders/{orderId}/items`),
//!   list/create/get/update/delete with a mix of PUT and PATCH, a few HEADs, static siblings that
//!   must win over parameters (`/orders/search` next to `/orders/{orderId}`), action sub-resources
//!   (`/orders/{orderId}/cancel`), Google-style custom methods (`/orders/{orderId}:cancel`) and
//!   in-segment parameters (`/invoices/{invoiceId}.pdf`);
//! - Twilio-style APIs where every path ends in `.json` (`/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json`);
//! - base paths from one server, from two servers that agree, from server variables, from a
//!   relative server URL, from the catalog's `base_path`, and a few APIs matched by host (some by a
//!   wildcard host) that share the base path `/v1`;
//! - operationIds on most operations (some without, so their id is `METHOD /path`), path-item
//!   parameters, query parameters, request bodies and component schemas, so parsing costs what a
//!   real document costs;
//! - packages of a few dozen operations from one to four APIs, referenced by operationId or by
//!   `METHOD /path` (sometimes with other parameter names), a few whole small APIs, limits mixing
//!   windows (`[50/second, 100000/day]`) and per-operation overrides;
//! - applications owned by developers or teams, on a public portal, on a partner portal whose
//!   packages are published privately to teams, or on none; one to three credentials each (plain
//!   `key`, `key_sha256`, or `id` for a header strategy); one to three registrations, a few of them
//!   not approved, some API grants; a few owners not approved.
//!
//! [`Plan::new`] builds everything in memory; [`Plan::write`] writes `catalog.json`, `specs/*.json`
//! and `probes.json` (requests with known outcomes, for the benches).
//!
//! This module holds the public types and the plan's data; its children hold the steps: the
//! vocabulary ([`words`]), APIs ([`apis`]) and their OpenAPI documents ([`spec`]), packages
//! ([`packages`]), people and applications ([`plan`]), the probes ([`probes`]) and the files
//! ([`write`]).

use std::collections::HashSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::rng::Rng;

mod apis;
mod packages;
mod plan;
mod probes;
mod spec;
mod words;
mod write;

/// Bump when the generated catalog changes, so cached copies are regenerated.
pub const GENERATOR_VERSION: u32 = 1;

/// How big the catalog is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Seed of every random choice.
    pub seed: u64,
    /// Number of APIs (one spec each).
    pub apis: usize,
    /// Total operations over all APIs.
    pub operations: usize,
    /// Number of packages.
    pub packages: usize,
    /// Number of applications.
    pub applications: usize,
    /// Total credentials (about two per application; every application has one to three).
    pub credentials: usize,
    /// Number of developers.
    pub developers: usize,
    /// Number of teams.
    pub teams: usize,
}

impl Config {
    /// The scale of docs/budgets.md (P1, P3).
    pub fn budget() -> Config {
        Config {
            seed: 0x00ac_e9ac,
            apis: 50,
            operations: 10_000,
            packages: 1_000,
            applications: 100_000,
            credentials: 200_000,
            developers: 40_000,
            teams: 5_000,
        }
    }

    /// The budget scale multiplied by `factor` (at least a handful of everything), for quick runs.
    pub fn scaled(factor: f64) -> Config {
        let c = Config::budget();
        let s = |n: usize, min: usize| ((n as f64 * factor).round() as usize).max(min);
        let applications = s(c.applications, 20);
        Config {
            seed: c.seed,
            apis: s(c.apis, 5),
            operations: s(c.operations, 200),
            packages: s(c.packages, 20),
            applications,
            credentials: s(c.credentials, 40).clamp(applications, applications * 3),
            developers: s(c.developers, 20),
            teams: s(c.teams, 10),
        }
    }

    /// A short string that changes whenever the generated files would.
    pub fn stamp(&self) -> String {
        format!(
            "acepack-scale v{GENERATOR_VERSION} seed={} apis={} operations={} packages={} applications={} credentials={} developers={} teams={}",
            self.seed, self.apis, self.operations, self.packages, self.applications, self.credentials, self.developers, self.teams
        )
    }
}

/// One request with a known outcome under the generated bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// `:method`.
    pub method: String,
    /// `:path` (with query, if any).
    pub path: String,
    /// `:authority`.
    pub authority: String,
    /// The API key (sent in the `apikey` header), if any.
    pub key: Option<String>,
    /// The status the engine must decide: 200 (allowed), 401, 403 or 404.
    pub status: u16,
    /// Whether an allowed request is charged to a limited package bucket.
    pub charged: bool,
}

/// Requests for every bench variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probes {
    /// Matched, authorized by a package grant, charged to a limited package bucket (P1).
    pub limited: Probe,
    /// Allowed by an API grant: no bucket.
    pub api_grant: Probe,
    /// A key that no application holds: 401.
    pub unknown_key: Probe,
    /// A path no operation matches (`match_policy: required`): 404.
    pub no_match: Probe,
    /// A registered key without a grant to the operation: 403.
    pub forbidden: Probe,
    /// Many distinct (credential, operation) pairs that are each charged to a limited bucket.
    pub rotating: Vec<Probe>,
}

/// Counts of what was generated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// APIs.
    pub apis: usize,
    /// APIs using OpenAPI 3.1 (the others 3.0).
    pub apis_openapi_31: usize,
    /// APIs matched by host.
    pub apis_with_hosts: usize,
    /// Operations.
    pub operations: usize,
    /// Operations without an operationId.
    pub operations_without_id: usize,
    /// Operations with a parameter inside a segment (`/{id}.json`).
    pub in_segment_parameters: usize,
    /// Operations per method.
    pub methods: Vec<(String, usize)>,
    /// Packages.
    pub packages: usize,
    /// Packages with limits.
    pub limited_packages: usize,
    /// Packages with at least two windows.
    pub multi_window_packages: usize,
    /// (package, operation) pairs.
    pub package_operations: usize,
    /// Per-operation overrides.
    pub overrides: usize,
    /// Package entries that take a whole API.
    pub whole_api_entries: usize,
    /// Developers.
    pub developers: usize,
    /// Developers not approved.
    pub inactive_developers: usize,
    /// Teams.
    pub teams: usize,
    /// Portals.
    pub portals: usize,
    /// Applications.
    pub applications: usize,
    /// Credentials: plain keys.
    pub keys: usize,
    /// Credentials: `key_sha256`.
    pub key_hashes: usize,
    /// Credentials: header identities.
    pub identities: usize,
    /// Package registrations.
    pub package_registrations: usize,
    /// API registrations.
    pub api_registrations: usize,
    /// Registrations not approved.
    pub unapproved_registrations: usize,
    /// Bytes of `catalog.json`.
    pub catalog_bytes: u64,
    /// Bytes of all specs.
    pub spec_bytes: u64,
}

impl Summary {
    /// Total credentials.
    pub fn credentials(&self) -> usize {
        self.keys + self.key_hashes + self.identities
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let methods: Vec<String> = self.methods.iter().map(|(m, n)| format!("{m} {n}")).collect();
        writeln!(
            f,
            "apis            {:>8}  (OpenAPI 3.1: {}, host-matched: {})",
            self.apis, self.apis_openapi_31, self.apis_with_hosts
        )?;
        writeln!(
            f,
            "operations      {:>8}  (without operationId: {}, in-segment parameters: {}; {})",
            self.operations,
            self.operations_without_id,
            self.in_segment_parameters,
            methods.join(", ")
        )?;
        writeln!(
            f,
            "packages        {:>8}  (limited: {}, several windows: {}, operations: {}, overrides: {}, whole-API entries: {})",
            self.packages,
            self.limited_packages,
            self.multi_window_packages,
            self.package_operations,
            self.overrides,
            self.whole_api_entries
        )?;
        writeln!(
            f,
            "developers      {:>8}  (not approved: {})",
            self.developers, self.inactive_developers
        )?;
        writeln!(f, "teams           {:>8}", self.teams)?;
        writeln!(f, "portals         {:>8}", self.portals)?;
        writeln!(f, "applications    {:>8}", self.applications)?;
        writeln!(
            f,
            "credentials     {:>8}  (key: {}, key_sha256: {}, id: {})",
            self.credentials(),
            self.keys,
            self.key_hashes,
            self.identities
        )?;
        writeln!(
            f,
            "registrations   {:>8}  (packages: {}, apis: {}, not approved: {})",
            self.package_registrations + self.api_registrations,
            self.package_registrations,
            self.api_registrations,
            self.unapproved_registrations
        )?;
        write!(
            f,
            "files           catalog.json {} bytes, specs {} bytes",
            self.catalog_bytes, self.spec_bytes
        )
    }
}

// ---------------------------------------------------------------------------------------------
// APIs and their specs

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// `/orders/{orderId}/cancel`
    Rest,
    /// `/orders/{orderId}:cancel`
    Google,
    /// `/Accounts/{AccountSid}/Calls/{Sid}.json`
    Twilio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdStyle {
    Numeric,
    Uuid,
    Sid,
}

/// One operation of a spec.
#[derive(Debug, Clone)]
struct SpecOp {
    method: &'static str,
    /// The path key as written in the spec (without the base path).
    path: String,
    operation_id: Option<String>,
    summary: String,
    tag: String,
    /// Component schema of the resource.
    schema: String,
    /// A collection GET (gets paging query parameters).
    list: bool,
    /// A parameter inside a segment.
    in_segment: bool,
}

/// One API: its catalog entry and its spec.
#[derive(Debug, Clone)]
struct ApiPlan {
    name: String,
    version: String,
    openapi: &'static str,
    /// `servers` of the spec, if any.
    servers: Option<Value>,
    /// `base_path` of the catalog entry, if any.
    base_path_override: Option<String>,
    hosts: Vec<String>,
    /// The base path the compiler derives.
    base_path: String,
    /// `:authority` of requests to it.
    request_host: String,
    id_style: IdStyle,
    ops: Vec<SpecOp>,
}

// ---------------------------------------------------------------------------------------------
// Packages

#[derive(Debug, Clone)]
struct Entry {
    api: usize,
    /// `None`: the whole API.
    op: Option<usize>,
    /// How `op` is written.
    reference: Option<String>,
    limits: Option<&'static [&'static str]>,
}

#[derive(Debug, Clone)]
struct PackagePlan {
    id: String,
    name: String,
    version: String,
    limits: &'static [&'static str],
    entries: Vec<Entry>,
    /// Every (api, op) it contains, with whether it has an override.
    contents: Vec<(usize, usize, bool)>,
}

// ---------------------------------------------------------------------------------------------
// People, portals, applications

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Developer(usize),
    Team(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Key,
    KeySha256,
    Id,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Package(usize),
    Api(usize),
}

#[derive(Debug, Clone)]
struct AppPlan {
    name: String,
    /// 0: developer portal, 1: partner portal.
    portal: Option<usize>,
    owner: Owner,
    /// 0: `keys` (key_auth), 1: `client-id` (header).
    strategy: usize,
    credentials: Vec<(String, Form)>,
    registrations: Vec<(Target, &'static str)>,
}

const STRATEGY_KEYS: usize = 0;
const STRATEGY_CLIENT_ID: usize = 1;
const PORTAL_DEVELOPERS: usize = 0;
const PORTAL_PARTNERS: usize = 1;
/// Teams a private partner publication lists.
const TEAMS_PER_PARTNER_PACKAGE: usize = 20;

/// The whole catalog, in memory.
#[derive(Debug, Clone)]
pub struct Plan {
    config: Config,
    apis: Vec<ApiPlan>,
    packages: Vec<PackagePlan>,
    /// (email, status)
    developers: Vec<(String, &'static str)>,
    /// (name, member developer indices)
    teams: Vec<(String, Vec<usize>)>,
    /// Packages `0..public_packages` are on the developer portal; the rest on the partner portal.
    public_packages: usize,
    /// APIs `0..published_apis` are published on the developer portal.
    published_apis: usize,
    /// Teams `0..partner_teams` are partners.
    partner_teams: usize,
    applications: Vec<AppPlan>,
}

#[cfg(test)]
mod tests {
    use super::apis::template_key;
    use super::spec::param_names;
    use super::*;

    #[test]
    fn small_plan_is_deterministic_and_consistent() {
        let config = Config::scaled(0.01);
        let a = Plan::new(&config);
        let b = Plan::new(&config);
        assert_eq!(a.probes(), b.probes());
        let s = a.summary();
        assert_eq!(s.operations, config.operations);
        assert_eq!(s.credentials(), config.credentials);
        assert_eq!(s.applications, config.applications);
        assert!(s.limited_packages > 0);
        assert!(!a.probes().rotating.is_empty());
    }

    #[test]
    fn templates_ignore_parameter_names() {
        assert_eq!(template_key("/a/{x}/b/{y}.json"), "/a/{}/b/{}.json");
        assert_eq!(param_names("/a/{x}/b/{y}.json"), vec!["x", "y"]);
    }
}
