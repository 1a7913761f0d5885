//! `acepack limits CATALOG --for limitador|envoy-ratelimit`: prints the rate limit service's
//! configuration for the catalog's buckets (docs/global-rate-limits.md).

use std::path::Path;

use acepack_compiler::bundle::build;
use acepack_compiler::limits::{render, Target};
use acepack_compiler::load_model;
use acepack_compiler::model::DEFAULT_GLOBAL_DOMAIN;

use super::{print_diagnostics, Exit, Failure};

/// Prints the configuration to stdout. The domain is the catalog's `enforcement.global.domain`
/// (default `acepack`).
pub fn run(catalog: &Path, target: Target) -> Result<Exit, Failure> {
    let model = load_model(catalog).map_err(|e| Failure::load(e, catalog, ""))?;
    print_diagnostics(&model.warnings, false);
    let bundle = build(&model).map_err(|diagnostics| Failure::Invalid {
        summary: format!("{}: {} error(s)", catalog.display(), diagnostics.len()),
        diagnostics,
    })?;
    let domain = model
        .enforcement
        .global
        .as_ref()
        .map_or(DEFAULT_GLOBAL_DOMAIN, |g| g.domain.as_str());
    print!("{}", render(&bundle, domain, target));
    Ok(Exit::Ok)
}
