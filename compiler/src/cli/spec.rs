//! `acepack spec CATALOG --package ID [-o FILE]`: the package's OpenAPI 3.1 specification
//! (docs/portal.md#acepack-spec), printed or written atomically.

use std::path::Path;

use acepack_compiler::bundle::write_atomic;
use acepack_compiler::spec::{self, Inputs, SpecError};
use acepack_compiler::LoadError;

use super::{print_diagnostics, Exit};

/// Loads the catalog for `spec`/`portal`, printing errors and warnings.
pub(super) fn load_inputs(command: &str, catalog: &Path) -> Result<Inputs, Exit> {
    match spec::load(catalog) {
        Ok(i) => {
            print_diagnostics(&i.model.warnings, false);
            Ok(i)
        }
        Err(LoadError::Io(e)) => {
            eprintln!("acepack {command}: {e}");
            Err(Exit::Usage)
        }
        Err(LoadError::Invalid(errors)) => {
            print_diagnostics(&errors, false);
            eprintln!("acepack {command}: {}: {} error(s); nothing written", catalog.display(), errors.len());
            Err(Exit::Invalid)
        }
    }
}

/// Prints a spec error; returns the exit status it stands for.
pub(super) fn report(command: &str, e: SpecError) -> Exit {
    match e {
        SpecError::Source(e) => {
            eprintln!("acepack {command}: {e}");
            Exit::Usage
        }
        SpecError::Invalid(errors) => {
            print_diagnostics(&errors, false);
            eprintln!("acepack {command}: {} error(s); nothing written", errors.len());
            Exit::Invalid
        }
        e @ SpecError::UnknownPackage { .. } => {
            eprintln!("acepack {command}: {e}");
            Exit::Invalid
        }
    }
}

/// Refuses an output path that is not a regular file (when it exists) or that is one of the inputs.
pub(super) fn check_output(command: &str, output: &Path, inputs: &Inputs, catalog: &Path) -> Result<(), Exit> {
    if let Ok(meta) = std::fs::metadata(output) {
        if !meta.is_file() {
            eprintln!("acepack {command}: {}: exists and is not a regular file; refusing to replace it", output.display());
            return Err(Exit::Usage);
        }
    }
    let Ok(out) = std::fs::canonicalize(output) else { return Ok(()) };
    let mut input_files = vec![catalog.to_path_buf()];
    input_files.extend(inputs.model.apis.iter().filter_map(|a| a.spec.as_ref()).map(|s| inputs.dir.join(s)));
    if input_files.iter().any(|i| std::fs::canonicalize(i).is_ok_and(|i| i == out)) {
        eprintln!("acepack {command}: {}: is one of the command's inputs; refusing to overwrite it", output.display());
        return Err(Exit::Usage);
    }
    Ok(())
}

/// Runs `acepack spec`.
pub fn run(catalog: &Path, package: &str, output: Option<&Path>) -> Exit {
    let inputs = match load_inputs("spec", catalog) {
        Ok(i) => i,
        Err(exit) => return exit,
    };
    let doc = match spec::package_spec(&inputs, package) {
        Ok(d) => {
            print_diagnostics(&d.warnings, false);
            d.document
        }
        Err(e) => return report("spec", e),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    match output {
        None => {
            print!("{text}");
            Exit::Ok
        }
        Some(out) => {
            if let Err(exit) = check_output("spec", out, &inputs, catalog) {
                return exit;
            }
            match write_atomic(out, text.as_bytes()) {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    eprintln!("acepack spec: {}: {e}", out.display());
                    Exit::Usage
                }
            }
        }
    }
}
