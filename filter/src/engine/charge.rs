//! Step 4, limit: charge the first granted package bucket with capacity (docs/enforcement.md,
//! grants and charging), or deny with 429 and the shortest wait; a store failure denies with 503.
//! Also owns the bucket scopes the charges are made to.

use std::sync::OnceLock;

use smallvec::SmallVec;

use crate::bundle::{Bundle, Limit, RateLimitMode};
use crate::decimal::push_u64;
use crate::limiter::{self, LimitError, Outcome, Store};

use super::authorize::PackageGrants;
use super::decision::{deny, Allow, Charge, Decision, Deny, Reason};
use super::identify::Identity;
use super::keys::{bucket_key, scope_key, SCOPE_PART_LEN};
use super::Engine;

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
    pub(crate) policy: String,
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

    /// The scope's limits.
    pub(crate) fn limits(&self) -> &[Limit] {
        &self.limits
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

    /// The scope's part of bucket keys.
    fn key_part(&self, bundle: &Bundle) -> [u8; SCOPE_PART_LEN] {
        *self.key_part.get_or_init(|| {
            let package_id = bundle.packages.get(self.package as usize).map_or("", |p| p.id.as_str());
            let operation_id = self.operation.map(|o| bundle.operation_id(o));
            scope_key(package_id, operation_id)
        })
    }
}

/// Charges the first of `grants` with capacity (an unlimited package admits at once).
pub(crate) fn charge<S: Store + ?Sized>(
    engine: &Engine,
    grants: PackageGrants<'_>,
    identity: Identity,
    operation: u32,
    store: &mut S,
    now_us: u64,
) -> Decision {
    let Identity {
        application,
        digest,
        hide,
    } = identity;
    let mut best_denial: Option<Charge> = None;
    // Global mode: the rate limit service decides, nothing is counted here (the proxy asks it about
    // the first granted bucket; docs/global-rate-limits.md).
    let global_only = engine
        .bundle()
        .global
        .as_ref()
        .is_some_and(|g| g.mode == RateLimitMode::Global);
    for m in grants {
        let Some(scope) = engine.scopes.get(m.scope as usize) else {
            continue;
        };
        if scope.limits.is_empty() {
            return Decision::Allow(Allow {
                operation,
                application,
                package: Some(m.package),
                charge: None,
                hide,
            });
        }
        let outcome = if global_only {
            Outcome {
                admitted: true,
                retry_after: 0,
                windows: SmallVec::new(),
            }
        } else {
            let key = bucket_key(&digest, &scope.key_part(engine.bundle()));
            match limiter::take(store, &key, &scope.limits, now_us) {
                Ok(outcome) => outcome,
                Err(LimitError::Store | LimitError::Contention) => {
                    return deny(503, Reason::LimiterUnavailable, Some(operation), Some(application));
                }
            }
        };
        let charge = Charge {
            package: m.package,
            scope: m.scope,
            operation_override: m.is_override,
            outcome,
            credential: digest,
        };
        if charge.outcome.admitted {
            return Decision::Allow(Allow {
                operation,
                application,
                package: Some(m.package),
                charge: Some(charge),
                hide,
            });
        }
        if best_denial
            .as_ref()
            .is_none_or(|b| charge.outcome.retry_after < b.outcome.retry_after)
        {
            best_denial = Some(charge);
        }
    }
    Decision::Deny(Deny {
        status: 429,
        reason: Reason::RateLimited,
        retry_after: best_denial.as_ref().map(|c| c.outcome.retry_after),
        www_authenticate: false,
        operation: Some(operation),
        application: Some(application),
        charge: best_denial,
    })
}
