//! `acepack check CATALOG [--json] [--strict]`: validates a catalog and prints what it means —
//! operations with their gateway routes, packages, applications — or every error, located.
//! The report goes to stdout, errors to stderr.

use std::fmt::Write as _;
use std::path::Path;

use acepack_compiler::model::{Grant, Limit, Mapping, MatchPolicy, Model, Window};
use acepack_compiler::{load_model, Diagnostic, LoadError, Severity};

use super::{Exit, Failure};

/// The widest a padded column of the human report gets: longer cells overflow instead of widening
/// every line (and Rust's formatter refuses widths above 65,535).
const COLUMN_MAX: usize = 80;

/// Validates the catalog and prints the report.
pub fn run(catalog: &Path, json: bool, strict: bool) -> Result<Exit, Failure> {
    let (model, errors) = match load_model(catalog) {
        Ok(model) => (Some(model), Vec::new()),
        Err(LoadError::Io(e)) => return Err(Failure::Usage(e.to_string())),
        Err(LoadError::Invalid(errors)) => (None, errors),
    };
    let warnings = model.as_ref().map(|m| m.warnings.clone()).unwrap_or_default();
    let (warnings, errors) = split(warnings, errors, strict);
    let report = Report::new(&catalog.display().to_string(), model.as_ref(), strict, warnings, errors);
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Usage(format!("cannot render the report: {e}")))?;
        println!("{text}");
    } else if let Some(model) = &model {
        print!("{}", human(model, &report));
    }
    if report.ok {
        Ok(Exit::Ok)
    } else {
        let n = report.errors.len();
        let why = if model.is_some() {
            " (warnings are errors under --strict)"
        } else {
            ""
        };
        Err(Failure::Invalid {
            summary: format!("{}: {}{why}", report.catalog, plural(n, "error")),
            diagnostics: report.errors,
        })
    }
}

/// The `--json` report of a valid model, as `compile --report` also writes it. Under `strict`,
/// the model's warnings are listed as errors.
pub(crate) fn json_report(catalog: &str, model: &Model, strict: bool) -> Result<String, serde_json::Error> {
    let (warnings, errors) = split(model.warnings.clone(), Vec::new(), strict);
    serde_json::to_string_pretty(&Report::new(catalog, Some(model), strict, warnings, errors))
}

/// Under `strict`, warnings join the errors (as errors).
fn split(
    mut warnings: Vec<Diagnostic>,
    mut errors: Vec<Diagnostic>,
    strict: bool,
) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    if strict {
        errors.extend(warnings.drain(..).map(|w| Diagnostic {
            severity: Severity::Error,
            ..w
        }));
    }
    (warnings, errors)
}

/// The machine report (`--json`).
#[derive(Debug, serde::Serialize)]
struct Report<'a> {
    /// The catalog as named on the command line.
    catalog: String,
    /// Whether the catalog passed (with `--strict`: also without warnings).
    ok: bool,
    strict: bool,
    /// Counts; absent when the catalog is invalid.
    summary: Option<Summary>,
    apis: Vec<ApiReport<'a>>,
    packages: Vec<PackageReport<'a>>,
    applications: Vec<ApplicationReport<'a>>,
    mapping: Option<&'a Mapping>,
    warnings: Vec<Diagnostic>,
    errors: Vec<Diagnostic>,
}

#[derive(Debug, serde::Serialize)]
struct Summary {
    apis: usize,
    operations: usize,
    packages: usize,
    applications: usize,
    credentials: usize,
    auth_strategies: usize,
    developers: usize,
    teams: usize,
    portals: usize,
    match_policy: MatchPolicy,
    /// Operations served by a gateway route, when the catalog names a gateway.
    matched: Option<usize>,
}

#[derive(Debug, serde::Serialize)]
struct ApiReport<'a> {
    name: &'a str,
    version: &'a str,
    spec: Option<&'a str>,
    base_path: &'a str,
    hosts: &'a [String],
    operations: Vec<OperationReport<'a>>,
}

#[derive(Debug, serde::Serialize)]
struct OperationReport<'a> {
    id: &'a str,
    method: &'a str,
    path: &'a str,
    spec_path: &'a str,
    aliases: &'a [String],
    /// The gateway route serving it; absent without a gateway, null when unmatched.
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<&'a str>,
}

#[derive(Debug, serde::Serialize)]
struct PackageReport<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    limits: Vec<String>,
    /// `api/operation-id`, with the override when there is one.
    operations: Vec<String>,
    portals: &'a [String],
}

#[derive(Debug, serde::Serialize)]
struct ApplicationReport<'a> {
    name: &'a str,
    auth_strategy: &'a str,
    credentials: usize,
    grants: Vec<String>,
    inactive: &'a [String],
}

impl<'a> Report<'a> {
    fn new(
        catalog: &str,
        model: Option<&'a Model>,
        strict: bool,
        warnings: Vec<Diagnostic>,
        errors: Vec<Diagnostic>,
    ) -> Self {
        let mut report = Report {
            catalog: catalog.to_string(),
            ok: errors.is_empty(),
            strict,
            summary: None,
            apis: Vec::new(),
            packages: Vec::new(),
            applications: Vec::new(),
            mapping: None,
            warnings,
            errors,
        };
        let Some(m) = model else { return report };
        let count = |k: &str| m.counts.get(k).copied().unwrap_or(0);
        report.summary = Some(Summary {
            apis: m.apis.len(),
            operations: m.operations.len(),
            packages: m.packages.len(),
            applications: m.applications.len(),
            credentials: m.applications.iter().map(|a| a.credentials.len()).sum(),
            auth_strategies: m.auth_strategies.len(),
            developers: count("developers"),
            teams: count("teams"),
            portals: count("portals"),
            match_policy: m.enforcement.match_policy,
            matched: m
                .mapping
                .as_ref()
                .map(|x| x.operations.iter().filter(|o| o.route.is_some()).count()),
        });
        report.apis = m
            .apis
            .iter()
            .map(|api| ApiReport {
                name: &api.name,
                version: &api.version,
                spec: api.spec.as_deref(),
                base_path: &api.base_path,
                hosts: &api.hosts,
                operations: api
                    .operations
                    .clone()
                    .filter_map(|i| {
                        let op = m.operations.get(i)?;
                        let routed = m
                            .mapping
                            .as_ref()
                            .map(|x| x.operations.iter().find(|r| r.operation == i));
                        Some(OperationReport {
                            id: &op.id,
                            method: &op.method,
                            path: &op.path,
                            spec_path: &op.spec_path,
                            aliases: &op.aliases,
                            route: routed.map(|r| r.and_then(|r| r.route.as_deref())),
                            target: routed.flatten().and_then(|r| r.target.as_deref()),
                        })
                    })
                    .collect(),
            })
            .collect();
        report.packages = m
            .packages
            .iter()
            .map(|p| PackageReport {
                id: &p.id,
                name: &p.name,
                version: &p.version,
                limits: p.limits.iter().map(limit).collect(),
                operations: p
                    .operations
                    .iter()
                    .filter_map(|po| {
                        let op = m.operations.get(po.operation)?;
                        let api = &m.apis.get(op.api)?.name;
                        Some(match &po.limits {
                            Some(l) => format!("{api}/{} ({})", op.id, limits(l)),
                            None => format!("{api}/{}", op.id),
                        })
                    })
                    .collect(),
                portals: &p.portals,
            })
            .collect();
        report.applications = m
            .applications
            .iter()
            .map(|a| ApplicationReport {
                name: &a.name,
                auth_strategy: m.auth_strategies.get(a.auth_strategy).map_or("", |s| s.name()),
                credentials: a.credentials.len(),
                grants: a.grants.iter().map(|g| grant(m, *g)).collect(),
                inactive: &a.inactive,
            })
            .collect();
        report.mapping = m.mapping.as_ref();
        report
    }
}

fn grant(m: &Model, g: Grant) -> String {
    match g {
        Grant::Api(i) => format!("api {}", m.apis.get(i).map_or("?", |a| a.name.as_str())),
        Grant::Package(i) => format!("package {}", m.packages.get(i).map_or("?", |p| p.id.as_str())),
    }
}

fn limit(l: &Limit) -> String {
    let unit = match l.window {
        Window::Second => "second",
        Window::Minute => "minute",
        Window::Hour => "hour",
        Window::Day => "day",
    };
    format!("{}/{unit}", l.count)
}

fn limits(l: &[Limit]) -> String {
    l.iter().map(limit).collect::<Vec<_>>().join(", ")
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The human report.
fn human(m: &Model, r: &Report<'_>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    if let Some(s) = &r.summary {
        let _ = writeln!(
            out,
            "{}: {}, {}, {}, {} ({}), {}, {}, {}, {}",
            r.catalog,
            plural(s.apis, "api"),
            plural(s.operations, "operation"),
            plural(s.packages, "package"),
            plural(s.applications, "application"),
            plural(s.credentials, "credential"),
            plural(s.auth_strategies, "auth strategy").replace("strategys", "strategies"),
            plural(s.developers, "developer"),
            plural(s.teams, "team"),
            plural(s.portals, "portal"),
        );
        let policy = match s.match_policy {
            MatchPolicy::Required => "required",
            MatchPolicy::IfPresent => "if_present",
        };
        match (&m.mapping, s.matched) {
            (Some(map), Some(matched)) => {
                let _ = writeln!(
                    out,
                    "match_policy: {policy}; gateway {}: {matched} of {} matched",
                    map.file,
                    plural(s.operations, "operation")
                );
            }
            _ => {
                let _ = writeln!(out, "match_policy: {policy}; no gateway");
            }
        }
    }
    for api in &r.apis {
        let mut about = Vec::new();
        if !api.version.is_empty() {
            about.push(format!("version {}", api.version));
        }
        about.push(match api.spec {
            Some(spec) => format!("spec {spec}"),
            None => "manual operations".to_string(),
        });
        if !api.base_path.is_empty() {
            about.push(format!("base path {}", api.base_path));
        }
        about.push(if api.hosts.is_empty() {
            "any host".to_string()
        } else {
            format!("hosts {}", api.hosts.join(", "))
        });
        let _ = writeln!(out, "\napi {} ({})", api.name, about.join("; "));
        let names: Vec<(String, String)> = api
            .operations
            .iter()
            .map(|o| {
                let id = if o.aliases.is_empty() {
                    o.id.to_string()
                } else {
                    format!("{} (also {})", o.id, o.aliases.join(", "))
                };
                (format!("{} {}", o.method, o.path), id)
            })
            .collect();
        let width = names
            .iter()
            .map(|(r, _)| r.chars().count())
            .max()
            .unwrap_or(0)
            .min(COLUMN_MAX);
        let id_width = names
            .iter()
            .map(|(_, i)| i.chars().count())
            .max()
            .unwrap_or(0)
            .min(COLUMN_MAX);
        for (op, (route, id)) in api.operations.iter().zip(&names) {
            let mut line = format!("  {route:width$}  {id:id_width$}");
            match op.route {
                Some(Some(name)) => {
                    let _ = write!(line, "  matched → {name}");
                    if let Some(target) = op.target {
                        let _ = write!(line, " ({target})");
                    }
                }
                Some(None) => line.push_str("  unmatched"),
                None => {}
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if let Some(map) = &m.mapping {
        if m.enforcement.match_policy == MatchPolicy::Required && !map.uncovered_routes.is_empty() {
            let _ = writeln!(
                out,
                "\nroutes no operation covers (rejected with 404 under match_policy required):"
            );
            for route in &map.uncovered_routes {
                let _ = writeln!(out, "  {route}");
            }
        }
    }
    if !r.packages.is_empty() {
        let _ = writeln!(out);
    }
    for p in &r.packages {
        let mut line = format!("package {}", p.id);
        if p.name != p.id {
            let _ = write!(line, " \"{}\"", p.name);
        }
        if !p.version.is_empty() {
            let _ = write!(line, " version {}", p.version);
        }
        let _ = write!(line, ": {}", plural(p.operations.len(), "operation"));
        let _ = write!(
            line,
            "; limit {}",
            if p.limits.is_empty() {
                "none".to_string()
            } else {
                p.limits.join(", ")
            }
        );
        if !p.portals.is_empty() {
            let _ = write!(line, "; portals {}", p.portals.join(", "));
        }
        let _ = writeln!(out, "{line}");
        for op in &p.operations {
            let _ = writeln!(out, "  {op}");
        }
    }
    if !r.applications.is_empty() {
        let _ = writeln!(out);
    }
    for a in &r.applications {
        let grants = if a.grants.is_empty() {
            "nothing".to_string()
        } else {
            a.grants.join(", ")
        };
        let _ = writeln!(
            out,
            "application {} ({}, {}): grants {grants}",
            a.name,
            a.auth_strategy,
            plural(a.credentials, "credential")
        );
        for why in a.inactive {
            let _ = writeln!(out, "  inactive: {why}");
        }
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out);
        for w in &r.warnings {
            let _ = writeln!(out, "{w}");
        }
    }
    let verdict = if r.ok {
        format!("ok ({})", plural(r.warnings.len(), "warning"))
    } else {
        format!("invalid ({})", plural(r.errors.len(), "error"))
    };
    let _ = writeln!(out, "\n{}: {verdict}", r.catalog);
    out
}
