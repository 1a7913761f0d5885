//! `acepack spec` on the real-world fixtures (KongAir, Twilio, OpenAI, Discord, Vault): every
//! package built from them must be a valid OpenAPI 3.1 document — checked with
//! openapi-spec-validator (PyPI, installed into .venv by scripts/setup), which applies the official
//! 3.1 schema and its own semantic checks (defaults against their schemas, path parameters, unique
//! operationIds) — and must hold exactly the package's operations. See docs/portal.md.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use acepack_compiler::spec;
use serde_json::Value;

/// The venv's Python, with openapi-spec-validator.
fn validator_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let ok = Command::new(&py)
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{}: openapi-spec-validator is not installed: run scripts/setup",
        py.display()
    );
    py
}

/// A catalog over the fixtures, one package per spec plus mixed ones, written into `dir`.
fn fixture_catalog(dir: &Path) -> PathBuf {
    let f = support::fixtures_dir();
    let f = f.display();
    let text = format!(
        r#"version: 1
auth_strategies:
  - {{name: keys, type: key_auth, key_names: [apikey, x-api-key]}}
  - {{name: ident, type: header, header: x-client-id}}
apis:
  - {{name: flights, version: "1", spec: {f}/kongair/flight-data__flights__openapi.yaml, hosts: [flights.kong-air.test]}}
  - {{name: routes, version: "1", spec: {f}/kongair/flight-data__routes__openapi.yaml, hosts: [routes.kong-air.test]}}
  - {{name: bookings, version: "1", spec: {f}/kongair/sales__bookings__openapi.yaml, hosts: [bookings.kong-air.test]}}
  - {{name: customer, version: "1", spec: {f}/kongair/sales__customer__openapi.yaml, hosts: [customer.kong-air.test]}}
  - {{name: twilio, version: "1", spec: {f}/large/twilio_api_v2010.yaml, hosts: [api.twilio.com]}}
  - {{name: openai, version: "1", spec: {f}/large/openai_openapi.yaml, hosts: [api.openai.com]}}
  - {{name: discord, version: "1", spec: {f}/large/discord_openapi.json, hosts: [discord.com]}}
  - {{name: vault, version: "1", spec: {f}/large/vault_openapi.json}}
  - {{name: manual, version: "1", base_path: /m, hosts: [manual.test], operations: [GET /status, "PUT /items/{{itemId}}/tags/{{tag}}"]}}
packages:
  - {{id: kongair, version: "1", rate_limit: 10/second, operations: [{{api: flights}}, {{api: routes}}, {{api: bookings}}, {{api: customer, op: get-cust-info, rate_limit: [1/second, 100/day]}}]}}
  - {{id: twilio-all, version: "1", operations: [{{api: twilio}}]}}
  - {{id: openai-all, version: "1", rate_limit: 100/minute, operations: [{{api: openai}}]}}
  - {{id: discord-all, version: "1", operations: [{{api: discord}}]}}
  - {{id: vault-all, version: "1", operations: [{{api: vault}}]}}
  - {{id: mixed, version: "1", operations: [{{api: openai}}, {{api: discord}}, {{api: flights}}, {{api: twilio, op: "GET /2010-04-01/Accounts.json"}}, {{api: manual}}]}}
"#
    );
    let path = dir.join("catalog.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every operation of a document, with the API it came from.
fn operations(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (k, op) in item.as_object().unwrap() {
            if let Some(api) = op.get("x-acepack-operation").and_then(|o| o["api"].as_str()) {
                out.push((k.to_uppercase(), path.clone(), api.to_owned()));
            }
        }
        for other in item
            .get("x-acepack-same-path-other-hosts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push((
                other["method"].as_str().unwrap().to_uppercase(),
                path.clone(),
                other["api"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn every_fixture_package_is_valid_openapi_3_1_with_exactly_its_operations() {
    let py = validator_python();
    let dir = tempfile::tempdir().unwrap();
    let catalog = fixture_catalog(dir.path());
    let inputs = spec::load(&catalog).unwrap_or_else(|e| panic!("fixture catalog: {e:?}"));
    let packages: Vec<String> = inputs.model.packages.iter().map(|p| p.id.clone()).collect();
    assert_eq!(packages.len(), 6);
    let mut files = Vec::new();
    for id in &packages {
        let out = spec::package_spec(&inputs, id).unwrap_or_else(|e| panic!("{id}: {e:?}"));
        let doc = out.document;
        assert_eq!(doc["openapi"], "3.1.0");
        let pkg = inputs.model.packages.iter().find(|p| &p.id == id).unwrap();
        // Exactly the package's operations: same count, each one's (method, full path, API).
        let mut got = operations(&doc);
        let mut want: Vec<(String, String, String)> = pkg
            .operations
            .iter()
            .map(|po| {
                let op = &inputs.model.operations[po.operation];
                let api = &inputs.model.apis[op.api];
                (
                    op.method.clone(),
                    format!("{}{}", api.base_path, op.spec_path),
                    api.name.clone(),
                )
            })
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{id}: the document's operations are not the package's");
        let file = dir.path().join(format!("{id}.json"));
        std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        files.push((id.clone(), file));
    }
    // Two workers: the large documents take a while to validate.
    let halves: Vec<Vec<(String, PathBuf)>> = vec![
        files.iter().step_by(2).cloned().collect(),
        files.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = halves
            .iter()
            .map(|half| {
                let py = &py;
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for (id, file) in half {
                        let out = Command::new(py)
                            .args(["-m", "openapi_spec_validator"])
                            .arg(file)
                            .output()
                            .unwrap();
                        let text =
                            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
                        if !out.status.success() || !text.contains(": OK") {
                            bad.push(format!("{id}: {}", text.chars().take(2000).collect::<String>()));
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "invalid OpenAPI 3.1:\n{}", failures.join("\n"));
}

#[test]
fn kongair_servers_security_limits_and_same_path_on_other_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = spec::load(&fixture_catalog(dir.path())).unwrap();
    let doc = spec::package_spec(&inputs, "kongair").unwrap().document;
    let urls: Vec<&str> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            "https://flights.kong-air.test",
            "https://routes.kong-air.test",
            "https://bookings.kong-air.test",
            "https://customer.kong-air.test"
        ]
    );
    // Every API has GET /health: the first keeps the path item, the others stand beside it.
    let health = &doc["paths"]["/health"];
    assert_eq!(health["get"]["x-acepack-operation"]["api"], "flights");
    assert_eq!(health["servers"][0]["url"], "https://flights.kong-air.test");
    let others: Vec<&str> = health["x-acepack-same-path-other-hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["api"].as_str().unwrap())
        .collect();
    assert_eq!(others, ["routes", "bookings"]);
    // One key is enough: each key name as header or query, for the key_auth strategy only.
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(
        schemes["keys_header_x-api-key"],
        serde_json::json!({
            "type": "apiKey", "in": "header", "name": "x-api-key",
            "description": schemes["keys_header_x-api-key"]["description"].clone()
        })
    );
    assert_eq!(schemes.len(), 4);
    assert_eq!(doc["security"].as_array().unwrap().len(), 4);
    assert_eq!(doc["x-acepack-package"]["auth_strategies"][1]["type"], "header");
    // Limits: the package's, and the operation's own override, in the extension and the text.
    assert_eq!(doc["x-acepack-package"]["rate_limit"], serde_json::json!(["10/second"]));
    let cust = &doc["paths"]["/customer"]["get"];
    assert_eq!(
        cust["x-acepack-rate-limit"],
        serde_json::json!({"scope": "operation", "limits": ["1/second", "100/day"]})
    );
    assert!(cust["description"]
        .as_str()
        .unwrap()
        .contains("Rate limit: 1/second, 100/day per application for this operation alone"));
    let flights = &doc["paths"]["/flights"]["get"];
    assert_eq!(flights["x-acepack-rate-limit"]["scope"], "package");
    // The source's own security and servers are replaced by the gateway's.
    assert!(flights.get("security").is_none() && flights.get("servers").is_none());
}

/// Two small APIs whose components clash by name; one is OpenAPI 3.0.
fn clash_catalog(dir: &Path) -> PathBuf {
    std::fs::write(
        dir.join("a.yaml"),
        r##"openapi: 3.0.3
info: {title: a, version: "1"}
servers: [{url: "https://a.example/api"}]
paths:
  /things/{id}:
    parameters: [{$ref: "#/components/parameters/Id"}]
    get:
      operationId: getThing
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
        default: {$ref: "#/components/responses/Error"}
  /unused:
    get: {operationId: unused, responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Unused"}}}}}}
components:
  parameters:
    Id: {name: id, in: path, required: true, schema: {type: integer, minimum: 0, exclusiveMinimum: true}}
  responses:
    Error: {description: error, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  schemas:
    Thing: {type: object, properties: {name: {type: string, nullable: true}, owner: {$ref: "#/components/schemas/Owner"}}}
    Owner: {type: string}
    Error: {type: object, properties: {code: {type: integer}}}
    Unused: {type: string}
"##,
    )
    .unwrap();
    std::fs::write(
        dir.join("b.yaml"),
        r##"openapi: 3.1.0
info: {title: b, version: "1"}
paths:
  /things:
    post:
      operationId: getThing
      requestBody: {content: {application/json: {schema: {$ref: "#/components/schemas/Thing"}}}}
      responses: {default: {$ref: "#/components/responses/Error"}}
components:
  responses:
    Error: {description: b error, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
  schemas:
    Thing: {type: [object, "null"]}
    Error: {type: object, properties: {message: {type: string}}}
"##,
    )
    .unwrap();
    let catalog = dir.join("catalog.yaml");
    std::fs::write(
        &catalog,
        r#"version: 1
auth_strategies: [{name: keys, type: key_auth, key_names: [apikey]}]
apis:
  - {name: a, version: "1", spec: a.yaml}
  - {name: b, version: "1", spec: b.yaml, base_path: /b}
packages:
  - {id: both, version: "2", operations: [{api: a, op: getThing}, {api: b}]}
"#,
    )
    .unwrap();
    catalog
}

#[test]
fn clashing_components_are_prefixed_unused_ones_pruned_and_3_0_converted() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = spec::load(&clash_catalog(dir.path())).unwrap();
    let doc = spec::package_spec(&inputs, "both").unwrap().document;
    let names = |kind: &str| -> Vec<String> {
        let mut v: Vec<String> = doc["components"][kind].as_object().unwrap().keys().cloned().collect();
        v.sort();
        v
    };
    // API a (first in the package) keeps its names; b's clashing ones take the `b_` prefix.
    assert_eq!(names("schemas"), ["Error", "Owner", "Thing", "b_Error", "b_Thing"]);
    assert_eq!(names("responses"), ["Error", "b_Error"]);
    assert_eq!(names("parameters"), ["Id"]);
    let post = &doc["paths"]["/b/things"]["post"];
    assert_eq!(post["operationId"], "b_getThing", "operationIds stay unique");
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/b_Thing"
    );
    assert_eq!(post["responses"]["default"]["$ref"], "#/components/responses/b_Error");
    assert_eq!(
        doc["components"]["responses"]["b_Error"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/b_Error"
    );
    // Path-level parameters stay on the path item; 3.0 keywords became 3.1.
    let item = &doc["paths"]["/api/things/{id}"];
    assert_eq!(item["parameters"][0]["$ref"], "#/components/parameters/Id");
    assert_eq!(
        doc["components"]["parameters"]["Id"]["schema"],
        serde_json::json!({"type": "integer", "exclusiveMinimum": 0})
    );
    assert_eq!(
        doc["components"]["schemas"]["Thing"]["properties"]["name"],
        serde_json::json!({"type": ["string", "null"]})
    );
    // Servers: a's origin from its spec (the base path is in the paths), b has none: "/".
    let urls: Vec<&str> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, ["https://a.example", "/"]);
    assert!(doc["paths"].get("/api/unused").is_none());
}

#[test]
fn cli_writes_the_file_and_refuses_inputs_and_unknown_packages() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = clash_catalog(dir.path());
    let acepack = env!("CARGO_BIN_EXE_acepack");
    let out = dir.path().join("both.json");
    let run = |args: &[&std::ffi::OsStr]| Command::new(acepack).args(args).output().unwrap();
    let ok = run(&[
        "spec".as_ref(),
        catalog.as_os_str(),
        "--package".as_ref(),
        "both".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let written: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        written,
        spec::package_spec(&spec::load(&catalog).unwrap(), "both")
            .unwrap()
            .document
    );
    let spec_a = dir.path().join("a.yaml");
    let before = std::fs::read(&spec_a).unwrap();
    let refused = run(&[
        "spec".as_ref(),
        catalog.as_os_str(),
        "--package".as_ref(),
        "both".as_ref(),
        "-o".as_ref(),
        spec_a.as_os_str(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is also an input"));
    assert_eq!(std::fs::read(&spec_a).unwrap(), before);
    let unknown = run(&[
        "spec".as_ref(),
        catalog.as_os_str(),
        "--package".as_ref(),
        "bth".as_ref(),
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains(r#"no package "bth" in the catalog (did you mean "both"?)"#)
    );
}
