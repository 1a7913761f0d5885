//! `openid_connect` auth strategies (docs/oidc.md): checked here, verified at run time by Envoy's
//! `jwt_authn`, and identified by the filter from the claims `jwt_authn` wrote.

use super::Ctx;
use crate::catalog;
use crate::model::AuthStrategy;

/// The claim that names the application when `claim` is not given.
pub(crate) const DEFAULT_CLAIM: &str = "client_id";

/// One `openid_connect` strategy, checked: an issuer, a claim, well-formed audiences and scopes.
pub(crate) fn strategy(ctx: &mut Ctx<'_>, place: &str, s: &catalog::AuthStrategy) -> AuthStrategy {
    for (key, set) in [("key_names", s.key_names.is_some()), ("header", s.header.is_some())] {
        if set {
            ctx.error(
                format!("{place}.{key}"),
                format!("`{key}` does not belong to an `openid_connect` strategy"),
                Some("an openid_connect strategy uses `issuer`, `audiences`, `jwks_uri`, `claim` and `scopes`".into()),
            );
        }
    }
    let issuer = s.issuer.clone().unwrap_or_default();
    if issuer.trim().is_empty() {
        ctx.error(
            place,
            "an openid_connect strategy needs `issuer` (the tokens' `iss`)",
            Some("for example `issuer: https://idp.example.com/`".into()),
        );
    }
    if let Some(uri) = &s.jwks_uri {
        if !(uri.starts_with("https://") || uri.starts_with("http://")) {
            ctx.error(
                format!("{place}.jwks_uri"),
                format!("\"{uri}\" is not an http(s) URL"),
                Some("leave `jwks_uri` out to give Envoy a local JWKS file instead (`acepack envoy --jwks`)".into()),
            );
        }
    }
    let claim = s.claim.clone().unwrap_or_else(|| DEFAULT_CLAIM.to_owned());
    // The claim is one key of the payload: Envoy reads it by that name, so no dots or slashes.
    if claim.is_empty() || !claim.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        ctx.error(
            format!("{place}.claim"),
            format!("\"{claim}\" is not a claim name (letters, digits, `_` and `-`)"),
            Some("for example `claim: client_id` or `claim: azp`".into()),
        );
    }
    let audiences = s.audiences.clone().unwrap_or_default();
    for (k, a) in audiences.iter().enumerate() {
        if a.trim().is_empty() {
            ctx.error(format!("{place}.audiences[{k}]"), "an audience cannot be empty", None);
        }
    }
    let scopes = s.scopes.clone().unwrap_or_default();
    for (k, sc) in scopes.iter().enumerate() {
        // A scope-token (RFC 6749, section 3.3): printable ASCII but space, `"` and `\`.
        if sc.is_empty() || !sc.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\') {
            ctx.error(
                format!("{place}.scopes[{k}]"),
                format!("\"{sc}\" is not a scope (printable characters, no space, quote or backslash)"),
                None,
            );
        } else if scopes[..k].contains(sc) {
            ctx.error(format!("{place}.scopes[{k}]"), format!("scope \"{sc}\" is listed twice"), None);
        }
    }
    AuthStrategy::OpenidConnect {
        name: s.name.clone(),
        issuer,
        audiences,
        jwks_uri: s.jwks_uri.clone(),
        claim,
        scopes,
    }
}
