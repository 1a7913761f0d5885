//! Property test ("fuzz target") for the catalog/spec front end: whatever the catalog, specs and
//! gateway file contain, `check` → `compile` → the filter's `Engine::load` → one decision never
//! panics and never hangs. Inputs are real catalogs (the demo's and the test data's) with random
//! byte edits, catalogs assembled from the format's own vocabulary, and arbitrary text.
//!
//! A quick run is part of `cargo test`. A long run (what docs/development.md calls fuzzing the
//! front end):
//!
//! ```text
//! FUZZ_CASES=20000 cargo test --release -p acepack-compiler --test fuzz_front_end
//! ```
//!
//! Each run draws new random inputs; a failure prints the minimal input proptest found.

use std::path::{Path, PathBuf};

use acepack_compiler::bundle::build;
use acepack_compiler::load_model;
use acepack_filter::engine::{Engine, Request};
use acepack_filter::limiter::MemoryStore;
use proptest::prelude::*;

/// Cases per property: `FUZZ_CASES`, else a quick 48.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A folder of real inputs: files copied into each case's temporary folder.
struct Seed {
    dir: PathBuf,
    catalog: &'static str,
    files: &'static [&'static str],
}

fn seeds() -> Vec<Seed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    vec![
        Seed {
            dir: root.join("../envoy/demo"),
            catalog: "catalog.yaml",
            files: &[
                "catalog.yaml",
                "envoy-routes.yaml",
                "specs/billing.yaml",
                "specs/flights.yaml",
            ],
        },
        Seed {
            dir: root.join("tests/data/bundle"),
            catalog: "catalog.yaml",
            files: &["catalog.yaml", "specs-billing.yaml"],
        },
        Seed {
            dir: root.join("tests/data/catalogs/contract"),
            catalog: "catalog.yaml",
            files: &["catalog.yaml"],
        },
    ]
}

/// Runs the whole pipeline on the catalog at `path`; only panics (and hangs) are failures.
fn pipeline(path: &Path) {
    let Ok(model) = load_model(path) else {
        return;
    };
    let Ok(bundle) = build(&model) else {
        return;
    };
    let Ok(bytes) = bundle.encode() else {
        return;
    };
    let engine = Engine::load(&bytes).expect("a bundle the compiler builds is one the filter loads");
    for (method, path) in [("GET", "/billing"), ("POST", "/v1/flights/1"), ("GET", "/")] {
        let headers = [("apikey".to_string(), "acme-live-7f3a9c".to_string())];
        let req = Request {
            method,
            path,
            authority: "api.kong-air.com",
            headers: headers.as_slice(),
            client_ip: None,
        };
        let _ = engine.decide(&req, &mut MemoryStore::new(), 1_000_000);
    }
}

/// One edit of a file: (file index, position fraction, kind, bytes).
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, f64, Vec<u8>),
    Delete(usize, f64, usize),
    Replace(usize, f64, Vec<u8>),
    Duplicate(usize, f64, f64),
}

/// Fragments that make edits meaningful to YAML, JSON, OpenAPI and the catalog.
const FRAGMENTS: &[&str] = &[
    "\n",
    ": ",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "&a ",
    "*a",
    "<<: *a",
    "~",
    "null",
    "\t",
    "/{id}",
    "/{a}/{b}/{c}",
    "{$request.body}",
    "%2F",
    "..",
    "$ref: '#/paths'",
    "$ref: 'x.yaml'",
    "servers: [{url: 'https://{region}.h/{v}'}]",
    "get:",
    "QUERY",
    "operationId: x",
    "version: 1",
    "op: GET /billing",
    "rate_limit: 5/second",
    "rate_limit: 18446744073709551615/day",
    "key: 1",
    "status: approved",
    "status: revoked",
    "hosts: ['*.a.com']",
    "base_path: /v1",
    "\u{1b}[31m",
    "\u{0}",
    "é",
    "9999999999999999999999",
    "-1",
    ".nan",
    "!!binary AAAA",
    "---\n",
    "? ",
];

fn edit() -> impl Strategy<Value = Edit> {
    let frag = prop_oneof![
        proptest::sample::select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ];
    prop_oneof![
        (0..4usize, 0.0..1.0f64, frag.clone()).prop_map(|(f, p, b)| Edit::Insert(f, p, b)),
        (0..4usize, 0.0..1.0f64, 1..64usize).prop_map(|(f, p, n)| Edit::Delete(f, p, n)),
        (0..4usize, 0.0..1.0f64, frag).prop_map(|(f, p, b)| Edit::Replace(f, p, b)),
        (0..4usize, 0.0..1.0f64, 0.0..1.0f64).prop_map(|(f, a, b)| Edit::Duplicate(f, a, b)),
    ]
}

fn at(len: usize, fraction: f64) -> usize {
    ((len as f64) * fraction) as usize % (len + 1)
}

fn apply(files: &mut [Vec<u8>], e: &Edit) {
    let n = files.len();
    match e {
        Edit::Insert(f, p, bytes) => {
            let file = &mut files[f % n];
            let i = at(file.len(), *p);
            file.splice(i..i, bytes.iter().copied());
        }
        Edit::Delete(f, p, len) => {
            let file = &mut files[f % n];
            let i = at(file.len(), *p);
            let j = (i + len).min(file.len());
            file.drain(i..j);
        }
        Edit::Replace(f, p, bytes) => {
            let file = &mut files[f % n];
            let i = at(file.len(), *p);
            let j = (i + bytes.len()).min(file.len());
            file.splice(i..j, bytes.iter().copied());
        }
        Edit::Duplicate(f, a, b) => {
            // Copies a line range elsewhere: duplicate keys, repeated operations, doubled lists.
            let file = &mut files[f % n];
            let (i, j) = {
                let (x, y) = (at(file.len(), *a), at(file.len(), *b));
                (x.min(y), x.max(y).min(x.min(y) + 400))
            };
            let chunk: Vec<u8> = file[i..j].to_vec();
            file.splice(j..j, chunk);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_real_catalogs_never_panic(seed in 0..3usize, edits in proptest::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let s = &seeds[seed % seeds.len()];
        let mut files: Vec<Vec<u8>> = s.files.iter().map(|f| std::fs::read(s.dir.join(f)).expect("seed readable")).collect();
        for e in &edits {
            apply(&mut files, e);
        }
        let dir = tempfile::tempdir().expect("temporary folder");
        for (name, bytes) in s.files.iter().zip(&files) {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("folder");
            std::fs::write(path, bytes).expect("written");
        }
        pipeline(&dir.path().join(s.catalog));
    }

    #[test]
    fn catalogs_from_the_vocabulary_never_panic(parts in proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(FRAGMENTS).prop_map(str::to_string),
            proptest::sample::select(&[
                "version: 1\n", "apis:\n", "  - name: a\n", "    operations: [\"GET /x/{id}\", POST /y]\n",
                "packages:\n", "  - id: p\n    operations:\n      - {api: a, op: GET /x/{q}}\n",
                "applications:\n", "  - name: app\n    owner: {developer: d@x.y}\n    auth_strategy: k\n",
                "    credentials: [{key: k1}, {key_sha256: abc}]\n", "    registrations: [{package: p}]\n",
                "auth_strategies: [{name: k, type: key_auth, key_names: [apikey]}]\n",
                "developers: [{email: d@x.y}]\n", "enforcement: {match_policy: required, anonymous: app}\n",
                "    spec: spec.yaml\n", "    hosts: [a.com, '*.b.com']\n", "gateway: {envoy: routes.yaml}\n",
            ][..]).prop_map(str::to_string),
        ], 0..24)) {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::write(dir.path().join("catalog.yaml"), parts.concat()).expect("written");
        std::fs::write(
            dir.path().join("spec.yaml"),
            "openapi: 3.1.0\nservers: [{url: 'https://{tenant}.x.com/v1'}]\npaths:\n  /x/{id}:\n    get: {operationId: getX}\n",
        ).expect("written");
        pipeline(&dir.path().join("catalog.yaml"));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}", json in any::<bool>()) {
        let dir = tempfile::tempdir().expect("temporary folder");
        let name = if json { "catalog.json" } else { "catalog.yaml" };
        std::fs::write(dir.path().join(name), text).expect("written");
        pipeline(&dir.path().join(name));
    }
}
