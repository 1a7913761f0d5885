//! The Kong router model on small decK files.

use super::*;

fn config(yaml: &str) -> KongConfig {
    let doc = crate::source::parse(yaml.as_bytes(), "k.yaml").unwrap();
    KongConfig::parse(&doc, "k.yaml").unwrap_or_else(|d| panic!("{d:?}"))
}

fn errors(yaml: &str) -> Vec<Diagnostic> {
    let doc = crate::source::parse(yaml.as_bytes(), "k.yaml").unwrap();
    KongConfig::parse(&doc, "k.yaml").expect_err("expected errors")
}

fn routed(c: &KongConfig, method: &str, host: Option<&str>, path: &str) -> Option<String> {
    c.select(&Request::new(method, host, path))
        .route
        .map(|r| c.routes()[r].label.clone())
}

#[test]
fn regex_beats_prefix_and_regex_priority_orders_regexes() {
    let c = config(
        r#"
_format_version: "3.0"
services:
- name: s
  routes:
  - {name: root, paths: [/]}
  - {name: long-prefix, paths: [/users/me]}
  - {name: any-user, paths: ["~/users/[^/]+$"]}
  - {name: numeric-user, paths: ["~/users/[0-9]+$"], regex_priority: 10}
"#,
    );
    assert_eq!(
        c.evaluation_order(),
        vec!["numeric-user", "any-user", "long-prefix", "root"]
    );
    assert_eq!(routed(&c, "GET", None, "/users/42").as_deref(), Some("numeric-user"));
    // Regex paths beat prefix paths, even a longer literal one.
    assert_eq!(routed(&c, "GET", None, "/users/me").as_deref(), Some("any-user"));
    assert_eq!(routed(&c, "GET", None, "/users/me/x").as_deref(), Some("long-prefix"));
    assert_eq!(routed(&c, "GET", None, "/other").as_deref(), Some("root"));
}

#[test]
fn more_match_fields_win_and_hosts_and_methods_filter() {
    let c = config(
        r#"
_format_version: "3.0"
services:
- name: a
  routes:
  - {name: path-only, paths: ["~/a$"], regex_priority: 100}
  - {name: get, methods: [GET], paths: [/a]}
  - {name: wildcard-host, hosts: ["*.example.com"], methods: [GET], paths: [/a]}
  - {name: plain-host, hosts: ["api.example.com"], methods: [GET], paths: [/a]}
"#,
    );
    assert_eq!(
        c.evaluation_order(),
        vec!["plain-host", "wildcard-host", "get", "path-only"]
    );
    assert_eq!(
        routed(&c, "GET", Some("api.example.com"), "/a").as_deref(),
        Some("plain-host")
    );
    assert_eq!(
        routed(&c, "GET", Some("www.example.com"), "/a").as_deref(),
        Some("wildcard-host")
    );
    assert_eq!(routed(&c, "GET", None, "/a").as_deref(), Some("get"));
    assert_eq!(routed(&c, "POST", None, "/a").as_deref(), Some("path-only"));
    assert_eq!(
        routed(&c, "POST", None, "/ab"),
        None,
        "regexes are anchored at the start, `$` anchors the end"
    );
    assert_eq!(
        routed(&c, "GET", None, "/ab").as_deref(),
        Some("get"),
        "prefixes are string prefixes"
    );
}

#[test]
fn equal_priority_prefers_the_greater_id() {
    let c = config(
        r#"
_format_version: "3.0"
services:
- name: one
  routes: [{name: first, id: 1a619e4f-651d-550d-ae30-79f4bf45a080, paths: ["~/health$"]}]
- name: two
  routes: [{name: second, id: a5023323-0468-5a77-baf2-13578fec61b0, paths: ["~/health$"]}]
"#,
    );
    assert_eq!(c.evaluation_order(), vec!["second", "first"]);
}

#[test]
fn header_routes_are_maybe_and_top_level_routes_resolve_services() {
    let c = config(
        r#"
_format_version: "3.0"
services:
- {name: api, url: "http://api:80"}
- {name: beta, id: 0cef4d36-9c39-5ac2-9d9f-190d8ea8a252, url: "http://beta:80"}
routes:
- {paths: [/v1], headers: {x-beta: ["1"]}, service: {id: 0cef4d36-9c39-5ac2-9d9f-190d8ea8a252}}
- {paths: [/v1], service: {name: api}}
"#,
    );
    let s = c.select(&Request::new("GET", None, "/v1/x"));
    assert_eq!(c.routes()[s.route.unwrap()].label, "routes[1] (paths /v1)");
    assert_eq!(c.routes()[s.route.unwrap()].target.as_deref(), Some("api"));
    assert_eq!(s.maybe.len(), 1);
    assert_eq!(c.routes()[s.maybe[0]].target.as_deref(), Some("beta"));
}

#[test]
fn legacy_format_detects_regexes_without_tilde() {
    let c = config(
        r#"
_format_version: "1.1"
services:
- name: s
  routes:
  - {name: plain, paths: [/users]}
  - {name: regex, paths: ["/users/\\d+$"]}
"#,
    );
    assert_eq!(routed(&c, "GET", None, "/users/7").as_deref(), Some("regex"));
    assert_eq!(routed(&c, "GET", None, "/users/x").as_deref(), Some("plain"));
}

#[test]
fn structural_errors() {
    let errs = errors(
        r#"
_format_version: "3.0"
services:
- name: flights
  routes:
  - {name: bad, paths: ["~/a/(unclosed"]}
  - {name: no-tilde, paths: ["users/[0-9]+"]}
routes:
- {name: orphan, paths: [/x], service: {name: flight}}
"#,
    );
    let places: Vec<&str> = errs.iter().map(|d| d.place.as_str()).collect();
    assert_eq!(
        places,
        vec![
            "services[0].routes[0].paths[0]",
            "services[0].routes[1].paths[0]",
            "routes[0].service"
        ]
    );
    assert_eq!(errs[2].hint.as_deref(), Some("did you mean \"flights\"?"));
    assert!(errors("static_resources: {}\n")[0]
        .hint
        .as_deref()
        .unwrap_or("")
        .contains("envoy"));
    assert!(errors("services: []\n")[0].message.contains("_format_version"));
    assert!(errors("_format_version: \"9.0\"\nservices: []\n")[0]
        .message
        .contains("unsupported"));
}

#[test]
fn stream_routes_are_not_http_routes() {
    let c = config(
        r#"
_format_version: "3.0"
services:
- name: s
  routes:
  - {name: tcp, protocols: [tcp], destinations: [{port: 9000}]}
  - {name: http, paths: [/]}
"#,
    );
    assert_eq!(c.routes().len(), 1);
}
