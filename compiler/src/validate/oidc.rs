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
    if claim.is_empty()
        || !claim
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
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
        if sc.is_empty()
            || !sc
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        {
            ctx.error(
                format!("{place}.scopes[{k}]"),
                format!("\"{sc}\" is not a scope (printable characters, no space, quote or backslash)"),
                None,
            );
        } else if scopes[..k].contains(sc) {
            ctx.error(
                format!("{place}.scopes[{k}]"),
                format!("scope \"{sc}\" is listed twice"),
                None,
            );
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::error::LoadError;
    use crate::model::{AuthStrategy, Hold, Model};

    const CATALOG: &str = r#"
version: 1
auth_strategies:
  - name: idp
    type: openid_connect
    issuer: https://idp.test/
    audiences: [acepack]
    claim: azp
    scopes: [flights:read]
apis:
  - name: flights
    operations: [GET /flights, GET /health]
    exclude: [GET /health]
packages:
  - id: pkg
    operations:
      - api: flights
developers:
  - email: a@x.test
  - email: p@x.test
    status: pending
applications:
  - name: app
    owner: { developer: a@x.test }
    auth_strategy: idp
    credentials: [{ client_id: abc }]
    registrations: [{ package: pkg }, { api: flights, status: revoked }]
  - name: waiting
    owner: { developer: p@x.test }
    auth_strategy: idp
    credentials: [{ client_id: def }]
    registrations: [{ package: pkg }]
"#;

    fn build(text: &str) -> Result<Model, Vec<String>> {
        let doc = crate::source::parse(text.as_bytes(), "catalog.yaml").expect("test YAML is valid");
        let catalog = crate::catalog::parse(&doc, "catalog.yaml")
            .map_err(|ds| ds.iter().map(|d| d.to_string()).collect::<Vec<_>>())?;
        match super::super::build(&catalog, "catalog.yaml", Path::new(".")) {
            Ok(m) => Ok(m),
            Err(LoadError::Invalid(ds)) => Err(ds.iter().map(|d| d.to_string()).collect()),
            Err(e) => Err(vec![e.to_string()]),
        }
    }

    fn errors(text: &str) -> Vec<String> {
        build(text).expect_err("expected errors")
    }

    #[test]
    fn a_strategy_with_its_claim_scopes_and_client_ids() {
        let m = build(CATALOG).unwrap();
        assert_eq!(
            m.auth_strategies[0],
            AuthStrategy::OpenidConnect {
                name: "idp".into(),
                issuer: "https://idp.test/".into(),
                audiences: vec!["acepack".into()],
                jwks_uri: None,
                claim: "azp".into(),
                scopes: vec!["flights:read".into()],
            }
        );
        assert_eq!(m.applications[0].credentials.len(), 1);
        // Held registrations keep why: revoked registration, pending owner.
        assert_eq!(
            m.applications[0].held,
            vec![(crate::model::Grant::Api(0), Hold::Revoked)]
        );
        assert_eq!(
            m.applications[1].held,
            vec![(crate::model::Grant::Package(0), Hold::Pending)]
        );
    }

    #[test]
    fn the_claim_defaults_to_client_id() {
        let m = build(&CATALOG.replace("    claim: azp\n", "")).unwrap();
        assert!(matches!(&m.auth_strategies[0], AuthStrategy::OpenidConnect { claim, .. } if claim == "client_id"));
    }

    #[test]
    fn keys_and_credentials_of_other_kinds_are_refused() {
        let e = errors(&CATALOG.replace(
            "    issuer: https://idp.test/\n",
            "    header: x-id\n    jwks_uri: idp.test/keys\n",
        ));
        assert!(
            e.contains(&"catalog.yaml: auth_strategies[0]: an openid_connect strategy needs `issuer` (the tokens' `iss`) (for example `issuer: https://idp.example.com/`)".to_string()),
            "{e:#?}"
        );
        assert!(
            e.iter().any(|x| x.starts_with(
                "catalog.yaml: auth_strategies[0].header: `header` does not belong to an `openid_connect` strategy"
            )),
            "{e:#?}"
        );
        assert!(
            e.iter()
                .any(|x| x
                    .starts_with("catalog.yaml: auth_strategies[0].jwks_uri: \"idp.test/keys\" is not an http(s) URL")),
            "{e:#?}"
        );
        let e = errors(&CATALOG.replace("[{ client_id: abc }]", "[{ key: abc }]"));
        assert!(e.contains(&"catalog.yaml: applications[0].credentials[0].key: a `key` needs a key_auth strategy, and \"idp\" is an openid_connect strategy (use `client_id:` for an OAuth client)".to_string()), "{e:#?}");
        let e = errors(
            &CATALOG
                .replace("    claim: azp\n", "    claim: a.b\n    scopes: [\"bad scope\"]\n")
                .replace("    scopes: [flights:read]\n", ""),
        );
        assert!(
            e.iter()
                .any(|x| x.starts_with("catalog.yaml: auth_strategies[0].claim: \"a.b\" is not a claim name")),
            "{e:#?}"
        );
        assert!(
            e.iter()
                .any(|x| x.starts_with("catalog.yaml: auth_strategies[0].scopes[0]: \"bad scope\" is not a scope")),
            "{e:#?}"
        );
    }

    #[test]
    fn oidc_keys_on_a_key_auth_strategy_are_refused() {
        let e = errors(&CATALOG.replace(
            "    type: openid_connect\n",
            "    type: key_auth\n    key_names: [apikey]\n",
        ));
        assert!(
            e.iter().any(|x| x.starts_with(
                "catalog.yaml: auth_strategies[0].issuer: `issuer` belongs to an `openid_connect` strategy"
            )),
            "{e:#?}"
        );
    }

    #[test]
    fn a_package_naming_an_excluded_operation_says_it_was_excluded() {
        let text = CATALOG.replace(
            "      - api: flights\n",
            "      - api: flights\n        op: GET /health\n",
        );
        let e = errors(&text);
        assert!(
            e.iter().any(|x| x.contains("has no operation \"GET /health\": the API's `exclude` leaves it out (remove it from the API's `exclude`, or from this package)")),
            "{e:#?}"
        );
    }
}
