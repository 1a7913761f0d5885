//! The engine, the compiled module, and the VMs instantiated from it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{
    Config, Engine, Instance, InstancePre, Linker, Module, OptLevel, Store, StoreLimits, StoreLimitsBuilder, TypedFunc,
    WasmParams, WasmResults,
};

use crate::abi::{Action, LogLevel};
use crate::error::HostError;
use crate::http::{Headers, LocalResponse, LogLine, Outcome, Request};
use crate::metrics::MetricValue;
use crate::state::{HeaderMap, HostState, Phase, PluginInfo, Stream};
use crate::{Clock, Metrics, SharedData};

/// How the module is compiled and run.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Let cranelift optimize the guest code (default `true`, like Envoy's
    /// optimizing runtimes). `false` compiles faster and runs slower.
    pub optimize: bool,
    /// Meter the guest: every callback gets this much fuel (≈ one unit per
    /// wasm instruction), running out is a trap, and
    /// [`Outcome::fuel_consumed`] reports what a request used. `None` (the
    /// default) disables metering, which runs faster.
    pub fuel: Option<u64>,
    /// With `fuel`: note the guest's fuel at every callback entry and exit and at every proxy-wasm
    /// host call, for [`Vm::fuel_trace`] — where a request's guest work goes, host call by host
    /// call. Off by default.
    pub fuel_trace: bool,
    /// A directory where compiled code is kept and reused by the next
    /// [`Host`] created from the same bytes with the same options (and the
    /// same wasmtime): compiling a real filter takes seconds in a debug
    /// build, loading it back milliseconds. `None` (the default) compiles
    /// every time. A stale or foreign file is ignored and replaced.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            optimize: true,
            fuel: None,
            fuel_trace: false,
            cache_dir: None,
        }
    }
}

/// A compiled proxy-wasm module, ready to start VMs.
///
/// Compiling is the expensive part (seconds for a real filter in a debug
/// build); do it once per test binary and start as many [`Vm`]s as needed.
/// `Host` is cheap to clone and can be shared across threads.
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

struct HostInner {
    engine: Engine,
    module: Module,
    pre: InstancePre<HostState>,
    options: HostOptions,
    source: Option<PathBuf>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("source", &self.inner.source)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Host {
    /// Compiles the `.wasm` at `path` with [`HostOptions::default`].
    pub fn load(path: impl AsRef<Path>) -> Result<Host, HostError> {
        Host::load_with(path, HostOptions::default())
    }

    /// Compiles the `.wasm` at `path`.
    pub fn load_with(path: impl AsRef<Path>, options: HostOptions) -> Result<Host, HostError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| HostError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut host = Host::from_bytes(&bytes, options)?;
        if let Some(inner) = Arc::get_mut(&mut host.inner) {
            inner.source = Some(path.to_owned());
        }
        Ok(host)
    }

    /// Compiles a module from its binary form.
    ///
    /// The module must export `proxy_abi_version_0_2_1` (or `..._0_2_0`).
    /// Every import it has is linked: the ABI 0.2.1 functions and the WASI
    /// ones are implemented, anything else gets a stub that returns
    /// `UNIMPLEMENTED` / `ENOSYS` and logs a host note when called.
    pub fn from_bytes(wasm: &[u8], options: HostOptions) -> Result<Host, HostError> {
        let mut config = Config::new();
        config.cranelift_opt_level(if options.optimize {
            OptLevel::Speed
        } else {
            OptLevel::None
        });
        config.consume_fuel(options.fuel.is_some());
        let engine = Engine::new(&config).map_err(|e| HostError::Engine(format!("{e:?}")))?;
        let module = compile(&engine, wasm, &options)?;
        let has_marker = module
            .exports()
            .any(|e| e.name() == "proxy_abi_version_0_2_1" || e.name() == "proxy_abi_version_0_2_0");
        if !has_marker {
            return Err(HostError::Abi(
                "the module exports no proxy_abi_version_0_2_1 function".into(),
            ));
        }
        let mut linker = Linker::new(&engine);
        crate::imports::link(&mut linker, &module).map_err(|e| HostError::Instantiate(format!("{e:?}")))?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| HostError::Instantiate(format!("{e:?}")))?;
        Ok(Host {
            inner: Arc::new(HostInner {
                engine,
                module,
                pre,
                options,
                source: None,
            }),
        })
    }

    /// The module's imports as `(module, name)`, for diagnostics.
    pub fn imports(&self) -> Vec<(String, String)> {
        self.inner
            .module
            .imports()
            .map(|i| (i.module().to_owned(), i.name().to_owned()))
            .collect()
    }

    /// The options the module was compiled with.
    pub fn options(&self) -> &HostOptions {
        &self.inner.options
    }

    /// Starts a VM the way Envoy starts a plugin on a worker:
    ///
    /// 1. instantiates the module and runs `_initialize` (then `main`, if
    ///    exported) or else `_start`;
    /// 2. creates the root context (id 1) with `proxy_on_context_create(1, 0)`;
    /// 3. calls `proxy_on_vm_start(1, vm_config.len())`;
    /// 4. calls `proxy_on_configure(1, plugin_config.len())` (only when
    ///    `on_vm_start` returned true).
    ///
    /// Returns `Ok` whether or not the guest accepted its configuration: check
    /// [`Vm::configured`] (or use [`Host::configured_vm`]). A trap in any of
    /// these steps is [`HostError::Trap`].
    pub fn vm(&self, options: VmOptions) -> Result<Vm, HostError> {
        let limits = match options.max_memory_bytes {
            Some(bytes) => StoreLimitsBuilder::new().memory_size(bytes).build(),
            None => StoreLimits::default(),
        };
        static NEXT_INSTANCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let state = HostState {
            instance: NEXT_INSTANCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            memory: None,
            alloc: None,
            plugin: PluginInfo {
                vm_id: options.vm_id,
                plugin_name: options.plugin_name,
                root_id: options.root_id,
                plugin_config: options.plugin_config,
                vm_config: options.vm_config,
                env: options.env,
                log_level: options.log_level,
            },
            shared: options.shared,
            clock: options.clock,
            metrics: options.metrics,
            metric_defs: Vec::new(),
            logs: Vec::new(),
            tick_period_ms: 0,
            current_context: 0,
            root_context_id: ROOT_CONTEXT_ID,
            phase: Phase::Idle,
            stream: None,
            limits,
            rng: options.random_seed,
            fuel_marks: (self.inner.options.fuel.is_some() && self.inner.options.fuel_trace)
                .then(|| std::cell::RefCell::new(Vec::new())),
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limits);
        if let Some(fuel) = self.inner.options.fuel {
            store.set_fuel(fuel).map_err(|e| HostError::Engine(format!("{e:?}")))?;
        }
        let instance = self.inner.pre.instantiate(&mut store).map_err(|e| {
            let logs = store.data().logs.clone();
            HostError::Trap {
                callback: "instantiation",
                message: format!("{e:?}"),
                logs,
            }
        })?;
        let exports = Exports::resolve(&instance, &mut store)?;
        store.data_mut().memory = instance.get_memory(&mut store, "memory");
        store.data_mut().alloc = exports.alloc.clone();
        let mut vm = Vm {
            store,
            exports,
            fuel: self.inner.options.fuel,
            next_context_id: ROOT_CONTEXT_ID + 1,
            vm_started: false,
            configured: false,
            failed: false,
            fuel_used: 0,
        };
        vm.start()?;
        Ok(vm)
    }

    /// Like [`Host::vm`], but a plugin that rejects its configuration is
    /// [`HostError::NotConfigured`] (carrying its log lines).
    pub fn configured_vm(&self, options: VmOptions) -> Result<Vm, HostError> {
        let vm = self.vm(options)?;
        if vm.configured() {
            Ok(vm)
        } else {
            Err(HostError::NotConfigured {
                logs: vm.logs().to_vec(),
            })
        }
    }
}

const ROOT_CONTEXT_ID: u32 = 1;

/// Compiles `wasm`, or loads the code a previous compilation left in
/// `options.cache_dir`.
fn compile(engine: &Engine, wasm: &[u8], options: &HostOptions) -> Result<Module, HostError> {
    let Some(dir) = &options.cache_dir else {
        return Module::new(engine, wasm).map_err(|e| HostError::Compile(format!("{e:?}")));
    };
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(wasm);
    hasher.update(format!("{}|{:?}", options.optimize, options.fuel.is_some()).as_bytes());
    let key: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let file = dir.join(format!("{key}.cwasm"));
    if file.is_file() {
        // SAFETY: the file is one this function wrote with `Module::serialize`
        // for these exact bytes and options, in a directory the test setup
        // owns; wasmtime still checks that it was produced by a compatible
        // engine and configuration, and rejects it otherwise.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &file) } {
            return Ok(module);
        }
    }
    let module = Module::new(engine, wasm).map_err(|e| HostError::Compile(format!("{e:?}")))?;
    if let Ok(bytes) = module.serialize() {
        // Best effort: write to a unique temporary name, then rename, so that
        // concurrent test processes never see a partial file.
        let tmp = dir.join(format!("{key}.{}.tmp", std::process::id()));
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, &file));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        prune_cache(dir, 8);
    }
    Ok(module)
}

/// Keeps the `keep` most recent compiled modules of the cache directory.
fn prune_cache(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(keep);
    for (_, path) in files.into_iter().take(excess) {
        let _ = std::fs::remove_file(path);
    }
}

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
struct Exports {
    alloc: Option<TypedFunc<i32, i32>>,
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
    fn resolve(instance: &Instance, store: &mut Store<HostState>) -> Result<Exports, HostError> {
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

    /// Runs one HTTP exchange through the filter, in Envoy's order:
    ///
    /// 1. `proxy_on_context_create(id, root)` for a new context id;
    /// 2. `proxy_on_request_headers(id, n, end_of_stream)` — the request
    ///    headers are readable and writable;
    /// 3. when the request has a body and the filter continued:
    ///    `proxy_on_request_body(id, len, true)`;
    /// 4. the response: when the filter sent a local response, Envoy runs the
    ///    filter's response callbacks **on the local response** too, so
    ///    `proxy_on_response_headers` sees `:status`, the local response's
    ///    headers, `content-length` and (for a non-empty body without one)
    ///    `content-type: text/plain`; when the request was forwarded, it sees
    ///    `:status` plus [`Request::response_headers`]; when the filter paused
    ///    or reset the request, there is no response;
    /// 5. `proxy_on_log(id)` (both header maps readable), then
    ///    `proxy_on_done(id)` and `proxy_on_delete(id)`.
    ///
    /// As in Envoy, after a callback returns `Continue` its header map is gone:
    /// reading a request header from `proxy_on_response_headers` of a
    /// forwarded request gives `BAD_ARGUMENT` (the Rust SDK's
    /// `get_http_request_header` panics on it) and the whole map reads empty.
    pub fn request(&mut self, request: &Request) -> Result<Outcome, HostError> {
        if self.failed {
            return Err(HostError::VmFailed);
        }
        if !self.configured {
            return Err(HostError::NotConfigured {
                logs: self.logs().to_vec(),
            });
        }
        let id = self.next_context_id;
        self.next_context_id = self.next_context_id.checked_add(1).unwrap_or(ROOT_CONTEXT_ID + 1);
        let mark = self.store.data().logs.len();
        self.fuel_used = 0;
        self.clear_fuel_trace();
        self.store.data_mut().stream = Some(Stream {
            id,
            request_headers: lower(&request.headers),
            source_address: request.source_address.clone(),
            destination_address: request.destination_address.clone(),
            properties: request.properties.iter().cloned().collect(),
            ..Stream::default()
        });
        let result = self.run_stream(id, request);
        let stream = self.store.data_mut().stream.take().unwrap_or_default();
        let logs: Vec<LogLine> = if self.failed {
            Vec::new()
        } else {
            self.store.data_mut().logs.drain(mark..).collect()
        };
        let steps = result?;
        Ok(Outcome {
            context_id: id,
            action: steps.action,
            body_action: steps.body_action,
            local_response: stream.local_response,
            forwarded: steps.forwarded,
            reset: stream.reset,
            request_headers: named(&stream.request_headers),
            request_body: stream.request_body,
            response_action: steps.response_action,
            response_headers: named(&stream.response_headers),
            logs,
            fuel_consumed: self.fuel.map(|_| self.fuel_used),
        })
    }

    fn stream(&mut self) -> &mut Stream {
        self.store.data_mut().stream.get_or_insert_with(Stream::default)
    }

    fn run_stream(&mut self, id: u32, request: &Request) -> Result<Steps, HostError> {
        let root = ROOT_CONTEXT_ID as i32;
        let ctx = id as i32;
        if let Some(f) = self.exports.on_context_create.clone() {
            self.call("proxy_on_context_create", f, id, Phase::Stream, (ctx, root))?;
        }

        // Request headers.
        let body = request.body.clone().filter(|b| !b.is_empty());
        let n = self.stream().request_headers.len() as i32;
        self.stream().request_live = true;
        let action = match self.exports.on_request_headers.clone() {
            Some(f) => Action::from_raw(self.call(
                "proxy_on_request_headers",
                f,
                id,
                Phase::Stream,
                (ctx, n, i32::from(body.is_none())),
            )? as u32),
            None => Action::Continue,
        };
        let s = self.stream();
        if action == Action::Continue && s.local_response.is_none() {
            s.request_live = false;
        }
        let mut proceed = s.local_response.is_none() && !s.reset && (action == Action::Continue || s.continue_request);

        // Request body.
        let mut body_action = None;
        if let (true, Some(body)) = (proceed, body) {
            let len = body.len() as i32;
            let s = self.stream();
            s.request_body = Some(body);
            s.request_body_live = true;
            let a = match self.exports.on_request_body.clone() {
                Some(f) => {
                    Action::from_raw(self.call("proxy_on_request_body", f, id, Phase::Stream, (ctx, len, 1))? as u32)
                }
                None => Action::Continue,
            };
            let s = self.stream();
            if a == Action::Continue {
                s.request_body_live = false;
            }
            proceed = s.local_response.is_none() && !s.reset && (a == Action::Continue || s.continue_request);
            body_action = Some(a);
        }

        // Response: the local one, the upstream's, or none.
        let s = self.stream();
        let (response, response_body) = match (&s.local_response, proceed && !s.reset) {
            (Some(local), _) => (Some(local_reply_headers(local)), Some(local.body.clone())),
            (None, true) => {
                let mut headers = vec![(b":status".to_vec(), request.response_status.to_string().into_bytes())];
                headers.extend(lower(&request.response_headers));
                (Some(headers), request.response_body.clone())
            }
            (None, false) => (None, None),
        };
        let had_local = s.local_response.is_some();
        let mut response_action = None;
        if let Some(headers) = response {
            let status = headers
                .first()
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
                .and_then(|v| v.parse().ok());
            let response_body = response_body.filter(|b| !b.is_empty());
            let s = self.stream();
            s.response_status = status;
            s.response_headers = headers;
            s.response_live = true;
            let n = s.response_headers.len() as i32;
            let a = match self.exports.on_response_headers.clone() {
                Some(f) => Action::from_raw(self.call(
                    "proxy_on_response_headers",
                    f,
                    id,
                    Phase::Stream,
                    (ctx, n, i32::from(response_body.is_none())),
                )? as u32),
                None => Action::Continue,
            };
            response_action = Some(a);
            let s = self.stream();
            if a == Action::Continue {
                s.response_live = false;
            }
            if let (false, Some(local)) = (had_local, &s.local_response) {
                // A local response sent from the response path replaces it.
                s.response_headers = local_reply_headers(local);
                s.response_status = Some(local.status as u16);
            } else if let (Action::Continue, Some(body)) = (a, response_body) {
                let len = body.len() as i32;
                s.response_body = Some(body);
                s.response_body_live = true;
                if let Some(f) = self.exports.on_response_body.clone() {
                    self.call("proxy_on_response_body", f, id, Phase::Stream, (ctx, len, 1))?;
                }
                self.stream().response_body_live = false;
            }
        }

        // End of stream: access log, then destroy.
        self.stream().access_log = true;
        if let Some(f) = self.exports.on_log.clone() {
            self.call("proxy_on_log", f, id, Phase::Stream, ctx)?;
        }
        self.stream().access_log = false;
        if let Some(f) = self.exports.on_done.clone() {
            let done = self.call("proxy_on_done", f, id, Phase::Stream, ctx)?;
            self.stream().done_pending = done == 0;
        }
        if let Some(f) = self.exports.on_delete.clone() {
            self.call("proxy_on_delete", f, id, Phase::Stream, ctx)?;
        }
        let s = self.stream();
        Ok(Steps {
            action,
            body_action,
            forwarded: s.local_response.is_none() && !s.reset && proceed,
            response_action,
        })
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

struct Steps {
    action: Action,
    body_action: Option<Action>,
    forwarded: bool,
    response_action: Option<Action>,
}

/// Envoy's local reply: `:status`, the filter's headers, and for a non-empty
/// body `content-length` plus `content-type: text/plain` unless set.
fn local_reply_headers(local: &LocalResponse) -> HeaderMap {
    let mut headers = vec![(b":status".to_vec(), local.status.to_string().into_bytes())];
    headers.extend(lower(&local.headers));
    if !local.body.is_empty() {
        headers.retain(|(k, _)| k != b"content-length");
        headers.push((b"content-length".to_vec(), local.body.len().to_string().into_bytes()));
        if !headers.iter().any(|(k, _)| k == b"content-type") {
            headers.push((b"content-type".to_vec(), b"text/plain".to_vec()));
        }
    }
    headers
}

fn lower(headers: &Headers) -> HeaderMap {
    headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase().into_bytes(), v.clone()))
        .collect()
}

fn named(headers: &HeaderMap) -> Headers {
    headers
        .iter()
        .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), v.clone()))
        .collect()
}
