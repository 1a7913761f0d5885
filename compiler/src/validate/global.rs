//! `enforcement.rate_limits` and `enforcement.global` (docs/global-rate-limits.md): a global
//! mode needs the rate limit service's cluster; the timeout and names must be usable by Envoy.

use acepack_filter::bundle::MAX_GLOBAL_TIMEOUT_MS;

use super::Ctx;
use crate::catalog::Enforcement;
use crate::model::{GlobalService, RateLimitMode};

/// The service of a global mode, checked; `None` in local mode (a `global` block is then unused,
/// which is a warning).
pub(super) fn global_service(ctx: &mut Ctx<'_>, e: &Enforcement) -> Option<GlobalService> {
    let Some(g) = &e.global else {
        if e.rate_limits != RateLimitMode::Local {
            ctx.error(
                "enforcement.rate_limits",
                "a global mode needs the rate limit service",
                Some("add enforcement.global with `cluster: NAME` (the Envoy cluster serving envoy.service.ratelimit.v3)".into()),
            );
        }
        return None;
    };
    if e.rate_limits == RateLimitMode::Local {
        ctx.warn(
            "enforcement.global",
            "unused: enforcement.rate_limits is local",
            Some("set `rate_limits: global` or `local+global`, or remove the block".into()),
        );
        return None;
    }
    let mut ok = true;
    for (place, value) in [
        ("enforcement.global.cluster", &g.cluster),
        ("enforcement.global.domain", &g.domain),
    ] {
        if value.trim().is_empty() || value.chars().any(char::is_control) {
            ctx.error(place, "must be a non-empty name without control characters", None);
            ok = false;
        }
    }
    if !(1..=MAX_GLOBAL_TIMEOUT_MS).contains(&g.timeout_ms) {
        ctx.error(
            "enforcement.global.timeout_ms",
            format!("{} is out of range", g.timeout_ms),
            Some(format!(
                "use 1 to {MAX_GLOBAL_TIMEOUT_MS} milliseconds (tens of milliseconds is usual)"
            )),
        );
        ok = false;
    }
    ok.then(|| g.clone())
}
