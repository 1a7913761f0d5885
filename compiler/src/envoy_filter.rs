//! The configuration snippets that load acepack in a proxy (docs/envoy.md): the Envoy
//! `http_filters` entry with the bundle inlined as a base64 `google.protobuf.BytesValue` plugin
//! configuration, the Wasm filter configuration itself (which file-based ECDS wraps, see
//! [`crate::ecds`]), and the Istio `WasmPlugin` / Envoy Gateway `EnvoyExtensionPolicy` resources,
//! which hand the filter a JSON configuration `{"bundle": "<base64>"}`. Used by `acepack envoy`,
//! the demo and the end-to-end tests, so they all wire the filter the same way.

use base64::Engine as _;
use serde_json::json;

/// Which snippet `acepack envoy --format` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An Envoy `http_filters` entry (bundle as `BytesValue`).
    Envoy,
    /// An Istio `WasmPlugin` (JSON `pluginConfig`).
    Istio,
    /// An Envoy Gateway `EnvoyExtensionPolicy` (JSON `config`).
    EnvoyGateway,
}

/// How the bundle is handed to the filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginConfiguration {
    /// The bundle's bytes, as a `google.protobuf.BytesValue`.
    Bytes,
    /// `{"bundle": "<base64>"}` as a `google.protobuf.StringValue` — what Istio and Envoy Gateway
    /// pass; the filter accepts both.
    Json,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The JSON plugin configuration carrying `bundle`: `{"bundle":"<base64>"}`.
pub fn json_configuration(bundle: &[u8]) -> String {
    json!({ "bundle": b64(bundle) }).to_string()
}

/// The `envoy.extensions.filters.http.wasm.v3.Wasm` message (with its `@type`), as JSON.
/// `fail_open: false`: if the VM fails, requests are refused rather than let through unchecked.
/// Everything but `configuration` depends only on the arguments, so successive bundles keep the
/// same VM (and its shared data, the buckets).
pub fn wasm_config(
    bundle: &[u8],
    config: PluginConfiguration,
    wasm: &str,
    vm_id: &str,
    plugin_name: &str,
) -> serde_json::Value {
    let configuration = match config {
        PluginConfiguration::Bytes => json!({
            "@type": "type.googleapis.com/google.protobuf.BytesValue",
            "value": b64(bundle),
        }),
        PluginConfiguration::Json => json!({
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": json_configuration(bundle),
        }),
    };
    json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
        "config": {
            "name": plugin_name,
            "root_id": plugin_name,
            "fail_open": false,
            "vm_config": {
                "vm_id": vm_id,
                "runtime": "envoy.wasm.runtime.v8",
                "code": { "local": { "filename": wasm } },
            },
            "configuration": configuration,
        }
    })
}

/// A double-quoted YAML scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The YAML of one `http_filters` list item (not indented), bundle as `BytesValue`.
pub fn filter_yaml(bundle: &[u8], wasm: &str, vm_id: &str, plugin_name: &str) -> String {
    filter_yaml_with(bundle, PluginConfiguration::Bytes, wasm, vm_id, plugin_name)
}

/// The YAML of one `http_filters` list item (not indented) with the chosen configuration form.
pub fn filter_yaml_with(
    bundle: &[u8],
    config: PluginConfiguration,
    wasm: &str,
    vm_id: &str,
    plugin_name: &str,
) -> String {
    let (value_type, value) = match config {
        PluginConfiguration::Bytes => ("BytesValue", b64(bundle)),
        PluginConfiguration::Json => ("StringValue", q(&json_configuration(bundle))),
    };
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
        "@type": type.googleapis.com/google.protobuf.{value_type}
        value: {value}
"#,
        name = q(plugin_name),
        vm = q(vm_id),
        wasm = q(wasm),
    )
}

/// An Istio `WasmPlugin` for the ingress gateway. `wasm` is the module's URL as Istio fetches it
/// (`oci://…`, `https://…` or `file://…`).
pub fn istio_yaml(bundle: &[u8], wasm: &str, plugin_name: &str) -> String {
    format!(
        r#"apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: {name}
  namespace: istio-system
spec:
  selector:
    matchLabels:
      istio: ingressgateway
  url: {wasm}
  phase: AUTHN
  failStrategy: FAIL_CLOSE
  pluginName: {name}
  pluginConfig:
    bundle: {b64}
"#,
        name = q(plugin_name),
        wasm = q(wasm),
        b64 = q(&b64(bundle)),
    )
}

/// An Envoy Gateway `EnvoyExtensionPolicy` attached to the Gateway `eg`. `wasm` is the module's
/// HTTP URL; `sha256` its digest (hex), which Envoy Gateway requires for HTTP code sources.
pub fn envoy_gateway_yaml(bundle: &[u8], wasm: &str, sha256: &str, plugin_name: &str) -> String {
    format!(
        r#"apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata:
  name: {name}
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: eg
  wasm:
    - name: {name}
      rootID: {name}
      failOpen: false
      code:
        type: HTTP
        http:
          url: {wasm}
          sha256: {sha}
      config:
        bundle: {b64}
"#,
        name = q(plugin_name),
        wasm = q(wasm),
        sha = q(sha256),
        b64 = q(&b64(bundle)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envoy_entry_is_yaml_with_the_bundle_inlined() {
        let y = filter_yaml(b"ACEPACK\0xy", "/f.wasm", "vm", "acepack");
        assert!(y.contains("vm_id: \"vm\""), "{y}");
        assert!(y.contains(&format!("value: {}\n", b64(b"ACEPACK\0xy"))), "{y}");
        let j = filter_yaml_with(b"ACEPACK\0xy", PluginConfiguration::Json, "/f.wasm", "vm", "acepack");
        assert!(
            j.contains(&format!("value: {}\n", q(&json_configuration(b"ACEPACK\0xy")))),
            "{j}"
        );
    }

    #[test]
    fn json_form_carries_base64_the_filter_reads() {
        let bundle = b"ACEPACK\0\xff\x00/";
        let text = json_configuration(bundle);
        assert_eq!(
            acepack_filter::plugin_config::bundle_bytes(text.as_bytes())
                .unwrap()
                .as_ref(),
            bundle
        );
        let v = wasm_config(bundle, PluginConfiguration::Json, "/f.wasm", "vm", "acepack");
        assert_eq!(v["config"]["configuration"]["value"], text);
        assert!(istio_yaml(bundle, "oci://x", "acepack").contains(&q(&b64(bundle))));
        assert!(envoy_gateway_yaml(bundle, "https://x", "ab", "acepack").contains("sha256: \"ab\""));
    }
}
