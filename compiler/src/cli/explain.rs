//! `acepack explain BUNDLE METHOD URL [-H 'Name: value']... [--client-ip IP]`: the filter's own
//! engine, offline, on one request (with fresh buckets).

use std::path::Path;

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

/// Runs the engine and prints the decision.
pub fn run(
    bundle: &Path,
    method: &str,
    url: &str,
    headers: &[String],
    client_ip: Option<&str>,
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
    let host_header = pairs.iter().find(|(k, _)| k == "host").map(|(_, v)| v.clone());
    let authority = authority
        .map(str::to_owned)
        .or(host_header)
        .unwrap_or_else(|| "localhost".to_owned());
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
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
    let decision = engine.decide(&req, &mut MemoryStore::new(), now);
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
