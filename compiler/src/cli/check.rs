//! `acepack check CATALOG [--json] [--strict]`.

use std::path::Path;

use super::Exit;

/// Validates the catalog and prints the report.
pub fn run(catalog: &Path, json: bool, strict: bool) -> Exit {
    let _ = (catalog, json, strict);
    eprintln!("acepack check: not yet implemented");
    Exit::Usage
}
