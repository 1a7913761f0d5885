//! Bucket scopes: one per package and one per operation override, each with the stable part of
//! its bucket keys, its limits and its precomputed `RateLimit-Policy` value.

use std::sync::OnceLock;

use smallvec::SmallVec;

use crate::bundle::{Bundle, Limit};
use crate::decimal::push_u64;

use super::keys::{scope_key, SCOPE_PART_LEN};

/// A bucket scope: the stable part of its keys, its limits, and its `RateLimit-Policy` value
/// (rendered once at load so responses need no formatting of constants).
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    /// The package, and the operation of an override: what the key part is derived from.
    package: u32,
    operation: Option<u32>,
    /// Derived on first use (a SHA-256 each: thousands of scopes would cost P4 a few ms).
    key_part: OnceLock<[u8; SCOPE_PART_LEN]>,
    limits: SmallVec<[Limit; 2]>,
    policy: String,
    /// The name rate-limit headers give the bucket: the package id, or `<package id>/<operation
    /// id>` for an operation override (docs/enforcement.md#rate-limit-headers), escaped for a
    /// structured-field string.
    name: String,
}

impl Scope {
    /// `operation`: the override's operation and its id; `None` for the package's own bucket.
    pub(crate) fn new(package: u32, package_id: &str, operation: Option<(u32, &str)>, limits: &[Limit]) -> Scope {
        let mut name = String::with_capacity(package_id.len());
        push_sf_string_content(&mut name, package_id);
        if let Some((_, id)) = operation {
            name.push('/');
            push_sf_string_content(&mut name, id);
        }
        let mut policy = String::new();
        for (i, l) in limits.iter().enumerate() {
            if i > 0 {
                policy.push_str(", ");
            }
            policy.push('"');
            policy.push_str(&name);
            policy.push_str("\";q=");
            push_u64(&mut policy, l.count);
            policy.push_str(";w=");
            push_u64(&mut policy, u64::from(l.window_seconds));
        }
        Scope {
            package,
            operation: operation.map(|(o, _)| o),
            key_part: OnceLock::new(),
            limits: limits.iter().copied().collect(),
            policy,
            name,
        }
    }

    /// The scope's part of bucket keys.
    pub(crate) fn key_part(&self, bundle: &Bundle) -> [u8; SCOPE_PART_LEN] {
        *self.key_part.get_or_init(|| {
            let package_id = bundle.packages.get(self.package as usize).map_or("", |p| p.id.as_str());
            let operation_id = self.operation.map(|o| bundle.operation_id(o));
            scope_key(package_id, operation_id)
        })
    }

    /// The scope's windows (none: unlimited).
    pub(crate) fn limits(&self) -> &[Limit] {
        &self.limits
    }

    /// The `RateLimit-Policy` value.
    pub(crate) fn policy(&self) -> &str {
        &self.policy
    }

    /// The bucket's name in rate-limit headers.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The bucket's name for a rate limit service: the package id, or `package:operation` for
    /// an operation override (what `acepack limits` writes; docs/global-rate-limits.md).
    pub(crate) fn bucket_name(&self, bundle: &Bundle) -> String {
        let package_id = bundle.packages.get(self.package as usize).map_or("", |p| p.id.as_str());
        match self.operation {
            Some(o) => format!("{package_id}:{}", bundle.operation_id(o)),
            None => package_id.to_owned(),
        }
    }
}

/// Appends `s` as the content of a structured-field string (RFC 9651, section 3.3.3): `"` and `\`
/// escaped, anything outside printable ASCII replaced by `?` (ids are ASCII in practice).
fn push_sf_string_content(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
}
