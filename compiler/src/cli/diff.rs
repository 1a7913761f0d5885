//! `acepack diff OLD NEW [--json] [--allow-breaking]`.

use std::path::Path;

use super::Exit;

/// Compares two bundles or catalogs.
pub fn run(old: &Path, new: &Path, json: bool, allow_breaking: bool) -> Exit {
    let _ = (old, new, json, allow_breaking);
    eprintln!("acepack diff: not yet implemented");
    Exit::Usage
}
