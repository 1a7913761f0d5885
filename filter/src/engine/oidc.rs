//! Step 2 for an `openid_connect` strategy (docs/oidc.md): the application named by a claim of a
//! token Envoy's `jwt_authn` verified, read from dynamic metadata, never from a header.

use crate::bundle::{Bundle, Oidc};
use crate::claims::{has_scopes, Claims};

use super::decision::{Decision, Deny, Reason};
use super::identify::CredentialIndex;
use super::keys::credential_digest;
use super::request::{Headers, Request};
use crate::bundle::DIGEST_LEN;

/// What one `openid_connect` strategy found.
pub(crate) enum Found {
    /// No token at all: try the next strategy (or the anonymous application).
    Absent,
    /// The application and the digest its buckets are keyed by.
    Application(u32, [u8; DIGEST_LEN]),
    /// A token that identifies no registered application, or lacks a scope.
    Denied(Decision),
}

/// Identifies the caller through strategy `index` (named `name`, which is also the metadata key
/// `jwt_authn` wrote the payload under).
pub(crate) fn identify<H: Headers + ?Sized, C: Claims + ?Sized>(
    bundle: &Bundle,
    credentials: &CredentialIndex,
    req: &Request<'_, H>,
    claims: &C,
    (index, name, oidc): (usize, &str, &Oidc),
    operation: u32,
) -> Found {
    let denied = |status: u16, reason: Reason, application: Option<u32>| {
        Found::Denied(Decision::Deny(Deny {
            status,
            reason,
            retry_after: None,
            www_authenticate: status == 401,
            operation: Some(operation),
            application,
            charge: None,
        }))
    };
    let issuer = claims.claim(name, "iss");
    let Some(client) = claims.claim(name, &oidc.claim) else {
        if issuer.is_some() {
            // A verified token that names no client: authenticated, but not as an application.
            return denied(403, Reason::InvalidCredential, None);
        }
        if has_bearer(req.headers) {
            // A token jwt_authn did not verify for this provider (jwt_authn missing in front, or
            // configured to let failures through): never anonymous.
            return denied(401, Reason::InvalidCredential, None);
        }
        return Found::Absent;
    };
    // Several providers may share one Envoy: a payload from another issuer is not this one's.
    if !oidc.issuer.is_empty() && issuer.as_deref() != Some(oidc.issuer.as_bytes()) {
        return denied(403, Reason::InvalidCredential, None);
    }
    let digest = credential_digest(&client);
    let application = credentials.find(bundle, &digest).filter(|app| {
        bundle
            .applications
            .get(*app as usize)
            .is_some_and(|a| a.strategy as usize == index)
    });
    // An authentic token of an unregistered client: 403, like a header identity (docs/oidc.md).
    let Some(application) = application else {
        return denied(403, Reason::InvalidCredential, None);
    };
    if !has_scopes(claims, name, &oidc.scopes) {
        return denied(403, Reason::InsufficientScope, Some(application));
    }
    Found::Application(application, digest)
}

/// An `Authorization: Bearer ...` header.
fn has_bearer<H: Headers + ?Sized>(headers: &H) -> bool {
    headers
        .get("authorization")
        .and_then(|v| v.get(..7))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("bearer "))
}
