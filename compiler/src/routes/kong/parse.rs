//! Reading a decK file's routes into [`super::KongConfig`]: service references, route fields,
//! path patterns (regex or prefix), priorities, and the final route labels.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diag::did_you_mean;
use crate::routes::doc::{compile_regex, Diags, Node};
use crate::routes::{Action, RouteInfo};

use super::{HostPattern, KongRoute, PathPattern, Priority, STREAM_PROTOCOLS};

pub(super) struct PendingRoute {
    pub(super) name: Option<String>,
    pub(super) id: Option<String>,
    pub(super) positional: String,
    pub(super) place: String,
    pub(super) summary: String,
    pub(super) service: Option<String>,
    pub(super) route: KongRoute,
    pub(super) candidates: Vec<(Option<usize>, Priority)>,
}

pub(super) struct Parser {
    pub(super) diags: Diags,
    pub(super) legacy: bool,
    pub(super) pending: Vec<PendingRoute>,
}

impl Parser {
    /// Resolves `service: name`, `service: {name}` or `service: {id}` to the service's label.
    pub(super) fn service_ref(
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

    pub(super) fn route(&mut self, node: &Node<'_>, positional: String, service: Option<String>) {
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

    pub(super) fn path(&mut self, raw: &str, place: &str) -> Option<PathPattern> {
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
pub(super) fn labels(pending: &[PendingRoute]) -> Vec<RouteInfo> {
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
