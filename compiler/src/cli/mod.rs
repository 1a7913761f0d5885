//! Command-line parsing and dispatch. Each subcommand lives in its own module and returns
//! `Result<Exit, Failure>`; a [`Failure`] is rendered here, once, by [`run`] (located diagnostics
//! one per line, then one `acepack COMMAND: ...` summary line on stderr).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

mod check;
mod compile;
mod diff;
mod envoy;
mod explain;
mod inspect;
mod limits;
mod portal;
mod spec;

/// Exit statuses of docs/cli.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: the catalog or bundle is invalid, or a breaking change.
    Invalid = 1,
    /// 2: usage or I/O error.
    Usage = 2,
}

#[derive(Debug, Parser)]
#[command(
    name = "acepack",
    version,
    about = "API packages and access control for Envoy: compile catalogs into bundles, inspect and explain them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compile a catalog and its OpenAPI documents into a bundle.
    Compile {
        /// The catalog (YAML or JSON).
        catalog: PathBuf,
        /// Where to write the bundle (replaced atomically; nothing is written on failure).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Also write the mapping/validation report as JSON.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
        /// The previously deployed bundle: fail on breaking changes (docs/catalog.md#breaking-changes).
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Accept breaking changes.
        #[arg(long)]
        allow_breaking: bool,
        /// With --ecds: path to acepack_filter.wasm as Envoy should load it.
        #[arg(long, requires = "ecds")]
        wasm: Option<PathBuf>,
        /// With --ecds: the wasm VM id.
        #[arg(long, default_value = "acepack")]
        vm_id: String,
        #[command(flatten)]
        ecds: envoy::EcdsArgs,
    },
    /// Validate a catalog and print the report.
    Check {
        /// The catalog (YAML or JSON).
        catalog: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Treat warnings as errors.
        #[arg(long)]
        strict: bool,
    },
    /// Print what a bundle contains.
    Inspect {
        /// The bundle.
        bundle: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the filter's decision engine offline on one request.
    Explain {
        /// The bundle.
        bundle: PathBuf,
        /// The request method, e.g. GET.
        method: String,
        /// The request URL: `http://host/path?query` or `/path?query`.
        url: String,
        /// A request header, `Name: value` (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// The client address (used for the anonymous application's limits).
        #[arg(long)]
        client_ip: Option<String>,
        /// A claim of a token jwt_authn verified, `NAME=VALUE` (repeatable; openid_connect
        /// strategies, docs/oidc.md); a JSON array value is a list claim.
        #[arg(long = "claim", value_name = "NAME=VALUE")]
        claims: Vec<String>,
        /// The cluster of the route Envoy chose (decides between APIs that share an operation).
        #[arg(long)]
        route_cluster: Option<String>,
    },
    /// Compare two bundles or catalogs; exit 1 on a breaking change (docs/catalog.md#breaking-changes).
    Diff {
        /// The old bundle or catalog.
        old: PathBuf,
        /// The new bundle or catalog.
        new: PathBuf,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
        /// Accept breaking changes (exit 0).
        #[arg(long)]
        allow_breaking: bool,
    },
    /// Print an Envoy `http_filters` entry with the bundle inlined.
    Envoy {
        /// The bundle.
        bundle: PathBuf,
        /// Path to acepack_filter.wasm as Envoy should load it.
        #[arg(long)]
        wasm: PathBuf,
        /// The wasm VM id; all workers of one Envoy share buckets through it.
        #[arg(long, default_value = "acepack")]
        vm_id: String,
        /// What to print: an Envoy filter entry, an Istio WasmPlugin or an Envoy Gateway
        /// EnvoyExtensionPolicy (the last two pass the bundle as JSON; --wasm is then the module's URL).
        #[arg(long, value_enum, default_value = "envoy")]
        format: envoy::FormatArg,
        #[command(flatten)]
        ecds: envoy::EcdsArgs,
        /// A local JWKS file for an openid_connect strategy, `STRATEGY=FILE` (repeatable;
        /// docs/oidc.md). Strategies without one use their `jwks_uri`.
        #[arg(long = "jwks", value_name = "STRATEGY=FILE")]
        jwks: Vec<String>,
    },
    /// Print or write a package's OpenAPI 3.1 specification (docs/portal.md).
    Spec {
        /// The catalog (YAML or JSON).
        catalog: PathBuf,
        /// The package's id.
        #[arg(long)]
        package: String,
        /// Write to this file (replaced atomically) instead of printing.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Generate the static developer portal, with an in-browser "try it" (docs/portal.md).
    Portal {
        /// The catalog (YAML or JSON).
        catalog: PathBuf,
        /// The folder to write the site into (replaced as a whole; never a file or an input).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
        /// Only this portal (default: every portal of the catalog).
        #[arg(long)]
        portal: Option<String>,
        /// The try-it engine: the folder holding acepack_browser.js and acepack_browser_bg.wasm
        /// (docs/portal.md#building-the-try-it-engine). Without it the pages have no try-it.
        #[arg(long)]
        engine: Option<PathBuf>,
    },
    /// Print the rate limit service's configuration for the catalog's buckets (global modes).
    Limits {
        /// The catalog (YAML or JSON).
        catalog: PathBuf,
        /// The service: `limitador` or `envoy-ratelimit` (envoyproxy/ratelimit).
        #[arg(long = "for", value_parser = ["limitador", "envoy-ratelimit"])]
        service: String,
    },
}

/// Why a command failed. Rendered once by [`run`]; the variant decides the exit status.
#[derive(Debug)]
pub enum Failure {
    /// Usage or I/O error (exit 2): what went wrong, naming the file.
    Usage(String),
    /// Invalid input or a refused change (exit 1): the located diagnostics (may be empty), then
    /// a one-line summary.
    Invalid {
        /// Every error found, each naming its place.
        diagnostics: Vec<acepack_compiler::Diagnostic>,
        /// What it means for the command, e.g. `catalog.yaml: 2 error(s); nothing written`.
        summary: String,
    },
}

impl Failure {
    /// An invalid-input failure without diagnostics of its own.
    pub fn invalid(summary: impl Into<String>) -> Self {
        Failure::Invalid {
            diagnostics: Vec::new(),
            summary: summary.into(),
        }
    }

    /// The failure of loading `file` as a catalog; `consequence` is appended to the summary.
    pub fn load(e: acepack_compiler::LoadError, file: &std::path::Path, consequence: &str) -> Self {
        match e {
            acepack_compiler::LoadError::Io(e) => Failure::Usage(e.to_string()),
            acepack_compiler::LoadError::Invalid(diagnostics) => Failure::Invalid {
                summary: format!("{}: {} error(s){consequence}", file.display(), diagnostics.len()),
                diagnostics,
            },
        }
    }

    /// Prints the failure to stderr and returns its exit status.
    fn render(self, command: &str) -> Exit {
        match self {
            Failure::Usage(message) => {
                eprintln!("acepack {command}: {message}");
                Exit::Usage
            }
            Failure::Invalid { diagnostics, summary } => {
                print_diagnostics(&diagnostics, false);
                eprintln!("acepack {command}: {summary}");
                Exit::Invalid
            }
        }
    }
}

/// Prints diagnostics to stderr, one per line (warnings shown as errors under `strict`).
fn print_diagnostics(diagnostics: &[acepack_compiler::Diagnostic], strict: bool) {
    for d in diagnostics {
        if strict && d.severity == acepack_compiler::Severity::Warning {
            eprintln!(
                "{}",
                acepack_compiler::Diagnostic {
                    severity: acepack_compiler::Severity::Error,
                    ..d.clone()
                }
            );
        } else {
            eprintln!("{d}");
        }
    }
}

/// Reads and decodes a bundle file: I/O errors exit 2, invalid bundles exit 1.
fn read_bundle(path: &std::path::Path) -> Result<(Vec<u8>, acepack_filter::bundle::Bundle), Failure> {
    let bytes = acepack_compiler::source::read_regular(path, acepack_compiler::source::MAX_INPUT_BYTES)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    match acepack_filter::bundle::Bundle::decode(&bytes) {
        Ok(b) => Ok((bytes, b)),
        Err(e) => Err(Failure::invalid(format!("{}: {e}", path.display()))),
    }
}

/// Runs the CLI and returns the exit status.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { Exit::Usage } else { Exit::Ok };
            let _ = e.print();
            return code as i32;
        }
    };
    let command = match &cli.command {
        Command::Compile { .. } => "compile",
        Command::Check { .. } => "check",
        Command::Inspect { .. } => "inspect",
        Command::Explain { .. } => "explain",
        Command::Diff { .. } => "diff",
        Command::Envoy { .. } => "envoy",
        Command::Spec { .. } => "spec",
        Command::Portal { .. } => "portal",
        Command::Limits { .. } => "limits",
    };
    let outcome = match cli.command {
        Command::Compile {
            catalog,
            output,
            report,
            strict,
            previous,
            allow_breaking,
            wasm,
            vm_id,
            ecds,
        } => {
            if ecds.ecds.is_some() && wasm.is_none() {
                // Checked before compiling: nothing is written.
                Err(Failure::Usage(
                    "--ecds needs --wasm PATH (acepack_filter.wasm as Envoy loads it)".into(),
                ))
            } else {
                match compile::run(
                    &catalog,
                    &output,
                    report.as_deref(),
                    strict,
                    previous.as_deref(),
                    allow_breaking,
                ) {
                    Ok(Exit::Ok) if ecds.ecds.is_some() => compile::publish(&output, wasm.as_deref(), &vm_id, &ecds),
                    other => other,
                }
            }
        }
        Command::Check { catalog, json, strict } => check::run(&catalog, json, strict),
        Command::Inspect { bundle, json } => inspect::run(&bundle, json),
        Command::Explain {
            bundle,
            method,
            url,
            headers,
            client_ip,
            claims,
            route_cluster,
        } => explain::run(
            &bundle,
            &method,
            &url,
            &headers,
            client_ip.as_deref(),
            &claims,
            route_cluster.as_deref(),
        ),
        Command::Diff {
            old,
            new,
            json,
            allow_breaking,
        } => diff::run(&old, &new, json, allow_breaking),
        Command::Envoy {
            bundle,
            wasm,
            vm_id,
            format,
            ecds,
            jwks,
        } => envoy::run(&bundle, &wasm, &vm_id, format, &ecds, &jwks),
        Command::Spec {
            catalog,
            package,
            output,
        } => spec::run(&catalog, &package, output.as_deref()),
        Command::Portal {
            catalog,
            output,
            portal,
            engine,
        } => portal::run(&catalog, &output, portal.as_deref(), engine.as_deref()),
        Command::Limits { catalog, service } => limits::run(
            &catalog,
            if service == "limitador" {
                acepack_compiler::limits::Target::Limitador
            } else {
                acepack_compiler::limits::Target::EnvoyRatelimit
            },
        ),
    };
    match outcome {
        Ok(exit) => exit as i32,
        Err(failure) => failure.render(command) as i32,
    }
}
