//! One VM of the plugin ([`Vm`]), like the copy of the filter one Envoy worker runs: its options,
//! the guest exports it calls, start-up and configuration, and what it exposes to tests. Running an
//! HTTP exchange through it is in [`exchange`].

use std::time::Duration;

use wasmtime::{Instance, Store, TypedFunc, WasmParams, WasmResults};

use crate::abi::LogLevel;
use crate::error::HostError;
use crate::http::LogLine;
use crate::metrics::MetricValue;
use crate::state::{HostState, Phase};
use crate::{Clock, Metrics, SharedData};

mod exchange;

/// The root context's id; stream contexts count up from the next one.
pub(crate) const ROOT_CONTEXT_ID: u32 = 1;

/// Everything that distinguishes one VM (one Envoy worker's copy of the
/// plugin) from another.
///
/// Construct with struct-update syntax:
///
/// ```
/// use acepack_host_tests::{SharedData, VmOptions};
/// let shared = SharedData::new();
/// let opts = VmOptions {
///     plugin_config: b"...bundle bytes...".to_vec(),
///     shared: shared.clone(),
///     ..VmOptions::default()
/// };
/// assert_eq!(opts.vm_id, "acepack");
/// ```
#[derive(Debug, Clone)]
pub struct VmOptions {
    /// The plugin's `vm_id`: VMs with the same `vm_id` and the same
    /// [`SharedData`] see the same shared keys. Default `"acepack"`.
    pub vm_id: String,
    /// The plugin's `name` (property `plugin_name`). Default `"acepack"`.
    pub plugin_name: String,
    /// The plugin's `root_id` (property `plugin_root_id`). Default `""`.
    pub root_id: String,
    /// The plugin `configuration` bytes, passed to `proxy_on_configure`
    /// byte for byte (Envoy's `BytesValue`).
    pub plugin_config: Vec<u8>,
    /// The VM `configuration` bytes, for `proxy_on_vm_start`.
    pub vm_config: Vec<u8>,
    /// The shared data store (default: a fresh one).
    pub shared: SharedData,
    /// The clock (default: a fresh manual clock, see [`Clock::new`]).
    pub clock: Clock,
    /// Where metrics are recorded (default: a fresh store).
    pub metrics: Metrics,
    /// The proxy's log level: what `proxy_get_log_level` returns; lines below
    /// it are dropped, as Envoy drops them. Default `Trace` (keep all).
    pub log_level: LogLevel,
    /// Environment variables visible through WASI (Envoy's
    /// `environment_variables`). Default none.
    pub env: Vec<(String, String)>,
    /// Upper bound of the guest's linear memory; growing past it fails like
    /// an out-of-memory. Default `None`: the wasm32 limit (4 GiB).
    pub max_memory_bytes: Option<usize>,
    /// Seed of the deterministic bytes WASI `random_get` returns.
    pub random_seed: u64,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            vm_id: "acepack".into(),
            plugin_name: "acepack".into(),
            root_id: String::new(),
            plugin_config: Vec::new(),
            vm_config: Vec::new(),
            shared: SharedData::new(),
            clock: Clock::new(),
            metrics: Metrics::new(),
            log_level: LogLevel::Trace,
            env: Vec::new(),
            max_memory_bytes: None,
            random_seed: 0x5eed,
        }
    }
}

impl VmOptions {
    /// Default options with this plugin configuration.
    pub fn with_config(plugin_config: impl Into<Vec<u8>>) -> VmOptions {
        VmOptions {
            plugin_config: plugin_config.into(),
            ..VmOptions::default()
        }
    }
}

/// The guest's exports this host calls. Missing ones are skipped (the ABI
/// makes every callback optional); present ones must have the ABI signature.
pub(crate) struct Exports {
    pub(crate) alloc: Option<TypedFunc<i32, i32>>,
    initialize: Option<TypedFunc<(), ()>>,
    main: Option<TypedFunc<(i32, i32), i32>>,
    start: Option<TypedFunc<(), ()>>,
    on_context_create: Option<TypedFunc<(i32, i32), ()>>,
    on_vm_start: Option<TypedFunc<(i32, i32), i32>>,
    on_configure: Option<TypedFunc<(i32, i32), i32>>,
    on_tick: Option<TypedFunc<i32, ()>>,
    on_request_headers: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_request_body: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_response_headers: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_response_body: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_done: Option<TypedFunc<i32, i32>>,
    on_log: Option<TypedFunc<i32, ()>>,
    on_delete: Option<TypedFunc<i32, ()>>,
}

fn export<P: WasmParams, R: WasmResults>(
    instance: &Instance,
    store: &mut Store<HostState>,
    name: &str,
) -> Result<Option<TypedFunc<P, R>>, HostError> {
    match instance.get_func(&mut *store, name) {
        None => Ok(None),
        Some(f) => f
            .typed::<P, R>(&*store)
            .map(Some)
            .map_err(|e| HostError::Abi(format!("export {name}: {e:?}"))),
    }
}

impl Exports {
    pub(crate) fn resolve(instance: &Instance, store: &mut Store<HostState>) -> Result<Exports, HostError> {
        let alloc = match export(instance, store, "proxy_on_memory_allocate")? {
            Some(f) => Some(f),
            None => export(instance, store, "malloc")?,
        };
        Ok(Exports {
            alloc,
            initialize: export(instance, store, "_initialize")?,
            main: export(instance, store, "main")?,
            start: export(instance, store, "_start")?,
            on_context_create: export(instance, store, "proxy_on_context_create")?,
            on_vm_start: export(instance, store, "proxy_on_vm_start")?,
            on_configure: export(instance, store, "proxy_on_configure")?,
            on_tick: export(instance, store, "proxy_on_tick")?,
            on_request_headers: export(instance, store, "proxy_on_request_headers")?,
            on_request_body: export(instance, store, "proxy_on_request_body")?,
            on_response_headers: export(instance, store, "proxy_on_response_headers")?,
            on_response_body: export(instance, store, "proxy_on_response_body")?,
            on_done: export(instance, store, "proxy_on_done")?,
            on_log: export(instance, store, "proxy_on_log")?,
            on_delete: export(instance, store, "proxy_on_delete")?,
        })
    }
}

/// One instance of the plugin, like the copy of the filter one Envoy worker
/// thread runs.
///
/// A `Vm` is `Send`: move it to another thread, or run several VMs on several
/// threads with clones of one [`SharedData`]. Each VM is used by one thread at
/// a time (its methods take `&mut self`).
pub struct Vm {
    store: Store<HostState>,
    exports: Exports,
    fuel: Option<u64>,
    next_context_id: u32,
    vm_started: bool,
    configured: bool,
    failed: bool,
    fuel_used: u64,
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("vm_id", &self.store.data().plugin.vm_id)
            .field("configured", &self.configured)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Vm {
    /// A VM over an instantiated module, started as [`crate::Host::vm`] describes.
    pub(crate) fn boot(store: Store<HostState>, exports: Exports, fuel: Option<u64>) -> Result<Vm, HostError> {
        let mut vm = Vm {
            store,
            exports,
            fuel,
            next_context_id: ROOT_CONTEXT_ID + 1,
            vm_started: false,
            configured: false,
            failed: false,
            fuel_used: 0,
        };
        vm.start()?;
        Ok(vm)
    }

    fn start(&mut self) -> Result<(), HostError> {
        if let Some(init) = self.exports.initialize.clone() {
            self.call("_initialize", init, 0, Phase::Idle, ())?;
            if let Some(main) = self.exports.main.clone() {
                self.call("main", main, 0, Phase::Idle, (0, 0))?;
            }
        } else if let Some(start) = self.exports.start.clone() {
            self.call("_start", start, 0, Phase::Idle, ())?;
        }
        let root = ROOT_CONTEXT_ID as i32;
        if let Some(f) = self.exports.on_context_create.clone() {
            self.call("proxy_on_context_create", f, ROOT_CONTEXT_ID, Phase::Start, (root, 0))?;
        }
        let vm_config_len = self.store.data().plugin.vm_config.len() as i32;
        self.vm_started = match self.exports.on_vm_start.clone() {
            Some(f) => {
                self.call(
                    "proxy_on_vm_start",
                    f,
                    ROOT_CONTEXT_ID,
                    Phase::Start,
                    (root, vm_config_len),
                )? != 0
            }
            None => true,
        };
        if self.vm_started {
            self.configured = self.configure()?;
        }
        Ok(())
    }

    fn configure(&mut self) -> Result<bool, HostError> {
        let len = self.store.data().plugin.plugin_config.len() as i32;
        Ok(match self.exports.on_configure.clone() {
            Some(f) => {
                let root = ROOT_CONTEXT_ID as i32;
                self.call("proxy_on_configure", f, ROOT_CONTEXT_ID, Phase::Start, (root, len))? != 0
            }
            None => true,
        })
    }

    /// Runs one guest callback with the host state set up for it. A trap
    /// marks the VM failed.
    fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        callback: &'static str,
        func: TypedFunc<P, R>,
        context: u32,
        phase: Phase,
        params: P,
    ) -> Result<R, HostError> {
        if self.failed {
            return Err(HostError::VmFailed);
        }
        let state = self.store.data_mut();
        state.current_context = context;
        state.phase = phase;
        let mark = state.logs.len();
        if let Some(fuel) = self.fuel {
            // Cannot fail: metering is enabled whenever `fuel` is set.
            let _ = self.store.set_fuel(fuel);
            if let Some(marks) = &self.store.data().fuel_marks {
                marks.borrow_mut().push((callback, fuel));
            }
        }
        let result = func.call(&mut self.store, params);
        if let (Some(marks), Ok(left)) = (&self.store.data().fuel_marks, self.store.get_fuel()) {
            marks.borrow_mut().push(("(return)", left));
        }
        if let Some(fuel) = self.fuel {
            let left = self.store.get_fuel().unwrap_or(0);
            self.fuel_used = self.fuel_used.saturating_add(fuel.saturating_sub(left));
        }
        let state = self.store.data_mut();
        state.phase = Phase::Idle;
        state.current_context = 0;
        result.map_err(|e| {
            self.failed = true;
            let logs = self.store.data().logs.get(mark..).unwrap_or_default().to_vec();
            HostError::Trap {
                callback,
                message: format!("{e:?}"),
                logs,
            }
        })
    }

    /// Whether `proxy_on_vm_start` and `proxy_on_configure` both returned
    /// true (a module without those callbacks counts as configured).
    pub fn configured(&self) -> bool {
        self.configured
    }

    /// Whether `proxy_on_vm_start` returned true.
    pub fn vm_started(&self) -> bool {
        self.vm_started
    }

    /// Whether a call trapped: the VM refuses to run anything else.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Fuel (≈ wasm instructions) the guest used in the last [`Vm::reconfigure`], or so far in the
    /// last request; `None` unless the host meters fuel ([`HostOptions::fuel`]).
    pub fn fuel_consumed(&self) -> Option<u64> {
        self.fuel.map(|_| self.fuel_used)
    }

    /// The fuel notes of the last request (or reconfigure) when the host traces fuel
    /// ([`HostOptions::fuel_trace`]): `(event, fuel left)`, where an event is a callback's name
    /// when it starts (with the full budget), a host function's name when the guest calls it, and
    /// `(return)` when the callback returns. Consecutive differences are the guest's work between
    /// events. Empty otherwise.
    pub fn fuel_trace(&self) -> Vec<(&'static str, u64)> {
        self.store
            .data()
            .fuel_marks
            .as_ref()
            .map(|m| m.borrow().clone())
            .unwrap_or_default()
    }

    fn clear_fuel_trace(&mut self) {
        if let Some(marks) = &self.store.data().fuel_marks {
            marks.borrow_mut().clear();
        }
    }

    /// Calls `proxy_on_configure` again on the root context with a new
    /// plugin configuration, like a configuration update that keeps the VM
    /// (and, through the shared data, the rate-limit state). Returns what
    /// the guest returned, which also becomes [`Vm::configured`].
    pub fn reconfigure(&mut self, plugin_config: impl Into<Vec<u8>>) -> Result<bool, HostError> {
        self.store.data_mut().plugin.plugin_config = plugin_config.into();
        self.fuel_used = 0;
        self.clear_fuel_trace();
        let ok = self.configure()?;
        self.configured = ok && self.vm_started;
        Ok(ok)
    }

    /// Calls `proxy_on_tick` on the root context (whether or not the guest
    /// set a tick period; see [`Vm::tick_period`]).
    pub fn tick(&mut self) -> Result<(), HostError> {
        if let Some(f) = self.exports.on_tick.clone() {
            self.call("proxy_on_tick", f, ROOT_CONTEXT_ID, Phase::Root, ROOT_CONTEXT_ID as i32)?;
        }
        Ok(())
    }

    /// The tick period the guest asked for, if any.
    pub fn tick_period(&self) -> Option<Duration> {
        match self.store.data().tick_period_ms {
            0 => None,
            ms => Some(Duration::from_millis(u64::from(ms))),
        }
    }

    /// Log lines emitted outside requests (module start, configure, ticks)
    /// and not yet taken. A request's own lines are in its [`Outcome`].
    pub fn logs(&self) -> &[LogLine] {
        &self.store.data().logs
    }

    /// Removes and returns [`Vm::logs`].
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.store.data_mut().logs)
    }

    /// The metric called `name` in this VM's [`Metrics`].
    pub fn metric(&self, name: &str) -> Option<MetricValue> {
        self.store.data().metrics.get(name)
    }

    /// This VM's metrics store.
    pub fn metrics(&self) -> &Metrics {
        &self.store.data().metrics
    }

    /// This VM's shared data store.
    pub fn shared(&self) -> &SharedData {
        &self.store.data().shared
    }

    /// This VM's clock.
    pub fn clock(&self) -> &Clock {
        &self.store.data().clock
    }

    /// This VM's `vm_id`.
    pub fn vm_id(&self) -> &str {
        &self.store.data().plugin.vm_id
    }

    /// Current size of the guest's linear memory in bytes.
    pub fn memory_size(&self) -> usize {
        self.store.data().memory.map_or(0, |m| m.data_size(&self.store))
    }
}
