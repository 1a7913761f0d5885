//! The Envoy router model on small route configurations.

use super::matchers::template_regex;
use super::*;
use crate::diag::Diagnostic;
use crate::routes::Action;

fn table(yaml: &str) -> RouteTable {
    let doc = crate::source::parse(yaml.as_bytes(), "t.yaml").unwrap();
    RouteTable::parse(&doc, "t.yaml").unwrap_or_else(|d| panic!("{d:?}"))
}

fn errors(yaml: &str) -> Vec<Diagnostic> {
    let doc = crate::source::parse(yaml.as_bytes(), "t.yaml").unwrap();
    RouteTable::parse(&doc, "t.yaml").expect_err("expected errors")
}

fn routed(t: &RouteTable, method: &str, host: Option<&str>, path: &str) -> Option<String> {
    let s = t.select(&Request::new(method, host, path));
    s.route.map(|r| t.routes()[r].label.clone())
}

const DOMAINS: &str = r#"
virtual_hosts:
- name: exact
  domains: ["api.example.com"]
  routes: [{name: exact, match: {prefix: /}, route: {cluster: c}}]
- name: suffix_short
  domains: ["*.example.com"]
  routes: [{name: suffix_short, match: {prefix: /}, route: {cluster: c}}]
- name: suffix_long
  domains: ["*.eu.example.com", "*-canary"]
  routes: [{name: suffix_long, match: {prefix: /}, route: {cluster: c}}]
- name: prefix_wild
  domains: ["api.*", "api.internal.*"]
  routes: [{name: prefix_wild, match: {prefix: /}, route: {cluster: c}}]
- name: with_port
  domains: ["ported.example.org:8443"]
  routes: [{name: with_port, match: {prefix: /}, route: {cluster: c}}]
- name: default
  domains: ["*"]
  routes: [{name: default, match: {prefix: /}, route: {cluster: c}}]
"#;

#[test]
fn domain_selection_follows_envoy_order() {
    let t = table(DOMAINS);
    let vh = |host: Option<&str>| t.configs[0].select_virtual_host(host).map(|v| v.name.as_str());
    assert_eq!(vh(Some("api.example.com")), Some("exact"));
    assert_eq!(vh(Some("API.Example.com")), Some("exact"), "hosts are case-insensitive");
    assert_eq!(vh(Some("www.example.com")), Some("suffix_short"));
    assert_eq!(vh(Some("a.eu.example.com")), Some("suffix_long"), "longest suffix wins");
    assert_eq!(
        vh(Some("eu.example.com")),
        Some("suffix_short"),
        "the wildcard matches at least one char"
    );
    assert_eq!(vh(Some("web-canary")), Some("suffix_long"));
    assert_eq!(vh(Some("-canary")), Some("default"));
    // Suffix wildcards beat prefix wildcards; among prefixes the longest wins.
    assert_eq!(vh(Some("api.example.net")), Some("prefix_wild"));
    assert_eq!(vh(Some("api.internal.x")), Some("prefix_wild"));
    assert_eq!(vh(Some("ported.example.org:8443")), Some("with_port"));
    assert_eq!(
        vh(Some("ported.example.org")),
        Some("default"),
        "ports are part of the domain"
    );
    assert_eq!(vh(Some("unknown.org")), Some("default"));
    assert_eq!(vh(None), Some("default"), "an arbitrary host reaches `*`");
}

#[test]
fn ignore_port_in_host_matching_strips_the_request_port() {
    let t = table(
        r#"
ignore_port_in_host_matching: true
virtual_hosts:
- {name: a, domains: ["a.com"], routes: [{match: {prefix: /}, route: {cluster: a}}]}
"#,
    );
    assert_eq!(
        t.configs[0]
            .select_virtual_host(Some("a.com:8080"))
            .map(|v| v.name.as_str()),
        Some("a")
    );
}

#[test]
fn no_catch_all_means_arbitrary_hosts_reach_nothing() {
    let t = table(
        r#"
virtual_hosts:
- {name: a, domains: ["a.com"], routes: [{match: {prefix: /}, route: {cluster: a}}]}
"#,
    );
    assert!(t.configs[0].select_virtual_host(None).is_none());
    assert_eq!(t.fallback_hosts(), vec!["a.com".to_string()]);
}

const PATHS: &str = r#"
name: rc
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: {path: /exact}
    route: {cluster: exact}
  - match: {path: /Insensitive, case_sensitive: false}
    route: {cluster: insensitive}
  - match: {safe_regex: {regex: "/users/[0-9]+"}}
    route: {cluster: regex}
  - match: {path_separated_prefix: /sep}
    route: {cluster: sep}
  - match: {path_match_policy: {name: envoy.path.match.uri_template.uri_template_matcher, typed_config: {"@type": type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig, path_template: "/tpl/{id}/files/**"}}}
    route: {cluster: tpl}
  - match: {prefix: /pre}
    route: {cluster: prefix}
  - match: {prefix: /}
    direct_response: {status: 404}
"#;

#[test]
fn path_specifiers() {
    let t = table(PATHS);
    let target = |path: &str| {
        let s = t.select(&Request::new("GET", None, path));
        s.route.and_then(|r| t.routes()[r].target.clone())
    };
    assert_eq!(target("/exact").as_deref(), Some("exact"));
    assert_eq!(target("/exact/more").as_deref(), Some("direct_response 404"));
    assert_eq!(target("/insensitive").as_deref(), Some("insensitive"));
    assert_eq!(target("/users/42").as_deref(), Some("regex"));
    // Full match: a regex is not a prefix.
    assert_eq!(target("/users/42/x").as_deref(), Some("direct_response 404"));
    assert_eq!(target("/users/x").as_deref(), Some("direct_response 404"));
    assert_eq!(target("/sep").as_deref(), Some("sep"));
    assert_eq!(target("/sep/a").as_deref(), Some("sep"));
    assert_eq!(target("/separate").as_deref(), Some("direct_response 404"));
    assert_eq!(target("/tpl/7/files/a/b").as_deref(), Some("tpl"));
    assert_eq!(target("/tpl/7/x").as_deref(), Some("direct_response 404"));
    assert_eq!(
        target("/prefix/and/more").as_deref(),
        Some("prefix"),
        "prefix is a string prefix, not a segment prefix"
    );
    assert_eq!(
        t.routes()[0].label,
        "rc/vh/routes[0] (path /exact)",
        "unnamed routes are identified by position and match"
    );
    assert_eq!(
        t.routes()[1].label,
        "rc/vh/routes[1] (path /Insensitive (case-insensitive))"
    );
}

const METHODS: &str = r#"
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - name: get-only
    match: {prefix: /a, headers: [{name: ":method", exact_match: GET}]}
    route: {cluster: get}
  - name: not-post
    match: {prefix: /a, headers: [{name: ":method", string_match: {exact: post, ignore_case: true}, invert_match: true}]}
    route: {cluster: not-post}
  - name: regex-method
    match: {prefix: /a, headers: [{name: ":method", safe_regex_match: {regex: "P(UT|ATCH)"}}]}
    route: {cluster: put-patch}
  - name: canary
    match: {prefix: /a, headers: [{name: x-canary, exact_match: "1"}]}
    route: {cluster: canary}
  - name: prefix-method
    match: {prefix: /a, headers: [{name: ":method", string_match: {prefix: PO}}]}
    route: {cluster: post}
  - name: rest
    match: {prefix: /}
    route: {cluster: rest}
"#;

#[test]
fn method_header_matchers_and_first_match_wins() {
    let t = table(METHODS);
    assert_eq!(routed(&t, "GET", None, "/a").as_deref(), Some("get-only"));
    // DELETE: not GET, and "not POST" matches first.
    assert_eq!(routed(&t, "DELETE", None, "/a").as_deref(), Some("not-post"));
    assert_eq!(
        routed(&t, "PUT", None, "/a").as_deref(),
        Some("not-post"),
        "first match wins"
    );
    let s = t.select(&Request::new("POST", None, "/a"));
    assert_eq!(s.route.map(|r| t.routes()[r].label.as_str()), Some("prefix-method"));
    // The header-conditioned route may take it first: reported, not chosen.
    assert_eq!(
        s.maybe
            .iter()
            .map(|r| t.routes()[*r].label.as_str())
            .collect::<Vec<_>>(),
        vec!["canary"]
    );
    assert_eq!(routed(&t, "POST", None, "/b").as_deref(), Some("rest"));
}

#[test]
fn targets_of_every_action_kind() {
    let t = table(
        r#"
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - {match: {prefix: /w}, route: {weighted_clusters: {clusters: [{name: a, weight: 1}, {name: b, weight: 1}]}}}
  - {match: {prefix: /h}, route: {cluster_header: x-cluster}}
  - {match: {prefix: /r}, redirect: {https_redirect: true}}
  - {match: {prefix: /}, direct_response: {status: 200}}
"#,
    );
    let targets: Vec<_> = t
        .routes()
        .iter()
        .map(|r| (r.target.clone().unwrap(), r.action))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("a, b".to_string(), Action::Forward),
            ("cluster_header x-cluster".to_string(), Action::Forward),
            ("redirect".to_string(), Action::Redirect),
            ("direct_response 200".to_string(), Action::Respond)
        ]
    );
}

#[test]
fn structural_errors_name_the_place() {
    let errs = errors(
        r#"
static_resources:
  listeners:
  - name: l
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          route_config:
            virtual_hosts:
            - name: vh
              domains: ["*"]
              routes:
              - {match: {safe_regex: {regex: "/a/(unclosed"}}, route: {cluster: c}}
              - {match: {prefix: /b}}
              - {match: {regex: "/v2"}, route: {cluster: c}}
"#,
    );
    let places: Vec<&str> = errs.iter().map(|d| d.place.as_str()).collect();
    let base = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0]";
    assert_eq!(
        places,
        vec![
            format!("{base}.routes[0].match.safe_regex.regex"),
            format!("{base}.routes[1]"),
            format!("{base}.routes[2].match.regex"),
        ]
    );
    assert!(errs[0].message.contains("invalid regular expression"), "{}", errs[0]);
}

#[test]
fn rds_and_non_envoy_files_are_errors() {
    let errs = errors(
        r#"
name: l
filter_chains:
- filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      rds: {route_config_name: main}
"#,
    );
    assert_eq!(errs[0].place, "filter_chains[0].filters[0].typed_config.rds");
    let errs = errors("_format_version: '3.0'\nservices: []\n");
    assert!(errs[0].hint.as_deref().unwrap_or("").contains("kong"), "{:?}", errs[0]);
    let errs = errors("- a\n- b\n");
    assert!(errs[0].message.contains("not an Envoy"));
}

#[test]
fn duplicate_domains_are_errors() {
    let errs = errors(
        r#"
virtual_hosts:
- {name: a, domains: ["*"], routes: []}
- {name: b, domains: ["*"], routes: []}
"#,
    );
    assert_eq!(errs[0].place, "virtual_hosts[1].domains");
}

#[test]
fn templates_become_anchored_regexes() {
    assert_eq!(template_regex("/a/{id}/**"), "^/a/[^/]+/.*$");
    assert_eq!(template_regex("/a/{p=**}.m3u8"), "^/a/.*\\.m3u8$");
    assert_eq!(template_regex("/a/*/b"), "^/a/[^/]+/b$");
}
