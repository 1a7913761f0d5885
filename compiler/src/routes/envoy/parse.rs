//! Reading an Envoy document into [`super::RouteTable`]: bootstrap, listeners, xDS resources,
//! HTTP connection managers, route configurations and virtual hosts, and the final route labels.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{RouteConfig, RouteTable, VirtualHost, HCM_NAMES, HCM_TYPE};
use crate::diag::Diagnostic;
use crate::routes::doc::{Diags, Node};
use crate::routes::{wrong_kind, Action, GatewayKind, RouteInfo};

/// A route while parsing: its identifier is decided once all routes are known (names must be unique).
pub(super) struct Pending {
    pub(super) name: Option<String>,
    pub(super) positional: String,
    pub(super) place: String,
    pub(super) summary: String,
    pub(super) target: String,
    pub(super) action: Action,
}

pub(super) struct Parser {
    pub(super) diags: Diags,
    pub(super) configs: Vec<RouteConfig>,
    pub(super) pending: Vec<Pending>,
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
