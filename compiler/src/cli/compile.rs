//! `acepack compile CATALOG -o BUNDLE [--report R] [--strict] [--previous OLD] [--allow-breaking]`.

use std::path::Path;

use acepack_compiler::bundle::build;
use acepack_compiler::load_model;
use acepack_compiler::output::{check_target, write_atomic};

use super::{diff, print_diagnostics, Exit, Failure};

/// Compiles the catalog into a bundle; writes nothing unless everything succeeds.
pub fn run(
    catalog: &Path,
    output: &Path,
    report: Option<&Path>,
    strict: bool,
    previous: Option<&Path>,
    allow_breaking: bool,
) -> Result<Exit, Failure> {
    let model = load_model(catalog).map_err(|e| Failure::load(e, catalog, "; nothing written"))?;
    print_diagnostics(&model.warnings, strict);
    if strict && !model.warnings.is_empty() {
        return Err(Failure::invalid(format!(
            "{} warning(s) are errors under --strict; nothing written",
            model.warnings.len()
        )));
    }
    let bundle = build(&model).map_err(|diagnostics| Failure::Invalid {
        summary: format!("{}: {} error(s); nothing written", catalog.display(), diagnostics.len()),
        diagnostics,
    })?;
    let bytes = bundle
        .encode()
        .map_err(|e| Failure::invalid(format!("{e}; nothing written")))?;
    // Safety net: the compiler checks every limit of the filter with a located error, but the
    // bytes are also loaded by the filter's own code, so no bundle it refuses is ever written.
    if let Err(e) = acepack_filter::engine::Engine::load(&bytes) {
        return Err(Failure::invalid(format!(
            "{}: the filter would refuse this bundle ({e}); nothing written",
            catalog.display()
        )));
    }
    // Outputs are regular files and never one of the inputs (nor each other).
    let mut inputs = model.inputs.clone();
    inputs.extend(previous.map(Path::to_path_buf));
    check_target(output, &inputs).map_err(|e| Failure::Usage(format!("{e}; nothing written")))?;
    if let Some(report_path) = report {
        if report_path == output {
            return Err(Failure::Usage(format!(
                "{}: is both the bundle (-o) and the report (--report); name two files; nothing written",
                output.display()
            )));
        }
        inputs.push(output.to_path_buf());
        check_target(report_path, &inputs).map_err(|e| Failure::Usage(format!("{e}; nothing written")))?;
    }
    if let Some(old) = previous {
        let old_bundle = diff::load_side(old)?;
        let changes = diff::compare(&old_bundle, &bundle);
        if !changes.breaking.is_empty() {
            for b in &changes.breaking {
                eprintln!("{}breaking: {b}", if allow_breaking { "warning: " } else { "" });
            }
            if !allow_breaking {
                return Err(Failure::invalid(format!(
                    "breaking changes against {}; nothing written (use --allow-breaking to accept)",
                    old.display()
                )));
            }
        }
    }
    let report_text = match report {
        Some(_) => Some(
            super::check::json_report(&catalog.display().to_string(), &model, strict)
                .map_err(|e| Failure::Usage(format!("cannot render the report: {e}")))?,
        ),
        None => None,
    };
    if let (Some(report_path), Some(text)) = (report, report_text) {
        write_atomic(report_path, text.as_bytes())
            .map_err(|e| Failure::Usage(format!("{}: {e}", report_path.display())))?;
    }
    write_atomic(output, &bytes).map_err(|e| Failure::Usage(format!("{}: {e}", output.display())))?;
    eprintln!(
        "acepack compile: wrote {} ({} bytes: {} operations, {} packages, {} applications, {} credentials)",
        output.display(),
        bytes.len(),
        bundle.operations.len(),
        bundle.packages.len(),
        bundle.applications.len(),
        bundle.credentials.len()
    );
    Ok(Exit::Ok)
}
