//! The behaviour table: the project's main executable statement of how the filter decides.
//!
//! A small, fully known bundle ([`bundle`], seven operations in three APIs, five applications)
//! and the decision table of docs/enforcement.md over it ([`cases`]): for each request, the status,
//! reason, forwarded `x-ace-*` identity and response headers it must get. The same table runs
//! natively (`filter/tests/decisions.rs`), in the wasmtime proxy-wasm host
//! (`host-tests/tests/decisions_wasm.rs`) and in Envoy, so every layer is held to the same cases;
//! a change of behaviour starts here.
//!
//! Test support only: compiled for the crate's own tests and behind the `testkit` cargo feature
//! (`acepack-filter = { ..., features = ["testkit"] }` in a dev-dependency); the filter itself
//! never contains it.

use crate::bundle::*;
use crate::engine::credential_digest;

/// Plain API keys and identities of the fixture's applications.
pub mod keys {
    /// `acme`: partners then org packages.
    pub const ACME: &str = "acme-live-7f3a9c";
    /// `solo`: partners package only.
    pub const SOLO: &str = "solo-key-1";
    /// `idle`: no grants at all: pending for partners, revoked from the internal API.
    pub const IDLE: &str = "idle-key-2";
    /// `ops`: header identity with an API grant to `internal` and the unlimited `free` package.
    pub const OPS_ID: &str = "client-123";
}

fn limit(count: u64, window_seconds: u32) -> Limit {
    Limit { count, window_seconds }
}

fn op(names: &mut String, api: u32, method: Method, path: &str, id: &str) -> Operation {
    Operation {
        api,
        method,
        path: NameRef::push(names, path),
        id: NameRef::push(names, id),
    }
}

/// The fixture bundle. Operations:
///
/// | # | api | request | id | packages |
/// |---|---|---|---|---|
/// | 0 | flights | GET /v1/flights | getFlights | partners (2/min), org (3/s + 4/day) |
/// | 1 | flights | GET /v1/flights/{} | getFlight | partners, org |
/// | 2 | flights | POST /v1/flights | createFlight | free (unlimited) |
/// | 3 | billing | GET /billing | GET /billing | partners |
/// | 4 | billing | POST /billing/invoices | createInvoice | partners, override 1/min |
/// | 5 | internal (host internal.example.com) | GET /admin | adminStatus | — |
/// | 6 | billing | GET /billing/{}.json | getInvoiceJson | partners |
/// | 7 | billing | GET /billing/invoices/{} | getInvoice | partners |
pub fn bundle() -> Bundle {
    let mut names = String::new();
    let mut credentials = vec![
        Credential {
            digest: credential_digest(keys::ACME.as_bytes()),
            application: 0,
        },
        Credential {
            digest: credential_digest(keys::SOLO.as_bytes()),
            application: 1,
        },
        Credential {
            digest: credential_digest(keys::IDLE.as_bytes()),
            application: 2,
        },
        Credential {
            digest: credential_digest(keys::OPS_ID.as_bytes()),
            application: 3,
        },
    ];
    credentials.sort();
    let operations = vec![
        op(&mut names, 0, Method::Get, "/v1/flights", "getFlights"),
        op(&mut names, 0, Method::Get, "/v1/flights/{}", "getFlight"),
        op(&mut names, 0, Method::Post, "/v1/flights", "createFlight"),
        op(&mut names, 1, Method::Get, "/billing", "GET /billing"),
        op(&mut names, 1, Method::Post, "/billing/invoices", "createInvoice"),
        op(&mut names, 2, Method::Get, "/admin", "adminStatus"),
        op(&mut names, 1, Method::Get, "/billing/{}.json", "getInvoiceJson"),
        op(&mut names, 1, Method::Get, "/billing/invoices/{}", "getInvoice"),
    ];
    Bundle {
        version: (MAJOR, MINOR),
        compiler: "fixture".into(),
        catalog: "fixture.yaml".into(),
        enforcement: Enforcement {
            match_policy: MatchPolicy::Required,
            rate_limit_headers: RateLimitHeaders::Ietf,
            hide_credentials: false,
            cors_preflight_pass: true,
            anonymous: None,
        },
        strategies: vec![
            Strategy {
                name: "keys".into(),
                kind: StrategyKind::KeyAuth(vec!["apikey".into(), "x-api-key".into()]),
            },
            Strategy {
                name: "upstream".into(),
                kind: StrategyKind::Header("x-client-id".into()),
            },
        ],
        apis: vec![
            Api {
                name: "flights".into(),
                version: "1".into(),
                base_path: "/v1".into(),
                hosts: vec![],
            },
            Api {
                name: "billing".into(),
                version: "2".into(),
                base_path: String::new(),
                hosts: vec![],
            },
            Api {
                name: "internal".into(),
                version: "1".into(),
                base_path: String::new(),
                hosts: vec!["internal.example.com".into()],
            },
        ],
        operations,
        packages: vec![
            Package {
                id: "partners".into(),
                name: "Partners".into(),
                version: "1".into(),
                published: true,
                limits: vec![limit(2, 60)],
                operations: vec![
                    PackageOperation {
                        operation: 0,
                        limits: None,
                    },
                    PackageOperation {
                        operation: 1,
                        limits: None,
                    },
                    PackageOperation {
                        operation: 3,
                        limits: None,
                    },
                    PackageOperation {
                        operation: 4,
                        limits: Some(vec![limit(1, 60)]),
                    },
                    PackageOperation {
                        operation: 6,
                        limits: None,
                    },
                    PackageOperation {
                        operation: 7,
                        limits: None,
                    },
                ],
            },
            Package {
                id: "org".into(),
                name: "Org".into(),
                version: "1".into(),
                published: false,
                limits: vec![limit(3, 1), limit(4, 86_400)],
                operations: vec![
                    PackageOperation {
                        operation: 0,
                        limits: None,
                    },
                    PackageOperation {
                        operation: 1,
                        limits: None,
                    },
                ],
            },
            Package {
                id: "free".into(),
                name: "Free".into(),
                version: "1".into(),
                published: false,
                limits: vec![],
                operations: vec![PackageOperation {
                    operation: 2,
                    limits: None,
                }],
            },
        ],
        applications: vec![
            Application {
                name: NameRef::push(&mut names, "acme"),
                strategy: 0,
                grants: smallvec::smallvec![Grant::Package(0), Grant::Package(1)],
            },
            Application {
                name: NameRef::push(&mut names, "solo"),
                strategy: 0,
                grants: smallvec::smallvec![Grant::Package(0)],
            },
            Application {
                name: NameRef::push(&mut names, "idle"),
                strategy: 0,
                grants: smallvec::smallvec![],
            },
            Application {
                name: NameRef::push(&mut names, "ops"),
                strategy: 1,
                grants: smallvec::smallvec![Grant::Api(2), Grant::Package(2)],
            },
            Application {
                name: NameRef::push(&mut names, "visitor"),
                strategy: 0,
                grants: smallvec::smallvec![Grant::Package(0)],
            },
        ],
        credentials,
        names,
        access: Access {
            published_apis: vec![],
            // `idle` waits for partners and was revoked from the internal API.
            held: vec![
                Held {
                    application: 2,
                    grant: Grant::Package(0),
                    hold: Hold::Pending,
                },
                Held {
                    application: 2,
                    grant: Grant::Api(2),
                    hold: Hold::Revoked,
                },
            ],
            route_bound: vec![],
        },
        global: None,
    }
}

/// One request of the decision table and what must come of it.
#[derive(Debug, Clone)]
pub struct Case {
    /// What the case shows.
    pub name: &'static str,
    /// Settings applied to the fixture bundle before the case runs.
    pub setup: Setup,
    /// Requests sent first, on the same buckets, whose outcome is not checked.
    pub warmup: usize,
    /// Method.
    pub method: &'static str,
    /// Raw `:path`.
    pub path: &'static str,
    /// `:authority`.
    pub authority: &'static str,
    /// Other request headers.
    pub headers: &'static [(&'static str, &'static str)],
    /// Client IP.
    pub client_ip: &'static str,
    /// Expected status: 0 for "passed through untouched", 200 for allowed.
    pub status: u16,
    /// Expected reason (denials).
    pub reason: Option<&'static str>,
    /// Expected `x-ace-operation-id` / `x-ace-application` / `x-ace-package` (allowed requests).
    pub forwarded: Option<(&'static str, &'static str, Option<&'static str>)>,
    /// Expected response headers (lower-case names), checked for presence and value.
    pub response_headers: &'static [(&'static str, &'static str)],
}

/// Variations of the fixture's enforcement settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Setup {
    /// `match_policy: if_present`.
    pub if_present: bool,
    /// `anonymous: visitor`.
    pub anonymous: bool,
    /// `rate_limit_headers: draft03`.
    pub draft03: bool,
    /// `cors_preflight: enforce`.
    pub cors_enforce: bool,
}

impl Setup {
    /// The fixture bundle with these settings.
    pub fn bundle(&self) -> Bundle {
        let mut b = bundle();
        if self.if_present {
            b.enforcement.match_policy = MatchPolicy::IfPresent;
        }
        if self.anonymous {
            b.enforcement.anonymous = Some(4);
        }
        if self.draft03 {
            b.enforcement.rate_limit_headers = RateLimitHeaders::Draft03;
        }
        if self.cors_enforce {
            b.enforcement.cors_preflight_pass = false;
        }
        b
    }
}

const H: &str = "api.example.com";

macro_rules! case {
    ($name:expr, $m:expr, $p:expr, $h:expr => $status:expr, $reason:expr) => {
        Case {
            name: $name,
            setup: Setup {
                if_present: false,
                anonymous: false,
                draft03: false,
                cors_enforce: false,
            },
            warmup: 0,
            method: $m,
            path: $p,
            authority: H,
            headers: $h,
            client_ip: "10.0.0.1",
            status: $status,
            reason: $reason,
            forwarded: None,
            response_headers: &[],
        }
    };
}

const ACME: &[(&str, &str)] = &[("apikey", keys::ACME)];
const SOLO: &[(&str, &str)] = &[("x-api-key", keys::SOLO)];

/// The decision table of docs/enforcement.md#decision-order over [`bundle`].
pub fn cases() -> Vec<Case> {
    let mut v = vec![
        Case {
            forwarded: Some(("getFlights", "acme", Some("partners"))),
            response_headers: &[
                ("ratelimit-policy", "\"partners\";q=2;w=60"),
                ("ratelimit", "\"partners\";r=1;t=30"),
            ],
            ..case!("allowed, charged to the first package", "GET", "/v1/flights", ACME => 200, None)
        },
        Case {
            forwarded: Some(("getFlight", "solo", Some("partners"))),
            ..case!("second key name, path parameter", "GET", "/v1/flights/KA924", SOLO => 200, None)
        },
        Case {
            forwarded: Some(("getFlights", "acme", Some("partners"))),
            ..case!("key as a query parameter", "GET", "/v1/flights?apikey=acme-live-7f3a9c", &[] => 200, None)
        },
        Case {
            forwarded: Some(("getFlights", "acme", Some("partners"))),
            ..case!("header name case does not matter", "GET", "/v1/flights", &[("APIKey", keys::ACME)] => 200, None)
        },
        Case {
            forwarded: Some(("getFlight", "acme", Some("partners"))),
            ..case!("HEAD matches the GET operation", "HEAD", "/v1/flights/1", ACME => 200, None)
        },
        Case {
            forwarded: Some(("getFlight", "acme", Some("partners"))),
            ..case!("trailing slash is ignored", "GET", "/v1/flights/1/", ACME => 200, None)
        },
        Case {
            forwarded: Some(("getFlight", "acme", Some("partners"))),
            ..case!("escaped unreserved characters are decoded", "GET", "/v1/fl%69ghts/%7E1", ACME => 200, None)
        },
        Case {
            forwarded: Some(("getInvoiceJson", "acme", Some("partners"))),
            ..case!("parameter inside a segment", "GET", "/billing/inv-1.json", ACME => 200, None)
        },
        Case {
            authority: "internal.example.com",
            forwarded: Some(("adminStatus", "ops", None)),
            ..case!("API grant: no package, no limit", "GET", "/admin", &[("x-client-id", keys::OPS_ID)] => 200, None)
        },
        Case {
            authority: "internal.example.com:8443",
            forwarded: Some(("adminStatus", "ops", None)),
            ..case!("host match ignores port and case", "GET", "/admin", &[("x-client-id", keys::OPS_ID)] => 200, None)
        },
        Case {
            forwarded: Some(("createFlight", "ops", Some("free"))),
            response_headers: &[],
            ..case!("unlimited package: charged, no rate-limit headers", "POST", "/v1/flights", &[("x-client-id", keys::OPS_ID)] => 200, None)
        },
        // 404 / pass-through.
        case!("unknown path under required", "GET", "/v1/nothing", ACME => 404, Some("no_match")),
        case!("method not defined", "DELETE", "/v1/flights", ACME => 404, Some("no_match")),
        case!("methods are case-sensitive: a lower-case one is no operation's", "get", "/v1/nothing", ACME => 404, Some("no_match")),
        case!("host-bound API on another host", "GET", "/admin", &[("x-client-id", keys::OPS_ID)] => 404, Some("no_match")),
        Case {
            setup: Setup {
                if_present: true,
                ..Setup::default()
            },
            ..case!("unknown path under if_present passes", "GET", "/v1/nothing", &[("x-ace-application", "spoof")] => 0, None)
        },
        // CORS.
        case!("CORS preflight passes", "OPTIONS", "/v1/flights", &[("origin", "https://a.test"), ("access-control-request-method", "GET")] => 0, None),
        Case {
            setup: Setup {
                cors_enforce: true,
                ..Setup::default()
            },
            ..case!("CORS preflight enforced", "OPTIONS", "/v1/flights", &[("origin", "https://a.test"), ("access-control-request-method", "GET")] => 404, Some("no_match"))
        },
        case!("OPTIONS without preflight headers", "OPTIONS", "/v1/flights", &[("origin", "https://a.test")] => 404, Some("no_match")),
        // 401 / 403.
        Case {
            response_headers: &[("www-authenticate", "Key realm=\"acepack\"")],
            ..case!("no credential", "GET", "/v1/flights", &[] => 401, Some("unauthenticated"))
        },
        Case {
            response_headers: &[("www-authenticate", "Key realm=\"acepack\"")],
            ..case!("unknown key", "GET", "/v1/flights", &[("apikey", "nope")] => 401, Some("invalid_credential"))
        },
        case!("empty key", "GET", "/v1/flights", &[("apikey", "")] => 401, Some("invalid_credential")),
        case!("identity header used as a key", "GET", "/v1/flights", &[("apikey", keys::OPS_ID)] => 401, Some("invalid_credential")),
        case!("unknown header identity", "GET", "/admin", &[("x-client-id", "client-999")] => 404, Some("no_match")),
        Case {
            authority: "internal.example.com",
            ..case!("unknown header identity on its host", "GET", "/admin", &[("x-client-id", "client-999")] => 403, Some("invalid_credential"))
        },
        case!("registration pending for a package with the operation", "GET", "/v1/flights", &[("apikey", keys::IDLE)] => 403, Some("registration_pending")),
        Case {
            authority: "internal.example.com",
            ..case!("registration revoked for the operation's API", "GET", "/admin", &[("apikey", keys::IDLE)] => 403, Some("registration_revoked"))
        },
        case!("no registration at all for the operation", "POST", "/v1/flights", &[("apikey", keys::IDLE)] => 403, Some("forbidden")),
        case!("package does not contain the operation", "POST", "/v1/flights", ACME => 403, Some("forbidden")),
        // 429 and charging.
        Case {
            warmup: 2,
            response_headers: &[("retry-after", "30"), ("ratelimit", "\"partners\";r=0;t=60")],
            ..case!("package limit exhausted", "GET", "/v1/flights", SOLO => 429, Some("rate_limited"))
        },
        Case {
            warmup: 2,
            forwarded: Some(("getFlights", "acme", Some("org"))),
            response_headers: &[
                ("ratelimit-policy", "\"org\";q=3;w=1, \"org\";q=4;w=86400"),
                ("ratelimit", "\"org\";r=2;t=1"),
            ],
            ..case!("first grant empty: charged to the next package", "GET", "/v1/flights", ACME => 200, None)
        },
        Case {
            warmup: 5,
            response_headers: &[("retry-after", "1")],
            ..case!("both packages empty: 429 with the shortest wait", "GET", "/v1/flights", ACME => 429, Some("rate_limited"))
        },
        Case {
            warmup: 1,
            response_headers: &[
                ("retry-after", "60"),
                ("ratelimit-policy", "\"partners/createInvoice\";q=1;w=60"),
            ],
            ..case!("operation override replaces the package limit", "POST", "/billing/invoices", SOLO => 429, Some("rate_limited"))
        },
        Case {
            setup: Setup {
                draft03: true,
                ..Setup::default()
            },
            forwarded: Some(("getFlights", "acme", Some("partners"))),
            response_headers: &[
                ("ratelimit-limit", "2"),
                ("ratelimit-remaining", "1"),
                ("ratelimit-reset", "30"),
            ],
            ..case!("draft03 headers", "GET", "/v1/flights", ACME => 200, None)
        },
        // Anonymous.
        Case {
            setup: Setup {
                anonymous: true,
                ..Setup::default()
            },
            forwarded: Some(("getFlights", "visitor", Some("partners"))),
            ..case!("anonymous application", "GET", "/v1/flights", &[] => 200, None)
        },
        Case {
            setup: Setup {
                anonymous: true,
                ..Setup::default()
            },
            ..case!("anonymous still rejects a wrong key", "GET", "/v1/flights", &[("apikey", "nope")] => 401, Some("invalid_credential"))
        },
        Case {
            setup: Setup {
                anonymous: true,
                ..Setup::default()
            },
            warmup: 2,
            ..case!("anonymous limited per client address", "GET", "/v1/flights", &[] => 429, Some("rate_limited"))
        },
        // Spoofing.
        Case {
            forwarded: Some(("getFlights", "acme", Some("partners"))),
            ..case!("spoofed x-ace headers are replaced", "GET", "/v1/flights", &[("apikey", keys::ACME), ("x-ace-application", "ops"), ("x-ace-package", "free")] => 200, None)
        },
    ];
    // 400: hostile encodings of paths that would match.
    for path in [
        "//v1/flights",
        "/v1//flights",
        "/v1/./flights",
        "/v1/x/../flights",
        "/v1/%2e%2e/v1/flights",
        "/v1/flights/%2E%2E/flights",
        "/v1%2Fflights",
        "/v1%2fflights",
        "/v1%5Cflights",
        "/v1%5cflights",
        "/v1\\flights",
        "/v1/flights%2F1",
        "/v1/flights/%zz",
        "/v1/flights/%",
        "/v1/flights/a\u{1}b",
        "/v1/flights/%0A",
        "/v1/flights/.",
        "/v1/flights/x/..",
        "/v1/flights/%2e",
        // Path parameters, which servlet containers drop up to the next `/` (`..;` is `..` to
        // them, and the literal `..;` is a flight id to other upstreams).
        "/billing/invoices/..;",
        "/billing/invoices/..;jsessionid=1",
        "/billing/invoices/.;x",
        "/billing;jsessionid=1",
        "/v1/flights/..;",
        "/v1/flights;x/KA924",
        // Double encoding.
        "/v1%252Fflights",
        "/v1%255Cflights",
        "/v1/flights/%252E%252E/flights",
        "/v1/flights/%252e",
        "/v1/flights/%2541",
        // Overlong UTF-8 and escapes that are not UTF-8.
        "/v1/flights/%C0%AE%C0%AE/flights",
        "/v1/flights/%E0%80%AE",
        "/v1%C0%AFflights",
        "/v1%C1%9Cflights",
        "/v1/flights/%C3",
        "/v1/flights/%FF",
        "/v1/flights/%ED%A0%80",
        // Control characters, raw and escaped.
        "/v1/flights/%00",
        "/v1/flights/a\tb",
        "/v1/flights/%09",
        // Unicode look-alikes of dots and slashes.
        "/v1/flights/\u{FF0E}\u{FF0E}/flights",
        "/v1/flights/%EF%BC%8E%EF%BC%8E/flights",
        "/v1\u{FF0F}flights",
        "/v1/flights/x\u{FF3C}..",
        // An encoded slash inside what would be a parameter (the literal reading matches).
        "/billing/invoices/a%2Fb",
        "/billing/invoices/%2E%2E",
    ] {
        for if_present in [false, true] {
            v.push(Case {
                path,
                setup: Setup {
                    if_present,
                    ..Setup::default()
                },
                ..case!("non-canonical path that would match", "GET", "", ACME => 400, Some("non_canonical"))
            });
        }
    }
    // Methods equal to an operation's only up to case, under both policies.
    for method in ["get", "Get", "gEt", "head"] {
        for if_present in [false, true] {
            v.push(Case {
                setup: Setup {
                    if_present,
                    ..Setup::default()
                },
                method,
                ..case!("method in another case than the operation's", "", "/v1/flights", ACME => 400, Some("non_canonical"))
            });
        }
    }
    v.push(Case {
        forwarded: Some(("getInvoice", "acme", Some("partners"))),
        ..case!("a parameter with an escaped semicolon is data", "GET", "/billing/invoices/a%3Bb", ACME => 200, None)
    });
    // Non-canonical paths that match nothing under either reading: the match policy decides.
    for (if_present, status, reason) in [(false, 404, Some("no_match")), (true, 0, None)] {
        for path in ["/nowhere/..;", "/nowhere%252Fx", "/nowhere/%C0%AE"] {
            v.push(Case {
                path,
                setup: Setup {
                    if_present,
                    ..Setup::default()
                },
                ..case!("non-canonical path that matches nothing", "GET", "", ACME => status, reason)
            });
        }
    }
    v.push(Case {
        method: "post",
        ..case!("an unknown method matches nothing", "", "/v1/nothing", ACME => 404, Some("no_match"))
    });
    v
}
