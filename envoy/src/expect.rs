//! Assertions on acepack's answers (docs/enforcement.md#decision-order, docs/enforcement.md#rate-limit-headers), shared by the end-to-end tests.

use crate::http::Response;

/// The `reason` values of docs/enforcement.md#decision-order.
pub const REASONS: [&str; 7] = [
    "no_match",
    "non_canonical",
    "unauthenticated",
    "invalid_credential",
    "forbidden",
    "rate_limited",
    "limiter_unavailable",
];

/// Asserts a local denial: the status, `content-type: application/json`, a JSON object body with a
/// non-empty string `message` and this `reason`, and that it did not come from the upstream.
///
/// # Panics
/// When any of these does not hold.
pub fn denied(r: &Response, status: u16, reason: &str) {
    let ctx = r.summary();
    assert_eq!(r.status, status, "status; {ctx}");
    assert!(
        r.header("x-echo").is_none(),
        "a denial must not reach the upstream; {ctx}"
    );
    let ct = r.header("content-type").unwrap_or("");
    assert!(
        ct.to_ascii_lowercase().starts_with("application/json"),
        "content-type {ct:?}; {ctx}"
    );
    let body = r.json();
    let msg = body.get("message").and_then(|m| m.as_str());
    assert!(
        msg.is_some_and(|m| !m.trim().is_empty()),
        "body needs a non-empty string \"message\"; {ctx}"
    );
    assert_eq!(
        body.get("reason").and_then(|m| m.as_str()),
        Some(reason),
        "reason; {ctx}"
    );
}

/// `Retry-After` as whole seconds (docs/enforcement.md#decision-order: an integer ≥ 1).
///
/// # Panics
/// When the header is missing or not a positive integer.
pub fn retry_after(r: &Response) -> u64 {
    let v = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After; {}", r.summary()));
    let n: u64 = v
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After {v:?} is not whole seconds"));
    assert!(n >= 1, "Retry-After must be >= 1, got {n}");
    n
}

/// Asserts that a count of seconds that was `full` when the bucket was last charged, and falls by
/// one per second of refill, is within what the time since `since` (taken before the bucket's
/// first request) allows: `full - ⌈elapsed⌉ ..= full`, never below `floor`. The test's clock only
/// widens the range for refill; it never judges speed.
///
/// # Panics
/// When `value` is outside that range.
pub fn within_refill(what: &str, value: u64, full: u64, floor: u64, since: std::time::Instant, r: &Response) {
    let refilled = since.elapsed().as_secs() + 1;
    let least = full.saturating_sub(refilled).max(floor);
    assert!(
        (least..=full).contains(&value),
        "{what} {value}, expected {least}..={full}; {}",
        r.summary()
    );
}

/// Asserts a 429's `Retry-After` for a bucket that refills one token every `per_token` seconds
/// and was emptied by requests sent since `since` (see [`within_refill`]; at least 1).
///
/// # Panics
/// When the header is missing or out of range.
pub fn retry_after_within(r: &Response, per_token: u64, since: std::time::Instant) {
    within_refill("Retry-After", retry_after(r), per_token, 1, since, r);
}

/// One item of an IETF structured-field list: the quoted name and its integer parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfItem {
    /// The item (the package id), unquoted.
    pub name: String,
    /// Parameters in order, e.g. `[("q", 5), ("w", 60)]`.
    pub params: Vec<(String, i64)>,
}

impl SfItem {
    /// A parameter's value.
    pub fn param(&self, key: &str) -> Option<i64> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Parses every value of a structured-field list header (`"a";q=1;w=60, "b";q=2;w=3600`), across
/// repeated header lines.
///
/// # Panics
/// On a malformed item.
pub fn sf_list(r: &Response, header: &str) -> Vec<SfItem> {
    let mut out = Vec::new();
    for value in r.header_all(header) {
        for item in value.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim();
            assert!(
                name.len() >= 2 && name.starts_with('"') && name.ends_with('"'),
                "{header}: item {item:?} must start with a quoted string"
            );
            let params = parts
                .map(|p| {
                    let (k, v) = p
                        .trim()
                        .split_once('=')
                        .unwrap_or_else(|| panic!("{header}: bad parameter {p:?}"));
                    let v: i64 = v
                        .trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("{header}: {k}={v} is not an integer"));
                    (k.trim().to_string(), v)
                })
                .collect();
            out.push(SfItem {
                name: name[1..name.len() - 1].to_string(),
                params,
            });
        }
    }
    out
}

/// The IETF `RateLimit` field (docs/enforcement.md#rate-limit-headers): exactly one item; returns (package, r, t).
///
/// # Panics
/// When the header is missing, has several items, or lacks `r` or `t`.
pub fn ietf_ratelimit(r: &Response) -> (String, i64, i64) {
    let items = sf_list(r, "ratelimit");
    assert_eq!(items.len(), 1, "exactly one RateLimit item expected; {}", r.summary());
    let it = &items[0];
    let rem = it
        .param("r")
        .unwrap_or_else(|| panic!("RateLimit without r; {}", r.summary()));
    let t = it
        .param("t")
        .unwrap_or_else(|| panic!("RateLimit without t; {}", r.summary()));
    (it.name.clone(), rem, t)
}

/// The IETF `RateLimit-Policy` items (docs/enforcement.md#rate-limit-headers) as (package, q, w).
///
/// # Panics
/// When an item lacks `q` or `w`.
pub fn ietf_policies(r: &Response) -> Vec<(String, i64, i64)> {
    sf_list(r, "ratelimit-policy")
        .into_iter()
        .map(|it| {
            let q = it
                .param("q")
                .unwrap_or_else(|| panic!("RateLimit-Policy without q: {it:?}"));
            let w = it
                .param("w")
                .unwrap_or_else(|| panic!("RateLimit-Policy without w: {it:?}"));
            (it.name, q, w)
        })
        .collect()
}

/// Asserts that no rate-limit header of either style is present.
///
/// # Panics
/// When one is.
pub fn no_rate_limit_headers(r: &Response) {
    for h in [
        "ratelimit",
        "ratelimit-policy",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    ] {
        assert!(r.header(h).is_none(), "unexpected {h} header; {}", r.summary());
    }
}

/// A header parsed as an integer.
///
/// # Panics
/// When missing or not an integer.
pub fn int_header(r: &Response, name: &str) -> i64 {
    let v = r
        .header(name)
        .unwrap_or_else(|| panic!("no {name} header; {}", r.summary()));
    v.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{name}: {v:?} is not an integer"))
}
