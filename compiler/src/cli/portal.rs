//! `acepack portal CATALOG -o DIR [--portal NAME] [--engine DIR]`: the static developer portal
//! (docs/portal.md), written atomically as a whole folder.

use std::path::Path;

use acepack_compiler::portal::{self, PortalError};

use super::spec::{failure, input_files, load_inputs};
use super::{Exit, Failure};

/// Runs `acepack portal`.
pub fn run(catalog: &Path, output: &Path, name: Option<&str>, engine: Option<&Path>) -> Result<Exit, Failure> {
    let inputs = load_inputs(catalog)?;
    let site = portal::build(&inputs, name, engine).map_err(|e| match e {
        PortalError::Spec(e) => failure(e),
        PortalError::Bundle(diagnostics) => Failure::Invalid {
            summary: format!("{}: {} error(s); nothing written", catalog.display(), diagnostics.len()),
            diagnostics,
        },
        e @ PortalError::Engine { .. } => Failure::Usage(e.to_string()),
        e => Failure::invalid(format!("{e}; nothing written")),
    })?;
    let mut inputs_read = input_files(catalog, &inputs);
    if let Some(dir) = engine {
        inputs_read.extend(portal::ENGINE_FILES.iter().map(|f| dir.join(f)));
    }
    portal::write_site(output, &site, &inputs_read).map_err(|e| Failure::Usage(e.to_string()))?;
    let pages = site.keys().filter(|k| k.ends_with(".html")).count();
    println!(
        "portal written to {} ({pages} pages{}); open {}",
        output.display(),
        if engine.is_some() {
            ", with try-it"
        } else {
            ", without try-it: no --engine"
        },
        output.join("index.html").display()
    );
    Ok(Exit::Ok)
}
