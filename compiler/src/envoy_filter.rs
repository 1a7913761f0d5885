//! The Envoy `http_filters` entry that loads acepack: the wasm filter with the bundle inlined as a
//! base64 `google.protobuf.BytesValue` plugin configuration (docs/envoy.md). Used by `acepack envoy`,
//! the demo and the end-to-end tests, so they all wire the filter the same way.

use base64::Engine as _;

/// The YAML of one `http_filters` list item (not indented). `fail_open: false`: if the VM fails,
/// requests are refused rather than let through unchecked.
pub fn filter_yaml(bundle: &[u8], wasm: &str, vm_id: &str, plugin_name: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(bundle);
    // JSON strings are valid double-quoted YAML scalars.
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
    format!(
        r#"- name: envoy.filters.http.wasm
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: {name}
      root_id: {name}
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
        name = q(plugin_name),
        vm = q(vm_id),
        wasm = q(wasm),
    )
}
