//! `acepack explain BUNDLE METHOD URL [-H 'Name: value']... [--client-ip IP] [--claim NAME=VALUE]...
//! [--route-cluster NAME]`:
//! the filter's own engine, offline, on one request (with fresh buckets).

use std::path::Path;

use acepack_filter::bundle::StrategyKind;
use acepack_filter::claims::Claims;
use acepack_filter::engine::{Charge, Decision, Engine, Request};
use acepack_filter::headers::{allow_response_headers, deny_headers};
use acepack_filter::limiter::MemoryStore;

use super::inspect::limit;
use super::{read_bundle, Exit, Failure};

/// Splits `http://host/path?q` or `/path?q` into (authority, path-with-query).
fn split_url(url: &str) -> (Option<&str>, &str) {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            return match rest.find(['/', '?']) {
                Some(i) if rest[i..].starts_with('/') => (Some(&rest[..i]), &rest[i..]),
                Some(i) => (Some(&rest[..i]), &rest[i..]),
                None => (Some(rest), "/"),
            };
        }
    }
    (None, url)
}

/// `--claim NAME=VALUE` as the claims of a token `jwt_authn` verified for every openid_connect
/// strategy (docs/oidc.md); `iss` defaults to the strategy's issuer. A JSON array value
/// (`scp=["a","b"]`) is a list claim.
fn verified_claims(engine: &Engine, claims: &[String]) -> Result<Vec<(String, String, Vec<u8>)>, Failure> {
    let mut given: Vec<(&str, Vec<u8>)> = Vec::new();
    for c in claims {
        let Some((name, value)) = c.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            return Err(Failure::Usage(format!("claim {c:?} is not NAME=VALUE")));
        };
        let bytes = match serde_json::from_str::<Vec<String>>(value) {
            // The form Envoy hands a list claim over in (docs/oidc.md).
            Ok(items) => envoy_pairs(&items),
            Err(_) => value.as_bytes().to_vec(),
        };
        given.push((name, bytes));
    }
    let mut out = Vec::new();
    if given.is_empty() {
        return Ok(out);
    }
    for s in &engine.bundle().strategies {
        if let StrategyKind::OpenidConnect(o) = &s.kind {
            if !given.iter().any(|(n, _)| *n == "iss") {
                out.push((s.name.clone(), "iss".to_owned(), o.issuer.as_bytes().to_vec()));
            }
            for (n, v) in &given {
                out.push((s.name.clone(), (*n).to_owned(), v.clone()));
            }
        }
    }
    Ok(out)
}

/// What Envoy would tell the filter besides the headers: verified claims, the route's cluster.
struct Context<'a> {
    claims: Vec<(String, String, Vec<u8>)>,
    route_cluster: Option<&'a str>,
}

impl Claims for Context<'_> {
    fn claim(&self, metadata_key: &str, name: &str) -> Option<Vec<u8>> {
        self.claims.as_slice().claim(metadata_key, name)
    }

    fn route_cluster(&self) -> Option<String> {
        self.route_cluster.map(str::to_owned)
    }
}

/// Items as proxy-wasm pairs (item as key, empty value).
fn envoy_pairs(items: &[String]) -> Vec<u8> {
    let mut out = (items.len() as u32).to_le_bytes().to_vec();
    for i in items {
        out.extend_from_slice(&(i.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    for i in items {
        out.extend_from_slice(i.as_bytes());
        out.extend_from_slice(&[0, 0]);
    }
    out
}

/// Runs the engine and prints the decision.
pub fn run(
    bundle: &Path,
    method: &str,
    url: &str,
    headers: &[String],
    client_ip: Option<&str>,
    claims: &[String],
    route_cluster: Option<&str>,
) -> Result<Exit, Failure> {
    let (bytes, _) = read_bundle(bundle)?;
    let engine = Engine::load(&bytes).map_err(|e| Failure::invalid(format!("{}: {e}", bundle.display())))?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for h in headers {
        match h.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_owned())),
            _ => return Err(Failure::Usage(format!("header {h:?} is not 'Name: value'"))),
        }
    }
    let (authority, path) = split_url(url);
    let full_url = authority.is_some();
    let host_header = pairs.iter().find(|(k, _)| k == "host").map(|(_, v)| v.clone());
    let authority = authority
        .map(str::to_owned)
        .or(host_header)
        .unwrap_or_else(|| "localhost".to_owned());
    let path = if path.starts_with('/') {
        path.to_owned()
    } else if full_url && (path.is_empty() || path.starts_with('?')) {
        // `http://host?q`: the request target is `/?q`.
        format!("/{path}")
    } else {
        // A request path always starts with '/'; guessing one would explain another request.
        return Err(Failure::Usage(format!(
            "URL {url:?}: give a path starting with '/' (e.g. \"/{path}\") or a full URL (\"http://host/{path}\")"
        )));
    };
    let req = Request {
        method,
        path: &path,
        authority: &authority,
        headers: pairs.as_slice(),
        client_ip,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let context = Context {
        claims: verified_claims(&engine, claims)?,
        route_cluster,
    };
    let decision = engine.decide_with_claims(&req, &context, &mut MemoryStore::new(), None, now);
    print!("{}", render(&engine, &decision));
    Ok(Exit::Ok)
}

fn render(engine: &Engine, d: &Decision) -> String {
    use std::fmt::Write;
    let b = engine.bundle();
    let mut s = String::new();
    let op = |i: Option<u32>| {
        i.and_then(|i| b.operations.get(i as usize)).map(|o| {
            let api = b.apis.get(o.api as usize).map_or("?", |a| a.name.as_str());
            format!("{} ({api}: {} {})", b.name(o.id), o.method, b.name(o.path))
        })
    };
    let app = |i: Option<u32>| {
        i.and_then(|i| b.applications.get(i as usize))
            .map(|a| b.name(a.name).to_owned())
    };
    let charge = |s: &mut String, c: Option<&Charge>| {
        if let Some(c) = c {
            let pkg = b.packages.get(c.package as usize).map_or("?", |p| p.id.as_str());
            let scope = if c.operation_override {
                " (operation override)"
            } else {
                ""
            };
            let _ = writeln!(s, "package:     {pkg}{scope}");
            for w in &c.outcome.windows {
                let _ = writeln!(
                    s,
                    "limit:       {} — {} left, full in {} s",
                    limit(&w.limit),
                    w.remaining(),
                    w.reset_seconds()
                );
            }
        }
    };
    match d {
        Decision::Pass => {
            let _ = writeln!(
                s,
                "status:      pass (forwarded untouched: no operation under if_present, or a CORS preflight)"
            );
        }
        Decision::Allow(a) => {
            let _ = writeln!(s, "status:      allow (forwarded to the upstream)");
            let _ = writeln!(s, "operation:   {}", op(Some(a.operation)).unwrap_or_default());
            let _ = writeln!(s, "application: {}", app(Some(a.application)).unwrap_or_default());
            match (a.package, &a.charge) {
                (Some(p), None) => {
                    let _ = writeln!(
                        s,
                        "package:     {} (no limit)",
                        b.packages.get(p as usize).map_or("?", |p| p.id.as_str())
                    );
                }
                (None, _) => {
                    let _ = writeln!(s, "package:     none (API grant: no ACE limit)");
                }
                _ => charge(&mut s, a.charge.as_ref()),
            }
            for (k, v) in allow_response_headers(engine, a) {
                let _ = writeln!(s, "response:    {k}: {v}");
            }
        }
        Decision::Deny(x) => {
            let _ = writeln!(s, "status:      {} {}", x.status, x.reason.as_str());
            if let Some(o) = op(x.operation) {
                let _ = writeln!(s, "operation:   {o}");
            }
            if let Some(a) = app(x.application) {
                let _ = writeln!(s, "application: {a}");
            }
            charge(&mut s, x.charge.as_ref());
            for (k, v) in deny_headers(engine, x) {
                let _ = writeln!(s, "response:    {k}: {v}");
            }
            let _ = writeln!(s, "body:        {}", x.reason.body());
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::split_url;

    #[test]
    fn urls() {
        assert_eq!(split_url("http://h:1/a?b"), (Some("h:1"), "/a?b"));
        assert_eq!(split_url("https://h"), (Some("h"), "/"));
        assert_eq!(split_url("http://h?x=1"), (Some("h"), "?x=1"));
        assert_eq!(split_url("/a"), (None, "/a"));
    }
}
