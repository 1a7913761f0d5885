//! What acepack adds to a package specification: `servers`, security schemes for the accepted
//! auth strategies, and rate limits (docs/portal.md#the-package-specification).

use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::model::{AuthStrategy, Limit, Model, Package};

/// `5/minute`.
pub fn limit_text(l: &Limit) -> String {
    let unit = match l.window.seconds() {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    };
    format!("{}/{unit}", l.count)
}

/// `5/minute, 1000/day`, or `none`.
pub fn limits_text(limits: &[Limit]) -> String {
    if limits.is_empty() {
        "none".to_owned()
    } else {
        limits.iter().map(limit_text).collect::<Vec<_>>().join(", ")
    }
}

/// The auth strategies a package accepts: those of the portals that publish it; when no portal
/// publishes it, every strategy of the catalog (applications registered outside a portal may use
/// any of them).
pub fn accepted_strategies<'m>(model: &'m Model, catalog: &Catalog, package: &Package) -> Vec<&'m AuthStrategy> {
    let mut names: Vec<&str> = Vec::new();
    for portal in catalog.portals.iter().filter(|p| package.portals.contains(&p.name)) {
        for s in &portal.auth_strategies {
            if !names.contains(&s.as_str()) {
                names.push(s);
            }
        }
    }
    model
        .auth_strategies
        .iter()
        .filter(|s| package.portals.is_empty() || names.contains(&s.name()))
        .collect()
}

/// The security scheme name for one key of a key_auth strategy.
fn scheme_name(strategy: &str, place: &str, key: &str) -> String {
    let clean: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{strategy}_{place}_{clean}")
}

/// `components.securitySchemes` and the root `security` (any one key is enough), plus the
/// `x-acepack-auth` extension describing every accepted strategy (header identities included,
/// which OpenAPI cannot express: an earlier filter sets them, not the client).
pub fn security(strategies: &[&AuthStrategy]) -> (Map<String, Value>, Vec<Value>, Value) {
    let mut schemes = Map::new();
    let mut requirement = Vec::new();
    let mut described = Vec::new();
    for s in strategies {
        match s {
            AuthStrategy::KeyAuth { name, key_names } => {
                for key in key_names {
                    for place in ["header", "query"] {
                        let id = scheme_name(name, place, key);
                        schemes.insert(
                            id.clone(),
                            json!({
                                "type": "apiKey",
                                "in": place,
                                "name": key,
                                "description": format!("An API key of the `{name}` strategy, as the {place} {key:?}. Headers are looked up first (any case), then query parameters."),
                            }),
                        );
                        requirement.push(json!({ id: [] }));
                    }
                }
                described.push(json!({"name": name, "type": "key_auth", "key_names": key_names}));
            }
            AuthStrategy::Header { name, header } => {
                described.push(json!({"name": name, "type": "header", "header": header,
                    "description": "an identity asserted by an earlier gateway filter (e.g. JWT validation), not sent by the client"}));
            }
            AuthStrategy::OpenidConnect {
                name,
                issuer,
                audiences,
                jwks_uri,
                scopes,
                ..
            } => {
                let id = format!("{name}_bearer");
                let mut scheme = json!({
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": format!("An access token issued by {issuer} to the application's OAuth client id, verified by the gateway."),
                });
                if let (Some(uri), Some(obj)) = (jwks_uri, scheme.as_object_mut()) {
                    obj.insert("x-acepack-jwks-uri".into(), Value::from(uri.clone()));
                }
                schemes.insert(id.clone(), scheme);
                requirement.push(json!({ id: scopes }));
                described.push(json!({"name": name, "type": "openid_connect", "issuer": issuer,
                    "audiences": audiences, "scopes": scopes}));
            }
        }
    }
    (schemes, requirement, Value::from(described))
}

/// The servers a client calls: the API's `hosts` (https) when the catalog names them, else the
/// origins of the spec's own servers; the base path is part of every path, so never of a server.
/// An API with neither gets `/` (the host serving the document).
pub fn servers(api_name: &str, hosts: &[String], base_path: &str, source: Option<&Value>) -> Vec<Value> {
    let description = format!(
        "{api_name} API{}",
        if base_path.is_empty() {
            String::new()
        } else {
            format!(" (base path {base_path}, included in the paths)")
        }
    );
    let mut out = Vec::new();
    for h in hosts {
        let server = match h.strip_prefix("*.") {
            Some(rest) => json!({
                "url": format!("https://{{subdomain}}.{rest}"),
                "description": description,
                "variables": {"subdomain": {"default": "www", "description": format!("any subdomain (the API matches {h})")}},
            }),
            None => json!({"url": format!("https://{h}"), "description": description}),
        };
        out.push(server);
    }
    if out.is_empty() {
        for s in source
            .and_then(|d| d.get("servers"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(url) = s.get("url").and_then(Value::as_str) else {
                continue;
            };
            let Some(scheme_end) = url.find("://") else { continue };
            let origin_end = url[scheme_end + 3..]
                .find('/')
                .map_or(url.len(), |i| scheme_end + 3 + i);
            let origin = &url[..origin_end];
            let mut server = json!({"url": origin, "description": description});
            if let Some(vars) = s.get("variables").and_then(Value::as_object) {
                let used: Map<String, Value> = vars
                    .iter()
                    .filter(|(k, _)| origin.contains(&format!("{{{k}}}")))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if !used.is_empty() {
                    server["variables"] = Value::Object(used);
                }
            }
            if !out.iter().any(|o: &Value| o["url"] == server["url"]) {
                out.push(server);
            }
        }
    }
    if out.is_empty() {
        out.push(json!({"url": "/", "description": description}));
    }
    out
}

/// The `x-acepack-rate-limit` of one operation and the sentence appended to its description.
pub fn operation_limit(package: &Package, own: Option<&[Limit]>) -> (Value, String) {
    match own {
        Some(l) => (
            json!({"scope": "operation", "limits": l.iter().map(limit_text).collect::<Vec<_>>()}),
            format!(
                "Rate limit: {} per application for this operation alone (package `{}`).",
                limits_text(l),
                package.id
            ),
        ),
        None if package.limits.is_empty() => (
            json!({"scope": "none", "limits": []}),
            format!("Rate limit: none (package `{}` has no limit).", package.id),
        ),
        None => (
            json!({"scope": "package", "limits": package.limits.iter().map(limit_text).collect::<Vec<_>>()}),
            format!(
                "Rate limit: {} per application, shared by all operations of package `{}` without their own limit.",
                limits_text(&package.limits),
                package.id
            ),
        ),
    }
}
