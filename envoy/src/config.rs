//! Envoy bootstrap generation: one loopback listener with an HTTP connection manager, the acepack
//! wasm filter (plugin configuration = the bundle, as `google.protobuf.BytesValue`) and the
//! router, routes from a RouteConfiguration file (or a catch-all), and static clusters that point at
//! loopback upstreams.
//!
//! The HTTP connection manager runs as an edge proxy (`use_remote_address: true`): the client
//! address Envoy gives filters (`source.address`) is then the peer's, not one taken from a
//! client-supplied `X-Forwarded-For` (Envoy's default, `false`, trusts the last XFF entry).
//!
//! The YAML is written as text; an inline RouteConfiguration or a filter entry printed by
//! `acepack envoy` is embedded by indenting it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The acepack wasm filter entry of `http_filters`.
#[derive(Debug, Clone)]
pub struct WasmFilter {
    /// The plugin name (Envoy prefixes the plugin's log lines with it: `wasm log NAME: ...`).
    pub plugin_name: String,
    /// The VM id; workers of one Envoy share buckets through it.
    pub vm_id: String,
    /// The `.wasm` file.
    pub wasm: PathBuf,
    /// The plugin configuration bytes (the bundle).
    pub configuration: Vec<u8>,
}

impl WasmFilter {
    /// The filter entry as YAML (a `- name: ...` list item, not indented).
    pub fn to_yaml(&self) -> String {
        acepack_compiler::envoy_filter::filter_yaml(
            &self.configuration,
            &self.wasm.display().to_string(),
            &self.vm_id,
            &self.plugin_name,
        )
    }
}

/// A double-quoted YAML scalar.
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// Indents every non-empty line of `text` by `n` spaces.
pub fn indent(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(text.len() + 32);
    for line in text.lines() {
        if !line.trim().is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// An Envoy bootstrap under construction.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// `http_filters` entries before the router, as YAML list items (unindented).
    pub http_filters: Vec<String>,
    /// A RouteConfiguration as YAML text; `None`: one virtual host `*`, prefix `/` to the first
    /// cluster.
    pub route_config: Option<String>,
    /// Static clusters: (name, loopback address).
    pub clusters: Vec<(String, SocketAddr)>,
    /// Static HTTP/2 clusters for gRPC services (a rate limit service): (name, loopback address).
    pub grpc_clusters: Vec<(String, SocketAddr)>,
    /// The listener port (0: any free port; the harness reads the bound port from the admin API).
    pub listener_port: u16,
    /// The admin port (0: any free port; the harness reads it from `--admin-address-path`).
    pub admin_port: u16,
    /// Where Envoy writes the access log, if anywhere.
    pub access_log: Option<PathBuf>,
}

impl Bootstrap {
    /// An empty bootstrap (no filters but the router, catch-all route, no clusters yet).
    pub fn new() -> Bootstrap {
        Bootstrap::default()
    }

    /// Adds the acepack filter.
    pub fn with_wasm(mut self, f: &WasmFilter) -> Bootstrap {
        self.http_filters.push(f.to_yaml());
        self
    }

    /// Adds a raw `http_filters` entry (for example the output of `acepack envoy`).
    pub fn with_http_filter_yaml(mut self, entry: &str) -> Bootstrap {
        self.http_filters.push(entry.to_string());
        self
    }

    /// Uses this RouteConfiguration (YAML text).
    pub fn with_routes(mut self, route_config_yaml: &str) -> Bootstrap {
        self.route_config = Some(route_config_yaml.to_string());
        self
    }

    /// Adds a static cluster.
    pub fn with_cluster(mut self, name: &str, addr: SocketAddr) -> Bootstrap {
        self.clusters.push((name.to_string(), addr));
        self
    }

    /// Adds a static HTTP/2 cluster, for a gRPC service such as a rate limit service.
    pub fn with_grpc_cluster(mut self, name: &str, addr: SocketAddr) -> Bootstrap {
        self.grpc_clusters.push((name.to_string(), addr));
        self
    }

    /// Writes an access log to this file.
    pub fn with_access_log(mut self, path: PathBuf) -> Bootstrap {
        self.access_log = Some(path);
        self
    }

    /// The bootstrap YAML, with the listener in `static_resources`.
    pub fn to_yaml(&self) -> String {
        let mut y = self.admin_yaml();
        y.push_str("static_resources:\n  listeners:\n");
        y.push_str(&indent(&self.listener_yaml(), 2));
        y.push_str(&self.clusters_yaml());
        y
    }

    /// The bootstrap YAML with the listener served from a file by LDS (`lds_path`, which Envoy
    /// watches: replace it atomically, by renaming, to reconfigure the listener in place).
    /// Write the file's first version with [`Bootstrap::lds_yaml`] before starting Envoy.
    pub fn to_yaml_with_lds(&self, lds_path: &Path) -> String {
        let mut y = String::from("node:\n  id: acepack-e2e\n  cluster: acepack-e2e\n");
        y.push_str(&self.admin_yaml());
        y.push_str(&format!(
            "dynamic_resources:\n  lds_config:\n    resource_api_version: V3\n    path_config_source:\n      path: {}\n",
            yaml_str(&lds_path.display().to_string())
        ));
        y.push_str("static_resources:\n");
        y.push_str(&self.clusters_yaml());
        y
    }

    /// The LDS file: a discovery response holding this bootstrap's listener.
    pub fn lds_yaml(&self) -> String {
        let listener = self.listener_yaml();
        let listener = listener.replacen(
            "- name: acepack_e2e\n",
            "- \"@type\": type.googleapis.com/envoy.config.listener.v3.Listener\n  name: acepack_e2e\n",
            1,
        );
        format!("resources:\n{listener}")
    }

    fn admin_yaml(&self) -> String {
        format!(
            "admin:\n  address:\n    socket_address: {{ address: 127.0.0.1, port_value: {} }}\n",
            self.admin_port
        )
    }

    /// The listener as a YAML list item (unindented).
    fn listener_yaml(&self) -> String {
        let mut y = String::from("- name: acepack_e2e\n  stat_prefix: acepack_e2e\n");
        y.push_str(&format!(
            "  address:\n    socket_address: {{ address: 127.0.0.1, port_value: {} }}\n",
            self.listener_port
        ));
        y.push_str(
            "  filter_chains:\n  - filters:\n    - name: envoy.filters.network.http_connection_manager\n      typed_config:\n        \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n        stat_prefix: ingress\n        use_remote_address: true\n",
        );
        if let Some(log) = &self.access_log {
            y.push_str(&format!(
                "        access_log:\n        - name: envoy.access_loggers.file\n          typed_config:\n            \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n            path: {}\n",
                yaml_str(&log.display().to_string())
            ));
        }
        y.push_str("        route_config:\n");
        match &self.route_config {
            Some(rc) => y.push_str(&indent(rc, 10)),
            None => {
                let cluster = self.clusters.first().map(|c| c.0.as_str()).unwrap_or("upstream");
                y.push_str(&format!(
                    "          name: catch_all\n          virtual_hosts:\n          - name: all\n            domains: [\"*\"]\n            routes:\n            - match: {{ prefix: \"/\" }}\n              route: {{ cluster: {} }}\n",
                    yaml_str(cluster)
                ));
            }
        }
        y.push_str("        http_filters:\n");
        for f in &self.http_filters {
            y.push_str(&indent(f, 8));
        }
        y.push_str(
            "        - name: envoy.filters.http.router\n          typed_config:\n            \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n",
        );
        y
    }

    fn clusters_yaml(&self) -> String {
        let mut y = String::from("  clusters:\n");
        for (name, addr) in &self.clusters {
            y.push_str(&format!(
                "  - name: {n}\n    type: STATIC\n    connect_timeout: 2s\n    load_assignment:\n      cluster_name: {n}\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n            address:\n              socket_address: {{ address: {ip}, port_value: {port} }}\n",
                n = yaml_str(name),
                ip = addr.ip(),
                port = addr.port()
            ));
        }
        for (name, addr) in &self.grpc_clusters {
            y.push_str(&format!(
                "  - name: {n}\n    type: STATIC\n    connect_timeout: 1s\n    typed_extension_protocol_options:\n      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n        explicit_http_config: {{ http2_protocol_options: {{}} }}\n    load_assignment:\n      cluster_name: {n}\n      endpoints:\n      - lb_endpoints:\n        - endpoint:\n            address:\n              socket_address: {{ address: {ip}, port_value: {port} }}\n",
                n = yaml_str(name),
                ip = addr.ip(),
                port = addr.port()
            ));
        }
        if self.clusters.is_empty() && self.grpc_clusters.is_empty() {
            y.push_str("  []\n");
        }
        y
    }
}

/// The cluster names a RouteConfiguration refers to (`cluster: NAME` lines), in order, deduplicated.
/// A plain text scan; enough for the route files of this repository.
pub fn clusters_in_routes(route_config_yaml: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in route_config_yaml.lines() {
        let mut rest = line;
        while let Some(i) = rest.find("cluster:") {
            let after = &rest[i + "cluster:".len()..];
            let name: String = after
                .trim_start()
                .trim_start_matches(['"', '\''])
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ',' | '}' | ' ' | '#'))
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
            rest = after;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cluster_names() {
        let rc = "routes:\n- match: { prefix: /a }\n  route: { cluster: flights }\n- route:\n    cluster: \"billing\"\n- route: { cluster: flights }\n";
        assert_eq!(
            clusters_in_routes(rc),
            vec!["flights".to_string(), "billing".to_string()]
        );
    }

    #[test]
    fn indents_embedded_yaml() {
        assert_eq!(indent("a: 1\n\nb:\n  c: 2\n", 2), "  a: 1\n\n  b:\n    c: 2\n");
    }
}
