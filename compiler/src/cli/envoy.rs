//! `acepack envoy BUNDLE --wasm PATH [--vm-id ID]`.

use std::path::Path;

use super::Exit;

/// Prints an Envoy http_filters entry.
pub fn run(bundle: &Path, wasm: &Path, vm_id: &str) -> Exit {
    let _ = (bundle, wasm, vm_id);
    eprintln!("acepack envoy: not yet implemented");
    Exit::Usage
}
