//! What the proxy-wasm host calls of [`super`] do with the host state: logging, header maps and
//! buffers as the current phase allows them, local responses, metrics and properties.

use super::C;
use crate::abi::{buffer_type, deserialize_pairs, map_type, LogLevel, MetricKind, Status};
use crate::http::{LocalResponse, LogSource};
use crate::imports::{copy_out, read, HResult};
use crate::state::{HeaderMap, HostState, Phase};

pub(super) fn log(mut c: C<'_>, level: i32, ptr: i32, len: i32) -> HResult {
    let level = LogLevel::from_raw(level as u32).ok_or(Status::BadArgument)?;
    let message = String::from_utf8_lossy(&read(&c, ptr, len)?).into_owned();
    c.data_mut().log(level, message, LogSource::ProxyLog);
    Ok(())
}

pub(super) fn map_in_range(map: u32) -> HResult {
    if map > map_type::MAX {
        return Err(Status::BadArgument.into());
    }
    Ok(())
}

/// The map the guest may read (a copy), `None` when the proxy has none at
/// this point (Envoy: `get_header_map_pairs` then returns an empty map and
/// `get_header_map_value` `BAD_ARGUMENT`).
pub(super) fn readable_map(c: &mut C<'_>, map: u32) -> HResult<Option<HeaderMap>> {
    map_in_range(map)?;
    let Some(s) = c.data_mut().active_stream() else {
        return Ok(None);
    };
    Ok(match map {
        map_type::HTTP_REQUEST_HEADERS if s.request_live || s.access_log => Some(s.request_headers.clone()),
        map_type::HTTP_RESPONSE_HEADERS if s.response_live || s.access_log => Some(s.response_headers.clone()),
        _ => None,
    })
}

/// The map the guest may change, or `BAD_ARGUMENT` (Envoy: the map pointer is
/// only set while its callback runs, or while the filter holds the stream
/// paused from it).
pub(super) fn writable_map<'a>(c: &'a mut C<'_>, map: u32) -> HResult<&'a mut HeaderMap> {
    map_in_range(map)?;
    let s = c.data_mut().active_stream().ok_or(Status::BadArgument)?;
    match map {
        map_type::HTTP_REQUEST_HEADERS if s.request_live => Ok(&mut s.request_headers),
        map_type::HTTP_RESPONSE_HEADERS if s.response_live => Ok(&mut s.response_headers),
        _ => Err(Status::BadArgument.into()),
    }
}

/// A copy of buffer `ty`: `Ok(None)` when it exists but is empty/absent at
/// this point, `NotFound` when the proxy has no such buffer now.
pub(super) fn buffer(c: &mut C<'_>, ty: u32) -> HResult<Option<Vec<u8>>> {
    if ty > buffer_type::MAX {
        return Err(Status::BadArgument.into());
    }
    let s = c.data_mut();
    match ty {
        buffer_type::VM_CONFIGURATION => Ok(Some(s.plugin.vm_config.clone())),
        buffer_type::PLUGIN_CONFIGURATION if s.phase == Phase::Start => Ok(Some(s.plugin.plugin_config.clone())),
        buffer_type::PLUGIN_CONFIGURATION | buffer_type::HTTP_CALL_RESPONSE_BODY => Err(Status::NotFound.into()),
        buffer_type::HTTP_REQUEST_BODY => Ok(s
            .active_stream()
            .filter(|st| st.request_body_live)
            .and_then(|st| st.request_body.clone())),
        buffer_type::HTTP_RESPONSE_BODY => Ok(s
            .active_stream()
            .filter(|st| st.response_body_live)
            .and_then(|st| st.response_body.clone())),
        _ => Ok(None),
    }
}

pub(super) fn get_buffer_bytes(mut c: C<'_>, ty: u32, start: u32, max: u32, pp: i32, sp: i32) -> HResult {
    let data = buffer(&mut c, ty)?.unwrap_or_default();
    let start = start as usize;
    if start > data.len() {
        return Err(Status::BadArgument.into());
    }
    let len = (max as usize).min(data.len() - start);
    if len == 0 {
        // Envoy returns OK without writing the out-pointers.
        return Ok(());
    }
    let slice = data.get(start..start + len).ok_or(Status::BadArgument)?;
    copy_out(&mut c, slice, pp, sp)
}

/// Envoy's `Buffer::copyFrom`: prepend (`start = 0, size = 0`), replace all
/// (`start = 0, size >= len`), append (`start >= len`); anything else is
/// `BAD_ARGUMENT`. Only the HTTP bodies are writable.
pub(super) fn set_buffer_bytes(mut c: C<'_>, ty: u32, start: u32, size: u32, ptr: i32, len: i32) -> HResult {
    if ty > buffer_type::MAX {
        return Err(Status::BadArgument.into());
    }
    let value = read(&c, ptr, len)?;
    let s = c.data_mut();
    if ty == buffer_type::PLUGIN_CONFIGURATION && s.phase != Phase::Start || ty == buffer_type::HTTP_CALL_RESPONSE_BODY
    {
        return Err(Status::NotFound.into());
    }
    let stream = s.active_stream();
    let body = match (ty, stream) {
        (buffer_type::HTTP_REQUEST_BODY, Some(st)) if st.request_body_live => &mut st.request_body,
        (buffer_type::HTTP_RESPONSE_BODY, Some(st)) if st.response_body_live => &mut st.response_body,
        _ => return Err(Status::BadArgument.into()),
    };
    let current = body.get_or_insert_with(Vec::new);
    let (start, size) = (start as usize, size as usize);
    if start == 0 && size == 0 {
        current.splice(0..0, value);
    } else if start == 0 && size >= current.len() {
        *current = value;
    } else if start >= current.len() {
        current.extend_from_slice(&value);
    } else {
        return Err(Status::BadArgument.into());
    }
    Ok(())
}

pub(super) fn send_local_response(
    mut c: C<'_>,
    status: u32,
    details: (i32, i32),
    body: (i32, i32),
    headers: (i32, i32),
    grpc_status: i32,
) -> HResult {
    let details = read(&c, details.0, details.1)?;
    let body = read(&c, body.0, body.1)?;
    let headers = read(&c, headers.0, headers.1)?;
    let headers = match deserialize_pairs(&headers) {
        Ok(h) => h,
        Err(e) => {
            c.data_mut().host_note(format!("proxy_send_local_response: {e}"));
            return Err(Status::BadArgument.into());
        }
    };
    let state = c.data_mut();
    let Some(stream) = state.active_stream() else {
        state.host_note("proxy_send_local_response outside an HTTP stream: ignored".into());
        return Ok(());
    };
    if stream.local_response.is_some() {
        state.host_note("second proxy_send_local_response on one stream: ignored (Envoy sends only the first)".into());
        return Ok(());
    }
    stream.local_response = Some(LocalResponse {
        status,
        headers: headers
            .into_iter()
            .map(|(k, v)| (String::from_utf8_lossy(&k).to_ascii_lowercase(), v))
            .collect(),
        body,
        grpc_status,
        details: String::from_utf8_lossy(&details).into_owned(),
    });
    Ok(())
}

pub(super) fn metric(c: &C<'_>, id: u32) -> HResult<(String, MetricKind)> {
    let index = (id >> 2).checked_sub(1).ok_or(Status::NotFound)? as usize;
    let (name, kind) = c.data().metric_defs.get(index).ok_or(Status::NotFound)?;
    if kind.raw() != id & 3 {
        return Err(Status::NotFound.into());
    }
    Ok((name.clone(), *kind))
}

/// Looks a property up as Envoy would serialize it: strings as raw bytes,
/// integers as 8 little-endian bytes.
pub(super) fn property(s: &mut HostState, path: &[String]) -> Option<Vec<u8>> {
    let joined = path.join(".");
    match joined.as_str() {
        "plugin_name" => return Some(s.plugin.plugin_name.clone().into_bytes()),
        "plugin_root_id" => return Some(s.plugin.root_id.clone().into_bytes()),
        "plugin_vm_id" => return Some(s.plugin.vm_id.clone().into_bytes()),
        _ => {}
    }
    let stream = s.active_stream()?;
    if let Some(v) = stream.properties.get(path) {
        return Some(v.clone());
    }
    let header = |name: &[u8]| {
        stream
            .request_headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let port = |addr: &str| {
        addr.rsplit_once(':')
            .and_then(|(_, p)| p.parse::<i64>().ok())
            .map(|p| p.to_le_bytes().to_vec())
    };
    match joined.as_str() {
        "source.address" => Some(stream.source_address.clone().into_bytes()),
        "source.port" => port(&stream.source_address),
        "destination.address" => Some(stream.destination_address.clone().into_bytes()),
        "destination.port" => port(&stream.destination_address),
        "request.path" => header(b":path"),
        "request.url_path" => header(b":path").map(|p| {
            let end = p.iter().position(|&b| b == b'?').unwrap_or(p.len());
            p[..end].to_vec()
        }),
        "request.host" => header(b":authority"),
        "request.method" => header(b":method"),
        "request.scheme" => header(b":scheme"),
        "request.protocol" => Some(b"HTTP/1.1".to_vec()),
        "response.code" => stream
            .response_status
            .map(|code| i64::from(code).to_le_bytes().to_vec()),
        _ => None,
    }
}
