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

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::rng::Rng;

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
// Vocabulary

const API_NAMES: &[&str] = &[
    "accounts",
    "billing",
    "catalog",
    "orders",
    "payments",
    "shipping",
    "inventory",
    "customers",
    "identity",
    "notifications",
    "messaging",
    "search",
    "analytics",
    "reporting",
    "media",
    "storage",
    "calendar",
    "support",
    "loyalty",
    "pricing",
    "quotes",
    "contracts",
    "fleet",
    "flights",
    "bookings",
    "hotels",
    "weather",
    "maps",
    "geocoding",
    "devices",
    "telemetry",
    "alerting",
    "audit",
    "compliance",
    "kyc",
    "ledger",
    "transfers",
    "cards",
    "lending",
    "insurance",
    "claims",
    "underwriting",
    "pharmacy",
    "scheduling",
    "labs",
    "crm",
    "marketing",
    "surveys",
    "voice",
    "admin",
];

/// (singular, plural) resource nouns.
const NOUNS: &[(&str, &str)] = &[
    ("customer", "customers"),
    ("order", "orders"),
    ("invoice", "invoices"),
    ("item", "items"),
    ("payment", "payments"),
    ("refund", "refunds"),
    ("shipment", "shipments"),
    ("address", "addresses"),
    ("product", "products"),
    ("price", "prices"),
    ("subscription", "subscriptions"),
    ("plan", "plans"),
    ("coupon", "coupons"),
    ("user", "users"),
    ("group", "groups"),
    ("role", "roles"),
    ("permission", "permissions"),
    ("project", "projects"),
    ("task", "tasks"),
    ("comment", "comments"),
    ("attachment", "attachments"),
    ("file", "files"),
    ("folder", "folders"),
    ("event", "events"),
    ("webhook", "webhooks"),
    ("device", "devices"),
    ("sensor", "sensors"),
    ("reading", "readings"),
    ("account", "accounts"),
    ("transaction", "transactions"),
    ("transfer", "transfers"),
    ("card", "cards"),
    ("statement", "statements"),
    ("booking", "bookings"),
    ("flight", "flights"),
    ("passenger", "passengers"),
    ("seat", "seats"),
    ("ticket", "tickets"),
    ("message", "messages"),
    ("call", "calls"),
    ("recording", "recordings"),
    ("conference", "conferences"),
    ("participant", "participants"),
    ("report", "reports"),
    ("dashboard", "dashboards"),
    ("metric", "metrics"),
    ("alert", "alerts"),
    ("policy", "policies"),
    ("claim", "claims"),
    ("document", "documents"),
    ("note", "notes"),
    ("contact", "contacts"),
    ("lead", "leads"),
    ("campaign", "campaigns"),
    ("segment", "segments"),
    ("template", "templates"),
    ("job", "jobs"),
    ("run", "runs"),
    ("artifact", "artifacts"),
    ("release", "releases"),
    ("deployment", "deployments"),
    ("environment", "environments"),
    ("secret", "secrets"),
    ("credential", "credentials"),
    ("token", "tokens"),
    ("session", "sessions"),
    ("location", "locations"),
    ("warehouse", "warehouses"),
    ("vendor", "vendors"),
    ("agreement", "agreements"),
    ("quote", "quotes"),
    ("review", "reviews"),
    ("rating", "ratings"),
    ("tag", "tags"),
    ("label", "labels"),
    ("schedule", "schedules"),
    ("slot", "slots"),
    ("appointment", "appointments"),
    ("patient", "patients"),
    ("prescription", "prescriptions"),
];

const ACTIONS: &[&str] = &[
    "archive",
    "restore",
    "cancel",
    "approve",
    "reject",
    "publish",
    "refresh",
    "verify",
    "duplicate",
    "close",
];

const STATIC_SIBLINGS: &[&str] = &["search", "count", "summary", "export", "batch", "stats"];
const EXTENSIONS: &[&str] = &["json", "xml", "pdf", "csv"];
const GROUP_PREFIXES: &[&str] = &[
    "",
    "/admin",
    "/internal",
    "/beta",
    "/legacy",
    "/bulk",
    "/sandbox",
    "/v2",
];

const ORGS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "vandelay",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "oscorp",
    "aperture",
    "blackmesa",
    "gringotts",
    "monarch",
    "nakatomi",
    "pied-piper",
    "dunder",
    "sterling",
    "massive",
    "northwind",
    "contoso",
    "fabrikam",
    "tailspin",
    "adatum",
    "litware",
    "proseware",
    "woodgrove",
    "fourth-coffee",
    "wingtip",
    "alpine",
    "lucerne",
    "margie",
    "trey",
    "coho",
    "relecloud",
    "bellows",
    "humongous",
];
const PURPOSES: &[&str] = &[
    "billing",
    "checkout",
    "mobile",
    "web",
    "sync",
    "reporting",
    "crm",
    "erp",
    "etl",
    "backoffice",
    "partner",
    "kiosk",
    "pos",
    "analytics",
    "alerts",
    "onboarding",
    "payroll",
    "ledger",
    "search",
    "bot",
    "integration",
    "gateway",
    "scheduler",
    "importer",
    "exporter",
    "dashboard",
    "support",
    "ios",
    "android",
    "batch",
];
const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj", "olivia",
    "peggy", "rupert", "sybil", "trent", "victor", "walter", "yusuf", "zoe", "amara", "bjorn", "chen", "dmitri",
    "esra", "farid", "gaia", "hiro", "ines",
];
const LAST: &[&str] = &[
    "smith",
    "jones",
    "garcia",
    "müller",
    "rossi",
    "dubois",
    "kowalski",
    "tanaka",
    "silva",
    "nguyen",
    "kim",
    "novak",
    "larsen",
    "okafor",
    "haddad",
    "cohen",
    "ivanova",
    "papadopoulos",
    "oconnor",
    "fischer",
];
const TIERS: &[&str] = &[
    "free",
    "basic",
    "standard",
    "pro",
    "gold",
    "enterprise",
    "partner",
    "internal",
];

/// Package limits: windows ascending, as a catalog writes them.
const PACKAGE_LIMITS: &[&[&str]] = &[
    &["50/second", "100000/day"],
    &["10/second", "20000/day"],
    &["100/second", "1000000/day"],
    &["5/second", "500/minute", "50000/day"],
    &["20/second", "1000/minute", "500000/day"],
    &["1000/minute"],
    &["60/minute", "5000/hour"],
    &["20/second"],
    &["10000/hour", "100000/day"],
    &["200/second", "5000000/day"],
    &["25/second", "1000000/day"],
    &["300/minute"],
];
const OVERRIDE_LIMITS: &[&[&str]] = &[
    &["10/minute"],
    &["2/second", "100/hour"],
    &["1/second"],
    &["100/day"],
    &["5/second", "1000/day"],
];

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `{anything}` → `{}`: the identity of a template for duplicate detection.
fn template_key(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push('{');
            }
            '}' => {
                depth -= 1;
                out.push('}');
            }
            _ if depth > 0 => {}
            c => out.push(c),
        }
    }
    out
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

struct OpBuilder<'r> {
    rng: &'r mut Rng,
    style: Style,
    target: usize,
    ops: Vec<SpecOp>,
    seen: HashSet<(String, &'static str)>,
    ids: HashSet<String>,
}

impl OpBuilder<'_> {
    fn full(&self) -> bool {
        self.ops.len() >= self.target
    }

    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        method: &'static str,
        path: String,
        id: String,
        summary: String,
        tag: &str,
        schema: &str,
        list: bool,
    ) {
        if self.full() || !self.seen.insert((template_key(&path), method)) {
            return;
        }
        let operation_id = if self.rng.chance(120) {
            None
        } else {
            let mut id = id;
            if !self.ids.insert(id.clone()) {
                let mut n = 2;
                while !self.ids.insert(format!("{id}{n}")) {
                    n += 1;
                }
                id = format!("{id}{n}");
            }
            Some(id)
        };
        let in_segment = path
            .split('/')
            .any(|seg| seg.contains('{') && !(seg.starts_with('{') && seg.ends_with('}')));
        self.ops.push(SpecOp {
            method,
            path,
            operation_id,
            summary,
            tag: tag.to_string(),
            schema: schema.to_string(),
            list,
            in_segment,
        });
    }

    /// A resource, its operations and (recursively) its sub-resources.
    fn resource(&mut self, prefix: &str, chain: &[usize], noun: usize, depth: usize) {
        if self.full() {
            return;
        }
        let (singular, plural) = NOUNS[noun];
        let parent = chain.last().map(|&p| capitalize(NOUNS[p].0)).unwrap_or_default();
        let (sing, plur) = (capitalize(singular), capitalize(plural));
        let schema = sing.clone();
        let tag = plural;
        let (collection, item, child_prefix) = match self.style {
            Style::Rest | Style::Google => {
                let collection = format!("{prefix}/{plural}");
                let item = format!("{collection}/{{{singular}Id}}");
                (collection, item.clone(), item)
            }
            Style::Twilio => (
                format!("{prefix}/{plur}.json"),
                format!("{prefix}/{plur}/{{Sid}}.json"),
                format!("{prefix}/{plur}/{{{sing}Sid}}"),
            ),
        };
        self.add(
            "GET",
            collection.clone(),
            format!("list{parent}{plur}"),
            format!("List {plural}"),
            tag,
            &schema,
            true,
        );
        self.add(
            "POST",
            collection.clone(),
            format!("create{parent}{sing}"),
            format!("Create a {singular}"),
            tag,
            &schema,
            false,
        );
        self.add(
            "GET",
            item.clone(),
            format!("get{parent}{sing}"),
            format!("Get a {singular}"),
            tag,
            &schema,
            false,
        );
        match self.style {
            Style::Twilio => self.add(
                "POST",
                item.clone(),
                format!("update{parent}{sing}"),
                format!("Update a {singular}"),
                tag,
                &schema,
                false,
            ),
            _ if self.rng.chance(600) => self.add(
                "PATCH",
                item.clone(),
                format!("update{parent}{sing}"),
                format!("Update a {singular}"),
                tag,
                &schema,
                false,
            ),
            _ => self.add(
                "PUT",
                item.clone(),
                format!("replace{parent}{sing}"),
                format!("Replace a {singular}"),
                tag,
                &schema,
                false,
            ),
        }
        if self.rng.chance(700) {
            self.add(
                "DELETE",
                item.clone(),
                format!("delete{parent}{sing}"),
                format!("Delete a {singular}"),
                tag,
                &schema,
                false,
            );
        }
        if self.style != Style::Twilio {
            if self.rng.chance(50) {
                self.add(
                    "HEAD",
                    item.clone(),
                    format!("check{parent}{sing}"),
                    format!("Check a {singular} exists"),
                    tag,
                    &schema,
                    false,
                );
            }
            if self.rng.chance(150) {
                let s = *self.rng.pick(STATIC_SIBLINGS);
                self.add(
                    "GET",
                    format!("{collection}/{s}"),
                    format!("{s}{parent}{plur}"),
                    format!("{} {plural}", capitalize(s)),
                    tag,
                    &schema,
                    false,
                );
            }
            if self.rng.chance(100) {
                let ext = *self.rng.pick(EXTENSIONS);
                self.add(
                    "GET",
                    format!("{item}.{ext}"),
                    format!("get{parent}{sing}As{}", capitalize(ext)),
                    format!("Get a {singular} as {ext}"),
                    tag,
                    &schema,
                    false,
                );
            }
            let actions = if self.rng.chance(300) { self.rng.range(1, 2) } else { 0 };
            for _ in 0..actions {
                let a = *self.rng.pick(ACTIONS);
                let path = match self.style {
                    Style::Google => format!("{item}:{a}"),
                    _ => format!("{item}/{a}"),
                };
                self.add(
                    "POST",
                    path,
                    format!("{a}{parent}{sing}"),
                    format!("{} a {singular}", capitalize(a)),
                    tag,
                    &schema,
                    false,
                );
            }
        }
        if depth < 3 {
            let children = self.rng.range(0, 3 - depth);
            let mut chain = chain.to_vec();
            chain.push(noun);
            for _ in 0..children {
                let child = self.rng.below(NOUNS.len());
                if chain.contains(&child) {
                    continue;
                }
                self.resource(&child_prefix, &chain, child, depth + 1);
            }
        }
    }
}

fn api_operations(rng: &mut Rng, style: Style, target: usize) -> Vec<SpecOp> {
    let mut b = OpBuilder {
        rng,
        style,
        target,
        ops: Vec::with_capacity(target),
        seen: HashSet::new(),
        ids: HashSet::new(),
    };
    let mut nouns: Vec<usize> = (0..NOUNS.len()).collect();
    b.rng.shuffle(&mut nouns);
    let root = match style {
        Style::Twilio => {
            b.add(
                "GET",
                "/2010-04-01/Accounts.json".into(),
                "listAccounts".into(),
                "List accounts".into(),
                "accounts",
                "Account",
                true,
            );
            b.add(
                "GET",
                "/2010-04-01/Accounts/{Sid}.json".into(),
                "getAccount".into(),
                "Get an account".into(),
                "accounts",
                "Account",
                false,
            );
            "/2010-04-01/Accounts/{AccountSid}"
        }
        _ => "",
    };
    'outer: for group in GROUP_PREFIXES {
        for &noun in &nouns {
            if b.full() {
                break 'outer;
            }
            b.resource(&format!("{root}{group}"), &[], noun, 0);
        }
    }
    let mut n = 0;
    while !b.full() {
        // Only reachable with absurd targets: flat filler resources.
        n += 1;
        let path = format!("/extra{n}");
        b.add(
            "GET",
            path,
            format!("extra{n}"),
            "Extra".into(),
            "extra",
            "Extra",
            false,
        );
    }
    b.ops
}

/// Splits `total` operations over `apis` APIs: uneven sizes, each at least 20 (when possible).
fn api_sizes(rng: &mut Rng, apis: usize, total: usize) -> Vec<usize> {
    let weights: Vec<usize> = (0..apis).map(|_| rng.range(1, 12)).collect();
    let sum: usize = weights.iter().sum();
    let min = (total / apis / 4).clamp(1, 20);
    let mut sizes: Vec<usize> = weights.iter().map(|w| (w * total / sum).max(min)).collect();
    let mut current: usize = sizes.iter().sum();
    while current != total {
        let i = rng.below(apis);
        if current < total {
            sizes[i] += 1;
            current += 1;
        } else if sizes[i] > min {
            sizes[i] -= 1;
            current -= 1;
        }
    }
    sizes
}

fn build_apis(rng: &mut Rng, config: &Config) -> Vec<ApiPlan> {
    let sizes = api_sizes(rng, config.apis, config.operations);
    let mut out = Vec::with_capacity(config.apis);
    for (i, &size) in sizes.iter().enumerate() {
        let name = match API_NAMES.get(i) {
            Some(n) => (*n).to_string(),
            None => format!("{}{}", API_NAMES[i % API_NAMES.len()], i / API_NAMES.len() + 1),
        };
        let major = 1 + rng.below(3);
        let version = format!("{major}.{}.{}", rng.below(10), rng.below(20));
        let openapi = if rng.chance(500) { "3.1.0" } else { "3.0.3" };
        let style = match i % 10 {
            3 => Style::Twilio,
            6 | 8 => Style::Google,
            _ => Style::Rest,
        };
        let id_style = match style {
            Style::Twilio => IdStyle::Sid,
            _ if rng.chance(500) => IdStyle::Uuid,
            _ => IdStyle::Numeric,
        };
        let ops = api_operations(rng, style, size);
        // Base path and hosts: a deterministic mix of every way the compiler derives them.
        let (servers, base_path_override, hosts, base_path, request_host) = match i % 8 {
            // Host-matched APIs share `/v1`; every other one by a wildcard host.
            7 => {
                let host = format!("{name}.api.example.com");
                let wildcard = i % 16 == 15;
                let hosts = if wildcard {
                    vec![format!("*.{name}.example.com")]
                } else {
                    vec![host.clone()]
                };
                let request_host = if wildcard {
                    format!("eu.{name}.example.com")
                } else {
                    host.clone()
                };
                (
                    Some(json!([{"url": format!("https://{host}/v1"), "description": "Production"}])),
                    None,
                    hosts,
                    "/v1".to_string(),
                    request_host,
                )
            }
            // Production and sandbox servers that agree on the path.
            1 | 4 => {
                let base = format!("/{name}/v{major}");
                (
                    Some(json!([
                        {"url": format!("https://api.example.com{base}"), "description": "Production"},
                        {"url": format!("https://sandbox.example.com{base}/"), "description": "Sandbox"}
                    ])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            // Server variables with defaults.
            2 => {
                let base = format!("/{name}/v{major}");
                (
                    Some(json!([{
                        "url": "https://{region}.example.com/{service}/{version}",
                        "variables": {
                            "region": {"default": "eu", "enum": ["eu", "us", "ap"]},
                            "service": {"default": name},
                            "version": {"default": format!("v{major}")}
                        }
                    }])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            // No servers: the catalog gives the base path.
            5 => {
                let base = format!("/{name}");
                (
                    None,
                    Some(base.clone()),
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            // A relative server URL.
            6 => {
                let base = format!("/api/{name}");
                (
                    Some(json!([{"url": base}])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
            _ => {
                let base = format!("/{name}/v{major}");
                (
                    Some(json!([{"url": format!("https://api.example.com{base}")}])),
                    None,
                    Vec::new(),
                    base,
                    "api.example.com".to_string(),
                )
            }
        };
        out.push(ApiPlan {
            name,
            version,
            openapi,
            servers,
            base_path_override,
            hosts,
            base_path,
            request_host,
            id_style,
            ops,
        });
    }
    out
}

fn param_names(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        let Some(j) = rest[i..].find('}') else { break };
        out.push(&rest[i + 1..i + j]);
        rest = &rest[i + j + 1..];
    }
    out
}

fn schema_json(name: &str, v31: bool) -> Value {
    let nullable_string = if v31 {
        json!({"type": ["string", "null"]})
    } else {
        json!({"type": "string", "nullable": true})
    };
    json!({
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "readOnly": true},
            "name": {"type": "string", "maxLength": 200},
            "description": nullable_string,
            "status": {"type": "string", "enum": ["active", "inactive", "archived"]},
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "created_at": {"type": "string", "format": "date-time", "readOnly": true},
            "updated_at": {"type": "string", "format": "date-time", "readOnly": true}
        },
        "description": format!("A {name}.")
    })
}

fn spec_json(api: &ApiPlan) -> Value {
    let v31 = api.openapi.starts_with("3.1");
    let mut paths = Map::new();
    let mut schemas = Map::new();
    let mut tags: Vec<String> = Vec::new();
    for op in &api.ops {
        if !schemas.contains_key(&op.schema) {
            schemas.insert(op.schema.clone(), schema_json(&op.schema, v31));
        }
        if !tags.contains(&op.tag) {
            tags.push(op.tag.clone());
        }
        let item = paths.entry(op.path.clone()).or_insert_with(|| {
            let params: Vec<Value> = param_names(&op.path)
                .into_iter()
                .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
                .collect();
            if params.is_empty() {
                json!({})
            } else {
                json!({ "parameters": params })
            }
        });
        let reference = json!({"$ref": format!("#/components/schemas/{}", op.schema)});
        let mut o = Map::new();
        if let Some(id) = &op.operation_id {
            o.insert("operationId".into(), json!(id));
        }
        o.insert("summary".into(), json!(op.summary));
        o.insert("tags".into(), json!([op.tag]));
        if op.list {
            o.insert(
                "parameters".into(),
                json!([
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"}}
                ]),
            );
        }
        let ok = match (op.method, op.list) {
            ("GET", true) => json!({
                "description": "A page of results",
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"data": {"type": "array", "items": reference}, "next_cursor": {"type": "string"}}
                }}}
            }),
            ("DELETE", _) | ("HEAD", _) => json!({"description": "Done"}),
            _ => json!({"description": "OK", "content": {"application/json": {"schema": reference}}}),
        };
        if matches!(op.method, "POST" | "PUT" | "PATCH") {
            o.insert(
                "requestBody".into(),
                json!({"required": true, "content": {"application/json": {"schema": reference}}}),
            );
        }
        let status = match op.method {
            "POST" if op.operation_id.as_deref().is_some_and(|id| id.starts_with("create")) => "201",
            "DELETE" => "204",
            _ => "200",
        };
        o.insert(
            "responses".into(),
            json!({
                status: ok,
                "401": {"$ref": "#/components/responses/Unauthorized"},
                "429": {"$ref": "#/components/responses/TooManyRequests"}
            }),
        );
        if let Some(obj) = item.as_object_mut() {
            obj.insert(op.method.to_ascii_lowercase(), Value::Object(o));
        }
    }
    let mut doc = Map::new();
    doc.insert("openapi".into(), json!(api.openapi));
    doc.insert(
        "info".into(),
        json!({
            "title": format!("{} API", capitalize(&api.name)),
            "version": api.version,
            "description": format!("The {} API. Generated for acepack's scale benchmarks.", api.name),
            "contact": {"name": "API team", "email": format!("{}-api@example.com", api.name)}
        }),
    );
    if let Some(servers) = &api.servers {
        doc.insert("servers".into(), servers.clone());
    }
    doc.insert("security".into(), json!([{"apikey": []}]));
    doc.insert(
        "tags".into(),
        Value::Array(tags.iter().map(|t| json!({"name": t})).collect()),
    );
    doc.insert("paths".into(), Value::Object(paths));
    doc.insert(
        "components".into(),
        json!({
            "securitySchemes": {"apikey": {"type": "apiKey", "in": "header", "name": "apikey"}},
            "responses": {
                "Unauthorized": {"description": "No or unknown credential"},
                "TooManyRequests": {"description": "Rate limited", "headers": {"Retry-After": {"schema": {"type": "integer"}}}}
            },
            "schemas": schemas
        }),
    );
    Value::Object(doc)
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

/// How a package entry names an operation: its operationId, or `METHOD /path` (sometimes with
/// other parameter names, which the compiler must ignore).
fn reference(rng: &mut Rng, op: &SpecOp) -> String {
    match &op.operation_id {
        Some(id) if rng.chance(700) => id.clone(),
        _ => {
            let path = if rng.chance(300) {
                // Rename every parameter: `{orderId}` → `{id}`, `{id2}`...
                let mut out = String::new();
                let mut n = 0;
                let mut in_param = false;
                for c in op.path.chars() {
                    match c {
                        '{' => {
                            in_param = true;
                            n += 1;
                            out.push_str("{id");
                            if n > 1 {
                                out.push_str(&n.to_string());
                            }
                        }
                        '}' => {
                            in_param = false;
                            out.push('}');
                        }
                        _ if in_param => {}
                        c => out.push(c),
                    }
                }
                out
            } else {
                op.path.clone()
            };
            format!("{} {path}", op.method)
        }
    }
}

fn build_packages(rng: &mut Rng, config: &Config, apis: &[ApiPlan]) -> Vec<PackagePlan> {
    let mut out = Vec::with_capacity(config.packages);
    for p in 0..config.packages {
        let n_apis = match rng.below(100) {
            0..=49 => 1,
            50..=79 => 2,
            80..=94 => 3,
            _ => 4,
        }
        .min(apis.len());
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < n_apis {
            let a = rng.below(apis.len());
            if !chosen.contains(&a) {
                chosen.push(a);
            }
        }
        let first = &apis[chosen[0]].name;
        let tier = *rng.pick(TIERS);
        let id = format!("{first}-{tier}-{p:04}");
        let name = format!("{} {} {p}", capitalize(first), capitalize(tier));
        let limits: &'static [&'static str] = if rng.chance(50) {
            &[]
        } else {
            PACKAGE_LIMITS[rng.below(PACKAGE_LIMITS.len())]
        };
        let with_overrides = !limits.is_empty() && rng.chance(200);
        let target = rng.range(12, 60);
        let mut entries = Vec::new();
        let mut contents = Vec::new();
        let mut taken: HashSet<(usize, usize)> = HashSet::new();
        for (k, &a) in chosen.iter().enumerate() {
            let api = &apis[a];
            if api.ops.len() <= 40 && rng.chance(250) {
                entries.push(Entry {
                    api: a,
                    op: None,
                    reference: None,
                    limits: None,
                });
                for o in 0..api.ops.len() {
                    taken.insert((a, o));
                    contents.push((a, o, false));
                }
                continue;
            }
            let share = (target / n_apis + usize::from(k < target % n_apis)).min(api.ops.len());
            let mut picked = 0;
            let mut attempts = 0;
            while picked < share && attempts < share * 20 {
                attempts += 1;
                let o = rng.below(api.ops.len());
                if !taken.insert((a, o)) {
                    continue;
                }
                picked += 1;
                let override_limits = (with_overrides && rng.chance(80)).then(|| *rng.pick(OVERRIDE_LIMITS));
                entries.push(Entry {
                    api: a,
                    op: Some(o),
                    reference: Some(reference(rng, &api.ops[o])),
                    limits: override_limits,
                });
                contents.push((a, o, override_limits.is_some()));
            }
        }
        // A package that asked for overrides gets at least one.
        if with_overrides && !entries.iter().any(|e| e.limits.is_some()) {
            if let Some(i) = entries.iter().position(|e| e.op.is_some()) {
                let l = *rng.pick(OVERRIDE_LIMITS);
                entries[i].limits = Some(l);
                let (a, o) = (entries[i].api, entries[i].op.unwrap_or(0));
                if let Some(c) = contents.iter_mut().find(|c| c.0 == a && c.1 == o) {
                    c.2 = true;
                }
            }
        }
        out.push(PackagePlan {
            id,
            name,
            version: format!("{}", 1 + rng.below(3)),
            limits,
            entries,
            contents,
        });
    }
    out
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

fn status(rng: &mut Rng) -> &'static str {
    match rng.below(1000) {
        0..=14 => "pending",
        15..=24 => "revoked",
        25..=29 => "rejected",
        _ => "approved",
    }
}

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

impl Plan {
    /// Builds the catalog for `config` (deterministic).
    pub fn new(config: &Config) -> Plan {
        let mut rng = Rng::new(config.seed);
        let apis = build_apis(&mut rng, config);
        let packages = build_packages(&mut rng, config, &apis);
        let public_packages = config.packages - config.packages / 10;
        let published_apis = (apis.len() / 5).max(1);
        let partner_teams = (config.teams / 25).max(1).min(config.teams);

        let developers: Vec<(String, &'static str)> = (0..config.developers)
            .map(|d| {
                let email = format!(
                    "{}.{}{d}@{}.test",
                    rng.pick(FIRST),
                    rng.pick(LAST).replace('ü', "ue"),
                    rng.pick(ORGS)
                );
                let status = match rng.below(1000) {
                    0..=9 => "pending",
                    10..=19 => "revoked",
                    20..=24 => "rejected",
                    _ => "approved",
                };
                (email, status)
            })
            .collect();
        let teams: Vec<(String, Vec<usize>)> = (0..config.teams)
            .map(|t| {
                let n = rng.range(1, 6).min(config.developers);
                let mut members = Vec::with_capacity(n);
                while members.len() < n {
                    let d = rng.below(config.developers);
                    if !members.contains(&d) {
                        members.push(d);
                    }
                }
                (format!("{}-{}-{t}", rng.pick(ORGS), rng.pick(PURPOSES)), members)
            })
            .collect();

        // Partner packages visible per partner team.
        let partner_packages = config.packages - public_packages;
        let mut visible: Vec<Vec<usize>> = vec![Vec::new(); partner_teams];
        for j in 0..partner_packages {
            for t in Self::partner_package_teams(j, partner_teams) {
                visible[t].push(public_packages + j);
            }
        }

        // Credentials per application: two on average, one to three each, exactly the total.
        let n_apps = config.applications;
        let mut counts = vec![2usize; n_apps];
        let mut total = 2 * n_apps;
        while total > config.credentials {
            let i = rng.below(n_apps);
            if counts[i] > 1 {
                counts[i] -= 1;
                total -= 1;
            }
        }
        while total < config.credentials {
            let i = rng.below(n_apps);
            if counts[i] < 3 {
                counts[i] += 1;
                total += 1;
            }
        }
        // Spread: move one credential between two applications with two, same total.
        for _ in 0..n_apps / 8 {
            let (i, j) = (rng.below(n_apps), rng.below(n_apps));
            if i != j && counts[i] == 2 && counts[j] == 2 {
                counts[i] = 3;
                counts[j] = 1;
            }
        }

        let mut names: HashMap<String, usize> = HashMap::new();
        let mut applications = Vec::with_capacity(n_apps);
        for &n_creds in &counts {
            let roll = rng.below(100);
            let portal = match roll {
                0..=4 => Some(PORTAL_PARTNERS),
                5..=9 => None,
                _ => Some(PORTAL_DEVELOPERS),
            };
            let owner = match portal {
                Some(PORTAL_PARTNERS) => Owner::Team(rng.below(partner_teams)),
                _ if rng.chance(300) => Owner::Team(rng.below(config.teams)),
                _ => Owner::Developer(rng.below(config.developers)),
            };
            let strategy = if portal != Some(PORTAL_PARTNERS) && rng.chance(20) {
                STRATEGY_CLIENT_ID
            } else {
                STRATEGY_KEYS
            };
            // `acme-billing`, `acme-billing-2`, ...: unique across the catalog, as names must be.
            let base = format!("{}-{}", rng.pick(ORGS), rng.pick(PURPOSES));
            let n = names.entry(base.clone()).or_insert(0usize);
            *n += 1;
            let name = if *n == 1 { base } else { format!("{base}-{n}") };
            let credentials = (0..n_creds)
                .map(|_| match strategy {
                    STRATEGY_CLIENT_ID => (format!("client-{}", rng.hex(16)), Form::Id),
                    _ => {
                        let key = format!("ak_{}", rng.base62(28));
                        let form = if rng.chance(200) { Form::KeySha256 } else { Form::Key };
                        (key, form)
                    }
                })
                .collect();
            let n_regs = match rng.below(100) {
                0..=49 => 1,
                50..=84 => 2,
                _ => 3,
            };
            let mut registrations: Vec<(Target, &'static str)> = Vec::new();
            let mut attempts = 0;
            while registrations.len() < n_regs && attempts < 20 {
                attempts += 1;
                let target = match (portal, owner) {
                    (Some(PORTAL_PARTNERS), Owner::Team(t)) => match visible.get(t) {
                        Some(v) if !v.is_empty() => Target::Package(v[rng.below(v.len())]),
                        _ => break,
                    },
                    (Some(_), _) => {
                        if rng.chance(30) {
                            Target::Api(rng.below(published_apis))
                        } else {
                            Target::Package(rng.skewed(public_packages))
                        }
                    }
                    (None, _) => {
                        if rng.chance(100) {
                            Target::Api(rng.below(apis.len()))
                        } else {
                            Target::Package(rng.skewed(config.packages))
                        }
                    }
                };
                if registrations.iter().any(|(t, _)| *t == target) {
                    continue;
                }
                registrations.push((target, status(&mut rng)));
            }
            applications.push(AppPlan {
                name,
                portal,
                owner,
                strategy,
                credentials,
                registrations,
            });
        }
        Plan {
            config: config.clone(),
            apis,
            packages,
            developers,
            teams,
            public_packages,
            published_apis,
            partner_teams,
            applications,
        }
    }

    /// The teams partner package `j` is published to.
    fn partner_package_teams(j: usize, partner_teams: usize) -> impl Iterator<Item = usize> {
        let n = TEAMS_PER_PARTNER_PACKAGE.min(partner_teams);
        (0..n).map(move |m| (j * 7 + m) % partner_teams)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn owner_active(&self, owner: Owner) -> bool {
        match owner {
            Owner::Developer(d) => self.developers[d].1 == "approved",
            Owner::Team(t) => self.teams[t].1.iter().any(|&d| self.developers[d].1 == "approved"),
        }
    }

    /// The grants the bundle will hold for `app`: approved registrations of an active owner.
    fn grants(&self, app: &AppPlan) -> Vec<Target> {
        if !self.owner_active(app.owner) {
            return Vec::new();
        }
        app.registrations
            .iter()
            .filter(|(_, s)| *s == "approved")
            .map(|(t, _)| *t)
            .collect()
    }

    /// A concrete request path for operation `o` of API `a` (base path included).
    fn request_path(&self, a: usize, o: usize, with_query: bool) -> String {
        let api = &self.apis[a];
        let op = &api.ops[o];
        let mut out = api.base_path.clone();
        let mut rest = op.path.as_str();
        let mut n = 0u32;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            let j = rest[i..].find('}').map_or(rest.len(), |j| i + j + 1);
            n += 1;
            let mut h = Sha256::new();
            h.update(api.name.as_bytes());
            h.update(op.path.as_bytes());
            h.update(n.to_le_bytes());
            let d = h.finalize();
            match api.id_style {
                IdStyle::Numeric => {
                    let v = u32::from_le_bytes([d[0], d[1], d[2], d[3]]) % 9_000_000 + 1_000_000;
                    let _ = write!(out, "{v}");
                }
                IdStyle::Uuid => {
                    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
                    let _ = write!(
                        out,
                        "{}-{}-4{}-a{}-{}",
                        &hex[0..8],
                        &hex[8..12],
                        &hex[13..16],
                        &hex[17..20],
                        &hex[20..32]
                    );
                }
                IdStyle::Sid => {
                    let hex: String = d.iter().take(16).map(|b| format!("{b:02x}")).collect();
                    let _ = write!(out, "CA{hex}");
                }
            }
            rest = &rest[j.min(rest.len())..];
        }
        out.push_str(rest);
        if out.is_empty() {
            out.push('/');
        }
        if with_query && op.list {
            out.push_str("?limit=25");
        }
        out
    }

    fn probe(&self, a: usize, o: usize, key: Option<String>, status: u16, charged: bool) -> Probe {
        let api = &self.apis[a];
        Probe {
            method: api.ops[o].method.to_string(),
            path: self.request_path(a, o, true),
            authority: api.request_host.clone(),
            key,
            status,
            charged,
        }
    }

    /// An application (from `start`, wrapping) whose first grant is a limited package, with a plain
    /// key, and the operation of that package it calls.
    fn limited_candidate(&self, app: usize, pick: usize) -> Option<Probe> {
        let plan = &self.applications[app];
        if plan.strategy != STRATEGY_KEYS {
            return None;
        }
        let grants = self.grants(plan);
        if grants.iter().any(|g| matches!(g, Target::Api(_))) {
            return None;
        }
        let Some(Target::Package(p)) = grants.first().copied() else {
            return None;
        };
        let package = &self.packages[p];
        if package.limits.is_empty() {
            return None;
        }
        let plain: Vec<&(usize, usize, bool)> = package.contents.iter().filter(|c| !c.2).collect();
        if plain.is_empty() {
            return None;
        }
        let gets: Vec<&&(usize, usize, bool)> = plain
            .iter()
            .filter(|c| self.apis[c.0].ops[c.1].method == "GET")
            .collect();
        let &(a, o, _) = if gets.is_empty() {
            plain[pick % plain.len()]
        } else {
            *gets[pick % gets.len()]
        };
        let key = plan.credentials.first().map(|(k, _)| k.clone());
        Some(self.probe(a, o, key, 200, true))
    }

    /// Requests with known outcomes (see [`Probes`]).
    pub fn probes(&self) -> Probes {
        let n = self.applications.len();
        let start = n / 3;
        let limited = (0..n)
            .map(|i| (start + i) % n)
            .find_map(|i| self.limited_candidate(i, 0).map(|p| (i, p)));
        let Some((limited_app, limited)) = limited else {
            // Only possible for degenerate configurations.
            let p = self.probe(0, 0, None, 401, false);
            return Probes {
                limited: p.clone(),
                api_grant: p.clone(),
                unknown_key: p.clone(),
                no_match: p.clone(),
                forbidden: p,
                rotating: Vec::new(),
            };
        };

        let mut rotating = Vec::new();
        let stride = 7919; // prime: visits applications all over the catalog
        let mut i = 0usize;
        while rotating.len() < 4096 && i < n {
            if let Some(p) = self.limited_candidate((i * stride) % n, i) {
                rotating.push(p);
            }
            i += 1;
        }

        let api_grant = (0..n)
            .map(|i| (start + i) % n)
            .find_map(|i| {
                let plan = &self.applications[i];
                if plan.strategy != STRATEGY_KEYS {
                    return None;
                }
                let a = self.grants(plan).into_iter().find_map(|g| match g {
                    Target::Api(a) => Some(a),
                    Target::Package(_) => None,
                })?;
                let o = self.apis[a].ops.iter().position(|op| op.method == "GET" && !op.list)?;
                let key = plan.credentials.first().map(|(k, _)| k.clone());
                Some(self.probe(a, o, key, 200, false))
            })
            .unwrap_or_else(|| limited.clone());

        let mut unknown_rng = Rng::new(self.config.seed ^ 0xdead_beef);
        let unknown_key = Probe {
            key: Some(format!("ak_{}", unknown_rng.base62(28))),
            status: 401,
            charged: false,
            ..limited.clone()
        };

        // The limited request's API, a resource it does not have.
        let limited_api = self
            .apis
            .iter()
            .position(|a| a.request_host == limited.authority && limited.path.starts_with(&a.base_path))
            .unwrap_or(0);
        let no_match = Probe {
            path: format!("{}/no-such-resource/12345/details", self.apis[limited_api].base_path),
            status: 404,
            charged: false,
            ..limited.clone()
        };

        // Same key, an operation none of its grants contains.
        let plan = &self.applications[limited_app];
        let mut granted: HashSet<(usize, usize)> = HashSet::new();
        for g in self.grants(plan) {
            match g {
                Target::Package(p) => granted.extend(self.packages[p].contents.iter().map(|c| (c.0, c.1))),
                Target::Api(a) => granted.extend((0..self.apis[a].ops.len()).map(|o| (a, o))),
            }
        }
        let forbidden = (0..self.apis.len())
            .flat_map(|a| (0..self.apis[a].ops.len()).map(move |o| (a, o)))
            .find(|&(a, o)| {
                !granted.contains(&(a, o)) && self.apis[a].ops[o].method == "GET" && self.apis[a].hosts.is_empty()
            })
            .map(|(a, o)| self.probe(a, o, limited.key.clone(), 403, false))
            .unwrap_or_else(|| limited.clone());

        Probes {
            limited,
            api_grant,
            unknown_key,
            no_match,
            forbidden,
            rotating,
        }
    }

    /// Counts of everything (file sizes are filled in by [`Plan::write`]).
    pub fn summary(&self) -> Summary {
        let mut methods: HashMap<&str, usize> = HashMap::new();
        let mut s = Summary {
            apis: self.apis.len(),
            portals: 2,
            developers: self.developers.len(),
            teams: self.teams.len(),
            applications: self.applications.len(),
            packages: self.packages.len(),
            ..Summary::default()
        };
        for api in &self.apis {
            s.apis_openapi_31 += usize::from(api.openapi.starts_with("3.1"));
            s.apis_with_hosts += usize::from(!api.hosts.is_empty());
            for op in &api.ops {
                s.operations += 1;
                s.operations_without_id += usize::from(op.operation_id.is_none());
                s.in_segment_parameters += usize::from(op.in_segment);
                *methods.entry(op.method).or_default() += 1;
            }
        }
        let mut methods: Vec<(String, usize)> = methods.into_iter().map(|(m, n)| (m.to_string(), n)).collect();
        methods.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        s.methods = methods;
        for p in &self.packages {
            s.limited_packages += usize::from(!p.limits.is_empty());
            s.multi_window_packages += usize::from(p.limits.len() >= 2);
            s.package_operations += p.contents.len();
            s.overrides += p.entries.iter().filter(|e| e.limits.is_some()).count();
            s.whole_api_entries += p.entries.iter().filter(|e| e.op.is_none()).count();
        }
        s.inactive_developers = self.developers.iter().filter(|d| d.1 != "approved").count();
        for app in &self.applications {
            for (_, form) in &app.credentials {
                match form {
                    Form::Key => s.keys += 1,
                    Form::KeySha256 => s.key_hashes += 1,
                    Form::Id => s.identities += 1,
                }
            }
            for (t, status) in &app.registrations {
                match t {
                    Target::Package(_) => s.package_registrations += 1,
                    Target::Api(_) => s.api_registrations += 1,
                }
                s.unapproved_registrations += usize::from(*status != "approved");
            }
        }
        s
    }

    /// Writes `catalog.json`, `specs/<api>.json` and `probes.json` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> io::Result<Summary> {
        std::fs::create_dir_all(dir.join("specs"))?;
        let mut summary = self.summary();
        for api in &self.apis {
            let bytes = serde_json::to_vec_pretty(&spec_json(api)).map_err(io::Error::other)?;
            summary.spec_bytes += bytes.len() as u64;
            std::fs::write(dir.join("specs").join(format!("{}.json", api.name)), bytes)?;
        }
        let catalog = dir.join("catalog.json");
        let file = std::fs::File::create(&catalog)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        self.write_catalog(&mut w)?;
        w.flush()?;
        drop(w);
        summary.catalog_bytes = std::fs::metadata(&catalog)?.len();
        let probes = serde_json::to_vec_pretty(&self.probes()).map_err(io::Error::other)?;
        std::fs::write(dir.join("probes.json"), probes)?;
        Ok(summary)
    }

    fn write_catalog(&self, w: &mut impl Write) -> io::Result<()> {
        fn list<W: Write, T>(
            w: &mut W,
            key: &str,
            items: impl IntoIterator<Item = T>,
            last: bool,
            mut f: impl FnMut(T) -> Value,
        ) -> io::Result<()> {
            write!(w, "  \"{key}\": [")?;
            let mut first = true;
            for item in items {
                w.write_all(if first { b"\n    " } else { b",\n    " })?;
                first = false;
                serde_json::to_writer(&mut *w, &f(item)).map_err(io::Error::other)?;
            }
            w.write_all(if first { b"]" } else { b"\n  ]" })?;
            w.write_all(if last { b"\n" } else { b",\n" })
        }
        fn limits(l: &[&str]) -> Value {
            match l {
                [one] => json!(one),
                many => json!(many),
            }
        }
        w.write_all(b"{\n  \"version\": 1,\n")?;
        writeln!(
            w,
            "  \"enforcement\": {},",
            json!({"match_policy": "required", "rate_limit_headers": "ietf", "hide_credentials": false, "cors_preflight": "pass"})
        )?;
        writeln!(
            w,
            "  \"auth_strategies\": {},",
            json!([
                {"name": "keys", "type": "key_auth", "key_names": ["apikey", "x-api-key"]},
                {"name": "client-id", "type": "header", "header": "x-client-id"}
            ])
        )?;
        list(w, "apis", &self.apis, false, |api| {
            let mut m = Map::new();
            m.insert("name".into(), json!(api.name));
            m.insert("version".into(), json!(api.version));
            m.insert("spec".into(), json!(format!("specs/{}.json", api.name)));
            if !api.hosts.is_empty() {
                m.insert("hosts".into(), json!(api.hosts));
            }
            if let Some(b) = &api.base_path_override {
                m.insert("base_path".into(), json!(b));
            }
            Value::Object(m)
        })?;
        list(w, "packages", &self.packages, false, |p| {
            let mut m = Map::new();
            m.insert("name".into(), json!(p.name));
            m.insert("id".into(), json!(p.id));
            m.insert("version".into(), json!(p.version));
            if !p.limits.is_empty() {
                m.insert("rate_limit".into(), limits(p.limits));
            }
            let entries: Vec<Value> = p
                .entries
                .iter()
                .map(|e| {
                    let mut o = Map::new();
                    o.insert("api".into(), json!(self.apis[e.api].name));
                    if let Some(r) = &e.reference {
                        o.insert("op".into(), json!(r));
                    }
                    if let Some(l) = e.limits {
                        o.insert("rate_limit".into(), limits(l));
                    }
                    Value::Object(o)
                })
                .collect();
            m.insert("operations".into(), Value::Array(entries));
            Value::Object(m)
        })?;
        list(w, "developers", &self.developers, false, |(email, status)| {
            if *status == "approved" {
                json!({"email": email})
            } else {
                json!({"email": email, "status": status})
            }
        })?;
        list(w, "teams", &self.teams, false, |(name, members)| {
            let emails: Vec<&str> = members.iter().map(|&d| self.developers[d].0.as_str()).collect();
            json!({"name": name, "members": emails})
        })?;
        let partner_packages = self.config.packages - self.public_packages;
        let portals = [
            json!({
                "name": "developer-portal",
                "auth_strategies": ["keys", "client-id"],
                "publications": (0..self.public_packages)
                    .map(|p| json!({"package": self.packages[p].id}))
                    .chain((0..self.published_apis).map(|a| json!({"api": self.apis[a].name})))
                    .collect::<Vec<_>>()
            }),
            json!({
                "name": "partner-portal",
                "auth_strategies": ["keys"],
                "publications": (0..partner_packages)
                    .map(|j| {
                        let teams: Vec<&str> = Self::partner_package_teams(j, self.partner_teams)
                            .map(|t| self.teams[t].0.as_str())
                            .collect();
                        json!({"package": self.packages[self.public_packages + j].id, "visibility": "private", "teams": teams})
                    })
                    .collect::<Vec<_>>()
            }),
        ];
        list(w, "portals", portals, false, |p| p)?;
        list(w, "applications", &self.applications, true, |app| {
            let mut m = Map::new();
            m.insert("name".into(), json!(app.name));
            if let Some(p) = app.portal {
                m.insert(
                    "portal".into(),
                    json!(if p == PORTAL_DEVELOPERS {
                        "developer-portal"
                    } else {
                        "partner-portal"
                    }),
                );
            }
            m.insert(
                "owner".into(),
                match app.owner {
                    Owner::Developer(d) => json!({"developer": self.developers[d].0}),
                    Owner::Team(t) => json!({"team": self.teams[t].0}),
                },
            );
            m.insert(
                "auth_strategy".into(),
                json!(if app.strategy == STRATEGY_KEYS {
                    "keys"
                } else {
                    "client-id"
                }),
            );
            let creds: Vec<Value> = app
                .credentials
                .iter()
                .map(|(secret, form)| match form {
                    Form::Key => json!({"key": secret}),
                    Form::KeySha256 => {
                        let hex: String = Sha256::digest(secret.as_bytes())
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect();
                        json!({"key_sha256": hex})
                    }
                    Form::Id => json!({"id": secret}),
                })
                .collect();
            m.insert("credentials".into(), Value::Array(creds));
            let regs: Vec<Value> = app
                .registrations
                .iter()
                .map(|(t, status)| {
                    let mut r = Map::new();
                    match t {
                        Target::Package(p) => r.insert("package".into(), json!(self.packages[*p].id)),
                        Target::Api(a) => r.insert("api".into(), json!(self.apis[*a].name)),
                    };
                    if *status != "approved" {
                        r.insert("status".into(), json!(status));
                    }
                    Value::Object(r)
                })
                .collect();
            m.insert("registrations".into(), Value::Array(regs));
            Value::Object(m)
        })?;
        w.write_all(b"}\n")
    }
}

#[cfg(test)]
mod tests {
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
