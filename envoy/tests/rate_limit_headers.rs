//! Checks docs/enforcement.md#rate-limit-headers header styles other than the default (`draft03`, `none`), and
//! `cors_preflight: enforce`, through a real Envoy.

use std::time::Instant;

use acepack_envoy::expect::{denied, int_header, no_rate_limit_headers, retry_after_within, within_refill};
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

#[test]
fn draft03_headers_report_the_binding_window() {
    let s = Scenario::start("rlh-draft03", "draft03.yaml", Some("routes.yaml"));
    let req = || Request::get("/v1/flights/A1").header("apikey", "k-draft");
    let first = Instant::now();
    for remaining in [2, 1, 0] {
        let r = s.send(&req());
        assert_eq!(r.status, 200, "{}", r.summary());
        assert_eq!(echoed(&r).header("x-ace-package"), Some("small"));
        assert_eq!(int_header(&r, "ratelimit-limit"), 3, "{}", r.summary());
        assert_eq!(int_header(&r, "ratelimit-remaining"), remaining, "{}", r.summary());
        // 3/minute: each token taken is 20 s until the bucket is full again, less the refill.
        let taken = 3 - remaining as u64;
        let reset = int_header(&r, "ratelimit-reset") as u64;
        within_refill("RateLimit-Reset", reset, 20 * taken, 0, first, &r);
        assert!(
            r.header("ratelimit").is_none() && r.header("ratelimit-policy").is_none(),
            "no IETF fields: {}",
            r.summary()
        );
    }
    let r = s.send(&req());
    denied(&r, 429, "rate_limited");
    retry_after_within(&r, 20, first);
    assert_eq!(int_header(&r, "ratelimit-remaining"), 0);
    assert_eq!(int_header(&r, "ratelimit-limit"), 3);
    let reset = int_header(&r, "ratelimit-reset") as u64;
    within_refill("RateLimit-Reset on the 429", reset, 60, 1, first, &r);
}

#[test]
fn cors_preflight_enforce_treats_preflights_like_any_request() {
    let s = Scenario::start("rlh-cors-enforce", "draft03.yaml", Some("routes.yaml"));
    let r = s.send(
        &Request::new("OPTIONS", "/v1/flights")
            .header("Origin", "https://app.example.test")
            .header("Access-Control-Request-Method", "GET"),
    );
    // No operation is OPTIONS /v1/flights, and preflights get no exemption: 404 under required.
    denied(&r, 404, "no_match");
    assert_eq!(s.upstream.count(), 0);
}

#[test]
fn none_sends_no_rate_limit_headers_but_still_limits() {
    let s = Scenario::start("rlh-none", "noheaders.yaml", Some("routes.yaml"));
    let first = Instant::now();
    for _ in 0..2 {
        let r = s.send(&Request::get("/v1/flights").header("apikey", "k-quiet"));
        assert_eq!(r.status, 200, "{}", r.summary());
        no_rate_limit_headers(&r);
    }
    let r = s.send(&Request::get("/v1/flights").header("apikey", "k-quiet"));
    denied(&r, 429, "rate_limited");
    no_rate_limit_headers(&r);
    // 2/minute: one token every 30 s.
    retry_after_within(&r, 30, first);
}
