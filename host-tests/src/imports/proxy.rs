//! proxy-wasm ABI 0.2.1 host functions (`env` module), with Envoy's semantics.

use wasmtime::Caller;

use super::{check, copy_out, proxy_status, read, write_u32, write_u64, Defs, HResult};
use crate::abi::{
    buffer_type, deserialize_pairs, map_type, split_property_path, stream_type, LogLevel, MetricKind, Status,
};
use crate::http::{LocalResponse, LogSource};
use crate::state::{HeaderMap, HostState, Phase};

type C<'a> = Caller<'a, HostState>;

/// Notes the guest's fuel at a host call when the host traces fuel (`HostOptions::fuel_trace`).
fn trace(c: &C<'_>, name: &'static str) {
    if let (Some(marks), Ok(left)) = (&c.data().fuel_marks, c.get_fuel()) {
        marks.borrow_mut().push((name, left));
    }
}

pub(super) fn define(d: &mut Defs<'_>) -> wasmtime::Result<()> {
    // Logging, time, timers.
    d.wrap("env", "proxy_log", |c: C<'_>, level: i32, ptr: i32, len: i32| {
        trace(&c, "proxy_log");
        proxy_status(log(c, level, ptr, len))
    })?;
    d.wrap("env", "proxy_get_log_level", |mut c: C<'_>, out: i32| {
        trace(&c, "proxy_get_log_level");
        let level = c.data().plugin.log_level as u32;
        proxy_status(write_u32(&mut c, out, level))
    })?;
    d.wrap("env", "proxy_get_current_time_nanoseconds", |mut c: C<'_>, out: i32| {
        trace(&c, "proxy_get_current_time_nanoseconds");
        if c.data().clock.failing() {
            return Ok(Status::InternalFailure.code() as i32);
        }
        let now = c.data().clock.now_nanos();
        proxy_status(write_u64(&mut c, out, now))
    })?;
    d.wrap(
        "env",
        "proxy_set_tick_period_milliseconds",
        |mut c: C<'_>, period: i32| {
            trace(&c, "proxy_set_tick_period_milliseconds");
            c.data_mut().tick_period_ms = period as u32;
            Ok(0)
        },
    )?;

    // Context lifecycle.
    d.wrap("env", "proxy_done", |mut c: C<'_>| {
        trace(&c, "proxy_done");
        let pending = c.data_mut().stream.as_mut().map(|s| {
            let was = s.done_pending;
            s.done_pending = false;
            was
        });
        proxy_status(if pending == Some(true) {
            Ok(())
        } else {
            Err(Status::NotFound.into())
        })
    })?;
    d.wrap("env", "proxy_set_effective_context", |c: C<'_>, id: i32| {
        trace(&c, "proxy_set_effective_context");
        let id = id as u32;
        let s = c.data();
        let known = id == s.root_context_id || s.stream.as_ref().is_some_and(|st| st.id == id);
        proxy_status(if known { Ok(()) } else { Err(Status::BadArgument.into()) })
    })?;

    // Buffers.
    d.wrap(
        "env",
        "proxy_get_buffer_bytes",
        |c: C<'_>, ty: i32, start: i32, max: i32, pp: i32, sp: i32| {
            trace(&c, "proxy_get_buffer_bytes");
            proxy_status(get_buffer_bytes(c, ty as u32, start as u32, max as u32, pp, sp))
        },
    )?;
    d.wrap(
        "env",
        "proxy_get_buffer_status",
        |mut c: C<'_>, ty: i32, len_ptr: i32, flags_ptr: i32| {
            trace(&c, "proxy_get_buffer_status");
            let r = buffer(&mut c, ty as u32).and_then(|b| {
                let len = b.map_or(0, |b| b.len());
                write_u32(&mut c, len_ptr, len as u32)?;
                write_u32(&mut c, flags_ptr, 0)
            });
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_set_buffer_bytes",
        |c: C<'_>, ty: i32, start: i32, size: i32, ptr: i32, len: i32| {
            trace(&c, "proxy_set_buffer_bytes");
            proxy_status(set_buffer_bytes(c, ty as u32, start as u32, size as u32, ptr, len))
        },
    )?;

    // Header maps.
    d.wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: C<'_>, map: i32, pp: i32, sp: i32| {
            trace(&c, "proxy_get_header_map_pairs");
            let r = readable_map(&mut c, map as u32).and_then(|m| {
                let bytes = match m {
                    Some(m) if !m.is_empty() => crate::abi::serialize_pairs(&m),
                    _ => Vec::new(),
                };
                copy_out(&mut c, &bytes, pp, sp)
            });
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: C<'_>, map: i32, ptr: i32, len: i32| {
            trace(&c, "proxy_set_header_map_pairs");
            let r = (|| {
                map_in_range(map as u32)?;
                let data = read(&c, ptr, len)?;
                let pairs = match deserialize_pairs(&data) {
                    Ok(p) => p,
                    Err(e) => {
                        c.data_mut().host_note(format!("proxy_set_header_map_pairs: {e}"));
                        return Err(Status::BadArgument.into());
                    }
                };
                let m = writable_map(&mut c, map as u32)?;
                *m = pairs.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
                Ok(())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_get_header_map_value",
        |mut c: C<'_>, map: i32, kp: i32, ks: i32, vpp: i32, vsp: i32| {
            trace(&c, "proxy_get_header_map_value");
            let r = (|| {
                map_in_range(map as u32)?;
                let key = read(&c, kp, ks)?.to_ascii_lowercase();
                let value = match readable_map(&mut c, map as u32)? {
                    None => return Err(Status::BadArgument.into()),
                    Some(m) => m
                        .into_iter()
                        .find(|(k, _)| *k == key)
                        .map(|(_, v)| v)
                        .ok_or(Status::NotFound)?,
                };
                copy_out(&mut c, &value, vpp, vsp)
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_add_header_map_value",
        |mut c: C<'_>, map: i32, kp: i32, ks: i32, vp: i32, vs: i32| {
            trace(&c, "proxy_add_header_map_value");
            let r = (|| {
                map_in_range(map as u32)?;
                let key = read(&c, kp, ks)?.to_ascii_lowercase();
                let value = read(&c, vp, vs)?;
                writable_map(&mut c, map as u32)?.push((key, value));
                Ok(())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_replace_header_map_value",
        |mut c: C<'_>, map: i32, kp: i32, ks: i32, vp: i32, vs: i32| {
            trace(&c, "proxy_replace_header_map_value");
            let r = (|| {
                map_in_range(map as u32)?;
                let key = read(&c, kp, ks)?.to_ascii_lowercase();
                let value = read(&c, vp, vs)?;
                // Envoy's setCopy: every entry of that name goes, one is appended.
                let m = writable_map(&mut c, map as u32)?;
                m.retain(|(k, _)| *k != key);
                m.push((key, value));
                Ok(())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_remove_header_map_value",
        |mut c: C<'_>, map: i32, kp: i32, ks: i32| {
            trace(&c, "proxy_remove_header_map_value");
            let r = (|| {
                map_in_range(map as u32)?;
                let key = read(&c, kp, ks)?.to_ascii_lowercase();
                writable_map(&mut c, map as u32)?.retain(|(k, _)| *k != key);
                Ok(())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_get_header_map_size",
        |mut c: C<'_>, map: i32, out: i32| {
            trace(&c, "proxy_get_header_map_size");
            let r = (|| {
                map_in_range(map as u32)?;
                let m = writable_map(&mut c, map as u32)?;
                let size: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
                write_u32(&mut c, out, size as u32)
            })();
            proxy_status(r)
        },
    )?;

    // Properties.
    d.wrap(
        "env",
        "proxy_get_property",
        |mut c: C<'_>, pp: i32, ps: i32, vpp: i32, vsp: i32| {
            trace(&c, "proxy_get_property");
            let r = (|| {
                let path = split_property_path(&read(&c, pp, ps)?);
                let value = property(c.data_mut(), &path).ok_or(Status::NotFound)?;
                copy_out(&mut c, &value, vpp, vsp)
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_set_property",
        |mut c: C<'_>, pp: i32, ps: i32, vp: i32, vs: i32| {
            trace(&c, "proxy_set_property");
            let r = (|| {
                let path = split_property_path(&read(&c, pp, ps)?);
                let value = read(&c, vp, vs)?;
                let stream = c.data_mut().active_stream().ok_or(Status::NotFound)?;
                stream.properties.insert(path, value);
                Ok(())
            })();
            proxy_status(r)
        },
    )?;

    // Shared data.
    d.wrap(
        "env",
        "proxy_get_shared_data",
        |mut c: C<'_>, kp: i32, ks: i32, vpp: i32, vsp: i32, cas_ptr: i32| {
            trace(&c, "proxy_get_shared_data");
            let r = (|| {
                let key = read(&c, kp, ks)?;
                check(&c, cas_ptr, 4)?;
                let s = c.data();
                let (value, cas) = s.shared.guest_get(s.instance, &s.plugin.vm_id, &key)?;
                copy_out(&mut c, &value, vpp, vsp)?;
                write_u32(&mut c, cas_ptr, cas)
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_set_shared_data",
        |c: C<'_>, kp: i32, ks: i32, vp: i32, vs: i32, cas: i32| {
            trace(&c, "proxy_set_shared_data");
            let r = (|| {
                let key = read(&c, kp, ks)?;
                let value = read(&c, vp, vs)?;
                let s = c.data();
                s.shared
                    .guest_set(s.instance, &s.plugin.vm_id, &key, &value, cas as u32)?;
                Ok(())
            })();
            proxy_status(r)
        },
    )?;

    // Shared queues.
    d.wrap(
        "env",
        "proxy_register_shared_queue",
        |mut c: C<'_>, np: i32, ns: i32, out: i32| {
            trace(&c, "proxy_register_shared_queue");
            let r = (|| {
                let name = String::from_utf8_lossy(&read(&c, np, ns)?).into_owned();
                check(&c, out, 4)?;
                let s = c.data();
                let token = s.shared.register_queue(&s.plugin.vm_id, &name);
                write_u32(&mut c, out, token)
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_resolve_shared_queue",
        |mut c: C<'_>, vp: i32, vs: i32, np: i32, ns: i32, out: i32| {
            trace(&c, "proxy_resolve_shared_queue");
            let r = (|| {
                let vm_id = String::from_utf8_lossy(&read(&c, vp, vs)?).into_owned();
                let name = String::from_utf8_lossy(&read(&c, np, ns)?).into_owned();
                let token = c.data().shared.resolve_queue(&vm_id, &name).ok_or(Status::NotFound)?;
                write_u32(&mut c, out, token)
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_enqueue_shared_queue",
        |c: C<'_>, token: i32, vp: i32, vs: i32| {
            trace(&c, "proxy_enqueue_shared_queue");
            let r = (|| {
                let value = read(&c, vp, vs)?;
                c.data().shared.enqueue(token as u32, &value)?;
                Ok(())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_dequeue_shared_queue",
        |mut c: C<'_>, token: i32, vpp: i32, vsp: i32| {
            trace(&c, "proxy_dequeue_shared_queue");
            let r = (|| {
                check(&c, vpp, 4)?;
                check(&c, vsp, 4)?;
                let value = c.data().shared.dequeue(token as u32)?;
                copy_out(&mut c, &value, vpp, vsp)
            })();
            proxy_status(r)
        },
    )?;

    // Stream control.
    d.wrap("env", "proxy_continue_stream", |mut c: C<'_>, ty: i32| {
        trace(&c, "proxy_continue_stream");
        let r = match ty as u32 {
            stream_type::HTTP_REQUEST | stream_type::HTTP_RESPONSE => {
                if let Some(s) = c.data_mut().active_stream() {
                    if ty as u32 == stream_type::HTTP_REQUEST {
                        s.continue_request = true;
                    }
                    // Envoy forgets the request headers and body on continue.
                    s.request_live = false;
                    s.request_body_live = false;
                }
                Ok(())
            }
            _ => Err(Status::BadArgument.into()),
        };
        proxy_status(r)
    })?;
    d.wrap("env", "proxy_close_stream", |mut c: C<'_>, ty: i32| {
        trace(&c, "proxy_close_stream");
        let ty = ty as u32;
        if ty > stream_type::MAX {
            return Ok(Status::BadArgument.code() as i32);
        }
        if ty == stream_type::HTTP_REQUEST || ty == stream_type::HTTP_RESPONSE {
            if let Some(s) = c.data_mut().active_stream() {
                s.reset = true;
            }
        }
        Ok(0)
    })?;
    d.wrap(
        "env",
        "proxy_send_local_response",
        |c: C<'_>, code: i32, dp: i32, ds: i32, bp: i32, bs: i32, hp: i32, hs: i32, grpc: i32| {
            trace(&c, "proxy_send_local_response");
            proxy_status(send_local_response(c, code as u32, (dp, ds), (bp, bs), (hp, hs), grpc))
        },
    )?;
    d.wrap(
        "env",
        "proxy_get_status",
        |mut c: C<'_>, code_ptr: i32, mpp: i32, msp: i32| {
            trace(&c, "proxy_get_status");
            let r = (|| {
                check(&c, code_ptr, 4)?;
                copy_out(&mut c, &[], mpp, msp)?;
                write_u32(&mut c, code_ptr, 0)
            })();
            proxy_status(r)
        },
    )?;

    // Metrics.
    d.wrap(
        "env",
        "proxy_define_metric",
        |mut c: C<'_>, ty: i32, np: i32, ns: i32, out: i32| {
            trace(&c, "proxy_define_metric");
            let r = (|| {
                let name = String::from_utf8_lossy(&read(&c, np, ns)?).into_owned();
                let kind = MetricKind::from_raw(ty as u32).ok_or(Status::BadArgument)?;
                check(&c, out, 4)?;
                let s = c.data_mut();
                s.metrics.define(&name, kind);
                let index = match s.metric_defs.iter().position(|(n, k)| *n == name && *k == kind) {
                    Some(i) => i,
                    None => {
                        s.metric_defs.push((name, kind));
                        s.metric_defs.len() - 1
                    }
                };
                let id = ((index as u32 + 1) << 2) | kind.raw();
                write_u32(&mut c, out, id)
            })();
            proxy_status(r)
        },
    )?;
    d.wrap("env", "proxy_increment_metric", |c: C<'_>, id: i32, delta: i64| {
        trace(&c, "proxy_increment_metric");
        let r = metric(&c, id as u32).and_then(|(name, kind)| {
            c.data().metrics.increment(&name, kind, delta)?;
            Ok(())
        });
        proxy_status(r)
    })?;
    d.wrap("env", "proxy_record_metric", |c: C<'_>, id: i32, value: i64| {
        trace(&c, "proxy_record_metric");
        let r = metric(&c, id as u32).and_then(|(name, kind)| {
            c.data().metrics.record(&name, kind, value as u64)?;
            Ok(())
        });
        proxy_status(r)
    })?;
    d.wrap("env", "proxy_get_metric", |mut c: C<'_>, id: i32, out: i32| {
        trace(&c, "proxy_get_metric");
        let r = metric(&c, id as u32).and_then(|(name, kind)| {
            let value = c.data().metrics.value(&name, kind)?;
            write_u64(&mut c, out, value)
        });
        proxy_status(r)
    })?;

    // HTTP and gRPC calls: this host has no upstream clusters.
    d.wrap(
        "env",
        "proxy_http_call",
        |mut c: C<'_>,
         up: i32,
         us: i32,
         hp: i32,
         hs: i32,
         bp: i32,
         bs: i32,
         tp: i32,
         ts: i32,
         _timeout: i32,
         token: i32| {
            trace(&c, "proxy_http_call");
            let r = (|| {
                for (p, s) in [(up, us), (hp, hs), (bp, bs), (tp, ts)] {
                    check(&c, p, s as u32 as usize)?;
                }
                write_u32(&mut c, token, 0)?;
                // Envoy: BAD_ARGUMENT for an unknown cluster.
                Err(Status::BadArgument.into())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_grpc_call",
        |c: C<'_>,
         up: i32,
         us: i32,
         sp: i32,
         ss: i32,
         mp: i32,
         ms: i32,
         ip: i32,
         is: i32,
         bp: i32,
         bs: i32,
         _timeout: i32,
         token: i32| {
            trace(&c, "proxy_grpc_call");
            let r = (|| {
                for (p, s) in [(up, us), (sp, ss), (mp, ms), (ip, is), (bp, bs)] {
                    check(&c, p, s as u32 as usize)?;
                }
                check(&c, token, 4)?;
                // Envoy: PARSE_FAILURE when the service cannot be resolved.
                Err(Status::ParseFailure.into())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_grpc_stream",
        |c: C<'_>, up: i32, us: i32, sp: i32, ss: i32, mp: i32, ms: i32, ip: i32, is: i32, token: i32| {
            trace(&c, "proxy_grpc_stream");
            let r = (|| {
                for (p, s) in [(up, us), (sp, ss), (mp, ms), (ip, is)] {
                    check(&c, p, s as u32 as usize)?;
                }
                check(&c, token, 4)?;
                Err(Status::ParseFailure.into())
            })();
            proxy_status(r)
        },
    )?;
    d.wrap(
        "env",
        "proxy_grpc_send",
        |c: C<'_>, _token: i32, p: i32, s: i32, _end: i32| {
            trace(&c, "proxy_grpc_send");
            let r = check(&c, p, s as u32 as usize).and(Err(Status::NotFound.into()));
            proxy_status(r)
        },
    )?;
    d.wrap("env", "proxy_grpc_cancel", |_c: C<'_>, _token: i32| {
        Ok(Status::NotFound.code() as i32)
    })?;
    d.wrap("env", "proxy_grpc_close", |_c: C<'_>, _token: i32| {
        Ok(Status::NotFound.code() as i32)
    })?;
    d.wrap(
        "env",
        "proxy_call_foreign_function",
        |c: C<'_>, np: i32, ns: i32, ap: i32, as_: i32, _rpp: i32, _rsp: i32| {
            trace(&c, "proxy_call_foreign_function");
            let r = check(&c, np, ns as u32 as usize)
                .and_then(|_| check(&c, ap, as_ as u32 as usize))
                .and(Err(Status::NotFound.into()));
            proxy_status(r)
        },
    )?;
    Ok(())
}

fn log(mut c: C<'_>, level: i32, ptr: i32, len: i32) -> HResult {
    let level = LogLevel::from_raw(level as u32).ok_or(Status::BadArgument)?;
    let message = String::from_utf8_lossy(&read(&c, ptr, len)?).into_owned();
    c.data_mut().log(level, message, LogSource::ProxyLog);
    Ok(())
}

fn map_in_range(map: u32) -> HResult {
    if map > map_type::MAX {
        return Err(Status::BadArgument.into());
    }
    Ok(())
}

/// The map the guest may read (a copy), `None` when the proxy has none at
/// this point (Envoy: `get_header_map_pairs` then returns an empty map and
/// `get_header_map_value` `BAD_ARGUMENT`).
fn readable_map(c: &mut C<'_>, map: u32) -> HResult<Option<HeaderMap>> {
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
fn writable_map<'a>(c: &'a mut C<'_>, map: u32) -> HResult<&'a mut HeaderMap> {
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
fn buffer(c: &mut C<'_>, ty: u32) -> HResult<Option<Vec<u8>>> {
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

fn get_buffer_bytes(mut c: C<'_>, ty: u32, start: u32, max: u32, pp: i32, sp: i32) -> HResult {
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
fn set_buffer_bytes(mut c: C<'_>, ty: u32, start: u32, size: u32, ptr: i32, len: i32) -> HResult {
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

fn send_local_response(
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

fn metric(c: &C<'_>, id: u32) -> HResult<(String, MetricKind)> {
    let index = (id >> 2).checked_sub(1).ok_or(Status::NotFound)? as usize;
    let (name, kind) = c.data().metric_defs.get(index).ok_or(Status::NotFound)?;
    if kind.raw() != id & 3 {
        return Err(Status::NotFound.into());
    }
    Ok((name.clone(), *kind))
}

/// Looks a property up as Envoy would serialize it: strings as raw bytes,
/// integers as 8 little-endian bytes.
fn property(s: &mut HostState, path: &[String]) -> Option<Vec<u8>> {
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
