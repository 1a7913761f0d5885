//! `compile`, `inspect`, `explain`, `diff` and `envoy` driven through the built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bundle")
        .join(name)
}

fn acepack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(args)
        .output()
        .expect("runs acepack")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn compile(catalog: &str, out: &Path, extra: &[&str]) -> Output {
    let c = data(catalog);
    let mut args = vec!["compile", c.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    acepack(&args)
}

#[test]
fn compile_is_deterministic_and_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.bin"), dir.path().join("sub-b.bin"));
    assert_eq!(compile("catalog.yaml", &a, &[]).status.code(), Some(0));
    assert_eq!(compile("catalog.yaml", &b, &[]).status.code(), Some(0));
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same catalog, same bytes"
    );

    // A failing compile leaves the previous output as it was, and leaves no temporary file.
    let before = std::fs::read(&a).unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "version: 1\napis: [{name: Bad Name}]\n").unwrap();
    let o = acepack(&["compile", broken.to_str().unwrap(), "-o", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(std::fs::read(&a).unwrap(), before);
    let fresh = dir.path().join("never.bin");
    let o = acepack(&["compile", broken.to_str().unwrap(), "-o", fresh.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!fresh.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());

    // An unwritable destination is an I/O error (exit 2).
    let o = compile("catalog.yaml", &dir.path().join("no/such/dir/x.bin"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn report_is_written_with_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.bin");
    let report = dir.path().join("report.json");
    let o = compile("catalog.yaml", &out, &["--report", report.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(v["ok"], true);
}

#[test]
fn inspect_round_trips_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.bin");
    assert_eq!(compile("catalog.yaml", &out, &[]).status.code(), Some(0));
    let o = acepack(&["inspect", out.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["enforcement"]["match_policy"], "required");
    assert_eq!(v["auth_strategies"][0]["key_names"], serde_json::json!(["apikey"]));
    let ops: Vec<String> = v["apis"][0]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{} {} {}",
                o["method"].as_str().unwrap(),
                o["path"].as_str().unwrap(),
                o["id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            "GET /billing listBilling",
            "POST /billing/invoices createInvoice",
            "GET /billing/invoices/{} getInvoice"
        ]
    );
    let p = &v["packages"][0];
    assert_eq!(p["id"], "billing-pkg");
    assert_eq!(p["published"], true);
    assert_eq!(p["rate_limit"], serde_json::json!(["5/second", "100/day"]));
    assert_eq!(
        p["operations"][1],
        serde_json::json!({"op": "createInvoice", "rate_limit": ["1/minute"]})
    );
    assert_eq!(p["operations"].as_array().unwrap().len(), 3);
    let app = &v["applications"][0];
    assert_eq!(app["name"], "acme-billing");
    assert_eq!(app["grants"], serde_json::json!([{"package": "billing-pkg"}]));
    assert_eq!(app["credentials"], 1);
    let raw = std::fs::read(&out).unwrap();
    assert!(
        !raw.windows(b"acme-live-7f3a9c".len()).any(|w| w == b"acme-live-7f3a9c"),
        "no plaintext key in the bundle"
    );
}

#[test]
fn explain_runs_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.bin");
    assert_eq!(compile("catalog.yaml", &out, &[]).status.code(), Some(0));
    let b = out.to_str().unwrap();
    let o = acepack(&[
        "explain",
        b,
        "GET",
        "http://api.test/billing/invoices/42",
        "-H",
        "apikey: acme-live-7f3a9c",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{t}");
    assert!(t.contains("status:      allow"), "{t}");
    assert!(t.contains("getInvoice"), "{t}");
    assert!(t.contains("application: acme-billing"), "{t}");
    assert!(t.contains("package:     billing-pkg"), "{t}");
    assert!(t.contains("limit:       5/second — 4 left"), "{t}");
    let o = acepack(&["explain", b, "GET", "/billing"]);
    assert!(text(&o).contains("401 unauthenticated"), "{}", text(&o));
    let o = acepack(&["explain", b, "GET", "/nowhere", "-H", "apikey: acme-live-7f3a9c"]);
    assert!(text(&o).contains("404 no_match"));
    let o = acepack(&[
        "explain",
        b,
        "GET",
        "/billing/../billing",
        "-H",
        "apikey: acme-live-7f3a9c",
    ]);
    assert!(text(&o).contains("400 non_canonical"));
    let o = acepack(&["explain", b, "GET", "/billing", "-H", "no colon"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn diff_and_previous_catch_removed_published_operations() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.bin");
    assert_eq!(compile("catalog.yaml", &old, &[]).status.code(), Some(0));
    let (c_old, c_new) = (data("catalog.yaml"), data("catalog-removed.yaml"));
    // Catalog against catalog, bundle against catalog.
    for left in [c_old.to_str().unwrap(), old.to_str().unwrap()] {
        let o = acepack(&["diff", left, c_new.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o)
                .contains("package \"billing-pkg\" (published) no longer contains billing: GET /billing/invoices/{}"),
            "{}",
            text(&o)
        );
        let o = acepack(&["diff", left, c_new.to_str().unwrap(), "--allow-breaking", "--json"]);
        assert_eq!(o.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["breaking"].as_array().unwrap().len(), 1);
    }
    // Not published on a portal but registered: removing it is breaking too (tests/diff_guard.rs
    // covers who counts as relying on an operation).
    let o = acepack(&[
        "diff",
        data("catalog-unpublished.yaml").to_str().unwrap(),
        data("catalog-unpublished-removed.yaml").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("(registered by application \"acme-billing\")"),
        "{}",
        text(&o)
    );
    // compile --previous refuses and writes nothing; --allow-breaking writes.
    let new = dir.path().join("new.bin");
    let o = compile("catalog-removed.yaml", &new, &["--previous", old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!new.exists());
    let o = compile(
        "catalog-removed.yaml",
        &new,
        &["--previous", old.to_str().unwrap(), "--allow-breaking"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(new.exists());
    // Same catalog: no change at all.
    let o = acepack(&["diff", old.to_str().unwrap(), c_old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).contains("no breaking changes"));
}

#[test]
fn envoy_entry_inlines_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.bin");
    assert_eq!(compile("catalog.yaml", &out, &[]).status.code(), Some(0));
    let o = acepack(&[
        "envoy",
        out.to_str().unwrap(),
        "--wasm",
        "/opt/acepack_filter.wasm",
        "--vm-id",
        "edge",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("vm_id: \"edge\""), "{t}");
    assert!(t.contains("type.googleapis.com/google.protobuf.BytesValue"));
    assert!(t.contains("filename: \"/opt/acepack_filter.wasm\""));
    let b64 = t.lines().find_map(|l| l.trim().strip_prefix("value: ")).unwrap();
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    assert_eq!(decoded, std::fs::read(&out).unwrap());
}

#[test]
fn bad_bundles_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b.bin");
    assert_eq!(compile("catalog.yaml", &out, &[]).status.code(), Some(0));
    let mut bytes = std::fs::read(&out).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0xff;
    let corrupt = dir.path().join("corrupt.bin");
    std::fs::write(&corrupt, &bytes).unwrap();
    let o = acepack(&["inspect", corrupt.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("checksum"), "{}", text(&o));
    let trunc = dir.path().join("trunc.bin");
    std::fs::write(&trunc, &bytes[..n / 2]).unwrap();
    let o = acepack(&["explain", trunc.to_str().unwrap(), "GET", "/"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("truncated"), "{}", text(&o));
    let o = acepack(&["inspect", dir.path().join("missing.bin").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let o = acepack(&["inspect", data("catalog.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not an acepack bundle"));
}
