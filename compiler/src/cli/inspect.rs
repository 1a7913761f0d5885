//! `acepack inspect BUNDLE [--json]`: what a bundle contains.

use std::path::Path;

use acepack_filter::bundle::{Bundle, Grant, Limit, MatchPolicy, RateLimitHeaders, StrategyKind};
use acepack_filter::explain::limit_text as limit;
use serde_json::{json, Value};

use super::{read_bundle, Exit, Failure};

/// Prints the bundle's content.
pub fn run(bundle: &Path, json: bool) -> Result<Exit, Failure> {
    let (bytes, b) = read_bundle(bundle)?;
    let v = to_json(&b, bytes.len());
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", human(&b, bytes.len()));
    }
    Ok(Exit::Ok)
}

fn limits(l: &[Limit]) -> Value {
    Value::from(l.iter().map(limit).collect::<Vec<_>>())
}

fn grant(b: &Bundle, g: &Grant) -> Value {
    match *g {
        Grant::Api(i) => json!({ "api": b.apis.get(i as usize).map(|a| a.name.as_str()) }),
        Grant::Package(i) => json!({ "package": b.packages.get(i as usize).map(|p| p.id.as_str()) }),
    }
}

/// The whole bundle as JSON (credentials as digest-prefix counts per application; never keys).
pub fn to_json(b: &Bundle, size: usize) -> Value {
    let e = &b.enforcement;
    let op_name = |i: u32| b.operations.get(i as usize).map(|o| b.name(o.id));
    json!({
        "format": format!("{}.{}", b.version.0, b.version.1),
        "bytes": size,
        "compiler": b.compiler,
        "catalog": b.catalog,
        "enforcement": {
            "match_policy": match e.match_policy { MatchPolicy::Required => "required", MatchPolicy::IfPresent => "if_present" },
            "rate_limit_headers": match e.rate_limit_headers { RateLimitHeaders::Ietf => "ietf", RateLimitHeaders::Draft03 => "draft03", RateLimitHeaders::None => "none" },
            "hide_credentials": e.hide_credentials,
            "cors_preflight": if e.cors_preflight_pass { "pass" } else { "enforce" },
            "anonymous": e.anonymous.and_then(|i| b.applications.get(i as usize)).map(|a| b.name(a.name)),
        },
        "auth_strategies": b.strategies.iter().map(|s| match &s.kind {
            StrategyKind::KeyAuth(names) => json!({ "name": s.name, "type": "key_auth", "key_names": names }),
            StrategyKind::Header(h) => json!({ "name": s.name, "type": "header", "header": h }),
            StrategyKind::OpenidConnect(o) => json!({
                "name": s.name, "type": "openid_connect", "issuer": o.issuer, "audiences": o.audiences,
                "jwks_uri": (!o.jwks_uri.is_empty()).then_some(&o.jwks_uri), "claim": o.claim, "scopes": o.scopes,
            }),
        }).collect::<Vec<_>>(),
        "apis": b.apis.iter().enumerate().map(|(i, a)| json!({
            "name": a.name,
            "version": a.version,
            "base_path": a.base_path,
            "hosts": a.hosts,
            "operations": b.operations.iter().filter(|o| o.api as usize == i)
                .map(|o| json!({ "id": b.name(o.id), "method": o.method.as_str(), "path": b.name(o.path) })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "packages": b.packages.iter().map(|p| json!({
            "id": p.id,
            "name": p.name,
            "version": p.version,
            "published": p.published,
            "rate_limit": limits(&p.limits),
            "operations": p.operations.iter().map(|po| {
                let mut v = json!({ "op": op_name(po.operation) });
                if let Some(l) = &po.limits {
                    v["rate_limit"] = limits(l);
                }
                v
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "applications": b.applications.iter().enumerate().map(|(i, a)| json!({
            "name": b.name(a.name),
            "auth_strategy": b.strategies.get(a.strategy as usize).map(|s| s.name.as_str()),
            "grants": a.grants.iter().map(|g| grant(b, g)).collect::<Vec<_>>(),
            "credentials": b.credentials.iter().filter(|c| c.application as usize == i).count(),
        })).collect::<Vec<_>>(),
        "credentials": b.credentials.len(),
    })
}

fn human(b: &Bundle, size: usize) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "bundle format {}.{}, {size} bytes, from {} by {}",
        b.version.0, b.version.1, b.catalog, b.compiler
    );
    let _ = writeln!(
        s,
        "{} APIs, {} operations, {} packages, {} applications, {} credentials",
        b.apis.len(),
        b.operations.len(),
        b.packages.len(),
        b.applications.len(),
        b.credentials.len()
    );
    let j = to_json(b, size);
    let _ = writeln!(s, "enforcement: {}", j["enforcement"]);
    // Operations grouped by API once (a scan per API would be quadratic on a hostile bundle).
    let mut by_api: Vec<Vec<&acepack_filter::bundle::Operation>> = vec![Vec::new(); b.apis.len()];
    for o in &b.operations {
        if let Some(list) = by_api.get_mut(o.api as usize) {
            list.push(o);
        }
    }
    for (a, ops) in b.apis.iter().zip(&by_api) {
        let hosts = if a.hosts.is_empty() {
            "any host".to_owned()
        } else {
            a.hosts.join(", ")
        };
        let _ = writeln!(s, "api {} {} ({hosts})", a.name, a.version);
        for o in ops {
            let _ = writeln!(s, "  {:7} {}  [{}]", o.method, b.name(o.path), b.name(o.id));
        }
    }
    for p in &b.packages {
        let l: Vec<_> = p.limits.iter().map(limit).collect();
        let lim = if l.is_empty() {
            "unlimited".to_owned()
        } else {
            l.join(" + ")
        };
        let _ = writeln!(
            s,
            "package {} ({}) v{}: {lim}{}",
            p.id,
            p.name,
            p.version,
            if p.published { ", published" } else { "" }
        );
        for po in &p.operations {
            let id = b.operations.get(po.operation as usize).map_or("?", |o| b.name(o.id));
            match &po.limits {
                Some(l) => {
                    let _ = writeln!(
                        s,
                        "  {id} (override {})",
                        l.iter().map(limit).collect::<Vec<_>>().join(" + ")
                    );
                }
                None => {
                    let _ = writeln!(s, "  {id}");
                }
            }
        }
    }
    for a in &j["applications"].as_array().cloned().unwrap_or_default() {
        let _ = writeln!(
            s,
            "application {}: grants {}, {} credential(s)",
            a["name"], a["grants"], a["credentials"]
        );
    }
    // A bundle may come from anywhere: its names must not drive the terminal.
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_a_bundle_cannot_drive_the_terminal() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bundle/catalog.yaml");
        let model = acepack_compiler::load_model(&dir).expect("test catalog loads");
        let mut b = acepack_compiler::bundle::build(&model).expect("builds");
        b.apis[0].name = "evil\u{1b}[2J\rname".into();
        let text = human(&b, 0);
        assert!(text.contains("evil\\u{1b}[2J\\rname"), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        // Every operation is listed once, under its API.
        let listed = text.lines().filter(|l| l.starts_with("  ") && l.contains('[')).count();
        assert_eq!(listed, b.operations.len(), "{text}");
    }
}
