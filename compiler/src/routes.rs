//! Mapping operations onto a gateway's routes (docs/catalog.md#gateway-route-mapping): Envoy bootstrap / Listener / RouteConfiguration
//! or a Kong declarative file. Read-only: the gateway configuration is never modified.
//!
//! # How an operation is mapped
//!
//! For every operation a few **representative requests** are synthesized and run through a model of
//! the gateway's router ([`envoy::RouteTable`], [`kong::KongConfig`]); the first route that would
//! serve the request is the operation's route.
//!
//! - **Method**: the operation's method.
//! - **Path**: the template with every `{}` replaced by a sample value. Parameters may sit inside a
//!   segment (`/Accounts/{}.json` → `/Accounts/x.json`), so the sample is a plain token that keeps
//!   any literal prefix/suffix intact. Two samples are tried, `x` and `1`, because route regexes often
//!   restrict identifiers to digits (`[0-9]+`); when they reach different routes the report says so.
//! - **Host**: each of the API's host patterns, a wildcard `*.example.com` becoming
//!   `acepack-sample.example.com` (a name no real config spells out, so exact-domain virtual hosts do
//!   not capture it). An API without hosts accepts any Host, so its request carries an *arbitrary*
//!   host: it reaches Envoy's `*` virtual host or Kong's routes without `hosts`. If that finds no
//!   route, each host the config names is tried in turn (the request must arrive with one of them)
//!   and the result is marked "assumed".
//! - Hosts carry no port (clients on default ports send none), so Envoy domains and Kong hosts that
//!   name a port are only reached by requests that carry it.
//!
//! Conditions that cannot be decided from the operation alone (header matchers other than
//! `:method`, query-parameter matchers, runtime fractions, Kong `headers`/`snis`/expressions) make a
//! route a **maybe**: evaluation continues past it, the route counts as covered, and the operation's
//! route string says that it may be taken first (`[may be taken first by ...]`).
//!
//! A route is **covered** when at least one representative request of some operation reaches it
//! (certainly or maybe); the others are [`Mapping::uncovered_routes`].
//!
//! # Route identifiers
//!
//! A route's `name` when it has one (unique in the file), otherwise its position plus its match so
//! users recognise it: `listener_0/local_service/routes[2] (prefix /billing)`,
//! `flights-service/routes[0] (GET paths ~/flights$)`. [`Mapping::uncovered_routes`] holds these.
//!
//! # What `RouteMatch::route` says
//!
//! The identifier of the route reached by the first representative request that reaches one, then,
//! in brackets, what the report should not hide: `[may be taken first by ...]` (maybe routes before
//! it), `[via host a.com (assumed)]`, and the requests that end elsewhere, e.g.
//! `[host *.example.com: other-route]` or `[parameters "1": numeric-route]` or `[... : unmatched]`.
//! `route: None` only when no request reaches any route. `target` is the reported route's target.

use std::collections::BTreeSet;
use std::path::Path;

use crate::diag::Diagnostic;
use crate::error::LoadError;
use crate::model::{Api, Mapping, Operation, RouteMatch};
use crate::source;

mod doc;
pub mod envoy;
pub mod kong;

/// Which kind of gateway file the catalog names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayKind {
    /// `gateway.envoy`.
    Envoy,
    /// `gateway.kong`.
    Kong,
}

/// Sample values substituted for path parameters, in order of preference.
pub const PARAM_SAMPLES: [&str; 2] = ["x", "1"];

/// The label that replaces the `*` of a wildcard host pattern in a representative request.
pub const WILDCARD_HOST_SAMPLE: &str = "acepack-sample";

/// Maps every operation to the first route that would serve a request for it.
///
/// `path` is read with [`source::load`]; `display` names it in the mapping and in diagnostics.
/// Structural problems in the gateway file are [`LoadError::Invalid`]; an unreadable file is
/// [`LoadError::Io`]. Operations that reach no route are not errors: their `route` is `None`.
pub fn map_routes(
    kind: GatewayKind,
    path: &Path,
    display: &str,
    apis: &[Api],
    operations: &[Operation],
) -> Result<Mapping, LoadError> {
    // A file that was read but does not parse is invalid input (exit 1), not an I/O problem.
    let doc = source::load(path, display)?;
    let router: Box<dyn Router> = match kind {
        GatewayKind::Envoy => Box::new(envoy::RouteTable::parse(&doc, display).map_err(LoadError::Invalid)?),
        GatewayKind::Kong => Box::new(kong::KongConfig::parse(&doc, display).map_err(LoadError::Invalid)?),
    };
    Ok(map_with(router.as_ref(), display, apis, operations))
}

/// A request synthesized for an operation, as the gateway's router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method.
    pub method: String,
    /// The Host / `:authority`, lower-case, possibly with `:port`. `None`: an arbitrary host that no
    /// configuration names (the API accepts any host).
    pub host: Option<String>,
    /// A concrete path, without query.
    pub path: String,
}

impl Request {
    /// A request for `method` `path` on `host` (`None`: an arbitrary host).
    pub fn new(method: &str, host: Option<&str>, path: &str) -> Self {
        Request {
            method: method.to_string(),
            host: host.map(str::to_ascii_lowercase),
            path: path.to_string(),
        }
    }
}

/// One route of a gateway file, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The route identifier (see the module docs).
    pub label: String,
    /// The Envoy cluster(s) / Kong service behind it, or what it does instead
    /// (`direct_response 200`, `redirect`). `None`: a Kong route without a service.
    pub target: Option<String>,
    /// What the route does with a request.
    pub action: Action,
}

/// What a route does with the requests it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Forwards upstream (Envoy cluster(s), Kong service).
    Forward,
    /// Answers itself (Envoy `direct_response`, a Kong route without a service, ...).
    Respond,
    /// Redirects the client elsewhere.
    Redirect,
}

/// Which routes a request reaches. Indices point into [`Router::routes`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The first route that certainly matches.
    pub route: Option<usize>,
    /// Routes evaluated before `route` whose match depends on something not known statically
    /// (headers, query parameters, ...): they may take the request first.
    pub maybe: Vec<usize>,
    /// Routes reached in other entry points (other Envoy listeners) than the one reported;
    /// they count as covered.
    pub also: Vec<usize>,
}

/// A parsed gateway configuration that can tell which route serves a request.
pub trait Router {
    /// Every HTTP route of the file, in file order.
    fn routes(&self) -> &[RouteInfo];
    /// The routes `request` reaches.
    fn select(&self, request: &Request) -> Selection;
    /// Concrete sample hosts for the host-specific parts of the config (Envoy virtual hosts, Kong
    /// route hosts), in evaluation order: tried for APIs without hosts when an arbitrary host
    /// reaches no route.
    fn fallback_hosts(&self) -> Vec<String>;
}

/// A concrete host for a host pattern: a leading `*` becomes [`WILDCARD_HOST_SAMPLE`] (keeping the
/// rest, e.g. `*.x.com` → `acepack-sample.x.com`), a trailing `*` likewise (`x.*` → `x.acepack-sample`).
/// `None` for the catch-all `*`.
pub fn sample_host(pattern: &str) -> Option<String> {
    let pattern = pattern.to_ascii_lowercase();
    if pattern == "*" || pattern.is_empty() {
        None
    } else if let Some(rest) = pattern.strip_prefix('*') {
        Some(format!("{WILDCARD_HOST_SAMPLE}{rest}"))
    } else if let Some(rest) = pattern.strip_suffix('*') {
        Some(format!("{rest}{WILDCARD_HOST_SAMPLE}"))
    } else {
        Some(pattern)
    }
}

/// The concrete paths tried for a normalized template: one per entry of [`PARAM_SAMPLES`] when the
/// template has parameters, else the template itself. Each comes with the sample used.
pub fn sample_paths(template: &str) -> Vec<(Option<&'static str>, String)> {
    if !template.contains("{}") {
        return vec![(None, template.to_string())];
    }
    PARAM_SAMPLES
        .iter()
        .map(|s| (Some(*s), template.replace("{}", s)))
        .collect()
}

/// One representative request and how to describe it when its outcome differs from the reported one.
struct Variant {
    /// `any host`, `host api.example.com`, `host a.com (assumed)`.
    host: String,
    /// Tried only because an arbitrary host reached nothing.
    assumed: bool,
    /// The parameter sample, when the path has parameters.
    param: Option<&'static str>,
    request: Request,
}

fn variants(hosts: &[(Option<String>, String)], assumed: bool, method: &str, template: &str) -> Vec<Variant> {
    let paths = sample_paths(template);
    let mut out = Vec::new();
    for (host, host_label) in hosts {
        for (param, path) in &paths {
            out.push(Variant {
                host: host_label.clone(),
                assumed,
                param: *param,
                request: Request::new(method, host.as_deref(), path),
            });
        }
    }
    out
}

/// Maps `operations` with an already parsed router. [`map_routes`] is this plus reading the file.
pub fn map_with(router: &dyn Router, display: &str, apis: &[Api], operations: &[Operation]) -> Mapping {
    let routes = router.routes();
    let mut covered = BTreeSet::new();
    let mut fallback: Option<Vec<(Option<String>, String)>> = None;
    let mut matches = Vec::with_capacity(operations.len());
    for (index, op) in operations.iter().enumerate() {
        let api_hosts: &[String] = apis.get(op.api).map(|a| a.hosts.as_slice()).unwrap_or(&[]);
        let any_host = api_hosts.is_empty() || api_hosts.iter().any(|h| h == "*");
        let hosts: Vec<(Option<String>, String)> = if any_host {
            vec![(None, "any host".to_string())]
        } else {
            api_hosts
                .iter()
                .map(|h| (sample_host(h), format!("host {h}")))
                .collect()
        };
        let mut outcomes: Vec<(Variant, Selection)> = variants(&hosts, false, &op.method, &op.path)
            .into_iter()
            .map(|v| {
                let sel = router.select(&v.request);
                (v, sel)
            })
            .collect();
        if any_host && outcomes.iter().all(|(_, s)| s.route.is_none()) {
            // Nothing serves an arbitrary host: the API's traffic must use a host the config names.
            let fallback = fallback.get_or_insert_with(|| {
                router
                    .fallback_hosts()
                    .into_iter()
                    .map(|h| (Some(h.clone()), format!("host {h} (assumed)")))
                    .collect()
            });
            for v in variants(fallback, true, &op.method, &op.path) {
                let sel = router.select(&v.request);
                outcomes.push((v, sel));
            }
        }
        for (_, sel) in &outcomes {
            covered.extend(sel.route.iter().chain(&sel.maybe).chain(&sel.also).copied());
        }
        matches.push(describe(index, routes, &outcomes));
    }
    let uncovered_routes = routes
        .iter()
        .enumerate()
        .filter(|(i, _)| !covered.contains(i))
        .map(|(_, r)| r.label.clone())
        .collect();
    Mapping {
        file: display.to_string(),
        operations: matches,
        uncovered_routes,
    }
}

/// At most this many "other outcome" notes are spelled out per operation.
const MAX_NOTES: usize = 4;

fn label(routes: &[RouteInfo], index: usize) -> String {
    routes
        .get(index)
        .map(|r| r.label.clone())
        .unwrap_or_else(|| format!("route #{index}"))
}

fn summary(routes: &[RouteInfo], sel: &Selection) -> String {
    match (sel.route, sel.maybe.first()) {
        (Some(r), _) => label(routes, r),
        (None, Some(m)) => format!("only if conditions match: {}", label(routes, *m)),
        (None, None) => "unmatched".to_string(),
    }
}

/// What distinguishes two outcomes in a report.
fn outcome_key(s: &Selection) -> (Option<usize>, &[usize]) {
    (s.route, &s.maybe)
}

/// The RouteMatch of one operation: the first variant that reaches a route is reported; variants
/// that end elsewhere are appended as `[host b.com: other-route; parameters "1": unmatched]`.
fn describe(operation: usize, routes: &[RouteInfo], outcomes: &[(Variant, Selection)]) -> RouteMatch {
    let unmatched = RouteMatch {
        operation,
        route: None,
        target: None,
    };
    let primary = outcomes
        .iter()
        .position(|(_, s)| s.route.is_some())
        .or_else(|| outcomes.iter().position(|(_, s)| !s.maybe.is_empty()));
    let Some((primary_variant, sel)) = primary.and_then(|p| outcomes.get(p)) else {
        return unmatched;
    };
    let (chosen, mut text) = match (sel.route, sel.maybe.first()) {
        (Some(r), _) => (r, label(routes, r)),
        (None, Some(m)) => (
            *m,
            format!("{} [only if its header/query conditions match]", label(routes, *m)),
        ),
        (None, None) => return unmatched,
    };
    if sel.route.is_some() && !sel.maybe.is_empty() {
        let maybes: Vec<String> = sel.maybe.iter().map(|m| label(routes, *m)).collect();
        text.push_str(&format!(
            " [may be taken first by {} (header/query conditions not known statically)]",
            maybes.join("; ")
        ));
    }
    let several_hosts = outcomes
        .iter()
        .map(|(v, _)| v.host.as_str())
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    let mut notes: Vec<String> = Vec::new();
    if primary_variant.assumed {
        notes.push(format!("via {}", primary_variant.host));
    }
    for (variant, other) in outcomes {
        if outcome_key(other) == outcome_key(sel) {
            continue;
        }
        // Assumed hosts that reach nothing are noise: they only show what the config does not serve.
        if variant.assumed && other.route.is_none() && other.maybe.is_empty() {
            continue;
        }
        // Name the parameter sample only when it, not the host, makes the difference.
        let host_agrees = outcomes
            .iter()
            .filter(|(w, _)| w.host == variant.host)
            .all(|(_, s)| outcome_key(s) == outcome_key(other));
        let mut parts = Vec::new();
        if several_hosts || variant.assumed {
            parts.push(variant.host.clone());
        }
        if let Some(param) = variant.param.filter(|_| !host_agrees || parts.is_empty()) {
            parts.push(format!("parameters {param:?}"));
        }
        let note = format!("{}: {}", parts.join(", "), summary(routes, other));
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
    if !notes.is_empty() {
        let extra = notes.len().saturating_sub(MAX_NOTES);
        notes.truncate(MAX_NOTES);
        if extra > 0 {
            notes.push(format!("{extra} more"));
        }
        text.push_str(&format!(" [{}]", notes.join("; ")));
    }
    let target = routes.get(chosen).and_then(|r| r.target.clone());
    RouteMatch {
        operation,
        route: Some(text),
        target,
    }
}

/// Diagnostics for a document that is neither kind of gateway file, with a hint when it is the other kind.
fn wrong_kind(display: &str, doc: &serde_json::Value, expected: GatewayKind) -> Vec<Diagnostic> {
    let obj = doc.as_object();
    let looks_kong = obj.is_some_and(|o| o.contains_key("_format_version") || o.contains_key("services"));
    let looks_envoy = obj.is_some_and(|o| {
        ["static_resources", "virtual_hosts", "filter_chains", "resources"]
            .iter()
            .any(|k| o.contains_key(*k))
    });
    let d = match expected {
        GatewayKind::Envoy => Diagnostic::error(
            display,
            "",
            "not an Envoy bootstrap, Listener or RouteConfiguration (expected `static_resources`, `filter_chains` or `virtual_hosts`)",
        ),
        GatewayKind::Kong => Diagnostic::error(
            display,
            "",
            "not a Kong declarative (decK) file (expected `_format_version` and `services` or `routes`)",
        ),
    };
    let d = match (expected, looks_kong, looks_envoy) {
        (GatewayKind::Envoy, true, _) => d.with_hint("this looks like a Kong decK file: use `gateway: { kong: ... }`"),
        (GatewayKind::Kong, _, true) => d.with_hint("this looks like an Envoy config: use `gateway: { envoy: ... }`"),
        _ => d,
    };
    vec![d]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_literal_parts_of_segments() {
        let paths = sample_paths("/v1/Accounts/{}.json");
        assert_eq!(paths[0], (Some("x"), "/v1/Accounts/x.json".to_string()));
        assert_eq!(paths[1], (Some("1"), "/v1/Accounts/1.json".to_string()));
        assert_eq!(sample_paths("/a"), vec![(None, "/a".to_string())]);
    }

    #[test]
    fn wildcard_hosts_get_a_sample_label() {
        assert_eq!(
            sample_host("*.Example.com").as_deref(),
            Some("acepack-sample.example.com")
        );
        assert_eq!(sample_host("api.*").as_deref(), Some("api.acepack-sample"));
        assert_eq!(sample_host("*-canary").as_deref(), Some("acepack-sample-canary"));
        assert_eq!(sample_host("api.x.com").as_deref(), Some("api.x.com"));
        assert_eq!(sample_host("*"), None);
    }
}
