//! A model of Kong's router for declarative (decK) files, enough to tell which route serves a request.
//!
//! Accepted: `_format_version` 1.x (Kong 2.x) and 3.x files with `services[].routes[]` and top-level
//! `routes[]` referring to a service by name or id (`service: { name: ... }`).
//!
//! Evaluation order follows Kong 3.x's `traditional_compatible` router (the default), which
//! gives every route a priority (`kong/router/transform.lua`, `get_priority`) and tries routes from
//! the highest priority down. From most to least significant:
//! 1. the number of fields the route matches on (methods, hosts, headers, snis, paths);
//! 2. hosts given and none of them a wildcard;
//! 3. the number of headers;
//! 4. a regex path (regex paths beat prefix paths);
//! 5. `regex_priority` (regex paths only);
//! 6. the prefix length (prefix paths only).
//!
//! A route with several paths is evaluated once per path (Kong 3.x splits such routes by path).
//! Equal priorities: the ATC router keeps matchers in a `BTreeMap` keyed by (priority, route
//! UUID) and walks it backwards, so the route with the greater `id` wins; routes without `id` (Kong
//! would assign a random one) come after, in file order.
//!
//! Paths: a path starting with `~` is a regex, anchored at the start only (Kong prepends `^`), matched
//! against the path; any other path is a plain string prefix (`/foo` also matches `/foobar`). In
//! 1.x files, as in Kong 2.x, a path with characters outside `[A-Za-z0-9._~/%-]` is a regex too.
//! Hosts: exact, `*.example.com` (suffix) or `example.*` (prefix), case-insensitive, optional
//! `:port`. `methods` must contain the request's method. `headers`, `snis`, `sources`,
//! `destinations` and `expression` cannot be decided statically: such routes are "maybe" routes.
//! `protocols` is ignored for HTTP routes (a request may use either scheme); routes whose protocols
//! are all stream protocols (tcp, tls, udp, tls_passthrough) are not HTTP routes and are skipped.
//! `strip_path`, plugins and upstreams do not affect routing.

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;

use super::doc::{Diags, Node};
use super::{sample_host, wrong_kind, GatewayKind, Request, RouteInfo, Router, Selection};
use crate::diag::Diagnostic;

use parse::{labels, Parser};

const STREAM_PROTOCOLS: [&str; 4] = ["tcp", "tls", "udp", "tls_passthrough"];

/// The HTTP routes of a Kong declarative file, in Kong's evaluation order.
#[derive(Debug)]
pub struct KongConfig {
    /// `_format_version` as written.
    pub format_version: String,
    routes: Vec<RouteInfo>,
    parsed: Vec<KongRoute>,
    order: Vec<Candidate>,
}

#[derive(Debug)]
struct KongRoute {
    methods: Vec<String>,
    hosts: Vec<HostPattern>,
    paths: Vec<PathPattern>,
    /// Matches on something a synthesized request does not have (headers, SNI, addresses, expression).
    conditional: bool,
}

#[derive(Debug)]
enum PathPattern {
    Prefix(String),
    Regex(Regex),
}

#[derive(Debug)]
struct HostPattern {
    raw: String,
    kind: HostKind,
    port: Option<u16>,
}

#[derive(Debug)]
enum HostKind {
    Exact(String),
    /// `*.example.com`: the host ends with `.example.com`.
    Suffix(String),
    /// `example.*`: the host starts with `example.`.
    Prefix(String),
}

/// One (route, path) pair in evaluation order.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    route: usize,
    path: Option<usize>,
    key: Priority,
    id: Option<String>,
}

/// Kong's priority, field by field (compared lexicographically, higher first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Priority {
    match_weight: u8,
    plain_host_only: bool,
    header_count: usize,
    regex: bool,
    regex_priority: i64,
    prefix_length: usize,
}

fn split_port(host: &str) -> (&str, Option<u16>) {
    match host.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(port) => (h, Some(port)),
            Err(_) => (host, None),
        },
        None => (host, None),
    }
}

impl HostPattern {
    fn new(raw: &str) -> Self {
        let lower = raw.to_ascii_lowercase();
        let (host, port) = split_port(&lower);
        let kind = if let Some(rest) = host.strip_prefix('*') {
            HostKind::Suffix(rest.to_string())
        } else if let Some(rest) = host.strip_suffix('*') {
            HostKind::Prefix(rest.to_string())
        } else {
            HostKind::Exact(host.to_string())
        };
        HostPattern {
            raw: raw.to_string(),
            kind,
            port,
        }
    }

    fn matches(&self, request_host: &str) -> bool {
        let (host, port) = split_port(request_host);
        if self.port.is_some() && self.port != port {
            return false;
        }
        match &self.kind {
            HostKind::Exact(h) => host == h,
            HostKind::Suffix(s) => host.ends_with(s.as_str()),
            HostKind::Prefix(p) => host.starts_with(p.as_str()),
        }
    }
}

impl PathPattern {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Prefix(p) => path.starts_with(p.as_str()),
            PathPattern::Regex(re) => re.is_match(path),
        }
    }
}

impl Router for KongConfig {
    fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    fn select(&self, request: &Request) -> Selection {
        let mut selection = Selection::default();
        for c in &self.order {
            let Some(route) = self.parsed.get(c.route) else {
                continue;
            };
            if !route.methods.is_empty() && !route.methods.contains(&request.method) {
                continue;
            }
            if !route.hosts.is_empty() {
                let Some(host) = &request.host else { continue };
                if !route.hosts.iter().any(|h| h.matches(host)) {
                    continue;
                }
            }
            if let Some(p) = c.path.and_then(|p| route.paths.get(p)) {
                if !p.matches(&request.path) {
                    continue;
                }
            }
            if route.conditional {
                if !selection.maybe.contains(&c.route) {
                    selection.maybe.push(c.route);
                }
                continue;
            }
            selection.route = Some(c.route);
            break;
        }
        selection
    }

    fn fallback_hosts(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for c in &self.order {
            for h in self.parsed.get(c.route).map(|r| r.hosts.as_slice()).unwrap_or(&[]) {
                if let Some(sample) = sample_host(&h.raw) {
                    if seen.insert(sample.clone()) {
                        out.push(sample);
                    }
                }
            }
        }
        out
    }
}

impl KongConfig {
    /// Reads a decK file. Every structural problem is reported, each with its place.
    pub fn parse(doc: &Value, display: &str) -> Result<KongConfig, Vec<Diagnostic>> {
        let root = Node::root(doc);
        let looks_kong = root.has("_format_version") || root.has("services") || root.has("routes");
        if !doc.is_object() || !looks_kong {
            return Err(wrong_kind(display, doc, GatewayKind::Kong));
        }
        let mut p = Parser {
            diags: Diags::new(display),
            legacy: false,
            pending: Vec::new(),
        };
        let format_version = match root.get("_format_version").and_then(|v| v.scalar_string()) {
            Some(v) => v,
            None => {
                p.diags.error_hint(
                    "",
                    "missing `_format_version`",
                    "decK files start with `_format_version: \"3.0\"`",
                );
                return Err(p.diags.list);
            }
        };
        match format_version.split('.').next() {
            Some("1") | Some("2") => p.legacy = true,
            Some("3") => {}
            _ => {
                p.diags.error(
                    "_format_version",
                    format!("unsupported _format_version {format_version:?} (expected 1.x or 3.x)"),
                );
                return Err(p.diags.list);
            }
        }
        // Services first: top-level routes refer to them by name or id.
        let mut services: Vec<(Option<String>, Option<String>, String)> = Vec::new();
        let service_nodes = root.get("services").map(|s| s.items()).unwrap_or_default();
        for (si, service) in service_nodes.iter().enumerate() {
            let name = p.diags.opt_string(service, "name");
            let id = p.diags.opt_string(service, "id");
            let label = name
                .clone()
                .or_else(|| id.clone())
                .unwrap_or_else(|| format!("services[{si}]"));
            services.push((name, id, label));
        }
        for (service, (_, _, label)) in service_nodes.iter().zip(&services) {
            if let Some(routes) = service.get("routes") {
                for (ri, route) in routes.items().into_iter().enumerate() {
                    p.route(&route, format!("{label}/routes[{ri}]"), Some(label.clone()));
                }
            }
        }
        if let Some(routes) = root.get("routes") {
            for (ri, route) in routes.items().into_iter().enumerate() {
                let service = route.get("service").and_then(|s| p.service_ref(&s, &services));
                p.route(&route, format!("routes[{ri}]"), service);
            }
        }
        if p.diags.list.is_empty() && p.pending.is_empty() {
            p.diags.error(
                "",
                "no HTTP routes: neither `services[].routes` nor `routes` define any",
            );
        }
        let Parser { diags, pending, .. } = p;
        let routes = labels(&pending);
        let mut order = Vec::new();
        let mut parsed = Vec::with_capacity(pending.len());
        for (i, r) in pending.into_iter().enumerate() {
            order.extend(r.candidates.into_iter().map(|(path, key)| Candidate {
                route: i,
                path,
                key,
                id: r.id.clone(),
            }));
            parsed.push(r.route);
        }
        // Stable sort: equal (priority, id) keep file order.
        order.sort_by(|a, b| b.key.cmp(&a.key).then_with(|| b.id.cmp(&a.id)));
        diags.finish(KongConfig {
            format_version,
            routes,
            parsed,
            order,
        })
    }

    /// Route labels in the order Kong evaluates them (a route appears once per path).
    pub fn evaluation_order(&self) -> Vec<&str> {
        self.order
            .iter()
            .filter_map(|c| self.routes.get(c.route).map(|r| r.label.as_str()))
            .collect()
    }
}

mod parse;

#[cfg(test)]
mod tests;
