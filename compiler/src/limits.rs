//! `acepack limits`: the rate limit service's configuration for a catalog's buckets, for the
//! global rate-limit modes (docs/global-rate-limits.md). It is derived from the compiled bundle,
//! so bucket names are exactly what the filter sends.
//!
//! What the filter sends for a request charged to a bucket with windows `w₀ < w₁ < …`: one
//! descriptor per window, in that order, each with the entries `acepack_credential` (a hash of
//! the credential), `acepack_bucket` (the package id, or `package:operation` for an operation
//! override) and `acepack_window` (the window in seconds). So:
//!
//! - Limitador: one limit per (bucket, window): `conditions` on `descriptors[i]` (bucket and
//!   window), the credential as the `variables` (a counter per credential);
//! - envoyproxy/ratelimit: `acepack_credential` with no value (a counter per value), then the
//!   bucket, then the window with its `rate_limit` (windows are whole units: second, minute,
//!   hour, day — all a catalog allows).

use acepack_filter::bundle::{Bundle, Limit};
use acepack_filter::rls::{BUCKET_KEY, CREDENTIAL_KEY, WINDOW_KEY};

/// Which service the configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Limitador's limits file (YAML list of limits with CEL conditions).
    Limitador,
    /// envoyproxy/ratelimit's configuration file (YAML `domain` + `descriptors`).
    EnvoyRatelimit,
}

/// One bucket: its name and windows.
struct Bucket<'a> {
    name: String,
    limits: &'a [Limit],
}

fn buckets(bundle: &Bundle) -> Vec<Bucket<'_>> {
    let mut out = Vec::new();
    for p in &bundle.packages {
        if !p.limits.is_empty() {
            out.push(Bucket {
                name: p.id.clone(),
                limits: &p.limits,
            });
        }
        for po in &p.operations {
            if let Some(limits) = po.limits.as_deref().filter(|l| !l.is_empty()) {
                out.push(Bucket {
                    name: format!("{}:{}", p.id, bundle.operation_id(po.operation)),
                    limits,
                });
            }
        }
    }
    out
}

/// A YAML double-quoted scalar (a JSON string is one).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A CEL single-quoted string literal.
fn cel(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn unit(window_seconds: u32) -> &'static str {
    match window_seconds {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        _ => "day",
    }
}

/// The configuration text for `target`, for requests in `domain`.
pub fn render(bundle: &Bundle, domain: &str, target: Target) -> String {
    let buckets = buckets(bundle);
    let mut y = format!(
        "# acepack limits for {}, from {} (domain {}); see docs/global-rate-limits.md\n",
        match target {
            Target::Limitador => "Limitador",
            Target::EnvoyRatelimit => "envoyproxy/ratelimit",
        },
        bundle.catalog,
        quoted(domain)
    );
    match target {
        Target::Limitador => {
            if buckets.is_empty() {
                y.push_str("[]\n");
            }
            for b in &buckets {
                for (i, l) in b.limits.iter().enumerate() {
                    y.push_str(&format!("- namespace: {}\n", quoted(domain)));
                    y.push_str(&format!(
                        "  name: {}\n",
                        quoted(&format!("{} {}/{}", b.name, l.count, unit(l.window_seconds)))
                    ));
                    y.push_str(&format!("  max_value: {}\n  seconds: {}\n", l.count, l.window_seconds));
                    // One predicate, size check first: limitador evaluates every limit of the
                    // namespace against every request, and `&&` stops before a missing index.
                    y.push_str(&format!(
                        "  conditions:\n  - {}\n",
                        quoted(&format!(
                            "size(descriptors) > {i} && descriptors[{i}]['{BUCKET_KEY}'] == {} && descriptors[{i}]['{WINDOW_KEY}'] == '{}'",
                            cel(&b.name),
                            l.window_seconds
                        ))
                    ));
                    y.push_str(&format!(
                        "  variables:\n  - {}\n",
                        quoted(&format!("descriptors[{i}]['{CREDENTIAL_KEY}']"))
                    ));
                }
            }
        }
        Target::EnvoyRatelimit => {
            y.push_str(&format!("domain: {}\n", quoted(domain)));
            if buckets.is_empty() {
                y.push_str("descriptors: []\n");
                return y;
            }
            y.push_str(&format!("descriptors:\n- key: {CREDENTIAL_KEY}\n  descriptors:\n"));
            for b in &buckets {
                y.push_str(&format!(
                    "  - key: {BUCKET_KEY}\n    value: {}\n    descriptors:\n",
                    quoted(&b.name)
                ));
                for l in b.limits {
                    y.push_str(&format!(
                        "    - key: {WINDOW_KEY}\n      value: \"{}\"\n      rate_limit: {{ unit: {}, requests_per_unit: {} }}\n",
                        l.window_seconds,
                        unit(l.window_seconds),
                        l.count
                    ));
                }
            }
        }
    }
    y
}
