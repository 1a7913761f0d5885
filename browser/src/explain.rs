//! One request through the filter's own [`Engine`], described the way `acepack explain` prints it
//! (docs/cli.md), plus the same facts as JSON fields for the portal page.
//!
//! Plain Rust (no wasm-bindgen types), so the host tests check it against the CLI directly.
//! Like `acepack explain`, every request starts with full buckets: the page shows what the
//! gateway would answer to a first request, not a running count.

use std::fmt::Write;

use acepack_filter::bundle::Limit;
use acepack_filter::engine::{Charge, Decision, Engine, Request};
use acepack_filter::headers::{allow_response_headers, deny_headers};
use acepack_filter::limiter::MemoryStore;
use serde_json::{json, Value};

/// Why a request could not be run (the page shows the message next to the form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError(pub String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Splits `http://host/path?q` or `/path?q` into (authority, path-with-query).
fn split_url(url: &str) -> (Option<&str>, &str) {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            return match rest.find(['/', '?']) {
                Some(i) => (Some(&rest[..i]), &rest[i..]),
                None => (Some(rest), "/"),
            };
        }
    }
    (None, url)
}

/// Parses header lines (`Name: value`, one per line; blank lines ignored).
pub fn parse_headers(text: &str) -> Result<Vec<(String, String)>, InputError> {
    let mut pairs = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => pairs.push((k.trim().to_ascii_lowercase(), v.trim().to_owned())),
            _ => return Err(InputError(format!("header {line:?} is not 'Name: value'"))),
        }
    }
    Ok(pairs)
}

/// `5/minute`, as `acepack inspect` writes a limit.
fn limit_text(l: &Limit) -> String {
    let unit = match l.window_seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    };
    format!("{}/{unit}", l.count)
}

/// Runs one request with fresh buckets at `now_us` and describes the decision: a JSON object with
/// `decision` (`allow` | `deny` | `pass`), `status`, `reason`, `operation`, `application`,
/// `package`, `limits`, `headers`, `body`, and `text` (exactly what `acepack explain` prints).
pub fn explain(engine: &Engine, method: &str, url: &str, headers: &[(String, String)], now_us: u64) -> Value {
    let (authority, path) = split_url(url);
    let host_header = headers.iter().find(|(k, _)| k == "host").map(|(_, v)| v.clone());
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
        headers,
        client_ip: None,
    };
    let decision = engine.decide(&req, &mut MemoryStore::new(), now_us);
    describe(engine, &decision)
}

fn describe(engine: &Engine, d: &Decision) -> Value {
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
    let pkg_id = |p: u32| b.packages.get(p as usize).map_or("?", |p| p.id.as_str()).to_owned();
    let mut out = json!({});
    let mut limits = Vec::new();
    let mut charge = |s: &mut String, out: &mut Value, c: Option<&Charge>| {
        if let Some(c) = c {
            let scope = if c.operation_override {
                " (operation override)"
            } else {
                ""
            };
            let _ = writeln!(s, "package:     {}{scope}", pkg_id(c.package));
            out["package"] = json!(pkg_id(c.package));
            out["operation_override"] = json!(c.operation_override);
            for w in &c.outcome.windows {
                let _ = writeln!(
                    s,
                    "limit:       {} — {} left, full in {} s",
                    limit_text(&w.limit),
                    w.remaining(),
                    w.reset_seconds()
                );
                limits.push(json!({"limit": limit_text(&w.limit), "remaining": w.remaining(), "reset_seconds": w.reset_seconds()}));
            }
        }
    };
    let mut response = Vec::new();
    match d {
        Decision::Pass => {
            let _ = writeln!(
                s,
                "status:      pass (forwarded untouched: no operation under if_present, or a CORS preflight)"
            );
            out["decision"] = json!("pass");
        }
        Decision::Allow(a) => {
            out["decision"] = json!("allow");
            out["operation"] = json!(op(Some(a.operation)));
            out["application"] = json!(app(Some(a.application)));
            let _ = writeln!(s, "status:      allow (forwarded to the upstream)");
            let _ = writeln!(s, "operation:   {}", op(Some(a.operation)).unwrap_or_default());
            let _ = writeln!(s, "application: {}", app(Some(a.application)).unwrap_or_default());
            match (a.package, &a.charge) {
                (Some(p), None) => {
                    let _ = writeln!(s, "package:     {} (no limit)", pkg_id(p));
                    out["package"] = json!(pkg_id(p));
                }
                (None, _) => {
                    let _ = writeln!(s, "package:     none (API grant: no ACE limit)");
                }
                _ => charge(&mut s, &mut out, a.charge.as_ref()),
            }
            for (k, v) in allow_response_headers(engine, a) {
                let _ = writeln!(s, "response:    {k}: {v}");
                response.push(json!([k, v]));
            }
        }
        Decision::Deny(x) => {
            out["decision"] = json!("deny");
            out["status"] = json!(x.status);
            out["reason"] = json!(x.reason.as_str());
            out["operation"] = json!(op(x.operation));
            out["application"] = json!(app(x.application));
            let _ = writeln!(s, "status:      {} {}", x.status, x.reason.as_str());
            if let Some(o) = op(x.operation) {
                let _ = writeln!(s, "operation:   {o}");
            }
            if let Some(a) = app(x.application) {
                let _ = writeln!(s, "application: {a}");
            }
            charge(&mut s, &mut out, x.charge.as_ref());
            for (k, v) in deny_headers(engine, x) {
                let _ = writeln!(s, "response:    {k}: {v}");
                response.push(json!([k, v]));
            }
            let _ = writeln!(s, "body:        {}", x.reason.body());
            out["body"] = json!(x.reason.body());
        }
    }
    out["limits"] = Value::from(limits);
    out["headers"] = Value::from(response);
    out["text"] = json!(s);
    out
}

#[cfg(test)]
mod tests {
    use super::{parse_headers, split_url};

    #[test]
    fn urls_and_headers() {
        assert_eq!(split_url("http://h:1/a?b"), (Some("h:1"), "/a?b"));
        assert_eq!(split_url("https://h"), (Some("h"), "/"));
        assert_eq!(split_url("/a"), (None, "/a"));
        assert_eq!(
            parse_headers("X-Api-Key: k\n\n Host : a.b ").unwrap(),
            vec![("x-api-key".into(), "k".into()), ("host".into(), "a.b".into())]
        );
        assert!(parse_headers("nocolon").is_err());
    }
}
