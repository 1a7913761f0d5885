//! Rate-limit response headers (§4.5): IETF httpapi RateLimit fields (draft 11) or draft 03.

use std::fmt::Write;

use smallvec::SmallVec;

use crate::bundle::RateLimitHeaders;
use crate::limiter::Outcome;

/// Header name/value pairs to add to a response.
pub type HeaderList = SmallVec<[(&'static str, String); 3]>;

/// The rate-limit headers for a response charged to `package_id`'s bucket.
pub fn rate_limit_headers(style: RateLimitHeaders, package_id: &str, outcome: &Outcome) -> HeaderList {
    let mut out = HeaderList::new();
    let Some(binding) = outcome.binding() else { return out };
    match style {
        RateLimitHeaders::None => {}
        RateLimitHeaders::Ietf => {
            let mut policy = String::new();
            for (i, w) in outcome.windows.iter().enumerate() {
                if i > 0 {
                    policy.push_str(", ");
                }
                let _ = write!(policy, "\"{package_id}\";q={};w={}", w.limit.count, w.limit.window_seconds);
            }
            out.push(("ratelimit-policy", policy));
            out.push(("ratelimit", format!("\"{package_id}\";r={};t={}", binding.remaining, binding.reset_seconds)));
        }
        RateLimitHeaders::Draft03 => {
            out.push(("ratelimit-limit", binding.limit.count.to_string()));
            out.push(("ratelimit-remaining", binding.remaining.to_string()));
            out.push(("ratelimit-reset", binding.reset_seconds.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Limit;
    use crate::limiter::WindowState;

    fn outcome() -> Outcome {
        Outcome {
            admitted: true,
            retry_after: 0,
            windows: [
                WindowState { limit: Limit { count: 5, window_seconds: 1 }, remaining: 4, reset_seconds: 1 },
                WindowState { limit: Limit { count: 10_000, window_seconds: 86_400 }, remaining: 2, reset_seconds: 70_000 },
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn ietf_lists_every_window_and_the_binding_one() {
        let h = rate_limit_headers(RateLimitHeaders::Ietf, "flight-billing", &outcome());
        assert_eq!(h[0], ("ratelimit-policy", "\"flight-billing\";q=5;w=1, \"flight-billing\";q=10000;w=86400".to_string()));
        assert_eq!(h[1], ("ratelimit", "\"flight-billing\";r=2;t=70000".to_string()));
    }

    #[test]
    fn draft03_and_none() {
        let h = rate_limit_headers(RateLimitHeaders::Draft03, "p", &outcome());
        let v: Vec<_> = h.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(v, ["ratelimit-limit: 10000", "ratelimit-remaining: 2", "ratelimit-reset: 70000"]);
        assert!(rate_limit_headers(RateLimitHeaders::None, "p", &outcome()).is_empty());
    }
}
