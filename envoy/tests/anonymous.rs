//! The anonymous application (docs/enforcement.md#decision-order step 2, docs/enforcement.md#rate-limits): used when a request has no credential,
//! limited per client address. Clients bind distinct loopback source addresses (127.0.0.x).

use std::net::Ipv4Addr;
use std::time::Instant;

use acepack_envoy::expect::{denied, retry_after_within};
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

fn from(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, last)
}

#[test]
fn anonymous_requests_are_limited_per_client_address() {
    let s = Scenario::start("anon-per-address", "anonymous.yaml", Some("routes.yaml"));
    let req = |src: u8| Request::get("/v1/flights").from_addr(from(src));
    let first = Instant::now();
    for _ in 0..2 {
        let r = s.send(&req(2));
        assert_eq!(r.status, 200, "{}", r.summary());
        let e = echoed(&r);
        assert_eq!(e.header("x-ace-application"), Some("anon"));
        assert_eq!(e.header("x-ace-package"), Some("public"));
    }
    let r = s.send(&req(2));
    denied(&r, 429, "rate_limited");
    // 2/minute: one token every 30 s.
    retry_after_within(&r, 30, first);
    // Another client address has its own bucket.
    assert_eq!(s.send(&req(3)).status, 200);
    // A keyed application's bucket is its own, from any address.
    let r = s.send(
        &Request::get("/v1/flights")
            .header("apikey", "k-keyed")
            .from_addr(from(2)),
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(echoed(&r).header("x-ace-application"), Some("keyed"));
}

/// The filter takes the client address from Envoy (`source.address`), which at an edge Envoy
/// (`use_remote_address: true`, as in the harness) is the TCP peer. With Envoy's default
/// (`false`) Envoy itself derives that address from the last `X-Forwarded-For` entry.
#[test]
fn anonymous_limits_use_the_peer_address_not_x_forwarded_for() {
    let s = Scenario::start("anon-xff", "anonymous.yaml", Some("routes.yaml"));
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = s.send(
            &Request::get("/v1/flights")
                .header("X-Forwarded-For", &format!("198.51.100.{i}"))
                .header("X-Real-IP", &format!("198.51.100.{i}"))
                .from_addr(from(4)),
        );
        statuses.push(r.status);
    }
    assert_eq!(
        statuses,
        vec![200, 200, 429, 429],
        "a client cannot pick its bucket with X-Forwarded-For"
    );
}

#[test]
fn anonymous_does_not_excuse_bad_keys_or_missing_grants() {
    let s = Scenario::start("anon-denials", "anonymous.yaml", Some("routes.yaml"));
    // A key that is not registered is 401 even though anonymous access exists.
    denied(
        &s.send(
            &Request::get("/v1/flights")
                .header("apikey", "k-nobody")
                .from_addr(from(5)),
        ),
        401,
        "invalid_credential",
    );
    // The anonymous application's grants apply: getFlight is not in `public`.
    denied(
        &s.send(&Request::get("/v1/flights/A1").from_addr(from(5))),
        403,
        "forbidden",
    );
    assert_eq!(s.upstream.count(), 0);
}
