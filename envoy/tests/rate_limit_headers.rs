//! Contract docs/enforcement.md#rate-limit-headers header styles other than the default (`draft03`, `none`), and
//! `cors_preflight: enforce`, through a real Envoy.

use acepack_envoy::expect::{denied, int_header, no_rate_limit_headers, retry_after};
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

#[test]
fn draft03_headers_report_the_binding_window() {
    let s = Scenario::start("rlh-draft03", "draft03.yaml", Some("routes.yaml"));
    let req = || Request::get("/v1/flights/A1").header("apikey", "k-draft");
    for remaining in [2, 1, 0] {
        let r = s.send(&req());
        assert_eq!(r.status, 200, "{}", r.summary());
        assert_eq!(echoed(&r).header("x-ace-package"), Some("small"));
        assert_eq!(int_header(&r, "ratelimit-limit"), 3, "{}", r.summary());
        assert_eq!(int_header(&r, "ratelimit-remaining"), remaining, "{}", r.summary());
        let reset = int_header(&r, "ratelimit-reset");
        assert!((0..=60).contains(&reset), "RateLimit-Reset {reset}");
        assert!(
            r.header("ratelimit").is_none() && r.header("ratelimit-policy").is_none(),
            "no IETF fields: {}",
            r.summary()
        );
    }
    let r = s.send(&req());
    denied(&r, 429, "rate_limited");
    let wait = retry_after(&r);
    assert!(wait <= 20, "3/minute refills every 20 s; Retry-After {wait}");
    assert_eq!(int_header(&r, "ratelimit-remaining"), 0);
    assert_eq!(int_header(&r, "ratelimit-limit"), 3);
    let reset = int_header(&r, "ratelimit-reset");
    assert!((1..=60).contains(&reset), "RateLimit-Reset on 429: {reset}");
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
    for _ in 0..2 {
        let r = s.send(&Request::get("/v1/flights").header("apikey", "k-quiet"));
        assert_eq!(r.status, 200, "{}", r.summary());
        no_rate_limit_headers(&r);
    }
    let r = s.send(&Request::get("/v1/flights").header("apikey", "k-quiet"));
    denied(&r, 429, "rate_limited");
    no_rate_limit_headers(&r);
    assert!(retry_after(&r) <= 30);
}
