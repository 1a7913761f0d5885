//! Step 4, limit: charge the first granted package bucket with capacity (docs/enforcement.md,
//! grants and charging), or deny with 429 and the shortest wait; a store failure denies with 503.

use smallvec::SmallVec;

use crate::bundle::{Bundle, RateLimitMode};
use crate::limiter::{self, LimitError, Outcome, Store};

use super::authorize::PackageGrants;
use super::decision::{deny, Allow, Charge, Decision, Deny, Reason};
use super::identify::Identity;
use super::keys::bucket_key;
use super::scope::Scope;

/// Charges the first of `grants` with capacity (an unlimited package admits at once).
pub(crate) fn charge<S: Store + ?Sized>(
    bundle: &Bundle,
    scopes: &[Scope],
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
    let global_only = bundle.global.as_ref().is_some_and(|g| g.mode == RateLimitMode::Global);
    for m in grants {
        let Some(scope) = scopes.get(m.scope as usize) else {
            continue;
        };
        if scope.limits().is_empty() {
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
            let key = bucket_key(&digest, &scope.key_part(bundle));
            match limiter::take(store, &key, scope.limits(), now_us) {
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
