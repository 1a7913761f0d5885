//! Resolves a parsed catalog and its specs into the validated [`Model`]: every reference checked,
//! every rule of docs/catalog.md#operations applied, errors collected with their places.
//!
//! This module drives the pipeline: [`load_model`] reads the catalog ([`crate::source`],
//! [`crate::catalog`]); `build` checks names, loads every API's spec (`apis` →
//! [`crate::openapi`]), resolves packages, people, portals and applications, and finally maps the
//! operations onto the gateway (`map_gateway` → [`crate::routes`]). Neither `openapi` nor
//! `routes` depends on this module: both report with [`crate::error`].

use std::collections::HashMap;
use std::path::Path;

use crate::catalog::{self, Catalog};
use crate::diag::{did_you_mean, shown, text_problem, Diagnostic, MAX_NAME_BYTES};
use crate::error::LoadError;
use crate::model::{self, Model};
use crate::routes::{self, GatewayKind};
use crate::source;

mod access;
mod apis;
mod global;
mod hosts;
mod limits;
mod oidc;
mod packages;

/// Reads the catalog at `path`, the specs and gateway file it names, and validates everything.
/// Warnings are returned inside the model; errors (all of them, not just the first) in `Invalid`.
pub fn load_model(path: &Path) -> Result<Model, LoadError> {
    let file = path.display().to_string();
    let doc = source::load(path, &file)?;
    let catalog = catalog::parse(&doc, &file).map_err(LoadError::Invalid)?;
    let mut model = build(&catalog, &file, path.parent().unwrap_or(Path::new("")))?;
    model.inputs.insert(0, path.to_path_buf());
    Ok(model)
}

/// Validation state: where we are and what was found so far.
pub(crate) struct Ctx<'a> {
    /// The catalog as the user named it.
    pub file: &'a str,
    /// The catalog's folder: specs and the gateway file are relative to it.
    pub dir: &'a Path,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// Files read so far besides the catalog (specs, `$ref` targets, the gateway file).
    pub inputs: Vec<std::path::PathBuf>,
}

impl Ctx<'_> {
    /// Records an error in the catalog at `place`.
    pub fn error(&mut self, place: impl Into<String>, message: impl Into<String>, hint: Option<String>) {
        let d = Diagnostic::error(self.file, place, message);
        self.errors.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }

    /// Records a warning in the catalog at `place`.
    pub fn warn(&mut self, place: impl Into<String>, message: impl Into<String>, hint: Option<String>) {
        let d = Diagnostic::warning(self.file, place, message);
        self.warnings.push(match hint {
            Some(h) => d.with_hint(h),
            None => d,
        });
    }
}

/// Names → index (the first of duplicates wins; duplicates are reported separately), with
/// "did you mean" over the same names.
pub(crate) struct Index<'a> {
    map: HashMap<String, usize>,
    names: Vec<&'a str>,
    fold_case: bool,
}

impl<'a> Index<'a> {
    /// An exact-match index.
    pub fn new(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self::build(names, false)
    }

    /// A case-insensitive index (emails).
    pub fn folding_case(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self::build(names, true)
    }

    fn build(names: impl IntoIterator<Item = &'a str>, fold_case: bool) -> Self {
        let names: Vec<&'a str> = names.into_iter().collect();
        let mut map = HashMap::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let key = if fold_case { n.to_lowercase() } else { n.to_string() };
            map.entry(key).or_insert(i);
        }
        Index { map, names, fold_case }
    }

    /// The index of `name`, if defined.
    pub fn get(&self, name: &str) -> Option<usize> {
        if self.fold_case {
            self.map.get(&name.to_lowercase()).copied()
        } else {
            self.map.get(name).copied()
        }
    }

    /// `did you mean "x"?` for a name that is not defined.
    pub fn hint(&self, name: &str) -> Option<String> {
        did_you_mean(name, self.names.iter().copied())
    }
}

/// `^[a-z0-9][a-z0-9_-]*$`: API names and package ids appear in headers, keys and reports.
fn is_id(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Names that must be unique within their kind, and not empty.
fn check_unique<'n>(
    ctx: &mut Ctx<'_>,
    what: &str,
    entries: impl IntoIterator<Item = (String, &'n str)>,
    fold_case: bool,
) {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (place, name) in entries {
        if name.trim().is_empty() {
            ctx.error(place, format!("a {what} cannot be empty"), None);
            continue;
        }
        if let Some(problem) = text_problem(what, name, MAX_NAME_BYTES) {
            ctx.error(place, problem, None);
            continue;
        }
        let key = if fold_case {
            name.to_lowercase()
        } else {
            name.to_string()
        };
        match seen.get(&key) {
            Some(first) => ctx.error(
                place,
                format!("{what} \"{}\" is already used at {first}", shown(name)),
                None,
            ),
            None => {
                seen.insert(key, place);
            }
        }
    }
}

fn check_names(ctx: &mut Ctx<'_>, c: &Catalog) {
    let ids = c
        .apis
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("apis[{i}].name"), a.name.as_str()))
        .chain(
            c.packages
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("packages[{i}].id"), p.id.as_str())),
        );
    let mut shared = Vec::new();
    for (place, name) in ids {
        if is_id(name) && name.len() <= MAX_NAME_BYTES {
            shared.push((place, name));
        } else {
            let lower: String = name
                .to_lowercase()
                .chars()
                .map(|c| if c.is_whitespace() { '-' } else { c })
                .collect();
            let hint = (is_id(&lower) && lower.len() <= MAX_NAME_BYTES).then(|| format!("did you mean \"{lower}\"?"));
            let d = match text_problem("name", name, MAX_NAME_BYTES) {
                Some(problem) => Diagnostic::error(ctx.file, place, problem),
                None => Diagnostic::error(ctx.file, place, format!("\"{}\" is not a valid name: use lower-case letters, digits, '-' and '_', starting with a letter or digit", shown(name))),
            };
            ctx.errors.push(match hint {
                Some(h) => d.with_hint(h),
                None => d,
            });
        }
    }
    // Free-form labels: shown in reports and stored in the bundle.
    let labels = c
        .apis
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("apis[{i}].version"), "version", a.version.as_str()))
        .chain(c.packages.iter().enumerate().flat_map(|(i, p)| {
            [
                (format!("packages[{i}].version"), "version", p.version.as_str()),
                (
                    format!("packages[{i}].name"),
                    "package name",
                    p.name.as_deref().unwrap_or(""),
                ),
            ]
        }));
    for (place, what, value) in labels {
        if let Some(problem) = text_problem(what, value, MAX_NAME_BYTES) {
            ctx.error(place, problem, None);
        }
    }
    // One namespace: a registration or publication names either, and bundles key limits by it.
    check_unique(ctx, "name", shared, false);
    let list = |section: &str, field: &str, names: Vec<&'_ str>| -> Vec<(String, String)> {
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (format!("{section}[{i}].{field}"), n.to_string()))
            .collect()
    };
    let groups = [
        (
            "auth strategy name",
            list(
                "auth_strategies",
                "name",
                c.auth_strategies.iter().map(|s| s.name.as_str()).collect(),
            ),
            false,
        ),
        (
            "team name",
            list("teams", "name", c.teams.iter().map(|t| t.name.as_str()).collect()),
            false,
        ),
        (
            "portal name",
            list("portals", "name", c.portals.iter().map(|p| p.name.as_str()).collect()),
            false,
        ),
        (
            "application name",
            list(
                "applications",
                "name",
                c.applications.iter().map(|a| a.name.as_str()).collect(),
            ),
            false,
        ),
        (
            "developer email",
            list(
                "developers",
                "email",
                c.developers.iter().map(|d| d.email.as_str()).collect(),
            ),
            true,
        ),
    ];
    for (what, entries, fold) in &groups {
        check_unique(ctx, what, entries.iter().map(|(p, n)| (p.clone(), n.as_str())), *fold);
    }
}

/// Validates a parsed catalog whose relative paths are relative to `dir`.
pub(crate) fn build(c: &Catalog, file: &str, dir: &Path) -> Result<Model, LoadError> {
    let mut ctx = Ctx {
        file,
        dir,
        errors: Vec::new(),
        warnings: Vec::new(),
        inputs: Vec::new(),
    };
    check_names(&mut ctx, c);
    let strategies = access::strategies(&mut ctx, &c.auth_strategies);
    let strategy_index = Index::new(c.auth_strategies.iter().map(|s| s.name.as_str()));
    let mut built = apis::build(&mut ctx, &c.apis)?;
    let api_index = Index::new(c.apis.iter().map(|a| a.name.as_str()));
    let mut packages = packages::build(&mut ctx, &c.packages, &built, &api_index);
    let package_index = Index::new(c.packages.iter().map(|p| p.id.as_str()));
    let people = access::people(&mut ctx, c);
    let targets = access::Targets {
        packages: &package_index,
        apis: &api_index,
    };
    let portals = access::portals(&mut ctx, c, &strategy_index, &targets, &people);
    for portal in &portals {
        for p in &portal.publications {
            let portals = match p.target {
                model::Grant::Package(i) => &mut packages[i].portals,
                model::Grant::Api(i) => &mut built.apis[i].portals,
            };
            if !portals.contains(&portal.name) {
                portals.push(portal.name.clone());
            }
        }
    }
    let portal_index = Index::new(c.portals.iter().map(|p| p.name.as_str()));
    let scope = access::Scope {
        raw: c,
        strategies: &strategies,
        strategy_index: &strategy_index,
        targets,
        people: &people,
        portals: &portals,
        portal_index: &portal_index,
    };
    let applications = access::applications(&mut ctx, &scope);
    let app_index = Index::new(c.applications.iter().map(|a| a.name.as_str()));

    let anonymous = match &c.enforcement.anonymous {
        Some(name) => match app_index.get(name) {
            Some(i) => Some(i),
            None => {
                ctx.error(
                    "enforcement.anonymous",
                    format!("there is no application \"{name}\""),
                    app_index.hint(name),
                );
                None
            }
        },
        None => None,
    };
    for (i, app) in applications.iter().enumerate() {
        if app.credentials.is_empty() && anonymous != Some(i) {
            ctx.warn(
                format!("applications[{i}]"),
                format!("application \"{}\" has no credentials; no request can use it", app.name),
                None,
            );
        }
    }
    let global = global::global_service(&mut ctx, &c.enforcement);
    let enforcement = model::Enforcement {
        match_policy: c.enforcement.match_policy,
        anonymous,
        rate_limit_headers: c.enforcement.rate_limit_headers,
        hide_credentials: c.enforcement.hide_credentials,
        cors_preflight: c.enforcement.cors_preflight,
        rate_limits: c.enforcement.rate_limits,
        global,
    };

    let mapping = match &c.gateway {
        Some(g) => map_gateway(&mut ctx, g, &built, enforcement.match_policy)?,
        None => None,
    };
    let envoy = c.gateway.as_ref().is_some_and(|g| g.envoy.is_some());
    let route_bound = route_bound(&built, mapping.as_ref().filter(|_| envoy));
    let why = (!built.clashes.is_empty() && mapping.is_some()).then_some(if envoy {
        "the gateway does not tell their APIs apart (each API needs one cluster that all its other operations are routed to, a different one per API, and the APIs the same `hosts`)"
    } else {
        "only an Envoy gateway (`gateway.envoy`) can tell them apart by route"
    });
    apis::report_clashes(&mut ctx, &built, &route_bound, why);

    if !ctx.errors.is_empty() {
        return Err(LoadError::Invalid(ctx.errors));
    }
    let counts = [
        ("developers", c.developers.len()),
        ("teams", c.teams.len()),
        ("portals", c.portals.len()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(Model {
        catalog: file.to_string(),
        enforcement,
        auth_strategies: strategies,
        apis: built.apis,
        operations: built.operations,
        packages,
        applications,
        mapping,
        route_bound,
        warnings: ctx.warnings,
        counts,
        inputs: ctx.inputs,
    })
}

/// Clashing operations (same method and path on overlapping hosts, in two APIs) that the filter
/// can tell apart by the route a request took (docs/catalog.md#gateway-route-mapping): each API
/// has a home cluster — the one cluster the Envoy gateway certainly sends all its other
/// operations to — the homes differ, and the APIs list the same hosts (the filter tells them
/// apart within one host group). (operation, its API's home cluster), ascending.
fn route_bound(built: &apis::Built, mapping: Option<&model::Mapping>) -> Vec<(usize, String)> {
    let Some(mapping) = mapping else {
        return Vec::new();
    };
    let clashing: std::collections::BTreeSet<usize> = built.clashes.iter().flat_map(|&(j, i)| [j, i]).collect();
    let home = |api: usize| -> Option<&str> {
        let mut found: Option<&str> = None;
        for o in built.apis[api].operations.clone().filter(|o| !clashing.contains(o)) {
            let m = mapping.operations.get(o)?;
            // A route string with notes (`[...]`) means some request for it may end elsewhere.
            let target = m
                .route
                .as_deref()
                .filter(|r| !r.contains(" ["))
                .and(m.target.as_deref())
                .filter(|t| !t.contains(' '))?;
            if found.is_some_and(|f| f != target) {
                return None;
            }
            found = Some(target);
        }
        found
    };
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for &(j, i) in &built.clashes {
        match groups.iter_mut().find(|g| g.contains(&j)) {
            Some(g) => g.push(i),
            None => groups.push(vec![j, i]),
        }
    }
    let mut out = Vec::new();
    for g in groups {
        let api = |o: usize| built.operations[o].api;
        let hosts = |o: usize| {
            let mut h = built.apis[api(o)].hosts.clone();
            h.sort();
            h
        };
        let homes: Vec<Option<&str>> = g.iter().map(|&o| home(api(o))).collect();
        let distinct = homes.iter().all(Option::is_some)
            && homes.iter().collect::<std::collections::BTreeSet<_>>().len() == g.len()
            && g.iter().all(|&o| hosts(o) == hosts(g[0]));
        if distinct {
            out.extend(g.iter().zip(homes).filter_map(|(&o, c)| Some((o, c?.to_owned()))));
        }
    }
    out.sort();
    out
}

/// docs/catalog.md#gateway-route-mapping: maps operations onto the gateway's routes; unmatched operations and, under
/// `match_policy: required`, uncovered routes become warnings.
fn map_gateway(
    ctx: &mut Ctx<'_>,
    g: &catalog::Gateway,
    built: &apis::Built,
    policy: model::MatchPolicy,
) -> Result<Option<model::Mapping>, LoadError> {
    let (kind, name) = match (&g.envoy, &g.kong) {
        (Some(f), None) => (GatewayKind::Envoy, f),
        (None, Some(f)) => (GatewayKind::Kong, f),
        // `catalog::parse` already reported it.
        _ => return Ok(None),
    };
    let path = ctx.dir.join(name);
    let display = path.display().to_string();
    ctx.inputs.push(path.clone());
    match routes::map_routes(kind, &path, &display, &built.apis, &built.operations) {
        Ok(mapping) => {
            for m in mapping.operations.iter().filter(|m| m.route.is_none()) {
                let Some(op) = built.operations.get(m.operation) else {
                    continue;
                };
                let api = &built.apis[op.api].name;
                ctx.warnings.push(Diagnostic::warning(
                    &display,
                    "",
                    format!(
                        "no route serves {} {} (operation \"{}\" of api \"{api}\")",
                        op.method, op.path, op.id
                    ),
                ));
            }
            if policy == model::MatchPolicy::Required {
                for route in &mapping.uncovered_routes {
                    ctx.warnings.push(Diagnostic::warning(
                        &display,
                        route.as_str(),
                        "route serves no operation; with match_policy required, all traffic to it will be rejected with 404",
                    ));
                }
                for (route, what) in &mapping.partly_covered {
                    ctx.warnings.push(Diagnostic::warning(
                        &display,
                        route.as_str(),
                        format!("route is partly covered: {what} (match_policy required)"),
                    ));
                }
            }
            Ok(Some(mapping))
        }
        Err(LoadError::Io(e)) => Err(LoadError::Io(e)),
        Err(LoadError::Invalid(ds)) => {
            ctx.errors.extend(ds);
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests;
