//! Operations that share method, path and hosts across APIs, told apart by the cluster of the
//! route Envoy chose (docs/catalog.md#gateway-route-mapping), through an encode/decode round trip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use acepack_filter::bundle::{Bundle, Method};
use acepack_filter::claims::Claims;
use acepack_filter::engine::{Decision, Engine, Request};
use acepack_filter::fixture::{self, keys};
use acepack_filter::limiter::MemoryStore;
use acepack_filter::matcher::MatchConflict;

/// The route's cluster as the host reports it.
struct Cluster(Option<&'static str>);

impl Claims for Cluster {
    fn claim(&self, _: &str, _: &str) -> Option<Vec<u8>> {
        None
    }
    fn route_cluster(&self) -> Option<String> {
        self.0.map(str::to_owned)
    }
}

/// The index the duplicate gets: after the fixture's operations.
fn dup() -> u32 {
    fixture::bundle().operations.len() as u32
}

/// The fixture with a second GET /v1/flights in the flights API's host group (operation
/// [`dup`], granted to nobody).
fn bundle(bound: bool) -> Bundle {
    let mut b = fixture::bundle();
    let dup = b.push_operation(0, Method::Get, "/v1/flights", "otherFlights");
    if bound {
        b.access.route_bound = vec![(0, "flights-service".into()), (dup, "other-service".into())];
    }
    b
}

fn decide(e: &Engine, cluster: Option<&'static str>) -> Decision {
    let headers = [("apikey", keys::ACME)];
    let req = Request {
        method: "GET",
        path: "/v1/flights",
        authority: "api.example.com",
        headers: &headers[..],
        client_ip: None,
    };
    e.decide_with_claims(&req, &Cluster(cluster), &mut MemoryStore::new(), None, 1)
}

#[test]
fn the_route_cluster_picks_the_operation() {
    let e = Engine::load(&bundle(true).encode().unwrap()).unwrap();
    match decide(&e, Some("flights-service")) {
        Decision::Allow(a) => assert_eq!(e.bundle().operation_id(a.operation), "getFlights"),
        d => panic!("{d:?}"),
    }
    // The other API's operation: acme holds no grant to it.
    match decide(&e, Some("other-service")) {
        Decision::Deny(d) => assert_eq!((d.status, d.operation), (403, Some(dup()))),
        d => panic!("{d:?}"),
    }
    // A cluster that is neither, or none reported: no operation (404 under `required`).
    for cluster in [Some("elsewhere"), None] {
        match decide(&e, cluster) {
            Decision::Deny(d) => assert_eq!(d.reason.as_str(), "no_match"),
            d => panic!("{d:?}"),
        }
    }
}

#[test]
fn without_route_binding_the_duplicate_is_refused() {
    let err = Engine::new(bundle(false)).err().expect("refused");
    assert_eq!(
        err,
        acepack_filter::engine::LoadError::Routes(MatchConflict::Duplicate {
            first: 0,
            second: dup()
        })
    );
}
