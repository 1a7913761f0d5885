//! Hostile inputs and destructive outputs, through the built binary: every case names the place,
//! exits with the documented status, never hangs, never echoes a credential and never writes
//! over something that is not a regular output file.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs acepack in `dir`; fails the test instead of hanging when it does not finish in 30 s.
fn acepack(dir: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("acepack starts");
    let start = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("acepack {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn all_output(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(o))
}

const SPEC: &str = "openapi: 3.1.0\npaths:\n  /billing:\n    get: {operationId: getBilling}\n";

/// A folder with a valid catalog (`catalog.yaml`) naming `spec.yaml`.
fn project(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(
        dir.path().join("catalog.yaml"),
        format!(
            "version: 1\nauth_strategies: [{{name: keys, type: key_auth, key_names: [apikey]}}]\napis:\n  - name: billing\n    spec: spec.yaml\n{extra}"
        ),
    )
    .expect("catalog");
    std::fs::write(dir.path().join("spec.yaml"), SPEC).expect("spec");
    dir
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success());
}

#[test]
fn outputs_must_be_regular_files_and_never_an_input() {
    let p = project("");
    let dir = p.path();
    let ok = acepack(dir, &["compile", "catalog.yaml", "-o", "old.bin"]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    std::fs::create_dir(dir.join("folder")).unwrap();
    mkfifo(&dir.join("fifo"));
    std::os::unix::fs::symlink(dir.join("old.bin"), dir.join("link.bin")).unwrap();
    std::fs::hard_link(dir.join("spec.yaml"), dir.join("spec-link.yaml")).unwrap();
    let before: Vec<Vec<u8>> = ["catalog.yaml", "spec.yaml", "old.bin"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    let cases: &[(&[&str], &str)] = &[
        (&["-o", "catalog.yaml"], "is also an input"),
        (&["-o", "spec.yaml"], "is also an input"),
        (&["-o", "spec-link.yaml"], "is also an input"),
        (&["-o", "old.bin", "--previous", "old.bin"], "is also an input"),
        (&["-o", "folder"], "is a directory"),
        (&["-o", "fifo"], "is a FIFO"),
        (&["-o", "link.bin"], "is a symbolic link"),
        (&["-o", "/dev/null"], "is a device"),
        (&["-o", "new.bin", "--report", "spec.yaml"], "is also an input"),
        (&["-o", "new.bin", "--report", "new.bin"], "both the bundle"),
        (&["-o", "new.bin", "--report", "folder"], "is a directory"),
    ];
    for (args, needle) in cases {
        let mut all = vec!["compile", "catalog.yaml"];
        all.extend_from_slice(args);
        let out = acepack(dir, &all);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(needle) && err.contains("nothing written"),
            "{args:?}: {err}"
        );
        assert!(!dir.join("new.bin").exists(), "{args:?} wrote the bundle");
    }
    let after: Vec<Vec<u8>> = ["catalog.yaml", "spec.yaml", "old.bin"]
        .iter()
        .map(|f| std::fs::read(dir.join(f)).unwrap())
        .collect();
    assert_eq!(before, after, "an input or the previous bundle was modified");
    assert!(std::fs::symlink_metadata(dir.join("link.bin"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn inputs_that_are_not_regular_files_are_refused_without_hanging() {
    let p = project("");
    let dir = p.path();
    mkfifo(&dir.join("fifo.yaml"));
    std::fs::create_dir(dir.join("folder.yaml")).unwrap();
    let variants: &[(&str, &str, &str)] = &[
        // (catalog text appended to the API, file named, what it is)
        ("", "fifo.yaml", "FIFO"),
        ("", "/dev/zero", "device"),
        ("", "folder.yaml", "directory"),
    ];
    for (_, target, kind) in variants {
        // As the catalog itself.
        let out = acepack(dir, &["check", target]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(kind) && stderr(&out).contains("not a regular file"),
            "{}",
            stderr(&out)
        );
        // As the spec.
        std::fs::write(
            dir.join("c.yaml"),
            format!("version: 1\napis:\n  - name: a\n    spec: {target}\n"),
        )
        .unwrap();
        let out = acepack(dir, &["check", "c.yaml"]);
        assert_eq!(out.status.code(), Some(2), "spec {target}: {}", stderr(&out));
        assert!(stderr(&out).contains(kind), "{}", stderr(&out));
        // As the gateway file.
        std::fs::write(
            dir.join("g.yaml"),
            format!("version: 1\ngateway: {{envoy: {target}}}\napis:\n  - name: a\n    operations: [GET /x]\n"),
        )
        .unwrap();
        let out = acepack(dir, &["check", "g.yaml"]);
        assert_eq!(out.status.code(), Some(2), "gateway {target}: {}", stderr(&out));
        assert!(stderr(&out).contains(kind), "{}", stderr(&out));
        // As a path item $ref target (reported at the reference, exit 1).
        std::fs::write(
            dir.join("r.yaml"),
            format!("openapi: 3.1.0\npaths:\n  /a:\n    $ref: '{target}'\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("cr.yaml"),
            "version: 1\napis:\n  - name: a\n    spec: r.yaml\n",
        )
        .unwrap();
        let out = acepack(dir, &["check", "cr.yaml"]);
        assert_ne!(out.status.code(), Some(0), "$ref {target}: {}", stderr(&out));
        assert!(stderr(&out).contains(kind), "{}", stderr(&out));
        // As a bundle.
        for cmd in [&["inspect", target][..], &["diff", target, target][..]] {
            let out = acepack(dir, cmd);
            assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(kind), "{cmd:?}: {}", stderr(&out));
        }
    }
}

#[test]
fn duplicate_keys_are_errors_in_json_catalogs_and_specs() {
    let p = project("");
    let dir = p.path();
    std::fs::write(
        dir.join("c.json"),
        r#"{"version": 1, "apis": [{"name": "a", "operations": ["GET /x"]}],
 "developers": [{"email": "a@b.c", "status": "revoked", "status": "approved"}]}"#,
    )
    .unwrap();
    let out = acepack(dir, &["check", "c.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("c.json: line 2 column") && stderr(&out).contains("duplicate key \"status\""),
        "{}",
        stderr(&out)
    );
    std::fs::write(
        dir.join("s.json"),
        r#"{"openapi": "3.1.0", "paths": {"/a": {"get": {}}, "/a": {"post": {}}}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("cs.yaml"),
        "version: 1\napis:\n  - name: a\n    spec: s.json\n",
    )
    .unwrap();
    let out = acepack(dir, &["check", "cs.yaml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("duplicate key \"/a\""), "{}", stderr(&out));
}

#[test]
fn credential_values_never_appear_in_any_output() {
    let secrets = [
        "987654321987",
        "plain-secret-key-in-sha-field",
        "secret-as-a-mapping-key",
    ];
    let cases = [
        format!("      - key: {}\n", secrets[0]),
        format!("      - key_sha256: {}\n", secrets[1]),
        format!("      - {{{}: x}}\n", secrets[2]),
        format!("      - key: [{}]\n", secrets[0]),
        format!("      - key: {{a: {}}}\n", secrets[0]),
    ];
    for case in &cases {
        let p = project(&format!(
            "developers: [{{email: d@x.y}}]\napplications:\n  - name: app\n    owner: {{developer: d@x.y}}\n    auth_strategy: keys\n    credentials:\n{case}"
        ));
        let dir = p.path();
        for args in [
            &["check", "catalog.yaml"][..],
            &["check", "--json", "catalog.yaml"][..],
            &["compile", "catalog.yaml", "-o", "b.bin", "--report", "r.json"][..],
        ] {
            let out = acepack(dir, args);
            assert_eq!(out.status.code(), Some(1), "{case} {args:?}: {}", all_output(&out));
            let text = all_output(&out);
            for s in secrets {
                assert!(!text.contains(s), "{case} {args:?} echoed a credential: {text}");
            }
            assert!(text.contains("credentials[0]"), "{case} {args:?}: {text}");
        }
    }
}

#[test]
fn limits_of_the_filter_are_located_errors_not_panics() {
    let many = "/{p}".repeat(26);
    let cases = [
        (
            format!("  - name: a\n    operations: [\"GET {many}\"]\n"),
            "apis[1].operations[0]",
            "has 26 parameters",
        ),
        (
            format!("  - name: a\n    operations: [\"GET /{}\"]\n", "x".repeat(70_000)),
            "apis[1].operations[0]",
            "acepack accepts path templates of at most 4096 bytes",
        ),
        (
            format!("  - name: {}\n    operations: [GET /x]\n", "a".repeat(70_000)),
            "apis[1].name",
            "is 70000 bytes long",
        ),
        (
            "  - name: a\n    operations: [{id: \"get\\u001b[2Jx\", op: GET /x}]\n".to_string(),
            "apis[1].operations[0]",
            "control character",
        ),
    ];
    for (api, place, needle) in &cases {
        let p = project(api);
        let dir = p.path();
        for args in [
            &["check", "catalog.yaml"][..],
            &["compile", "catalog.yaml", "-o", "b.bin"][..],
        ] {
            let out = acepack(dir, args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?} {needle}: {err}");
            assert!(err.contains(place) && err.contains(needle), "{args:?}: {err}");
            assert!(
                !err.contains('\u{1b}'),
                "a control character reached the terminal: {err:?}"
            );
            assert!(err.len() < 4000, "the error repeats a huge value: {} bytes", err.len());
            assert!(!dir.join("b.bin").exists());
        }
    }
    // Just within the limits: compiles, and the filter loads it.
    let p = project(&format!(
        "  - name: a\n    operations: [\"GET {}\"]\n",
        "/{p}".repeat(16)
    ));
    let out = acepack(p.path(), &["compile", "catalog.yaml", "-o", "b.bin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn yaml_messages_say_what_to_change() {
    let p = project("");
    let dir = p.path();
    std::fs::write(dir.join("d.yaml"), "version: 1\napis: []\napis: []\n").unwrap();
    let out = acepack(dir, &["check", "d.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("d.yaml: line 3 column 1: duplicate key \"apis\""), "{err}");
    assert!(!err.contains("DuplicateKeyPolicy"), "{err}");
    let mut bomb = String::from("version: 1\nx0: &x0 [a, a, a, a, a, a, a, a, a, a]\n");
    for i in 1..9 {
        bomb.push_str(&format!(
            "x{i}: &x{i} [{}]\n",
            vec![format!("*x{}", i - 1); 10].join(", ")
        ));
    }
    std::fs::write(dir.join("bomb.yaml"), bomb).unwrap();
    let out = acepack(dir, &["check", "bomb.yaml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("budget breached"), "{err}");
    assert!(err.contains("aliases"), "{err}");
}
