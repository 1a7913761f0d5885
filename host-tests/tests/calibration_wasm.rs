//! The calibration filter (`benches/calibration-filter`) does the extra work each of its
//! configurations names, and nothing else: `CALIBRATE=1 scripts/bench` prices that work in Envoy
//! against the trivial filter, so a knob that did less (or more) would misprice it.
//!
//! Needs `target/wasm32-wasip1/release/acepack_calibration_filter.wasm` (scripts/test builds it);
//! without it, or with a stale one, every test here fails and says how to build it.

use std::path::PathBuf;

use acepack_host_tests::{filter_wasm_path, Host, HostOptions, Request, VmOptions};

const BUILD: &str = "cargo build --release -p acepack-calibration-filter --target wasm32-wasip1";

fn calibration_wasm() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/calibration-filter");
    let path = filter_wasm_path()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("acepack_calibration_filter.wasm")))
        .unwrap_or_else(|| crate_dir.join("../../target/wasm32-wasip1/release/acepack_calibration_filter.wasm"));
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: build it with `{BUILD}`", path.display()));
    for source in ["src/lib.rs", "build.rs", "Cargo.toml"] {
        let changed = std::fs::metadata(crate_dir.join(source)).and_then(|m| m.modified());
        assert!(
            changed.is_ok_and(|t| t <= built),
            "{} is older than benches/calibration-filter/{source}: rebuild it with `{BUILD}`",
            path.display()
        );
    }
    path
}

/// Runs one request through the filter configured with `config`: (fuel used, host calls made by
/// the request callback, the request headers the upstream gets).
fn run(config: &str) -> (u64, Vec<&'static str>, Vec<(String, String)>) {
    let host = Host::load_with(
        calibration_wasm(),
        HostOptions {
            fuel: Some(u64::MAX / 4),
            fuel_trace: true,
            ..HostOptions::default()
        },
    )
    .expect("the calibration filter compiles");
    let mut vm = host
        .configured_vm(VmOptions::with_config(config))
        .unwrap_or_else(|e| panic!("configuration {config:?}: {e}"));
    let request = Request::get("/v1/flights/KA0284").header("apikey", "k");
    vm.request(&request).expect("warm-up request");
    let out = vm.request(&request).expect("no trap");
    assert!(out.forwarded, "{config:?}: the request goes upstream");
    let calls = vm
        .fuel_trace()
        .into_iter()
        .map(|(event, _)| event)
        .skip_while(|e| *e != "proxy_on_request_headers")
        .skip(1)
        .take_while(|e| *e != "(return)")
        .collect();
    let headers = out
        .request_headers
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    (out.fuel_consumed.expect("fuel is metered"), calls, headers)
}

fn count(calls: &[&str], name: &str) -> usize {
    calls.iter().filter(|c| **c == name).count()
}

#[test]
fn empty_configuration_is_the_trivial_filter() {
    let (_, calls, headers) = run("");
    assert_eq!(count(&calls, "proxy_get_header_map_value"), 3, "{calls:?}");
    assert_eq!(count(&calls, "proxy_get_current_time_nanoseconds"), 0, "{calls:?}");
    assert!(
        !headers.iter().any(|(k, _)| k.starts_with("x-calibration-")),
        "{headers:?}"
    );
}

#[test]
fn calls_makes_that_many_host_calls() {
    let (_, calls, _) = run("calls=30");
    assert_eq!(count(&calls, "proxy_get_current_time_nanoseconds"), 30, "{calls:?}");
    assert_eq!(count(&calls, "proxy_get_header_map_value"), 3, "{calls:?}");
}

#[test]
fn headers_adds_that_many_request_headers() {
    let (_, calls, headers) = run("headers=10");
    assert_eq!(count(&calls, "proxy_add_header_map_value"), 10, "{calls:?}");
    let added: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-calibration-"))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(added.len(), 10, "{headers:?}");
}

#[test]
fn contract_makes_the_host_calls_of_an_allowed_charged_request() {
    let (_, calls, headers) = run("contract");
    for (call, n) in [
        ("proxy_get_header_map_value", 3),
        ("proxy_get_current_time_nanoseconds", 1),
        ("proxy_get_shared_data", 1),
        ("proxy_set_shared_data", 1),
        ("proxy_increment_metric", 1),
        ("proxy_add_header_map_value", 3),
    ] {
        assert_eq!(count(&calls, call), n, "{call} in {calls:?}");
    }
    assert_eq!(calls.len(), 10, "nothing else: {calls:?}");
    let ace: Vec<&str> = headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-ace-"))
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        ace,
        ["x-ace-operation-id", "x-ace-application", "x-ace-package"],
        "{headers:?}"
    );
}

#[test]
fn contract_sets_the_two_rate_limit_response_headers() {
    let host = Host::load(calibration_wasm()).expect("the calibration filter compiles");
    let mut vm = host
        .configured_vm(VmOptions::with_config("contract"))
        .expect("configures");
    let out = vm.request(&Request::get("/v1/flights/KA0284")).expect("no trap");
    let names: Vec<&str> = out
        .response_headers
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| k.starts_with("ratelimit"))
        .collect();
    assert_eq!(names, ["ratelimit-policy", "ratelimit"], "{:?}", out.response_headers);
}

#[test]
fn code_and_loop_do_the_same_work_in_very_different_code() {
    let (base, _, _) = run("");
    let (code, code_calls, _) = run("code");
    let (looped, loop_calls, _) = run("loop");
    // 3,500 statements of at least six wasm instructions each.
    for (name, fuel) in [("code", code), ("loop", looped)] {
        assert!(fuel >= base + 3_500 * 6, "{name}: {fuel} vs {base} without extra work");
    }
    // The same statements: the same work within a factor that loop bookkeeping explains.
    assert!(
        code.max(looped) - base < 2 * (code.min(looped) - base),
        "code {code}, loop {looped}, base {base}"
    );
    assert_eq!(code_calls, loop_calls, "no host calls besides the header reads");
}

#[test]
fn lines_reads_that_many_places() {
    let (base, _, _) = run("");
    let (lines, _, _) = run("lines=256");
    assert!(lines >= base + 256 * 5, "{lines} vs {base}");
    let (more, _, _) = run("lines=1024");
    assert!(
        more - base >= 3 * (lines - base),
        "work grows with N: {more} vs {lines} (base {base})"
    );
}

#[test]
fn an_unknown_configuration_is_refused() {
    let host = Host::load(calibration_wasm()).expect("compiles");
    for config in ["bogus", "calls=", "calls=x", "lines=-1"] {
        assert!(
            host.configured_vm(VmOptions::with_config(config)).is_err(),
            "{config:?} is accepted"
        );
    }
}
