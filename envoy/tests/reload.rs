//! Checks docs/enforcement.md#rate-limits: bucket keys are stable across bundle reloads, so a reload does not reset anyone's
//! limits. The listener comes from an LDS file; replacing it with a new bundle reconfigures the
//! filter in place (same `vm_id`, so the same shared data).

use acepack_envoy::artifacts::{self, Artifacts};
use acepack_envoy::config::{clusters_in_routes, Bootstrap, WasmFilter};
use acepack_envoy::expect::{denied, retry_after};
use acepack_envoy::scenario::{echoed, PLUGIN_NAME, VM_ID};
use acepack_envoy::{EchoUpstream, Envoy, Request, WorkDir};

#[test]
fn a_bundle_reload_keeps_rate_limit_state() {
    let a = Artifacts::locate();
    let dir = WorkDir::new("reload-keeps-buckets");
    let data = artifacts::test_data();
    let v1 = artifacts::compile_catalog(&data.join("reload-v1.yaml"), &dir.join("v1.acepack"));
    let v2 = artifacts::compile_catalog(&data.join("reload-v2.yaml"), &dir.join("v2.acepack"));
    let routes = std::fs::read_to_string(data.join("routes.yaml")).unwrap();
    let upstream = EchoUpstream::start();
    let bootstrap = |bundle: &[u8]| {
        let filter = WasmFilter {
            plugin_name: PLUGIN_NAME.into(),
            vm_id: VM_ID.into(),
            wasm: a.wasm.clone(),
            configuration: bundle.to_vec(),
        };
        let mut b = Bootstrap::new().with_wasm(&filter).with_routes(&routes);
        for c in clusters_in_routes(&routes) {
            b = b.with_cluster(&c, upstream.addr());
        }
        b
    };
    let lds = dir.join("lds.yaml");
    let b1 = bootstrap(&v1);
    std::fs::write(&lds, b1.lds_yaml()).unwrap();
    let mut envoy = Envoy::must_start(&dir, &b1.to_yaml_with_lds(&lds));

    let steady = || Request::get("/v1/flights").header("apikey", "k-steady");
    for _ in 0..3 {
        let r = envoy.send(&steady());
        assert_eq!(r.status, 200, "{}", r.summary());
    }
    denied(&envoy.send(&steady()), 429, "rate_limited");
    denied(
        &envoy.send(&Request::get("/v1/flights").header("apikey", "k-new")),
        401,
        "invalid_credential",
    );

    envoy.update_lds(&lds, &bootstrap(&v2).lds_yaml());

    // The new bundle is active: its new application is let in...
    let r = envoy.send(&Request::get("/v1/flights").header("apikey", "k-new"));
    assert_eq!(r.status, 200, "the reloaded bundle should know k-new: {}", r.summary());
    assert_eq!(echoed(&r).header("x-ace-application"), Some("newcomer"));
    // ...and steady-app's exhausted bucket is still exhausted.
    let r = envoy.send(&steady());
    denied(&r, 429, "rate_limited");
    assert!(retry_after(&r) <= 20);
}
