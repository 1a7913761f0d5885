//! Rate-limit response headers (docs/enforcement.md#rate-limit-headers): IETF httpapi RateLimit fields (draft 11) or draft 03.

use smallvec::SmallVec;

use crate::bundle::RateLimitHeaders;
use crate::decimal::number;
pub use crate::decimal::push_u64;
use crate::engine::{Allow, Charge, Deny, Engine};
use crate::limiter::{Outcome, WindowState};

/// Header name/value pairs to add to a response.
pub type HeaderList = SmallVec<[(&'static str, String); 5]>;

/// Calls `emit(name, value)` for each rate-limit header of a response charged to `package_id`'s
/// bucket, whose binding window is `binding`; `policy` is the bucket's precomputed
/// `RateLimit-Policy` value ([`Engine::policy`]). Values are formatted in `scratch`, which a caller
/// can keep and reuse (no allocation once it has grown).
pub fn emit_rate_limit_headers(
    style: RateLimitHeaders,
    package_id: &str,
    policy: &str,
    binding: &WindowState,
    scratch: &mut String,
    mut emit: impl FnMut(&'static str, &str),
) {
    match style {
        RateLimitHeaders::None => {}
        RateLimitHeaders::Ietf => {
            emit("ratelimit-policy", policy);
            scratch.clear();
            scratch.push('"');
            scratch.push_str(package_id);
            scratch.push_str("\";r=");
            push_u64(scratch, binding.remaining());
            scratch.push_str(";t=");
            push_u64(scratch, binding.reset_seconds());
            emit("ratelimit", scratch);
        }
        RateLimitHeaders::Draft03 => {
            for (name, v) in [
                ("ratelimit-limit", binding.limit.count),
                ("ratelimit-remaining", binding.remaining()),
                ("ratelimit-reset", binding.reset_seconds()),
            ] {
                scratch.clear();
                push_u64(scratch, v);
                emit(name, scratch);
            }
        }
    }
}

/// The rate-limit headers for a response charged to `package_id`'s bucket, as a list (see
/// [`emit_rate_limit_headers`]).
pub fn rate_limit_headers(style: RateLimitHeaders, package_id: &str, policy: &str, outcome: &Outcome) -> HeaderList {
    let mut out = HeaderList::new();
    if let Some(binding) = outcome.binding() {
        let mut scratch = String::new();
        emit_rate_limit_headers(style, package_id, policy, binding, &mut scratch, |k, v| {
            out.push((k, v.to_owned()))
        });
    }
    out
}

/// What a charged response's rate-limit headers are made of: small and `Copy`, so a stream keeps
/// it from the request phase to the response phase and formats the headers only then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    /// The charged package.
    pub package: u32,
    /// The bucket's scope ([`Engine::policy`]).
    pub scope: u32,
    /// The binding window after the decision.
    pub binding: WindowState,
}

impl RateLimitState {
    /// The state of a charge, if it has a window.
    pub fn of(charge: &Charge) -> Option<RateLimitState> {
        Some(RateLimitState {
            package: charge.package,
            scope: charge.scope,
            binding: *charge.outcome.binding()?,
        })
    }

    /// Emits the headers (see [`emit_rate_limit_headers`]).
    pub fn emit(&self, engine: &Engine, scratch: &mut String, emit: impl FnMut(&'static str, &str)) {
        let bundle = engine.bundle();
        if let Some(p) = bundle.packages.get(self.package as usize) {
            emit_rate_limit_headers(
                bundle.enforcement.rate_limit_headers,
                &p.id,
                engine.policy(self.scope),
                &self.binding,
                scratch,
                emit,
            );
        }
    }
}

fn charged(engine: &Engine, charge: Option<&Charge>, out: &mut HeaderList) {
    if let Some(state) = charge.and_then(RateLimitState::of) {
        let mut scratch = String::new();
        state.emit(engine, &mut scratch, |k, v| out.push((k, v.to_owned())));
    }
}

/// The headers of a denial's local response (the body is [`crate::engine::Reason::body`]).
pub fn deny_headers(engine: &Engine, d: &Deny) -> HeaderList {
    let mut out = HeaderList::new();
    out.push(("content-type", "application/json".to_owned()));
    if d.www_authenticate {
        out.push(("www-authenticate", "Key realm=\"acepack\"".to_owned()));
    }
    if let Some(s) = d.retry_after {
        out.push(("retry-after", number(s)));
    }
    charged(engine, d.charge.as_ref(), &mut out);
    out
}

/// Headers to add to the upstream's response for an allowed request (rate-limit fields when a
/// bucket was charged).
pub fn allow_response_headers(engine: &Engine, a: &Allow) -> HeaderList {
    let mut out = HeaderList::new();
    charged(engine, a.charge.as_ref(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Limit;

    fn outcome() -> Outcome {
        Outcome {
            admitted: true,
            retry_after: 0,
            windows: [
                WindowState {
                    limit: Limit {
                        count: 5,
                        window_seconds: 1,
                    },
                    // 4 tokens left, 1 s to full.
                    level: 4_000_000,
                },
                WindowState {
                    limit: Limit {
                        count: 10_000,
                        window_seconds: 86_400,
                    },
                    // Exactly 2 tokens left: 9,998 missing, refilled at 10,000 a day, full in
                    // ⌈9,998 × 86,400 / 10,000⌉ = 86,383 s.
                    level: 2 * 86_400 * 1_000_000,
                },
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn ietf_lists_every_window_and_the_binding_one() {
        let policy = "\"flight-billing\";q=5;w=1, \"flight-billing\";q=10000;w=86400";
        let h = rate_limit_headers(RateLimitHeaders::Ietf, "flight-billing", policy, &outcome());
        assert_eq!(
            h[0],
            (
                "ratelimit-policy",
                "\"flight-billing\";q=5;w=1, \"flight-billing\";q=10000;w=86400".to_string()
            )
        );
        assert_eq!(h[1], ("ratelimit", "\"flight-billing\";r=2;t=86383".to_string()));
    }

    #[test]
    fn draft03_and_none() {
        let h = rate_limit_headers(RateLimitHeaders::Draft03, "p", "", &outcome());
        let v: Vec<_> = h.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            v,
            [
                "ratelimit-limit: 10000",
                "ratelimit-remaining: 2",
                "ratelimit-reset: 86383"
            ]
        );
        assert!(rate_limit_headers(RateLimitHeaders::None, "p", "", &outcome()).is_empty());
    }
}
