//! `acepack spec CATALOG --package ID [-o FILE]`: the package's OpenAPI 3.1 specification
//! (docs/portal.md#acepack-spec), printed or written atomically.

use std::path::{Path, PathBuf};

use acepack_compiler::output::{check_target, write_atomic};
use acepack_compiler::spec::{self, Inputs, SpecError};

use super::{print_diagnostics, Exit, Failure};

/// Loads the catalog for `spec`/`portal`, printing its warnings.
pub(super) fn load_inputs(catalog: &Path) -> Result<Inputs, Failure> {
    let inputs = spec::load(catalog).map_err(|e| Failure::load(e, catalog, "; nothing written"))?;
    print_diagnostics(&inputs.model.warnings, false);
    Ok(inputs)
}

/// The failure a spec error stands for.
pub(super) fn failure(e: SpecError) -> Failure {
    match e {
        SpecError::Source(e) => Failure::Usage(e.to_string()),
        SpecError::Invalid(diagnostics) => Failure::Invalid {
            summary: format!("{} error(s); nothing written", diagnostics.len()),
            diagnostics,
        },
        e @ SpecError::UnknownPackage { .. } => Failure::invalid(e.to_string()),
    }
}

/// Every file the command reads: the catalog and the specs it names.
pub(super) fn input_files(catalog: &Path, inputs: &Inputs) -> Vec<PathBuf> {
    let mut files = vec![catalog.to_path_buf()];
    files.extend(
        inputs
            .model
            .apis
            .iter()
            .filter_map(|a| a.spec.as_ref())
            .map(|s| inputs.dir.join(s)),
    );
    files
}

/// Runs `acepack spec`.
pub fn run(catalog: &Path, package: &str, output: Option<&Path>) -> Result<Exit, Failure> {
    let inputs = load_inputs(catalog)?;
    let spec = spec::package_spec(&inputs, package).map_err(failure)?;
    print_diagnostics(&spec.warnings, false);
    let mut text = serde_json::to_string_pretty(&spec.document).map_err(|e| Failure::Usage(e.to_string()))?;
    text.push('\n');
    match output {
        None => print!("{text}"),
        Some(out) => {
            check_target(out, &input_files(catalog, &inputs)).map_err(|e| Failure::Usage(e.to_string()))?;
            write_atomic(out, text.as_bytes()).map_err(|e| Failure::Usage(format!("{}: {e}", out.display())))?;
        }
    }
    Ok(Exit::Ok)
}
