//! One request through the filter's own [`Engine`], described the way `acepack explain` prints it
//! (docs/cli.md), plus the same facts as JSON fields for the portal page.
//!
//! Plain Rust (no wasm-bindgen types), so the host tests check it against the CLI directly.
//! Like `acepack explain`, every request starts with full buckets: the page shows what the
//! gateway would answer to a first request, not a running count.

use acepack_filter::engine::{Engine, Request};
use acepack_filter::explain::{explain as describe, parse_header, request_target};
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

/// Parses header lines (`Name: value`, one per line; blank lines ignored).
pub fn parse_headers(text: &str) -> Result<Vec<(String, String)>, InputError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| parse_header(line).ok_or_else(|| InputError(format!("header {line:?} is not 'Name: value'"))))
        .collect()
}

/// Runs one request with fresh buckets at `now_us` and describes the decision: a JSON object with
/// `decision` (`allow` | `deny` | `pass`), `status`, `reason`, `operation`, `application`,
/// `package`, `limits`, `headers`, `body`, and `text` (exactly what `acepack explain` prints).
pub fn explain(
    engine: &Engine,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    now_us: u64,
) -> Result<Value, InputError> {
    let (authority, path) = request_target(url, headers).map_err(InputError)?;
    let req = Request {
        method,
        path: &path,
        authority: &authority,
        headers,
        client_ip: None,
    };
    let decision = engine.decide(&req, &mut MemoryStore::new(), now_us);
    Ok(to_json(&describe(engine, &decision)))
}

/// The explanation as the page reads it.
fn to_json(e: &acepack_filter::explain::Explanation) -> Value {
    let limits: Vec<Value> = e
        .limits
        .iter()
        .map(|w| json!({"limit": w.limit, "remaining": w.remaining, "reset_seconds": w.reset_seconds}))
        .collect();
    let headers: Vec<Value> = e.headers.iter().map(|(k, v)| json!([k, v])).collect();
    let mut out = json!({
        "decision": e.verdict.as_str(),
        "limits": limits,
        "headers": headers,
        "text": e.text,
    });
    if let Some(status) = e.status {
        out["status"] = json!(status);
    }
    if let Some(reason) = e.reason {
        out["reason"] = json!(reason);
    }
    if e.operation.is_some() || e.verdict != acepack_filter::explain::Verdict::Pass {
        out["operation"] = json!(e.operation);
        out["application"] = json!(e.application);
    }
    if let Some(p) = &e.package {
        out["package"] = json!(p);
    }
    if e.package.is_some() && !e.limits.is_empty() {
        out["operation_override"] = json!(e.operation_override);
    }
    if let Some(body) = e.body {
        out["body"] = json!(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_headers;

    #[test]
    fn headers() {
        assert_eq!(
            parse_headers("X-Api-Key: k\n\n Host : a.b ").unwrap(),
            vec![("x-api-key".into(), "k".into()), ("host".into(), "a.b".into())]
        );
        assert!(parse_headers("nocolon").is_err());
    }
}
