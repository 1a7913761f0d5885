//! `match_policy: if_present` (unmatched requests pass with nothing changed but client-sent
//! `x-ace-*` headers removed) and `hide_credentials`, through a real Envoy (catalog
//! `tests/data/passthrough.yaml`).

use acepack_envoy::expect::{denied, no_rate_limit_headers};
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

fn start(name: &str) -> Scenario {
    Scenario::start(name, "passthrough.yaml", Some("routes.yaml"))
}

#[test]
fn unmatched_requests_pass_untouched_but_for_spoofed_identity() {
    let s = start("pass-untouched");
    let sent = [
        ("apikey", "k-pass"),
        ("x-api-key", "k-pass"),
        ("x-ace-application", "client-supplied"),
        ("x-ace-operation-id", "client-supplied"),
        ("x-custom", "1"),
    ];
    for path in [
        "/elsewhere/thing?apikey=k-pass&y=1",
        "/v1/nope?apikey=k-pass",
        "//elsewhere/../x",
        "/billing",
        "/v1/flights/A1/seats",
    ] {
        let mut req = Request::get(path);
        for (n, v) in sent {
            req = req.header(n, v);
        }
        let r = s.send(&req);
        assert_eq!(r.status, 200, "{path}: {}", r.summary());
        no_rate_limit_headers(&r);
        let e = echoed(&r);
        assert_eq!(e.path, path, "the path is not rewritten");
        for (n, v) in sent.into_iter().filter(|(n, _)| !n.starts_with("x-ace-")) {
            assert_eq!(
                e.header_all(n),
                vec![v],
                "{path}: header {n} must arrive unchanged; {e:?}"
            );
        }
        assert!(
            e.ace_headers().is_empty(),
            "client-sent x-ace headers never reach the upstream; {e:?}"
        );
    }
    // Unmatched requests need no credential either.
    assert_eq!(s.send(&Request::get("/elsewhere")).status, 200);
}

#[test]
fn matched_requests_are_still_enforced() {
    let s = start("pass-enforced");
    denied(&s.send(&Request::get("/v1/flights")), 401, "unauthenticated");
    denied(
        &s.send(&Request::get("/v1/flights").header("apikey", "k-nobody")),
        401,
        "invalid_credential",
    );
    denied(
        &s.send(&Request::get("/v1//flights").header("apikey", "k-pass")),
        400,
        "non_canonical",
    );
    assert_eq!(s.upstream.count(), 0);
}

#[test]
fn hide_credentials_strips_the_key_header() {
    let s = start("pass-hide-header");
    for name in ["apikey", "X-Api-Key"] {
        let r = s.send(
            &Request::get("/v1/flights/A1")
                .header(name, "k-pass")
                .header("x-other", "kept"),
        );
        assert_eq!(r.status, 200, "{}", r.summary());
        let e = echoed(&r);
        assert_eq!(e.header("x-ace-application"), Some("pass-app"));
        assert_eq!(e.header("x-ace-operation-id"), Some("getFlight"));
        assert!(e.header(name).is_none(), "{name} must not be forwarded: {e:?}");
        assert_eq!(e.header("x-other"), Some("kept"));
    }
}

#[test]
fn hide_credentials_strips_the_key_query_parameter() {
    let s = start("pass-hide-query");
    for (sent, forwarded) in [
        ("/v1/flights?apikey=k-pass", "/v1/flights"),
        (
            "/v1/flights?date=2026-01-01&apikey=k-pass&page=2",
            "/v1/flights?date=2026-01-01&page=2",
        ),
        ("/v1/flights/A1?x-api-key=k-pass&z=%2F", "/v1/flights/A1?z=%2F"),
    ] {
        let r = s.send(&Request::get(sent));
        assert_eq!(r.status, 200, "{sent}: {}", r.summary());
        let e = echoed(&r);
        assert!(e.header("x-ace-operation-id").is_some(), "{e:?}");
        assert_eq!(e.path, forwarded, "{sent}");
    }
}
