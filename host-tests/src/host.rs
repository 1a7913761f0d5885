//! The engine and the compiled module: [`Host`] compiles a filter once and starts [`Vm`]s from it
//! (the VM itself is in [`crate::vm`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::{Config, Engine, InstancePre, Linker, Module, OptLevel, Store, StoreLimits, StoreLimitsBuilder};

use crate::error::HostError;
use crate::state::{HostState, Phase, PluginInfo};
use crate::vm::{Exports, Vm, VmOptions, ROOT_CONTEXT_ID};

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
        // For profilers: the JIT code's function names in /tmp/perf-PID.map
        // (benches/envoy/footprint.py reads them).
        if std::env::var_os("ACEPACK_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        config.cranelift_opt_level(if options.optimize {
            OptLevel::Speed
        } else {
            OptLevel::None
        });
        config.consume_fuel(options.fuel.is_some());
        let engine = Engine::new(&config).map_err(|e| HostError::Engine(format!("{e:?}")))?;
        let module = compile(&engine, wasm, &options)?;
        if let Some(path) = std::env::var_os("ACEPACK_ADDRMAP") {
            write_address_map(&module, std::path::Path::new(&path));
        }
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
        Vm::boot(store, exports, self.inner.options.fuel)
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

/// For profilers (benches/envoy/footprint.py `--source`): one line per JIT instruction the
/// module's address map knows, `NATIVE-ADDRESS WASM-OFFSET` in hex (the offset in the `.wasm`
/// file), so sampled native addresses can be traced back to wasm and, through DWARF, to source.
/// Best effort: a profiling aid never fails a host.
fn write_address_map(module: &Module, path: &std::path::Path) {
    use std::fmt::Write as _;
    let base = module.text().as_ptr() as usize;
    let mut out = String::new();
    for (native, wasm) in module.address_map().into_iter().flatten() {
        if let Some(offset) = wasm {
            let _ = writeln!(out, "{:x} {offset:x}", base + native);
        }
    }
    let _ = std::fs::write(path, out);
}

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
