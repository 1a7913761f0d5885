//! Step 1, match: find the operation of a request on its canonical form, apply the match policy
//! when there is none, refuse non-canonical requests that would match (400), and let CORS
//! preflights to known paths through.

use crate::bundle::MatchPolicy;
use crate::canonical::CanonicalPath;
use crate::matcher::{normalize_host, Match};

use super::decision::{deny, Decision, Reason};
use super::request::{Headers, Request};
use super::Engine;

/// The operation `req` (whose path canonicalizes to `canon`) is for, or the decision that ends
/// the request here.
pub(crate) fn match_operation<H: Headers + ?Sized>(
    engine: &Engine,
    req: &Request<'_, H>,
    canon: &CanonicalPath<'_>,
) -> Result<u32, Decision> {
    let enforcement = &engine.bundle().enforcement;
    let host = normalize_host(req.authority);
    let mut found = engine.table.find(&host, req.method, &canon.path);
    if !canon.canonical && !matches!(found, Match::Operation(_)) {
        // An upstream that decodes nothing routes the literal reading.
        if let Some(literal) = &canon.alternate {
            found = found.or(engine.table.find(&host, req.method, literal));
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
        _ => {
            if let Some(op) = case_variant_match(engine, &host, req.method, canon) {
                return Err(deny(400, Reason::NonCanonical, Some(op), None));
            }
            Err(match enforcement.match_policy {
                MatchPolicy::Required => deny(404, Reason::NoMatch, None, None),
                MatchPolicy::IfPresent => Decision::Pass,
            })
        }
    }
}

/// The operation a method that is not upper case (`get`, `Get`) would reach on a server that
/// matches methods case-insensitively, under either reading of the path.
#[cold]
fn case_variant_match(engine: &Engine, host: &str, method: &str, canon: &CanonicalPath<'_>) -> Option<u32> {
    if !method.bytes().any(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let upper = method.to_ascii_uppercase();
    [Some(canon.path.as_ref()), canon.alternate.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|path| match engine.table.find(host, &upper, path) {
            Match::Operation(op) => Some(op),
            _ => None,
        })
}
