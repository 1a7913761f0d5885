//! Validation rules on small catalogs with manual operations (no spec or gateway file needed).

use std::path::Path;

use sha2::{Digest, Sha256};

use super::*;
use crate::model::{CredentialDigest, Grant, Limit, Window};

/// The parts every test catalog shares: one strategy of each kind, two APIs, one package.
const BASE: &str = r#"
version: 1
auth_strategies:
  - name: keys
    type: key_auth
    key_names: [apikey]
  - name: ident
    type: header
    header: X-Client-Id
apis:
  - name: billing
    operations:
      - GET /billing
      - id: createInvoice
        op: POST /billing/
      - GET /billing/{id}
  - name: flights
    base_path: /v1/
    hosts: [API.Example.com:443]
    operations: [GET /flights, GET /health]
packages:
  - id: flight-billing
    rate_limit: [10000/day, 5/second]
    operations:
      - api: billing
        op: GET /billing
        rate_limit: 10/minute
      - api: flights
developers:
  - email: alice@acme.test
  - email: bob@acme.test
    status: revoked
teams:
  - name: acme
    members: [alice@acme.test]
  - name: ghosts
    members: [bob@acme.test]
"#;

/// BASE with `extra` (a YAML mapping) merged in: lists are appended to, anything else replaced.
fn run(extra: &str) -> Result<Model, Vec<Diagnostic>> {
    let parse = |t: &str| crate::source::parse(t.as_bytes(), "catalog.yaml").expect("test YAML is valid");
    let mut doc = parse(BASE);
    if !extra.trim().is_empty() {
        let serde_json::Value::Object(more) = parse(extra) else {
            panic!("extra must be a mapping")
        };
        let serde_json::Value::Object(base) = &mut doc else {
            unreachable!()
        };
        for (k, v) in more {
            match (base.get_mut(&k), v) {
                (Some(serde_json::Value::Array(list)), serde_json::Value::Array(add)) => list.extend(add),
                (_, v) => {
                    base.insert(k, v);
                }
            }
        }
    }
    let catalog = catalog::parse(&doc, "catalog.yaml")?;
    match build(&catalog, "catalog.yaml", Path::new(".")) {
        Ok(m) => Ok(m),
        Err(LoadError::Invalid(ds)) => Err(ds),
        Err(LoadError::Io(e)) => Err(vec![Diagnostic::error("io", "", e.to_string())]),
    }
}

fn ok(extra: &str) -> Model {
    match run(extra) {
        Ok(m) => m,
        Err(ds) => panic!(
            "unexpected errors:\n{}",
            ds.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
        ),
    }
}

/// All errors, rendered.
fn errors(extra: &str) -> Vec<String> {
    match run(extra) {
        Ok(_) => panic!("expected errors"),
        Err(ds) => ds.iter().map(|d| d.to_string()).collect(),
    }
}

fn has(errors: &[String], wanted: &str) {
    assert!(
        errors.iter().any(|e| e == wanted),
        "no error\n  {wanted}\namong\n  {}",
        errors.join("\n  ")
    );
}

fn sha(s: &str) -> CredentialDigest {
    CredentialDigest(Sha256::digest(s.as_bytes()).into())
}

#[test]
fn builds_apis_operations_and_packages() {
    let m = ok("");
    assert_eq!(m.apis.len(), 2);
    assert_eq!(m.apis[0].operations, 0..3);
    assert_eq!(m.apis[1].operations, 3..5);
    assert_eq!(m.apis[1].base_path, "/v1");
    assert_eq!(m.apis[1].hosts, vec!["api.example.com"]);
    let ops: Vec<(&str, &str, &str)> = m
        .operations
        .iter()
        .map(|o| (o.id.as_str(), o.method.as_str(), o.path.as_str()))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("GET /billing", "GET", "/billing"),
            ("createInvoice", "POST", "/billing"),
            ("GET /billing/{id}", "GET", "/billing/{}"),
            ("GET /flights", "GET", "/v1/flights"),
            ("GET /health", "GET", "/v1/health"),
        ]
    );
    assert_eq!(m.operations[2].spec_path, "/billing/{id}");
    let p = &m.packages[0];
    assert_eq!(p.name, "flight-billing");
    assert_eq!(
        p.limits,
        vec![
            Limit {
                count: 5,
                window: Window::Second
            },
            Limit {
                count: 10_000,
                window: Window::Day
            }
        ]
    );
    let listed: Vec<usize> = p.operations.iter().map(|o| o.operation).collect();
    assert_eq!(listed, vec![0, 3, 4]);
    assert_eq!(
        p.operations[0].limits,
        Some(vec![Limit {
            count: 10,
            window: Window::Minute
        }])
    );
    assert_eq!(p.operations[1].limits, None);
    assert_eq!(m.counts.get("developers"), Some(&2));
    assert_eq!(m.counts.get("teams"), Some(&2));
    assert_eq!(m.counts.get("portals"), Some(&0));
    assert!(
        matches!(&m.auth_strategies[1], crate::model::AuthStrategy::Header { header, .. } if header == "x-client-id")
    );
}

#[test]
fn package_ops_resolve_by_route_or_id_ignoring_parameter_names_and_slashes() {
    let m = ok(r#"
packages:
  - id: p2
    operations:
      - {api: billing, op: "GET /billing/{invoice}/"}
      - {api: billing, op: "GET /billing"}
      - {api: billing, op: "POST /billing"}
      - {api: flights, op: "GET /health"}
"#);
    let listed: Vec<usize> = m.packages[1].operations.iter().map(|o| o.operation).collect();
    assert_eq!(listed, vec![2, 0, 1, 4]);
}

#[test]
fn unknown_package_op_has_the_contract_message() {
    let e = errors("packages:\n  - id: p2\n    operations:\n      - {api: billing, op: GET /billing}\n      - {api: billing, op: GET /bilin}\n");
    has(&e, "catalog.yaml: packages[1].operations[1]: api \"billing\" has no operation \"GET /bilin\" (did you mean \"GET /billing\"?)");
}

#[test]
fn package_op_written_with_the_base_path_gets_a_hint() {
    let e = errors("packages:\n  - id: p2\n    operations:\n      - {api: flights, op: GET /v1/flights}\n");
    has(&e, "catalog.yaml: packages[1].operations[0]: api \"flights\" has no operation \"GET /v1/flights\" (paths are written without the base path \"/v1\": did you mean \"GET /flights\"?)");
}

#[test]
fn package_reference_errors() {
    let e = errors(
        r#"
packages:
  - id: p2
    rate_limit: 0/second
    operations:
      - api: biling
      - api: flights
        rate_limit: 5/second
      - api: billing
      - api: billing
        op: createInvoice
"#,
    );
    has(&e, "catalog.yaml: packages[1].rate_limit: rate limit \"0/second\" would reject every request (leave the operation out of the package instead)");
    has(
        &e,
        "catalog.yaml: packages[1].operations[0].api: there is no api \"biling\" (did you mean \"billing\"?)",
    );
    has(&e, "catalog.yaml: packages[1].operations[1].rate_limit: a per-operation rate_limit needs an `op` (name the operation with `op:`, or put the API in a package of its own to share one limit)");
    has(&e, "catalog.yaml: packages[1].operations[3]: operation \"createInvoice\" (POST /billing/) of api \"billing\" is already in this package (packages[1].operations[2]) (list each operation once)");
    assert_eq!(e.len(), 4, "{e:#?}");
}

#[test]
fn names_are_checked_and_unique_across_apis_and_packages() {
    let e = errors(
        r#"
apis:
  - name: Bad Name
    operations: [GET /x]
packages:
  - id: billing
  - id: flight-billing
auth_strategies:
  - {name: keys, type: key_auth, key_names: [k]}
"#,
    );
    has(&e, "catalog.yaml: apis[2].name: \"Bad Name\" is not a valid name: use lower-case letters, digits, '-' and '_', starting with a letter or digit (did you mean \"bad-name\"?)");
    has(
        &e,
        "catalog.yaml: packages[1].id: name \"billing\" is already used at apis[0].name",
    );
    has(
        &e,
        "catalog.yaml: packages[2].id: name \"flight-billing\" is already used at packages[0].id",
    );
    has(
        &e,
        "catalog.yaml: auth_strategies[2].name: auth strategy name \"keys\" is already used at auth_strategies[0].name",
    );
}

#[test]
fn manual_duplicates_merge_with_a_warning() {
    let m = ok("apis:\n  - name: extra\n    hosts: [other.test]\n    operations: ['GET /a/{x}', {id: getA, op: 'GET /a/{y}/'}]\n");
    let a = &m.operations[m.apis[2].operations.start];
    assert_eq!(m.apis[2].operations.len(), 1);
    assert_eq!(a.id, "GET /a/{x}");
    assert_eq!(a.aliases, vec!["getA"]);
    assert!(
        m.warnings
            .iter()
            .any(|w| w.place == "apis[2].operations[1]" && w.message.contains("merged")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn exclude_removes_and_must_exist() {
    let m = ok("apis:\n  - name: extra\n    hosts: [other.test]\n    operations: [GET /a, {id: getB, op: GET /b}, GET /c]\n    exclude: [getB, GET /c/]\n");
    let ids: Vec<&str> = m.operations[m.apis[2].operations.clone()]
        .iter()
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(ids, vec!["GET /a"]);
    let e = errors("apis:\n  - name: extra\n    hosts: [other.test]\n    operations: [GET /alpha]\n    exclude: [GET /alpah, getx, get /alpha]\n");
    has(&e, "catalog.yaml: apis[2].exclude[0]: there is no operation \"GET /alpah\" to exclude (did you mean \"GET /alpha\"?)");
    has(
        &e,
        "catalog.yaml: apis[2].exclude[1]: there is no operation \"getx\" to exclude",
    );
    has(&e, "catalog.yaml: apis[2].exclude[2]: method \"get\" must be upper-case (methods are case-sensitive) (did you mean \"GET /alpha\"?)");
}

#[test]
fn manual_operation_errors() {
    let e = errors("apis:\n  - name: extra\n    operations: [FETCH /a, GET a, GET /a//b, {id: x, op: GET /c}, {id: x, op: GET /d}]\n  - name: empty\n");
    has(&e, "catalog.yaml: apis[2].operations[0]: unknown method \"FETCH\" (methods: GET PUT POST DELETE OPTIONS HEAD PATCH TRACE QUERY)");
    has(&e, "catalog.yaml: apis[2].operations[1]: path \"a\" must start with '/' (write it as \"METHOD /path\", e.g. \"GET /flights/{id}\")");
    assert!(
        e.iter()
            .any(|x| x.starts_with("catalog.yaml: apis[2].operations[2]: path \"/a//b\" has an empty segment")),
        "{e:#?}"
    );
    has(&e, "catalog.yaml: apis[2].operations[4]: api \"extra\": operation id \"x\" names both \"GET /c\" and \"GET /d\" (give one of them another operationId)");
    has(&e, "catalog.yaml: apis[3]: api \"empty\" has neither a `spec` nor `operations` (name an OpenAPI document with `spec:` or list operations like `GET /path`)");
}

#[test]
fn cross_api_conflicts_need_overlapping_hosts() {
    // billing has no hosts: it overlaps everything.
    let e = errors("apis:\n  - name: dup\n    operations: [\"GET /billing/{x}/\"]\n");
    has(&e, "catalog.yaml: apis[2]: api \"dup\" and api \"billing\" both define GET /billing/{} and their hosts overlap, so a request could not be told apart (add `exclude: [\"GET /billing/{}\"]` to one of them, or give them `hosts` that do not overlap)");
    // flights is on api.example.com only.
    ok("apis:\n  - name: other\n    base_path: /v1\n    hosts: [other.example.com]\n    operations: [GET /flights]\n");
    let e = errors(
        "apis:\n  - name: wild\n    base_path: /v1\n    hosts: ['*.example.com']\n    operations: [GET /flights]\n",
    );
    assert!(
        e[0].contains("api \"wild\" and api \"flights\" both define GET /v1/flights"),
        "{e:#?}"
    );
    // A different base path is a different operation.
    ok("apis:\n  - name: v2\n    base_path: /v2\n    hosts: ['*.example.com']\n    operations: [GET /flights]\n");
}

#[test]
fn host_errors_name_the_entry() {
    let e = errors("apis:\n  - name: h\n    hosts: [ok.test, 'https://x.test/']\n    operations: [GET /h]\n");
    has(
        &e,
        "catalog.yaml: apis[2].hosts[1]: host \"https://x.test/\" is not a host name (write it without scheme or path)",
    );
}

const PORTAL: &str = r#"
portals:
  - name: partners
    auth_strategies: [keys]
    publications:
      - package: flight-billing
        visibility: private
        teams: [acme]
      - api: flights
"#;

#[test]
fn grants_need_approved_registrations_and_owners() {
    let m = ok(r#"
applications:
  - name: alice-app
    owner: {developer: alice@acme.test}
    auth_strategy: keys
    credentials: [{key: a1}]
    registrations:
      - {package: flight-billing}
      - {api: flights, status: pending}
      - {api: billing, status: rejected}
  - name: bob-app
    owner: {developer: bob@acme.test}
    auth_strategy: keys
    credentials: [{key: b1}]
    registrations: [{package: flight-billing}]
  - name: acme-app
    owner: {team: acme}
    auth_strategy: keys
    credentials: [{key: c1}]
    registrations: [{api: billing}]
  - name: ghost-app
    owner: {team: ghosts}
    auth_strategy: ident
    credentials: [{id: client-123}]
    registrations: [{api: billing, status: approved}]
"#);
    let a = &m.applications;
    assert_eq!(a[0].grants, vec![Grant::Package(0)]);
    assert_eq!(
        a[0].inactive,
        vec![
            "api flights: registration pending",
            "api billing: registration rejected"
        ]
    );
    assert!(a[1].grants.is_empty());
    assert_eq!(
        a[1].inactive,
        vec!["package flight-billing: developer bob@acme.test is revoked"]
    );
    assert_eq!(a[2].grants, vec![Grant::Api(0)]);
    assert!(a[3].grants.is_empty());
    assert_eq!(a[3].inactive, vec!["api billing: team ghosts has no approved member"]);
    assert_eq!(a[3].auth_strategy, 1);
    assert_eq!(a[0].credentials, vec![sha("a1")]);
    assert_eq!(a[3].credentials, vec![sha("client-123")]);
}

#[test]
fn credentials_are_checked_and_unique_everywhere() {
    let upper: String = sha("shared").0.iter().map(|b| format!("{b:02X}")).collect();
    let e = errors(&format!(
        r#"
applications:
  - name: one
    owner: {{developer: alice@acme.test}}
    auth_strategy: keys
    credentials: [{{key: shared}}, {{key_sha256: abc}}, {{id: nope}}, {{key: x, id: z}}]
  - name: two
    owner: {{developer: alice@acme.test}}
    auth_strategy: keys
    credentials: [{{key_sha256: "{upper}"}}]
  - name: three
    owner: {{developer: alice@acme.test}}
    auth_strategy: ident
    credentials: [{{key: k}}]
"#
    ));
    has(&e, "catalog.yaml: applications[0].credentials[1].key_sha256: key_sha256 must be 64 hex digits (a SHA-256); the value given (3 characters, not shown) is not (compute it with `printf %s KEY | sha256sum`, or write a plain key as `key:`)");
    has(&e, "catalog.yaml: applications[0].credentials[2].id: an `id` needs a header strategy, and \"keys\" is a key_auth strategy (use `key:` or `key_sha256:` for an API key)");
    has(
        &e,
        "catalog.yaml: applications[0].credentials[3]: give exactly one of `key`, `key_sha256` or `id`",
    );
    has(&e, "catalog.yaml: applications[1].credentials[0]: this credential is already used by application \"one\" (applications[0].credentials[0]) (a credential belongs to exactly one application)");
    has(&e, "catalog.yaml: applications[2].credentials[0].key: a `key` needs a key_auth strategy, and \"ident\" is a header strategy (use `id:` for an identity asserted in a header)");
    assert_eq!(e.len(), 5, "{e:#?}");
}

#[test]
fn portal_rules() {
    let e = errors(&format!(
        r#"{PORTAL}
applications:
  - name: wrong-strategy
    portal: partners
    owner: {{developer: alice@acme.test}}
    auth_strategy: ident
    credentials: [{{id: i1}}]
  - name: unpublished
    portal: partners
    owner: {{team: acme}}
    auth_strategy: keys
    credentials: [{{key: k1}}]
    registrations: [{{api: billing}}]
  - name: outsider
    portal: partners
    owner: {{developer: bob@acme.test}}
    auth_strategy: keys
    credentials: [{{key: k2}}]
    registrations: [{{package: flight-billing}}, {{api: flights}}]
  - name: nowhere
    portal: partner
    owner: {{team: acme}}
    auth_strategy: keys
    credentials: [{{key: k3}}]
"#
    ));
    has(&e, "catalog.yaml: applications[0].auth_strategy: auth strategy \"ident\" is not offered by portal \"partners\" (portal \"partners\" offers: keys)");
    has(&e, "catalog.yaml: applications[1].registrations[0]: api billing is not published on portal \"partners\" (publish it in the portal's `publications`, or register through a portal that publishes it)");
    has(&e, "catalog.yaml: applications[2].registrations[0]: package flight-billing is published privately on portal \"partners\" to teams [acme]; the application's owner, developer bob@acme.test, is not one of them (add the team to the publication's `teams`, or the developer to one of those teams)");
    has(
        &e,
        "catalog.yaml: applications[3].portal: there is no portal \"partner\" (did you mean \"partners\"?)",
    );
    assert_eq!(e.len(), 4, "{e:#?}");
}

#[test]
fn private_publications_admit_team_members_and_packages_know_their_portals() {
    let m = ok(&format!(
        r#"{PORTAL}
applications:
  - name: alice-app
    portal: partners
    owner: {{developer: alice@acme.test}}
    auth_strategy: keys
    credentials: [{{key: k1}}]
    registrations: [{{package: flight-billing}}, {{api: flights}}]
enforcement:
  anonymous: alice-app
"#
    ));
    assert_eq!(m.applications[0].grants, vec![Grant::Package(0), Grant::Api(1)]);
    assert_eq!(m.packages[0].portals, vec!["partners"]);
    assert_eq!(m.enforcement.anonymous, Some(0));
}

#[test]
fn dangling_references_get_did_you_mean() {
    let e = errors(
        r#"
teams:
  - name: t
    members: [alice@acme.tset]
portals:
  - name: p
    auth_strategies: [kyes]
    publications: [{package: flights}, {api: flight-billing}]
applications:
  - name: a
    owner: {team: acm}
    auth_strategy: key
    credentials: [{key: z}]
    registrations: [{package: flight-biling}]
  - name: b
    owner: {developer: alice@acme.tst}
    auth_strategy: keys
    credentials: [{key: w}]
enforcement:
  anonymous: c
"#,
    );
    has(&e, "catalog.yaml: teams[2].members[0]: there is no developer \"alice@acme.tset\" (did you mean \"alice@acme.test\"?)");
    has(
        &e,
        "catalog.yaml: portals[0].auth_strategies[0]: there is no auth strategy \"kyes\" (did you mean \"keys\"?)",
    );
    has(&e, "catalog.yaml: portals[0].publications[0].package: there is no package \"flights\" (\"flights\" is an api: write `api: flights`)");
    has(&e, "catalog.yaml: portals[0].publications[1].api: there is no api \"flight-billing\" (\"flight-billing\" is a package: write `package: flight-billing`)");
    has(
        &e,
        "catalog.yaml: applications[0].owner.team: there is no team \"acm\" (did you mean \"acme\"?)",
    );
    has(
        &e,
        "catalog.yaml: applications[0].auth_strategy: there is no auth strategy \"key\" (did you mean \"keys\"?)",
    );
    has(&e, "catalog.yaml: applications[0].registrations[0].package: there is no package \"flight-biling\" (did you mean \"flight-billing\"?)");
    has(&e, "catalog.yaml: applications[1].owner.developer: there is no developer \"alice@acme.tst\" (did you mean \"alice@acme.test\"?)");
    has(&e, "catalog.yaml: enforcement.anonymous: there is no application \"c\"");
}

#[test]
fn strategies_need_their_own_keys() {
    let e = errors("auth_strategies:\n  - {name: a, type: key_auth}\n  - {name: b, type: header, key_names: [x]}\n  - {name: c, type: key_auth, key_names: ['bad name']}\n");
    has(
        &e,
        "catalog.yaml: auth_strategies[2]: a key_auth strategy needs `key_names` (for example `key_names: [apikey]`)",
    );
    has(&e, "catalog.yaml: auth_strategies[3].key_names: `key_names` belongs to a `key_auth` strategy (a header strategy uses `header`)");
    has(
        &e,
        "catalog.yaml: auth_strategies[4].key_names[0]: \"bad name\" is not a valid header or parameter name (letters, digits and !#$%&'*+-.^_`|~, at most 256 bytes)",
    );
}

#[test]
fn applications_without_credentials_warn_unless_anonymous() {
    let m = ok("applications:\n  - {name: anon, owner: {team: acme}, auth_strategy: keys}\n  - {name: idle, owner: {team: acme}, auth_strategy: keys}\nenforcement: {anonymous: anon}\n");
    let places: Vec<&str> = m.warnings.iter().map(|w| w.place.as_str()).collect();
    assert_eq!(places, vec!["applications[1]"]);
}

#[test]
fn references_into_an_api_with_broken_operations_are_not_guessed_at() {
    let e = errors("apis:\n  - name: extra\n    hosts: [other.test]\n    operations: [GRT /a]\n    exclude: [GET /a]\npackages:\n  - id: p2\n    operations: [{api: extra, op: GET /a}]\n");
    assert_eq!(
        e,
        vec!["catalog.yaml: apis[2].operations[0]: unknown method \"GRT\" (did you mean \"GET\"?)"]
    );
}

#[test]
fn package_operations_have_a_total_limit() {
    let text = "version: 1\napis:\n  - name: a\n    operations: [GET /x, GET /y]\npackages:\n  - id: p\n    operations: [{api: a}]\n  - id: q\n    operations: [{api: a, op: GET /x}, {api: a, op: GET /y}]\n";
    let doc = crate::source::parse(text.as_bytes(), "c.yaml").expect("valid YAML");
    let c = catalog::parse(&doc, "c.yaml").expect("valid catalog");
    let mut ctx = Ctx {
        file: "c.yaml",
        dir: Path::new("."),
        errors: Vec::new(),
        warnings: Vec::new(),
        inputs: Vec::new(),
    };
    let built = apis::build(&mut ctx, &c.apis).expect("apis build");
    let index = Index::new(c.apis.iter().map(|a| a.name.as_str()));
    let out = packages::build_limited(&mut ctx, &c.packages, &built, &index, 3);
    // Every package is still there (indices stay valid), the overflow is reported once.
    assert_eq!(out.len(), 2);
    let errors: Vec<String> = ctx.errors.iter().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("c.yaml: packages[1].operations[1]: the packages contain more than 3 operations"),
        "{errors:?}"
    );
    // The default limit is far above this catalog.
    let mut ctx = Ctx {
        errors: Vec::new(),
        ..ctx
    };
    packages::build(&mut ctx, &c.packages, &built, &index);
    assert!(ctx.errors.is_empty());
}
