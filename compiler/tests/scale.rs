//! Scale: a YAML catalog of the size real platforms reach — 100,000 package operation entries
//! naming operations with `op:`, 30,000 applications with a credential each — compiles. It used
//! to fail on the YAML parser's node budget, and `op:` lookups were quadratic. Speed is measured
//! by the benchmarks, never asserted here.

use std::fmt::Write as _;

use acepack_compiler::bundle::build;
use acepack_compiler::load_model;

const OPERATIONS: usize = 20_000;
const PACKAGES: usize = 5;
const APPLICATIONS: usize = 30_000;

fn catalog() -> String {
    let mut y = String::with_capacity(8 << 20);
    y.push_str("version: 1\nauth_strategies:\n  - {name: keys, type: key_auth, key_names: [apikey]}\n");
    y.push_str("apis:\n  - name: big\n    operations:\n");
    for i in 0..OPERATIONS {
        // Half by id, half by route, so both lookups are exercised.
        if i % 2 == 0 {
            let _ = writeln!(y, "      - {{id: op{i}, op: \"GET /r{i}/{{id}}\"}}");
        } else {
            let _ = writeln!(y, "      - \"GET /r{i}/{{id}}\"");
        }
    }
    y.push_str("packages:\n");
    for p in 0..PACKAGES {
        let _ = writeln!(y, "  - id: p{p}\n    rate_limit: 10/second\n    operations:");
        for i in 0..OPERATIONS {
            if i % 2 == 0 {
                let _ = writeln!(y, "      - {{api: big, op: op{i}}}");
            } else {
                let _ = writeln!(y, "      - {{api: big, op: \"GET /r{i}/{{x}}\"}}");
            }
        }
    }
    y.push_str("developers:\n  - {email: dev@example.test}\napplications:\n");
    for a in 0..APPLICATIONS {
        let _ = writeln!(
            y,
            "  - name: app{a}\n    owner: {{developer: dev@example.test}}\n    auth_strategy: keys\n    credentials: [{{key: key-{a}-secret}}]\n    registrations: [{{package: p{}}}]",
            a % PACKAGES
        );
    }
    y
}

#[test]
fn a_large_yaml_catalog_compiles() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("catalog.yaml");
    std::fs::write(&path, catalog()).expect("catalog written");
    let model = load_model(&path).unwrap_or_else(|e| match e {
        acepack_compiler::LoadError::Invalid(d) => panic!("{} errors, first: {}", d.len(), d[0]),
        other => panic!("{other}"),
    });
    assert_eq!(model.operations.len(), OPERATIONS);
    assert_eq!(model.applications.len(), APPLICATIONS);
    assert!(model.packages.iter().all(|p| p.operations.len() == OPERATIONS));
    // Entry i of every package resolved to operation i, whether named by id or by route.
    assert!(model
        .packages
        .iter()
        .all(|p| p.operations.iter().enumerate().all(|(i, po)| po.operation == i)));
    let bundle = build(&model).unwrap_or_else(|d| panic!("{}", d[0]));
    let bytes = bundle.encode().expect("encodes");
    acepack_filter::engine::Engine::load(&bytes).expect("the filter loads it");
}
