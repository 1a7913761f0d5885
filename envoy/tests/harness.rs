//! The harness itself against a plain Envoy (no acepack filter): readiness, the echo upstream,
//! raw requests, loopback source addresses and per-worker stats. It also pins the Envoy behaviour
//! acepack relies on (docs/enforcement.md#canonical-request, docs/envoy.md): with default HTTP connection manager settings,
//! hostile paths reach the filter chain — and the upstream — byte for byte.

use std::net::Ipv4Addr;

use acepack_envoy::scenario::echoed;
use acepack_envoy::{Bootstrap, EchoUpstream, Envoy, Request, WorkDir};

fn plain_envoy(name: &str) -> (Envoy, EchoUpstream) {
    let upstream = EchoUpstream::start();
    let dir = WorkDir::new(name);
    let cfg = Bootstrap::new()
        .with_cluster("upstream", upstream.addr())
        .with_access_log(dir.join("access.log"))
        .to_yaml();
    (Envoy::must_start(&dir, &cfg), upstream)
}

#[test]
fn plain_envoy_forwards_hostile_paths_verbatim() {
    let (envoy, upstream) = plain_envoy("harness-hostile-paths");
    for path in [
        "/v1/flights",
        "//v1/flights",
        "/v1//flights",
        "/v1/./flights",
        "/v1/x/../flights",
        "/v1/flights%2FAB123",
        "/v1/flights%2fAB123",
        "/v1/flights%5Cx",
        "/v1/flights\\x",
        "/v1/flights/A1%zz",
        "/v1/flights/A1%2",
        "/v1/fl%69ghts?apikey=k&x=%2F",
    ] {
        let r = envoy.send(&Request::get(path).header("x-ace-application", "spoofed"));
        assert_eq!(r.status, 200, "{path}: {}", r.summary());
        let e = echoed(&r);
        assert_eq!(e.path, path, "Envoy rewrote the path");
        assert_eq!(e.method, "GET");
        assert_eq!(
            e.header("x-ace-application"),
            Some("spoofed"),
            "no filter: headers pass"
        );
    }
    assert_eq!(upstream.count(), 12);
    // HEAD has no body; the upstream's log still shows it.
    let r = envoy.send(&Request::new("HEAD", "/head-probe"));
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let last = upstream.last().expect("HEAD reached the upstream");
    assert_eq!((last.method.as_str(), last.path.as_str()), ("HEAD", "/head-probe"));
}

#[test]
fn plain_envoy_uses_two_workers_and_accepts_other_loopback_sources() {
    let (envoy, upstream) = plain_envoy("harness-workers");
    // Connections from 127.0.0.2 and 127.0.0.3 reach a listener bound to 127.0.0.1.
    for i in 0..40u8 {
        let src = Ipv4Addr::new(127, 0, 0, 2 + (i % 2));
        let r = envoy.send(&Request::post("/burst").body("x").from_addr(src));
        assert_eq!(r.status, 200, "{}", r.summary());
        assert_eq!(echoed(&r).body, "x");
    }
    assert_eq!(upstream.count(), 40);
    let per_worker = envoy.connections_per_worker();
    assert_eq!(per_worker.iter().sum::<u64>(), 40, "{per_worker:?}");
    assert!(
        per_worker.iter().all(|&n| n > 0),
        "both workers served connections: {per_worker:?}"
    );
}

#[test]
fn plain_envoy_applies_an_lds_file_update_in_place() {
    let upstream = EchoUpstream::start();
    let dir = WorkDir::new("harness-lds");
    let routes = |body: &str| {
        format!(
            "name: r\nvirtual_hosts:\n- name: all\n  domains: [\"*\"]\n  routes:\n  - match: {{ prefix: / }}\n    direct_response: {{ status: 200, body: {{ inline_string: {body} }} }}\n"
        )
    };
    let lds = dir.join("lds.yaml");
    let v1 = Bootstrap::new()
        .with_cluster("upstream", upstream.addr())
        .with_routes(&routes("one"));
    std::fs::write(&lds, v1.lds_yaml()).unwrap();
    let mut envoy = Envoy::must_start(&dir, &v1.to_yaml_with_lds(&lds));
    let addr = envoy.addr();
    assert_eq!(envoy.send(&Request::get("/")).text(), "one");
    let v2 = v1.clone().with_routes(&routes("two"));
    envoy.update_lds(&lds, &v2.lds_yaml());
    assert_eq!(envoy.send(&Request::get("/")).text(), "two");
    assert_eq!(envoy.addr(), addr, "the listener was updated in place");
}
