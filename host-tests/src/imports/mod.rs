//! The functions the host exposes to the guest: proxy-wasm ABI 0.2.1 (`env`)
//! and the WASI preview1 subset a Rust `wasm32-wasip1` module imports.
//!
//! Every guest pointer is bounds-checked against the guest's memory. A bad
//! pointer gives `INVALID_MEMORY_ACCESS` (proxy-wasm) or `EFAULT` (WASI) and
//! never a host panic. A host function only traps when the guest itself
//! trapped underneath it (its allocator, called to return data), or for
//! `proc_exit`.

mod proxy;
mod wasi;

use std::collections::HashSet;

use wasmtime::{Caller, ExternType, IntoFunc, Linker, Memory, Module, Val, ValType};

use crate::abi::{errno, Status};
use crate::state::HostState;

/// Why a host function stopped early.
pub(crate) enum Fault {
    /// Return this proxy-wasm status.
    Status(Status),
    /// Return this WASI errno.
    Errno(i32),
    /// The guest trapped inside a call the host made (its allocator).
    Trap(wasmtime::Error),
}

impl From<Status> for Fault {
    fn from(status: Status) -> Fault {
        Fault::Status(status)
    }
}

pub(crate) type HResult<T = ()> = Result<T, Fault>;

/// Converts a host function's result to the proxy-wasm status it returns.
pub(crate) fn proxy_status(result: HResult) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(0),
        Err(Fault::Status(s)) => Ok(s.code() as i32),
        Err(Fault::Errno(e)) => Ok(e),
        Err(Fault::Trap(e)) => Err(e),
    }
}

/// Converts a host function's result to the WASI errno it returns.
pub(crate) fn wasi_errno(result: HResult) -> wasmtime::Result<i32> {
    match result {
        Ok(()) => Ok(errno::SUCCESS),
        Err(Fault::Status(Status::InvalidMemoryAccess)) => Ok(errno::FAULT),
        Err(Fault::Status(_)) => Ok(errno::INVAL),
        Err(Fault::Errno(e)) => Ok(e),
        Err(Fault::Trap(e)) => Err(e),
    }
}

fn memory(caller: &Caller<'_, HostState>) -> HResult<Memory> {
    caller.data().memory.ok_or(Fault::Status(Status::InvalidMemoryAccess))
}

/// `(start, end)` of a guest range, or `InvalidMemoryAccess` when it does not
/// fit in the guest's memory. Pointers and sizes are wasm32 `u32`s.
fn span(caller: &Caller<'_, HostState>, ptr: i32, len: usize) -> HResult<(Memory, usize, usize)> {
    let mem = memory(caller)?;
    let start = ptr as u32 as usize;
    let end = start
        .checked_add(len)
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))?;
    if end > mem.data_size(caller) {
        return Err(Fault::Status(Status::InvalidMemoryAccess));
    }
    Ok((mem, start, end))
}

/// Copies `len` bytes at `ptr` out of the guest.
pub(crate) fn read(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> HResult<Vec<u8>> {
    let (mem, start, end) = span(caller, ptr, len as u32 as usize)?;
    mem.data(caller)
        .get(start..end)
        .map(<[u8]>::to_vec)
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))
}

/// Fails unless `len` bytes at `ptr` are inside the guest's memory.
pub(crate) fn check(caller: &Caller<'_, HostState>, ptr: i32, len: usize) -> HResult {
    span(caller, ptr, len).map(|_| ())
}

/// Writes `data` at `ptr` in the guest.
pub(crate) fn write(caller: &mut Caller<'_, HostState>, ptr: i32, data: &[u8]) -> HResult {
    let (mem, start, end) = span(caller, ptr, data.len())?;
    mem.data_mut(caller)
        .get_mut(start..end)
        .ok_or(Fault::Status(Status::InvalidMemoryAccess))?
        .copy_from_slice(data);
    Ok(())
}

pub(crate) fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, value: u32) -> HResult {
    write(caller, ptr, &value.to_le_bytes())
}

pub(crate) fn write_u64(caller: &mut Caller<'_, HostState>, ptr: i32, value: u64) -> HResult {
    write(caller, ptr, &value.to_le_bytes())
}

/// Returns `bytes` to the guest the proxy-wasm way: memory obtained from the
/// guest's `proxy_on_memory_allocate` (the guest frees it), its address
/// written at `ptr_ptr` and its size at `size_ptr`. Empty data is returned as
/// address 0 and size 0 without allocating, as Envoy does.
pub(crate) fn copy_out(caller: &mut Caller<'_, HostState>, bytes: &[u8], ptr_ptr: i32, size_ptr: i32) -> HResult {
    // Check the out-pointers first so that a bad one does not leak guest memory.
    check(caller, ptr_ptr, 4)?;
    check(caller, size_ptr, 4)?;
    let size = u32::try_from(bytes.len()).map_err(|_| Fault::Status(Status::InternalFailure))?;
    let address = if bytes.is_empty() {
        0
    } else {
        let alloc = caller
            .data()
            .alloc
            .clone()
            .ok_or(Fault::Status(Status::InvalidMemoryAccess))?;
        let address = alloc.call(&mut *caller, size as i32).map_err(Fault::Trap)?;
        if address == 0 {
            return Err(Fault::Status(Status::InvalidMemoryAccess));
        }
        write(caller, address, bytes)?;
        address as u32
    };
    write_u32(caller, ptr_ptr, address)?;
    write_u32(caller, size_ptr, size)
}

/// A linker that remembers which imports it defines.
pub(crate) struct Defs<'a> {
    linker: &'a mut Linker<HostState>,
    names: HashSet<(&'static str, &'static str)>,
}

impl Defs<'_> {
    pub(crate) fn wrap<Params, Args>(
        &mut self,
        module: &'static str,
        name: &'static str,
        func: impl IntoFunc<HostState, Params, Args>,
    ) -> wasmtime::Result<()> {
        self.linker.func_wrap(module, name, func)?;
        self.names.insert((module, name));
        Ok(())
    }
}

/// Defines every host function, then a stub for each function the module
/// imports that this host does not implement: a proxy-wasm one returns
/// `UNIMPLEMENTED`, a WASI one `ENOSYS`, anything else zeros; each call is
/// logged as a host note.
pub(crate) fn link(linker: &mut Linker<HostState>, module: &Module) -> wasmtime::Result<()> {
    let mut defs = Defs {
        linker,
        names: HashSet::new(),
    };
    proxy::define(&mut defs)?;
    wasi::define(&mut defs)?;
    let Defs { linker, names } = defs;
    for import in module.imports() {
        let ExternType::Func(ty) = import.ty() else {
            continue;
        };
        if names.contains(&(import.module(), import.name())) {
            continue;
        }
        let label = format!("{}.{}", import.module(), import.name());
        let status = match import.module() {
            "env" => Status::Unimplemented.code() as i32,
            "wasi_snapshot_preview1" | "wasi_unstable" => errno::NOSYS,
            _ => 0,
        };
        let defaults: Vec<Val> = ty
            .results()
            .enumerate()
            .map(|(i, t)| match t {
                ValType::I64 => Val::I64(0),
                ValType::F32 => Val::F32(0),
                ValType::F64 => Val::F64(0),
                _ if i == 0 => Val::I32(status),
                _ => Val::I32(0),
            })
            .collect();
        linker.func_new(
            import.module(),
            import.name(),
            ty.clone(),
            move |mut caller, _params, results| {
                caller
                    .data_mut()
                    .host_note(format!("call to unimplemented import {label}"));
                for (slot, value) in results.iter_mut().zip(&defaults) {
                    *slot = *value;
                }
                Ok(())
            },
        )?;
    }
    Ok(())
}
