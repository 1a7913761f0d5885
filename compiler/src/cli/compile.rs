//! `acepack compile CATALOG -o BUNDLE ...`.

use std::path::Path;

use super::Exit;

/// Compiles the catalog into a bundle.
pub fn run(catalog: &Path, output: &Path, report: Option<&Path>, strict: bool, previous: Option<&Path>, allow_breaking: bool) -> Exit {
    let _ = (catalog, output, report, strict, previous, allow_breaking);
    eprintln!("acepack compile: not yet implemented");
    Exit::Usage
}
