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

use std::collections::BTreeSet;

use regex::Regex;

use super::{sample_host, Request, RouteInfo, Router, Selection};

mod matchers;
mod parse;

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

#[cfg(test)]
mod tests;
