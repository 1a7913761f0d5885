//! Errors of the host library.

use std::path::PathBuf;

use crate::http::LogLine;

/// Everything that can go wrong while loading a module or running a VM.
///
/// A guest that *returns* failure (for example `proxy_on_configure` returning
/// false) is not an error: see [`Vm::configured`](crate::Vm::configured). A
/// guest that *traps* (a Rust panic in the filter is an `unreachable` trap) is
/// [`HostError::Trap`], and the VM is unusable afterwards, as in Envoy.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The `.wasm` file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The filter's `.wasm` is not where the tests look for it.
    #[error("{path} not found: {hint}")]
    WasmNotFound {
        /// Where it was looked for.
        path: PathBuf,
        /// How to produce it.
        hint: String,
    },
    /// The filter's `.wasm` is older than its sources.
    #[error("{path} is older than {newer} (stale build): {hint}")]
    WasmStale {
        /// The `.wasm`.
        path: PathBuf,
        /// A source file changed after the build.
        newer: PathBuf,
        /// How to rebuild it.
        hint: String,
    },
    /// The engine could not be created.
    #[error("cannot create the wasmtime engine: {0}")]
    Engine(String),
    /// The bytes are not a valid wasm module, or cranelift failed.
    #[error("cannot compile the wasm module: {0}")]
    Compile(String),
    /// The module does not follow proxy-wasm ABI 0.2.x: no ABI marker export,
    /// or an export with the wrong signature.
    #[error("not a proxy-wasm ABI 0.2.1 module: {0}")]
    Abi(String),
    /// Linking or instantiating failed (an import with an unexpected
    /// signature, memory limits, a trapping start function...).
    #[error("cannot instantiate the module: {0}")]
    Instantiate(String),
    /// The guest trapped (a panic, `unreachable`, an out-of-bounds access,
    /// fuel exhausted, `proc_exit`...).
    #[error("the guest trapped in {callback}: {message}{}", format_logs(.logs))]
    Trap {
        /// The callback that was running (`proxy_on_configure`, ...).
        callback: &'static str,
        /// wasmtime's description of the trap.
        message: String,
        /// The log lines of the failed operation (a Rust panic message is
        /// logged at `Critical` by the SDK's panic hook before the trap).
        logs: Vec<LogLine>,
    },
    /// A previous call trapped; the VM cannot run anything any more.
    #[error("the VM failed earlier (a call trapped) and cannot be used")]
    VmFailed,
    /// `proxy_on_vm_start` or `proxy_on_configure` returned false: Envoy
    /// would reject this plugin configuration, so it serves no request.
    #[error("the plugin is not configured (on_vm_start or on_configure returned false){}", format_logs(.logs))]
    NotConfigured {
        /// The log lines of the start (the filter's explanation).
        logs: Vec<LogLine>,
    },
}

fn format_logs(logs: &[LogLine]) -> String {
    if logs.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nguest logs:");
    for line in logs.iter().rev().take(20).rev() {
        out.push_str("\n  ");
        out.push_str(&line.to_string());
    }
    out
}
