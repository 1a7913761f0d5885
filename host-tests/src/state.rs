//! Per-VM state the host functions work on (the wasmtime store's data).

use std::collections::HashMap;

use wasmtime::{Memory, StoreLimits, TypedFunc};

use crate::abi::{LogLevel, MetricKind};
use crate::http::{LocalResponse, LogLine, LogSource};
use crate::{Clock, Metrics, SharedData};

/// Which callback the guest is running: decides which buffers are readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// `_initialize`, `_start`, or between calls.
    Idle,
    /// Root context creation, `proxy_on_vm_start` or `proxy_on_configure`:
    /// the plugin configuration is readable (Envoy's `temp_plugin_`).
    Start,
    /// A root-context callback such as `proxy_on_tick`.
    Root,
    /// Any callback of the current HTTP stream.
    Stream,
}

/// A header map as the proxy holds it: lower-case names, raw values.
pub(crate) type HeaderMap = Vec<(Vec<u8>, Vec<u8>)>;

/// One HTTP stream's state.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    pub(crate) id: u32,
    pub(crate) request_headers: HeaderMap,
    /// Envoy's `request_headers_` is set: readable and writable.
    pub(crate) request_live: bool,
    pub(crate) response_headers: HeaderMap,
    pub(crate) response_live: bool,
    /// In `proxy_on_log`: both header maps are readable (not writable).
    pub(crate) access_log: bool,
    pub(crate) request_body: Option<Vec<u8>>,
    pub(crate) request_body_live: bool,
    pub(crate) response_body: Option<Vec<u8>>,
    pub(crate) response_body_live: bool,
    pub(crate) local_response: Option<LocalResponse>,
    pub(crate) continue_request: bool,
    pub(crate) reset: bool,
    pub(crate) done_pending: bool,
    pub(crate) source_address: String,
    pub(crate) destination_address: String,
    pub(crate) response_status: Option<u16>,
    pub(crate) properties: HashMap<Vec<String>, Vec<u8>>,
}

/// Static facts about the plugin, from `VmOptions`.
#[derive(Debug, Clone)]
pub(crate) struct PluginInfo {
    pub(crate) vm_id: String,
    pub(crate) plugin_name: String,
    pub(crate) root_id: String,
    pub(crate) plugin_config: Vec<u8>,
    pub(crate) vm_config: Vec<u8>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) log_level: LogLevel,
}

pub(crate) struct HostState {
    /// A process-unique id of this VM (never 0), for shared-data writers.
    pub(crate) instance: u64,
    pub(crate) memory: Option<Memory>,
    pub(crate) alloc: Option<TypedFunc<i32, i32>>,
    pub(crate) plugin: PluginInfo,
    pub(crate) shared: SharedData,
    pub(crate) clock: Clock,
    pub(crate) metrics: Metrics,
    /// Metric ids handed to the guest: id = ((index + 1) << 2) | kind.
    pub(crate) metric_defs: Vec<(String, MetricKind)>,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) tick_period_ms: u32,
    pub(crate) current_context: u32,
    pub(crate) root_context_id: u32,
    pub(crate) phase: Phase,
    pub(crate) stream: Option<Stream>,
    pub(crate) limits: StoreLimits,
    pub(crate) rng: u64,
    /// Fuel notes (see `Vm::fuel_trace`); `None` unless tracing.
    pub(crate) fuel_marks: Option<std::cell::RefCell<Vec<(&'static str, u64)>>>,
}

impl HostState {
    pub(crate) fn log(&mut self, level: LogLevel, message: String, source: LogSource) {
        if level < self.plugin.log_level && source != LogSource::Host {
            return;
        }
        self.logs.push(LogLine {
            level,
            message,
            context_id: self.current_context,
            source,
        });
    }

    pub(crate) fn host_note(&mut self, message: String) {
        self.log(LogLevel::Warn, format!("host: {message}"), LogSource::Host);
    }

    /// The stream the guest is running for, if it is running a stream callback.
    pub(crate) fn active_stream(&mut self) -> Option<&mut Stream> {
        let current = self.current_context;
        match (&mut self.stream, self.phase) {
            (Some(s), Phase::Stream) if s.id == current => Some(s),
            _ => None,
        }
    }

    /// splitmix64: deterministic "randomness" for `random_get`.
    pub(crate) fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
