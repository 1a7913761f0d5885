//! Checks docs/enforcement.md#faults and docs/envoy.md in a real Envoy: a bad bundle makes the filter's `on_configure` fail with a
//! log line of its own, and Envoy refuses the configuration (no trap, no panic); a good one loads,
//! including the `http_filters` entry printed by `acepack envoy`.

use std::net::SocketAddr;
use std::time::Duration;

use acepack_envoy::artifacts::{self, Artifacts};
use acepack_envoy::config::{Bootstrap, WasmFilter};
use acepack_envoy::envoy::tail;
use acepack_envoy::expect::denied;
use acepack_envoy::scenario::{echoed, PLUGIN_NAME, VM_ID};
use acepack_envoy::{EchoUpstream, Envoy, Request, WorkDir};

/// A valid bundle of `tests/data/main.yaml`, compiled into `dir`.
fn valid_bundle(dir: &WorkDir) -> Vec<u8> {
    artifacts::compile_catalog(&artifacts::test_data().join("main.yaml"), &dir.join("valid.acepack"))
}

fn bootstrap(configuration: Vec<u8>, upstream: SocketAddr) -> String {
    // Only the filter and Envoy are needed here (not the CLI).
    let filter = WasmFilter {
        plugin_name: PLUGIN_NAME.into(),
        vm_id: VM_ID.into(),
        wasm: artifacts::filter_wasm(),
        configuration,
    };
    Bootstrap::new()
        .with_wasm(&filter)
        .with_cluster("upstream", upstream)
        .to_yaml()
}

/// The messages of the filter's own log lines: Envoy writes `wasm log <plugin> [<vm>]: <message>`.
fn filter_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let at = l.find("wasm log ")?;
            let rest = &l[at..];
            let colon = rest.find(": ")?;
            Some(rest[colon + 2..].to_string())
        })
        .collect()
}

/// Asserts that Envoy refuses `configuration`, and that the filter said why in its one error line
/// (`acepack: configuration rejected, invalid bundle (N bytes): <why>`), `why` containing `because`.
fn assert_refused(name: &str, configuration: Vec<u8>, because: &str) {
    let dir = WorkDir::new(name);
    let unused: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let (status, log) = Envoy::run_expecting_exit(&dir, &bootstrap(configuration, unused), Duration::from_secs(60));
    let status = status.unwrap_or_else(|| {
        panic!(
            "{name}: Envoy accepted the config and kept running; log:\n{}",
            tail(&log, 30)
        )
    });
    assert!(!status.success(), "{name}: Envoy exited 0; log:\n{}", tail(&log, 30));
    let msgs = filter_messages(&log);
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("acepack: configuration rejected, invalid bundle (") && m.contains(because)),
        "{name}: the filter must log `acepack: configuration rejected, invalid bundle (..): ..{because}..`; \
         its lines: {msgs:?}\nlog tail:\n{}",
        tail(&log, 30)
    );
    let lower = log.to_ascii_lowercase();
    for bad in [
        "panicked",
        "wasm trap",
        "unreachable",
        "function signature mismatch",
        "out of bounds",
    ] {
        assert!(
            !lower.contains(bad),
            "{name}: the filter must fail cleanly, found {bad:?}:\n{}",
            tail(&log, 30)
        );
    }
    assert!(
        log.contains("Unable to create Wasm plugin") || log.contains("failed to load"),
        "{name}: Envoy should refuse the plugin; log tail:\n{}",
        tail(&log, 30)
    );
}

#[test]
fn not_a_bundle_is_refused() {
    assert_refused(
        "fault-not-a-bundle",
        b"this is not an acepack bundle".to_vec(),
        "not an acepack bundle",
    );
}

#[test]
fn empty_configuration_is_refused() {
    assert_refused("fault-empty", Vec::new(), "not an acepack bundle");
}

#[test]
fn truncated_bundles_are_refused() {
    let dir = WorkDir::new("fault-truncated-src");
    let b = valid_bundle(&dir);
    assert_refused("fault-truncated-half", b[..b.len() / 2].to_vec(), "truncated");
    // Magic and version intact, the rest of the 24-byte header missing.
    assert_refused("fault-truncated-header", b[..12].to_vec(), "header");
    assert_refused("fault-truncated-last-byte", b[..b.len() - 1].to_vec(), "truncated");
}

#[test]
fn corrupted_bundle_is_refused() {
    let dir = WorkDir::new("fault-corrupt-src");
    let mut b = valid_bundle(&dir);
    let mid = b.len() / 2 + 7;
    b[mid] ^= 0x5a;
    assert_refused("fault-corrupt", b, "checksum");
}

#[test]
fn unknown_major_version_is_refused() {
    let dir = WorkDir::new("fault-major-src");
    let mut b = valid_bundle(&dir);
    // Bundle layout (filter/src/bundle.rs): magic "ACEPACK\0", then the major as u16 LE.
    assert_eq!(&b[..8], b"ACEPACK\0", "bundle layout changed: update this test");
    b[8..10].copy_from_slice(&0xfffeu16.to_le_bytes());
    assert_refused("fault-major", b, "bundle format 65534.");
}

#[test]
fn valid_bundle_in_the_same_bootstrap_loads() {
    let dir = WorkDir::new("fault-control");
    let upstream = EchoUpstream::start();
    let envoy = Envoy::must_start(&dir, &bootstrap(valid_bundle(&dir), upstream.addr()));
    let r = envoy.send(&Request::get("/v1/flights").header("apikey", "k-allow"));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(echoed(&r).header("x-ace-operation-id"), Some("listFlights"));
    let log = envoy.log().to_ascii_lowercase();
    assert!(
        !log.contains("panicked") && !log.contains("wasm trap"),
        "{}",
        tail(&envoy.log(), 30)
    );
}

/// Makes `acepack envoy`'s output a YAML list item.
fn as_list_item(entry: &str) -> String {
    let first = entry
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or("");
    if first.trim_start().starts_with("- ") {
        entry.to_string()
    } else {
        let mut out = String::new();
        let mut started = false;
        for line in entry.lines() {
            if !started && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                out.push_str("- ");
                started = true;
            } else {
                out.push_str("  ");
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

#[test]
fn acepack_envoy_prints_a_working_http_filters_entry() {
    let a = Artifacts::locate();
    let dir = WorkDir::new("fault-cli-envoy");
    let bundle = dir.join("main.acepack");
    valid_bundle_at(&bundle);
    let out = artifacts::run_cli([
        "envoy".as_ref(),
        bundle.as_os_str(),
        "--wasm".as_ref(),
        a.wasm.as_os_str(),
        "--vm-id".as_ref(),
        "cli-vm".as_ref(),
    ]);
    assert_eq!(out.code, 0, "acepack envoy failed: {}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("envoy.filters.http.wasm") || out.stdout.contains("extensions.filters.http.wasm.v3.Wasm"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("cli-vm"), "the vm id is used: {}", out.stdout);
    dir.write("acepack-envoy-output.yaml", &out.stdout);
    let upstream = EchoUpstream::start();
    let cfg = Bootstrap::new()
        .with_http_filter_yaml(&as_list_item(&out.stdout))
        .with_cluster("upstream", upstream.addr())
        .to_yaml();
    let envoy = Envoy::must_start(&dir, &cfg);
    denied(&envoy.send(&Request::get("/v1/flights")), 401, "unauthenticated");
    let r = envoy.send(&Request::get("/v1/flights").header("apikey", "k-allow"));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(echoed(&r).header("x-ace-application"), Some("partner-app"));
}

fn valid_bundle_at(path: &std::path::Path) {
    artifacts::compile_catalog(&artifacts::test_data().join("main.yaml"), path);
}
