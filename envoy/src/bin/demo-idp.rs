//! `demo-idp DIR ISSUER AUDIENCE CLIENT_ID SCOPE`: a stand-in identity provider for scripts/demo.
//! Generates a P-256 key, writes its JWKS to `DIR/jwks.json` (Envoy's `jwt_authn` loads it as a
//! local JWKS), and writes two tokens for CLIENT_ID, valid for an hour: `DIR/token.jwt` with
//! SCOPE and `DIR/token-noscope.jwt` with only `openid`. Not an identity provider: a demo prop.

use std::path::PathBuf;
use std::process::ExitCode;

use acepack_envoy::jwt::TestIssuer;
use serde_json::json;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, issuer, audience, client, scope] = args.as_slice() else {
        eprintln!("usage: demo-idp DIR ISSUER AUDIENCE CLIENT_ID SCOPE");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let idp = TestIssuer::generate(issuer, "demo-key");
    let token = |scope: &str| idp.token(audience, 3600, json!({ "client_id": client, "scope": scope }));
    let files = [
        ("jwks.json", idp.jwks()),
        ("token.jwt", token(scope)),
        ("token-noscope.jwt", token("openid")),
    ];
    for (name, text) in files {
        if let Err(e) = std::fs::write(dir.join(name), text) {
            eprintln!("demo-idp: {}: {e}", dir.join(name).display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
