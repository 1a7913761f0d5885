//! `acepack envoy BUNDLE --wasm PATH [--vm-id ID] [--format envoy|istio|envoy-gateway]
//! [--jwks STRATEGY=FILE]...`: the configuration snippet that loads acepack with the bundle inlined
//! — `jwt_authn` first when the bundle has openid_connect strategies (docs/oidc.md); with
//! `--ecds DIR`, the static filter entry of a live-update setup plus the ECDS resource file,
//! replaced atomically and, with `--admin URL`, confirmed (docs/envoy.md, "Live updates").

use std::path::{Path, PathBuf};
use std::time::Duration;

use acepack_compiler::ecds::{self, Admin, Confirm};
use acepack_compiler::envoy_filter::{self, Format, PluginConfiguration};
use acepack_compiler::envoy_jwt::{jwt_authn_yaml, Provider};
use acepack_filter::bundle::{Bundle, StrategyKind};
use sha2::Digest as _;

use super::{read_bundle, Exit, Failure};

/// The live-update options shared by `acepack envoy` and `acepack compile`.
#[derive(Debug, Clone, clap::Args)]
pub struct EcdsArgs {
    /// Live updates: write the filter configuration as an ECDS resource file DIR/NAME.json
    /// (atomically) and print the static filter entry that reads it.
    #[arg(long, value_name = "DIR")]
    pub ecds: Option<PathBuf>,
    /// With --ecds: Envoy's admin interface (http://HOST:PORT); the new version is confirmed there
    /// and renamed in again if Envoy has not applied it.
    #[arg(long, value_name = "URL", requires = "ecds")]
    pub admin: Option<String>,
    /// With --admin: how long to wait for Envoy to apply the new version, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, requires = "admin")]
    pub wait: f64,
    /// The filter's name (and ECDS resource name).
    #[arg(long, default_value = "acepack")]
    pub name: String,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// An Envoy `http_filters` entry.
    Envoy,
    /// An Istio WasmPlugin (the bundle in a JSON pluginConfig).
    Istio,
    /// An Envoy Gateway EnvoyExtensionPolicy (the bundle in a JSON config).
    EnvoyGateway,
}

/// Prints the requested snippet; with `--ecds`, also writes (and confirms) the resource.
pub fn run(
    bundle: &Path,
    wasm: &Path,
    vm_id: &str,
    format: FormatArg,
    ecds: &EcdsArgs,
    jwks: &[String],
) -> Result<Exit, Failure> {
    let (bytes, decoded) = read_bundle(bundle)?;
    let providers = providers(&decoded, jwks)?;
    let format = match format {
        FormatArg::Envoy => Format::Envoy,
        FormatArg::Istio => Format::Istio,
        FormatArg::EnvoyGateway => Format::EnvoyGateway,
    };
    if ecds.ecds.is_some() && format != Format::Envoy {
        return Err(Failure::Usage(
            "--ecds writes an Envoy resource; it cannot be combined with --format istio or envoy-gateway".into(),
        ));
    }
    let wasm_text = wasm.display().to_string();
    match format {
        Format::Istio => print!("{}", envoy_filter::istio_yaml(&bytes, &wasm_text, &ecds.name)),
        Format::EnvoyGateway => {
            let sha = match std::fs::read(wasm) {
                Ok(code) => sha2::Sha256::digest(&code).iter().map(|b| format!("{b:02x}")).collect(),
                Err(_) => {
                    eprintln!(
                        "acepack envoy: {wasm_text}: not readable here; the policy's sha256 is left as <SHA256 OF acepack_filter.wasm>"
                    );
                    "<SHA256 OF acepack_filter.wasm>".to_owned()
                }
            };
            print!(
                "{}",
                envoy_filter::envoy_gateway_yaml(&bytes, &wasm_text, &sha, &ecds.name)
            );
        }
        Format::Envoy => {
            // jwt_authn verifies tokens before acepack reads their claims: it goes first.
            if let Some(jwt) = jwt_authn_yaml(&providers) {
                print!("{jwt}");
            }
            return match &ecds.ecds {
                None => {
                    print!("{}", envoy_filter::filter_yaml(&bytes, &wasm_text, vm_id, &ecds.name));
                    Ok(Exit::Ok)
                }
                Some(dir) => publish(&bytes, &wasm_text, vm_id, dir, ecds, "acepack envoy"),
            };
        }
    }
    Ok(Exit::Ok)
}

/// Prints the ECDS filter entry and publishes the resource for `bundle` (shared with `compile`).
/// `command` prefixes the success report on stderr.
pub fn publish(
    bundle: &[u8],
    wasm: &str,
    vm_id: &str,
    dir: &Path,
    args: &EcdsArgs,
    command: &str,
) -> Result<Exit, Failure> {
    ecds::check_name(&args.name).map_err(|e| Failure::Usage(e.to_string()))?;
    let admin = args
        .admin
        .as_deref()
        .map(Admin::parse)
        .transpose()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    if !(args.wait.is_finite() && args.wait > 0.0 && args.wait <= 3600.0) {
        return Err(Failure::Usage(format!(
            "--wait {}: give seconds between 0 and 3600",
            args.wait
        )));
    }
    let wait = Duration::from_secs_f64(args.wait);
    let typed = envoy_filter::wasm_config(bundle, PluginConfiguration::Bytes, wasm, vm_id, &args.name);
    let resource = ecds::resource(&args.name, &typed);
    let confirm = admin.as_ref().map(|admin| Confirm {
        admin,
        wait,
        retry_every: Duration::from_millis(500).min(wait / 4),
    });
    print!("{}", ecds::filter_entry_yaml(dir, &args.name));
    match ecds::publish(dir, &args.name, &resource, confirm.as_ref()) {
        Ok(p) => {
            let path = ecds::resource_path(dir, &args.name);
            if p.confirmed {
                eprintln!(
                    "{command}: wrote {} (version {}); Envoy applied it after {} ms ({} rename(s))",
                    path.display(),
                    p.version,
                    p.elapsed.as_millis(),
                    p.writes
                );
            } else {
                eprintln!(
                    "{command}: wrote {} (version {}); not confirmed (no --admin)",
                    path.display(),
                    p.version
                );
            }
            Ok(Exit::Ok)
        }
        Err(e @ ecds::EcdsError::Rejected { .. }) => Err(Failure::invalid(e.to_string())),
        Err(e) => Err(Failure::Usage(e.to_string())),
    }
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
