//! What the engine answers: a [`Decision`] (pass, allow or deny), why a request was denied
//! ([`Reason`]), and what was charged ([`Charge`]). Plain data: the proxy-wasm glue, `acepack
//! explain` and the tests turn it into responses.

use crate::bundle::DIGEST_LEN;
use crate::limiter::Outcome;

/// Why a request was denied (the `reason` of the JSON body, and the metric suffix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// 404: no operation matches and the policy is `required`.
    NoMatch,
    /// 400: an operation matches the canonical form but the raw path is not canonical.
    NonCanonical,
    /// 401: no credential and no anonymous application.
    Unauthenticated,
    /// 401 (key) / 403 (header identity): the credential is not registered.
    InvalidCredential,
    /// 403: no active grant to the operation.
    Forbidden,
    /// 403: a registration that would grant the operation (or the application's owner) waits
    /// for approval.
    RegistrationPending,
    /// 403: a registration that would grant the operation (or the application's owner) was
    /// revoked or rejected.
    RegistrationRevoked,
    /// 403: the verified token lacks a scope its `openid_connect` strategy requires.
    InsufficientScope,
    /// 429: every package bucket that could serve the request is empty.
    RateLimited,
    /// 503: the bucket store failed (a shared-data error other than a CAS mismatch, or more
    /// contention than a request may retry).
    LimiterUnavailable,
    /// 503: no bundle is loaded (the plugin was never configured successfully), so there is
    /// nothing to decide with. Raised by the proxy-wasm glue, never by [`super::Engine`].
    NotConfigured,
    /// 503: the proxy host failed a call the decision needs (reading the request headers, or the
    /// clock the buckets refill by). Raised by the proxy-wasm glue, never by [`super::Engine`].
    HostUnavailable,
}

impl Reason {
    /// All reasons, for metric registration.
    pub const ALL: [Reason; 12] = [
        Reason::NoMatch,
        Reason::NonCanonical,
        Reason::Unauthenticated,
        Reason::InvalidCredential,
        Reason::Forbidden,
        Reason::RegistrationPending,
        Reason::RegistrationRevoked,
        Reason::InsufficientScope,
        Reason::RateLimited,
        Reason::LimiterUnavailable,
        Reason::NotConfigured,
        Reason::HostUnavailable,
    ];

    /// The reason code of docs/enforcement.md#decision-order.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NoMatch => "no_match",
            Reason::NonCanonical => "non_canonical",
            Reason::Unauthenticated => "unauthenticated",
            Reason::InvalidCredential => "invalid_credential",
            Reason::Forbidden => "forbidden",
            Reason::RegistrationPending => "registration_pending",
            Reason::RegistrationRevoked => "registration_revoked",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::RateLimited => "rate_limited",
            Reason::LimiterUnavailable => "limiter_unavailable",
            Reason::NotConfigured => "not_configured",
            Reason::HostUnavailable => "host_unavailable",
        }
    }

    /// The JSON body of the local response (a constant: no allocation on denial).
    pub fn body(self) -> &'static str {
        match self {
            Reason::NoMatch => r#"{"message":"no API operation matches this request","reason":"no_match"}"#,
            Reason::NonCanonical => {
                r#"{"message":"the request path is not in canonical form","reason":"non_canonical"}"#
            }
            Reason::Unauthenticated => r#"{"message":"no credential was presented","reason":"unauthenticated"}"#,
            Reason::InvalidCredential => {
                r#"{"message":"the credential is not registered","reason":"invalid_credential"}"#
            }
            Reason::Forbidden => {
                r#"{"message":"the application has no access to this operation","reason":"forbidden"}"#
            }
            Reason::RegistrationPending => {
                r#"{"message":"the application's registration for this operation awaits approval","reason":"registration_pending"}"#
            }
            Reason::RegistrationRevoked => {
                r#"{"message":"the application's registration for this operation was revoked","reason":"registration_revoked"}"#
            }
            Reason::InsufficientScope => {
                r#"{"message":"the token lacks a scope this API requires","reason":"insufficient_scope"}"#
            }
            Reason::RateLimited => r#"{"message":"rate limit exceeded","reason":"rate_limited"}"#,
            Reason::LimiterUnavailable => {
                r#"{"message":"the rate limiter is unavailable","reason":"limiter_unavailable"}"#
            }
            Reason::NotConfigured => {
                r#"{"message":"the access control filter has no valid configuration","reason":"not_configured"}"#
            }
            Reason::HostUnavailable => {
                r#"{"message":"the proxy could not provide what the decision needs","reason":"host_unavailable"}"#
            }
        }
    }
}

/// A bucket that was charged (or found empty): which package, and its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The package the bucket belongs to.
    pub package: u32,
    /// The bucket's scope (see [`super::Engine::policy`]).
    pub scope: u32,
    /// The operation override, if the bucket is per operation.
    pub operation_override: bool,
    /// The bucket's state after the decision (in global mode, where the rate limit service
    /// decides, admitted with no windows).
    pub outcome: Outcome,
    /// The credential's digest: what the bucket is per, with the scope.
    pub credential: [u8; DIGEST_LEN],
}

/// Where the credential was found, for `hide_credentials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hide {
    /// Remove this request header (lower-case name).
    Header(String),
    /// Replace `:path` with this (the key parameter removed from the query).
    Path(String),
}

/// An allowed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The matched operation.
    pub operation: u32,
    /// The calling application.
    pub application: u32,
    /// The package charged, if any (an API grant charges none).
    pub package: Option<u32>,
    /// The charged bucket, when the package has limits.
    pub charge: Option<Charge>,
    /// What to strip before forwarding, when `hide_credentials` is on.
    pub hide: Option<Hide>,
}

/// A denied request: a local response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deny {
    /// HTTP status.
    pub status: u16,
    /// Why.
    pub reason: Reason,
    /// `Retry-After` seconds (429).
    pub retry_after: Option<u64>,
    /// Add `WWW-Authenticate` challenges: `Key realm="acepack"` when the bundle has a key_auth
    /// strategy, `Bearer realm="acepack"` when it has an openid_connect one.
    pub www_authenticate: bool,
    /// The matched operation, if matching got that far.
    pub operation: Option<u32>,
    /// The identified application, if any.
    pub application: Option<u32>,
    /// The bucket that refused (429).
    pub charge: Option<Charge>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward with nothing changed except that client-sent `x-ace-*` headers are removed (no
    /// operation under `if_present`, or a CORS preflight).
    Pass,
    /// Forward with `x-ace-*` headers.
    Allow(Allow),
    /// Reply locally.
    Deny(Deny),
}

/// A denial with no retry hint, no `WWW-Authenticate` and no charge.
pub(crate) fn deny(status: u16, reason: Reason, operation: Option<u32>, application: Option<u32>) -> Decision {
    Decision::Deny(Deny {
        status,
        reason,
        retry_after: None,
        www_authenticate: false,
        operation,
        application,
        charge: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_code_and_a_body_naming_it() {
        let mut codes: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Reason::ALL.len(), "distinct codes");
        for r in Reason::ALL {
            let body = r.body();
            assert!(body.starts_with(r#"{"message":""#), "{body}");
            assert!(body.ends_with(&format!(r#","reason":"{}"}}"#, r.as_str())), "{body}");
        }
    }
}
