//! A model of Envoy's HTTP router (v3 API), enough to tell which route serves a request.
//!
//! Accepted documents: a bootstrap (`static_resources.listeners[].filter_chains[].filters[]` with an
//! HTTP connection manager and an inline `route_config`), a single `Listener`, a
//! `RouteConfiguration`, or a file-based xDS document (`resources: [...]` of Listeners /
//! RouteConfigurations), with or without `@type`. Routes delivered over RDS / scoped RDS cannot be
//! read from the file and are reported as errors naming the place.
//!
//! Semantics follow Envoy:
//! - Virtual host selection on the Host (lower-cased): exact domain, then the longest suffix
//!   wildcard (`*.foo.com`, `*-bar.foo.com`; the `*` matches at least one character), then the
//!   longest prefix wildcard (`foo.*`), then `*`. Domains are compared with their port, as Envoy
//!   does unless `ignore_port_in_host_matching` is set.
//! - Routes in order, first match wins. `prefix`, `path`, `path_separated_prefix` honour
//!   `case_sensitive`; `safe_regex` must match the whole path (RE2 full match); `path_match_policy`
//!   URI templates (`*`, `**`, `{var}`, `{var=**}`) are supported; `connect_matcher` never matches
//!   an operation.
//! - `headers` matchers on `:method` are evaluated (exact / prefix / suffix / contains /
//!   safe_regex / present, `string_match` with `ignore_case`, `invert_match`). Any other header,
//!   `query_parameters`, `runtime_fraction`, `grpc`, `tls_context`, metadata / filter-state / CEL
//!   matchers make the route a "maybe" (see [`crate::routes`]).
//! - With several route configurations (several listeners), the operation is reported on the
//!   first one where it reaches a forwarding route (cluster), else the first where it reaches any
//!   route; the routes it reaches elsewhere count as covered.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde_json::Value;

use super::doc::{compile_regex, Diags, Node};
use super::{sample_host, wrong_kind, Action, GatewayKind, Request, RouteInfo, Router, Selection};
use crate::diag::Diagnostic;

const HCM_NAMES: [&str; 2] = [
    "envoy.filters.network.http_connection_manager",
    "envoy.http_connection_manager",
];
const HCM_TYPE: &str = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/// Every HTTP route configuration found in an Envoy file.
#[derive(Debug)]
pub struct RouteTable {
    /// Route configurations in file order (one per HTTP connection manager, or the file itself).
    pub configs: Vec<RouteConfig>,
    routes: Vec<RouteInfo>,
}

/// One `RouteConfiguration`.
#[derive(Debug)]
pub struct RouteConfig {
    /// How route identifiers start: the listener's name (plus the filter chain when a listener has
    /// several HTTP connection managers), or the RouteConfiguration's name.
    pub label: String,
    /// Where it is in the file, e.g. `static_resources.listeners[0]...typed_config.route_config`.
    pub place: String,
    /// Virtual hosts in order.
    pub virtual_hosts: Vec<VirtualHost>,
    ignore_port: bool,
}

/// One virtual host.
#[derive(Debug)]
pub struct VirtualHost {
    /// `name`.
    pub name: String,
    /// `domains`, lower-cased.
    pub domains: Vec<String>,
    /// Routes in order.
    pub routes: Vec<Route>,
}

/// One route of a virtual host.
#[derive(Debug)]
pub struct Route {
    /// Index into [`Router::routes`] of the table.
    pub index: usize,
    /// Where it is in the file.
    pub place: String,
    path: PathMatch,
    conditions: Vec<Condition>,
}

#[derive(Debug)]
enum PathMatch {
    Prefix { value: String, case_sensitive: bool },
    Exact { value: String, case_sensitive: bool },
    SeparatedPrefix { value: String, case_sensitive: bool },
    Regex(Regex),
    Never,
}

#[derive(Debug)]
enum Condition {
    Method {
        matcher: StringMatch,
        invert: bool,
    },
    /// Depends on something a synthesized request does not have (header, query, runtime...).
    Unknown,
}

#[derive(Debug)]
enum StringMatch {
    Exact(String, bool),
    Prefix(String, bool),
    Suffix(String, bool),
    Contains(String, bool),
    Regex(Regex),
    Present(bool),
    Never,
}

/// Whether a route matches: statically yes / no, or only depending on unknown request properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The route cannot match.
    No,
    /// The route matches when conditions not known statically hold.
    Maybe,
    /// The route matches.
    Yes,
}

impl StringMatch {
    fn matches(&self, value: &str) -> bool {
        let fold = |s: &str, ignore_case: bool| {
            if ignore_case {
                s.to_ascii_lowercase()
            } else {
                s.to_string()
            }
        };
        match self {
            StringMatch::Exact(s, ic) => fold(value, *ic) == fold(s, *ic),
            StringMatch::Prefix(s, ic) => fold(value, *ic).starts_with(&fold(s, *ic)),
            StringMatch::Suffix(s, ic) => fold(value, *ic).ends_with(&fold(s, *ic)),
            StringMatch::Contains(s, ic) => fold(value, *ic).contains(&fold(s, *ic)),
            StringMatch::Regex(re) => re.is_match(value),
            // The method pseudo-header is always present.
            StringMatch::Present(present) => *present,
            StringMatch::Never => false,
        }
    }
}

fn starts_with(path: &str, prefix: &str, case_sensitive: bool) -> bool {
    if case_sensitive {
        path.starts_with(prefix)
    } else {
        path.len() >= prefix.len() && path.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    }
}

impl PathMatch {
    fn matches(&self, path: &str) -> bool {
        match self {
            PathMatch::Prefix { value, case_sensitive } => starts_with(path, value, *case_sensitive),
            PathMatch::Exact { value, case_sensitive } => {
                path.len() == value.len() && starts_with(path, value, *case_sensitive)
            }
            PathMatch::SeparatedPrefix { value, case_sensitive } => {
                starts_with(path, value, *case_sensitive)
                    && (path.len() == value.len() || path.as_bytes().get(value.len()) == Some(&b'/'))
            }
            PathMatch::Regex(re) => re.is_match(path),
            PathMatch::Never => false,
        }
    }
}

impl Route {
    /// Whether this route matches `request` (its virtual host already selected).
    pub fn decide(&self, request: &Request) -> Decision {
        if !self.path.matches(&request.path) {
            return Decision::No;
        }
        let mut decision = Decision::Yes;
        for condition in &self.conditions {
            match condition {
                Condition::Method { matcher, invert } => {
                    if matcher.matches(&request.method) == *invert {
                        return Decision::No;
                    }
                }
                Condition::Unknown => decision = Decision::Maybe,
            }
        }
        decision
    }
}

/// Splits `host:port` (not an IPv6 literal's colons).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    }
}

impl RouteConfig {
    /// The virtual host Envoy picks for `host` (`None`: an arbitrary host no domain names, which only
    /// `*` catches).
    pub fn select_virtual_host(&self, host: Option<&str>) -> Option<&VirtualHost> {
        let catch_all = || self.virtual_hosts.iter().find(|v| v.domains.iter().any(|d| d == "*"));
        let Some(host) = host else { return catch_all() };
        let host = host.to_ascii_lowercase();
        let host = if self.ignore_port { strip_port(&host) } else { &host };
        if let Some(v) = self.virtual_hosts.iter().find(|v| v.domains.iter().any(|d| d == host)) {
            return Some(v);
        }
        // Wildcards never match the empty string: `*.foo.com` does not match `.foo.com`.
        let mut best: Option<(usize, &VirtualHost)> = None;
        for v in &self.virtual_hosts {
            for d in &v.domains {
                if let Some(suffix) = d.strip_prefix('*').filter(|s| !s.is_empty()) {
                    if host.len() > suffix.len() && host.ends_with(suffix) && best.is_none_or(|(l, _)| suffix.len() > l)
                    {
                        best = Some((suffix.len(), v));
                    }
                }
            }
        }
        if let Some((_, v)) = best {
            return Some(v);
        }
        for v in &self.virtual_hosts {
            for d in &v.domains {
                if let Some(prefix) = d.strip_suffix('*').filter(|p| !p.is_empty() && !p.starts_with('*')) {
                    if host.len() > prefix.len()
                        && host.starts_with(prefix)
                        && best.is_none_or(|(l, _)| prefix.len() > l)
                    {
                        best = Some((prefix.len(), v));
                    }
                }
            }
        }
        best.map(|(_, v)| v).or_else(catch_all)
    }

    fn select(&self, request: &Request) -> Selection {
        let mut selection = Selection::default();
        let Some(vhost) = self.select_virtual_host(request.host.as_deref()) else {
            return selection;
        };
        for route in &vhost.routes {
            match route.decide(request) {
                Decision::No => {}
                Decision::Maybe => selection.maybe.push(route.index),
                Decision::Yes => {
                    selection.route = Some(route.index);
                    break;
                }
            }
        }
        selection
    }
}

impl Router for RouteTable {
    fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    fn select(&self, request: &Request) -> Selection {
        let per: Vec<Selection> = self.configs.iter().map(|c| c.select(request)).collect();
        // Prefer the listener where the operation is forwarded, then answered, then redirected
        // (an HTTP→HTTPS redirect listener says little about where the API is served).
        let rank = |s: &Selection| s.route.and_then(|r| self.routes.get(r)).map(|i| i.action);
        let chosen = per
            .iter()
            .enumerate()
            .filter_map(|(i, s)| rank(s).map(|a| (a, i)))
            .min()
            .map(|(_, i)| i)
            .or_else(|| per.iter().position(|s| !s.maybe.is_empty()));
        let Some((chosen, mut selection)) = chosen.and_then(|c| per.get(c).map(|s| (c, s.clone()))) else {
            return Selection::default();
        };
        for (i, other) in per.iter().enumerate() {
            if i != chosen {
                selection.also.extend(other.route.iter().chain(&other.maybe).copied());
            }
        }
        selection
    }

    fn fallback_hosts(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for config in &self.configs {
            for vhost in &config.virtual_hosts {
                if let Some(host) = vhost.domains.iter().find_map(|d| sample_host(d)) {
                    if seen.insert(host.clone()) {
                        out.push(host);
                    }
                }
            }
        }
        out
    }
}

/// A route while parsing: its identifier is decided once all routes are known (names must be unique).
struct Pending {
    name: Option<String>,
    positional: String,
    place: String,
    summary: String,
    target: String,
    action: Action,
}

struct Parser {
    diags: Diags,
    configs: Vec<RouteConfig>,
    pending: Vec<Pending>,
}

impl RouteTable {
    /// Reads an Envoy bootstrap, Listener, RouteConfiguration or xDS `resources` document.
    /// Every structural problem is reported, each with its place.
    pub fn parse(doc: &Value, display: &str) -> Result<RouteTable, Vec<Diagnostic>> {
        let root = Node::root(doc);
        if !doc.is_object() {
            return Err(wrong_kind(display, doc, GatewayKind::Envoy));
        }
        let mut p = Parser {
            diags: Diags::new(display),
            configs: Vec::new(),
            pending: Vec::new(),
        };
        let type_url = root.get("@type").and_then(|t| t.as_str()).unwrap_or("");
        if root.has("static_resources") || root.has("dynamic_resources") {
            p.bootstrap(&root);
        } else if type_url.ends_with(".RouteConfiguration") || root.has("virtual_hosts") {
            let label = root
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("route_config")
                .to_string();
            p.route_config(&root, label);
        } else if type_url.ends_with(".Listener") || root.has("filter_chains") || root.has("default_filter_chain") {
            let label = root
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("listener")
                .to_string();
            p.listener(&root, label);
        } else if let Some(resources) = root.get("resources") {
            p.resources(&resources);
        } else {
            return Err(wrong_kind(display, doc, GatewayKind::Envoy));
        }
        if p.diags.list.is_empty() && p.configs.is_empty() {
            p.diags.error_hint(
                "",
                "no HTTP route configuration found: no HTTP connection manager with an inline `route_config`",
                "acepack maps operations onto HTTP routes; TCP proxies and other network filters have none",
            );
        }
        let routes = p.labels();
        let Parser { diags, configs, .. } = p;
        diags.finish(RouteTable { configs, routes })
    }

    /// The number of virtual hosts over all route configurations.
    pub fn virtual_host_count(&self) -> usize {
        self.configs.iter().map(|c| c.virtual_hosts.len()).sum()
    }
}

impl Parser {
    fn bootstrap(&mut self, root: &Node<'_>) {
        let listeners = root.get("static_resources").and_then(|s| s.get("listeners"));
        let Some(listeners) = listeners else {
            if root.has("dynamic_resources") {
                self.diags.error_hint(
                    "dynamic_resources",
                    "listeners come from a control plane (LDS/ADS), not from this file",
                    "point `gateway.envoy` at the Listener or RouteConfiguration the control plane serves",
                );
            } else {
                self.diags.error("static_resources", "missing `listeners`");
            }
            return;
        };
        for (i, listener) in listeners.items().into_iter().enumerate() {
            let label = listener.get("name").and_then(|n| n.as_str()).map(str::to_string);
            let label = label.unwrap_or_else(|| {
                if listeners.value.is_array() {
                    format!("listeners[{i}]")
                } else {
                    "listeners".into()
                }
            });
            self.listener(&listener, label);
        }
    }

    fn resources(&mut self, resources: &Node<'_>) {
        for (i, res) in resources.items().into_iter().enumerate() {
            let type_url = res.get("@type").and_then(|t| t.as_str()).unwrap_or("");
            let label = res
                .get("name")
                .and_then(|n| n.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("resources[{i}]"));
            if type_url.ends_with(".Listener") {
                self.listener(&res, label);
            } else if type_url.ends_with(".RouteConfiguration") {
                self.route_config(&res, label);
            }
        }
    }

    fn listener(&mut self, listener: &Node<'_>, label: String) {
        let mut chains: Vec<(String, Node<'_>)> = Vec::new();
        if let Some(list) = listener.get("filter_chains") {
            for (j, chain) in list.items().into_iter().enumerate() {
                let name = chain.get("name").and_then(|n| n.as_str()).map(str::to_string);
                chains.push((name.unwrap_or_else(|| format!("filter_chains[{j}]")), chain));
            }
        }
        if let Some(chain) = listener.get("default_filter_chain") {
            chains.push(("default_filter_chain".to_string(), chain));
        }
        let mut hcms = Vec::new();
        for (chain_label, chain) in chains {
            let Some(filters) = chain.get("filters") else {
                continue;
            };
            for filter in filters.items() {
                if let Some(hcm) = self.hcm_config(&filter) {
                    hcms.push((chain_label.clone(), hcm));
                }
            }
        }
        let several = hcms.len() > 1;
        for (chain_label, hcm) in hcms {
            let label = if several {
                format!("{label}/{chain_label}")
            } else {
                label.clone()
            };
            if let Some(rc) = hcm.get("route_config") {
                self.route_config(&rc, label);
            } else if let Some(rds) = hcm.get("rds") {
                let name = rds.get("route_config_name").and_then(|n| n.as_str()).unwrap_or("?");
                self.diags.error_hint(
                    &rds.place,
                    format!("routes come from RDS (route_config_name {name:?}), not from this file"),
                    "point `gateway.envoy` at the RouteConfiguration the control plane serves (YAML or JSON)",
                );
            } else if let Some(scoped) = hcm.get("scoped_routes") {
                self.diags.error_hint(
                    &scoped.place,
                    "scoped routes (SRDS) are not supported",
                    "point `gateway.envoy` at a RouteConfiguration",
                );
            } else {
                self.diags
                    .error(&hcm.place, "HTTP connection manager has no `route_config`");
            }
        }
    }

    /// The HttpConnectionManager config of a network filter, if it is one.
    fn hcm_config<'a>(&mut self, filter: &Node<'a>) -> Option<Node<'a>> {
        let name = filter.get("name").and_then(|n| n.as_str()).unwrap_or("");
        let typed = filter.get("typed_config");
        let type_url = typed
            .as_ref()
            .and_then(|t| t.get("@type"))
            .and_then(|t| t.as_str())
            .unwrap_or("");
        if type_url.ends_with(HCM_TYPE) {
            return typed;
        }
        if type_url.ends_with("TypedStruct") {
            let inner = typed
                .as_ref()
                .and_then(|t| t.get("type_url"))
                .and_then(|t| t.as_str())
                .unwrap_or("");
            if inner.ends_with(HCM_TYPE) {
                return typed.and_then(|t| t.get("value"));
            }
            return None;
        }
        // Named as an HTTP connection manager but without `@type`: take the config as one.
        if HCM_NAMES.contains(&name) && type_url.is_empty() {
            if typed.is_none() {
                self.diags
                    .error(&filter.place, "HTTP connection manager without `typed_config`");
            }
            return typed;
        }
        None
    }

    fn route_config(&mut self, rc: &Node<'_>, label: String) {
        let ignore_port = self.diags.opt_bool(rc, "ignore_port_in_host_matching").unwrap_or(false);
        let mut virtual_hosts = Vec::new();
        // Envoy rejects a domain that appears twice anywhere in one route configuration.
        let mut domains_seen: BTreeMap<String, String> = BTreeMap::new();
        let vhosts = rc.get("virtual_hosts").map(|v| v.items()).unwrap_or_default();
        for (vi, vh) in vhosts.into_iter().enumerate() {
            let name = match vh.get("name").and_then(|n| n.as_str()) {
                Some(n) => n.to_string(),
                None => {
                    self.diags.error(&vh.place, "virtual host has no `name`");
                    format!("virtual_hosts[{vi}]")
                }
            };
            let domains: Vec<String> = self
                .diags
                .strings(&vh, "domains")
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect();
            if domains.is_empty() {
                self.diags
                    .error(&vh.place, format!("virtual host {name:?} has no `domains`"));
            }
            for d in &domains {
                if let Some(other) = domains_seen.insert(d.clone(), name.clone()) {
                    self.diags.error(
                        &format!("{}.domains", vh.place),
                        format!("domain {d:?} is also in virtual host {other:?}; Envoy rejects duplicate domains"),
                    );
                }
            }
            if let Some(matcher) = vh.get("matcher") {
                self.diags.error(
                    &matcher.place,
                    "virtual hosts with a `matcher` tree are not supported; use `routes`",
                );
            }
            let mut routes = Vec::new();
            if let Some(list) = vh.get("routes") {
                for (ri, route) in list.items().into_iter().enumerate() {
                    if let Some(r) = self.route(&route, format!("{label}/{name}/routes[{ri}]")) {
                        routes.push(r);
                    }
                }
            }
            virtual_hosts.push(VirtualHost { name, domains, routes });
        }
        self.configs.push(RouteConfig {
            label,
            place: rc.place.clone(),
            virtual_hosts,
            ignore_port,
        });
    }

    fn route(&mut self, route: &Node<'_>, positional: String) -> Option<Route> {
        let name = self.diags.opt_string(route, "name");
        let Some(m) = route.get("match") else {
            self.diags.error(&route.place, "route has no `match`");
            return None;
        };
        let case_sensitive = self.diags.opt_bool(&m, "case_sensitive").unwrap_or(true);
        let (path, mut summary) = self.path_match(&m, case_sensitive)?;
        if !case_sensitive {
            summary.push_str(" (case-insensitive)");
        }
        let mut conditions = Vec::new();
        if let Some(headers) = m.get("headers") {
            for h in headers.items() {
                let Some(hname) = self.diags.string(&h, "name") else {
                    continue;
                };
                let hname = hname.to_ascii_lowercase();
                let invert = self.diags.opt_bool(&h, "invert_match").unwrap_or(false);
                let bang = if invert { "!" } else { "" };
                if hname == ":method" {
                    let (matcher, shown) = self.header_value_match(&h)?;
                    summary.push_str(&format!(", :method {bang}{shown}"));
                    conditions.push(Condition::Method { matcher, invert });
                } else {
                    summary.push_str(&format!(", header {bang}{hname}"));
                    conditions.push(Condition::Unknown);
                }
            }
        }
        if let Some(query) = m.get("query_parameters") {
            for q in query.items() {
                let qname = q.get("name").and_then(|n| n.as_str()).unwrap_or("?");
                summary.push_str(&format!(", query {qname}"));
                conditions.push(Condition::Unknown);
            }
        }
        for key in [
            "runtime_fraction",
            "grpc",
            "tls_context",
            "dynamic_metadata",
            "filter_state",
            "cel_matcher",
        ] {
            if m.has(key) {
                summary.push_str(&format!(", {key}"));
                conditions.push(Condition::Unknown);
            }
        }
        let (target, action) = self.action(route)?;
        let index = self.pending.len();
        self.pending.push(Pending {
            name,
            positional,
            place: route.place.clone(),
            summary,
            target,
            action,
        });
        Some(Route {
            index,
            place: route.place.clone(),
            path,
            conditions,
        })
    }

    fn path_match(&mut self, m: &Node<'_>, case_sensitive: bool) -> Option<(PathMatch, String)> {
        const SPECIFIERS: [&str; 6] = [
            "prefix",
            "path",
            "safe_regex",
            "path_separated_prefix",
            "connect_matcher",
            "path_match_policy",
        ];
        let present: Vec<&str> = SPECIFIERS.iter().copied().filter(|k| m.has(k)).collect();
        if present.len() > 1 {
            self.diags.error(
                &m.place,
                format!("route match has more than one path specifier: {}", present.join(", ")),
            );
            return None;
        }
        let Some(kind) = present.first() else {
            if m.has("regex") {
                self.diags.error_hint(
                    &format!("{}.regex", m.place),
                    "`regex` is the removed v2 field",
                    "use `safe_regex: { regex: ... }`",
                );
            } else {
                self.diags.error(
                    &m.place,
                    "route match has no path specifier (`prefix`, `path`, `safe_regex`, `path_separated_prefix`)",
                );
            }
            return None;
        };
        match *kind {
            "prefix" => {
                let value = self.diags.string(m, "prefix")?;
                Some((
                    PathMatch::Prefix {
                        value: value.clone(),
                        case_sensitive,
                    },
                    format!("prefix {value}"),
                ))
            }
            "path" => {
                let value = self.diags.string(m, "path")?;
                Some((
                    PathMatch::Exact {
                        value: value.clone(),
                        case_sensitive,
                    },
                    format!("path {value}"),
                ))
            }
            "path_separated_prefix" => {
                let value = self.diags.string(m, "path_separated_prefix")?;
                if value.ends_with('/') || value.contains(['?', '#']) {
                    self.diags.error(
                        &format!("{}.path_separated_prefix", m.place),
                        format!("path_separated_prefix {value:?} must not end with `/` or contain `?` or `#`"),
                    );
                    return None;
                }
                Some((
                    PathMatch::SeparatedPrefix {
                        value: value.clone(),
                        case_sensitive,
                    },
                    format!("path_separated_prefix {value}"),
                ))
            }
            "safe_regex" => {
                let node = m.get("safe_regex")?;
                let re = self.diags.string(&node, "regex")?;
                // Envoy matches route regexes against the whole path (RE2 FullMatch).
                let compiled = compile_regex(
                    &format!("^(?:{re})$"),
                    &re,
                    &format!("{}.regex", node.place),
                    &mut self.diags,
                )?;
                Some((PathMatch::Regex(compiled), format!("safe_regex {re}")))
            }
            "connect_matcher" => Some((PathMatch::Never, "connect".to_string())),
            _ => {
                let node = m.get("path_match_policy")?;
                let template = node
                    .get("typed_config")
                    .and_then(|t| t.get("path_template"))
                    .and_then(|t| t.as_str().map(str::to_string));
                let Some(template) = template else {
                    self.diags.error(
                        &node.place,
                        "only `uri_template` path match policies (`typed_config.path_template`) are supported",
                    );
                    return None;
                };
                let re = template_regex(&template);
                let compiled = compile_regex(
                    &re,
                    &template,
                    &format!("{}.typed_config.path_template", node.place),
                    &mut self.diags,
                )?;
                Some((PathMatch::Regex(compiled), format!("path_template {template}")))
            }
        }
    }

    /// The value matcher of a HeaderMatcher, and how to show it.
    fn header_value_match(&mut self, h: &Node<'_>) -> Option<(StringMatch, String)> {
        // The deprecated `*_match` fields and `string_match` share one reader.
        let legacy = [
            "exact_match",
            "prefix_match",
            "suffix_match",
            "contains_match",
            "safe_regex_match",
        ];
        if let Some(found) = self.string_matcher(h, legacy, false) {
            return found;
        }
        if let Some(node) = h.get("present_match") {
            let present = node.as_bool().unwrap_or(true);
            return Some((StringMatch::Present(present), "present".to_string()));
        }
        if h.has("range_match") {
            return Some((StringMatch::Never, "range".to_string()));
        }
        if let Some(sm) = h.get("string_match") {
            let ic = self.diags.opt_bool(&sm, "ignore_case").unwrap_or(false);
            if let Some(found) = self.string_matcher(&sm, ["exact", "prefix", "suffix", "contains", "safe_regex"], ic) {
                return found;
            }
            self.diags.error(
                &sm.place,
                "string_match has no `exact`, `prefix`, `suffix`, `contains` or `safe_regex`",
            );
            return None;
        }
        // No value matcher: Envoy matches on the header's presence.
        Some((StringMatch::Present(true), "present".to_string()))
    }

    /// Reads a string matcher whose fields are named `keys` = [exact, prefix, suffix, contains,
    /// safe_regex]. `None`: none of them is set; `Some(None)`: one is set but invalid (reported).
    fn string_matcher(&mut self, node: &Node<'_>, keys: [&str; 5], ic: bool) -> Option<Option<(StringMatch, String)>> {
        let [exact, prefix, suffix, contains, regex] = keys;
        let text = |key: &str| node.get(key).and_then(|v| v.as_str().map(str::to_string));
        if let Some(v) = text(exact) {
            return Some(Some((StringMatch::Exact(v.clone(), ic), v)));
        }
        if let Some(v) = text(prefix) {
            return Some(Some((StringMatch::Prefix(v.clone(), ic), format!("prefix {v}"))));
        }
        if let Some(v) = text(suffix) {
            return Some(Some((StringMatch::Suffix(v.clone(), ic), format!("suffix {v}"))));
        }
        if let Some(v) = text(contains) {
            return Some(Some((StringMatch::Contains(v.clone(), ic), format!("contains {v}"))));
        }
        let re_node = node.get(regex)?;
        let compiled = (|| {
            let re = self.diags.string(&re_node, "regex")?;
            let compiled = compile_regex(
                &format!("^(?:{re})$"),
                &re,
                &format!("{}.regex", re_node.place),
                &mut self.diags,
            )?;
            Some((StringMatch::Regex(compiled), format!("~{re}")))
        })();
        Some(compiled)
    }

    /// What a route does: its target text and kind of action.
    fn action(&mut self, route: &Node<'_>) -> Option<(String, Action)> {
        if let Some(action) = route.get("route") {
            if let Some(cluster) = self.diags.opt_string(&action, "cluster") {
                return Some((cluster, Action::Forward));
            }
            if let Some(weighted) = action.get("weighted_clusters") {
                let names: Vec<String> = weighted
                    .get("clusters")
                    .map(|c| c.items())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|c| c.get("name").and_then(|n| n.as_str().map(str::to_string)))
                    .collect();
                if names.is_empty() {
                    self.diags.error(&weighted.place, "weighted_clusters names no cluster");
                    return None;
                }
                return Some((names.join(", "), Action::Forward));
            }
            if let Some(header) = self.diags.opt_string(&action, "cluster_header") {
                return Some((format!("cluster_header {header}"), Action::Forward));
            }
            if action.has("cluster_specifier_plugin") || action.has("inline_cluster_specifier_plugin") {
                return Some(("cluster_specifier_plugin".to_string(), Action::Forward));
            }
            self.diags.error(
                &action.place,
                "route action names no cluster (`cluster`, `weighted_clusters`, `cluster_header`)",
            );
            return None;
        }
        if route.has("redirect") {
            return Some(("redirect".to_string(), Action::Redirect));
        }
        if let Some(direct) = route.get("direct_response") {
            let status = direct
                .get("status")
                .and_then(|s| s.scalar_string())
                .unwrap_or_else(|| "?".to_string());
            return Some((format!("direct_response {status}"), Action::Respond));
        }
        for key in ["filter_action", "non_forwarding_action"] {
            if route.has(key) {
                return Some((key.to_string(), Action::Respond));
            }
        }
        self.diags.error(
            &route.place,
            "route has no action (`route`, `redirect` or `direct_response`)",
        );
        None
    }

    /// Final identifiers: the name when unique in the file, else position and match; the place if
    /// even that collides (two unnamed listeners, say).
    fn labels(&self) -> Vec<RouteInfo> {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &self.pending {
            if let Some(n) = &p.name {
                *names.entry(n.as_str()).or_default() += 1;
            }
        }
        let mut labels: Vec<String> = self
            .pending
            .iter()
            .map(|p| match &p.name {
                Some(n) if names.get(n.as_str()) == Some(&1) => n.clone(),
                _ => format!("{} ({})", p.positional, p.summary),
            })
            .collect();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for l in &labels {
            *counts.entry(l.clone()).or_default() += 1;
        }
        for (label, p) in labels.iter_mut().zip(&self.pending) {
            if counts.get(label.as_str()).copied().unwrap_or(0) > 1 {
                *label = format!("{} ({})", p.place, p.summary);
            }
        }
        labels
            .into_iter()
            .zip(&self.pending)
            .map(|(label, p)| RouteInfo {
                label,
                target: Some(p.target.clone()),
                action: p.action,
            })
            .collect()
    }
}

/// A regex for an Envoy URI template: `*` / `{v}` / `{v=*}` one segment, `**` / `{v=**}` any rest.
fn template_regex(template: &str) -> String {
    let mut out = String::from("^");
    let mut rest = template;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("**") {
            out.push_str(".*");
            rest = after;
        } else if let Some(after) = rest.strip_prefix('*') {
            out.push_str("[^/]+");
            rest = after;
        } else if let Some(after) = rest.strip_prefix('{') {
            let (var, after) = after.split_once('}').unwrap_or((after, ""));
            match var.split_once('=') {
                Some((_, inner)) => out.push_str(template_regex(inner).trim_start_matches('^').trim_end_matches('$')),
                None => out.push_str("[^/]+"),
            }
            rest = after;
        } else {
            let end = rest.find(['*', '{']).unwrap_or(rest.len());
            out.push_str(&regex::escape(&rest[..end]));
            rest = &rest[end..];
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(yaml: &str) -> RouteTable {
        let doc = crate::source::parse(yaml.as_bytes(), "t.yaml").unwrap();
        RouteTable::parse(&doc, "t.yaml").unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn errors(yaml: &str) -> Vec<Diagnostic> {
        let doc = crate::source::parse(yaml.as_bytes(), "t.yaml").unwrap();
        RouteTable::parse(&doc, "t.yaml").expect_err("expected errors")
    }

    fn routed(t: &RouteTable, method: &str, host: Option<&str>, path: &str) -> Option<String> {
        let s = t.select(&Request::new(method, host, path));
        s.route.map(|r| t.routes()[r].label.clone())
    }

    const DOMAINS: &str = r#"
virtual_hosts:
- name: exact
  domains: ["api.example.com"]
  routes: [{name: exact, match: {prefix: /}, route: {cluster: c}}]
- name: suffix_short
  domains: ["*.example.com"]
  routes: [{name: suffix_short, match: {prefix: /}, route: {cluster: c}}]
- name: suffix_long
  domains: ["*.eu.example.com", "*-canary"]
  routes: [{name: suffix_long, match: {prefix: /}, route: {cluster: c}}]
- name: prefix_wild
  domains: ["api.*", "api.internal.*"]
  routes: [{name: prefix_wild, match: {prefix: /}, route: {cluster: c}}]
- name: with_port
  domains: ["ported.example.org:8443"]
  routes: [{name: with_port, match: {prefix: /}, route: {cluster: c}}]
- name: default
  domains: ["*"]
  routes: [{name: default, match: {prefix: /}, route: {cluster: c}}]
"#;

    #[test]
    fn domain_selection_follows_envoy_order() {
        let t = table(DOMAINS);
        let vh = |host: Option<&str>| t.configs[0].select_virtual_host(host).map(|v| v.name.as_str());
        assert_eq!(vh(Some("api.example.com")), Some("exact"));
        assert_eq!(vh(Some("API.Example.com")), Some("exact"), "hosts are case-insensitive");
        assert_eq!(vh(Some("www.example.com")), Some("suffix_short"));
        assert_eq!(vh(Some("a.eu.example.com")), Some("suffix_long"), "longest suffix wins");
        assert_eq!(
            vh(Some("eu.example.com")),
            Some("suffix_short"),
            "the wildcard matches at least one char"
        );
        assert_eq!(vh(Some("web-canary")), Some("suffix_long"));
        assert_eq!(vh(Some("-canary")), Some("default"));
        // Suffix wildcards beat prefix wildcards; among prefixes the longest wins.
        assert_eq!(vh(Some("api.example.net")), Some("prefix_wild"));
        assert_eq!(vh(Some("api.internal.x")), Some("prefix_wild"));
        assert_eq!(vh(Some("ported.example.org:8443")), Some("with_port"));
        assert_eq!(
            vh(Some("ported.example.org")),
            Some("default"),
            "ports are part of the domain"
        );
        assert_eq!(vh(Some("unknown.org")), Some("default"));
        assert_eq!(vh(None), Some("default"), "an arbitrary host reaches `*`");
    }

    #[test]
    fn ignore_port_in_host_matching_strips_the_request_port() {
        let t = table(
            r#"
ignore_port_in_host_matching: true
virtual_hosts:
- {name: a, domains: ["a.com"], routes: [{match: {prefix: /}, route: {cluster: a}}]}
"#,
        );
        assert_eq!(
            t.configs[0]
                .select_virtual_host(Some("a.com:8080"))
                .map(|v| v.name.as_str()),
            Some("a")
        );
    }

    #[test]
    fn no_catch_all_means_arbitrary_hosts_reach_nothing() {
        let t = table(
            r#"
virtual_hosts:
- {name: a, domains: ["a.com"], routes: [{match: {prefix: /}, route: {cluster: a}}]}
"#,
        );
        assert!(t.configs[0].select_virtual_host(None).is_none());
        assert_eq!(t.fallback_hosts(), vec!["a.com".to_string()]);
    }

    const PATHS: &str = r#"
name: rc
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: {path: /exact}
    route: {cluster: exact}
  - match: {path: /Insensitive, case_sensitive: false}
    route: {cluster: insensitive}
  - match: {safe_regex: {regex: "/users/[0-9]+"}}
    route: {cluster: regex}
  - match: {path_separated_prefix: /sep}
    route: {cluster: sep}
  - match: {path_match_policy: {name: envoy.path.match.uri_template.uri_template_matcher, typed_config: {"@type": type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig, path_template: "/tpl/{id}/files/**"}}}
    route: {cluster: tpl}
  - match: {prefix: /pre}
    route: {cluster: prefix}
  - match: {prefix: /}
    direct_response: {status: 404}
"#;

    #[test]
    fn path_specifiers() {
        let t = table(PATHS);
        let target = |path: &str| {
            let s = t.select(&Request::new("GET", None, path));
            s.route.and_then(|r| t.routes()[r].target.clone())
        };
        assert_eq!(target("/exact").as_deref(), Some("exact"));
        assert_eq!(target("/exact/more").as_deref(), Some("direct_response 404"));
        assert_eq!(target("/insensitive").as_deref(), Some("insensitive"));
        assert_eq!(target("/users/42").as_deref(), Some("regex"));
        // Full match: a regex is not a prefix.
        assert_eq!(target("/users/42/x").as_deref(), Some("direct_response 404"));
        assert_eq!(target("/users/x").as_deref(), Some("direct_response 404"));
        assert_eq!(target("/sep").as_deref(), Some("sep"));
        assert_eq!(target("/sep/a").as_deref(), Some("sep"));
        assert_eq!(target("/separate").as_deref(), Some("direct_response 404"));
        assert_eq!(target("/tpl/7/files/a/b").as_deref(), Some("tpl"));
        assert_eq!(target("/tpl/7/x").as_deref(), Some("direct_response 404"));
        assert_eq!(
            target("/prefix/and/more").as_deref(),
            Some("prefix"),
            "prefix is a string prefix, not a segment prefix"
        );
        assert_eq!(
            t.routes()[0].label,
            "rc/vh/routes[0] (path /exact)",
            "unnamed routes are identified by position and match"
        );
        assert_eq!(
            t.routes()[1].label,
            "rc/vh/routes[1] (path /Insensitive (case-insensitive))"
        );
    }

    const METHODS: &str = r#"
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - name: get-only
    match: {prefix: /a, headers: [{name: ":method", exact_match: GET}]}
    route: {cluster: get}
  - name: not-post
    match: {prefix: /a, headers: [{name: ":method", string_match: {exact: post, ignore_case: true}, invert_match: true}]}
    route: {cluster: not-post}
  - name: regex-method
    match: {prefix: /a, headers: [{name: ":method", safe_regex_match: {regex: "P(UT|ATCH)"}}]}
    route: {cluster: put-patch}
  - name: canary
    match: {prefix: /a, headers: [{name: x-canary, exact_match: "1"}]}
    route: {cluster: canary}
  - name: prefix-method
    match: {prefix: /a, headers: [{name: ":method", string_match: {prefix: PO}}]}
    route: {cluster: post}
  - name: rest
    match: {prefix: /}
    route: {cluster: rest}
"#;

    #[test]
    fn method_header_matchers_and_first_match_wins() {
        let t = table(METHODS);
        assert_eq!(routed(&t, "GET", None, "/a").as_deref(), Some("get-only"));
        // DELETE: not GET, and "not POST" matches first.
        assert_eq!(routed(&t, "DELETE", None, "/a").as_deref(), Some("not-post"));
        assert_eq!(
            routed(&t, "PUT", None, "/a").as_deref(),
            Some("not-post"),
            "first match wins"
        );
        let s = t.select(&Request::new("POST", None, "/a"));
        assert_eq!(s.route.map(|r| t.routes()[r].label.as_str()), Some("prefix-method"));
        // The header-conditioned route may take it first: reported, not chosen.
        assert_eq!(
            s.maybe
                .iter()
                .map(|r| t.routes()[*r].label.as_str())
                .collect::<Vec<_>>(),
            vec!["canary"]
        );
        assert_eq!(routed(&t, "POST", None, "/b").as_deref(), Some("rest"));
    }

    #[test]
    fn targets_of_every_action_kind() {
        let t = table(
            r#"
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - {match: {prefix: /w}, route: {weighted_clusters: {clusters: [{name: a, weight: 1}, {name: b, weight: 1}]}}}
  - {match: {prefix: /h}, route: {cluster_header: x-cluster}}
  - {match: {prefix: /r}, redirect: {https_redirect: true}}
  - {match: {prefix: /}, direct_response: {status: 200}}
"#,
        );
        let targets: Vec<_> = t
            .routes()
            .iter()
            .map(|r| (r.target.clone().unwrap(), r.action))
            .collect();
        assert_eq!(
            targets,
            vec![
                ("a, b".to_string(), Action::Forward),
                ("cluster_header x-cluster".to_string(), Action::Forward),
                ("redirect".to_string(), Action::Redirect),
                ("direct_response 200".to_string(), Action::Respond)
            ]
        );
    }

    #[test]
    fn structural_errors_name_the_place() {
        let errs = errors(
            r#"
static_resources:
  listeners:
  - name: l
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          route_config:
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - {match: {safe_regex: {regex: "/a/(unclosed"}}, route: {cluster: c}}
              - {match: {prefix: /b}}
              - {match: {regex: "/v2"}, route: {cluster: c}}
"#,
        );
        let places: Vec<&str> = errs.iter().map(|d| d.place.as_str()).collect();
        let base =
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0]";
        assert_eq!(
            places,
            vec![
                format!("{base}.routes[0].match.safe_regex.regex"),
                format!("{base}.routes[1]"),
                format!("{base}.routes[2].match.regex"),
            ]
        );
        assert!(errs[0].message.contains("invalid regular expression"), "{}", errs[0]);
    }

    #[test]
    fn rds_and_non_envoy_files_are_errors() {
        let errs = errors(
            r#"
name: l
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds: {route_config_name: main}
"#,
        );
        assert_eq!(errs[0].place, "filter_chains[0].filters[0].typed_config.rds");
        let errs = errors("_format_version: '3.0'\nservices: []\n");
        assert!(errs[0].hint.as_deref().unwrap_or("").contains("kong"), "{:?}", errs[0]);
        let errs = errors("- a\n- b\n");
        assert!(errs[0].message.contains("not an Envoy"));
    }

    #[test]
    fn duplicate_domains_are_errors() {
        let errs = errors(
            r#"
virtual_hosts:
- {name: a, domains: ["*"], routes: []}
- {name: b, domains: ["*"], routes: []}
"#,
        );
        assert_eq!(errs[0].place, "virtual_hosts[1].domains");
    }

    #[test]
    fn templates_become_anchored_regexes() {
        assert_eq!(template_regex("/a/{id}/**"), "^/a/[^/]+/.*$");
        assert_eq!(template_regex("/a/{p=**}.m3u8"), "^/a/.*\\.m3u8$");
        assert_eq!(template_regex("/a/*/b"), "^/a/[^/]+/b$");
    }
}
