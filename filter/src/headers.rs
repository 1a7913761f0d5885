//! Rate-limit response headers (§4.5): IETF httpapi RateLimit fields (draft 11) or draft 03.

use smallvec::SmallVec;

use crate::bundle::RateLimitHeaders;
use crate::engine::{Allow, Charge, Deny, Engine};
use crate::limiter::Outcome;

/// Header name/value pairs to add to a response.
pub type HeaderList = SmallVec<[(&'static str, String); 5]>;

/// Appends the decimal form of `v` (no `core::fmt`: this runs on every charged response).
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    for &b in buf.get(i..).unwrap_or_default() {
        out.push(char::from(b));
    }
}

fn number(v: u64) -> String {
    let mut s = String::with_capacity(8);
    push_u64(&mut s, v);
    s
}

/// The rate-limit headers for a response charged to `package_id`'s bucket; `policy` is the
/// bucket's precomputed `RateLimit-Policy` value ([`Engine::policy`]).
pub fn rate_limit_headers(style: RateLimitHeaders, package_id: &str, policy: &str, outcome: &Outcome) -> HeaderList {
    let mut out = HeaderList::new();
    let Some(binding) = outcome.binding() else { return out };
    match style {
        RateLimitHeaders::None => {}
        RateLimitHeaders::Ietf => {
            out.push(("ratelimit-policy", policy.to_owned()));
            let mut v = String::with_capacity(package_id.len() + 24);
            v.push('"');
            v.push_str(package_id);
            v.push_str("\";r=");
            push_u64(&mut v, binding.remaining);
            v.push_str(";t=");
            push_u64(&mut v, binding.reset_seconds);
            out.push(("ratelimit", v));
        }
        RateLimitHeaders::Draft03 => {
            out.push(("ratelimit-limit", number(binding.limit.count)));
            out.push(("ratelimit-remaining", number(binding.remaining)));
            out.push(("ratelimit-reset", number(binding.reset_seconds)));
        }
    }
    out
}

fn charged(engine: &Engine, charge: Option<&Charge>, out: &mut HeaderList) {
    let bundle = engine.bundle();
    if let Some(c) = charge {
        if let Some(p) = bundle.packages.get(c.package as usize) {
            out.extend(rate_limit_headers(
                bundle.enforcement.rate_limit_headers,
                &p.id,
                engine.policy(c.scope),
                &c.outcome,
            ));
        }
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
        let policy = "\"flight-billing\";q=5;w=1, \"flight-billing\";q=10000;w=86400";
        let h = rate_limit_headers(RateLimitHeaders::Ietf, "flight-billing", policy, &outcome());
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
    fn integers_without_fmt() {
        for v in [0u64, 7, 10, 99, 100, 12_345, u64::MAX] {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
        }
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
                "ratelimit-reset: 70000"
            ]
        );
        assert!(rate_limit_headers(RateLimitHeaders::None, "p", "", &outcome()).is_empty());
    }
}
