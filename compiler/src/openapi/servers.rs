//! The base path from `servers` (docs/catalog.md#base-path-and-hosts): the effective server lists
//! of the operations, their variables replaced by defaults, and the one path they agree on.

use std::collections::HashMap;

use serde_json::Value;

use super::Diags;
use crate::diag::Diagnostic;
use crate::template;

/// A `servers` list that some operation uses, or `None` for the implicit default (`url: /`).
pub(super) struct ServerList<'a> {
    pub(super) place: String,
    pub(super) servers: Option<&'a Value>,
}

/// `Some(v)` unless `v` is absent, null or an empty list (which all mean "not specified").
pub(super) fn non_empty(v: Option<&Value>) -> Option<&Value> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        Some(v) => Some(v),
    }
}

/// The one base path all effective servers agree on (docs/catalog.md#base-path-and-hosts), or errors naming the servers that differ.
pub(super) fn derive_base_path(lists: &[ServerList<'_>], diags: &mut Diags<'_>) -> String {
    // Distinct base paths in the order first seen: (base, URL after substitution, place).
    let mut bases: Vec<(String, String, String)> = Vec::new();
    let mut note = |base: String, url: String, place: String| {
        if !bases.iter().any(|(b, _, _)| *b == base) {
            bases.push((base, url, place));
        }
    };
    for list in lists {
        let Some(servers) = list.servers else {
            note(
                String::new(),
                "/ (the default when `servers` is absent)".to_string(),
                list.place.clone(),
            );
            continue;
        };
        let Some(servers) = servers.as_array() else {
            diags.error(list.place.clone(), "`servers` must be a list of server objects");
            continue;
        };
        for (i, server) in servers.iter().enumerate() {
            let place = format!("{}[{i}]", list.place);
            if let Some((url, base)) = server_base_path(server, &place, diags) {
                note(base, url, format!("{place}.url"));
            }
        }
    }
    // The second distinct base is where the disagreement shows; the message lists them all.
    if let Some((_, _, differing)) = bases.get(1) {
        let listed: Vec<String> = bases
            .iter()
            .map(|(base, url, place)| format!("{url:?} ({place}) gives {base:?}"))
            .collect();
        diags.errors.push(
            Diagnostic::error(
                diags.file,
                differing.clone(),
                format!("the servers disagree on the base path: {}", listed.join(", ")),
            )
            .with_hint("set `base_path` for this API in the catalog"),
        );
    }
    bases.into_iter().next().map(|(base, _, _)| base).unwrap_or_default()
}

/// Stands in for a server variable that has no value, so the URL can still be split into host
/// and path; it can never appear in a real base path (it has no meaning to anyone).
const NO_VALUE: &str = "acepack-undefined-server-variable";

/// The URL of one server object with its variables replaced by their defaults, and its base path.
///
/// # Variables without a value (leniency)
///
/// Published specs often write `https://{region}.example.com` without a `variables` entry, or a
/// variable without its required `default`. Server hosts are never used for matching (hosts come
/// from the catalog's `hosts:`), so such a variable in the scheme or host is **ignored with a
/// warning** that says so. In the path it would decide the base path, so there it stays an
/// **error** asking for `base_path` in the catalog (with a `base_path`, servers are not read).
fn server_base_path(server: &Value, place: &str, diags: &mut Diags<'_>) -> Option<(String, String)> {
    let Some(server) = server.as_object() else {
        diags.error(place, "a server must be a mapping with a `url`");
        return None;
    };
    let Some(url) = server.get("url").and_then(Value::as_str) else {
        diags.error(format!("{place}.url"), "a server needs a `url` string");
        return None;
    };
    let variables = match server.get("variables") {
        None | Some(Value::Null) => None,
        Some(Value::Object(vars)) => Some(vars),
        Some(_) => {
            diags.error(format!("{place}.variables"), "`variables` must be a mapping");
            return None;
        }
    };
    let mut defaults: HashMap<&str, String> = HashMap::new();
    for (name, variable) in variables.into_iter().flatten() {
        // The spec requires a string; a bare YAML number (a port) is taken as written.
        match variable.get("default") {
            Some(Value::String(s)) => {
                defaults.insert(name, s.clone());
            }
            Some(Value::Number(n)) => {
                defaults.insert(name, n.to_string());
            }
            _ => {}
        }
    }
    let mut resolved = String::with_capacity(url.len());
    let mut missing: Vec<&str> = Vec::new();
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        resolved.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            diags.error(
                format!("{place}.url"),
                format!("server URL {url:?} has a '{{' without '}}'"),
            );
            return None;
        };
        let name = &after[..close];
        match defaults.get(name) {
            Some(value) => resolved.push_str(value),
            None => {
                resolved.push_str(NO_VALUE);
                if !missing.contains(&name) {
                    missing.push(name);
                }
            }
        }
        rest = &after[close + 1..];
    }
    resolved.push_str(rest);
    let path = url_path(&resolved);
    let why = |name: &str| {
        if variables.is_some_and(|v| v.contains_key(name)) {
            format!("server variable {name:?} has no `default` (a string), which OpenAPI requires")
        } else {
            format!("server URL {url:?} uses variable {{{name}}}, which `variables` does not define")
        }
    };
    if path.contains(NO_VALUE) {
        for name in &missing {
            diags.errors.push(
                Diagnostic::error(
                    diags.file,
                    format!("{place}.url"),
                    format!(
                        "{}; it is part of the URL's path, so the base path cannot be derived",
                        why(name)
                    ),
                )
                .with_hint("set `base_path` for this API in the catalog, or give the variable a `default`"),
            );
        }
        return None;
    }
    for name in &missing {
        diags.warn(
            format!("{place}.url"),
            format!(
                "{}; assumed it only names the host, which acepack does not use for matching (the catalog's `hosts:` does)",
                why(name)
            ),
        );
    }
    match template::normalize_base_path(&path) {
        Ok(base) => Some((resolved.replace(NO_VALUE, "*"), base)),
        Err(e) => {
            diags.error(
                format!("{place}.url"),
                format!(
                    "server URL {:?} has no usable base path: {e}",
                    resolved.replace(NO_VALUE, "*")
                ),
            );
            None
        }
    }
}

/// The path of an absolute (`https://h/v1`), scheme-relative (`//h/v1`) or relative (`/v1`, `v1`)
/// URL, without query or fragment. Relative references are resolved against `/`: where the
/// document will be served is unknown.
fn url_path(url: &str) -> String {
    let after_scheme = url.find("://").and_then(|i| {
        let scheme = &url[..i];
        let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        valid.then(|| &url[i + 3..])
    });
    let path = match after_scheme.or_else(|| url.strip_prefix("//")) {
        Some(authority_and_path) => authority_and_path
            .find(['/', '?', '#'])
            .map_or("", |i| &authority_and_path[i..]),
        None => url,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let path = path.trim_start_matches("./");
    match path {
        "" | "." => String::new(),
        p if p.starts_with('/') => p.to_string(),
        p => format!("/{p}"),
    }
}
