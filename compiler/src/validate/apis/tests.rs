//! Unit tests of `apis`.

use super::*;

#[test]
fn routes_are_detected_and_validated() {
    assert!(looks_like_route("GET /a"));
    assert!(looks_like_route("get /a"));
    assert!(!looks_like_route("getFlights"));
    assert!(!looks_like_route("GET"));
    let lower = parse_route("get /a").expect_err("lower-case");
    assert_eq!(lower.1.as_deref(), Some("did you mean \"GET /a\"?"));
    let typo = parse_route("DELTE /a").expect_err("typo");
    assert_eq!(typo.1.as_deref(), Some("did you mean \"DELETE\"?"));
    assert_eq!(closest_method("GRT"), Some("GET"));
    assert_eq!(closest_method("gte"), Some("GET"));
    assert_eq!(closest_method("FETCH"), None);
    assert!(parse_route("GET a").is_err());
    assert!(parse_route("/a").is_err());
}

#[test]
fn default_ids_drop_the_query() {
    assert_eq!(default_id("GET", "/responses?beta=true"), "GET /responses");
}

proptest::proptest! {
    /// The indexed search finds, for every operation, the same first earlier clash as
    /// comparing every pair with the plain definition of overlapping host sets.
    #[test]
    fn indexed_conflicts_match_the_pairwise_definition(
        host_sets in proptest::collection::vec(
            proptest::collection::vec(
                proptest::sample::select(&["a.x.com", "b.x.com", "*.x.com", "*.b.x.com", "x.com", "*.y.com", "c.y.com"][..]),
                0..3,
            ),
            1..12,
        )
    ) {
        let mut built = Built::default();
        for (i, hosts) in host_sets.iter().enumerate() {
            built.apis.push(Api {
                name: format!("api{i}"),
                version: String::new(),
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
                base_path: String::new(),
                spec: None,
                operations: i..i + 1,
                portals: Vec::new(),
            });
            built.operations.push(Operation {
                api: i,
                id: "GET /h".into(),
                method: "GET".into(),
                path: "/h".into(),
                spec_path: "/h".into(),
                aliases: Vec::new(),
            });
        }
        let same: Vec<usize> = (0..host_sets.len()).collect();
        let expected: Vec<(usize, usize)> = same
            .iter()
            .filter_map(|&i| {
                (0..i)
                    .find(|&j| hosts::sets_overlap(&built.apis[j].hosts, &built.apis[i].hosts))
                    .map(|j| (i, j))
            })
            .collect();
        proptest::prop_assert_eq!(first_clashes(&built, &same), expected);
    }
}
