//! `acepack envoy BUNDLE --wasm PATH [--vm-id ID]`: an Envoy `http_filters` entry with the bundle
//! inlined as a base64 `google.protobuf.BytesValue`.

use std::path::Path;

use base64::Engine as _;

use super::{read_bundle, Exit};

/// Prints the filter entry (YAML) to stdout.
pub fn run(bundle: &Path, wasm: &Path, vm_id: &str) -> Exit {
    let (bytes, _) = match read_bundle(bundle) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    print!("{}", filter_entry(&bytes, &wasm.display().to_string(), vm_id));
    Exit::Ok
}

/// The YAML of one `http_filters` entry. `fail_open: false`: if the VM fails, requests are refused
/// rather than let through unchecked.
pub fn filter_entry(bundle: &[u8], wasm: &str, vm_id: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bundle);
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        r#"- name: envoy.filters.http.wasm
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: acepack
      root_id: acepack
      fail_open: false
      vm_config:
        vm_id: {vm}
        runtime: envoy.wasm.runtime.v8
        code:
          local:
            filename: {wasm}
      configuration:
        "@type": type.googleapis.com/google.protobuf.BytesValue
        value: {b64}
"#,
        vm = q(vm_id),
        wasm = q(wasm),
    )
}
