//! Reading one Envoy route: its `match` (path specifier, `:method` and other header matchers,
//! conditions that make it a "maybe") and its action (cluster, redirect, direct response).

use super::parse::{Parser, Pending};
use super::{Condition, PathMatch, Route, StringMatch};
use crate::routes::doc::{compile_regex, Node};
use crate::routes::Action;

impl Parser {
    pub(super) fn route(&mut self, route: &Node<'_>, positional: String) -> Option<Route> {
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
}

/// A regex for an Envoy URI template: `*` / `{v}` / `{v=*}` one segment, `**` / `{v=**}` any rest.
pub(super) fn template_regex(template: &str) -> String {
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
