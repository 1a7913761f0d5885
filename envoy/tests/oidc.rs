//! openid_connect in a real Envoy (docs/oidc.md): Envoy's `jwt_authn` verifies tokens signed by a
//! key generated here (local JWKS), acepack identifies the application by the verified
//! `client_id` claim read from dynamic metadata. The filter entries are the ones `acepack envoy`
//! prints for the bundle: `jwt_authn` first, then acepack.

use acepack_envoy::artifacts::{self, run_cli, Artifacts};
use acepack_envoy::config::{clusters_in_routes, Bootstrap};
use acepack_envoy::expect::denied;
use acepack_envoy::jwt::TestIssuer;
use acepack_envoy::scenario::echoed;
use acepack_envoy::{EchoUpstream, Envoy, Request, WorkDir};
use serde_json::json;

const ISSUER: &str = "https://idp.acepack.test/";
const AUDIENCE: &str = "acepack-e2e";

struct Oidc {
    envoy: Envoy,
    _upstream: EchoUpstream,
    issuer: TestIssuer,
}

impl Oidc {
    fn start(name: &str) -> Oidc {
        let a = Artifacts::locate();
        let dir = WorkDir::new(name);
        let data = artifacts::test_data();
        let bundle = dir.join("bundle.acepack");
        artifacts::compile_catalog(&data.join("oidc.yaml"), &bundle);
        let issuer = TestIssuer::generate(ISSUER, "e2e-key");
        let jwks = dir.join("jwks.json");
        std::fs::write(&jwks, issuer.jwks()).unwrap();
        let out = run_cli([
            "envoy".as_ref(),
            bundle.as_os_str(),
            "--wasm".as_ref(),
            a.wasm.as_os_str(),
            "--vm-id".as_ref(),
            "oidc-vm".as_ref(),
            "--jwks".as_ref(),
            format!("idp={}", jwks.display()).as_ref(),
        ]);
        assert_eq!(out.code, 0, "acepack envoy: {}", out.stderr);
        let jwt_at = out
            .stdout
            .find("envoy.filters.http.jwt_authn")
            .expect("a jwt_authn entry");
        let wasm_at = out.stdout.find("envoy.filters.http.wasm").expect("the acepack entry");
        assert!(jwt_at < wasm_at, "jwt_authn must come before acepack:\n{}", out.stdout);
        let upstream = EchoUpstream::start();
        let routes = std::fs::read_to_string(data.join("routes.yaml")).unwrap();
        let mut b = Bootstrap::new()
            .with_http_filter_yaml(&out.stdout)
            .with_routes(&routes)
            .with_access_log(dir.join("access.log"));
        for c in clusters_in_routes(&routes) {
            b = b.with_cluster(&c, upstream.addr());
        }
        let envoy = Envoy::must_start(&dir, &b.to_yaml());
        Oidc {
            envoy,
            _upstream: upstream,
            issuer,
        }
    }

    fn token(&self, client: &str, scope: &str) -> String {
        self.issuer
            .token(AUDIENCE, 300, json!({ "client_id": client, "scope": scope }))
    }

    fn get(&self, token: Option<&str>) -> acepack_envoy::Response {
        let mut r = Request::get("/v1/flights");
        if let Some(t) = token {
            r = r.header("Authorization", &format!("Bearer {t}"));
        }
        self.envoy.send(&r)
    }
}

#[test]
fn a_registered_client_with_a_valid_token_is_identified_by_its_client_id() {
    let o = Oidc::start("oidc-allow");
    let r = o.get(Some(&o.token("client-abc", "openid flights:read")));
    assert_eq!(r.status, 200, "{}", r.summary());
    let e = echoed(&r);
    assert_eq!(e.header("x-ace-application"), Some("oidc-app"));
    assert_eq!(e.header("x-ace-package"), Some("flights-pkg"));
    // jwt_authn removed the token before forwarding (forward: false).
    assert_eq!(e.header("authorization"), None);
    // Scopes may also come as an `scp` list.
    let t = o.issuer.token(
        AUDIENCE,
        300,
        json!({ "client_id": "client-abc", "scp": ["flights:read", "x"] }),
    );
    let r = o.get(Some(&t));
    assert_eq!(r.status, 200, "{}", r.summary());
    // Key auth still works beside it.
    let r = o.envoy.send(&Request::get("/v1/flights").header("apikey", "k-keyed"));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(echoed(&r).header("x-ace-application"), Some("keyed"));
}

#[test]
fn no_token_is_unauthenticated_with_both_challenges() {
    let o = Oidc::start("oidc-none");
    let r = o.get(None);
    denied(&r, 401, "unauthenticated");
    let challenges: Vec<&str> = r.header_all("www-authenticate");
    assert!(challenges.contains(&"Bearer realm=\"acepack\""), "{}", r.summary());
    assert!(challenges.contains(&"Key realm=\"acepack\""), "{}", r.summary());
}

#[test]
fn tokens_jwt_authn_rejects_never_reach_acepack_and_never_pass() {
    let o = Oidc::start("oidc-rejected");
    let expired = o.issuer.token(
        AUDIENCE,
        -600,
        json!({ "client_id": "client-abc", "scope": "flights:read" }),
    );
    let wrong_audience = o.issuer.token(
        "someone-else",
        300,
        json!({ "client_id": "client-abc", "scope": "flights:read" }),
    );
    let other = TestIssuer::generate("https://evil.test/", "e2e-key");
    let wrong_issuer = other.token(
        AUDIENCE,
        300,
        json!({ "client_id": "client-abc", "scope": "flights:read" }),
    );
    // Signed by another key but claiming the right issuer.
    let forged = TestIssuer::generate(ISSUER, "e2e-key").token(
        AUDIENCE,
        300,
        json!({ "client_id": "client-abc", "scope": "flights:read" }),
    );
    // jwt_authn's own statuses: 403 for an audience it does not accept, else 401.
    for (what, t, status) in [
        ("expired", expired, 401),
        ("wrong audience", wrong_audience, 403),
        ("wrong issuer", wrong_issuer, 401),
        ("forged signature", forged, 401),
        ("not a JWT", "abc.def.ghi".to_owned(), 401),
    ] {
        let r = o.get(Some(&t));
        assert_eq!(
            r.status,
            status,
            "{what}: expected jwt_authn's refusal, got {}",
            r.summary()
        );
        assert!(
            r.header("x-echo").is_none(),
            "{what}: a rejected token reached the upstream"
        );
        // jwt_authn's own answer (plain text, its message), not acepack's JSON.
        assert!(
            !r.text().contains("\"reason\""),
            "{what}: acepack answered, so jwt_authn let the token through: {}",
            r.summary()
        );
    }
}

#[test]
fn unknown_clients_missing_scopes_and_pending_registrations_get_acepack_answers() {
    let o = Oidc::start("oidc-denials");
    let r = o.get(Some(&o.token("client-nobody", "flights:read")));
    denied(&r, 403, "invalid_credential");
    let r = o.get(Some(&o.token("client-abc", "openid profile")));
    denied(&r, 403, "insufficient_scope");
    // A verified token without the identifying claim.
    let t = o.issuer.token(AUDIENCE, 300, json!({ "scope": "flights:read" }));
    denied(&o.get(Some(&t)), 403, "invalid_credential");
    let r = o.get(Some(&o.token("client-waiting", "flights:read")));
    denied(&r, 403, "registration_pending");
    // A client id sent as a header is not a verified claim: no identity, so 401.
    let r = o
        .envoy
        .send(&Request::get("/v1/flights").header("client_id", "client-abc"));
    denied(&r, 401, "unauthenticated");
}
