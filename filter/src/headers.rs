//! Rate-limit response headers (§4.5): IETF httpapi RateLimit fields (draft 11) or draft 03.

use std::fmt::Write;

use smallvec::SmallVec;

use crate::bundle::{Bundle, RateLimitHeaders};
use crate::engine::{Allow, Charge, Deny};
use crate::limiter::Outcome;

/// Header name/value pairs to add to a response.
pub type HeaderList = SmallVec<[(&'static str, String); 5]>;

fn charged(bundle: &Bundle, charge: Option<&Charge>, out: &mut HeaderList) {
    let style = bundle.enforcement.rate_limit_headers;
    if let Some(c) = charge {
        if let Some(p) = bundle.packages.get(c.package as usize) {
            out.extend(rate_limit_headers(style, &p.id, &c.outcome));
        }
    }
}

/// The headers of a denial's local response (the body is [`crate::engine::Reason::body`]).
pub fn deny_headers(bundle: &Bundle, d: &Deny) -> HeaderList {
    let mut out = HeaderList::new();
    out.push(("content-type", "application/json".to_owned()));
    if d.www_authenticate {
        out.push(("www-authenticate", "Key realm=\"acepack\"".to_owned()));
    }
    if let Some(s) = d.retry_after {
        out.push(("retry-after", s.to_string()));
    }
    charged(bundle, d.charge.as_ref(), &mut out);
    out
}

/// Headers to add to the upstream's response for an allowed request (rate-limit fields when a
/// bucket was charged).
pub fn allow_response_headers(bundle: &Bundle, a: &Allow) -> HeaderList {
    let mut out = HeaderList::new();
    charged(bundle, a.charge.as_ref(), &mut out);
    out
}

/// The rate-limit headers for a response charged to `package_id`'s bucket.
pub fn rate_limit_headers(style: RateLimitHeaders, package_id: &str, outcome: &Outcome) -> HeaderList {
    let mut out = HeaderList::new();
    let Some(binding) = outcome.binding() else {
        return out;
    };
    match style {
        RateLimitHeaders::None => {}
        RateLimitHeaders::Ietf => {
            let mut policy = String::new();
            for (i, w) in outcome.windows.iter().enumerate() {
                if i > 0 {
                    policy.push_str(", ");
                }
                let _ = write!(
                    policy,
                    "\"{package_id}\";q={};w={}",
                    w.limit.count, w.limit.window_seconds
                );
            }
            out.push(("ratelimit-policy", policy));
            out.push((
                "ratelimit",
                format!("\"{package_id}\";r={};t={}", binding.remaining, binding.reset_seconds),
            ));
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
                WindowState {
                    limit: Limit {
                        count: 5,
                        window_seconds: 1,
                    },
                    remaining: 4,
                    reset_seconds: 1,
                },
                WindowState {
                    limit: Limit {
                        count: 10_000,
                        window_seconds: 86_400,
                    },
                    remaining: 2,
                    reset_seconds: 70_000,
                },
            ]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn ietf_lists_every_window_and_the_binding_one() {
        let h = rate_limit_headers(RateLimitHeaders::Ietf, "flight-billing", &outcome());
        assert_eq!(
            h[0],
            (
                "ratelimit-policy",
                "\"flight-billing\";q=5;w=1, \"flight-billing\";q=10000;w=86400".to_string()
            )
        );
        assert_eq!(h[1], ("ratelimit", "\"flight-billing\";r=2;t=70000".to_string()));
    }

    #[test]
    fn draft03_and_none() {
        let h = rate_limit_headers(RateLimitHeaders::Draft03, "p", &outcome());
        let v: Vec<_> = h.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            v,
            [
                "ratelimit-limit: 10000",
                "ratelimit-remaining: 2",
                "ratelimit-reset: 70000"
            ]
        );
        assert!(rate_limit_headers(RateLimitHeaders::None, "p", &outcome()).is_empty());
    }
}
