//! `acepack inspect BUNDLE [--json]`.

use std::path::Path;

use super::Exit;

/// Prints what a bundle contains.
pub fn run(bundle: &Path, json: bool) -> Exit {
    let _ = (bundle, json);
    eprintln!("acepack inspect: not yet implemented");
    Exit::Usage
}
