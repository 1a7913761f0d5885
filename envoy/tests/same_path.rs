//! Several APIs with the same path on the same hosts (every KongAir service has GET /health): the
//! gateway tells them apart — each API's operations go to its own cluster — so the filter decides
//! by the cluster of the route the request took (Envoy's `xds.cluster_name`).

use acepack_envoy::expect::denied;
use acepack_envoy::scenario::echoed;
use acepack_envoy::{Request, Scenario};

#[test]
fn the_route_taken_decides_whose_health_operation_it_is() {
    let s = Scenario::start("same-path", "same-path.yaml", Some("same-path-routes.yaml"));
    // /health without the header takes the catch-all route to flights-service: flights' operation.
    let r = s.send(&Request::get("/health").header("apikey", "k-flights"));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(echoed(&r).header("x-ace-operation-id"), Some("flightsHealth"));
    // The header route sends it to routes-service: routes' operation, which flights-app may not call.
    let r = s.send(
        &Request::get("/health")
            .header("apikey", "k-flights")
            .header("x-service", "routes"),
    );
    denied(&r, 403, "forbidden");
    // Other operations are unaffected.
    let r = s.send(&Request::get("/flights").header("apikey", "k-flights"));
    assert_eq!(echoed(&r).header("x-ace-operation-id"), Some("GET /flights"));
    denied(
        &s.send(&Request::get("/routes").header("apikey", "k-flights")),
        403,
        "forbidden",
    );
}
