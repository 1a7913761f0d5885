//! Several APIs with the same (method, path) on overlapping hosts (docs/catalog.md#operations):
//! an error unless an Envoy gateway tells the APIs apart by cluster, which the bundle then
//! records so the filter decides by the route a request took.

use std::path::Path;
use std::process::{Command, Output};

const CATALOG: &str = "version: 1
gateway: { envoy: routes.yaml }
enforcement: { match_policy: required }
auth_strategies: [{ name: keys, type: key_auth, key_names: [apikey] }]
apis:
  - name: flights
    operations: [GET /flights, { id: flightsHealth, op: GET /health }]
  - name: routes
    operations: [GET /routes, { id: routesHealth, op: GET /health }]
";

fn routes(second_cluster: &str) -> String {
    format!(
        "name: r
virtual_hosts:
  - name: all
    domains: [\"*\"]
    routes:
      - {{ match: {{ prefix: /flights }}, route: {{ cluster: flights-service }} }}
      - {{ match: {{ prefix: /routes }}, route: {{ cluster: {second_cluster} }} }}
      - {{ match: {{ prefix: / }}, route: {{ cluster: flights-service }} }}
"
    )
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acepack"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn apis_the_gateway_sends_to_their_own_clusters_stay_distinct() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).unwrap();
    std::fs::write(dir.path().join("routes.yaml"), routes("routes-service")).unwrap();
    let o = run(dir.path(), &["compile", "catalog.yaml", "-o", "b.bin"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(dir.path(), &["inspect", "b.bin", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["apis"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|a| a["operations"].as_array().unwrap())
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"flightsHealth") && ids.contains(&"routesHealth"),
        "{ids:?}"
    );
    // explain decides like the filter: by the route's cluster.
    let explain = |cluster: &[&str]| {
        let mut args = vec!["explain", "b.bin", "GET", "/health"];
        args.extend_from_slice(cluster);
        String::from_utf8_lossy(&run(dir.path(), &args).stdout).into_owned()
    };
    assert!(explain(&["--route-cluster", "routes-service"]).contains("routesHealth"));
    assert!(explain(&["--route-cluster", "flights-service"]).contains("flightsHealth"));
    assert!(explain(&[]).contains("404 no_match"));
}

#[test]
fn apis_nothing_tells_apart_stay_an_error_that_says_how_to_resolve_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("catalog.yaml"), CATALOG).unwrap();
    // Both APIs' operations end at the same cluster.
    std::fs::write(dir.path().join("routes.yaml"), routes("flights-service")).unwrap();
    let o = run(dir.path(), &["check", "catalog.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("api \"routes\" and api \"flights\" both define GET /health and their hosts overlap, so a request could not be told apart; the gateway does not tell their APIs apart"),
        "{err}"
    );
    assert!(err.contains("add `exclude: [\"GET /health\"]` to one of them"), "{err}");
    // Without a gateway: the same error, without the gateway's part.
    let plain = CATALOG.replace("gateway: { envoy: routes.yaml }\n", "");
    std::fs::write(dir.path().join("catalog.yaml"), plain).unwrap();
    let o = run(dir.path(), &["check", "catalog.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("so a request could not be told apart ("), "{err}");
}
