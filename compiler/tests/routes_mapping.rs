//! Route mapping (docs/catalog.md#gateway-route-mapping) end to end: gateway files on disk → `map_routes` → `Mapping`.
//!
//! Own fixtures live in `tests/data/routes/`. Real-world files come from the shared fixtures folder
//! (found by `support::fixtures_dir`); when it is missing these tests fail, they
//! never pass vacuously.

use std::path::{Path, PathBuf};

use acepack_compiler::model::{Api, Mapping, Operation};
use acepack_compiler::routes::envoy::RouteTable;
use acepack_compiler::routes::kong::KongConfig;
use acepack_compiler::routes::{map_routes, GatewayKind, Router};
use acepack_compiler::source;
use acepack_compiler::LoadError;

mod support;

use support::fixtures_dir as fixtures;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/routes")
        .join(name)
}

/// An API for [`catalog`]: `(name, hosts, [(operation id, METHOD, normalized path)])`.
type ApiSpec<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str, &'a str)]);

/// Builds APIs and their operations.
fn catalog(apis: &[ApiSpec<'_>]) -> (Vec<Api>, Vec<Operation>) {
    let mut out_apis = Vec::new();
    let mut ops = Vec::new();
    for (i, (name, hosts, api_ops)) in apis.iter().enumerate() {
        let start = ops.len();
        for (id, method, path) in *api_ops {
            ops.push(Operation {
                api: i,
                id: id.to_string(),
                method: method.to_string(),
                path: path.to_string(),
                spec_path: path.replace("{}", "{p}"),
                aliases: Vec::new(),
            });
        }
        out_apis.push(Api {
            name: name.to_string(),
            version: "1.0.0".to_string(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            base_path: String::new(),
            spec: None,
            operations: start..ops.len(),
            portals: Vec::new(),
        });
    }
    (out_apis, ops)
}

/// `(route, target)` per operation, for compact assertions.
fn routes_of(m: &Mapping) -> Vec<(Option<&str>, Option<&str>)> {
    m.operations
        .iter()
        .map(|r| (r.route.as_deref(), r.target.as_deref()))
        .collect()
}

fn invalid(err: LoadError) -> Vec<acepack_compiler::Diagnostic> {
    match err {
        LoadError::Invalid(d) => d,
        LoadError::Io(e) => panic!("expected Invalid, got Io: {e}"),
    }
}

#[test]
fn envoy_bootstrap_maps_every_kind_of_match() {
    let (apis, ops) = catalog(&[
        (
            "billing",
            &["api.example.com"],
            &[("listBills", "GET", "/billing"), ("createBill", "POST", "/billing")],
        ),
        (
            "accounts",
            &["api.example.com", "*.example.com"],
            &[("getAccount", "GET", "/v1/Accounts/{}.json")],
        ),
        ("beta", &["api.example.com"], &[("getBeta", "GET", "/beta/{}")]),
        (
            "public",
            &[],
            &[("status", "GET", "/status"), ("getFlight", "GET", "/flights/{}")],
        ),
    ]);
    let m = map_routes(
        GatewayKind::Envoy,
        &data("envoy-bootstrap.yaml"),
        "envoy-bootstrap.yaml",
        &apis,
        &ops,
    )
    .unwrap_or_else(|e| panic!("{e}: {e:?}"));
    assert_eq!(m.file, "envoy-bootstrap.yaml");
    assert_eq!(
        m.operations.iter().map(|r| r.operation).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4, 5]
    );
    assert_eq!(
        routes_of(&m),
        vec![
            // The :method matcher admits GET; listener_0 forwards, so it wins over the redirect listener.
            (Some("listener_0/partner_api/routes[0] (prefix /billing, :method GET)"), Some("billing_read")),
            // POST fails the :method matcher; the next route is named.
            (Some("billing-write"), Some("billing_write")),
            // Exact host → partner_api's regex route; the wildcard host → the `*.example.com` vhost.
            (
                Some(
                    "listener_0/partner_api/routes[2] (safe_regex /v1/Accounts/[A-Za-z0-9]+\\.json) \
                     [host *.example.com: listener_0/tenants/routes[0] (path_separated_prefix /v1/Accounts)]"
                ),
                Some("accounts")
            ),
            // A header-conditioned route before the match is reported as a possible taker.
            (
                Some(
                    "listener_0/partner_api/routes[4] (prefix /beta) [may be taken first by \
                     listener_0/partner_api/routes[3] (prefix /beta, header x-beta) (header/query conditions not known statically)]"
                ),
                Some("stable")
            ),
            // No hosts: the `*` virtual host. A direct response beats the other listener's redirect.
            (Some("listener_0/fallback/routes[0] (path /status)"), Some("direct_response 200")),
            // The sample "x" is not a number; "1" reaches the numeric regex route: both are reported.
            (
                Some(
                    "listener_0/fallback/routes[2] (prefix /flights/) \
                     [parameters \"1\": listener_0/fallback/routes[1] (safe_regex /flights/[0-9]+)]"
                ),
                Some("flights")
            ),
        ]
    );
    // The redirect listener is reached too (covered); nothing reaches /internal or the fallback redirect.
    assert_eq!(
        m.uncovered_routes,
        vec![
            "listener_0/partner_api/routes[5] (prefix /internal)".to_string(),
            "listener_0/fallback/routes[3] (prefix /)".to_string()
        ]
    );
}

#[test]
fn envoy_route_configuration_json_without_catch_all_assumes_a_configured_host() {
    let (apis, ops) = catalog(&[(
        "shop",
        &[],
        &[("getCart", "GET", "/cart/{}"), ("dropCart", "DELETE", "/cart/{}")],
    )]);
    let m = map_routes(
        GatewayKind::Envoy,
        &data("envoy-routes.json"),
        "envoy-routes.json",
        &apis,
        &ops,
    )
    .unwrap();
    assert_eq!(
        routes_of(&m),
        vec![
            (
                Some("rds_main/shop/routes[0] (prefix /cart, :method !DELETE) [via host shop.example.com (assumed); any host: unmatched]"),
                Some("cart")
            ),
            (
                Some("rds_main/shop/routes[1] (prefix /) [via host shop.example.com (assumed); any host: unmatched]"),
                Some("direct_response 404")
            ),
        ]
    );
    assert!(m.uncovered_routes.is_empty(), "{:?}", m.uncovered_routes);
}

#[test]
fn envoy_listener_with_two_connection_managers() {
    let doc = source::load(&data("envoy-listener.yaml"), "l.yaml").unwrap();
    let table = RouteTable::parse(&doc, "l.yaml").unwrap();
    let labels: Vec<&str> = table.configs.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, vec!["edge/public", "edge/filter_chains[1]"]);
    let (apis, ops) = catalog(&[
        ("api", &["api.example.com"], &[("list", "GET", "/v1/items")]),
        ("internal", &[], &[("admin", "GET", "/admin")]),
    ]);
    let m = map_routes(GatewayKind::Envoy, &data("envoy-listener.yaml"), "l.yaml", &apis, &ops).unwrap();
    assert_eq!(
        routes_of(&m),
        vec![
            (Some("edge/public/api/routes[0] (prefix /v1)"), Some("api_v1")),
            (
                Some("edge/filter_chains[1]/internal/routes[0] (prefix /)"),
                Some("internal")
            ),
        ]
    );
    assert!(m.uncovered_routes.is_empty());
}

#[test]
fn envoy_and_kong_errors() {
    let errs =
        invalid(map_routes(GatewayKind::Envoy, &data("envoy-bad-regex.yaml"), "bad.yaml", &[], &[]).unwrap_err());
    assert_eq!(errs.len(), 1);
    assert_eq!(
        errs[0].place,
        "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[1].match.safe_regex.regex"
    );
    assert!(
        errs[0]
            .to_string()
            .starts_with("bad.yaml: static_resources.listeners[0]"),
        "{}",
        errs[0]
    );
    assert!(errs[0].message.contains("/users/([0-9]+"), "{}", errs[0]);

    let errs = invalid(
        map_routes(
            GatewayKind::Kong,
            &data("kong-missing-service.yaml"),
            "kong.yaml",
            &[],
            &[],
        )
        .unwrap_err(),
    );
    assert_eq!(errs[0].place, "routes[0].service");
    assert_eq!(errs[0].hint.as_deref(), Some("did you mean \"flights-service\"?"));

    // The wrong kind of file, either way round, says which key to use instead.
    let errs = invalid(
        map_routes(
            GatewayKind::Envoy,
            &data("kong-missing-service.yaml"),
            "kong.yaml",
            &[],
            &[],
        )
        .unwrap_err(),
    );
    assert!(errs[0].hint.as_deref().unwrap_or("").contains("kong"), "{}", errs[0]);
    let errs = invalid(map_routes(GatewayKind::Kong, &data("envoy-routes.json"), "r.json", &[], &[]).unwrap_err());
    assert!(errs[0].hint.as_deref().unwrap_or("").contains("envoy"), "{}", errs[0]);

    // A YAML syntax error is invalid input (exit 1) with line and column; a missing file is I/O (exit 2).
    let errs = invalid(map_routes(GatewayKind::Envoy, &data("broken.yaml"), "broken.yaml", &[], &[]).unwrap_err());
    assert!(errs[0].place.starts_with("line "), "{}", errs[0]);
    let err = map_routes(GatewayKind::Envoy, &data("no-such-file.yaml"), "x.yaml", &[], &[]).unwrap_err();
    assert!(matches!(err, LoadError::Io(_)), "{err:?}");
}

/// `[(vhost name, domains)]`.
type VirtualHosts = &'static [(&'static str, &'static [&'static str])];

/// Route config labels with their virtual hosts and domains, for comparison.
type Shape<'a> = Vec<(&'a str, Vec<(&'a str, Vec<&'a str>)>)>;

/// What each real Envoy fixture holds, counted by reading the files: every listener's filter chain
/// has at most one `envoy.http_connection_manager` / `envoy.filters.network.http_connection_manager`
/// filter with an inline `route_config`; each route config below has the listed virtual hosts, each
/// with exactly one `match: { prefix: "/" }` route whose action is given. `None`: the file is not an
/// Envoy config with HTTP routes (a docker-compose file; a TCP-proxy-only bootstrap).
struct Expect {
    file: &'static str,
    /// (route config label, [(vhost name, domains)]) per HTTP connection manager, in file order.
    configs: Option<&'static [(&'static str, VirtualHosts)]>,
    /// Route targets in file order.
    targets: &'static [&'static str],
}

const LOCAL: &[(&str, &[&str])] = &[("local_service", &["*"])];

const ENVOY_FIXTURES: &[Expect] = &[
    // docker-compose services, not Envoy.
    Expect {
        file: "envoyproxy-examples__wasm-cc__docker-compose-wasm.yaml",
        configs: None,
        targets: &[],
    },
    // listener_0 → web_service (wasm filter), listener_1 → web_service_with_wasm_filter.
    Expect {
        file: "envoyproxy-examples__wasm-cc__envoy.yaml",
        configs: Some(&[("listener_0", LOCAL), ("listener_1", &[("local_service2", &["*"])])]),
        targets: &["web_service", "web_service_with_wasm_filter"],
    },
    Expect {
        file: "proxy-wasm-go-sdk__helloworld__envoy.yaml",
        configs: Some(&[("main", LOCAL)]),
        targets: &["direct_response 200"],
    },
    Expect {
        file: "proxy-wasm-go-sdk__http_headers__envoy.yaml",
        configs: Some(&[("main", LOCAL), ("staticreply", LOCAL)]),
        targets: &["web_service", "direct_response 200"],
    },
    // main routes by Host: `*-canary` → canary, anything else → primary; two static-reply listeners.
    Expect {
        file: "proxy-wasm-go-sdk__http_routing__envoy.yaml",
        configs: Some(&[
            ("main", &[("canary_route", &["*-canary"]), ("primary_route", &["*"])]),
            ("staticreply", LOCAL),
            ("staticreply_canary", LOCAL),
        ]),
        targets: &["canary", "primary", "direct_response 200", "direct_response 200"],
    },
    // Listener `main` is a TCP proxy (no HTTP routes); `staticreply` is HTTP.
    Expect {
        file: "proxy-wasm-go-sdk__network__envoy.yaml",
        configs: Some(&[("staticreply", LOCAL)]),
        targets: &["direct_response 200"],
    },
    Expect {
        file: "proxy-wasm-go-sdk__vm_plugin_configuration__envoy.yaml",
        configs: Some(&[("main", LOCAL)]),
        targets: &["direct_response 200"],
    },
    // Only a network wasm filter and tcp_proxy: no HTTP route configuration at all.
    Expect {
        file: "proxy-wasm-rust-sdk__envoy_tcp_routing__envoy.yaml",
        configs: None,
        targets: &[],
    },
    // The rust-sdk examples write `listeners:` as a single unnamed object (Envoy accepts it).
    Expect {
        file: "proxy-wasm-rust-sdk__grpc_auth_random__envoy.yaml",
        configs: Some(&[("listeners", LOCAL)]),
        targets: &["grpcbin"],
    },
    Expect {
        file: "proxy-wasm-rust-sdk__http_auth_random__envoy.yaml",
        configs: Some(&[("listeners", LOCAL)]),
        targets: &["httpbin"],
    },
    Expect {
        file: "proxy-wasm-rust-sdk__http_config__envoy.yaml",
        configs: Some(&[("listeners", LOCAL)]),
        targets: &["direct_response 200"],
    },
    Expect {
        file: "proxy-wasm-rust-sdk__http_headers__envoy.yaml",
        configs: Some(&[("listeners", LOCAL)]),
        targets: &["direct_response 200"],
    },
];

#[test]
fn real_envoy_configs_are_understood() {
    let dir = fixtures().join("envoy");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = ENVOY_FIXTURES.iter().map(|e| e.file.to_string()).collect();
    expected.sort();
    assert_eq!(on_disk, expected, "every Envoy fixture has an expectation");

    for e in ENVOY_FIXTURES {
        let doc = source::load(&dir.join(e.file), e.file).unwrap_or_else(|err| panic!("{}: {err}", e.file));
        let parsed = RouteTable::parse(&doc, e.file);
        let Some(configs) = e.configs else {
            let errs = parsed
                .err()
                .unwrap_or_else(|| panic!("{}: expected to be rejected", e.file));
            assert!(!errs.is_empty());
            continue;
        };
        let table = parsed.unwrap_or_else(|d| panic!("{}: {d:?}", e.file));
        let got: Shape<'_> = table
            .configs
            .iter()
            .map(|c| {
                let vhosts = c
                    .virtual_hosts
                    .iter()
                    .map(|v| (v.name.as_str(), v.domains.iter().map(|d| d.as_str()).collect()))
                    .collect();
                (c.label.as_str(), vhosts)
            })
            .collect();
        let want: Shape<'_> = configs
            .iter()
            .map(|(l, vhs)| (*l, vhs.iter().map(|(n, d)| (*n, d.to_vec())).collect()))
            .collect();
        assert_eq!(got, want, "{}", e.file);
        assert_eq!(
            table.virtual_host_count(),
            configs.iter().map(|(_, v)| v.len()).sum::<usize>(),
            "{}",
            e.file
        );
        // One `prefix: /` route per virtual host.
        for c in &table.configs {
            assert!(c.virtual_hosts.iter().all(|v| v.routes.len() == 1), "{}", e.file);
        }
        let targets: Vec<&str> = table
            .routes()
            .iter()
            .map(|r| r.target.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(targets, e.targets, "{}", e.file);
        assert!(
            table.routes().iter().all(|r| r.label.ends_with("(prefix /)")),
            "{}",
            e.file
        );
    }
}

#[test]
fn real_envoy_host_routing_example() {
    // proxy-wasm-go-sdk's http_routing: `*-canary` hosts go to the canary cluster, others to primary.
    let path = fixtures().join("envoy/proxy-wasm-go-sdk__http_routing__envoy.yaml");
    let (apis, ops) = catalog(&[
        ("public", &[], &[("hello", "GET", "/hello")]),
        ("canary", &["web-canary"], &[("helloCanary", "GET", "/hello")]),
    ]);
    let m = map_routes(GatewayKind::Envoy, &path, "http_routing.yaml", &apis, &ops).unwrap();
    assert_eq!(
        routes_of(&m),
        vec![
            // Forwarding on `main` is preferred over the static-reply listeners (which count as covered).
            (Some("main/primary_route/routes[0] (prefix /)"), Some("primary")),
            (Some("main/canary_route/routes[0] (prefix /)"), Some("canary")),
        ]
    );
    assert!(m.uncovered_routes.is_empty(), "{:?}", m.uncovered_routes);
}

/// KongAir's four OpenAPI specs (flight-data/flights, flight-data/routes, sales/bookings,
/// sales/customer), operation by operation: 4 + 3 + 3 + 2 = 12 operations. Every spec has a
/// `GET /health` without operationId. No `servers` path, so no base path.
fn kongair() -> (Vec<Api>, Vec<Operation>) {
    catalog(&[
        (
            "flights",
            &[],
            &[
                ("GET /health", "GET", "/health"),
                ("get-flights", "GET", "/flights"),
                ("get-flight-by-number", "GET", "/flights/{}"),
                ("get-flight-details", "GET", "/flights/{}/details"),
            ],
        ),
        (
            "routes",
            &[],
            &[
                ("GET /health", "GET", "/health"),
                ("get-routes", "GET", "/routes"),
                ("get-route", "GET", "/routes/{}"),
            ],
        ),
        (
            "bookings",
            &[],
            &[
                ("GET /health", "GET", "/health"),
                ("get-bookings", "GET", "/bookings"),
                ("post-booking", "POST", "/bookings"),
            ],
        ),
        (
            "customer",
            &[],
            &[("GET /health", "GET", "/health"), ("get-cust-info", "GET", "/customer")],
        ),
    ])
}

#[test]
fn kongair_operations_map_to_their_generated_routes() {
    let dir = fixtures().join("kongair");
    // The specs are the source of the operations above; make sure they are the ones on disk.
    for spec in [
        "flight-data__flights__openapi.yaml",
        "flight-data__routes__openapi.yaml",
        "sales__bookings__openapi.yaml",
        "sales__customer__openapi.yaml",
    ] {
        assert!(dir.join(spec).is_file(), "fixtures missing: {spec}");
    }
    let (apis, ops) = kongair();
    assert_eq!(ops.len(), 12);
    let file = dir.join("platform__kong__.generated__kong.yaml");
    let m = map_routes(GatewayKind::Kong, &file, "kong.yaml", &apis, &ops).unwrap_or_else(|e| panic!("{e}: {e:?}"));
    let got: Vec<(&str, Option<&str>, Option<&str>)> = m
        .operations
        .iter()
        .map(|r| (ops[r.operation].id.as_str(), r.route.as_deref(), r.target.as_deref()))
        .collect();
    // decK names routes `<service>_<operationId>` (`<service>_health_get` without one). The four
    // services all have an identical `GET ~/health$` route (regex_priority 200, no hosts), so Kong
    // cannot tell them apart: all /health traffic goes to one of them — the greatest route id
    // (a5023323-... of flights-service) among equal priorities. acepack reports exactly that.
    let want = vec![
        (
            "GET /health",
            Some("flights-service_health_get"),
            Some("flights-service"),
        ),
        (
            "get-flights",
            Some("flights-service_get-flights"),
            Some("flights-service"),
        ),
        (
            "get-flight-by-number",
            Some("flights-service_get-flight-by-number"),
            Some("flights-service"),
        ),
        (
            "get-flight-details",
            Some("flights-service_get-flight-details"),
            Some("flights-service"),
        ),
        (
            "GET /health",
            Some("flights-service_health_get"),
            Some("flights-service"),
        ),
        ("get-routes", Some("routes-service_get-routes"), Some("routes-service")),
        ("get-route", Some("routes-service_get-route"), Some("routes-service")),
        (
            "GET /health",
            Some("flights-service_health_get"),
            Some("flights-service"),
        ),
        (
            "get-bookings",
            Some("bookings-service_get-bookings"),
            Some("bookings-service"),
        ),
        (
            "post-booking",
            Some("bookings-service_post-booking"),
            Some("bookings-service"),
        ),
        (
            "GET /health",
            Some("flights-service_health_get"),
            Some("flights-service"),
        ),
        (
            "get-cust-info",
            Some("customer-information-service_get-cust-info"),
            Some("customer-information-service"),
        ),
    ];
    assert_eq!(got, want);
    // Every operation with an operationId lands on the route decK generated from it.
    for (id, route, _) in &got {
        if !id.starts_with("GET ") {
            assert!(
                route.is_some_and(|r| r.ends_with(&format!("_{id}"))),
                "{id} → {route:?}"
            );
        }
    }
    // Not covered: the three shadowed health routes, the hand-written GraphQL route (no spec), and
    // the ACME challenge route (host api.kong-air.com, path /.well-known/acme-challenge).
    assert_eq!(
        m.uncovered_routes,
        vec![
            "routes-service_health_get",
            "bookings-service_health_get",
            "customer-information-service_health_get",
            "experience-service_query",
            "acme-dummy-route",
        ]
    );
}

#[test]
fn kongair_evaluation_order_follows_kong_priorities() {
    let file = fixtures().join("kongair/platform__kong__.generated__kong.yaml");
    let doc = source::load(&file, "kong.yaml").unwrap();
    let kong = KongConfig::parse(&doc, "kong.yaml").unwrap();
    assert_eq!(kong.format_version, "3.0");
    assert_eq!(kong.routes().len(), 14);
    let order = kong.evaluation_order();
    // Host + path beats method + path; then regex_priority 200 before 100; ties by descending route id.
    assert_eq!(order[0], "acme-dummy-route");
    let health: Vec<&str> = order.iter().copied().filter(|l| l.ends_with("_health_get")).collect();
    assert_eq!(
        health,
        vec![
            "flights-service_health_get",              // a5023323-...
            "routes-service_health_get",               // 4da7a5e5-...
            "customer-information-service_health_get", // 37cbdca9-...
            "bookings-service_health_get",             // 1a619e4f-...
        ]
    );
    let pos = |name: &str| order.iter().position(|l| *l == name).unwrap();
    assert!(pos("flights-service_get-flights") < pos("flights-service_get-flight-by-number"));
    assert!(pos("routes-service_get-routes") < pos("routes-service_get-route"));
}

#[test]
fn kongair_with_hosts_uses_route_hosts() {
    // An API restricted to api.kong-air.com still reaches the host-less routes, and the ACME route
    // (hosts: api.kong-air.com) takes its challenge path.
    let (apis, ops) = catalog(&[(
        "acme",
        &["api.kong-air.com"],
        &[
            ("challenge", "GET", "/.well-known/acme-challenge/{}"),
            ("flights", "GET", "/flights"),
        ],
    )]);
    let file = fixtures().join("kongair/platform__kong__.generated__kong.yaml");
    let m = map_routes(GatewayKind::Kong, &file, "kong.yaml", &apis, &ops).unwrap();
    assert_eq!(
        routes_of(&m),
        vec![
            (Some("acme-dummy-route"), Some("acme-dummy-service")),
            (Some("flights-service_get-flights"), Some("flights-service")),
        ]
    );
}

#[test]
fn routes_covered_only_in_part_say_what_is_left() {
    let (apis, ops) = catalog(&[(
        "api",
        &[],
        &[
            ("listFlights", "GET", "/flights"),
            ("createBill", "POST", "/billing"),
            ("status", "GET", "/status"),
            ("r", "GET", "/r/{}"),
        ],
    )]);
    let m = map_routes(
        GatewayKind::Envoy,
        &data("partly-covered.yaml"),
        "partly-covered.yaml",
        &apis,
        &ops,
    )
    .unwrap_or_else(|e| panic!("{e}: {e:?}"));
    assert_eq!(
        m.partly_covered,
        vec![(
            "flights".to_string(),
            "only GET /flights of the paths under prefix /flights have an operation; other paths and methods under it will be rejected with 404".to_string()
        )],
        "billing-post and status are fully covered; the regex route is not reasoned about"
    );
    // POST /billing is the only method of its route; GET on the same path would not be.
    let (apis, ops) = catalog(&[(
        "api",
        &[],
        &[("listBills", "GET", "/billing"), ("createBill", "POST", "/billing")],
    )]);
    let m = map_routes(GatewayKind::Envoy, &data("partly-covered.yaml"), "p.yaml", &apis, &ops).unwrap();
    assert!(m.partly_covered.is_empty(), "{:?}", m.partly_covered);
}

#[test]
fn kong_prefix_routes_covered_in_part_are_reported() {
    let (apis, ops) = catalog(&[("api", &[], &[("listFlights", "GET", "/flights"), ("r", "GET", "/r/{}")])]);
    let m = map_routes(
        GatewayKind::Kong,
        &data("kong-partly.yaml"),
        "kong-partly.yaml",
        &apis,
        &ops,
    )
    .unwrap_or_else(|e| panic!("{e}: {e:?}"));
    assert_eq!(m.partly_covered.len(), 1, "{:?}", m.partly_covered);
    assert_eq!(m.partly_covered[0].0, "flights");
    assert!(m.partly_covered[0]
        .1
        .starts_with("only GET /flights of the paths under prefix /flights"));
}
