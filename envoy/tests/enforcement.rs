//! Checks docs/enforcement.md through a real Envoy (2 workers) with the release filter and CLI, catalog
//! `tests/data/main.yaml` (match_policy required, IETF headers). Every test starts its own Envoy,
//! so buckets start full in each.

use std::time::Instant;

use acepack_envoy::expect::{self, denied, ietf_policies, ietf_ratelimit};
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Response, Scenario};

fn start(name: &str) -> Scenario {
    Scenario::start(name, "main.yaml", Some("routes.yaml"))
}

fn get(path: &str, key: &str) -> Request {
    Request::get(path).header("apikey", key)
}

/// Asserts 200 from the upstream and returns the `x-ace-*` headers it received.
fn allowed(r: &Response, operation: &str, application: &str, package: Option<&str>) -> acepack_envoy::Echoed {
    assert_eq!(r.status, 200, "{}", r.summary());
    let e = echoed(r);
    assert_eq!(
        e.header_all("x-ace-operation-id"),
        vec![operation],
        "x-ace-operation-id; {e:?}"
    );
    assert_eq!(
        e.header_all("x-ace-application"),
        vec![application],
        "x-ace-application; {e:?}"
    );
    match package {
        Some(p) => assert_eq!(e.header_all("x-ace-package"), vec![p], "x-ace-package; {e:?}"),
        None => assert!(e.header("x-ace-package").is_none(), "no x-ace-package expected; {e:?}"),
    }
    e
}

#[test]
fn allowed_request_is_forwarded_with_ace_headers_and_spoofed_ones_removed() {
    let s = start("enf-allowed");
    let r = s.send(
        &get("/v1/flights/KA0284?date=2026-01-01", "k-allow")
            .header("X-Ace-Application", "spoofed-app")
            .header("x-ace-package", "spoofed-package")
            .header("x-ace-operation-id", "spoofed-op")
            .header("x-ace-anything", "spoofed")
            .header("x-other", "kept"),
    );
    let e = allowed(&r, "getFlight", "partner-app", Some("partners"));
    assert_eq!(
        e.ace_headers().len(),
        3,
        "only the three x-ace headers of the filter: {:?}",
        e.ace_headers()
    );
    assert_eq!(e.path, "/v1/flights/KA0284?date=2026-01-01", "path forwarded unchanged");
    assert_eq!(e.header("x-other"), Some("kept"));
    assert_eq!(
        e.header("apikey"),
        Some("k-allow"),
        "hide_credentials is off: the key is forwarded"
    );

    // docs/enforcement.md#rate-limit-headers IETF headers: one policy (the package, 5 per 60 s), 4 left after the first request.
    assert_eq!(
        ietf_policies(&r),
        vec![("partners".to_string(), 5, 60)],
        "{}",
        r.summary()
    );
    let (pkg, remaining, t) = ietf_ratelimit(&r);
    assert_eq!((pkg.as_str(), remaining), ("partners", 4));
    assert_eq!(
        t, 12,
        "t = seconds until the new bucket is full again: one token of 5/minute is 12 s"
    );

    let r = s.send(&get("/v1/flights", "k-allow"));
    allowed(&r, "listFlights", "partner-app", Some("partners"));
    assert_eq!(ietf_ratelimit(&r).1, 3);
    assert_eq!(s.upstream.count(), 2);
}

#[test]
fn missing_credential_is_401_with_a_key_challenge() {
    let s = start("enf-unauthenticated");
    for req in [
        Request::get("/v1/flights"),
        Request::post("/billing/invoices").body("{}"),
        Request::get("/billing"),
    ] {
        let r = s.send(&req);
        denied(&r, 401, "unauthenticated");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Key realm=\"acepack\""),
            "{}",
            r.summary()
        );
        expect::no_rate_limit_headers(&r);
    }
    assert_eq!(s.upstream.count(), 0);
}

#[test]
fn unknown_key_is_401() {
    let s = start("enf-invalid-credential");
    for req in [
        get("/v1/flights", "k-nobody"),
        Request::get("/v1/flights").header("x-api-key", "k-nobody"),
        Request::get("/v1/flights?apikey=k-nobody"),
        // The SHA-256 itself is not a key.
        get(
            "/v1/flights",
            "0e77ddef89bad2552be1892316f8ba90272fd205bc607ba61ed06fa0d8dc44ec",
        ),
    ] {
        let r = s.send(&req);
        denied(&r, 401, "invalid_credential");
        expect::no_rate_limit_headers(&r);
    }
    assert_eq!(s.upstream.count(), 0);
}

#[test]
fn key_lookup_by_name_header_case_query_and_precedence() {
    let s = start("enf-key-lookup");
    // Second key name, header names case-insensitive.
    allowed(
        &s.send(&Request::get("/v1/flights").header("x-api-key", "k-names")),
        "listFlights",
        "partner-app",
        Some("partners"),
    );
    allowed(
        &s.send(&Request::get("/v1/flights").header("APIKEY", "k-names")),
        "listFlights",
        "partner-app",
        Some("partners"),
    );
    // Query parameters, both names.
    allowed(
        &s.send(&Request::get("/v1/flights?apikey=k-query")),
        "listFlights",
        "partner-app",
        Some("partners"),
    );
    allowed(
        &s.send(&Request::get("/v1/flights/A1?x=1&x-api-key=k-query")),
        "getFlight",
        "partner-app",
        Some("partners"),
    );
    // Headers before query parameters: a header key (any name) wins over a query key.
    denied(
        &s.send(&get("/v1/flights?apikey=k-query", "k-wrong")),
        401,
        "invalid_credential",
    );
    allowed(
        &s.send(&Request::get("/v1/flights?apikey=k-wrong").header("x-api-key", "k-names")),
        "listFlights",
        "partner-app",
        Some("partners"),
    );
    // Among headers, the first key name present is the credential.
    denied(
        &s.send(&get("/v1/flights", "k-wrong").header("x-api-key", "k-names")),
        401,
        "invalid_credential",
    );
    // A credential given as key_sha256 in the catalog.
    allowed(
        &s.send(&get("/v1/flights", "k-hashed-secret")),
        "listFlights",
        "partner-app",
        Some("partners"),
    );
}

#[test]
fn no_active_grant_is_403() {
    let s = start("enf-forbidden");
    // An API grant to flights does not cover billing.
    denied(&s.send(&get("/billing", "k-api-grant")), 403, "forbidden");
    // A pending registration grants nothing, and the answer says why.
    denied(
        &s.send(&get("/v1/flights", "k-pending-registration")),
        403,
        "registration_pending",
    );
    // An approved registration of an application whose owner is pending grants nothing.
    denied(
        &s.send(&get("/v1/flights", "k-pending-owner")),
        403,
        "registration_pending",
    );
    // A revoked registration.
    denied(
        &s.send(&get("/v1/flights", "k-revoked-registration")),
        403,
        "registration_revoked",
    );
    // partner-app holds no grant containing the status API.
    denied(
        &s.send(&get("/status", "k-allow").header("Host", "status.acepack.test")),
        403,
        "forbidden",
    );
    // A `header` identity that is not registered: 403 (docs/enforcement.md#decision-order step 2).
    let r = s.send(&Request::get("/v1/flights").header("x-client-id", "client-unknown"));
    denied(&r, 403, "invalid_credential");
    assert_eq!(s.upstream.count(), 0);
    // A registered `header` identity.
    allowed(
        &s.send(&Request::get("/v1/flights").header("x-client-id", "client-1")),
        "listFlights",
        "asserted-app",
        Some("partners"),
    );
}

#[test]
fn api_grant_is_not_rate_limited_and_names_no_package() {
    let s = start("enf-api-grant");
    for i in 0..8 {
        let r = s.send(&get(&format!("/v1/flights/F{i}"), "k-api-grant"));
        allowed(&r, "getFlight", "flights-api-app", None);
        expect::no_rate_limit_headers(&r);
    }
}

#[test]
fn unmatched_requests_are_404_under_required() {
    let s = start("enf-no-match");
    for (method, path) in [
        ("GET", "/v1/nope"),
        ("DELETE", "/v1/flights"),
        ("GET", "/flights"),  // without the base path
        ("POST", "/billing"), // the path exists, the method does not
        ("GET", "/v1/flights/A1/seats"),
        ("GET", "/status"), // the status API only answers on its host
        ("GET", "/"),
    ] {
        for key in [Some("k-allow"), None] {
            let mut req = Request::new(method, path);
            if let Some(k) = key {
                req = req.header("apikey", k);
            }
            let r = s.send(&req);
            denied(&r, 404, "no_match");
            expect::no_rate_limit_headers(&r);
        }
    }
    // Non-canonical paths whose canonical form matches nothing are 404 too, not 400.
    denied(&s.send(&get("//nope", "k-allow")), 404, "no_match");
    denied(&s.send(&get("/v1/nope/../x", "k-allow")), 404, "no_match");
    assert_eq!(s.upstream.count(), 0);
    // Nothing was charged: the key's bucket is full.
    assert_eq!(ietf_ratelimit(&s.send(&get("/v1/flights", "k-allow"))).1, 4);
}

#[test]
fn host_matching_ignores_case_port_and_trailing_dot() {
    let s = start("enf-hosts");
    for host in [
        "status.acepack.test",
        "STATUS.Acepack.Test:8080",
        "status.acepack.test.",
        "status.acepack.test.:443",
    ] {
        let r = s.send(&get("/status", "k-tiered-host").header("Host", host));
        assert_eq!(r.status, 200, "Host {host}: {}", r.summary());
        assert_eq!(echoed(&r).header("x-ace-operation-id"), Some("getStatus"));
    }
    for host in ["other.acepack.test", "status.acepack.test.evil", "xstatus.acepack.test"] {
        denied(
            &s.send(&get("/status", "k-tiered-host").header("Host", host)),
            404,
            "no_match",
        );
    }
}

#[test]
fn package_limit_is_shared_by_its_operations_and_429_has_retry_after() {
    let s = start("enf-package-limit");
    let first = Instant::now();
    let seq = [
        ("/v1/flights", "listFlights"),
        ("/v1/flights/A1", "getFlight"),
        ("/v1/flights/A1/details", "getFlightDetails"),
        ("/billing", "getBilling"),
        ("/v1/flights/B2", "getFlight"),
    ];
    for (i, (path, op)) in seq.iter().enumerate() {
        let r = s.send(&get(path, "k-package"));
        allowed(&r, op, "partner-app", Some("partners"));
        let (pkg, remaining, _) = ietf_ratelimit(&r);
        assert_eq!(
            (pkg.as_str(), remaining),
            ("partners", 4 - i as i64),
            "request {i}: cumulative bucket"
        );
    }
    let before = s.upstream.count();
    let r = s.send(&get("/billing", "k-package"));
    denied(&r, 429, "rate_limited");
    expect::retry_after_within(&r, 12, first);
    // docs/enforcement.md#rate-limit-headers: a 429 charged to a bucket carries the headers too.
    assert_eq!(ietf_policies(&r), vec![("partners".to_string(), 5, 60)]);
    assert_eq!(ietf_ratelimit(&r).1, 0);
    assert_eq!(s.upstream.count(), before, "a 429 does not reach the upstream");
    // Another credential of the same application has its own bucket.
    allowed(
        &s.send(&get("/v1/flights", "k-allow")),
        "listFlights",
        "partner-app",
        Some("partners"),
    );
    // The override operation has its own bucket, untouched by the package's exhaustion.
    let r = s.send(
        &Request::post("/billing/invoices")
            .header("apikey", "k-package")
            .body("{}"),
    );
    allowed(&r, "createInvoice", "partner-app", Some("partners"));
    assert_eq!(ietf_policies(&r), vec![("partners/createInvoice".to_string(), 2, 60)]);
    assert_eq!(ietf_ratelimit(&r).1, 1);
}

#[test]
fn operation_override_replaces_the_package_limit() {
    let s = start("enf-override");
    let post = |key: &str| {
        Request::post("/billing/invoices")
            .header("apikey", key)
            .header("content-type", "application/json")
            .body("{\"amount\":1}")
    };
    let first = Instant::now();
    for remaining in [1, 0] {
        let r = s.send(&post("k-override"));
        let e = allowed(&r, "createInvoice", "partner-app", Some("partners"));
        assert_eq!(e.body, "{\"amount\":1}", "body forwarded");
        assert_eq!(ietf_ratelimit(&r).1, remaining);
    }
    let r = s.send(&post("k-override"));
    denied(&r, 429, "rate_limited");
    expect::retry_after_within(&r, 30, first);
    assert_eq!(
        ietf_policies(&r),
        vec![("partners/createInvoice".to_string(), 2, 60)],
        "the override's policy on the 429, named after the operation"
    );
    assert_eq!(ietf_ratelimit(&r).1, 0);
    // The package bucket was not touched by the override's requests.
    let r = s.send(&get("/v1/flights", "k-override"));
    allowed(&r, "listFlights", "partner-app", Some("partners"));
    assert_eq!(ietf_ratelimit(&r).1, 4);
    // Per credential.
    allowed(
        &s.send(&post("k-override-2")),
        "createInvoice",
        "partner-app",
        Some("partners"),
    );
}

#[test]
fn several_windows_take_a_token_from_each_and_report_the_binding_one() {
    let s = start("enf-windows");
    let first = Instant::now();
    for remaining in [2, 1, 0] {
        let r = s.send(&get("/billing/invoices/INV-7", "k-windows"));
        allowed(&r, "getInvoice", "partner-app", Some("windows"));
        let mut policies = ietf_policies(&r);
        policies.sort_by_key(|p| p.2);
        assert_eq!(
            policies,
            vec![("windows".to_string(), 3, 60), ("windows".to_string(), 100, 3600)],
            "{}",
            r.summary()
        );
        assert_eq!(ietf_ratelimit(&r).1, remaining, "the minute window binds");
    }
    let r = s.send(&get("/billing/invoices/INV-7", "k-windows"));
    denied(&r, 429, "rate_limited");
    // The minute window is empty (20 s per token); the hour window still has 97.
    expect::retry_after_within(&r, 20, first);
    let (pkg, remaining, _) = ietf_ratelimit(&r);
    assert_eq!(
        (pkg.as_str(), remaining),
        ("windows", 0),
        "the binding minute window on the 429"
    );
}

#[test]
fn requests_are_charged_to_the_first_package_with_capacity() {
    let s = start("enf-package-order");
    let req = || get("/status", "k-tiered").header("Host", "status.acepack.test");
    let first = Instant::now();
    for expected in ["status-a", "status-a", "status-b", "status-b", "status-b"] {
        allowed(&s.send(&req()), "getStatus", "tiered-app", Some(expected));
    }
    let r = s.send(&req());
    denied(&r, 429, "rate_limited");
    // The shortest wait among both packages: status-b (3/minute, 20 s per token), not status-a
    // (2/minute, 30 s per token); the 429 carries that bucket's headers.
    expect::retry_after_within(&r, 20, first);
    assert_eq!(ietf_ratelimit(&r).0, "status-b", "{}", r.summary());
    assert_eq!(ietf_policies(&r), vec![("status-b".to_string(), 3, 60)]);
}

#[test]
fn non_canonical_paths_that_would_match_are_400() {
    let s = start("enf-non-canonical");
    for path in [
        "//v1/flights",
        "/v1//flights",
        "/v1/flights//A1",
        "/v1/./flights",
        "/v1/flights/.",
        "/v1/x/../flights",
        "/v1/flights/A1/details/..",
        "/v1/flights/A1%2Fdetails",
        "/v1/flights/A1%2fdetails",
        "/v1/flights/A1%5Cdetails",
        "/v1/flights/A1%5cdetails",
        "/v1/flights/A1\\details",
        "/v1/flights/A1%2E1",
        "/v1/flights/%2e",
        "/v1/flights/A1%zz",
        "/v1/flights/A1%2",
        "/v1//flights?apikey=k-canonical",
    ] {
        let r = s.send(&get(path, "k-canonical"));
        assert_eq!(r.status, 400, "{path}: {}", r.summary());
        denied(&r, 400, "non_canonical");
        // Also without a key: the path is judged before the credential.
        denied(&s.send(&Request::get(path)), 400, "non_canonical");
    }
    assert_eq!(s.upstream.count(), 0);
    // Percent-encoded unreserved characters are decoded for matching; the path is canonical and
    // forwarded as sent. Nothing above was charged.
    let r = s.send(&get("/v1/fl%69ghts/KA%30284", "k-canonical"));
    let e = allowed(&r, "getFlight", "partner-app", Some("partners"));
    assert_eq!(e.path, "/v1/fl%69ghts/KA%30284");
    assert_eq!(ietf_ratelimit(&r).1, 4);
}

#[test]
fn head_is_served_by_the_get_operation() {
    let s = start("enf-head");
    let r = s.send(&Request::new("HEAD", "/v1/flights/A1").header("apikey", "k-head"));
    assert_eq!(r.status, 200, "{}", r.summary());
    let e = s.upstream.last().expect("HEAD reached the upstream");
    assert_eq!(e.method, "HEAD");
    assert_eq!(e.header("x-ace-operation-id"), Some("getFlight"));
    assert_eq!(ietf_ratelimit(&r).1, 4, "HEAD is charged like GET");
    // A denied HEAD has no body; status and headers still tell.
    let r = s.send(&Request::new("HEAD", "/v1/flights/A1"));
    assert_eq!(r.status, 401, "{}", r.summary());
    assert!(r.header("x-echo").is_none());
    assert_eq!(r.header("www-authenticate"), Some("Key realm=\"acepack\""));
}

#[test]
fn cors_preflight_to_a_known_path_passes_without_credentials() {
    let s = start("enf-cors");
    let preflight = |path: &str| {
        Request::new("OPTIONS", path)
            .header("Origin", "https://app.example.test")
            .header("Access-Control-Request-Method", "POST")
    };
    let r = s.send(&preflight("/billing/invoices").header("x-ace-application", "spoofed"));
    assert_eq!(r.status, 200, "{}", r.summary());
    let e = echoed(&r);
    assert_eq!(e.method, "OPTIONS");
    assert!(
        e.ace_headers().is_empty(),
        "a preflight passes without an identity; client-sent x-ace headers are removed: {e:?}"
    );
    expect::no_rate_limit_headers(&r);
    // A preflight to a path no operation has: 404 under required.
    denied(&s.send(&preflight("/v1/nope")), 404, "no_match");
    // Not a preflight (no Access-Control-Request-Method): an OPTIONS request like any other, and
    // no operation is OPTIONS.
    denied(
        &s.send(&Request::new("OPTIONS", "/billing/invoices").header("Origin", "https://app.example.test")),
        404,
        "no_match",
    );
    assert_eq!(s.upstream.count(), 1);
}

#[test]
fn counters_appear_in_envoy_stats() {
    let s = start("enf-stats");
    let ok = |r: Response| assert_eq!(r.status, 200, "{}", r.summary());
    ok(s.send(&get("/v1/flights", "k-stats")));
    ok(s.send(&get("/v1/flights/A1", "k-stats")));
    denied(&s.send(&Request::get("/v1/flights")), 401, "unauthenticated");
    denied(&s.send(&get("/v1/flights", "k-nobody")), 401, "invalid_credential");
    denied(&s.send(&get("/v1/flights", "k-nobody")), 401, "invalid_credential");
    denied(&s.send(&get("/billing", "k-api-grant")), 403, "forbidden");
    denied(&s.send(&get("/v1/nope", "k-stats")), 404, "no_match");
    denied(&s.send(&get("/v1//flights", "k-stats")), 400, "non_canonical");
    for _ in 0..2 {
        ok(s.send(&Request::post("/billing/invoices").header("apikey", "k-stats")));
    }
    denied(
        &s.send(&Request::post("/billing/invoices").header("apikey", "k-stats")),
        429,
        "rate_limited",
    );

    // Proxy-wasm counters appear in Envoy's /stats with the `wasmcustom.` prefix.
    let stat = |name: &str| s.envoy.stat(&format!("wasmcustom.{name}"));
    let all = s.envoy.stats();
    let ours: Vec<_> = all.iter().filter(|(n, _)| n.contains("acepack")).collect();
    assert_eq!(stat("acepack.requests_allowed"), Some(4), "acepack stats: {ours:?}");
    for (reason, n) in [
        ("unauthenticated", 1),
        ("invalid_credential", 2),
        ("forbidden", 1),
        ("no_match", 1),
        ("non_canonical", 1),
        ("rate_limited", 1),
    ] {
        assert_eq!(
            stat(&format!("acepack.requests_denied.{reason}")),
            Some(n),
            "{reason}; acepack stats: {ours:?}"
        );
    }
    // And in the Prometheus format (where Envoy drops the `wasmcustom` prefix).
    let prom = s.envoy.admin("/stats/prometheus").text();
    assert!(
        prom.lines()
            .any(|l| l.starts_with("acepack_requests_allowed") && l.trim_end().ends_with(" 4")),
        "prometheus: {:?}",
        prom.lines().filter(|l| l.contains("acepack")).collect::<Vec<_>>()
    );
}
