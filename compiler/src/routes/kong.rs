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

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde_json::Value;

use super::doc::{compile_regex, Diags, Node};
use super::{sample_host, wrong_kind, Action, GatewayKind, Request, RouteInfo, Router, Selection};
use crate::diag::{did_you_mean, Diagnostic};

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

struct PendingRoute {
    name: Option<String>,
    id: Option<String>,
    positional: String,
    place: String,
    summary: String,
    service: Option<String>,
    route: KongRoute,
    candidates: Vec<(Option<usize>, Priority)>,
}

struct Parser {
    diags: Diags,
    legacy: bool,
    pending: Vec<PendingRoute>,
}

impl Parser {
    /// Resolves `service: name`, `service: {name}` or `service: {id}` to the service's label.
    fn service_ref(
        &mut self,
        node: &Node<'_>,
        services: &[(Option<String>, Option<String>, String)],
    ) -> Option<String> {
        let (wanted, by) = match node.value {
            Value::String(s) => (s.clone(), "name or id"),
            Value::Object(_) => match (
                node.get("name").and_then(|n| n.scalar_string()),
                node.get("id").and_then(|n| n.scalar_string()),
            ) {
                (Some(n), _) => (n, "name"),
                (None, Some(id)) => (id, "id"),
                (None, None) => {
                    self.diags.error(&node.place, "service reference needs `name` or `id`");
                    return None;
                }
            },
            _ => {
                self.diags.error(
                    &node.place,
                    "service reference must be `{ name: ... }` or `{ id: ... }`",
                );
                return None;
            }
        };
        let found = services
            .iter()
            .find(|(name, id, _)| name.as_deref() == Some(&wanted) || id.as_deref() == Some(&wanted));
        match found {
            Some((_, _, label)) => Some(label.clone()),
            None => {
                let message = format!("route refers to service {wanted:?} (by {by}), which the file does not define");
                let names = services.iter().filter_map(|(n, _, _)| n.as_deref());
                match did_you_mean(&wanted, names) {
                    Some(hint) => self.diags.error_hint(&node.place, message, hint),
                    None => self.diags.error(&node.place, message),
                }
                None
            }
        }
    }

    fn route(&mut self, node: &Node<'_>, positional: String, service: Option<String>) {
        let name = self.diags.opt_string(node, "name");
        let id = self.diags.opt_string(node, "id").map(|s| s.to_ascii_lowercase());
        let protocols = self.diags.strings(node, "protocols");
        if !protocols.is_empty() && protocols.iter().all(|p| STREAM_PROTOCOLS.contains(&p.as_str())) {
            return;
        }
        let methods: Vec<String> = self
            .diags
            .strings(node, "methods")
            .iter()
            .map(|m| m.to_ascii_uppercase())
            .collect();
        let host_strings = self.diags.strings(node, "hosts");
        let hosts: Vec<HostPattern> = host_strings.iter().map(|h| HostPattern::new(h)).collect();
        let mut paths = Vec::new();
        let mut path_strings = Vec::new();
        if let Some(list) = node.get("paths") {
            for item in list.items() {
                let Some(raw) = item.as_str() else {
                    self.diags.error(&item.place, "`paths` entries must be strings");
                    continue;
                };
                path_strings.push(raw.to_string());
                if let Some(p) = self.path(raw, &item.place) {
                    paths.push(p);
                }
            }
        }
        let header_count = match node.get("headers") {
            Some(h) => match h.value {
                Value::Object(map) => map.len(),
                _ => {
                    self.diags
                        .error(&h.place, "`headers` must map header names to lists of values");
                    0
                }
            },
            None => 0,
        };
        let non_empty = |key: &str| node.get(key).is_some_and(|v| !v.items().is_empty());
        let snis = non_empty("snis");
        let conditional =
            header_count > 0 || snis || non_empty("sources") || non_empty("destinations") || node.has("expression");
        let regex_priority = match node.get("regex_priority") {
            Some(v) => match v.value.as_i64() {
                Some(n) => n,
                None => {
                    self.diags.error(&v.place, "`regex_priority` must be an integer");
                    0
                }
            },
            None => 0,
        };
        if paths.len() != path_strings.len() {
            // A path failed to compile; its diagnostic is recorded, the route is not modelled.
            return;
        }
        let match_weight = [
            !methods.is_empty(),
            !hosts.is_empty(),
            header_count > 0,
            snis,
            !paths.is_empty(),
        ]
        .iter()
        .filter(|b| **b)
        .count() as u8;
        let base = Priority {
            match_weight,
            plain_host_only: !hosts.is_empty() && !host_strings.iter().any(|h| h.contains('*')),
            // Kong caps the header count at 255 when sorting.
            header_count: header_count.min(255),
            regex: false,
            regex_priority: 0,
            prefix_length: 0,
        };
        let candidates: Vec<(Option<usize>, Priority)> = if paths.is_empty() {
            vec![(None, base)]
        } else {
            paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let key = match p {
                        PathPattern::Regex(_) => Priority {
                            regex: true,
                            regex_priority,
                            ..base
                        },
                        // Kong keeps 19 bits of the length.
                        PathPattern::Prefix(s) => Priority {
                            prefix_length: s.len() & 0x7FFFF,
                            ..base
                        },
                    };
                    (Some(i), key)
                })
                .collect()
        };
        let mut summary = Vec::new();
        if !methods.is_empty() {
            summary.push(methods.join(","));
        }
        if !host_strings.is_empty() {
            summary.push(format!("hosts {}", host_strings.join(", ")));
        }
        if !path_strings.is_empty() {
            summary.push(format!("paths {}", path_strings.join(", ")));
        }
        if conditional {
            summary.push("conditional".to_string());
        }
        self.pending.push(PendingRoute {
            name,
            id,
            positional,
            place: node.place.clone(),
            summary: summary.join(" "),
            service,
            route: KongRoute {
                methods,
                hosts,
                paths,
                conditional,
            },
            candidates,
        });
    }

    fn path(&mut self, raw: &str, place: &str) -> Option<PathPattern> {
        if let Some(re) = raw.strip_prefix('~') {
            // Kong anchors regex paths at the start only.
            return compile_regex(&format!("^{re}"), raw, place, &mut self.diags).map(PathPattern::Regex);
        }
        if self.legacy {
            let plain = raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"._~/%-".contains(&b));
            if !plain {
                return compile_regex(&format!("^{raw}"), raw, place, &mut self.diags).map(PathPattern::Regex);
            }
        } else if !raw.starts_with('/') {
            self.diags.error_hint(
                place,
                format!("path {raw:?} must start with `/` (prefix) or `~` (regex)"),
                "Kong 3.x requires regex paths to start with `~`",
            );
            return None;
        }
        Some(PathPattern::Prefix(raw.to_string()))
    }
}

/// Route identifiers: the name when unique, else position and match; the place if that collides too.
fn labels(pending: &[PendingRoute]) -> Vec<RouteInfo> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for p in pending {
        if let Some(n) = &p.name {
            *names.entry(n.as_str()).or_default() += 1;
        }
    }
    let describe = |base: &str, summary: &str| {
        if summary.is_empty() {
            base.to_string()
        } else {
            format!("{base} ({summary})")
        }
    };
    let mut labels: Vec<String> = pending
        .iter()
        .map(|p| match &p.name {
            Some(n) if names.get(n.as_str()) == Some(&1) => n.clone(),
            _ => describe(&p.positional, &p.summary),
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for l in &labels {
        *counts.entry(l.clone()).or_default() += 1;
    }
    for (label, p) in labels.iter_mut().zip(pending) {
        if counts.get(label.as_str()).copied().unwrap_or(0) > 1 {
            *label = describe(&p.place, &p.summary);
        }
    }
    labels
        .into_iter()
        .zip(pending)
        .map(|(label, p)| RouteInfo {
            label,
            target: p.service.clone(),
            // Kong answers a request on a route without a service itself (503, or a plugin's response).
            action: if p.service.is_some() {
                Action::Forward
            } else {
                Action::Respond
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> KongConfig {
        let doc = crate::source::parse(yaml.as_bytes(), "k.yaml").unwrap();
        KongConfig::parse(&doc, "k.yaml").unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn errors(yaml: &str) -> Vec<Diagnostic> {
        let doc = crate::source::parse(yaml.as_bytes(), "k.yaml").unwrap();
        KongConfig::parse(&doc, "k.yaml").expect_err("expected errors")
    }

    fn routed(c: &KongConfig, method: &str, host: Option<&str>, path: &str) -> Option<String> {
        c.select(&Request::new(method, host, path))
            .route
            .map(|r| c.routes()[r].label.clone())
    }

    #[test]
    fn regex_beats_prefix_and_regex_priority_orders_regexes() {
        let c = config(
            r#"
_format_version: "3.0"
services:
- name: s
  routes:
  - {name: root, paths: [/]}
  - {name: long-prefix, paths: [/users/me]}
  - {name: any-user, paths: ["~/users/[^/]+$"]}
  - {name: numeric-user, paths: ["~/users/[0-9]+$"], regex_priority: 10}
"#,
        );
        assert_eq!(
            c.evaluation_order(),
            vec!["numeric-user", "any-user", "long-prefix", "root"]
        );
        assert_eq!(routed(&c, "GET", None, "/users/42").as_deref(), Some("numeric-user"));
        // Regex paths beat prefix paths, even a longer literal one.
        assert_eq!(routed(&c, "GET", None, "/users/me").as_deref(), Some("any-user"));
        assert_eq!(routed(&c, "GET", None, "/users/me/x").as_deref(), Some("long-prefix"));
        assert_eq!(routed(&c, "GET", None, "/other").as_deref(), Some("root"));
    }

    #[test]
    fn more_match_fields_win_and_hosts_and_methods_filter() {
        let c = config(
            r#"
_format_version: "3.0"
services:
- name: a
  routes:
  - {name: path-only, paths: ["~/a$"], regex_priority: 100}
  - {name: get, methods: [GET], paths: [/a]}
  - {name: wildcard-host, hosts: ["*.example.com"], methods: [GET], paths: [/a]}
  - {name: plain-host, hosts: ["api.example.com"], methods: [GET], paths: [/a]}
"#,
        );
        assert_eq!(
            c.evaluation_order(),
            vec!["plain-host", "wildcard-host", "get", "path-only"]
        );
        assert_eq!(
            routed(&c, "GET", Some("api.example.com"), "/a").as_deref(),
            Some("plain-host")
        );
        assert_eq!(
            routed(&c, "GET", Some("www.example.com"), "/a").as_deref(),
            Some("wildcard-host")
        );
        assert_eq!(routed(&c, "GET", None, "/a").as_deref(), Some("get"));
        assert_eq!(routed(&c, "POST", None, "/a").as_deref(), Some("path-only"));
        assert_eq!(
            routed(&c, "POST", None, "/ab"),
            None,
            "regexes are anchored at the start, `$` anchors the end"
        );
        assert_eq!(
            routed(&c, "GET", None, "/ab").as_deref(),
            Some("get"),
            "prefixes are string prefixes"
        );
    }

    #[test]
    fn equal_priority_prefers_the_greater_id() {
        let c = config(
            r#"
_format_version: "3.0"
services:
- name: one
  routes: [{name: first, id: 1a619e4f-651d-550d-ae30-79f4bf45a080, paths: ["~/health$"]}]
- name: two
  routes: [{name: second, id: a5023323-0468-5a77-baf2-13578fec61b0, paths: ["~/health$"]}]
"#,
        );
        assert_eq!(c.evaluation_order(), vec!["second", "first"]);
    }

    #[test]
    fn header_routes_are_maybe_and_top_level_routes_resolve_services() {
        let c = config(
            r#"
_format_version: "3.0"
services:
- {name: api, url: "http://api:80"}
- {name: beta, id: 0cef4d36-9c39-5ac2-9d9f-190d8ea8a252, url: "http://beta:80"}
routes:
- {paths: [/v1], headers: {x-beta: ["1"]}, service: {id: 0cef4d36-9c39-5ac2-9d9f-190d8ea8a252}}
- {paths: [/v1], service: {name: api}}
"#,
        );
        let s = c.select(&Request::new("GET", None, "/v1/x"));
        assert_eq!(c.routes()[s.route.unwrap()].label, "routes[1] (paths /v1)");
        assert_eq!(c.routes()[s.route.unwrap()].target.as_deref(), Some("api"));
        assert_eq!(s.maybe.len(), 1);
        assert_eq!(c.routes()[s.maybe[0]].target.as_deref(), Some("beta"));
    }

    #[test]
    fn legacy_format_detects_regexes_without_tilde() {
        let c = config(
            r#"
_format_version: "1.1"
services:
- name: s
  routes:
  - {name: plain, paths: [/users]}
  - {name: regex, paths: ["/users/\\d+$"]}
"#,
        );
        assert_eq!(routed(&c, "GET", None, "/users/7").as_deref(), Some("regex"));
        assert_eq!(routed(&c, "GET", None, "/users/x").as_deref(), Some("plain"));
    }

    #[test]
    fn structural_errors() {
        let errs = errors(
            r#"
_format_version: "3.0"
services:
- name: flights
  routes:
  - {name: bad, paths: ["~/a/(unclosed"]}
  - {name: no-tilde, paths: ["users/[0-9]+"]}
routes:
- {name: orphan, paths: [/x], service: {name: flight}}
"#,
        );
        let places: Vec<&str> = errs.iter().map(|d| d.place.as_str()).collect();
        assert_eq!(
            places,
            vec![
                "services[0].routes[0].paths[0]",
                "services[0].routes[1].paths[0]",
                "routes[0].service"
            ]
        );
        assert_eq!(errs[2].hint.as_deref(), Some("did you mean \"flights\"?"));
        assert!(errors("static_resources: {}\n")[0]
            .hint
            .as_deref()
            .unwrap_or("")
            .contains("envoy"));
        assert!(errors("services: []\n")[0].message.contains("_format_version"));
        assert!(errors("_format_version: \"9.0\"\nservices: []\n")[0]
            .message
            .contains("unsupported"));
    }

    #[test]
    fn stream_routes_are_not_http_routes() {
        let c = config(
            r#"
_format_version: "3.0"
services:
- name: s
  routes:
  - {name: tcp, protocols: [tcp], destinations: [{port: 9000}]}
  - {name: http, paths: [/]}
"#,
        );
        assert_eq!(c.routes().len(), 1);
    }
}
