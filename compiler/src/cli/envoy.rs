//! `acepack envoy BUNDLE --wasm PATH [--vm-id ID]`: an Envoy `http_filters` entry with the bundle
//! inlined as a base64 `google.protobuf.BytesValue`.

use std::path::Path;

use acepack_compiler::envoy_filter::filter_yaml;

use super::{read_bundle, Exit, Failure};

/// Prints the filter entry (YAML) to stdout.
pub fn run(bundle: &Path, wasm: &Path, vm_id: &str) -> Result<Exit, Failure> {
    let (bytes, _) = read_bundle(bundle)?;
    print!("{}", filter_yaml(&bytes, &wasm.display().to_string(), vm_id, "acepack"));
    Ok(Exit::Ok)
}
