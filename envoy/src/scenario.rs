//! One catalog in one real Envoy with an echo upstream: the unit most end-to-end tests start.

use std::path::{Path, PathBuf};

use crate::artifacts::{self, Artifacts};
use crate::config::{clusters_in_routes, Bootstrap, WasmFilter};
use crate::envoy::Envoy;
use crate::http::{Request, Response};
use crate::upstream::{EchoUpstream, Echoed};
use crate::workdir::WorkDir;

/// The plugin name used in test bootstraps. Deliberately not "acepack": a log line that mentions
/// acepack must come from the filter itself, not from Envoy's `wasm log <plugin>:` prefix.
pub const PLUGIN_NAME: &str = "e2e-plugin";

/// The VM id used in test bootstraps.
pub const VM_ID: &str = "e2e-vm";

/// A compiled catalog served by a real Envoy whose clusters all point at one echo upstream.
/// Dropping it stops Envoy, then the upstream.
#[derive(Debug)]
pub struct Scenario {
    /// The running Envoy (declared first: dropped before the upstream).
    pub envoy: Envoy,
    /// The echo upstream behind every cluster.
    pub upstream: EchoUpstream,
    /// The scratch folder (config, log, bundle).
    pub dir: WorkDir,
    /// The compiled bundle.
    pub bundle: Vec<u8>,
}

impl Scenario {
    /// Compiles `envoy/tests/data/<catalog>` with the real CLI and serves it in Envoy, with the
    /// routes of `envoy/tests/data/<routes>` (a RouteConfiguration; `None`: a catch-all route).
    ///
    /// # Panics
    /// When an artifact is missing, the catalog does not compile, or Envoy does not start.
    pub fn start(test_name: &str, catalog: &str, routes: Option<&str>) -> Scenario {
        let data = artifacts::test_data();
        Scenario::start_paths(test_name, &data.join(catalog), routes.map(|r| data.join(r)).as_deref())
    }

    /// [`Scenario::start`] with explicit paths.
    ///
    /// # Panics
    /// As [`Scenario::start`].
    pub fn start_paths(test_name: &str, catalog: &Path, routes: Option<&Path>) -> Scenario {
        let a = Artifacts::locate();
        let dir = WorkDir::new(test_name);
        let bundle_path = dir.join("bundle.acepack");
        let bundle = artifacts::compile_catalog(catalog, &bundle_path);
        let upstream = EchoUpstream::start();
        let filter = WasmFilter {
            plugin_name: PLUGIN_NAME.into(),
            vm_id: VM_ID.into(),
            wasm: a.wasm.clone(),
            configuration: bundle.clone(),
        };
        let mut b = Bootstrap::new()
            .with_wasm(&filter)
            .with_access_log(dir.join("access.log"));
        match routes {
            Some(r) => {
                let text = std::fs::read_to_string(r).unwrap_or_else(|e| panic!("read {}: {e}", r.display()));
                for c in clusters_in_routes(&text) {
                    b = b.with_cluster(&c, upstream.addr());
                }
                b = b.with_routes(&text);
            }
            None => b = b.with_cluster("upstream", upstream.addr()),
        }
        let envoy = Envoy::must_start(&dir, &b.to_yaml());
        Scenario {
            envoy,
            upstream,
            dir,
            bundle,
        }
    }

    /// Sends a request through Envoy.
    ///
    /// # Panics
    /// On an I/O error.
    pub fn send(&self, req: &Request) -> Response {
        self.envoy.send(req)
    }

    /// The bundle's path in the scratch folder.
    pub fn bundle_path(&self) -> PathBuf {
        self.dir.join("bundle.acepack")
    }
}

/// The request the echo upstream saw, from a response that went through it.
///
/// # Panics
/// When the response is not the echo upstream's (for example a local reply).
pub fn echoed(resp: &Response) -> Echoed {
    assert!(
        resp.header("x-echo").is_some(),
        "expected the echo upstream's response, got {}",
        resp.summary()
    );
    Echoed::from_json(&resp.json()).unwrap_or_else(|| panic!("not an echo body: {}", resp.summary()))
}
