//! `acepack limits CATALOG --for limitador|envoy-ratelimit` (docs/global-rate-limits.md) and the
//! checks of `enforcement.rate_limits` / `enforcement.global`, through the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn acepack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acepack"))
        .args(args)
        .output()
        .expect("the acepack binary runs")
}

/// The end-to-end tests' global catalog: `fleet` [40/minute, 1000/day], `bulk` 1000000/minute.
fn global_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../envoy/tests/data/global.yaml")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn limitador_limits_name_each_bucket_and_window() {
    let cat = global_catalog();
    let o = acepack(&["limits", cat.to_str().unwrap(), "--for", "limitador"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    for want in [
        "- namespace: \"acepack\"\n  name: \"fleet 40/minute\"\n  max_value: 40\n  seconds: 60\n",
        "descriptors[0]['acepack_bucket'] == 'fleet' && descriptors[0]['acepack_window'] == '60'",
        "max_value: 1000\n  seconds: 86400\n",
        "descriptors[1]['acepack_bucket'] == 'fleet' && descriptors[1]['acepack_window'] == '86400'",
        "  variables:\n  - \"descriptors[1]['acepack_credential']\"\n",
        "max_value: 1000000\n  seconds: 60\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert_eq!(out.matches("- namespace:").count(), 3, "{out}");
    assert!(!out.contains("k-fleet"), "no credential in the output");
}

#[test]
fn envoy_ratelimit_config_uses_whole_units() {
    let cat = global_catalog();
    let o = acepack(&["limits", cat.to_str().unwrap(), "--for", "envoy-ratelimit"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = stdout(&o);
    for want in [
        "domain: \"acepack\"\ndescriptors:\n- key: acepack_credential\n  descriptors:\n",
        "  - key: acepack_bucket\n    value: \"fleet\"\n",
        "    - key: acepack_window\n      value: \"60\"\n      rate_limit: { unit: minute, requests_per_unit: 40 }\n",
        "      value: \"86400\"\n      rate_limit: { unit: day, requests_per_unit: 1000 }\n",
        "rate_limit: { unit: minute, requests_per_unit: 1000000 }",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

fn with_enforcement(dir: &Path, block: &str) -> PathBuf {
    let src = std::fs::read_to_string(global_catalog()).unwrap();
    let start = src.find("enforcement:\n").unwrap();
    let end = src.find("auth_strategies:").unwrap();
    let data = global_catalog().parent().unwrap().canonicalize().unwrap();
    let text = format!("{}enforcement:\n{block}{}", &src[..start], &src[end..])
        .replace(
            "envoy: routes.yaml",
            &format!("envoy: {}", data.join("routes.yaml").display()),
        )
        .replace("spec: specs/", &format!("spec: {}/", data.join("specs").display()));
    let p = dir.join("catalog.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_global_mode_needs_a_usable_service() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("  rate_limits: global\n", "enforcement.rate_limits"),
        (
            "  rate_limits: local+global\n  global:\n    cluster: rls\n    timeout_ms: 0\n",
            "enforcement.global.timeout_ms",
        ),
        (
            "  rate_limits: global\n  global:\n    cluster: \"\"\n",
            "enforcement.global.cluster",
        ),
    ];
    for (block, place) in cases {
        let cat = with_enforcement(dir.path(), block);
        let o = acepack(&["check", cat.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{block}: {err}");
        assert!(err.contains(place), "{block}: {err}");
    }
    // Only the cluster is required (domain, timeout and failure mode have defaults).
    let cat = with_enforcement(dir.path(), "  rate_limits: local+global\n  global:\n    cluster: rls\n");
    let o = acepack(&["check", cat.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = acepack(&["limits", cat.to_str().unwrap(), "--for", "nginx"]);
    assert_eq!(o.status.code(), Some(2));
}
