//! Structural parsing of catalogs: defaults, versions, unknown keys and located type errors.

use super::*;
use crate::diag::Diagnostic;

fn parse_yaml(text: &str) -> Result<Catalog, Vec<Diagnostic>> {
    let doc = crate::source::parse(text.as_bytes(), "catalog.yaml").expect("valid YAML");
    parse(&doc, "catalog.yaml")
}

fn first_error(text: &str) -> String {
    let errs = parse_yaml(text).expect_err("should fail");
    errs[0].to_string()
}

#[test]
fn parses_the_contract_example() {
    let c = parse_yaml(include_str!("../../tests/data/catalogs/contract/catalog.yaml")).expect("parses");
    assert_eq!(c.version, 1);
    assert_eq!(
        c.gateway.as_ref().and_then(|g| g.envoy.as_deref()),
        Some("envoy-routes.yaml")
    );
    assert_eq!(c.enforcement.match_policy, MatchPolicy::Required);
    assert_eq!(c.auth_strategies.len(), 2);
    assert_eq!(
        c.apis[1].operations[1],
        ManualOperation {
            id: Some("createInvoice".into()),
            op: "POST /billing".into()
        }
    );
    assert_eq!(c.packages[0].rate_limit, Some(RateLimit::One("5/second".into())));
    assert_eq!(c.packages[0].operations[2].op.as_deref(), Some("createInvoice"));
    assert_eq!(c.applications[0].registrations[1].status, Status::Approved);
    assert_eq!(c.applications[0].owner.team.as_deref(), Some("acme"));
}

#[test]
fn defaults_apply_when_sections_are_missing_or_empty() {
    let c = parse_yaml("version: 1\napis:\nenforcement:\n").expect("parses");
    assert!(c.apis.is_empty());
    assert_eq!(c.enforcement, Enforcement::default());
    assert_eq!(c.enforcement.rate_limit_headers, RateLimitHeaders::Ietf);
}

#[test]
fn version_must_be_one() {
    assert_eq!(
        first_error("version: 2\nfoo: 1\n"),
        "catalog.yaml: version: unsupported catalog version 2 (this acepack reads version 1)"
    );
    assert!(first_error("apis: []\n").contains("missing `version`"));
}

#[test]
fn unknown_keys_get_did_you_mean_and_a_place() {
    assert_eq!(
        first_error("version: 1\npackages:\n  - id: p\n    operations:\n      - api: a\n      - api: b\n        rate_limt: 5/second\n"),
        "catalog.yaml: packages[0].operations[1].rate_limt: unknown key \"rate_limt\" (did you mean \"rate_limit\"?)"
    );
    assert_eq!(
        first_error("version: 1\napis_: []\n"),
        "catalog.yaml: apis_: unknown key \"apis_\" (did you mean \"apis\"?)"
    );
    let far = first_error("version: 1\nenforcement:\n  zzz: 1\n");
    assert!(far.contains("expected one of: match_policy"), "{far}");
}

#[test]
fn wrong_types_and_values_name_the_place() {
    assert_eq!(
        first_error("version: 1\npackages:\n  - id: p\n    rate_limit: 5\n"),
        "catalog.yaml: packages[0].rate_limit: wrong type: integer `5`, expected a rate limit like \"5/second\" or a list of them"
    );
    assert_eq!(
        first_error("version: 1\nenforcement:\n  match_policy: requird\n"),
        "catalog.yaml: enforcement.match_policy: unknown value \"requird\" (did you mean \"required\"?)"
    );
    assert_eq!(
        first_error("version: 1\napis:\n  - name: a\n    operations:\n      - {id: x}\n"),
        "catalog.yaml: apis[0].operations[0]: missing `op`"
    );
}

#[test]
fn type_errors_use_catalog_words() {
    assert_eq!(
        first_error("version: 1\nteams: [{name: a, members: x}]\n"),
        "catalog.yaml: teams[0].members: wrong type: string \"x\", expected a list"
    );
    assert_eq!(
        first_error("version: 1\nteams: [3]\n"),
        "catalog.yaml: teams[0]: wrong type: integer `3`, expected a mapping"
    );
}

#[test]
fn every_broken_element_is_reported() {
    let errs =
        parse_yaml("version: 1\nteams:\n  - nme: a\n  - name: b\n  - name: c\n    members: 3\n").expect_err("fails");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].place.starts_with("teams[0]"));
    assert_eq!(errs[1].place, "teams[2].members");
}

#[test]
fn gateway_names_exactly_one_file() {
    assert!(first_error("version: 1\ngateway: {envoy: a.yaml, kong: b.yaml}\n").contains("exactly one"));
    assert!(first_error("version: 1\ngateway: {}\n").contains("exactly one"));
}

#[test]
fn rate_limits_are_one_or_many() {
    let c = parse_yaml("version: 1\npackages:\n  - id: p\n    rate_limit: [5/second, 10/day]\n").expect("parses");
    assert_eq!(
        c.packages[0].rate_limit,
        Some(RateLimit::Many(vec!["5/second".into(), "10/day".into()]))
    );
    assert_eq!(
        c.packages[0].rate_limit.as_ref().map(|r| r.entries()[1].0.clone()),
        Some("[1]".to_string())
    );
}
