//! `acepack envoy BUNDLE --wasm PATH [--vm-id ID] [--jwks STRATEGY=FILE]...`: the Envoy
//! `http_filters` entries for a bundle — `jwt_authn` first when the bundle has openid_connect
//! strategies (docs/oidc.md), then the acepack wasm filter with the bundle inlined as a base64
//! `google.protobuf.BytesValue`.

use std::path::Path;

use acepack_compiler::envoy_filter::filter_yaml;
use acepack_compiler::envoy_jwt::{jwt_authn_yaml, Provider};
use acepack_filter::bundle::{Bundle, StrategyKind};

use super::{read_bundle, Exit, Failure};

/// Prints the filter entries (YAML) to stdout.
pub fn run(bundle: &Path, wasm: &Path, vm_id: &str, jwks: &[String]) -> Result<Exit, Failure> {
    let (bytes, decoded) = read_bundle(bundle)?;
    let providers = providers(&decoded, jwks)?;
    if let Some(jwt) = jwt_authn_yaml(&providers) {
        print!("{jwt}");
    }
    print!("{}", filter_yaml(&bytes, &wasm.display().to_string(), vm_id, "acepack"));
    Ok(Exit::Ok)
}

/// One `jwt_authn` provider per openid_connect strategy; `--jwks` must name one of them.
fn providers(bundle: &Bundle, jwks: &[String]) -> Result<Vec<Provider>, Failure> {
    let mut files: Vec<(&str, &str)> = Vec::new();
    for j in jwks {
        match j.split_once('=') {
            Some((name, file)) if !name.is_empty() && !file.is_empty() => files.push((name, file)),
            _ => return Err(Failure::Usage(format!("--jwks {j:?}: expected STRATEGY=FILE"))),
        }
    }
    let mut out = Vec::new();
    for s in &bundle.strategies {
        if let StrategyKind::OpenidConnect(o) = &s.kind {
            out.push(Provider {
                name: s.name.clone(),
                issuer: o.issuer.clone(),
                audiences: o.audiences.clone(),
                jwks_uri: (!o.jwks_uri.is_empty()).then(|| o.jwks_uri.clone()),
                local_jwks: files.iter().find(|(n, _)| *n == s.name).map(|(_, f)| (*f).to_owned()),
            });
        }
    }
    if let Some((name, _)) = files.iter().find(|(n, _)| !out.iter().any(|p| p.name == *n)) {
        let known: Vec<&str> = out.iter().map(|p| p.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "--jwks {name}=...: the bundle has no openid_connect strategy \"{name}\" (it has: [{}])",
            known.join(", ")
        )));
    }
    Ok(out)
}
