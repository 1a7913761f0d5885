//! A decision told for people: what `acepack explain` prints and what the developer portal's
//! "try it" shows (docs/cli.md, docs/portal.md). Both run the engine on one request with fresh
//! buckets and hand the [`Decision`] here, so the two can never describe a request differently.

use std::fmt::Write;

use crate::bundle::{Bundle, Limit};
use crate::engine::{Charge, Decision, Engine};
use crate::headers::{allow_response_headers, deny_headers, HeaderList};

/// Splits `http://host/path?q` or `/path?q` into (authority, path-with-query).
pub fn split_url(url: &str) -> (Option<&str>, &str) {
    for scheme in ["http://", "https://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            return match rest.find(['/', '?']) {
                Some(i) => (rest.get(..i), rest.get(i..).unwrap_or("/")),
                None => (Some(rest), "/"),
            };
        }
    }
    (None, url)
}

/// The `:authority` and `:path` a URL asks for: `http://host/path?q` or `/path?q` (then the `host`
/// header's value, else `localhost`). A path that does not start with `/` is refused rather than
/// guessed, since a guess would explain another request.
pub fn request_target(url: &str, headers: &[(String, String)]) -> Result<(String, String), String> {
    let (authority, path) = split_url(url);
    let full_url = authority.is_some();
    let authority = authority
        .map(str::to_owned)
        .or_else(|| headers.iter().find(|(k, _)| k == "host").map(|(_, v)| v.clone()))
        .unwrap_or_else(|| "localhost".to_owned());
    if path.starts_with('/') {
        Ok((authority, path.to_owned()))
    } else if full_url && (path.is_empty() || path.starts_with('?')) {
        // `http://host?q`: the request target is `/?q`.
        Ok((authority, format!("/{path}")))
    } else {
        Err(format!(
            "URL {url:?}: give a path starting with '/' (e.g. \"/{path}\") or a full URL (\"http://host/{path}\")"
        ))
    }
}

/// Parses one request header written `Name: value` into (lower-case name, trimmed value).
pub fn parse_header(line: &str) -> Option<(String, String)> {
    match line.split_once(':') {
        Some((k, v)) if !k.trim().is_empty() => Some((k.trim().to_ascii_lowercase(), v.trim().to_owned())),
        _ => None,
    }
}

/// A limit as the catalog writes it: `5/minute`.
pub fn limit_text(l: &Limit) -> String {
    let unit = match l.window_seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    };
    format!("{}/{unit}", l.count)
}

/// What kind of answer a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Forwarded untouched (no operation under `if_present`, or a CORS preflight).
    Pass,
    /// Forwarded to the upstream with the `x-ace-*` headers.
    Allow,
    /// Answered by the filter.
    Deny,
}

impl Verdict {
    /// `pass`, `allow` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
        }
    }
}

/// One window of the bucket a request was charged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowState {
    /// The limit, `5/minute`.
    pub limit: String,
    /// Tokens left after this request.
    pub remaining: u64,
    /// Seconds until the window is full again.
    pub reset_seconds: u64,
}

/// A decision with every name resolved, and the text `acepack explain` prints for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Pass, allow or deny.
    pub verdict: Verdict,
    /// The denial's status (`None` unless denied).
    pub status: Option<u16>,
    /// The denial's reason code (`None` unless denied).
    pub reason: Option<&'static str>,
    /// `id (api: METHOD /path)` of the matched operation.
    pub operation: Option<String>,
    /// The application's name.
    pub application: Option<String>,
    /// The package charged (or granting without a limit).
    pub package: Option<String>,
    /// Whether the charge went to an operation's own limit.
    pub operation_override: bool,
    /// The charged bucket's windows.
    pub limits: Vec<WindowState>,
    /// The response headers the filter adds (allowed) or answers with (denied).
    pub headers: Vec<(String, String)>,
    /// The JSON body of a denial.
    pub body: Option<&'static str>,
    /// The whole explanation as `acepack explain` prints it, one `name: value` line each.
    pub text: String,
}

/// Resolves `decision` (made by `engine`) into an [`Explanation`].
pub fn explain(engine: &Engine, decision: &Decision) -> Explanation {
    let b = engine.bundle();
    let mut e = Explanation {
        verdict: Verdict::Pass,
        status: None,
        reason: None,
        operation: None,
        application: None,
        package: None,
        operation_override: false,
        limits: Vec::new(),
        headers: Vec::new(),
        body: None,
        text: String::new(),
    };
    match decision {
        Decision::Pass => {
            line(
                &mut e.text,
                "status",
                "pass (forwarded untouched: no operation under if_present, or a CORS preflight)",
            );
        }
        Decision::Allow(a) => {
            e.verdict = Verdict::Allow;
            e.operation = operation(b, Some(a.operation));
            e.application = application(b, Some(a.application));
            line(&mut e.text, "status", "allow (forwarded to the upstream)");
            line(&mut e.text, "operation", e.operation.as_deref().unwrap_or_default());
            line(&mut e.text, "application", e.application.as_deref().unwrap_or_default());
            match (a.package, &a.charge) {
                (Some(p), None) => {
                    e.package = Some(package(b, p));
                    line(&mut e.text, "package", &format!("{} (no limit)", package(b, p)));
                }
                (None, _) => line(&mut e.text, "package", "none (API grant: no ACE limit)"),
                (Some(_), Some(c)) => charged(b, c, &mut e),
            }
            e.headers = owned(allow_response_headers(engine, a));
        }
        Decision::Deny(x) => {
            e.verdict = Verdict::Deny;
            e.status = Some(x.status);
            e.reason = Some(x.reason.as_str());
            e.body = Some(x.reason.body());
            e.operation = operation(b, x.operation);
            e.application = application(b, x.application);
            line(&mut e.text, "status", &format!("{} {}", x.status, x.reason.as_str()));
            if let Some(o) = &e.operation {
                line(&mut e.text, "operation", o);
            }
            if let Some(a) = &e.application {
                line(&mut e.text, "application", a);
            }
            if let Some(c) = &x.charge {
                charged(b, c, &mut e);
            }
            e.headers = owned(deny_headers(engine, x));
        }
    }
    for (k, v) in &e.headers {
        let _ = writeln!(e.text, "response:    {k}: {v}");
    }
    if let Some(body) = e.body {
        line(&mut e.text, "body", body);
    }
    e
}

fn owned(headers: HeaderList) -> Vec<(String, String)> {
    headers.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Appends `name: value`, the values aligned.
fn line(text: &mut String, name: &str, value: &str) {
    let _ = writeln!(text, "{:<13}{value}", format!("{name}:"));
}

fn operation(b: &Bundle, i: Option<u32>) -> Option<String> {
    i.and_then(|i| b.operations.get(i as usize)).map(|o| {
        let api = b.apis.get(o.api as usize).map_or("?", |a| a.name.as_str());
        format!("{} ({api}: {} {})", b.name(o.id), o.method, b.name(o.path))
    })
}

fn application(b: &Bundle, i: Option<u32>) -> Option<String> {
    i.and_then(|i| b.applications.get(i as usize))
        .map(|a| b.name(a.name).to_owned())
}

fn package(b: &Bundle, p: u32) -> String {
    b.packages.get(p as usize).map_or("?", |p| p.id.as_str()).to_owned()
}

/// The package and windows of a charge.
fn charged(b: &Bundle, c: &Charge, e: &mut Explanation) {
    let pkg = package(b, c.package);
    let scope = if c.operation_override {
        " (operation override)"
    } else {
        ""
    };
    line(&mut e.text, "package", &format!("{pkg}{scope}"));
    e.package = Some(pkg);
    e.operation_override = c.operation_override;
    for w in &c.outcome.windows {
        let state = WindowState {
            limit: limit_text(&w.limit),
            remaining: w.remaining(),
            reset_seconds: w.reset_seconds(),
        };
        line(
            &mut e.text,
            "limit",
            &format!(
                "{} — {} left, full in {} s",
                state.limit, state.remaining, state.reset_seconds
            ),
        );
        e.limits.push(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(split_url("http://h:1/a?b"), (Some("h:1"), "/a?b"));
        assert_eq!(split_url("https://h"), (Some("h"), "/"));
        assert_eq!(split_url("http://h?x=1"), (Some("h"), "?x=1"));
        assert_eq!(split_url("/a"), (None, "/a"));
        let host = [("host".to_owned(), "h.test".to_owned())];
        assert_eq!(request_target("/a?b", &host), Ok(("h.test".into(), "/a?b".into())));
        assert_eq!(request_target("http://x?q", &host), Ok(("x".into(), "/?q".into())));
        assert_eq!(request_target("/", &[]), Ok(("localhost".into(), "/".into())));
        assert!(request_target("a/b", &host).is_err());
    }

    #[test]
    fn headers_and_limits() {
        assert_eq!(parse_header(" X-Api-Key : k "), Some(("x-api-key".into(), "k".into())));
        assert_eq!(parse_header("nocolon"), None);
        assert_eq!(parse_header(": v"), None);
        let l = Limit {
            count: 5,
            window_seconds: 60,
        };
        assert_eq!(limit_text(&l), "5/minute");
    }

    #[test]
    fn text_lines_are_aligned_like_the_cli_always_printed_them() {
        let mut s = String::new();
        line(&mut s, "status", "allow");
        line(&mut s, "application", "a");
        assert_eq!(s, "status:      allow\napplication: a\n");
    }
}
