//! The Envoy `jwt_authn` entry that goes before acepack when a catalog has `openid_connect`
//! strategies (docs/oidc.md). `jwt_authn` verifies tokens — signature, issuer, audiences, expiry —
//! and writes the verified payload to dynamic metadata, where the filter reads the client id.
//!
//! One provider per strategy, named after it, with `payload_in_metadata` set to the strategy's
//! name (the key the filter reads). The rule is "this provider, or no token at all"
//! (`requires_any` of the providers and `allow_missing`): a request without a token goes on to
//! acepack, which answers 401 (or uses the anonymous application); a request with a token that no
//! provider accepts is rejected by `jwt_authn` itself and never reaches acepack, so it can never
//! pass as anonymous.

/// One `jwt_authn` provider, from an `openid_connect` strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The strategy's name: provider name and `payload_in_metadata` key.
    pub name: String,
    /// The tokens' `iss`.
    pub issuer: String,
    /// Accepted audiences; empty: any.
    pub audiences: Vec<String>,
    /// Where the keys are fetched from, if remote.
    pub jwks_uri: Option<String>,
    /// A local JWKS file (takes precedence over `jwks_uri`).
    pub local_jwks: Option<String>,
}

/// The cluster name printed for a remote JWKS: the operator defines that cluster.
pub fn jwks_cluster(provider: &str) -> String {
    format!("jwks_{provider}")
}

/// The placeholder path printed when a provider has neither a local file nor a `jwks_uri`.
pub fn placeholder_jwks(provider: &str) -> String {
    format!("/etc/envoy/jwks/{provider}.json")
}

/// The YAML of one `http_filters` list item (not indented), or `None` without providers.
pub fn jwt_authn_yaml(providers: &[Provider]) -> Option<String> {
    if providers.is_empty() {
        return None;
    }
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    let mut y = String::from(
        "- name: envoy.filters.http.jwt_authn\n  typed_config:\n    \"@type\": type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication\n    providers:\n",
    );
    for p in providers {
        y.push_str(&format!("      {}:\n        issuer: {}\n", q(&p.name), q(&p.issuer)));
        if !p.audiences.is_empty() {
            let list: Vec<String> = p.audiences.iter().map(|a| q(a)).collect();
            y.push_str(&format!("        audiences: [{}]\n", list.join(", ")));
        }
        match (&p.local_jwks, &p.jwks_uri) {
            (Some(file), _) => y.push_str(&format!("        local_jwks:\n          filename: {}\n", q(file))),
            (None, Some(uri)) => y.push_str(&format!(
                "        remote_jwks:\n          http_uri:\n            uri: {}\n            cluster: {}  # define this cluster: the issuer's host, with TLS\n            timeout: 5s\n          cache_duration: 300s\n",
                q(uri),
                q(&jwks_cluster(&p.name))
            )),
            (None, None) => y.push_str(&format!(
                "        local_jwks:\n          filename: {}  # replace: the issuer's JWKS (acepack envoy --jwks NAME=FILE)\n",
                q(&placeholder_jwks(&p.name))
            )),
        }
        y.push_str(&format!(
            "        payload_in_metadata: {}\n        forward: false\n",
            q(&p.name)
        ));
    }
    y.push_str(
        "    rules:\n    - match: { prefix: \"/\" }\n      requires:\n        requires_any:\n          requirements:\n",
    );
    for p in providers {
        y.push_str(&format!("          - provider_name: {}\n", q(&p.name)));
    }
    y.push_str("          - allow_missing: {}\n");
    Some(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Provider {
        Provider {
            name: "idp".into(),
            issuer: "https://idp.test/".into(),
            audiences: vec!["acepack".into()],
            jwks_uri: Some("https://idp.test/jwks".into()),
            local_jwks: None,
        }
    }

    #[test]
    fn nothing_without_providers() {
        assert_eq!(jwt_authn_yaml(&[]), None);
    }

    #[test]
    fn one_provider_per_strategy_then_provider_or_no_token() {
        let y = jwt_authn_yaml(&[provider()]).unwrap();
        assert!(y.starts_with("- name: envoy.filters.http.jwt_authn\n"), "{y}");
        assert!(
            y.contains("      \"idp\":\n        issuer: \"https://idp.test/\"\n"),
            "{y}"
        );
        assert!(y.contains("audiences: [\"acepack\"]"), "{y}");
        assert!(y.contains("uri: \"https://idp.test/jwks\""), "{y}");
        assert!(y.contains("cluster: \"jwks_idp\""), "{y}");
        assert!(y.contains("payload_in_metadata: \"idp\""), "{y}");
        assert!(
            y.contains("- provider_name: \"idp\"\n          - allow_missing: {}\n"),
            "{y}"
        );
        assert!(!y.contains("allow_missing_or_failed"), "{y}");
    }

    #[test]
    fn a_local_file_wins_and_a_missing_one_is_a_visible_placeholder() {
        let mut p = provider();
        p.local_jwks = Some("/tmp/jwks.json".into());
        let y = jwt_authn_yaml(&[p.clone()]).unwrap();
        assert!(
            y.contains("local_jwks:\n          filename: \"/tmp/jwks.json\"\n"),
            "{y}"
        );
        assert!(!y.contains("remote_jwks"), "{y}");
        p.local_jwks = None;
        p.jwks_uri = None;
        let y = jwt_authn_yaml(&[p]).unwrap();
        assert!(y.contains("\"/etc/envoy/jwks/idp.json\"  # replace"), "{y}");
    }
}
