//! A proxy-wasm host for tests: runs acepack's real `acepack_filter.wasm`
//! natively, the way Envoy runs it.
//!
//! Built on `wasmtime` (cranelift, no WASI crate), implementing proxy-wasm ABI
//! 0.2.1 — every host function the proxy-wasm Rust SDK 0.2.5 imports — and the
//! WASI preview1 subset a Rust `wasm32-wasip1` module needs, with Envoy's
//! semantics where they matter to the filter:
//!
//! * **Shared data** ([`SharedData`]): one store per `vm_id`, shared by every
//!   VM (thread) holding a clone; one global CAS counter that starts at 1 and
//!   skips 0; a `set` with a nonzero CAS is compared **only when the key
//!   exists**; a missing key is `NotFound`. [`SharedData::stale_reads`]
//!   reproduces the first-insert race deterministically.
//! * **Header maps**: names lower-cased, values raw bytes; `replace` removes
//!   every entry of the name and appends one; a map is only writable while its
//!   callback runs (or the stream is paused from it), and after `Continue` it
//!   is gone: reading it gives `BAD_ARGUMENT` / an empty map.
//! * **Local responses**: recorded with status, headers, body and gRPC status;
//!   the request stops there, and — as in Envoy — the filter's response
//!   callbacks then run on the local response.
//! * **Metrics** ([`Metrics`]), **properties** (`source.address`,
//!   `source.port`, `destination.*`, `plugin_name`, `plugin_root_id`,
//!   `plugin_vm_id`, `request.*`, `response.code`, plus your own), **logs**
//!   (every `proxy_log` and stdout/stderr line is recorded), a controllable
//!   **clock** ([`Clock`]) shared by VMs, timers, shared queues. HTTP and gRPC
//!   callouts fail with the status Envoy gives for an unknown cluster.
//! * **Safety**: every guest pointer is bounds-checked (a bad one is
//!   `INVALID_MEMORY_ACCESS` / `EFAULT`, never a host panic), memory returned
//!   to the guest comes from its `proxy_on_memory_allocate`, and the host never
//!   returns a status the SDK has no variant for (6, 12) to calls the SDK makes
//!   correctly. A guest trap is a typed [`HostError::Trap`] with the guest's
//!   log lines (a Rust panic's message is among them).
//!
//! # Using it
//!
//! ```no_run
//! use acepack_host_tests::{filter_host, Request, SharedData, VmOptions};
//!
//! let bundle: Vec<u8> = std::fs::read("bundle.bin").unwrap();
//! let shared = SharedData::new();
//! // The real filter, compiled once per test binary. Fails with a build hint
//! // when target/wasm32-wasip1/release/acepack_filter.wasm is missing.
//! let host = filter_host();
//! let mut vm = host
//!     .configured_vm(VmOptions {
//!         plugin_config: bundle,
//!         shared: shared.clone(),
//!         ..VmOptions::default()
//!     })
//!     .unwrap();
//!
//! let out = vm
//!     .request(&Request::get("/v1/flights").authority("api.kong-air.com").header("apikey", "k"))
//!     .unwrap();
//! assert_eq!(out.status(), Some(200));
//! assert!(out.forwarded);
//! assert_eq!(out.request_header_str("x-ace-application"), Some("acme-billing"));
//! assert_eq!(vm.metrics().counter("acepack.requests_allowed"), 1);
//! assert!(shared.len("acepack") > 0);
//! ```
//!
//! * [`Host`] compiles a module once ([`Host::load`], [`Host::from_bytes`]);
//!   [`Host::vm`] / [`Host::configured_vm`] start VMs from it with
//!   [`VmOptions`] (plugin configuration, `vm_id`, shared data, clock,
//!   metrics, log level, memory limit).
//! * [`Vm::request`] runs one [`Request`] through the filter and returns an
//!   [`Outcome`]: the action, the local response, the request headers after
//!   the filter's changes, the response the client gets, the request's logs.
//! * Several VMs on several threads: `Vm` is `Send`; give each the same
//!   [`SharedData`], [`Clock`] and [`Metrics`] clones, like the workers of one
//!   Envoy.
//! * Fuel metering ([`HostOptions::fuel`]) bounds and measures the guest's
//!   work per request; [`VmOptions::max_memory_bytes`] bounds its memory.
//!
//! # Several workers, one Envoy
//!
//! ```no_run
//! use acepack_host_tests::{filter_host, Clock, Metrics, Request, SharedData, VmOptions};
//! # let bundle = Vec::new();
//! let (shared, clock, metrics) = (SharedData::new(), Clock::new(), Metrics::new());
//! let workers: Vec<_> = (0..4)
//!     .map(|_| {
//!         let opts = VmOptions {
//!             plugin_config: bundle.clone(),
//!             shared: shared.clone(),
//!             clock: clock.clone(),
//!             metrics: metrics.clone(),
//!             ..VmOptions::default()
//!         };
//!         std::thread::spawn(move || {
//!             let mut vm = filter_host().configured_vm(opts).unwrap();
//!             (0..100)
//!                 .filter(|_| vm.request(&Request::get("/v1/flights")).unwrap().forwarded)
//!                 .count()
//!         })
//!     })
//!     .collect();
//! let admitted: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
//! # let _ = admitted;
//! ```
//!
//! # Reproducing the first-insert race
//!
//! Driven one call at a time, VMs never race. To force "two VMs both saw the
//! key missing, then both set", run the first request on VM A (it creates the
//! bucket), then [`SharedData::stale_reads`] (or [`SharedData::stale_reads_of`]
//! for one key), then the same request on VM B: B's next `get` of an existing
//! key reports `NotFound`, so B takes the creation path although A already
//! inserted. A filter that inserts with CAS 0 overwrites A's bucket (and
//! admits too much); one that inserts with a nonzero CAS gets `CasMismatch` and
//! must retry.
//!
//! ```no_run
//! use acepack_host_tests::{filter_host, Request, SharedData, VmOptions};
//! # let bundle = Vec::new();
//! let shared = SharedData::new();
//! let opts = VmOptions { plugin_config: bundle, shared: shared.clone(), ..VmOptions::default() };
//! let mut a = filter_host().configured_vm(opts.clone()).unwrap();
//! let mut b = filter_host().configured_vm(opts).unwrap();
//! let req = Request::get("/v1/flights").header("apikey", "k");
//! a.request(&req).unwrap();
//! shared.stale_reads(1);
//! b.request(&req).unwrap();
//! assert_eq!(shared.pending_stale_reads(), 0);
//! ```
//!
//! # What is not modeled
//!
//! TCP (network) filters, `proxy_on_queue_ready` delivery, HTTP/gRPC
//! callouts (they fail as for an unknown cluster), request/response trailers,
//! and `proxy_on_tick` scheduling (call [`Vm::tick`] yourself).

#![deny(missing_docs)]

mod abi;
mod clock;
mod error;
mod host;
mod http;
mod imports;
mod metrics;
mod shared;
mod state;
mod vm;

pub use abi::{
    deserialize_pairs, serialize_pairs, split_property_path, Action, LogLevel, MetricKind, PairsError, Status,
};
pub use clock::Clock;
pub use error::HostError;
pub use host::{Host, HostOptions};
pub use http::{Headers, LocalResponse, LogLine, LogSource, Outcome, Request};
pub use metrics::{MetricValue, Metrics};
pub use shared::SharedData;
pub use vm::{Vm, VmOptions};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Environment variable that overrides where the filter's `.wasm` is found.
pub const FILTER_WASM_ENV: &str = "ACEPACK_FILTER_WASM";

/// The command that builds the filter's `.wasm`.
pub const FILTER_BUILD_HINT: &str = "run `cargo build --release -p acepack-filter --target wasm32-wasip1`";

/// The workspace root (the parent of this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Where the filter's `.wasm` is: `$ACEPACK_FILTER_WASM` when set, else the
/// `target/wasm32-wasip1/release/acepack_filter.wasm` of docs/development.md in the
/// workspace — or, when `$CARGO_TARGET_DIR` is set and holds a newer build,
/// `$CARGO_TARGET_DIR/wasm32-wasip1/release/acepack_filter.wasm`.
///
/// Errors — so that a test never passes silently without the filter — when
/// the file is missing ([`HostError::WasmNotFound`]) or, without the variable,
/// when a file under `filter/src` or `filter/Cargo.toml` is newer than it
/// ([`HostError::WasmStale`]). Both carry [`FILTER_BUILD_HINT`].
pub fn filter_wasm_path() -> Result<PathBuf, HostError> {
    if let Some(path) = std::env::var_os(FILTER_WASM_ENV) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(HostError::WasmNotFound {
                path,
                hint: format!("{FILTER_WASM_ENV} names a missing file"),
            });
        }
        return Ok(path);
    }
    let root = workspace_root();
    const BUILT: &str = "wasm32-wasip1/release/acepack_filter.wasm";
    let default = root.join("target").join(BUILT);
    let candidates = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| PathBuf::from(dir).join(BUILT))
        .into_iter()
        .chain([default.clone()]);
    let Some((built, path)) = candidates
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max_by_key(|(t, _)| *t)
    else {
        return Err(HostError::WasmNotFound {
            path: default,
            hint: format!("{FILTER_BUILD_HINT} (or set {FILTER_WASM_ENV})"),
        });
    };
    let filter = root.join("filter");
    if let Some(newer) = newest_file(&filter.join("src"))
        .into_iter()
        .chain(newest_file(&filter.join("Cargo.toml")))
        .filter(|(_, t)| *t > built)
        .max_by_key(|(_, t)| *t)
    {
        return Err(HostError::WasmStale {
            path,
            newer: newer.0,
            hint: FILTER_BUILD_HINT.to_owned(),
        });
    }
    Ok(path)
}

/// Where [`filter_host`] keeps compiled code: `target/host-tests-cache/` of
/// the workspace (`$CARGO_TARGET_DIR/host-tests-cache/` when that is set).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("host-tests-cache")
}

fn newest_file(path: &Path) -> Option<(PathBuf, std::time::SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return Some((path.to_owned(), meta.modified().ok()?));
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest_file(&entry.path()))
        .max_by_key(|(_, t)| *t)
}

/// The real filter, compiled once per process (default options, compiled
/// code cached in `target/host-tests-cache/` across test binaries and runs)
/// and shared by every test of the binary.
///
/// # Panics
///
/// When the `.wasm` is missing, stale or does not compile: the panic message
/// says how to build it. Tests that use the filter must fail, never skip,
/// without it.
pub fn filter_host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let options = HostOptions {
            cache_dir: Some(cache_dir()),
            ..HostOptions::default()
        };
        let loaded = filter_wasm_path().and_then(|path| Host::load_with(path, options));
        match loaded {
            Ok(host) => host,
            Err(e) => panic!("cannot load the acepack filter: {e}"),
        }
    })
}
