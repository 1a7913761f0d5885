//! openid_connect through the built binary (docs/oidc.md): `envoy` prints jwt_authn before
//! acepack, `explain` takes verified claims, and refuses a path without a leading slash.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

fn bundle(dir: &Path) -> PathBuf {
    let catalog = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oidc/catalog.yaml");
    let out = dir.join("b.bin");
    let o = acepack(&["compile", catalog.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    out
}

#[test]
fn envoy_prints_jwt_authn_first_with_the_strategy_as_provider() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let o = acepack(&[
        "envoy",
        b.to_str().unwrap(),
        "--wasm",
        "/x.wasm",
        "--jwks",
        "idp=/keys/idp.json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let (jwt, wasm) = (
        out.find("envoy.filters.http.jwt_authn").unwrap(),
        out.find("envoy.filters.http.wasm").unwrap(),
    );
    assert!(jwt < wasm, "{out}");
    for wanted in [
        "issuer: \"https://idp.test/\"",
        "audiences: [\"acepack\"]",
        "filename: \"/keys/idp.json\"",
        "payload_in_metadata: \"idp\"",
        "- allow_missing: {}",
    ] {
        assert!(out.contains(wanted), "missing {wanted:?} in\n{out}");
    }
    let o = acepack(&[
        "envoy",
        b.to_str().unwrap(),
        "--wasm",
        "/x.wasm",
        "--jwks",
        "other=/k.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("the bundle has no openid_connect strategy \"other\" (it has: [idp])"),
        "{}",
        text(&o)
    );
}

#[test]
fn explain_takes_verified_claims() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let b = b.to_str().unwrap();
    let o = acepack(&[
        "explain",
        b,
        "GET",
        "/flights",
        "--claim",
        "client_id=abc",
        "--claim",
        "scope=openid flights:read",
    ]);
    assert!(text(&o).contains("status:      allow"), "{}", text(&o));
    assert!(text(&o).contains("application: app"), "{}", text(&o));
    let o = acepack(&[
        "explain",
        b,
        "GET",
        "/flights",
        "--claim",
        "client_id=abc",
        "--claim",
        "scp=[\"flights:read\"]",
    ]);
    assert!(text(&o).contains("status:      allow"), "{}", text(&o));
    let o = acepack(&["explain", b, "GET", "/flights", "--claim", "client_id=abc"]);
    assert!(text(&o).contains("403 insufficient_scope"), "{}", text(&o));
    let o = acepack(&[
        "explain",
        b,
        "GET",
        "/flights",
        "--claim",
        "client_id=zzz",
        "--claim",
        "scope=flights:read",
    ]);
    assert!(text(&o).contains("403 invalid_credential"), "{}", text(&o));
    // Another issuer's payload under this provider's key is not this strategy's token.
    let o = acepack(&[
        "explain",
        b,
        "GET",
        "/flights",
        "--claim",
        "client_id=abc",
        "--claim",
        "scope=flights:read",
        "--claim",
        "iss=https://evil.test/",
    ]);
    assert!(text(&o).contains("403 invalid_credential"), "{}", text(&o));
    // A bearer token with no verified claims never passes as "no credential".
    let o = acepack(&["explain", b, "GET", "/flights", "-H", "Authorization: Bearer abc"]);
    assert!(text(&o).contains("401 invalid_credential"), "{}", text(&o));
    let o = acepack(&["explain", b, "GET", "/flights"]);
    assert!(text(&o).contains("401 unauthenticated"), "{}", text(&o));
    assert!(
        text(&o).contains("www-authenticate: Bearer realm=\"acepack\""),
        "{}",
        text(&o)
    );
}

#[test]
fn explain_refuses_a_path_without_a_leading_slash() {
    let dir = tempfile::tempdir().unwrap();
    let b = bundle(dir.path());
    let o = acepack(&["explain", b.to_str().unwrap(), "GET", "flights"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("URL \"flights\": give a path starting with '/' (e.g. \"/flights\") or a full URL"),
        "{}",
        text(&o)
    );
    // A full URL without a path is the root.
    let o = acepack(&["explain", b.to_str().unwrap(), "GET", "http://api.test"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}
