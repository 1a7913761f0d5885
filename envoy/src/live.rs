//! Live updates through file-based ECDS in a test Envoy: a bootstrap whose acepack filter entry
//! reads its configuration from a resource file (what `acepack envoy --ecds` prints), and
//! publishing new versions of that file the way the CLI does (atomic rename, confirmed through
//! the admin interface) — see docs/envoy.md, "Live updates".

use std::path::{Path, PathBuf};
use std::time::Duration;

use acepack_compiler::ecds::{self, Admin, Confirm, EcdsError, Published};
use acepack_compiler::envoy_filter::{wasm_config, PluginConfiguration};

use crate::config::{clusters_in_routes, Bootstrap};
use crate::envoy::Envoy;
use crate::scenario::{PLUGIN_NAME, VM_ID};
use crate::upstream::EchoUpstream;
use crate::workdir::WorkDir;

/// An Envoy whose acepack filter is configured through ECDS from `dir`.
#[derive(Debug)]
pub struct LiveEnvoy {
    /// The running Envoy.
    pub envoy: Envoy,
    /// The watched directory holding the resource file.
    pub dir: PathBuf,
    /// Its admin interface.
    pub admin: Admin,
    /// The `.wasm` the filter configuration names.
    pub wasm: PathBuf,
}

/// The Wasm filter configuration of `bundle` as the tests publish it (vm id [`VM_ID`]).
pub fn typed_config(bundle: &[u8], form: PluginConfiguration, wasm: &Path) -> serde_json::Value {
    wasm_config(bundle, form, &wasm.display().to_string(), VM_ID, PLUGIN_NAME)
}

impl LiveEnvoy {
    /// Writes the first resource (the raw `bundle`), then starts Envoy with the ECDS filter entry,
    /// `routes` (a RouteConfiguration) and its clusters pointing at `upstream`.
    ///
    /// # Panics
    /// When Envoy does not start.
    pub fn start(work: &WorkDir, wasm: &Path, bundle: &[u8], routes: &str, upstream: &EchoUpstream) -> LiveEnvoy {
        let dir = work.join("ecds");
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let first = ecds::resource(PLUGIN_NAME, &typed_config(bundle, PluginConfiguration::Bytes, wasm));
        ecds::publish(&dir, PLUGIN_NAME, &first, None).unwrap_or_else(|e| panic!("{e}"));
        let mut b = Bootstrap::new()
            .with_http_filter_yaml(&ecds::filter_entry_yaml(&dir, PLUGIN_NAME))
            .with_routes(routes);
        for c in clusters_in_routes(routes) {
            b = b.with_cluster(&c, upstream.addr());
        }
        // A path config source needs a node identity.
        let yaml = format!("node:\n  id: acepack-e2e\n  cluster: acepack-e2e\n{}", b.to_yaml());
        let envoy = Envoy::must_start(work, &yaml);
        let admin = Admin::parse(&format!("http://{}", envoy.admin_addr())).unwrap_or_else(|e| panic!("{e}"));
        LiveEnvoy {
            envoy,
            dir,
            admin,
            wasm: wasm.to_path_buf(),
        }
    }

    /// Publishes `typed` (a Wasm filter configuration) and waits up to 20 s for Envoy to apply it.
    pub fn publish_typed(&self, typed: &serde_json::Value) -> Result<Published, EcdsError> {
        let resource = ecds::resource(PLUGIN_NAME, typed);
        let confirm = Confirm {
            admin: &self.admin,
            wait: Duration::from_secs(20),
            retry_every: Duration::from_millis(500),
        };
        ecds::publish(&self.dir, PLUGIN_NAME, &resource, Some(&confirm))
    }

    /// Publishes `bundle` (raw bytes) with this Envoy's `.wasm`.
    pub fn publish(&self, bundle: &[u8]) -> Result<Published, EcdsError> {
        self.publish_typed(&typed_config(bundle, PluginConfiguration::Bytes, &self.wasm))
    }

    /// A `wasmcustom.acepack.*` counter (0 when absent).
    pub fn counter(&self, name: &str) -> u64 {
        self.envoy.stat(&format!("wasmcustom.acepack.{name}")).unwrap_or(0)
    }
}
