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
}

impl Scope {
    pub(crate) fn new(package: u32, package_id: &str, operation: Option<u32>, limits: &[Limit]) -> Scope {
        let mut policy = String::new();
        for (i, l) in limits.iter().enumerate() {
            if i > 0 {
                policy.push_str(", ");
            }
            policy.push('"');
            policy.push_str(package_id);
            policy.push_str("\";q=");
            push_u64(&mut policy, l.count);
            policy.push_str(";w=");
            push_u64(&mut policy, u64::from(l.window_seconds));
        }
        Scope {
            package,
            operation,
            key_part: OnceLock::new(),
            limits: limits.iter().copied().collect(),
            policy,
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
}
