//! `acepack explain BUNDLE METHOD URL [-H 'Name: value']... [--client-ip IP] [--claim NAME=VALUE]...
//! [--route-cluster NAME]`:
//! the filter's own engine, offline, on one request (with fresh buckets).

use std::path::Path;

use acepack_filter::bundle::StrategyKind;
use acepack_filter::claims::Claims;
use acepack_filter::engine::{Engine, Request};
use acepack_filter::explain::{explain, parse_header, request_target};
use acepack_filter::limiter::MemoryStore;

use super::{read_bundle, Exit, Failure};

/// `--claim NAME=VALUE` as the claims of a token `jwt_authn` verified for every openid_connect
/// strategy (docs/oidc.md); `iss` defaults to the strategy's issuer. A JSON array value
/// (`scp=["a","b"]`) is a list claim.
fn verified_claims(engine: &Engine, claims: &[String]) -> Result<Vec<(String, String, Vec<u8>)>, Failure> {
    let mut given: Vec<(&str, Vec<u8>)> = Vec::new();
    for c in claims {
        let Some((name, value)) = c.split_once('=').filter(|(n, _)| !n.is_empty()) else {
            return Err(Failure::Usage(format!("claim {c:?} is not NAME=VALUE")));
        };
        let bytes = match serde_json::from_str::<Vec<String>>(value) {
            // The form Envoy hands a list claim over in (docs/oidc.md).
            Ok(items) => envoy_pairs(&items),
            Err(_) => value.as_bytes().to_vec(),
        };
        given.push((name, bytes));
    }
    let mut out = Vec::new();
    if given.is_empty() {
        return Ok(out);
    }
    for s in &engine.bundle().strategies {
        if let StrategyKind::OpenidConnect(o) = &s.kind {
            if !given.iter().any(|(n, _)| *n == "iss") {
                out.push((s.name.clone(), "iss".to_owned(), o.issuer.as_bytes().to_vec()));
            }
            for (n, v) in &given {
                out.push((s.name.clone(), (*n).to_owned(), v.clone()));
            }
        }
    }
    Ok(out)
}

/// What Envoy would tell the filter besides the headers: verified claims, the route's cluster.
struct Context<'a> {
    claims: Vec<(String, String, Vec<u8>)>,
    route_cluster: Option<&'a str>,
}

impl Claims for Context<'_> {
    fn claim(&self, metadata_key: &str, name: &str) -> Option<Vec<u8>> {
        self.claims.as_slice().claim(metadata_key, name)
    }

    fn route_cluster(&self) -> Option<String> {
        self.route_cluster.map(str::to_owned)
    }
}

/// Items as proxy-wasm pairs (item as key, empty value).
fn envoy_pairs(items: &[String]) -> Vec<u8> {
    let mut out = (items.len() as u32).to_le_bytes().to_vec();
    for i in items {
        out.extend_from_slice(&(i.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
    for i in items {
        out.extend_from_slice(i.as_bytes());
        out.extend_from_slice(&[0, 0]);
    }
    out
}

/// Runs the engine and prints the decision.
pub fn run(
    bundle: &Path,
    method: &str,
    url: &str,
    headers: &[String],
    client_ip: Option<&str>,
    claims: &[String],
    route_cluster: Option<&str>,
) -> Result<Exit, Failure> {
    let (bytes, _) = read_bundle(bundle)?;
    let engine = Engine::load(&bytes).map_err(|e| Failure::invalid(format!("{}: {e}", bundle.display())))?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for h in headers {
        let pair = parse_header(h).ok_or_else(|| Failure::Usage(format!("header {h:?} is not 'Name: value'")))?;
        pairs.push(pair);
    }
    let (authority, path) = request_target(url, &pairs).map_err(Failure::Usage)?;
    let req = Request {
        method,
        path: &path,
        authority: &authority,
        headers: pairs.as_slice(),
        client_ip,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let context = Context {
        claims: verified_claims(&engine, claims)?,
        route_cluster,
    };
    let decision = engine.decide_with_claims(&req, &context, &mut MemoryStore::new(), None, now);
    print!("{}", explain(&engine, &decision).text);
    Ok(Exit::Ok)
}
