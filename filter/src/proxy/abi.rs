//! The few proxy-wasm ABI 0.2.1 host calls the filter makes, declared directly so that every host
//! status becomes a `Result` (the SDK's wrappers panic on statuses they do not expect, and header
//! maps with non-UTF-8 bytes would panic in its parser). All `unsafe` of the filter lives here.

use std::ptr::{null, null_mut};

/// A host status other than `Ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

/// Status codes of ABI 0.2.1 that the filter distinguishes.
pub const OK: u32 = 0;
/// `NotFound`.
pub const NOT_FOUND: u32 = 1;
/// `CasMismatch`.
pub const CAS_MISMATCH: u32 = 8;

/// Header maps.
#[derive(Debug, Clone, Copy)]
#[repr(u32)]
pub enum Map {
    /// Request headers.
    RequestHeaders = 0,
    /// Response headers.
    ResponseHeaders = 2,
}

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_get_buffer_bytes(kind: u32, start: usize, max: usize, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_get_header_map_pairs(map: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_add_header_map_value(map: u32, k: *const u8, ks: usize, v: *const u8, vs: usize) -> u32;
    fn proxy_replace_header_map_value(map: u32, k: *const u8, ks: usize, v: *const u8, vs: usize) -> u32;
    fn proxy_remove_header_map_value(map: u32, k: *const u8, ks: usize) -> u32;
    fn proxy_get_property(path: *const u8, path_size: usize, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_get_shared_data(k: *const u8, ks: usize, data: *mut *mut u8, size: *mut usize, cas: *mut u32) -> u32;
    fn proxy_set_shared_data(k: *const u8, ks: usize, v: *const u8, vs: usize, cas: u32) -> u32;
    #[allow(clippy::too_many_arguments)]
    fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_define_metric(kind: u32, name: *const u8, name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_increment_metric(id: u32, offset: i64) -> u32;
}

fn check(status: u32) -> Result<(), Status> {
    if status == OK {
        Ok(())
    } else {
        Err(Status(status))
    }
}

/// Takes ownership of a host-returned buffer (allocated through `proxy_on_memory_allocate`).
fn owned(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        return Vec::new();
    }
    // SAFETY: the host filled `size` bytes of memory it obtained from the SDK's
    // `proxy_on_memory_allocate(size)`, which allocates exactly `size` bytes as a boxed slice.
    unsafe { Vec::from_raw_parts(data, size, size) }
}

/// Logs at `level` (0 trace … 4 error, 5 critical).
pub fn log(level: u32, message: &str) {
    // SAFETY: pointer and length describe a live `&str`.
    let _ = unsafe { proxy_log(level, message.as_ptr(), message.len()) };
}

/// The host's wall clock in microseconds.
pub fn now_us() -> Result<u64, Status> {
    let mut ns = 0u64;
    // SAFETY: the host writes one u64 to a live local.
    check(unsafe { proxy_get_current_time_nanoseconds(&mut ns) })?;
    Ok(ns / 1_000)
}

/// The plugin configuration bytes.
pub fn plugin_configuration() -> Result<Vec<u8>, Status> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: out-pointers to live locals; buffer type 7 is PluginConfiguration.
    let status = unsafe { proxy_get_buffer_bytes(7, 0, usize::MAX, &mut data, &mut size) };
    match status {
        OK => Ok(owned(data, size)),
        NOT_FOUND => Ok(Vec::new()),
        s => Err(Status(s)),
    }
}

/// A header map in the ABI's serialization, owned; parse it with [`pairs`].
pub fn header_map(map: Map) -> Result<Vec<u8>, Status> {
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: out-pointers to live locals.
    check(unsafe { proxy_get_header_map_pairs(map as u32, &mut data, &mut size) })?;
    Ok(owned(data, size))
}

/// Parses a serialized header map into `out`: `u32 count`, `count × (u32 name_len, u32 value_len)`,
/// then each name and value followed by a NUL. One pass, no allocation beyond `out`; malformed
/// input yields the pairs read so far.
pub fn pairs<'a, const N: usize>(buf: &'a [u8], out: &mut smallvec::SmallVec<[(&'a [u8], &'a [u8]); N]>) {
    let mut sizes = crate::bytes::Reader::new(buf);
    // The ABI's count is a fixed-width u32 (not the bundle's varint).
    let Ok(n) = sizes.u32("pairs") else { return };
    let n = n as usize;
    if n.checked_mul(8).is_none_or(|bytes| bytes > sizes.remaining()) {
        return;
    }
    let Some(data) = buf.get(4 + 8 * n..) else { return };
    let mut data = crate::bytes::Reader::new(data);
    for _ in 0..n {
        let (Ok(k), Ok(v)) = (sizes.u32("name size"), sizes.u32("value size")) else {
            return;
        };
        let Ok(name) = data.bytes(k as usize, "name") else {
            return;
        };
        let _ = data.bytes(1, "nul");
        let Ok(value) = data.bytes(v as usize, "value") else {
            return;
        };
        let _ = data.bytes(1, "nul");
        out.push((name, value));
    }
}

/// Adds a header value (keeps existing ones).
pub fn add_header(map: Map, name: &str, value: &str) -> Result<(), Status> {
    // SAFETY: pointers and lengths describe live `&str`s.
    check(unsafe { proxy_add_header_map_value(map as u32, name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}

/// Serializes header pairs in the ABI's format.
pub fn serialize(pairs: &[(&str, &str)]) -> Vec<u8> {
    let size = 4 + pairs.iter().map(|(k, v)| 10 + k.len() + v.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Sets a header, replacing existing values.
pub fn set_header(map: Map, name: &str, value: &str) -> Result<(), Status> {
    // SAFETY: pointers and lengths describe live `&str`s.
    check(unsafe { proxy_replace_header_map_value(map as u32, name.as_ptr(), name.len(), value.as_ptr(), value.len()) })
}

/// Removes a header (all values).
pub fn remove_header(map: Map, name: &[u8]) -> Result<(), Status> {
    // SAFETY: pointer and length describe a live slice.
    check(unsafe { proxy_remove_header_map_value(map as u32, name.as_ptr(), name.len()) })
}

/// A property, e.g. `["source", "address"]`; `None` when the host has none.
pub fn property(path: &[&str]) -> Result<Option<Vec<u8>>, Status> {
    let mut encoded = Vec::new();
    for p in path {
        encoded.extend_from_slice(p.as_bytes());
        encoded.push(0);
    }
    let (mut data, mut size) = (null_mut(), 0usize);
    // SAFETY: pointer/length of a live Vec; out-pointers to live locals.
    match unsafe { proxy_get_property(encoded.as_ptr(), encoded.len(), &mut data, &mut size) } {
        OK => Ok(Some(owned(data, size))),
        NOT_FOUND => Ok(None),
        s => Err(Status(s)),
    }
}

/// Shared data: value and CAS, or `None` when the key does not exist.
pub fn get_shared(key: &[u8]) -> Result<Option<(Vec<u8>, u32)>, Status> {
    let (mut data, mut size, mut cas) = (null_mut(), 0usize, 0u32);
    // SAFETY: pointer/length of a live slice; out-pointers to live locals.
    match unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) } {
        OK => Ok(Some((owned(data, size), cas))),
        NOT_FOUND => Ok(None),
        s => Err(Status(s)),
    }
}

/// Shared data: conditional set (`cas` 0 = unconditional).
pub fn set_shared(key: &[u8], value: &[u8], cas: u32) -> Result<(), Status> {
    // SAFETY: pointers and lengths describe live slices.
    check(unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) })
}

/// Sends a local response; the stream stops here.
pub fn send_response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Result<(), Status> {
    let headers = serialize(headers);
    // SAFETY: pointers and lengths describe live buffers; no details string; -1 = not gRPC.
    check(unsafe {
        proxy_send_local_response(
            u32::from(status),
            null(),
            0,
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    })
}

/// Defines a counter metric and returns its id.
pub fn define_counter(name: &str) -> Result<u32, Status> {
    let mut id = 0u32;
    // SAFETY: pointer/length of a live `&str`; out-pointer to a live local. Kind 0 = counter.
    check(unsafe { proxy_define_metric(0, name.as_ptr(), name.len(), &mut id) })?;
    Ok(id)
}

/// Adds `offset` to a metric.
pub fn increment(id: u32, offset: i64) {
    // SAFETY: plain values.
    let _ = unsafe { proxy_increment_metric(id, offset) };
}
