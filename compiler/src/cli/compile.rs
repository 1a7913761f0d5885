//! `acepack compile CATALOG -o BUNDLE [--report R] [--strict] [--previous OLD] [--allow-breaking]
//! [--ecds DIR --wasm PATH [--admin URL]]`.

use std::path::Path;

use acepack_compiler::bundle::{build, write_atomic};
use acepack_compiler::{load_model, LoadError};

use super::{diff, print_diagnostics, Exit};

/// Compiles the catalog into a bundle; writes nothing unless everything succeeds.
pub fn run(
    catalog: &Path,
    output: &Path,
    report: Option<&Path>,
    strict: bool,
    previous: Option<&Path>,
    allow_breaking: bool,
) -> Exit {
    let model = match load_model(catalog) {
        Ok(m) => m,
        Err(LoadError::Io(e)) => {
            eprintln!("acepack compile: {e}");
            return Exit::Usage;
        }
        Err(LoadError::Invalid(errors)) => {
            print_diagnostics(&errors, false);
            eprintln!(
                "acepack compile: {}: {} error(s); nothing written",
                catalog.display(),
                errors.len()
            );
            return Exit::Invalid;
        }
    };
    print_diagnostics(&model.warnings, strict);
    if strict && !model.warnings.is_empty() {
        eprintln!(
            "acepack compile: {} warning(s) are errors under --strict; nothing written",
            model.warnings.len()
        );
        return Exit::Invalid;
    }
    let bundle = match build(&model) {
        Ok(b) => b,
        Err(errors) => {
            print_diagnostics(&errors, false);
            eprintln!(
                "acepack compile: {}: {} error(s); nothing written",
                catalog.display(),
                errors.len()
            );
            return Exit::Invalid;
        }
    };
    let bytes = match bundle.encode() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("acepack compile: {e}");
            return Exit::Invalid;
        }
    };
    if let Some(old) = previous {
        let old_bundle = match diff::load_side(old) {
            Ok(b) => b,
            Err(exit) => return exit,
        };
        let changes = diff::compare(&old_bundle, &bundle);
        if !changes.breaking.is_empty() {
            for b in &changes.breaking {
                eprintln!("{}breaking: {b}", if allow_breaking { "warning: " } else { "" });
            }
            if !allow_breaking {
                eprintln!(
                    "acepack compile: breaking changes against {}; nothing written (use --allow-breaking to accept)",
                    old.display()
                );
                return Exit::Invalid;
            }
        }
    }
    if let Some(report_path) = report {
        let text = match super::check::json_report(&catalog.display().to_string(), &model, strict) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("acepack compile: cannot render the report: {e}");
                return Exit::Usage;
            }
        };
        if let Err(e) = write_atomic(report_path, text.as_bytes()) {
            eprintln!("acepack compile: {}: {e}", report_path.display());
            return Exit::Usage;
        }
    }
    if let Err(e) = write_atomic(output, &bytes) {
        eprintln!("acepack compile: {}: {e}", output.display());
        return Exit::Usage;
    }
    eprintln!(
        "acepack compile: wrote {} ({} bytes: {} operations, {} packages, {} applications, {} credentials)",
        output.display(),
        bytes.len(),
        bundle.operations.len(),
        bundle.packages.len(),
        bundle.applications.len(),
        bundle.credentials.len()
    );
    Exit::Ok
}

/// `--ecds`: after a successful compile, publishes the new bundle as the ECDS resource (as
/// `acepack envoy BUNDLE --ecds DIR` does).
pub fn publish(bundle: &Path, wasm: Option<&Path>, vm_id: &str, ecds: &super::envoy::EcdsArgs) -> Exit {
    let (Some(dir), Some(wasm)) = (&ecds.ecds, wasm) else {
        eprintln!("acepack compile: --ecds needs --wasm PATH (acepack_filter.wasm as Envoy loads it)");
        return Exit::Usage;
    };
    let bytes = match std::fs::read(bundle) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("acepack compile: {}: {e}", bundle.display());
            return Exit::Usage;
        }
    };
    super::envoy::publish(&bytes, &wasm.display().to_string(), vm_id, dir, ecds, "acepack compile")
}
