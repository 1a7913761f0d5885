//! `acepack check` end to end: the built binary on small catalogs written to a temporary folder.
//! Each broken input must exit 1 and name the place of the problem on stderr (docs/cli.md).

use std::path::Path;
use std::process::{Command, Output};

/// A valid catalog with manual operations only; broken cases are small edits of it.
const VALID: &str = r#"version: 1
auth_strategies:
  - name: keys
    type: key_auth
    key_names: [apikey]
  - name: ident
    type: header
    header: x-client-id
apis:
  - name: billing
    operations:
      - GET /billing
      - id: createInvoice
        op: POST /billing
  - name: flights
    hosts: [api.example.com]
    base_path: /v1
    operations: [GET /flights, GET /health]
packages:
  - id: flight-billing
    name: Flight Billing API
    rate_limit: 5/second
    operations:
      - api: billing
        op: GET /billing
      - api: flights
developers:
  - email: alice@acme.test
  - email: bob@acme.test
teams:
  - name: acme
    members: [alice@acme.test]
portals:
  - name: partners
    auth_strategies: [keys]
    publications:
      - package: flight-billing
        visibility: private
        teams: [acme]
      - api: flights
applications:
  - name: acme-billing
    portal: partners
    owner: {team: acme}
    auth_strategy: keys
    credentials:
      - key: acme-live-7f3a9c
    registrations:
      - package: flight-billing
  - name: bob-app
    owner: {developer: bob@acme.test}
    auth_strategy: ident
    credentials:
      - id: client-123
    registrations:
      - api: billing
"#;

/// A small valid OpenAPI document.
const SPEC: &str = r#"openapi: 3.0.3
info: {title: flights, version: "1"}
servers: [{url: "https://api.example.com/v1"}]
paths:
  /flights:
    get:
      operationId: getFlights
      responses: {"200": {description: ok}}
  /flights/{number}:
    get:
      operationId: getFlight
      responses: {"200": {description: ok}}
"#;

/// `VALID` with one edit; the edited text must be there (so a case cannot silently test nothing).
fn edit(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "VALID has no {from:?}");
    VALID.replacen(from, to, 1)
}

/// `VALID` with more YAML appended to the last list (applications) or new top-level keys.
fn plus(more: &str) -> String {
    format!("{VALID}{more}")
}

fn acepack(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the acepack binary runs")
}

/// One case: files written to a fresh folder, `acepack check catalog.yaml [flags]` run there.
struct Test {
    name: &'static str,
    catalog: String,
    files: Vec<(&'static str, String)>,
    flags: &'static [&'static str],
    status: i32,
    /// Substrings stderr must contain.
    stderr: &'static [&'static str],
    /// Substrings stdout must contain.
    stdout: &'static [&'static str],
}

impl Test {
    fn new(name: &'static str, catalog: String) -> Self {
        Test {
            name,
            catalog,
            files: Vec::new(),
            flags: &[],
            status: 1,
            stderr: &[],
            stdout: &[],
        }
    }

    fn file(mut self, path: &'static str, text: &str) -> Self {
        self.files.push((path, text.to_string()));
        self
    }

    fn flags(mut self, flags: &'static [&'static str]) -> Self {
        self.flags = flags;
        self
    }

    fn status(mut self, status: i32) -> Self {
        self.status = status;
        self
    }

    fn stderr(mut self, wanted: &'static [&'static str]) -> Self {
        self.stderr = wanted;
        self
    }

    fn stdout(mut self, wanted: &'static [&'static str]) -> Self {
        self.stdout = wanted;
        self
    }

    /// Runs the case; returns a description of what went wrong, if anything.
    fn run(&self) -> Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        std::fs::write(dir.path().join("catalog.yaml"), &self.catalog).map_err(|e| e.to_string())?;
        for (path, text) in &self.files {
            let full = dir.path().join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            std::fs::write(full, text).map_err(|e| e.to_string())?;
        }
        let mut args = vec!["check", "catalog.yaml"];
        args.extend(self.flags);
        let out = acepack(dir.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut problems = Vec::new();
        if out.status.code() != Some(self.status) {
            problems.push(format!("exit status {:?}, expected {}", out.status.code(), self.status));
        }
        for wanted in self.stderr {
            if !stderr.contains(wanted) {
                problems.push(format!("stderr lacks {wanted:?}"));
            }
        }
        for wanted in self.stdout {
            if !stdout.contains(wanted) {
                problems.push(format!("stdout lacks {wanted:?}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{}: {}\n--- stderr:\n{stderr}--- stdout:\n{stdout}",
                self.name,
                problems.join("; ")
            ))
        }
    }
}

fn run_all(cases: Vec<Test>) {
    let failures: Vec<String> = cases.iter().filter_map(|t| t.run().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_valid_catalog_passes_and_lists_operations() {
    run_all(vec![Test::new("valid", VALID.to_string()).status(0).stdout(&[
        "catalog.yaml: 2 apis, 4 operations, 1 package, 2 applications (2 credentials)",
        "api billing (",
        "GET /billing   GET /billing\n",
        "POST /billing  createInvoice",
        "GET /v1/flights",
        "package flight-billing \"Flight Billing API\": 3 operations; limit 5/second; portals partners",
        "application acme-billing (keys, 1 credential): grants package flight-billing",
        "catalog.yaml: ok (0 warnings)",
    ])]);
}

#[test]
fn broken_catalogs_exit_1_and_name_the_place() {
    run_all(vec![
        Test::new("malformed YAML", edit("    key_names: [apikey]\n", "    key_names: [apikey\n"))
            .stderr(&["catalog.yaml: line 6 column 9:"]),
        Test::new("unknown top-level key", edit("packages:", "pakages:"))
            .stderr(&["catalog.yaml: pakages: unknown key \"pakages\" (did you mean \"packages\"?)"]),
        Test::new("unknown nested key", edit("        op: GET /billing\n", "        op: GET /billing\n        rate_limt: 5/second\n"))
            .stderr(&["catalog.yaml: packages[0].operations[0].rate_limt: unknown key \"rate_limt\" (did you mean \"rate_limit\"?)"]),
        Test::new("version 2", edit("version: 1", "version: 2"))
            .stderr(&["catalog.yaml: version: unsupported catalog version 2 (this acepack reads version 1)"]),
        Test::new("wrong type", edit("hosts: [api.example.com]", "hosts: 5"))
            .stderr(&["catalog.yaml: apis[1].hosts: wrong type: integer `5`, expected a list"]),
        Test::new("unknown enum value", plus("enforcement:\n  match_policy: requried\n"))
            .stderr(&["catalog.yaml: enforcement.match_policy: unknown value \"requried\" (did you mean \"required\"?)"]),
        Test::new("two gateways", plus("gateway: {envoy: e.yaml, kong: k.yaml}\n"))
            .stderr(&["catalog.yaml: gateway: name exactly one gateway file"]),
        Test::new("bad name", edit("  - name: billing\n", "  - name: Billing\n"))
            .stderr(&["catalog.yaml: apis[0].name: \"Billing\" is not a valid name"]),
        Test::new("duplicate name across apis and packages", edit("  - id: flight-billing\n", "  - id: flights\n"))
            .stderr(&["catalog.yaml: packages[0].id: name \"flights\" is already used at apis[1].name"]),
        Test::new("duplicate application", edit("  - name: bob-app\n", "  - name: acme-billing\n"))
            .stderr(&["catalog.yaml: applications[1].name: application name \"acme-billing\" is already used at applications[0].name"]),
        Test::new("dangling api", edit("      - api: flights\n", "      - api: flight\n"))
            .stderr(&["catalog.yaml: packages[0].operations[1].api: there is no api \"flight\" (did you mean \"flights\"?)"]),
        Test::new("dangling package", edit("      - package: flight-billing\n", "      - package: flight-biling\n"))
            .stderr(&["catalog.yaml: portals[0].publications[0].package: there is no package \"flight-biling\" (did you mean \"flight-billing\"?)"]),
        Test::new("dangling team", edit("owner: {team: acme}", "owner: {team: acne}"))
            .stderr(&["catalog.yaml: applications[0].owner.team: there is no team \"acne\" (did you mean \"acme\"?)"]),
        Test::new("dangling developer", edit("members: [alice@acme.test]", "members: [alice@acme.tets]"))
            .stderr(&["catalog.yaml: teams[0].members[0]: there is no developer \"alice@acme.tets\" (did you mean \"alice@acme.test\"?)"]),
        Test::new("dangling strategy", edit("    auth_strategy: ident\n", "    auth_strategy: idnet\n"))
            .stderr(&["catalog.yaml: applications[1].auth_strategy: there is no auth strategy \"idnet\" (did you mean \"ident\"?)"]),
        Test::new("dangling portal", edit("    portal: partners\n", "    portal: partner\n"))
            .stderr(&["catalog.yaml: applications[0].portal: there is no portal \"partner\" (did you mean \"partners\"?)"]),
        Test::new("dangling anonymous", plus("enforcement:\n  anonymous: bob-ap\n"))
            .stderr(&["catalog.yaml: enforcement.anonymous: there is no application \"bob-ap\" (did you mean \"bob-app\"?)"]),
        Test::new("limit zero", edit("rate_limit: 5/second", "rate_limit: 0/second"))
            .stderr(&["catalog.yaml: packages[0].rate_limit: rate limit \"0/second\" would reject every request"]),
        Test::new("limit negative", edit("rate_limit: 5/second", "rate_limit: -5/second"))
            .stderr(&["catalog.yaml: packages[0].rate_limit: rate limit \"-5/second\" is negative"]),
        Test::new("limit not an integer", edit("rate_limit: 5/second", "rate_limit: 2.5/second"))
            .stderr(&["catalog.yaml: packages[0].rate_limit: rate limit \"2.5/second\" needs a whole number of requests"]),
        Test::new("limit overflow", edit("rate_limit: 5/second", "rate_limit: 300000000/day"))
            .stderr(&["catalog.yaml: packages[0].rate_limit: rate limit \"300000000/day\" is too large: at most 213503982/day"]),
        Test::new("limit unknown unit", edit("rate_limit: 5/second", "rate_limit: [5/second, 100/week]"))
            .stderr(&["catalog.yaml: packages[0].rate_limit[1]: rate limit \"100/week\" has an unknown unit \"week\""]),
        Test::new("limit window twice", edit("rate_limit: 5/second", "rate_limit: [5/second, 10/minute, 7/second]"))
            .stderr(&["catalog.yaml: packages[0].rate_limit[2]: the second window is given twice"]),
        Test::new("per-operation limit", edit("        op: GET /billing\n", "        op: GET /billing\n        rate_limit: 1/fortnight\n"))
            .stderr(&["catalog.yaml: packages[0].operations[0].rate_limit: rate limit \"1/fortnight\" has an unknown unit"]),
        Test::new("duplicate key across applications", edit("      - id: client-123\n", "      - id: client-123\n      - key: acme-live-7f3a9c\n").replacen("auth_strategy: ident", "auth_strategy: keys", 1))
            .stderr(&["catalog.yaml: applications[1].credentials[1]: this credential is already used by application \"acme-billing\" (applications[0].credentials[0])"]),
        Test::new("bad key_sha256", edit("      - key: acme-live-7f3a9c\n", "      - key_sha256: 7f3a9c\n"))
            .stderr(&["catalog.yaml: applications[0].credentials[0].key_sha256: key_sha256 must be 64 hex digits"]),
        Test::new("id credential on key_auth", edit("      - key: acme-live-7f3a9c\n", "      - id: acme\n"))
            .stderr(&["catalog.yaml: applications[0].credentials[0].id: an `id` needs a header strategy, and \"keys\" is a key_auth strategy"]),
        Test::new("cross-API conflict", edit("operations: [GET /flights, GET /health]", "operations: [GET /flights, GET /health]\n  - name: other\n    hosts: ['*.example.com']\n    operations: [GET /v1/health]"))
            .stderr(&["catalog.yaml: apis[2]: api \"other\" and api \"flights\" both define GET /v1/health and their hosts overlap"]),
        Test::new("portal strategy mismatch", edit("    auth_strategy: keys\n    credentials:\n      - key: acme-live-7f3a9c\n", "    auth_strategy: ident\n    credentials:\n      - id: acme-live-7f3a9c\n"))
            .stderr(&["catalog.yaml: applications[0].auth_strategy: auth strategy \"ident\" is not offered by portal \"partners\" (portal \"partners\" offers: keys)"]),
        Test::new("private publication not admitting", edit("owner: {team: acme}", "owner: {developer: bob@acme.test}"))
            .stderr(&["catalog.yaml: applications[0].registrations[0]: package flight-billing is published privately on portal \"partners\" to teams [acme]; the application's owner, developer bob@acme.test, is not one of them"]),
        Test::new("unpublished registration", edit("    registrations:\n      - package: flight-billing\n", "    registrations:\n      - api: billing\n"))
            .stderr(&["catalog.yaml: applications[0].registrations[0]: api billing is not published on portal \"partners\""]),
        Test::new("exclude of an unknown operation", edit("operations: [GET /flights, GET /health]", "operations: [GET /flights, GET /health]\n    exclude: [GET /healht]"))
            .stderr(&["catalog.yaml: apis[1].exclude[0]: there is no operation \"GET /healht\" to exclude (did you mean \"GET /health\"?)"]),
        Test::new("unknown operation in a package", edit("        op: GET /billing\n", "        op: GET /bilin\n"))
            .stderr(&["catalog.yaml: packages[0].operations[0]: api \"billing\" has no operation \"GET /bilin\" (did you mean \"GET /billing\"?)"]),
        Test::new("operation twice in a package", edit("      - api: flights\n", "      - api: flights\n      - api: flights\n        op: GET /health\n"))
            .stderr(&["catalog.yaml: packages[0].operations[2]: operation \"GET /health\" of api \"flights\" is already in this package (packages[0].operations[1])"]),
        Test::new("bad manual method", edit("      - GET /billing\n", "      - GRT /billing\n"))
            .stderr(&["catalog.yaml: apis[0].operations[0]: unknown method \"GRT\" (did you mean \"GET\"?)"]),
        Test::new("bad host", edit("hosts: [api.example.com]", "hosts: ['https://api.example.com']"))
            .stderr(&["catalog.yaml: apis[1].hosts[0]: host \"https://api.example.com\" is not a host name"]),
        Test::new("owner with team and developer", edit("owner: {team: acme}", "owner: {team: acme, developer: alice@acme.test}"))
            .stderr(&["catalog.yaml: applications[0].owner: give exactly one of `team` or `developer`"]),
        Test::new("every error is reported, not just the first", edit("rate_limit: 5/second", "rate_limit: 0/second").replacen("owner: {team: acme}", "owner: {team: acne}", 1))
            .stderr(&["catalog.yaml: packages[0].rate_limit:", "catalog.yaml: applications[0].owner.team:", "2 errors"]),
    ]);
}

#[test]
fn broken_specs_exit_1_and_name_the_spec() {
    let api = "  - name: flights\n    hosts: [api.example.com]\n    base_path: /v1\n    operations: [GET /flights, GET /health]\n";
    let with_spec = |spec: &str| {
        edit(
            api,
            &format!("  - name: flights\n    hosts: [api.example.com]\n    spec: {spec}\n"),
        )
    };
    run_all(vec![
        Test::new("malformed spec", with_spec("specs/flights.yaml"))
            .file("specs/flights.yaml", "openapi: 3.0.3\npaths:\n  /a: [\n")
            .stderr(&["specs/flights.yaml: line "]),
        Test::new("spec that is not OpenAPI", with_spec("specs/flights.yaml"))
            .file("specs/flights.yaml", "swagger: \"2.0\"\ninfo: {title: x, version: \"1\"}\npaths: {}\n")
            .stderr(&["specs/flights.yaml"]),
        Test::new("package op missing from the spec", with_spec("specs/flights.yaml").replacen("      - api: flights\n", "      - api: flights\n        op: getFlihgt\n", 1))
            .file("specs/flights.yaml", SPEC)
            .stderr(&["catalog.yaml: packages[0].operations[1]: api \"flights\" has no operation \"getFlihgt\" (did you mean \"getFlight\"?)"]),
        Test::new("exclude missing from the spec", with_spec("specs/flights.yaml").replacen("    spec: specs/flights.yaml\n", "    spec: specs/flights.yaml\n    exclude: [getFlihgts]\n", 1))
            .file("specs/flights.yaml", SPEC)
            .stderr(&["catalog.yaml: apis[1].exclude[0]: there is no operation \"getFlihgts\" to exclude (did you mean \"getFlights\"?)"]),
        Test::new("valid spec", with_spec("specs/flights.yaml"))
            .file("specs/flights.yaml", SPEC)
            .status(0)
            .stdout(&["GET /v1/flights/{}", "getFlight", "spec specs/flights.yaml"]),
    ]);
}

#[test]
fn missing_files_exit_2_with_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = acepack(dir.path(), &["check", "nowhere/catalog.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere/catalog.yaml"));

    let api = "  - name: flights\n    hosts: [api.example.com]\n    base_path: /v1\n    operations: [GET /flights, GET /health]\n";
    run_all(vec![
        Test::new(
            "missing spec",
            edit(api, "  - name: flights\n    spec: specs/missing.yaml\n"),
        )
        .status(2)
        .stderr(&["specs/missing.yaml"]),
        Test::new("missing gateway file", plus("gateway:\n  kong: kong/missing.yaml\n"))
            .status(2)
            .stderr(&["kong/missing.yaml"]),
    ]);
}

#[test]
fn strict_turns_warnings_into_errors() {
    // An application without credentials is a warning.
    let catalog = plus("  - name: idle\n    owner: {team: acme}\n    auth_strategy: keys\n");
    run_all(vec![
        Test::new("warning without --strict", catalog.clone())
            .status(0)
            .stdout(&[
                "warning: catalog.yaml: applications[2]: application \"idle\" has no credentials",
                "ok (1 warning)",
            ]),
        Test::new("warning with --strict", catalog)
            .flags(&["--strict"])
            .status(1)
            .stderr(&[
                "catalog.yaml: applications[2]: application \"idle\" has no credentials",
                "warnings are errors under --strict",
            ]),
    ]);
}

/// An Envoy RouteConfiguration that serves billing but not flights, plus a route nothing covers.
const ENVOY_ROUTES: &str = r#"name: local
virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
      - match: {prefix: /billing}
        route: {cluster: billing}
      - name: admin
        match: {prefix: /admin}
        route: {cluster: admin}
"#;

#[test]
fn gateway_mapping_is_reported_and_gaps_are_warnings() {
    let catalog = plus("gateway: {envoy: envoy/routes.yaml}\nenforcement: {match_policy: required}\n");
    run_all(vec![
        Test::new("mapped", catalog.clone()).file("envoy/routes.yaml", ENVOY_ROUTES).status(0).stdout(&[
            "gateway envoy/routes.yaml: 2 of 4 operations matched",
            "(billing)",
            "GET /v1/flights  GET /flights  unmatched",
            "warning: envoy/routes.yaml: no route serves GET /v1/flights (operation \"GET /flights\" of api \"flights\")",
            "warning: envoy/routes.yaml: admin: route serves no operation; with match_policy required, all traffic to it will be rejected with 404",
            "warning: envoy/routes.yaml: local/all/routes[0] (prefix /billing): route is partly covered: only GET /billing, POST /billing of the paths under prefix /billing have an operation",
            "ok (4 warnings)",
        ]),
        Test::new("mapped, strict", catalog)
            .file("envoy/routes.yaml", ENVOY_ROUTES)
            .flags(&["--strict"])
            .stderr(&[
                "envoy/routes.yaml: no route serves GET /v1/health",
                "envoy/routes.yaml: admin: route serves no operation",
                "4 errors (warnings are errors under --strict)",
            ]),
        Test::new("broken gateway file", plus("gateway: {envoy: routes.yaml}\n"))
            .file("routes.yaml", "virtual_hosts: [\n")
            .stderr(&["routes.yaml: line "]),
    ]);
}

#[test]
fn json_reports_parse() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("catalog.yaml"), VALID).expect("write");
    let out = acepack(dir.path(), &["check", "catalog.yaml", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["ok"], true);
    assert_eq!(report["summary"]["operations"], 4);
    assert_eq!(report["apis"][0]["operations"][1]["id"], "createInvoice");
    assert_eq!(report["applications"][0]["grants"][0], "package flight-billing");
    assert_eq!(report["errors"], serde_json::json!([]));

    std::fs::write(
        dir.path().join("catalog.yaml"),
        edit("rate_limit: 5/second", "rate_limit: 5/sec"),
    )
    .expect("write");
    let out = acepack(dir.path(), &["check", "catalog.yaml", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(report["ok"], false);
    assert_eq!(report["errors"][0]["place"], "packages[0].rate_limit");
    assert_eq!(report["errors"][0]["hint"], "did you mean \"second\"?");
}
