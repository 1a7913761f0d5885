//! KongAir end to end: four real OpenAPI specs as four APIs, mapped onto the Kong declarative
//! config decK generated from them (the third-party fixtures' `kongair` folder, see its SOURCES.tsv).
//!
//! The catalogs in `tests/data/catalogs/kongair` name the fixtures as `${ACEPACK_FIXTURES}/kongair/...`;
//! each test writes them into a temporary folder with that placeholder replaced by
//! [`support::fixtures_dir`], so nothing in the repository names a path outside it.

mod support;

use std::path::Path;
use std::process::Command;

use acepack_compiler::model::{Grant, Model};
use acepack_compiler::{load_model, LoadError};

/// A temporary folder holding the KongAir catalogs with the fixture paths filled in.
fn catalogs() -> tempfile::TempDir {
    let fixtures = support::fixtures_dir();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/catalogs/kongair");
    let dir = tempfile::tempdir().expect("temporary folder");
    for name in ["catalog.yaml", "conflict.yaml"] {
        let text = std::fs::read_to_string(source.join(name)).expect("catalog readable");
        let text = text.replace("${ACEPACK_FIXTURES}", &fixtures.display().to_string());
        std::fs::write(dir.path().join(name), text).expect("catalog written");
    }
    dir
}

fn load(dir: &Path, name: &str) -> Result<Model, LoadError> {
    load_model(&dir.join(name))
}

#[test]
fn four_health_checks_conflict_until_excluded() {
    let dir = catalogs();
    let errors = match load(dir.path(), "conflict.yaml") {
        Err(LoadError::Invalid(errors)) => errors,
        Err(LoadError::Io(e)) => panic!("I/O error: {e}"),
        Ok(_) => panic!("four APIs with GET /health for any host must conflict"),
    };
    let messages: Vec<String> = errors.iter().map(|d| d.to_string()).collect();
    for (place, api) in [("apis[1]", "routes"), ("apis[2]", "bookings"), ("apis[3]", "customer")] {
        let wanted = format!("api \"{api}\" and api \"flights\" both define GET /health");
        assert!(
            errors.iter().any(|d| d.place == place && d.message.contains(&wanted)),
            "no conflict error for {api}:\n{}",
            messages.join("\n")
        );
    }
    assert_eq!(errors.len(), 3, "{}", messages.join("\n"));
    assert!(
        errors[0].hint.as_deref().is_some_and(|h| h.contains("exclude")),
        "{:?}",
        errors[0].hint
    );

    let out = Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(["check", "conflict.yaml"])
        .current_dir(dir.path())
        .output()
        .expect("acepack runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("conflict.yaml: apis[1]: api \"routes\" and api \"flights\" both define GET /health"),
        "{stderr}"
    );
}

#[test]
fn every_operation_maps_to_the_route_deck_generated_for_it() {
    let dir = catalogs();
    let model = match load(dir.path(), "catalog.yaml") {
        Ok(m) => m,
        Err(LoadError::Invalid(errors)) => {
            panic!(
                "{}",
                errors.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
            )
        }
        Err(LoadError::Io(e)) => panic!("I/O error: {e}"),
    };
    let mapping = model.mapping.as_ref().expect("the catalog names a gateway");
    // (api, operation id) → (Kong route, Kong service): decK names routes `<service>_<operationId>`.
    let expected = [
        (
            "flights",
            "GET /health",
            "flights-service_health_get",
            "flights-service",
        ),
        (
            "flights",
            "get-flights",
            "flights-service_get-flights",
            "flights-service",
        ),
        (
            "flights",
            "get-flight-by-number",
            "flights-service_get-flight-by-number",
            "flights-service",
        ),
        (
            "flights",
            "get-flight-details",
            "flights-service_get-flight-details",
            "flights-service",
        ),
        ("routes", "get-route", "routes-service_get-route", "routes-service"),
        ("routes", "get-routes", "routes-service_get-routes", "routes-service"),
        (
            "bookings",
            "get-bookings",
            "bookings-service_get-bookings",
            "bookings-service",
        ),
        (
            "bookings",
            "post-booking",
            "bookings-service_post-booking",
            "bookings-service",
        ),
        (
            "customer",
            "get-cust-info",
            "customer-information-service_get-cust-info",
            "customer-information-service",
        ),
    ];
    let mut got: Vec<(String, String, Option<String>, Option<String>)> = mapping
        .operations
        .iter()
        .map(|m| {
            let op = &model.operations[m.operation];
            (
                model.apis[op.api].name.clone(),
                op.id.clone(),
                m.route.clone(),
                m.target.clone(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, Option<String>, Option<String>)> = expected
        .iter()
        .map(|(a, o, r, t)| (a.to_string(), o.to_string(), Some(r.to_string()), Some(t.to_string())))
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(model.operations.len(), expected.len());
    assert!(
        model.warnings.iter().all(|w| !w.message.contains("no route serves")),
        "{:?}",
        model.warnings
    );

    // The package resolves an operationId, a `METHOD /path` with another parameter name, and a whole API.
    let package = &model.packages[0];
    let ids: Vec<&str> = package
        .operations
        .iter()
        .map(|p| model.operations[p.operation].id.as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["get-flights", "get-flight-by-number", "get-route", "get-routes"]
    );
    assert_eq!(model.applications[0].grants, vec![Grant::Package(0), Grant::Api(2)]);
}

#[test]
fn check_reports_the_routes() {
    let dir = catalogs();
    let out = Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(["check", "catalog.yaml"])
        .current_dir(dir.path())
        .output()
        .expect("acepack runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("get-flights           matched → flights-service_get-flights (flights-service)"),
        "{stdout}"
    );
    assert!(stdout.contains("9 of 9 operations matched"), "{stdout}");
}
