//! `acepack portal`: the site's files and pages from a small catalog, visibility, API
//! publications, and the output rules — written as a whole, never over a file, a foreign folder
//! or an input (docs/portal.md). The browser side is tested in portal-tests/.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SPEC: &str = r##"openapi: 3.0.3
info: {title: flights, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /flights:
    get: {operationId: listFlights, summary: "List <today's> flights", responses: {"200": {description: ok}}}
  /flights/{id}:
    get: {operationId: getFlight, parameters: [{name: id, in: path, required: true, schema: {type: string}}], responses: {"200": {description: ok}}}
"##;

const CATALOG: &str = r#"version: 1
auth_strategies: [{name: keys, type: key_auth, key_names: [apikey]}]
apis:
  - {name: flights, version: "1", spec: flights.yaml}
  - {name: status, version: "1", operations: [GET /status]}
packages:
  - {id: open, name: Open Flights, version: "1", rate_limit: 5/minute, operations: [{api: flights, op: listFlights}]}
  - {id: partner, version: "2", operations: [{api: flights}]}
developers: [{email: a@acme.test, status: approved}]
teams: [{name: acme, members: [a@acme.test]}, {name: beta, members: []}]
portals:
  - name: public-portal
    auth_strategies: [keys]
    publications:
      - {package: open}
      - {package: partner, visibility: private, teams: [acme]}
      - {api: status}
  - name: other
    auth_strategies: [keys]
    publications: [{package: open}]
applications:
  - name: acme-app
    portal: public-portal
    owner: {team: acme}
    auth_strategy: keys
    credentials: [{key: secret-key-123456}]
    registrations: [{package: partner}]
"#;

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("flights.yaml"), SPEC).unwrap();
    let catalog = dir.path().join("catalog.yaml");
    std::fs::write(&catalog, CATALOG).unwrap();
    (dir, catalog)
}

fn portal(catalog: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acepack"))
        .arg("portal")
        .arg(catalog)
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn pages_show_publications_with_visibility_operations_and_specs() {
    let (dir, catalog) = setup();
    let out = dir.path().join("site");
    let o = portal(&catalog, &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("without try-it"));
    let index = read(out.join("index.html"));
    assert!(
        index.contains(r#"<a href="public-portal/index.html">public-portal</a>"#) && index.contains("other/index.html")
    );
    let p = read(out.join("public-portal/index.html"));
    assert!(p.contains(r#"data-id="open" data-visibility="public""#));
    assert!(p.contains(r#"data-id="partner" data-visibility="private""#));
    assert!(p.contains("private · teams: acme"));
    assert!(
        p.contains(r#"data-id="status" data-visibility="public""#),
        "an API publication is listed"
    );
    // The team view holds the team's private publication; no page for a team with none.
    let acme = read(out.join("public-portal/team-acme.html"));
    assert!(acme.contains(r#"data-id="partner""#) && acme.contains(r#"data-id="open""#));
    assert!(!out.join("public-portal/team-beta.html").exists());
    // Package page: operations with their limit, text escaped, spec as a file.
    let open = read(out.join("public-portal/package-open.html"));
    assert!(open.contains("List &lt;today&#39;s&gt; flights"));
    assert!(open.contains("<code>/v1/flights</code>") && open.contains("5/minute (package)"));
    assert!(!open.contains("/v1/flights/{id}"), "only the package's operations");
    assert!(open.contains("generated without the try-it engine"));
    let spec: serde_json::Value = serde_json::from_str(&read(out.join("public-portal/spec-open.json"))).unwrap();
    let direct =
        acepack_compiler::spec::package_spec(&acepack_compiler::spec::load(&catalog).unwrap(), "open").unwrap();
    assert_eq!(spec, direct.document);
    let status: serde_json::Value = serde_json::from_str(&read(out.join("public-portal/spec-status.json"))).unwrap();
    assert!(status["paths"]["/status"]["get"].is_object());
    assert!(read(out.join("public-portal/api-status.html")).contains("none (an API grant has no ACE limit)"));
    // Only one portal when asked.
    let only = dir.path().join("only");
    assert!(portal(&catalog, &only, &["--portal", "other"]).status.success());
    assert!(only.join("other/index.html").exists() && !only.join("public-portal").exists());
    let bad = portal(&catalog, &dir.path().join("x"), &["--portal", "publc-portal"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains(r#"did you mean "public-portal""#));
    assert!(!dir.path().join("x").exists());
}

#[test]
fn engine_files_are_embedded_with_the_bundle_and_no_plain_key() {
    let (dir, catalog) = setup();
    let engine = dir.path().join("engine");
    std::fs::create_dir(&engine).unwrap();
    std::fs::write(engine.join("acepack_browser.js"), "let wasm_bindgen = null;\n").unwrap();
    std::fs::write(engine.join("acepack_browser_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let out = dir.path().join("site");
    let o = portal(&catalog, &out, &["--engine", engine.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        read(out.join("assets/engine-wasm.js")).lines().nth(1).unwrap(),
        r#"window.ACEPACK_ENGINE_WASM = "AGFzbQEAAAA=";"#
    );
    assert!(read(out.join("assets/bundle.js")).contains("window.ACEPACK_BUNDLE = \""));
    let page = read(out.join("public-portal/package-partner.html"));
    assert!(page.contains(r#"<form id="tryit""#) && page.contains("assets/tryit.js"));
    for entry in walk(&out) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("secret-key-123456"),
            "{}",
            entry.display()
        );
    }
    // A missing engine file is a usage error, and nothing is written.
    std::fs::remove_file(engine.join("acepack_browser.js")).unwrap();
    let o = portal(&catalog, &dir.path().join("y"), &["--engine", engine.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("acepack_browser.js"));
    assert!(!dir.path().join("y").exists());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn output_is_replaced_as_a_whole_and_never_over_files_foreign_folders_or_inputs() {
    let (dir, catalog) = setup();
    let out = dir.path().join("site");
    assert!(portal(&catalog, &out, &[]).status.success());
    std::fs::write(out.join("stale.html"), "old").unwrap();
    assert!(
        portal(&catalog, &out, &[]).status.success(),
        "an earlier site is replaced"
    );
    assert!(!out.join("stale.html").exists(), "replaced as a whole");
    assert!(out.join(".acepack-portal").exists());

    let file = dir.path().join("file");
    std::fs::write(&file, "keep").unwrap();
    let o = portal(&catalog, &file, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a folder"));
    assert_eq!(read(file), "keep");

    let foreign = dir.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("mine.txt"), "keep").unwrap();
    let o = portal(&catalog, &foreign, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("acepack did not make"));
    assert_eq!(read(foreign.join("mine.txt")), "keep");

    // The catalog's own folder (it holds the inputs) is refused even when marked.
    std::fs::write(dir.path().join(".acepack-portal"), "").unwrap();
    let o = portal(&catalog, dir.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("an input of this command"));
    assert!(catalog.exists());
    // No temporary folder is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-") || n.contains(".old-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
