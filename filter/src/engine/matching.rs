//! Step 1, match: find the operation of a request on its canonical form, apply the match policy
//! when there is none, refuse non-canonical requests that would match (400), and let CORS
//! preflights to known paths through.

use crate::bundle::MatchPolicy;
use crate::canonical::CanonicalPath;
use crate::claims::Claims;
use crate::matcher::{cluster_of, normalize_host, Match};

use super::decision::{deny, Decision, Reason};
use super::request::{Headers, Request};
use super::Engine;

/// The operation `req` (whose path canonicalizes to `canon`) is for, or the decision that ends
/// the request here.
pub(crate) fn match_operation<H: Headers + ?Sized, C: Claims + ?Sized>(
    engine: &Engine,
    req: &Request<'_, H>,
    claims: &C,
    canon: &CanonicalPath<'_>,
) -> Result<u32, Decision> {
    let enforcement = &engine.bundle().enforcement;
    let host = normalize_host(req.authority);
    let mut found = engine.table.find(&host, req.method, &canon.path);
    if let Match::Operation(op) = found {
        let group = engine.table.alternatives(op);
        if !group.is_empty() {
            // Several APIs define this operation; the route Envoy chose says whose it is. No
            // route cluster, or another one: none of them.
            let cluster = claims.route_cluster();
            found = group
                .iter()
                .copied()
                .find(|&o| cluster.is_some() && cluster_of(engine.bundle(), o) == cluster.as_deref())
                .map_or(Match::None, Match::Operation);
        }
    }
    let preflight = enforcement.cors_preflight_pass
        && req.method == "OPTIONS"
        && req.headers.get("origin").is_some()
        && req.headers.get("access-control-request-method").is_some();
    match found {
        Match::Operation(op) if !canon.canonical => Err(deny(400, Reason::NonCanonical, Some(op), None)),
        Match::PathOnly if preflight && !canon.canonical => Err(deny(400, Reason::NonCanonical, None, None)),
        _ if preflight && found != Match::None => Err(Decision::Pass),
        Match::Operation(op) => Ok(op),
        _ => Err(match enforcement.match_policy {
            MatchPolicy::Required => deny(404, Reason::NoMatch, None, None),
            MatchPolicy::IfPresent => Decision::Pass,
        }),
    }
}
