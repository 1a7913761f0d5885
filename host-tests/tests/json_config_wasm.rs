//! The JSON plugin configuration (`{"bundle": "<base64>"}`, what Istio `WasmPlugin` and Envoy
//! Gateway pass; docs/envoy.md) in the real `acepack_filter.wasm`: accepted like the raw bundle,
//! switched to and from it by a reconfiguration that keeps the buckets, and refused — with a log
//! line and `acepack.config_rejected` — when malformed. (That the previous bundle keeps serving is
//! Envoy's part, tested in envoy/tests/live_update.rs: this host stops a VM whose configure failed.)

use acepack_filter::fixture::{self, keys};
use acepack_host_tests::{filter_host, LogLevel, Outcome, Request, SharedData, Vm, VmOptions};

fn bundle() -> Vec<u8> {
    fixture::bundle().encode().expect("the fixture bundle encodes")
}

/// `{"bundle": "<base64>"}`, pretty-printed as a host might.
fn json(bundle: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    format!(
        "{{\n  \"bundle\": \"{}\"\n}}",
        base64::engine::general_purpose::STANDARD.encode(bundle)
    )
    .into_bytes()
}

fn run(vm: &mut Vm, key: Option<&str>) -> Outcome {
    let mut r = Request::get("/v1/flights").authority("api.example.com");
    if let Some(k) = key {
        r = r.header("apikey", k);
    }
    vm.request(&r).unwrap_or_else(|e| panic!("the filter trapped: {e}"))
}

#[test]
fn a_json_configuration_loads_the_bundle_it_carries() {
    let mut vm = filter_host()
        .configured_vm(VmOptions::with_config(json(&bundle())))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(vm.configured());
    assert!(vm.logs().iter().any(|l| l.message.contains("loaded bundle")));
    let allowed = run(&mut vm, Some(keys::ACME));
    assert_eq!(allowed.status(), Some(200), "{allowed:#?}");
    assert_eq!(allowed.request_header_str("x-ace-application"), Some("acme"));
    assert_eq!(run(&mut vm, None).status(), Some(401));
}

#[test]
fn json_and_raw_configurations_switch_without_losing_buckets_and_bad_json_is_refused() {
    let shared = SharedData::new();
    let mut vm = filter_host()
        .configured_vm(VmOptions {
            plugin_config: bundle(),
            shared: shared.clone(),
            ..VmOptions::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let first = run(&mut vm, Some(keys::ACME));
    assert_eq!(first.status(), Some(200));
    let vm_id = vm.vm_id().to_owned();
    let keys_before = shared.len(&vm_id);
    assert!(keys_before > 0);

    assert!(vm.reconfigure(json(&bundle())).unwrap());
    assert_eq!(run(&mut vm, Some(keys::ACME)).status(), Some(200));
    assert_eq!(shared.len(&vm_id), keys_before, "the same bucket keys, not new ones");

    for bad in [
        b"{\"bundle\": \"not base64\"}".to_vec(),
        b"{\"bundle\": \"QUJD\", \"extra\": 1}".to_vec(),
        b"{\"bundel\": \"QUJD\"}".to_vec(),
        b"{}".to_vec(),
        json(b"ACEPACK\0 but not a bundle"),
    ] {
        vm.take_logs();
        assert!(
            !vm.reconfigure(bad.clone()).unwrap(),
            "{}",
            String::from_utf8_lossy(&bad)
        );
        assert!(
            vm.logs()
                .iter()
                .any(|l| l.level >= LogLevel::Error && l.message.contains("acepack: configuration rejected")),
            "{:?}",
            vm.logs()
        );
    }
    assert_eq!(vm.metrics().counter("acepack.config_rejected"), 5);
}
