//! A throwaway OpenID Connect issuer for tests and the demo: an ES256 key pair generated at start,
//! its public key as a JWKS (for `jwt_authn`'s `local_jwks`), and tokens signed with it.
//!
//! Nothing here verifies tokens: in the tests Envoy's `jwt_authn` does, as in production.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use serde_json::{json, Value};

/// A key pair and the issuer name tokens carry.
pub struct TestIssuer {
    /// The `iss` of the tokens it signs.
    pub issuer: String,
    /// The key id (`kid`) in token headers and in the JWKS.
    pub kid: String,
    key: EncodingKey,
    jwk: Value,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TestIssuer {
    /// A fresh P-256 key pair for `issuer`.
    ///
    /// # Panics
    /// When the key cannot be encoded (it always can).
    pub fn generate(issuer: &str, kid: &str) -> TestIssuer {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap_or_else(|e| panic!("encode the test key: {e}"));
        let key = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap_or_else(|e| panic!("load the test key: {e}"));
        let mut jwk: Value = serde_json::from_str(&secret.public_key().to_jwk_string())
            .unwrap_or_else(|e| panic!("the public JWK is JSON: {e}"));
        if let Some(o) = jwk.as_object_mut() {
            o.insert("kid".into(), json!(kid));
            o.insert("alg".into(), json!("ES256"));
            o.insert("use".into(), json!("sig"));
        }
        TestIssuer {
            issuer: issuer.to_owned(),
            kid: kid.to_owned(),
            key,
            jwk,
        }
    }

    /// The JWKS document holding the public key.
    pub fn jwks(&self) -> String {
        json!({ "keys": [self.jwk] }).to_string()
    }

    /// A token with `iss`, `aud`, `iat`, `exp` (`expires_in` seconds from now; negative: already
    /// expired) and the given extra claims.
    ///
    /// # Panics
    /// When signing fails (it does not with a generated key).
    pub fn token(&self, audience: &str, expires_in: i64, extra: Value) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let mut claims = json!({
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + expires_in,
        });
        if let (Some(c), Some(e)) = (claims.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.key).unwrap_or_else(|e| panic!("sign a test token: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_names_the_key_and_tokens_have_three_parts() {
        let i = TestIssuer::generate("https://idp.test/", "k1");
        let jwks: Value = serde_json::from_str(&i.jwks()).unwrap();
        assert_eq!(jwks["keys"][0]["kid"], "k1");
        assert_eq!(jwks["keys"][0]["crv"], "P-256");
        let t = i.token("acepack", 60, json!({"client_id": "c1"}));
        assert_eq!(t.split('.').count(), 3);
    }
}
